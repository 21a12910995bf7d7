"""The character-level language model: embedding (or one-hot) -> recurrent layers -> Linear.

One interface for every cell and both implementations:
``forward(ids, targets=None, state=None) -> (logits, loss, state)``, with the recurrent state
passed in and out explicitly so that training can carry it across truncated-backprop chunks and
sampling can feed one character at a time.
"""

from __future__ import annotations

import math
from typing import NamedTuple, Optional, Union

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
    loss: Optional[torch.Tensor]  # mean nats per character, or None without targets
    state: State


def recurrent_layer(cfg: ModelConfig, input_size: int, bidirectional: bool = False) -> nn.Module:
    """The torch.nn layer or its rnnlab.nn twin; both have the same parameters and signature."""
    if cfg.impl == "reference":
        from rnnlab import nn as ref

        classes = {"lstm": ref.LSTM, "gru": ref.GRU, "rnn": ref.RNN}
    else:
        classes = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}
    return classes[cfg.cell](
        input_size,
        cfg.hidden,
        num_layers=cfg.layers,
        dropout=cfg.dropout if cfg.layers > 1 else 0.0,
        batch_first=True,
        bidirectional=bidirectional,
    )


def detach_state(state: State) -> State:
    """Cut the graph between truncated-backprop chunks while keeping the values."""
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


class CharRNN(nn.Module):
    """A character language model; ``cfg.impl`` picks torch.nn or rnnlab.nn cells."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.embed = None if cfg.one_hot else nn.Embedding(cfg.vocab_size, cfg.embed)
        self.rnn = recurrent_layer(cfg, cfg.input_size)
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

    def forward(self, ids: torch.Tensor, targets: Optional[torch.Tensor] = None, state: Optional[State] = None) -> Output:
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

        Runs the cell equations directly on the layer's weights (the functions of rnnlab.nn),
        layer by layer: a one-step call into nn.LSTM costs far more in dispatch (and, with
        oneDNN, in setup) than the few small matmuls it does. Same weights, same math as forward.
        """
        if self.training:
            logits, _, state = self.forward(ids[:, None], state=state)  # (B, 1, V)
            return logits[:, 0], state
        step_fn, fold = _STEP_FUNCTIONS[self.cfg.cell]
        x = self.encode_input(ids[:, None])[:, 0]  # (B, E)
        states = (state,) if not isinstance(state, tuple) else state  # each (L, B, H)
        new: list[tuple[torch.Tensor, ...]] = []
        rnn = self.rnn
        for layer in range(self.cfg.layers):
            w_ih = getattr(rnn, f"weight_ih_l{layer}")
            w_hh = getattr(rnn, f"weight_hh_l{layer}")
            b_ih = getattr(rnn, f"bias_ih_l{layer}")
            b_hh = getattr(rnn, f"bias_hh_l{layer}")
            xw = project_input(x, w_ih, b_ih, b_hh if fold else None)  # (B, G*H)
            out = step_fn(xw, tuple(s[layer] for s in states), w_hh, None if fold else b_hh)
            new.append(out)
            x = out[0]  # (B, H)
        stacked = tuple(torch.stack([n[k] for n in new]) for k in range(len(states)))  # (L, B, H) each
        logits = self.head(x)  # (B, V)
        return logits, stacked if isinstance(state, tuple) else stacked[0]

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
