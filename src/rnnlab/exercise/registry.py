"""The exercises of lecture 12, in the lecture's order: a name and the module that declares it.

An exercise is one module under ``rnnlab/exercise/`` whose ``EXERCISE`` (a
:class:`rnnlab.exercise.core.Exercise`) holds all of it: its one line, the skeleton in English and
Chinese, its checks and its known wrong variants; and one line here. This module imports nothing
heavy: the command line builds its choices from it before torch is loaded.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from rnnlab.errors import UserError

if TYPE_CHECKING:
    from rnnlab.exercise.core import Exercise

# In the lecture's order (an exercise's number says where it sits in the lecture).
MODULES: dict[str, str] = {
    "rnn_cell": "rnnlab.exercise.rnn_cell",
    "time_loop": "rnnlab.exercise.time_loop",
    "rnn_shapes": "rnnlab.exercise.rnn_shapes",
    "embedding": "rnnlab.exercise.embedding",
    "homework": "rnnlab.exercise.homework",
    "lstm_cell": "rnnlab.exercise.lstm_cell",
    "gru_cell": "rnnlab.exercise.gru_cell",
    "lstm_layers": "rnnlab.exercise.lstm_layers",
    "training_loop": "rnnlab.exercise.training_loop",
}
NAMES: tuple[str, ...] = tuple(MODULES)


def get(name: str) -> Exercise:
    """The exercise called ``name`` (a UserError naming the exercises for any other name)."""
    if name not in MODULES:
        raise UserError(f"no exercise named {name!r}; the exercises are {', '.join(NAMES)}")
    return importlib.import_module(MODULES[name]).EXERCISE


def exercises() -> list[Exercise]:
    """Every exercise, in the lecture's order."""
    return [get(name) for name in NAMES]
