"""Text in, ids out: reading corpora, the character vocabulary, and compact id tensors.

A corpus is one or more text files (folders are read recursively, in sorted order). Files are
decoded in chunks, twice: once to count characters (the vocabulary), once to write ids into a
preallocated tensor of the smallest integer type that holds them. The corpus is never held as a
Python list of characters, so a 100 MB file costs about 100-200 MB of ids plus one chunk.

Files are read by rnnlab's one text reader, :mod:`rnnlab.textfiles` (its names are also
reachable here). The encoding pass also hashes the text (:class:`DataSpec`), so that a run can
check, when it is resumed, that it is given the very text it started with.
"""

from __future__ import annotations

import functools
import hashlib
import os
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from rnnlab.errors import UserError

# The text reader's names, also reachable as rnnlab.data's (the corpus reads through them).
from rnnlab.textfiles import CHUNK_BYTES, STANDARD_INPUT, STDIN, iter_text, list_text_files, read_text, read_texts  # noqa: F401

ENCODE_CHUNK_BYTES = 1 << 20  # the encoding pass holds the ids too: keep its transients small
MAX_CODEPOINT = 0x10FFFF
UNK_DISPLAY = "\ufffd"  # how the unknown symbol prints in samples


def _codepoints(text: str) -> torch.Tensor:
    """Code points of ``text`` as an int32 tensor, without a Python-level loop."""
    buf = text.encode("utf-32-le", errors="surrogatepass")
    with warnings.catch_warnings():
        # frombuffer warns that bytes are read-only; we only read this tensor.
        warnings.simplefilter("ignore", UserWarning)
        return torch.frombuffer(buf, dtype=torch.int32)  # (n,)


# --------------------------------------------------------------------------------------------
# Vocabulary
@dataclass(frozen=True)
class Vocab:
    """Characters in id order; ``unk`` is the id of the unknown symbol, or None."""

    chars: tuple[str, ...]
    unk: int | None = None

    def __post_init__(self):
        if len(self.chars) == 0:
            raise UserError("the vocabulary is empty: the text has no characters")

    def __len__(self) -> int:
        return len(self.chars)

    @functools.cached_property
    def stoi(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.chars) if i != self.unk}

    @property
    def dtype(self) -> torch.dtype:
        return torch.uint8 if len(self.chars) <= 256 else torch.int16 if len(self.chars) <= 32767 else torch.int32

    def lookup_table(self, max_cp: int) -> torch.Tensor:
        """(max_cp + 1,) map from code point to id; -1 where the character is unknown."""
        lut = torch.full((max_cp + 1,), -1, dtype=torch.int32)
        for i, c in enumerate(self.chars):
            if i != self.unk and ord(c) <= max_cp:
                lut[ord(c)] = i
        return lut

    def encode(self, text: str) -> tuple[torch.Tensor, int]:
        """Ids of ``text`` (int64) and the number of characters outside the vocabulary, which map
        to ``unk`` when the vocabulary has one, else are dropped."""
        if not text:
            return torch.zeros(0, dtype=torch.long), 0
        cp = _codepoints(text)
        lut = self.lookup_table(int(cp.max()))
        ids = lut[cp.long()]  # (n,)
        missing = ids < 0
        n_unknown = int(missing.sum())
        if n_unknown:
            ids = ids.masked_fill(missing, self.unk) if self.unk is not None else ids[~missing]
        return ids.long(), n_unknown

    def decode(self, ids: Iterable[int]) -> str:
        chars = self.chars
        return "".join(UNK_DISPLAY if i == self.unk else chars[i] for i in ids)

    def unknown_chars(self, text: str) -> list[str]:
        """The distinct characters of ``text`` that have no id of their own, in order of appearance."""
        stoi = self.stoi
        return list(dict.fromkeys(c for c in text if c not in stoi))

    def to_dict(self) -> dict:
        return {"chars": list(self.chars), "unk": self.unk}

    @classmethod
    def from_dict(cls, d: dict) -> Vocab:
        return cls(tuple(d["chars"]), d.get("unk"))


def count_chars(texts: Iterable[str]) -> torch.Tensor:
    """Counts per code point, (MAX_CODEPOINT + 1,) int64, accumulated chunk by chunk."""
    counts = torch.zeros(MAX_CODEPOINT + 1, dtype=torch.int64)
    for text in texts:
        counts += torch.bincount(_codepoints(text), minlength=MAX_CODEPOINT + 1)
    return counts


def build_vocab(counts: torch.Tensor, min_count: int = 1, unk: bool = False) -> Vocab:
    """Characters seen at least ``min_count`` times, in code-point order, and an unknown symbol
    (at id 0) when asked for or when some character is rarer than ``min_count``."""
    present = torch.nonzero(counts > 0).flatten()
    keep = torch.nonzero(counts >= max(1, min_count)).flatten()
    chars = tuple(chr(int(c)) for c in keep)
    if unk or len(keep) < len(present):
        return Vocab((UNK_DISPLAY, *chars), unk=0)
    return Vocab(chars)


# --------------------------------------------------------------------------------------------
# Where a text came from
EMBEDDED = {"jargon": "jargon.txt", "french": "debian-reference-fr.txt"}  # see corpora/SOURCE*.md


def embedded_path(name: str = "jargon") -> Path:
    """A text shipped inside the package: ``jargon`` (The Jargon File 4.4.7, public domain, the
    default corpus) or ``french`` (French prose for diacritic restoration)."""
    return Path(__file__).resolve().parent / "corpora" / EMBEDDED[name]


def default_corpus_path() -> Path:
    return embedded_path("jargon")


class TextDigest:
    """SHA-256 of a text as UTF-8, fed chunk by chunk (chunking does not change it)."""

    def __init__(self):
        self._h = hashlib.sha256()

    def update(self, text: str) -> None:
        self._h.update(text.encode("utf-8", "surrogatepass"))

    def hexdigest(self) -> str:
        return self._h.hexdigest()


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class DataSpec:
    """Where a run's text came from, and its hash, so the run can be resumed from the command
    line with the very same text: ``files`` (read again from ``paths``), ``embedded`` (a text
    inside the package, ``paths`` names it) or ``text`` (given in memory: give it again)."""

    source: str
    paths: tuple[str, ...] = ()
    chars: int = 0
    sha256: str | None = None  # None in checkpoints written before rnnlab kept it

    def locate(self, paths: Sequence[str | os.PathLike] = ()) -> list[Path]:
        """The files to read the text from again: ``paths`` when given, else the recorded ones."""
        if paths:
            return [Path(p) for p in paths]
        if self.source == "embedded":
            return [embedded_path(name) for name in self.paths]
        if self.source == "files":
            return [Path(p) for p in self.paths]
        raise UserError("this run was trained on a text given in memory; give the same text again as PATH")

    def check_same(self, other: DataSpec) -> None:
        """Refuse to go on with a text other than this one."""
        same = other.sha256 == self.sha256 if self.sha256 else other.chars == self.chars
        if not same:
            raise UserError("the text differs from the one this run was trained on, so it cannot be resumed exactly")

    def to_dict(self) -> dict:
        return {"source": self.source, "paths": list(self.paths), "chars": self.chars, "sha256": self.sha256}

    @classmethod
    def from_dict(cls, d: dict) -> DataSpec:
        return cls(d["source"], tuple(d.get("paths", ())), int(d.get("chars", 0)), d.get("sha256"))


def files_spec(paths: Sequence[str | os.PathLike], chars: int, sha256: str) -> DataSpec:
    resolved = [Path(p).resolve() for p in paths]
    names = [n for n, _ in EMBEDDED.items() if embedded_path(n) in resolved]
    if names and len(names) == len(resolved):
        return DataSpec("embedded", tuple(names), chars, sha256)
    return DataSpec("files", tuple(str(p) for p in resolved), chars, sha256)


# --------------------------------------------------------------------------------------------
# Corpora
@dataclass
class Corpus:
    """A whole training text as ids, its vocabulary and where it came from."""

    ids: torch.Tensor  # (N,) in vocab.dtype
    vocab: Vocab
    spec: DataSpec
    files: list[str] = field(default_factory=list)
    n_unknown: int = 0  # characters mapped to unk
    skipped_files: int = 0

    def __len__(self) -> int:
        return self.ids.numel()

    def describe(self) -> str:
        unknown = f", {self.n_unknown:,} mapped to unknown" if self.n_unknown else ""
        n = self.skipped_files
        skipped = f", {n:,} binary file{'s' * (n != 1)} skipped" if n else ""
        return f"corpus: {len(self):,} characters, {len(self.vocab)} symbols{unknown}{skipped}"


def encode_files(files: Sequence[Path], vocab: Vocab, encoding: str = "utf-8", total: int | None = None):
    """Second pass: ids of all files, concatenated, in a preallocated compact tensor; returns
    ``(ids, characters outside the vocabulary, SHA-256 of the text)``."""
    if total is None:
        total = sum(len(text) for f in files for text in iter_text(f, encoding))
    ids = torch.empty(total, dtype=vocab.dtype)
    lut = vocab.lookup_table(MAX_CODEPOINT)
    if vocab.unk is not None:
        lut[lut < 0] = vocab.unk
    pos = n_unknown = 0
    text_digest = TextDigest()
    for f in files:
        # Smaller chunks than the counting pass: here every transient sits beside the ids.
        for text in iter_text(f, encoding, chunk_bytes=ENCODE_CHUNK_BYTES):
            text_digest.update(text)
            chunk = lut.index_select(0, _codepoints(text))  # (n,) int32 ids, int32 code points as index
            if vocab.unk is not None:
                n_unknown += int((chunk == vocab.unk).sum())
            elif bool((chunk < 0).any()):
                known = chunk >= 0
                n_unknown += int((~known).sum())
                chunk = chunk[known]
            ids[pos : pos + chunk.numel()] = chunk.to(vocab.dtype)
            pos += chunk.numel()
    return ids[:pos], n_unknown, text_digest.hexdigest()


def load_corpus(
    paths: Sequence[str | os.PathLike] | None = None,
    encoding: str = "utf-8",
    min_count: int = 1,
    unk: bool = False,
    vocab: Vocab | None = None,
    grow: Callable[[Vocab], Vocab] | None = None,
) -> Corpus:
    """Read files or folders (by default the embedded corpus) into ids. With ``vocab`` given,
    encode with it (unknowns -> unk); with ``grow``, with ``grow(the text's vocabulary)`` (a
    trained model's vocabulary grown by the text's new characters: ``--init-from``)."""
    files, skipped = list_text_files(paths or [default_corpus_path()])
    total = None
    if vocab is None:
        counts = count_chars(t for f in files for t in iter_text(f, encoding))
        total = int(counts.sum())
        if total == 0:
            names = ", ".join(str(f) for f in files[:3])
            raise UserError(f"the corpus is empty ({names}{'...' if len(files) > 3 else ''})")
        vocab = build_vocab(counts, min_count=min_count, unk=unk)
        vocab = grow(vocab) if grow is not None else vocab
    ids, n_unknown, sha = encode_files(files, vocab, encoding, total)
    if ids.numel() == 0:
        raise UserError("the corpus is empty")
    spec = files_spec(paths or [default_corpus_path()], ids.numel() + (n_unknown if vocab.unk is None else 0), sha)
    return Corpus(ids, vocab, spec, [str(f) for f in files], n_unknown, skipped)


def corpus_from_text(
    text: str, min_count: int = 1, unk: bool = False, vocab: Vocab | None = None, grow: Callable[[Vocab], Vocab] | None = None
) -> Corpus:
    """The same as :func:`load_corpus`, for a string already in memory."""
    if not text:
        raise UserError("the text is empty")
    if vocab is None:
        vocab = build_vocab(count_chars([text]), min_count=min_count, unk=unk)
        vocab = grow(vocab) if grow is not None else vocab
    ids, n_unknown = vocab.encode(text)
    if ids.numel() == 0:
        raise UserError("no character of the text is in the vocabulary")
    return Corpus(ids.to(vocab.dtype), vocab, DataSpec("text", (), len(text), digest(text)), n_unknown=n_unknown)
