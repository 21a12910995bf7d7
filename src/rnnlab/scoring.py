"""The one scoring function: how many nats a language model spends on a text.

``rnnlab eval``, ``LanguageModel.evaluate`` and the trainer's validation all call
:func:`score_ids`. The text is laid out as ``batch_size`` contiguous streams read in chunks of
``seq_len`` with the state carried across chunks, so every character is predicted from all the
characters before it in its stream. With ``batch_size`` 1 that is the whole text in one pass.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from rnnlab.distributed import DistContext


@torch.no_grad()
def score_ids(
    model, ids: torch.Tensor, batch_size: int = 1, seq_len: int = 1024, device: torch.device | str = "cpu", dist: DistContext | None = None
) -> tuple[float, int]:
    """``(total nats, characters predicted)`` of ``ids`` (N,) under ``model``.

    Wider batches make the pass cheaper but cut the text into streams that each start from a
    blank state (and drop the tail that does not fill the last stream). Under torch.distributed
    each rank scores its share of the streams and the sums are reduced.
    """
    device = torch.device(device)
    if ids.numel() < 2:
        return 0.0, 0
    if device.type == "cuda" and ids.device.type == "cpu":
        # The chunks below are strided column slices: copied from host memory one by one they
        # would each be a synchronous copy. One copy of the compact ids, then slicing on the card.
        ids = ids.to(device)
    batch_size = max(1, min(batch_size, (ids.numel() - 1) // max(1, seq_len)))
    length = (ids.numel() - 1) // batch_size
    x = ids[: batch_size * length].view(batch_size, length)  # (B, L)
    y = ids[1 : batch_size * length + 1].view(batch_size, length)  # (B, L)
    if dist is not None:
        x, y = x[dist.rank :: dist.world_size], y[dist.rank :: dist.world_size]  # (B/N, L)
    was_training = model.training
    model.eval()
    total = torch.zeros((), dtype=torch.float64, device=device)
    state = None
    for p in range(0, length, seq_len):
        xb = x[:, p : p + seq_len].to(device, non_blocking=True).long()  # (B, t)
        yb = y[:, p : p + seq_len].to(device, non_blocking=True).long()  # (B, t)
        logits, _, state = model(xb, state=state)  # (B, t, V)
        total += F.cross_entropy(logits.flatten(0, 1).double(), yb.flatten(), reduction="sum")
    model.train(was_training)
    if dist is not None:
        total = dist.all_reduce_sum(total)
    return float(total), batch_size * length
