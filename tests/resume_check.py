"""Shared by the resume tests: train straight through, and again with a stop and a resume."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import torch

from rnnlab import checkpoint
from rnnlab.training import Hooks


class StopAt(Hooks):
    """Ask the trainer to stop once it has taken ``step`` steps."""

    def __init__(self, step: int, event: threading.Event):
        self.step, self.event = step, event

    def on_step(self, trainer, info):
        if trainer.progress.step >= self.step:
            self.event.set()


def straight_and_resumed(make: Callable[..., object], tmp_path: Path, stop_at: int, kind: str | None = None):
    """``make(run_dir, **kw)`` builds a trainer. Returns (straight, resumed, first) trainers after
    running: one without a break, one stopped at ``stop_at`` (``first``) and resumed to the end."""
    (tmp_path / "a").mkdir()
    straight = make(tmp_path / "a")
    straight.run()
    stop = threading.Event()
    (tmp_path / "b").mkdir()
    first = make(tmp_path / "b", hooks=StopAt(stop_at, stop), stop=stop)
    assert first.run()["reason"] == "interrupted"
    ckpt = checkpoint.load(tmp_path / "b" / checkpoint.LAST, **({"kind": kind} if kind else {}))
    resumed = make(tmp_path / "b", resume=ckpt)
    resumed.run()
    return straight, resumed, first


def assert_same_weights(a, b) -> None:
    for (name, x), (_, y) in zip(a.model.state_dict().items(), b.model.state_dict().items()):
        assert torch.equal(x, y), name
