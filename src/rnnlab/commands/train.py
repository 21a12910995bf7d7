"""``rnnlab train``: train a character language model on text files, folders or the default corpus."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Any

from rnnlab.commands.common import (
    ProgressBar,
    fmt_duration,
    fraction,
    nonneg_int,
    positive_float,
    positive_int,
    stop_on_signals,
)
from rnnlab.errors import UserError

# Small enough to finish in seconds on a CPU: the smoke test of every cell type.
TINY_MODEL = {"layers": 1, "hidden": 32, "embed": 16}
TINY_TRAIN = {
    "batch_size": 8,
    "seq_len": 32,
    "max_steps": 30,
    "eval_every": 10,
    "sample_chars": 40,
    "eval_chars": 2000,
    "warmup_steps": 5,
}

MODEL_FLAGS = {
    "cell": "cell",
    "layers": "layers",
    "hidden": "hidden",
    "embed": "embed",
    "one_hot": "one_hot",
    "dropout": "dropout",
    "impl": "impl",
}
TRAIN_FLAGS = (
    "batch_size",
    "seq_len",
    "lr",
    "grad_clip",
    "schedule",
    "warmup_steps",
    "weight_decay",
    "epochs",
    "max_steps",
    "max_time",
    "eval_every",
    "eval_chars",
    "val_fraction",
    "patience",
    "seed",
    "device",
    "precision",
    "sample_chars",
    "recover",
)
# What may change when a run is resumed: how long to go on and on what hardware, not what is
# being trained (the precision goes with the device: fp16 runs only on CUDA).
RESUME_FLAGS = (
    "epochs",
    "max_steps",
    "max_time",
    "patience",
    "eval_every",
    "device",
    "precision",
    "sample_chars",
    "recover",
)


def add_model_args(p: argparse.ArgumentParser, defaults: dict[str, Any] | None = None):
    """The model flags; ``defaults`` corrects the defaults named in the help of a command whose
    model defaults differ (``rnnlab tag``)."""
    d = {"cell": "lstm", "layers": 2, "hidden": 256, "embed": 64, **(defaults or {})}
    g = p.add_argument_group("model")
    g.add_argument("--cell", choices=["lstm", "gru", "rnn"], help=f"recurrent cell (default {d['cell']})")
    g.add_argument("--layers", type=positive_int, help=f"stacked recurrent layers (default {d['layers']})")
    g.add_argument("--hidden", type=positive_int, help=f"units per layer (default {d['hidden']})")
    g.add_argument("--embed", type=positive_int, help=f"character embedding size (default {d['embed']})")
    g.add_argument(
        "--one-hot", action="store_true", default=None, help="one-hot input instead of an embedding, as in the lecture"
    )
    g.add_argument("--dropout", type=fraction, help="dropout between layers and before the output (default 0)")
    g.add_argument(
        "--impl",
        choices=["auto", "torch", "reference", "fused"],
        help="auto (default): the faster backend for the cell and device; torch: torch.nn layers; "
        "reference: rnnlab.nn's cells from tensor ops; fused: rnnlab.nn's GRU or RNN with a "
        "hand-written backward. Checkpoints load into any",
    )
    return g


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "train",
        help="train a character language model",
        description="Train a character-level language model. With no PATH it trains on the embedded "
        "corpus (The Jargon File 4.4.7). Ctrl-C saves a checkpoint; --resume continues it.",
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="text files or folders (read recursively)")
    p.add_argument("--out", metavar="RUN_DIR", help="run folder to create (default runs/lm-<date>-<time>)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR where it stopped")
    p.add_argument("--tiny", action="store_true", help="a tiny model and 30 steps: checks that everything works")
    p.add_argument("--quiet", action="store_true", help="no progress bar or samples")
    add_model_args(p)
    d = p.add_argument_group("data")
    d.add_argument("--encoding", default="utf-8", help="text encoding of the files (default utf-8)")
    d.add_argument(
        "--min-count", type=positive_int, default=1, help="characters seen fewer times map to an unknown symbol"
    )
    d.add_argument(
        "--val-fraction", type=positive_float, help="tail of the text held out for validation (default 0.05)"
    )
    add_training_args(p)
    return p


def add_training_args(p: argparse.ArgumentParser, omit: tuple[str, ...] = (), helps: dict[str, str] | None = None):
    """The training flags (their dests are TRAIN_FLAGS); another command that trains through
    BaseTrainer reuses them, leaving out ``omit`` and rewording ``helps`` (both keyed by dest)."""
    t = p.add_argument_group("training")
    helps = helps or {}

    def add(flag: str, **kw) -> None:
        dest = flag[2:].replace("-", "_")
        if dest not in omit:
            t.add_argument(flag, **{**kw, **({"help": helps[dest]} if dest in helps else {})})

    add("--batch-size", type=positive_int, help="parallel streams (default 16)")
    add("--seq-len", type=positive_int, help="characters per truncated-backprop chunk (default 32)")
    add("--lr", type=positive_float, help="Adam learning rate (default 5e-3)")
    add("--grad-clip", type=float, help="clip the gradient norm to this (0: off; default 5)")
    add("--schedule", choices=["cosine", "constant"], help="learning-rate schedule after warm-up (default cosine)")
    add("--warmup-steps", type=nonneg_int, help="linear warm-up steps (default 100)")
    add("--weight-decay", type=float, help="Adam weight decay (default 0)")
    add("--epochs", type=positive_int, help="passes over the text (default 20)")
    add("--max-steps", type=positive_int, help="stop after this many steps")
    add("--max-time", type=positive_float, metavar="SECONDS", help="stop after this much training time")
    add("--eval-every", type=positive_int, help="validate every N steps (default 1000)")
    add("--eval-chars", type=positive_int, help="validate on at most this many characters (default 100000)")
    add("--patience", type=positive_int, help="stop after N evaluations without improvement")
    add("--sample-chars", type=nonneg_int, help="characters sampled at each evaluation (default 200)")
    add(
        "--recover",
        action="store_true",
        default=None,
        help="on a NaN/inf loss, reload the last checkpoint and halve the learning rate",
    )
    add("--seed", type=int, help="random seed (default 1337)")
    add("--device", choices=["auto", "cpu", "cuda", "mps"], help="where to train (default auto)")
    add(
        "--precision",
        choices=["fp32", "bf16", "fp16"],
        help="forward-pass arithmetic: fp32, or autocast to bf16 or fp16 (CUDA only; loss scaling); weights stay fp32 (default fp32)",
    )
    return t


def _given(args, names) -> dict[str, Any]:
    return {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}


def build_configs(args):
    from rnnlab.config import ModelConfig, TrainConfig

    model_kw = dict(TINY_MODEL) if args.tiny else {}
    train_kw = dict(TINY_TRAIN) if args.tiny else {}
    model_kw.update(_given(args, MODEL_FLAGS))
    train_kw.update(_given(args, TRAIN_FLAGS))
    return ModelConfig(vocab_size=1, **model_kw), TrainConfig(**train_kw)


def default_out() -> Path:
    return Path("runs") / time.strftime("lm-%Y%m%d-%H%M%S")


def prepare_out(path: Path) -> Path:
    from rnnlab import checkpoint

    if path.exists() and not path.is_dir():
        raise UserError(f"{path} exists and is not a folder")
    if any((path / n).exists() for n in (checkpoint.LAST, checkpoint.BEST)):
        raise UserError(f"{path} already holds a run; continue it with --resume {path}, or choose another --out")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot create {path}: {e.strerror}") from None
    return path


class CLIHooks:
    """Progress bar, evaluation summaries and samples for the terminal."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.bar = ProgressBar()

    def on_start(self, trainer) -> None:
        if self.quiet:
            return
        c = trainer.corpus
        self.bar.message(
            f"corpus: {len(c):,} characters, {len(c.vocab)} symbols"
            + (f", {c.n_unknown:,} mapped to unknown" if c.n_unknown else "")
            + (f", {c.skipped_files} binary files skipped" if c.skipped_files else "")
            + "\n"
            + self.setup_summary(trainer, f"batch {trainer.batch_size} x seq {trainer.train_cfg.seq_len}")
        )

    @staticmethod
    def setup_summary(trainer, batch: str) -> str:
        """The model and schedule lines of the start-up message, shared by every task."""
        from rnnlab.model import resolve_impl

        m, cfg, p = trainer.model_cfg, trainer.train_cfg, trainer.progress
        backend = resolve_impl(m.impl, m.cell, trainer.device, cfg.batch_size)
        return (
            f"model: {m.layers}x{m.hidden} {'bidirectional ' if getattr(m, 'bidirectional', False) else ''}"
            f"{m.cell.upper()} ({'auto: ' if m.impl == 'auto' else ''}{backend}), {'one-hot' if m.one_hot else f'embedding {m.embed}'}, "
            f"{trainer.model.num_parameters():,} parameters, on {trainer.device}"
            + (f" ({cfg.precision} autocast)" if cfg.precision != "fp32" else "")
            + f"\ntraining: {batch}, {trainer.steps_per_epoch} steps per epoch, lr {cfg.lr:g} ({cfg.schedule}), "
            f"up to {p.total_steps} steps"
            + (f" or {fmt_duration(cfg.max_time)}" if cfg.max_time else "")
            + (f"\nresuming at step {p.step}" if p.step else "")
        )

    def on_step(self, trainer, info) -> None:
        if self.quiet:
            return
        p = trainer.progress
        cfg = trainer.train_cfg
        rate = p.elapsed / max(1, p.step)
        eta = (p.total_steps - p.step) * rate
        if cfg.max_time is not None:
            eta = min(eta, cfg.max_time - p.elapsed)
        self.bar.update(p.step, p.total_steps, info, p.elapsed, eta)

    def on_eval(self, trainer, info) -> None:
        self.bar.last_val = info.get("val_bpc")
        if self.quiet:
            return
        best = " (best)" if trainer.progress.best_step == info["step"] else ""
        text = f"step {info['step']}: validation {info['val_bpc']:.3f} bits/char{best}"
        if info.get("sample"):
            text += "\n" + _indent(info["sample"])
        self.bar.message(text)

    def on_end(self, trainer, result) -> None:
        self.bar.close()


def _indent(text: str) -> str:
    return "\n".join("  | " + line for line in text.split("\n"))


def _corpus_spec(args, paths: list[str]) -> dict[str, Any]:
    return {
        "paths": [str(Path(p).resolve()) for p in paths],
        "embedded": not paths,
        "encoding": args.encoding,
        "min_count": args.min_count,
    }


def _load(spec: dict[str, Any], vocab=None):
    from rnnlab.data import default_corpus_path, load_corpus

    paths = [default_corpus_path()] if spec["embedded"] else spec["paths"]
    return load_corpus(paths, encoding=spec["encoding"], min_count=spec["min_count"], vocab=vocab)


def run(args) -> int:
    from rnnlab import distributed

    logging.basicConfig(level=logging.WARNING, format="rnnlab: %(message)s")
    ctx = distributed.from_env(args.device or "auto")
    try:
        return _train(args, ctx)
    finally:
        distributed.shutdown(ctx)


def _train(args, ctx) -> int:
    from rnnlab.config import ModelConfig, TrainConfig, from_dict
    from rnnlab.data import Vocab
    from rnnlab.train import Trainer, load_run

    main_rank = ctx is None or ctx.is_main
    resume_ckpt = None
    if args.resume:
        if args.paths or args.out:
            raise UserError("--resume takes its text and folder from the run; give no PATH or --out")
        out = Path(args.resume)
        resume_ckpt = load_run(out, which="last")
        spec = resume_ckpt["corpus_spec"]
        vocab = Vocab.from_dict(resume_ckpt["vocab"])
        corpus = _load(spec, vocab=vocab)
        if len(corpus) != resume_ckpt["corpus"]["chars"]:
            raise UserError("the training text has changed since this run started; it cannot be resumed exactly")
        model_cfg = from_dict(ModelConfig, resume_ckpt["model_config"])
        train_cfg = from_dict(TrainConfig, {**resume_ckpt["train_config"], **_given(args, RESUME_FLAGS)})
    else:
        model_cfg, train_cfg = build_configs(args)
        spec = _corpus_spec(args, args.paths)
        corpus = _load(spec)
        if ctx is not None and not args.out:
            raise UserError("give --out when training with torchrun, so that every process names the same folder")
        out = Path(args.out) if args.out else default_out()
        if main_rank:
            out = prepare_out(out)
        if ctx is not None:
            import torch.distributed as dist

            dist.barrier()  # the folder exists (and was checked) before anyone uses it

    hooks = CLIHooks(args.quiet or not main_rank)
    with stop_on_signals() as stop:
        trainer = Trainer(
            corpus,
            model_cfg,
            train_cfg,
            run_dir=out,
            hooks=hooks,
            stop=stop,
            resume_from=resume_ckpt,
            meta={"corpus_spec": spec},
            dist=ctx,
        )
        result = trainer.run()
    p = trainer.progress
    if not main_rank:
        return 0
    if result["reason"] == "interrupted":
        print(f"stopped at step {p.step}; saved. Continue with: rnnlab train --resume {out}", file=sys.stderr)
        signum = getattr(stop, "received", {}).get("signal")
        return 143 if signum == 15 else 130
    why = {
        "epochs": "all epochs done",
        "max_steps": "max steps reached",
        "max_time": "time budget used",
        "early_stop": "no improvement (patience)",
    }
    print(
        f"done ({why.get(result['reason'], result['reason'])}): {p.step} steps in {fmt_duration(p.elapsed)}, "
        f"best validation {p.best_val:.3f} bits/char at step {p.best_step}. Run folder: {out}\n"
        f"sample it: rnnlab sample {out}",
        file=sys.stderr,
    )
    return 0
