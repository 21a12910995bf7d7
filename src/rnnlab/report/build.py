"""``build_report``: everything for one report of a run, a language model's or a tagger's.

The run is read through :mod:`rnnlab.runs` (the one checkpoint loader) and its network runs on
the CPU. A language model's report: choose the text (the one given, a sample of the model after a
prime, or by default the start of the run's held-out text read again from its files, else a
sample), trace the model over it (:mod:`.tracing`), pick the unit search the page opens with and
fill the page (:mod:`.page`). A tag run's report: for each line the input, the model's output
with its confidence and top 5 per character, the target and the mistakes, and the scores; the
output is :func:`rnnlab.tag.infer.transduce`'s, the transduction ``rnnlab tag predict`` runs.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import torch

from rnnlab import cells, memory
from rnnlab.checkpoint import Checkpoint, is_export
from rnnlab.config import ReportConfig
from rnnlab.data import Vocab
from rnnlab.errors import UserError
from rnnlab.lm import LanguageModel
from rnnlab.report.page import PAGE_CHARS, Report, b64, page_data, quantize, render_html
from rnnlab.report.tracing import EXAMPLE_SEARCHES, HIGH, LOW, TOP_K, choose_search, regex_mask, saturation, trace
from rnnlab.runs import build_model, load_run
from rnnlab.tag.infer import Tagger, score
from rnnlab.tag.pairs import DERIVE, load_pairs, parse_pairs
from rnnlab.tag.task import split_lines
from rnnlab.textfiles import list_text_files, read_text

NEW_LINE_WITHIN = 300  # start on a fresh line when one begins within this many characters
KIND_LABELS = {"h": "hidden state h", "c": "cell state tanh(c)"}
Line = tuple[str, str | None]  # a tag run's line: (input, target or None)
HELDOUT_FALLBACK = 50  # lines a tag run's report shows when the run held none out
EXPORT_NOTE = "an exported model keeps no training history: no curves and no samples of its evaluations"


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
    default the start of the run's held-out text (a tag run's held-out lines). ``which``
    checkpoint: ``best`` or ``last``. ``settings`` are fields of :class:`~rnnlab.config.ReportConfig`
    (``chars``, ``length``, ``temperature``, ``seed``, ``search``: the unit search the page opens
    with), over ``config``'s values or the defaults.
    """
    cfg = dataclasses.replace(config or ReportConfig(), **settings)
    if text is not None and prime is not None:
        raise UserError("give at most one of --text and --prime")
    ckpt = load_run(run_dir, which)
    build = build_tag_report if ckpt.kind == "tag" else build_lm_report
    return build(Path(run_dir), ckpt, build_model(ckpt, "cpu"), text, prime, cfg)


def check_memory(ckpt: Checkpoint, chars: int, prime: str | None, cfg: ReportConfig) -> None:
    """Refuse, before the trace, a report over ``chars`` characters (at most ``--chars``; with
    ``--prime`` a sample of ``--length``) that would not fit in memory
    (:func:`rnnlab.memory.report_estimate`)."""
    flags = {"--length": cfg.length} if prime is not None else {}
    est = memory.report_estimate(ckpt.model_config, chars, flags, tag=ckpt.kind == "tag")
    est.flags["--chars"] = cfg.chars
    memory.check(est, memory.memory_limit())


# A language model's report: the text, its trace and the page.
def build_lm_report(run_dir: Path, ckpt: Checkpoint, model, text: str | None, prime: str | None, cfg: ReportConfig) -> Report:
    """The report of a language model whose checkpoint ``ckpt`` and network ``model`` are loaded."""
    text, source = choose_text(ckpt, model, text, prime, cfg)
    text, ids, dropped = prepare_text(text, ckpt.task.vocab)
    total = len(text)
    if total == 0:
        raise UserError("none of the text's characters is in the model's vocabulary")
    notes = export_notes(ckpt) + [f"{dropped:,} characters the model has never seen were left out"] * bool(dropped)
    if total > cfg.chars:
        text, ids = text[: cfg.chars], ids[: cfg.chars]
        notes.append(f"showing the first {cfg.chars:,} of {total:,} characters (--chars raises the limit)")
    if len(text) > PAGE_CHARS:
        notes.append(f"the text is drawn in pages of {PAGE_CHARS:,} characters to keep the page responsive")
    if cfg.search is not None:
        regex_mask("", cfg.search)  # a bad --search fails here, before the work
    check_memory(ckpt, len(text), prime, cfg)
    tr = trace(model, ids, text=text)
    kinds = list(cells.get(tr.cell).states)
    embed = None if ckpt.model_config.one_hot else ckpt.model_config.embed
    meta = {"embed": embed, "vocab_size": ckpt.model_config.vocab_size, "corpus_chars": ckpt.data.chars or None, "low": LOW, "high": HIGH}
    body = {
        "text": tr.text,
        "vocab": list(ckpt.task.vocab.chars),
        "kinds": kinds,
        "kind_labels": {k: KIND_LABELS[k] for k in kinds},
        "acts": {k: [b64(quantize(tr.activation(k, layer))) for layer in range(tr.layers)] for k in kinds},
        "top_k": int(tr.top_ids.shape[1]),
        "top_ids": b64(tr.top_ids.to(torch.int32)),
        "top_p": b64(tr.top_p.to(torch.float32)),
        "p_next": b64(tr.p_next.to(torch.float32)),
        "gates": list(cells.get(tr.cell).gates),
        "saturation": saturation(tr),
        "search": cfg.search if cfg.search is not None else choose_search(tr),
        "examples": [list(e) for e in EXAMPLE_SEARCHES],
    }
    data = page_data(ckpt, run_dir, corpus_name(ckpt), source, len(tr.text), total, notes, meta, body)
    return Report(render_html(data), tr, data, ckpt.task.vocab, notes)


def choose_text(ckpt: Checkpoint, model, text: str | None, prime: str | None, cfg: ReportConfig) -> tuple[str, str]:
    """``(text, where it comes from)`` for the page's "Text: ..." line."""
    if text is not None:
        return text, "the given text"
    sampler = LanguageModel(model, ckpt.task.vocab, "cpu")
    if prime is not None:
        check_memory(ckpt, min(cfg.chars, len(prime) + cfg.length), prime, cfg)  # before the sample takes its time
        text = sampler.sample(cfg.length, prime=prime, temperature=cfg.temperature, seed=cfg.seed)
        return text, f"a sample of the model (prime {prime!r}, temperature {cfg.temperature:g}, seed {cfg.seed})"
    got = heldout_text(ckpt, cfg.chars) if text_known(ckpt) else None
    if got:
        return got
    text = sampler.sample(min(cfg.length, cfg.chars), temperature=cfg.temperature, seed=cfg.seed)
    return text, f"a sample of the model (temperature {cfg.temperature:g}, seed {cfg.seed}); the training text could not be read"


def heldout_text(ckpt: Checkpoint, chars: int) -> tuple[str, str] | None:
    """``(text, what it is)``: the start of the validation tail of the training text (or, when
    that is shorter than ``chars``, the end of the text), when its files can still be read."""
    total = ckpt.data.chars
    if not total:
        return None
    n_heldout = int(total * ckpt.train_config.val_fraction)
    n_val = max(n_heldout, min(total, chars))
    tail = ""
    try:
        files, _ = list_text_files(ckpt.data.locate())
        for f in reversed(files):  # only the last files hold the tail
            tail = read_text(f, ckpt.data_config.encoding) + tail
            if len(tail) >= n_val:
                break
    except (UserError, OSError):
        return None
    tail = tail[-n_val:]
    # Start on a fresh line when one begins soon, so the page does not open mid-word.
    nl = tail.find("\n", 0, NEW_LINE_WITHIN)
    tail = tail[nl + 1 :] if 0 <= nl < len(tail) - 1 else tail
    if not tail:
        return None
    if n_val > n_heldout:
        return tail[:chars], "the end of the training text (its held-out part is shorter than --chars)"
    return tail[:chars], "the start of the held-out (validation) part of the training text"


def export_notes(ckpt: Checkpoint) -> list[str]:
    """What the page of an export cannot show, and why."""
    return [EXPORT_NOTE] if is_export(Path(ckpt.source)) else []


def text_known(ckpt: Checkpoint) -> bool:
    """Whether the run's text may be read again where it names it: an export names its files
    without their folders, so only a text shipped with rnnlab is found again."""
    return ckpt.data.source == "embedded" or not is_export(Path(ckpt.source))


def prepare_text(text: str, vocab: Vocab) -> tuple[str, torch.Tensor, int]:
    """Characters and ids aligned one to one: unknown characters become unk, or are dropped
    (and counted) when the vocabulary has none."""
    ids, unknown = vocab.encode(text)
    if vocab.unk is not None:
        return text, ids, 0
    return "".join(c for c in text if c in vocab.stoi), ids, unknown


def corpus_name(ckpt: Checkpoint) -> str:
    """The training text as the page names it."""
    data = ckpt.data
    if data.source == "embedded":
        if data.paths == ("jargon",):
            return "the embedded corpus (The Jargon File)"
        return ", ".join(p.name for p in data.locate()[:3])
    return ", ".join(Path(p).name for p in data.paths[:3])


# A tag run's report: the lines (given, --prime, or held out), their transduction and the page.
@dataclasses.dataclass
class TagTrace:
    """A transducer's output over lines joined by newlines (T characters, aligned one to one)."""

    input: str
    output: str
    target: str | None  # None when no target was given
    conf: torch.Tensor  # (T,) probability of the chosen output character; NaN where nothing was predicted
    top_ids: torch.Tensor  # (T, K) output-vocabulary ids, -1 where nothing was predicted
    top_p: torch.Tensor  # (T, K)

    def mistakes(self) -> list[int]:
        """Where the output differs from the target (nowhere when there is no target)."""
        return [i for i, (o, t) in enumerate(zip(self.output, self.target or "")) if o != t]


def tag_trace(tagger: Tagger, lines: list[Line], top_k: int = TOP_K) -> TagTrace:
    """Transform the input lines (joined by newlines) and keep the model's top-k choices."""
    inputs = "\n".join(i for i, _ in lines)
    (got,) = tagger.transduce([inputs], top_k=top_k)
    conf = got.top_p[:, 0].masked_fill(got.top_ids[:, 0] < 0, float("nan"))  # (T,): k >= 1, a vocabulary is never empty
    target = "\n".join(t for _, t in lines) if lines and all(t is not None for _, t in lines) else None  # type: ignore[misc]
    return TagTrace(inputs, got.text, target, conf, got.top_ids, got.top_p)


def build_tag_report(run_dir: Path, ckpt: Checkpoint, model, text: str | None, prime: str | None, cfg: ReportConfig) -> Report:
    """The report of a tag run whose checkpoint ``ckpt`` and network ``model`` are loaded."""
    tagger = Tagger(model, ckpt.task.in_vocab, ckpt.task.out_vocab, ckpt.data_config.max_len, "cpu", ckpt.data_config.derive)
    if prime is not None:
        lines, source = [(line, None) for line in prime.split("\n") if line], "the --prime text (no target)"
    elif text is not None:
        lines, source = lines_from_text(text, ckpt.data_config.derive)
    else:
        lines, source = heldout_lines(ckpt), "the held-out (validation) lines of the training data"
    if not lines:
        raise UserError("there is no text to transform")
    total = sum(len(i) + 1 for i, _ in lines) - 1
    notes = [f"showing the first {cfg.chars:,} of {total:,} characters (--chars raises the limit)"] if total > cfg.chars else []
    notes = export_notes(ckpt) + notes
    kept = first_chars(lines, cfg.chars)
    check_memory(ckpt, sum(len(i) + 1 for i, _ in kept), prime, cfg)
    tt = tag_trace(tagger, kept)
    if len(tt.input) > PAGE_CHARS:
        notes.append(f"the text is drawn in pages of {PAGE_CHARS:,} characters to keep the page responsive")
    meta = {"bidirectional": ckpt.model_config.bidirectional, "vocab_size": len(tagger.out_vocab), "in_vocab": len(tagger.in_vocab)}
    body = {
        "input": tt.input,
        "output": tt.output,
        "target": tt.target,
        "out_vocab": list(tagger.out_vocab.chars),
        "top_k": int(tt.top_ids.shape[1]),
        "top_ids": b64(tt.top_ids.to(torch.int32)),
        "top_p": b64(tt.top_p.to(torch.float32)),
        "conf": b64(tt.conf.to(torch.float32)),
        "scores": score(kept, tt.output.split("\n")) if tt.target is not None else None,  # type: ignore[arg-type]
        "mistakes": len(tt.mistakes()),
    }
    data = page_data(ckpt, run_dir, data_name(ckpt), source, len(tt.input), total, notes, meta, body)
    return Report(render_html(data), tt, data, tagger.out_vocab, notes)


def lines_from_text(text: str, derive: str | None) -> tuple[list[Line], str]:
    """Lines from a file's text: input<TAB>target lines; plain lines derived as the run was
    (``derive``); otherwise inputs without targets. Also says which it found."""
    nonempty = [line for line in (raw.rstrip("\r") for raw in text.split("\n")) if line]
    if nonempty and all(line.count("\t") == 1 for line in nonempty):
        pairs, _ = parse_pairs(text, skip_bad=True)
        if pairs:
            return list(pairs), "the given input<TAB>target lines"
    if derive in DERIVE:
        return [DERIVE[derive](line) for line in nonempty], f"the given text, with targets derived as in training ({derive})"
    return [(line, None) for line in nonempty], "the given text (no targets)"


def heldout_lines(ckpt: Checkpoint) -> list[Line]:
    """The run's own validation lines, when its data can still be read."""
    pairs = []
    try:
        if text_known(ckpt):
            pairs, _, _ = load_pairs(ckpt.data.locate(), ckpt.data_config)
    except (UserError, OSError):
        pairs = []
    if not pairs:
        raise UserError("this tag run's training data cannot be read; give a file with --text")
    _, val = split_lines(pairs, ckpt.train_config)
    return list(val or pairs[-HELDOUT_FALLBACK:])


def data_name(ckpt: Checkpoint) -> str:
    """The training data as the page names it."""
    names = ", ".join(Path(p).name for p in ckpt.data.paths[:3]) if ckpt.data.source == "files" else ""
    derive = ckpt.data_config.derive
    return f"{names or 'the embedded corpus'} ({derive})" if derive else names or "?"


def first_chars(lines: list[Line], chars: int) -> list[Line]:
    """The lines that fit in ``chars`` characters (newlines included), the last one cut (a target
    is as long as its input)."""
    kept: list[Line] = []
    for inp, tgt in lines:
        if chars <= 0:
            break
        kept.append((inp[:chars], None if tgt is None else tgt[:chars]))
        chars -= len(inp) + 1
    return kept
