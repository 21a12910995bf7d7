"""One sampler for every model: feed the prime once, then one character at a time.

The recurrent state is kept between steps, so generating n characters costs n single steps
(never a re-run of the prefix). Filtering follows the usual order: temperature, then top-k,
then top-p (nucleus), then a draw from a seeded ``torch.Generator`` (one uniform per row
and step, through :class:`Draws`, and the inverse of the cumulative distribution). Temperature
0 is greedy, as in OpenAI's API. Whatever the logits and the temperature, the probabilities are
a distribution over the vocabulary (:func:`probabilities`), so no id outside it is ever drawn.
One stream on the CPU steps in NumPy (:mod:`rnnlab.step_numpy`) and draws there too
(:func:`choose_one`, through :func:`advance`): the same ids from the same numbers, in fewer and
cheaper calls than torch's filters and draw.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import torch

from rnnlab.config import SampleConfig
from rnnlab.stepper import Stepper


def filter_logits(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None) -> torch.Tensor:
    """(B, V) logits -> (B, V) logits with excluded characters at -inf (temperature > 0)."""
    logits = logits.float()
    if temperature != 1.0:
        # Shifted so the largest is 0 first (softmax is the same): a small temperature then sends
        # the others to -inf, never the largest to +inf.
        logits = (logits - logits.amax(dim=-1, keepdim=True)) / temperature
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


def probabilities(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None) -> torch.Tensor:
    """(B, V) logits -> (B, V) probabilities after the filters, each row a distribution (finite,
    summing to 1) whatever the logits hold (NaN, +-inf) and whatever the temperature: a row with
    nothing finite left takes its likeliest character (temperature 0: every row does)."""
    if temperature == 0:
        probs = torch.zeros_like(logits, dtype=torch.float32)
        bad = torch.ones(logits.shape[0], dtype=torch.bool, device=logits.device)
    else:
        probs = torch.softmax(filter_logits(logits, temperature, top_k, top_p), dim=-1)
        bad = ~(torch.isfinite(probs).all(dim=-1) & (probs.sum(dim=-1) > 0))  # (B,)
    if bool(bad.any()):
        best = torch.nan_to_num(logits.float(), nan=float("-inf")).argmax(dim=-1)  # (B,)
        probs[bad] = torch.nn.functional.one_hot(best[bad], logits.shape[-1]).float()
    return probs


DEFAULT = SampleConfig()  # temperature 1, no top-k or top-p


def filter_of(sampling: SampleConfig) -> tuple[float, int | None, float | None]:
    """``sampling``'s (temperature, top_k, top_p) for :func:`probabilities`, greedy as temperature 0: what :func:`choose_many` groups by."""
    if not isinstance(sampling, SampleConfig):
        raise TypeError(f"sampling settings are a rnnlab.config.SampleConfig, got {type(sampling).__name__}")
    return (0.0, None, None) if sampling.greedy or sampling.temperature == 0 else (sampling.temperature, sampling.top_k, sampling.top_p)


def seeded(sampling: SampleConfig, device: torch.device | str) -> torch.Generator:
    """A generator on ``device`` seeded with ``sampling.seed``, else a fresh seed: one for ``rnnlab sample`` and the server."""
    g = torch.Generator(device=device)
    return g.manual_seed(g.seed() if sampling.seed is None else sampling.seed)


DRAW_BLOCK = 64  # steps of uniforms drawn from a generator per call
# The largest uniform handed out: below it, u * total < total in float32 for any total > 0 (the
# exact product is at least one ulp below it), so the inverse CDF never runs off the end.
U_MAX = 1.0 - 2.0**-23


class Draws:
    """The random numbers of one stream of draws (a ``rnnlab sample`` run, a served request):
    one uniform in [0, U_MAX] per row per step, from ``generator``, drawn ``DRAW_BLOCK`` steps at a
    time and handed out as Python floats. Drawing in blocks makes a step's draw cost a list slice,
    not a call into torch per request (the server gathers one per request at every step); the
    numbers depend only on the generator and the number of rows, so every path that draws
    through a ``Draws`` draws the same characters for the same seed."""

    def __init__(self, generator: torch.Generator | None, rows: int, block: int = DRAW_BLOCK):
        self.generator, self.rows, self.block = generator, rows, block
        self.values: list[float] = []
        self.at = 0

    def next(self) -> list[float]:
        """This step's uniforms, one per row."""
        if self.at >= len(self.values):
            device = self.generator.device if self.generator is not None else None
            u = torch.rand(self.block * self.rows, generator=self.generator, dtype=torch.float64, device=device)
            self.values = u.clamp_max_(U_MAX).tolist()
            self.at = 0
        self.at += self.rows
        return self.values[self.at - self.rows : self.at]


def choose(
    logits: torch.Tensor, draws: Draws | torch.Generator | None, sampling: SampleConfig = DEFAULT, banned: int | None = None
) -> torch.Tensor:
    """(B, V) logits -> (B,) next ids: :func:`choose_many` with one request of B rows. A
    generator (or None, the global one) draws this one step's numbers (as a ``Draws`` would,
    on the CPU, where a block of uniforms is the same numbers as that many single draws)."""
    if not isinstance(draws, Draws):
        draws = Draws(draws, logits.shape[0], block=1)
    return choose_many(logits, [(logits.shape[0], draws, sampling)], banned)


def ban(logits: torch.Tensor, banned: int | None) -> torch.Tensor:
    """(B, V) logits with id ``banned`` (the unknown symbol of a vocabulary that has one) never
    chosen; a symbol that stands for no character must not be written."""
    if banned is None:
        return logits
    return logits.index_fill(-1, torch.tensor([banned], device=logits.device), float("-inf"))


def inverse_cdf(probs: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """(R, V) probabilities (rows need not sum to 1) and (R,) uniforms in [0, U_MAX] -> (R,)
    ids: row r takes the first i whose cumulative mass exceeds u_r times the row's total, which
    is i with probability p_i. A character of probability 0 is never taken: its cumulative sum
    equals the one before it, and u <= U_MAX keeps u times the total below the total in float32."""
    cdf = probs.float().cumsum(dim=-1)  # (R, V)
    x = u * cdf[:, -1]  # (R,)
    return torch.searchsorted(cdf, x[:, None], right=True)[:, 0]  # (R,)


def choose_many(logits: torch.Tensor, parts: list[tuple[int, Draws | None, SampleConfig]], banned: int | None = None) -> torch.Tensor:
    """(B, V) logits of several requests, stacked in order -> (B,) ids. ``parts``: per request,
    its number of rows, its :class:`Draws` and its ``SampleConfig``. Each request's rows are
    drawn exactly as :func:`choose` alone would draw them (the filters act row by row; each
    request's draws give only its own rows' numbers), but the filtering runs once per distinct
    :func:`filter_of` instead of once per request. Greedy rows draw no number. ``banned``: an id
    never chosen (:func:`ban`)."""
    logits = ban(logits, banned)
    starts = [0]
    for n, _, _ in parts:
        starts.append(starts[-1] + n)
    by_setting: dict[tuple, list[int]] = {}
    for i, (_, _, sampling) in enumerate(parts):
        by_setting.setdefault(filter_of(sampling), []).append(i)
    if len(by_setting) == 1:  # the usual case: one setting for all, no gathering of rows
        return _choose_rows(logits, parts, *next(iter(by_setting.items())))
    out = torch.empty(logits.shape[0], dtype=torch.long, device=logits.device)
    for setting, members in by_setting.items():
        rows = torch.cat([torch.arange(starts[i], starts[i + 1]) for i in members]).to(logits.device)
        out[rows] = _choose_rows(logits[rows], parts, setting, members)
    return out


def _choose_rows(logits: torch.Tensor, parts: list, setting: tuple, members: list[int]) -> torch.Tensor:
    """(R, V) logits of the requests ``members`` of ``parts``, which share ``setting`` -> (R,) ids."""
    if setting[0] == 0:  # greedy: what probabilities() gives all its mass to, without a draw
        return torch.nan_to_num(logits.float(), nan=float("-inf")).argmax(dim=-1)
    # One uniform per row and a search of the cumulative sum: a single tensor built from the
    # requests' floats, where a random fill per request cost a call into torch each.
    u = torch.tensor([x for i in members for x in parts[i][1].next()], dtype=torch.float32, device=logits.device)  # (R,)
    cdf = torch.softmax(filter_logits(logits, *setting), dim=-1).cumsum(dim=-1)  # (R, V)
    total = cdf[:, -1]  # (R,)
    # The usual rows are distributions already: a finite, positive total says so in one read
    # instead of a check of every probability. Any other row is made one by probabilities().
    if all(math.isfinite(t) and t > 0 for t in total.tolist()):
        return torch.searchsorted(cdf, (u * total)[:, None], right=True)[:, 0]  # (R,)
    return inverse_cdf(probabilities(logits, *setting), u)


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
def generate(
    model,
    prime_ids: torch.Tensor,
    length: int,
    generator: torch.Generator | None = None,
    banned: int | None = None,
    sampling: SampleConfig = DEFAULT,
) -> Iterator[torch.Tensor]:
    """Yield ``length`` steps of (B,) ids, continuing ``prime_ids`` (B, P) with P >= 1, each drawn
    through ``sampling``'s filter (:func:`filter_of`; its length and seed are the caller's
    ``length`` and ``generator``); ``banned``: an id never drawn (the vocabulary's unknown symbol)."""
    was_training = model.training
    model.eval()
    try:
        step = Stepper(model, read_prime(model, prime_ids))
        ids = prime_ids[:, -1]  # (B,)
        draws = Draws(generator, ids.shape[0])
        for _ in range(length):
            ids = advance(step, ids, [(ids.shape[0], draws, sampling)], banned)
            yield ids
    finally:
        model.train(was_training)


def advance(
    step: Stepper, ids: torch.Tensor, parts: list[tuple[int, Draws | None, SampleConfig]], banned: int | None = None
) -> torch.Tensor:
    """One step of every stream and its draw: (B,) ids -> (B,) next ids (``parts``, ``banned``: as
    :func:`choose_many`). One stream that steps in NumPy (:attr:`Stepper.one_stream`) draws there
    too (:func:`choose_one`): the same ids for the same numbers, in fewer calls."""
    if len(parts) == 1 and step.one_stream:
        _, draws, sampling = parts[0]
        symbol = choose_one(step.step_one(ids.item()), draws, filter_of(sampling), banned)
        return torch.from_numpy(np.array([symbol], dtype=np.int64))  # (1,): cheaper than torch.tensor
    return choose_many(step(ids), parts, banned)


def choose_one(logits: np.ndarray, draws: Draws, setting: tuple[float, int | None, float | None], banned: int | None = None) -> int:
    """One row's draw from (V,) float32 ``logits`` (changed in place: the banned id), as
    :func:`choose_many` draws it with ``setting`` (:func:`filter_of`): greedy, or the temperature, the
    cumulative sum and one uniform from ``draws``, in NumPy's few calls where torch's cost more than
    a step of the model. Top-k and top-p, and a row whose largest logit is not finite (or greedy
    on a NaN), go through torch's filters as :func:`choose_many` would."""
    temperature, top_k, top_p = setting
    if banned is not None:
        logits[banned] = -np.inf
    if temperature == 0:
        best = int(logits.argmax())
        if logits[best] == logits[best]:  # not NaN, which argmax would take and torch's greedy skips
            return best
    elif top_k is None and top_p is None:
        top = logits.max()
        if math.isfinite(top):  # else (+-inf, NaN) torch's filters, which make any row a distribution
            # In float64, which no float32 logits or temperature overflow: no warnings to silence.
            cdf = logits.astype(np.float64)
            cdf -= top
            if temperature != 1.0:
                cdf /= temperature
            np.exp(cdf, out=cdf)
            np.add.accumulate(cdf, out=cdf)  # the softmax's cumulative sum, times its total
            return int(cdf.searchsorted(float(np.float32(draws.next()[0])) * cdf[-1], side="right"))
    return int(_choose_rows(torch.from_numpy(logits)[None], [(1, draws, None)], setting, [0])[0])
