"""``rnnlab export --to web``: one HTML file that writes text in the browser, offline.

The page (``web.html``) holds the weights as base64 of little-endian float16 or float32 arrays,
the model's card, and a small hand-written JavaScript step for the LSTM, the GRU and the Elman
RNN in the plain stack (embedding or one-hot -> layers -> Linear, tied or not), equal to
:mod:`rnnlab.stepper` to float rounding. It samples with a temperature (0: the likeliest
character) and a seeded generator, and fetches nothing: it works opened from a disk.

Float16 halves the page. It is taken where it costs at most ``MAX_FLOAT16_COST`` bits/char on
the run's held-out text, scored by :func:`rnnlab.scoring.score_ids` with the weights as trained
and rounded (:func:`rounded`); weights that float16 holds exactly cost nothing; without the text
the page keeps float32. ``ExportConfig.dtype`` forces either.
"""

from __future__ import annotations

import copy
import html
import json
import math
import re
from importlib import resources
from pathlib import Path

import torch

from rnnlab import __version__, fileio
from rnnlab.checkpoint import KIND_NAMES, Checkpoint
from rnnlab.config import TEMPERATURES, ExportConfig
from rnnlab.errors import UserError
from rnnlab.model import LN2, CharRNN
from rnnlab.report.build import heldout_text, text_known
from rnnlab.report.page import b64
from rnnlab.scoring import score_ids
from rnnlab.training.lm_task import EVAL_STREAMS

OUTPUT = "file"
VERSION = 1  # of the JSON web.html reads
CELLS = ("lstm", "gru", "rnn")  # the cells web.html has a step function for
SUPPORTED = "LSTM, GRU and RNN cells in the plain stack (embedding or one-hot -> layers -> Linear, tied or not)"
MAX_FLOAT16_COST = 0.005  # bits/char on the held-out text
COST_CHARS = 50_000  # held-out characters scored for that cost: enough to see 0.005, seconds on a CPU
TORCH_DTYPES = {"float32": torch.float32, "float16": torch.float16}


def write(ckpt: Checkpoint, model: CharRNN, out: Path, cfg: ExportConfig) -> str:
    """Write the page of ``ckpt``'s language model ``model`` to ``out``; one line says what it holds."""
    check(ckpt)
    dtype, why = choose_dtype(ckpt, model, cfg)
    blob, index = pack(arrays(model), dtype)
    m, vocab = ckpt.model_config, ckpt.task.vocab
    data = {
        "version": VERSION,
        "cell": m.cell,
        "layers": m.layers,
        "hidden": m.hidden,
        "vocab": list(vocab.chars),
        "unk": vocab.unk,
        "temperatures": list(TEMPERATURES),
        "dtype": dtype,
        "arrays": index,
        "card": card(ckpt, model, dtype, why, cfg),
    }
    page = render(data, b64(blob), f"rnnlab: {run_name(ckpt)}")
    fileio.atomic_write_text(out, page)
    return f"a web page of the {m.layers}x{m.hidden} {m.cell.upper()}, {dtype} weights ({why}), {len(page) / 1e6:.1f} MB"


def check(ckpt: Checkpoint) -> None:
    """Refuse, in one line, a run the page cannot step."""
    if ckpt.kind != "lm":
        raise UserError(f"the web page writes with a language model; {ckpt.source} is a {KIND_NAMES.get(ckpt.kind, ckpt.kind)} run")
    m = ckpt.model_config
    has = [f"the {m.cell} cell"] * (m.cell not in CELLS) + [f"--norm {m.norm}"] * (m.norm != "none")
    has += ["--residual"] * m.residual + [f"--mlp {m.mlp}"] * bool(m.mlp)
    if has:
        raise UserError(f"the web page runs {SUPPORTED}; this run has {', '.join(has)}")


def arrays(model: CharRNN) -> dict[str, torch.Tensor]:
    """The tensors the page reads, by the names it reads them: ``embed`` (none with one-hot),
    ``L.weight_ih``, ``L.weight_hh``, ``L.bias_ih``, ``L.bias_hh`` for each layer L, and
    ``head.weight``, ``head.bias`` (a tied head is the embedding itself)."""
    out = {} if model.embed is None else {"embed": model.embed.weight}
    for layer in range(model.cfg.layers):
        rnn, k, _, _ = model.layer(layer)
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            out[f"{layer}.{name}"] = getattr(rnn, f"{name}_l{k}")
    return {**out, "head.weight": model.head.weight, "head.bias": model.head.bias}


def pack(tensors: dict[str, torch.Tensor], dtype: str) -> tuple[torch.Tensor, dict[str, dict]]:
    """One byte blob of the tensors in ``dtype`` and where each lies: name -> offset (bytes) and
    shape. A tensor met twice (a tied head) is stored once."""
    parts, index, first = [], {}, {}
    at = 0
    for name, t in tensors.items():
        if t.data_ptr() in first:
            index[name] = index[first[t.data_ptr()]]
            continue
        first[t.data_ptr()] = name
        raw = t.detach().cpu().to(TORCH_DTYPES[dtype]).flatten().view(torch.uint8)
        pad = -raw.numel() % 4  # each array starts at a multiple of 4 bytes, where a typed array may view it
        parts += [raw, torch.zeros(pad, dtype=torch.uint8)]
        index[name] = {"offset": at, "shape": list(t.shape)}
        at += raw.numel() + pad
    return torch.cat(parts), index


def rounded(model: CharRNN) -> CharRNN:
    """A copy of ``model`` whose weights are rounded to float16 (and held in float32 again): what
    the page computes with when it stores float16."""
    half = copy.deepcopy(model)
    with torch.no_grad():
        for p in half.parameters():
            p.copy_(p.half().float())
    return half


def choose_dtype(ckpt: Checkpoint, model: CharRNN, cfg: ExportConfig) -> tuple[str, str]:
    """``(dtype, why)``: the one asked for, else float16 where it costs at most ``MAX_FLOAT16_COST``
    bits/char on the run's held-out text (nothing where float16 holds the weights exactly), else float32."""
    if cfg.dtype is not None:
        return cfg.dtype, "as asked"
    half = rounded(model)
    if all(torch.equal(a, b) for a, b in zip(model.parameters(), half.parameters())):
        return "float16", "float16 holds these weights exactly"
    ids = heldout_ids(ckpt)
    if ids is None:
        return "float32", "no held-out text found to measure what float16 would cost"
    cost, n = float16_cost(model, half, ids)
    if cost <= MAX_FLOAT16_COST:
        return "float16", f"{cost:+.4f} bits/char on {n:,} held-out characters"
    return "float32", f"float16 would cost {cost:.4f} bits/char on {n:,} held-out characters"


def float16_cost(model: CharRNN, half: CharRNN, ids: torch.Tensor) -> tuple[float, int]:
    """``(bits/char, characters)``: what ``half`` (:func:`rounded`) loses against ``model`` on
    ``ids``; NaN or infinite where float16 overflows."""
    full, n = score_ids(model, ids, EVAL_STREAMS)  # streams side by side, as the trainer's validation reads
    return (score_ids(half, ids, EVAL_STREAMS)[0] - full) / n / LN2, n


def heldout_ids(ckpt: Checkpoint) -> torch.Tensor | None:
    """The ids of the start of the run's held-out text (at most ``COST_CHARS``), or None where the
    run held none out or its files cannot be read."""
    n = int(ckpt.data.chars * ckpt.train_config.val_fraction)
    got = heldout_text(ckpt, min(n, COST_CHARS)) if n >= 2 and text_known(ckpt) else None
    if got is None:
        return None
    ids, _ = ckpt.task.vocab.encode(got[0])
    return ids if ids.numel() >= 2 else None


def run_name(ckpt: Checkpoint) -> str:
    """The run folder's name (``base`` for the shipped model), never a full path."""
    path = Path(ckpt.source)
    if path.name in (fileio.BEST, fileio.LAST):
        return path.parent.name
    return path.name if path.is_dir() else path.stem  # a folder read as a run, or a checkpoint named directly


def data_names(ckpt: Checkpoint) -> str:
    """The training text's file names: where they lay on the machine that trained is not the page's business."""
    spec = ckpt.data
    if spec.source == "text":
        return "a text given in memory"
    names = [Path(p).name for p in spec.paths]
    more = f" and {len(names) - 5} more" if len(names) > 5 else ""
    return ", ".join(names[:5]) + more + " (shipped with rnnlab)" * (spec.source == "embedded")


def card(ckpt: Checkpoint, model: CharRNN, dtype: str, why: str, cfg: ExportConfig) -> list[tuple[str, str]]:
    """The model card's rows, (what, value), as the page shows them."""
    m, p = ckpt.model_config, ckpt.progress
    extras = f" ({', '.join(m.extras())})" if m.extras() else ""
    held = f"{p.best_val:.3f} (step {p.best_step:,})" if math.isfinite(p.best_val) else "not measured"
    return [
        ("model", f"{m.layers}x{m.hidden} {m.cell.upper()}{extras}"),
        ("parameters", f"{sum(t.numel() for t in model.parameters()):,}"),
        ("vocabulary", f"{len(ckpt.task.vocab)} symbols"),
        ("trained on", data_names(ckpt)),
        ("text size", f"{ckpt.data.chars:,} characters" if ckpt.data.chars else "unknown"),
        ("training", f"{p.step:,} steps, {p.elapsed / 60:.1f} minutes"),
        ("held-out bits/char", held),
        ("weights", f"{dtype}: {why}"),
        ("licence", cfg.license),
        ("exported by", f"rnnlab {__version__}"),
    ]


def render(data: dict, weights: str, title: str) -> str:
    """``web.html`` with the title, the JSON and the weights' base64 filled in: one file, nothing to fetch."""
    template = resources.files("rnnlab.export").joinpath("web.html").read_text(encoding="utf-8")
    # ASCII JSON: no character can end the <script> early but "<", which \u003c stands for in JSON.
    payload = json.dumps(data, allow_nan=False, separators=(",", ":")).replace("<", "\\u003c")
    filled = {"TITLE": html.escape(title), "MODEL_DATA": payload, "WEIGHTS": weights}
    return re.sub("__(TITLE|MODEL_DATA|WEIGHTS)__", lambda m: filled[m.group(1)], template)  # one pass: no value is read as a placeholder
