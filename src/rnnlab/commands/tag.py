"""``rnnlab tag``: aligned character transduction (one output character per input character).

``rnnlab tag train`` learns from ``input<TAB>target`` lines, or from plain text with ``--derive
truecase|diacritics``, through the same training path as ``rnnlab train``; ``rnnlab tag
predict`` transforms text, streaming; ``rnnlab tag eval`` scores a model beside the
copy-the-input baseline.
"""

from __future__ import annotations

import argparse

from rnnlab.commands import training
from rnnlab.commands.flags import add_load_args, add_settings, parsed
from rnnlab.config import TagDataConfig, TagModelConfig, TagTrainConfig, TextConfig
from rnnlab.errors import UserError


def _load(paths, cfg: TagDataConfig, resumed, start=None):  # start: the tagger keeps its own input vocabulary
    from rnnlab.tag import TagData, load_pairs

    pairs, bad, spec = load_pairs(paths, cfg)
    vocabs = (resumed.in_vocab, resumed.out_vocab) if resumed else (None, None)
    return TagData(pairs, *vocabs, n_bad=bad, spec=spec)


def _task(data, model, train, data_config, start=None):
    from rnnlab.tag import TagTask

    return TagTask(data, model, train, data_config, start)


def _start(name: str):
    from rnnlab import init_from
    from rnnlab.tag.from_lm import TagStart

    return TagStart(init_from.read(name))


COMMAND = training.TrainingCommand(
    name="tag train",
    kind="tag",
    data=TagDataConfig,
    model=TagModelConfig,
    train=TagTrainConfig,
    tiny="tag-tiny.toml",
    out_prefix="tag",
    load=_load,
    make_task=_task,
    batch=lambda task: f"batch {task.batch_size} lines",
    next_step="use it: rnnlab tag predict {out} TEXT",
    start=_start,
    size=lambda data, resolved: _size(data, resolved),
)


def _size(data, resolved):
    from rnnlab.tag.task import text_size

    return text_size(data, resolved)


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "tag",
        help="aligned character transduction: truecasing, diacritics, per-character labels",
        description="Map each input character to one output character, as the lecture maps 'hello' to "
        "'ohlol'. Subcommands: train, predict, eval ('rnnlab tag SUBCOMMAND --help').",
    )
    sub = p.add_subparsers(dest="tag_command", metavar="SUBCOMMAND", parser_class=type(p), required=True)

    t = sub.add_parser(
        "train",
        help="train a transducer on input<TAB>target pairs or on text",
        description="Train on PAIRS files (each line input<TAB>target, of equal length in characters), or "
        "with --derive on plain text: truecase (input lower-cased) or diacritics (input with accents "
        "stripped). With --derive and no TEXT it uses an embedded corpus (The Jargon File for truecase, "
        "French Debian Reference for diacritics). Ctrl-C saves a checkpoint; --resume continues it.",
    )
    t.add_argument("paths", nargs="*", metavar="FILE", help="PAIRS.tsv files, or text files or folders with --derive")
    training.add_arguments(t, COMMAND)

    pr = sub.add_parser(
        "predict",
        help="transform text with a trained transducer",
        description="Transform each TEXT argument, or each line of standard input for a TEXT '-' or when none is "
        "given (streaming: one output line per input line, standard input decoded with --encoding). Characters "
        "never seen in training pass through unchanged.",
    )
    pr.add_argument("run_dir", metavar="RUN_DIR", help="a folder written by rnnlab tag train")
    pr.add_argument("texts", nargs="*", metavar="TEXT", help="texts to transform; - (or none) reads the lines of standard input")
    add_settings(pr, TextConfig, "text", defaults=True)
    add_load_args(pr)

    ev = sub.add_parser(
        "eval",
        help="character, changed-position and line accuracy beside the copy baseline",
        description="Score a transducer on PAIRS files (or text; '-' reads standard input): character accuracy, "
        "accuracy on the positions where the target differs from the input, exact-line accuracy, each beside the "
        "copy-the-input baseline. For a run trained with --derive, a file without a tab is plain text derived the "
        "run's way and a file with a tab is read as pairs; --derive (the run's own) reads every file as text.",
    )
    ev.add_argument("run_dir", metavar="RUN_DIR", help="a folder written by rnnlab tag train")
    ev.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="PAIRS.tsv files, or text files for a derived run (or with --derive); - reads standard input",
    )
    ev.add_argument("--json", action="store_true", help="print one JSON object on standard output")
    add_settings(ev, TagDataConfig, "data", only=("encoding", "derive", "skip_bad"))
    add_load_args(ev)

    for q in (t, pr, ev):
        q.add_argument("--debug", action="store_true", dest="debug_cmd", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return p


def run(args) -> int:
    return {"train": lambda a: training.run(a, COMMAND), "predict": _predict, "eval": _eval}[args.tag_command](args)


def _predict(args) -> int:
    from rnnlab.tag import load_tagger
    from rnnlab.textfiles import STANDARD_INPUT, STDIN, STDIN_ONCE, iter_text

    texts = args.texts or [STDIN]
    if texts.count(STDIN) > 1:
        raise UserError(STDIN_ONCE)
    encoding = parsed(args, TextConfig).encoding
    tagger = load_tagger(args.run_dir, which=args.checkpoint, device=args.device)
    for text in texts:
        if text != STDIN:
            print(tagger.predict(text), flush=True)
            continue
        for line in iter_text(STANDARD_INPUT, encoding, lines=True):  # streaming: each line as it arrives
            print(tagger.predict(line.removesuffix("\n")), end="\n" if line.endswith("\n") else "", flush=True)
    return 0


def _eval(args) -> int:
    from rnnlab.scoring import json_line
    from rnnlab.tag import load_pairs, load_tagger

    tagger = load_tagger(args.run_dir, which=args.checkpoint, device=args.device)
    cfg = parsed(args, TagDataConfig)
    if cfg.derive and tagger.derive and cfg.derive != tagger.derive:
        raise UserError(
            f"{args.run_dir} was trained with --derive {tagger.derive}, not {cfg.derive}; "
            "leave --derive out (plain text files are derived the run's way)"
        )
    pairs, bad, _ = load_pairs(args.files, cfg, stdin=True, plain=tagger.derive)
    result = {**tagger.evaluate(pairs), "skipped_lines": bad}
    if args.json:
        print(json_line(result))
        return 0
    base, n = result["baseline"], result["lines"]
    skipped = f" ({bad:,} bad line{'s' * (bad != 1)} skipped)" if bad else ""
    print(f"{n:,} line{'s' if n != 1 else ''}, {result['chars']:,} characters, {result['changed_chars']:,} to change{skipped}")
    print(f"{'':22}{'model':>10}{'copy input':>12}")
    rows = {"char_accuracy": "character accuracy", "changed_accuracy": "changed positions", "line_accuracy": "exact lines"}
    for key, label in rows.items():
        model, copy = ("-" if x is None else f"{100 * x:.2f}%" for x in (result[key], base[key]))
        print(f"{label:22}{model:>10}{copy:>12}")
    print(f"{'wrong changes':22}{result['wrong_changes']:>10,}{base['wrong_changes']:>12,}")
    return 0
