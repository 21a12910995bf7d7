"""What a training needs, checked before anything is allocated or written: the memory it will
take (each task's ``memory_estimate``, refused by :func:`check_memory`) and a precision that trains its
cell here (:func:`check_precision`). The command line runs them before it makes the run folder;
the trainer runs them again for the batch its process steps.
"""

from __future__ import annotations

import torch

from rnnlab import memory
from rnnlab.cells import resolve_impl
from rnnlab.training.precision import Precision, check_trains
from rnnlab.training.task import Task


def check_memory(task: Task, device: torch.device | str, batch: int | None = None) -> None:
    """Refuse (:class:`UserError`, one line naming the flags) a training that would need more
    memory than ``device`` has (see :func:`rnnlab.memory.device_limit`)."""
    memory.check(task.memory_estimate(batch or task.batch_size), memory.device_limit(device))


def check_precision(task: Task, device: torch.device, batch: int | None = None) -> None:
    """Refuse (:class:`UserError`, one line) a ``--precision`` that cannot train ``task``'s cell
    on the backend it will use on ``device`` for a process stepping ``batch`` rows (probed once
    per process: :func:`rnnlab.training.precision.check_trains`)."""
    cfg, mc = task.train_config, task.model_config
    Precision(cfg.precision, device)  # the refusals that need no probe (fp16 without CUDA ...)
    backend = resolve_impl(mc.impl, mc.cell, device.type, batch or task.batch_size)
    check_trains(cfg.precision, device, mc.cell, backend, mc.directions)
