"""rnnlab in a Jupyter notebook: live training curves and the report page inline.

- :class:`LiveCurves`: a training hook (:class:`~rnnlab.training.hooks.Hooks`) for
  ``rnnlab.train_lm(..., hooks=LiveCurves())`` that draws training and validation bits per
  character against steps and updates *one* display in place (``display(..., display_id=True)``,
  then ``handle.update(...)``) at every evaluation and every ``every`` steps, under a progress
  bar of the steps (a tqdm.auto widget). Outside a Jupyter kernel it only records the figures
  (``.steps``, ``.train``, ``.val``): nothing shown, no error.
- :func:`show_report`: the page of ``rnnlab report``, built by :func:`rnnlab.report.build_report`,
  shown inline (an ``<iframe srcdoc=...>``) by Jupyter's rich display, and ``.save(path)``-able.

IPython is imported only when something is shown, so this module imports without it.
"""

from __future__ import annotations

import html
import io
import os
import sys
from pathlib import Path
from typing import Any

from rnnlab.training.hooks import Hooks


def in_notebook() -> bool:
    """True inside a Jupyter kernel (IPython with a kernel attached), where displays can update
    and tqdm.auto draws a widget; not merely with IPython or ipykernel imported."""
    ipython = sys.modules.get("IPython")  # a kernel has imported it; importing it here would cost a terminal
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    return getattr(shell, "kernel", None) is not None


class LiveCurves(Hooks):
    """Training and validation bits per character against steps, redrawn in one display.

    ``every``: also redraw the training curve every this many steps (the trainer reports the
    training loss every 10 steps); validation points redraw at each evaluation. ``show``: None
    draws only inside a Jupyter kernel, True / False forces it. ``updates`` counts the redraws
    after the first display (``handle.update``). ``bar``: with the curves, a progress bar of the
    steps (``tqdm.auto``: a widget in Jupyter, where ``ipywidgets`` is installed), as ``rnnlab
    train`` draws in a terminal.
    """

    def __init__(self, every: int = 50, figsize: tuple[float, float] = (7.0, 3.2), show: bool | None = None, bar: bool = True):
        self.every = max(1, int(every))
        self.figsize = figsize
        self.show = show
        self.bar = bar
        self._bar = None
        self.steps: list[int] = []
        self.train: list[float] = []
        self.val_steps: list[int] = []
        self.val: list[float] = []
        self.updates = 0
        self._handle = None
        self._last_drawn = -1
        self._title = ""

    # ------------------------------------------------------------------ the trainer's calls
    def on_start(self, trainer) -> None:
        self._active = in_notebook() if self.show is None else bool(self.show)
        self._title = f"{getattr(trainer.task.model_config, 'cell', 'rnn')} on {trainer.device}"
        if self._active and self.bar:
            from tqdm.auto import tqdm

            p = trainer.progress
            self._bar = tqdm(total=p.total_steps, initial=p.step, unit="step", desc="training", dynamic_ncols=True)
        self._draw()

    def on_step(self, trainer, info: dict[str, Any]) -> None:
        if self._bar is not None:
            self._bar.total = trainer.progress.total_steps  # a time budget's plan is revised as steps are timed
            self._bar.update(int(info["step"]) - self._bar.n)
        if "train_bpc" in info:
            self.steps.append(int(info["step"]))
            self.train.append(float(info["train_bpc"]))
        if info["step"] - self._last_drawn >= self.every:
            self._draw()

    def on_eval(self, trainer, info: dict[str, Any]) -> None:
        self.val_steps.append(int(info["step"]))
        self.val.append(float(info["val_bpc"]))
        self._draw()

    def on_end(self, trainer, result: dict[str, Any]) -> None:
        best = result.get("best_val_bpc")
        if best is not None and best == best and best != float("inf"):
            self._title += f": best validation {best:.3f} bits/char at step {result.get('best_step')}"
        self._draw()
        self._handle = None
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    # ------------------------------------------------------------------ drawing
    def png(self) -> bytes:
        """The current curves as a PNG image (a fresh matplotlib ``Figure``, not pyplot's: nothing to close)."""
        from matplotlib.figure import Figure

        fig = Figure(figsize=self.figsize, dpi=100)
        ax = fig.add_subplot(1, 1, 1)
        if self.steps:
            ax.plot(self.steps, self.train, label="training", color="tab:blue", linewidth=1)
        if self.val_steps:
            ax.plot(self.val_steps, self.val, "o-", label="validation", color="tab:orange", markersize=3)
        ax.set_xlabel("step")
        ax.set_ylabel("bits per character")
        ax.set_title(self._title, fontsize=10)
        ax.grid(alpha=0.3)
        if self.steps or self.val_steps:
            ax.legend(loc="upper right")
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        fig.clear()
        return buf.getvalue()

    def _draw(self) -> None:
        self._last_drawn = self.steps[-1] if self.steps else 0
        if not getattr(self, "_active", False):
            return
        from IPython.display import Image, display

        image = Image(data=self.png(), format="png")
        if self._handle is None:
            self._handle = display(image, display_id=True)
        else:
            self._handle.update(image)
            self.updates += 1


class ReportView:
    """A report page that Jupyter shows inline (``_repr_html_``) and that saves as ``rnnlab report`` writes it."""

    def __init__(self, page: str, height: int = 900, notes: list[str] | None = None):
        self.html = page
        self.height = height
        self.notes = list(notes or [])

    def _repr_html_(self) -> str:
        # srcdoc keeps the page's own scripts and styles apart from the notebook's.
        return (
            f'<iframe srcdoc="{html.escape(self.html, quote=True)}" '
            f'style="width: 100%; height: {int(self.height)}px; border: 1px solid #ddd" '
            'sandbox="allow-scripts allow-popups allow-downloads"></iframe>'
        )

    def save(self, path: str | os.PathLike) -> Path:
        """Write the page (one self-contained HTML file) to ``path``; returns the path."""
        from rnnlab.fileio import atomic_write_text

        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out, self.html)
        return out


def show_report(
    run_dir: str | os.PathLike, text: str | None = None, prime: str | None = None, which: str = "best", height: int = 900, **settings
) -> ReportView:
    """The page of ``rnnlab report RUN_DIR`` (same arguments: ``text``, ``prime``, ``which``, and
    :class:`~rnnlab.config.ReportConfig`'s fields as ``settings``), to show inline in Jupyter or save."""
    from rnnlab.report import build_report

    report = build_report(run_dir, text=text, prime=prime, which=which, **settings)
    return ReportView(report.html, height=height, notes=report.notes)
