"""rnnlab's one atomic write, and the sweep of what a killed writer left behind.

Every file rnnlab writes into a run folder (checkpoints, metrics, the loss chart, the report)
goes to a temporary file in the same folder, is flushed to disk, then renamed over the target:
a kill at any moment leaves either the old file or the new one, never half of one. The
temporary names follow one pattern, so :func:`sweep` finds every one a killed process left.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from rnnlab.errors import UserError

TMP_GLOB = ".*.tmp-*"
# A run folder's checkpoints (rnnlab.checkpoint writes them): either one makes a folder a run's.
LAST, BEST = "last.pt", "best.pt"


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], object]) -> None:
    """Call ``write(file)`` on a temporary file, then rename it to ``path``. A failure (a full
    disk) keeps the previous file and is a UserError that says so."""
    path = Path(path)
    if os.path.isdir(path):  # "." has no name to put the temporary file beside
        raise UserError(f"could not write {path}: it is a folder; name a file")
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")  # what TMP_GLOB matches
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            tmp.unlink()
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


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def sweep(folder: Path) -> None:
    """Delete temporary files that a killed writer left in ``folder`` (hold its lock first)."""
    for tmp in Path(folder).glob(TMP_GLOB):
        tmp.unlink(missing_ok=True)
