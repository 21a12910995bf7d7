"""The recurrent cells rnnlab knows: one registration line each.

A cell lives in its own module under ``rnnlab/nn/`` with a one-step function
``step(xw, state, w_hh, b_hh) -> state`` (``xw``: the input projection), a layer class with
``torch.nn``'s signature and parameter names (``weight_ih_l0`` ...), and optionally a function
``gates(xw, h_prev, w_hh, b_hh) -> {name: (T, H)}`` for the report. Registering it below makes it a
``--cell`` choice for training, sampling (the one-step runner), the tagger and the report.

This module imports nothing heavy: the command line builds its ``--cell`` choices from it
before torch is loaded. The modules named here are imported on first use.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import Any


@dataclass(frozen=True)
class Cell:
    name: str
    module: str  # the rnnlab.nn module that holds the cell
    layer: str  # its layer class; torch.nn's twin has the same name when ``torch_twin``
    step: str  # its one-step function
    states: tuple[str, ...] = ("h",)  # the state tensors, the output first
    gates: tuple[str, ...] = ()  # the gates the report shows, computed by ``gates_fn``
    gates_fn: str | None = None
    torch_twin: bool = True
    fused_max_batch: int = 0  # on a CPU, ``auto`` takes the fused layer up to this many streams (0: never)
    scan: bool = False  # the fused layer is a parallel scan over the chunk: ``auto`` takes it off a CPU

    def load(self) -> ModuleType:
        return importlib.import_module(self.module)

    @property
    def has_fused(self) -> bool:
        return self.fused_max_batch > 0 or self.scan

    @property
    def fold_hh_bias(self) -> bool:
        """Whether b_hh may join the input projection (not the GRU's: it sits inside r * (.))."""
        return getattr(self.load(), self.layer).fold_hidden_bias

    def step_fn(self):
        return getattr(self.load(), self.step)

    def gate_values(self, xw, h_prev, w_hh, b_hh) -> dict[str, Any]:
        return getattr(self.load(), self.gates_fn)(xw, h_prev, w_hh, b_hh) if self.gates_fn else {}


# fused_max_batch: where the fused layer trained faster than torch.nn's on a 2-core CPU
# (docs/benchmarks.md): GRU 1.06-1.50x at 16 and 32 streams but level at 64; RNN 0.97-1.31x up to 64.
# The min cells' scan is slower than their step loop on that CPU (minGRU 2x256: 2.2-3.2x at 16 x 32
# and 64 x 64; minLSTM level), so there ``auto`` keeps the loop; elsewhere it takes the scan.
REGISTRY: dict[str, Cell] = {
    c.name: c
    for c in (
        Cell("lstm", "rnnlab.nn.lstm", "LSTM", "lstm_step", ("h", "c"), ("input", "forget", "output"), "lstm_gates"),
        Cell("gru", "rnnlab.nn.gru", "GRU", "gru_step", ("h",), ("reset", "update"), "gru_gates", fused_max_batch=32),
        Cell("rnn", "rnnlab.nn.rnn", "RNN", "rnn_tanh_step", fused_max_batch=64),
        Cell("mingru", "rnnlab.nn.mingru", "MinGRU", "mingru_step", ("h",), ("update",), "mingru_gates", torch_twin=False, scan=True),
        Cell(
            "minlstm",
            "rnnlab.nn.minlstm",
            "MinLSTM",
            "minlstm_step",
            ("h",),
            ("forget", "input"),
            "minlstm_gates",
            torch_twin=False,
            scan=True,
        ),
    )
}
CELLS = tuple(REGISTRY)

# torch: torch.nn's layers (cuDNN on a GPU, oneDNN for the LSTM on a CPU); reference: rnnlab.nn's
# step loop; fused: rnnlab.nn's layer as one autograd node with a hand-written backward (GRU, RNN),
# or the parallel scan over the whole chunk (the min cells).
BACKENDS = ("torch", "reference", "fused")
IMPLS = ("auto", *BACKENDS)


def get(name: str) -> Cell:
    return REGISTRY[name]


def resolve_impl(impl: str, cell: str, device_type: str = "cpu", batch_size: int | None = None) -> str:
    """``auto`` -> the backend measured fastest for this cell, device type and per-process batch.

    On a CPU, torch.nn's GRU and RNN have no fused kernel and record autograd nodes at every
    step; the fused layers train faster there up to ``fused_max_batch`` streams. The min cells'
    scan pays off only off a CPU. Every backend has the same parameters, so weights load into any.
    """
    if impl != "auto":
        return impl
    c = REGISTRY[cell]
    if device_type == "cpu" and c.fused_max_batch and (batch_size is None or batch_size <= c.fused_max_batch):
        return "fused"
    if device_type != "cpu" and c.scan:
        return "fused"
    return "torch" if c.torch_twin else "reference"


def layer_class(cell: str, backend: str):
    """The layer class of ``cell`` for a resolved backend, and the extra keyword it takes."""
    c = REGISTRY[cell]
    if backend == "torch":
        import torch

        return getattr(torch.nn, c.layer), {}
    return getattr(c.load(), c.layer), ({"fused": True} if backend == "fused" else {})
