"""The one path that ``rnnlab train`` and ``rnnlab tag train`` share.

Each command describes itself with a :class:`TrainingCommand` (its settings classes, its tiny
recipe, how to read its data, how to make its task); everything else is here: the flags, the
config files, what ``--resume`` may change, the run folder, signals and the closing message.

Settings come, later ones winning, from the defaults, ``--tiny`` (a recipe shipped in
``rnnlab/recipes/``), ``--config FILE.toml`` and the flags. ``--print-config`` prints the result
as TOML that ``--config`` reads, and stops.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from rnnlab import settings
from rnnlab.commands.flags import add_settings, build, flag, given
from rnnlab.errors import UserError


@dataclass(frozen=True)
class TrainingCommand:
    name: str  # "train", "tag train"
    kind: str  # the kind of checkpoint it writes
    data: type  # its three settings classes
    model: type
    train: type
    tiny: str  # its --tiny recipe, in rnnlab/recipes/
    out_prefix: str  # default run folders are runs/<prefix>-<date>-<time>
    load: Callable  # (paths, data config, the resumed run's task section or None) -> data
    make_task: Callable  # (data, model config, train config, data config) -> Task
    batch: Callable  # task -> "batch 16 x seq 32"
    next_step: str  # printed at the end, with {out}
    default_recipe: Callable | None = None  # the settings asked -> (recipe's settings, why), used when no model setting is given
    start: Callable | None = None  # --init-from's name -> init_from.Start, for a command that has the setting

    @property
    def sections(self) -> tuple[tuple[str, type], ...]:
        return (("data", self.data), ("model", self.model), ("training", self.train))

    def known(self) -> dict[str, tuple[type, Any]]:
        return {f.name: (cls, f) for _, cls in self.sections for f in settings.fields(cls)}


# Where --help shows each flag, the everyday ones first; a setting named in no group is in its
# section's (data, model; training: schedule).
HELP_GROUPS = {
    "everyday": ("out", "resume", "tiny", "max_time", "init_from", "derive", "cell", "layers", "hidden", "dropout", "lr", "seed", "device"),
    "model": (),
    "schedule": (),
    "data": ("val_fraction", "val_lines"),
    "run control": (
        "config",
        "print_config",
        "quiet",
        "epochs",
        "max_steps",
        "patience",
        "eval_every",
        "eval_chars",
        "sample_chars",
        "recover",
    ),
    "performance": ("batch_size", "seq_len", "impl", "precision"),
}
# The flags that are not settings (a config file naming one is told it is a flag): name -> argparse's keywords.
OWN_FLAGS = {
    "out": dict(metavar="RUN_DIR", help="run folder to create (default runs/{prefix}-<date>-<time>)"),
    "resume": dict(metavar="RUN_DIR", help="continue the run in RUN_DIR where it stopped"),
    "tiny": dict(action="store_true", help="a tiny model and 30 steps: checks that everything works"),
    "config": dict(metavar="FILE", action="append", default=[], help="read settings from a TOML file (flags win)"),
    "print_config": dict(action="store_true", help="print the settings as TOML for --config, and stop"),
    "quiet": dict(action="store_true", help="no progress bar or samples"),
}


def add_arguments(p: argparse.ArgumentParser, cmd: TrainingCommand) -> None:
    """The command's own flags and one per setting, in HELP_GROUPS' groups."""
    groups = {title: p.add_argument_group(title) for title in HELP_GROUPS}
    for name, kw in OWN_FLAGS.items():
        kw = {**kw, "help": kw["help"].format(prefix=cmd.out_prefix)}
        groups[help_group(name, "run control")].add_argument(flag(name), **kw)
    for section, cls in cmd.sections:
        add_settings(p, cls, section, groups={f.name: groups[help_group(f.name, section)] for f in settings.fields(cls)})


def help_group(name: str, section: str) -> str:
    """The help group of setting or flag ``name``: the one HELP_GROUPS names it in, else its section's."""
    return next((title for title, names in HELP_GROUPS.items() if name in names), "schedule" if section == "training" else section)


def _asked(args, cmd: TrainingCommand) -> tuple[dict[str, Any], str | None]:
    """The settings asked for: the tiny recipe, then the config files, then the flags; and, when
    none of them is a model setting, the command's default recipe for the budget under them (with why)."""
    known = cmd.known()
    values: dict[str, Any] = {}
    if args.tiny:
        with resources.as_file(resources.files("rnnlab") / "recipes" / cmd.tiny) as path:
            values.update(settings.read_toml(str(path), known))
    for path in args.config:
        values.update(settings.read_toml(path, known, OWN_FLAGS))
    values.update(given(args, [cls for _, cls in cmd.sections]))
    chosen = any(f.name in values for f in settings.fields(cmd.model))
    if cmd.default_recipe is None or args.resume or chosen:
        return values, None
    recipe, why = cmd.default_recipe(values)
    return {**recipe, **values}, why


def _resumed(ckpt, asked: dict[str, Any], cmd: TrainingCommand):
    """The run's settings with what may change on resume changed; anything else refused."""
    known = cmd.known()
    current = {**settings.to_dict(ckpt.data_config), **settings.to_dict(ckpt.model_config), **settings.to_dict(ckpt.train_config)}
    changes = {}
    for key, value in asked.items():
        if value == current.get(key):
            continue
        if not settings.spec(known[key][1]).resume:
            raise UserError(f"{flag(key)} cannot change when a run is resumed (the run has {current.get(key)!r}); start a new run instead")
        changes[key] = (current.get(key), value)
    new = {k: v for k, (_, v) in changes.items()}
    configs = [
        settings.replace(c, **{k: v for k, v in new.items() if hasattr(c, k)})
        for c in (ckpt.data_config, ckpt.model_config, ckpt.train_config)
    ]
    return (*configs, changes)


def _print_config(configs) -> int:
    sys.stdout.write(settings.to_toml(zip(("data", "model", "training"), configs)))
    return 0


def default_out(prefix: str) -> Path:
    return Path("runs") / time.strftime(f"{prefix}-%Y%m%d-%H%M%S")


def run(args, cmd: TrainingCommand) -> int:
    from rnnlab import checkpoint, distributed

    logging.basicConfig(level=logging.WARNING, format="rnnlab: %(message)s")
    asked, why = _asked(args, cmd)
    ckpt, changes, start = None, {}, None
    if args.resume:
        if args.out or args.tiny:
            raise UserError(f"--resume goes on with the run's own folder and settings; give no {'--out' if args.out else '--tiny'}")
        ckpt = checkpoint.load(checkpoint.find(Path(args.resume), "last"), kind=cmd.kind)
        data_cfg, model_cfg, train_cfg, changes = _resumed(ckpt, asked, cmd)
    else:
        data_cfg, model_cfg, train_cfg = (build(cls, asked) for _, cls in cmd.sections)
        if getattr(train_cfg, "init_from", None):
            start = cmd.start(train_cfg.init_from)  # read and checked before anything is written
            model_cfg = start.model_config({f.name: asked[f.name] for f in settings.fields(cmd.model) if f.name in asked}, flag)
    if args.print_config:
        return _print_config((data_cfg, model_cfg, train_cfg))

    ctx = distributed.from_env(train_cfg.device)
    try:
        return _train(args, cmd, ckpt, (data_cfg, model_cfg, train_cfg), changes, ctx, why, start)
    finally:
        distributed.shutdown(ctx)


def _train(args, cmd: TrainingCommand, ckpt, configs, changes, ctx, why: str | None = None, start=None) -> int:
    from rnnlab.commands.progress import ProgressDisplay, fmt_duration
    from rnnlab.device import resolve_device
    from rnnlab.training import Trainer, rundir
    from rnnlab.training.checks import check_memory, check_precision
    from rnnlab.training.loop import REASONS

    data_cfg, model_cfg, train_cfg = configs
    main_rank = ctx is None or ctx.is_main
    if ckpt is not None:
        data = cmd.load(ckpt.data.locate(args.paths), data_cfg, ckpt.task)
        ckpt.data.check_same(data.spec)
    else:
        data = cmd.load(args.paths, data_cfg, None, start)
    task = cmd.make_task(data, model_cfg, train_cfg, data_cfg, start)
    if ckpt is not None:
        out = Path(args.resume)
    else:
        device = resolve_device(train_cfg.device)
        check_precision(task, device)  # before the run folder is made (the trainer checks again)
        check_memory(task, device)
        if ctx is not None and not args.out:
            raise UserError("give --out when training with torchrun, so that every process names the same folder")
        out = Path(args.out) if args.out else default_out(cmd.out_prefix)
        if main_rank:
            out = rundir.create(out)
        if ctx is not None:
            import torch.distributed as dist

            dist.barrier()  # the folder exists (and was checked) before anyone uses it
    if getattr(data, "n_bad", 0) and not args.quiet:
        print(f"rnnlab {cmd.name}: skipped {data.n_bad:,} bad line{'s' * (data.n_bad != 1)}", file=sys.stderr)

    hooks = ProgressDisplay(args.quiet or not main_rank, cmd.batch(task), changes, model_note=why)
    with stop_on_signals() as stop:
        trainer = Trainer(task, run_dir=out, hooks=hooks, stop=stop, resume=ckpt, dist=ctx)
        try:
            result = trainer.run()
        finally:
            hooks.close()  # a run that ends in an error ends its bar's line before the error is printed
    p = trainer.progress
    if not main_rank:
        return 0
    if result["reason"] == "interrupted":
        print(f"stopped at step {p.step}; saved. Continue with: rnnlab {cmd.name} --resume {out}", file=sys.stderr)
        return 143 if stop.received.get("signal") == 15 else 130
    best = f"best validation {p.best_val:.3f} bits/char at step {p.best_step}" if task.has_validation() else "nothing held out"
    if task.has_validation() and math.isfinite(p.best_error):
        best = f"best validation {1 - p.best_error:.1%} of the changes right ({p.best_val:.3f} bits/char) at step {p.best_step}"
    print(
        f"done ({REASONS[result['reason']]}): {p.step} steps in {fmt_duration(p.elapsed)}, {best}. "
        f"Run folder: {out}\n{cmd.next_step.format(out=out)}",
        file=sys.stderr,
    )
    return 0


class StopEvent(threading.Event):
    """Set by the first SIGINT or SIGTERM; ``received`` keeps which signal it was."""

    def __init__(self):
        super().__init__()
        self.received: dict[str, int] = {}


@contextlib.contextmanager
def stop_on_signals() -> Iterator[StopEvent]:
    """SIGINT and SIGTERM set the event (training then saves and stops); a second SIGINT aborts."""
    stop = StopEvent()

    def handler(signum, frame):
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stop.received["signal"] = signum
        stop.set()

    old = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            old[sig] = signal.signal(sig, handler)
    try:
        yield stop
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)
