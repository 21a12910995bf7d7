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

from rnnlab.checkpoint import Checkpoint
from rnnlab.training.rundir import RunFolder

VERSION = 1  # of the JSON the template reads
PAGE_CHARS = 20_000  # characters drawn at once in the page; longer texts are paginated
MAX_CURVE_POINTS = 2_000


@dataclass
class Report:
    """One report: the page (``html``), the JSON in it (``data``), what it was drawn from
    (a :class:`Trace`, or for a tag run a :class:`~rnnlab.report.build.TagTrace`), the
    vocabulary of its characters and the notes the page shows."""

    html: str
    trace: Any
    data: dict[str, Any]
    vocab: Any
    notes: list[str] = field(default_factory=list)


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


def read_curves(run_dir: Path) -> dict[str, list]:
    """metrics.csv as columns (downsampled to at most MAX_CURVE_POINTS training rows)."""

    def num(value: str | None) -> float | None:
        try:
            return finite(float(value or "nan"))
        except ValueError:
            return None

    keys = ("step", "elapsed_s", "lr", "train_bpc", "val_bpc")
    rows = [{k: num(r.get(k)) for k in keys} for r in RunFolder(run_dir).read_metrics()]
    rows = [r for r in rows if r["step"] is not None]
    train = [r for r in rows if r["train_bpc"] is not None]
    keep = train[:: max(1, math.ceil(len(train) / MAX_CURVE_POINTS))]
    if train and keep[-1] is not train[-1]:
        keep.append(train[-1])
    return {
        "step": [r["step"] for r in keep],
        "elapsed": [r["elapsed_s"] for r in keep],
        "lr": [r["lr"] for r in keep],
        "train": [r["train_bpc"] for r in keep],
        "val": [[r["step"], r["elapsed_s"], r["val_bpc"]] for r in rows if r["val_bpc"] is not None],
    }


def page_data(
    ckpt: Checkpoint, run_dir: Path, corpus: str, source: str, chars: int, total_chars: int, notes: list[str], meta: dict, body: dict
) -> dict[str, Any]:
    """The page's JSON: what every report shows of the run, the text's ``chars`` (of
    ``total_chars``) from ``source``, plus the ``meta`` and ``body`` of its kind of run."""
    cfg, progress = ckpt.model_config, ckpt.progress
    return {
        "version": VERSION,
        "mode": ckpt.kind,
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
            {"step": h.get("step"), **{k: finite(h.get(k)) for k in ("elapsed_s", "lr", "val_bpc")}, "sample": h.get("sample", "")}
            for h in ckpt.history
        ],
        **body,
    }


def render_html(data: dict[str, Any]) -> str:
    """``template.html`` with the title and the JSON filled in: one file, nothing to fetch."""
    template = resources.files("rnnlab.report").joinpath("template.html").read_text(encoding="utf-8")
    payload = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    # Inside <script>, "</" could close the element early; \u003c is the same character to JSON.
    payload = payload.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    title = html_lib.escape(f"rnnlab report: {Path(data['meta']['run']).name or data['meta']['run']}")
    return template.replace("__TITLE__", title).replace("__REPORT_DATA__", payload)
