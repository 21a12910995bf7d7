"""``rnnlab tag``: aligned character transduction (one output character per input character).

``rnnlab tag train`` learns from ``input<TAB>target`` lines, or from plain text with ``--derive
truecase|diacritics``; ``rnnlab tag predict`` transforms text, streaming; ``rnnlab tag eval``
scores a model beside the copy-the-input baseline. Training shares ``rnnlab train``'s options,
progress bar, checkpoints, resume and metrics (``rnnlab.train.BaseTrainer``).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from rnnlab.commands.common import fmt_duration, positive_float, positive_int, stop_on_signals
from rnnlab.commands.train import (
    MODEL_FLAGS,
    RESUME_FLAGS,
    TINY_MODEL,
    TINY_TRAIN,
    TRAIN_FLAGS,
    CLIHooks,
    _given,
    add_model_args,
    add_training_args,
    prepare_out,
)
from rnnlab.errors import UserError

# Model defaults of rnnlab tag where they differ from rnnlab train's (TagModelConfig's defaults).
TAG_MODEL_DEFAULTS = {"hidden": 128}
TAG_MODEL_FLAGS = {**MODEL_FLAGS, "bidirectional": "bidirectional"}
TAG_TRAIN_FLAGS = tuple(f for f in TRAIN_FLAGS if f != "seq_len")  # a batch is whole lines
TAG_TINY_TRAIN = {k: v for k, v in TINY_TRAIN.items() if k != "seq_len"}
TAG_TRAIN_DEFAULTS = {"batch_size": 32}  # lines per batch; measured for the tagger (docs/tag.md)
MIN_STEPS = 300  # without --epochs, a small file still gets this many steps
DERIVES = ("truecase", "diacritics")


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "tag",
        help="aligned character transduction: truecasing, diacritics, per-character labels",
        description="Map each input character to one output character, as the lecture maps 'hello' to "
        "'ohlol'. Subcommands: train, predict, eval ('rnnlab tag SUBCOMMAND --help').",
    )
    sub = p.add_subparsers(dest="tag_command", metavar="SUBCOMMAND", parser_class=type(p))
    sub.required = True

    t = sub.add_parser(
        "train",
        help="train a transducer on input<TAB>target pairs or on text",
        description="Train on PAIRS files (each line input<TAB>target, of equal length in characters), or "
        "with --derive on plain text: truecase (input lower-cased) or diacritics (input with accents "
        "stripped). With --derive and no TEXT it uses an embedded corpus (The Jargon File for truecase, "
        "French Debian Reference for diacritics). Ctrl-C saves a checkpoint; --resume continues it.",
    )
    t.add_argument("paths", nargs="*", metavar="FILE", help="PAIRS.tsv files, or text files or folders with --derive")
    t.add_argument("--derive", choices=DERIVES, help="build the pairs from plain text instead of reading pairs")
    t.add_argument("--out", metavar="RUN_DIR", help="run folder to create (default runs/tag-<date>-<time>)")
    t.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR where it stopped")
    t.add_argument("--tiny", action="store_true", help="a tiny model and 30 steps: checks that everything works")
    t.add_argument("--quiet", action="store_true", help="no progress bar or previews")
    add_model_args(t, TAG_MODEL_DEFAULTS).add_argument(
        "--bidirectional",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="read each line in both directions (default: on, the whole input is known)",
    )
    d = t.add_argument_group("data")
    d.add_argument("--skip-bad", action="store_true", help="skip and count bad lines instead of stopping at the first")
    d.add_argument(
        "--max-len", type=positive_int, default=None, help="cut longer lines into windows at spaces (default 200)"
    )
    d.add_argument("--encoding", default="utf-8", help="text encoding of the files (default utf-8)")
    d.add_argument("--val-fraction", type=positive_float, help="last lines held out for validation (default 0.05)")
    add_training_args(
        t,
        omit=("seq_len",),
        helps={
            "batch_size": "lines (windows) per batch (default 32)",
            "epochs": f"passes over the lines (default 20, and at least {MIN_STEPS} steps)",
            "sample_chars": "characters of validation lines shown transformed at each evaluation (default 200)",
        },
    )

    pr = sub.add_parser(
        "predict",
        help="transform text with a trained transducer",
        description="Transform each TEXT argument, or each line of standard input when none is given "
        "(streaming: one output line per input line). Characters never seen in training pass through unchanged.",
    )
    pr.add_argument("run_dir", metavar="RUN_DIR", help="a folder written by rnnlab tag train")
    pr.add_argument("texts", nargs="*", metavar="TEXT", help="texts to transform (default: lines of standard input)")
    _add_load_args(pr)

    ev = sub.add_parser(
        "eval",
        help="character, changed-position and line accuracy beside the copy baseline",
        description="Score a transducer on PAIRS files (or text with --derive): character accuracy, accuracy "
        "on the positions where the target differs from the input, exact-line accuracy, each beside the "
        "copy-the-input baseline.",
    )
    ev.add_argument("run_dir", metavar="RUN_DIR", help="a folder written by rnnlab tag train")
    ev.add_argument("files", nargs="+", metavar="FILE", help="PAIRS.tsv files (text files with --derive)")
    ev.add_argument("--derive", choices=DERIVES, help="build the pairs from plain text")
    ev.add_argument("--skip-bad", action="store_true", help="skip and count bad lines")
    ev.add_argument("--encoding", default="utf-8", help="text encoding (default utf-8)")
    ev.add_argument("--json", action="store_true", help="print one JSON object on standard output")
    _add_load_args(ev)

    for q in (t, pr, ev):
        q.add_argument(
            "--debug", action="store_true", dest="debug_cmd", default=argparse.SUPPRESS, help=argparse.SUPPRESS
        )
    return p


def _add_load_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", choices=["best", "last"], default="best", help="which checkpoint (default best)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], default="cpu", help="where to run (default cpu)")


def run(args) -> int:
    return {"train": _train, "predict": _predict, "eval": _eval}[args.tag_command](args)


# -------------------------------------------------------------------------------- train


def _default_text(derive: str) -> Path:
    from rnnlab.data import default_corpus_path

    if derive == "diacritics":
        return default_corpus_path().parent / "debian-reference-fr.txt"
    return default_corpus_path()


def _load_data(spec: dict[str, Any], vocabs=None):
    from rnnlab.tag import TagData, derive_pairs, read_pair_files

    if spec["derive"]:
        paths = spec["paths"] or [str(_default_text(spec["derive"]))]
        pairs, bad = derive_pairs(paths, spec["derive"], spec["encoding"]), 0
    else:
        pairs, bad = read_pair_files(spec["paths"], spec["skip_bad"], spec["encoding"])
    in_vocab, out_vocab = vocabs or (None, None)
    return TagData(pairs, max_len=spec["max_len"], in_vocab=in_vocab, out_vocab=out_vocab, n_bad=bad, source=spec)


class TagHooks(CLIHooks):
    """rnnlab train's progress bar and evaluation lines, with a data summary for pairs."""

    def on_start(self, trainer) -> None:
        if self.quiet:
            return
        data = trainer.data
        changed = sum(a != b for i, t in data.pairs for a, b in zip(i, t))
        self.bar.message(
            f"data: {len(data.pairs):,} lines ({len(trainer.train):,} training windows of at most {data.max_len}, "
            f"{len(trainer.val_pairs):,} lines held out), {data.chars:,} characters, {changed / max(1, data.chars):.1%} "
            f"of them to change; {len(data.in_vocab) - 1} input and {len(data.out_vocab)} output symbols"
            + (f"; {data.n_bad:,} bad lines skipped" if data.n_bad else "")
            + "\n"
            + self.setup_summary(trainer, f"batch {trainer.batch_size} lines")
        )


def _build_configs(args, data):
    from rnnlab.config import TrainConfig
    from rnnlab.tag import TagModelConfig, min_epochs

    model_kw = dict(TINY_MODEL) if args.tiny else {}
    train_kw = dict(TAG_TINY_TRAIN) if args.tiny else dict(TAG_TRAIN_DEFAULTS)
    model_kw.update(_given(args, TAG_MODEL_FLAGS))
    train_kw.update(_given(args, TAG_TRAIN_FLAGS))
    train_cfg = TrainConfig(**train_kw)
    if args.epochs is None:
        need = min_epochs(len(data.pairs), train_cfg.batch_size, train_cfg.val_fraction, MIN_STEPS)
        if need > train_cfg.epochs:
            train_cfg = TrainConfig(**{**train_kw, "epochs": need})
    return TagModelConfig(**model_kw), train_cfg


def _train(args) -> int:
    import time

    from rnnlab import checkpoint
    from rnnlab.config import TrainConfig, from_dict
    from rnnlab.data import Vocab
    from rnnlab.tag import DEFAULT_MAX_LEN, KIND, TagModelConfig, TagTrainer

    logging.basicConfig(level=logging.WARNING, format="rnnlab: %(message)s")
    resume_ckpt = None
    if args.resume:
        if args.paths or args.out or args.derive:
            raise UserError("--resume takes its data and folder from the run; give no FILE, --derive or --out")
        out = Path(args.resume)
        resume_ckpt = checkpoint.load(checkpoint.find(out, "last"), kind=KIND)
        spec = resume_ckpt.get("data_spec")
        if not isinstance(spec, dict):
            raise UserError(f"{out} does not say where its training data came from; it cannot be resumed")
        vocabs = (Vocab.from_dict(resume_ckpt["vocab"]), Vocab.from_dict(resume_ckpt["out_vocab"]))
        data = _load_data(spec, vocabs)
        if data.fingerprint() != resume_ckpt.get("data"):
            raise UserError("the training data have changed since this run started; it cannot be resumed exactly")
        model_cfg = from_dict(TagModelConfig, resume_ckpt["model_config"])
        train_cfg = from_dict(TrainConfig, {**resume_ckpt["train_config"], **_given(args, RESUME_FLAGS)})
    else:
        if not args.paths and not args.derive:
            raise UserError(
                "give PAIRS.tsv files, or --derive truecase|diacritics with text files (or none: an embedded corpus)"
            )
        spec = {
            "paths": [str(Path(p).resolve()) for p in args.paths],
            "derive": args.derive,
            "skip_bad": args.skip_bad,
            "encoding": args.encoding,
            "max_len": args.max_len or DEFAULT_MAX_LEN,
        }
        data = _load_data(spec)
        model_cfg, train_cfg = _build_configs(args, data)
        out = prepare_out(Path(args.out) if args.out else Path("runs") / time.strftime("tag-%Y%m%d-%H%M%S"))
    if data.n_bad and not args.quiet:
        print(f"rnnlab tag train: skipped {data.n_bad:,} bad lines", file=sys.stderr)

    hooks = TagHooks(args.quiet)
    with stop_on_signals() as stop:
        trainer = TagTrainer(
            data,
            model_cfg,
            train_cfg,
            run_dir=out,
            hooks=hooks,
            stop=stop,
            resume_from=resume_ckpt,
            meta={"data_spec": spec},
        )
        result = trainer.run()
    p = trainer.progress
    if result["reason"] == "interrupted":
        print(f"stopped at step {p.step}; saved. Continue with: rnnlab tag train --resume {out}", file=sys.stderr)
        signum = getattr(stop, "received", {}).get("signal")
        return 143 if signum == 15 else 130
    why = {
        "epochs": "all epochs done",
        "max_steps": "max steps reached",
        "max_time": "time budget used",
        "early_stop": "no improvement (patience)",
    }
    best = (
        f"best validation {p.best_val:.3f} bits/char at step {p.best_step}"
        if trainer.has_validation()
        else "no lines held out"
    )
    print(
        f"done ({why.get(result['reason'], result['reason'])}): {p.step} steps in {fmt_duration(p.elapsed)}, "
        f"{best}. Run folder: {out}\nuse it: rnnlab tag predict {out} TEXT",
        file=sys.stderr,
    )
    return 0


# -------------------------------------------------------------------------------- predict, eval


def _predict(args) -> int:
    from rnnlab.tag import load_tagger

    tagger = load_tagger(args.run_dir, which=args.checkpoint, device=args.device)
    if args.texts:
        for text in args.texts:
            print(tagger.predict(text), flush=True)
        return 0
    try:
        for line in iter(sys.stdin.readline, ""):
            end = "\n" if line.endswith("\n") else ""
            sys.stdout.write(tagger.predict(line[: len(line) - len(end)]) + end)
            sys.stdout.flush()
    except UnicodeDecodeError as e:
        raise UserError(f"standard input is not valid {e.encoding} ({e.reason})") from None
    return 0


def _pct(x) -> str:
    return "-" if x is None else f"{100 * x:.2f}%"


def _eval(args) -> int:
    from rnnlab.tag import derive_pairs, load_tagger, read_pair_files

    tagger = load_tagger(args.run_dir, which=args.checkpoint, device=args.device)
    if args.derive:
        pairs, bad = derive_pairs(args.files, args.derive, args.encoding), 0
    else:
        pairs, bad = read_pair_files(args.files, args.skip_bad, args.encoding)
    result = {**tagger.evaluate(pairs), "skipped_lines": bad}
    if args.json:
        json.dump(result, sys.stdout)
        sys.stdout.write("\n")
        return 0
    base = result["baseline"]
    print(
        f"{result['lines']:,} line{'s' if result['lines'] != 1 else ''}, {result['chars']:,} characters, {result['changed_chars']:,} to change"
        + (f" ({bad:,} bad lines skipped)" if bad else "")
    )
    print(f"{'':22}{'model':>10}{'copy input':>12}")
    for key, label in (
        ("char_accuracy", "character accuracy"),
        ("changed_accuracy", "changed positions"),
        ("line_accuracy", "exact lines"),
    ):
        print(f"{label:22}{_pct(result[key]):>10}{_pct(base[key]):>12}")
    print(f"{'wrong changes':22}{result['wrong_changes']:>10,}{base['wrong_changes']:>12,}")
    return 0
