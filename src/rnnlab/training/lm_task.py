"""Language modelling as a training task: contiguous streams and truncated backprop through time.

The training text is cut into ``batch_size`` contiguous streams; each step takes the next
``seq_len`` characters of every stream and carries the recurrent state over from the previous
chunk, detached (so gradients stop at the chunk boundary) and in fp32. The tail of the text is
held out for validation. The carried state is part of the checkpoint, so a resumed run goes on
exactly where it stopped.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import torch
import torch.distributed as dist_ops

from rnnlab import memory
from rnnlab.checkpoint import LMState
from rnnlab.config import DataConfig, ModelConfig, SampleConfig, TrainConfig
from rnnlab.data import Corpus
from rnnlab.distributed import DistContext
from rnnlab.errors import UserError
from rnnlab.init_from import origin_text
from rnnlab.model import LN2, CharRNN, State
from rnnlab.sampling import generate
from rnnlab.scoring import score_ids
from rnnlab.settings import replace
from rnnlab.training.precision import carry

if TYPE_CHECKING:
    from rnnlab.init_from import Start

log = logging.getLogger("rnnlab.train")
EVAL_STREAMS = 64  # validation reads at least this many streams at once: wide batches make a forward-only pass cheap


def split_train_val(ids: torch.Tensor, val_fraction: float, seq_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Hold out the tail of the text; the split never depends on the batch layout."""
    n = ids.numel()
    n_val = int(n * val_fraction)
    if n_val < 2:
        n_val = 0
    train, val = ids[: n - n_val], ids[n - n_val :]
    if train.numel() - 1 < seq_len:
        raise UserError(
            f"the training text has {train.numel()} characters, fewer than one sequence of "
            f"{seq_len} + 1; use a smaller --seq-len or more text"
        )
    return train, val


def stream_batches(ids: torch.Tensor, batch_size: int, seq_len: int) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Lay the text out as ``batch_size`` contiguous streams: x, y (B, L) with y = x shifted by one."""
    length = (ids.numel() - 1) // batch_size
    x = ids[: batch_size * length].view(batch_size, length)  # (B, L)
    y = ids[1 : batch_size * length + 1].view(batch_size, length)  # (B, L)
    return x, y, length // seq_len


class LMTask:
    kind = "lm"

    def __init__(self, corpus: Corpus, model: ModelConfig, train: TrainConfig, data: DataConfig | None = None, start: Start | None = None):
        """``start``: the model to start from (``corpus`` encoded with its vocabulary, extended),
        whose shape ``model`` then has; None: random weights, or a resumed run's."""
        self.corpus, self.vocab = corpus, corpus.vocab
        self.model_config = replace(model, vocab_size=len(corpus.vocab))
        self.init_weights = start.weights_for(corpus.vocab) if start is not None else None
        self.origin = start.origin(corpus.vocab) if start is not None else None
        self.train_config, self.data_config, self.data = train, data or DataConfig(), corpus.spec
        self.epochs = train.epochs
        self.train_ids, self.val_ids = split_train_val(corpus.ids, train.val_fraction, train.seq_len)
        batch_size = min(train.batch_size, (self.train_ids.numel() - 1) // train.seq_len)
        if batch_size < train.batch_size:
            log.warning("the text is short: batch size lowered from %d to %d streams", train.batch_size, batch_size)
        self.batch_size = batch_size
        self.x, self.y, self.steps_per_epoch = stream_batches(self.train_ids, batch_size, train.seq_len)
        self.chars_per_step = batch_size * train.seq_len
        self.carried: State | None = None
        self.device, self.dist = torch.device("cpu"), None

    def place(self, device: torch.device, dist: DistContext | None) -> int:
        self.device, self.dist = device, dist
        rows = self.batch_size
        if dist is not None:
            n = dist.world_size
            if self.batch_size % n:
                raise UserError(f"--batch-size {self.batch_size} must be a multiple of the {n} processes")
            # Rank r takes its block of streams: together the ranks hold exactly the one-process batch.
            rows = self.batch_size // n
            self.x, self.y = (self.x[dist.rank * rows : (dist.rank + 1) * rows], self.y[dist.rank * rows : (dist.rank + 1) * rows])
        if device.type == "cuda":
            # Compact ids fit on the card; moving them once saves a copy per step (and a batch is a
            # strided column slice, whose host->device copy would be synchronous even from pinned
            # memory). On a CPU the slices are views: there is nothing to copy.
            self.x, self.y = self.x.to(device), self.y.to(device)
        return rows

    def build_model(self, backend: str) -> CharRNN:
        model = CharRNN(self.model_config, backend)
        if self.init_weights is not None:
            model.load_state_dict(self.init_weights)
        return model

    def start_epoch(self) -> None:
        self.carried = None  # a new pass over the text starts from a blank state

    def loss(self, model: torch.nn.Module, index: int) -> torch.Tensor:
        s, t = index * self.train_config.seq_len, self.train_config.seq_len
        xb = self.x[:, s : s + t].to(self.device, non_blocking=True).long()  # (B, T)
        yb = self.y[:, s : s + t].to(self.device, non_blocking=True).long()  # (B, T)
        _, loss, state = model(xb, yb, self.carried)
        self.carried = carry(state)
        return loss

    def has_validation(self) -> bool:
        return self.val_ids.numel() > 1

    def val_error(self, model: torch.nn.Module) -> None:
        return None  # bits per character is what a language model is judged by

    def evaluate(self, model: torch.nn.Module) -> float:
        cfg = self.train_config
        # Wide batches make the forward-only pass cheap, whatever the training batch is.
        nats, n = score_ids(
            model, self.val_ids[: cfg.eval_chars + 1], max(EVAL_STREAMS, self.batch_size), cfg.seq_len, self.device, self.dist
        )
        return nats / n / LN2 if n else float("nan")

    def preview(self, model: torch.nn.Module, seed: int) -> str:
        vocab = self.vocab
        start = vocab.stoi.get("\n", 0 if vocab.unk is None else min(1, len(vocab) - 1))
        g = torch.Generator(device=self.device).manual_seed(seed)
        prime = torch.tensor([[start]], device=self.device)
        steps = generate(model, prime, self.train_config.sample_chars, g, self.vocab.unk, SampleConfig(temperature=0.8))
        return vocab.decode([int(i[0]) for i in steps])

    def describe(self) -> str:
        return self.corpus.describe()

    def notes(self) -> list[str]:
        return [origin_text(self.origin)] if self.origin else []

    def memory_estimate(self, batch: int) -> memory.Estimate:
        cfg = self.train_config
        flags = {
            "--batch-size": cfg.batch_size,
            "--seq-len": cfg.seq_len,
            "--eval-chars": cfg.eval_chars,
            "--sample-chars": cfg.sample_chars,
        }
        return memory.training_estimate(
            self.model_config,
            batch,
            cfg.seq_len,
            flags=flags,
            eval_batch=max(EVAL_STREAMS, batch),
            eval_steps=cfg.seq_len,
            val_chars=min(cfg.eval_chars, self.val_ids.numel()),
            sample_chars=cfg.sample_chars,
        )

    def state(self) -> LMState:
        carried = None
        if self.carried is not None:
            carried = list(self.carried) if isinstance(self.carried, tuple) else [self.carried]
            if self.dist is not None:
                # Each rank carries the state of its own streams: save the whole batch's, in order.
                carried = [self._gather_rows(s) for s in carried]  # (L, B, H) each
        return LMState(self.vocab, carried, self.origin)

    def _gather_rows(self, t: torch.Tensor) -> torch.Tensor:
        parts = [torch.empty_like(t) for _ in range(self.dist.world_size)]
        dist_ops.all_gather(parts, t.contiguous())
        return torch.cat(parts, dim=1)

    def restore(self, state: LMState) -> None:
        self.origin = state.origin
        carried = state.carried_state
        if carried is None:
            return
        if self.dist is not None:
            n, b = self.dist.world_size, carried[0].shape[1]
            carried = [s[:, self.dist.rank * b // n : (self.dist.rank + 1) * b // n] for s in carried]  # (L, B/N, H)
        carried = [s.to(self.device) for s in carried]
        self.carried = tuple(carried) if len(carried) > 1 else carried[0]
