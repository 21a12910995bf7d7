"""One sampler for every model: feed the prime once, then one character at a time.

The recurrent state is kept between steps, so generating n characters costs n single steps
(never a re-run of the prefix). Filtering follows the usual order: temperature, then top-k,
then top-p (nucleus), then a draw from a seeded ``torch.Generator``.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from rnnlab.config import SampleConfig
from rnnlab.stepper import Stepper


def filter_logits(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None) -> torch.Tensor:
    """(B, V) logits -> (B, V) logits with excluded characters at -inf."""
    logits = logits.float()
    if temperature != 1.0:
        logits = logits / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]  # (B, 1)
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None and top_p < 1.0:
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)  # (B, V)
        probs = torch.softmax(sorted_logits, dim=-1)
        # Drop a character when the mass before it already reaches top_p; the first always stays.
        drop_sorted = (probs.cumsum(dim=-1) - probs) >= top_p
        drop = drop_sorted.scatter(-1, order, drop_sorted)
        logits = logits.masked_fill(drop, float("-inf"))
    return logits


def choose(logits: torch.Tensor, generator: torch.Generator | None, greedy: bool = False, **filters) -> torch.Tensor:
    """(B, V) logits -> (B,) next ids: :func:`choose_many` with one request of B rows."""
    return choose_many(logits, [(logits.shape[0], generator, {"greedy": greedy, **filters})])


def choose_many(logits: torch.Tensor, parts: list[tuple[int, torch.Generator | None, dict]]) -> torch.Tensor:
    """(B, V) logits of several requests, stacked in order -> (B,) ids. ``parts``: per request,
    its number of rows, its generator and its :func:`choose` settings (``greedy``,
    ``temperature``, ``top_k``, ``top_p``). Each request's rows are drawn exactly as
    :func:`choose` alone would draw them (the filters act row by row; each generator fills only
    its own rows), but the filtering runs once per distinct setting instead of once per request."""
    starts = [0]
    for n, _, _ in parts:
        starts.append(starts[-1] + n)
    by_setting: dict[tuple, list[int]] = {}
    for i, (_, _, f) in enumerate(parts):
        key = (bool(f.get("greedy")), f.get("temperature", 1.0), f.get("top_k"), f.get("top_p"))
        by_setting.setdefault(key, []).append(i)
    out = torch.empty(logits.shape[0], dtype=torch.long, device=logits.device)
    for (greedy, temperature, top_k, top_p), members in by_setting.items():
        every = len(by_setting) == 1  # the usual case: one setting for all, no gathering of rows
        rows = slice(None) if every else torch.cat([torch.arange(starts[i], starts[i + 1]) for i in members]).to(logits.device)
        if greedy:
            out[rows] = logits[rows].argmax(dim=-1)
            continue
        probs = torch.softmax(filter_logits(logits[rows], temperature, top_k, top_p), dim=-1)  # (R, V)
        # The exponential race: with E_i ~ Exp(1), argmax p_i / E_i is i with probability p_i. One
        # random fill and an argmax cost less than torch.multinomial at batch 1. The floor keeps a
        # zero draw from turning an excluded character's 0 / 0 into NaN.
        race = torch.empty_like(probs)
        at = 0
        for i in members:  # each request's rows from its own generator, as choose() draws them
            n = parts[i][0]
            race[at : at + n].exponential_(generator=parts[i][1])
            at += n
        out[rows] = (probs / race.clamp_min_(torch.finfo(probs.dtype).tiny)).argmax(dim=-1)
    return out


PRIME_CHUNK = 4096  # characters of a prime read per forward pass: its memory, whatever the prime's length


@torch.no_grad()
def read_prime(model, prime_ids: torch.Tensor):
    """The state after reading ``prime_ids`` (B, P) but its last character (P >= 1), in
    ``forward``'s layout, ``PRIME_CHUNK`` characters at a time with the state carried (the same
    state as one pass, to float rounding), so a long prompt costs one chunk's activations. Rows
    that are all the same prime (``--num``, a request's ``n``) are read once and the state
    repeated, so the forward pass costs one row's memory, not B."""
    b, p = prime_ids.shape
    if p == 1:
        return model.init_state(b, prime_ids.device)
    same = b > 1 and bool((prime_ids == prime_ids[:1]).all())
    ids = prime_ids[:1, :-1] if same else prime_ids[:, :-1]  # (B or 1, P - 1)
    state = None
    for start in range(0, ids.shape[1], PRIME_CHUNK):
        _, _, state = model(ids[:, start : start + PRIME_CHUNK], state=state)
    if not same:
        return state
    if isinstance(state, tuple):
        return tuple(s.expand(-1, b, -1).contiguous() for s in state)  # (L, B, H) each
    return state.expand(-1, b, -1).contiguous()


@torch.no_grad()
def generate(model, prime_ids: torch.Tensor, length: int, generator: torch.Generator | None = None, **sampling) -> Iterator[torch.Tensor]:
    """Yield ``length`` steps of (B,) ids, continuing ``prime_ids`` (B, P) with P >= 1; ``sampling``
    are :class:`~rnnlab.config.SampleConfig`'s ``temperature``, ``top_k``, ``top_p`` and ``greedy``."""
    cfg = SampleConfig(**sampling)
    was_training = model.training
    model.eval()
    try:
        step = Stepper(model, read_prime(model, prime_ids))
        ids = prime_ids[:, -1]  # (B,)
        for _ in range(length):
            logits = step(ids)  # (B, V)
            ids = choose(logits, generator, cfg.greedy, temperature=cfg.temperature, top_k=cfg.top_k, top_p=cfg.top_p)
            yield ids
    finally:
        model.train(was_training)
