#!/usr/bin/env python
"""How often each lesson program reaches its target ("ohlol") within the epochs, over many seeds.

For every program and every seed in 0..N-1 this trains the program exactly as ``rnnlab lesson``
does (same models, lr, epochs) and counts

- *reached*: the prediction equalled the target exactly at some epoch <= --epochs;
- *final correct*: the prediction at the last epoch equals the target.

It prints a markdown table and, with ``--json OUT``, writes the per-program counts, the seeds
that failed and the mean first-hit epoch.

    .venv/bin/python scripts/lesson_success_rates.py                 # seeds 0..49, torch
    .venv/bin/python scripts/lesson_success_rates.py --impl reference --json rates.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from rnnlab import lesson
from rnnlab.commands.flags import add_settings
from rnnlab.config import LessonConfig
from rnnlab.errors import UserError


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=50, help="use seeds 0..SEEDS-1 (default: 50)")
    p.add_argument("--program", action="append", choices=lesson.PROGRAMS, help="only this program (repeatable; default: all five)")
    p.add_argument("--json", metavar="OUT", help="also write the results as JSON to OUT")
    add_settings(p, LessonConfig, "lesson", only=("epochs", "impl", "input", "target"), defaults=True)
    return p.parse_args(argv)


def success_rates(programs, seeds, epochs, impl, task) -> list[dict]:
    rows = []
    for program in programs:
        reached, final_ok, first_hits, failed = 0, 0, [], []
        t0 = time.perf_counter()
        for seed in seeds:
            r = lesson.train(program, task, epochs=epochs, seed=seed, impl=impl)
            if r.first_hit is not None:
                reached += 1
                first_hits.append(r.first_hit)
            else:
                failed.append(seed)
            final_ok += r.final_correct
        n = len(seeds)
        rows.append(
            {
                "program": program,
                "lr": lesson.DEFAULT_LR[program],
                "seeds": n,
                "reached": reached,
                "reached_rate": reached / n,
                "final_correct": final_ok,
                "final_correct_rate": final_ok / n,
                "mean_first_hit": sum(first_hits) / len(first_hits) if first_hits else None,
                "failed_seeds": failed,
                "seconds": round(time.perf_counter() - t0, 2),
            }
        )
    return rows


def markdown(rows, epochs, impl, seeds) -> str:
    lines = [
        f"Seeds {seeds[0]}..{seeds[-1]} ({len(seeds)}), {epochs} epochs, impl {impl}",
        "",
        f"| program | lr | reached target within {epochs} epochs | final epoch correct | mean first-hit epoch |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        mean = "-" if r["mean_first_hit"] is None else f"{r['mean_first_hit']:.1f}"
        lines.append(
            f"| {r['program']} | {r['lr']:g} | {r['reached']}/{r['seeds']} ({r['reached_rate']:.0%}) "
            f"| {r['final_correct']}/{r['seeds']} ({r['final_correct_rate']:.0%}) | {mean} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.seeds < 1:
        print("error: --seeds must be at least 1", file=sys.stderr)
        return 2
    try:
        task = lesson.make_task(args.input, args.target)
        seeds = list(range(args.seeds))
        programs = args.program or list(lesson.PROGRAMS)
        rows = success_rates(programs, seeds, args.epochs, args.impl, task)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    sys.stdout.write(markdown(rows, args.epochs, args.impl, seeds))
    if args.json:
        payload = {"input": args.input, "target": args.target, "epochs": args.epochs, "impl": args.impl, "seeds": seeds, "programs": rows}
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(payload, f, indent=2)
            f.write("\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
