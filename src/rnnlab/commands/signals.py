"""Ctrl-C and SIGTERM during training: finish the step, save, then stop."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator


class StopEvent(threading.Event):
    """Set by the first SIGINT or SIGTERM; ``received`` keeps which signal it was."""

    def __init__(self):
        super().__init__()
        self.received: dict[str, int] = {}


@contextlib.contextmanager
def stop_on_signals() -> Iterator[StopEvent]:
    """SIGINT and SIGTERM set the event (training then saves and stops); a second SIGINT aborts."""
    stop = StopEvent()

    def handler(signum, frame):
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stop.received["signal"] = signum
        stop.set()

    old = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            old[sig] = signal.signal(sig, handler)
    try:
        yield stop
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)
