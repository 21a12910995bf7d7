"""The default model for a training budget: what ``rnnlab train`` builds when no model setting is given.

The best model for the time spent depends on the time: a small, fast network learns most in a
minute, while over a quarter of an hour it would stop improving and begin to memorise its text,
and a larger or more regularised one wins. ``--max-time`` is known when training starts, so the
default model is chosen by it from the recipes below (files in ``rnnlab/recipes/``, each a model
section a user can also pass as ``--config``), the ones measured best on a 2-core CPU by
``benchmarks/lm_quality.py`` on prose and on Python code (docs/benchmarks.md). Any model setting
given by flag or config file turns the choice off: the user's model is built as asked, with the
field defaults of :class:`~rnnlab.config.ModelConfig` for the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from rnnlab import settings
from rnnlab.config import ModelConfig


@dataclass(frozen=True)
class BudgetRecipe:
    file: str  # in rnnlab/recipes/
    up_to: float | None  # the longest --max-time (seconds) it is the default for; None: any longer, or no limit
    why: str  # for the start-up summary


# Measured: docs/benchmarks.md, "Against a small transformer".
BY_BUDGET = (BudgetRecipe("cpu.toml", None, "measured best at 1 and 5 minutes on a 2-core CPU, on prose and on code"),)


def for_budget(max_time: float | None) -> BudgetRecipe:
    """The recipe for a run of ``max_time`` seconds (None: no time limit, the longest budget's)."""
    for r in BY_BUDGET:
        if r.up_to is not None and max_time is not None and max_time <= r.up_to:
            return r
    return BY_BUDGET[-1]


def model_values(recipe: BudgetRecipe) -> dict:
    """The model settings of a recipe file."""
    known = {f.name: (ModelConfig, f) for f in settings.fields(ModelConfig)}
    with resources.as_file(resources.files("rnnlab") / "recipes" / recipe.file) as path:
        return settings.read_toml(str(path), known)


def describe(recipe: BudgetRecipe, max_time: float | None) -> str:
    budget = "no time limit" if max_time is None else f"--max-time {max_time:g} s"
    return f"the default for {budget}: recipes/{recipe.file}, {recipe.why}"


def default_model(max_time: float | None) -> ModelConfig:
    """The default model for a run of ``max_time`` seconds (vocabulary size still unset)."""
    return ModelConfig(**model_values(for_budget(max_time)))
