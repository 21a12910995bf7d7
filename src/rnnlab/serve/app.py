"""The HTTP application of ``rnnlab serve`` (Starlette): OpenAI-compatible completions, rnnlab's
extras, the playground page, health, and an optional API key.

Routes: ``GET /`` (the playground, :mod:`rnnlab.serve` ``page.html``), ``GET /health`` (open;
with ``--api-key``, its details need the key), ``GET
/v1/models``, ``POST /v1/completions`` (JSON, or server-sent events with ``stream``), ``POST
/v1/rnnlab/next`` (the likeliest next characters after a prompt, optionally each continued to
the end of its word) and ``POST /v1/rnnlab/score`` (bits/char of a text). Generation runs in one
:class:`~rnnlab.serve.engine.Workers` (engines) per model; the other work runs in worker threads, so the
event loop only moves bytes. Every refusal is a 4xx with OpenAI's error shape.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from importlib import resources

import torch
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from rnnlab.config import ServeConfig
from rnnlab.lm import LanguageModel
from rnnlab.sampling import ban, filter_of, probabilities, read_prime, seeded
from rnnlab.serve import requests
from rnnlab.serve.engine import Request as Job
from rnnlab.serve.engine import Workers, check_memory
from rnnlab.serve.requests import RequestError
from rnnlab.stepper import Stepper

WORD_STEPS = 24  # /v1/rnnlab/next with words: a suggestion is continued by at most this many characters


@dataclass
class Served:
    """One model the server offers: its language model, its engines, when it was loaded."""

    lm: LanguageModel
    workers: Workers
    created: int


def _unknown(lm: LanguageModel, text: str, field: str) -> None:
    unknown = lm.vocab.unknown_chars(text)
    if unknown and lm.vocab.unk is None:
        shown = ", ".join(repr(c) for c in unknown[:10]) + (" ..." if len(unknown) > 10 else "")
        raise RequestError(f"{field} has characters this model has never seen: {shown}", param=field)


class Mailbox:
    """Events from the engines' threads to the event loop's queues, with one wake-up of the loop
    for all the events of a step (one per event costs the loop more than the model at 64 streams)."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop, self.items, self.scheduled, self.lock = loop, [], False, threading.Lock()

    def put(self, events: asyncio.Queue, event) -> bool:
        """Called from an engine's thread; False when the loop is gone (shutdown)."""
        with self.lock:
            self.items.append((events, event))
            if self.scheduled:
                return True
            self.scheduled = True
        try:
            self.loop.call_soon_threadsafe(self._deliver)
        except RuntimeError:
            return False
        return True

    def _deliver(self) -> None:
        with self.lock:
            items, self.items, self.scheduled = self.items, [], False
        for events, event in items:
            events.put_nowait(event)


def _submit(served: Served, c: requests.Completion, mailbox: Mailbox) -> tuple[Job, asyncio.Queue]:
    lm = served.lm
    _unknown(lm, c.prompt, "prompt")
    g = seeded(c.sampling, lm.device)
    events: asyncio.Queue = asyncio.Queue()

    def emit(event):  # from the engine's thread
        if not mailbox.put(events, event):  # nobody is listening any more
            job.cancelled.set()

    job = Job(lm.prime_ids(c.prompt, c.n, g), c.sampling, g, c.stops, emit)
    served.workers.submit(job)
    return job, events


def _choice(index: int, text: str, finish: str | None) -> dict:
    return {"text": text, "index": index, "logprobs": None, "finish_reason": finish}


async def _drain(events: asyncio.Queue) -> list:
    """The next event and every other one already waiting: one chunk may carry several characters."""
    batch = [await events.get()]
    while not events.empty():
        batch.append(events.get_nowait())
    return batch


async def _stream(job: Job, events: asyncio.Queue, head: dict) -> AsyncIterator[str]:
    def sse(choices: list[dict]) -> str:
        return f"data: {json.dumps({**head, 'choices': choices})}\n\n"

    try:
        while True:
            texts: dict[int, str] = {}
            for kind, payload in await _drain(events):
                if kind == "chars":
                    for row, text in payload:
                        texts[row] = texts.get(row, "") + text
                elif kind == "error":
                    yield f"data: {json.dumps({'error': {'message': payload, 'type': 'server_error', 'param': None, 'code': None}})}\n\n"
                    return
                else:
                    for row in sorted(texts):
                        yield sse([_choice(row, texts.pop(row), None)])
                    yield sse([_choice(row, "", reason) for row, reason in enumerate(payload)])
                    yield "data: [DONE]\n\n"
                    return
            for row in sorted(texts):
                yield sse([_choice(row, texts[row], None)])
    finally:
        job.cancelled.set()  # a client that went away: its rows leave the batch at the next step


def build_app(models: dict[str, Served], cfg: ServeConfig) -> Starlette:
    """The application for ``models`` (name -> :class:`Served`), with ``cfg``'s limits and key;
    caps that could take more memory than there is are refused here (:func:`check_memory`)."""
    check_memory([s.lm for s in models.values()], cfg)

    async def page(request: Request) -> HTMLResponse:
        return HTMLResponse(resources.files("rnnlab.serve").joinpath("page.html").read_text(encoding="utf-8"))

    async def health(request: Request) -> JSONResponse:
        # Open to probes that carry no key (load balancers, containers); what is served, and how
        # much, only to a caller that may use the models.
        if not request.scope.get(AUTHORIZED, True):
            return JSONResponse({"status": "ok"})
        return JSONResponse(
            {
                "status": "ok",
                "threads": torch.get_num_threads(),  # the engines' share of the CPU (--threads)
                "models": {
                    name: {
                        "workers": len(s.workers.engines),
                        "streams": s.workers.streams,
                        "chars": s.workers.chars,
                        "steps": s.workers.steps,
                    }
                    for name, s in models.items()
                },
            }
        )

    async def list_models(request: Request) -> JSONResponse:
        data = [{"id": name, "object": "model", "created": s.created, "owned_by": "rnnlab"} for name, s in models.items()]
        return JSONResponse({"object": "list", "data": data})

    mailboxes: dict[asyncio.AbstractEventLoop, Mailbox] = {}

    async def completions(request: Request):
        c = requests.completion(requests.parse_json(await request.body()), models, cfg)
        loop = asyncio.get_running_loop()
        mailbox = mailboxes.get(loop) or mailboxes.setdefault(loop, Mailbox(loop))
        job, events = _submit(models[c.model], c, mailbox)
        head = {"id": f"cmpl-{uuid.uuid4().hex}", "object": "text_completion", "created": int(time.time()), "model": c.model}
        if c.stream:
            return StreamingResponse(_stream(job, events, head), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
        texts, finish = [""] * c.n, None
        try:
            while finish is None:
                kind, payload = await events.get()
                if kind == "chars":
                    for row, text in payload:
                        texts[row] += text
                elif kind == "error":
                    return JSONResponse({"error": {"message": payload, "type": "server_error", "param": None, "code": None}}, 503)
                else:
                    finish = payload
        finally:
            job.cancelled.set()
        used = sum(len(t) for t in texts)
        usage = {"prompt_tokens": len(c.prompt), "completion_tokens": used, "total_tokens": len(c.prompt) + used}
        return JSONResponse({**head, "choices": [_choice(i, t, f) for i, (t, f) in enumerate(zip(texts, finish))], "usage": usage})

    async def next_chars(request: Request) -> JSONResponse:
        r = requests.next_chars(requests.parse_json(await request.body()), models, cfg)
        lm = models[r.model].lm
        _unknown(lm, r.prompt, "prompt")
        candidates = await asyncio.to_thread(_next, lm, r)
        return JSONResponse({"model": r.model, "candidates": candidates})

    async def score(request: Request) -> JSONResponse:
        name, text = requests.score(requests.parse_json(await request.body()), models, cfg)
        result = await asyncio.to_thread(models[name].lm.evaluate, text)
        if not result["chars"]:
            raise RequestError("no character of text is in this model's vocabulary: there is nothing to score", param="text")
        keys = ("bpc", "nats", "chars", "unknown")
        return JSONResponse({"model": name, **{k: result[k] for k in keys}})

    async def refused(request: Request, exc: RequestError) -> JSONResponse:
        return JSONResponse(exc.body(), exc.status)

    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse(RequestError(exc.detail, exc.status_code).body(), exc.status_code)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        for s in models.values():
            s.workers.close()

    routes = [
        Route("/", page),
        Route("/health", health),
        Route("/v1/models", list_models),
        Route("/v1/completions", completions, methods=["POST"]),
        Route("/v1/rnnlab/next", next_chars, methods=["POST"]),
        Route("/v1/rnnlab/score", score, methods=["POST"]),
    ]
    app = Starlette(routes=routes, exception_handlers={RequestError: refused, HTTPException: http_error}, lifespan=lifespan)
    return KeyCheck(app, cfg.api_key) if cfg.api_key else app


AUTHORIZED = "rnnlab.authorized"  # set in the ASGI scope by KeyCheck: whether the request carried the key
OPEN_PATHS = ("/", "/health")  # the page (it holds no data; it asks for the key) and the bare health check


class KeyCheck:
    """ASGI middleware: every request but ``OPEN_PATHS`` needs ``Authorization: Bearer KEY``;
    ``/health`` without the key answers only that the server is up."""

    def __init__(self, app: ASGIApp, key: str):
        self.app, self.expected = app, f"Bearer {key}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            given = dict(scope["headers"]).get(b"authorization", b"")
            scope[AUTHORIZED] = hmac.compare_digest(given, self.expected)
            if not scope[AUTHORIZED] and scope["path"] not in OPEN_PATHS:
                error = RequestError("a valid API key is required: send 'Authorization: Bearer KEY'", 401, kind="authentication_error")
                await JSONResponse(error.body(), 401)(scope, receive, send)
                return
        await self.app(scope, receive, send)


@torch.no_grad()
def _next(lm: LanguageModel, r: requests.NextRequest) -> list[dict]:
    """The ``r.top`` likeliest next characters after ``r.prompt``, with their probabilities;
    with ``r.words`` each is continued greedily to the end of its word."""
    model = lm.model
    ids = lm.prime_ids(r.prompt, 1, torch.Generator().manual_seed(0))  # (1, P); the generator only for a vocabulary without newline
    step = Stepper(model, read_prime(model, ids))
    probs = probabilities(ban(step(ids[:, -1]), lm.vocab.unk), *filter_of(r.sampling))[0]  # (V,); the unknown symbol is no suggestion
    p, top = probs.topk(min(r.top, max(1, int((probs > 0).sum()))))  # characters that may follow, not the banned one
    symbols = [lm.vocab.decode([i]) for i in range(len(lm.vocab))]
    words = [symbols[i] for i in top.tolist()]
    if r.words:
        k = top.numel()
        after = step.state()
        rows = tuple(s.expand(-1, k, -1).contiguous() for s in after) if isinstance(after, tuple) else after.expand(-1, k, -1).contiguous()
        more = Stepper(model, rows)  # k streams, each after the prompt, reading its candidate next
        cur, open_ = top, [w.isalnum() for w in words]
        for _ in range(WORD_STEPS):
            if not any(open_):
                break
            cur = ban(more(cur), lm.vocab.unk).argmax(dim=-1)  # (k,)
            for i, c in enumerate(cur.tolist()):
                ch = symbols[c]
                if open_[i] and (ch.isalnum() or ch in "'-"):
                    words[i] += ch
                else:
                    open_[i] = False
    return [{"text": symbols[i], "probability": round(float(q), 6), "word": w} for i, q, w in zip(top.tolist(), p.tolist(), words)]
