"""``rnnlab sample``: generate text from a trained run, streaming characters as they come."""

from __future__ import annotations

import argparse
import sys

from rnnlab.commands.common import nonneg_int, positive_float, positive_int


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "sample",
        help="generate text from a trained model",
        description="Generate text from a run folder's best checkpoint (any device's checkpoint samples on the CPU).",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="a folder written by rnnlab train")
    p.add_argument("--length", type=nonneg_int, default=500, help="characters to generate (default 500)")
    p.add_argument(
        "--temperature", type=positive_float, default=1.0, help="below 1: safer, above 1: wilder (default 1)"
    )
    p.add_argument("--top-k", type=positive_int, help="draw only from the k likeliest characters")
    p.add_argument("--top-p", type=positive_float, help="draw only from the smallest set holding this probability mass")
    p.add_argument("--greedy", action="store_true", help="always take the likeliest character")
    p.add_argument("--prime", default="", metavar="TEXT", help="text to start from (printed first)")
    p.add_argument("--num", type=positive_int, default=1, help="number of samples (default 1)")
    p.add_argument("--seed", type=int, help="random seed: the same seed gives the same text")
    p.add_argument("--checkpoint", choices=["best", "last"], default="best", help="which checkpoint (default best)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], default="cpu", help="where to run (default cpu)")
    return p


def run(args) -> int:
    from rnnlab.errors import UserError
    from rnnlab.lm import load

    if args.top_p is not None and args.top_p > 1:
        raise UserError(f"--top-p must be in (0, 1], got {args.top_p}")
    lm = load(args.run_dir, which=args.checkpoint, device=args.device)
    out = sys.stdout
    steps = lm.iter_sample(
        args.length,
        prime=args.prime,
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        seed=args.seed,
        greedy=args.greedy,
        num=args.num,
    )
    if args.num == 1:
        out.write(args.prime)
        out.flush()
        for chars in steps:
            out.write(chars[0])
            out.flush()
        out.write("\n")
    else:
        # Several samples are drawn side by side; each is printed whole once done.
        texts = [args.prime] * args.num
        for chars in steps:
            texts = [t + c for t, c in zip(texts, chars)]
        for i, t in enumerate(texts):
            out.write(f"--- sample {i + 1} ---\n{t}\n")
    out.flush()
    return 0
