"""What ``rnnlab report`` shows: hidden states, gates and predictions over a text, and training curves.

The model is run one character at a time on its own weights, layer by layer, with the step
functions of ``rnnlab.nn`` (the same cell equations as ``CharRNN.step``), keeping every state:

- ``h`` per layer and step, and for an LSTM the cell state ``c``;
- the gates per layer and step (LSTM input, forget, output; GRU reset, update), recomputed in one
  batched product from the recorded previous hidden states: ``pre = W_ih x_t + W_hh h_{t-1} + b``;
- the next-character distribution after each character: its top 5 and the probability of the
  character that actually follows.

From these come the gate saturation fractions (Karpathy, Johnson and Fei-Fei 2015, figure 3), the
regular-expression unit search (Pearson correlation of each unit with a 0/1 mask of the
characters inside matches), and the JSON that the self-contained HTML page draws.

>>> from rnnlab.report import build_report
>>> html = build_report("runs/jargon", text="Hello (world).")   # -> str, one file
"""

from __future__ import annotations

import base64
import csv
import ctypes
import html as html_lib
import json
import math
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import torch

from rnnlab.errors import UserError

LOW, HIGH = 0.1, 0.9  # gate saturation thresholds of Karpathy et al. (2015)
TOP_K = 5
PAGE_CHARS = 20_000  # characters drawn at once in the page; longer texts are paginated
DEFAULT_CHARS = 5_000
MAX_CURVE_POINTS = 2_000
# The page's example searches: (label, regular expression valid in Python and JavaScript).
EXAMPLE_SEARCHES = (
    ("(parentheses)", r"\([^)]*\)"),
    ("{braces}", r"\{[^}]*\}"),
    ("[brackets]", r"\[[^\]]*\]"),
    ('"quotes"', r'"[^"]*"'),
    ("'quotes'", r"'[^'\n]*'"),
    ("word starts", r"\b\w"),
    ("line starts", r"^.{0,20}"),
    ("capitals", r"[A-Z]"),
    ("digits", r"\d"),
)
DEFAULT_SEARCH = EXAMPLE_SEARCHES[0][1]  # text inside parentheses

GATE_NAMES = {"lstm": ("input", "forget", "output"), "gru": ("reset", "update"), "rnn": ()}
STATE_KINDS = {"lstm": ("h", "c"), "gru": ("h",), "rnn": ("h",)}
KIND_LABELS = {"h": "hidden state h", "c": "cell state tanh(c)"}


# --------------------------------------------------------------------------------------------
# Running the cells step by step


@dataclass
class Trace:
    """Everything recorded while the model reads ``text`` (T characters) from a blank state."""

    cell: str
    text: str  # one character per id (unknown characters already handled)
    ids: torch.Tensor  # (T,) long
    h: list[torch.Tensor]  # per layer (T, H): the state after reading each character
    c: list[torch.Tensor] | None  # LSTM only, per layer (T, H): raw cell state
    gates: list[dict[str, torch.Tensor]]  # per layer: gate name -> (T, H) in (0, 1)
    top_ids: torch.Tensor  # (T, K) most likely next characters after each position
    top_p: torch.Tensor  # (T, K) their probabilities
    p_next: torch.Tensor  # (T,) probability given to the character that follows (NaN at the end)

    @property
    def layers(self) -> int:
        return len(self.h)

    @property
    def hidden(self) -> int:
        return self.h[0].shape[1]

    def activation(self, kind: str, layer: int) -> torch.Tensor:
        """(T, H) values in (-1, 1) as the page colours them: ``h``, or ``tanh(c)`` for kind ``c``."""
        if kind == "h":
            return self.h[layer]
        if kind == "c" and self.c is not None:
            return torch.tanh(self.c[layer])
        raise UserError(f"no state {kind!r} for a {self.cell.upper()} model")


def _layer_weights(rnn: torch.nn.Module, layer: int):
    get = lambda name: getattr(rnn, f"{name}_l{layer}", None)  # noqa: E731
    return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh")


@torch.no_grad()
def trace(model, ids: torch.Tensor, top_k: int = TOP_K, text: str | None = None) -> Trace:
    """Run ``model`` (a CharRNN) over ``ids`` (T,) one step at a time from a zero state."""
    from rnnlab.model import _STEP_FUNCTIONS
    from rnnlab.nn._base import project_input

    cfg = model.cfg
    model.eval()
    step_fn, fold = _STEP_FUNCTIONS[cfg.cell]
    ids = ids.long().flatten()
    T = ids.numel()
    if T == 0:
        raise UserError("the text to analyse is empty")
    dtype = model.head.weight.dtype
    device = model.head.weight.device
    ids = ids.to(device)
    x = model.encode_input(ids[None, :])[0]  # (T, E)
    hs: list[torch.Tensor] = []
    cs: list[torch.Tensor] = []
    gates: list[dict[str, torch.Tensor]] = []
    for layer in range(cfg.layers):
        w_ih, w_hh, b_ih, b_hh = _layer_weights(model.rnn, layer)
        xw = project_input(x, w_ih, b_ih, b_hh if fold else None)  # (T, G*H) for all steps at once
        H = w_hh.shape[1]
        zero = torch.zeros(1, H, dtype=dtype, device=device)
        state = (zero, zero.clone()) if cfg.cell == "lstm" else (zero,)
        out_h, out_c = [], []
        for t in range(T):
            state = step_fn(xw[t : t + 1], state, w_hh, None if fold else b_hh)
            out_h.append(state[0])
            if cfg.cell == "lstm":
                out_c.append(state[1])
        h = torch.cat(out_h)  # (T, H)
        hs.append(h)
        if cfg.cell == "lstm":
            cs.append(torch.cat(out_c))  # (T, H)
        h_prev = torch.cat([zero, h[:-1]])  # (T, H): the state each step started from
        gates.append(_gates(cfg.cell, xw, h_prev, w_hh, b_hh))
        x = h
    top_ids, top_p, p_next = _predictions(model, x, ids, top_k)
    if text is None:
        text = "".join(str(i) for i in ids.tolist())
    return Trace(
        cell=cfg.cell,
        text=text,
        ids=ids.cpu(),
        h=[t.float().cpu() for t in hs],
        c=[t.float().cpu() for t in cs] if cfg.cell == "lstm" else None,
        gates=[{k: v.float().cpu() for k, v in g.items()} for g in gates],
        top_ids=top_ids.cpu(),
        top_p=top_p.float().cpu(),
        p_next=p_next.float().cpu(),
    )


def _gates(cell: str, xw: torch.Tensor, h_prev: torch.Tensor, w_hh: torch.Tensor, b_hh) -> dict[str, torch.Tensor]:
    """Gate activations of all steps from the projected inputs and the previous hidden states."""
    if cell == "lstm":
        pre = xw + h_prev @ w_hh.t()  # (T, 4H); xw already carries b_ih + b_hh
        i, f, _g, o = pre.chunk(4, 1)
        return {"input": torch.sigmoid(i), "forget": torch.sigmoid(f), "output": torch.sigmoid(o)}
    if cell == "gru":
        gh = h_prev @ w_hh.t()  # (T, 3H)
        if b_hh is not None:
            gh = gh + b_hh
        x_r, x_z, _ = xw.chunk(3, 1)
        h_r, h_z, _ = gh.chunk(3, 1)
        return {"reset": torch.sigmoid(x_r + h_r), "update": torch.sigmoid(x_z + h_z)}
    return {}


def _predictions(model, top: torch.Tensor, ids: torch.Tensor, k: int, chunk: int = 4096):
    """Top-k next characters after each position, and the probability of the true next one."""
    T = ids.numel()
    k = min(k, model.cfg.vocab_size)
    top_ids = torch.empty(T, k, dtype=torch.long)
    top_p = torch.empty(T, k, dtype=torch.float64)
    p_next = torch.full((T,), float("nan"), dtype=torch.float64)
    for s in range(0, T, chunk):
        e = min(T, s + chunk)
        probs = torch.softmax(model.head(top[s:e]).double(), dim=-1)  # (t, V)
        p, i = probs.topk(k, dim=-1)
        top_ids[s:e], top_p[s:e] = i.cpu(), p.cpu()
        n = min(e, T - 1) - s  # positions in this chunk that have a next character
        if n > 0:
            nxt = ids[s + 1 : s + 1 + n]
            p_next[s : s + n] = probs[:n].gather(1, nxt[:, None])[:, 0].cpu()
    return top_ids, top_p, p_next


# --------------------------------------------------------------------------------------------
# Summaries


def saturation(tr: Trace, low: float = LOW, high: float = HIGH) -> list[dict[str, dict[str, list[float]]]]:
    """Per layer, per gate: the fraction of steps each unit is below ``low`` and above ``high``."""
    out = []
    for g in tr.gates:
        out.append(
            {
                name: {"left": (v < low).double().mean(0).tolist(), "right": (v > high).double().mean(0).tolist()}
                for name, v in g.items()
            }
        )
    return out


def regex_mask(text: str, pattern: str, flags: int = re.MULTILINE) -> torch.Tensor:
    """(T,) bool: characters inside a match of ``pattern`` (empty matches mark nothing)."""
    try:
        rx = re.compile(pattern, flags)
    except re.error as e:
        raise UserError(f"bad regular expression {pattern!r}: {e}") from None
    mask = torch.zeros(len(text), dtype=torch.bool)
    for m in rx.finditer(text):
        if m.end() > m.start():
            mask[m.start() : m.end()] = True
    return mask


def correlations(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Pearson correlation of each column of ``values`` (T, H) with ``mask`` (T,); 0 where undefined."""
    v = values.double()
    m = mask.double()
    v = v - v.mean(0)
    m = m - m.mean()
    num = (v * m[:, None]).sum(0)
    den = torch.sqrt((v * v).sum(0) * (m * m).sum())
    return torch.where(den > 0, num / den.clamp_min(1e-300), torch.zeros_like(num))


def unit_search(tr: Trace, pattern: str, top: int = 20) -> list[dict[str, Any]]:
    """The units (any layer, any state) whose activation correlates most with ``pattern``'s matches."""
    mask = regex_mask(tr.text, pattern)
    found = []
    for kind in STATE_KINDS[tr.cell]:
        for layer in range(tr.layers):
            r = correlations(tr.activation(kind, layer), mask)
            for unit, value in enumerate(r.tolist()):
                found.append({"layer": layer, "kind": kind, "unit": unit, "r": value})
    found.sort(key=lambda d: -abs(d["r"]))
    return found[:top]


def choose_search(tr: Trace) -> str:
    """Of the bracketing and quoting examples, the one whose best unit tracks it most closely."""
    best, best_r = DEFAULT_SEARCH, -1.0
    for _, pattern in EXAMPLE_SEARCHES[:5]:
        mask = regex_mask(tr.text, pattern)
        if int(mask.sum()) < 20:
            continue
        r = abs(unit_search(tr, pattern, top=1)[0]["r"])
        if r > best_r:
            best, best_r = pattern, r
    return best


# --------------------------------------------------------------------------------------------
# The run folder: checkpoint, curves, text


def load_checkpoint(run_dir: Path, which: str = "best") -> dict[str, Any]:
    from rnnlab import checkpoint

    path = checkpoint.find(Path(run_dir), which)
    ckpt = checkpoint.load(path)
    kind = ckpt.get("kind")
    if kind == "tag":
        try:
            import rnnlab.tag  # noqa: F401
        except ImportError:
            raise UserError("report supports language-model runs; tag runs are not supported yet") from None
    elif kind != "lm":
        raise UserError(f"{path} is a checkpoint of a {kind!r} model; report reads language-model and tag runs")
    ckpt["_path"] = str(path)
    return ckpt


def read_metrics(run_dir: Path) -> dict[str, list]:
    """metrics.csv as columns (downsampled to at most MAX_CURVE_POINTS training rows)."""
    path = Path(run_dir) / "metrics.csv"
    cols: dict[str, list] = {"step": [], "elapsed": [], "lr": [], "train": [], "val": []}
    if not path.is_file():
        return cols
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except (OSError, csv.Error, UnicodeDecodeError):
        return cols

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


def heldout_text(ckpt: dict[str, Any], chars: int) -> tuple[str, str] | None:
    """``(text, what it is)``: the start of the validation tail of the training text (or, when
    that is shorter than ``chars``, the end of the text), when its files can still be read."""
    from rnnlab.data import default_corpus_path, iter_text

    spec = ckpt.get("corpus_spec") or {}
    total = (ckpt.get("corpus") or {}).get("chars")
    vf = (ckpt.get("train_config") or {}).get("val_fraction", 0.05)
    if not spec or not total:
        return None
    paths = [default_corpus_path()] if spec.get("embedded") else [Path(p) for p in spec.get("paths", [])]
    try:
        from rnnlab.data import list_text_files

        files, _ = list_text_files(paths)
        n_val = max(int(total * vf), min(total, chars))
        parts: list[str] = []
        have = 0
        for f in reversed(files):
            t = "".join(iter_text(f, spec.get("encoding", "utf-8")))
            parts.append(t)
            have += len(t)
            if have >= n_val:
                break
    except (UserError, OSError):
        return None
    tail = "".join(reversed(parts))[-n_val:]
    # Start on a fresh line when one begins soon, so the page does not open mid-word.
    nl = tail.find("\n", 0, 300)
    if 0 <= nl < len(tail) - 1:
        tail = tail[nl + 1 :]
    if not tail:
        return None
    if n_val > int(total * vf):
        return tail[:chars], "the end of the training text (its held-out part is shorter than --chars)"
    return tail[:chars], "the start of the held-out (validation) part of the training text"


def prepare_text(text: str, vocab) -> tuple[str, torch.Tensor, int]:
    """Characters and ids aligned one to one: unknown characters become unk, or are dropped."""
    stoi = vocab.stoi
    if vocab.unk is None:
        kept = "".join(c for c in text if c in stoi)
        dropped = len(text) - len(kept)
        text = kept
    else:
        dropped = 0
    ids = torch.tensor([stoi.get(c, vocab.unk if vocab.unk is not None else 0) for c in text], dtype=torch.long)
    return text, ids, dropped


# --------------------------------------------------------------------------------------------
# The page


def _b64(t: torch.Tensor) -> str:
    """Base64 of a CPU tensor's bytes (little-endian, as on every platform torch builds for)."""
    t = t.detach().cpu().contiguous()
    raw = ctypes.string_at(t.data_ptr(), t.numel() * t.element_size()) if t.numel() else b""
    return base64.b64encode(raw).decode("ascii")


def quantize(values: torch.Tensor) -> torch.Tensor:
    """Values in [-1, 1] -> int8 as round(v * 127); the page divides by 127 (error <= 1/254)."""
    return torch.round(values.clamp(-1, 1) * 127).to(torch.int8)


def _finite(x):
    return x if isinstance(x, (int, float)) and math.isfinite(x) else None


def page_data(
    tr: Trace,
    ckpt: dict[str, Any],
    run_dir: Path,
    vocab,
    source: str,
    total_chars: int,
    notes: list[str],
    search: str = DEFAULT_SEARCH,
) -> dict[str, Any]:
    """The JSON the page draws; arrays are base64 (int8 activations, float32 probabilities)."""
    from rnnlab.config import ModelConfig, from_dict

    cfg = from_dict(ModelConfig, ckpt["model_config"])
    progress = ckpt.get("progress") or {}
    n_params = sum(v.numel() for v in ckpt["model"].values() if isinstance(v, torch.Tensor))
    kinds = list(STATE_KINDS[tr.cell])
    acts = {k: [_b64(quantize(tr.activation(k, layer))) for layer in range(tr.layers)] for k in kinds}
    history = [
        {
            "step": h.get("step"),
            "elapsed_s": _finite(h.get("elapsed_s")),
            "lr": _finite(h.get("lr")),
            "val_bpc": _finite(h.get("val_bpc")),
            "sample": h.get("sample", ""),
        }
        for h in ckpt.get("history", [])
    ]
    corpus = ckpt.get("corpus_spec") or {}
    corpus_name = (
        "the embedded corpus (The Jargon File)"
        if corpus.get("embedded")
        else ", ".join(Path(p).name for p in corpus.get("paths", [])[:3])
    )
    return {
        "version": 1,
        "meta": {
            "run": str(run_dir),
            "checkpoint": Path(ckpt["_path"]).name,
            "cell": tr.cell,
            "layers": tr.layers,
            "hidden": tr.hidden,
            "embed": None if cfg.one_hot else cfg.embed,
            "params": n_params,
            "vocab_size": cfg.vocab_size,
            "corpus": corpus_name,
            "corpus_chars": (ckpt.get("corpus") or {}).get("chars"),
            "step": progress.get("step"),
            "elapsed_s": _finite(progress.get("elapsed")),
            "best_val": _finite(progress.get("best_val")),
            "best_step": progress.get("best_step"),
            "source": source,
            "chars": len(tr.text),
            "total_chars": total_chars,
            "notes": notes,
            "page_chars": PAGE_CHARS,
            "low": LOW,
            "high": HIGH,
        },
        "curves": read_metrics(run_dir),
        "history": history,
        "text": tr.text,
        "vocab": list(vocab.chars),
        "kinds": kinds,
        "kind_labels": {k: KIND_LABELS[k] for k in kinds},
        "acts": acts,
        "top_k": int(tr.top_ids.shape[1]),
        "top_ids": _b64(tr.top_ids.to(torch.int32)),
        "top_p": _b64(tr.top_p.to(torch.float32)),
        "p_next": _b64(tr.p_next.to(torch.float32)),
        "gates": list(GATE_NAMES[tr.cell]),
        "saturation": saturation(tr),
        "search": search,
        "examples": [list(e) for e in EXAMPLE_SEARCHES],
    }


def render_html(data: dict[str, Any]) -> str:
    template = resources.files("rnnlab").joinpath("report_template.html").read_text(encoding="utf-8")
    payload = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    # Inside <script>, "</" could close the element early; \u003c is the same character to JSON.
    payload = payload.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    title = html_lib.escape(f"rnnlab report: {Path(data['meta']['run']).name or data['meta']['run']}")
    return template.replace("__TITLE__", title).replace("__REPORT_DATA__", payload)


@dataclass
class Report:
    html: str
    trace: Trace
    data: dict[str, Any]
    vocab: Any
    notes: list[str] = field(default_factory=list)


def build_report(
    run_dir,
    text: str | None = None,
    prime: str | None = None,
    chars: int = DEFAULT_CHARS,
    length: int = 2000,
    temperature: float = 0.8,
    seed: int = 0,
    which: str = "best",
    search: str | None = None,
) -> Report:
    """Everything for one report: the text, the trace, the page (``Report.html``).

    ``search`` is the unit search the page opens with; by default the bracketing or quoting
    example whose best unit correlates most strongly.
    """
    from rnnlab.lm import LanguageModel
    from rnnlab.train import model_from_checkpoint

    if text is not None and prime is not None:
        raise UserError("give at most one of --text and --prime")
    if chars < 1:
        raise UserError(f"--chars must be at least 1, got {chars}")
    run_dir = Path(run_dir)
    ckpt = load_checkpoint(run_dir, which)
    if ckpt.get("kind") == "tag":
        return build_tag_report(run_dir, ckpt, text=text, prime=prime, chars=chars, which=which)
    model, vocab = model_from_checkpoint(ckpt, "cpu")
    notes: list[str] = []
    if text is not None:
        source = "the given text"
    elif prime is not None:
        lm = LanguageModel(model, vocab, "cpu")
        text = lm.sample(length, prime=prime, temperature=temperature, seed=seed)
        source = f"a sample of the model (prime {prime!r}, temperature {temperature:g}, seed {seed})"
    else:
        got = heldout_text(ckpt, chars)
        if got:
            text, source = got
        else:
            lm = LanguageModel(model, vocab, "cpu")
            text = lm.sample(min(length, chars), temperature=temperature, seed=seed)
            source = (
                f"a sample of the model (temperature {temperature:g}, seed {seed}); the training text could not be read"
            )
    text, ids, dropped = prepare_text(text, vocab)
    if dropped:
        notes.append(f"{dropped:,} characters the model has never seen were left out")
    total = len(text)
    if total == 0:
        raise UserError("none of the text's characters is in the model's vocabulary")
    if total > chars:
        text, ids = text[:chars], ids[:chars]
        notes.append(f"showing the first {chars:,} of {total:,} characters (--chars raises the limit)")
    if len(text) > PAGE_CHARS:
        notes.append(f"the text is drawn in pages of {PAGE_CHARS:,} characters to keep the page responsive")
    if search is not None:
        regex_mask("", search)  # a bad --search fails here, before the work
    tr = trace(model, ids, text=text)
    if search is None:
        search = choose_search(tr)
    data = page_data(tr, ckpt, run_dir, vocab, source, total, notes, search)
    return Report(render_html(data), tr, data, vocab, notes)


# --------------------------------------------------------------------------------------------
# Tag (transduction) runs: input, output, confidence, mistakes


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


@torch.no_grad()
def tag_trace(tagger, pairs: list[tuple[str, str | None]], top_k: int = TOP_K, batch_size: int = 128) -> TagTrace:
    """Run a Tagger on each input line (windowed as in training) and keep its top-k choices.

    Newlines are not predicted (they separate lines); input characters the model never saw pass
    through unchanged, as in ``rnnlab tag predict``.
    """
    from rnnlab.tag import window_spans

    model, in_vocab, out_vocab = tagger.model.eval(), tagger.in_vocab, tagger.out_vocab
    k = min(top_k, len(out_vocab))
    inputs = "\n".join(i for i, _ in pairs)
    T = len(inputs)
    out = list(inputs)
    conf = torch.full((T,), float("nan"), dtype=torch.float64)
    top_ids = torch.full((T, k), -1, dtype=torch.long)
    top_p = torch.zeros(T, k, dtype=torch.float64)
    pieces: list[tuple[int, str]] = []
    offset = 0
    for inp, _ in pairs:
        for a, b in window_spans(inp, tagger.max_len):
            if b > a:
                pieces.append((offset + a, inp[a:b]))
        offset += len(inp) + 1
    stoi = in_vocab.stoi
    device = next(model.parameters()).device
    order = sorted(range(len(pieces)), key=lambda i: len(pieces[i][1]))
    for s in range(0, len(order), batch_size):
        chunk = [pieces[i] for i in order[s : s + batch_size]]
        lengths = torch.tensor([len(w) for _, w in chunk])
        ids = torch.full((len(chunk), int(lengths.max())), -1, dtype=torch.long)
        for r, (_, w) in enumerate(chunk):
            ids[r, : len(w)] = torch.tensor([stoi.get(c, -1) for c in w], dtype=torch.long)
        unknown = ids < 0
        ids = ids.masked_fill(unknown, in_vocab.unk if in_vocab.unk is not None else 0)
        logits, _ = model(ids.to(device), lengths=lengths)
        probs = torch.softmax(logits.double(), -1).cpu()  # (B, L, V_out)
        p, i = probs.topk(k, -1)
        for r, (start, w) in enumerate(chunk):
            for j in range(len(w)):
                if unknown[r, j]:
                    continue
                top_ids[start + j], top_p[start + j] = i[r, j], p[r, j]
                conf[start + j] = p[r, j, 0]
                out[start + j] = out_vocab.chars[int(i[r, j, 0])]
    target = None
    if pairs and all(t is not None for _, t in pairs):
        target = "\n".join(t for _, t in pairs)  # type: ignore[misc]
    return TagTrace(inputs, "".join(out), target, conf, top_ids, top_p)


def _tag_pairs_from_text(text: str, spec: dict[str, Any]) -> tuple[list[tuple[str, str | None]], str]:
    """Pairs from a file's text: input<TAB>target lines; plain lines derived as the run was
    (--derive); otherwise inputs without targets."""
    from rnnlab.tag import DERIVE, parse_pairs

    lines = [line.rstrip("\r") for line in text.split("\n")]
    nonempty = [line for line in lines if line]
    if nonempty and all(line.count("\t") == 1 for line in nonempty):
        pairs, _ = parse_pairs(text, skip_bad=True)
        if pairs:
            return list(pairs), "the given input<TAB>target lines"
    derive = spec.get("derive")
    if derive in DERIVE:
        return [
            DERIVE[derive](line) for line in nonempty
        ], f"the given text, with targets derived as in training ({derive})"
    return [(line, None) for line in nonempty], "the given text (no targets)"


def _tag_heldout(ckpt: dict[str, Any]) -> list[tuple[str, str | None]] | None:
    """The run's own validation lines, when its data can still be read."""
    from rnnlab.tag import derive_pairs, read_pair_files, split_lines

    spec = ckpt.get("data_spec") or {}
    vf = (ckpt.get("train_config") or {}).get("val_fraction", 0.05)
    try:
        if spec.get("derive"):
            paths = spec.get("paths") or []
            if not paths:
                from rnnlab.commands.tag import _default_text

                paths = [str(_default_text(spec["derive"]))]
            pairs = derive_pairs(paths, spec["derive"], spec.get("encoding", "utf-8"))
        elif spec.get("paths"):
            pairs, _ = read_pair_files(spec["paths"], True, spec.get("encoding", "utf-8"))
        else:
            return None
    except (UserError, OSError, ImportError, KeyError):
        return None
    _, val = split_lines(pairs, vf)
    return list(val or pairs[-50:])


def build_tag_report(
    run_dir: Path, ckpt: dict[str, Any], text=None, prime=None, chars=DEFAULT_CHARS, which="best"
) -> Report:
    from rnnlab.config import from_dict
    from rnnlab.tag import Tagger, TagModelConfig, score

    tagger = Tagger.load(run_dir, which=which, device="cpu")
    spec = ckpt.get("data_spec") or {}
    notes: list[str] = []
    if prime is not None:
        pairs: list[tuple[str, str | None]] = [(line, None) for line in prime.split("\n") if line]
        source = "the --prime text (no target)"
    elif text is not None:
        pairs, source = _tag_pairs_from_text(text, spec)
    else:
        got = _tag_heldout(ckpt)
        if not got:
            raise UserError("this tag run's training data cannot be read; give a file with --text")
        pairs, source = got, "the held-out (validation) lines of the training data"
    if not pairs:
        raise UserError("there is no text to transform")
    total = sum(len(i) + 1 for i, _ in pairs) - 1
    kept, used = [], 0
    for inp, tgt in pairs:
        room = chars - used
        if room <= 0:
            break
        if len(inp) > room:
            inp, tgt = inp[:room], (tgt[:room] if tgt is not None else None)
        kept.append((inp, tgt))
        used += len(inp) + 1
    if total > chars:
        notes.append(f"showing the first {min(chars, total):,} of {total:,} characters (--chars raises the limit)")
    tt = tag_trace(tagger, kept)
    if len(tt.input) > PAGE_CHARS:
        notes.append(f"the text is drawn in pages of {PAGE_CHARS:,} characters to keep the page responsive")
    cfg = from_dict(TagModelConfig, ckpt["model_config"])
    progress = ckpt.get("progress") or {}
    scores = None
    if tt.target is not None:
        scores = score([(i, t) for i, t in kept], tt.output.split("\n"))
    data = {
        "version": 1,
        "mode": "tag",
        "meta": {
            "run": str(run_dir),
            "checkpoint": Path(ckpt["_path"]).name,
            "cell": cfg.cell,
            "layers": cfg.layers,
            "hidden": cfg.hidden,
            "bidirectional": cfg.bidirectional,
            "params": sum(v.numel() for v in ckpt["model"].values() if isinstance(v, torch.Tensor)),
            "vocab_size": len(tagger.out_vocab),
            "in_vocab": len(tagger.in_vocab),
            "corpus": _tag_data_name(spec),
            "step": progress.get("step"),
            "elapsed_s": _finite(progress.get("elapsed")),
            "best_val": _finite(progress.get("best_val")),
            "best_step": progress.get("best_step"),
            "source": source,
            "chars": len(tt.input),
            "total_chars": total,
            "notes": notes,
            "page_chars": PAGE_CHARS,
        },
        "curves": read_metrics(run_dir),
        "history": [
            {
                "step": h.get("step"),
                "elapsed_s": _finite(h.get("elapsed_s")),
                "lr": _finite(h.get("lr")),
                "val_bpc": _finite(h.get("val_bpc")),
                "sample": h.get("sample", ""),
            }
            for h in ckpt.get("history", [])
        ],
        "input": tt.input,
        "output": tt.output,
        "target": tt.target,
        "out_vocab": list(tagger.out_vocab.chars),
        "top_k": int(tt.top_ids.shape[1]),
        "top_ids": _b64(tt.top_ids.to(torch.int32)),
        "top_p": _b64(tt.top_p.to(torch.float32)),
        "conf": _b64(tt.conf.to(torch.float32)),
        "scores": scores,
        "mistakes": len(tt.mistakes()),
    }
    return Report(render_html(data), tt, data, tagger.out_vocab, notes)  # type: ignore[arg-type]


def _tag_data_name(spec: dict[str, Any]) -> str:
    names = ", ".join(Path(p).name for p in (spec.get("paths") or [])[:3])
    if spec.get("derive"):
        return f"{names or 'the embedded corpus'} ({spec['derive']})"
    return names or "?"


# --------------------------------------------------------------------------------------------
# LSTMVis export


def _dict_token(ch: str) -> str:
    """A character as one whitespace-free token (LSTMVis splits each .dict line on whitespace)."""
    named = {" ": "\u2423", "\n": "\u21b5", "\t": "\u21e5", "\r": "\u240d"}
    if ch in named:
        return named[ch]
    if ch.isspace() or not ch.isprintable():
        return f"U+{ord(ch):04X}"
    return ch


def write_lstmvis(tr: Trace, vocab, out_dir, name: str = "rnnlab") -> list[Path]:
    """Write states.h5, chars.h5, chars.dict and lstm.yml, the layout LSTMVis reads.

    states.h5 holds, per layer l (1-based), ``output{l}`` = h (T, H) and for an LSTM ``cell{l}``
    = the raw cell state c (T, H); LSTMVis applies tanh to ``cell`` itself (its default
    transform) and shows ``output`` as is. chars.h5 holds ``chars`` (T,) character ids; chars.dict
    maps each id to its character (space, newline, tab as the symbols in ``_dict_token``).
    """
    try:
        import h5py
        import numpy as np
    except ImportError:
        raise UserError("--lstmvis needs h5py: pip install 'rnnlab[lstmvis]'") from None
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot create {out}: {e.strerror}") from None
    types = []
    with h5py.File(out / "states.h5", "w") as f:
        for layer in range(tr.layers):
            if tr.c is not None:
                f.create_dataset(f"cell{layer + 1}", data=tr.c[layer].numpy().astype(np.float32))
                types.append(f"  {{type: state, layer: {layer + 1}, path: cell{layer + 1}}}")
            f.create_dataset(f"output{layer + 1}", data=tr.h[layer].numpy().astype(np.float32))
            kind = "output" if tr.c is not None else "state"
            types.append(f"  {{type: {kind}, layer: {layer + 1}, path: output{layer + 1}, transform: none}}")
    with h5py.File(out / "chars.h5", "w") as f:
        f.create_dataset("chars", data=tr.ids.numpy().astype(np.int32))
    tokens = [_dict_token(c) for c in vocab.chars]
    (out / "chars.dict").write_text("".join(f"{tok} {i}\n" for i, tok in enumerate(tokens)), encoding="utf-8")
    desc = f"{tr.layers}x{tr.hidden} {tr.cell.upper()} on {len(tr.text):,} characters (rnnlab report)"
    yml = (
        f"name: {json.dumps(name)}\n"
        f"description: {json.dumps(desc)}\n"
        "\n"
        "files:\n"
        "  states: states.h5\n"
        "  chars: chars.h5\n"
        "  chars_dict: chars.dict\n"
        "\n"
        "word_sequence:\n"
        "  file: chars\n"
        "  path: chars\n"
        "  dict_file: chars_dict\n"
        "\n"
        "states:\n"
        "  file: states\n"
        "  types: [\n" + ",\n".join(types) + "\n  ]\n"
    )
    (out / "lstm.yml").write_text(yml, encoding="utf-8")
    return [out / n for n in ("lstm.yml", "states.h5", "chars.h5", "chars.dict")]
