"""Elman RNN from tensor ops: ``h' = act(W_ih x + b_ih + W_hh h + b_hh)``, act tanh or relu.

:class:`RNNCell` and :class:`RNN` match ``torch.nn.RNNCell`` / ``torch.nn.RNN`` in parameters,
initialisation, signature and results; the time loop and input handling live in ``_base``.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn.utils.rnn import PackedSequence

from rnnlab.nn._base import CellBase, RecurrentBase, State

_NONLINEARITIES = ("tanh", "relu")


def rnn_tanh_step(xw: Tensor, state: State, w_hh: Tensor, b_hh: Tensor | None = None) -> State:
    """One tanh step; ``xw`` is the projected input ``(B, H)``, already carrying both biases."""
    (h,) = state
    pre = torch.addmm(xw, h, w_hh.t())  # (B, H)
    if b_hh is not None:
        pre = pre + b_hh
    return (torch.tanh(pre),)


def rnn_relu_step(xw: Tensor, state: State, w_hh: Tensor, b_hh: Tensor | None = None) -> State:
    """One relu step; ``xw`` is the projected input ``(B, H)``, already carrying both biases."""
    (h,) = state
    pre = torch.addmm(xw, h, w_hh.t())  # (B, H)
    if b_hh is not None:
        pre = pre + b_hh
    return (torch.relu(pre),)


def _step_for(nonlinearity: str):
    if nonlinearity not in _NONLINEARITIES:
        raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
    return rnn_tanh_step if nonlinearity == "tanh" else rnn_relu_step


class RNNCell(CellBase):
    """An Elman RNN cell, equal to ``torch.nn.RNNCell``. Input ``(B, D)`` or ``(D,)``; returns h'."""

    num_chunks = 1

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device=None,
        dtype=None,
    ) -> None:
        _step_for(nonlinearity)  # fail before allocating anything
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, device=device, dtype=dtype)

    def extra_repr(self) -> str:
        s = super().extra_repr()
        if self.nonlinearity != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _step(self, xw: Tensor, state: State, w_hh: Tensor, b_hh: Tensor | None) -> State:
        return _step_for(self.nonlinearity)(xw, state, w_hh, b_hh)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._cell_forward(input, None if hx is None else (hx,))[0]


class RNN(RecurrentBase):
    """A multi-layer Elman RNN, equal to ``torch.nn.RNN``; returns ``(output, h_n)``."""

    num_chunks = 1
    state_arity = 1

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
    ) -> None:
        _step_for(nonlinearity)
        self.nonlinearity = nonlinearity
        super().__init__(
            input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, device, dtype
        )

    # No extra_repr override: torch.nn.RNN's repr leaves the nonlinearity out, and so does ours.

    def _step(self, xw: Tensor, state: State, w_hh: Tensor, b_hh: Tensor | None) -> State:
        return _step_for(self.nonlinearity)(xw, state, w_hh, b_hh)

    def forward(self, input: Tensor | PackedSequence, hx: Tensor | None = None):
        output, (h_n,) = self._forward_states(input, None if hx is None else (hx,))
        return output, h_n
