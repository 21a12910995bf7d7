"""Loading a trained run for use: rnnlab's one checkpoint loader, with one set of messages.

``rnnlab.load``, the tagger, ``rnnlab sample/eval/report`` and ``rnnlab tag predict/eval`` all
read runs through :func:`load_model`: find the checkpoint in the run folder, read it safely
(:mod:`rnnlab.checkpoint`), build the network its kind and configuration describe on the backend
it was trained on, and load the weights.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import torch

from rnnlab import checkpoint
from rnnlab.checkpoint import Checkpoint
from rnnlab.device import resolve_device
from rnnlab.errors import UserError

# The network of each kind of run, imported on first use.
MODELS = {"lm": ("rnnlab.model", "CharRNN"), "tag": ("rnnlab.tag.model", "TagModel")}

# The name of the English language model shipped inside the package (docs/base-model.md). A run
# folder that happens to be called "base" is reached as ./base.
BASE = "base"


def base_model_path() -> Path:
    return Path(__file__).resolve().parent / "models" / "base.pt"


def locate(run: str | os.PathLike) -> Path:
    """Where a run named on the command line is: ``base`` is the shipped model, else a path."""
    if isinstance(run, str) and run == BASE:
        path = base_model_path()
        if not path.is_file():
            raise UserError(f"this rnnlab has no base model ({path} is missing); train one with scripts/train_base.py")
        return path
    return Path(run)


def load_run(run_dir: str | os.PathLike, which: str = "best", kind: str | None = None) -> Checkpoint:
    """The checkpoint of a run folder (``best.pt``, else ``last.pt``; or ``which="last"``), a
    checkpoint file named directly, an export folder (``rnnlab export --to hf``: no training
    state, read from JSON and safetensors), or the shipped model (``"base"``)."""
    return checkpoint.load(checkpoint.find(locate(run_dir), which), kind=kind)


def build_model(ckpt: Checkpoint, device: torch.device | str = "cpu", backend: str | None = None) -> torch.nn.Module:
    """The checkpoint's network with its weights, in eval mode on ``device``. ``backend``
    defaults to the one the weights were trained on; every backend takes the same weights."""
    sizes = ckpt.task.sizes()
    if any(getattr(ckpt.model_config, k) != v for k, v in sizes.items()):
        raise UserError(f"{ckpt.source}: its vocabulary does not match its model")
    module, name = MODELS[ckpt.kind]
    model = getattr(importlib.import_module(module), name)(ckpt.model_config, backend or ckpt.backend)
    try:
        model.load_state_dict(ckpt.weights)
    except (RuntimeError, TypeError, KeyError) as e:
        raise UserError(f"{ckpt.source}: the weights do not fit the model it describes ({checkpoint.weights_problem(e)})") from None
    return model.to(device).eval()


def load_model(
    run_dir: str | os.PathLike, which: str = "best", kind: str | None = None, device: str = "cpu"
) -> tuple[Checkpoint, torch.nn.Module, torch.device]:
    """:func:`load_run`, then :func:`build_model` on the device named (``auto`` picks one)."""
    dev = resolve_device(device)
    ckpt = load_run(run_dir, which, kind)
    return ckpt, build_model(ckpt, dev), dev
