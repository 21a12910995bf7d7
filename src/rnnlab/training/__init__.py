"""Training: one loop (:class:`Trainer`) for every task, tasks as objects with a small interface.

- :mod:`.loop`: the loop itself (steps, stopping, evaluation timing, checkpoints, resume).
- :mod:`.task`: what the loop asks of a task; :mod:`.lm_task` (language modelling) is one,
  :mod:`rnnlab.tag.task` (aligned transduction) another.
- :mod:`.schedule`: the learning rate; :mod:`.precision`: autocast and loss scaling;
  :mod:`.rundir`: the run folder's lock, checkpoints, metrics and chart.
"""

from rnnlab.training.hooks import AllHooks, Hooks
from rnnlab.training.lm_task import LMTask
from rnnlab.training.loop import NonFiniteLoss, Trainer
