"""Forward+backward time of the reference ``rnnlab.nn.LSTM`` against ``torch.nn.LSTM`` on CPU.

Default workload: 2 layers, 256 hidden units, batch_first input of shape (B, T, E) =
(64, 128, 64), i.e. batch 64, 128 time steps, embedding dimension 64; loss = sum of outputs.
Both models hold the same weights. After warm-up the two contenders alternate within each
repeat (and swap who goes first every repeat) so that drift in machine load hits both alike.

    .venv/bin/python benchmarks/reference_speed.py [--repeats 5] [--seed 0] [--out PATH] [--quick]

Prints a table and writes JSON (default ``benchmarks/results/reference_speed.json``) with the
torch version, thread count, CPU name, every timing and the ratio reference / torch.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import torch

from rnnlab.nn import LSTM

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cpu_name

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "reference_speed.json"
FULL = {"batch": 64, "steps": 128, "embed": 64, "hidden": 256, "layers": 2}
QUICK = {"batch": 4, "steps": 6, "embed": 3, "hidden": 5, "layers": 2}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per contender (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs per contender first (default 1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON file to write")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke test")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.warmup < 0:
        parser.error("--repeats must be >= 1 and --warmup >= 0")
    return args


def forward_backward(model: torch.nn.Module, x: torch.Tensor) -> float:
    model.zero_grad(set_to_none=True)
    start = time.perf_counter()
    output, _ = model(x)
    output.sum().backward()
    return time.perf_counter() - start


def main(argv: Sequence[str] | None = None) -> dict:
    args = parse_args(argv)
    sizes = QUICK if args.quick else FULL
    torch.manual_seed(args.seed)
    baseline = torch.nn.LSTM(sizes["embed"], sizes["hidden"], sizes["layers"], batch_first=True)
    reference = LSTM(sizes["embed"], sizes["hidden"], sizes["layers"], batch_first=True)
    reference.load_state_dict(baseline.state_dict())
    x = torch.randn(sizes["batch"], sizes["steps"], sizes["embed"])  # (B, T, E)
    contenders = {"torch.nn.LSTM": baseline, "rnnlab.nn.LSTM": reference}

    for _ in range(args.warmup):
        for model in contenders.values():
            forward_backward(model, x)
    times: dict[str, list[float]] = {name: [] for name in contenders}
    order = list(contenders)
    for _ in range(args.repeats):
        for name in order:
            times[name].append(forward_backward(contenders[name], x))
        order.reverse()

    median = {name: statistics.median(t) for name, t in times.items()}
    best = {name: min(t) for name, t in times.items()}
    result = {
        "benchmark": "LSTM forward+backward, loss = output.sum()",
        "layout": "batch_first (B, T, E)",
        "sizes": sizes,
        "quick": args.quick,
        "repeats": args.repeats,
        "warmup": args.warmup,
        "seed": args.seed,
        "torch_version": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu": cpu_name(),
        "python": platform.python_version(),
        "command": " ".join(["benchmarks/reference_speed.py", *(argv if argv is not None else sys.argv[1:])]),
        "times_s": times,
        "median_s": median,
        "min_s": best,
        "ratio_median": median["rnnlab.nn.LSTM"] / median["torch.nn.LSTM"],
        "ratio_min": best["rnnlab.nn.LSTM"] / best["torch.nn.LSTM"],
    }

    print(f"LSTM fwd+bwd, {sizes}, batch_first, {result['threads']} threads, {result['cpu']}")
    print(f"{'contender':<16} {'median s':>10} {'min s':>10}  all runs (s)")
    for name in contenders:
        runs = " ".join(f"{t:.4f}" for t in times[name])
        print(f"{name:<16} {median[name]:>10.4f} {best[name]:>10.4f}  {runs}")
    print(f"ratio rnnlab/torch: median {result['ratio_median']:.3f}, min {result['ratio_min']:.3f}")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
