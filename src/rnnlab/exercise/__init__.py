"""Lecture 12's homework, checked: write the cells and layers yourself, and ``rnnlab exercise check``
compares them with torch.nn and names the mistake when they differ.

- ``rnnlab.exercise.check(NAME, obj)``: check a class written in a notebook; the result's repr is
  the report. ``rnnlab.exercise.skeleton(NAME, lang)``: the skeleton's text, to start a cell from.
- :mod:`~rnnlab.exercise.registry`: the exercises in the lecture's order (``NAMES``).
- :mod:`~rnnlab.exercise.core`: what an exercise is made of (its entry, checks, known wrong variants).
- :mod:`~rnnlab.exercise.compare`: the comparison with the right answer and the diagnosis by variants;
  :mod:`~rnnlab.exercise.twin` for a class with a twin module, :mod:`~rnnlab.exercise.function` for a function.
- :mod:`~rnnlab.exercise.run`: the checks in this process, under a time limit.
- :mod:`~rnnlab.exercise.child`: the separate checking process of ``rnnlab exercise check``.
- :mod:`~rnnlab.exercise.result`, :mod:`~rnnlab.exercise.text`: the result, its report in English and Chinese.
- :mod:`~rnnlab.exercise.template`, :mod:`~rnnlab.exercise.status`: skeleton files and the folder's statuses.
- The exercises, in the lecture's order: :mod:`~rnnlab.exercise.rnn_cell`, :mod:`~rnnlab.exercise.time_loop`,
  :mod:`~rnnlab.exercise.rnn_shapes`, :mod:`~rnnlab.exercise.embedding` and :mod:`~rnnlab.exercise.homework`
  (what they share: :mod:`~rnnlab.exercise.program3`), :mod:`~rnnlab.exercise.lstm_cell` (with
  :mod:`~rnnlab.exercise.cells`), :mod:`~rnnlab.exercise.gru_cell`, :mod:`~rnnlab.exercise.lstm_layers`,
  :mod:`~rnnlab.exercise.training_loop` (run by :mod:`~rnnlab.exercise.training_run`).

Nothing is imported until used, so that the command line starts without torch.
"""

_LAZY = {
    "check": "rnnlab.exercise.run",
    "check_file": "rnnlab.exercise.run",
    "skeleton": "rnnlab.exercise.template",
    "Result": "rnnlab.exercise.result",
    "NAMES": "rnnlab.exercise.registry",
    "exercises": "rnnlab.exercise.registry",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'rnnlab.exercise' has no attribute {name!r}")
