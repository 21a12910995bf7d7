"""Build src/rnnlab/corpora/debian-reference-fr.txt: French prose for diacritic restoration.

Source: the Debian package ``debian-reference-fr`` (GPL-2+), file
``usr/share/debian-reference/debian-reference.fr.txt.gz``. Its paragraphs (blank-line separated
blocks, re-joined onto one line each, list bullets removed) are kept when they read as French
prose: no table or code lines, mostly letters, several common French words. See
``src/rnnlab/corpora/SOURCE-fr.md``.

    apt-get download debian-reference-fr
    dpkg-deb -x debian-reference-fr_*_all.deb pkg
    python scripts/make_french_corpus.py pkg/usr/share/debian-reference/debian-reference.fr.txt.gz
"""

from __future__ import annotations

import gzip
import re
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src" / "rnnlab" / "corpora" / "debian-reference-fr.txt"
FRENCH = {"le", "la", "les", "des", "une", "est", "pour", "dans", "sur", "qui", "que", "du", "avec", "pas", "vous", "sont", "être"}
CODE = re.compile(r"^\s*([|+]|\$ |# |-{3,}|={3,})")


def paragraphs(text: str):
    for block in re.split(r"\n\s*\n", text):
        lines = block.split("\n")
        if any(CODE.match(line) for line in lines):
            continue
        joined = " ".join(line.strip() for line in lines).strip()
        joined = re.sub(r"^[*•+-] ", "", joined)  # list bullets
        joined = re.sub(r"\s+", " ", joined)
        yield joined


def keep(p: str) -> bool:
    if len(p) < 60:
        return False
    letters = sum(c.isalpha() or c == " " for c in p)
    if letters / len(p) < 0.85:
        return False
    words = re.findall(r"\w+", p.lower())
    return sum(w in FRENCH for w in words) >= max(3, len(words) // 12)


def main(argv=None) -> int:
    src = Path((argv or sys.argv[1:])[0])
    with gzip.open(src, "rt", encoding="utf-8") as f:
        text = f.read()
    seen, out = set(), []
    for p in paragraphs(text):
        if keep(p) and p not in seen:
            seen.add(p)
            out.append(p)
    OUT.write_text("\n".join(out) + "\n", encoding="utf-8")
    print(f"{OUT}: {len(out)} paragraphs, {OUT.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
