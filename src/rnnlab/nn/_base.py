"""Shared machinery for the reference recurrent cells and layers of ``rnnlab.nn``.

Each family module (``rnn.py``, ``lstm.py``, ``gru.py``) supplies only its one-step update, a
*step function* ``step(xw, state, w_hh, b_hh) -> state``; everything else lives here:

- :class:`CellBase`: parameters, initialisation and input handling of a single cell.
- :class:`RecurrentBase`: a stacked, optionally bidirectional layer that runs a step function
  over time, for padded tensors and for ``PackedSequence`` input, mirroring ``torch.nn``.

The shape alphabet used in comments: T time steps, B batch, D input features, H hidden units,
G gates per family (RNN 1, GRU 3, LSTM 4), L layers, K directions (1 or 2), N packed rows
(``T * B`` for a padded batch, ``sum(batch_sizes)`` for a packed one).

A *state* is a tuple of tensors: ``(h,)`` for RNN and GRU, ``(h, c)`` for LSTM. The first entry
is always the output of the step.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F
from torch.nn import init
from torch.nn.utils.rnn import PackedSequence

State = tuple[Tensor, ...]
StepFn = Callable[[Tensor, State, Tensor, "Tensor | None"], State]


def project_input(x: Tensor, w_ih: Tensor, b_ih: Tensor | None, b_hh: Tensor | None) -> Tensor:
    """Input half of the gate pre-activations, ``x @ W_ih^T + b_ih (+ b_hh)``, for many rows at once.

    ``b_hh`` is passed only by families whose hidden bias sits outside any gate product (RNN,
    LSTM): adding it here once saves one add per time step and gives the same gradients.
    """
    if b_ih is None:
        return torch.mm(x, w_ih.t())
    bias = b_ih if b_hh is None else b_ih + b_hh
    return torch.addmm(bias, x, w_ih.t())


def run_direction(
    step: StepFn, steps: Sequence[Tensor], state0: State, w_hh: Tensor, b_hh: Tensor | None, batch_sizes: list[int] | None, reverse: bool
) -> tuple[Tensor, State]:
    """Run ``step`` over the projected inputs of one layer and direction.

    ``steps[t]`` is the projected input at time t, ``(B_t, G*H)``; ``state0`` holds ``(B, H)``
    tensors. ``batch_sizes`` (sorted, non-increasing, as in a ``PackedSequence``) says how many
    sequences are still running at each step; ``None`` means all B run for all T steps.

    Returns the outputs of all steps concatenated in time order, ``(N, H)`` (the layout of the
    input rows), and the final state, each ``(B, H)``: for the forward direction the state at
    each sequence's own last step, for the reverse direction after its first step.
    """
    outs: list[Tensor] = []
    if batch_sizes is None:
        state = state0
        for xw in reversed(steps) if reverse else steps:
            state = step(xw, state, w_hh, b_hh)
            outs.append(state[0])
        if reverse:
            outs.reverse()
        return torch.cat(outs), state  # (T*B, H)

    if not reverse:
        # Sequences are sorted longest first, so the ones that end drop off the bottom rows:
        # shrink the running batch and set their state aside, so that it stays untouched.
        state = state0
        ended: list[State] = []
        running = batch_sizes[0]
        for xw, bs in zip(steps, batch_sizes):
            if bs < running:
                ended.append(tuple(s[bs:running] for s in state))
                state = tuple(s[:bs] for s in state)
                running = bs
            state = step(xw, state, w_hh, b_hh)
            outs.append(state[0])
        ended.append(state)
        ended.reverse()  # rows ascend: still-running first, shortest sequences last
        final = tuple(torch.cat([part[k] for part in ended]) for k in range(len(state)))
        return torch.cat(outs), final  # (N, H)

    # Reverse: walk back from the longest sequence's end; a shorter sequence joins (from its
    # initial state) at its own last step, so each starts at its true end and not in padding.
    running = batch_sizes[-1]
    state = tuple(s[:running] for s in state0)
    for xw, bs in zip(reversed(steps), reversed(batch_sizes)):
        if bs > running:
            state = tuple(torch.cat((s, s0[running:bs])) for s, s0 in zip(state, state0))
            running = bs
        state = step(xw, state, w_hh, b_hh)
        outs.append(state[0])
    outs.reverse()
    return torch.cat(outs), state  # (N, H)


def _check_sizes(input_size: int, hidden_size: int) -> None:
    for name, value in (("input_size", input_size), ("hidden_size", hidden_size)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{name} should be of type int, got: {type(value).__name__}")
        if value <= 0:
            raise ValueError(f"{name} must be greater than zero")


class Family(nn.Module):
    """What a family (RNN, LSTM, GRU) tells its cell and layer classes: ``num_chunks`` (G),
    ``state_arity`` (1, or 2 for LSTM), ``fold_hidden_bias`` (b_hh may join the input projection),
    and ``_step``. A family may also supply a whole-sequence function (a hand-written backward, or
    a parallel scan), ``_sequence(xw (T, B, G*H), h0 (B, H), w_hh, b_hh) -> out (T, B, H)``;
    instances with ``fused = True`` use it for padded input, one node per layer and direction.
    A family whose gates read the input only (minGRU, minLSTM) has no ``recurrent_weights``."""

    num_chunks: int = 1
    state_arity: int = 1
    fold_hidden_bias: bool = True
    has_sequence: bool = False
    fused: bool = False
    recurrent_weights: bool = True

    def _step(self, xw: Tensor, state: State, w_hh: Tensor, b_hh: Tensor | None) -> State:
        raise NotImplementedError


class CellBase(Family):
    """One recurrent cell: ``weight_ih (G*H, D)``, ``weight_hh (G*H, H)``, ``bias_ih``, ``bias_hh (G*H,)``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        _check_sizes(input_size, hidden_size)
        factory = {"device": device, "dtype": dtype}
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        gates = self.num_chunks * hidden_size
        # Registration order is torch.nn's, so parameters() and reset_parameters() line up.
        self.weight_ih = nn.Parameter(torch.empty((gates, input_size), **factory))
        self.weight_hh = nn.Parameter(torch.empty((gates, hidden_size), **factory))
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(gates, **factory))
            self.bias_hh = nn.Parameter(torch.empty(gates, **factory))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        return s

    def _cell_forward(self, input: Tensor, hx: State | None) -> State:
        """Batch an unbatched input, fill a missing state with zeros, run one step, unbatch."""
        name = type(self).__name__
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        if hx is not None:
            for idx, value in enumerate(hx):
                if value.dim() not in (1, 2):
                    raise ValueError(f"{name}: Expected hidden[{idx}] to be 1D or 2D, got {value.dim()}D instead")
        is_batched = input.dim() == 2
        x = input if is_batched else input.unsqueeze(0)  # (B, D)
        if hx is None:
            zeros = x.new_zeros(x.size(0), self.hidden_size)  # (B, H)
            state = tuple(zeros for _ in range(self.state_arity))
        else:
            state = hx if is_batched else tuple(s.unsqueeze(0) for s in hx)  # (B, H) each
        fold = self.fold_hidden_bias
        xw = project_input(x, self.weight_ih, self.bias_ih, self.bias_hh if fold else None)  # (B, G*H)
        new = self._step(xw, state, self.weight_hh, None if fold else self.bias_hh)
        return new if is_batched else tuple(s.squeeze(0) for s in new)  # (H,) each


class RecurrentBase(Family):
    """A stack of ``num_layers`` recurrent layers, each one or two directions, as ``torch.nn.RNNBase``."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        if not isinstance(dropout, numbers.Number) or isinstance(dropout, bool) or not 0 <= dropout <= 1:
            raise ValueError("dropout should be a number in range [0, 1] representing the probability of an element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                "dropout option adds dropout after all but last recurrent layer, so non-zero "
                f"dropout expects num_layers greater than 1, but got dropout={dropout} and "
                f"num_layers={num_layers}",
                stacklevel=3,
            )
        if not isinstance(bias, bool):
            raise TypeError(f"bias should be of type bool, got: {type(bias).__name__}")
        if not isinstance(batch_first, bool):
            raise TypeError(f"batch_first should be of type bool, got: {type(batch_first).__name__}")
        _check_sizes(input_size, hidden_size)
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")

        factory = {"device": device, "dtype": dtype}
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        num_directions = 2 if bidirectional else 1
        gates = self.num_chunks * hidden_size

        # Same names, shapes and registration order as torch.nn.RNNBase, so state dicts load
        # both ways and parameters() pairs up one to one.
        self._all_weights: list[list[str]] = []
        for layer in range(num_layers):
            layer_input_size = input_size if layer == 0 else hidden_size * num_directions
            for direction in range(num_directions):
                suffix = "_reverse" if direction == 1 else ""
                kinds = ("ih", "hh") if self.recurrent_weights else ("ih",)
                names = [f"weight_{k}_l{layer}{suffix}" for k in kinds]
                shapes = [(gates, layer_input_size), (gates, hidden_size)][: len(kinds)]
                if bias:
                    names += [f"bias_{k}_l{layer}{suffix}" for k in kinds]
                    shapes += [(gates,)] * len(kinds)
                for name, shape in zip(names, shapes):
                    setattr(self, name, nn.Parameter(torch.empty(shape, **factory)))
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    @property
    def all_weights(self) -> list[list[nn.Parameter]]:
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    def _sequence(self, xw: Tensor, h0: Tensor, w_hh: Tensor, b_hh: Tensor | None) -> Tensor:
        raise NotImplementedError

    def _weights(self, index: int) -> tuple[Tensor, Tensor | None, Tensor | None, Tensor | None]:
        """``(w_ih, w_hh, b_ih, b_hh)`` of one layer and direction, None for those it has not."""
        suffix = self._all_weights[index][0].removeprefix("weight_ih")
        return tuple(getattr(self, f"{kind}{suffix}", None) for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))  # type: ignore[return-value]

    def _run_fused(
        self, xw: Tensor, seq_len: int, batch: int, state0: State, w_hh: Tensor, b_hh: Tensor | None, reverse: bool
    ) -> tuple[Tensor, State]:
        """One layer and direction through ``_sequence``: outputs (T*B, H) and the final state."""
        steps = xw.view(seq_len, batch, xw.size(1))  # (T, B, G*H)
        if reverse:
            steps = steps.flip(0)
        out = self._sequence(steps, state0[0], w_hh, b_hh)  # (T, B, H)
        final = (out[-1],)
        if reverse:
            out = out.flip(0)
        return out.reshape(seq_len * batch, out.size(2)), final  # (T*B, H)

    def _forward_states(self, input: Tensor | PackedSequence, hx: State | None):
        """The whole forward pass with states as tuples; subclasses wrap it in torch.nn's signature."""
        num_directions = 2 if self.bidirectional else 1
        num_states = self.num_layers * num_directions
        packed = isinstance(input, PackedSequence)
        if packed:
            data, batch_sizes_t, sorted_indices, unsorted_indices = input
            batch_sizes: list[int] | None = batch_sizes_t.tolist()
            if data.dim() != 2:
                raise RuntimeError(f"input must have 2 dimensions, got {data.dim()}")
            max_batch = batch_sizes[0]
            # The packed rows are in sorted (longest first) order; hx comes in the caller's order.
            if hx is not None and sorted_indices is not None:
                hx = tuple(s.index_select(1, sorted_indices) for s in hx)
            is_batched = True
        else:
            if input.dim() not in (2, 3):
                raise ValueError(f"RNN: Expected input to be 2D or 3D, got {input.dim()}D tensor instead")
            is_batched = input.dim() == 3
            batch_dim = 0 if self.batch_first else 1
            if not is_batched:
                input = input.unsqueeze(batch_dim)  # (1, T, D) or (T, 1, D)
                if hx is not None:
                    if any(s.dim() != 2 for s in hx):
                        raise RuntimeError("For unbatched 2-D input, hx should also be 2-D")
                    hx = tuple(s.unsqueeze(1) for s in hx)  # (L*K, 1, H)
            elif hx is not None and any(s.dim() != 3 for s in hx):
                raise RuntimeError("For batched 3-D input, hx should also be 3-D")
            # Time-major so that each step's rows are one contiguous block of the projection.
            x = input.transpose(0, 1) if self.batch_first else input  # (T, B, D)
            seq_len, max_batch = x.shape[0], x.shape[1]
            data = x.reshape(seq_len * max_batch, x.shape[2])  # (T*B, D)
            batch_sizes = None

        weight = self.weight_ih_l0
        if data.dtype != weight.dtype:
            raise ValueError(f"RNN input dtype ({data.dtype}) does not match weight dtype ({weight.dtype})")
        if data.size(-1) != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected {self.input_size}, got {data.size(-1)}")
        expected = (num_states, max_batch, self.hidden_size)
        if hx is None:
            zeros = data.new_zeros(expected)  # (L*K, B, H)
            hx = tuple(zeros for _ in range(self.state_arity))
        for idx, s in enumerate(hx):
            if tuple(s.shape) != expected:
                raise RuntimeError(f"Expected hidden[{idx}] size {expected}, got {list(s.shape)}")

        fold = self.fold_hidden_bias
        finals: list[list[Tensor]] = [[] for _ in range(self.state_arity)]
        layer_input = data  # (N, D)
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(num_directions):
                index = layer * num_directions + direction
                w_ih, w_hh, b_ih, b_hh = self._weights(index)
                xw = project_input(layer_input, w_ih, b_ih, b_hh if fold else None)  # (N, G*H)
                if batch_sizes is None and self.fused and self.has_sequence:
                    out, final = self._run_fused(
                        xw, seq_len, max_batch, tuple(s[index] for s in hx), w_hh, None if fold else b_hh, direction == 1
                    )
                else:
                    if batch_sizes is None:
                        steps = xw.view(seq_len, max_batch, xw.size(1)).unbind(0)  # T x (B, G*H)
                    else:
                        steps = xw.split(batch_sizes)  # T x (B_t, G*H)
                    out, final = run_direction(
                        self._step, steps, tuple(s[index] for s in hx), w_hh, None if fold else b_hh, batch_sizes, reverse=direction == 1
                    )
                outputs.append(out)  # (N, H)
                for k in range(self.state_arity):
                    finals[k].append(final[k])
            layer_input = outputs[0] if num_directions == 1 else torch.cat(outputs, 1)  # (N, K*H)
            # As torch.nn: between layers only, never after the last.
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, training=True)

        h_n = tuple(torch.stack(f) for f in finals)  # (L*K, B, H) each
        if packed:
            if unsorted_indices is not None:
                h_n = tuple(s.index_select(1, unsorted_indices) for s in h_n)
            return PackedSequence(layer_input, batch_sizes_t, sorted_indices, unsorted_indices), h_n

        output = layer_input.view(seq_len, max_batch, -1)  # (T, B, K*H)
        if self.batch_first:
            output = output.transpose(0, 1)  # (B, T, K*H)
        if not is_batched:
            output = output.squeeze(batch_dim)  # (T, K*H)
            h_n = tuple(s.squeeze(1) for s in h_n)  # (L*K, H)
        return output, h_n
