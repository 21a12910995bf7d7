"""The one scoring function: how many nats a language model spends on a text.

``rnnlab eval``, ``LanguageModel.evaluate`` and the trainer's validation all call
:func:`score_ids`. The text is laid out as ``batch_size`` contiguous streams read in chunks of
``seq_len`` with the state carried across chunks, so every character is predicted from all the
characters before it in its stream. With ``batch_size`` 1 that is the whole text in one pass.

:func:`check_scored` refuses a score over nothing (a text that is empty, too short or all unknown
characters), and :func:`json_line` is how every ``--json`` result is written: strict JSON.
"""

from __future__ import annotations

import json
import math

import torch
import torch.nn.functional as F

from rnnlab.distributed import DistContext
from rnnlab.errors import UserError


@torch.no_grad()
def score_ids(
    model, ids: torch.Tensor, batch_size: int = 1, seq_len: int = 1024, device: torch.device | str = "cpu", dist: DistContext | None = None
) -> tuple[float, int]:
    """``(total nats, characters predicted)`` of ``ids`` (N,) under ``model``.

    Wider batches make the pass cheaper but cut the text into streams that each start from a
    blank state (and drop the tail that does not fill the last stream). Under torch.distributed
    each rank scores its share of the streams and the sums are reduced.
    """
    device = torch.device(device)
    if ids.numel() < 2:
        return 0.0, 0
    if device.type == "cuda" and ids.device.type == "cpu":
        # The chunks below are strided column slices: copied from host memory one by one they
        # would each be a synchronous copy. One copy of the compact ids, then slicing on the card.
        ids = ids.to(device)
    batch_size = max(1, min(batch_size, (ids.numel() - 1) // max(1, seq_len)))
    length = (ids.numel() - 1) // batch_size
    x = ids[: batch_size * length].view(batch_size, length)  # (B, L)
    y = ids[1 : batch_size * length + 1].view(batch_size, length)  # (B, L)
    if dist is not None:
        x, y = x[dist.rank :: dist.world_size], y[dist.rank :: dist.world_size]  # (B/N, L)
    was_training = model.training
    model.eval()
    total = torch.zeros((), dtype=torch.float64, device=device)
    state = None
    for p in range(0, length, seq_len):
        xb = x[:, p : p + seq_len].to(device, non_blocking=True).long()  # (B, t)
        yb = y[:, p : p + seq_len].to(device, non_blocking=True).long()  # (B, t)
        logits, _, state = model(xb, state=state)  # (B, t, V)
        total += F.cross_entropy(logits.flatten(0, 1).double(), yb.flatten(), reduction="sum")
    model.train(was_training)
    if dist is not None:
        total = dist.all_reduce_sum(total)
    return float(total), batch_size * length


def per_char(total_nats: float, chars: int) -> dict[str, float]:
    """``bpc``, ``nats`` (per character) and ``perplexity`` of ``total_nats`` over ``chars``
    characters: NaN when nothing was scored; an infinite perplexity past e^700, where a float
    overflows. Every score rnnlab reports (``rnnlab eval``, :meth:`LanguageModel.evaluate`) is
    made here."""
    if not chars:
        return {"bpc": math.nan, "nats": math.nan, "perplexity": math.nan}
    nats = total_nats / chars
    return {"bpc": nats / math.log(2), "nats": nats, "perplexity": math.exp(nats) if nats < 700 else math.inf}


def check_scored(name: str, text: str, scored: int, unknown: int) -> None:
    """Refuse a score of ``text`` (called ``name``) that measures nothing, saying why: the text is
    empty, none of its characters are in the vocabulary (even where the model has an unknown
    symbol to score them as), or no character was predicted (``scored`` 0: fewer than 2 known)."""
    if not text:
        raise UserError(f"{name} has no characters to score")
    if unknown == len(text):
        n = len(text)
        raise UserError(
            f"{name}: none of its {n:,} character{'s are' if n != 1 else ' is'} in the model's vocabulary, so there is nothing to score"
        )
    if scored:
        return
    known = len(text) - unknown
    raise UserError(
        f"{name} has {known} character{'s' if known != 1 else ''} the model knows; scoring needs at least 2 "
        "(each character is predicted from those before it)"
    )


def json_line(result) -> str:
    """``result`` as one line of strict JSON (RFC 8259: no NaN or Infinity, which strict parsers
    refuse): every ``--json`` output is written through here."""
    try:
        return json.dumps(result, allow_nan=False)
    except ValueError:
        raise UserError(
            "the result holds a number that JSON cannot express (NaN or infinity): the model's outputs are not finite"
        ) from None
