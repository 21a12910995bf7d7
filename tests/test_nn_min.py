"""minGRU and minLSTM: the parallel scan against the step loop and against the paper's equations
written out here, gradients, long sequences, carried state, exact resume and the report."""

from __future__ import annotations

import pytest
import torch
from resume_check import assert_same_weights, straight_and_resumed

from rnnlab.config import ModelConfig, TrainConfig
from rnnlab.data import corpus_from_text
from rnnlab.nn import MinGRU, MinLSTM
from rnnlab.training import LMTask, Trainer

N, T, D, H = 2, 3, 4, 5
LAYERS = {"mingru": MinGRU, "minlstm": MinLSTM}


def g(x):
    return torch.where(x >= 0, x + 0.5, torch.sigmoid(x))


def by_the_paper(cell: str, w: torch.Tensor, b: torch.Tensor, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """One layer, one direction, step by step as Feng et al. (2024) write it: x (T, B, D), h (B, H)."""
    outs = []
    for t in range(x.shape[0]):
        pre = x[t] @ w.T + b
        if cell == "mingru":
            k, v = pre.chunk(2, 1)
            z = torch.sigmoid(k)
            h = (1 - z) * h + z * g(v)
        else:
            kf, ki, v = pre.chunk(3, 1)
            f, i = torch.sigmoid(kf), torch.sigmoid(ki)
            h = f / (f + i) * h + i / (f + i) * g(v)
        outs.append(h)
    return torch.stack(outs)  # (T, B, H)


def layer(cell: str, **kw) -> torch.nn.Module:
    torch.manual_seed(0)
    with torch.no_grad():
        m = LAYERS[cell](D, H, **kw).double()
        for p in m.parameters():
            p.mul_(3.0)  # larger weights than the default init, so that gates saturate sometimes
    return m


@pytest.mark.parametrize("cell", LAYERS)
@pytest.mark.parametrize("layers, bidirectional", [(1, False), (2, False), (2, True)])
@pytest.mark.parametrize("steps", [T, 7])
def test_scan_equals_the_step_loop_values_and_gradients(cell, layers, bidirectional, steps):
    scan = layer(cell, num_layers=layers, bidirectional=bidirectional, batch_first=True, fused=True)
    loop = layer(cell, num_layers=layers, bidirectional=bidirectional, batch_first=True)
    x = torch.randn(N, steps, D, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(layers * (2 if bidirectional else 1), N, H, dtype=torch.float64, requires_grad=True)  # any sign
    results = []
    for m in (scan, loop):
        out, h_n = m(x, h0)
        grads = torch.autograd.grad((out**2).sum() + h_n.sum(), [x, h0, *m.parameters()])
        results.append((out, h_n, grads))
    (o1, h1, g1), (o2, h2, g2) = results
    torch.testing.assert_close(o1, o2, rtol=0, atol=1e-10)
    torch.testing.assert_close(h1, h2, rtol=0, atol=1e-10)
    for a, b in zip(g1, g2):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-10)


@pytest.mark.parametrize("cell", LAYERS)
@pytest.mark.parametrize("fused", [False, True])
def test_the_layer_is_the_papers_equations(cell, fused):
    m = layer(cell, fused=fused)
    x = torch.randn(T, N, D, dtype=torch.float64)
    h0 = torch.randn(1, N, H, dtype=torch.float64)
    out, h_n = m(x, h0)
    ref = by_the_paper(cell, m.weight_ih_l0, m.bias_ih_l0, x, h0[0])
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-12)
    torch.testing.assert_close(h_n[0], ref[-1], rtol=0, atol=1e-12)
    assert not hasattr(m, "weight_hh_l0")  # the gates read the input only


@pytest.mark.parametrize("cell", LAYERS)
@pytest.mark.parametrize("fused", [False, True])
def test_gradcheck(cell, fused):
    m = layer(cell, num_layers=2, fused=fused)
    x = torch.randn(T, N, D, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(2, N, H, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda x, h0, *w: torch.func.functional_call(m, dict(zip([n for n, _ in m.named_parameters()], w)), (x, h0))[0],
        (x, h0, *m.parameters()),
    )


@pytest.mark.parametrize("cell", LAYERS)
@pytest.mark.parametrize("bias", [-8.0, 8.0])
@pytest.mark.parametrize("fused", [False, True])
def test_a_long_sequence_stays_finite_and_exact_in_float32(cell, bias, fused):
    """3,000 steps with the state kept (forget gates near 1) or dropped (near 0) at every step: the
    gates' product underflows long before the end, so a scan outside log space would divide by
    zero, and one long log-space scan would keep only a few digits in float32."""
    m = layer(cell, fused=fused)
    with torch.no_grad():
        m.bias_ih_l0[:H].fill_(bias)  # minGRU's z = 1 - forget; minLSTM's f
    x = torch.randn(3000, 1, D, dtype=torch.float64)
    ref, _ = m(x)  # float64
    out, _ = m.float()(x.float())
    assert torch.isfinite(out).all()
    # float32's step loop is within about 2e-6 of float64 here; the scan within 1e-4 (a long
    # cumulative sum of log-gates loses a few bits even within a block).
    torch.testing.assert_close(out.double(), ref, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("cell", LAYERS)
@pytest.mark.parametrize("fused", [False, True])
def test_state_carried_across_chunks_equals_one_long_chunk(cell, fused):
    m = layer(cell, num_layers=2, batch_first=True, fused=fused)
    x = torch.randn(N, 9, D, dtype=torch.float64)
    whole, h_whole = m(x)
    first, h = m(x[:, :4])
    second, h_end = m(x[:, 4:], h)
    torch.testing.assert_close(torch.cat([first, second], 1), whole, rtol=0, atol=1e-12)
    torch.testing.assert_close(h_end, h_whole, rtol=0, atol=1e-12)


@pytest.mark.parametrize("cell", LAYERS)
@pytest.mark.parametrize("impl", ["reference", "fused"])
def test_training_resumes_bit_exactly(tmp_path, cell, impl):
    corpus = corpus_from_text("the cat sat on the mat. " * 100)
    m = ModelConfig(cell=cell, layers=2, hidden=16, embed=8, dropout=0.2, impl=impl)
    t = TrainConfig(batch_size=4, seq_len=16, max_steps=20, eval_every=5, sample_chars=10, seed=3)
    straight, second, first = straight_and_resumed(lambda d, **kw: Trainer(LMTask(corpus, m, t), run_dir=d, **kw), tmp_path, stop_at=10)
    assert first.progress.step == 10 and second.progress.step == 20
    assert_same_weights(straight, second)


@pytest.mark.parametrize("cell", LAYERS)
def test_the_report_shows_the_gates_the_cell_has(tmp_path, cell):
    from rnnlab.cli import main
    from rnnlab.report import build_report

    text = tmp_path / "t.txt"
    text.write_text("(hello) world. " * 80)
    assert main(["train", str(text), "--out", str(tmp_path / "run"), "--tiny", "--cell", cell, "--quiet"]) == 0
    report = build_report(tmp_path / "run", text="(hello) world")
    names = {"mingru": ["update"], "minlstm": ["forget", "input"]}[cell]
    assert report.data["gates"] == names and report.data["kinds"] == ["h"]
    tr = report.trace
    model = torch.load(tmp_path / "run" / "best.pt", weights_only=True)["model"]
    ids = tr.ids
    pre = model["embed.weight"][ids] @ model["rnn.weight_ih_l0"].T + model["rnn.bias_ih_l0"]
    h = tr.hidden
    first = torch.sigmoid(pre[:, :h])
    if cell == "minlstm":
        i = torch.sigmoid(pre[:, h : 2 * h])
        first = first / (first + i)
    torch.testing.assert_close(tr.gates[0][names[0]].double(), first.double(), rtol=0, atol=1e-5)
