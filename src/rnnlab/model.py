"""The character-level language model: embedding (or one-hot) -> recurrent layers -> Linear.

One interface for every cell and both implementations:
``forward(ids, targets=None, state=None) -> (logits, loss, state)``, with the recurrent state
passed in and out explicitly so that training can carry it across truncated-backprop chunks and
sampling can feed one character at a time.
"""

from __future__ import annotations

import math
from typing import NamedTuple, Union

import torch
import torch.nn.functional as F
from torch import nn

from rnnlab.config import ModelConfig
from rnnlab.nn._base import project_input
from rnnlab.nn.gru import gru_step
from rnnlab.nn.lstm import lstm_step
from rnnlab.nn.rnn import rnn_tanh_step

# LSTM state is (h, c); GRU and RNN state is h. Each is (L, B, H).
State = Union[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]

LN2 = math.log(2.0)

# Per cell: the one-step function of rnnlab.nn, and whether b_hh folds into the input projection
# (not for GRU, whose b_hn sits inside the reset gate's product).
_STEP_FUNCTIONS = {"lstm": (lstm_step, True), "gru": (gru_step, False), "rnn": (rnn_tanh_step, True)}


class Output(NamedTuple):
    logits: torch.Tensor  # (B, T, V)
    loss: torch.Tensor | None  # mean nats per character, or None without targets
    state: State


# Up to how many streams per step the fused rnnlab.nn layer trains faster than torch.nn's on a
# CPU (docs/benchmarks.md): GRU 1.06-1.50x at 16 and 32, but level at 64 (0.94-1.04x over two
# runs); RNN 0.97-1.31x from 16 to 64, faster in all but one run (larger batches not measured).
FUSED_MAX_BATCH = {"gru": 32, "rnn": 64}


def resolve_impl(impl: str, cell: str, device: torch.device | str | None = None, batch_size: int | None = None) -> str:
    """``auto`` -> the backend measured fastest for this cell, device and training batch.

    Returns ``torch`` (torch.nn: cuDNN on a GPU, oneDNN for LSTM on a CPU), ``reference``
    (rnnlab.nn's step loop) or ``fused`` (rnnlab.nn's GRU or RNN, one autograd node per layer).
    On a CPU, torch.nn.GRU and torch.nn.RNN have no fused kernel and record autograd nodes at
    every step; the fused layers train faster there within ``FUSED_MAX_BATCH``. Every backend
    has the same parameters, so a checkpoint loads into any.
    """
    if impl != "auto":
        return impl
    on_cpu = device is None or torch.device(device).type == "cpu"
    limit = FUSED_MAX_BATCH.get(cell, 0)
    fits = batch_size is None or batch_size <= limit
    return "fused" if on_cpu and limit and fits else "torch"


def recurrent_layer(
    cfg: ModelConfig,
    input_size: int,
    bidirectional: bool = False,
    device: torch.device | str | None = None,
    batch_size: int | None = None,
) -> nn.Module:
    """The torch.nn layer or its rnnlab.nn twin; all have the same parameters and signature."""
    impl = resolve_impl(cfg.impl, cfg.cell, device, batch_size)
    extra = {}
    if impl in ("reference", "fused"):
        from rnnlab import nn as ref

        classes = {"lstm": ref.LSTM, "gru": ref.GRU, "rnn": ref.RNN}
        if impl == "fused":
            extra["fused"] = True  # ModelConfig refuses it for the LSTM
    else:
        classes = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}
    return classes[cfg.cell](
        input_size,
        cfg.hidden,
        num_layers=cfg.layers,
        dropout=cfg.dropout if cfg.layers > 1 else 0.0,
        batch_first=True,
        bidirectional=bidirectional,
        **extra,
    )


def detach_state(state: State) -> State:
    """Cut the graph between truncated-backprop chunks while keeping the values."""
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


class CharRNN(nn.Module):
    """A character language model; ``cfg.impl`` picks torch.nn or rnnlab.nn cells.

    ``device`` is where the model will run and ``batch_size`` how many streams it trains on;
    with ``impl="auto"`` they decide the backend.
    """

    def __init__(self, cfg: ModelConfig, device: torch.device | str | None = None, batch_size: int | None = None):
        super().__init__()
        self.cfg = cfg
        self.embed = None if cfg.one_hot else nn.Embedding(cfg.vocab_size, cfg.embed)
        self.rnn = recurrent_layer(cfg, cfg.input_size, device=device, batch_size=batch_size)
        self.drop = nn.Dropout(cfg.dropout) if cfg.dropout > 0 else nn.Identity()
        self.head = nn.Linear(cfg.hidden, cfg.vocab_size)

    def init_state(self, batch_size: int, device=None) -> State:
        cfg = self.cfg
        device = device if device is not None else self.head.weight.device
        h = torch.zeros(cfg.layers, batch_size, cfg.hidden, device=device, dtype=self.head.weight.dtype)  # (L, B, H)
        return (h, torch.zeros_like(h)) if cfg.cell == "lstm" else h

    def encode_input(self, ids: torch.Tensor) -> torch.Tensor:
        ids = ids.long()
        if self.embed is None:
            return F.one_hot(ids, self.cfg.vocab_size).to(self.head.weight.dtype)  # (B, T, V)
        return self.embed(ids)  # (B, T, E)

    def forward(self, ids: torch.Tensor, targets: torch.Tensor | None = None, state: State | None = None) -> Output:
        """ids (B, T) -> logits (B, T, V); loss is mean cross-entropy in nats when targets are given."""
        if state is None:
            state = self.init_state(ids.shape[0], ids.device)
        x = self.encode_input(ids)  # (B, T, E)
        out, state = self.rnn(x, state)  # (B, T, H)
        logits = self.head(self.drop(out))  # (B, T, V)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.flatten(0, 1), targets.long().flatten())  # over (B*T, V)
        return Output(logits, loss, state)

    @torch.no_grad()
    def step(self, ids: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """One character per stream: ids (B,) -> logits (B, V) and the next state.

        A convenience for single calls; a generation loop should build one :class:`Stepper`
        and call it, which does the per-model preparation once instead of at every character.
        """
        if self.training:
            logits, _, state = self.forward(ids[:, None], state=state)  # (B, 1, V)
            return logits[:, 0], state
        stepper = Stepper(self, state)
        logits = stepper(ids)
        return logits, stepper.state()

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


class Stepper:
    """Advance an eval-mode :class:`CharRNN` one character at a time, as fast as Python allows.

    Generation is dominated by fixed costs per character, not arithmetic: at batch 1 each weight
    is read once per step (memory-bound) and every tensor op adds microseconds of dispatch. A
    one-step call into ``nn.LSTM`` costs far more in dispatch (and, with oneDNN, in setup) than
    the few small matmuls it does, so the stepper runs the cell equations of ``rnnlab.nn`` on the
    model's weights, with what does not change prepared once:

    - layer 0's input projection of every symbol is a table, ``(V, G*H)`` = embedding (or the
      one-hot identity) times ``W_ih^T`` plus the biases, so that matmul becomes a row lookup;
    - the other weights are transposed once into contiguous ``(in, G*H)`` copies;
    - the state stays a list of per-layer tensors, stacked to ``(L, B, H)`` only on request.

    Same weights and equations as ``forward``; equal to it to float rounding (tested). The
    weights are read when the stepper is built: build a new one after changing them.
    """

    def __init__(self, model: CharRNN, state: State):
        cfg = model.cfg
        self.cell = cfg.cell
        self.step_fn, fold = _STEP_FUNCTIONS[cfg.cell]
        self.is_lstm = isinstance(state, tuple)
        per_kind = state if self.is_lstm else (state,)  # each (L, B, H)
        self.states = [tuple(s[layer] for s in per_kind) for layer in range(cfg.layers)]
        rnn = model.rnn
        self.layers = []
        with torch.no_grad():
            for layer in range(cfg.layers):
                w_ih = getattr(rnn, f"weight_ih_l{layer}")
                w_hh = getattr(rnn, f"weight_hh_l{layer}")
                b_ih = getattr(rnn, f"bias_ih_l{layer}")
                b_hh = getattr(rnn, f"bias_hh_l{layer}")
                if layer == 0:
                    symbols = (
                        model.embed.weight
                        if model.embed is not None
                        else torch.eye(cfg.vocab_size, dtype=w_ih.dtype, device=w_ih.device)
                    )
                    w_in = project_input(symbols, w_ih, b_ih, b_hh if fold else None)  # (V, G*H) table
                    b_in = None
                else:
                    w_in = w_ih.t().contiguous()  # (H, G*H)
                    b_in = b_ih + b_hh if fold else b_ih  # (G*H,)
                # The step functions compute h @ w.t(); handing them the transposed view of a
                # contiguous (H, G*H) copy makes that product read memory in order.
                w_rec = w_hh.t().contiguous().t()  # (G*H, H) view
                self.layers.append((w_in, b_in, w_rec, None if fold else b_hh))
            self.head_w = model.head.weight.t().contiguous()  # (H, V)
            self.head_b = model.head.bias

    @torch.no_grad()
    def __call__(self, ids: torch.Tensor) -> torch.Tensor:
        """ids (B,) -> logits (B, V); the state moves one character on."""
        x = None
        for layer, (w_in, b_in, w_rec, b_rec) in enumerate(self.layers):
            xw = w_in[ids.long()] if x is None else torch.addmm(b_in, x, w_in)  # (B, G*H)
            out = self.step_fn(xw, self.states[layer], w_rec, b_rec)
            self.states[layer] = out
            x = out[0]  # (B, H)
        return torch.addmm(self.head_b, x, self.head_w)  # (B, V)

    def state(self) -> State:
        """The current state in ``forward``'s layout: (L, B, H), or a pair of them for LSTM."""
        stacked = tuple(torch.stack([s[k] for s in self.states]) for k in range(len(self.states[0])))  # (L, B, H) each
        return stacked if self.is_lstm else stacked[0]
