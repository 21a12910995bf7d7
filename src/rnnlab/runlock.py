"""One training per run folder: a lock file holding the owner's pid and host.

The file is created with O_EXCL, so of two trainings started together exactly one gets it. A
lock left behind by a process that no longer exists (killed with SIGKILL, a crashed machine) on
this host is stale: it is taken over with a warning instead of blocking the folder forever.
"""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path

from rnnlab.errors import UserError

log = logging.getLogger("rnnlab.train")
NAME = "train.lock"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


class RunLock:
    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / NAME
        self.held = False

    def _owner(self) -> tuple[int, str] | None:
        try:
            pid, host = self.path.read_text().split()[:2]
            return int(pid), host
        except (OSError, ValueError):
            return None

    def acquire(self) -> None:
        me = f"{os.getpid()} {socket.gethostname()}\n"
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                owner = self._owner()
                if owner is not None:
                    pid, host = owner
                    if host != socket.gethostname() or _alive(pid):
                        where = f"pid {pid}" + ("" if host == socket.gethostname() else f" on {host}")
                        raise UserError(
                            f"{self.path.parent} is in use by another training ({where}); "
                            f"if it is not running, delete {self.path}"
                        ) from None
                log.warning("taking over a stale lock in %s (its owner is gone)", self.path.parent)
                try:
                    self.path.unlink()
                except FileNotFoundError:
                    pass
                continue
            except OSError as e:
                raise UserError(f"cannot write in {self.path.parent}: {e.strerror}") from None
            with os.fdopen(fd, "w") as f:
                f.write(me)
            self.held = True
            return
        raise UserError(f"could not lock {self.path.parent}; delete {self.path} if no training is running")

    def release(self) -> None:
        if self.held and self._owner() == (os.getpid(), socket.gethostname()):
            try:
                self.path.unlink()
            except OSError:
                pass
        self.held = False

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
