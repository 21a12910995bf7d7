"""Training a character language model with truncated backprop through time.

The training text is cut into ``batch_size`` contiguous streams; each step takes the next
``seq_len`` characters of every stream, carries the recurrent state over from the previous
chunk (detached, so gradients stop at the chunk boundary) and takes one Adam step. Everything
that decides the next step (weights, optimizer, step, data position, carried state, RNG) is in
the checkpoint, so an interrupted run resumes to the same final weights as one that never
stopped. The trainer reports through ``Hooks`` and ``logging``; it never prints.

With ``precision`` bf16 or fp16 the forward passes (training and validation) run under
``torch.autocast``; the weights, the optimizer state and the checkpoints stay fp32. fp16 also
scales the loss (``GradScaler``), since its small gradients would otherwise underflow to zero.
"""

from __future__ import annotations

import contextlib
import csv
import logging
import math
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist_ops

from rnnlab import checkpoint
from rnnlab.config import ModelConfig, TrainConfig, from_dict, to_dict
from rnnlab.data import Corpus, Vocab
from rnnlab.distributed import DistContext
from rnnlab.errors import UserError
from rnnlab.model import LN2, CharRNN, State, detach_state
from rnnlab.runlock import RunLock
from rnnlab.sampling import generate

log = logging.getLogger("rnnlab.train")

KIND = "lm"
METRICS = "metrics.csv"
METRIC_FIELDS = ["step", "epoch", "elapsed_s", "lr", "train_bpc", "val_bpc", "chars_per_s"]


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError("--device cuda was asked for but no CUDA device is available")
    if name == "mps" and not (getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()):
        raise UserError("--device mps was asked for but MPS is not available")
    return torch.device(name)


AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The dtype the forward pass is autocast to (None: plain fp32), or a UserError when
    ``device`` cannot train in that precision."""
    if precision == "fp32":
        return None
    if precision == "fp16" and device.type != "cuda":
        # On a CPU (torch 2.13) autocast's fp16 LSTM has no oneDNN kernel and fails at the first
        # batch, and GRU is not autocast at all: bf16 is the CPU's half-width format.
        raise UserError(
            f"--precision fp16 needs a CUDA device (this run is on {device.type}); use --precision bf16 or fp32"
        )
    if precision == "bf16" and device.type == "cuda" and not _cuda_bf16():
        raise UserError(
            f"--precision bf16 needs a GPU with bfloat16 support ({torch.cuda.get_device_name(device)} has none); use fp16 or fp32"
        )
    dtype = AUTOCAST_DTYPES[precision]
    try:
        torch.autocast(device_type=device.type, dtype=dtype)
    except RuntimeError as e:
        raise UserError(
            f"--precision {precision} is not available on {device.type}: {str(e).splitlines()[0][:160]}"
        ) from None
    return dtype


def _cuda_bf16() -> bool:
    try:
        # Emulated bf16 (pre-Ampere) has no cuDNN RNN kernels: only the real thing will do.
        return torch.cuda.is_bf16_supported(including_emulation=False)
    except TypeError:  # older torch, without the argument
        return torch.cuda.is_bf16_supported()


def make_scaler(precision: str, device: torch.device):
    """fp16's loss scaler (None for the other precisions)."""
    if precision != "fp16":
        return None
    if hasattr(torch.amp, "GradScaler"):
        return torch.amp.GradScaler(device.type)
    return torch.cuda.amp.GradScaler()  # torch < 2.3


def carry(state: State) -> State:
    """The state handed to the next chunk: cut from the graph, and fp32 whatever the autocast
    dtype was, so the checkpoint holds fp32 and a resume may change the precision."""
    state = detach_state(state)
    if isinstance(state, tuple):
        return tuple(_widen(s) for s in state)
    return _widen(state)


def _widen(t: torch.Tensor) -> torch.Tensor:
    return t.float() if t.dtype in (torch.float16, torch.bfloat16) else t


def lr_at(step: int, cfg: TrainConfig, total_steps: int) -> float:
    """Linear warm-up, then cosine decay to ``lr * min_lr_ratio`` at ``total_steps``."""
    if cfg.warmup_steps and step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    if cfg.schedule == "constant":
        return cfg.lr
    span = max(1, total_steps - cfg.warmup_steps)
    progress = min(1.0, (step - cfg.warmup_steps) / span)
    floor = cfg.lr * cfg.min_lr_ratio
    return floor + (cfg.lr - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


class NonFiniteLoss(Exception):
    def __init__(self, step: int, value: float):
        super().__init__(f"the loss became {value} at step {step}")
        self.step, self.value = step, value


MAX_RECOVERIES = 5


class Hooks:
    """What the trainer tells its caller; the CLI draws a progress bar from these."""

    def on_start(self, trainer: Trainer) -> None: ...
    def on_step(self, trainer: Trainer, info: dict[str, Any]) -> None: ...
    def on_eval(self, trainer: Trainer, info: dict[str, Any]) -> None: ...
    def on_end(self, trainer: Trainer, info: dict[str, Any]) -> None: ...


@dataclass
class Progress:
    """Where training is; saved in every checkpoint."""

    step: int = 0
    epoch: int = 0
    chunk: int = 0  # index of the next chunk within the epoch
    elapsed: float = 0.0  # seconds of training, summed over resumed sessions
    total_steps: int = 0  # the schedule's horizon
    best_val: float = float("inf")
    best_step: int = -1
    evals_since_best: int = 0
    chars_seen: int = 0
    horizon_fixed: bool = False  # set once --max-time has been turned into a step count
    lr_scale: float = 1.0  # halved by each recovery from a non-finite loss (--recover)
    recoveries: int = 0


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


@torch.no_grad()
def evaluate_ids(
    model: CharRNN,
    ids: torch.Tensor,
    batch_size: int,
    seq_len: int,
    device: torch.device,
    dist: DistContext | None = None,
) -> float:
    """Mean nats per character of ``ids`` under ``model``, state carried across chunks.

    Under torch.distributed each rank scores its share of the streams and the sums are reduced.
    """
    if ids.numel() < 2:
        return float("nan")
    if device.type == "cuda" and ids.device.type == "cpu":
        # The chunks below are strided column slices: copied from host memory one by one they
        # would each be a synchronous copy (pinning does not help a strided view). One copy of
        # the compact ids, then slicing on the card.
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
        xb = x[:, p : p + seq_len].to(device, non_blocking=True).long()
        yb = y[:, p : p + seq_len].to(device, non_blocking=True).long()
        logits, _, state = model(xb, state=state)  # (B, t, V)
        total += torch.nn.functional.cross_entropy(logits.flatten(0, 1).float(), yb.flatten(), reduction="sum").double()
    model.train(was_training)
    if dist is not None:
        total = dist.all_reduce_sum(total)
    return float(total) / (batch_size * length)


class BaseTrainer:
    """The training loop every task shares: optimizer, schedule, clipping, stopping, evaluation,
    checkpoints, metrics and resume. A task subclass supplies its data layout and model
    (``setup_data``, ``build_model``), the loss of the next batch (``train_loss``), a validation
    figure in bits per character (``evaluate``) and a short preview (``preview``)."""

    kind = "base"

    def __init__(
        self,
        data: Any,
        model_cfg: ModelConfig,
        train_cfg: TrainConfig,
        run_dir: Path | None = None,
        hooks: Hooks | None = None,
        stop: threading.Event | None = None,
        resume_from: dict[str, Any] | None = None,
        meta: dict[str, Any] | None = None,
        dist: DistContext | None = None,
    ):
        self.train_cfg = train_cfg
        self.dist = dist
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.hooks = hooks or Hooks()
        self.meta = dict(meta or {})  # saved as-is in every checkpoint (e.g. how to re-read the text)
        self.stop = stop or threading.Event()
        self.device = resolve_device(train_cfg.device)
        if dist is not None:
            self.device = dist.device(self.device)
        self.amp_dtype = autocast_dtype(train_cfg.precision, self.device)
        self.scaler = make_scaler(train_cfg.precision, self.device)
        self.batch_size = train_cfg.batch_size
        self.steps_per_epoch = 1
        self.setup_data(data)
        torch.manual_seed(train_cfg.seed)
        self.model = self.build_model(model_cfg).to(self.device)
        # What the training step calls: under torch.distributed the DDP wrapper, whose backward
        # averages gradients across ranks; checkpoints always hold the plain model's weights.
        self.train_model: torch.nn.Module = self.model
        if dist is not None:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.train_model = DDP(self.model, device_ids=ids)
            torch.manual_seed(train_cfg.seed + 1000003 * dist.rank)  # own dropout masks per rank
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=train_cfg.lr, weight_decay=train_cfg.weight_decay)
        self.progress = Progress(total_steps=self.planned_steps())
        self.history: list[dict[str, Any]] = []  # one record per evaluation
        if resume_from is not None:
            self.load_state(resume_from)

    # ---------------------------------------------------------------------------- the task

    def setup_data(self, data: Any) -> None:
        """Lay out the data; set ``batch_size`` and ``steps_per_epoch``."""
        raise NotImplementedError

    def build_model(self, model_cfg: ModelConfig) -> torch.nn.Module:
        """Build the model; set ``self.model_cfg`` to the config it was built from."""
        raise NotImplementedError

    def train_loss(self) -> torch.Tensor:
        """Mean loss (nats) of the batch at ``progress.chunk`` of the current epoch."""
        raise NotImplementedError

    def evaluate(self) -> float:
        """Validation bits per character (lower is better); NaN when there is no validation data."""
        raise NotImplementedError

    def preview(self, seed: int) -> str:
        """A short text shown (and kept in the history) at each evaluation."""
        return ""

    def has_validation(self) -> bool:
        return True

    def on_new_epoch(self) -> None:
        pass

    def task_payload(self) -> dict[str, Any]:
        """Task-specific entries of the checkpoint."""
        return {}

    def load_task_state(self, ckpt: dict[str, Any]) -> None:
        pass

    # ---------------------------------------------------------------------------- state

    def planned_steps(self) -> int:
        cfg = self.train_cfg
        steps = cfg.epochs * self.steps_per_epoch
        return min(steps, cfg.max_steps) if cfg.max_steps is not None else steps

    def autocast(self) -> contextlib.AbstractContextManager:
        """Where the forward pass runs in the configured precision (a no-op for fp32)."""
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)

    def payload(self) -> dict[str, Any]:
        rng = {"torch": torch.get_rng_state()}
        if torch.cuda.is_available() and self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        extra = {}
        if self.scaler is not None:
            extra["scaler"] = self.scaler.state_dict()  # numbers only: the checkpoint stays weights_only
        return {
            "kind": self.kind,
            "model_config": to_dict(self.model_cfg),
            "train_config": to_dict(self.train_cfg),
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "progress": {k: v for k, v in vars(self.progress).items()},
            "rng": rng,
            "history": self.history,
            "batch_size": self.batch_size,
            **extra,
            **self.task_payload(),
            **self.meta,
        }

    def load_state(self, ckpt: dict[str, Any]) -> None:
        try:
            self.model.load_state_dict(ckpt["model"])
            self.optimizer.load_state_dict(ckpt["optimizer"])
        except (RuntimeError, ValueError, KeyError) as e:
            raise UserError(f"the checkpoint does not fit this model ({state_dict_problem(e)})") from None
        if self.scaler is not None and ckpt.get("scaler"):
            # Absent when the run was not fp16 until now: the scaler then starts afresh.
            self.scaler.load_state_dict(ckpt["scaler"])
        self.progress = Progress(**ckpt["progress"])
        self.load_task_state(ckpt)
        torch.set_rng_state(ckpt["rng"]["torch"])
        if "cuda" in ckpt["rng"] and self.device.type == "cuda":
            torch.cuda.set_rng_state(ckpt["rng"]["cuda"], self.device)
        if self.dist is not None:
            # The checkpoint holds rank 0's generator; the others derive their own from it.
            torch.manual_seed(self.train_cfg.seed + 1000003 * self.dist.rank + self.progress.step)
        self.history = list(ckpt.get("history", []))
        if not self.progress.horizon_fixed:
            self.progress.total_steps = self.planned_steps()

    @property
    def is_main(self) -> bool:
        return self.dist is None or self.dist.is_main

    def save(self, name: str) -> None:
        if self.run_dir is None:
            return
        payload = self.payload()  # every rank takes part: the carried state is gathered
        if self.is_main:
            checkpoint.save(self.run_dir / name, payload)

    # ---------------------------------------------------------------------------- metrics

    def _metrics_row(self, row: dict[str, Any]) -> None:
        if self.run_dir is None or not self.is_main:
            return
        path = self.run_dir / METRICS
        new = not path.exists()
        with open(path, "a", newline="") as f:
            w = csv.DictWriter(f, fieldnames=METRIC_FIELDS, lineterminator="\n")
            if new:
                w.writeheader()
            w.writerow({k: row.get(k, "") for k in METRIC_FIELDS})

    def write_plot(self) -> None:
        """``loss.png``: training and validation bits per character against steps."""
        if self.run_dir is None or not self.is_main or not (self.run_dir / METRICS).exists():
            return
        from rnnlab.plot import line_chart_png

        with open(self.run_dir / METRICS, newline="") as f:
            rows = list(csv.DictReader(f))

        def series(key):
            pts = [(float(r["step"]), float(r[key])) for r in rows if r.get(key)]
            return [x for x, _ in pts], [y for _, y in pts]

        try:
            line_chart_png(
                self.run_dir / "loss.png",
                [("train", *series("train_bpc")), ("validation", *series("val_bpc"))],
                title="bits per character",
                xlabel="step",
                ylabel="bpc",
            )
        except OSError as e:
            log.warning("could not write loss.png: %s", e)

    def truncate_metrics(self) -> None:
        """Drop metric rows written after the checkpoint we resume from (they will be redone)."""
        if self.run_dir is None or not self.is_main or not (self.run_dir / METRICS).exists():
            return
        path = self.run_dir / METRICS
        with open(path, newline="") as f:
            rows = [
                r for r in csv.DictReader(f) if r.get("step", "").isdigit() and int(r["step"]) <= self.progress.step
            ]

        def write(fh):
            text = _csv_text(rows)
            fh.write(text.encode())

        checkpoint.atomic_write(path, write)

    # ---------------------------------------------------------------------------- loop

    @property
    def chars_per_step(self) -> int:
        return self.batch_size * self.train_cfg.seq_len

    def step(self) -> torch.Tensor:
        """One optimisation step on the next batch; returns the detached loss."""
        cfg, p, opt, model = self.train_cfg, self.progress, self.optimizer, self.model
        if p.chunk >= self.steps_per_epoch:
            p.epoch += 1
            p.chunk = 0
            self.on_new_epoch()
        lr = lr_at(p.step, cfg, p.total_steps) * p.lr_scale
        for group in opt.param_groups:
            group["lr"] = lr
        with self.autocast():
            loss = self.train_loss()
        bad = not bool(torch.isfinite(loss))
        if self.dist is not None:
            bad = self.dist.any(bad, self.device)  # every rank stops, or none
        if bad:
            # Caught before backward, so no non-finite gradient ever reaches the weights.
            raise NonFiniteLoss(p.step + 1, float(loss.detach()))
        opt.zero_grad(set_to_none=True)
        if self.scaler is None:
            loss.backward()
            if cfg.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
        else:
            # fp16: the loss is scaled up so small gradients survive. A step whose scaled
            # gradients overflow is skipped by the scaler, which lowers the scale: that is the
            # scaler's normal search for the largest safe scale, not a failure of training (the
            # loss itself was checked above). The step still counts, as the schedule moves on.
            self.scaler.scale(loss).backward()
            if cfg.grad_clip > 0:
                self.scaler.unscale_(opt)  # clip the true gradients, not the scaled ones
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            self.scaler.step(opt)
            self.scaler.update()
        p.step += 1
        p.chunk += 1
        p.chars_seen += self.chars_per_step
        return loss.detach()

    def run(self) -> dict[str, Any]:
        """Train until the schedule ends, time runs out, patience is lost or ``stop`` is set."""
        if self.run_dir is None or not self.is_main:
            return self._run()
        with RunLock(self.run_dir):
            for tmp in self.run_dir.glob(".*.tmp-*"):
                tmp.unlink(missing_ok=True)  # half-written by a killed run; we hold the lock now
            if not (self.run_dir / checkpoint.LAST).exists():
                self.save(checkpoint.LAST)  # a state to resume or recover from, from the start
            return self._run()

    def _recover(self, e: NonFiniteLoss) -> None:
        """Reload the last saved state and halve the learning rate, or stop with a hint."""
        cfg, p = self.train_cfg, self.progress
        last = self.run_dir / checkpoint.LAST if self.run_dir is not None else None
        hint = f"lower --lr (now {cfg.lr:g}) or --grad-clip (now {cfg.grad_clip:g})"
        if cfg.precision == "fp16":
            hint += ", or --precision bf16 (fp16 overflows past 65504)"
        if not cfg.recover or last is None or not last.exists():
            raise UserError(
                f"{e}; training stopped (the last checkpoint is kept). Try a {hint}, or pass --recover"
            ) from None
        if p.recoveries >= MAX_RECOVERIES:
            raise UserError(f"{e} again after {p.recoveries} recoveries; training stopped. Try a {hint}") from None
        recoveries, scale = p.recoveries + 1, p.lr_scale * 0.5
        self.load_state(checkpoint.load(last))
        self.progress.recoveries, self.progress.lr_scale = recoveries, scale
        self.truncate_metrics()
        log.warning("%s: reloaded step %d and halved the learning rate (x%g)", e, self.progress.step, scale)

    def _run(self) -> dict[str, Any]:
        cfg = self.train_cfg
        p = self.progress
        opt = self.optimizer
        self.model.train()
        self.hooks.on_start(self)
        self.truncate_metrics()
        reason = None
        loss_sum = torch.zeros((), device=self.device)
        loss_count = 0
        window_start, window_chars = time.perf_counter(), 0
        session_start = time.perf_counter()
        elapsed0, step0 = p.elapsed, p.step
        chars_per_step = self.chars_per_step

        while reason is None:
            # total_steps is only the schedule's horizon (an estimate under --max-time); the
            # step limit itself comes from --epochs and --max-steps.
            if p.step >= self.planned_steps():
                reason = "max_steps" if cfg.max_steps is not None and p.step >= cfg.max_steps else "epochs"
                break
            try:
                loss = self.step()
            except NonFiniteLoss as e:
                self._recover(e)
                p = self.progress  # the reloaded one
                loss_sum.zero_()
                loss_count, window_start, window_chars = 0, time.perf_counter(), 0
                continue
            loss_sum += loss
            loss_count += 1
            window_chars += chars_per_step
            lr = opt.param_groups[0]["lr"]
            p.elapsed = elapsed0 + (time.perf_counter() - session_start)

            if (
                cfg.max_time is not None
                and not p.horizon_fixed
                and p.step - step0 >= 10
                and p.elapsed >= min(30.0, 0.05 * cfg.max_time)
            ):
                # Turn the time budget into a step count once, so the schedule can decay in time
                # (past it, training goes on at the floor rate until the time is up).
                rate = (time.perf_counter() - session_start) / (p.step - step0)
                horizon = torch.tensor(
                    [max(p.step, min(p.total_steps, p.step + int((cfg.max_time - p.elapsed) / rate)))]
                )
                if self.dist is not None:
                    dist_ops.broadcast(horizon, src=0)  # one schedule for all ranks: rank 0's
                p.total_steps = int(horizon)
                p.horizon_fixed = True

            is_eval = p.step % cfg.eval_every == 0 or p.step >= self.planned_steps()
            if is_eval or p.step % 10 == 0:
                now = time.perf_counter()
                cps = window_chars / max(1e-9, now - window_start)
                if self.dist is not None:
                    loss_sum = self.dist.all_reduce_sum(loss_sum) / self.dist.world_size
                info = {
                    "step": p.step,
                    "epoch": p.epoch,
                    "elapsed_s": round(p.elapsed, 3),
                    "lr": lr,
                    "train_bpc": float(loss_sum) / max(1, loss_count) / LN2,
                    "chars_per_s": round(cps, 1),
                    "total_steps": p.total_steps,
                }
                if is_eval:
                    reason = self._evaluate_and_save(info)
                self._metrics_row(info)
                if is_eval:
                    self.write_plot()
                self.hooks.on_step(self, info)
                loss_sum.zero_()
                loss_count = 0
                window_start, window_chars = time.perf_counter(), 0

            time_up = cfg.max_time is not None and p.elapsed >= cfg.max_time
            stop = self.stop.is_set()
            if self.dist is not None:
                time_up, stop = self.dist.any(time_up, self.device), self.dist.any(stop, self.device)
            if reason is None and time_up:
                reason = "max_time"
            if reason is None and stop:
                reason = "interrupted"

        if reason != "interrupted" and (not self.history or self.history[-1]["step"] != p.step):
            # Every finished run ends with an evaluation, so best.pt reflects its last weights too.
            self._evaluate_and_save(
                {
                    "step": p.step,
                    "epoch": p.epoch,
                    "elapsed_s": round(p.elapsed, 3),
                    "lr": lr_at(p.step, cfg, p.total_steps),
                }
            )
        self.save(checkpoint.LAST)
        self.write_plot()
        result = {
            "reason": reason,
            "step": p.step,
            "best_val_bpc": p.best_val,
            "best_step": p.best_step,
            "elapsed_s": p.elapsed,
        }
        self.hooks.on_end(self, result)
        return result

    def _evaluate_and_save(self, info: dict[str, Any]) -> str | None:
        p, cfg = self.progress, self.train_cfg
        with self.autocast():
            val_bpc = self.evaluate() if self.has_validation() else float("nan")
        info["val_bpc"] = val_bpc
        info["sample"] = self.preview(seed=cfg.seed + p.step) if cfg.sample_chars and self.is_main else ""
        self.history.append({k: info[k] for k in ("step", "elapsed_s", "lr", "val_bpc", "sample") if k in info})
        reason = None
        finite = all(bool(torch.isfinite(t).all()) for t in self.model.parameters())
        if finite and math.isfinite(val_bpc) and val_bpc < p.best_val:
            p.best_val, p.best_step, p.evals_since_best = val_bpc, p.step, 0
            self.save(checkpoint.BEST)
        elif math.isfinite(val_bpc):
            p.evals_since_best += 1
            if cfg.patience is not None and p.evals_since_best >= cfg.patience:
                reason = "early_stop"
        elif not self.has_validation():
            self.save(checkpoint.BEST)
        self.save(checkpoint.LAST)
        self.hooks.on_eval(self, info)
        return reason


class Trainer(BaseTrainer):
    """Language-model training: contiguous streams, truncated backprop, state carried across chunks."""

    kind = KIND

    def setup_data(self, corpus: Corpus) -> None:
        cfg = self.train_cfg
        self.corpus = corpus
        self.vocab: Vocab = corpus.vocab
        self.train_ids, self.val_ids = split_train_val(corpus.ids, cfg.val_fraction, cfg.seq_len)
        batch_size = min(cfg.batch_size, (self.train_ids.numel() - 1) // cfg.seq_len)
        if batch_size < cfg.batch_size:
            log.warning("the text is short: batch size lowered from %d to %d streams", cfg.batch_size, batch_size)
        self.batch_size = batch_size
        self.x, self.y, self.steps_per_epoch = stream_batches(self.train_ids, batch_size, cfg.seq_len)
        if self.dist is not None:
            n = self.dist.world_size
            if batch_size % n:
                raise UserError(f"--batch-size {batch_size} must be a multiple of the {n} processes")
            # Rank r takes its block of streams: together the ranks hold exactly the one-process batch.
            rows = slice(self.dist.rank * batch_size // n, (self.dist.rank + 1) * batch_size // n)
            self.x, self.y = self.x[rows], self.y[rows]  # (B/N, L)
        if self.device.type == "cuda":
            # Compact ids fit on the card; moving them once saves a copy per step (and a batch is
            # a strided column slice, whose host->device copy would be synchronous even from
            # pinned memory). On a CPU the slices are views: there is nothing to copy.
            self.x, self.y = self.x.to(self.device), self.y.to(self.device)
        self.state: State | None = None

    def build_model(self, model_cfg: ModelConfig) -> CharRNN:
        self.model_cfg = ModelConfig(**{**to_dict(model_cfg), "vocab_size": len(self.vocab)})
        return CharRNN(self.model_cfg, self.device, self.train_cfg.batch_size)

    def train_loss(self) -> torch.Tensor:
        s = self.progress.chunk * self.train_cfg.seq_len
        xb = self.x[:, s : s + self.train_cfg.seq_len].to(self.device, non_blocking=True).long()  # (B, T)
        yb = self.y[:, s : s + self.train_cfg.seq_len].to(self.device, non_blocking=True).long()  # (B, T)
        _, loss, state = self.train_model(xb, yb, self.state)
        self.state = carry(state)
        return loss

    def on_new_epoch(self) -> None:
        self.state = None  # a new pass over the text starts from a blank state

    def has_validation(self) -> bool:
        return self.val_ids.numel() > 1

    def evaluate(self) -> float:
        cfg = self.train_cfg
        val = self.val_ids[: cfg.eval_chars + 1]
        # Wide batches make the forward-only pass cheap, whatever the training batch is.
        return evaluate_ids(self.model, val, max(64, self.batch_size), cfg.seq_len, self.device, self.dist) / LN2

    def preview(self, seed: int) -> str:
        vocab = self.vocab
        start = vocab.stoi.get("\n", 0 if vocab.unk is None else min(1, len(vocab) - 1))
        g = torch.Generator(device=self.device).manual_seed(seed)
        prime = torch.tensor([[start]], device=self.device)
        steps = generate(self.model, prime, self.train_cfg.sample_chars, temperature=0.8, generator=g)
        return vocab.decode([int(i[0]) for i in steps])

    def task_payload(self) -> dict[str, Any]:
        state = None
        if self.state is not None:
            state = list(self.state) if isinstance(self.state, tuple) else [self.state]
            if self.dist is not None:
                # Each rank carries the state of its own streams: save the whole batch's, in order.
                state = [self._gather_rows(s) for s in state]  # (L, B, H) each
        return {
            "vocab": self.vocab.to_dict(),
            "carried_state": state,
            "corpus": {"files": self.corpus.files, "chars": len(self.corpus)},
        }

    def _gather_rows(self, t: torch.Tensor) -> torch.Tensor:
        parts = [torch.empty_like(t) for _ in range(self.dist.world_size)]
        dist_ops.all_gather(parts, t.contiguous())
        return torch.cat(parts, dim=1)

    def load_task_state(self, ckpt: dict[str, Any]) -> None:
        carried = ckpt.get("carried_state")
        if carried is not None:
            if self.dist is not None:
                n, b = self.dist.world_size, carried[0].shape[1]
                rows = slice(self.dist.rank * b // n, (self.dist.rank + 1) * b // n)
                carried = [s[:, rows] for s in carried]  # (L, B/N, H): this rank's streams
            carried = [s.to(self.device) for s in carried]
            self.state = tuple(carried) if self.model_cfg.cell == "lstm" else carried[0]


def _csv_text(rows: list[dict[str, Any]]) -> str:
    import io

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=METRIC_FIELDS, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: r.get(k, "") for k in METRIC_FIELDS})
    return buf.getvalue()


def load_run(run_dir: Path, which: str = "best") -> dict[str, Any]:
    path = checkpoint.find(run_dir, which)
    return checkpoint.load(path, kind=KIND)


def state_dict_problem(e: Exception) -> str:
    """The informative line of a load_state_dict error (the first names only the module)."""
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    detail = lines[1] if len(lines) > 1 else (lines[0] if lines else type(e).__name__)
    return detail[:200]


def model_from_checkpoint(ckpt: dict[str, Any], device: torch.device | str = "cpu") -> tuple[CharRNN, Vocab]:
    source = ckpt.get("_source", "the checkpoint")
    try:
        cfg = from_dict(ModelConfig, ckpt["model_config"])
        vocab = Vocab.from_dict(ckpt["vocab"])
    except (UserError, TypeError, KeyError) as e:
        raise UserError(f"{source} has a broken model description: {e}") from None
    if cfg.vocab_size != len(vocab):
        raise UserError(f"{source}: the vocabulary does not match the model")
    model = CharRNN(cfg, device)
    try:
        model.load_state_dict(ckpt["model"])
    except (RuntimeError, TypeError) as e:
        raise UserError(f"{source}: the weights do not fit the model it describes ({state_dict_problem(e)})") from None
    model.to(device).eval()
    return model, vocab
