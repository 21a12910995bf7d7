#!/usr/bin/env bash
# The GPU check: the gpu-marked tests, then GPU benchmarks, in under five minutes on one H100.
#
#   bash benchmarks/gpu_check.sh            (PYTHON=... to use another interpreter)
#
# On a machine whose Python already has a CUDA build of torch (and pytest), without the venv:
#   PYTHON=python3 PYTHONPATH=src bash benchmarks/gpu_check.sh
#
# Steps, each logged to benchmarks/results/gpu/logs/<step>.log:
#   1. pytest -m gpu on tests/test_gpu.py and tests/test_precision.py, with RNNLAB_REQUIRE_GPU=1
#      so that a machine without a visible GPU fails instead of skipping everything;
#   2. benchmarks/lm_throughput.py and benchmarks/sample_speed.py with --device cuda;
#   3. a 20-second training run per precision (fp32, bf16, fp16) on the embedded corpus,
#      scored by `rnnlab eval` on the held-out tail of that corpus;
#   4. benchmarks/results/gpu/table.md, assembled from what steps 2 and 3 wrote.
# A failed step is logged and the others still run; the script exits 1 at the end if any failed.
# Each step has a time limit, so that one hung step cannot eat the whole machine's time.

set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=${PYTHON:-.venv/bin/python}
OUT=benchmarks/results/gpu
LOGS=$OUT/logs
rm -rf "$LOGS"  # only this run's logs, so that none of an earlier run's is taken for this one's
mkdir -p "$LOGS"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/rnnlab-gpu-check.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

FAILED=()
START=$SECONDS

# step NAME LIMIT_SECONDS COMMAND...: run it with its output on the terminal and in the log.
step() {
    local name=$1 limit=$2
    shift 2
    echo "== $name ($(( SECONDS - START ))s in)"
    local rc=0
    timeout --kill-after=10 "$limit" "$@" 2>&1 | tee "$LOGS/$name.log" || rc=$?
    if (( rc != 0 )); then
        if (( rc == 124 || rc == 137 )); then
            echo "!! $name: FAILED (over its ${limit}s limit; see $LOGS/$name.log)"
        else
            echo "!! $name: FAILED (exit $rc; see $LOGS/$name.log)"
        fi
        FAILED+=("$name")
        return 1
    fi
}

# ---------------------------------------------------------------------------------- 1. tests

step cuda-visible 60 "$PY" -c 'import sys, torch; print(torch.__version__, torch.version.cuda, torch.cuda.is_available() and torch.cuda.get_device_name(0)); sys.exit(0 if torch.cuda.is_available() else 1)' || true
step pytest-gpu 150 env RNNLAB_REQUIRE_GPU=1 "$PY" -m pytest -q -m gpu tests/test_gpu.py tests/test_precision.py || true

# ---------------------------------------------------------------------------------- 2. benchmarks

rm -f "$OUT/lm_throughput.json" "$OUT/sample_speed.json"  # a stale file must not pass for a new result
step lm_throughput 90 "$PY" benchmarks/lm_throughput.py --device cuda --sizes 2x256,3x512 --rounds 2 --out "$OUT/lm_throughput.json" || true
step sample_speed 45 "$PY" benchmarks/sample_speed.py --device cuda --out "$OUT/sample_speed.json" || true

# ---------------------------------------------------------------------------------- 3. training

# The held-out text of a default run: the tail that `rnnlab train` keeps for validation.
HELDOUT=$WORK/heldout.txt
step heldout-text 60 "$PY" - "$HELDOUT" <<'EOF' || true
import sys
from rnnlab.config import TrainConfig
from rnnlab.data import default_corpus_path, load_corpus
from rnnlab.training.lm_task import split_train_val

cfg = TrainConfig()
corpus = load_corpus([default_corpus_path()])
_, val = split_train_val(corpus.ids, cfg.val_fraction, cfg.seq_len)
with open(sys.argv[1], "w", encoding="utf-8") as f:
    f.write(corpus.vocab.decode(val.tolist()))
print(f"{val.numel():,} held-out characters")
EOF

for P in fp32 bf16 fp16; do
    RUN=$WORK/train-$P
    rm -f "$OUT/train_$P.metrics.csv" "$OUT/train_$P.eval.json" "$OUT/train_$P.progress.json"
    if step "train-$P" 90 "$PY" -m rnnlab train --device cuda --precision "$P" --max-time 20 --out "$RUN" \
        --hidden 512 --layers 2 --batch-size 128 --quiet; then
        cp "$RUN/metrics.csv" "$OUT/train_$P.metrics.csv"
        step "progress-$P" 30 "$PY" - "$RUN/last.pt" "$OUT/train_$P.progress.json" <<'EOF' || true
import json, sys
import torch

ckpt = torch.load(sys.argv[1], map_location="cpu", weights_only=True)
p = ckpt["progress"]
keep = {k: p[k] for k in ("step", "elapsed", "chars_seen", "best_val", "best_step")}
keep["batch_size"] = ckpt["train_config"]["batch_size"]
keep["backend"] = ckpt["backend"]
with open(sys.argv[2], "w") as f:
    json.dump(keep, f)
print(keep)
EOF
        # `rnnlab eval` prints its JSON on stdout; the log (stdout and stderr) is kept apart.
        if step "eval-$P" 60 "$PY" -m rnnlab eval "$RUN" "$HELDOUT" --device cuda --json; then
            grep '^{' "$LOGS/eval-$P.log" | tail -n 1 > "$OUT/train_$P.eval.json"
        fi
    fi
done

# ---------------------------------------------------------------------------------- 4. the table

GPU_NAME=""
if command -v nvidia-smi >/dev/null 2>&1; then
    GPU_NAME=$(nvidia-smi --query-gpu=name,memory.total --format=csv 2>/dev/null || true)
fi

step table 60 env GPU_NAME="$GPU_NAME" FAILED_STEPS="${FAILED[*]:-}" "$PY" - "$OUT" <<'EOF' || true
"""Assemble table.md from the JSON and CSV files of this check; a missing file is a line saying so."""
import csv
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, "benchmarks")
from _common import table  # noqa: E402

out = Path(sys.argv[1])
lines = ["# GPU check", "", f"Written {time.strftime('%Y-%m-%d %H:%M:%S')} by benchmarks/gpu_check.sh.", ""]
gpu = os.environ.get("GPU_NAME", "").strip()
if gpu:
    lines += ["```", gpu, "```", ""]
failed = os.environ.get("FAILED_STEPS", "").split()
if failed:
    lines += [f"Failed steps (before this table): {', '.join(failed)}; their logs are in logs/.", ""]


def load_json(path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


for name in ("lm_throughput", "sample_speed"):
    lines += [f"## {name}", ""]
    data = load_json(out / f"{name}.json")
    rows = data.get("rows") if isinstance(data, dict) else None
    if not rows:
        lines += [f"No result (see logs/{name}.log).", ""]
        continue
    machine = data.get("machine", {})
    if machine:
        lines += ["Machine: " + ", ".join(f"{k} {v}" for k, v in machine.items()), ""]
    # Every key of any row, in first-seen order; nested values (raw timings) are left out.
    columns = []
    for r in rows:
        columns += [k for k, v in r.items() if k not in columns and not isinstance(v, (dict, list))]
    lines += [table(rows, columns), ""]

lines += ["## Training, 20 s per precision", "",
          "`rnnlab train --device cuda --precision P --max-time 20 --hidden 512 --layers 2 --batch-size 128` on the "
          "embedded corpus. chars/s: median of metrics.csv's windows after the first (warm-up); validation bpc: best "
          "during training (autocast); held-out bpc: `rnnlab eval` of the best checkpoint on the held-out tail (fp32).", ""]
rows = []
for p in ("fp32", "bf16", "fp16"):
    row = {"precision": p}
    try:
        with open(out / f"train_{p}.metrics.csv", newline="") as f:
            metrics = list(csv.DictReader(f))
    except OSError:
        metrics = []
    rates = [float(r["chars_per_s"]) for r in metrics if r.get("chars_per_s")]
    steady = rates[1:] or rates
    train = [float(r["train_bpc"]) for r in metrics if r.get("train_bpc")]
    progress = load_json(out / f"train_{p}.progress.json") or {}
    evaluation = load_json(out / f"train_{p}.eval.json") or {}
    row["steps"] = progress.get("step", metrics[-1]["step"] if metrics else "-")
    row["chars/s"] = f"{statistics.median(steady):,.0f}" if steady else "-"
    row["train bpc (last)"] = f"{train[-1]:.3f}" if train else "-"
    row["validation bpc"] = f"{progress['best_val']:.3f}" if isinstance(progress.get("best_val"), (int, float)) else "-"
    row["held-out bpc"] = f"{evaluation['bpc']:.3f}" if isinstance(evaluation.get("bpc"), (int, float)) else "-"
    row["result"] = "ok" if metrics and evaluation else f"failed (logs/train-{p}.log, logs/eval-{p}.log)"
    rows.append(row)
lines += [table(rows, list(rows[0])), ""]
(out / "table.md").write_text("\n".join(lines))
print("\n".join(lines))
EOF

echo "== done in $(( SECONDS - START ))s"
if (( ${#FAILED[@]} )); then
    echo "failed steps: ${FAILED[*]}"
    exit 1
fi
echo "all steps passed; table: $OUT/table.md"
