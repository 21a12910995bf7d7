"""The learning-rate schedule: linear warm-up, then cosine decay (or a constant rate).

Under ``--max-time`` the number of steps is not known in advance: after a few seconds the
trainer turns the time left into a step count once (:func:`horizon`), so that the cosine can end
when the time does. The warm-up is ``--warmup-steps`` long, but never more than
``config.WARMUP_SHARE`` of the run's steps, so that a short run leaves it.
"""

from __future__ import annotations

import math

from rnnlab.config import WARMUP_SHARE, LoopConfig


def warmup(cfg: LoopConfig, total_steps: int) -> int:
    """The warm-up's steps in a run of ``total_steps``."""
    return min(cfg.warmup_steps, int(WARMUP_SHARE * total_steps))


def lr_at(step: int, cfg: LoopConfig, total_steps: int) -> float:
    """Linear warm-up, then cosine decay to ``lr * min_lr_ratio`` at ``total_steps``."""
    warm = warmup(cfg, total_steps)
    if warm and step < warm:
        return cfg.lr * (step + 1) / warm
    if cfg.schedule == "constant":
        return cfg.lr
    span = max(1, total_steps - warm)
    progress = min(1.0, (step - warm) / span)
    floor = cfg.lr * cfg.min_lr_ratio
    return floor + (cfg.lr - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


def ready_to_fit(cfg: LoopConfig, steps_this_session: int, elapsed: float) -> bool:
    """Whether enough steps have been timed to turn ``max_time`` into a step count."""
    return cfg.max_time is not None and steps_this_session >= 10 and elapsed >= min(30.0, 0.05 * cfg.max_time)


def horizon(step: int, planned: int, seconds_left: float, seconds_per_step: float) -> int:
    """The schedule's last step: where the time budget runs out, within ``[step, planned]``
    (past it, training goes on at the floor rate until the time is up)."""
    return max(step, min(planned, step + int(seconds_left / seconds_per_step)))
