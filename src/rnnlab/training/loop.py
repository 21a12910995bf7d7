"""The training loop every task shares: optimiser, schedule, clipping, stopping, evaluation,
checkpoints, metrics and exact resume.

Everything that decides the next step (weights, optimiser, step, data position, carried state,
RNG) is in the checkpoint, so an interrupted run resumes to the same final weights as one that
never stopped. The trainer reports through :class:`Hooks` and ``logging``; it never prints.
Under torch.distributed every process runs this loop on its share of the batch, the DDP wrapper
averages the gradients, decisions to stop are taken together, and rank 0 alone writes files.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
import time
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist_ops

from rnnlab import checkpoint, settings
from rnnlab.cells import resolve_impl
from rnnlab.checkpoint import Checkpoint, Progress
from rnnlab.device import resolve_device
from rnnlab.distributed import DistContext
from rnnlab.errors import UserError
from rnnlab.model import LN2
from rnnlab.training import schedule
from rnnlab.training.checks import check_memory
from rnnlab.training.hooks import Hooks
from rnnlab.training.optimizer import make_optimizer
from rnnlab.training.precision import Precision, check_trains
from rnnlab.training.rundir import RunFolder
from rnnlab.training.task import Task

log = logging.getLogger("rnnlab.train")

MAX_RECOVERIES = 5
# loss.png is drawn at the end of a run and, while it trains, at an evaluation at most this often
# (seconds): drawing costs a fraction of a second, too much for every evaluation of a short run.
CHART_EVERY = 120.0
# Under --max-time a run also validates at each tenth of its budget (TIMED_EVALS), as long as
# validating has taken at most EVAL_SHARE of the time: --eval-every alone (1000 steps) would leave
# a run of a few minutes without a validation curve.
TIMED_EVALS = 10
EVAL_SHARE = 0.05


class Window:
    """The training loss, gradient norm and characters of the steps since the last metrics row."""

    def __init__(self, device: torch.device):
        self.loss = torch.zeros((), device=device)  # summed on the device: no sync per step
        self.grad_norm = torch.zeros((), device=device)
        self.steps = self.chars = 0
        self.start = time.perf_counter()

    def add(self, loss: torch.Tensor, grad_norm: torch.Tensor, chars: int) -> None:
        self.loss += loss
        self.grad_norm += grad_norm
        self.steps += 1
        self.chars += chars


BUDGET = ("epochs", "max_steps", "max_time")  # the settings that decide where a run ends
REASONS = {
    "epochs": "all epochs done",
    "max_steps": "max steps reached",
    "max_time": "time budget used",
    "early_stop": "no improvement in the last --patience evaluations",
    "interrupted": "interrupted",
}


class NonFiniteLoss(Exception):
    def __init__(self, step: int, value: float):
        super().__init__(f"the loss became {value} at step {step}")
        self.step, self.value = step, value


class Trainer:
    def __init__(
        self,
        task: Task,
        run_dir: str | Path | None = None,
        hooks: Hooks | None = None,
        stop: threading.Event | None = None,
        resume: Checkpoint | None = None,
        dist: DistContext | None = None,
    ):
        self.task = task
        self.config = task.train_config
        self.dist = dist
        self.folder = RunFolder(run_dir) if run_dir is not None else None
        self.hooks = hooks or Hooks()
        self.stop = stop or threading.Event()
        self.device = resolve_device(self.config.device)
        if dist is not None:
            self.device = dist.device(self.device)
        self.precision = Precision(self.config.precision, self.device)
        rank_batch = task.place(self.device, dist)
        # Resolved here, once, for the batch this process steps with; saved in the checkpoint.
        self.backend = resolve_impl(task.model_config.impl, task.model_config.cell, self.device.type, rank_batch)
        check_trains(self.config.precision, self.device, task.model_config.cell, self.backend, task.model_config.directions)
        check_memory(task, self.device, rank_batch)  # before the model and its optimizer take it
        torch.manual_seed(self.config.seed)
        self.model = task.build_model(self.backend).to(self.device)
        # What the step calls: under torch.distributed the DDP wrapper, whose backward averages
        # gradients across ranks; checkpoints always hold the plain model's weights.
        self.train_model: torch.nn.Module = self.model
        if dist is not None:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.train_model = DistributedDataParallel(self.model, device_ids=ids)
            torch.manual_seed(self.config.seed + 1000003 * dist.rank)  # own dropout masks per rank
        self.optimizer = make_optimizer(self.model, self.config)
        self.progress = Progress(total_steps=self.planned_steps())
        self.history: list[dict[str, Any]] = []
        self.extended = False  # set by restore: this resume moved the run's end, and the schedule follows it
        self._charted = time.perf_counter()
        self._last_eval_at, self._eval_seconds = 0.0, 0.0  # for _timed_eval
        if resume is not None:
            self.restore(resume)

    @property
    def is_main(self) -> bool:
        return self.dist is None or self.dist.is_main

    def planned_steps(self) -> int:
        steps = self.task.epochs * self.task.steps_per_epoch
        return min(steps, self.config.max_steps) if self.config.max_steps is not None else steps

    def checkpoint(self) -> Checkpoint:
        rng = {"torch": torch.get_rng_state()}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        t = self.task
        return Checkpoint(
            kind=t.kind,
            model_config=t.model_config,
            train_config=t.train_config,
            data_config=t.data_config,
            data=t.data,
            weights=self.model.state_dict(),
            backend=self.backend,
            task=t.state(),
            progress=dataclasses.replace(self.progress),
            optimizer=self.optimizer.state_dict(),
            rng=rng,
            scaler=self.precision.scaler.state_dict() if self.precision.scaler is not None else None,
            history=list(self.history),
        )

    def restore(self, ckpt: Checkpoint) -> None:
        try:
            self.model.load_state_dict(ckpt.weights)
            self.optimizer.load_state_dict(ckpt.optimizer)
        except (RuntimeError, ValueError, KeyError, TypeError) as e:
            raise UserError(f"{ckpt.source} does not fit this model ({checkpoint.weights_problem(e)})") from None
        if self.precision.scaler is not None and ckpt.scaler:
            # Absent when the run was not fp16 until now: the scaler then starts afresh.
            self.precision.scaler.load_state_dict(ckpt.scaler)
        self.progress = dataclasses.replace(ckpt.progress)
        self.task.restore(ckpt.task)
        torch.set_rng_state(ckpt.rng["torch"])
        if "cuda" in ckpt.rng and self.device.type == "cuda":
            torch.cuda.set_rng_state(ckpt.rng["cuda"], self.device)
        if self.dist is not None:
            # The checkpoint holds rank 0's generator; the others derive their own from it.
            torch.manual_seed(self.config.seed + 1000003 * self.dist.rank + self.progress.step)
        self.history = list(ckpt.history)
        # A resume that moves the run's end (--epochs, --max-steps, --max-time) refits the schedule
        # to it, as if the run had been planned that long: under --max-time once the speed is timed.
        before, now = settings.to_dict(ckpt.train_config), settings.to_dict(self.config)
        self.extended = any(before[k] != now[k] for k in BUDGET)
        if self.extended:
            self.progress.horizon_fixed = False
        if not self.progress.horizon_fixed:
            self.progress.total_steps = self.planned_steps()

    def save(self, name: str) -> None:
        if self.folder is None:
            return
        ckpt = self.checkpoint()  # every rank takes part: the carried state is gathered
        if self.is_main:
            self.folder.save(name, ckpt)

    def step(self) -> torch.Tensor:
        """One optimisation step on the next batch; returns the detached loss."""
        p = self.progress
        if p.chunk >= self.task.steps_per_epoch:
            p.epoch += 1
            p.chunk = 0
            self.task.start_epoch()
        lr = schedule.lr_at(p.step, self.config, p.total_steps) * p.lr_scale
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        with self.precision.autocast():
            loss = self.task.loss(self.train_model, p.chunk)
        bad = not bool(torch.isfinite(loss))
        if self.dist is not None:
            bad = self.dist.any(bad, self.device)  # every rank stops, or none
        if bad:
            # Caught before backward, so no non-finite gradient ever reaches the weights.
            raise NonFiniteLoss(p.step + 1, float(loss.detach()))
        self.optimizer.zero_grad(set_to_none=True)
        self.grad_norm = self.precision.backward_and_step(loss, self.optimizer, self.model.parameters(), self.config.grad_clip)
        p.step += 1
        p.chunk += 1
        p.chars_seen += self.task.chars_per_step
        return loss.detach()

    def evaluate(self) -> float:
        """Validation bits per character now (NaN without validation data)."""
        if not self.task.has_validation():
            return float("nan")
        with self.precision.autocast():
            return self.task.evaluate(self.model)

    def val_error(self) -> float | None:
        """The task's own measure for keeping the best checkpoint, if it has one (None: bits/char)."""
        if not self.task.has_validation():
            return None
        with self.precision.autocast(), torch.no_grad():
            return self.task.val_error(self.model)

    def run(self) -> dict[str, Any]:
        """Train until the schedule ends, time runs out, patience is lost or ``stop`` is set."""
        if self.folder is None or not self.is_main:
            return self._loop()
        with self.folder.lock():
            if not self.folder.has(checkpoint.LAST):
                self.save(checkpoint.LAST)  # a state to resume or recover from, from the start
            return self._loop()

    def _recover(self, e: NonFiniteLoss) -> None:
        """Reload the last saved state and halve the learning rate, or stop with a hint."""
        cfg, p = self.config, self.progress
        hint = f"lower --lr (now {cfg.lr:g}) or --grad-clip (now {cfg.grad_clip:g})"
        if cfg.precision == "fp16":
            hint += ", or --precision bf16 (fp16 overflows past 65504)"
        if not cfg.recover or self.folder is None or not self.folder.has(checkpoint.LAST):
            raise UserError(f"{e}; training stopped (the last checkpoint is kept). Try a {hint}, or pass --recover") from None
        if p.recoveries >= MAX_RECOVERIES:
            raise UserError(f"{e} again after {p.recoveries} recoveries; training stopped. Try a {hint}") from None
        recoveries, scale = p.recoveries + 1, p.lr_scale * 0.5
        self.restore(self.folder.load(checkpoint.LAST))
        self.progress.recoveries, self.progress.lr_scale = recoveries, scale
        if self.is_main:
            self.folder.truncate_metrics(self.progress.step)
        log.warning("%s: reloaded step %d and halved the learning rate (x%g)", e, self.progress.step, scale)

    def _loop(self) -> dict[str, Any]:
        cfg = self.config
        self.model.train()
        self.hooks.on_start(self)
        if self.folder is not None and self.is_main:
            self.folder.truncate_metrics(self.progress.step)
        reason = None
        window = Window(self.device)
        session_start = time.perf_counter()
        elapsed0, step0 = self.progress.elapsed, self.progress.step
        self._last_eval_at, self._eval_seconds = elapsed0, 0.0

        while reason is None:
            p = self.progress
            # total_steps is only the schedule's horizon (an estimate under --max-time); the step
            # limit itself comes from the epochs and --max-steps.
            if p.step >= self.planned_steps():
                reason = "max_steps" if cfg.max_steps is not None and p.step >= cfg.max_steps else "epochs"
                break
            try:
                loss = self.step()
            except NonFiniteLoss as e:
                self._recover(e)
                window = Window(self.device)
                continue
            window.add(loss, self.grad_norm, self.task.chars_per_step)
            p.elapsed = elapsed0 + (time.perf_counter() - session_start)
            if not p.horizon_fixed and schedule.ready_to_fit(cfg, p.step - step0, p.elapsed):
                # Turn the time budget into a step count once, so the schedule decays in time.
                rate = (time.perf_counter() - session_start) / (p.step - step0)
                end = torch.tensor([schedule.horizon(p.step, p.total_steps, cfg.max_time - p.elapsed, rate)])
                if self.dist is not None:
                    dist_ops.broadcast(end, src=0)  # one schedule for all ranks: rank 0's
                p.total_steps, p.horizon_fixed = int(end), True

            time_up = cfg.max_time is not None and p.elapsed >= cfg.max_time
            timed = self._timed_eval()
            if self.dist is not None and cfg.max_time is not None:  # every rank alike: validation is collective
                time_up, timed = self.dist.any(time_up, self.device), self.dist.any(timed, self.device)
            # The last step of a run that ends is always validated and recorded (one interrupted is not).
            is_eval = p.step % cfg.eval_every == 0 or p.step >= self.planned_steps() or time_up or timed
            if is_eval or p.step % 10 == 0:
                info = self._window_info(window)
                if is_eval:
                    reason = self._evaluate_and_save(info)
                self._record(info, chart=is_eval)
                self.hooks.on_step(self, info)
                window = Window(self.device)
            stop = self.stop.is_set()
            if self.dist is not None:
                stop = self.dist.any(stop, self.device)
            if reason is None and time_up:
                reason = "max_time"
            if reason is None and stop:
                reason = "interrupted"

        p = self.progress
        if reason != "interrupted" and (not self.history or self.history[-1]["step"] != p.step):
            # Every finished run ends with an evaluation, so best.pt reflects its last weights too
            # (here: a resumed run that had already reached its end).
            info = {"step": p.step, "epoch": p.epoch, "elapsed_s": round(p.elapsed, 3), "lr": schedule.lr_at(p.step, cfg, p.total_steps)}
            self._evaluate_and_save(info)
            self._record(info, chart=False)
        self.save(checkpoint.LAST)
        if self.folder is not None and self.is_main:
            self.folder.write_chart()
        result = {"reason": reason, "step": p.step, "best_val_bpc": p.best_val, "best_step": p.best_step, "elapsed_s": p.elapsed}
        self.hooks.on_end(self, result)
        return result

    def _record(self, info: dict[str, Any], chart: bool) -> None:
        if self.folder is not None and self.is_main:
            self.folder.append_metrics(info)
            if chart and time.perf_counter() - self._charted >= CHART_EVERY:
                self.folder.write_chart()
                self._charted = time.perf_counter()

    def _timed_eval(self) -> bool:
        """Under ``--max-time``, whether to validate now although ``--eval-every`` does not say so:
        when a tenth of the budget has passed since the last validation, while validating has
        taken at most EVAL_SHARE of the time; so a run of minutes shows a validation curve."""
        cfg, p = self.config, self.progress
        if cfg.max_time is None:
            return False
        due = p.elapsed - self._last_eval_at >= cfg.max_time / TIMED_EVALS
        return due and self._eval_seconds <= EVAL_SHARE * p.elapsed

    def _window_info(self, window: Window) -> dict[str, Any]:
        """The metrics row of the steps since the last one."""
        p = self.progress
        loss_sum, norm_sum = window.loss, window.grad_norm
        if self.dist is not None:
            loss_sum = self.dist.all_reduce_sum(loss_sum) / self.dist.world_size
        return {
            "step": p.step,
            "epoch": p.epoch,
            "elapsed_s": round(p.elapsed, 3),
            "lr": self.optimizer.param_groups[0]["lr"],
            "train_bpc": float(loss_sum) / max(1, window.steps) / LN2,
            "grad_norm": float(norm_sum) / max(1, window.steps),  # DDP: the gradient is the same on every rank
            "chars_per_s": round(window.chars / max(1e-9, time.perf_counter() - window.start), 1),
            "total_steps": p.total_steps,
        }

    def _evaluate_and_save(self, info: dict[str, Any]) -> str | None:
        p, cfg = self.progress, self.config
        started = time.perf_counter()
        val_bpc = self.evaluate()
        info["val_bpc"] = val_bpc
        info["sample"] = self.task.preview(self.model, seed=cfg.seed + p.step) if cfg.sample_chars and self.is_main else ""
        self.history.append({k: info[k] for k in ("step", "elapsed_s", "lr", "val_bpc", "sample") if k in info})
        reason = None
        finite = all(bool(torch.isfinite(t).all()) for t in self.model.parameters())
        error = self.val_error() if finite and math.isfinite(val_bpc) else None
        if error is not None:
            info["val_error"] = error
        # The task's own measure decides when it has one; best_val stays the kept weights' bits/char.
        better = val_bpc < p.best_val if error is None else (error, val_bpc) < (p.best_error, p.best_val)
        if finite and math.isfinite(val_bpc) and better:
            p.best_val, p.best_step, p.evals_since_best = val_bpc, p.step, 0
            if error is not None:
                p.best_error = error
            self.save(checkpoint.BEST)
        elif math.isfinite(val_bpc):
            p.evals_since_best += 1
            if cfg.patience is not None and p.evals_since_best >= cfg.patience:
                reason = "early_stop"
        elif not self.task.has_validation():
            self.save(checkpoint.BEST)
        self.save(checkpoint.LAST)
        self._last_eval_at = p.elapsed
        self._eval_seconds += time.perf_counter() - started
        self.hooks.on_eval(self, info)
        return reason
