"""What a training prints while it runs: the start-up summary, a progress bar, evaluations.

The bar is tqdm's (``tqdm.auto``: a widget in a notebook, a line that fits the terminal's width
otherwise). When standard error is neither a terminal nor a notebook (a log file, CI) the bar
would be a stream of carriage returns, so a plain progress line is written every 10 seconds.
"""

from __future__ import annotations

import math
import sys
import time
from typing import Any

from tqdm.auto import tqdm

from rnnlab.notebook import in_notebook
from rnnlab.training import Hooks, Trainer

PLAIN_EVERY = 10.0  # seconds between progress lines when the bar cannot be drawn


fmt_duration = tqdm.format_interval  # 125 s -> "02:05"
fmt_rate = tqdm.format_sizeof  # 12345.6 characters/s -> "12.3k"


def summary(trainer: Trainer, batch: str, changes: dict[str, tuple[Any, Any]], model_note: str | None = None) -> str:
    """The start-up message: data, model (and why this one, when rnnlab chose it), schedule, and what a resume changed."""
    m, cfg, p, task = trainer.task.model_config, trainer.config, trainer.progress, trainer.task
    backend = f"impl {m.impl} -> {trainer.backend}" if m.impl == "auto" else f"impl {trainer.backend}"
    lines = [
        task.describe(),
        f"model: {m.layers}x{m.hidden} {'bidirectional ' if getattr(m, 'bidirectional', False) else ''}"
        f"{m.cell.upper()} ({backend}), {', '.join(m.extras())}, "
        f"{sum(t.numel() for t in trainer.model.parameters()):,} parameters, on {trainer.device}"
        + (f" ({cfg.precision} autocast)" if cfg.precision != "fp32" else ""),
        *([f"  ({model_note}; model flags choose your own)"] if model_note else []),
        *([f"  ({note})"] if (note := getattr(task, "note", None)) else []),
        *([f"  ({started(origin)})"] if (origin := getattr(task, "origin", None)) else []),
        f"training: {batch}, {task.steps_per_epoch} steps per epoch, lr {cfg.lr:g} ({cfg.schedule}), "
        f"up to {p.total_steps} steps" + (f" or {fmt_duration(cfg.max_time)}" if cfg.max_time else ""),
    ]
    if p.step:
        changed = ", ".join(f"{k} {old} -> {new}" for k, (old, new) in changes.items())
        lines.append(f"resuming at step {p.step}" + (f"; changed: {changed}" if changed else ""))
    return "\n".join(lines)


def started(origin: dict[str, Any]) -> str:
    """Where the weights came from, in words (``init_from.Start.origin``)."""
    val = f", validation {origin['best_val']:.3f} bits/char" if origin.get("best_val") is not None else ""
    new = origin.get("new_chars", 0)
    grown = f"; {new} new character{'s' * (new != 1)} added to its {origin['source_vocab']}" if new else ""
    return f"started from {origin['init_from']}: its weights after {origin['step']:,} steps{val}{grown}"


class ProgressDisplay(Hooks):
    """Trainer hooks that draw the summary, the bar and each evaluation on standard error."""

    def __init__(
        self, quiet: bool, batch: str, changes: dict[str, tuple[Any, Any]] | None = None, stream=None, model_note: str | None = None
    ):
        self.quiet, self.batch, self.changes, self.model_note = quiet, batch, changes or {}, model_note
        self.stream = stream or sys.stderr
        self.interactive = getattr(self.stream, "isatty", lambda: False)() or in_notebook()
        self.bar: tqdm | None = None
        self.last_val: float | None = None
        self._last_plain = 0.0

    def write(self, text: str) -> None:
        if self.bar is not None:
            self.bar.write(text, file=self.stream)  # above the bar, which is redrawn
        else:
            self.stream.write(text + "\n")
            self.stream.flush()

    def on_start(self, trainer: Trainer) -> None:
        if self.quiet:
            return
        self.write(summary(trainer, self.batch, self.changes, self.model_note))
        if self.interactive:
            p = trainer.progress
            self.bar = tqdm(
                total=p.total_steps,
                initial=p.step,
                file=self.stream,
                dynamic_ncols=True,
                unit="step",
                bar_format="step {n_fmt}/{total_fmt} |{bar}| {postfix} [{elapsed}<{remaining}]",
            )

    def status(self, info: dict[str, Any]) -> str:
        val = f" | val {self.last_val:.3f}" if self.last_val is not None and math.isfinite(self.last_val) else ""
        return f"loss {info.get('train_bpc', float('nan')):.3f} bpc{val} | {fmt_rate(info.get('chars_per_s', 0.0))} char/s"

    def on_step(self, trainer: Trainer, info: dict[str, Any]) -> None:
        if self.quiet:
            return
        p = trainer.progress
        if self.bar is not None:
            self.bar.total = p.total_steps
            self.bar.set_postfix_str(self.status(info), refresh=False)
            self.bar.update(p.step - self.bar.n)
        elif time.monotonic() - self._last_plain > PLAIN_EVERY or p.step >= p.total_steps:
            self._last_plain = time.monotonic()
            self.write(f"step {p.step}/{p.total_steps} | {self.status(info)} | {fmt_duration(p.elapsed)}")

    def on_eval(self, trainer: Trainer, info: dict[str, Any]) -> None:
        self.last_val = info.get("val_bpc")
        if self.quiet:
            return
        best = " (best)" if trainer.progress.best_step == info["step"] else ""
        error = f", {1 - info['val_error']:.1%} of the changes right" if info.get("val_error") is not None else ""
        text = f"step {info['step']}: validation {info['val_bpc']:.3f} bits/char{error}{best}"
        if info.get("sample"):
            text += "".join(f"\n  | {line}" for line in info["sample"].split("\n"))
        self.write(text)

    def on_end(self, trainer: Trainer, result: dict[str, Any]) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
