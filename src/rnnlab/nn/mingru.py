"""minGRU (Feng et al. 2024): a GRU whose gate and candidate read the input only.

    z = sigmoid(W_z x + b_z),  h~ = g(W_h x + b_h),  h' = (1 - z) * h + z * h~

No recurrent weights: a whole chunk can be one parallel scan (:mod:`rnnlab.nn.scan`) in
training, while generation takes one constant-size step per character like any cell.
:class:`MinGRU` has ``torch.nn.GRU``'s signature and parameter naming (``weight_ih_l0`` (2H, D),
``bias_ih_l0``), without the ``hh`` ones. ``fused=True`` runs the scan (``--impl fused``, what
``auto`` takes on a GPU); the default is the step loop, faster on a CPU and the reference the
scan is tested against.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnlab.nn._base import State
from rnnlab.nn.scan import ScanLayer, g, log_g


def mingru_step(xw: Tensor, state: State, w_hh: Tensor | None = None, b_hh: Tensor | None = None) -> State:
    """One step; ``xw`` (B, 2H) is the projected input [gate | candidate]."""
    (h,) = state
    k, v = xw.chunk(2, 1)  # (B, H) each
    # Under autocast xw is half precision while the carried state stays float32; lerp wants one dtype.
    return (torch.lerp(h, g(v).to(h.dtype), torch.sigmoid(k).to(h.dtype)),)  # (1 - z) h + z g(v)


def mingru_log_gates(xw: Tensor) -> tuple[Tensor, Tensor]:
    """log(1 - z) and log(z * g(v)) of the projected inputs (..., 2H)."""
    k, v = xw.chunk(2, -1)
    return -F.softplus(k), -F.softplus(-k) + log_g(v)


def mingru_gates(xw: Tensor, h_prev: Tensor, w_hh: Tensor | None = None, b_hh: Tensor | None = None) -> dict[str, Tensor]:
    """The update gate z of many steps (T, H), from the projected inputs alone."""
    return {"update": torch.sigmoid(xw.chunk(2, 1)[0])}


class MinGRU(ScanLayer):
    """A stack of minGRU layers; ``(input, h_0) -> (output, h_n)`` as ``torch.nn.GRU``."""

    num_chunks = 2
    step = staticmethod(mingru_step)
    log_gates = staticmethod(mingru_log_gates)
