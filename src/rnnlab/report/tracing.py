"""The trace: everything a language model shows while it reads a text, one character at a time.

The model is run by :class:`rnnlab.stepper.Stepper`, rnnlab's one-step runner, from a blank
state: :meth:`~rnnlab.stepper.Stepper.read` keeps every state after every character (``h`` per
layer, and for an LSTM the cell state ``c``) and the logits, and
:meth:`~rnnlab.stepper.Stepper.gates` recomputes the gates from the recorded states (LSTM input,
forget, output; GRU reset, update; see :mod:`rnnlab.cells`). From the logits come the
next-character distribution after each character: its top 5 and the probability of the
character that actually follows.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from rnnlab import cells
from rnnlab.errors import UserError
from rnnlab.stepper import Stepper

TOP_K = 5
SOFTMAX_ROWS = 4096  # positions turned into probabilities at once (bounds the float64 copy)


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
    cell = model.cfg.cell
    ids = ids.long().flatten()
    if ids.numel() == 0:
        raise UserError("the text to analyse is empty")
    batch = ids.to(model.head.weight.device)[None, :]  # (1, T): one stream
    stepper = Stepper(model)
    reading = stepper.read(batch)
    gates = stepper.gates(batch, reading)
    states = [[s[:, 0].float().cpu() for s in layer] for layer in reading.states]  # per layer, per state: (T, H)
    kinds = cells.get(cell).states
    top_ids, top_p, p_next = _predictions(reading.logits[:, 0], ids, top_k)
    return Trace(
        cell=cell,
        text=text if text is not None else "".join(str(i) for i in ids.tolist()),
        ids=ids.cpu(),
        h=[layer[kinds.index("h")] for layer in states],
        c=[layer[kinds.index("c")] for layer in states] if "c" in kinds else None,
        gates=[{k: v.float().cpu() for k, v in g.items()} for g in gates],
        top_ids=top_ids,
        top_p=top_p.float(),
        p_next=p_next.float(),
    )


def _predictions(logits: torch.Tensor, ids: torch.Tensor, k: int):
    """From logits (T, V): the top-k next characters after each position (ids and float64
    probabilities), and the probability of the true next one (NaN after the last)."""
    T, V = logits.shape
    k = min(k, V)
    top_ids = torch.empty(T, k, dtype=torch.long)
    top_p = torch.empty(T, k, dtype=torch.float64)
    p_next = torch.full((T,), float("nan"), dtype=torch.float64)
    nxt = ids.cpu()[1:]
    for s in range(0, T, SOFTMAX_ROWS):
        e = min(T, s + SOFTMAX_ROWS)
        probs = torch.softmax(logits[s:e].double(), dim=-1).cpu()  # (t, V)
        top_p[s:e], top_ids[s:e] = probs.topk(k, dim=-1)
        n = min(e, T - 1) - s  # positions in this block that have a next character
        if n > 0:
            p_next[s : s + n] = probs[:n].gather(1, nxt[s : s + n, None])[:, 0]
    return top_ids, top_p, p_next
