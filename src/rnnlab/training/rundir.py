"""A run folder's files: the lock, the checkpoints, ``metrics.csv`` and ``loss.png``.

- ``train.lock``: one training per folder. An OS file lock (``filelock``: ``flock`` on Unix),
  so the lock of a process that dies, even by SIGKILL, is released by the OS: there are no stale
  locks to take over. ``train.owner`` says who holds it (pid and host), for the refusal message.
- ``best.pt`` / ``last.pt``: :mod:`rnnlab.checkpoint`, written atomically.
- ``metrics.csv``: one row every 10 steps and at each evaluation.
- ``loss.png``: training and validation bits per character by step (matplotlib, no pyplot).
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import filelock

from rnnlab import checkpoint, fileio
from rnnlab.errors import UserError

log = logging.getLogger("rnnlab.train")

LOCK = "train.lock"
OWNER = "train.owner"
METRICS = "metrics.csv"
CHART = "loss.png"
METRIC_FIELDS = ["step", "epoch", "elapsed_s", "lr", "train_bpc", "val_bpc", "chars_per_s", "grad_norm"]
RUN_FILES = (checkpoint.LAST, checkpoint.BEST, METRICS, CHART)  # what overwrite removes; a checkpoint marks a run


def create(path: str | os.PathLike, overwrite: bool = False) -> Path:
    """Make ``path`` the folder of a new run. A folder that already holds a run is refused in one
    line (naming the training that holds it, if one does), unless ``overwrite``: then the run's
    files (``RUN_FILES``) are removed first, under the folder's lock."""
    path = Path(path)
    try:  # a name too long, a parent that is a file ...: one line
        if path.exists() and not path.is_dir():
            raise UserError(f"{path} exists and is not a folder")
        if any((path / n).exists() for n in (checkpoint.LAST, checkpoint.BEST)):
            with RunFolder(path).lock():  # "in use by another training (pid N)" while one trains there
                if not overwrite:
                    raise UserError(
                        f"{path} already holds a run; continue it with --resume, or choose another folder (from Python, overwrite=True replaces it)"
                    )
                for name in RUN_FILES:
                    (path / name).unlink(missing_ok=True)
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot create {path}: {e.strerror or e}") from None
    return path


class RunFolder:
    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the folder for one training; another one is refused with a line naming its owner.
        Temporary files that a killed writer left are swept once the lock is held."""
        lock = filelock.FileLock(self.path / LOCK, timeout=0)
        try:
            lock.acquire()
        except filelock.Timeout:
            owner = self._read_owner()
            who = f" (pid {owner})" if owner else ""
            raise UserError(f"{self.path} is in use by another training{who}") from None
        except OSError as e:
            raise UserError(f"cannot write in {self.path}: {e.strerror}") from None
        me = f"{os.getpid()} on {socket.gethostname()}"
        try:
            fileio.atomic_write_text(self.path / OWNER, me + "\n")
            fileio.sweep(self.path)
            yield
        finally:
            if self._read_owner() == me:
                (self.path / OWNER).unlink(missing_ok=True)
            lock.release()

    def busy(self) -> bool:
        """Whether another process trains in this folder now (holds its lock)."""
        lock = filelock.FileLock(self.path / LOCK, timeout=0)
        try:
            lock.acquire()
        except filelock.Timeout:
            return True
        except OSError:
            return False
        lock.release()
        return False

    def _read_owner(self) -> str | None:
        try:
            return (self.path / OWNER).read_text().strip() or None
        except OSError:
            return None

    def save(self, name: str, ckpt: checkpoint.Checkpoint) -> None:
        checkpoint.save(self.path / name, ckpt)

    def has(self, name: str) -> bool:
        return (self.path / name).is_file()

    def load(self, name: str, kind: str | None = None) -> checkpoint.Checkpoint:
        return checkpoint.load(self.path / name, kind=kind)

    def append_metrics(self, row: dict[str, Any]) -> None:
        path = self.path / METRICS
        new = not path.exists()
        with open(path, "a", newline="") as f:
            w = csv.DictWriter(f, fieldnames=METRIC_FIELDS, lineterminator="\n", extrasaction="ignore")
            if new:
                w.writeheader()
            w.writerow(row)

    def read_metrics(self) -> list[dict[str, str]]:
        try:
            with open(self.path / METRICS, newline="") as f:
                return list(csv.DictReader(f))
        except (OSError, csv.Error, UnicodeDecodeError):
            return []

    def truncate_metrics(self, step: int) -> None:
        """Drop rows written after ``step``, the step being resumed from (they will be redone)."""
        if not (self.path / METRICS).exists():
            return
        rows = [r for r in self.read_metrics() if r.get("step", "").isdigit() and int(r["step"]) <= step]
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=METRIC_FIELDS, lineterminator="\n", extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
        fileio.atomic_write_text(self.path / METRICS, buf.getvalue())

    def write_chart(self) -> None:
        """``loss.png``: training and validation bits per character against steps."""
        rows = self.read_metrics()
        if not rows:
            return
        from matplotlib.figure import Figure  # imported on first use: it takes a moment

        fig = Figure(figsize=(6.4, 4.0), dpi=100, layout="constrained")
        ax = fig.add_subplot()
        for key, label in (("train_bpc", "train"), ("val_bpc", "validation")):
            points = [(float(r["step"]), float(r[key])) for r in rows if r.get(key)]
            if points:
                ax.plot(*zip(*points), label=label, marker="o" if key == "val_bpc" else None, markersize=3)
        ax.set(title="bits per character", xlabel="step", ylabel="bits per character")
        ax.grid(alpha=0.3)
        ax.legend()
        try:
            fileio.atomic_write(self.path / CHART, lambda f: fig.savefig(f, format="png"))
        except UserError as e:
            log.warning("%s", e)
