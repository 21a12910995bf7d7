"""``build_report``: everything for one report of a run, language model or tagger.

The run is read through :mod:`rnnlab.runs` (the one checkpoint loader) and its network runs on
the CPU. A language model's report: choose the text (:mod:`.texts`), trace the model over it
(:mod:`.tracing`), pick the unit search the page opens with (:mod:`.analysis`) and fill the page
(:mod:`.page`). A tag run's report is :mod:`.tagging`'s.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from rnnlab.config import ReportConfig
from rnnlab.errors import UserError
from rnnlab.report.analysis import choose_search, regex_mask
from rnnlab.report.page import PAGE_CHARS, Report, lm_page_data, render_html
from rnnlab.report.tagging import build_tag_report
from rnnlab.report.texts import choose_text, prepare_text
from rnnlab.report.tracing import trace
from rnnlab.runs import build_model, load_run


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
