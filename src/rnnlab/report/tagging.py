"""The report of a tag (transduction) run: for each line the input, the model's output with its
confidence and top 5 per character, the target and the mistakes, and the scores.

The output is :func:`rnnlab.tag.infer.transduce`'s, the one transduction that ``rnnlab tag
predict`` also runs (lines cut into windows as in training; newlines and characters the model
never saw pass through unpredicted). The lines are the given text (``input<TAB>target`` lines,
or plain lines whose targets are derived as in training, or inputs alone), the ``--prime`` text,
or by default the run's own held-out lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from rnnlab.checkpoint import Checkpoint
from rnnlab.config import ReportConfig
from rnnlab.errors import UserError
from rnnlab.report.page import PAGE_CHARS, Report, b64, page_data, render_html
from rnnlab.report.tracing import TOP_K
from rnnlab.tag.infer import Tagger, score
from rnnlab.tag.pairs import DERIVE, load_pairs, parse_pairs
from rnnlab.tag.task import split_lines

Line = tuple[str, str | None]  # (input, target or None)
HELDOUT_FALLBACK = 50  # lines shown when the run held none out


@dataclass
class TagTrace:
    """A transducer's output over lines joined by newlines (T characters, aligned one to one)."""

    input: str
    output: str
    target: str | None  # None when no target was given
    conf: torch.Tensor  # (T,) probability of the chosen output character; NaN where nothing was predicted
    top_ids: torch.Tensor  # (T, K) output-vocabulary ids, -1 where nothing was predicted
    top_p: torch.Tensor  # (T, K)

    def mistakes(self) -> list[int]:
        if self.target is None:
            return []
        return [i for i, (o, t) in enumerate(zip(self.output, self.target)) if o != t]


def tag_trace(tagger: Tagger, lines: list[Line], top_k: int = TOP_K) -> TagTrace:
    """Transform the input lines (joined by newlines) and keep the model's top-k choices."""
    inputs = "\n".join(i for i, _ in lines)
    (got,) = tagger.transduce([inputs], top_k=top_k)
    best = got.top_p[:, 0]  # (T,): k >= 1, a vocabulary is never empty
    conf = torch.where(got.top_ids[:, 0] >= 0, best, torch.full_like(best, float("nan")))
    target = None
    if lines and all(t is not None for _, t in lines):
        target = "\n".join(t for _, t in lines)  # type: ignore[misc]
    return TagTrace(inputs, got.text, target, conf, got.top_ids, got.top_p)


def lines_from_text(text: str, derive: str | None) -> tuple[list[Line], str]:
    """Lines from a file's text: input<TAB>target lines; plain lines derived as the run was
    (``derive``); otherwise inputs without targets. Also says which it found."""
    lines = [line.rstrip("\r") for line in text.split("\n")]
    nonempty = [line for line in lines if line]
    if nonempty and all(line.count("\t") == 1 for line in nonempty):
        pairs, _ = parse_pairs(text, skip_bad=True)
        if pairs:
            return list(pairs), "the given input<TAB>target lines"
    if derive in DERIVE:
        derived = [DERIVE[derive](line) for line in nonempty]
        return derived, f"the given text, with targets derived as in training ({derive})"
    return [(line, None) for line in nonempty], "the given text (no targets)"


def heldout_lines(ckpt: Checkpoint) -> list[Line] | None:
    """The run's own validation lines, when its data can still be read."""
    try:
        pairs, _, _ = load_pairs(ckpt.data.locate(), ckpt.data_config)
    except (UserError, OSError):
        return None
    _, val = split_lines(pairs, ckpt.train_config.val_fraction)
    return list(val or pairs[-HELDOUT_FALLBACK:])


def data_name(ckpt: Checkpoint) -> str:
    """The training data as the page names it."""
    derive = ckpt.data_config.derive
    names = ", ".join(Path(p).name for p in ckpt.data.paths[:3]) if ckpt.data.source == "files" else ""
    if derive:
        return f"{names or 'the embedded corpus'} ({derive})"
    return names or "?"


def first_chars(lines: list[Line], chars: int) -> list[Line]:
    """The lines that fit in ``chars`` characters (newlines included), the last one cut."""
    kept: list[Line] = []
    used = 0
    for inp, tgt in lines:
        room = chars - used
        if room <= 0:
            break
        if len(inp) > room:
            inp, tgt = inp[:room], (tgt[:room] if tgt is not None else None)
        kept.append((inp, tgt))
        used += len(inp) + 1
    return kept


def build_tag_report(run_dir: Path, ckpt: Checkpoint, model, text: str | None, prime: str | None, cfg: ReportConfig) -> Report:
    """The report of a tag run whose checkpoint ``ckpt`` and network ``model`` are loaded."""
    tagger = Tagger(model, ckpt.task.in_vocab, ckpt.task.out_vocab, ckpt.data_config.max_len, "cpu")
    notes: list[str] = []
    if prime is not None:
        lines: list[Line] = [(line, None) for line in prime.split("\n") if line]
        source = "the --prime text (no target)"
    elif text is not None:
        lines, source = lines_from_text(text, ckpt.data_config.derive)
    else:
        got = heldout_lines(ckpt)
        if not got:
            raise UserError("this tag run's training data cannot be read; give a file with --text")
        lines, source = got, "the held-out (validation) lines of the training data"
    if not lines:
        raise UserError("there is no text to transform")
    total = sum(len(i) + 1 for i, _ in lines) - 1
    kept = first_chars(lines, cfg.chars)
    if total > cfg.chars:
        notes.append(f"showing the first {min(cfg.chars, total):,} of {total:,} characters (--chars raises the limit)")
    tt = tag_trace(tagger, kept)
    if len(tt.input) > PAGE_CHARS:
        notes.append(f"the text is drawn in pages of {PAGE_CHARS:,} characters to keep the page responsive")
    scores = score(kept, tt.output.split("\n")) if tt.target is not None else None  # type: ignore[arg-type]
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
        "scores": scores,
        "mistakes": len(tt.mistakes()),
    }
    data = page_data("tag", ckpt, run_dir, data_name(ckpt), source, len(tt.input), total, notes, meta, body)
    return Report(render_html(data), tt, data, tagger.out_vocab, notes)
