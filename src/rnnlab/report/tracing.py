"""The trace: everything a language model shows while it reads a text, and what is measured on it.

The model runs from a blank state on :class:`rnnlab.stepper.Stepper`, rnnlab's one-step runner,
which keeps every state after every character (``h`` per layer, and for an LSTM the cell state
``c``) and the logits, and recomputes the gates from the recorded states (see :mod:`rnnlab.cells`).
The logits give the top 5 next characters and the probability of the one that actually follows.
Measured on a trace: gate saturation, as in figure 3 of Karpathy, Johnson and Fei-Fei (2015),
*Visualizing and Understanding Recurrent Networks*, and the units whose activation correlates most
with the characters inside the matches of a regular expression (the unit search).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import torch

from rnnlab import cells
from rnnlab.errors import UserError
from rnnlab.stepper import Stepper

TOP_K = 5
SOFTMAX_ROWS = 4096  # positions turned into probabilities at once (bounds the float64 copy)
LOW, HIGH = 0.1, 0.9  # gate saturation thresholds of Karpathy et al. (2015)
# The page's example searches: (label, regular expression valid in Python and JavaScript).
EXAMPLE_SEARCHES = (
    ("(parentheses)", r"\([^)]*\)"),
    ("{braces}", r"\{[^}]*\}"),
    ("[brackets]", r"\[[^\]]*\]"),
    ('"quotes"', r'"[^"]*"'),
    ("'quotes'", r"'[^'\n]*'"),
    ("word starts", r"\b\w"),
    ("line starts", r"^.{0,20}"),
    ("capitals", r"[A-Z]"),
    ("digits", r"\d"),
)
DEFAULT_SEARCH = EXAMPLE_SEARCHES[0][1]  # text inside parentheses
MIN_MATCHED = 20  # an example search is a candidate for the opening one when it marks this many characters


@dataclass
class Trace:
    """Everything recorded while the model reads ``text`` (T characters) from a blank state."""

    cell: str
    text: str  # one character per id (unknown characters already handled)
    ids: torch.Tensor  # (T,) long
    h: list[torch.Tensor]  # per layer (T, H): the state after reading each character
    c: list[torch.Tensor] | None  # LSTM only, per layer (T, H): raw cell state
    gates: list[dict[str, torch.Tensor]]  # per layer: gate name -> (T, H) in (0, 1)
    top_ids: torch.Tensor  # (T, K) most likely next characters after each position
    top_p: torch.Tensor  # (T, K) their probabilities
    p_next: torch.Tensor  # (T,) probability given to the character that follows (NaN at the end)

    @property
    def layers(self) -> int:
        return len(self.h)

    @property
    def hidden(self) -> int:
        return self.h[0].shape[1]

    def activation(self, kind: str, layer: int) -> torch.Tensor:
        """(T, H) values in (-1, 1) as the page colours them: ``h``, or ``tanh(c)`` for kind ``c``."""
        if kind == "h":
            return self.h[layer]
        if kind == "c" and self.c is not None:
            return torch.tanh(self.c[layer])
        raise UserError(f"no state {kind!r} for a {self.cell.upper()} model")


@torch.no_grad()
def trace(model, ids: torch.Tensor, top_k: int = TOP_K, text: str | None = None) -> Trace:
    """Run ``model`` (a CharRNN) over ``ids`` (T,) one step at a time from a zero state."""
    ids = ids.long().flatten()
    if ids.numel() == 0:
        raise UserError("the text to analyse is empty")
    batch = ids.to(model.head.weight.device)[None, :]  # (1, T): one stream
    stepper = Stepper(model)
    reading = stepper.read(batch)
    states = [[s[:, 0].float().cpu() for s in layer] for layer in reading.states]  # per layer, per state: (T, H)
    kinds = cells.get(model.cfg.cell).states
    top_ids, top_p, p_next = _predictions(reading.logits[:, 0], ids.cpu(), top_k)
    return Trace(
        cell=model.cfg.cell,
        text=text if text is not None else "".join(str(i) for i in ids.tolist()),
        ids=ids.cpu(),
        h=[layer[kinds.index("h")] for layer in states],
        c=[layer[kinds.index("c")] for layer in states] if "c" in kinds else None,
        gates=[{k: v.float().cpu() for k, v in g.items()} for g in stepper.gates(batch, reading)],
        top_ids=top_ids,
        top_p=top_p,
        p_next=p_next,
    )


def _predictions(logits: torch.Tensor, ids: torch.Tensor, k: int):
    """From logits (T, V): the top-k next characters after each position (ids and probabilities),
    and the probability of the true next one (NaN after the last); float64 softmax, float32 kept."""
    T, V = logits.shape
    top_ids = torch.empty(T, min(k, V), dtype=torch.long)
    top_p = torch.empty(T, min(k, V))
    p_next = torch.full((T,), float("nan"))
    for s in range(0, T, SOFTMAX_ROWS):
        e = min(T, s + SOFTMAX_ROWS)
        probs = torch.softmax(logits[s:e].double(), dim=-1).cpu()  # (t, V)
        top_p[s:e], top_ids[s:e] = probs.topk(min(k, V), dim=-1)
        n = min(e, T - 1) - s  # positions in this block that have a next character
        p_next[s : s + n] = probs[:n].gather(1, ids[s + 1 : s + n + 1, None])[:, 0]
    return top_ids, top_p, p_next


def saturation(tr: Trace, low: float = LOW, high: float = HIGH) -> list[dict[str, dict[str, list[float]]]]:
    """Per layer, per gate: the fraction of steps each unit is below ``low`` and above ``high``."""
    return [
        {name: {"left": (v < low).double().mean(0).tolist(), "right": (v > high).double().mean(0).tolist()} for name, v in gates.items()}
        for gates in tr.gates
    ]


def regex_mask(text: str, pattern: str, flags: int = re.MULTILINE) -> torch.Tensor:
    """(T,) bool: characters inside a match of ``pattern`` (empty matches mark nothing)."""
    try:
        rx = re.compile(pattern, flags)
    except re.error as e:
        raise UserError(f"bad regular expression {pattern!r}: {e}") from None
    mask = torch.zeros(len(text), dtype=torch.bool)
    for m in rx.finditer(text):
        mask[m.start() : m.end()] = True
    return mask


def correlations(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Pearson correlation of each column of ``values`` (T, H) with ``mask`` (T,); 0 where undefined."""
    v = values.double() - values.double().mean(0)
    m = mask.double() - mask.double().mean()
    num = (v * m[:, None]).sum(0)
    den = torch.sqrt((v * v).sum(0) * (m * m).sum())
    return torch.where(den > 0, num / den.clamp_min(1e-300), torch.zeros_like(num))


def unit_search(tr: Trace, pattern: str, top: int = 20) -> list[dict[str, Any]]:
    """The units (any layer, any state) whose activation correlates most with ``pattern``'s matches."""
    mask = regex_mask(tr.text, pattern)
    found = []
    for kind in cells.get(tr.cell).states:
        for layer in range(tr.layers):
            r = correlations(tr.activation(kind, layer), mask)
            found.extend({"layer": layer, "kind": kind, "unit": unit, "r": value} for unit, value in enumerate(r.tolist()))
    found.sort(key=lambda d: -abs(d["r"]))
    return found[:top]


def choose_search(tr: Trace) -> str:
    """Of the bracketing and quoting examples that mark enough characters, the one whose best unit
    tracks it most closely (text in parentheses when none does)."""
    candidates = [p for _, p in EXAMPLE_SEARCHES[:5] if int(regex_mask(tr.text, p).sum()) >= MIN_MATCHED]
    return max(candidates, key=lambda p: abs(unit_search(tr, p, top=1)[0]["r"]), default=DEFAULT_SEARCH)
