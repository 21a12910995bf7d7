"""--precision: bf16 autocast on the CPU for every cell, fp32 master weights and checkpoints,
resume, refusals (a bad value, fp16 without CUDA, a cell this CPU cannot train in bf16) and the
fp16 loss scaler's checkpoint state.

The CPU tests pass ``--device cpu`` so that they test the CPU on a GPU machine too; the test
marked ``gpu`` (fp16 needs CUDA) is skipped without one, and is what ``pytest -m gpu`` selects
here. Which cells train in bf16 depends on the CPU (oneDNN's bf16 LSTM needs AVX-512):
a test of a cell that cannot is skipped with that reason, and the refusal is tested instead.
``.ci/run`` runs this file a second time with oneDNN held to AVX2 (``ONEDNN_MAX_CPU_ISA=AVX2``),
as on a CPU without AVX-512, and sets ``RNNLAB_EXPECT_BF16_REFUSAL`` there, so that the real
refusal is checked, not skipped.
"""

import math
import os

import pytest
import torch
from conftest import SMALL, one_line_error
from resume_check import assert_same_weights, straight_and_resumed

from rnnlab import checkpoint
from rnnlab.cells import CELLS, resolve_impl
from rnnlab.cli import main
from rnnlab.config import ModelConfig, TrainConfig
from rnnlab.data import corpus_from_text
from rnnlab.errors import UserError
from rnnlab.settings import from_dict
from rnnlab.training import LMTask, Trainer
from rnnlab.training import precision as precision_module
from rnnlab.training.precision import probe

# bf16 keeps 8 significant bits: rounding one operand moves it by at most 2^-8 of its size.
BF16_EPS = 2.0**-8

# As in test_gpu.py: RNNLAB_REQUIRE_GPU turns the skip into a failure (benchmarks/gpu_check.sh).
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available() and not os.environ.get("RNNLAB_REQUIRE_GPU"), reason="needs a CUDA device")


def bf16_problem(cell, batch=8, directions=1):
    """Why bf16 cannot train ``cell`` on the CPU with ``--impl auto`` at ``batch`` streams (None: it can)."""
    return probe("bf16", "cpu", cell, resolve_impl("auto", cell, "cpu", batch), directions)


def needs_bf16(cell, **kw):
    problem = bf16_problem(cell, **kw)
    if problem is not None:
        pytest.skip(f"this CPU has no bf16 kernel for the {cell.upper()} ({problem}); the refusal is tested instead")


# The cell the CPU tests of resuming and the tagger use in bf16: the LSTM where this CPU trains it.
BF16_CELL = "lstm" if bf16_problem("lstm") is None and bf16_problem("lstm", directions=2) is None else "gru"


def train_bpc(run):
    lines = (run / "metrics.csv").read_text().splitlines()
    header = lines[0].split(",")
    col = header.index("train_bpc")
    return [float(line.split(",")[col]) for line in lines[1:] if line.split(",")[col]]


def make_trainer(cell, precision, device="cpu", **kw):
    m = ModelConfig(cell=cell, layers=1, hidden=32, embed=16)
    t = TrainConfig(batch_size=8, seq_len=32, max_steps=30, warmup_steps=5, sample_chars=0, device=device, precision=precision, **kw)
    return Trainer(LMTask(corpus_from_text(SMALL), m, t))


# ------------------------------------------------------------------------------ bf16 on the CPU


@pytest.mark.parametrize("cell", CELLS)
def test_bf16_trains_every_cell_and_keeps_fp32_checkpoints(tmp_path, capsys, text_file, cell):
    needs_bf16(cell)
    run = tmp_path / "run"
    rc = main(["train", str(text_file), "--out", str(run), "--tiny", "--cell", cell, "--device", "cpu", "--precision", "bf16", "--quiet"])
    assert rc == 0, capsys.readouterr().err
    bpc = train_bpc(run)  # one row per 10 steps, each the mean of its window
    assert len(bpc) == 3 and all(math.isfinite(b) for b in bpc)
    assert bpc[-1] < bpc[0], bpc
    ckpt = torch.load(run / "last.pt", weights_only=True)
    assert ckpt["train_config"]["precision"] == "bf16"
    weights = [v for v in ckpt["model"].values() if v.is_floating_point()]  # not the word-character mask
    assert weights and all(v.dtype == torch.float32 for v in weights)
    assert all(s.dtype == torch.float32 for s in ckpt["task"]["carried_state"])
    assert ckpt["scaler"] is None  # only fp16 scales the loss
    capsys.readouterr()
    assert main(["sample", str(run), "--length", "30", "--seed", "1", "--prime", "a quick"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("a quick") and len(out.rstrip("\n")) >= 37


@pytest.mark.parametrize("cell", CELLS)
def test_bf16_autocast_is_active_and_close_to_fp32(cell):
    """From identical weights, the first batch's logits come out in bfloat16, differ from the
    fp32 ones by bf16 rounding and no more, and so does the loss.

    Bounds: the head's product rounds its two operands and its result to bf16, each by at most
    2^-8 relative (the LSTM and RNN layers feed it bf16 already, so their rounding is included
    once more), hence 4 * 2^-8 of the largest logit. The loss is cross-entropy, which autocast
    computes in fp32 from those logits: its error must stay below the rounding of the loss
    itself to bf16 (loss * 2^-8). Measured: about 1.5 * 2^-8 and 2e-5 relative.
    """
    needs_bf16(cell)
    runs = {}
    for precision in ("fp32", "bf16"):
        trainer = make_trainer(cell, precision)
        seen = {}

        def keep(mod, inp, out, seen=seen):
            seen.setdefault("logits", out.detach())  # returns None: the output is left as it is

        trainer.model.head.register_forward_hook(keep)
        weights = {k: v.clone() for k, v in trainer.model.state_dict().items()}
        loss = float(trainer.step())
        runs[precision] = (weights, seen["logits"], loss)
        assert all(p.dtype == torch.float32 for p in trainer.model.parameters())  # master weights stay fp32
    (w32, z32, loss32), (wbf, zbf, lossbf) = runs["fp32"], runs["bf16"]
    assert all(torch.equal(w32[k], wbf[k]) for k in w32)
    assert z32.dtype == torch.float32 and zbf.dtype == torch.bfloat16
    diff = float((zbf.float() - z32).abs().max())
    assert 0 < diff <= 4 * BF16_EPS * float(z32.abs().max()), diff
    assert abs(lossbf - loss32) <= loss32 * BF16_EPS


def test_bf16_resume_gives_the_same_final_weights(tmp_path):
    m = ModelConfig(cell=BF16_CELL, layers=1, hidden=32, embed=16, dropout=0.2)  # dropout: the RNG resumes too
    t = TrainConfig(batch_size=8, seq_len=32, max_steps=24, eval_every=5, warmup_steps=5, sample_chars=0, device="cpu", precision="bf16")
    corpus = corpus_from_text(SMALL)
    straight, second, first = straight_and_resumed(lambda d, **kw: Trainer(LMTask(corpus, m, t), run_dir=d, **kw), tmp_path, stop_at=10)
    assert first.progress.step == 10 and second.progress.step == 24
    assert_same_weights(straight, second)


def test_resume_may_change_the_precision(tmp_path, capsys, text_file):
    run = tmp_path / "run"
    bf16 = ["--cell", BF16_CELL, "--device", "cpu", "--precision", "bf16"]
    assert main(["train", str(text_file), "--out", str(run), "--tiny", *bf16, "--max-steps", "10", "--quiet"]) == 0
    assert main(["train", "--resume", str(run), "--max-steps", "20", "--quiet"]) == 0
    ckpt = torch.load(run / "last.pt", weights_only=True)
    assert ckpt["progress"]["step"] == 20 and ckpt["train_config"]["precision"] == "bf16"
    # The carried state is fp32 in the checkpoint, so an fp32 run can take it over.
    assert main(["train", "--resume", str(run), "--max-steps", "30", "--precision", "fp32", "--quiet"]) == 0
    ckpt = torch.load(run / "last.pt", weights_only=True)
    assert ckpt["progress"]["step"] == 30 and ckpt["train_config"]["precision"] == "fp32"
    assert all(bool(torch.isfinite(v).all()) for v in ckpt["model"].values())


def test_tag_train_takes_precision(tmp_path, capsys, text_file):
    run = tmp_path / "tag"
    bf16 = ["--cell", BF16_CELL, "--device", "cpu", "--precision", "bf16"]
    rc = main(["tag", "train", "--derive", "truecase", str(text_file), "--out", str(run), "--tiny", *bf16, "--max-steps", "10", "--quiet"])
    assert rc == 0, capsys.readouterr().err
    ckpt = torch.load(run / "last.pt", weights_only=True)
    assert ckpt["train_config"]["precision"] == "bf16"
    weights = [v for v in ckpt["model"].values() if v.is_floating_point()]  # not the word-character mask
    assert weights and all(v.dtype == torch.float32 for v in weights)


# ------------------------------------------------------------------------------ refusals


@pytest.mark.parametrize("cmd", [["train", "{text}"], ["tag", "train", "--derive", "truecase", "{text}"]])
def test_bad_precision_is_one_line_and_exit_2(tmp_path, capsys, text_file, cmd):
    args = [a.replace("{text}", str(text_file)) for a in cmd]
    rc = main([*args, "--out", str(tmp_path / "run"), "--tiny", "--precision", "fp8"])
    one_line_error(capsys, rc, "--precision")
    assert not (tmp_path / "run" / "last.pt").exists()


def test_bad_precision_in_a_config_is_refused():
    with pytest.raises(UserError, match="precision must be one of fp32, bf16, fp16"):
        TrainConfig(precision="half")
    with pytest.raises(UserError, match="precision"):
        from_dict(TrainConfig, {"precision": "fp8"})
    assert from_dict(TrainConfig, {}).precision == "fp32"  # checkpoints from before the flag


@pytest.mark.parametrize("cmd", [["train", "{text}"], ["tag", "train", "--derive", "truecase", "{text}"]])
def test_fp16_on_the_cpu_is_refused_naming_cuda(tmp_path, capsys, text_file, cmd):
    """On a CPU, torch's fp16 autocast has no LSTM kernel (oneDNN fails at the first batch) and
    does not run GRU in fp16 at all: fp16 is refused before training, in one line."""
    args = [a.replace("{text}", str(text_file)) for a in cmd]
    rc = main([*args, "--out", str(tmp_path / "run"), "--tiny", "--device", "cpu", "--precision", "fp16"])
    one_line_error(capsys, rc, "fp16 needs a CUDA device")
    assert not (tmp_path / "run" / "last.pt").exists()


def test_resume_on_the_cpu_of_an_fp16_run_asks_for_another_precision(tmp_path, capsys, text_file):
    run = tmp_path / "run"
    args = ["train", str(text_file), "--out", str(run), "--tiny", "--cell", BF16_CELL, "--device", "cpu", "--max-steps", "10", "--quiet"]
    assert main(args) == 0
    ckpt = torch.load(run / "last.pt", weights_only=True)
    ckpt["train_config"]["precision"] = "fp16"  # as if trained on a GPU
    torch.save(ckpt, run / "last.pt")
    capsys.readouterr()
    rc = main(["train", "--resume", str(run), "--device", "cpu", "--max-steps", "20", "--quiet"])
    one_line_error(capsys, rc, "--precision bf16 or fp32")
    assert main(["train", "--resume", str(run), "--device", "cpu", "--precision", "bf16", "--max-steps", "20", "--quiet"]) == 0


def test_a_cell_this_cpu_cannot_train_in_bf16_is_refused_in_one_line(tmp_path, capsys, text_file):
    """Where oneDNN has no bf16 kernel for a cell (the LSTM on a CPU without AVX-512),
    training refuses in one line, exit 2, before the run folder is made, naming what trains here."""
    refused = [c for c in CELLS if bf16_problem(c) is not None]
    if not refused:
        if os.environ.get("RNNLAB_EXPECT_BF16_REFUSAL"):
            pytest.fail("RNNLAB_EXPECT_BF16_REFUSAL is set, but every cell trains in bf16 on this CPU")
        pytest.skip("every cell trains in bf16 on this CPU: nothing to refuse (the refusal is simulated in the next test)")
    for cell in refused:
        run = tmp_path / f"run-{cell}"
        rc = main(["train", str(text_file), "--out", str(run), "--tiny", "--cell", cell, "--device", "cpu", "--precision", "bf16"])
        err = capsys.readouterr().err
        assert rc == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
        assert f"--precision bf16 cannot train the {cell.upper()}" in err and "--precision fp32" in err, err
        if probe("bf16", "cpu", cell, "reference") is None:
            assert "--impl reference" in err, err
        assert not run.exists()
        # What the line names does train.
        assert (
            main(
                ["train", str(text_file), "--out", str(run), "--tiny", "--cell", cell, "--device", "cpu", "--precision", "fp32", "--quiet"]
            )
            == 0
        )


def test_the_refusal_names_what_trains_here(tmp_path, capsys, text_file, monkeypatch):
    """The same refusal on any CPU, with a probe that fails for torch.nn's LSTM as oneDNN does
    without AVX-512: the command line and the Python API refuse before writing anything."""
    real = precision_module.probe

    def fake(precision, device, cell, backend, directions=1):
        if cell == "lstm" and backend == "torch" and precision == "bf16":
            return "could not create a primitive descriptor for the LSTM forward propagation primitive"
        return real(precision, device, cell, backend, directions)

    monkeypatch.setattr(precision_module, "probe", fake)
    run = tmp_path / "run"
    rc = main(["train", str(text_file), "--out", str(run), "--tiny", "--device", "cpu", "--precision", "bf16"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1, err
    assert err.startswith("rnnlab train: error: --precision bf16 cannot train the LSTM on torch.nn's layer on this CPU"), err
    assert "--precision fp32" in err and "--impl reference" in err and "--cell gru" in err, err
    assert not run.exists()
    rc = main(
        ["tag", "train", "--derive", "truecase", str(text_file), "--out", str(run), "--tiny", "--device", "cpu", "--precision", "bf16"]
    )
    one_line_error(capsys, rc, "--precision bf16 cannot train the LSTM")
    assert not run.exists()
    import rnnlab

    with pytest.raises(UserError, match="cannot train the LSTM"):
        rnnlab.train_lm(
            text=SMALL, out=run, model=ModelConfig(layers=1, hidden=8, embed=4), config=TrainConfig(precision="bf16", device="cpu")
        )
    assert not run.exists()
    # --impl reference is one of the ways out it names.
    bf16 = ["--device", "cpu", "--precision", "bf16", "--impl", "reference"]
    args = ["train", str(text_file), "--out", str(run), "--tiny", *bf16, "--quiet"]
    assert main(args) == 0


def test_the_probe_runs_once_and_leaves_the_random_state_alone():
    state = torch.get_rng_state()
    probe.cache_clear()
    assert probe("bf16", "cpu", "gru", "reference") is None  # rnnlab.nn's ops: bf16 everywhere
    assert torch.equal(state, torch.get_rng_state())
    probe("bf16", "cpu", "gru", "reference")
    assert probe.cache_info().hits == 1 and probe.cache_info().misses == 1
    assert probe("fp32", "cpu", "lstm", "torch") is None


# ------------------------------------------------------------------------------ the fp16 loss scaler


def test_scaler_path_and_its_checkpoint_state_on_the_cpu(tmp_path):
    """The scaler's code path (scale, unscale before clipping, step, update) and its checkpoint
    round trip, with a CPU GradScaler standing in for CUDA's: fp16 itself needs a GPU."""
    run = tmp_path / "run"
    run.mkdir()
    m = ModelConfig(cell="gru", layers=1, hidden=16, embed=8)
    t = TrainConfig(batch_size=4, seq_len=16, max_steps=12, eval_every=6, sample_chars=0, device="cpu")
    trainer = Trainer(LMTask(corpus_from_text(SMALL), m, t), run_dir=run)
    trainer.precision.scaler = torch.amp.GradScaler("cpu", init_scale=2.0**16, growth_interval=3)
    # The first backward overflows, as an fp16 gradient at too high a scale does: the step is
    # skipped and the scale halved, and that is no reason to stop (the loss itself is finite).
    overflowed = []

    def overflow_once(grad):
        if not overflowed:
            overflowed.append(True)
            return grad * float("inf")
        return grad

    trainer.model.head.weight.register_hook(overflow_once)
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    assert math.isfinite(float(trainer.step()))
    assert all(torch.equal(before[k], v) for k, v in trainer.model.state_dict().items())  # skipped
    assert trainer.precision.scaler.get_scale() == 2.0**15 and trainer.progress.step == 1
    result = trainer.run()
    assert result["step"] == 12 and math.isfinite(result["best_val_bpc"])
    assert any(not torch.equal(before[k], v) for k, v in trainer.model.state_dict().items())
    saved = checkpoint.load(run / checkpoint.LAST)  # weights_only: the scaler's state is numbers
    assert saved.scaler == trainer.precision.scaler.state_dict()
    assert all(isinstance(v, (int, float)) for v in saved.scaler.values())
    again = Trainer(LMTask(corpus_from_text(SMALL), m, t), run_dir=run)
    again.precision.scaler = torch.amp.GradScaler("cpu")
    again.restore(saved)
    assert again.precision.scaler.state_dict() == saved.scaler


@pytest.mark.gpu
@needs_cuda
def test_fp16_on_cuda_survives_overflow_and_resumes_its_scaler(tmp_path, capsys, text_file):
    run = tmp_path / "run"
    assert (
        main(
            [
                "train",
                str(text_file),
                "--out",
                str(run),
                "--tiny",
                "--device",
                "cuda",
                "--precision",
                "fp16",
                "--max-steps",
                "10",
                "--quiet",
            ]
        )
        == 0
    )
    saved = torch.load(run / "last.pt", weights_only=True)
    assert saved["train_config"]["precision"] == "fp16"
    assert set(saved["scaler"]) >= {"scale", "_growth_tracker"}
    assert all(v.dtype == torch.float32 for v in saved["model"].values())
    assert main(["train", "--resume", str(run), "--max-steps", "20", "--quiet"]) == 0
    assert torch.load(run / "last.pt", weights_only=True)["progress"]["step"] == 20

    trainer = make_trainer("lstm", "fp16", device="cuda")
    # 2^40 makes fp16 gradients overflow: those steps are skipped and the scale lowered,
    # while the (fp32) loss stays finite, so training goes on.
    trainer.precision.scaler = torch.amp.GradScaler("cuda", init_scale=2.0**40)
    losses = [float(trainer.step()) for _ in range(30)]
    assert all(math.isfinite(x) for x in losses)
    assert trainer.precision.scaler.get_scale() < 2.0**40
    assert all(bool(torch.isfinite(p).all()) and p.dtype == torch.float32 for p in trainer.model.parameters())
