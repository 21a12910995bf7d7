"""Training and sampling on a CUDA device: every cell in every precision, checkpoints that load
on a CPU, and greedy text that is the same on the card and on the CPU.

Every test here is marked ``gpu`` and skipped without CUDA, unless RNNLAB_REQUIRE_GPU is set:
then a missing device fails them instead, so that ``benchmarks/gpu_check.sh`` (which sets it and
runs ``pytest -m gpu``) cannot pass by skipping everything. That cuDNN kernels are the ones in
use is not checked: torch gives no public way to tell.
"""

import math
import os

import pytest
import torch
from conftest import SMALL

import rnnlab
from rnnlab.cells import CELLS
from rnnlab.cli import main
from rnnlab.config import ModelConfig, TrainConfig
from rnnlab.data import corpus_from_text
from rnnlab.scoring import score_ids
from rnnlab.training import LMTask, Trainer

NO_CUDA = not torch.cuda.is_available() and not os.environ.get("RNNLAB_REQUIRE_GPU")
pytestmark = [pytest.mark.gpu, pytest.mark.skipif(NO_CUDA, reason="needs a CUDA device (set RNNLAB_REQUIRE_GPU=1 to fail instead)")]


def bf16_supported() -> bool:
    try:
        return torch.cuda.is_bf16_supported(including_emulation=False)
    except TypeError:
        return torch.cuda.is_bf16_supported()


def tensors(obj):
    """Every tensor in a checkpoint's nested dicts and lists."""
    if isinstance(obj, torch.Tensor):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from tensors(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from tensors(v)


def train_bpc(run):
    lines = (run / "metrics.csv").read_text().splitlines()
    col = lines[0].split(",").index("train_bpc")
    return [float(line.split(",")[col]) for line in lines[1:] if line.split(",")[col]]


@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16"])
@pytest.mark.parametrize("cell", CELLS)
def test_train_on_cuda_then_load_and_sample_on_the_cpu(tmp_path, capsys, text_file, cell, precision):
    if precision == "bf16" and not bf16_supported():
        pytest.skip("this GPU has no bfloat16")
    run = tmp_path / "run"
    rc = main(
        ["train", str(text_file), "--out", str(run), "--tiny", "--cell", cell, "--device", "cuda", "--precision", precision, "--quiet"]
    )
    assert rc == 0, capsys.readouterr().err
    bpc = train_bpc(run)
    assert bpc and all(math.isfinite(b) for b in bpc)
    for name in ("last.pt", "best.pt"):
        # No map_location: a tensor saved on the card would come back on the card.
        ckpt = torch.load(run / name, weights_only=True)
        assert all(t.device.type == "cpu" for t in tensors(ckpt)), name
        assert all(v.dtype == torch.float32 for v in ckpt["model"].values()), name
        assert ckpt["train_config"]["precision"] == precision
        assert ("scaler" in ckpt) == (precision == "fp16")
    lm = rnnlab.load(run, device="cpu")
    text = lm.sample(50, prime="a quick", seed=0)
    assert text.startswith("a quick") and len(text) == 57


@pytest.mark.parametrize("cell", CELLS)
def test_greedy_text_is_the_same_on_cuda_and_on_the_cpu(tmp_path, capsys, text_file, cell):
    run = tmp_path / "run"
    assert main(["train", str(text_file), "--out", str(run), "--tiny", "--cell", cell, "--device", "cuda", "--quiet"]) == 0
    on_cpu = rnnlab.load(run, device="cpu").sample(50, prime="a quick", greedy=True, seed=3)
    on_gpu = rnnlab.load(run, device="cuda").sample(50, prime="a quick", greedy=True, seed=3)
    assert on_gpu == on_cpu


def test_batches_are_sliced_on_the_card_and_evaluation_agrees_with_the_cpu():
    m = ModelConfig(cell="lstm", layers=1, hidden=32, embed=16)
    t = TrainConfig(batch_size=8, seq_len=32, max_steps=5, sample_chars=0, device="cuda")
    trainer = Trainer(LMTask(corpus_from_text(SMALL), m, t))
    assert trainer.task.x.device.type == "cuda" and trainer.task.y.device.type == "cuda"  # no copy per step
    for _ in range(5):
        trainer.step()
    val = trainer.task.val_ids
    assert val.device.type == "cpu"
    on_gpu = score_ids(trainer.model, val, 8, 32, trainer.device)[0]
    on_cpu = score_ids(trainer.model.to("cpu"), val, 8, 32, torch.device("cpu"))[0]
    # cuDNN may run the products in TF32 (10-bit mantissa): agreement to 1e-3, not bit for bit.
    assert on_gpu == pytest.approx(on_cpu, rel=1e-3)


def test_an_fp16_cuda_run_resumes_on_the_cpu_in_bf16(tmp_path, capsys, text_file):
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
    assert main(["train", "--resume", str(run), "--device", "cpu", "--precision", "bf16", "--max-steps", "20", "--quiet"]) == 0
    ckpt = torch.load(run / "last.pt", weights_only=True)
    assert ckpt["progress"]["step"] == 20 and ckpt["train_config"]["device"] == "cpu"
    assert all(bool(torch.isfinite(v).all()) for v in ckpt["model"].values())


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_tag_train_on_cuda_in_low_precision(tmp_path, capsys, text_file, precision):
    if precision == "bf16" and not bf16_supported():
        pytest.skip("this GPU has no bfloat16")
    run = tmp_path / "tag"
    rc = main(
        [
            "tag",
            "train",
            "--derive",
            "truecase",
            str(text_file),
            "--out",
            str(run),
            "--tiny",
            "--device",
            "cuda",
            "--precision",
            precision,
            "--quiet",
        ]
    )
    assert rc == 0, capsys.readouterr().err
    ckpt = torch.load(run / "last.pt", weights_only=True)
    assert all(t.device.type == "cpu" for t in tensors(ckpt))
    capsys.readouterr()
    assert main(["tag", "predict", str(run), "--device", "cpu", "a quick brown fox"]) == 0
    assert len(capsys.readouterr().out.rstrip("\n")) == len("a quick brown fox")
