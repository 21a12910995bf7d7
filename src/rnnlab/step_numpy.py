"""The stepper's path for one stream on the CPU: a step of an LSTM, GRU or tanh RNN stack in NumPy.

Why by hand: at batch 1 a step is three or so matrix-vector products and a few dozen elementwise
operations on vectors of a few hundred floats, so its cost is the calls, not the arithmetic. A
NumPy call costs less than torch's dispatch, and NumPy's BLAS reads a weight matrix faster than
torch's ``addmm`` on a ``(1, H) x (H, 4H)`` product (``benchmarks/sample_speed.py`` measures both
rates; docs/benchmarks.md, "One stream in NumPy"). The weights are the
:class:`~rnnlab.stepper.Stepper`'s own arrangement seen as arrays (no copy), the equations those
of ``rnnlab.nn``'s step functions; the logits equal the torch step's to float rounding
(``tests/test_step_numpy.py``). A plain stack only (no norms, residual or MLPs), float32.
"""

from __future__ import annotations

import numpy as np
import torch

CELLS = ("lstm", "gru", "rnn")  # the cells whose step is written here


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # Through tanh: no overflow for large negative x, as 1 / (1 + exp(-x)) would warn of.
    return 0.5 * np.tanh(0.5 * x) + 0.5


def _lstm(gates: np.ndarray, state: tuple[np.ndarray, ...], w: np.ndarray | None, b: np.ndarray | None) -> tuple[np.ndarray, ...]:
    """``gates``: the input's part of the pre-activations (4H,); ``w``, ``b``: the recurrent product
    still to add (None: ``gates`` holds it already)."""
    h, c = state
    if w is not None:
        gates = gates + h @ w  # (4H,)
    if b is not None:
        gates = gates + b
    n = gates.shape[0] // 4
    s = _sigmoid(gates)  # i, f and o (g's sigmoid is not used)
    c = s[n : 2 * n] * c + s[:n] * np.tanh(gates[2 * n : 3 * n])  # (H,)
    return s[3 * n :] * np.tanh(c), c


def _gru(gx: np.ndarray, state: tuple[np.ndarray, ...], w: np.ndarray | None, b: np.ndarray | None) -> tuple[np.ndarray, ...]:
    (h,) = state
    gh = h @ w  # (3H,)
    if b is not None:
        gh += b
    n = gh.shape[0] // 3
    rz = _sigmoid(gx[: 2 * n] + gh[: 2 * n])  # r, z (2H,)
    cand = np.tanh(gx[2 * n :] + rz[:n] * gh[2 * n :])  # (H,)
    return (cand + rz[n:] * (h - cand),)


def _rnn(pre: np.ndarray, state: tuple[np.ndarray, ...], w: np.ndarray | None, b: np.ndarray | None) -> tuple[np.ndarray, ...]:
    if w is not None:
        pre = pre + state[0] @ w  # (H,)
    if b is not None:
        pre = pre + b
    return (np.tanh(pre),)


STEPS = {"lstm": _lstm, "gru": _gru, "rnn": _rnn}


def _array(t: torch.Tensor | None) -> np.ndarray | None:
    return None if t is None else t.detach().numpy()


class NumpyStep:
    """One step of a stack, from a stepper's arranged weights: per layer ``(w_in, b_in, w_rec,
    b_rec)`` (layer 0's ``w_in`` is the ``(V, G*H)`` table of projected symbols, the others'
    ``(D, G*H)`` with their bias; ``w_rec`` the ``(G*H, H)`` view of a contiguous ``(H, G*H)``) and
    the head, ``(H, V)`` and ``(V,)``. States are vectors, ``(H,)``."""

    def __init__(self, cell: str, layers: list[tuple], head_w: torch.Tensor, head_b: torch.Tensor):
        self.step = STEPS[cell]
        # Above layer 0 the input and the state go through one product, [x, h] @ [W_in; W_rec]: one
        # pass over the weights reads faster than two. Not the GRU's: its state's product is
        # needed apart (the reset gate multiplies it).
        self.joined = cell != "gru"
        self.layers = []
        for i, (w_in, b_in, w_rec, b_rec) in enumerate(layers):
            w_rec_t = _array(w_rec.t())  # (H, G*H)
            if i > 0 and self.joined:
                self.layers.append((np.concatenate([_array(w_in), w_rec_t]), _array(b_in), None, _array(b_rec)))  # (D + H, G*H)
            else:
                self.layers.append((_array(w_in), _array(b_in), w_rec_t, _array(b_rec)))
        self.head_w, self.head_b = _array(head_w), _array(head_b)

    def __call__(self, symbol: int, states: list[tuple[np.ndarray, ...]], seen: list[list] | None = None) -> np.ndarray:
        """The logits (V,) after reading ``symbol``; ``states`` (per layer, each state (H,)) are
        replaced by the new ones; ``seen``: per layer, a list that gets what the layer read, (1,) or (1, D)."""
        x = None
        for layer, (w_in, b_in, w_rec, b_rec) in enumerate(self.layers):
            if seen is not None:
                seen[layer].append(torch.tensor([symbol]) if layer == 0 else torch.from_numpy(x)[None])
            if layer == 0:
                xw = w_in[symbol]  # (G*H,): a row of the table
            elif w_rec is None:
                xw = np.concatenate([x, states[layer][0]]) @ w_in + b_in  # (G*H,): input and state at once
            else:
                xw = x @ w_in + b_in  # (G*H,)
            states[layer] = self.step(xw, states[layer], w_rec, b_rec)
            x = states[layer][0]  # (H,)
        return x @ self.head_w + self.head_b  # (V,)
