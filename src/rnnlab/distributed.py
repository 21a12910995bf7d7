"""Data-parallel training on torch.distributed, for runs launched by ``torchrun``.

``torchrun --nproc-per-node N -m rnnlab train ...`` starts N processes with RANK, WORLD_SIZE and
LOCAL_RANK in their environment. Each process takes its share of the batch streams,
DistributedDataParallel averages the gradients, so N ranks with B/N streams each take the same
steps as one process with B streams. Rank 0 alone writes checkpoints, metrics and the lock.
"""

from __future__ import annotations

import contextlib
import gc
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from rnnlab.errors import UserError


@dataclass(frozen=True)
class DistContext:
    rank: int
    world_size: int
    local_rank: int
    backend: str

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def device(self, device: torch.device) -> torch.device:
        """One card per process: cuda means cuda:LOCAL_RANK."""
        if device.type == "cuda":
            return torch.device("cuda", self.local_rank)
        return device

    def all_reduce_sum(self, t: torch.Tensor) -> torch.Tensor:
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return t

    def any(self, flag: bool, device: torch.device) -> bool:
        """True on every rank when it is true on any: decisions to stop must be taken together."""
        t = torch.tensor([1.0 if flag else 0.0], device=device)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item() > 0)


def from_env(device_name: str) -> DistContext | None:
    """Join the process group when launched by torchrun with more than one process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return None
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() and device_name in ("auto", "cuda")
    backend = "nccl" if use_cuda else "gloo"
    if use_cuda:
        torch.cuda.set_device(local)
    if not dist.is_initialized():
        try:
            dist.init_process_group(backend=backend)
        except (RuntimeError, ValueError) as e:
            raise UserError(f"could not join the torch.distributed group ({backend}): {str(e).splitlines()[0][:200]}") from None
    return DistContext(rank=rank, world_size=world, local_rank=local, backend=backend)


def shutdown(ctx: DistContext | None) -> None:
    """Leave the group together: a rank that tears down early aborts one still saving."""
    if ctx is not None and dist.is_initialized():
        with contextlib.suppress(RuntimeError):  # a peer already failed; torchrun reports it
            dist.barrier()
        # DistributedDataParallel's reducer holds the group too; when a reference cycle keeps it
        # alive, gloo's worker threads outlive destroy_process_group and are torn down during
        # interpreter finalisation, which aborts the process now and then ("terminate called
        # without an active exception", seen once in CI). Free such cycles while Python still runs.
        gc.collect()
        dist.destroy_process_group()
        gc.collect()
