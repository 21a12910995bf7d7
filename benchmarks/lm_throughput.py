"""Training throughput: rnnlab's trainer against peer designs, and against the machine.

Contenders, all stepping the same model (embedding -> recurrent layers -> Linear, Adam, gradient
clipping at 5) on the same text, alternating in one process:

- ``rnnlab``: ``Trainer.step()``, what ``rnnlab train`` runs.

For the cells with a torch.nn twin (LSTM, GRU, RNN):

- ``seq`` (b): the full-sequence loop of PyTorch's word_language_model example: one
  ``nn.LSTM``/``nn.GRU``/``nn.RNN`` call per chunk, state carried and detached between chunks.
- ``char`` (a): the per-character loop of the popular PyTorch char-rnn ports: one call of the
  recurrent module per character (sequence length 1), loss summed over the chunk.

For the cells without one (minGRU, minLSTM, whose gates read the input only), the very same
rnnlab trainer and model on the other way of running them:

- ``scan`` when rnnlab steps them (``--impl auto`` on a CPU, ``reference``): every scan layer
  switched to the parallel scan (``ScanLayer.fused = True``, ``--impl fused``);
- ``loop`` when rnnlab scans (``--impl fused``, or ``auto`` off a CPU): every scan layer on its
  step loop, i.e. step-by-step training, what the minGRU paper's speed claims compare against.

``--stack`` turns rnnlab's model into a modern stack (``"--residual --norm rms --mlp 2 --tie"``,
the flags of ``rnnlab train``); the ``seq`` and ``char`` peers still run the plain torch.nn
model (the row's ``peers`` says ``plain``), while ``scan``/``loop`` run the same stack. A
``--stack`` of ``--dropout`` alone (a recipe's plain model) gives the peers the same dropout,
word_language_model's: between the layers and before the output (``peers`` says ``same``).

Utilisation is the distance to the physical limit: characters/s times the matmul FLOPs per
character over the rate of one large float32 ``torch.mm`` (1024^3) measured in the same run, the
machine's best case. The FLOPs count the forward and both backward products of every matmul of
rnnlab's model: per layer the input projection, the recurrent product (cells with recurrent
weights only) and the MLP's two (with ``--mlp``), then the output head. Elementwise work is not
counted: the gates and activations, the parallel scan of the min cells, the norms, the residual
adds, dropout. ``shape_gflops`` is the rate of the step's own matmuls timed as bare ``torch.mm``
calls at their shapes (the recurrent ones at (B, H) x (H, G*H), T times): a fused kernel can
beat it, since it pays no per-call dispatch.

    .venv/bin/python benchmarks/lm_throughput.py [--quick] [--steps 3] [--rounds 3] [--device cpu]
        [--cells lstm,mingru] [--stack "--residual --norm rms --mlp 2 --tie"]
"""

from __future__ import annotations

import argparse
import contextlib
import shlex
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, alternate, median, table, timed, write_json

from rnnlab import cells as cell_registry
from rnnlab.cells import CELLS
from rnnlab.commands import flags
from rnnlab.config import ModelConfig, TrainConfig
from rnnlab.data import corpus_from_text, default_corpus_path
from rnnlab.errors import UserError
from rnnlab.nn.scan import ScanLayer
from rnnlab.training import LMTask, Trainer

SIZES = "1x128,2x256,3x512,1x512"
STACK_FIELDS = ("norm", "residual", "mlp", "tie", "embed_dropout", "variational", "dropout")  # what --stack may set


def layer_info(cell: str) -> tuple[int, bool]:
    """(G, recurrent_weights) of ``cell``: gates per layer and whether it has a hidden-to-hidden matmul."""
    layer, _ = cell_registry.layer_class(cell, "reference")
    return layer.num_chunks, layer.recurrent_weights


def step_matmuls(cfg: ModelConfig, batch: int, seq: int) -> list[tuple[int, int, int, int]]:
    """The matmuls of one training step of model ``cfg`` (``vocab_size`` set) as (m, k, n, count):
    forward, then each one's two backward products (dX = dY W^T and dW = X^T dY, the same FLOPs
    as the forward each).

    The recurrent product runs once per time step at (B, H) x (H, G*H); its weight gradient is
    counted as one product over all steps, the form the fused kernels use.
    """
    g, recurrent = layer_info(cfg.cell)
    h, bt = cfg.hidden, batch * seq
    forward = []
    for layer in range(cfg.layers):
        d = cfg.input_size if layer == 0 else h  # the embedding (hidden wide with --residual), one-hot or the layer below
        forward.append((bt, d, g * h, 1))  # input projection, all steps at once
        if recurrent:
            forward.append((batch, h, g * h, seq))  # recurrent, one per step
        if cfg.mlp:
            forward.append((bt, h, cfg.mlp * h, 1))  # MLP up
            forward.append((bt, cfg.mlp * h, h, 1))  # MLP down
    forward.append((bt, h, cfg.vocab_size, 1))  # output head
    out = list(forward)
    for m, k, n, count in forward:
        out.append((m, n, k, count))  # dX: (m, n) x (n, k)
        out.append((k, m * count, n, 1))  # dW: (k, m*count) x (m*count, n)
    return out


def flops_of(matmuls) -> int:
    return sum(2 * m * k * n * count for m, k, n, count in matmuls)


def matmul_seconds(matmuls, device: torch.device) -> float:
    """Time of the bare torch.mm calls in ``matmuls`` (best of three): the step's arithmetic alone."""
    operands = [(torch.randn(m, k, device=device), torch.randn(k, n, device=device), count) for m, k, n, count in matmuls]

    def go():
        for a, b, count in operands:
            for _ in range(count):
                torch.mm(a, b)
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    go()
    return min(timed(go) for _ in range(3))


def scan_layers(model: nn.Module) -> list[ScanLayer]:
    return [m for m in model.modules() if isinstance(m, ScanLayer)]


def trainer_backend(trainer: Trainer) -> str:
    """The trainer's backend; ``/scan`` when its layers take the parallel scan (the min cells)."""
    scans = scan_layers(trainer.model)
    return trainer.backend + ("/scan" if scans and all(m.fused for m in scans) else "")


def square_rate(device: torch.device, n: int = 1024) -> float:
    """FLOP/s of a large square float32 torch.mm: the machine's best case."""
    return flops_of([(n, n, n, 8)]) / matmul_seconds([(n, n, n, 8)], device)


def parse_cells(text: str) -> list[str]:
    names = [c.strip() for c in text.split(",") if c.strip()]
    unknown = [c for c in names if c not in CELLS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"cells must be a comma-separated subset of {','.join(CELLS)}, got {text!r}")
    return names


def parse_stack(text: str) -> dict:
    """``--stack``'s flags (those of ``rnnlab train`` for the fields in STACK_FIELDS) -> ModelConfig values."""
    parser = argparse.ArgumentParser(prog="--stack", add_help=False)
    flags.add_settings(parser, ModelConfig, "stack", only=STACK_FIELDS)
    return flags.given(parser.parse_args(shlex.split(text)), [ModelConfig])


class Net(nn.Module):
    """The seq and char peers' model: embedding -> torch.nn recurrent layers -> Linear, with
    word_language_model's dropout between the layers and before the output when asked."""

    def __init__(self, cell, vocab, embed, hidden, layers, dropout=0.0):
        super().__init__()
        self.emb = nn.Embedding(vocab, embed)
        between = dropout if layers > 1 else 0.0
        self.rnn = cell_registry.layer_class(cell, "torch")[0](embed, hidden, layers, batch_first=True, dropout=between)
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(hidden, vocab)

    def forward(self, x, h):
        out, h = self.rnn(self.emb(x), h)  # (B, T, H)
        return self.fc(self.drop(out)), h  # (B, T, V)


def detach(h):
    return tuple(t.detach() for t in h) if isinstance(h, tuple) else h.detach()


def peer_runner(design, cell, layers, hidden, embed, batch, seq, ids, vocab, device, dropout=0.0):
    """One optimizer step per call of the peer ``design`` ("seq" or "char") over streamed chunks."""
    torch.manual_seed(0)
    model = Net(cell, vocab, embed, hidden, layers, dropout).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    n = (ids.numel() - 1) // batch
    x = ids[: batch * n].view(batch, n)  # (B, N) streams
    y = ids[1 : batch * n + 1].view(batch, n)  # (B, N)
    pos = {"p": 0, "h": None}

    def step():
        p = pos["p"]
        if p + seq > n:
            p, pos["h"] = 0, None
        xb, yb = x[:, p : p + seq].to(device).long(), y[:, p : p + seq].to(device).long()  # (B, T)
        h = pos["h"]
        if design == "seq":
            logits, h = model(xb, h)  # (B, T, V)
            loss = nn.functional.cross_entropy(logits.flatten(0, 1), yb.flatten())
        else:
            loss = 0.0
            for t in range(seq):
                logits, h = model(xb[:, t : t + 1], h)  # (B, 1, V)
                loss = loss + nn.functional.cross_entropy(logits[:, 0], yb[:, t])
            loss = loss / seq
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        pos["h"] = detach(h)
        pos["p"] = p + seq

    return step


def other_trainer(make_trainer, scans: bool) -> tuple[str, Trainer]:
    """A fresh trainer of the same model whose scan layers run the other way: the step loop
    when ``scans`` (rnnlab's runs the scan), else the scan; and its contender name."""
    trainer = make_trainer()
    for m in scan_layers(trainer.model):
        m.fused = not scans
    return ("loop" if scans else "scan"), trainer


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test")
    ap.add_argument("--steps", type=int, default=3, help="optimizer steps per timed run")
    ap.add_argument("--rounds", type=int, default=3, help="timed runs per contender")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--seq", type=int, default=64)
    ap.add_argument("--embed", type=int, default=64)
    ap.add_argument("--cells", type=parse_cells, default=list(CELLS), help=f"comma-separated subset of {','.join(CELLS)} (default all)")
    ap.add_argument("--sizes", default=SIZES, help=f"comma-separated LAYERSxHIDDEN (default {SIZES})")
    ap.add_argument(
        "--stack",
        default="",
        metavar="FLAGS",
        help=f"rnnlab's model settings as rnnlab train's flags, e.g. \"--residual --norm rms --mlp 2 --tie\" ({', '.join(STACK_FIELDS)})",
    )
    ap.add_argument("--no-char", action="store_true", help="skip the per-character design (the slowest)")
    ap.add_argument("--impl", default="auto", choices=["auto", "torch", "fused", "reference"], help="rnnlab's backend (default auto)")
    ap.add_argument("--no-onednn", action="store_true", help="run every contender with oneDNN turned off")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--out", type=Path, default=RESULTS / "lm_throughput.json")
    args = ap.parse_args(argv)
    device = torch.device(args.device)
    stack_text = " ".join(shlex.split(args.stack))
    stack = parse_stack(args.stack)
    sizes = [tuple(int(v) for v in size.split("x")) for size in ("1x32" if args.quick else args.sizes).split(",")]
    try:  # every model checked before anything runs (--mlp needs --residual, --tie an embedding as wide as --hidden ...)
        configs = [
            ModelConfig(cell=cell, layers=layers, hidden=hidden, embed=args.embed, impl=args.impl, **stack)
            for cell in args.cells
            for layers, hidden in sizes
        ]
    except UserError as e:
        ap.error(str(e))
    batch, seq = (4, 16) if args.quick else (args.batch, args.seq)
    text = default_corpus_path().read_text()[:400_000]
    corpus = corpus_from_text(text)
    vocab = len(corpus.vocab)
    peak = square_rate(device)
    print(f"square matmul rate: {peak / 1e9:.1f} GFLOP/s (1024^3 float32 torch.mm on {device})", flush=True)
    rows = []
    for model_config in configs:
        cell, layers, hidden = model_config.cell, model_config.layers, model_config.hidden

        def make_trainer(model_config=model_config):
            train = TrainConfig(batch_size=batch, seq_len=seq, seed=0, sample_chars=0, device=args.device)
            return Trainer(LMTask(corpus, model_config, train))

        trainer = make_trainer()
        ids = trainer.task.train_ids
        contenders = {"rnnlab": trainer.step}
        twin = cell_registry.get(cell).torch_twin
        same = set(stack) <= {"dropout"}  # the peers can run rnnlab's model: plain, with its dropout
        drop = stack.get("dropout", 0.0) if same else 0.0
        if twin:
            contenders["seq"] = peer_runner("seq", cell, layers, hidden, args.embed, batch, seq, ids, vocab, device, drop)
            if not args.no_char:
                contenders["char"] = peer_runner("char", cell, layers, hidden, args.embed, batch, seq, ids, vocab, device, drop)
        else:
            name, other = other_trainer(make_trainer, trainer_backend(trainer).endswith("/scan"))
            contenders[name] = other.step
        chars = batch * seq * args.steps

        def rate_of(step, chars=chars):
            def run():
                def go():
                    with torch.backends.mkldnn.flags(enabled=False) if args.no_onednn else contextlib.nullcontext():
                        for _ in range(args.steps):
                            step()
                    if device.type == "cuda":
                        torch.cuda.synchronize(device)

                return chars / timed(go)

            return run

        res = alternate({k: rate_of(v) for k, v in contenders.items()}, rounds=args.rounds)
        cps = {k: median(v) for k, v in res.items()}
        matmuls = step_matmuls(trainer.task.model_config, batch, seq)
        flops = flops_of(matmuls) / (batch * seq)
        shape_rate = flops_of(matmuls) / matmul_seconds(matmuls, device)
        row = {
            "cell": cell,
            "layers": layers,
            "hidden": hidden,
            "stack": stack_text,
            "peers": "plain" if twin and not same else "same",  # the peers' model: rnnlab's, or torch.nn's plain stack
            "backend": trainer_backend(trainer),
            "rnnlab_cps": round(cps["rnnlab"]),
            "flops_per_char": round(flops),
            "achieved_gflops": round(cps["rnnlab"] * flops / 1e9, 1),
            "shape_gflops": round(shape_rate / 1e9, 1),
            "utilisation": f"{cps['rnnlab'] * flops / peak:.0%}",
            "runs": res,
        }
        for peer, digits in (("seq", 3), ("char", 2), ("scan", 2), ("loop", 2)):
            if peer in cps:
                row.update({f"{peer}_cps": round(cps[peer]), f"vs_{peer}": round(cps["rnnlab"] / cps[peer], digits)})
        rows.append(row)
        print(
            f"{cell} {layers}x{hidden}{' ' + stack_text if stack_text else ''}: "
            + ", ".join(f"{k} {v:,.0f}" for k, v in cps.items())
            + f" char/s; utilisation {row['utilisation']}",
            flush=True,
        )
    print()
    columns = ["cell", "layers", "hidden", *(["stack", "peers"] if stack_text else []), "backend", "rnnlab_cps"]
    columns += [
        c for peer in ("seq", "char", "scan", "loop") if any(f"{peer}_cps" in r for r in rows) for c in (f"{peer}_cps", f"vs_{peer}")
    ]
    columns += ["flops_per_char", "achieved_gflops", "shape_gflops", "utilisation"]
    print(table(rows, columns))  # a row without a peer leaves its columns empty
    payload = {
        "benchmark": "lm_throughput",
        "device": device.type,
        "impl": args.impl,
        "onednn": not args.no_onednn,
        "batch": batch,
        "seq": seq,
        "embed": args.embed,
        "stack": stack_text,
        "steps": args.steps,
        "square_matmul_flops_per_s": peak,
        "rows": rows,
    }
    write_json(args.out, payload)
    return payload


if __name__ == "__main__":
    main()
