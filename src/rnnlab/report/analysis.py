"""Summaries of a :class:`~rnnlab.report.tracing.Trace`: gate saturation and the unit search.

- :func:`saturation`: per layer and gate, the fraction of steps each unit is left-saturated
  (below 0.1, nearly shut) and right-saturated (above 0.9, nearly open), as in figure 3 of
  Karpathy, Johnson and Fei-Fei (2015), *Visualizing and Understanding Recurrent Networks*.
- :func:`unit_search`: the units whose activation correlates most (Pearson) with a 0/1 mask of
  the characters inside the matches of a regular expression (:func:`regex_mask`,
  :func:`correlations`); :func:`choose_search` picks the example search the page opens with.
"""

from __future__ import annotations

import re
from typing import Any

import torch

from rnnlab import cells
from rnnlab.errors import UserError
from rnnlab.report.tracing import Trace

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
        if m.end() > m.start():
            mask[m.start() : m.end()] = True
    return mask


def correlations(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Pearson correlation of each column of ``values`` (T, H) with ``mask`` (T,); 0 where undefined."""
    v = values.double()
    m = mask.double()
    v = v - v.mean(0)
    m = m - m.mean()
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
    """Of the bracketing and quoting examples, the one whose best unit tracks it most closely."""
    best, best_r = DEFAULT_SEARCH, -1.0
    for _, pattern in EXAMPLE_SEARCHES[:5]:
        if int(regex_mask(tr.text, pattern).sum()) < MIN_MATCHED:
            continue
        r = abs(unit_search(tr, pattern, top=1)[0]["r"])
        if r > best_r:
            best, best_r = pattern, r
    return best
