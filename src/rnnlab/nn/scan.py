"""The parallel scan of a linear recurrence, for cells whose gates read the input only.

minGRU and minLSTM (Feng et al. 2024, "Were RNNs All We Needed?") update their state as
``h_t = a_t * h_{t-1} + b_t`` with ``a_t`` and ``b_t`` computed from the input alone, so a whole
chunk needs no loop over time: unrolled, ``h_t = A_t h_0 + sum_{k<=t} (A_t / A_k) b_k`` with
``A_t = a_1 ... a_t``. Products of many gates underflow, so the sum is taken in log space (Heinsen
2023): ``log A`` is a cumulative sum of log-gates and the sum over ``k`` a ``logcumsumexp``. That
needs ``b_t > 0``, which the cells arrange with :func:`g` (positive, and linear for x >= 0).
The ``h_0`` term stays out of the logarithm, so a carried state of any sign is exact.

``log A_t`` grows with t, and the result is a difference of two such large numbers: over
thousands of steps float32 would keep only a few digits. So the scan runs over blocks of
``BLOCK`` steps, each starting from the previous block's last state: exact within a block,
sequential only across blocks (a default training chunk of 32 characters is two).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn.utils.rnn import PackedSequence

from rnnlab.nn._base import RecurrentBase, State


def g(x: Tensor) -> Tensor:
    """The candidate state's activation: x + 0.5 for x >= 0, sigmoid(x) below (positive, continuous)."""
    return torch.where(x >= 0, x + 0.5, torch.sigmoid(x))


def log_g(x: Tensor) -> Tensor:
    """log(g(x)), computed without forming g(x) where it is tiny."""
    return torch.where(x >= 0, torch.log(F.relu(x) + 0.5), -F.softplus(-x))


BLOCK = 16  # steps per block: in float32 the scan stays within about 1e-4 of float64 at worst (tests/test_nn_min.py)


def scan(log_a: Tensor, log_b: Tensor, h0: Tensor) -> Tensor:
    """All states of ``h_t = a_t h_{t-1} + b_t``: log a, log b (T, B, H), h0 (B, H) -> (T, B, H)."""
    blocks = []
    for s in range(0, log_a.shape[0], BLOCK):
        log_prod = torch.cumsum(log_a[s : s + BLOCK], dim=0)  # (t, B, H): log A_t within the block
        from_inputs = torch.exp(log_prod + torch.logcumsumexp(log_b[s : s + BLOCK] - log_prod, dim=0))  # sum_k (A_t / A_k) b_k
        blocks.append(from_inputs + torch.exp(log_prod) * h0)  # (t, B, H)
        h0 = blocks[-1][-1]
    return torch.cat(blocks) if len(blocks) > 1 else blocks[0]  # (T, B, H)


def run_scan(log_gates, xw: Tensor, h0: Tensor, weight: Tensor) -> Tensor:
    """The scan of one layer and direction: ``log_gates(xw) -> (log a, log b)`` on the projected
    inputs ``xw`` (T, B, G*H). Under autocast it runs in the weights' precision: a log-space
    cumulative sum in bfloat16 would lose the state within a few dozen steps."""
    with torch.autocast(xw.device.type, enabled=False):
        log_a, log_b = log_gates(xw.to(weight.dtype))
        return scan(log_a, log_b, h0.to(weight.dtype))


class ScanLayer(RecurrentBase):
    """A stack of layers whose gates read the input only; ``(input, h_0) -> (output, h_n)`` as
    ``torch.nn.GRU``. A family sets ``num_chunks``, ``step`` (one step, for generation and the
    reference loop) and ``log_gates`` (log a, log b of the scan). As with the GRU's fused layer,
    ``fused=True`` takes the whole chunk at once, here by the scan; the default is the step loop,
    which trains faster on a CPU at rnnlab's sizes (docs/benchmarks.md)."""

    recurrent_weights = False
    has_sequence = True

    def __init__(self, *args, fused: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fused = fused

    def _step(self, xw: Tensor, state: State, w_hh: Tensor | None, b_hh: Tensor | None) -> State:
        return type(self).step(xw, state)

    def _sequence(self, xw: Tensor, h0: Tensor, w_hh: Tensor | None, b_hh: Tensor | None) -> Tensor:
        return run_scan(type(self).log_gates, xw, h0, self.weight_ih_l0)

    def forward(self, input: Tensor | PackedSequence, hx: Tensor | None = None):
        output, (h_n,) = self._forward_states(input, None if hx is None else (hx,))
        return output, h_n
