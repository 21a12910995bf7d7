"""Precision of the training forward pass: fp32, or autocast to bfloat16 / float16.

With bf16 or fp16 the forward passes (training and validation) run under ``torch.autocast``;
the weights, the optimizer state and the checkpoints stay fp32. fp16 also scales the loss
(``GradScaler``), since its small gradients would otherwise underflow to zero. The state carried
between chunks is kept in fp32 (:func:`carry`), so a resumed run may change its precision.

Whether a half precision trains a cell on a backend is probed, not assumed: kernels differ by
CPU (oneDNN's bf16 LSTM needs AVX-512 and has no kernel on an AVX2 CPU, where the GRU and the
reference LSTM train in bf16 all the same). :func:`check_trains` runs a tiny forward
and backward pass of the recurrent layer once per process and refuses what fails, in one line
naming what works instead.
"""

from __future__ import annotations

import contextlib
import functools

import torch

from rnnlab import cells
from rnnlab.errors import UserError

AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The dtype the forward pass is autocast to (None: plain fp32), or a UserError when
    ``device`` cannot train in that precision."""
    if precision == "fp32":
        return None
    if precision == "fp16" and device.type != "cuda":
        # On a CPU (torch 2.13) autocast's fp16 LSTM has no oneDNN kernel and fails at the first
        # batch, and GRU is not autocast at all: bf16 is the CPU's half-width format.
        raise UserError(f"--precision fp16 needs a CUDA device (this run is on {device.type}); use --precision bf16 or fp32")
    if precision == "bf16" and device.type == "cuda" and not _cuda_bf16():
        name = torch.cuda.get_device_name(device)
        raise UserError(f"--precision bf16 needs a GPU with bfloat16 support ({name} has none); use fp16 or fp32")
    dtype = AUTOCAST_DTYPES[precision]
    try:
        torch.autocast(device_type=device.type, dtype=dtype)
    except RuntimeError as e:
        raise UserError(f"--precision {precision} is not available on {device.type}: {str(e).splitlines()[0][:160]}") from None
    return dtype


@functools.cache
def probe(precision: str, device: str, cell: str, backend: str, directions: int = 1) -> str | None:
    """None when a tiny two-layer ``cell`` layer on ``backend`` runs a forward and a backward pass
    under ``precision``'s autocast on ``device``; else the first line of the error. Cached, so
    each combination is tried once per process; the global random state is left as it was."""
    if precision == "fp32":
        return None
    dev = torch.device(device)
    layer_cls, extra = cells.layer_class(cell, backend)
    with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
        torch.manual_seed(0)
        try:
            layer = layer_cls(3, 4, num_layers=2, batch_first=True, bidirectional=directions == 2, **extra).to(dev)
            x = torch.randn(2, 5, 3, device=dev, requires_grad=True)  # (B, T, D)
            with torch.autocast(device_type=dev.type, dtype=AUTOCAST_DTYPES[precision]):
                out = layer(x)[0]  # (B, T, directions * H)
            out.float().square().sum().backward()
        except RuntimeError as e:
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            return first.split(". ")[0].rstrip(".")[:200]  # oneDNN adds a sentence on its verbose mode
    return None


def check_trains(precision: str, device: torch.device, cell: str, backend: str, directions: int = 1) -> None:
    """Refuse (:class:`UserError`, one line) a ``precision`` that cannot train ``cell`` on
    ``backend`` here, naming what does: fp32, the reference backend, other cells."""
    problem = probe(precision, str(device), cell, backend, directions)
    if problem is None:
        return
    where = "this CPU" if device.type == "cpu" else str(device)
    alternatives = ["--precision fp32"]
    if backend != "reference" and probe(precision, str(device), cell, "reference", directions) is None:
        alternatives.append("--impl reference")
    others = [
        c
        for c in cells.CELLS
        if c != cell and probe(precision, str(device), c, cells.resolve_impl("auto", c, device.type), directions) is None
    ]
    if others:
        alternatives.append(f"--cell {', '.join(others)}")
    raise UserError(
        f"--precision {precision} cannot train the {cell.upper()} on {_BACKEND_NAMES[backend]} on {where} ({problem}); "
        f"what trains here: {'; '.join(alternatives)}"
    )


_BACKEND_NAMES = {"torch": "torch.nn's layer", "reference": "rnnlab.nn's step loop", "fused": "rnnlab.nn's fused layer"}


def _cuda_bf16() -> bool:
    try:
        # Emulated bf16 (pre-Ampere) has no cuDNN RNN kernels: only the real thing will do.
        return torch.cuda.is_bf16_supported(including_emulation=False)
    except TypeError:  # older torch, without the argument
        return torch.cuda.is_bf16_supported()


class Precision:
    """The autocast context and, for fp16, the loss scaler of one training run."""

    def __init__(self, precision: str, device: torch.device):
        self.name = precision
        self.device = device
        self.dtype = autocast_dtype(precision, device)
        self.scaler = torch.amp.GradScaler(device.type) if precision == "fp16" else None

    def autocast(self) -> contextlib.AbstractContextManager:
        """Where the forward pass runs in this precision (a no-op for fp32)."""
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.dtype)

    def backward_and_step(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer, params, grad_clip: float) -> torch.Tensor:
        """Backward, clip to ``grad_clip`` (0: off) and take the optimizer step; returns the
        gradient's norm before clipping (a tensor: reading it would wait for the device)."""
        limit = grad_clip if grad_clip > 0 else float("inf")  # inf: measured, not clipped
        if self.scaler is None:
            loss.backward()
            norm = torch.nn.utils.clip_grad_norm_(params, limit)
            optimizer.step()
            return norm.detach()
        # fp16: the loss is scaled up so small gradients survive. A step whose scaled gradients
        # overflow is skipped by the scaler, which lowers the scale: that is its normal search
        # for the largest safe scale, not a failure of training (the loss itself was checked).
        self.scaler.scale(loss).backward()
        self.scaler.unscale_(optimizer)  # measure and clip the true gradients, not the scaled ones
        norm = torch.nn.utils.clip_grad_norm_(params, limit)
        self.scaler.step(optimizer)
        self.scaler.update()
        return norm.detach()


def carry(state):
    """The state handed to the next chunk: cut from the graph, and fp32 whatever the autocast
    dtype was, so the checkpoint holds fp32 and a resume may change the precision."""
    if isinstance(state, tuple):
        return tuple(carry(s) for s in state)
    state = state.detach()
    return state.float() if state.dtype in (torch.float16, torch.bfloat16) else state
