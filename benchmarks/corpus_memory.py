"""Peak memory and preprocessing speed of training on a 100 MB corpus.

Writes a ~100 MB UTF-8 file (the embedded corpus repeated, with a line of CJK text every so
often so the vocabulary needs wide ids), then measures, each in a fresh process:
- ``runtime``: the same preprocessing of a one-line file: the resident memory of Python, torch
  and rnnlab themselves, which no corpus size changes;
- ``preprocess``: ``rnnlab.data.load_corpus`` alone: MB/s and peak resident memory;
- ``train``: ``rnnlab train FILE --max-steps 20`` end to end: peak resident memory.
Each peak is also given net of the runtime's, over the corpus size: what the corpus costs.

    .venv/bin/python benchmarks/corpus_memory.py [--mb 100]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, table, write_json

from rnnlab.data import default_corpus_path

PREPROCESS = r"""
import sys, time, resource
from rnnlab.data import load_corpus
t = time.perf_counter()
c = load_corpus([sys.argv[1]])
dt = time.perf_counter() - t
print(dt, len(c), len(c.vocab), c.ids.dtype, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def child_peak_mb(cmd: list[str]) -> tuple[float, str]:
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mb", type=float, default=100.0)
    ap.add_argument("--out", type=Path, default=RESULTS / "corpus_memory.json")
    args = ap.parse_args(argv)
    base = default_corpus_path().read_text() + "\n天地玄黄，宇宙洪荒。日月盈昃，辰宿列张。\n"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.txt"
        target = int(args.mb * 1e6)
        with open(path, "w", encoding="utf-8") as f:
            written = 0
            while written < target:
                f.write(base)
                written += len(base.encode())
        size = path.stat().st_size
        small = Path(tmp) / "small.txt"
        small.write_text(base.splitlines()[0] + "\n", encoding="utf-8")
        # Children's peak is the maximum over all children so far: measure the smaller jobs first.
        peak_runtime, _ = child_peak_mb([sys.executable, "-c", PREPROCESS, str(small)])
        peak_pre, out = child_peak_mb([sys.executable, "-c", PREPROCESS, str(path)])
        secs, chars, vocab, dtype, _ = out.split()
        t = time.perf_counter()
        peak_train, _ = child_peak_mb(
            [
                sys.executable,
                "-m",
                "rnnlab",
                "train",
                str(path),
                "--out",
                str(Path(tmp) / "run"),
                "--max-steps",
                "20",
                "--eval-every",
                "10",
                "--quiet",
            ]
        )
        train_s = time.perf_counter() - t

    def net(peak):
        return round(max(0.0, peak - peak_runtime) * 2**20 / size, 2)

    rows = [
        {"job": "runtime (one-line corpus)", "peak_rss_mb": round(peak_runtime)},
        {
            "job": "preprocess",
            "corpus_mb": round(size / 1e6, 1),
            "chars": int(chars),
            "vocab": int(vocab),
            "ids": dtype,
            "seconds": round(float(secs), 2),
            "mb_per_s": round(size / 1e6 / float(secs), 1),
            "peak_rss_mb": round(peak_pre),
            "peak_over_corpus": round(peak_pre * 2**20 / size, 2),
            "net_over_corpus": net(peak_pre),
        },
        {
            "job": "train 20 steps",
            "corpus_mb": round(size / 1e6, 1),
            "seconds": round(train_s, 1),
            "peak_rss_mb": round(peak_train),
            "peak_over_corpus": round(peak_train * 2**20 / size, 2),
            "net_over_corpus": net(peak_train),
        },
    ]
    print(
        table(
            rows, ["job", "corpus_mb", "chars", "vocab", "ids", "seconds", "mb_per_s", "peak_rss_mb", "peak_over_corpus", "net_over_corpus"]
        )
    )
    payload = {"benchmark": "corpus_memory", "rows": rows}
    write_json(args.out, payload)
    return payload


if __name__ == "__main__":
    main()
