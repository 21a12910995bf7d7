#!/usr/bin/env python3
"""Build rnnlab's default character-level training corpus from The Jargon File.

Source: The Jargon File, version 4.4.7 (public domain), as shipped in the
Debian package ``jargon-text`` (4.4.7-4.1), whose text is a plain-text
rendering of the HTML edition at ``usr/share/doc/jargon-text/jargon.txt.gz``.

Reproduce::

    cd /tmp && apt-get download jargon-text
    dpkg-deb -x jargon-text_4.4.7-4.1_all.deb jargon-text
    python scripts/make_corpus.py /tmp/jargon-text

The argument may be the extracted package root, or the ``jargon.txt.gz``
(or an already decompressed ``jargon.txt``) file itself.

What is kept: the lexicon (Part II), every entry's ``:headword: /pron/, pos.``
line and its definition paragraphs, in the original ~73-column wrapping
(with the rendering's 3-space left margin removed). What is dropped: the
front matter (Part I), the appendices (Part III), the per-letter lists of
headwords, box-drawn tables, ASCII-art pictures (and a few code or number
blocks that the same test catches), and the "next cartoon" pointers between
the (absent) Crunchly cartoon images. Typographic characters are mapped to
ASCII; the result uses only printable ASCII plus newline.

The transformation is deterministic: the same input gives byte-identical
output.
"""

from __future__ import annotations

import argparse
import gzip
import re
import sys
import textwrap
import unicodedata
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "src" / "rnnlab" / "corpora" / "jargon.txt"
PACKAGE_TEXT = Path("usr/share/doc/jargon-text/jargon.txt.gz")

WIDTH = 3 + 73  # the rendering's margin + its text width
BOX_DRAWING = set("─│┼├┤┌┐└┘┬┴═╔╗╚╝║")

# Typographic and non-ASCII characters -> ASCII. Anything not listed here
# (accented Latin letters) is reduced by NFKD decomposition; whatever is still
# not ASCII after that is an error, so that a new input cannot slip odd
# characters into the corpus unnoticed.
CHAR_MAP = {
    "\xa0": " ",  # no-break space
    "\u2018": "'",
    "\u2019": "'",  # single quotes
    "\u201c": '"',
    "\u201d": '"',  # double quotes
    "\u2014": "--",  # em dash (the File's ASCII editions write --)
    "\u2013": "-",  # en dash
    "\u2212": "-",  # minus sign
    "\xb7": "-",  # middle dot: syllable separator in pronunciations
    "\xb4": "'",  # acute accent: stress mark in pronunciations
    "\u2022": "*",  # bullet
    "\u2192": "->",
    "\u2190": "<-",
    "\u21d4": "<=>",
    "\xd7": "x",  # multiplication sign
    "\xb1": "+/-",
    "\xb5": "u",  # micro sign (the text: "uL or mL in ASCII")
    "\xa3": "L",  # pound sterling
    "\xa9": "(C)",
    "\xae": "(R)",
    "\u2122": "(TM)",
    "\u223c": "~",
    "\u2295": "(+)",
    "\u2297": "(x)",
    "\u2205": "0",
    "\u3008": "<",
    "\u3009": ">",
    "\xd8": "O",
    "\xf8": "o",
    "\xdf": "ss",
    "\xe6": "ae",
    "\xc6": "AE",
    # Greek: "the Greek kanon", "pi equals 3", "generate the rho character".
    "\u03ba": "k",
    "\u03b1": "a",
    "\u03bd": "n",
    "\u03bf": "o",
    "\u03c0": "pi",
    "\u03c1": "rho",
    "\u03b9": "i",
    "\u03bb": "lambda",
    "\u039b": "Lambda",
}

STRING_MAP = {"&ellipsis;": "..."}  # one unrendered entity in the source

ENTRY_HEAD = re.compile(r"^ {3}:[^ ].*?:")  # "   :headword: ..."
LETTER_HEAD = re.compile(r"^ {2}[0-9A-Z]$")  # "  A" section header
CARTOON = re.compile(r"^\s*\((The next cartoon|This is the last cartoon) in the Crunchly saga")


def read_source(path: Path) -> str:
    if path.is_dir():
        path = path / PACKAGE_TEXT
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return data.decode("utf-8")


def lexicon_lines(text: str) -> list[str]:
    """Lines of Part II (the lexicon proper), from the first entry to Part III."""
    lines = [ln.replace("\xa0", " ").rstrip() for ln in text.replace("\r\n", "\n").split("\n")]
    part2 = next(i for i, ln in enumerate(lines) if ln.strip() == "Part II. The Jargon Lexicon")
    start = next(i for i in range(part2, len(lines)) if ENTRY_HEAD.match(lines[i]))
    # The letter header ("  0") and headword list just before the first entry
    # are dropped below together with the other letters' lists.
    while start > part2 and not LETTER_HEAD.match(lines[start]):
        start -= 1
    end = next(i for i in range(start, len(lines)) if lines[i].strip() == "Part III. Appendices")
    return lines[start:end]


def paragraphs(lines: list[str]) -> list[list[str]]:
    paras, cur = [], []
    for ln in lines:
        if ln.strip():
            cur.append(ln)
        elif cur:
            paras.append(cur)
            cur = []
    if cur:
        paras.append(cur)
    return paras


def is_ascii_art(para: list[str]) -> bool:
    """A picture rather than text: few letters among its non-blank characters."""
    body = "".join(ln.strip() for ln in para)
    if not body:
        return True
    letters = sum(ch.isalpha() for ch in body)
    return len(para) >= 2 and letters / len(body) < 0.45


def flatten_table(para: list[str]) -> list[str]:
    """A box-drawn table as text: one "key: value" item per row, wrapped to
    WIDTH columns, indented 2 (continuation lines 6) beyond the rendering's
    3-space margin, which is removed later with the other paragraphs'."""
    rows: list[list[list[str]]] = []
    cur: list[list[str]] | None = None
    for ln in para:
        if "\u2502" not in ln:  # a rule: top, bottom or between rows
            if cur:
                rows.append(cur)
            cur = None
            continue
        cells = ln.strip().strip("\u2502").split("\u2502")
        if cur is None:
            cur = [[] for _ in cells]
        for col, cell in zip(cur, cells):
            if cell.strip():
                col.append(cell.strip())
    if cur:
        rows.append(cur)
    out = []
    for row in rows:
        key, *rest = [to_ascii(" ".join(col)) for col in row]
        value = " ".join(r for r in rest if r)
        item = f"{key} {value}" if key.endswith(":") else f"{key}: {value}"
        out += textwrap.wrap(
            item, WIDTH, initial_indent="     ", subsequent_indent="         ", break_long_words=False, break_on_hyphens=False
        )
    return out


def to_ascii(s: str) -> str:
    for old, new in STRING_MAP.items():
        s = s.replace(old, new)
    out = []
    for ch in s:
        if ch in CHAR_MAP:
            out.append(CHAR_MAP[ch])
        elif ord(ch) < 128:
            out.append(ch)
        else:
            d = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
            if not d:
                raise ValueError(f"no ASCII mapping for {ch!r} (U+{ord(ch):04X})")
            out.append(d)
    return "".join(out)


def clean_head(line: str) -> str:
    # ":1TBS: //, n." -> ":1TBS: n."; ":(TM): //" -> ":(TM):" (empty pronunciation)
    line = re.sub(r"^(:[^ ].*?:) //, ", r"\1 ", line)
    return re.sub(r"^(:[^ ].*?:) //$", r"\1", line)


def build(text: str, log=None) -> str:
    paras = paragraphs(lexicon_lines(text))
    kept: list[list[str]] = []
    dropped = Counter()
    in_headword_list = False
    for para in paras:
        first = para[0]
        if len(para) == 1 and LETTER_HEAD.match(first):
            in_headword_list = True  # "  B" then one headword per paragraph
            dropped["letter headers / headword lists (dropped)"] += 1
            continue
        if ENTRY_HEAD.match(first):
            in_headword_list = False
        if in_headword_list:
            dropped["letter headers / headword lists (dropped)"] += 1
            continue
        if any(ch in BOX_DRAWING for ln in para for ch in ln):
            kept.append(flatten_table(para))
            dropped["box-drawn tables (flattened to text, kept)"] += 1
            continue
        if CARTOON.match(first):
            # "(The next cartoon in the Crunchly saga is 73-05-18. ...)": a
            # pointer between absent images. (The one-line image captions
            # before some of them read as prose and are kept.)
            dropped["cartoon pointers (dropped)"] += 1
            continue
        if is_ascii_art(para):
            dropped["ASCII-art blocks (dropped)"] += 1
            if log:
                log("dropped as ASCII art:\n" + "\n".join(para) + "\n")
            continue
        kept.append(para)

    out_paras = []
    for para in kept:
        lines = []
        for ln in para:
            ln = to_ascii(ln)
            indent = len(ln) - len(ln.lstrip(" "))
            ln = ln[min(indent, 3) :].rstrip()
            lines.append(ln)
        if ENTRY_HEAD.match("   " + lines[0]):
            lines[0] = clean_head(lines[0])
        out_paras.append("\n".join(lines))
    if log:
        for k, v in sorted(dropped.items()):
            log(f"{v:5d} paragraphs: {k}")
    result = "\n\n".join(out_paras) + "\n"
    # Final guarantees: printable ASCII and newline only, no trailing spaces,
    # no runs of more than one blank line.
    bad = {ch for ch in result if not (ch == "\n" or " " <= ch <= "~")}
    assert not bad, f"unexpected characters: {sorted(bad)!r}"
    assert not re.search(r" +\n", result)
    assert "\n\n\n" not in result
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("source", type=Path, help="extracted jargon-text package root, or its jargon.txt(.gz)")
    ap.add_argument("-o", "--output", type=Path, default=DEFAULT_OUT)
    ap.add_argument("-v", "--verbose", action="store_true", help="show dropped ASCII art")
    args = ap.parse_args(argv)

    log_lines = []
    corpus = build(read_source(args.source), log=log_lines.append)
    for msg in log_lines:
        if args.verbose or not msg.startswith("dropped as ASCII art"):
            print(msg)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(corpus.encode("utf-8"))

    chars = sorted(set(corpus))
    entries = sum(1 for ln in corpus.split("\n") if ENTRY_HEAD.match("   " + ln))
    print(f"wrote {args.output}")
    print(
        f"bytes: {len(corpus.encode('utf-8'))}  chars: {len(corpus)}  "
        f"lines: {corpus.count(chr(10))}  entries: {entries}  "
        f"distinct characters: {len(chars)}"
    )
    print("character set: " + repr("".join(chars)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
