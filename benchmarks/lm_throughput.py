"""Training throughput: rnnlab's trainer against a bare hand-written torch loop, same model.

The bare loop is what a careful user writes in twenty lines: embedding -> nn.LSTM/GRU ->
Linear, Adam, gradient clipping, state carried and detached between chunks, nothing else.
Both step the same model configuration on the same text; they alternate in one process and the
table reports characters per second (forward + backward + optimizer step) and the ratio.

    .venv/bin/python benchmarks/lm_throughput.py [--quick] [--steps 4] [--rounds 3]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, alternate, median, table, timed, write_json  # noqa: E402

from rnnlab.config import ModelConfig, TrainConfig  # noqa: E402
from rnnlab.data import corpus_from_text, default_corpus_path  # noqa: E402
from rnnlab.train import Trainer  # noqa: E402

FULL = [(cell, layers, hidden) for cell in ("lstm", "gru") for layers, hidden in ((1, 128), (2, 256), (3, 512), (1, 512), (3, 128))]
QUICK = [("lstm", 1, 32), ("gru", 1, 32)]


class Bare(nn.Module):
    def __init__(self, cell, vocab, embed, hidden, layers):
        super().__init__()
        self.emb = nn.Embedding(vocab, embed)
        self.rnn = {"lstm": nn.LSTM, "gru": nn.GRU}[cell](embed, hidden, layers, batch_first=True)
        self.fc = nn.Linear(hidden, vocab)

    def forward(self, x, h):
        out, h = self.rnn(self.emb(x), h)
        return self.fc(out), h


def bare_runner(cell, layers, hidden, embed, batch, seq, ids, vocab):
    torch.manual_seed(0)
    model = Bare(cell, vocab, embed, hidden, layers)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    n = (ids.numel() - 1) // batch
    x = ids[: batch * n].view(batch, n)
    y = ids[1 : batch * n + 1].view(batch, n)
    pos = {"p": 0, "h": None}

    def step():
        p = pos["p"]
        if p + seq > n:
            p, pos["h"] = 0, None
        xb, yb = x[:, p : p + seq].long(), y[:, p : p + seq].long()
        logits, h = model(xb, pos["h"])
        loss = nn.functional.cross_entropy(logits.flatten(0, 1), yb.flatten())
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        pos["h"] = tuple(t.detach() for t in h) if isinstance(h, tuple) else h.detach()
        pos["p"] = p + seq

    return step


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test")
    ap.add_argument("--steps", type=int, default=4, help="optimizer steps per timed run")
    ap.add_argument("--rounds", type=int, default=3, help="timed runs per contender")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--embed", type=int, default=64)
    ap.add_argument("--out", type=Path, default=RESULTS / "lm_throughput.json")
    args = ap.parse_args(argv)
    configs = QUICK if args.quick else FULL
    batch, seq = (4, 16) if args.quick else (args.batch, args.seq)
    text = default_corpus_path().read_text()[: 400_000]
    corpus = corpus_from_text(text)
    rows = []
    for cell, layers, hidden in configs:
        trainer = Trainer(
            corpus,
            ModelConfig(cell=cell, layers=layers, hidden=hidden, embed=args.embed),
            TrainConfig(batch_size=batch, seq_len=seq, seed=0, sample_chars=0, device="cpu"),
        )
        bare = bare_runner(cell, layers, hidden, args.embed, batch, seq, trainer.train_ids, len(corpus.vocab))
        chars = batch * seq * args.steps

        def run_rnnlab():
            return chars / timed(lambda: [trainer.step() for _ in range(args.steps)])

        def run_bare():
            return chars / timed(lambda: [bare() for _ in range(args.steps)])

        res = alternate({"rnnlab": run_rnnlab, "bare": run_bare}, rounds=args.rounds)
        r, b = median(res["rnnlab"]), median(res["bare"])
        rows.append({"cell": cell, "layers": layers, "hidden": hidden, "rnnlab_cps": round(r), "bare_cps": round(b),
                     "ratio": round(r / b, 3), "runs": res})
        print(f"{cell} {layers}x{hidden}: rnnlab {r:,.0f} char/s, bare {b:,.0f} char/s, ratio {r / b:.3f}", flush=True)
    print()
    print(table(rows, ["cell", "layers", "hidden", "rnnlab_cps", "bare_cps", "ratio"]))
    payload = {"benchmark": "lm_throughput", "batch": batch, "seq": seq, "embed": args.embed, "steps": args.steps, "rows": rows}
    write_json(args.out, payload)
    return payload


if __name__ == "__main__":
    main()
