"""Fine-tuning the base model against training from scratch, on English text the base never saw.

For each text and seed, in one process, one after the other:

- ``base``: the shipped base model as it is (no training; its vocabulary grown for the text);
- ``base+1min``: ``rnnlab train TEXT --init-from base --max-time 60``;
- ``scratch 1min`` and ``scratch 5min``: ``rnnlab train TEXT --max-time 60`` / ``300`` (the
  default recipe for the budget).

Every model is scored on the same held-out tail (the last 5% of the text, which no run trains
on: ``rnnlab train`` holds it out for validation) with its own vocabulary, by
``LanguageModel.evaluate`` (one stream, every character predicted from all before it).

Texts (none is in the base model's corpus): ``pydoc`` (the Python reference's topics that every
CPython ships in ``pydoc_data/topics.py``: English prose about the language with code in it, PSF
licence), ``licenses`` (Debian's ``/usr/share/common-licenses``, the GPL, Apache, MPL, GFDL ...
texts, files sorted), ``handbook`` (*The Debian Administrator's Handbook*, English, from Debian's
``debian-handbook`` package, fetched with ``apt-get download``: a technical book, mostly prose,
GPL-2+ or CC-BY-SA-3.0), ``devil`` (Ambrose Bierce's *The Devil's Dictionary*, 1911, public
domain, from Debian's ``dict-devil`` package, fetched with ``apt-get download``: satirical
definitions in prose and verse; the text of its ``devil.dict.dz`` from the book's title on), or
file paths.

    .venv/bin/python benchmarks/finetune_quality.py --text pydoc licenses handbook devil --seeds 0
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import re
import subprocess
import sys
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, machine, table, write_json

from rnnlab.data import corpus_from_text
from rnnlab.init_from import read
from rnnlab.lm import LanguageModel
from rnnlab.runs import load_model
from rnnlab.training.lm_task import split_train_val

CONTENDERS = {  # name -> rnnlab train flags (None: the base model as shipped)
    "base": None,
    "base+1min": ["--init-from", "base", "--max-time", "60"],
    "scratch 1min": ["--max-time", "60"],
    "scratch 5min": ["--max-time", "300"],
}


def text_file(name: str, folder: Path) -> Path:
    if name == "pydoc":
        import pydoc_data.topics

        out = folder / "pydoc.txt"
        out.write_text("\n\n".join(pydoc_data.topics.topics[k] for k in sorted(pydoc_data.topics.topics)), encoding="utf-8")
        return out
    if name == "licenses":
        root = Path("/usr/share/common-licenses")
        files = sorted(f for f in root.iterdir() if f.is_file() and not f.is_symlink())
        out = folder / "licenses.txt"
        out.write_text("\n\n".join(f.read_text(encoding="utf-8", errors="replace") for f in files), encoding="utf-8")
        return out
    if name == "handbook":
        out = folder / "handbook.txt"
        out.write_text(handbook_text(folder), encoding="utf-8")
        return out
    if name == "devil":
        out = folder / "devil.txt"
        out.write_text(devil_text(folder), encoding="utf-8")
        return out
    return Path(name)


def _deb(package: str, folder: Path) -> Path:
    """The files of Debian package ``package``, unpacked under ``folder`` (``apt-get download``)."""
    subprocess.run(["apt-get", "download", package], cwd=folder, check=True, capture_output=True)
    deb = next(folder.glob(f"{package}_*.deb"))
    subprocess.run(["dpkg", "-x", str(deb), str(folder / package)], check=True)
    return folder / package


def devil_text(folder: Path) -> str:
    """*The Devil's Dictionary* as Debian's ``dict-devil`` stores it (a gzip file in dictd's
    format): the book from its title on, without the dictd header entries before it."""
    raw = gzip.decompress((_deb("dict-devil", folder) / "usr/share/dictd/devil.dict.dz").read_bytes()).decode("utf-8")
    return raw[raw.index("The Internet Wiretap 1st Online Edition") :]


class _Text(HTMLParser):
    """An HTML page's text: a line break at each block element; scripts and styles left out."""

    BLOCK = frozenset({"p", "div", "h1", "h2", "h3", "h4", "li", "pre", "tr", "br", "dt", "dd", "title", "table"})

    def __init__(self):
        super().__init__()
        self.parts, self.hidden = [], 0

    def handle_starttag(self, tag, attrs):
        self.hidden += tag in ("script", "style")
        if tag in self.BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        self.hidden -= tag in ("script", "style")
        if tag in self.BLOCK:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


def handbook_text(folder: Path) -> str:
    """The English *Debian Administrator's Handbook* (Debian's ``debian-handbook``, fetched with
    ``apt-get download``): its HTML pages' text, pages in file-name order."""
    pages = []
    for page in sorted((_deb("debian-handbook", folder) / "usr/share/doc/debian-handbook/html/en-US").glob("*.html")):
        parser = _Text()
        parser.feed(page.read_text(encoding="utf-8"))
        lines = [re.sub(r"[ \t]+", " ", line).strip() for line in "".join(parser.parts).split("\n")]
        pages.append(re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip())
    return "\n\n".join(pages) + "\n"


def heldout(text: str) -> str:
    """The tail ``rnnlab train`` validates on (its split, on characters)."""
    _, val = split_train_val(torch.arange(len(text)), 0.05, 32)
    return text[len(text) - val.numel() :]


def one(name: str, flags: list[str] | None, path: Path, tail: str, seed: int, tmp: Path) -> dict:
    """Train contender ``name`` (or take the base as it is) and score it on ``tail``."""
    if flags is None:
        start = read("base")
        vocab = corpus_from_text(path.read_text(encoding="utf-8"), grow=start.grow).vocab
        lm = LanguageModel(start.model(vocab), vocab)
        return {"contender": name, "bpc": round(lm.evaluate(tail)["bpc"], 4), "steps": 0, "wall_s": 0.0}
    run = tmp / name.replace(" ", "-").replace("+", "-")
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "rnnlab", "train", str(path), "--out", str(run), "--quiet", "--seed", str(seed), *flags], check=True
    )
    wall = time.perf_counter() - t0
    ckpt, model, _ = load_model(run)
    lm = LanguageModel(model, ckpt.task.vocab)
    return {"contender": name, "bpc": round(lm.evaluate(tail)["bpc"], 4), "steps": ckpt.progress.step, "wall_s": round(wall, 1)}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--text", nargs="+", default=["pydoc", "licenses", "handbook", "devil"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--only", nargs="+", choices=list(CONTENDERS), default=list(CONTENDERS))
    ap.add_argument("--finetune-args", default="", help="extra flags for the base+1min run, e.g. '--lr 0.002'")
    ap.add_argument(
        "--steps",
        type=int,
        help="fine-tune for this many steps instead of 60 seconds: a comparison of fine-tuning settings that a busy CPU cannot bias",
    )
    ap.add_argument("--out", type=Path, default=RESULTS / "finetune_quality.json")
    args = ap.parse_args(argv)
    rows, texts = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name in args.text:
            path = text_file(name, tmp)
            text = path.read_text(encoding="utf-8")
            tail = heldout(text)
            texts[name] = {"chars": len(text), "heldout_chars": len(tail), "sha256": hashlib.sha256(text.encode()).hexdigest()}
            for seed in args.seeds:
                for c in args.only:
                    flags = (
                        CONTENDERS[c] if CONTENDERS[c] is None or c.startswith("scratch") else CONTENDERS[c] + args.finetune_args.split()
                    )
                    if c == "base+1min" and args.steps:
                        flags = ["--init-from", "base", "--max-steps", str(args.steps), *args.finetune_args.split()]
                    row = {"text": name, "seed": seed, **one(c, flags, path, tail, seed, tmp / f"{name}-{seed}")}
                    if c == "base+1min" and (args.finetune_args or args.steps):
                        row["finetune_args"] = " ".join(flags[2:])
                    rows.append(row)
                    print(row, flush=True)
    print(table(rows, ["text", "seed", "contender", "steps", "wall_s", "bpc"]))
    payload = {"benchmark": "finetune_quality", "machine": machine(), "texts": texts, "contenders": CONTENDERS, "rows": rows}
    write_json(args.out, payload)
    return payload


if __name__ == "__main__":
    main()
