"""Does ``make demo``'s model write English? The share of sampled words found in an English word list.

Runs the demo's training command (``rnnlab train --max-time 120``, with ``--init-from base`` as
``make demo`` does, or without it: ``--scratch``), then samples 300 characters at temperature 0.8
for each seed and counts the words (runs of letters, with inner apostrophes) that the word list
has, case-insensitively. The word list is Debian's ``wamerican`` (``/usr/share/dict/american-english``;
``apt-get install wamerican``), or any file of one word per line (``--words``).

    .venv/bin/python benchmarks/demo_english.py --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, machine, table, write_json

import rnnlab

WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)*")
WORDS = Path("/usr/share/dict/american-english")


def english_share(text: str, words: set[str]) -> tuple[int, int]:
    found = WORD.findall(text)
    return sum(w.lower() in words for w in found), len(found)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="sampling seeds (one training run, seed 1337 as the demo)")
    ap.add_argument("--scratch", action="store_true", help="train from random weights, as the demo did before the base model")
    ap.add_argument("--words", type=Path, default=WORDS)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    if not args.words.is_file():
        raise SystemExit(f"no word list at {args.words}: apt-get install wamerican, or give --words FILE")
    words = {w.strip().lower() for w in args.words.read_text(encoding="utf-8", errors="ignore").splitlines() if w.strip()}
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "demo"
        cmd = [sys.executable, "-m", "rnnlab", "train", "--out", str(run), "--max-time", "120", "--quiet"]
        subprocess.run(cmd + ([] if args.scratch else ["--init-from", "base"]), check=True)
        lm = rnnlab.load(run)
        rows = []
        for seed in args.seeds:
            text = lm.sample(300, temperature=0.8, seed=seed)
            hits, n = english_share(text, words)
            rows.append({"seed": seed, "words": n, "in_word_list": hits, "share": round(hits / max(n, 1), 3), "sample": text})
    print(table(rows, ["seed", "words", "in_word_list", "share"]))
    mean = sum(r["share"] for r in rows) / len(rows)
    print(f"mean share of English words: {mean:.1%}")
    payload = {"benchmark": "demo_english", "machine": machine(), "scratch": args.scratch, "mean_share": round(mean, 3), "rows": rows}
    write_json(args.out or RESULTS / ("demo_english_scratch.json" if args.scratch else "demo_english.json"), payload)
    return payload


if __name__ == "__main__":
    main()
