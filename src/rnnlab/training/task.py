"""What the training loop asks of a task (language modelling, tagging): a small, explicit interface.

The loop (:class:`rnnlab.training.loop.Trainer`) owns the optimiser, the schedule, precision,
stopping, evaluation timing, checkpoints and resume. A task owns its data and model: it lays out
batches, builds the network, gives the loss of a batch and a validation figure, and keeps the
state a resumed run needs. Each task is constructed with its data and configurations; the loop
then calls :meth:`Task.place` once, before anything else, to say where training runs.
"""

from __future__ import annotations

from typing import Any, Protocol

import torch

from rnnlab.data import DataSpec
from rnnlab.distributed import DistContext
from rnnlab.memory import Estimate


class Task(Protocol):
    kind: str  # a key of rnnlab.checkpoint.KINDS
    model_config: Any  # complete: the vocabulary sizes are filled in from the data
    train_config: Any  # a LoopConfig
    data_config: Any
    data: DataSpec
    epochs: int  # passes over the data this run makes
    batch_size: int  # streams or lines per step, all processes together
    steps_per_epoch: int
    chars_per_step: int  # for the characters/s figure

    def place(self, device: torch.device, dist: DistContext | None) -> int:
        """Put the data where training runs (this process's share under torch.distributed);
        returns this process's batch size, from which the loop resolves ``--impl auto``."""

    def build_model(self, backend: str) -> torch.nn.Module: ...

    def start_epoch(self) -> None:
        """Called when a new pass over the data begins (after the first)."""

    def loss(self, model: torch.nn.Module, index: int) -> torch.Tensor:
        """Mean loss (nats) of batch ``index`` of the current epoch."""

    def has_validation(self) -> bool: ...

    def evaluate(self, model: torch.nn.Module) -> float:
        """Validation bits per character (lower is better)."""

    def val_error(self, model: torch.nn.Module) -> float | None:
        """What ``best.pt`` minimises when the held-out loss is not the measure users judge by
        (the tagger: the share of held-out positions to change that it gets wrong); None: the
        validation bits per character decide."""

    def preview(self, model: torch.nn.Module, seed: int) -> str:
        """A short text shown (and kept in the history) at each evaluation."""

    def describe(self) -> str:
        """One line about the data, for the start-up summary."""

    def notes(self) -> list[str]:
        """What else the start-up summary says about the task (where its weights came from)."""

    def memory_estimate(self, batch: int) -> Estimate:
        """What training takes in memory, for a process stepping ``batch`` rows
        (:func:`rnnlab.memory.training_estimate`, with the task's own evaluation batch)."""

    def state(self) -> Any:
        """The task's section of the checkpoint (every process takes part: it may gather)."""

    def restore(self, state: Any) -> None: ...
