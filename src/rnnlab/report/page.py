"""The page: the JSON that ``template.html`` draws, and the self-contained HTML file.

:func:`page_data` is the one payload builder. Every report, of a language model or of a tagger,
has the same ``meta`` (the run, its model, its training, the text), ``curves`` (from
``metrics.csv``) and ``history`` (the samples of each evaluation); each kind adds its own meta
and the body its part of the page draws. Large arrays travel as base64: int8 activations
(:func:`quantize`), float32 probabilities, int32 ids.
"""

from __future__ import annotations

import base64
import ctypes
import html as html_lib
import json
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import torch

from rnnlab import cells
from rnnlab.checkpoint import Checkpoint
from rnnlab.report.analysis import EXAMPLE_SEARCHES, HIGH, LOW, saturation
from rnnlab.report.tracing import Trace
from rnnlab.training.rundir import RunFolder

VERSION = 1  # of the JSON the template reads
PAGE_CHARS = 20_000  # characters drawn at once in the page; longer texts are paginated
MAX_CURVE_POINTS = 2_000
KIND_LABELS = {"h": "hidden state h", "c": "cell state tanh(c)"}


@dataclass
class Report:
    """One report: the page (``html``), the JSON in it (``data``), what it was drawn from
    (a :class:`Trace`, or for a tag run a :class:`~rnnlab.report.tagging.TagTrace`), the
    vocabulary of its characters and the notes the page shows."""

    html: str
    trace: Any
    data: dict[str, Any]
    vocab: Any
    notes: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------ encodings


def b64(t: torch.Tensor) -> str:
    """Base64 of a CPU tensor's bytes (little-endian, as on every platform torch builds for)."""
    t = t.detach().cpu().contiguous()
    raw = ctypes.string_at(t.data_ptr(), t.numel() * t.element_size()) if t.numel() else b""
    return base64.b64encode(raw).decode("ascii")


def quantize(values: torch.Tensor) -> torch.Tensor:
    """Values in [-1, 1] -> int8 as round(v * 127); the page divides by 127 (error <= 1/254)."""
    return torch.round(values.clamp(-1, 1) * 127).to(torch.int8)


def finite(x):
    """``x`` when it is a finite number, else None (JSON has no NaN or infinity)."""
    return x if isinstance(x, (int, float)) and math.isfinite(x) else None


# ------------------------------------------------------------------------------------ the run


def read_curves(run_dir: Path) -> dict[str, list]:
    """metrics.csv as columns (downsampled to at most MAX_CURVE_POINTS training rows)."""
    rows = RunFolder(run_dir).read_metrics()
    cols: dict[str, list] = {"step": [], "elapsed": [], "lr": [], "train": [], "val": []}

    def num(r, key):
        try:
            v = float(r.get(key) or "nan")
        except ValueError:
            return None
        return v if math.isfinite(v) else None

    train_rows = [r for r in rows if num(r, "train_bpc") is not None and num(r, "step") is not None]
    stride = max(1, math.ceil(len(train_rows) / MAX_CURVE_POINTS))
    keep = train_rows[::stride]
    if train_rows and keep[-1] is not train_rows[-1]:
        keep.append(train_rows[-1])
    for r in keep:
        cols["step"].append(num(r, "step"))
        cols["elapsed"].append(num(r, "elapsed_s"))
        cols["lr"].append(num(r, "lr"))
        cols["train"].append(num(r, "train_bpc"))
    for r in rows:
        v = num(r, "val_bpc")
        if v is not None and num(r, "step") is not None:
            cols["val"].append([num(r, "step"), num(r, "elapsed_s"), v])
    return cols


def page_data(
    mode: str,
    ckpt: Checkpoint,
    run_dir: Path,
    corpus: str,
    source: str,
    chars: int,
    total_chars: int,
    notes: list[str],
    meta: dict[str, Any],
    body: dict[str, Any],
) -> dict[str, Any]:
    """The page's JSON: what every report shows of the run, the text's ``chars`` (of
    ``total_chars``) from ``source``, plus the ``meta`` and ``body`` of its ``mode``."""
    cfg, progress = ckpt.model_config, ckpt.progress
    return {
        "version": VERSION,
        "mode": mode,
        "meta": {
            "run": str(run_dir),
            "checkpoint": Path(ckpt.source).name,
            "cell": cfg.cell,
            "layers": cfg.layers,
            "hidden": cfg.hidden,
            "params": sum(v.numel() for v in ckpt.weights.values() if isinstance(v, torch.Tensor)),
            "corpus": corpus,
            "step": progress.step,
            "elapsed_s": finite(progress.elapsed),
            "best_val": finite(progress.best_val),
            "best_step": progress.best_step,
            "source": source,
            "chars": chars,
            "total_chars": total_chars,
            "notes": notes,
            "page_chars": PAGE_CHARS,
            **meta,
        },
        "curves": read_curves(run_dir),
        "history": [
            {
                "step": h.get("step"),
                "elapsed_s": finite(h.get("elapsed_s")),
                "lr": finite(h.get("lr")),
                "val_bpc": finite(h.get("val_bpc")),
                "sample": h.get("sample", ""),
            }
            for h in ckpt.history
        ],
        **body,
    }


# ------------------------------------------------------------------------------------ language models


def corpus_name(ckpt: Checkpoint) -> str:
    """The training text as the page names it."""
    data = ckpt.data
    if data.source == "embedded":
        if data.paths == ("jargon",):
            return "the embedded corpus (The Jargon File)"
        return ", ".join(p.name for p in data.locate()[:3])
    return ", ".join(Path(p).name for p in data.paths[:3])


def lm_page_data(
    tr: Trace, ckpt: Checkpoint, run_dir: Path, source: str, total_chars: int, notes: list[str], search: str
) -> dict[str, Any]:
    """The JSON of a language model's page: the text, every state, the predictions, the gates."""
    kinds = list(cells.get(tr.cell).states)
    cfg = ckpt.model_config
    meta = {
        "embed": None if cfg.one_hot else cfg.embed,
        "vocab_size": cfg.vocab_size,
        "corpus_chars": ckpt.data.chars or None,
        "low": LOW,
        "high": HIGH,
    }
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
        "search": search,
        "examples": [list(e) for e in EXAMPLE_SEARCHES],
    }
    return page_data("lm", ckpt, run_dir, corpus_name(ckpt), source, len(tr.text), total_chars, notes, meta, body)


# ------------------------------------------------------------------------------------ HTML


def render_html(data: dict[str, Any]) -> str:
    """``template.html`` with the title and the JSON filled in: one file, nothing to fetch."""
    template = resources.files("rnnlab.report").joinpath("template.html").read_text(encoding="utf-8")
    payload = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    # Inside <script>, "</" could close the element early; \u003c is the same character to JSON.
    payload = payload.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    title = html_lib.escape(f"rnnlab report: {Path(data['meta']['run']).name or data['meta']['run']}")
    return template.replace("__TITLE__", title).replace("__REPORT_DATA__", payload)
