"""Lecture 12 of "PyTorch深度学习实践" (RNN basics), reproduced: "hello" -> "ohlol".

Five programs, each trained for a few epochs with ``CrossEntropyLoss`` and Adam: ``rnncell``
(a hand-written time loop over ``RNNCell``), ``rnn`` (``nn.RNN`` in one call), ``embedding``
(``Embedding -> RNN -> Linear``) and the ``lstm`` / ``gru`` homework.

- :mod:`~rnnlab.lesson.task`: the task (:func:`make_task`) and the defaults, from :mod:`rnnlab.config`.
- :mod:`~rnnlab.lesson.models`: the lecture's ``Model`` classes, as the lecture writes them.
- :mod:`~rnnlab.lesson.shapes`: ``--shapes``, printed through hooks from outside the models.
- :mod:`~rnnlab.lesson.results`: :class:`LessonResult` and the summary table.
- :mod:`~rnnlab.lesson.programs`: the training programs (:func:`train`, :func:`run_lesson`).

``impl="reference"`` builds the recurrent layers from :mod:`rnnlab.nn` (written from tensor ops)
instead of :mod:`torch.nn`, with the same losses.
"""

from rnnlab.lesson.models import EMBEDDING_SIZE, HIDDEN_SIZE, NUM_LAYERS, EmbeddingModel, RNNCellModel, RNNModel
from rnnlab.lesson.programs import (
    MODELS,
    TITLES,
    TRAINERS,
    layers_for,
    run_config,
    run_lesson,
    train,
    train_embedding,
    train_gru,
    train_lstm,
    train_rnn,
    train_rnncell,
)
from rnnlab.lesson.results import LessonResult, format_table
from rnnlab.lesson.shapes import ShapePrinter, Write, shapes_shown
from rnnlab.lesson.task import (
    DEFAULT_EPOCHS,
    DEFAULT_INPUT,
    DEFAULT_LR,
    DEFAULT_SEED,
    DEFAULT_TARGET,
    IMPLS,
    PROGRAMS,
    Task,
    make_task,
)

__all__ = [
    "DEFAULT_EPOCHS",
    "DEFAULT_INPUT",
    "DEFAULT_LR",
    "DEFAULT_SEED",
    "DEFAULT_TARGET",
    "EMBEDDING_SIZE",
    "HIDDEN_SIZE",
    "IMPLS",
    "MODELS",
    "NUM_LAYERS",
    "PROGRAMS",
    "TITLES",
    "TRAINERS",
    "EmbeddingModel",
    "LessonResult",
    "RNNCellModel",
    "RNNModel",
    "ShapePrinter",
    "Task",
    "Write",
    "format_table",
    "layers_for",
    "make_task",
    "run_config",
    "run_lesson",
    "shapes_shown",
    "train",
    "train_embedding",
    "train_gru",
    "train_lstm",
    "train_rnn",
    "train_rnncell",
]
