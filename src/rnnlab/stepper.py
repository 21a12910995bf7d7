"""The one-step runner: a :class:`~rnnlab.model.CharRNN` advanced one character at a time.

Sampling (:mod:`rnnlab.sampling`) and the report (:mod:`rnnlab.report`) both run the model
through it: sampling one step per drawn character, the report over a whole text while keeping
every state (:meth:`Stepper.read`) and recomputing the gates from them (:meth:`Stepper.gates`).

Generation is dominated by fixed costs per character, not arithmetic: at batch 1 each weight is
read once per step (memory-bound) and every tensor op adds microseconds of dispatch. A one-step
call into ``nn.LSTM`` costs far more in dispatch (and, with oneDNN, in setup) than the few small
matmuls it does, so the stepper runs the cell's own step function (``rnnlab.nn``) on the model's
weights, with what does not change prepared once:

- layer 0's input projection of every symbol is a table, ``(V, G*H)`` = embedding (or the one-hot
  identity) times ``W_ih^T`` plus the biases, so that matmul becomes a row lookup;
- the other weights are transposed once into contiguous ``(in, G*H)`` copies;
- the state stays a list of per-layer tensors, stacked to ``(L, B, H)`` only on request;
- one stream on the CPU (batch 1, float32, a plain LSTM, GRU or tanh RNN stack) steps in NumPy
  (:mod:`rnnlab.step_numpy`), on the same arranged weights.

Same weights and equations as ``forward``; equal to it to float rounding (tested). The weights
are read when the stepper is built: build a new one after changing them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from rnnlab import cells
from rnnlab.model import CharRNN, State
from rnnlab.nn._base import project_input
from rnnlab.step_numpy import CELLS as NUMPY_CELLS
from rnnlab.step_numpy import NumpyStep


@dataclass
class Reading:
    """What :meth:`Stepper.read` kept: per layer, every state tensor after each step, and the
    logits after each step."""

    states: list[tuple[torch.Tensor, ...]]  # per layer, per state tensor (h, or h and c): (T, B, H)
    logits: torch.Tensor  # (T, B, V)
    inputs: list[torch.Tensor | None]  # per layer, what it read at each step (T, B, D); None for layer 0 (the ids)


class Stepper:
    def __init__(self, model: CharRNN, state: State | None = None, batch_size: int = 1, numpy: bool = True):
        """``numpy``: whether one stream on the CPU may step in NumPy (not where the step is traced,
        as the ONNX export does)."""
        cfg = model.cfg
        self.cell, self.cell_name = cells.get(cfg.cell), cfg.cell
        self.step_fn = self.cell.step_fn()
        self.residual = cfg.residual
        fold = self.cell.fold_hh_bias
        if state is None:
            state = model.init_state(batch_size)
        per_kind = state if isinstance(state, tuple) else (state,)  # each (L, B, H)
        self.is_tuple = isinstance(state, tuple)
        self.initial = [tuple(s[layer] for s in per_kind) for layer in range(cfg.layers)]
        self.states = list(self.initial)
        self.layers, self.norms, self.mlps = [], [], []
        with torch.no_grad():
            for layer in range(cfg.layers):
                rnn, k, norm, mlp = model.layer(layer)
                w_ih, w_hh, b_ih, b_hh = (getattr(rnn, f"{n}_l{k}", None) for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
                if layer == 0:
                    eye = torch.eye(cfg.vocab_size, dtype=w_ih.dtype, device=w_ih.device)
                    self.symbols = model.embed.weight if model.embed is not None else eye  # (V, E): the residual stream's start
                    w_in = project_input(norm(self.symbols), w_ih, b_ih, b_hh if fold else None)  # (V, G*H) table
                    b_in = None
                else:
                    w_in = w_ih.t().contiguous()  # (H, G*H)
                    b_in = b_ih + b_hh if fold and b_hh is not None else b_ih  # (G*H,)
                # The step functions compute h @ w.t(); handing them the transposed view of a
                # contiguous (H, G*H) copy makes that product read memory in order.
                w_rec = None if w_hh is None else w_hh.t().contiguous().t()  # (G*H, H) view; None: gates read the input only
                self.layers.append((w_in, b_in, w_rec, None if fold else b_hh))
                self.norms.append(norm)
                self.mlps.append(mlp)
            self.final_norm = model.norm if cfg.stacked else None
            self.head_w = model.head.weight.t().contiguous()  # (H, V)
            self.head_b = model.head.bias
        plain = not cfg.stacked and not cfg.residual and all(isinstance(n, torch.nn.Identity) for n in self.norms) and not any(self.mlps)
        on_cpu = self.head_w.device.type == "cpu" and self.head_w.dtype == torch.float32
        # One stream on the CPU steps in NumPy (rnnlab.step_numpy says why); its state is kept as
        # arrays (self._np) and read back into tensors only when asked for (self.states). Its
        # weights are arranged at the first such step: many steppers never run one stream.
        self._numpy_ok = numpy and plain and on_cpu and cfg.cell in NUMPY_CELLS
        self._numpy: NumpyStep | None = None
        self._np: list[tuple] | None = None

    @property
    def numpy(self) -> NumpyStep | None:
        """The NumPy step of one stream, where it applies (else None)."""
        if self._numpy is None and self._numpy_ok:
            self._numpy = NumpyStep(self.cell_name, self.layers, self.head_w, self.head_b)
        return self._numpy

    @property
    def states(self) -> list[tuple[torch.Tensor, ...]]:
        """Per layer, the state tensors (B, H) each."""
        if self._np is not None:
            self._states = [tuple(torch.from_numpy(a)[None] for a in layer) for layer in self._np]  # (1, H) each
            self._np = None
        return self._states

    @states.setter
    def states(self, value: list[tuple[torch.Tensor, ...]]) -> None:
        self._states, self._np = value, None

    def _project(self, layer: int, x: torch.Tensor) -> torch.Tensor:
        """The input projection of ``layer``: ids (N,) for layer 0, else what the layer below passed up (N, D)."""
        w_in, b_in, _, _ = self.layers[layer]
        return w_in[x.long()] if layer == 0 else torch.addmm(b_in, self.norms[layer](x), w_in)  # (N, G*H)

    def _pass_up(self, layer: int, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """What ``layer`` passes up, given what it read (x: ids for layer 0) and its output h (N, H)."""
        if self.residual:
            h = (self.symbols[x.long()] if layer == 0 else x) + h  # (N, H)
        mlp = self.mlps[layer]
        return h if mlp is None else h + mlp(h)

    def _logits(self, x: torch.Tensor) -> torch.Tensor:
        if self.final_norm is not None:
            x = self.final_norm(x)
        return torch.addmm(self.head_b, x, self.head_w)  # (B, V)

    @property
    def one_stream(self) -> bool:
        """Whether :meth:`step_one` applies: one stream, on the CPU, a cell with a NumPy step."""
        return self._numpy_ok and (self._np is not None or self._states[0][0].shape[0] == 1)

    def step_one(self, symbol: int, seen: list[list[torch.Tensor]] | None = None) -> np.ndarray:
        """One stream's step in NumPy (where :attr:`one_stream`): the logits (V,) after ``symbol``."""
        if self._np is None:
            self._np = [tuple(s.detach().numpy()[0] for s in layer) for layer in self._states]  # views, (H,) each
        return self.numpy(symbol, self._np, seen)

    @torch.no_grad()
    def __call__(self, ids: torch.Tensor, seen: list[list[torch.Tensor]] | None = None) -> torch.Tensor:
        """ids (B,) -> logits (B, V); the state moves one character on. ``seen``: per layer, a
        list that gets what the layer read (for :meth:`read`)."""
        if ids.shape[0] == 1 and self._numpy_ok:
            return torch.from_numpy(self.step_one(int(ids[0]), seen))[None]  # (1, V)
        x = ids
        for layer, (_, _, w_rec, b_rec) in enumerate(self.layers):
            if seen is not None:
                seen[layer].append(x)
            out = self.step_fn(self._project(layer, x), self.states[layer], w_rec, b_rec)
            self.states[layer] = out
            x = self._pass_up(layer, x, out[0])  # (B, H)
        return self._logits(x)

    def add_rows(self, state: State) -> None:
        """Append streams to the batch: ``state`` in ``forward``'s layout, (L, B', H) each
        (continuous batching: a stream joins between steps)."""
        per_kind = state if isinstance(state, tuple) else (state,)
        self.states = [
            tuple(torch.cat([old, new[layer]]) for old, new in zip(self.states[layer], per_kind)) for layer in range(len(self.states))
        ]

    def keep_rows(self, rows: torch.Tensor) -> None:
        """Keep only the streams ``rows`` (B',), in that order: the others leave the batch."""
        self.states = [tuple(s.index_select(0, rows) for s in layer) for layer in self.states]

    def state(self) -> State:
        """The current state in ``forward``'s layout: (L, B, H), or a tuple of them (LSTM's h, c)."""
        stacked = tuple(torch.stack([s[k] for s in self.states]) for k in range(len(self.states[0])))  # (L, B, H) each
        return stacked if self.is_tuple else stacked[0]

    @torch.no_grad()
    def read(self, ids: torch.Tensor) -> Reading:
        """Feed ids (B, T) one step at a time, keeping every state, what each layer read, and the logits."""
        kept: list[list[list[torch.Tensor]]] = [[[] for _ in s] for s in self.states]
        inputs: list[list[torch.Tensor]] = [[] for _ in self.layers]
        logits = []
        for t in range(ids.shape[1]):
            logits.append(self(ids[:, t], inputs))
            for layer, st in enumerate(self.states):
                for k, s in enumerate(st):
                    kept[layer][k].append(s)
        states = [tuple(torch.stack(k) for k in layer) for layer in kept]  # (T, B, H) each
        seen = [None] + [torch.stack(x) for x in inputs[1:]]  # (T, B, D) each
        return Reading(states, torch.stack(logits), seen)  # logits (T, B, V)

    @torch.no_grad()
    def gates(self, ids: torch.Tensor, reading: Reading, row: int = 0) -> list[dict[str, torch.Tensor]]:
        """The gates of stream ``row`` at every step of a :meth:`read` of ``ids`` (B, T) from this
        stepper's initial state: per layer, gate name -> (T, H) in (0, 1). They are recomputed in
        one product per layer from the recorded states, ``pre = W_ih x_t + W_hh h_{t-1} + b``."""
        out = []
        for layer, (_, _, w_rec, b_rec) in enumerate(self.layers):
            x = ids[row] if layer == 0 else reading.inputs[layer][:, row]  # (T,) ids, or (T, D)
            h = reading.states[layer][0][:, row]  # (T, H)
            h_prev = torch.cat([self.initial[layer][0][row : row + 1], h[:-1]])  # (T, H): where each step started
            out.append(self.cell.gate_values(self._project(layer, x), h_prev, w_rec, b_rec))
        return out
