"""The base model's corpus: public-domain English prose that this machine can get offline.

Two sources, each split into a training part and a held-out part (its end) on which the base
model's own bits/char are reported (docs/base-model.md):

- **The Jargon File 4.4.7** (public domain), the corpus embedded in rnnlab. Held out: its last
  tenth of non-empty lines, which covers both the tail that ``rnnlab train`` validates on (the
  last 5% of characters) and the lines ``benchmarks/tag_quality.py`` tests the truecaser on (the
  last tenth of lines): neither is ever seen by the base model.
- **Jane Austen's six novels**, from Debian's ``r-cran-janeaustenr`` (the texts are Project
  Gutenberg's, public domain; the R package around them is MIT). The package stores them in R's
  lazy-load database; ``scripts/rdata_text.py`` reads it without R. The ``.deb`` is fetched with
  ``apt-get download`` and unpacked with ``dpkg -x`` (or given with ``--austen-deb``). Held out:
  the last 5% of the lines of each novel.

Output, in ``--out``: ``train.txt`` (the training parts, sources separated by a blank line),
``heldout/<name>.txt`` and ``manifest.json`` (sizes and SHA-256 of everything, the .deb's too).

    python scripts/base_corpus.py --out runs/base-corpus
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rdata_text import variables

from rnnlab.data import default_corpus_path

AUSTEN_PACKAGE = "r-cran-janeaustenr"
AUSTEN_DATA = "usr/lib/R/site-library/janeaustenr/data/Rdata"
NOVELS = ("sensesensibility", "prideprejudice", "mansfieldpark", "emma", "northangerabbey", "persuasion")  # publication order


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def jargon() -> tuple[str, str]:
    """(training part, held-out part): the held-out part starts at the tag benchmark's last tenth of lines."""
    text = default_corpus_path().read_text(encoding="utf-8")
    lines = [line for line in text.split("\n") if line]
    first_test = lines[len(lines) - len(lines) // 10]  # as benchmarks/tag_quality.py's split_lines
    cut = text.rindex("\n" + first_test + "\n") + 1
    assert cut <= len(text) - int(len(text) * 0.05), "the held-out part must cover rnnlab train's validation tail"
    return text[:cut], text[cut:]


def austen_deb(cache: Path) -> Path:
    """The package's .deb, downloaded into ``cache`` unless it is there already."""
    found = sorted(cache.glob(f"{AUSTEN_PACKAGE}_*.deb"))
    if not found:
        subprocess.run(["apt-get", "download", AUSTEN_PACKAGE], cwd=cache, check=True, capture_output=True)
        found = sorted(cache.glob(f"{AUSTEN_PACKAGE}_*.deb"))
    return found[-1]


def austen(deb: Path) -> dict[str, tuple[str, str]]:
    """Each novel's (training part, held-out part), split at a line: the last 5% of lines held out."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["dpkg", "-x", str(deb), tmp], check=True)
        novels = variables(Path(tmp) / AUSTEN_DATA)
    out = {}
    for name in NOVELS:
        lines = list(novels[name])
        cut = len(lines) - len(lines) // 20
        out[name] = ("\n".join(lines[:cut]).strip("\n") + "\n", "\n".join(lines[cut:]).strip("\n") + "\n")
    return out


def build(out: Path, deb: Path | None = None) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    (out / "heldout").mkdir(exist_ok=True)
    deb = deb or austen_deb(out)
    parts = {"jargon": jargon(), **{f"austen-{k}": v for k, v in austen(deb).items()}}
    train = "\n\n".join(t.strip("\n") for t, _ in parts.values()) + "\n"
    (out / "train.txt").write_text(train, encoding="utf-8")
    heldout = {}
    for name, (_, held) in parts.items():
        (out / "heldout" / f"{name}.txt").write_text(held, encoding="utf-8")
        heldout[name] = {"chars": len(held), "sha256": sha256(held.encode())}
    manifest = {
        "train": {"chars": len(train), "sha256": sha256(train.encode()), "sources": {k: len(t) for k, (t, _) in parts.items()}},
        "heldout": heldout,
        "austen_deb": {"file": deb.name, "sha256": sha256(deb.read_bytes())},
        "jargon_sha256": sha256(default_corpus_path().read_bytes()),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("runs/base-corpus"))
    ap.add_argument("--austen-deb", type=Path, help=f"the {AUSTEN_PACKAGE} .deb (default: apt-get download it)")
    args = ap.parse_args(argv)
    m = build(args.out, args.austen_deb)
    print(f"train.txt: {m['train']['chars']:,} characters; held out: " + ", ".join(f"{k} {v['chars']:,}" for k, v in m["heldout"].items()))


if __name__ == "__main__":
    main()
