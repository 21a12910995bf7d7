"""The checking process of ``rnnlab exercise check``, and the side that starts it and ends it.

``python -m rnnlab.exercise.child [--exercise NAME] [--time-limit S] FILE...`` checks each file in
turn (its exercise from ``--exercise`` or from its marker) and writes one JSON object per line on
its standard output: ``ready`` once torch is loaded, then for each file ``loaded``, ``check`` and
``passed`` as the checks go, and its ``result``. Whatever the student's code prints goes to
standard error. The tests check many files in one such process.

:func:`check_in_child` starts the process for one file, gives the file ``seconds`` from
``ready`` on, and ends the process when they are spent: a long call into C (``time.sleep``, a
huge product) stops too, and the result says how far the checks had come. It protects the
checker, not the machine: the code runs with the student's rights.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

from rnnlab.errors import UserError
from rnnlab.exercise.core import Failure, msg
from rnnlab.exercise.result import ERROR, FAIL, Result

STARTUP = 120.0  # seconds the process may take to load torch before the file's time starts
GRACE = 2.0  # after the limit, for the process to report a time-out it noticed itself


def check_in_child(path: Path, name: str, seconds: float) -> Result:
    """Check the file at ``path`` for exercise ``name`` in a separate process, within ``seconds``."""
    command = [sys.executable, "-P", "-m", "rnnlab.exercise.child", "--exercise", name, "--time-limit", repr(seconds), str(path)]
    proc = subprocess.Popen(
        command,
        cwd=path.parent,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
    )
    lines: queue.Queue[str | None] = queue.Queue()
    errors: collections.deque[str] = collections.deque(maxlen=5)

    def pump() -> None:
        for line in proc.stdout:  # type: ignore[union-attr]
            lines.put(line)
        lines.put(None)

    def drain() -> None:  # the student's prints: read, so that the process never blocks on a full pipe
        for line in proc.stderr:  # type: ignore[union-attr]
            if line.strip():
                errors.append(line.strip())

    for target in (pump, drain):
        threading.Thread(target=target, daemon=True).start()
    deadline, ready, loaded, current, passed = time.monotonic() + STARTUP, False, False, None, []
    result = None
    try:
        while result is None:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            event = json.loads(line)
            kind = event["event"]
            if kind == "ready":
                ready, deadline = True, time.monotonic() + seconds + GRACE
            elif kind == "loaded":
                loaded = True
            elif kind == "check":
                current = event["check"]
            elif kind == "passed":
                passed.append((event["check"], None))
            elif kind == "result":
                result = Result.from_json(event["result"])
    finally:
        if proc.poll() is None:
            proc.kill()
        code = proc.wait()
    if result is not None:
        return result
    timed_out = time.monotonic() >= deadline
    if not ready:
        why = f"it did not start within {STARTUP:g} s" if timed_out else f"it ended with status {code}: {errors[-1] if errors else ''}"
        raise UserError(f"cannot check {path.name}: the checking process failed ({why})")
    detail = f": {errors[-1]}" if errors else ""
    if not loaded:
        error = (
            msg("error.load_timeout", file=path.name, limit=seconds)
            if timed_out
            else msg("error.load_exit", file=path.name, code=code, detail=detail)
        )
        return Result(name, path.name, ERROR, error=error)
    what = msg("fail.timeout", limit=seconds) if timed_out else msg("fail.exit", code=code, detail=detail)
    return Result(name, path.name, FAIL, passed, Failure(current or "", [what]))


def main(argv: list[str] | None = None) -> int:
    # The protocol keeps the real standard output; the student's prints (Python's and C's) go to
    # standard error instead.
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)

    def send(event: str, **fields) -> None:
        protocol.write(json.dumps({"event": event, **fields}) + "\n")
        protocol.flush()

    parser = argparse.ArgumentParser(prog="python -m rnnlab.exercise.child")
    parser.add_argument("files", nargs="+")
    parser.add_argument("--exercise")
    parser.add_argument("--time-limit", type=float)
    args = parser.parse_args(argv)

    import torch

    from rnnlab.exercise import registry, run, template

    torch.set_num_threads(1)  # the checks' tensors are tiny
    seconds = run.DEFAULT_LIMIT if args.time_limit is None else args.time_limit
    if args.exercise:
        registry.get(args.exercise)  # loaded before the file's time starts
    send("ready")
    for file in args.files:
        path = Path(file)
        send("file", file=file)
        try:
            name = args.exercise or template.marked(path.read_text(encoding="utf-8", errors="replace"))
        except OSError:
            name = None
        if name not in registry.NAMES:
            result = Result(name or "", path.name, ERROR, error=msg("error.no_marker", file=path.name))
        else:
            result = run.check_file(path, name, seconds, on_event=send)
        send("result", file=file, result=result.to_json())
    return 0


if __name__ == "__main__":
    sys.exit(main())
