"""Where a model runs: ``auto`` takes a CUDA card, else Apple's MPS, else the CPU."""

from __future__ import annotations

import torch

from rnnlab.errors import UserError


def _mps() -> bool:
    return getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()


def resolve_device(name: str | torch.device) -> torch.device:
    name = str(name)
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if _mps() else torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError("--device cuda was asked for but no CUDA device is available")
    if name == "mps" and not _mps():
        raise UserError("--device mps was asked for but MPS is not available")
    return torch.device(name)
