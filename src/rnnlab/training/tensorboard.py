"""Training where people watch it: trainer hooks that write TensorBoard's event files.

``rnnlab train --tensorboard DIR`` (and ``hooks=TensorBoard(DIR)`` from Python) writes the
scalars of ``metrics.csv`` (training and validation bits/char, learning rate, gradient norm,
characters per second) by step, each evaluation's sample as text, and the run's settings as
hparams, through ``torch.utils.tensorboard`` (the ``tensorboard`` extra). Any other tracker takes
the same four calls (:class:`rnnlab.training.hooks.Hooks`): docs/training.md shows Weights &
Biases in a few lines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rnnlab import settings
from rnnlab.errors import UserError
from rnnlab.training.hooks import Hooks
from rnnlab.training.loop import Trainer

SCALARS = ("train_bpc", "val_bpc", "lr", "grad_norm", "chars_per_s")  # metrics.csv's columns, by step


class TensorBoard(Hooks):
    """Write a run's metrics to TensorBoard event files in ``log_dir``."""

    def __init__(self, log_dir: str | Path):
        try:  # checked when made, before anything is written; the files come when training starts
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise UserError("--tensorboard needs the tensorboard package: pip install tensorboard") from None
        self.log_dir, self.writer_class = str(log_dir), SummaryWriter

    def on_start(self, trainer: Trainer) -> None:
        self.writer = self.writer_class(self.log_dir)
        t = trainer.task
        values = {**settings.to_dict(t.data_config), **settings.to_dict(t.model_config), **settings.to_dict(t.train_config)}
        # hparams take numbers, strings and booleans; an unset setting (None) is written as text.
        hparams = {k: v if isinstance(v, (int, float, str, bool)) else str(v) for k, v in values.items()}
        self.writer.add_hparams(hparams, {}, run_name=".")

    def on_step(self, trainer: Trainer, info: dict[str, Any]) -> None:
        for key in SCALARS:
            if info.get(key) is not None:
                self.writer.add_scalar(key, info[key], info["step"])

    def on_eval(self, trainer: Trainer, info: dict[str, Any]) -> None:
        if info.get("sample"):
            self.writer.add_text("sample", "    " + info["sample"].replace("\n", "\n    "), info["step"])  # indented: shown as is

    def on_end(self, trainer: Trainer, result: dict[str, Any]) -> None:
        self.writer.close()
