"""Lecture 12 of "PyTorch深度学习实践" (RNN basics), reproduced: "hello" -> "ohlol".

Five programs, each trained for a few epochs with ``CrossEntropyLoss`` and Adam: ``rnncell`` (a hand-written time loop over
``RNNCell``), ``rnn`` (``nn.RNN`` in one call), ``embedding`` (``Embedding -> RNN -> Linear``) and the ``lstm`` / ``gru`` homework.

- :mod:`~rnnlab.lesson.models`: the lecture's ``Model`` classes, as the lecture writes them.
- :mod:`~rnnlab.lesson.programs`: the training programs (:func:`train`, :func:`run_lesson`).
- :mod:`~rnnlab.lesson.shapes`: ``--shapes``, printed through hooks from outside the models.
- :mod:`~rnnlab.lesson.task`: the task, :class:`LessonResult`, the table, the defaults (from :mod:`rnnlab.config`).
- :mod:`~rnnlab.lesson.text`: what the lesson says, in English and Chinese (``lang="zh"``), and :func:`lesson_lang` (the locale's).

``impl="reference"`` builds the recurrent layers from :mod:`rnnlab.nn` (tensor ops) instead of :mod:`torch.nn`: the same losses.
"""

from rnnlab.lesson.models import EmbeddingModel, RNNCellModel, RNNModel
from rnnlab.lesson.programs import HEADERS, run_config, run_lesson, train
from rnnlab.lesson.shapes import shapes_shown
from rnnlab.lesson.task import DEFAULT_EPOCHS, DEFAULT_LR, DEFAULT_SEED, PROGRAMS, LessonResult, Task, format_table, make_task
from rnnlab.lesson.text import LANGS, MESSAGES, lesson_lang, message
