"""Starting a language model from another one's weights: ``--init-from RUN_DIR|base``.

A new run takes a trained model's shape and weights (a run folder, a checkpoint file, or the
English base model shipped in the package) and trains them further on a new text, with a fresh
optimizer and schedule. The new text may use characters the source never saw. Its vocabulary is
then the union: the source's characters keep their ids and rows, and the new ones are appended
(:func:`extend_vocab`, :func:`extend_weights`). They start so unlikely that all of them together
are a thousand times less likely than the source's rarest character, so that the scores of text
the source could already read stay as they were (they move by ``log2(1 + p_rare / 1000)`` bits
per character, less than 0.0015 bits however poorly the source was trained). Adam lifts a new
character's output row within a few dozen steps of seeing it. Their input vectors are the mean of the known ones: to the recurrent layers a new
character looks like an average character until training teaches them otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from rnnlab import runs, settings
from rnnlab.checkpoint import Checkpoint
from rnnlab.config import ModelConfig
from rnnlab.data import UNK_DISPLAY, Vocab
from rnnlab.errors import UserError
from rnnlab.model import CharRNN

NEW_SHARE = 1e-3  # all new characters together start this many times as likely as the rarest known one


def extend_vocab(source: Vocab, text: Vocab) -> Vocab:
    """A trained model's vocabulary grown for a new text: the source's characters in their order
    (so their ids, and the model's rows for them, stay), then the text's other characters in its
    order. The source's unknown symbol keeps its place; a text that needs one (characters rarer
    than ``min_count``) when the source has none gets one appended."""
    known = set(source.chars)
    new = [c for i, c in enumerate(text.chars) if i != text.unk and c not in known]
    unk = source.unk
    if unk is None and text.unk is not None:
        unk = len(source) + len(new)
        new.append(UNK_DISPLAY)
    return Vocab((*source.chars, *new), unk)


def _shapes(cfg: ModelConfig) -> dict[str, tuple[int, ...]]:
    with torch.device("meta"):  # shapes only: nothing is allocated
        return {k: tuple(v.shape) for k, v in CharRNN(cfg).state_dict().items()}


@dataclass(frozen=True)
class Start:
    """A trained language model to start from: what was asked for (``name``) and its checkpoint."""

    name: str
    ckpt: Checkpoint

    @property
    def vocab(self) -> Vocab:
        return self.ckpt.task.vocab

    def grow(self, text: Vocab) -> Vocab:
        """The vocabulary a text with vocabulary ``text`` is read with: the source's, grown."""
        return extend_vocab(self.vocab, text)

    def conflicts(self, asked: dict[str, Any]) -> list[tuple[str, Any]]:
        """The model settings of ``asked`` that would change the shape of the source's weights,
        each with the source's value (dropout, say, does not; hidden does)."""
        src = self.ckpt.model_config
        shapes = _shapes(src)
        out = []
        for key, value in asked.items():
            if key == "vocab_size" or getattr(src, key) == value:
                continue
            try:
                fits = _shapes(settings.replace(src, **{key: value})) == shapes
            except UserError:  # the source's other settings rule the value out (--tie with its sizes)
                fits = False
            if not fits:
                out.append((key, getattr(src, key)))
        return out

    def model_config(self, asked: dict[str, Any], label: Callable[[str], str] = str) -> ModelConfig:
        """The source's model settings with the asked ones that keep its shape (dropout, say);
        one that would not is refused, named by ``label`` (``--hidden`` on the command line)."""
        bad = self.conflicts(asked)
        if bad:
            key, theirs = bad[0]
            raise UserError(
                f"{label(key)} {asked[key]} does not fit the model of {self.name} ({key} {theirs}): "
                "its shape comes from the model it starts from; leave the setting out"
            )
        return settings.replace(self.ckpt.model_config, **{k: v for k, v in asked.items() if k != "vocab_size"})

    def weights_for(self, vocab: Vocab) -> dict[str, torch.Tensor]:
        """The source's weights, in float32, for ``vocab`` (made by :func:`extend_vocab`)."""
        old = self.vocab
        if vocab.chars[: len(old)] != old.chars:
            raise ValueError("the vocabulary does not extend the source's")
        new = len(vocab) - len(old)
        if new and self.ckpt.model_config.one_hot:
            shown = ", ".join(repr(c) for c in vocab.chars[len(old) : len(old) + 5])
            raise UserError(f"{self.name} reads characters one-hot: it cannot take the {new} new characters of this text ({shown} ...)")
        return extend_weights(self.ckpt.weights, self.ckpt.model_config, old, new)

    def model(self, vocab: Vocab) -> CharRNN:
        """The source's network grown for ``vocab``, in eval mode: what a new run starts from."""
        net = CharRNN(settings.replace(self.ckpt.model_config, vocab_size=len(vocab)))
        net.load_state_dict(self.weights_for(vocab))
        return net.eval()

    @property
    def provides(self) -> tuple[str, ...]:
        """The model settings a run started from this model takes from it: all of them."""
        return tuple(f.name for f in settings.fields(ModelConfig))

    def origin(self, vocab: Vocab) -> dict[str, Any]:
        """What the new run records about where its weights came from."""
        p = self.ckpt.progress
        return {
            "init_from": self.name,
            "data": self.ckpt.data.to_dict(),
            "step": p.step,
            "best_val": None if math.isinf(p.best_val) else p.best_val,
            "source_vocab": len(self.vocab),
            "new_chars": len(vocab) - len(self.vocab),
        }


def origin_text(origin: dict[str, Any]) -> str:
    """Where a run's weights came from (:meth:`Start.origin`), in words, for its start-up summary."""
    val = f", validation {origin['best_val']:.3f} bits/char" if origin.get("best_val") is not None else ""
    new = origin.get("new_chars", 0)
    grown = f"; {new} new character{'s' * (new != 1)} added to its {origin['source_vocab']}" if new else ""
    return f"started from {origin['init_from']}: its weights after {origin['step']:,} steps{val}{grown}"


def read(name: str) -> Start:
    """The language model ``name`` names (a run folder, a checkpoint, or ``base``), checked."""
    return Start(name, runs.load_run(name, "best", kind="lm"))


def extend_weights(weights: dict[str, torch.Tensor], cfg: ModelConfig, old: Vocab, new: int) -> dict[str, torch.Tensor]:
    """``weights`` (float32 copies) with rows for ``new`` characters appended to the embedding
    and the output layer. Output rows copy the rarest known character's (the lowest output
    bias) with its bias lowered by ``log(new / NEW_SHARE)``: together the new characters are
    exactly ``NEW_SHARE`` times as likely as that one character, wherever the text is.
    Embedding rows are the mean of the known ones (with tied weights one matrix does both, and
    the output's rule wins)."""
    out = {k: v.float().clone() for k, v in weights.items()}
    if new == 0:
        return out
    head_w, head_b = out["head.weight"], out["head.bias"]  # (V, H), (V,)
    known = torch.ones(len(old), dtype=torch.bool)
    if old.unk is not None:
        known[old.unk] = False
    candidates = torch.nonzero(known).flatten()
    rare = int(candidates[head_b[candidates].argmin()])
    out["head.weight"] = torch.cat([head_w, head_w[rare].expand(new, -1)])  # (V + new, H)
    out["head.bias"] = torch.cat([head_b, (head_b[rare] - math.log(new / NEW_SHARE)).expand(new)])  # (V + new,)
    if "embed.weight" in out:
        emb = out["embed.weight"]  # (V, E)
        rows = head_w[rare].expand(new, -1) if cfg.tie else emb[known].mean(0, keepdim=True).expand(new, -1)
        out["embed.weight"] = torch.cat([emb, rows])  # (V + new, E)
    return out
