"""Pairs of equal-length texts for aligned transduction: read from ``input<TAB>target`` lines, or
derived from plain text (truecasing, diacritic restoration), and cut into windows; which outputs
a derivation allows for each input character (:func:`allowed_outputs`).

Library code: it raises :class:`rnnlab.errors.UserError` for bad input and never prints.
"""

from __future__ import annotations

import functools
import os
import unicodedata
from collections.abc import Callable, Iterable, Sequence

import torch

from rnnlab.config import TagDataConfig
from rnnlab.data import DataSpec, TextDigest, Vocab, embedded_path, files_spec
from rnnlab.errors import UserError
from rnnlab.textfiles import STANDARD_INPUT, STDIN, read_texts

Pair = tuple[str, str]

# Deriving pairs from text: both derivations keep input and target the same length in characters.


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
# The input character each derivation makes of one target character (a diacritics target is in NFC).
INPUT_CHAR: dict[str, Callable[[str], str]] = {"truecase": _lower_char, "diacritics": strip_accents_char}
# The embedded text each derivation trains on when no file is given (rnnlab.data.EMBEDDED).
DERIVE_TEXT = {"truecase": "jargon", "diacritics": "french"}


def allowed_outputs(derive: str | None, in_vocab: Vocab, out_vocab: Vocab) -> torch.Tensor | None:
    """(V_in, V_out) bool: the output ids each input id may take under ``derive``, the target
    characters of which the derivation makes that input character (:data:`INPUT_CHAR`), so a
    derived task can change only a letter's case or marks, never a digit or a letter's identity.
    The unknown input symbol (also the padding), and an input character that no output character
    derives to, may take every output: a row with none would leave nothing to choose. None
    without a derivation: a mapping learnt from pairs may take any output anywhere."""
    if derive is None:
        return None
    to_input = INPUT_CHAR[derive]
    sources: dict[str, list[int]] = {}
    for j, t in enumerate(out_vocab.chars):
        sources.setdefault(to_input(t), []).append(j)
    allowed = torch.ones(len(in_vocab), len(out_vocab), dtype=torch.bool)
    for i, c in enumerate(in_vocab.chars):
        if i != in_vocab.unk and c in sources:
            allowed[i] = False
            allowed[i, sources[c]] = True
    return allowed


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
    return [(inp[a:b], tgt[a:b]) for inp, tgt in pairs for a, b in window_spans(inp, max_len)]


def parse_pairs(text: str, name: str = "<text>", skip_bad: bool = False) -> tuple[list[Pair], int]:
    """Pairs from ``input<TAB>target`` lines; returns ``(pairs, bad lines skipped)``.

    Empty lines are ignored. A line without exactly one tab, or whose two sides differ in
    length, is an error naming it, or with ``skip_bad`` is skipped and counted."""
    pairs: list[Pair] = []
    bad = 0
    for number, line in enumerate(text.split("\n"), 1):
        line = line.removesuffix("\r")
        if not line:
            continue
        tabs = line.count("\t")
        if tabs != 1:
            problem = "has no tab" if tabs == 0 else f"has {tabs} tabs"
        else:
            inp, tgt = line.split("\t")
            if len(inp) == len(tgt):
                if inp:
                    pairs.append((inp, tgt))
                continue
            problem = f"has an input of {len(inp)} characters but a target of {len(tgt)}"
        if not skip_bad:
            raise UserError(
                f"{name}, line {number} {problem}; each line must be input<TAB>target of equal length (--skip-bad skips such lines)"
            )
        bad += 1
    return pairs, bad


def load_pairs(
    paths: Sequence[str | os.PathLike], cfg: TagDataConfig, stdin: bool = False, plain: str | None = None
) -> tuple[list[Pair], int, DataSpec]:
    """``(pairs, bad lines skipped, where they came from)``: from ``input<TAB>target`` files, or
    with ``cfg.derive`` from text files (by default the embedded text of that derivation).
    ``plain`` (``tag eval`` of a derived run, without ``cfg.derive``): a file that holds no tab is
    plain text derived this way, and a file with a tab is read as pairs, so a pairs file reads as
    it does without ``plain``. Folders are read recursively; with ``stdin`` (``tag eval``, not training),
    ``-`` reads standard input."""
    if not paths and not cfg.derive:
        raise UserError("give PAIRS.tsv files, or --derive truecase|diacritics with text files (or none: an embedded corpus)")
    files = list(paths) or [embedded_path(DERIVE_TEXT[cfg.derive])]
    pairs: list[Pair] = []
    bad = 0
    text_digest = TextDigest()
    for path, text in read_texts(files, cfg.encoding, stdin):
        text_digest.update(text)
        derive = cfg.derive or (plain if "\t" not in text else None)
        if derive:
            pairs += [DERIVE[derive](line) for line in (ln.removesuffix("\r") for ln in text.split("\n")) if line]
            continue
        try:
            got, skipped = parse_pairs(text, str(path), cfg.skip_bad)
        except UserError as e:
            if plain is None:
                raise
            raise UserError(f"{e}; a file with a tab is read as pairs, --derive {plain} reads it as text") from None
        if not got:
            raise UserError(
                f"{path} holds no input<TAB>target pairs" + (f" ({skipped} bad line{'s' * (skipped != 1)} skipped)" if skipped else "")
            )
        pairs += got
        bad += skipped
    if not pairs:
        names = (str(STANDARD_INPUT) if os.fspath(p) == STDIN else str(p) for p in files)
        raise UserError(f"no text to derive pairs from in {', '.join(names)}")
    return pairs, bad, files_spec(files, sum(len(t) for _, t in pairs), text_digest.hexdigest())


def read_pairs(path: str | os.PathLike, skip_bad: bool = False, encoding: str = "utf-8") -> tuple[list[Pair], int]:
    """Read one ``input<TAB>target`` file; returns ``(pairs, bad lines skipped)``."""
    return load_pairs([path], TagDataConfig(encoding=encoding, skip_bad=skip_bad))[:2]
