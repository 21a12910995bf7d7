"""Which text a language-model report analyses, and its characters as ids.

The text is the one given, a sample of the model after a prime, or by default the start of the
run's held-out (validation) text, read again from the files it was trained on; when those
cannot be read, a sample of the model.
"""

from __future__ import annotations

import torch

from rnnlab.checkpoint import Checkpoint
from rnnlab.config import ReportConfig
from rnnlab.data import Vocab, list_text_files, read_text
from rnnlab.errors import UserError
from rnnlab.lm import LanguageModel

NEW_LINE_WITHIN = 300  # start on a fresh line when one begins within this many characters


def choose_text(ckpt: Checkpoint, model, text: str | None, prime: str | None, cfg: ReportConfig) -> tuple[str, str]:
    """``(text, where it comes from)`` for the page's "Text: ..." line."""
    if text is not None:
        return text, "the given text"
    sampler = LanguageModel(model, ckpt.task.vocab, "cpu")
    if prime is not None:
        text = sampler.sample(cfg.length, prime=prime, temperature=cfg.temperature, seed=cfg.seed)
        return text, f"a sample of the model (prime {prime!r}, temperature {cfg.temperature:g}, seed {cfg.seed})"
    got = heldout_text(ckpt, cfg.chars)
    if got:
        return got
    text = sampler.sample(min(cfg.length, cfg.chars), temperature=cfg.temperature, seed=cfg.seed)
    why = "the training text could not be read"
    return text, f"a sample of the model (temperature {cfg.temperature:g}, seed {cfg.seed}); {why}"


def heldout_text(ckpt: Checkpoint, chars: int) -> tuple[str, str] | None:
    """``(text, what it is)``: the start of the validation tail of the training text (or, when
    that is shorter than ``chars``, the end of the text), when its files can still be read."""
    total = ckpt.data.chars
    vf = ckpt.train_config.val_fraction
    if not total:
        return None
    n_val = max(int(total * vf), min(total, chars))
    parts: list[str] = []
    try:
        files, _ = list_text_files(ckpt.data.locate())
        have = 0
        for f in reversed(files):  # only the last files hold the tail
            t = read_text(f, ckpt.data_config.encoding)
            parts.append(t)
            have += len(t)
            if have >= n_val:
                break
    except (UserError, OSError):
        return None
    tail = "".join(reversed(parts))[-n_val:]
    # Start on a fresh line when one begins soon, so the page does not open mid-word.
    nl = tail.find("\n", 0, NEW_LINE_WITHIN)
    if 0 <= nl < len(tail) - 1:
        tail = tail[nl + 1 :]
    if not tail:
        return None
    if n_val > int(total * vf):
        return tail[:chars], "the end of the training text (its held-out part is shorter than --chars)"
    return tail[:chars], "the start of the held-out (validation) part of the training text"


def prepare_text(text: str, vocab: Vocab) -> tuple[str, torch.Tensor, int]:
    """Characters and ids aligned one to one: unknown characters become unk, or are dropped
    (and counted) when the vocabulary has none."""
    stoi = vocab.stoi
    dropped = 0
    if vocab.unk is None:
        kept = "".join(c for c in text if c in stoi)
        dropped = len(text) - len(kept)
        text = kept
    ids = torch.tensor([stoi.get(c, vocab.unk if vocab.unk is not None else 0) for c in text], dtype=torch.long)
    return text, ids, dropped
