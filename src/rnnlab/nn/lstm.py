"""LSTM from tensor ops, gate order i, f, g, o as in ``torch.nn``.

    i, f, o = sigmoid(.), g = tanh(.)  of  W_ih x + b_ih + W_hh h + b_hh  (split in four)
    c' = f * c + i * g,   h' = o * tanh(c')

:class:`LSTMCell` and :class:`LSTM` match ``torch.nn.LSTMCell`` / ``torch.nn.LSTM`` (without
``proj_size``) in parameters, initialisation, signature and results.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn.utils.rnn import PackedSequence

from rnnlab.nn._base import CellBase, RecurrentBase, State


def lstm_step(xw: Tensor, state: State, w_hh: Tensor, b_hh: Tensor | None = None) -> State:
    """One LSTM step; ``xw`` is the projected input ``(B, 4H)``, already carrying both biases."""
    h, c = state
    gates = torch.addmm(xw, h, w_hh.t())  # (B, 4H)
    if b_hh is not None:
        gates = gates + b_hh
    i, f, g, o = gates.chunk(4, 1)  # (B, H) each
    c = torch.addcmul(torch.sigmoid(f) * c, torch.sigmoid(i), torch.tanh(g))  # (B, H)
    h = torch.sigmoid(o) * torch.tanh(c)  # (B, H)
    return h, c


def lstm_gates(xw: Tensor, h_prev: Tensor, w_hh: Tensor, b_hh: Tensor | None = None) -> dict[str, Tensor]:
    """The input, forget and output gates of many steps at once, from the projected inputs ``xw``
    (T, 4H) and the hidden states each step started from, ``h_prev`` (T, H)."""
    pre = torch.addmm(xw, h_prev, w_hh.t())  # (T, 4H)
    if b_hh is not None:
        pre = pre + b_hh
    i, f, _, o = pre.chunk(4, 1)  # (T, H) each
    return {"input": torch.sigmoid(i), "forget": torch.sigmoid(f), "output": torch.sigmoid(o)}


class LSTMCell(CellBase):
    """An LSTM cell, equal to ``torch.nn.LSTMCell``. Input ``(B, D)`` or ``(D,)``; returns ``(h', c')``."""

    num_chunks = 4
    state_arity = 2

    def _step(self, xw: Tensor, state: State, w_hh: Tensor, b_hh: Tensor | None) -> State:
        return lstm_step(xw, state, w_hh, b_hh)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        h, c = self._cell_forward(input, None if hx is None else tuple(hx))
        return h, c


class LSTM(RecurrentBase):
    """A multi-layer LSTM, equal to ``torch.nn.LSTM``; returns ``(output, (h_n, c_n))``."""

    num_chunks = 4
    state_arity = 2

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
    ) -> None:
        if proj_size != 0:
            raise NotImplementedError("rnnlab.nn.LSTM has no projections: proj_size must be 0")
        self.proj_size = 0
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, device, dtype)

    def _step(self, xw: Tensor, state: State, w_hh: Tensor, b_hh: Tensor | None) -> State:
        return lstm_step(xw, state, w_hh, b_hh)

    def forward(self, input: Tensor | PackedSequence, hx: tuple[Tensor, Tensor] | None = None):
        output, (h_n, c_n) = self._forward_states(input, None if hx is None else tuple(hx))
        return output, (h_n, c_n)
