"""``build_report``: everything for one report of a run, language model or tagger.

The run is read through :mod:`rnnlab.runs` (the one checkpoint loader) and its network runs on
the CPU. A language model's report: choose the text (the one given, a sample of the model after a
prime, or by default the start of the run's held-out text read again from its files, else a
sample), trace the model over it (:mod:`.tracing`), pick the unit search the page opens with
(:mod:`.analysis`) and fill the page (:mod:`.page`). A tag run's report is :mod:`.tagging`'s.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import torch

from rnnlab.checkpoint import Checkpoint
from rnnlab.config import ReportConfig
from rnnlab.data import Vocab, list_text_files, read_text
from rnnlab.errors import UserError
from rnnlab.lm import LanguageModel
from rnnlab.report.analysis import choose_search, regex_mask
from rnnlab.report.page import PAGE_CHARS, Report, lm_page_data, render_html
from rnnlab.report.tagging import build_tag_report
from rnnlab.report.tracing import trace
from rnnlab.runs import build_model, load_run

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


def build_report(
    run_dir: str | os.PathLike,
    text: str | None = None,
    prime: str | None = None,
    which: str = "best",
    config: ReportConfig | None = None,
    **settings,
) -> Report:
    """Everything for one report: the text, the trace, the page (``Report.html``).

    ``text`` is analysed as given; ``prime`` starts a sample of the model that is analysed; by
    default the start of the run's held-out text. ``which`` checkpoint: ``best`` or ``last``.
    ``settings`` are fields of :class:`~rnnlab.config.ReportConfig` (``chars``, ``length``,
    ``temperature``, ``seed``, ``search``), over ``config``'s values or the defaults. ``search``
    is the unit search the page opens with; by default the bracketing or quoting example whose
    best unit correlates most strongly.
    """
    cfg = dataclasses.replace(config or ReportConfig(), **settings)
    if text is not None and prime is not None:
        raise UserError("give at most one of --text and --prime")
    run_dir = Path(run_dir)
    ckpt = load_run(run_dir, which)
    model = build_model(ckpt, "cpu")
    if ckpt.kind == "tag":
        return build_tag_report(run_dir, ckpt, model, text, prime, cfg)
    vocab = ckpt.task.vocab
    text, source = choose_text(ckpt, model, text, prime, cfg)
    text, ids, dropped = prepare_text(text, vocab)
    notes: list[str] = []
    if dropped:
        notes.append(f"{dropped:,} characters the model has never seen were left out")
    total = len(text)
    if total == 0:
        raise UserError("none of the text's characters is in the model's vocabulary")
    if total > cfg.chars:
        text, ids = text[: cfg.chars], ids[: cfg.chars]
        notes.append(f"showing the first {cfg.chars:,} of {total:,} characters (--chars raises the limit)")
    if len(text) > PAGE_CHARS:
        notes.append(f"the text is drawn in pages of {PAGE_CHARS:,} characters to keep the page responsive")
    if cfg.search is not None:
        regex_mask("", cfg.search)  # a bad --search fails here, before the work
    tr = trace(model, ids, text=text)
    search = cfg.search if cfg.search is not None else choose_search(tr)
    data = lm_page_data(tr, ckpt, run_dir, source, total, notes, search)
    return Report(render_html(data), tr, data, vocab, notes)
