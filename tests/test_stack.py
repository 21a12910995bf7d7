"""The modern stack around any cell (rnnlab.model): blocks with pre-norm, residual, MLP, tying and
AWD-LSTM's dropouts, checked against the one-step runner, a long chunk, gradcheck and resume."""

import json
import re

import pytest
import torch
from conftest import CELL_IMPLS
from resume_check import assert_same_weights, straight_and_resumed

from rnnlab.cli import main
from rnnlab.config import ModelConfig, TrainConfig
from rnnlab.data import corpus_from_text
from rnnlab.errors import UserError
from rnnlab.model import CharRNN, drop_symbols, dropout
from rnnlab.stepper import Stepper
from rnnlab.training import LMTask, Trainer

V, L, H, E = 7, 3, 5, 4  # all different, so a wrong shape cannot pass by accident

STACKS = {
    "prenorm-residual-mlp-tied": dict(norm="rms", residual=True, mlp=2, tie=True),
    "layernorm": dict(norm="layer"),
    "residual-awd": dict(residual=True, variational=True, dropout=0.3, embed_dropout=0.2),
    "plain-tied": dict(tie=True, embed=H),
}


def model(cell, impl="auto", **kw) -> CharRNN:
    torch.manual_seed(0)
    return CharRNN(ModelConfig(**{**dict(vocab_size=V, cell=cell, layers=L, hidden=H, embed=E, impl=impl), **kw})).double().eval()


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("cell, impl", CELL_IMPLS)
def test_one_step_runner_and_carried_state_equal_the_full_forward(cell, impl, stack):
    m = model(cell, impl, **STACKS[stack])
    ids = torch.randint(V, (2, 6))
    full, _, final = m(ids)  # (B, T, V)
    step = Stepper(m, m.init_state(2))
    for t in range(6):
        torch.testing.assert_close(step(ids[:, t]), full[:, t], rtol=0, atol=1e-10)
    flat = lambda s: s if isinstance(s, tuple) else (s,)  # noqa: E731
    for a, b in zip(flat(step.state()), flat(final)):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-10)
    # Two chunks with the state carried between them are the one long chunk.
    first, _, mid = m(ids[:, :4])
    second, _, end = m(ids[:, 4:], state=mid)
    torch.testing.assert_close(torch.cat([first, second], 1), full, rtol=0, atol=1e-10)
    for a, b in zip(flat(end), flat(final)):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-10)


@pytest.mark.parametrize("cell", ["lstm", "mingru"])
def test_gradcheck_of_the_whole_stacked_model(cell):
    m = model(cell, "reference", **STACKS["prenorm-residual-mlp-tied"])
    ids = torch.randint(V, (2, 3))
    x0 = m.embed(ids).detach().requires_grad_()  # the gradient reaches the embedding through every block

    def f(x):
        out, _ = m._blocks(x, m.init_state(2))
        return m.head(out)

    assert torch.autograd.gradcheck(f, (x0,), eps=1e-6, atol=1e-6)


def test_tied_model_has_one_matrix_and_it_learns_from_both_ends():
    m = model("gru", **STACKS["prenorm-residual-mlp-tied"]).train()
    assert m.head.weight is m.embed.weight
    assert sum(p is m.embed.weight for p in m.parameters()) == 1
    m(torch.randint(V, (2, 4)), torch.randint(V, (2, 4))).loss.backward()
    assert m.embed.weight.grad is not None and m.embed.weight.grad.abs().sum() > 0


def test_variational_dropout_keeps_one_mask_per_sequence():
    torch.manual_seed(0)
    x = torch.ones(3, 50, 8)  # (B, T, D)
    locked = dropout(x, 0.5, variational=True, training=True)
    assert torch.equal(locked, locked[:, :1].expand_as(locked))  # the same at every step
    assert set(locked.unique().tolist()) == {0.0, 2.0}
    fresh = dropout(x, 0.5, variational=False, training=True)
    assert not torch.equal(fresh, fresh[:, :1].expand_as(fresh))
    assert torch.equal(dropout(x, 0.5, variational=True, training=False), x)


def test_embedding_dropout_drops_whole_characters():
    torch.manual_seed(0)
    ids = torch.randint(5, (4, 40))  # (B, T)
    x = torch.ones(4, 40, 6)
    out = drop_symbols(x, ids, 5, 0.4, training=True)
    for s in range(5):
        rows = out[ids == s]  # every occurrence of symbol s, (n, 6)
        assert torch.equal(rows, rows[:1].expand_as(rows))  # the same fate everywhere
        assert rows[0, 0].item() == 0.0 or rows[0, 0].item() == pytest.approx(1 / 0.6)
    assert torch.equal(drop_symbols(x, ids, 5, 0.4, training=False), x)


@pytest.mark.parametrize("cell", ["lstm", "minlstm"])
def test_stacked_model_resumes_bit_exactly(tmp_path, cell):
    corpus = corpus_from_text("the cat sat on the mat. " * 120)
    m = ModelConfig(
        cell=cell, layers=2, hidden=16, norm="rms", residual=True, mlp=2, tie=True, dropout=0.2, variational=True, embed_dropout=0.1
    )
    t = TrainConfig(batch_size=4, seq_len=16, lr=1e-2, warmup_steps=2, eval_every=5, sample_chars=10, seed=3, max_steps=24)
    straight, second, first = straight_and_resumed(lambda d, **kw: Trainer(LMTask(corpus, m, t), run_dir=d, **kw), tmp_path, stop_at=11)
    assert first.progress.step < 24 and second.progress.step == 24
    assert_same_weights(straight, second)


@pytest.mark.parametrize(
    "kw, needle",
    [
        (dict(mlp=2), "--mlp needs --residual"),
        (dict(tie=True, embed=8, hidden=16), "--tie needs --embed equal to --hidden (8 != 16), or --residual"),
        (dict(residual=True, one_hot=True), "--residual needs an embedding, not --one-hot"),
        (dict(norm="batch"), "must be one of none, layer, rms"),
    ],
)
def test_stack_options_that_cannot_work_are_refused(kw, needle):
    with pytest.raises(UserError, match=re.escape(needle)):
        ModelConfig(**kw)


def test_cli_trains_samples_and_reports_a_stacked_mingru(tmp_path, capsys):
    text = tmp_path / "t.txt"
    text.write_text("def f(x):\n    return x + 1\n\n" * 80)
    run = tmp_path / "run"
    flags = ["--cell", "mingru", "--residual", "--norm", "rms", "--mlp", "2", "--tie", "--hidden", "24", "--layers", "2"]
    assert (
        main(["train", str(text), "--out", str(run), "--quiet", "--max-steps", "20", "--batch-size", "4", "--seq-len", "16", *flags]) == 0
    )
    assert main(["sample", str(run), "--length", "30", "--seed", "1"]) == 0
    assert main(["report", str(run), "--chars", "200", "--out", str(tmp_path / "r.html")]) == 0
    capsys.readouterr()
    html = (tmp_path / "r.html").read_text()
    data = json.loads(re.search(r'type="application/json">(.*?)</script>', html, re.S).group(1))
    assert 0 < len(data["text"]) <= 200  # the held-out tail, at most --chars
    assert "update" in json.dumps(data)  # minGRU's one gate is on the page
