"""Start-up: how long a user waits for each everyday command, as whole processes.

Measured in one run, alternating, ``--runs`` times each (median and max): a bare ``python -c
pass``, the baseline ``python -c "import torch"``, and ``rnnlab --help``, ``rnnlab train
--tiny`` (each into a new folder), ``rnnlab sample RUN --length 100`` and ``rnnlab serve RUN``
until ``GET /health`` answers. The goals are margins over the baselines, so that they hold on a
slow disk or CPU as on a fast one: ``--help`` within 0.3 s of ``python -c pass`` (it imports no
torch), ``train --tiny`` within 2.5 s of importing torch, ``sample`` within 1 s, ``serve`` within
2 s. One more untimed run of each under ``python -X importtime`` records whether it imported
torch and torch._dynamo (torch's compiler, a second of imports that none of these needs; torch's
optimizers import it at their first step, so ``train`` always does).

Commands run as ``python -m rnnlab`` with this interpreter, from a temporary folder. A timed run
needs the machine to itself: the load average before and after is in the JSON. ``--cold`` empties
the operating system's file cache before every run (Linux, as root), as on a machine that has
just started: every module is then read from disk.

    .venv/bin/python benchmarks/startup.py [--runs 5] [--cold] [--out benchmarks/results/startup.json]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, median, table, write_json

PY = sys.executable
# Each command's goal: (its baseline, the margin over it in seconds).
GOALS = {
    "--help": ("python -c pass", 0.3),
    "train --tiny": ("import torch", 2.5),
    "sample": ("import torch", 1.0),
    "serve": ("import torch", 2.0),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


DROP_CACHES = Path("/proc/sys/vm/drop_caches")


def drop_caches() -> None:
    """Empty the page cache (Linux, root): the next run reads every file from disk."""
    os.sync()
    DROP_CACHES.write_text("3\n")


def run_once(argv: list[str], cwd: Path, importtime: bool = False) -> tuple[float, str]:
    """Seconds from start to exit of ``python [-X importtime] argv``, and its standard error."""
    cmd = [PY, *(["-X", "importtime"] if importtime else []), *argv]
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"startup.py: {' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()[-400:]}")
    return seconds, done.stderr


def serve_once(run: Path, cwd: Path, importtime: bool = False) -> tuple[float, str]:
    """Seconds from starting ``rnnlab serve RUN`` until ``GET /health`` answers 200."""
    port = free_port()
    cmd = [PY, *(["-X", "importtime"] if importtime else []), "-m", "rnnlab", "serve", str(run), "--port", str(port)]
    log = cwd / "serve-stderr.txt"  # a file, not a pipe: importtime's lines would fill a pipe and stall the server
    start = time.perf_counter()
    with open(log, "w") as err:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err, text=True)
    try:
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"startup.py: rnnlab serve exited with {proc.returncode}: {log.read_text()[-400:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.01)
        seconds = time.perf_counter() - start
    finally:
        proc.terminate()
        proc.wait(60)
    return seconds, log.read_text()


def imported(stderr: str) -> dict[str, bool]:
    """From ``-X importtime``'s lines: whether torch and torch._dynamo were imported."""
    names = {line.rsplit("|", 1)[-1].strip() for line in stderr.splitlines() if line.startswith("import time:")}
    return {"torch": "torch" in names, "torch._dynamo": "torch._dynamo" in names}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1, help="rounds run first and not kept (they fill the disk cache)")
    ap.add_argument("--cold", action="store_true", help="empty the file cache before every run (Linux, root)")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    args.out = args.out or RESULTS / ("startup_cold.json" if args.cold else "startup.json")
    if args.cold:
        try:
            drop_caches()
        except OSError as e:
            raise SystemExit(f"startup.py: --cold needs to write {DROP_CACHES} (Linux, as root): {e.strerror}") from None

    with tempfile.TemporaryDirectory(prefix="rnnlab-startup-") as tmp:
        cwd = Path(tmp)
        run = cwd / "tiny"
        run_once(["-m", "rnnlab", "train", "--tiny", "--out", str(run), "--quiet"], cwd)  # the run sample and serve read
        counter = iter(range(10**6))
        commands = {
            "python -c pass": lambda it=False: run_once(["-c", "pass"], cwd, it),
            "import torch": lambda it=False: run_once(["-c", "import torch"], cwd, it),
            "--help": lambda it=False: run_once(["-m", "rnnlab", "--help"], cwd, it),
            "train --tiny": lambda it=False: run_once(
                ["-m", "rnnlab", "train", "--tiny", "--out", str(cwd / f"t{next(counter)}"), "--quiet"], cwd, it
            ),
            "sample": lambda it=False: run_once(["-m", "rnnlab", "sample", str(run), "--length", "100", "--seed", "0"], cwd, it),
            "serve": lambda it=False: serve_once(run, cwd, it),
        }
        load_before = os.getloadavg()
        times: dict[str, list[float]] = {name: [] for name in commands}
        names = list(commands)
        for r in range(args.warmup + args.runs):
            for name in names if r % 2 == 0 else reversed(names):
                if args.cold:
                    drop_caches()
                seconds, _ = commands[name]()
                if r >= args.warmup:
                    times[name].append(seconds)
        load_after = os.getloadavg()
        imports = {name: imported(commands[name](True)[1]) for name in commands}

    rows, results = [], {}
    for name, xs in times.items():
        entry = {
            "median_s": round(median(xs), 3),
            "max_s": round(max(xs), 3),
            "runs_s": [round(x, 3) for x in xs],
            "imports": imports[name],
        }
        if name in GOALS:
            base, margin = GOALS[name]
            over = median(xs) - median(times[base])
            entry.update(baseline=base, over_baseline_s=round(over, 3), goal_over_s=margin, met=over <= margin)
        results[name] = entry
        rows.append(
            {
                "command": name,
                "median s": f"{entry['median_s']:.2f}",
                "max s": f"{entry['max_s']:.2f}",
                "over baseline": f"+{entry['over_baseline_s']:.2f} s over {entry['baseline']}" if name in GOALS else "",
                "goal": f"+{GOALS[name][1]:g} s: {'met' if entry['met'] else 'MISSED'}" if name in GOALS else "",
                "imports torch / _dynamo": f"{'yes' if imports[name]['torch'] else 'no'} / {'yes' if imports[name]['torch._dynamo'] else 'no'}",
            }
        )
    print(table(rows, ["command", "median s", "max s", "over baseline", "goal", "imports torch / _dynamo"]))
    payload = {"runs": args.runs, "cold": args.cold, "load_before": load_before, "load_after": load_after, "results": results}
    write_json(args.out, payload)
    print(f"written: {args.out}")
    return payload


if __name__ == "__main__":
    main()
