"""The stepper's path for one stream on the CPU: a step of an LSTM, GRU or tanh RNN stack in NumPy.

Why by hand: at batch 1 a step is three or so matrix-vector products and a few dozen elementwise
operations on vectors of a few hundred floats, so its cost is the calls, not the arithmetic. A
NumPy call costs less than torch's dispatch, and NumPy's BLAS reads a weight matrix faster than
torch's ``addmm`` on a ``(1, H) x (H, 4H)`` product (``benchmarks/sample_speed.py`` measures both
rates; docs/benchmarks.md, "One stream in NumPy"). So the step is written for few calls:

- every sigmoid is ``0.5 * tanh(0.5 x) + 0.5`` (no overflow warning for large negative x), with the
  0.5 inside folded into the weights (exact: a power of two), so one ``tanh`` covers all the gates;
- the LSTM's gate blocks are arranged i, f, o, g, so its three sigmoid gates are one slice;
- every bias but the GRU's candidate's recurrent one is folded into the input's part, which for
  layer 0 is a row of the stepper's table of projected symbols;
- above layer 0 (not in the GRU, whose reset gate multiplies the state's product alone) the input
  and the state go through one product, ``[x, h] @ [W_in; W_rec]``: one pass over the weights;
- each matrix is kept as ``(G*H, in)``, contiguous, and multiplied as ``W @ v`` into the layer's
  buffer (``ndarray.dot`` with ``out``), the form NumPy's BLAS read the joined matrix and the
  head fastest in where measured (docs/benchmarks.md; ``products`` lists what a step multiplies);
- the pre-activations live in buffers made once per layer, with their slices.

The weights are the :class:`~rnnlab.stepper.Stepper`'s arrangement, rearranged once; the equations
those of ``rnnlab.nn``'s step functions, and the logits equal the torch step's to float rounding
(``tests/test_step_numpy.py``). A plain stack only (no norms, residual or MLPs), float32.
"""

from __future__ import annotations

import numpy as np
import torch

CELLS = ("lstm", "gru", "rnn")  # the cells whose step is written here


def _array(t: torch.Tensor | None) -> np.ndarray | None:
    return None if t is None else t.detach().numpy()


class _Layer:
    """One layer's weights and buffers. Layer 0 reads a symbol (a row of ``table``); the others a
        vector ``x``. ``gates``: how many blocks of H (columns of the table and the biases, rows of a
    matrix); ``halved``: the blocks whose
        pre-activation feeds a sigmoid; ``order``: the blocks' order in the buffer; ``joined``: whether
        input and state share one product."""

    gates, halved, order, joined = 1, (), (0,), True

    def __init__(self, first: bool, w_in: np.ndarray, b_in: np.ndarray | None, w_rec: np.ndarray, b_rec: np.ndarray | None):
        self.n, self.first = w_rec.shape[0] // self.gates, first
        b, self.b_apart = self._biases(b_in, b_rec)
        self.table = self.w = self.w_rec = self.b = None
        if first:
            self.table = self._arrange(w_in if b is None else w_in + b)  # (V, G*H)
            self.w_rec = self._arrange(w_rec, rows=True)  # (G*H, H)
        elif self.joined:
            self.w, self.b = self._arrange(np.concatenate([w_in.T, w_rec], axis=1), rows=True), self._arrange(b)  # (G*H, D + H)
        else:
            self.w, self.w_rec, self.b = self._arrange(w_in.T, rows=True), self._arrange(w_rec, rows=True), self._arrange(b)
        self.z = np.empty(self.gates * self.n, np.float32)  # the pre-activations, one buffer for every step

    def _biases(self, b_in: np.ndarray | None, b_rec: np.ndarray | None) -> tuple[np.ndarray | None, np.ndarray | None]:
        """The bias added with the input, and the one kept apart (None: all of it folded)."""
        return (b_in if b_rec is None else b_rec if b_in is None else b_in + b_rec), None

    def _arrange(self, w: np.ndarray | None, rows: bool = False) -> np.ndarray | None:
        """Columns (..., G*H), or ``rows`` (G*H, ...), in the buffer's order with the sigmoid blocks
        halved: a new, contiguous array."""
        if w is None:
            return None
        if rows:
            return np.ascontiguousarray(self._arrange(w.T).T)
        n = self.n
        blocks = [w[..., k * n : (k + 1) * n] * (0.5 if k in self.halved else 1.0) for k in self.order]
        return np.ascontiguousarray(np.concatenate(blocks, axis=-1), dtype=np.float32)

    def _pre(self, x, h: np.ndarray) -> np.ndarray:
        """The pre-activations of input and state, into ``self.z``."""
        z = self.z
        if self.first:
            self.w_rec.dot(h, out=z)
            z += self.table[x]
        else:
            self.w.dot(np.concatenate((x, h)), out=z)
            if self.b is not None:
                z += self.b
        return z


class _Rnn(_Layer):
    def __call__(self, x, state: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
        return (np.tanh(self._pre(x, state[0])),)


class _Lstm(_Layer):
    gates, halved, order = 4, (0, 1, 3), (0, 1, 3, 2)  # torch's i, f, g, o kept as i, f, o, g

    def __init__(self, *args):
        super().__init__(*args)
        z, n = self.z, self.n
        self.sig, self.i, self.f, self.o, self.g = z[: 3 * n], z[:n], z[n : 2 * n], z[2 * n : 3 * n], z[3 * n :]

    def __call__(self, x, state: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
        h, c = state
        z = self._pre(x, h)
        np.tanh(z, out=z)
        self.sig *= 0.5
        self.sig += 0.5  # i, f, o: sigmoids; g: tanh
        c = self.f * c
        self.i *= self.g
        c += self.i  # (H,)
        h = np.tanh(c)
        h *= self.o
        return h, c


class _Gru(_Layer):
    gates, halved, order, joined = 3, (0, 1), (0, 1, 2), False  # r, z, n

    def __init__(self, *args):
        super().__init__(*args)
        n, z = self.n, self.z
        self.gh = np.empty(3 * n, np.float32)  # the state's product
        self.rz, self.r, self.u, self.x_n = z[: 2 * n], z[:n], z[n : 2 * n], z[2 * n :]
        self.gh_rz, self.gh_n = self.gh[: 2 * n], self.gh[2 * n :]
        if self.first:
            self.table_rz, self.table_n = self.table[:, : 2 * n], self.table[:, 2 * n :]

    def _biases(self, b_in: np.ndarray | None, b_rec: np.ndarray | None) -> tuple[np.ndarray | None, np.ndarray | None]:
        # r's and z's recurrent biases add to the input's; the candidate's is multiplied by r.
        if b_rec is None:
            return b_in, None
        n = b_rec.shape[0] // 3
        rz = np.concatenate([b_rec[: 2 * n], np.zeros(n, np.float32)])
        return (rz if b_in is None else b_in + rz), b_rec[2 * n :].copy()

    def __call__(self, x, state: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
        (h,) = state
        gh_n = self.gh_n
        self.w_rec.dot(h, out=self.gh)
        if self.first:
            np.add(self.table_rz[x], self.gh_rz, out=self.rz)
            x_n = self.table_n[x]
        else:
            self.w.dot(x, out=self.z)
            if self.b is not None:
                self.z += self.b
            self.rz += self.gh_rz
            x_n = self.x_n
        np.tanh(self.rz, out=self.rz)
        self.rz *= 0.5
        self.rz += 0.5  # r, z: sigmoids
        if self.b_apart is not None:
            gh_n += self.b_apart
        gh_n *= self.r
        gh_n += x_n
        cand = np.tanh(gh_n)  # (H,)
        h = h - cand
        h *= self.u
        h += cand
        return (h,)


LAYERS = {"lstm": _Lstm, "gru": _Gru, "rnn": _Rnn}


class NumpyStep:
    """One step of a stack, from a stepper's arranged weights: per layer ``(w_in, b_in, w_rec,
    b_rec)`` (layer 0's ``w_in`` is the ``(V, G*H)`` table of projected symbols, the others'
    ``(D, G*H)`` with their bias; ``w_rec`` the ``(G*H, H)`` view of a contiguous ``(H, G*H)``) and
    the head, ``(H, V)`` and ``(V,)``. States are vectors, ``(H,)``."""

    def __init__(self, cell: str, layers: list[tuple], head_w: torch.Tensor, head_b: torch.Tensor):
        kind = LAYERS[cell]
        self.layers = [
            kind(i == 0, _array(w_in), _array(b_in), _array(w_rec), _array(b_rec)) for i, (w_in, b_in, w_rec, b_rec) in enumerate(layers)
        ]
        self.head_w, self.head_b = np.ascontiguousarray(_array(head_w).T), _array(head_b)  # (V, H), (V,)

    def products(self) -> list[np.ndarray]:
        """The matrices a step multiplies a vector by, in order (``benchmarks/sample_speed.py`` times them alone)."""
        return [m for layer in self.layers for m in (layer.w_rec, layer.w) if m is not None] + [self.head_w]

    def __call__(self, symbol: int, states: list[tuple[np.ndarray, ...]], seen: list[list] | None = None) -> np.ndarray:
        """The logits (V,) after reading ``symbol``; ``states`` (per layer, each state (H,)) are
        replaced by new arrays; ``seen``: per layer, a list that gets what the layer read, (1,) or (1, D)."""
        x = symbol
        for layer, step in enumerate(self.layers):
            if seen is not None:
                seen[layer].append(torch.tensor([symbol]) if layer == 0 else torch.from_numpy(x)[None])
            states[layer] = step(x, states[layer])
            x = states[layer][0]  # (H,)
        logits = self.head_w.dot(x)  # (V,)
        logits += self.head_b
        return logits
