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

from rnnlab import cells
from rnnlab.cells import layer_class, resolve_impl
from rnnlab.config import ModelConfig

# LSTM state is (h, c); GRU and RNN state is h. Each is (L, B, H).
State = Union[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]  # noqa: UP007 (a runtime alias)

LN2 = math.log(2.0)


class Output(NamedTuple):
    logits: torch.Tensor  # (B, T, V)
    loss: torch.Tensor | None  # mean nats per character, or None without targets
    state: State


def recurrent_layer(cfg: ModelConfig, input_size: int, backend: str | None = None, bidirectional: bool = False) -> nn.Module:
    """The stacked layer of ``cfg.cell`` on ``backend`` (a resolved one; None resolves
    ``cfg.impl`` for a CPU). All backends have the same parameters and signature."""
    backend = backend or resolve_impl(cfg.impl, cfg.cell)
    layer, extra = layer_class(cfg.cell, backend)
    return layer(
        input_size,
        cfg.hidden,
        num_layers=cfg.layers,
        dropout=cfg.dropout if cfg.layers > 1 else 0.0,
        batch_first=True,
        bidirectional=bidirectional,
        **extra,
    )


class CharRNN(nn.Module):
    """A character language model on the recurrent layers of ``backend`` (see
    :func:`rnnlab.cells.resolve_impl`; None: what ``cfg.impl`` gives on a CPU)."""

    def __init__(self, cfg: ModelConfig, backend: str | None = None):
        super().__init__()
        self.cfg = cfg
        self.embed = None if cfg.one_hot else nn.Embedding(cfg.vocab_size, cfg.embed)
        self.rnn = recurrent_layer(cfg, cfg.input_size, backend)
        self.drop = nn.Dropout(cfg.dropout) if cfg.dropout > 0 else nn.Identity()
        self.head = nn.Linear(cfg.hidden, cfg.vocab_size)

    def init_state(self, batch_size: int, device=None) -> State:
        cfg = self.cfg
        device = device if device is not None else self.head.weight.device
        h = torch.zeros(cfg.layers, batch_size, cfg.hidden, device=device, dtype=self.head.weight.dtype)  # (L, B, H)
        states = (h, *(torch.zeros_like(h) for _ in cells.get(cfg.cell).states[1:]))
        return states if len(states) > 1 else h

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
