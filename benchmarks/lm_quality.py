"""Quality per time: held-out bits per character of ``rnnlab train`` (defaults) against the peers.

The peers are the designs of ``peers.py`` with their published defaults: char-rnn (per
character loop, one-hot, 2x128 LSTM, RMSprop), PyTorch's word_language_model (full-sequence
loop, 2x200 LSTM, SGD lr 20) and nanoGPT's character model at its README's CPU size (4x128
transformer, block 64, AdamW). Each gets the same whole-process wall-clock time on the same text:
rnnlab runs first, as a subprocess ``rnnlab train FILE --max-time T``; its whole-process time W
(start-up, corpus, evaluations and checkpoints included) becomes each peer's budget, counted
from the peer's own process start; a peer's final save is not counted against it. All models
are then scored here on the same held-out tail (the last 5% of the text, which no contender
trains on), each by its final model: rnnlab's last checkpoint, since its best one is chosen on the
tail's first ``--eval-chars`` (the best one's score is recorded beside it, ``rnnlab_bpc_best``).
The recurrent models are scored by rnnlab's ``score_ids`` (64 streams, state carried, every
character predicted from all before it in its stream), the transformer, whose context is a block
of 64, by ``peers.score_sliding`` (windows of 64 at stride 32: every character predicted from at
least 32 before it).

Texts: ``prose`` (the embedded corpus), ``code`` (about 1.3 MB of torch's own sources),
``stdlib`` (the first 3 MB of this interpreter's standard library, ``Lib/**/*.py`` without
tests, files sorted; ``stdlib6`` the first 6 MB, and so on) or file paths (for budgets of 30
minutes and more, the 5 MB of public-domain prose ``scripts/base_corpus.py`` writes to
``train.txt``, without the base model's held-out parts). Each text's SHA-256 and size go into the JSON.

Each run (budget, text, seed, variant) writes its own JSON to ``benchmarks/results/lm_quality/``,
so a table can be filled across sessions; ``--summary`` averages whatever runs are there.

    .venv/bin/python benchmarks/lm_quality.py --minutes 1 5 --text prose stdlib --seeds 0 1 2 [--peers charrnn wlm gpt]
    .venv/bin/python benchmarks/lm_quality.py --summary
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import re
import shlex
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, table, write_json
from peers import build, score_sliding

from rnnlab.data import default_corpus_path, load_corpus
from rnnlab.model import LN2
from rnnlab.runs import load_model
from rnnlab.scoring import score_ids
from rnnlab.training.lm_task import split_train_val


def source_code_text(limit: int = 1_300_000) -> Path:
    """About 1.3 MB of Python: torch's own sources, in sorted order (on every machine that runs this)."""
    root = Path(torch.__file__).parent
    out = Path(tempfile.gettempdir()) / "rnnlab-bench-code.txt"
    parts, size = [], 0
    for f in sorted(root.rglob("*.py")):
        t = f.read_text(errors="ignore")
        parts.append(t)
        size += len(t)
        if size >= limit:
            break
    out.write_text("".join(parts)[:limit])
    return out


STDLIB_SKIP = {"test", "tests", "idle_test", "site-packages", "dist-packages"}


def stdlib_text(limit: int = 3_000_000) -> tuple[Path, dict]:
    """The first ``limit`` bytes of this interpreter's standard library sources (PSF licence).

    Every ``*.py`` under ``sysconfig.get_paths()["stdlib"]``, in the order of their paths
    relative to it (as strings), skipping any path with a directory part ``test``, ``tests`` or
    ``idle_test`` (the test suites), ``site-packages`` / ``dist-packages`` (third-party
    packages installed there), and the two files the build writes beside the sources
    (``_sysconfigdata_*.py`` and ``config-*/python-config.py``: not in CPython's ``Lib/``, and
    they hold this machine's build paths). The files are concatenated as they are and cut at
    ``limit`` bytes (backed off to a whole UTF-8 character). Returns the text's path and what it
    is: files, bytes, characters, SHA-256 of the bytes.
    """
    root = Path(sysconfig.get_paths()["stdlib"])

    def wanted(rel: Path) -> bool:
        dirs = rel.parts[:-1]
        built = rel.name.startswith("_sysconfigdata_") or any(d.startswith("config-") for d in dirs)
        return not built and not STDLIB_SKIP.intersection(dirs)

    files = [f for f in root.rglob("*.py") if wanted(f.relative_to(root))]
    data, used = bytearray(), 0
    for f in sorted(files, key=lambda f: f.relative_to(root).as_posix()):
        data += f.read_bytes()
        used += 1
        if len(data) >= limit:
            break
    cut = min(limit, len(data))
    while cut < len(data) and cut > 0 and (data[cut] & 0xC0) == 0x80:  # not inside a multi-byte character
        cut -= 1
    blob = bytes(data[:cut])
    text = blob.decode("utf-8")
    out = Path(tempfile.gettempdir()) / f"rnnlab-bench-stdlib-{limit}.txt"
    out.write_bytes(blob)
    info = {"root": str(root), "python": sys.version.split()[0], "files": used, "bytes": len(blob), "chars": len(text)}
    return out, {**info, "sha256": hashlib.sha256(blob).hexdigest()}


PEERS = ("charrnn", "wlm", "gpt")


def one_budget(minutes, name, path, corpus, val, variant, peers, here, src, seed) -> dict:
    """rnnlab (defaults plus ``variant`` flags) for ``minutes``, then each peer for the same wall time, all with ``seed``."""
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        t0 = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "rnnlab",
                "train",
                str(path),
                "--out",
                str(run),
                "--quiet",
                "--max-time",
                str(minutes * 60),
                "--seed",
                str(seed),
                *shlex.split(variant),
            ],
            check=True,
        )
        wall = time.perf_counter() - t0
        # The last checkpoint, as the peers' final models: the best one is chosen on the first
        # --eval-chars of this same tail, which would score rnnlab on text that picked it.
        ckpt, model, _ = load_model(run, "last")
        ours = bpc(model, val)
        best_ckpt, best, _ = load_model(run, "best")
        ours_best = ours if best_ckpt.progress.step == ckpt.progress.step else bpc(best, val)
        row = {
            "minutes": minutes,
            "text": name,
            "variant": variant,
            "seed": seed,
            "chars": len(corpus),
            "wall_s": round(wall, 1),
            "rnnlab_steps": ckpt.progress.step,
            "rnnlab_params": sum(t.numel() for t in model.parameters()),
            "rnnlab_cps": round(ckpt.progress.chars_seen / wall),  # training characters per whole-process second
            "rnnlab_model": ", ".join(
                [f"{ckpt.model_config.layers}x{ckpt.model_config.hidden} {ckpt.model_config.cell}", *ckpt.model_config.extras()]
            ),
            "rnnlab_checkpoint": "last",
            "rnnlab_bpc": round(ours, 4),
            "rnnlab_bpc_best": round(ours_best, 4),  # for reference only: selected on part of the tail
            "rnnlab_best_step": best_ckpt.progress.step,
            "rnnlab_evals": evaluations(run / "metrics.csv"),
        }
        for peer in peers:
            out = Path(tmp) / f"{peer}.pt"
            t1 = time.perf_counter()
            subprocess.run([sys.executable, str(here / "peers.py"), peer, str(path), str(wall), str(out), src, str(seed)], check=True)
            wall_peer = time.perf_counter() - t1
            saved = torch.load(out, weights_only=True)
            net = build(peer, len(corpus.vocab))
            net.load_state_dict(saved["model"])
            theirs = bpc(net, val)
            row.update(
                {
                    f"{peer}_wall_s": round(wall_peer, 1),
                    f"{peer}_steps": saved["steps"],
                    f"{peer}_params": sum(t.numel() for t in net.parameters()),
                    f"{peer}_bpc": round(theirs, 4),
                }
            )
            if "horizon" in saved:
                row[f"{peer}_horizon"] = saved["horizon"]
    return row


def evaluations(metrics: Path) -> list[list[float]]:
    """The run's validation curve from its ``metrics.csv``: [step, learning rate, validation bits/char] per evaluation."""
    with metrics.open(newline="") as f:
        return [[int(r["step"]), float(r["lr"]), round(float(r["val_bpc"]), 4)] for r in csv.DictReader(f) if r.get("val_bpc")]


def bpc(model, val: torch.Tensor) -> float:
    """Held-out bits per character: recurrent models by ``score_ids`` (64 carried-state streams),
    a model with a fixed context (``block_size``) by the sliding window of ``score_sliding``."""
    block = getattr(model, "block_size", None)
    nats, n = score_ids(model, val, 64, 128) if block is None else score_sliding(model, val, block)
    return nats / n / LN2


def text_path(name: str) -> tuple[Path, dict]:
    """The file of ``--text NAME`` and what is known of it before reading."""
    if name == "prose":
        return default_corpus_path(), {}
    if name == "code":
        return source_code_text(), {}
    if name == "stdlib":
        return stdlib_text()
    if name.startswith("stdlib") and name[6:].isdigit():  # stdlib6: the first 6 MB, for the long budgets
        return stdlib_text(int(name[6:]) * 1_000_000)
    return Path(name), {}


RUNS = RESULTS / "lm_quality"  # one JSON per run: budget, text, seed (and variant)


def run_name(row: dict) -> str:
    """The run's file name, in --runs itself: a text given as a path is named by its path's parts
    (``runs/base-corpus/train.txt`` -> ``runs-base-corpus-train.txt``), never a folder below."""
    slug = re.sub(r"[^A-Za-z0-9.]+", "-", row["variant"]).strip("-")
    text = re.sub(r"[^A-Za-z0-9.]+", "-", row["text"]).strip("-")
    return f"{text}_{row['minutes']:g}min_seed{row['seed']}" + (f"_{slug}" if slug else "") + ".json"


def summarise(folder: Path) -> list[dict]:
    """The mean held-out bits/char per (text, minutes, variant) and contender over the runs in ``folder``.

    A run without a peer (``--only-rnnlab``) is set against that peer's runs of the same text,
    budget and seed (their mean, if several variants ran it), so a margin always pairs seeds:
    ``{peer}_minus_rnnlab`` is the mean over the seeds both have, ``{peer}_runs`` their count.
    """
    rows = [json.loads(f.read_text())["row"] for f in sorted(folder.glob("*.json"))]
    by_seed: dict[tuple, list[float]] = {}
    for r in rows:
        for who in PEERS:
            if f"{who}_bpc" in r:
                by_seed.setdefault((r["text"], r["minutes"], r["seed"], who), []).append(r[f"{who}_bpc"])

    def peer_bpc(row: dict, who: str) -> float | None:
        if f"{who}_bpc" in row:
            return row[f"{who}_bpc"]
        others = by_seed.get((row["text"], row["minutes"], row["seed"], who))
        return statistics.fmean(others) if others else None

    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["text"], r["minutes"], r["variant"]), []).append(r)
    out = []
    for (text, minutes, variant), group in sorted(groups.items(), key=lambda kv: kv[0]):
        agg = {"text": text, "minutes": minutes, "variant": variant, "seeds": len(group)}
        agg["rnnlab_bpc"] = round(statistics.fmean(r["rnnlab_bpc"] for r in group), 3)
        agg["rnnlab_params"] = group[0].get("rnnlab_params")
        for who in PEERS:
            pairs = [(theirs, r["rnnlab_bpc"]) for r in group if (theirs := peer_bpc(r, who)) is not None]
            if pairs:
                agg[f"{who}_bpc"] = round(statistics.fmean(t for t, _ in pairs), 3)
                agg[f"{who}_runs"] = len(pairs)
                agg[f"{who}_minus_rnnlab"] = round(statistics.fmean(t - o for t, o in pairs), 3)
                params = [r[f"{who}_params"] for r in rows if r["text"] == text and f"{who}_params" in r]
                agg[f"{who}_params"] = params[0] if params else None
        cps = [r["rnnlab_cps"] for r in group if "rnnlab_cps" in r]
        if cps:
            agg["rnnlab_cps"] = round(statistics.fmean(cps))
        agg["rnnlab_model"] = group[0].get("rnnlab_model", "")
        out.append(agg)
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, nargs="+", default=[1.0, 2.0, 5.0], help="rnnlab's --max-time values, in minutes")
    ap.add_argument(
        "--text",
        nargs="+",
        default=["prose"],
        help="prose (embedded corpus), code (torch's sources), stdlib (3 MB of this Python's Lib/**/*.py, no tests; stdlibN: N MB), "
        "or file paths (for the long budgets: scripts/base_corpus.py's train.txt, 5 MB of public-domain prose)",
    )
    ap.add_argument("--seeds", type=int, nargs="+", default=[0], help="one run per seed (rnnlab's --seed and the peers')")
    ap.add_argument("--peers", nargs="+", choices=PEERS, default=list(PEERS), help="which peers run (default: all)")
    ap.add_argument("--only-rnnlab", action="store_true", help="skip the peers (the fixed-budget figure)")
    ap.add_argument(
        "--variant",
        action="append",
        default=None,
        metavar="FLAGS",
        help='rnnlab train flags to compare, e.g. "--batch-size 16 --seq-len 32" (repeatable; '
        'default: one run with the defaults; "" is the defaults)',
    )
    ap.add_argument(
        "--runs", type=Path, default=RUNS, help=f"where each run's JSON goes (default {RUNS.relative_to(RESULTS.parent.parent)})"
    )
    ap.add_argument("--summary", action="store_true", help="run nothing: print the means over the runs in --runs and write them to --out")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    if args.summary:
        rows = summarise(args.runs)
        cols = ["text", "minutes", "variant", "seeds", "rnnlab_bpc", *[f"{p}_bpc" for p in PEERS], "gpt_runs", "gpt_minus_rnnlab"]
        cols += ["rnnlab_params", "rnnlab_cps", "rnnlab_model"]
        print(table(rows, [c for c in cols if any(c in r for r in rows)]))
        payload = {"benchmark": "lm_quality_summary", "runs": str(args.runs), "rows": rows}
        write_json(args.out or RESULTS / "lm_quality_summary.json", payload)
        return payload
    here = Path(__file__).resolve().parent
    src = str(here.parent / "src")
    peers = () if args.only_rnnlab else tuple(dict.fromkeys(args.peers))
    rows = []
    texts = {}
    variants = args.variant if args.variant is not None else [""]
    for minutes in args.minutes:
        for name in args.text:
            path, info = text_path(name)
            corpus = load_corpus([path])
            _, val = split_train_val(corpus.ids, 0.05, 128)
            texts[name] = {
                "path": str(path),
                **info,
                "bytes": sum(Path(f).stat().st_size for f in corpus.files),
                "chars": len(corpus),
                "symbols": len(corpus.vocab),
                "sha256": corpus.spec.sha256,
                "val_chars": val.numel(),
            }
            for seed in args.seeds:
                for variant in variants:
                    row = one_budget(minutes, name, path, corpus, val, variant, peers, here, src, seed)
                    rows.append({**row, "text_sha256": corpus.spec.sha256, "text_bytes": texts[name]["bytes"]})
                    write_json(
                        args.runs / run_name(row), {"benchmark": "lm_quality", "text": texts[name], "peers": list(peers), "row": rows[-1]}
                    )
                    print(rows[-1], flush=True)
    cols = ["minutes", "text", "seed"] + (["variant"] if args.variant is not None else []) + ["wall_s", "rnnlab_steps", "rnnlab_bpc"]
    for peer in peers:
        cols += [f"{peer}_steps", f"{peer}_bpc"]
    print()
    print(table(rows, cols))
    payload = {"benchmark": "lm_quality", "minutes": args.minutes, "peers": list(peers), "texts": texts, "rows": rows}
    if args.out:
        write_json(args.out, payload)
    return payload


if __name__ == "__main__":
    main()
