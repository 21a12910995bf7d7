"""``rnnlab lesson``: lecture 12 (RNN basics) reproduced, "hello" -> "ohlol".

The flags are :class:`rnnlab.config.LessonConfig`'s fields; torch is imported only in :func:`run`,
so that ``--help`` answers at once.
"""

from __future__ import annotations

import argparse
import sys

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
            "program 3 with LSTM / GRU)."
        ),
    )
    add_settings(p, LessonConfig, "lesson", defaults=True)
    return p


def run(args) -> int:
    from rnnlab import lesson

    lesson.run_config(parsed(args, LessonConfig), write=sys.stdout.write)
    sys.stdout.flush()
    return 0
