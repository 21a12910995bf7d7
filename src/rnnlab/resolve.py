"""The one place that decides what a training run uses: :func:`resolve`.

It takes the settings the user gave, as names and values (flags, ``--config`` files and
``--tiny`` on the command line; in Python the fields a caller passed to its configs, see
:func:`rnnlab.settings.given`), and what the others depend on, and returns the three
configurations with, for every setting, where its value came from. A setting not given takes,
in this order:

1. a resumed run's own value (only the settings declared ``resume=True`` may be given anew);
2. for a language model, the recipe of its budget (files in ``rnnlab/recipes/``, which a user
   may also pass as ``--config``), :data:`BY_BUDGET`: ``cpu-short.toml`` up to ``--max-time``
   300 s, ``cpu-long.toml`` up to 900 s and without a limit, ``cpu-large.toml`` (a 2x512 LSTM)
   beyond (each measured best on a 2-core CPU, docs/benchmarks.md), and ``finetune.toml`` with
   ``--init-from`` (docs/base-model.md);
3. the ``--init-from`` model's value, for the model settings it decides (its shape);
4. for a tagger, the rule by the size of its text (:func:`tag_rule`): a small text is passed over
   many times within any budget and is learnt by heart without dropout (docs/tag.md);
5. the field's default.

A recipe fills every setting it names that was not given, so giving one setting never changes
another. The tasks and the trainer receive resolved configurations and choose nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from rnnlab import settings
from rnnlab.config import DataConfig, ModelConfig, TagDataConfig, TagModelConfig, TagTrainConfig, TrainConfig
from rnnlab.errors import UserError

SECTIONS = {"lm": (DataConfig, ModelConfig, TrainConfig), "tag": (TagDataConfig, TagModelConfig, TagTrainConfig)}
GIVEN, DEFAULT, RUN = "given", "default", "the run"
PENDING = "the rule by the text's size"  # the tagger's rule before its text is read


@dataclass(frozen=True)
class Recipe:
    file: str  # in rnnlab/recipes/
    up_to: float  # the longest --max-time (seconds) it is the default for; math.inf: no bound
    when: str  # when it applies, for the help and the sources

    def values(self) -> dict[str, Any]:
        known = {f.name: (cls, f) for cls in (ModelConfig, TrainConfig) for f in settings.fields(cls)}
        with resources.as_file(resources.files("rnnlab") / "recipes" / self.file) as path:
            return settings.read_toml(str(path), known)

    @property
    def source(self) -> str:
        return f"recipes/{self.file}, the default {self.when}"


# Ordered by budget: a finite --max-time takes the first recipe whose up_to it does not exceed.
SHORT_MAX, LONG_MAX = 300.0, 900.0
BY_BUDGET = (
    Recipe("cpu-short.toml", SHORT_MAX, f"for --max-time up to {SHORT_MAX:g} s"),
    Recipe("cpu-long.toml", LONG_MAX, f"for --max-time up to {LONG_MAX:g} s"),
    Recipe("cpu-large.toml", math.inf, f"for --max-time over {LONG_MAX:g} s"),
)
NO_LIMIT = Recipe("cpu-long.toml", math.inf, "without a time limit")
FINETUNE = Recipe("finetune.toml", math.inf, "with --init-from")

# The tagger's rule: a text of at most SMALL_TAG_TEXT characters (all its lines) takes SMALL_TAG,
# a larger one LARGE_TAG (docs/tag.md, "Small texts"); and a file of few lines still trains for
# MIN_TAG_STEPS steps.
SMALL_TAG_TEXT = 200_000
SMALL_TAG = {"dropout": 0.3, "epochs": 30}
LARGE_TAG = {"dropout": 0.0, "epochs": 20}
MIN_TAG_STEPS = 300
TAG_SHAPE = ("cell", "layers", "hidden", "embed")  # the tagger's settings an --init-from language model decides


@dataclass(frozen=True)
class TextSize:
    """What the tagger's rule reads: the characters of all its lines, and its training windows."""

    chars: int
    windows: int


def for_budget(max_time: float | None) -> Recipe:
    """The recipe of a language model trained for ``max_time`` seconds (None: no limit)."""
    return NO_LIMIT if max_time is None else next(r for r in BY_BUDGET if max_time <= r.up_to)


def budget_cases() -> list[tuple[Recipe, dict[str, Any]]]:
    """Each budget's recipe with the settings that choose it: the longest --max-time it is for
    (twice the limit below it, for the open-ended last), and no --max-time at all."""
    limits = [r.up_to for r in BY_BUDGET]
    cases = [(r, {"max_time": t if math.isfinite(t) else 2 * limits[i - 1]}) for i, (r, t) in enumerate(zip(BY_BUDGET, limits))]
    return [*cases, (NO_LIMIT, {})]


def tag_rule(size: TextSize, batch_size: int) -> dict[str, tuple[Any, str]]:
    """The tagger's dropout and epochs for a text of ``size``, each with where it came from."""
    small = size.chars <= SMALL_TAG_TEXT
    values, where = (SMALL_TAG, f"at most {SMALL_TAG_TEXT:,}") if small else (LARGE_TAG, f"over {SMALL_TAG_TEXT:,}")
    source = f"the default on a text of {where} characters"
    steps_per_epoch = math.ceil(size.windows / max(1, min(batch_size, size.windows)))
    epochs = max(values["epochs"], math.ceil(MIN_TAG_STEPS / steps_per_epoch))
    raised = f"{source}, raised from {values['epochs']} to reach {MIN_TAG_STEPS} steps" if epochs != values["epochs"] else source
    return {"dropout": (values["dropout"], source), "epochs": (epochs, raised)}


def tag_rule_text(key: str) -> str:
    """The rule for ``key`` in words, where the text is not known (``--help``, ``--print-config``)."""
    more = f"; raised to reach {MIN_TAG_STEPS} steps on a file of few lines" if key == "epochs" else ""
    return f"{SMALL_TAG[key]:g} on a text of at most {SMALL_TAG_TEXT:,} characters, else {LARGE_TAG[key]:g}{more}"


@dataclass(frozen=True)
class Resolved:
    """The configurations a run uses, and where each setting's value came from."""

    data: Any
    model: Any
    train: Any
    sources: dict[str, str] = field(default_factory=dict)  # setting -> GIVEN, DEFAULT, RUN, a recipe, a rule, a model
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # on resume: setting -> (the run's, given)

    @property
    def configs(self) -> tuple[Any, Any, Any]:
        return self.data, self.model, self.train

    def notes(self) -> list[str]:
        """For the start-up summary: the settings a recipe or rule chose, by source."""
        values = {k: v for c in self.configs for k, v in settings.to_dict(c).items()}
        chosen: dict[str, list[str]] = {}
        for key, source in self.sources.items():
            if source.startswith(("recipes/", "the default on")):
                chosen.setdefault(source, []).append(f"{key} {values[key]:g}" if isinstance(values[key], float) else f"{key} {values[key]}")
        return [f"{', '.join(keys)}: {source}; flags choose your own" for source, keys in chosen.items()]


def resolve(
    kind: str,
    given: Mapping[str, Any],
    start: Any = None,
    size: TextSize | None = None,
    resumed: Any = None,
    label: Callable[[str], str] = lambda key: "--" + key.replace("_", "-"),
) -> Resolved:
    """The configurations of a ``kind`` run ("lm" or "tag") from the settings ``given``.

    ``start``: the model ``--init-from`` names (:class:`rnnlab.init_from.Start` or
    :class:`rnnlab.tag.from_lm.TagStart`), whose shape a given setting may not change; ``size``:
    the tagger's text (without it the rule's settings keep their field defaults, marked as the
    rule's); ``resumed``: the checkpoint of a run that goes on. ``label`` names a setting in
    messages (a flag; ``model.hidden`` from Python)."""
    model_cls = SECTIONS[kind][1]
    unknown = set(given) - {f.name for cls in SECTIONS[kind] for f in settings.fields(cls)}
    if unknown:
        raise UserError(f"unknown setting {sorted(unknown)[0]!r}")
    if resumed is not None:
        return _resumed(kind, given, resumed, label)
    sources: dict[str, str] = {}
    values: dict[str, Any] = {}

    def fill(key: str, value: Any, source: str) -> None:
        values[key], sources[key] = value, source

    for key, value in given.items():
        fill(key, value, GIVEN)
    if kind == "lm":
        recipe = FINETUNE if given.get("init_from") else for_budget(given.get("max_time"))
        for key, value in recipe.values().items():
            if key not in values:
                fill(key, value, recipe.source)
    if start is not None:
        model = start.model_config({k: v for k, v in values.items() if k in _names(model_cls)}, label)
        for key in start.provides:
            if key not in values:
                fill(key, getattr(model, key), f"the model of {start.name}")
    for cls in SECTIONS[kind]:
        for f in settings.fields(cls):
            if f.name not in values:
                fill(f.name, f.default, DEFAULT)
    if kind == "tag":
        rule = tag_rule(size, values["batch_size"]) if size is not None else {k: (values[k], PENDING) for k in SMALL_TAG}
        for key, (value, source) in rule.items():
            if sources[key] == DEFAULT:
                fill(key, value, source)
    configs = [cls(**{f.name: values[f.name] for f in settings.fields(cls)}) for cls in SECTIONS[kind]]
    return Resolved(*configs, sources=sources)


def python_label(kind: str) -> Callable[[str], str]:
    """How the Python API names a setting in messages: by the argument that holds it (``model.hidden``)."""
    parts = {f.name: part for part, cls in zip(("data", "model", "config"), SECTIONS[kind]) for f in settings.fields(cls)}
    return lambda key: f"{parts.get(key, 'config')}.{key}"


def given_in(*configs: Any, init_from: Any = None) -> dict[str, Any]:
    """The settings a Python caller gave: the fields it passed to each config (None: none), and
    ``init_from`` when given as an argument."""
    out = {k: v for c in configs if c is not None for k, v in settings.given(c).items() if k in _names(type(c))}  # not internal ones
    return {**out, "init_from": str(init_from)} if init_from is not None else out


def _names(cls: type) -> set[str]:
    return {f.name for f in settings.fields(cls)}


def _resumed(kind: str, given: Mapping[str, Any], ckpt: Any, label: Callable[[str], str]) -> Resolved:
    """The run's own settings, with the given ones that may change on resume changed."""
    current = {k: v for c in (ckpt.data_config, ckpt.model_config, ckpt.train_config) for k, v in settings.to_dict(c).items()}
    specs = {f.name: settings.spec(f) for cls in SECTIONS[kind] for f in settings.fields(cls)}
    changes = {}
    for key, value in given.items():
        if value == current.get(key):
            continue
        if not specs[key].resume:
            raise UserError(f"{label(key)} cannot change when a run is resumed (the run has {current.get(key)!r}); start a new run instead")
        changes[key] = (current.get(key), value)
    configs = [
        settings.replace(c, **{k: v for k, (_, v) in changes.items() if k in _names(type(c))})
        for c in (ckpt.data_config, ckpt.model_config, ckpt.train_config)
    ]
    sources = {k: (GIVEN if k in changes else RUN) for k in specs}
    return Resolved(*configs, sources=sources, changes=changes)
