"""Self-describing checkpoints, written atomically and read without unpickling code.

A checkpoint is a plain dict of tensors, numbers, strings, lists and dicts: config, vocabulary,
weights, optimizer and schedule state, step, RNG state and recent metrics. ``torch.load`` reads
it with ``weights_only=True``, so a file crafted to run code when unpickled is refused. Writes go
to a temporary file in the same folder, are flushed to disk, then renamed over the old file: a
kill at any moment leaves either the old checkpoint or the new one, never half of one.
"""

from __future__ import annotations

import errno
import os
import pickle
import warnings
import zipfile
from pathlib import Path
from typing import Any

import torch

from rnnlab.errors import UserError

FORMAT = "rnnlab-checkpoint"
# Raise when the layout changes; teach ``load`` to read what older versions wrote.
# 2: model_config.impl may be "auto" or "fused", train_config has "precision", fp16 runs add
#    "scaler". Version 1 files read unchanged: the missing keys take their old defaults' values.
VERSION = 2
MIN_VERSION = 1
LAST = "last.pt"
BEST = "best.pt"


def atomic_write(path: Path, write) -> None:
    """Call ``write(file)`` on a temporary file, then rename it to ``path`` (same folder)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        try:
            tmp.unlink()
        except OSError:
            pass
        if isinstance(e, OSError):
            why = "the disk is full" if e.errno == errno.ENOSPC else (e.strerror or str(e))
            raise UserError(f"could not write {path}: {why}; the previous file is kept") from None
        raise
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)  # make the rename itself durable
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def save(path: Path, payload: dict[str, Any]) -> None:
    """Write a checkpoint dict (tensors moved to the CPU so it loads anywhere)."""
    payload = {"format": FORMAT, "version": VERSION, **payload}
    payload = _to_cpu(payload)
    atomic_write(Path(path), lambda f: torch.save(payload, f))


def _to_cpu(obj):
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_cpu(v) for v in obj)
    return obj


def load(path: Path, kind: str | None = None) -> dict[str, Any]:
    """Read and check a checkpoint; any foreign, corrupt or unsafe file is a UserError."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"no checkpoint at {path}")
    try:
        with warnings.catch_warnings():
            # A foreign pickle protocol only earns a warning before it is refused below.
            warnings.simplefilter("ignore", UserWarning)
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else "unsafe content"
        raise UserError(
            f"{path} holds objects rnnlab will not load (refused, nothing was run): {first[:160]}"
        ) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError, KeyError, IndexError) as e:
        raise UserError(f"{path} is not a readable checkpoint (truncated or corrupt: {type(e).__name__})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise UserError(f"{path} is not an rnnlab checkpoint")
    version = ckpt.get("version")
    if not isinstance(version, int):
        raise UserError(f"{path} has no checkpoint format version; it is not an rnnlab checkpoint")
    if version > VERSION:
        raise UserError(
            f"{path} has checkpoint format version {version}; this rnnlab reads up to {VERSION}: upgrade rnnlab"
        )
    if version < MIN_VERSION:
        raise UserError(
            f"{path} has checkpoint format version {version}, older than any this rnnlab reads ({MIN_VERSION}-{VERSION})"
        )
    if kind is not None and ckpt.get("kind") != kind:
        raise UserError(f"{path} is a checkpoint of a {ckpt.get('kind')!r} model, not {kind!r}")
    for key in ("model_config", "vocab", "model"):
        if key not in ckpt:
            raise UserError(f"{path} is missing {key!r}; it is not a complete rnnlab checkpoint")
    ckpt["_source"] = str(path)  # for messages about what is inside; not saved again
    return ckpt


def find(run_dir: Path, which: str = "best") -> Path:
    """The checkpoint file of a run folder: ``best`` falls back to ``last`` when there is none."""
    run_dir = Path(run_dir)
    if run_dir.is_file():
        return run_dir
    if not run_dir.is_dir():
        raise UserError(f"no such run folder: {run_dir}")
    order = [BEST, LAST] if which == "best" else [LAST]
    for name in order:
        if (run_dir / name).is_file():
            return run_dir / name
    raise UserError(f"{run_dir} is not an rnnlab run (no {LAST} or {BEST} in it)")
