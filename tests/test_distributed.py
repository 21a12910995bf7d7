"""Data parallel on torch.distributed: 2 CPU processes (gloo) match one process with the whole batch."""

import subprocess
import sys

import pytest
import torch

TEXT = "all work and no play makes jack a dull boy.\n" * 80


def torchrun(*args, n=2):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={n}", "-m", "rnnlab", "train", *args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr[-3000:]
    return r


def single(*args):
    r = subprocess.run([sys.executable, "-m", "rnnlab", "train", *args], capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr[-3000:]
    return r


@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed is not built in")
def test_two_gloo_ranks_match_one_process_and_resume(tmp_path):
    text = tmp_path / "t.txt"
    text.write_text(TEXT)
    # A constant rate: raising --max-steps on resume must not move a cosine horizon under us.
    common = ["--tiny", "--batch-size", "4", "--eval-every", "3", "--quiet", "--device", "cpu", "--cell", "gru", "--schedule", "constant"]
    # Two ranks with 2 streams each, stopped at step 5 and resumed to step 9 ...
    torchrun(str(text), "--out", str(tmp_path / "ddp"), "--max-steps", "5", *common)
    torchrun("--resume", str(tmp_path / "ddp"), "--max-steps", "9", "--quiet")
    # ... against one process with all 4 streams for 9 steps.
    single(str(text), "--out", str(tmp_path / "one"), "--max-steps", "9", *common)
    a = torch.load(tmp_path / "ddp" / "last.pt", weights_only=True)
    b = torch.load(tmp_path / "one" / "last.pt", weights_only=True)
    assert a["progress"]["step"] == b["progress"]["step"] == 9
    for k in b["model"]:
        torch.testing.assert_close(a["model"][k], b["model"][k], rtol=1e-4, atol=1e-5)
    # Validation is reduced across ranks: the same figure as one process computes.
    va = {h["step"]: h["val_bpc"] for h in a["history"]}
    vb = {h["step"]: h["val_bpc"] for h in b["history"]}
    assert set(vb) == {3, 6, 9} and set(va) == {3, 5, 6, 9}  # the interrupted run also evaluated at its stop
    assert [va[s] for s in (3, 6, 9)] == pytest.approx([vb[s] for s in (3, 6, 9)], rel=1e-4)
    # Only rank 0 wrote: one metrics file with one row per logged step, no stray files.
    rows = (tmp_path / "ddp" / "metrics.csv").read_text().splitlines()[1:]
    assert [int(r.split(",")[0]) for r in rows] == [3, 5, 6, 9]
