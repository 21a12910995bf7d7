"""``rnnlab export RUN_DIR|base --to FORMAT OUT``: a trained run for other programs.

The formats are :mod:`rnnlab.export`'s modules. The export is written to a temporary path beside
``OUT`` and renamed into place once whole, so an interrupted export leaves nothing half-written;
an existing ``OUT`` is replaced only with ``--force``. A run that is still training exports its
last saved checkpoint, and says so.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import sys
from pathlib import Path

from rnnlab.commands.flags import add_settings, parsed
from rnnlab.config import EXPORT_FORMATS, ExportConfig, LoadConfig
from rnnlab.errors import UserError


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "export",
        help="write a trained model for other programs: Hugging Face, ONNX, a web page",
        description="Write a run's model (or the shipped base model) as a Hugging Face Hub folder (--to hf: "
        "model.safetensors, config.json and a model card), an ONNX graph of one step with the state as inputs "
        "and outputs (--to onnx), or one HTML file that writes in any browser, offline (--to web). Needs the "
        "'export' extra: pip install safetensors onnx onnxscript onnxruntime.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="a folder written by rnnlab train, a checkpoint, or base")
    p.add_argument("--to", required=True, choices=EXPORT_FORMATS, help="the format to write")
    p.add_argument("out", metavar="OUT", help="the folder (hf, onnx) or file (web) to write")
    p.add_argument("--force", action="store_true", help="replace OUT if it exists")
    add_settings(p, ExportConfig, "export", defaults=True)
    add_settings(p, LoadConfig, "run", only=("checkpoint",), defaults=True)
    return p


def run(args) -> int:
    from rnnlab import checkpoint, runs
    from rnnlab.training.rundir import RunFolder

    cfg, where = parsed(args, ExportConfig), parsed(args, LoadConfig)
    out = Path(args.out)
    if (out.exists() or out.is_symlink()) and not args.force:
        raise UserError(f"{out} exists; --force replaces it")
    try:
        module = importlib.import_module(f"rnnlab.export.{args.to}")
    except ImportError as e:
        raise UserError(
            f"rnnlab export needs its extra: pip install safetensors onnx onnxscript onnxruntime ({e.name} is missing)"
        ) from None
    ckpt, model, _ = runs.load_model(args.run_dir, which=where.checkpoint, device="cpu")  # refuses what is not a run
    source = runs.locate(args.run_dir)
    if source.is_dir() and (source / checkpoint.LAST).exists() and RunFolder(source).busy():
        print(f"rnnlab export: {source} is still training: exporting its last saved checkpoint", file=sys.stderr)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"  # fileio.TMP_GLOB: swept if this process dies
    try:
        if module.OUTPUT == "folder":
            tmp.mkdir(parents=True)
        said = module.write(ckpt, model, tmp, cfg)
        _replace(tmp, out)
    except OSError as e:
        raise UserError(f"cannot write {out}: {e.strerror or e}") from None
    finally:
        _remove(tmp)
    print(f"rnnlab export: {said} -> {out}", file=sys.stderr)
    return 0


def _replace(new: Path, out: Path) -> None:
    """Move ``new`` to ``out``; an existing ``out`` (``--force``) goes only once ``new`` is in place."""
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    if out.exists() or out.is_symlink():
        os.replace(out, old)
    os.replace(new, out)
    _remove(old)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
