"""The optimiser a run trains with, built from its settings and recorded in its checkpoint.

``adamw`` (the default): Adam with decoupled weight decay (Loshchilov and Hutter 2019) on the
matrices only (embeddings, recurrent and output weights); biases and norms are not decayed, as
in modern recipes. ``adam``: Adam whose weight decay is the classic L2 penalty on every
parameter (coupled to the gradient, so Adam rescales it) — what rnnlab used before, kept so that
runs from earlier versions resume with the optimiser they were trained with. With weight decay 0
the two take the same steps.
"""

from __future__ import annotations

import torch

from rnnlab.config import LoopConfig


def make_optimizer(model: torch.nn.Module, cfg: LoopConfig) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": cfg.weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW([g for g in groups if g["params"]], lr=cfg.lr)
