"""``rnnlab serve``: trained language models behind an OpenAI-compatible HTTP API, with a playground page.

Needs the optional extra ``rnnlab[serve]`` (Starlette, uvicorn). The server runs until SIGTERM or
Ctrl-C, then lets open streams finish for ``--shutdown-timeout`` seconds, cuts the rest, and
exits 0: a graceful stop is this command's normal end (the training commands exit 143 on SIGTERM
because there a stop interrupts the work).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from rnnlab import settings
from rnnlab.commands.flags import add_load_args, add_settings, parsed
from rnnlab.config import LoadConfig, ServeConfig
from rnnlab.errors import UserError

API_KEY_ENV = "RNNLAB_API_KEY"


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "serve",
        help="serve models over HTTP: OpenAI-compatible completions and a playground page",
        description="Serve language models (run folders, and the shipped base model) over HTTP: POST "
        "/v1/completions as OpenAI's API (streaming too), GET /v1/models, POST /v1/rnnlab/next and "
        "/v1/rnnlab/score, GET /health, and a playground page at /. Concurrent streams of one model "
        f"are stepped together. Needs Starlette and uvicorn, the 'serve' extra: pip install starlette 'uvicorn[standard]'. The key may also come from {API_KEY_ENV}.",
    )
    p.add_argument(
        "runs", nargs="*", metavar="RUN_DIR", help="run folders of rnnlab train or exports (--to hf); the base model is always served too"
    )
    add_settings(p, ServeConfig, "server", defaults=True)
    add_load_args(p)
    return p


def model_names(runs: list[str]) -> dict[str, str]:
    """A name per model: the folder's name, or the path as given where two folders share a name
    (or one is called base, the shipped model's name). The same folder twice is refused."""
    resolved = [Path(run).resolve() for run in runs]
    twice = next((run for i, run in enumerate(runs) if resolved[i] in resolved[:i]), None)
    if twice is not None:
        raise UserError(f"{twice} is given twice; give each run folder once")
    short = [Path(run).name or run for run in runs]
    return {name if short.count(name) == 1 and name != "base" else run: run for run, name in zip(runs, short)}


def _check_port(host: str, port: int) -> None:
    """A port that is taken is one line here, not uvicorn's log and exit status 1 later."""
    import socket

    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
    except OSError as e:
        raise UserError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None


def run(args) -> int:
    try:
        import uvicorn  # noqa: F401  (here for the one-line error; _listen uses it)

        from rnnlab.serve.app import Served
        from rnnlab.serve.engine import Workers, check_memory, default_threads, engines_per_model
    except ImportError as e:
        raise UserError(
            f"rnnlab serve needs Starlette and uvicorn, its 'serve' extra: pip install starlette 'uvicorn[standard]' ({e.name} is missing)"
        ) from None
    import time

    import torch

    from rnnlab.lm import load
    from rnnlab.runs import base_model_path

    cfg = parsed(args, ServeConfig)
    if cfg.api_key is None and os.environ.get(API_KEY_ENV):
        cfg = settings.replace(cfg, api_key=os.environ[API_KEY_ENV])
    _check_port(cfg.host, cfg.port)
    where = parsed(args, LoadConfig)
    named = model_names(args.runs)
    if base_model_path().is_file():
        named.setdefault("base", "base")
    if not named:
        raise UserError("nothing to serve: give a run folder (this rnnlab has no base model)")
    lms = {name: load(run, which=where.checkpoint, device=where.device) for name, run in named.items()}  # all checked before listening
    check_memory(list(lms.values()), cfg)  # before any engine starts
    threads = torch.get_num_threads()
    # Set before the engines' threads start (set after, one stream ran at half speed here);
    # restored at the end, for callers in-process.
    workers = engines_per_model(cfg)
    torch.set_num_threads(cfg.threads or default_threads(workers))
    models: dict[str, Served] = {}
    try:
        for name, lm in lms.items():
            models[name] = Served(lm, Workers(lm, workers, cfg.max_streams), int(time.time()))
        _listen(models, cfg)
    finally:
        for s in models.values():
            s.workers.close()
        torch.set_num_threads(threads)
    return 0


def _listen(models: dict, cfg: ServeConfig) -> None:
    """Serve ``models`` until SIGTERM or Ctrl-C (a graceful stop returns)."""
    import uvicorn  # both imported already by run(), which turns their absence into one line

    from rnnlab.serve.app import build_app

    if cfg.host not in ("127.0.0.1", "localhost", "::1") and not cfg.api_key:
        print(
            f"rnnlab serve: warning: listening on {cfg.host} with no authentication: anyone who can reach it may use it "
            f"(set --api-key or {API_KEY_ENV})",
            file=sys.stderr,
        )
    config = uvicorn.Config(
        build_app(models, cfg), host=cfg.host, port=cfg.port, log_level="warning", timeout_graceful_shutdown=cfg.shutdown_timeout
    )

    class Server(uvicorn.Server):
        async def startup(self, sockets=None):
            await super().startup(sockets)
            if self.started:  # listening: the port is the one bound, which --port 0 leaves to the system
                port = self.servers[0].sockets[0].getsockname()[1]
                host = f"[{cfg.host}]" if ":" in cfg.host else cfg.host
                print(f"rnnlab serve: {', '.join(models)} on http://{host}:{port}/ (Ctrl-C stops)", file=sys.stderr, flush=True)

        def handle_exit(self, sig, frame):
            super().handle_exit(sig, frame)
            # uvicorn raises the signal again once it has shut down, which would end the process
            # with 143 (130); here a graceful stop is the normal end.
            self._captured_signals.clear()

    Server(config).run()
