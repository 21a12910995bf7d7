"""Quality per time: held-out bits per character of ``rnnlab train`` (defaults) against the peers.

The peers are the two designs of ``peers.py`` with their published defaults: char-rnn (per
character loop, one-hot, 2x128 LSTM, RMSprop) and PyTorch's word_language_model (full-sequence
loop, 2x200 LSTM, SGD lr 20). Each gets the same whole-process wall-clock time on the same text:
rnnlab runs first, as a subprocess ``rnnlab train FILE --max-time T``; its whole-process time W
(start-up, corpus, evaluations and checkpoints included) becomes each peer's budget, counted
from the peer's own process start; a peer's final save is not counted against it. All models
are then scored here by one function on the same held-out tail (the last 5% of the text, which
no contender trains on).

    .venv/bin/python benchmarks/lm_quality.py --minutes 1 2 5 [--text prose|code|PATH ...]
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, table, write_json
from peers import build

from rnnlab.data import default_corpus_path, load_corpus
from rnnlab.model import LN2
from rnnlab.runs import load_model
from rnnlab.scoring import score_ids
from rnnlab.training.lm_task import split_train_val


def source_code_text(limit: int = 1_300_000) -> Path:
    """About 1.3 MB of Python: torch's own sources, in sorted order (on every machine that runs this)."""
    root = Path(torch.__file__).parent
    out = Path(tempfile.gettempdir()) / "rnnlab-bench-code.txt"
    parts, size = [], 0
    for f in sorted(root.rglob("*.py")):
        t = f.read_text(errors="ignore")
        parts.append(t)
        size += len(t)
        if size >= limit:
            break
    out.write_text("".join(parts)[:limit])
    return out


PEERS = ("charrnn", "wlm")


def one_budget(minutes, name, path, corpus, val, variant, peers, here, src) -> dict:
    """rnnlab (defaults plus ``variant`` flags) for ``minutes``, then each peer for the same wall time."""
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        t0 = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "rnnlab",
                "train",
                str(path),
                "--out",
                str(run),
                "--quiet",
                "--max-time",
                str(minutes * 60),
                *shlex.split(variant),
            ],
            check=True,
        )
        wall = time.perf_counter() - t0
        ckpt, model, _ = load_model(run)
        ours = bpc(model, val)
        row = {
            "minutes": minutes,
            "text": name,
            "variant": variant,
            "chars": len(corpus),
            "wall_s": round(wall, 1),
            "rnnlab_steps": ckpt.progress.step,
            "rnnlab_bpc": round(ours, 4),
        }
        for peer in peers:
            out = Path(tmp) / f"{peer}.pt"
            t1 = time.perf_counter()
            subprocess.run([sys.executable, str(here / "peers.py"), peer, str(path), str(wall), str(out), src], check=True)
            saved = torch.load(out, weights_only=True)
            net = build(peer, len(corpus.vocab))
            net.load_state_dict(saved["model"])
            theirs = bpc(net, val)
            row.update(
                {f"{peer}_wall_s": round(time.perf_counter() - t1, 1), f"{peer}_steps": saved["steps"], f"{peer}_bpc": round(theirs, 4)}
            )
    return row


def bpc(model, val: torch.Tensor) -> float:
    """Held-out bits per character, scored the same way for every contender."""
    nats, n = score_ids(model, val, 64, 128)
    return nats / n / LN2


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, nargs="+", default=[1.0, 2.0, 5.0], help="rnnlab's --max-time values, in minutes")
    ap.add_argument("--text", nargs="+", default=["prose"], help="prose (embedded corpus), code, or file paths")
    ap.add_argument("--only-rnnlab", action="store_true", help="skip the peers (the fixed-budget figure)")
    ap.add_argument(
        "--variant",
        action="append",
        default=None,
        metavar="FLAGS",
        help='rnnlab train flags to compare, e.g. "--batch-size 16 --seq-len 32" (repeatable; '
        'default: one run with the defaults; "" is the defaults)',
    )
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    here = Path(__file__).resolve().parent
    src = str(here.parent / "src")
    peers = () if args.only_rnnlab else PEERS
    rows = []
    variants = args.variant if args.variant is not None else [""]
    for minutes in args.minutes:
        for name in args.text:
            path = default_corpus_path() if name == "prose" else source_code_text() if name == "code" else Path(name)
            corpus = load_corpus([path])
            _, val = split_train_val(corpus.ids, 0.05, 128)
            for variant in variants:
                rows.append(one_budget(minutes, name, path, corpus, val, variant, peers, here, src))
                print(rows[-1], flush=True)
    cols = ["minutes", "text"] + (["variant"] if args.variant is not None else []) + ["wall_s", "rnnlab_steps", "rnnlab_bpc"]
    for peer in peers:
        cols += [f"{peer}_steps", f"{peer}_bpc"]
    print()
    print(table(rows, cols))
    payload = {"benchmark": "lm_quality", "minutes": args.minutes, "rows": rows}
    tag = "-".join(f"{m:g}" for m in args.minutes) + "min" + ("-variants" if args.variant is not None else "")
    write_json(args.out or RESULTS / f"lm_quality_{tag}.json", payload)
    return payload


if __name__ == "__main__":
    main()
