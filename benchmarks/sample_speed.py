"""Sampling speed: characters per second of rnnlab's generator against the naive loop.

The naive loop is what most char-rnn ports do: one full ``model(...)`` call (``nn.LSTM`` with
sequence length 1) per character, then the same draw. rnnlab's generator builds a Stepper
(cell equations on pre-arranged weights) and yields decoded characters. Both run the same
2x256 LSTM (embedding 64) over a 96-symbol vocabulary with random weights (speed does not
depend on what the weights learned), alternating in one process, at batch 1 and batch 64.

At batch 1 a step reads every weight once and does little arithmetic with it, so the physical
limit is memory speed: bytes of weights read per character over the matrix-vector rate measured
in the same run (``torch.mv`` on a matrix of the same total size).

At batch 1 a third contender (``--gpt``, on by default): nanoGPT's character model at its
README's CPU size (``peers.GPTPeer``: 4 layers, 4 heads, width 128, block 64, random weights)
generating the way nanoGPT's ``generate`` does: for every new character the whole model runs
again on the last ``block_size`` characters (no key-value cache), the head on the last position
only, then softmax and ``torch.multinomial``; the characters are decoded as for the others.

At batch 1 on a CPU a fourth (``--onnx``, on by default): the same model exported as
``rnnlab export --to onnx`` writes it (one step, the state as inputs and outputs) and run by
ONNX Runtime with as many threads as torch has, the state fed back at every call, then a draw
from the softmax in NumPy and the same decode.

At batch 1 on a CPU, beside the limit, the rate of the NumPy step's own matrix-vector products
alone (``products``: the step's shapes, each a call, nothing else), which says how much of the gap
to the limit is the products' shapes and calls and how much the rest of the step and the draw;
and the same products in the other layout (``products_vw``: ``v @ W.T``), which says whether the
step's layout is the faster.

At batch 1 on a CPU a fifth (``plain``): what a user writes first, torch.nn's ``LSTMCell``,
``GRUCell`` or ``RNNCell`` per layer of the same sizes, a Linear, softmax and ``torch.multinomial``.
The memory-bound limit takes the faster matrix-vector product of ``torch.mv`` and NumPy's ``@``
(both rates are in the JSON; ``of_torch_limit`` is the share of ``torch.mv``'s alone).

The recurrent advantage in seconds (``--lengths``, default 1,000 and 10,000): rnnlab's generator
at batch 1 for the LSTM and the minGRU of the default size, each length timed in alternating
rounds; a model that re-read its past would take longer per character on the longer run.
``tests/test_generation_cost.py`` checks the same by counting work, which a busy machine cannot
disturb.

    .venv/bin/python benchmarks/sample_speed.py [--chars 2000] [--cell lstm] [--device cpu] [--no-gpt] [--no-onnx] [--lengths 1000 10000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, alternate, median, table, timed, write_json
from peers import GPTPeer

from rnnlab.cells import CELLS
from rnnlab.config import ModelConfig
from rnnlab.data import Vocab
from rnnlab.lm import LanguageModel
from rnnlab.model import CharRNN
from rnnlab.sampling import choose
from rnnlab.stepper import Stepper


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def naive_sampler(model: CharRNN, vocab: Vocab, device: torch.device):
    """One model call per character, then the same draw and decode as rnnlab's."""

    @torch.no_grad()
    def run(chars: int, batch: int) -> None:
        g = torch.Generator(device=device).manual_seed(0)
        ids = torch.full((batch,), vocab.stoi["a"], device=device)
        state = None
        for _ in range(chars):
            logits, _, state = model(ids[:, None], state=state)  # (B, 1, V)
            ids = choose(logits[:, 0], g)
            [vocab.decode([i]) for i in ids.tolist()]

    return run


def gpt_sampler(model: GPTPeer, vocab: Vocab, device: torch.device):
    """nanoGPT's generation: the model re-run on the last block_size characters for every new one."""

    @torch.no_grad()
    def run(chars: int, batch: int) -> None:
        g = torch.Generator(device=device).manual_seed(0)
        idx = torch.full((batch, 1), vocab.stoi["a"], device=device)  # (B, 1)
        for _ in range(chars):
            logits = model.head(model.hidden(idx[:, -model.block_size :])[:, -1])  # (B, V)
            nxt = torch.multinomial(torch.softmax(logits, dim=-1), 1, generator=g)  # (B, 1)
            idx = torch.cat([idx, nxt], dim=1)
            [vocab.decode([i]) for i in nxt[:, 0].tolist()]

    return run


def onnx_sampler(model: CharRNN, vocab: Vocab, folder: Path):
    """ONNX Runtime running the model's exported step at batch 1 on the CPU: the state fed back at
    every call, a draw from the softmax (NumPy), the same decode."""
    import numpy as np
    import onnxruntime

    from rnnlab.export.onnx import save_graph

    kinds = save_graph(model, folder / "model.onnx")
    opts = onnxruntime.SessionOptions()
    opts.intra_op_num_threads = torch.get_num_threads()  # the threads torch runs with: one race for both
    session = onnxruntime.InferenceSession(str(folder / "model.onnx"), opts, providers=["CPUExecutionProvider"])

    def run(chars: int, batch: int) -> None:
        rng = np.random.default_rng(0)
        feeds = {"ids": np.array([vocab.stoi["a"]]), **{k["name"]: np.zeros(k["shape"], np.float32) for k in kinds}}
        for _ in range(chars):
            logits, *state = session.run(None, feeds)
            cdf = np.cumsum(np.exp(logits[0] - logits[0].max()), dtype=np.float64)  # (V,)
            i = min(int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right")), len(cdf) - 1)
            vocab.decode([i])
            feeds = {"ids": np.array([i]), **{k["name"]: v for k, v in zip(kinds, state)}}

    return run


def weight_bytes_per_char(model: CharRNN) -> int:
    """Bytes a batch-1 step must read: every weight matrix but layer 0's input (a table lookup)."""
    skip = {"embed.weight", "rnn.weight_ih_l0"}
    return sum(p.numel() * p.element_size() for name, p in model.named_parameters() if name not in skip)


def matvec_rate(nbytes: int, device: torch.device, repeats: int = 2000, numpy: bool = False) -> float:
    """Bytes per second of ``torch.mv`` (``numpy``: NumPy's ``@``, on the CPU) over a float32 matrix of ``nbytes``."""
    cols = 256
    w = torch.randn(max(1, nbytes // 4 // cols), cols, device=device)
    v = torch.randn(cols, device=device)
    mv = (lambda a, b: a @ b) if numpy else torch.mv
    if numpy:
        w, v = w.numpy(), v.numpy()
    for _ in range(100):
        mv(w, v)
    sync(device)

    def go():
        for _ in range(repeats):
            mv(w, v)
        sync(device)

    return cols * (nbytes // 4 // cols) * 4 * repeats / min(timed(go) for _ in range(3))


def products_rate(model: CharRNN, repeats: int = 2000, transposed: bool = False) -> float | None:
    """Characters per second of a NumPy step's matrix-vector products alone, at the step's own
    shapes (``NumpyStep.products``, ``W @ v`` into a buffer as the step does; ``transposed``: the
    same products as ``v @ W.T``, the other layout): the rest of the step and the draw are the gap
    from it to rnnlab's rate. None where the model does not step in NumPy."""
    import numpy as np

    step = Stepper(model).numpy
    if step is None:
        return None
    mats = step.products()
    vecs = [np.ones(m.shape[1], np.float32) for m in mats]
    outs = [np.empty(m.shape[0], np.float32) for m in mats]
    if transposed:
        mats = [np.ascontiguousarray(m.T) for m in mats]

    def go():
        for _ in range(repeats):
            for m, v, o in zip(mats, vecs, outs):
                if transposed:
                    np.matmul(v, m, out=o)
                else:
                    m.dot(v, out=o)

    go()
    return repeats / min(timed(go) for _ in range(3))


def plain_sampler(model: CharRNN, vocab: Vocab):
    """What a user writes first: torch.nn's cells of the same sizes (Embedding, one ``LSTMCell``,
    ``GRUCell`` or ``RNNCell`` per layer, Linear), then softmax and ``torch.multinomial``, one
    character at a time, the same decode."""
    cfg = model.cfg
    cell = {"lstm": torch.nn.LSTMCell, "gru": torch.nn.GRUCell, "rnn": torch.nn.RNNCell}[cfg.cell]
    emb = torch.nn.Embedding(len(vocab), cfg.input_size)
    layers = [cell(cfg.input_size if i == 0 else cfg.hidden, cfg.hidden) for i in range(cfg.layers)]
    head = torch.nn.Linear(cfg.hidden, len(vocab))

    @torch.no_grad()
    def run(chars: int, batch: int) -> None:
        g = torch.Generator().manual_seed(0)
        ids = torch.full((batch,), vocab.stoi["a"])
        states = [None] * len(layers)
        for _ in range(chars):
            x = emb(ids)
            for i, layer in enumerate(layers):
                states[i] = layer(x, states[i])
                x = states[i][0] if cfg.cell == "lstm" else states[i]
            ids = torch.multinomial(torch.softmax(head(x), dim=-1), 1, generator=g)[:, 0]
            [vocab.decode([i]) for i in ids.tolist()]

    return run


def length_rows(cells, lengths, rounds: int, device: torch.device, vocab: Vocab, **size) -> list[dict]:
    """Microseconds per character of batch-1 generation at each length, per cell, alternating."""
    rows = []
    for cell in cells:
        torch.manual_seed(0)
        model = CharRNN(ModelConfig(vocab_size=len(vocab), cell=cell, **size)).to(device).eval()
        lm = LanguageModel(model, vocab, device)

        def per_char(n, lm=lm):
            return lambda: timed(lambda: (list(lm.iter_sample(n, prime="a", seed=0)), sync(device))) / n * 1e6

        res = alternate({str(n): per_char(n) for n in lengths}, rounds=rounds)
        us = {n: median(res[str(n)]) for n in lengths}
        rows.append(
            {
                "cell": cell,
                **{f"us_per_char_{n}": round(us[n], 1) for n in lengths},
                "longest_vs_shortest": round(us[max(lengths)] / us[min(lengths)], 3),
                "runs": res,
            }
        )
    return rows


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--chars", type=int, default=2000)
    ap.add_argument("--cell", default="lstm", choices=CELLS)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--gpt", action=argparse.BooleanOptionalAction, default=True, help="nanoGPT's character model at batch 1 (default: on)")
    ap.add_argument("--onnx", action=argparse.BooleanOptionalAction, default=True, help="ONNX Runtime at batch 1 on a CPU (default: on)")
    ap.add_argument("--lengths", type=int, nargs="*", default=[1_000, 10_000], help="batch-1 lengths to time per character (none: skip)")
    ap.add_argument("--length-cells", nargs="+", default=["lstm", "mingru"], choices=CELLS)
    ap.add_argument("--out", type=Path, default=RESULTS / "sample_speed.json")
    args = ap.parse_args(argv)
    device = torch.device(args.device)
    torch.manual_seed(0)
    vocab = Vocab((*(chr(32 + i) for i in range(95)), "\n"))
    model = CharRNN(ModelConfig(vocab_size=len(vocab), cell=args.cell, layers=args.layers, hidden=args.hidden)).to(device).eval()
    lm = LanguageModel(model, vocab, device)
    naive = naive_sampler(model, vocab, device)
    gpt_model = GPTPeer(len(vocab)).to(device).eval()
    gpt = gpt_sampler(gpt_model, vocab, device) if args.gpt else None
    ort, ort_about = None, None
    if args.onnx and device.type == "cpu":
        import onnxruntime

        with tempfile.TemporaryDirectory() as folder:  # the session holds the graph once it is made
            ort = onnx_sampler(model, vocab, Path(folder))
        ort_about = {"version": onnxruntime.__version__, "threads": torch.get_num_threads()}
    plain = plain_sampler(model, vocab) if device.type == "cpu" and args.cell in ("lstm", "gru", "rnn") else None
    nbytes = weight_bytes_per_char(model)
    rates = {"torch": matvec_rate(nbytes, device)}
    if device.type == "cpu":  # the faster matrix-vector product of the two is the machine's
        rates["numpy"] = matvec_rate(nbytes, device, numpy=True)
    rate = max(rates.values())
    limit = rate / nbytes
    products = products_rate(model) if device.type == "cpu" else None
    products_vw = products_rate(model, transposed=True) if products is not None else None
    rows = []
    for batch in (1, 64):

        def run_rnnlab(batch=batch):
            n = args.chars * batch
            sec = timed(lambda: (list(lm.iter_sample(args.chars, prime="a", seed=0, num=batch)), sync(device)))
            return n / sec

        def run_naive(batch=batch):
            return args.chars * batch / timed(lambda: (naive(args.chars, batch), sync(device)))

        def run_gpt(batch=batch):
            return args.chars * batch / timed(lambda: (gpt(args.chars, batch), sync(device)))

        def run_ort(batch=batch):
            return args.chars / timed(lambda: ort(args.chars, batch))

        def run_plain(batch=batch):
            return args.chars * batch / timed(lambda: plain(args.chars, batch))

        contenders = {"rnnlab": run_rnnlab, "naive": run_naive}
        if gpt is not None and batch == 1:
            contenders["gpt"] = run_gpt
        if ort is not None and batch == 1:
            contenders["onnxruntime"] = run_ort
        if plain is not None and batch == 1:
            contenders["plain"] = run_plain
        res = alternate(contenders, rounds=args.rounds)
        r, n = median(res["rnnlab"]), median(res["naive"])
        row = {
            "device": device.type,
            "cell": args.cell,
            "layers": args.layers,
            "hidden": args.hidden,
            "batch": batch,
            "rnnlab_cps": round(r),
            "naive_cps": round(n),
            "speedup": round(r / n, 2),
            "runs": res,
        }
        if "gpt" in res:
            row["gpt_cps"] = round(median(res["gpt"]))
            row["vs_gpt"] = round(r / median(res["gpt"]), 1)
        if "onnxruntime" in res:
            row["ort_cps"] = round(median(res["onnxruntime"]))
            row["vs_ort"] = round(r / median(res["onnxruntime"]), 2)
        if "plain" in res:
            row["plain_cps"] = round(median(res["plain"]))
            row["vs_plain"] = round(r / median(res["plain"]), 2)
        if batch == 1:
            row["limit_cps"] = round(limit)
            row["of_limit"] = f"{r / limit:.0%}"
            row["torch_limit_cps"] = round(rates["torch"] / nbytes)
            row["of_torch_limit"] = f"{r / (rates['torch'] / nbytes):.0%}"
            if products is not None:
                row["products_cps"] = round(products)
                row["of_products"] = f"{r / products:.0%}"
                row["products_vw_cps"] = round(products_vw)
        rows.append(row)
    print(
        f"weights read per character at batch 1: {nbytes / 1e6:.2f} MB; matrix-vector rate "
        + ", ".join(f"{k} {v / 1e9:.1f} GB/s" for k, v in rates.items())
        + f" -> memory-bound limit {limit:,.0f} chars/s (the faster)"
    )
    cols = ["device", "cell", "layers", "hidden", "batch", "rnnlab_cps", "naive_cps", "speedup", "limit_cps", "of_limit", "of_torch_limit"]
    cols += ["plain_cps", "vs_plain"] if plain is not None else []
    cols += ["products_cps", "of_products", "products_vw_cps"] if products is not None else []
    print(table(rows, cols + (["gpt_cps", "vs_gpt"] if args.gpt else []) + (["ort_cps", "vs_ort"] if ort is not None else [])))
    by_length = []
    if args.lengths:
        by_length = length_rows(args.length_cells, args.lengths, args.rounds, device, vocab, layers=args.layers, hidden=args.hidden)
        print(f"batch-1 microseconds per character by length (median of {args.rounds} alternating rounds):")
        print(table(by_length, ["cell", *(f"us_per_char_{n}" for n in args.lengths), "longest_vs_shortest"]))
    payload = {
        "benchmark": "sample_speed",
        "chars": args.chars,
        "weight_bytes_per_char": nbytes,
        "matvec_bytes_per_s": rate,
        "matvec_bytes_per_s_by": rates,
        "limit_cps_batch1": limit,
        "gpt": {
            "layers": len(gpt_model.blocks),
            "heads": gpt_model.blocks[0].attn.heads,
            "width": gpt_model.tok.weight.shape[1],
            "block_size": gpt_model.block_size,
            "parameters": sum(p.numel() for p in gpt_model.parameters()),
            "kv_cache": False,
        }
        if args.gpt
        else None,
        "onnxruntime": ort_about,
        "rows": rows,
        "by_length": by_length,
    }
    write_json(args.out, payload)
    return payload


if __name__ == "__main__":
    main()
