"""The one path that ``rnnlab train`` and ``rnnlab tag train`` share.

Each command describes itself with a :class:`TrainingCommand` (its settings classes, its tiny
recipe, how to read its data, how to make its task); everything else is here: the flags, the
config files, the run folder, signals and the closing message.

The settings given are, later ones winning, ``--tiny`` (a recipe shipped in ``rnnlab/recipes/``),
``--config FILE.toml`` and the flags; :func:`rnnlab.resolve.resolve` decides the rest, as it
does for the Python API. ``--print-config`` prints what would run, each value with where it came
from, as TOML that ``--config`` reads, and stops.
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
from rnnlab.commands.flags import add_settings, flag, given
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
    start: Callable | None = None  # --init-from's name -> init_from.Start, for a command that has the setting
    size: Callable | None = None  # (data, resolved) -> resolve.TextSize, for a command whose defaults follow its text

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
        "tensorboard",
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
    "tensorboard": dict(metavar="DIR", help="also write the metrics, samples and settings as TensorBoard event files in DIR"),
}


def add_arguments(p: argparse.ArgumentParser, cmd: TrainingCommand) -> None:
    """The command's own flags and one per setting, in HELP_GROUPS' groups."""
    groups = {title: p.add_argument_group(title) for title in HELP_GROUPS}
    for name, kw in OWN_FLAGS.items():
        kw = {**kw, "help": kw["help"].format(prefix=cmd.out_prefix)}
        groups[help_group(name, "run control")].add_argument(flag(name), **kw)
    shown = help_defaults(cmd.kind)
    for section, cls in cmd.sections:
        add_settings(
            p, cls, section, groups={f.name: groups[help_group(f.name, section)] for f in settings.fields(cls)}, defaults_shown=shown
        )


def help_defaults(kind: str) -> dict[str, str]:
    """What --help says of each setting that a recipe, a rule or the --init-from model chooses,
    asked of the resolver itself: a language model's value for each budget and with
    --init-from; a tagger's rule by the size of its text, and its sizes with --init-from."""
    from rnnlab import resolve as r

    model_fields = {f.name for f in settings.fields(r.SECTIONS[kind][1])}
    if kind == "tag":
        shape = {k: f"{getattr(r.resolve('tag', {}).model, k)}; with --init-from, the language model's" for k in r.TAG_SHAPE}
        return {**shape, **{k: r.tag_rule_text(k) for k in r.SMALL_TAG}}
    rows: dict[str, list[str]] = {}
    for when, asked in [(x.when, asked) for x, asked in r.budget_cases()] + [(r.FINETUNE.when, {"init_from": "base"})]:
        resolved = r.resolve("lm", asked)
        values = {k: v for c in resolved.configs for k, v in settings.to_dict(c, internal=False).items()}
        for key, value in values.items():
            source, shown = resolved.sources[key], f"{value:g}" if isinstance(value, float) else str(value)
            if key in asked:
                continue
            if source.startswith("recipes/"):
                rows.setdefault(key, []).append(f"{shown} {when} ({source.split(',')[0]})")
            elif "init_from" in asked and key in model_fields:
                rows.setdefault(key, []).append(f"the model's own {when}")
            else:
                rows.setdefault(key, []).append(f"{shown} {when}")
    return {k: "; ".join(v) for k, v in rows.items() if any("(recipes/" in x or "model's own" in x for x in v)}


def help_group(name: str, section: str) -> str:
    """The help group of setting or flag ``name``: the one HELP_GROUPS names it in, else its section's."""
    return next((title for title, names in HELP_GROUPS.items() if name in names), "schedule" if section == "training" else section)


def _given(args, cmd: TrainingCommand) -> dict[str, Any]:
    """The settings given: the tiny recipe, then the config files, then the flags."""
    known = cmd.known()
    values: dict[str, Any] = {}
    if args.tiny:
        with resources.as_file(resources.files("rnnlab") / "recipes" / cmd.tiny) as path:
            values.update(settings.read_toml(str(path), known))
    for path in args.config:
        values.update(settings.read_toml(path, known, OWN_FLAGS))
    values.update(given(args, [cls for _, cls in cmd.sections]))
    return values


def _print_config(resolved) -> int:
    """What would run, as TOML tables that --config reads, each value with where it came from; a
    setting a rule decides from a text not read yet is the rule, as a comment."""
    from rnnlab.resolve import PENDING, tag_rule_text

    open_ = {k: tag_rule_text(k) for k, source in resolved.sources.items() if source == PENDING}
    sys.stdout.write(settings.to_toml(zip(settings.TABLES, resolved.configs), resolved.sources, open_))
    return 0


def default_out(prefix: str) -> Path:
    return Path("runs") / time.strftime(f"{prefix}-%Y%m%d-%H%M%S")


def run(args, cmd: TrainingCommand) -> int:
    from rnnlab import checkpoint, distributed
    from rnnlab.resolve import resolve

    logging.basicConfig(level=logging.WARNING, format="rnnlab: %(message)s")
    given_ = _given(args, cmd)
    ckpt, start, data = None, None, None
    if args.resume:
        if args.out or args.tiny:
            raise UserError(f"--resume goes on with the run's own folder and settings; give no {'--out' if args.out else '--tiny'}")
        ckpt = checkpoint.load(checkpoint.find(Path(args.resume), "last"), kind=cmd.kind)
        resolved = resolve(cmd.kind, given_, resumed=ckpt, label=flag)
    else:
        if given_.get("init_from"):
            start = cmd.start(given_["init_from"])  # read and checked before anything is written
        resolved = resolve(cmd.kind, given_, start, label=flag)
        if cmd.size is not None and (args.paths or not args.print_config or resolved.data.derive):
            # Defaults that follow the text's size: read it (before anything is written), then decide.
            data = cmd.load(args.paths, resolved.data, None, start)
            resolved = resolve(cmd.kind, given_, start, cmd.size(data, resolved), label=flag)
    if args.print_config:
        return _print_config(resolved)

    ctx = distributed.from_env(resolved.train.device)
    try:
        return _train(args, cmd, ckpt, resolved, ctx, start, data)
    finally:
        distributed.shutdown(ctx)


def _train(args, cmd: TrainingCommand, ckpt, resolved, ctx, start=None, data=None) -> int:
    from rnnlab.commands.progress import ProgressDisplay, fmt_duration
    from rnnlab.device import resolve_device
    from rnnlab.training import Trainer, rundir
    from rnnlab.training.checks import check_memory, check_precision
    from rnnlab.training.hooks import AllHooks
    from rnnlab.training.loop import REASONS
    from rnnlab.training.tensorboard import TensorBoard

    data_cfg, model_cfg, train_cfg = resolved.configs
    main_rank = ctx is None or ctx.is_main
    if ckpt is not None:
        data = cmd.load(ckpt.data.locate(args.paths), data_cfg, ckpt.task)
        ckpt.data.check_same(data.spec)
    elif data is None:
        data = cmd.load(args.paths, data_cfg, None, start)
    task = cmd.make_task(data, model_cfg, train_cfg, data_cfg, start)
    board = TensorBoard(args.tensorboard) if args.tensorboard and main_rank else None  # its package checked before any folder
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
    if getattr(data, "n_bad", 0) and not args.quiet:  # a corpus skips no lines; a tagger's pairs may
        print(f"rnnlab {cmd.name}: skipped {data.n_bad:,} bad line{'s' * (data.n_bad != 1)}", file=sys.stderr)

    display = hooks = ProgressDisplay(args.quiet or not main_rank, cmd.batch(task), resolved.changes, notes=resolved.notes())
    if board is not None:
        hooks = AllHooks(display, board)
    with stop_on_signals() as stop:
        trainer = Trainer(task, run_dir=out, hooks=hooks, stop=stop, resume=ckpt, dist=ctx)
        try:
            result = trainer.run()
        finally:
            display.close()  # a run that ends in an error ends its bar's line before the error is printed
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
