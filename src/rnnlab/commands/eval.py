"""``rnnlab eval``: bits per character, nats per character and perplexity of a model on text."""

from __future__ import annotations

import argparse

from rnnlab.commands.flags import add_load_args, add_settings, parsed
from rnnlab.config import LoadConfig, TextConfig


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "eval",
        help="score text with a trained model",
        description="Bits per character, nats per character and perplexity of FILEs under a trained model "
        "('-' reads standard input). Characters outside the vocabulary are counted and reported (scored as "
        "the unknown symbol when the model has one, else skipped). A FILE with nothing to score (empty, or "
        "none of its characters in the vocabulary) is an error.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="a folder written by rnnlab train or rnnlab export --to hf")
    p.add_argument("files", nargs="+", metavar="FILE", help="text files or folders to score; - reads standard input")
    p.add_argument("--json", action="store_true", help="print one JSON object on standard output")
    add_settings(p, TextConfig, "text", defaults=True)
    add_load_args(p)
    return p


def run(args) -> int:
    from rnnlab.lm import load
    from rnnlab.scoring import check_scored, json_line, per_char
    from rnnlab.textfiles import read_texts

    where = parsed(args, LoadConfig)
    lm = load(args.run_dir, which=where.checkpoint, device=where.device)
    per_file = []
    total_nats, total_chars, total_unknown = 0.0, 0, 0
    for f, text in read_texts(args.files, parsed(args, TextConfig).encoding, stdin=True):
        r = lm.evaluate(text)
        check_scored(str(f), text, r["chars"], r["unknown"])
        per_file.append({"file": str(f), "bpc": r["bpc"], "chars": r["chars"], "unknown": r["unknown"]})
        total_nats += r["total_nats"]
        total_chars += r["chars"]
        total_unknown += r["unknown"]
    result = {
        **per_char(total_nats, total_chars),  # every file scored at least one character
        "chars": total_chars,
        "unknown": total_unknown,
        "files": per_file,
    }
    if args.json:
        print(json_line(result))
        return 0
    for r in per_file:
        unknown = f" ({r['unknown']:,} unknown)" if r["unknown"] else ""
        print(f"{r['file']}: {r['bpc']:.4f} bits/char over {r['chars']:,} characters{unknown}")
    if len(per_file) > 1:
        print(f"total: {result['bpc']:.4f} bits/char over {total_chars:,} characters")
    print(
        f"bits/char {result['bpc']:.4f}  nats/char {result['nats']:.4f}  perplexity {result['perplexity']:.3f}  "
        f"characters {total_chars:,}  unknown {total_unknown:,}"
    )
    return 0
