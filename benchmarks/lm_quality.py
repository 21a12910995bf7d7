"""Quality per time: held-out bits per character of ``rnnlab train`` (defaults) against a bare loop.

Both get the same whole-process wall-clock time on the same text. rnnlab runs first, as a
subprocess ``rnnlab train FILE --max-time T``; its whole-process time W (start-up, corpus,
evaluations and checkpoints included) becomes the bare loop's budget, and the bare loop's own
final evaluation is not counted against it. Both models are then scored here by one function on
the same held-out tail (the last 5% of the text).

The bare loop: embedding 64 -> 2x256 nn.LSTM -> Linear, batch 64, seq 128, Adam 2e-3, clip 5.

    .venv/bin/python benchmarks/lm_quality.py --minutes 2 [--text prose|code|PATH ...]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, table, write_json  # noqa: E402

from rnnlab.data import default_corpus_path, load_corpus  # noqa: E402
from rnnlab.model import LN2, Output  # noqa: E402
from rnnlab.train import evaluate_ids, split_train_val  # noqa: E402

BARE = r'''
import sys, time, torch
from torch import nn
start = time.perf_counter()
path, budget, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
sys.path.insert(0, sys.argv[4])
from rnnlab.data import load_corpus
from rnnlab.train import split_train_val
torch.manual_seed(0)
c = load_corpus([path])
ids, _ = split_train_val(c.ids, 0.05, 128)
V = len(c.vocab)
class M(nn.Module):
    def __init__(s):
        super().__init__(); s.emb = nn.Embedding(V, 64); s.rnn = nn.LSTM(64, 256, 2, batch_first=True); s.fc = nn.Linear(256, V)
    def forward(s, x, h=None):
        o, h = s.rnn(s.emb(x), h); return s.fc(o), h
m = M(); opt = torch.optim.Adam(m.parameters(), lr=2e-3)
B, T = 64, 128
n = (ids.numel() - 1) // B
x = ids[: B * n].view(B, n); y = ids[1 : B * n + 1].view(B, n)
p, h, steps = 0, None, 0
while time.perf_counter() - start < budget:
    if p + T > n: p, h = 0, None
    logits, h = m(x[:, p:p+T].long(), h)
    loss = nn.functional.cross_entropy(logits.flatten(0, 1), y[:, p:p+T].long().flatten())
    opt.zero_grad(); loss.backward(); nn.utils.clip_grad_norm_(m.parameters(), 5.0); opt.step()
    h = tuple(t.detach() for t in h); p += T; steps += 1
torch.save({"model": m.state_dict(), "steps": steps}, out)
'''


class BareModel(torch.nn.Module):
    """The bare loop's network behind rnnlab's model interface, for scoring."""

    def __init__(self, vocab):
        super().__init__()
        self.emb = torch.nn.Embedding(vocab, 64)
        self.rnn = torch.nn.LSTM(64, 256, 2, batch_first=True)
        self.fc = torch.nn.Linear(256, vocab)

    def forward(self, x, targets=None, state=None):
        o, state = self.rnn(self.emb(x), state)
        return Output(self.fc(o), None, state)


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


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=2.0, help="rnnlab's --max-time, in minutes")
    ap.add_argument("--text", nargs="+", default=["prose", "code"], help="prose (embedded corpus), code, or file paths")
    ap.add_argument("--only-rnnlab", action="store_true", help="skip the bare loop (the fixed-budget figure)")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    src = str(Path(__file__).resolve().parents[1] / "src")
    rows = []
    for name in args.text:
        path = default_corpus_path() if name == "prose" else source_code_text() if name == "code" else Path(name)
        corpus = load_corpus([path])
        _, val = split_train_val(corpus.ids, 0.05, 128)
        with tempfile.TemporaryDirectory() as tmp:
            run = Path(tmp) / "run"
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "rnnlab", "train", str(path), "--out", str(run), "--quiet",
                            "--max-time", str(args.minutes * 60)], check=True)
            wall = time.perf_counter() - t0
            ckpt = torch.load(run / "best.pt", weights_only=True)
            from rnnlab.train import model_from_checkpoint

            model, _ = model_from_checkpoint(ckpt)
            ours = evaluate_ids(model, val, 64, 128, torch.device("cpu")) / LN2
            row = {"text": name, "chars": len(corpus), "wall_s": round(wall, 1), "rnnlab_steps": ckpt["progress"]["step"],
                   "rnnlab_val_bpc": round(ours, 4)}
            if not args.only_rnnlab:
                t1 = time.perf_counter()
                subprocess.run([sys.executable, "-c", BARE, str(path), str(wall), str(Path(tmp) / "bare.pt"), src], check=True)
                bare_wall = time.perf_counter() - t1
                b = torch.load(Path(tmp) / "bare.pt", weights_only=True)
                bare = BareModel(len(corpus.vocab))
                bare.load_state_dict(b["model"])
                theirs = evaluate_ids(bare, val, 64, 128, torch.device("cpu")) / LN2
                row.update({"bare_wall_s": round(bare_wall, 1), "bare_steps": b["steps"], "bare_val_bpc": round(theirs, 4),
                            "difference": round(theirs - ours, 4)})
        rows.append(row)
        print(row, flush=True)
    cols = ["text", "chars", "wall_s", "rnnlab_steps", "rnnlab_val_bpc"]
    if not args.only_rnnlab:
        cols += ["bare_steps", "bare_val_bpc", "difference"]
    print()
    print(table(rows, cols))
    payload = {"benchmark": "lm_quality", "minutes": args.minutes, "rows": rows}
    write_json(args.out or RESULTS / f"lm_quality_{args.minutes:g}min.json", payload)
    return payload


if __name__ == "__main__":
    main()
