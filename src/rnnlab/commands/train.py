"""``rnnlab train``: train a character language model on text files, folders or the default corpus."""

from __future__ import annotations

import argparse

from rnnlab.commands import training
from rnnlab.config import DataConfig, ModelConfig, TrainConfig


def _load(paths, cfg: DataConfig, resumed, start=None):
    from rnnlab.data import load_corpus

    return load_corpus(
        paths or None, cfg.encoding, cfg.min_count, vocab=resumed.vocab if resumed else None, grow=start.grow if start else None
    )


def _start(name: str):
    from rnnlab import init_from

    return init_from.read(name)


def _task(corpus, model, train, data, start=None):
    from rnnlab.training import LMTask

    return LMTask(corpus, model, train, data, start)


COMMAND = training.TrainingCommand(
    name="train",
    kind="lm",
    data=DataConfig,
    model=ModelConfig,
    train=TrainConfig,
    tiny="tiny.toml",
    out_prefix="lm",
    load=_load,
    make_task=_task,
    batch=lambda task: f"batch {task.batch_size} x seq {task.train_config.seq_len}",
    next_step="sample it: rnnlab sample {out}",
    start=_start,
)


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "train",
        help="train a character language model",
        description="Train a character-level language model. With no PATH it trains on the embedded "
        "corpus (The Jargon File 4.4.7). --init-from base fine-tunes the shipped English model instead of "
        "starting from random weights. Ctrl-C saves a checkpoint; --resume continues it.",
    )
    p.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="text files or folders (read recursively); with --resume, the run's text again when it was not read from files",
    )
    training.add_arguments(p, COMMAND)
    return p


def run(args) -> int:
    return training.run(args, COMMAND)
