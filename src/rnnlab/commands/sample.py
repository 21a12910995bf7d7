"""``rnnlab sample``: generate text from a trained run, streaming characters as they come (with
``--num`` above 1, a progress bar on a terminal while the samples are drawn side by side)."""

from __future__ import annotations

import argparse
import sys

from rnnlab.commands.flags import add_load_args, add_settings, parsed
from rnnlab.config import LoadConfig, SampleConfig


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "sample",
        help="generate text from a trained model",
        description="Generate text from a run folder's best checkpoint (any device's checkpoint samples on the CPU).",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="a folder written by rnnlab train or rnnlab export --to hf")
    p.add_argument("--prime", default="", metavar="TEXT", help="text to start from (printed first)")
    p.add_argument("--num", type=int, default=1, help="number of samples drawn side by side (default: 1)")
    add_settings(p, SampleConfig, "sampling", defaults=True)
    add_load_args(p)
    return p


def run(args) -> int:
    from rnnlab.commands.progress import open_bar  # imports torch: not at --help
    from rnnlab.lm import load

    cfg, where = parsed(args, SampleConfig), parsed(args, LoadConfig)
    lm = load(args.run_dir, which=where.checkpoint, device=where.device)
    out = sys.stdout
    # With --num above 1 every text is kept until all are done (and checked for memory as such).
    steps = lm.iter_sample(cfg, args.prime, num=args.num, keep=args.num > 1)
    if args.num == 1:
        out.write(args.prime)
        out.flush()
        for chars in steps:
            out.write(chars[0])
            out.flush()
        out.write("\n")
    else:
        # Several samples are drawn side by side and all end together, so each is printed whole
        # once done; until then a bar on standard error shows that drawing goes on.
        texts = [args.prime] * args.num
        with open_bar(sys.stderr, total=cfg.length, desc=f"drawing {args.num} samples", unit="char", leave=False) as bar:
            for chars in steps:
                texts = [t + c for t, c in zip(texts, chars)]
                bar.update()
        for i, t in enumerate(texts):
            out.write(f"--- sample {i + 1} ---\n{t}\n")
    out.flush()
    return 0
