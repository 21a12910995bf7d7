"""Promises about failure: non-finite losses, locks, full disks and SIGKILL at random moments."""

import errno
import os
import random
import signal
import subprocess
import sys
import time

import pytest
import torch

from rnnlab import checkpoint
from rnnlab.config import ModelConfig, TrainConfig
from rnnlab.data import corpus_from_text
from rnnlab.errors import UserError
from rnnlab.training import LMTask, Trainer
from rnnlab.training.rundir import OWNER, RunFolder

TEXT = "we hold these truths to be self-evident. " * 30


def make(tmp_path, **kw):
    run = tmp_path / "run"
    run.mkdir(exist_ok=True)
    m = ModelConfig(cell="gru", layers=1, hidden=16, embed=8)
    t = TrainConfig(batch_size=4, seq_len=16, eval_every=5, sample_chars=0, seed=1, **kw)
    return Trainer(LMTask(corpus_from_text(TEXT), m, t), run_dir=run), run


def poison(trainer, at_steps, once=True):
    """Make the loss NaN at the given (1-based) steps, as a bad batch or a too-high rate would;
    ``once``: only the first time each step is reached (a retry at a lower rate then succeeds)."""
    real = trainer.task.loss
    fired = set()

    def loss(model, index):
        value = real(model, index)
        step = trainer.progress.step + 1
        if step in at_steps and not (once and step in fired):
            fired.add(step)
            return value * float("nan")
        return value

    trainer.task.loss = loss


def all_finite(state_dict):
    return all(bool(torch.isfinite(v).all()) for v in state_dict.values())


def test_nan_loss_stops_at_once_naming_the_step(tmp_path):
    trainer, run = make(tmp_path, max_steps=30)
    poison(trainer, {13})
    with pytest.raises(UserError, match=r"step 13.*--lr.*--recover"):
        trainer.run()
    last = checkpoint.load(run / checkpoint.LAST)
    assert last.progress.step == 10  # the last evaluation's save, untouched
    assert all_finite(last.weights) and all_finite(trainer.model.state_dict())
    assert all_finite(checkpoint.load(run / checkpoint.BEST).weights)
    assert not (run / OWNER).exists()  # the lock is released on the way out


def test_recover_reloads_and_halves_the_rate(tmp_path):
    trainer, _ = make(tmp_path, max_steps=30, recover=True)
    poison(trainer, {13})
    result = trainer.run()
    assert result["step"] == 30
    assert trainer.progress.recoveries == 1 and trainer.progress.lr_scale == 0.5
    assert all_finite(trainer.model.state_dict())


def test_recover_gives_up_when_it_keeps_happening(tmp_path):
    trainer, _ = make(tmp_path, max_steps=30, recover=True)
    poison(trainer, set(range(1, 31)), once=False)
    with pytest.raises(UserError, match="recoveries"):
        trainer.run()


def test_a_second_training_on_the_same_folder_is_refused(tmp_path):
    trainer, run = make(tmp_path, max_steps=5)
    with (
        RunFolder(run).lock(),  # another training of ours holds it
        pytest.raises(UserError, match=rf"in use by another training \(pid {os.getpid()} on "),
    ):
        trainer.run()
    trainer.run()  # once released, training goes ahead


def test_a_second_process_is_refused_and_a_dead_ones_lock_is_free(tmp_path):
    """The lock is the operating system's: held by a live process, refused with its pid; gone
    with the process however it died (here SIGKILL), with no stale file to take over."""
    trainer, run = make(tmp_path, max_steps=5)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from rnnlab.training.rundir import RunFolder\n"
         "with RunFolder(sys.argv[1]).lock():\n    print('held', flush=True); time.sleep(60)", str(run)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(UserError, match=rf"in use by another training \(pid {holder.pid} on "):
        trainer.run()
    holder.kill()
    holder.wait()
    assert (run / OWNER).exists()  # what the killed holder left behind
    assert trainer.run()["step"] == 5
    assert not (run / OWNER).exists()


def test_full_disk_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    trainer, run = make(tmp_path, max_steps=5)
    trainer.run()
    before = (run / checkpoint.LAST).read_bytes()

    def full(obj, f, *a, **k):
        f.write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(checkpoint.torch, "save", full)
    with pytest.raises(UserError, match=r"disk is full.*previous file is kept"):
        trainer.save(checkpoint.LAST)
    assert (run / checkpoint.LAST).read_bytes() == before
    assert [p.name for p in run.iterdir() if ".tmp" in p.name] == []


def test_sigkill_at_random_moments_never_corrupts_a_checkpoint(tmp_path, promises):
    """20 kills at random times while a small run saves every 2 steps; each time the checkpoint
    on disk loads, and the run resumes from it to the end."""
    run = tmp_path / "run"
    text = tmp_path / "t.txt"
    text.write_text(TEXT * 20)
    base = [sys.executable, "-m", "rnnlab", "train", "--quiet"]
    # Without an end in sight (no epoch or step limit reached in 20 kills), so that the last resume trains 4 steps more.
    endless = ["--max-steps", "100000", "--epochs", "100000"]
    first = [str(text), "--out", str(run), "--tiny", "--eval-every", "2", *endless, "--sample-chars", "0"]
    rng = random.Random(0)
    kills, steps = 0, []
    for i in range(20):
        cmd = base + (first if i == 0 else ["--resume", str(run)])
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        # Wait until this process trains (its own pid as the lock's owner; a killed one leaves
        # its owner file behind), then kill somewhere in the next 0.6 s. The very first run is
        # killed only once it has saved: before that there is nothing to resume.
        deadline = time.time() + 60

        def training(proc=proc):
            try:
                mine = (run / OWNER).read_text().split()[0] == str(proc.pid)
            except (OSError, IndexError):
                return False
            return mine and (run / checkpoint.LAST).exists()

        while not training() and proc.poll() is None and time.time() < deadline:
            time.sleep(0.02)
        assert proc.poll() is None, proc.stderr.read().decode()
        time.sleep(rng.uniform(0.0, 0.6))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
        ckpt = checkpoint.load(run / checkpoint.LAST)  # raises if corrupt
        steps.append(ckpt.progress.step)
    assert kills == 20
    promises["SIGKILLs survived"] = kills
    assert steps == sorted(steps) and steps[-1] > 0  # progress is never lost, only the steps since the last save
    r = subprocess.run([*base, "--resume", str(run), "--max-steps", str(steps[-1] + 4)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr  # the killed process's lock went with it
    assert checkpoint.load(run / checkpoint.LAST).progress.step == steps[-1] + 4
    assert [p.name for p in run.iterdir() if ".tmp-" in p.name] == []  # half-written files of killed runs are swept
