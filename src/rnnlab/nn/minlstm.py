"""minLSTM (Feng et al. 2024): an LSTM reduced to input-only forget and input gates, normalised.

    f = sigmoid(W_f x + b_f),  i = sigmoid(W_i x + b_i),  h~ = g(W_h x + b_h)
    f' = f / (f + i),  i' = i / (f + i),  h' = f' * h + i' * h~

The normalisation keeps the state's scale independent of time. As :mod:`rnnlab.nn.mingru`: no
recurrent weights, a parallel scan over a chunk, one constant-size step per generated character;
``weight_ih_l0`` is (3H, D); ``fused=True`` runs the scan, the default the step loop.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnlab.nn._base import State
from rnnlab.nn.scan import ScanLayer, log_g


def _log_fi(xw: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """log f', log i' and the candidate's pre-activation of the projected inputs (..., 3H)."""
    kf, ki, v = xw.chunk(3, -1)
    log_f, log_i = -F.softplus(-kf), -F.softplus(-ki)
    norm = torch.logaddexp(log_f, log_i)  # log(f + i)
    return log_f - norm, log_i - norm, v


def minlstm_step(xw: Tensor, state: State, w_hh: Tensor | None = None, b_hh: Tensor | None = None) -> State:
    """One step; ``xw`` (B, 3H) is the projected input [forget | input | candidate]."""
    (h,) = state
    log_f, log_i, v = _log_fi(xw)
    return (torch.exp(log_f) * h + torch.exp(log_i + log_g(v)),)


def minlstm_log_gates(xw: Tensor) -> tuple[Tensor, Tensor]:
    log_f, log_i, v = _log_fi(xw)
    return log_f, log_i + log_g(v)


def minlstm_gates(xw: Tensor, h_prev: Tensor, w_hh: Tensor | None = None, b_hh: Tensor | None = None) -> dict[str, Tensor]:
    """The normalised forget and input gates of many steps (T, H), from the projected inputs alone."""
    log_f, log_i, _ = _log_fi(xw)
    return {"forget": torch.exp(log_f), "input": torch.exp(log_i)}


class MinLSTM(ScanLayer):
    """A stack of minLSTM layers; ``(input, h_0) -> (output, h_n)`` (one state tensor, no cell state)."""

    num_chunks = 3
    step = staticmethod(minlstm_step)
    log_gates = staticmethod(minlstm_log_gates)
