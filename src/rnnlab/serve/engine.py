"""Continuous batching: the open streams of one model advance in batched steps, one character each.

Each engine (a worker thread; a model has one or more, :class:`Workers`) owns a
:class:`~rnnlab.stepper.Stepper` whose rows are its open streams. Between steps, new requests join (their prompt read by one forward pass, exactly as
``rnnlab sample`` reads a prime) and finished or abandoned ones leave. A recurrent model makes
this simple: a stream's whole context is its state, a few rows of a tensor, so joining and
leaving are a concatenation and an index.

Each request draws from its own ``torch.Generator`` (through a :class:`~rnnlab.sampling.Draws`)
with its own temperature, top-k and top-p, through the one sampler
(:func:`rnnlab.sampling.advance`: a step, then :func:`~rnnlab.sampling.choose` for many requests
at once, or one stream's step and draw in NumPy) on its own rows: a seeded request gives the
text ``LanguageModel.sample`` gives with that seed, whatever else is being served (to float
rounding of the batched product; tested).

A model may have several engines (:class:`Workers`, ``rnnlab serve --workers``), each stepping
its own batch in its own thread: torch releases the GIL inside each product, so on a CPU two
engines' batches are multiplied on two cores at once, where one engine's batch of 64 streams is
bound to one core (its products are too small for torch's own threads to pay). A stream stays
with the engine it joined. The engines' torch threads: :func:`default_threads`, which
``rnnlab serve --threads`` overrides.

Written by hand rather than taken from a serving library: those (vLLM, TGI) batch transformer
key-value caches on GPUs; a recurrent stream needs none of that machinery.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from rnnlab import memory
from rnnlab.config import SampleConfig, ServeConfig
from rnnlab.lm import LanguageModel
from rnnlab.sampling import Draws, advance, read_prime
from rnnlab.stepper import Stepper

# Characters are handed to the event loop at most every FLUSH_S seconds per request, and less
# often the more streams are open (FLUSH_PER_STREAM_S each), so that the event loop hands out at
# most about 1 / FLUSH_PER_STREAM_S chunks a second: each chunk costs the loop (and the GIL it
# shares with the model) about as much as a step of the model does (benchmarks/serve_load.py).
FLUSH_S = 0.02
FLUSH_PER_STREAM_S = 0.002
# A new request goes to the first engine with fewer rows than this, else to the least loaded:
# a few streams cost the engine's fixed costs a step more than products, and those hold the
# GIL, so two small batches are slower than one; many are products, which a second core speeds
# (docs/serve.md: serve_load.py --workers 1 against 2, 64 clients: 16% more characters/s).
SPILL = 16
Event = tuple[str, Any]  # ("chars", [(row, text), ...]) | ("done", [finish reason per row]) | ("error", message)


@dataclass(eq=False)  # compared by identity: a request is one client's
class Request:
    """One completion request: ``n`` rows drawn together from one generator (as ``--num``)."""

    prompt_ids: torch.Tensor  # (n, P), P >= 1: the prime, as LanguageModel.prime_ids makes it
    sampling: SampleConfig  # its length: characters to generate per row at most
    generator: torch.Generator
    stops: tuple[str, ...]
    emit: Callable[[Event], None]  # called from the worker thread
    cancelled: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self):
        # Plain attributes, not properties: the engine reads them for every request at every step.
        self.n = n = self.prompt_ids.shape[0]
        self.draws = Draws(self.generator, n)  # as generate() draws for --num n rows
        self.texts, self.sent = [""] * n, [0] * n
        self.finish: list[str | None] = [None] * n
        self.steps = 0
        self.drawn: list[list[int]] = []  # ids drawn since the last flush, one list per step (no stop strings)
        self.done = False
        self.flushed = -1e9  # when characters were last emitted: the first ones go at once

    def _held(self, text: str) -> int:
        """How many characters at the end of ``text`` could begin a stop string: held back
        until it is known whether the stop completes (its characters are never sent)."""
        return max((k for s in self.stops for k in range(1, len(s)) if text.endswith(s[:k])), default=0)

    def _take(self, chars: list[str]) -> None:
        """One character per row, checked against the stop strings at once."""
        for row, c in enumerate(chars):
            if self.finish[row]:
                continue  # a finished row still steps with its group (the draws stay as --num's), unseen
            text = self.texts[row] + c
            stop = next((s for s in self.stops if text.endswith(s)), None)
            if stop is not None:
                text, self.finish[row] = text[: len(text) - len(stop)], "stop"
            self.texts[row] = text

    def advance(self, drawn: list[int], symbols: list[str], now: float, every: float = FLUSH_S) -> int:
        """Take one drawn id per row; emit what may be sent, at most ``every`` seconds (the
        first characters at once). Returns the characters emitted. Without stop strings the ids
        are only kept until a flush and decoded then: a step then costs each request a list
        append, which matters at many streams (the engine calls this for every request at every step)."""
        self.steps += 1
        if self.stops:
            self._take([symbols[i] for i in drawn])
        else:
            self.drawn.append(drawn)
        if self.steps >= self.sampling.length:  # every row has drawn self.steps characters: a stop ended some sooner
            self.finish = [f or "length" for f in self.finish]
        self.done = all(self.finish)
        if not self.done and now - self.flushed < every:
            return 0
        self.flushed = now
        if self.drawn:
            for row in range(self.n):
                self.texts[row] += "".join([symbols[step[row]] for step in self.drawn])
            self.drawn = []
        out = []
        for row, text in enumerate(self.texts):
            end = len(text) if self.finish[row] else len(text) - self._held(text)
            if end > self.sent[row]:
                out.append((row, text[self.sent[row] : end]))
                self.sent[row] = end
        if out:
            self.emit(("chars", out))
        if self.done:
            self.emit(("done", list(self.finish)))
        return sum(len(t) for _, t in out)


class Engine:
    """The worker of one model: ``submit`` requests from any thread; ``close`` stops it."""

    def __init__(self, lm: LanguageModel, max_streams: int = 256):
        self.lm, self.max_streams = lm, max_streams
        self.symbols = [lm.vocab.decode([i]) for i in range(len(lm.vocab))]
        self.pending: queue.SimpleQueue[Request] = queue.SimpleQueue()
        self.wake = threading.Event()
        self.stopping = False
        self.chars = 0  # characters sent, all streams together (read by /health)
        self.steps = 0
        self.streams = 0  # rows in the batch now
        self.load = 0  # rows submitted and not yet left (waiting or in the batch): what Workers balance
        self.load_lock = threading.Lock()  # submit runs on the event loop, leaving on this thread
        self.thread = threading.Thread(target=self._run, name="rnnlab-engine", daemon=True)
        self.thread.start()

    def submit(self, req: Request) -> None:
        if req.sampling.length == 0:
            req.emit(("done", ["length"] * req.n))
            return
        self._count(req.n)
        self.pending.put(req)
        self.wake.set()

    def close(self, timeout: float = 5.0) -> None:
        self.stopping = True
        self.wake.set()
        self.thread.join(timeout)

    def _count(self, rows: int) -> None:
        with self.load_lock:
            self.load += rows

    @torch.no_grad()
    def _run(self) -> None:
        model = self.lm.model
        stepper = Stepper(model, model.init_state(0, self.lm.device))
        ids = torch.empty(0, dtype=torch.long, device=self.lm.device)  # (B,): each row's last character
        active: list[Request] = []
        while not self.stopping:
            if not active and self.pending.empty():
                self.wake.wait(0.5)
                self.wake.clear()
                continue
            try:
                ids, active = self._admit(stepper, ids, active)
                self.streams = ids.numel()
                if not active:
                    continue
                ids = advance(stepper, ids, [(req.n, req.draws, req.sampling) for req in active], self.lm.vocab.unk)  # (B,)
                drawn, row, now = ids.tolist(), 0, time.monotonic()
                every = max(FLUSH_S, FLUSH_PER_STREAM_S * len(drawn))
                for req in active:
                    self.chars += req.advance(drawn[row : row + req.n], self.symbols, now, every)
                    row += req.n
                self.steps += 1
            except Exception as e:  # a failed step must not take the server down with it
                for req in active:
                    req.emit(("error", f"generation failed: {type(e).__name__}: {e}"))
                    self._count(-req.n)
                stepper, ids, active = Stepper(model, model.init_state(0, self.lm.device)), ids[:0], []
            self.streams = ids.numel()
        for req in active:
            req.emit(("error", "the server is shutting down"))

    def _admit(self, stepper: Stepper, ids: torch.Tensor, active: list[Request]) -> tuple[torch.Tensor, list[Request]]:
        """Between steps: drop finished and abandoned requests, then let waiting ones join."""
        keep = [r for r in active if not r.done and not r.cancelled.is_set()]
        if len(keep) != len(active):
            kept, rows, start = {id(r) for r in keep}, [], 0
            for r in active:
                if id(r) in kept:
                    rows.extend(range(start, start + r.n))
                else:
                    self._count(-r.n)
                start += r.n
            index = torch.tensor(rows, dtype=torch.long, device=ids.device)
            stepper.keep_rows(index)
            ids, active = ids.index_select(0, index), keep
        size, model = ids.numel(), self.lm.model
        while size < self.max_streams and not self.pending.empty():
            req = self.pending.get()
            if req.cancelled.is_set():
                self._count(-req.n)
                continue
            prime = req.prompt_ids  # (n, P)
            # As sampling.generate: the state after the prime but its last character (read a
            # chunk at a time), then the last character is the first step's input.
            stepper.add_rows(read_prime(model, prime))
            ids = torch.cat([ids, prime[:, -1]])
            active.append(req)
            size += req.n
        return ids, active


class Workers:
    """The engines of one model (``workers`` of them, at most one per stream of ``max_streams``,
    which they share): ``submit`` sends a request to the first engine with fewer than
    :data:`SPILL` rows, else to the least loaded, so a light load is one engine's batch and a
    heavy one is spread over all. ``chars``, ``steps`` and ``streams`` are the engines' together."""

    def __init__(self, lm: LanguageModel, workers: int = 1, max_streams: int = 256):
        k = self.count(workers, max_streams)
        self.engines = [Engine(lm, max_streams // k + (i < max_streams % k)) for i in range(k)]

    @staticmethod
    def count(workers: int, max_streams: int) -> int:
        """The engines made for ``workers`` and a cap of ``max_streams``: each gets one stream at least."""
        return max(1, min(workers, max_streams))

    def submit(self, req: Request) -> None:
        engine = next((e for e in self.engines if e.load < SPILL), None) or min(self.engines, key=lambda e: e.load)
        engine.submit(req)

    def close(self, timeout: float = 5.0) -> None:
        for e in self.engines:  # all told first, so that they stop together
            e.stopping = True
            e.wake.set()
        for e in self.engines:
            e.close(timeout)

    @property
    def chars(self) -> int:
        return sum(e.chars for e in self.engines)

    @property
    def steps(self) -> int:
        return sum(e.steps for e in self.engines)

    @property
    def streams(self) -> int:
        return sum(e.streams for e in self.engines)


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def default_workers() -> int:
    """Engines per model: one per core (a second one only takes streams under load, :data:`SPILL`)."""
    return _cores()


def default_threads(workers: int) -> int:
    """Torch threads for the engines' steps: the cores less one, shared by ``workers`` engines,
    at least 1. The engines and the event loop share the process; torch's threads gain little
    on a batch of streams (the products are small), and with one on every core the loop takes
    theirs mid-operation."""
    return max(1, (_cores() - 1) // workers)


def engines_per_model(cfg: ServeConfig) -> int:
    """The engines ``rnnlab serve`` makes for each model under ``cfg`` (``--workers``, else one per core)."""
    return Workers.count(cfg.workers or default_workers(), cfg.max_streams)


def check_memory(lms: list[LanguageModel], cfg: ServeConfig) -> None:
    """Refuse, before serving, caps (``--max-streams``, ``--max-n``, ``--max-tokens``,
    ``--max-prompt``) under which the models together could need more memory than there is
    (:func:`rnnlab.memory.serve_estimate`, the worst case of each model at once)."""
    if not lms:
        return
    caps = (cfg.max_streams, cfg.max_n, cfg.max_tokens, cfg.max_prompt)
    ests = [memory.serve_estimate(lm.model.cfg, *caps, workers=engines_per_model(cfg)) for lm in lms]
    total = memory.Estimate([p for e in ests for p in e.parts], ests[0].flags)
    memory.check(total, memory.device_limit(lms[0].device))
