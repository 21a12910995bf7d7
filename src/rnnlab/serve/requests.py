"""Reading the server's request bodies: every field checked, every mistake a 4xx with a JSON error.

The completion fields are OpenAI's ``/v1/completions`` (``model``, ``prompt``, ``max_tokens``
counted in characters, ``temperature``, ``top_p``, ``n``, ``stop``, ``seed``, ``stream``) plus
rnnlab's ``top_k`` and ``greedy``. Fields that API has and rnnlab does not use (``user``,
``logprobs``, penalties ...) are ignored, so existing clients work unchanged. The sampling
fields become one :class:`~rnnlab.config.SampleConfig`, whose checks are the bounds (those of
``rnnlab sample``); as in that API, ``temperature`` 0 means always the likeliest character.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from rnnlab.config import SampleConfig, ServeConfig
from rnnlab.errors import UserError

MAX_STOPS = 4  # as OpenAI's API
DEFAULT_MAX_TOKENS = 16  # OpenAI's default, so a client that sends none gets what it expects
MAX_TOP = 100  # /v1/rnnlab/next: candidates returned at most


class RequestError(Exception):
    """A request the server refuses: ``status`` (4xx) and a message naming the field."""

    def __init__(self, message: str, status: int = 400, param: str | None = None, kind: str = "invalid_request_error"):
        super().__init__(message)
        self.message, self.status, self.param, self.kind = message, status, param, kind

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.kind, "param": self.param, "code": None}}


def parse_json(raw: bytes) -> dict:
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise RequestError(f"the body is not valid JSON: {e}") from None
    if not isinstance(body, dict):
        raise RequestError(f"the body must be a JSON object, got {type(body).__name__}")
    return body


def _number(body: dict, key: str, default: float | None, lo: float = -math.inf, hi: float = math.inf, integer: bool = False) -> Any:
    value = body.get(key)
    if value is None:
        return default
    kind = "an integer" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)) or not math.isfinite(value):
        raise RequestError(f"{key} must be {kind}, got {json.dumps(value)[:40]}", param=key)
    if not lo <= value <= hi:
        raise RequestError(f"{key} must be between {lo} and {hi}, got {value}", param=key)
    return value


def _flag(body: dict, key: str) -> bool:
    value = body.get(key, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise RequestError(f"{key} must be true or false, got {json.dumps(value)[:40]}", param=key)
    return value


def sample_config(body: dict, length: int = 0) -> SampleConfig:
    """The body's ``temperature``, ``top_p``, ``top_k``, ``greedy`` and ``seed`` (and a completion's ``length``) as
    one :class:`~rnnlab.config.SampleConfig`: a number of the right JSON type that it refuses is a 400 in its words."""
    given = {key: _number(body, key, None, integer=key in ("top_k", "seed")) for key in ("temperature", "top_p", "top_k", "seed")}
    try:
        return SampleConfig(length=length, greedy=_flag(body, "greedy"), **{k: v for k, v in given.items() if v is not None})
    except UserError as e:
        raise RequestError(str(e), param=str(e).split(" ", 1)[0]) from None  # its messages start with the field's name


def _text(body: dict, key: str, cfg: ServeConfig, required: bool = True, default: str = "") -> str:
    value = body.get(key)
    if value is None:
        if required:
            raise RequestError(f"{key} is required", param=key)
        return default
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], str):
        value = value[0]  # OpenAI's API also takes a list of prompts; one is what a stream can serve
    if not isinstance(value, str):
        raise RequestError(f"{key} must be a string (or a list of one string), got {json.dumps(value)[:40]}", param=key)
    if len(value) > cfg.max_prompt:
        raise RequestError(f"{key} is {len(value):,} characters; this server takes at most {cfg.max_prompt:,}", param=key)
    return value


def model_name(body: dict, models: dict) -> str:
    name = body.get("model")
    if name is None and len(models) == 1:
        return next(iter(models))
    if not isinstance(name, str):
        raise RequestError(f"model must be a string naming one of: {', '.join(models)}", param="model")
    if name not in models:
        raise RequestError(f"unknown model {name[:80]!r}; this server has: {', '.join(models)}", status=404, param="model")
    return name


@dataclass(frozen=True)
class Completion:
    model: str
    prompt: str
    n: int
    stops: tuple[str, ...]
    stream: bool
    sampling: SampleConfig  # max_tokens as its length


def completion(body: dict, models: dict, cfg: ServeConfig) -> Completion:
    name = model_name(body, models)
    prompt = _text(body, "prompt", cfg, required=False)
    max_tokens = _number(body, "max_tokens", DEFAULT_MAX_TOKENS, 0, cfg.max_tokens, integer=True)
    n = _number(body, "n", 1, 1, cfg.max_n, integer=True)
    sampling = sample_config(body, max_tokens)
    stop = body.get("stop")
    stops = (stop,) if isinstance(stop, str) else stop if stop is not None else ()
    if not isinstance(stops, (list, tuple)) or not all(isinstance(s, str) and s for s in stops) or len(stops) > MAX_STOPS:
        raise RequestError(f"stop must be a non-empty string or a list of at most {MAX_STOPS} of them", param="stop")
    return Completion(name, prompt, n, tuple(stops), _flag(body, "stream"), sampling)


@dataclass(frozen=True)
class NextRequest:
    model: str
    prompt: str
    top: int
    sampling: SampleConfig  # the filter a completion with the same body draws through
    words: bool


def next_chars(body: dict, models: dict, cfg: ServeConfig) -> NextRequest:
    return NextRequest(
        model_name(body, models),
        _text(body, "prompt", cfg, required=False),
        _number(body, "top", 10, 1, MAX_TOP, integer=True),
        sample_config(body),
        _flag(body, "words"),
    )


def score(body: dict, models: dict, cfg: ServeConfig) -> tuple[str, str]:
    name = model_name(body, models)
    text = _text(body, "text", cfg)
    if not text:
        raise RequestError("text is empty: there is nothing to score", param="text")
    return name, text
