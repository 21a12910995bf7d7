"""What a training prints while it runs: the start-up summary, a progress bar, evaluations; and
the one way commands open a progress bar (:func:`open_bar`, also ``rnnlab sample --num``).

The bar is tqdm's: a widget in a notebook (``tqdm.auto``), a line that fits the terminal's width
otherwise (80 columns where the terminal reports no size). When standard error is neither a
terminal nor a notebook (a log file, CI) the bar would be a stream of carriage returns, so a
training writes a plain progress line every 10 seconds instead.
"""

from __future__ import annotations

import math
import os
import sys
import time
from typing import Any

from tqdm.auto import tqdm
from tqdm.std import tqdm as std_tqdm

from rnnlab.notebook import in_notebook
from rnnlab.training import Hooks, Trainer

PLAIN_EVERY = 10.0  # seconds between progress lines when the bar cannot be drawn
FALLBACK_SIZE = (80, 24)  # columns and rows where a terminal reports 0 (a pty nobody sized)
BAR_FORMAT = "step {n_fmt}/{total_fmt} |{bar}| {desc} [{elapsed}<{remaining}]"  # desc: the loss and speed


def terminal_shape(stream) -> tuple[int, int]:
    """The ``(columns, rows)`` a bar on ``stream`` may use: the terminal's, less the last column
    (as tqdm takes them: a line that fills it would wrap), and :data:`FALLBACK_SIZE` where the
    terminal reports none, where tqdm would draw nothing at all."""
    try:
        cols, rows = os.get_terminal_size(stream.fileno())
    except (AttributeError, OSError, ValueError):  # no file descriptor, or not a terminal
        cols, rows = 0, 0
    return (cols or FALLBACK_SIZE[0]) - 1, rows or FALLBACK_SIZE[1]


class TerminalBar(std_tqdm):
    """tqdm's bar in a terminal, fitted to :func:`terminal_shape` at each draw (so it follows a
    resized window as ``dynamic_ncols`` does, and still draws in a terminal of no size)."""

    @property
    def format_dict(self):
        self.ncols, self.nrows = terminal_shape(self.fp)
        return super().format_dict


def open_bar(stream, **options) -> std_tqdm:
    """A tqdm bar on ``stream`` (``options``: tqdm's): a line in a terminal, a widget in a
    notebook, and a disabled bar (drawing nothing, ``.disable`` true) anywhere else: a log file
    or a pipe would get a stream of carriage returns."""
    if getattr(stream, "isatty", lambda: False)():
        cols, rows = terminal_shape(stream)  # given here too: tqdm checks the rows before its first draw
        return TerminalBar(file=stream, ncols=cols, nrows=rows, **options)
    if in_notebook():
        return tqdm(file=stream, dynamic_ncols=True, **options)
    return tqdm(file=stream, disable=True, **options)


fmt_duration = tqdm.format_interval  # 125 s -> "02:05"
fmt_rate = tqdm.format_sizeof  # 12345.6 characters/s -> "12.3k"


def summary(trainer: Trainer, batch: str, changes: dict[str, tuple[Any, Any]], notes: list[str] | None = None) -> str:
    """The start-up message: data, model, the settings a recipe or rule chose (``notes``, from
    :meth:`rnnlab.resolve.Resolved.notes`) and the task's own notes, schedule, and what a resume changed."""
    m, cfg, p, task = trainer.task.model_config, trainer.config, trainer.progress, trainer.task
    backend = f"impl {m.impl} -> {trainer.backend}" if m.impl == "auto" else f"impl {trainer.backend}"
    lines = [
        task.describe(),
        f"model: {m.layers}x{m.hidden} {'bidirectional ' if m.directions == 2 else ''}"
        f"{m.cell.upper()} ({backend}), {', '.join(m.extras())}, "
        f"{sum(t.numel() for t in trainer.model.parameters()):,} parameters, on {trainer.device}"
        + (f" ({cfg.precision} autocast)" if cfg.precision != "fp32" else ""),
        *(f"  ({note})" for note in [*(notes or []), *task.notes()]),
        f"training: {batch}, {task.steps_per_epoch} steps per epoch, lr {cfg.lr:g} ({cfg.schedule}), "
        f"up to {p.total_steps} steps" + (f" or {fmt_duration(cfg.max_time)}" if cfg.max_time else ""),
    ]
    if p.step:
        changed = ", ".join(f"{k} {old} -> {new}" for k, (old, new) in changes.items())
        lines.append(f"resuming at step {p.step}" + (f"; changed: {changed}" if changed else ""))
        if trainer.extended:
            lines.append(f"  ({extension(trainer)})")
    return "\n".join(lines)


def extension(trainer: Trainer) -> str:
    """What a resume that moved the run's end does with the learning rate, in words."""
    cfg, p = trainer.config, trainer.progress
    if cfg.schedule == "constant":
        return f"the run's end moved: the rest trains at the constant --lr {cfg.lr:g}"
    end = "the new time budget once its speed is timed" if cfg.max_time and not p.horizon_fixed else f"step {p.total_steps}"
    return f"the run's end moved: the cosine schedule is refitted to end at {end}, as if planned so from the start; --schedule constant keeps the rate at --lr instead"


class ProgressDisplay(Hooks):
    """Trainer hooks that draw the summary, the bar and each evaluation on standard error."""

    def __init__(
        self, quiet: bool, batch: str, changes: dict[str, tuple[Any, Any]] | None = None, stream=None, notes: list[str] | None = None
    ):
        self.quiet, self.batch, self.changes, self.notes = quiet, batch, changes or {}, notes or []
        self.stream = stream or sys.stderr
        self.bar: std_tqdm | None = None
        self.last_val: float | None = None
        self._last_plain = 0.0

    @property
    def drawing(self) -> bool:
        """Whether the bar is on screen (tqdm sets ``disable`` on a bar it closed or never drew)."""
        return self.bar is not None and not self.bar.disable

    def write(self, text: str) -> None:
        if self.drawing:
            self.bar.write(text, file=self.stream)  # above the bar, which is redrawn
        else:
            self.stream.write(text + "\n")
            self.stream.flush()

    def on_start(self, trainer: Trainer) -> None:
        if self.quiet:
            return
        self.write(summary(trainer, self.batch, self.changes, self.notes))
        p = trainer.progress
        # leave=False until close(): a run that ends in an error never reaches on_end, and tqdm
        # would draw the bar again when it is collected, after the error line; so it only clears it.
        self.bar = open_bar(self.stream, total=max(p.total_steps, p.step), initial=p.step, unit="step", leave=False, bar_format=BAR_FORMAT)

    def status(self, info: dict[str, Any]) -> str:
        val = f" | val {self.last_val:.3f}" if self.last_val is not None and math.isfinite(self.last_val) else ""
        return f"loss {info.get('train_bpc', float('nan')):.3f} bpc{val} | {fmt_rate(info.get('chars_per_s', 0.0))} char/s"

    def on_step(self, trainer: Trainer, info: dict[str, Any]) -> None:
        if self.quiet:
            return
        p = trainer.progress
        # Under --max-time the total is an estimate that a run may pass; tqdm shows a step count
        # past its total as "?" with an empty bar, so the total is kept at least the steps done.
        total = max(p.total_steps, p.step)
        if self.drawing:
            self.bar.total = total
            self.bar.set_description_str(self.status(info), refresh=False)  # BAR_FORMAT's {desc}
            self.bar.update(p.step - self.bar.n)
        elif time.monotonic() - self._last_plain > PLAIN_EVERY or p.step == p.total_steps:  # past an estimate: every 10 s
            self._last_plain = time.monotonic()
            self.write(f"step {p.step}/{total} | {self.status(info)} | {fmt_duration(p.elapsed)}")

    def on_eval(self, trainer: Trainer, info: dict[str, Any]) -> None:
        self.last_val = info.get("val_bpc")
        if self.quiet:
            return
        if trainer.task.has_validation():
            best = " (best)" if trainer.progress.best_step == info["step"] else ""
            error = f", {1 - info['val_error']:.1%} of the changes right" if info.get("val_error") is not None else ""
            text = f"step {info['step']}: validation {info['val_bpc']:.3f} bits/char{error}{best}"
        elif info.get("sample"):
            text = f"step {info['step']} (nothing held out, so no validation):"
        else:
            return  # nothing held out and no sample: nothing to say
        if info.get("sample"):
            text += "".join(f"\n  | {line}" for line in info["sample"].split("\n"))
        self.write(text)

    def on_end(self, trainer: Trainer, result: dict[str, Any]) -> None:
        self.close()

    def close(self) -> None:
        """Leave the bar as it stands and end its line; nothing of it is drawn after this. The
        trainer calls this through on_end; a caller whose run may end in an error calls it too,
        before the error is printed (calling it twice does nothing more)."""
        if self.drawing:
            self.bar.leave = True
            self.bar.close()
