"""Aligned character transduction: one output character for every input character.

The lecture maps "hello" to "ohlol"; truecasing ("the unix way" -> "The UNIX way"), diacritic
restoration ("ecole" -> "école") and per-character labelling have the same shape. Data are pairs
``(input, target)`` of equal length in characters, read from ``input<TAB>target`` lines or
derived from plain text. The model reads the whole input (an embedding, a recurrent layer,
bidirectional by default) and puts a Linear over the output vocabulary at every position.
Lines of different lengths share a batch, right-padded; padding never reaches the outputs of
real positions or the loss (see :class:`TagModel`).

Library code: it raises :class:`rnnlab.errors.UserError` for bad input and never prints.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import os
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from rnnlab import checkpoint
from rnnlab.config import ModelConfig, TrainConfig, from_dict, to_dict
from rnnlab.data import UNK_DISPLAY, Vocab, iter_text, list_text_files
from rnnlab.errors import UserError
from rnnlab.model import LN2, recurrent_layer
from rnnlab.train import BaseTrainer, Hooks, resolve_device

log = logging.getLogger("rnnlab.tag")

KIND = "tag"
DEFAULT_MAX_LEN = 200
Pair = tuple[str, str]

# --------------------------------------------------------------------------------------------
# Deriving pairs from plain text. Both keep input and target the same length in characters.


@functools.cache
def _lower_char(c: str) -> str:
    low = c.lower()
    return low if len(low) == 1 else c  # "İ".lower() is two characters: keep it as it is


@functools.cache
def strip_accents_char(c: str) -> str:
    """``c`` without its combining marks (Unicode canonical decomposition), when that leaves
    exactly one character; otherwise ``c`` unchanged (a lone combining mark, a Hangul syllable)."""
    base = "".join(ch for ch in unicodedata.normalize("NFD", c) if not unicodedata.combining(ch))
    return base if len(base) == 1 else c


def derive_truecase(text: str) -> Pair:
    """``(input, target)``: the input is the text lower-cased character by character."""
    return "".join(_lower_char(c) for c in text), text


def derive_diacritics(text: str) -> Pair:
    """``(input, target)``: the target is the text in NFC; the input strips each of its
    characters of combining marks (``é`` -> ``e``, ``ệ`` -> ``e``). Characters with no
    canonical decomposition (``ø``, ``ł``) and marks that do not compose stay as they are."""
    target = unicodedata.normalize("NFC", text)
    return "".join(strip_accents_char(c) for c in target), target


DERIVE: dict[str, Callable[[str], Pair]] = {"truecase": derive_truecase, "diacritics": derive_diacritics}


def window_spans(text: str, max_len: int) -> list[tuple[int, int]]:
    """Cut ``text`` into consecutive spans of at most ``max_len`` characters, after a space
    where there is one; the spans cover the text exactly."""
    if max_len < 1:
        raise UserError(f"max length must be at least 1, got {max_len}")
    spans, start, n = [], 0, len(text)
    while n - start > max_len:
        cut = text.rfind(" ", start, start + max_len)
        end = cut + 1 if cut >= start else start + max_len
        spans.append((start, end))
        start = end
    if start < n:
        spans.append((start, n))
    return spans


def windows(pairs: Iterable[Pair], max_len: int) -> list[Pair]:
    """Each pair cut at the input's spaces into windows of at most ``max_len`` characters."""
    out = []
    for inp, tgt in pairs:
        out.extend((inp[a:b], tgt[a:b]) for a, b in window_spans(inp, max_len))
    return out


# --------------------------------------------------------------------------------------------
# Reading files


def _read_text(path: Path, encoding: str) -> str:
    if not path.exists():
        raise UserError(f"no such file: {path}")
    if path.is_dir():
        raise UserError(f"{path} is a folder; expected a file of input<TAB>target lines")
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise UserError(f"cannot read {path}: {e.strerror}") from None
    if b"\x00" in raw[:8192]:
        raise UserError(f"{path} looks like a binary file (it contains NUL bytes), not text")
    try:
        text = raw.decode(encoding)
    except LookupError:
        raise UserError(f"unknown encoding {encoding!r}") from None
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise UserError(
            f"{path}, line {line}: bytes at offset {e.start} are not valid {encoding} ({e.reason})"
        ) from None
    return text[1:] if text.startswith("\ufeff") else text


def parse_pairs(text: str, name: str = "<text>", skip_bad: bool = False) -> tuple[list[Pair], int]:
    """Pairs from ``input<TAB>target`` lines; returns ``(pairs, bad lines skipped)``.

    Empty lines are ignored. A line without exactly one tab, or whose two sides differ in
    length, is an error naming it, or with ``skip_bad`` is skipped and counted.
    """
    pairs: list[Pair] = []
    bad = 0
    for number, line in enumerate(text.split("\n"), 1):
        if line.endswith("\r"):
            line = line[:-1]
        if not line:
            continue
        tabs = line.count("\t")
        problem = None
        if tabs != 1:
            problem = "has no tab" if tabs == 0 else f"has {tabs} tabs"
        else:
            inp, tgt = line.split("\t")
            if len(inp) != len(tgt):
                problem = f"has an input of {len(inp)} characters but a target of {len(tgt)}"
            elif not inp:
                continue
        if problem is not None:
            if skip_bad:
                bad += 1
                continue
            raise UserError(
                f"{name}, line {number} {problem}; each line must be input<TAB>target of equal length "
                "(--skip-bad skips such lines)"
            )
        pairs.append((inp, tgt))
    return pairs, bad


def read_pairs(path: str | os.PathLike, skip_bad: bool = False, encoding: str = "utf-8") -> tuple[list[Pair], int]:
    """Read one ``input<TAB>target`` file; returns ``(pairs, bad lines skipped)``."""
    path = Path(path)
    pairs, bad = parse_pairs(_read_text(path, encoding), str(path), skip_bad)
    if not pairs:
        raise UserError(f"{path} holds no input<TAB>target pairs" + (f" ({bad} bad lines skipped)" if bad else ""))
    return pairs, bad


def read_pair_files(
    paths: Sequence[str | os.PathLike], skip_bad: bool = False, encoding: str = "utf-8"
) -> tuple[list[Pair], int]:
    pairs, bad = [], 0
    for p in paths:
        got, b = read_pairs(p, skip_bad, encoding)
        pairs += got
        bad += b
    return pairs, bad


def derive_pairs(paths: Sequence[str | os.PathLike], how: str, encoding: str = "utf-8") -> list[Pair]:
    """One pair per non-empty line of the text files (folders read recursively)."""
    if how not in DERIVE:
        raise UserError(f"derive must be one of {', '.join(DERIVE)}, got {how!r}")
    derive = DERIVE[how]
    files, _ = list_text_files(paths)
    pairs = []
    for f in files:
        text = "".join(iter_text(f, encoding))
        for line in text.split("\n"):
            line = line.rstrip("\r")
            if line:
                pairs.append(derive(line))
    if not pairs:
        raise UserError(f"no text to derive pairs from in {', '.join(str(p) for p in paths)}")
    return pairs


# --------------------------------------------------------------------------------------------
# Vocabularies and tensors


def build_vocabs(pairs: Sequence[Pair]) -> tuple[Vocab, Vocab]:
    """Input vocabulary (an unknown symbol at id 0, also used as padding) and output vocabulary."""
    ins = sorted(set("".join(i for i, _ in pairs)))
    outs = sorted(set("".join(t for _, t in pairs)))
    return Vocab((UNK_DISPLAY, *ins), unk=0), Vocab(tuple(outs))


def _ids(vocab: Vocab, text: str) -> torch.Tensor:
    """(n,) int64 ids of ``text``; -1 for characters outside ``vocab``."""
    if not text:
        return torch.zeros(0, dtype=torch.long)
    cp = torch.tensor([ord(c) for c in text], dtype=torch.long) if len(text) < 64 else None
    if cp is None:
        buf = text.encode("utf-32-le", errors="surrogatepass")
        cp = torch.frombuffer(bytearray(buf), dtype=torch.int32).long()
    return vocab.lookup_table(int(cp.max()))[cp].long()


@dataclass
class Encoded:
    """Windows as rows of a padded id matrix: x, y (N, L) and lengths (N,)."""

    x: torch.Tensor
    y: torch.Tensor
    lengths: torch.Tensor

    def __len__(self) -> int:
        return self.lengths.numel()

    def batch(self, idx: torch.Tensor, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        lengths = self.lengths[idx]
        t = int(lengths.max())
        x = self.x[idx, :t].to(device, non_blocking=True).long()  # (B, T)
        y = self.y[idx, :t].to(device, non_blocking=True).long()  # (B, T)
        return x, y, lengths


def encode_pairs(pairs: Sequence[Pair], in_vocab: Vocab, out_vocab: Vocab) -> Encoded:
    """Pairs (already windowed) -> padded id matrices; unknown inputs -> unk, padding = 0."""
    lengths = torch.tensor([len(i) for i, _ in pairs], dtype=torch.long)
    x_ids = _ids(in_vocab, "".join(i for i, _ in pairs))
    x_ids[x_ids < 0] = in_vocab.unk
    y_ids = _ids(out_vocab, "".join(t for _, t in pairs))
    if bool((y_ids < 0).any()):
        missing = sorted(set("".join(t for _, t in pairs)) - set(out_vocab.chars))
        raise UserError(f"target characters outside the output vocabulary: {', '.join(map(repr, missing[:10]))}")
    n, width = len(pairs), int(lengths.max()) if len(pairs) else 0
    dtype = in_vocab.dtype if in_vocab.dtype.itemsize >= out_vocab.dtype.itemsize else out_vocab.dtype
    x = torch.zeros(n, width, dtype=dtype)
    y = torch.zeros(n, width, dtype=dtype)
    rows = torch.repeat_interleave(torch.arange(n), lengths)
    starts = torch.cumsum(lengths, 0) - lengths
    cols = torch.arange(int(lengths.sum())) - torch.repeat_interleave(starts, lengths)
    x[rows, cols] = x_ids.to(dtype)
    y[rows, cols] = y_ids.to(dtype)
    return Encoded(x, y, lengths)


def split_lines(pairs: Sequence[Pair], val_fraction: float) -> tuple[list[Pair], list[Pair]]:
    """The last ``val_fraction`` of the lines are held out (none when that is under one line)."""
    n_val = int(len(pairs) * val_fraction)
    if n_val >= len(pairs):
        n_val = 0
    return list(pairs[: len(pairs) - n_val]), list(pairs[len(pairs) - n_val :])


# --------------------------------------------------------------------------------------------
# The model


@dataclass
class TagModelConfig:
    """Embedding (or one-hot) -> recurrent layers (bidirectional by default) -> Linear per position."""

    in_vocab: int = 0  # 0: from the data
    out_vocab: int = 0
    cell: str = "lstm"
    layers: int = 2
    hidden: int = 128  # per direction
    embed: int = 64
    one_hot: bool = False
    dropout: float = 0.0
    impl: str = "auto"
    bidirectional: bool = True

    def __post_init__(self):
        # The shared checks of the language model's config (cell, impl, sizes, dropout).
        ModelConfig(
            vocab_size=self.in_vocab,
            cell=self.cell,
            layers=self.layers,
            hidden=self.hidden,
            embed=self.embed,
            one_hot=self.one_hot,
            dropout=self.dropout,
            impl=self.impl,
        )
        if self.out_vocab < 0:
            raise UserError(f"out_vocab must be >= 0, got {self.out_vocab}")

    @property
    def input_size(self) -> int:
        return self.in_vocab if self.one_hot else self.embed


def reverse_within(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse the first ``lengths[b]`` steps of each row of x (B, T, ...); padding stays at the end.
    Its own inverse."""
    b, t = x.shape[:2]
    idx = torch.arange(t, device=x.device)[None, :].expand(b, t)  # (B, T)
    rev = lengths.to(x.device)[:, None] - 1 - idx
    rev = torch.where(rev >= 0, rev, idx)  # (B, T)
    return x.gather(1, rev.view(b, t, *([1] * (x.dim() - 2))).expand_as(x))


class TagModel(nn.Module):
    """``forward(ids, targets=None, lengths=None) -> (logits, loss)``: ids (B, T) -> logits (B, T, V).

    Lines are right-padded. A left-to-right layer never carries padding back to the real
    positions; the right-to-left direction reads each line reversed within its own length, so its
    padding also comes after the line. Each line is thus computed exactly as it would be alone,
    and the loss is the mean cross-entropy (nats) over the real positions only. (This is the
    masking that ``PackedSequence`` does, without its cost: packed input runs about 1.6x slower
    on a CPU.) Bidirectional models keep one single-layer module per layer and direction, since
    each layer reads both directions of the one below.
    """

    def __init__(self, cfg: TagModelConfig, device: torch.device | str | None = None, batch_size: int | None = None):
        super().__init__()
        self.cfg = cfg
        self.embed = None if cfg.one_hot else nn.Embedding(cfg.in_vocab, cfg.embed)
        if cfg.bidirectional:
            one = dataclasses.replace(cfg, layers=1)
            sizes = [cfg.input_size] + [2 * cfg.hidden] * (cfg.layers - 1)
            self.fwd = nn.ModuleList(recurrent_layer(one, n, device=device, batch_size=batch_size) for n in sizes)  # type: ignore[arg-type]
            self.bwd = nn.ModuleList(recurrent_layer(one, n, device=device, batch_size=batch_size) for n in sizes)  # type: ignore[arg-type]
            self.between = nn.Dropout(cfg.dropout) if cfg.dropout > 0 else nn.Identity()
        else:
            self.rnn = recurrent_layer(cfg, cfg.input_size, device=device, batch_size=batch_size)  # type: ignore[arg-type]
        self.drop = nn.Dropout(cfg.dropout) if cfg.dropout > 0 else nn.Identity()
        self.head = nn.Linear(cfg.hidden * (2 if cfg.bidirectional else 1), cfg.out_vocab)

    def forward(
        self, ids: torch.Tensor, targets: torch.Tensor | None = None, lengths: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        ids = ids.long()
        b, t = ids.shape
        if self.embed is None:
            x = F.one_hot(ids, self.cfg.in_vocab).to(self.head.weight.dtype)  # (B, T, V_in)
        else:
            x = self.embed(ids)  # (B, T, E)
        if self.cfg.bidirectional:
            full = torch.full((b,), t, dtype=torch.long, device=ids.device)
            lens = full if lengths is None else lengths.to(ids.device, torch.long)
            for i, (fwd, bwd) in enumerate(zip(self.fwd, self.bwd)):
                if i:
                    x = self.between(x)
                right, _ = fwd(x)  # (B, T, H)
                left, _ = bwd(reverse_within(x, lens))  # (B, T, H), reversed
                x = torch.cat([right, reverse_within(left, lens)], dim=-1)  # (B, T, 2H)
            out = x
        else:
            out, _ = self.rnn(x)  # (B, T, H)
        logits = self.head(self.drop(out))  # (B, T, V_out)
        loss = None
        if targets is not None:
            if lengths is None:
                loss = F.cross_entropy(logits.flatten(0, 1), targets.long().flatten())
            else:
                mask = torch.arange(t, device=ids.device)[None, :] < lengths.to(ids.device)[:, None]  # (B, T)
                loss = F.cross_entropy(logits[mask], targets.long()[mask])
        return logits, loss

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


@torch.no_grad()
def transduce(
    model: TagModel,
    in_vocab: Vocab,
    out_vocab: Vocab,
    texts: Sequence[str],
    max_len: int,
    device: torch.device | str = "cpu",
    batch_size: int = 128,
) -> list[str]:
    """Transform every text: lines are windowed as in training, batched by length, and read by
    the model; characters it never saw in training pass through unchanged."""
    was_training = model.training
    model.eval()
    pieces: list[tuple[int, int, str]] = []  # (text index, order, window)
    for ti, text in enumerate(texts):
        k = 0
        for line in text.split("\n"):
            for a, b in window_spans(line, max_len):
                pieces.append((ti, k, line[a:b]))
                k += 1
    results: dict[tuple[int, int], str] = {}
    order = sorted(range(len(pieces)), key=lambda i: len(pieces[i][2]))
    out_chars = out_vocab.chars
    stoi = in_vocab.stoi
    for s in range(0, len(order), batch_size):
        chunk = [pieces[i] for i in order[s : s + batch_size]]
        lengths = torch.tensor([len(w) for _, _, w in chunk])
        ids = torch.zeros(len(chunk), int(lengths.max()), dtype=torch.long)
        for r, (_, _, w) in enumerate(chunk):
            ids[r, : len(w)] = torch.tensor([stoi.get(c, -1) for c in w], dtype=torch.long)
        unknown = ids < 0
        ids[unknown] = in_vocab.unk
        logits, _ = model(ids.to(device), lengths=lengths)
        best = logits.argmax(-1).cpu().tolist()  # (B, T)
        unknown = unknown.tolist()
        for r, (ti, k, w) in enumerate(chunk):
            results[(ti, k)] = "".join(c if unk else out_chars[j] for c, j, unk in zip(w, best[r], unknown[r]))
    model.train(was_training)
    outputs = []
    for ti, text in enumerate(texts):
        lines, k = [], 0
        for line in text.split("\n"):
            parts = []
            for _ in window_spans(line, max_len):
                parts.append(results[(ti, k)])
                k += 1
            lines.append("".join(parts))
        outputs.append("\n".join(lines))
    return outputs


def score(pairs: Sequence[Pair], predictions: Sequence[str]) -> dict[str, Any]:
    """Character accuracy, accuracy on the positions where the target differs from the input,
    exact-line accuracy, and how many unchanged positions the prediction changed wrongly."""
    chars = correct = changed = changed_ok = wrong_changes = lines_ok = 0
    for (inp, tgt), pred in zip(pairs, predictions):
        lines_ok += pred == tgt
        chars += len(tgt)
        for a, t, p in zip(inp, tgt, pred):
            ok = p == t
            correct += ok
            if a != t:
                changed += 1
                changed_ok += ok
            elif not ok:
                wrong_changes += 1

    def ratio(a: int, b: int) -> float | None:
        return a / b if b else None

    return {
        "char_accuracy": ratio(correct, chars),
        "changed_accuracy": ratio(changed_ok, changed),
        "line_accuracy": ratio(lines_ok, len(pairs)),
        "lines": len(pairs),
        "chars": chars,
        "changed_chars": changed,
        "wrong_changes": wrong_changes,
    }


# --------------------------------------------------------------------------------------------
# Training


@dataclass
class TagData:
    """Pairs of whole lines and what the run needs to know about them."""

    pairs: list[Pair]
    max_len: int = DEFAULT_MAX_LEN
    in_vocab: Vocab | None = None  # built from the pairs when None
    out_vocab: Vocab | None = None
    n_bad: int = 0  # lines skipped with --skip-bad
    source: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        if not self.pairs:
            raise UserError("there are no pairs to train on")
        if self.max_len < 1:
            raise UserError(f"max length must be at least 1, got {self.max_len}")
        if self.in_vocab is None or self.out_vocab is None:
            self.in_vocab, self.out_vocab = build_vocabs(self.pairs)

    @property
    def chars(self) -> int:
        return sum(len(t) for _, t in self.pairs)

    def fingerprint(self) -> dict[str, int]:
        return {"pairs": len(self.pairs), "chars": self.chars}


def min_epochs(n_lines: int, batch_size: int, val_fraction: float, min_steps: int = 300) -> int:
    """Epochs that give at least ``min_steps`` steps: a file of a few lines still trains."""
    n_train = max(1, n_lines - int(n_lines * val_fraction))
    steps = math.ceil(n_train / min(batch_size, n_train))
    return math.ceil(min_steps / steps)


class TagTrainer(BaseTrainer):
    """Transduction training: shuffled batches of lines (windows), drawn from a seeded generator
    whose state is in the checkpoint, so a resumed run continues exactly."""

    kind = KIND

    def setup_data(self, data: TagData) -> None:
        cfg = self.train_cfg
        self.data = data
        self.in_vocab, self.out_vocab = data.in_vocab, data.out_vocab
        train_pairs, self.val_pairs = split_lines(data.pairs, cfg.val_fraction)
        self.train_windows = windows(train_pairs, data.max_len)
        self.train = encode_pairs(self.train_windows, self.in_vocab, self.out_vocab)
        self.val = (
            encode_pairs(windows(self.val_pairs, data.max_len), self.in_vocab, self.out_vocab)
            if self.val_pairs
            else None
        )
        n = len(self.train)
        self.batch_size = min(cfg.batch_size, n)
        self.steps_per_epoch = math.ceil(n / self.batch_size)
        self._chars_per_step = max(1, round(float(self.train.lengths.float().mean()) * self.batch_size))
        self.shuffle = torch.Generator().manual_seed(cfg.seed)
        self.order = torch.randperm(n, generator=self.shuffle)

    def build_model(self, model_cfg: TagModelConfig) -> TagModel:
        self.model_cfg = TagModelConfig(
            **{**to_dict(model_cfg), "in_vocab": len(self.in_vocab), "out_vocab": len(self.out_vocab)}
        )
        return TagModel(self.model_cfg, self.device, self.train_cfg.batch_size)

    @property
    def chars_per_step(self) -> int:
        return self._chars_per_step

    def on_new_epoch(self) -> None:
        self.order = torch.randperm(len(self.train), generator=self.shuffle)

    def train_loss(self) -> torch.Tensor:
        s = self.progress.chunk * self.batch_size
        x, y, lengths = self.train.batch(self.order[s : s + self.batch_size], self.device)
        _, loss = getattr(self, "train_model", self.model)(x, y, lengths)  # the DDP wrapper when there is one
        return loss

    def has_validation(self) -> bool:
        return self.val is not None

    @torch.no_grad()
    def evaluate(self) -> float:
        if self.val is None:
            return float("nan")
        cap = int(torch.searchsorted(torch.cumsum(self.val.lengths, 0), self.train_cfg.eval_chars, right=True))
        idx = torch.arange(max(1, min(cap, len(self.val))))
        idx = idx[torch.argsort(self.val.lengths[idx])]  # similar lengths together
        was_training = self.model.training
        self.model.eval()
        total, count = 0.0, 0
        for s in range(0, idx.numel(), 256):
            x, y, lengths = self.val.batch(idx[s : s + 256], self.device)
            _, loss = self.model(x, y, lengths)
            n = int(lengths.sum())
            total += float(loss) * n
            count += n
        self.model.train(was_training)
        return total / count / LN2

    def preview(self, seed: int) -> str:
        pool = self.val_pairs or self.data.pairs
        g = torch.Generator().manual_seed(seed)
        picks = torch.randperm(len(pool), generator=g)[:2].tolist()
        width = max(8, self.train_cfg.sample_chars // 2)
        shown = [(pool[i][0][:width], pool[i][1][:width]) for i in picks]
        outs = transduce(
            self.model, self.in_vocab, self.out_vocab, [i for i, _ in shown], self.data.max_len, self.device
        )
        lines = []
        for (inp, tgt), out in zip(shown, outs):
            lines += [f"in:     {inp}", f"out:    {out}", f"target: {tgt}"]
        return "\n".join(lines)

    def task_payload(self) -> dict[str, Any]:
        return {
            "vocab": self.in_vocab.to_dict(),
            "out_vocab": self.out_vocab.to_dict(),
            "tag": {"max_len": self.data.max_len},
            "data": self.data.fingerprint(),
            "shuffle": {"generator": self.shuffle.get_state(), "order": self.order},
        }

    def load_task_state(self, ckpt: dict[str, Any]) -> None:
        self.shuffle.set_state(ckpt["shuffle"]["generator"])
        self.order = ckpt["shuffle"]["order"].clone()


# --------------------------------------------------------------------------------------------
# Using a trained model


class Tagger:
    """A trained transducer: ``predict(text)``, ``predict_many(texts)``, ``evaluate(pairs)``."""

    def __init__(
        self,
        model: TagModel,
        in_vocab: Vocab,
        out_vocab: Vocab,
        max_len: int = DEFAULT_MAX_LEN,
        device: torch.device | str = "cpu",
    ):
        self.model = model.eval()
        self.in_vocab, self.out_vocab = in_vocab, out_vocab
        self.max_len = max_len
        self.device = torch.device(device)

    @classmethod
    def load(cls, run_dir: str | os.PathLike, which: str = "best", device: str = "cpu") -> Tagger:
        dev = resolve_device(device)
        ckpt = checkpoint.load(checkpoint.find(Path(run_dir), which), kind=KIND)
        cfg = from_dict(TagModelConfig, ckpt["model_config"])
        in_vocab, out_vocab = Vocab.from_dict(ckpt["vocab"]), Vocab.from_dict(ckpt["out_vocab"])
        if cfg.in_vocab != len(in_vocab) or cfg.out_vocab != len(out_vocab):
            raise UserError("the checkpoint's vocabularies do not match its model")
        model = TagModel(cfg, dev)
        try:
            model.load_state_dict(ckpt["model"])
        except RuntimeError as e:
            raise UserError(
                f"the checkpoint's weights do not fit its model config: {str(e).splitlines()[0][:200]}"
            ) from None
        return cls(model.to(dev), in_vocab, out_vocab, int(ckpt["tag"]["max_len"]), dev)

    def predict(self, text: str) -> str:
        return self.predict_many([text])[0]

    def predict_many(self, texts: Sequence[str], batch_size: int = 128) -> list[str]:
        return transduce(self.model, self.in_vocab, self.out_vocab, texts, self.max_len, self.device, batch_size)

    def evaluate(self, pairs: Sequence[Pair]) -> dict[str, Any]:
        """The model's scores on the pairs, with the copy-the-input baseline under ``baseline``."""
        predictions = self.predict_many([i for i, _ in pairs])
        return {**score(pairs, predictions), "baseline": score(pairs, [i for i, _ in pairs])}


def load_tagger(run_dir: str | os.PathLike, which: str = "best", device: str = "cpu") -> Tagger:
    """Load a model trained by ``rnnlab tag train`` (``best.pt``, else ``last.pt``)."""
    return Tagger.load(run_dir, which=which, device=device)


def train_tagger(
    pairs: Sequence[Pair],
    out: str | os.PathLike | None = None,
    model: TagModelConfig | None = None,
    config: TrainConfig | None = None,
    max_len: int = DEFAULT_MAX_LEN,
    hooks: Hooks | None = None,
) -> Tagger:
    """Train from pairs in memory; checkpoints go to ``out`` when given."""
    data = TagData(list(pairs), max_len=max_len)
    if out is not None:
        Path(out).mkdir(parents=True, exist_ok=True)
    trainer = TagTrainer(
        data, model or TagModelConfig(), config or TrainConfig(batch_size=32), run_dir=out, hooks=hooks
    )
    trainer.run()
    return Tagger(trainer.model, data.in_vocab, data.out_vocab, max_len, trainer.device)
