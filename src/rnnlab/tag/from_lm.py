"""A tagger that starts from a language model: ``rnnlab tag train --init-from RUN_DIR|base``.

The tagger takes the language model's sizes (cell, layers, hidden, embed) and its embedding and
recurrent layers; its output layer, over a different vocabulary, starts fresh.

- **Embedding**: each input character gets the language model's row for it; a character the
  language model never saw (and the padding/unknown row) gets the mean of its known rows, as
  ``--init-from`` does for a language model's new characters.
- **Forward direction** (left to right, as the language model reads): layer for layer, the
  language model's weights. Above the first layer a bidirectional tagger's layer reads both
  directions of the one below, ``[forward, backward]``, twice the language model's input: the
  forward half of its input weights is the language model's, the backward half starts at zero.
  So at the start the forward direction computes exactly the language model's states.
- **Backward direction** (right to left): a copy of the same weights, with the halves the other
  way round (its own direction's half is the language model's, the other zero). It reads text
  reversed, which the language model never did: the copy gives it the character features of the
  embedding and a working recurrence to start from, not predictions; training adapts it.

Only a plain stack has this layout: a language model with residual blocks, normalisation or
one-hot input is refused with one line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from rnnlab import settings
from rnnlab.config import TagModelConfig
from rnnlab.data import Vocab
from rnnlab.errors import UserError
from rnnlab.init_from import Start
from rnnlab.resolve import TAG_SHAPE

SHAPE = TAG_SHAPE  # the tagger's sizes that come from the language model
LAYER_PARAM = re.compile(r"^rnn\.(\w+)_l(\d+)$")  # rnn.weight_ih_l1 -> ("weight_ih", 1)


@dataclass(frozen=True)
class TagStart:
    """A language model to start a tagger from (``init_from.read`` gives ``lm``)."""

    lm: Start

    def __post_init__(self):
        cfg = self.lm.ckpt.model_config
        odd = [k for k, v in (("--one-hot", cfg.one_hot), ("--residual", cfg.residual), (f"--norm {cfg.norm}", cfg.norm != "none")) if v]
        if odd:
            raise UserError(
                f"{self.lm.name} was trained with {odd[0]}: a tagger starts only from a plain stack (embedding, recurrent layers)"
            )

    @property
    def name(self) -> str:
        return self.lm.name

    @property
    def provides(self) -> tuple[str, ...]:
        """The tagger settings taken from the language model: its sizes."""
        return SHAPE

    def model_config(self, asked: dict[str, Any], label: Callable[[str], str] = str) -> TagModelConfig:
        """The asked tagger settings with the language model's sizes; an asked size that differs,
        or ``one_hot``, is refused, named by ``label``."""
        src = self.lm.ckpt.model_config
        for key in (*SHAPE, "one_hot"):
            if key in asked and asked[key] != getattr(src, key):
                raise UserError(
                    f"{label(key)} {asked[key]} does not fit the language model {self.name} ({key} {getattr(src, key)}): "
                    "the tagger takes its sizes; leave the setting out"
                )
        return settings.replace(TagModelConfig(), **{**asked, **{k: getattr(src, k) for k in SHAPE}})

    def weights_for(self, cfg: TagModelConfig, in_vocab: Vocab) -> dict[str, torch.Tensor]:
        """The tagger's embedding and recurrent weights (float32) for ``in_vocab``; not its head."""
        lm_vocab, w = self.lm.vocab, {k: v.float() for k, v in self.lm.ckpt.weights.items()}
        emb = w["embed.weight"]  # (V_lm, E)
        known = torch.ones(len(lm_vocab), dtype=torch.bool)
        if lm_vocab.unk is not None:
            known[lm_vocab.unk] = False
        mean = emb[known].mean(0)  # (E,)
        index = {c: i for i, c in enumerate(lm_vocab.chars) if i != lm_vocab.unk}
        rows = [emb[index[c]] if c in index and i != in_vocab.unk else mean for i, c in enumerate(in_vocab.chars)]
        out = {"embed.weight": torch.stack(rows)}  # (V_in, E)
        for key, value in w.items():
            m = LAYER_PARAM.match(key)
            if not m:
                continue  # the embedding (above) and the language model's head (not used)
            name, layer = m.group(1), int(m.group(2))
            if not cfg.bidirectional:
                out[key] = value.clone()
                continue
            for direction, own in (("fwd", 0), ("bwd", 1)):
                if name == "weight_ih" and layer > 0:
                    halves = [torch.zeros_like(value), torch.zeros_like(value)]  # (G, H) each
                    halves[own] = value
                    out[f"{direction}.{layer}.{name}_l0"] = torch.cat(halves, dim=1)  # (G, 2H): [forward, backward] inputs
                else:
                    out[f"{direction}.{layer}.{name}_l0"] = value.clone()
        return out

    def origin(self, in_vocab: Vocab) -> dict[str, Any]:
        """What the tagger's run records about where its weights came from."""
        known = set(self.lm.vocab.chars)
        return {
            **self.lm.origin(self.lm.vocab),
            "new_chars": sum(c not in known for i, c in enumerate(in_vocab.chars) if i != in_vocab.unk),
        }


def load_into(model: torch.nn.Module, weights: dict[str, torch.Tensor]) -> None:
    """Copy ``weights`` into ``model``: every parameter but the output layer's and the word
    embedding's must be given. The first layer's input weights of a tagger with word embeddings
    are wider than the language model's: the language model's fill the character columns, and the
    word columns keep their own initialisation (the word rows start at zero, so at the start the
    forward direction still computes the language model's states)."""
    own = model.state_dict()
    unexpected = [k for k in weights if k not in own]
    missing = [k for k in own if k not in weights and not k.startswith(("head.", "word.", "word_chars"))]
    if unexpected or missing:
        raise ValueError(f"weights do not fit the tagger: missing {missing}, unexpected {unexpected}")
    with torch.no_grad():
        for key, value in weights.items():
            target = own[key]
            if value.shape == target.shape:
                target.copy_(value)
            elif value.dim() == 2 and value.shape[0] == target.shape[0] and value.shape[1] < target.shape[1]:
                target[:, : value.shape[1]].copy_(value)  # (G, E) of (G, E + word_embed)
            else:
                raise ValueError(f"weights do not fit the tagger: {key} is {tuple(value.shape)}, the tagger's {tuple(target.shape)}")
