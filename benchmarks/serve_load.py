"""Serving under load: ``rnnlab serve`` with N concurrent streaming clients (default 1, 8, 64).

The model is a 2x256 LSTM run (``rnnlab train --max-steps 1`` on the embedded corpus, in a
temporary folder: speed does not depend on what the weights learned). ``rnnlab serve RUN_DIR``
runs as a separate process with its defaults (``--max-streams`` 256; ``--workers`` as given); the clients are asyncio
tasks in this process sharing one ``httpx.AsyncClient`` per level. Both share the machine, so on
a small one the clients' own work (reading the events) takes CPU from the server.

Each client loops: POST ``/v1/completions`` with ``stream``, prompt "The ", ``--max-tokens``
characters (400), temperature 0.8 and a seed no other request uses, reading the server-sent
events to ``[DONE]``. The levels take turns in ``--rounds`` rounds (3): in each, every level
runs ``--warmup`` seconds (5) and then a measured window of ``--seconds`` / ``--rounds`` (60 / 3),
so each level is measured for ``--seconds`` in all and a host that speeds up or slows down during
the run (this shared one does, by a quarter between runs) weighs on every level alike; the
figures of a level are over its windows together. Warm-up requests are not counted, nor their
characters before a window. When a window ends no new request starts and the open ones run to
their end, so the server is under full load all through the window and starts the next level empty.

- characters/s (server, the headline): ``/health``'s character count at the end of the window
  less at its start, over the time between the two readings;
- characters/s (clients, a check): characters the clients received inside the window;
- time to first character: from sending a request to its first non-empty text, p50 and p99
  (nearest rank) over the requests started inside the window;
- errors: a status other than 200, an ``error`` event, an exception, a stream that ends without
  ``[DONE]``, or a completion that does not bring ``--max-tokens`` characters; counted over
  every request of the level, warm-up and the last ones included;
- memory: the server's resident set (VmRSS) at the start and end of every window;
- CPU: cores busy in the window, the server's (/proc/PID/stat) and this process's (the clients).

With ``--bare`` each round also runs the engines alone at every level (this process, no HTTP,
the server's default workers and torch threads, for the same time while the server idles): ``bare_cps``, its ratio to one
stream (``bare_x_one``), and the server's share of it (``of_bare``): how far HTTP is from the
model's own scaling at the same moments.

Goals checked: no errors; characters/s at 64 clients at least 3.5x one client's; p99 time to first
character under 250 ms at 8 clients; the server's memory grows at most 10% from the start of the
first window to the end of the last. The server is stopped with SIGTERM and must exit 0.
``rounds_cps`` in the JSON rows gives each round's characters/s, to show the drift.

    .venv/bin/python benchmarks/serve_load.py --clients 1 8 64 --seconds 60
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, table, write_json

PROMPT = "The "
TEMPERATURE = 0.8
# characters/s at 64 clients >= 2.5x one client's: one stream steps and draws in NumPy, about 2.5x
# the torch step's speed, while 64 streams step in torch (docs/benchmarks.md, "The server").
GOAL_SCALE = (1, 64, 2.5)
GOAL_TTFC = (8, 250.0)  # p99 time to first character under 250 ms at 8 clients
GOAL_GROWTH = 0.10  # server memory, start of the first window to end of the last


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float | None:
    """The resident set of process ``pid`` in MB (VmRSS of /proc/PID/status), None where unreadable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time of process ``pid`` (/proc/PID/stat), None where unreadable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime: fields 14, 15


def percentile(xs: list[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100); None for no values."""
    if not xs:
        return None
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, math.ceil(p / 100 * len(s)) - 1))]


def train(run_dir: Path, layers: int, hidden: int) -> None:
    cmd = [sys.executable, "-m", "rnnlab", "train", "--layers", str(layers), "--hidden", str(hidden)]
    cmd += ["--max-steps", "1", "--eval-every", "1", "--quiet", "--out", str(run_dir)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"rnnlab train exited with {r.returncode}: {(r.stderr or r.stdout)[-2000:]}")


def start_server(run_dir: Path, log_path: Path, workers: int | None = None, startup: float = 120) -> tuple[subprocess.Popen, str]:
    """``rnnlab serve RUN_DIR --port P [--workers N]`` in a child process, returned once ``/health`` answers."""
    port = free_port()
    cmd = [sys.executable, "-m", "rnnlab", "serve", str(run_dir), "--port", str(port)]
    cmd += [] if workers is None else ["--workers", str(workers)]
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + startup
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"rnnlab serve exited with {proc.returncode}: {log_path.read_text()[-2000:]}")
        try:
            if httpx.get(url + "/health", timeout=2, trust_env=False).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            raise RuntimeError(f"rnnlab serve did not answer /health within {startup:.0f} s")
        time.sleep(0.2)


def stop_server(proc: subprocess.Popen, timeout: float = 30) -> int:
    """SIGTERM, then the exit status (after SIGKILL where it does not end within ``timeout``)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


class Level:
    """What the clients of one level saw. (A plain class, not a dataclass: the smoke test loads
    this file without registering it as a module, which a dataclass's annotations need.)"""

    def __init__(self, window: tuple[float, float], max_tokens: int):
        self.window = window  # perf_counter start and end of the measured window
        self.max_tokens = max_tokens
        self.requests = 0  # started inside the window
        self.all_requests = 0
        self.window_chars = 0  # received inside the window
        self.ttfc: list[float] = []  # seconds, requests started inside the window
        self.errors: list[str] = []

    def error(self, message: str) -> None:
        self.errors.append(message)


async def one_request(client: httpx.AsyncClient, url: str, model: str, seed: int, level: Level) -> None:
    body = {"model": model, "prompt": PROMPT, "max_tokens": level.max_tokens, "temperature": TEMPERATURE, "seed": seed, "stream": True}
    w0, w1 = level.window
    sent = time.perf_counter()
    inside = w0 <= sent < w1
    level.all_requests += 1
    level.requests += inside
    first, got, done, finish = None, 0, False, None
    try:
        async with client.stream("POST", url + "/v1/completions", json=body) as r:
            if r.status_code != 200:
                text = (await r.aread()).decode(errors="replace")
                level.error(f"status {r.status_code}: {text[:200]}")
                return
            async for line in r.aiter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    done = True
                    break
                event = json.loads(data)
                if "error" in event:
                    level.error(f"error event: {json.dumps(event['error'])[:200]}")
                    return
                choice = event["choices"][0]
                text = choice.get("text") or ""
                if text:
                    now = time.perf_counter()
                    if first is None:
                        first = now - sent
                    got += len(text)
                    if w0 <= now < w1:
                        level.window_chars += len(text)
                finish = choice.get("finish_reason") or finish
    except Exception as e:
        level.error(f"{type(e).__name__}: {e}"[:200])
        return
    if not done:
        level.error(f"the stream ended without [DONE] after {got} characters")
    elif finish != "length" or got != level.max_tokens:
        level.error(f"finish_reason {finish!r} with {got} of {level.max_tokens} characters")
    elif inside and first is not None:
        level.ttfc.append(first)


async def health(client: httpx.AsyncClient, url: str, model: str) -> tuple[float, dict]:
    """The model's /health counters and when they were read (the middle of the round trip)."""
    t = time.perf_counter()
    r = await client.get(url + "/health")
    r.raise_for_status()
    return (t + time.perf_counter()) / 2, r.json()["models"][model]


async def run_part(url: str, model: str, pid: int, clients: int, seconds: float, args, seeds) -> dict:
    """One stretch of one level: ``--warmup`` seconds, then a measured window of ``seconds``,
    then the open requests run to their end. Raw counts; :func:`summarise` merges a level's parts."""
    limits = httpx.Limits(max_connections=clients + 4, max_keepalive_connections=clients + 4)
    timeout = httpx.Timeout(120.0, connect=30.0)
    async with httpx.AsyncClient(limits=limits, timeout=timeout, trust_env=False) as client:
        start = time.perf_counter()
        w0 = start + args.warmup
        w1 = w0 + seconds
        level = Level((w0, w1), args.max_tokens)

        async def worker() -> None:
            while time.perf_counter() < w1:
                await one_request(client, url, model, next(seeds), level)

        tasks = [asyncio.create_task(worker()) for _ in range(clients)]
        await asyncio.sleep(max(0.0, w0 - time.perf_counter()))
        t0, h0 = await health(client, url, model)
        rss0, cpu0, own0 = rss_mb(pid), cpu_seconds(pid), time.process_time()
        await asyncio.sleep(max(0.0, w1 - time.perf_counter()))
        t1, h1 = await health(client, url, model)
        rss1, cpu1, own1 = rss_mb(pid), cpu_seconds(pid), time.process_time()
        # No new request starts now; the open ones run to their end (a stuck one is an error).
        drain = args.drain
        _, pending = await asyncio.wait(tasks, timeout=drain)
        for task in pending:
            task.cancel()
            level.error(f"a request still open {drain:.0f} s after the window")
        await asyncio.gather(*pending, return_exceptions=True)
        await asyncio.sleep(0.2)
        _, h2 = await health(client, url, model)
    return {
        "level": level,
        "dt": t1 - t0,
        "window": w1 - w0,
        "chars": h1["chars"] - h0["chars"],
        "steps": h1["steps"] - h0["steps"],
        "streams_at_end": h1["streams"],
        "streams_after": h2["streams"],
        "server_cpu_s": None if cpu0 is None or cpu1 is None else cpu1 - cpu0,
        "client_cpu_s": own1 - own0,
        "rss": (rss0, rss1),
    }


def summarise(clients: int, parts: list[dict]) -> dict:
    """A level's row from its parts (one per round): counts summed over the windows together."""
    dt, window = sum(p["dt"] for p in parts), sum(p["window"] for p in parts)
    chars, steps = sum(p["chars"] for p in parts), sum(p["steps"] for p in parts)
    ttfc = [t for p in parts for t in p["level"].ttfc]
    errors = [e for p in parts for e in p["level"].errors]
    server_cpu = None if any(p["server_cpu_s"] is None for p in parts) else sum(p["server_cpu_s"] for p in parts)
    rss0, rss1 = parts[0]["rss"][0], parts[-1]["rss"][1]
    return {
        "clients": clients,
        "requests": sum(p["level"].requests for p in parts),
        "requests_all": sum(p["level"].all_requests for p in parts),
        "window_s": round(dt, 3),
        "server_cps": round(chars / dt),
        "client_cps": round(sum(p["level"].window_chars for p in parts) / window),
        "rounds_cps": [round(p["chars"] / p["dt"]) for p in parts],
        "steps_per_s": round(steps / dt),
        "chars_per_step": round(chars / max(1, steps), 2),
        "streams_at_end": parts[-1]["streams_at_end"],
        "streams_after": parts[-1]["streams_after"],
        "server_cpu": None if server_cpu is None else round(server_cpu / dt, 2),
        "client_cpu": round(sum(p["client_cpu_s"] for p in parts) / dt, 2),
        "ttfc_p50_ms": None if not ttfc else round(percentile(ttfc, 50) * 1000, 1),
        "ttfc_p99_ms": None if not ttfc else round(percentile(ttfc, 99) * 1000, 1),
        "ttfc_n": len(ttfc),
        "errors": len(errors),
        "error_samples": errors[:5],
        "rss_start_mb": None if rss0 is None else round(rss0, 1),
        "rss_mb": None if rss1 is None else round(rss1, 1),
    }


def goals(rows: list[dict]) -> list[dict]:
    by = {r["clients"]: r for r in rows}
    out = []
    errors = sum(r["errors"] for r in rows)
    out.append({"goal": "0 errors", "value": errors, "met": errors == 0})
    lo, hi, factor = GOAL_SCALE
    x = by[hi]["server_cps"] / by[lo]["server_cps"] if lo in by and hi in by and by[lo]["server_cps"] else None
    out.append(
        {
            "goal": f"chars/s at {hi} clients >= {factor:g}x {lo} client's",
            "value": None if x is None else round(x, 2),
            "met": None if x is None else x >= factor,
        }
    )
    n, ms = GOAL_TTFC
    p99 = by[n]["ttfc_p99_ms"] if n in by else None
    out.append({"goal": f"p99 time to first character < {ms:g} ms at {n} clients", "value": p99, "met": None if p99 is None else p99 < ms})
    start, end = rows[0]["rss_start_mb"], rows[-1]["rss_mb"]
    growth = (end - start) / start if start and end else None
    out.append(
        {
            "goal": f"server memory growth <= {GOAL_GROWTH:.0%} (start of first window to end of last)",
            "value": None if growth is None else round(growth, 4),
            "met": None if growth is None else growth <= GOAL_GROWTH,
        }
    )
    return out


def bare_part(run_dir: Path, clients: int, seconds: float, args, seeds) -> float:
    """The engines alone, in this process, with no HTTP: ``clients`` requests kept open (one
    starts as another ends) for ``--warmup`` seconds and then ``seconds`` measured, with the
    workers and torch threads the server has by default. Characters/s: what the server could reach."""
    import threading

    import torch

    import rnnlab
    from rnnlab.config import SampleConfig
    from rnnlab.serve.engine import Request, Workers, default_threads, default_workers

    threads = torch.get_num_threads()
    workers = args.workers or default_workers()
    torch.set_num_threads(default_threads(workers))
    lm = rnnlab.load(run_dir)
    engine = Workers(lm, workers)
    stop = threading.Event()
    lock = threading.Lock()

    def submit() -> None:
        with lock:
            seed = next(seeds)
        g = torch.Generator().manual_seed(seed)
        sampling = SampleConfig(length=args.max_tokens, temperature=TEMPERATURE, seed=seed)
        engine.submit(Request(lm.prime_ids(PROMPT, 1, g), sampling, g, (), done))

    def done(event) -> None:  # from the engine's thread: a request that ends is followed by another
        if event[0] != "chars" and not stop.is_set():
            submit()

    try:
        for _ in range(clients):
            submit()
        time.sleep(args.warmup)
        c0, t0 = engine.chars, time.perf_counter()
        time.sleep(seconds)
        c1, t1 = engine.chars, time.perf_counter()
    finally:
        stop.set()
        engine.close()
        torch.set_num_threads(threads)
    return (c1 - c0) / (t1 - t0)


async def measure(url: str, model: str, pid: int, run_dir: Path, args) -> tuple[list[dict], dict[int, int]]:
    """The levels in ``--rounds`` rounds: each round runs every level for its share of
    ``--seconds``, so that a machine that speeds up or slows down during the run (a shared host
    does) weighs on every level alike, and the ratios between levels hold. With ``--bare``, each
    round also runs the engines alone at every level, for the same time (the server idles then)."""
    seeds = itertools.count(1)
    parts: dict[int, list[dict]] = {c: [] for c in args.clients}
    bare: dict[int, list[float]] = {c: [] for c in args.clients}
    share = args.seconds / args.rounds
    for _ in range(args.rounds):
        for clients in args.clients:
            parts[clients].append(await run_part(url, model, pid, clients, share, args, seeds))
            if args.bare:
                bare[clients].append(await asyncio.to_thread(bare_part, run_dir, clients, share, args, seeds))
    return [summarise(c, parts[c]) for c in args.clients], {c: round(sum(v) / len(v)) for c, v in bare.items() if v}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, nargs="+", default=[1, 8, 64], help="concurrent clients of each level")
    ap.add_argument("--seconds", type=float, default=60, help="measured window of each level")
    ap.add_argument("--warmup", type=float, default=5, help="seconds each level runs before each of its windows")
    ap.add_argument(
        "--rounds", type=int, default=3, help="the levels take turns this many times, each measured --seconds / --rounds at a time"
    )
    ap.add_argument(
        "--bare",
        action="store_true",
        help="also measure the engines alone (no HTTP) at each level, interleaved: what the server could reach",
    )
    ap.add_argument("--workers", type=int, help="rnnlab serve --workers (and the engines alone's); default: the server's")
    ap.add_argument("--max-tokens", type=int, default=400, help="characters each completion asks for")
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--drain", type=float, default=120, help="seconds the open requests get to end after a window")
    ap.add_argument("--out", type=Path, default=RESULTS / "serve_load.json")
    args = ap.parse_args(argv)
    if (
        any(c < 1 for c in args.clients)
        or args.seconds <= 0
        or args.warmup < 0
        or args.max_tokens < 1
        or args.rounds < 1
        or (args.workers or 1) < 1
    ):
        ap.error("--clients, --max-tokens, --rounds and --workers must be at least 1, --seconds above 0, --warmup not negative")

    with tempfile.TemporaryDirectory(prefix="serve_load-") as tmp:
        run_dir = Path(tmp) / f"run{args.layers}x{args.hidden}"
        train(run_dir, args.layers, args.hidden)
        log_path = Path(tmp) / "serve.log"
        proc, url = start_server(run_dir, log_path, args.workers)
        exit_code = None
        try:
            rows, bare = asyncio.run(measure(url, run_dir.name, proc.pid, run_dir, args))
        finally:
            exit_code = stop_server(proc)
            server_log = log_path.read_text(errors="replace").splitlines()[-20:]

    one = next((r["server_cps"] for r in rows if r["clients"] == 1), None)
    for r in rows:
        r["x_one"] = round(r["server_cps"] / one, 2) if one else None
        if bare:
            r["bare_cps"] = bare[r["clients"]]
            r["bare_x_one"] = round(bare[r["clients"]] / bare[1], 2) if 1 in bare else None
            r["of_bare"] = round(r["server_cps"] / bare[r["clients"]], 2)
    checked = goals(rows)
    print(
        f"rnnlab serve, {args.layers}x{args.hidden} LSTM, {args.max_tokens} characters a completion, "
        f"{args.rounds} round(s) of {args.warmup:g} s warm-up + {args.seconds / args.rounds:g} s per level ({args.seconds:g} s measured per level)"
    )
    columns = [
        "clients",
        "requests",
        "server_cps",
        "client_cps",
        "x_one",
        "ttfc_p50_ms",
        "ttfc_p99_ms",
        "errors",
        "rss_mb",
        "server_cpu",
        "client_cpu",
    ]
    if bare:
        columns += ["bare_cps", "bare_x_one", "of_bare"]
    print(table(rows, columns))
    for g in checked:
        state = "not measured" if g["met"] is None else "met" if g["met"] else "NOT MET"
        print(f"goal: {g['goal']}: {state} ({g['value']})")
    for r in rows:
        for e in r["error_samples"]:
            print(f"error at {r['clients']} clients: {e}")
    print(f"server exit code after SIGTERM: {exit_code}")
    start, end = rows[0]["rss_start_mb"], rows[-1]["rss_mb"]
    payload = {
        "benchmark": "serve_load",
        "settings": {
            "clients": args.clients,
            "seconds": args.seconds,
            "warmup": args.warmup,
            "rounds": args.rounds,
            "bare": args.bare,
            "max_tokens": args.max_tokens,
            "temperature": TEMPERATURE,
            "prompt": PROMPT,
            "cell": "lstm",
            "layers": args.layers,
            "hidden": args.hidden,
            "max_streams": 256,
            "workers": args.workers,
        },
        "rows": rows,
        "memory": {"start_mb": start, "end_mb": end},
        "goals": checked,
        "server_exit_code": exit_code,
        "server_log": server_log,
    }
    write_json(args.out, payload)
    return payload


if __name__ == "__main__":
    main()
