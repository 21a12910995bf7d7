"""Train rnnlab's English base model, and ship it: ``src/rnnlab/models/base.pt``.

1. The corpus (``scripts/base_corpus.py``): the Jargon File and Jane Austen's novels, each
   without its held-out end.
2. Training with the recipe ``src/rnnlab/recipes/base.toml`` on a fixed vocabulary
   (:data:`BASE_CHARS`: tab, newline, printable ASCII, U+00A0-U+00FF and the typographic
   characters ‘ ’ “ ” – — … •), so that most English text needs no new rows when the model is
   fine-tuned (``rnnlab train --init-from base``). The run folder resumes exactly (``--resume``,
   or Ctrl-C and run again), so training may be spread over several sittings.
3. Export: the best checkpoint without its optimizer state, its weights in half precision when
   that costs at most 0.005 bits/char on the held-out parts (else in single), written to
   ``src/rnnlab/models/base.pt``, with every figure in ``benchmarks/results/base_model.json``.

    python scripts/train_base.py                      # all three (about two hours on a 2-core CPU)
    python scripts/train_base.py --resume             # go on with runs/base after a stop
    python scripts/train_base.py --export-only        # step 3 from runs/base's best checkpoint
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from dataclasses import replace as dc_replace
from importlib import resources
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from base_corpus import build as build_corpus

from rnnlab import checkpoint, settings
from rnnlab.commands.progress import ProgressDisplay
from rnnlab.commands.training import stop_on_signals
from rnnlab.config import DataConfig, ModelConfig, TrainConfig
from rnnlab.data import Vocab, load_corpus
from rnnlab.lm import LanguageModel
from rnnlab.runs import base_model_path, build_model
from rnnlab.training import LMTask, Trainer

ROOT = Path(__file__).resolve().parents[1]
BASE_CHARS = "\t\n" + "".join(map(chr, range(32, 127))) + "".join(map(chr, range(0xA0, 0x100))) + "‘’“”–—…•"
HALF_COST = 0.005  # bits/char the half-precision weights may cost on the held-out parts


def recipe() -> tuple[ModelConfig, TrainConfig]:
    known = {f.name: (cls, f) for cls in (ModelConfig, TrainConfig) for f in settings.fields(cls)}
    with resources.as_file(resources.files("rnnlab") / "recipes" / "base.toml") as path:
        values = settings.read_toml(str(path), known)
    return tuple(cls(**{k: v for k, v in values.items() if known[k][0] is cls}) for cls in (ModelConfig, TrainConfig))


def train(corpus_dir: Path, run: Path, resume: bool) -> bool:
    """Train (or go on training); False when stopped by a signal (then nothing is exported)."""
    corpus = load_corpus([corpus_dir / "train.txt"], vocab=Vocab(tuple(BASE_CHARS)))
    ckpt = checkpoint.load(run / checkpoint.LAST, kind="lm") if resume else None
    model_cfg, train_cfg = recipe()
    if ckpt:
        ckpt.data.check_same(corpus.spec)
        # The run's own settings, but the recipe's step count (a setting that may change on
        # resume): the schedule's horizon follows it.
        model_cfg, train_cfg = ckpt.model_config, settings.replace(ckpt.train_config, max_steps=train_cfg.max_steps)
    elif run.exists():
        raise SystemExit(f"{run} exists: go on with --resume, or remove it")
    task = LMTask(corpus, model_cfg, train_cfg, DataConfig())
    hooks = ProgressDisplay(False, f"batch {task.batch_size} x seq {train_cfg.seq_len}")
    with stop_on_signals() as stop:
        result = Trainer(task, run_dir=run, hooks=hooks, stop=stop, resume=ckpt).run()
    return result["reason"] != "interrupted"


def heldout_bpc(lm: LanguageModel, corpus_dir: Path) -> dict[str, float]:
    return {f.stem: round(lm.evaluate(f.read_text(encoding="utf-8"))["bpc"], 4) for f in sorted((corpus_dir / "heldout").glob("*.txt"))}


def export(corpus_dir: Path, run: Path, seconds: float | None) -> dict:
    best = checkpoint.load(checkpoint.find(run, "best"), kind="lm")
    single = heldout_bpc(LanguageModel(build_model(best), best.task.vocab), corpus_dir)
    half_weights = {k: v.half() if v.is_floating_point() else v for k, v in best.weights.items()}
    half = heldout_bpc(LanguageModel(build_model(dc_replace(best, weights=half_weights)), best.task.vocab), corpus_dir)
    cost = max(half[k] - single[k] for k in single)
    shipped = dc_replace(
        best,
        weights=half_weights if cost <= HALF_COST else best.weights,
        task=dc_replace(best.task, carried_state=None),
        optimizer=None,
        rng=None,
        scaler=None,
    )
    out = base_model_path()
    out.parent.mkdir(exist_ok=True)
    checkpoint.save(out, shipped)
    manifest = json.loads((corpus_dir / "manifest.json").read_text())
    p = best.progress
    result = {
        "benchmark": "base_model",
        "file": str(out.relative_to(ROOT)),
        "bytes": out.stat().st_size,
        "dtype": "float16" if cost <= HALF_COST else "float32",
        "half_precision_cost_bpc": round(cost, 4),
        "heldout_bpc": single,
        "heldout_bpc_half": half,
        "parameters": sum(v.numel() for k, v in best.weights.items() if k != "head.weight" or not best.model_config.tie),
        "model": settings.to_dict(best.model_config),
        "training": settings.to_dict(best.train_config),
        "steps": p.step,
        "best_step": p.best_step,
        "best_val_bpc": p.best_val,
        "training_seconds": round(p.elapsed),
        "wall_seconds_this_sitting": None if seconds is None else round(seconds),
        "chars_seen": p.chars_seen,
        "corpus": manifest,
        "machine": {"cpu": platform.processor() or platform.machine(), "threads": torch.get_num_threads(), "torch": torch.__version__},
    }
    path = ROOT / "benchmarks" / "results" / "base_model.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    return result


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=Path("runs/base-corpus"), help="where the corpus is built (kept between sittings)")
    ap.add_argument("--run", type=Path, default=Path("runs/base"), help="the training run folder")
    ap.add_argument("--resume", action="store_true", help="go on with the run folder where it stopped")
    ap.add_argument("--export-only", action="store_true", help="only write the shipped model from the run's best checkpoint")
    args = ap.parse_args(argv)
    start = time.monotonic()
    if not (args.corpus / "manifest.json").is_file():
        build_corpus(args.corpus)
    if not args.export_only and not train(args.corpus, args.run, args.resume):
        raise SystemExit(f"stopped; saved. Go on with: python scripts/train_base.py --resume --run {args.run}")
    r = export(args.corpus, args.run, time.monotonic() - start)
    print(
        f"wrote {r['file']} ({r['bytes'] / 1e6:.1f} MB, {r['dtype']}): held-out bits/char "
        + ", ".join(f"{k} {v:.3f}" for k, v in r["heldout_bpc"].items())
    )


if __name__ == "__main__":
    main()
