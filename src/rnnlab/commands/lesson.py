"""``rnnlab lesson``: lecture 12 (RNN basics) reproduced, "hello" -> "ohlol".

The flags are :class:`rnnlab.config.LessonConfig`'s fields; torch is imported only in :func:`run`,
so that ``--help`` answers at once. Without ``--lang`` the language comes from the locale
(:func:`rnnlab.lesson.lesson_lang`: ``LANG=zh_CN.UTF-8`` gives Chinese).
"""

from __future__ import annotations

import argparse
import os
import sys

from rnnlab import settings
from rnnlab.commands.flags import add_settings, parsed
from rnnlab.config import LessonConfig


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "lesson",
        help="lecture 12 reproduced: RNNCell, RNN, Embedding, LSTM and GRU learn hello -> ohlol",
        description=(
            "Lecture 12 of 'PyTorch深度学习实践' (RNN basics) reproduced: five small programs learn to turn 'hello' into 'ohlol' "
            "with CrossEntropyLoss and Adam, printing the predicted string and the loss each epoch in the lecture's format, then "
            "a summary table. Programs: rnncell (hand-written loop over RNNCell(4, 4), hidden = logits, summed loss), rnn (RNN(4, 4) "
            "in one call), embedding (Embedding(4, 10) -> RNN(10, 8, 2 layers) -> Linear(8, 4)), lstm and gru (the homework: "
            "program 3 with LSTM / GRU). --lang zh prints the headings and the table in Chinese (the default follows the locale)."
        ),
    )
    add_settings(p, LessonConfig, "lesson", defaults=True)
    return p


def run(args) -> int:
    from rnnlab import lesson

    config = parsed(args, LessonConfig)
    if config.lang is None:
        config = settings.replace(config, lang=lesson.lesson_lang(os.environ))
    lesson.run_config(config, write=sys.stdout.write)
    sys.stdout.flush()
    return 0
