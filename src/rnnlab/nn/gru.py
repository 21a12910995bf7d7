"""GRU from tensor ops, gate order r, z, n as in ``torch.nn``.

    r = sigmoid(W_ir x + b_ir + W_hr h + b_hr),  z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),  h' = (1 - z) * n + z * h

:class:`GRUCell` and :class:`GRU` match ``torch.nn.GRUCell`` / ``torch.nn.GRU`` in parameters,
initialisation, signature and results.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn.utils.rnn import PackedSequence

from rnnlab.nn._base import CellBase, RecurrentBase, State


def gru_step(xw: Tensor, state: State, w_hh: Tensor, b_hh: Tensor | None = None) -> State:
    """One GRU step; ``xw`` is the projected input ``(B, 3H)`` carrying ``b_ih`` only.

    ``b_hh`` must come in separately: its n part sits inside the reset gate's product.
    """
    (h,) = state
    gh = torch.mm(h, w_hh.t()) if b_hh is None else torch.addmm(b_hh, h, w_hh.t())  # (B, 3H)
    x_r, x_z, x_n = xw.chunk(3, 1)  # (B, H) each
    h_r, h_z, h_n = gh.chunk(3, 1)  # (B, H) each
    r = torch.sigmoid(x_r + h_r)
    z = torch.sigmoid(x_z + h_z)
    n = torch.tanh(torch.addcmul(x_n, r, h_n))
    # (1 - z) * n + z * h, one operation fewer
    return (torch.addcmul(n, z, h - n),)


class GRUCell(CellBase):
    """A GRU cell, equal to ``torch.nn.GRUCell``. Input ``(B, D)`` or ``(D,)``; returns h'."""

    num_chunks = 3
    fold_hidden_bias = False

    def _step(self, xw: Tensor, state: State, w_hh: Tensor, b_hh: Tensor | None) -> State:
        return gru_step(xw, state, w_hh, b_hh)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._cell_forward(input, None if hx is None else (hx,))[0]


class GRU(RecurrentBase):
    """A multi-layer GRU, equal to ``torch.nn.GRU``; returns ``(output, h_n)``."""

    num_chunks = 3
    fold_hidden_bias = False

    def _step(self, xw: Tensor, state: State, w_hh: Tensor, b_hh: Tensor | None) -> State:
        return gru_step(xw, state, w_hh, b_hh)

    def forward(self, input: Tensor | PackedSequence, hx: Tensor | None = None):
        output, (h_n,) = self._forward_states(input, None if hx is None else (hx,))
        return output, h_n
