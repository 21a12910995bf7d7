"""GRU from tensor ops, gate order r, z, n as in ``torch.nn``.

    r = sigmoid(W_ir x + b_ir + W_hr h + b_hr),  z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),  h' = (1 - z) * n + z * h

:class:`GRUCell` and :class:`GRU` match ``torch.nn.GRUCell`` / ``torch.nn.GRU`` in parameters,
initialisation, signature and results. ``GRU(..., fused=True)`` runs each layer's time loop
as one autograd node with a hand-written backward (:class:`GRUSequence`), for padded input.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable
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


def gru_gates(xw: Tensor, h_prev: Tensor, w_hh: Tensor, b_hh: Tensor | None = None) -> dict[str, Tensor]:
    """The reset and update gates of many steps at once, from the projected inputs ``xw`` (T, 3H)
    and the hidden states each step started from, ``h_prev`` (T, H)."""
    gh = torch.mm(h_prev, w_hh.t()) if b_hh is None else torch.addmm(b_hh, h_prev, w_hh.t())  # (T, 3H)
    x_r, x_z, _ = xw.chunk(3, 1)  # (T, H) each
    h_r, h_z, _ = gh.chunk(3, 1)
    return {"reset": torch.sigmoid(x_r + h_r), "update": torch.sigmoid(x_z + h_z)}


class GRUSequence(torch.autograd.Function):
    """A whole GRU layer over time, ``xw (T, B, 3H)`` (input projection with ``b_ih``), ``h0 (B, H)``,
    ``w_hh (3H, H)``, ``b_hh (3H,)`` or None -> ``out (T, B, H)``, with a hand-written backward.

    Why: under autograd every step of the loop records a dozen nodes, and the weight gradient
    arrives as T small (3H, B) x (B, H) products. Here the backward walks the steps once, does
    only the work that must be sequential (the gradient through h), and computes the recurrent
    weight and bias gradients as one (3H, T*B) x (T*B, H) product at the end. On CPU, where
    ``nn.GRU`` has no fused kernel, that makes GRU training faster (see docs/benchmarks.md);
    the numbers equal ``torch.nn.GRU``'s (checked with gradcheck and against torch.nn).
    """

    @staticmethod
    def forward(ctx, xw: Tensor, h0: Tensor, w_hh: Tensor, b_hh: Tensor | None) -> Tensor:
        with torch.autocast(xw.device.type, enabled=False):
            # Under autocast the projection may arrive in bf16/fp16: the recurrence runs in the
            # weights' precision (autograd casts the input gradient back to xw's dtype).
            return GRUSequence._forward(ctx, xw.to(w_hh.dtype), h0.to(w_hh.dtype), w_hh, b_hh)

    @staticmethod
    def _forward(ctx, xw: Tensor, h0: Tensor, w_hh: Tensor, b_hh: Tensor | None) -> Tensor:
        steps, batch, hidden = xw.shape[0], h0.shape[0], h0.shape[1]
        w_t = w_hh.t()
        # Every step writes into preallocated (T, B, .) buffers: no stacking afterwards.
        out = xw.new_empty(steps, batch, hidden)  # (T, B, H)
        rz = xw.new_empty(steps, batch, 2 * hidden)  # (T, B, 2H) r and z after the sigmoid
        n = xw.new_empty(steps, batch, hidden)  # (T, B, H) n after the tanh
        gh = xw.new_empty(steps, batch, 3 * hidden)  # (T, B, 3H) recurrent pre-activations
        h = h0
        for t in range(steps):
            if b_hh is None:
                torch.mm(h, w_t, out=gh[t])
            else:
                torch.addmm(b_hh, h, w_t, out=gh[t])  # (B, 3H)
            torch.add(xw[t, :, : 2 * hidden], gh[t, :, : 2 * hidden], out=rz[t]).sigmoid_()
            r, z = rz[t].chunk(2, 1)  # (B, H) each
            torch.addcmul(xw[t, :, 2 * hidden :], r, gh[t, :, 2 * hidden :], out=n[t]).tanh_()
            h = torch.addcmul(n[t], z, h - n[t], out=out[t])
        ctx.save_for_backward(h0, w_hh, out, rz, n, gh)
        ctx.has_bias = b_hh is not None
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, dout: Tensor):
        h0, w_hh, out, rz, n, gh = ctx.saved_tensors
        steps, batch, hidden = out.shape
        two = 2 * hidden
        d_in = torch.empty_like(gh)  # (T, B, 3H): gradient of xw
        d_rec = torch.empty_like(gh)  # (T, B, 3H): gradient of the recurrent pre-activations
        dh = torch.zeros_like(h0)
        for t in range(steps - 1, -1, -1):
            dh = dh + dout[t]
            h_prev = out[t - 1] if t > 0 else h0
            r, z = rz[t].chunk(2, 1)  # (B, H) each
            carry = dh * z  # straight through the z * h path
            dn = torch.ops.aten.tanh_backward.grad_input(dh - carry, n[t], grad_input=d_in[t, :, two:])
            torch.ops.aten.sigmoid_backward.grad_input(dn * gh[t, :, two:], r, grad_input=d_in[t, :, :hidden])
            torch.ops.aten.sigmoid_backward.grad_input(dh * (h_prev - n[t]), z, grad_input=d_in[t, :, hidden:two])
            d_rec[t, :, :two] = d_in[t, :, :two]
            torch.mul(dn, r, out=d_rec[t, :, two:])
            dh = torch.addmm(carry, d_rec[t], w_hh)  # (B, H)
        # Weight gradient over all steps at once: sum_t d_rec[t]^T h_{t-1}, split where h0 sits.
        flat = d_rec.view(steps * batch, 3 * hidden)  # (T*B, 3H)
        dw = d_rec[0].t().mm(h0)  # (3H, H)
        if steps > 1:
            dw.addmm_(flat[batch:].t(), out[:-1].reshape((steps - 1) * batch, hidden))
        db = flat.sum(0) if ctx.has_bias else None
        return d_in, dh, dw, db


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
    has_sequence = True

    def __init__(self, *args, fused: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fused = fused

    def _sequence(self, xw: Tensor, h0: Tensor, w_hh: Tensor, b_hh: Tensor | None) -> Tensor:
        return GRUSequence.apply(xw, h0, w_hh, b_hh)

    def _step(self, xw: Tensor, state: State, w_hh: Tensor, b_hh: Tensor | None) -> State:
        return gru_step(xw, state, w_hh, b_hh)

    def forward(self, input: Tensor | PackedSequence, hx: Tensor | None = None):
        output, (h_n,) = self._forward_states(input, None if hx is None else (hx,))
        return output, h_n
