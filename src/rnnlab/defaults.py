"""The default recipe for a training budget: what ``rnnlab train`` builds when no model setting is given.

The best model for the time spent depends on the time: in a minute, many small steps (16 streams
of 32 characters) teach a 2x256 LSTM the most; beyond five minutes, the same model learns more
from fewer, larger steps (32 x 64: more characters per second and a longer backprop window)
and would begin to memorise its text without dropout. ``--max-time`` is known when training
starts, so the default is chosen by it from the recipes below (files in ``rnnlab/recipes/``, each
a model and how to feed it, which a user can also pass as ``--config``), the ones measured best
on a 2-core CPU by ``benchmarks/lm_quality.py`` on prose and on Python code (docs/benchmarks.md).

A recipe is taken whole or not at all: any model setting given by flag or config file turns it
off, and the user's model is built as asked, with the field defaults of
:class:`~rnnlab.config.ModelConfig` and :class:`~rnnlab.config.TrainConfig` for the rest.
Training settings given alongside no model setting (``--lr``, ``--batch-size`` ...) win over the
recipe's.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from rnnlab import settings
from rnnlab.config import ModelConfig, TrainConfig


@dataclass(frozen=True)
class BudgetRecipe:
    file: str  # in rnnlab/recipes/
    up_to: float | None  # the longest --max-time (seconds) it is the default for; None: any longer, or no limit
    why: str  # for the start-up summary


# Measured: docs/benchmarks.md, "Against a small transformer" and "How the default was chosen".
BY_BUDGET = (
    BudgetRecipe(
        "cpu-short.toml", 300.0, "measured best at 1 minute on a 2-core CPU, on prose and on code; at 5, level with cpu-long.toml"
    ),
    BudgetRecipe("cpu-long.toml", None, "measured best at 15 minutes on a 2-core CPU, on prose and on code"),
)
# With --init-from the model is the source's; this recipe sets how it is fine-tuned (and its
# dropout, which keeps the weights' shape). Measured: docs/base-model.md, "Fine-tuning settings".
FINETUNE = BudgetRecipe("finetune.toml", None, "measured best for fine-tuning the base model for a minute on a 2-core CPU")
SECTIONS = (ModelConfig, TrainConfig)  # what a recipe may set


def for_budget(max_time: float | None) -> BudgetRecipe:
    """The recipe for a run of ``max_time`` seconds (None: no time limit, the longest budget's)."""
    for r in BY_BUDGET:
        if r.up_to is not None and max_time is not None and max_time <= r.up_to:
            return r
    return BY_BUDGET[-1]


def for_run(max_time: float | None, init_from: str | None) -> BudgetRecipe:
    """The default recipe of a run: fine-tuning's when it starts from a trained model, else the budget's."""
    return FINETUNE if init_from else for_budget(max_time)


def recipe_values(recipe: BudgetRecipe) -> dict:
    """The settings of a recipe file (model and training fields)."""
    known = {f.name: (cls, f) for cls in SECTIONS for f in settings.fields(cls)}
    with resources.as_file(resources.files("rnnlab") / "recipes" / recipe.file) as path:
        return settings.read_toml(str(path), known)


def _model_part(values: dict) -> dict:
    names = {f.name for f in settings.fields(ModelConfig)}
    return {k: v for k, v in values.items() if k in names}


def model_values(recipe: BudgetRecipe) -> dict:
    """The model settings of a recipe."""
    return _model_part(recipe_values(recipe))


def describe(recipe: BudgetRecipe, max_time: float | None) -> str:
    budget = "--init-from" if recipe is FINETUNE else "no time limit" if max_time is None else f"--max-time {max_time:g} s"
    return f"the default for {budget}: recipes/{recipe.file}, {recipe.why}"


def with_training_values(train: TrainConfig, recipe: BudgetRecipe) -> TrainConfig:
    """``train`` with the recipe's training settings in the fields it leaves at their defaults."""
    values = recipe_values(recipe)
    plain = TrainConfig()
    unset = {f.name for f in settings.fields(TrainConfig) if getattr(train, f.name) == getattr(plain, f.name)}
    return settings.replace(train, **{k: v for k, v in values.items() if k in unset})


def default_configs(train: TrainConfig) -> tuple[ModelConfig, TrainConfig]:
    """The default model for ``train.max_time`` (vocabulary size still unset), and ``train`` with
    the recipe's training settings in the fields it leaves at their defaults."""
    recipe = for_budget(train.max_time)
    return ModelConfig(**model_values(recipe)), with_training_values(train, recipe)
