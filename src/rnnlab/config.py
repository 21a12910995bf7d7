"""Configuration dataclasses for models and training; unknown or mistyped keys fail loudly."""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass
from typing import Any, TypeVar, get_type_hints

from rnnlab.errors import UserError

T = TypeVar("T")

CELLS = ("lstm", "gru", "rnn")
IMPLS = ("auto", "torch", "reference", "fused")
# Arithmetic of the training forward pass: fp32 throughout, or autocast to bfloat16 / float16
# (weights, optimizer state and checkpoints stay fp32 either way).
PRECISIONS = ("fp32", "bf16", "fp16")


def from_dict(cls: type[T], d: dict[str, Any]) -> T:
    """Build a config dataclass from a dict, refusing unknown keys and wrong types."""
    hints = get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(d) - names)
    if unknown:
        raise UserError(f"{cls.__name__}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(names))}")
    kwargs = {}
    for k, v in d.items():
        kwargs[k] = _check_type(cls.__name__, k, hints[k], v)
    return cls(**kwargs)


def _check_type(owner: str, key: str, hint: Any, value: Any) -> Any:
    allowed = typing.get_args(hint) or (hint,)
    if value is None and type(None) in allowed:
        return value
    for t in allowed:
        if t is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if t is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if t in (str, bool) and isinstance(value, t):
            return value
    names = "/".join(getattr(t, "__name__", str(t)) for t in allowed)
    raise UserError(f"{owner}.{key} must be {names}, got {value!r}")


def to_dict(cfg) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


@dataclass
class ModelConfig:
    """Embedding (or one-hot) -> stacked recurrent cells -> Linear over the vocabulary."""

    vocab_size: int = 0  # 0: taken from the training text's vocabulary
    cell: str = "lstm"
    layers: int = 2
    hidden: int = 256
    embed: int = 64  # ignored with one_hot
    one_hot: bool = False
    dropout: float = 0.0
    impl: str = "auto"  # auto: the faster backend for the cell and device (model.resolve_impl)

    def __post_init__(self):
        if self.cell not in CELLS:
            raise UserError(f"cell must be one of {', '.join(CELLS)}, got {self.cell!r}")
        if self.impl not in IMPLS:
            raise UserError(f"impl must be one of {', '.join(IMPLS)}, got {self.impl!r}")
        if self.impl == "fused" and self.cell == "lstm":
            raise UserError("impl fused exists for the GRU and the RNN, not the LSTM (torch.nn.LSTM is fused already)")
        for name in ("layers", "hidden"):
            if getattr(self, name) < 1:
                raise UserError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.vocab_size < 0:
            raise UserError(f"vocab_size must be >= 0, got {self.vocab_size}")
        if not self.one_hot and self.embed < 1:
            raise UserError(f"embed must be at least 1, got {self.embed}")
        if not 0.0 <= self.dropout < 1.0:
            raise UserError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.hidden > 65536 or self.layers > 64 or self.embed > 65536:
            raise UserError("model size is absurd (hidden/embed at most 65536, layers at most 64)")

    @property
    def input_size(self) -> int:
        return self.vocab_size if self.one_hot else self.embed


@dataclass
class TrainConfig:
    """How to train: data layout, optimiser, schedule, stopping, evaluation."""

    # Many small steps: measured best on a CPU at 1, 2 and 5 minutes (docs/benchmarks.md).
    batch_size: int = 16
    seq_len: int = 32
    lr: float = 5e-3
    min_lr_ratio: float = 0.1  # cosine decays to lr * min_lr_ratio
    warmup_steps: int = 100
    schedule: str = "cosine"  # cosine | constant
    weight_decay: float = 0.0
    grad_clip: float = 5.0
    epochs: int = 20
    max_steps: int | None = None
    max_time: float | None = None  # seconds of training
    eval_every: int = 1000
    eval_chars: int = 100_000  # validation cap, so evaluation stays quick on big corpora
    val_fraction: float = 0.05
    patience: int | None = None  # evaluations without improvement before stopping
    seed: int = 1337
    device: str = "auto"
    precision: str = "fp32"  # fp32 | bf16 | fp16 (fp16 only on CUDA, checked where the device is known)
    sample_chars: int = 200  # sample printed at each evaluation
    recover: bool = False  # on a non-finite loss: reload the last checkpoint at half the rate

    def __post_init__(self):
        if self.batch_size < 1 or self.batch_size > 1 << 20:
            raise UserError(f"batch size must be between 1 and {1 << 20}, got {self.batch_size}")
        if self.seq_len < 1 or self.seq_len > 1 << 20:
            raise UserError(f"sequence length must be between 1 and {1 << 20}, got {self.seq_len}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise UserError(f"learning rate must be positive, got {self.lr}")
        if self.schedule not in ("cosine", "constant"):
            raise UserError(f"schedule must be cosine or constant, got {self.schedule!r}")
        if not 0.0 < self.val_fraction < 0.5:
            raise UserError(f"val fraction must be in (0, 0.5), got {self.val_fraction}")
        if self.epochs < 1:
            raise UserError(f"epochs must be at least 1, got {self.epochs}")
        if self.max_steps is not None and self.max_steps < 1:
            raise UserError(f"max steps must be at least 1, got {self.max_steps}")
        if self.max_time is not None and self.max_time <= 0:
            raise UserError(f"max time must be positive, got {self.max_time}")
        if self.eval_every < 1:
            raise UserError(f"eval every must be at least 1, got {self.eval_every}")
        if self.grad_clip < 0:
            raise UserError(f"grad clip must be >= 0 (0 turns it off), got {self.grad_clip}")
        if self.patience is not None and self.patience < 1:
            raise UserError(f"patience must be at least 1, got {self.patience}")
        if self.device not in ("auto", "cpu", "cuda", "mps") and not self.device.startswith("cuda:"):
            raise UserError(f"device must be auto, cpu, cuda or mps, got {self.device!r}")
        if self.precision not in PRECISIONS:
            raise UserError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
