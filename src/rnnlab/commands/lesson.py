"""``rnnlab lesson``: lecture 12 (RNN basics) reproduced, "hello" -> "ohlol"."""

from __future__ import annotations

import argparse
import sys

# Kept in step with rnnlab.lesson (not imported here: it imports torch, and --help should be quick).
PROGRAMS = ("rnncell", "rnn", "embedding", "lstm", "gru")
DEFAULT_SEED = 2
DEFAULT_EPOCHS = 15


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "lesson",
        help="lecture 12 reproduced: RNNCell, RNN, Embedding, LSTM and GRU learn hello -> ohlol",
        description=(
            "Lecture 12 of 'PyTorch深度学习实践' (RNN basics) reproduced: five small programs learn "
            "to turn 'hello' into 'ohlol' with CrossEntropyLoss and Adam, printing the predicted "
            "string and the loss each epoch in the lecture's format, then a summary table. "
            "Programs: rnncell (hand-written loop over RNNCell(4, 4), hidden = logits, summed loss, "
            "lr 0.1), rnn (RNN(4, 4) in one call, lr 0.05), embedding (Embedding(4, 10) -> "
            "RNN(10, 8, 2 layers) -> Linear(8, 4), lr 0.05), lstm and gru (the homework: "
            "program 3 with LSTM / GRU, lr 0.1)."
        ),
    )
    p.add_argument(
        "--program",
        choices=PROGRAMS + ("all",),
        default="all",
        help="which program to run (default: all, in the lecture's order)",
    )
    p.add_argument(
        "--epochs",
        type=int,
        default=DEFAULT_EPOCHS,
        help=f"training epochs per program (default: {DEFAULT_EPOCHS})",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=DEFAULT_SEED,
        help=f"random seed for the initial weights (default: {DEFAULT_SEED}; every program reaches 'ohlol' with it)",
    )
    p.add_argument(
        "--lr",
        type=float,
        default=None,
        help="Adam learning rate for every program run (default: the lecture's per program: "
        "0.1 for rnncell, 0.05 for rnn and embedding, 0.1 for lstm and gru)",
    )
    p.add_argument(
        "--impl",
        choices=("torch", "reference"),
        default="torch",
        help="recurrent layers from torch.nn (default) or rnnlab.nn (same numbers)",
    )
    p.add_argument(
        "--shapes",
        action="store_true",
        help="print the shape of every tensor on its way through, in the first epoch",
    )
    p.add_argument("--input", default="hello", metavar="WORD", help="input word (default: hello)")
    p.add_argument(
        "--target",
        default="ohlol",
        metavar="WORD",
        help="target word, same length as the input (default: ohlol)",
    )
    return p


def run(args) -> int:
    from rnnlab import lesson

    task = lesson.make_task(args.input, args.target)
    programs = lesson.PROGRAMS if args.program == "all" else (args.program,)
    lesson.run_lesson(
        programs,
        task,
        epochs=args.epochs,
        lr=args.lr,
        seed=args.seed,
        impl=args.impl,
        shapes=args.shapes,
        write=sys.stdout.write,
    )
    sys.stdout.flush()
    return 0
