"""Sampling speed: characters per second of ``rnnlab sample``'s generator at batch 1 and 64.

The model is a 2x256 LSTM (embedding 64) over a 96-symbol vocabulary with random weights;
speed does not depend on what the weights learned.

    .venv/bin/python benchmarks/sample_speed.py [--chars 2000] [--cell lstm]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, alternate, median, table, timed, write_json  # noqa: E402

from rnnlab.config import ModelConfig  # noqa: E402
from rnnlab.data import Vocab  # noqa: E402
from rnnlab.lm import LanguageModel  # noqa: E402
from rnnlab.model import CharRNN  # noqa: E402


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--chars", type=int, default=2000)
    ap.add_argument("--cell", default="lstm")
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", type=Path, default=RESULTS / "sample_speed.json")
    args = ap.parse_args(argv)
    torch.manual_seed(0)
    vocab = Vocab(tuple(chr(32 + i) for i in range(95)) + ("\n",))
    model = CharRNN(ModelConfig(vocab_size=len(vocab), cell=args.cell, layers=args.layers, hidden=args.hidden))
    lm = LanguageModel(model, vocab)
    rows = []
    for batch in (1, 64):
        def run():
            return args.chars * batch / timed(lambda: list(lm.iter_sample(args.chars, prime="a", seed=0, num=batch)))

        cps = median(alternate({"sample": run}, rounds=args.rounds)["sample"])
        rows.append({"cell": args.cell, "layers": args.layers, "hidden": args.hidden, "batch": batch, "chars_per_s": round(cps)})
    print(table(rows, ["cell", "layers", "hidden", "batch", "chars_per_s"]))
    payload = {"benchmark": "sample_speed", "rows": rows}
    write_json(args.out, payload)
    return payload


if __name__ == "__main__":
    main()
