"""Elman RNN from tensor ops: ``h' = act(W_ih x + b_ih + W_hh h + b_hh)``, act tanh or relu.

:class:`RNNCell` and :class:`RNN` match ``torch.nn.RNNCell`` / ``torch.nn.RNN`` in parameters,
initialisation, signature and results; the time loop and input handling live in ``_base``.
``RNN(..., fused=True)`` runs each layer's time loop as one autograd node with a hand-written
backward (:class:`RNNSequence`), for padded input.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable
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


class RNNSequence(torch.autograd.Function):
    """A whole Elman layer over time: ``xw (T, B, H)`` (input projection with both biases),
    ``h0 (B, H)``, ``w_hh (H, H)``, ``b_hh`` (None when folded into xw), ``relu`` -> ``out (T, B, H)``.

    As :class:`rnnlab.nn.gru.GRUSequence`: the backward walks the steps once for the gradient
    through h and computes the weight gradient as one (H, T*B) x (T*B, H) product.
    """

    @staticmethod
    def forward(ctx, xw: Tensor, h0: Tensor, w_hh: Tensor, b_hh: Tensor | None, relu: bool) -> Tensor:
        with torch.autocast(xw.device.type, enabled=False):
            xw, h = xw.to(w_hh.dtype), h0.to(w_hh.dtype)  # the recurrence in the weights' precision
            if b_hh is not None:
                xw = xw + b_hh
            w_t = w_hh.t()
            out = xw.new_empty(xw.shape)  # (T, B, H)
            for t in range(xw.shape[0]):
                h = torch.addmm(xw[t], h, w_t, out=out[t])  # (B, H)
                h.relu_() if relu else h.tanh_()
        ctx.save_for_backward(h0.to(w_hh.dtype), w_hh, out)
        ctx.relu, ctx.has_bias = relu, b_hh is not None
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, dout: Tensor):
        h0, w_hh, out = ctx.saved_tensors
        steps, batch, hidden = out.shape
        d_pre = torch.empty_like(out)  # (T, B, H): gradient of the pre-activations, and of xw
        dh = torch.zeros_like(h0)
        for t in range(steps - 1, -1, -1):
            dh = dh + dout[t]
            if ctx.relu:
                torch.ops.aten.threshold_backward.grad_input(dh, out[t], 0, grad_input=d_pre[t])
            else:
                torch.ops.aten.tanh_backward.grad_input(dh, out[t], grad_input=d_pre[t])
            dh = torch.mm(d_pre[t], w_hh)  # (B, H)
        flat = d_pre.view(steps * batch, hidden)  # (T*B, H)
        dw = d_pre[0].t().mm(h0)  # (H, H)
        if steps > 1:
            dw.addmm_(flat[batch:].t(), out[:-1].reshape((steps - 1) * batch, hidden))
        db = flat.sum(0) if ctx.has_bias else None
        return d_pre, dh, dw, db, None


class RNNCell(CellBase):
    """An Elman RNN cell, equal to ``torch.nn.RNNCell``. Input ``(B, D)`` or ``(D,)``; returns h'."""

    num_chunks = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh", device=None, dtype=None) -> None:
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
        fused: bool = False,
    ) -> None:
        _step_for(nonlinearity)
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, device, dtype)
        self.fused = fused

    has_sequence = True

    def _sequence(self, xw: Tensor, h0: Tensor, w_hh: Tensor, b_hh: Tensor | None) -> Tensor:
        return RNNSequence.apply(xw, h0, w_hh, b_hh, self.nonlinearity == "relu")

    # No extra_repr override: torch.nn.RNN's repr leaves the nonlinearity out, and so does ours.

    def _step(self, xw: Tensor, state: State, w_hh: Tensor, b_hh: Tensor | None) -> State:
        return _step_for(self.nonlinearity)(xw, state, w_hh, b_hh)

    def forward(self, input: Tensor | PackedSequence, hx: Tensor | None = None):
        output, (h_n,) = self._forward_states(input, None if hx is None else (hx,))
        return output, h_n
