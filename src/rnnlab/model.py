"""The character-level language model: embedding (or one-hot) -> recurrent layers -> Linear.

One interface for every cell and both implementations:
``forward(ids, targets=None, state=None) -> (logits, loss, state)``, with the recurrent state
passed in and out explicitly so that training can carry it across truncated-backprop chunks and
sampling can feed one character at a time.

Two ways to stack the layers, chosen by the config (:attr:`ModelConfig.stacked`):

- **plain** (the default, char-rnn's design): one torch.nn-style multi-layer module, dropout
  between layers and before the output;
- **blocks**, one per layer, each ``x -> x + drop(rnn(norm(x)))`` (pre-normalisation, a residual
  connection; either can be off), optionally followed by ``x -> x + drop(mlp(norm(x)))``, and a
  final norm before the output layer: the transformer's layout around a recurrent cell, which
  keeps deep stacks trainable and lets the MLP add capacity that costs no sequential time.

Either way the embedding may drop whole characters (AWD-LSTM's embedding dropout) and the output
layer may share the embedding's weights (weight tying). With ``variational`` the blocks' dropout
keeps one mask per sequence for all its steps (AWD-LSTM's locked dropout), so a unit is either
present or absent for a whole chunk instead of flickering from character to character.
"""

from __future__ import annotations

import math
from typing import NamedTuple, Union

import torch
import torch.nn.functional as F
from torch import nn

from rnnlab import cells
from rnnlab.cells import layer_class, resolve_impl
from rnnlab.config import ModelConfig, RecurrentConfig

# LSTM state is (h, c); GRU and RNN state is h. Each is (L, B, H).
State = Union[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]  # noqa: UP007 (a runtime alias)

LN2 = math.log(2.0)


class Output(NamedTuple):
    logits: torch.Tensor  # (B, T, V)
    loss: torch.Tensor | None  # mean nats per character, or None without targets
    state: State


def recurrent_layer(
    cfg: RecurrentConfig, input_size: int, backend: str | None = None, bidirectional: bool = False, layers: int | None = None
) -> nn.Module:
    """The stacked layer of ``cfg.cell`` on ``backend`` (a resolved one; None resolves
    ``cfg.impl`` for a CPU), ``layers`` deep (default ``cfg.layers``). All backends have the same
    parameters and signature."""
    backend = backend or resolve_impl(cfg.impl, cfg.cell)
    layers = layers or cfg.layers
    layer, extra = layer_class(cfg.cell, backend)
    return layer(
        input_size,
        cfg.hidden,
        num_layers=layers,
        dropout=cfg.dropout if layers > 1 else 0.0,
        batch_first=True,
        bidirectional=bidirectional,
        **extra,
    )


def make_norm(kind: str, size: int) -> nn.Module:
    """One of ``config.NORMS``: none, layer (LayerNorm) or rms (RMSNorm)."""
    return {"none": nn.Identity, "layer": nn.LayerNorm, "rms": nn.RMSNorm}[kind](*(() if kind == "none" else (size,)))


def dropout(x: torch.Tensor, p: float, variational: bool, training: bool) -> torch.Tensor:
    """Dropout of x (B, T, D): a fresh mask per element, or with ``variational`` one per (B, D), shared over time."""
    if not training or p == 0:
        return x
    if not variational:
        return F.dropout(x, p, True)
    keep = x.new_empty(x.shape[0], 1, x.shape[2]).bernoulli_(1 - p) / (1 - p)  # (B, 1, D)
    return x * keep


def drop_symbols(x: torch.Tensor, ids: torch.Tensor, vocab: int, p: float, training: bool) -> torch.Tensor:
    """Embedding dropout: each symbol of the vocabulary is dropped (its whole vector zeroed, the
    rest scaled by 1 / (1 - p)) for this batch, wherever it occurs. x (B, T, E), ids (B, T)."""
    if not training or p == 0:
        return x
    keep = x.new_empty(vocab).bernoulli_(1 - p) / (1 - p)  # (V,)
    return x * keep[ids].unsqueeze(-1)  # (B, T, E)


class MLP(nn.Module):
    """norm -> Linear(H, mH) -> GELU -> Linear(mH, H): position-wise capacity between recurrent layers."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.norm = make_norm(cfg.norm, cfg.hidden)
        self.up = nn.Linear(cfg.hidden, cfg.mlp * cfg.hidden)
        self.down = nn.Linear(cfg.mlp * cfg.hidden, cfg.hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(F.gelu(self.up(self.norm(x))))


class Block(nn.Module):
    """One layer of the block stack: ``x -> x + drop(rnn(norm(x)))``, then ``x -> x + drop(mlp(x))``.

    Without ``residual`` the first becomes ``x -> drop(rnn(norm(x)))``; ``mlp`` needs ``residual``."""

    def __init__(self, cfg: ModelConfig, input_size: int, backend: str | None):
        super().__init__()
        self.cfg = cfg
        self.norm = make_norm(cfg.norm, input_size)
        self.rnn = recurrent_layer(cfg, input_size, backend, layers=1)
        self.mlp = MLP(cfg) if cfg.mlp else None

    def forward(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        cfg = self.cfg
        h, state = self.rnn(self.norm(x), state)  # (B, T, H)
        h = dropout(h, cfg.dropout, cfg.variational, self.training)
        x = x + h if cfg.residual else h
        if self.mlp is not None:
            x = x + dropout(self.mlp(x), cfg.dropout, cfg.variational, self.training)
        return x, state  # (B, T, H)


class CharRNN(nn.Module):
    """A character language model on the recurrent layers of ``backend`` (see
    :func:`rnnlab.cells.resolve_impl`; None: what ``cfg.impl`` gives on a CPU)."""

    def __init__(self, cfg: ModelConfig, backend: str | None = None):
        super().__init__()
        self.cfg = cfg
        self.embed = None if cfg.one_hot else nn.Embedding(cfg.vocab_size, cfg.input_size)
        if cfg.stacked:
            sizes = [cfg.input_size] + [cfg.hidden] * (cfg.layers - 1)
            self.blocks = nn.ModuleList(Block(cfg, n, backend) for n in sizes)
            self.norm = make_norm(cfg.norm, cfg.hidden)
        else:
            self.rnn = recurrent_layer(cfg, cfg.input_size, backend)
            self.drop = nn.Dropout(cfg.dropout) if cfg.dropout > 0 else nn.Identity()
        self.head = nn.Linear(cfg.hidden, cfg.vocab_size)
        if cfg.tie:
            # (V, H): one matrix reads characters in and scores them out. nn.Embedding's N(0, 1)
            # rows would give logits of size sqrt(H) at the start; N(0, 1/H) gives them size 1.
            nn.init.normal_(self.embed.weight, std=cfg.hidden**-0.5)
            self.head.weight = self.embed.weight

    def layer(self, index: int) -> tuple[nn.Module, int, nn.Module, nn.Module | None]:
        """Layer ``index`` as the one-step runner sees it: (recurrent module, its layer number
        there, the norm of its input, the MLP after it or None)."""
        if self.cfg.stacked:
            b = self.blocks[index]
            return b.rnn, 0, b.norm, b.mlp
        return self.rnn, index, nn.Identity(), None

    def init_state(self, batch_size: int, device=None) -> State:
        cfg = self.cfg
        device = device if device is not None else self.head.weight.device
        h = torch.zeros(cfg.layers, batch_size, cfg.hidden, device=device, dtype=self.head.weight.dtype)  # (L, B, H)
        states = (h, *(torch.zeros_like(h) for _ in cells.get(cfg.cell).states[1:]))
        return states if len(states) > 1 else h

    def encode_input(self, ids: torch.Tensor) -> torch.Tensor:
        ids = ids.long()
        if self.embed is None:
            x = F.one_hot(ids, self.cfg.vocab_size).to(self.head.weight.dtype)  # (B, T, V)
        else:
            x = self.embed(ids)  # (B, T, E)
        return drop_symbols(x, ids, self.cfg.vocab_size, self.cfg.embed_dropout, self.training)

    def _blocks(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        per_kind = state if isinstance(state, tuple) else (state,)  # each (L, B, H)
        finals = []
        for i, block in enumerate(self.blocks):
            s = tuple(k[i : i + 1] for k in per_kind)  # each (1, B, H): a one-layer module's state
            x, s = block(x, s if len(s) > 1 else s[0])
            finals.append(s if isinstance(s, tuple) else (s,))
        stacked = tuple(torch.cat(k) for k in zip(*finals))  # each (L, B, H)
        return self.norm(x), stacked if isinstance(state, tuple) else stacked[0]

    def forward(self, ids: torch.Tensor, targets: torch.Tensor | None = None, state: State | None = None) -> Output:
        """ids (B, T) -> logits (B, T, V); loss is mean cross-entropy in nats when targets are given."""
        if state is None:
            state = self.init_state(ids.shape[0], ids.device)
        x = self.encode_input(ids)  # (B, T, E)
        if self.cfg.stacked:
            out, state = self._blocks(x, state)  # (B, T, H)
        else:
            out, state = self.rnn(x, state)  # (B, T, H)
            out = self.drop(out)
        logits = self.head(out)  # (B, T, V)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.flatten(0, 1), targets.long().flatten())  # over (B*T, V)
        return Output(logits, loss, state)
