"""What the trainer tells its caller, as it goes: :class:`Hooks` (start, each metrics row, each
evaluation, end), and :class:`AllHooks` to tell several. The command line draws its progress
bar from them, ``rnnlab.notebook.LiveCurves`` its curves, and :mod:`.tensorboard` its files.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rnnlab.training.loop import Trainer


class Hooks:
    """What the trainer tells its caller; the CLI draws a progress bar from these, and
    :class:`rnnlab.training.tensorboard.TensorBoard` writes them where TensorBoard reads."""

    def on_start(self, trainer: Trainer) -> None: ...
    def on_step(self, trainer: Trainer, info: dict[str, Any]) -> None: ...
    def on_eval(self, trainer: Trainer, info: dict[str, Any]) -> None: ...
    def on_end(self, trainer: Trainer, result: dict[str, Any]) -> None: ...


class AllHooks(Hooks):
    """Several hooks, told in order (a progress display and TensorBoard, say)."""

    def __init__(self, *hooks: Hooks):
        self.hooks = hooks

    def on_start(self, trainer: Trainer) -> None:
        for h in self.hooks:
            h.on_start(trainer)

    def on_step(self, trainer: Trainer, info: dict[str, Any]) -> None:
        for h in self.hooks:
            h.on_step(trainer, info)

    def on_eval(self, trainer: Trainer, info: dict[str, Any]) -> None:
        for h in self.hooks:
            h.on_eval(trainer, info)

    def on_end(self, trainer: Trainer, result: dict[str, Any]) -> None:
        for h in self.hooks:
            h.on_end(trainer, result)
