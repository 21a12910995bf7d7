"""Self-describing checkpoints: a typed :class:`Checkpoint`, written atomically, read without
unpickling code.

On disk a checkpoint is a plain dict of tensors, numbers, strings, lists and dicts, read with
``torch.load(weights_only=True)``: a file crafted to run code when unpickled is refused. In
memory it is a :class:`Checkpoint`: the kind of run, its three configurations, where its text
came from (with a hash), the weights and the backend they were trained on, a section of the
task's own state, where training is, and which rnnlab wrote it. Files of formats 1 to 9 are read
through :func:`rnnlab.migrations.upgrade`.

An export folder (``rnnlab export --to hf``: ``config.json`` and ``model.safetensors``) reads as a
checkpoint without optimizer or history, from JSON and safetensors only (:func:`load_export`).
"""

from __future__ import annotations

import json
import math
import pickle
import warnings
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import torch

from rnnlab import __version__, migrations, settings
from rnnlab.cells import BACKENDS
from rnnlab.config import DataConfig, ModelConfig, TagDataConfig, TagModelConfig, TagTrainConfig, TrainConfig
from rnnlab.data import DataSpec, Vocab
from rnnlab.errors import UserError
from rnnlab.fileio import BEST, LAST, atomic_write

FORMAT = "rnnlab-checkpoint"
# A field with a default keeps the format (a reader fills the default); a change an older reader
# would misread raises it, with a step in migrations.py (docs/architecture.md, "Checkpoint format").
VERSION = 10
MIN_VERSION = 1
# An export folder's format, under the same rule as VERSION.
EXPORT_FORMAT = 1
EXPORT_CONFIG, EXPORT_WEIGHTS = "config.json", "model.safetensors"
EXPORT_TASK = ("vocab", "in_vocab", "out_vocab")  # the task section's keys an export keeps: no training state
# LAST, BEST: the two checkpoints of a run folder, named in fileio (the text reader knows them too).


@dataclass
class Progress:
    """Where training is."""

    step: int = 0
    epoch: int = 0
    chunk: int = 0  # index of the next batch within the epoch
    elapsed: float = 0.0  # seconds of training, summed over resumed sessions
    total_steps: int = 0  # the schedule's horizon
    best_val: float = float("inf")  # validation bits/char of best.pt
    best_error: float = float("inf")  # the task's own measure of best.pt, for tasks that have one (Task.val_error)
    best_step: int = -1
    evals_since_best: int = 0
    chars_seen: int = 0
    horizon_fixed: bool = False  # set once --max-time has been turned into a step count
    lr_scale: float = 1.0  # halved by each recovery from a non-finite loss (--recover)
    recoveries: int = 0


@dataclass
class LMState:
    """The language-model task's section: its vocabulary and the state carried into the next chunk."""

    vocab: Vocab
    carried_state: list[torch.Tensor] | None = None  # per state tensor (h, or h and c): (L, B, H)
    origin: dict | None = None  # where the weights started (init_from.Start.origin), None: random

    def sizes(self) -> dict[str, int]:
        """The model settings the vocabulary decides."""
        return {"vocab_size": len(self.vocab)}

    def to_dict(self) -> dict:
        return {"vocab": self.vocab.to_dict(), "carried_state": self.carried_state, "origin": self.origin}

    @classmethod
    def from_dict(cls, d: dict) -> LMState:
        return cls(Vocab.from_dict(d["vocab"]), d.get("carried_state"), d.get("origin"))


@dataclass
class TagState:
    """The tagging task's section: both vocabularies and where the shuffled order of lines is."""

    in_vocab: Vocab
    out_vocab: Vocab
    shuffle: torch.Tensor | None = None  # the shuffling generator's state
    order: torch.Tensor | None = None  # this epoch's order of the training windows
    origin: dict | None = None  # the language model the weights started from (tag.from_lm), None: random

    def sizes(self) -> dict[str, int]:
        return {"vocab_size": len(self.in_vocab), "out_vocab": len(self.out_vocab)}

    def to_dict(self) -> dict:
        return {
            "in_vocab": self.in_vocab.to_dict(),
            "out_vocab": self.out_vocab.to_dict(),
            "shuffle": self.shuffle,
            "order": self.order,
            "origin": self.origin,
        }

    @classmethod
    def from_dict(cls, d: dict) -> TagState:
        return cls(Vocab.from_dict(d["in_vocab"]), Vocab.from_dict(d["out_vocab"]), d.get("shuffle"), d.get("order"), d.get("origin"))


class Kind(NamedTuple):  # the classes of one kind of run
    model: type
    train: type
    data: type
    state: type


KIND_NAMES = {"lm": "language-model", "tag": "tagging"}
KINDS = {"lm": Kind(ModelConfig, TrainConfig, DataConfig, LMState), "tag": Kind(TagModelConfig, TagTrainConfig, TagDataConfig, TagState)}


@dataclass
class Checkpoint:
    kind: str  # a key of KINDS
    model_config: Any
    train_config: Any
    data_config: Any
    data: DataSpec
    weights: dict[str, torch.Tensor]
    backend: str  # what model_config.impl resolved to when the weights were trained
    task: Any  # LMState or TagState
    progress: Progress = field(default_factory=Progress)
    optimizer: dict | None = None
    rng: dict | None = None
    scaler: dict | None = None  # fp16's loss scaler
    history: list[dict] = field(default_factory=list)  # one record per evaluation
    written_by: str = "unknown"  # the rnnlab version that wrote the file read; saving writes this one's
    source: str = "the checkpoint"  # the file it was read from, for messages; not saved

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "written_by": __version__,
            "kind": self.kind,
            "model_config": settings.to_dict(self.model_config),
            "train_config": settings.to_dict(self.train_config),
            "data_config": settings.to_dict(self.data_config),
            "data": self.data.to_dict(),
            "model": self.weights,
            "backend": self.backend,
            "task": self.task.to_dict(),
            "progress": asdict(self.progress),
            "optimizer": self.optimizer,
            "rng": self.rng,
            "scaler": self.scaler,
            "history": self.history,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str = "the checkpoint") -> Checkpoint:
        kind = KINDS[d["kind"]]
        try:
            return cls(
                kind=d["kind"],
                model_config=settings.from_dict(kind.model, d["model_config"], "model_config"),
                train_config=settings.from_dict(kind.train, d["train_config"], "train_config"),
                data_config=settings.from_dict(kind.data, d["data_config"], "data_config"),
                data=DataSpec.from_dict(d["data"]),
                weights=d["model"],
                backend=d["backend"],
                task=kind.state.from_dict(d["task"]),
                progress=Progress(**d.get("progress", {})),
                optimizer=d.get("optimizer"),
                rng=d.get("rng"),
                scaler=d.get("scaler"),
                history=list(d.get("history", [])),
                written_by=str(d.get("written_by", "unknown")),
                source=source,
            )
        except (KeyError, TypeError, ValueError, UserError) as e:
            raise UserError(f"{source} has a broken description ({type(e).__name__}: {e})") from None


def save(path: Path, ckpt: Checkpoint) -> None:
    """Write a checkpoint (tensors moved to the CPU, so that it loads anywhere)."""
    payload = _to_cpu(ckpt.to_dict())
    atomic_write(Path(path), lambda f: torch.save(payload, f))


def _to_cpu(obj):
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_cpu(v) for v in obj)
    return obj


def load(path: Path, kind: str | None = None) -> Checkpoint:
    """Read and check a checkpoint; any foreign, corrupt or unsafe file is a UserError."""
    path = Path(path)
    if is_export(path):
        return load_export(path, kind)
    if not path.is_file():
        raise UserError(f"no checkpoint at {path}")
    try:
        with warnings.catch_warnings():
            # A foreign pickle protocol only earns a warning before it is refused below.
            warnings.simplefilter("ignore", UserWarning)
            raw = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else "unsafe content"
        raise UserError(f"{path} holds objects rnnlab will not load (refused, nothing was run): {first[:160]}") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError, KeyError, IndexError) as e:
        raise UserError(f"{path} is not a readable checkpoint (truncated or corrupt: {type(e).__name__})") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise UserError(f"{path} is not an rnnlab checkpoint")
    version = raw.get("version")
    if not isinstance(version, int):
        raise UserError(f"{path} has no checkpoint format version; it is not an rnnlab checkpoint")
    if version > VERSION:
        raise UserError(f"{path} has checkpoint format version {version}; this rnnlab reads up to {VERSION}: upgrade rnnlab")
    if version < MIN_VERSION:
        raise UserError(f"{path} has checkpoint format version {version}, older than any this rnnlab reads ({MIN_VERSION}-{VERSION})")
    _check_kind(path, raw.get("kind"), kind)
    for key in ("model_config", "model"):
        if key not in raw:
            raise UserError(f"{path} is missing {key!r}; it is not a complete rnnlab checkpoint")
    try:
        raw = migrations.upgrade(raw, version)
    except (KeyError, TypeError, ValueError) as e:
        raise UserError(f"{path} (format version {version}) has a broken description ({type(e).__name__}: {e})") from None
    return Checkpoint.from_dict(raw, str(path))


def _check_kind(path: Path, found: Any, kind: str | None) -> None:
    if found not in KINDS:
        raise UserError(f"{path} is a checkpoint of a {found!r} model, which this rnnlab does not know")
    if kind is not None and found != kind:
        raise UserError(f"{path} is a {KIND_NAMES[found]} run ({found!r}), not a {KIND_NAMES[kind]} run ({kind!r})")


def is_export(path: Path) -> bool:
    """Whether ``path`` is a folder laid out as an export (either of its files is enough to say
    so; :func:`load_export` names the one missing)."""
    return path.is_dir() and any((path / name).exists() for name in (EXPORT_CONFIG, EXPORT_WEIGHTS))


def export_config(ckpt: Checkpoint) -> dict[str, Any]:
    """What an export's ``config.json`` holds: the checkpoint without weights, training state or
    history, and without the paths of the machine it was trained on (its files by name only)."""
    train = settings.to_dict(ckpt.train_config)
    if train.get("init_from"):
        train["init_from"] = Path(train["init_from"]).name
    task = ckpt.task.to_dict()
    return {
        "export_format": EXPORT_FORMAT,
        "library_name": "rnnlab",
        "rnnlab_version": __version__,
        "kind": ckpt.kind,
        "backend": ckpt.backend,
        "model_config": settings.to_dict(ckpt.model_config),
        "data_config": settings.to_dict(ckpt.data_config),
        "train_config": train,
        "task": {k: task[k] for k in EXPORT_TASK if k in task},
        "data": {**ckpt.data.to_dict(), "paths": [Path(p).name for p in ckpt.data.paths]},
        # JSON has no infinity: a measure never taken is left out, and read back as its default.
        "progress": {k: v for k, v in asdict(ckpt.progress).items() if not (isinstance(v, float) and not math.isfinite(v))},
    }


def load_export(folder: Path, kind: str | None = None) -> Checkpoint:
    """Read an export folder from JSON and safetensors only, so nothing in it can run code; a
    crafted or foreign folder is a UserError."""
    if not (folder / EXPORT_CONFIG).is_file():
        raise UserError(f"{folder} has no {EXPORT_CONFIG}; it is not a complete rnnlab export")
    try:
        d = json.loads((folder / EXPORT_CONFIG).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise UserError(f"{folder / EXPORT_CONFIG} is not readable JSON ({type(e).__name__})") from None
    version = d.get("export_format") if isinstance(d, dict) else None
    if type(version) is not int or version < 1:  # another program's config.json
        raise UserError(f"{folder} is not an rnnlab run or export (no {BEST} or {LAST}; its {EXPORT_CONFIG} has no export_format)")
    if not (folder / EXPORT_WEIGHTS).is_file():
        raise UserError(f"{folder} has no {EXPORT_WEIGHTS}; it is not a complete rnnlab export")
    if version > EXPORT_FORMAT:
        raise UserError(f"{folder} has export format {version}; this rnnlab reads up to {EXPORT_FORMAT}: upgrade rnnlab")
    _check_kind(folder, d.get("kind"), kind)
    if d.get("backend") not in BACKENDS:
        raise UserError(f"{folder / EXPORT_CONFIG} names no backend rnnlab knows ({d.get('backend')!r})")
    try:
        from safetensors import SafetensorError
        from safetensors.torch import load_file
    except ImportError:
        raise UserError("reading an exported model needs safetensors: pip install safetensors") from None
    try:
        weights = load_file(folder / EXPORT_WEIGHTS)
    except (SafetensorError, OSError, ValueError) as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:160]
        raise UserError(f"{folder / EXPORT_WEIGHTS} is not a readable safetensors file (refused, nothing was run): {first}") from None
    weights = {k: v.float() if v.is_floating_point() else v for k, v in weights.items()}  # float16 exports run in float32
    return Checkpoint.from_dict({**d, "model": weights, "written_by": d.get("rnnlab_version", "unknown")}, str(folder))


def weights_problem(e: Exception) -> str:
    """The informative line of a ``load_state_dict`` error (its first names only the module)."""
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    return (lines[1] if len(lines) > 1 else lines[0] if lines else type(e).__name__)[:200]


def find(run_dir: Path, which: str = "best") -> Path:
    """The checkpoint file of a run folder: ``best`` falls back to ``last`` when there is none."""
    run_dir = Path(run_dir)
    try:  # pathlib's is_file/is_dir raise on a name too long or a folder that may not be read
        if run_dir.is_file():
            # An export's own files name the export.
            return run_dir.parent if run_dir.name in (EXPORT_CONFIG, EXPORT_WEIGHTS) else run_dir
        if not run_dir.is_dir():
            raise UserError(f"{run_dir} is not a run folder" if run_dir.exists() else f"no such run folder: {run_dir}")
        order = [BEST, LAST] if which == "best" else [LAST]
        for name in order:
            if (run_dir / name).is_file():
                return run_dir / name
        if is_export(run_dir):
            if which != "best":
                raise UserError(f"{run_dir} is an exported model: it holds the weights it was exported with, no {LAST} to resume or load")
            return run_dir
    except OSError as e:
        raise UserError(f"cannot read run folder {run_dir}: {e.strerror or e}") from None
    raise UserError(f"{run_dir} is not an rnnlab run (no {LAST} or {BEST} in it)")
