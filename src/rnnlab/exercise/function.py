"""Checks of a function against the right answer, for the exercises whose answer is a function of
tensors and torch.nn modules (the time loop of program 1, the shapes around ``nn.RNN``).

An exercise declares a :class:`Program`: the configurations, the arguments of one call (made anew
for every call from the configuration's seed, so that the student's function, the right answer
and each variant get equal, separate copies), how the function is called and its result named,
and ``reference(options, args)``: the right answer when ``options`` is empty, a known wrong one
for a variant's. :func:`checks` gives the checks: what the function returns and its shapes, the
values, and the gradients of the arguments named in ``leaves`` (a module's: every parameter's),
in float64. The comparison and the diagnosis are :mod:`.compare`'s.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from rnnlab.exercise.compare import (
    F64,
    SEED,
    Case,
    Prepared,
    Run,
    check_gradients,
    check_shapes,
    check_values,
    describe,
    loss_weights,
    raised,
    shown,
    weighted_loss,
)
from rnnlab.exercise.core import Check, Context, Failed, msg
from rnnlab.exercise.text import render

__all__ = ["F64", "Case", "Program", "checks", "random_module"]


def random_module(build: Callable[[], torch.nn.Module], gen: torch.Generator, scale: float = 0.5) -> torch.nn.Module:
    """``build()`` in float64 with weights drawn from ``gen`` (larger than torch's initialisation,
    so that mistakes show more); the global generator is left as it was."""
    with torch.random.fork_rng(devices=[]):
        module = build().to(F64)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=F64) * scale)
    return module


def _leaves(args: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, Tensor]:
    """The tensors whose gradients are compared: each named argument, or each parameter of a module."""
    out: dict[str, Tensor] = {}
    for name in names:
        value = args[name]
        if isinstance(value, torch.nn.Module):
            out |= {f"{name}.{k}": p for k, p in value.named_parameters()}
        else:
            out[name] = value.requires_grad_()
    return out


def _tensors(args: Mapping[str, Any]) -> dict[str, Tensor]:
    """Every tensor among the arguments, a module's parameters included, by name (for messages)."""
    out: dict[str, Tensor] = {}
    for name, value in args.items():
        if isinstance(value, torch.nn.Module):
            out |= {f"{name}.{k}": p.detach() for k, p in value.named_parameters()}
        elif isinstance(value, Tensor):
            out[name] = value.detach()
    return out


@dataclass(frozen=True)
class Program:
    """How a function is checked (see the module's docstring); ``name``: the right answer as the
    reports show it, the key of a text (``ref.loop``); ``target``: the function's name, for messages."""

    name: str
    target: str
    cases: tuple[Case, ...]
    arguments: Callable[[Case, torch.Generator], dict[str, Any]]  # fresh float64 tensors and modules
    call: Callable[[Callable, dict[str, Any]], Any]  # calls a function (the student's, the reference) on them
    outputs: Callable[[Any], dict[str, Tensor] | None]  # what it returned, named; None: another structure
    returns: str  # what the right answer returns, for a message
    reference: Callable[[Mapping[str, Any], dict[str, Any]], Any]
    leaves: tuple[str, ...] = ()

    def args(self, index: int) -> dict[str, Any]:
        return self.arguments(self.cases[index], torch.Generator().manual_seed(SEED + index))

    def prepared(self, ctx: Context, index: int) -> Prepared:
        """Configuration ``index``'s arguments and the right answer's results, computed once per run."""
        key = ("program", index)
        if key not in ctx.cache:
            args = self.args(index)
            leaves = _leaves(args, self.leaves)
            expected = self.outputs(self.reference({}, args))
            assert expected is not None
            weights = loss_weights(expected, torch.Generator().manual_seed(SEED + 1000 + index))
            loss = weighted_loss(expected, weights)
            if loss.requires_grad:
                loss.backward()
            grads = {k: v.grad if v.grad is not None else torch.zeros_like(v) for k, v in leaves.items()}
            ctx.cache[key] = Prepared(index, {k: v.detach() for k, v in expected.items()}, weights, grads, _tensors(args))
        return ctx.cache[key]

    def variant(self, options: Mapping[str, Any], prep: Prepared, case: Case) -> dict[str, Tensor] | None:
        return self.outputs(self.reference(options, self.args(prep.args)))

    def student_run(self, ctx: Context, index: int) -> Run:
        """The student's function called on configuration ``index``'s arguments."""
        key = ("student", index)
        if key not in ctx.cache:
            case, prep = self.cases[index], self.prepared(ctx, index)
            args = self.args(index)
            leaves = _leaves(args, self.leaves)
            try:
                raw = self.call(ctx.target, args)
            except Exception as e:
                raise raised(ctx, self, case, prep, self.target, e) from None
            outputs = self.outputs(raw)
            if outputs is None:
                raise Failed(
                    msg("fail.structure", call=self.target, got=describe(raw), ref=shown(self.name), want=self.returns),
                    case=case.describe(),
                )
            ctx.cache[key] = Run(outputs, leaves)
        return ctx.cache[key]


def checks(program: Program) -> tuple[Check, ...]:
    """The checks of a function against the right answer, in the order they run."""
    en, zh = (render(shown(program.name), lang) for lang in ("en", "zh"))
    out = (
        Check(
            "returns",
            {"en": f"returns: {program.returns}, shaped as {en}'s", "zh": f"返回值：{program.returns}，形状与{zh}相同"},
            lambda ctx: check_shapes(ctx, program),
        ),
        Check(
            "values",
            {"en": f"values: equal to {en}'s in float64", "zh": f"数值：与{zh}的结果相等（float64）"},
            lambda ctx: check_values(ctx, program),
        ),
    )
    if not program.leaves:
        return out
    grads = Check(
        "gradients",
        {"en": f"gradients: of {', '.join(program.leaves)}", "zh": f"梯度：{'、'.join(program.leaves)} 的梯度"},
        lambda ctx: check_gradients(ctx, program),
    )
    return (*out, grads)
