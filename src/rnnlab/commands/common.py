"""Pieces shared by the command modules: argument types, the progress display, signals."""

from __future__ import annotations

import argparse
import contextlib
import math
import signal
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any


def _whole_number_at_least(least: int, words: str):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"must be {words}, got {value}")
        return value

    return parse


positive_int = _whole_number_at_least(1, "at least 1")
nonneg_int = _whole_number_at_least(0, "0 or more")


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return value


def fmt_duration(seconds: float) -> str:
    if not math.isfinite(seconds) or seconds < 0:
        return "?"
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


def fmt_rate(cps: float) -> str:
    return f"{cps / 1000:.1f}k" if cps >= 1000 else f"{cps:.0f}"


class ProgressBar:
    """A one-line progress bar on stderr when it is a terminal; plain log lines otherwise."""

    def __init__(self, stream=None, width: int = 24):
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.width = width
        self.last_val: float | None = None
        self._drawn = False
        self._last_plain = 0.0

    def line(self, step: int, total: int, info: dict[str, Any], elapsed: float, eta: float) -> str:
        frac = min(1.0, step / max(1, total))
        filled = int(frac * self.width)
        bar = "#" * filled + "." * (self.width - filled)
        val = f" | val {self.last_val:.3f} bpc" if self.last_val is not None and math.isfinite(self.last_val) else ""
        return (
            f"step {step}/{total} [{bar}] loss {info.get('train_bpc', float('nan')):.3f} bpc{val}"
            f" | {fmt_rate(info.get('chars_per_s', 0.0))} char/s | {fmt_duration(elapsed)} ETA {fmt_duration(eta)}"
        )

    def update(self, step: int, total: int, info: dict[str, Any], elapsed: float, eta: float) -> None:
        text = self.line(step, total, info, elapsed, eta)
        if self.tty:
            self.stream.write("\r\x1b[2K" + text)
            self.stream.flush()
            self._drawn = True
        elif time.monotonic() - self._last_plain > 10 or step >= total:
            self._last_plain = time.monotonic()
            self.stream.write(text + "\n")
            self.stream.flush()

    def message(self, text: str) -> None:
        """Print a block of text above the bar."""
        if self._drawn:
            self.stream.write("\r\x1b[2K")
            self._drawn = False
        self.stream.write(text.rstrip("\n") + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False


@contextlib.contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """SIGINT and SIGTERM set the event (training then saves and stops); a second SIGINT aborts."""
    stop = threading.Event()
    received: dict[str, int] = {}

    def handler(signum, frame):
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        received["signal"] = signum
        stop.set()

    old = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            old[sig] = signal.signal(sig, handler)
    stop.received = received  # type: ignore[attr-defined]
    try:
        yield stop
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)
