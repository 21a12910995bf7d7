"""What a training needs, checked before anything is allocated or written: the memory it will
take (:func:`memory_estimate`, refused by :func:`check_memory`) and a precision that trains its
cell here (:func:`check_precision`). The command line runs them before it makes the run folder;
the trainer runs them again for the batch its process steps.
"""

from __future__ import annotations

import torch

from rnnlab import memory
from rnnlab.cells import resolve_impl
from rnnlab.training.precision import Precision, check_trains
from rnnlab.training.task import Task


def memory_estimate(task: Task, batch: int | None = None) -> memory.Estimate:
    """What training ``task`` will allocate (:func:`rnnlab.memory.training_estimate`), for a
    process stepping ``batch`` rows (default: the task's whole batch). A language model's batch is
    ``--seq-len`` characters long and validates on streams of at least 64; a tagger's lines are
    windows of up to ``--max-len`` (as long as its longest) and validate 256 at a time."""
    cfg, mc = task.train_config, task.model_config
    batch = batch or task.batch_size
    seq_len = getattr(cfg, "seq_len", None)
    if seq_len is not None:
        steps, steps_flag, eval_batch = seq_len, "--seq-len", max(64, batch)
    else:  # the longest window there is: short lines cost less than --max-len allows
        rows = getattr(getattr(task, "train", None), "x", None)  # (N, L), padded to the longest
        steps = getattr(task.data_config, "max_len", 1) if rows is None else max(1, rows.shape[1])
        steps_flag, eval_batch = "--max-len", 256
    val_ids = getattr(task, "val_ids", None)
    val_chars = min(cfg.eval_chars, val_ids.numel()) if val_ids is not None else 0
    flags = {"--batch-size": cfg.batch_size, steps_flag: steps, "--eval-chars": cfg.eval_chars, "--sample-chars": cfg.sample_chars}
    return memory.training_estimate(
        mc,
        batch,
        steps,
        flags=flags,
        eval_batch=eval_batch,
        eval_steps=steps,
        val_chars=val_chars,
        sample_chars=cfg.sample_chars,
        steps_flag=steps_flag,
    )


def check_memory(task: Task, device: torch.device | str, batch: int | None = None) -> None:
    """Refuse (:class:`UserError`, one line naming the flags) a training that would need more
    memory than ``device`` has (see :func:`rnnlab.memory.device_limit`)."""
    memory.check(memory_estimate(task, batch), memory.device_limit(device))


def check_precision(task: Task, device: torch.device, batch: int | None = None) -> None:
    """Refuse (:class:`UserError`, one line) a ``--precision`` that cannot train ``task``'s cell
    on the backend it will use on ``device`` for a process stepping ``batch`` rows (probed once
    per process: :func:`rnnlab.training.precision.check_trains`)."""
    cfg, mc = task.train_config, task.model_config
    Precision(cfg.precision, device)  # the refusals that need no probe (fp16 without CUDA ...)
    backend = resolve_impl(mc.impl, mc.cell, device.type, batch or task.batch_size)
    check_trains(cfg.precision, device, mc.cell, backend, mc.directions)
