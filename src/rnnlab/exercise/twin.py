"""Checks of a class against its torch.nn twin, and the diagnosis of a difference.

An exercise that asks for a class torch.nn has (``RNNCell``, ``LSTMCell``, ``GRUCell``, ``LSTM``)
declares a :class:`Twin`: the configurations it is checked on, how both classes are built and
called, how their outputs are named, and ``reference(options, params, case, args)``, the right
answer when ``options`` is empty and a known wrong one for a variant's options. :func:`checks`
gives its four checks: the parameters (names and shapes, so that torch.nn's weights can be
copied into the student's by name), the outputs' structure and shapes, their values, and the
gradients of the inputs, the initial state and every parameter; in float64, with the twin's
weights, on every configuration.

The comparison and the diagnosis are :mod:`.compare`'s, shared with the exercises whose answer is
a function (:mod:`.function`).
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
    weighted_loss,
)
from rnnlab.exercise.core import Check, Context, Failed, Msg, msg
from rnnlab.exercise.run import one_line, where

__all__ = ["F64", "Case", "Twin", "checks"]


@dataclass(frozen=True)
class Twin:
    """How a class is checked against its twin (see the module's docstring): ``name`` as the reports
    show it (``torch.nn.LSTM``), ``build`` makes one from the constructor's arguments (and ``dtype``)."""

    name: str
    build: Callable[..., torch.nn.Module]
    cases: tuple[Case, ...]
    arguments: Callable[[Case], tuple[tuple, dict[str, Any]]]  # the constructor's, the same for both classes
    inputs: Callable[[Case, torch.Generator], dict[str, Tensor]]  # the named inputs (the gradients' leaves)
    call: Callable[[Case, dict[str, Tensor]], tuple]  # forward's arguments, from the inputs
    outputs: Callable[[Any], dict[str, Tensor] | None]  # what forward returned, named; None: not torch's structure
    returns: str  # what torch's forward returns, for a message: "(h', c')"
    reference: Callable[[Mapping[str, Any], dict[str, Tensor], Case, tuple], Any]
    params_advice: str = "advice.params"  # the advice when a parameter's name or shape differs
    gradients: Mapping[str, str] | None = None  # what the gradients check covers (en, zh), if not the default's

    def prepared(self, ctx: Context, index: int) -> Prepared:
        """Configuration ``index``'s inputs, the twin's weights and its answers, computed once per run."""
        key = ("twin", index)
        if key not in ctx.cache:
            case = self.cases[index]
            gen = torch.Generator().manual_seed(SEED + index)
            args, kwargs = self.arguments(case)
            with torch.random.fork_rng(devices=[]):  # torch.nn's initialisation draws from the global generator: leave it as it was
                module = self.build(*args, **kwargs, dtype=F64)
            with torch.no_grad():
                for p in module.parameters():  # larger than torch's initialisation: mistakes show more
                    p.copy_(torch.randn(p.shape, generator=gen, dtype=F64) * 0.5)
            inputs = self.inputs(case, gen)
            leaves = {k: v.clone().requires_grad_(v.is_floating_point()) for k, v in inputs.items()}  # ids carry no gradient
            expected = self.outputs(module(*self.call(case, leaves)))
            assert expected is not None
            weights = loss_weights(expected, gen)
            weighted_loss(expected, weights).backward()
            grads = {k: v.grad for k, v in leaves.items() if v.requires_grad} | {k: p.grad for k, p in module.named_parameters()}
            params = {k: p.detach() for k, p in module.named_parameters()}
            ctx.cache[key] = Prepared(
                (params, self.call(case, inputs)), {k: v.detach() for k, v in expected.items()}, weights, grads, inputs | params
            )
        return ctx.cache[key]

    def variant(self, options: Mapping[str, Any], prep: Prepared, case: Case) -> dict[str, Tensor] | None:
        params, args = prep.args
        return self.outputs(self.reference(options, params, case, args))

    def student_run(self, ctx: Context, index: int) -> Run:
        """The student's forward pass on configuration ``index``, with the twin's weights copied in by name."""
        key = ("student", index)
        if key not in ctx.cache:
            case, prep = self.cases[index], self.prepared(ctx, index)
            args, kwargs = self.arguments(case)
            module = ctx.target(*args, **kwargs).to(F64)
            own = dict(module.named_parameters())
            params, _ = prep.args
            with torch.no_grad():
                for name, value in params.items():
                    own[name].copy_(value)
            inputs = {k: v.clone().requires_grad_(v.is_floating_point()) for k, v in prep.tensors.items() if k not in params}
            try:
                raw = module(*self.call(case, inputs))
            except Exception as e:
                raise raised(ctx, self, case, prep, "forward", e) from None
            outputs = self.outputs(raw)
            if outputs is None:
                raise Failed(
                    msg("fail.structure", call="forward", got=describe(raw), ref=self.name, want=self.returns), case=case.describe()
                )
            ctx.cache[key] = Run(outputs, inputs | dict(module.named_parameters()))
        return ctx.cache[key]


def _call_text(name: str, args: tuple, kwargs: dict) -> str:
    return f"{name}({', '.join([*map(repr, args), *(f'{k}={v!r}' for k, v in kwargs.items())])})"


def check_parameters(ctx: Context, twin: Twin) -> Msg:
    built = {}
    for case in twin.cases:
        args, kwargs = twin.arguments(case)
        built.setdefault(_call_text(ctx.exercise.target, args, kwargs), (args, kwargs))
    for call, (args, kwargs) in built.items():
        with torch.random.fork_rng(devices=[]):
            theirs = {k: tuple(p.shape) for k, p in twin.build(*args, **kwargs).named_parameters()}
        try:
            mine = {k: tuple(p.shape) for k, p in ctx.target(*args, **kwargs).named_parameters()}
        except Exception as e:
            raise Failed(msg("fail.raised", call=call, error=one_line(e)), where=where(e, ctx.files)) from None
        for name, shape in theirs.items():
            if name not in mine:
                raise Failed(
                    msg("fail.param_missing", call=call, name=name, shape=str(shape), ref=twin.name), advice=msg(twin.params_advice)
                )
            if mine[name] != shape:
                raise Failed(
                    msg("fail.param_shape", call=call, name=name, got=str(mine[name]), want=str(shape), ref=twin.name),
                    advice=msg(twin.params_advice),
                )
        for name in mine.keys() - theirs.keys():
            raise Failed(
                msg("fail.param_extra", call=call, name=name, names=", ".join(theirs), ref=twin.name), advice=msg(twin.params_advice)
            )
    return msg("covered.cases", n=len(built))


def checks(twin: Twin) -> tuple[Check, ...]:
    """The four checks of a class against its torch.nn twin, in the order they run."""
    t = twin.name
    return (
        Check(
            "parameters",
            {"en": f"parameters: names and shapes as {t}'s", "zh": f"参数：名字和形状与 {t} 相同"},
            lambda ctx: check_parameters(ctx, twin),
        ),
        Check(
            "shapes",
            {"en": f"shapes: forward returns {twin.returns} as {t}", "zh": f"形状：forward 与 {t} 一样返回 {twin.returns}"},
            lambda ctx: check_shapes(ctx, twin),
        ),
        Check(
            "values",
            {"en": f"values: equal to {t}'s in float64", "zh": f"数值：与 {t} 的结果相等（float64）"},
            lambda ctx: check_values(ctx, twin),
        ),
        Check(
            "gradients",
            twin.gradients
            or {"en": "gradients: of the input, the initial state and every parameter", "zh": "梯度：输入、初始状态和每个参数的梯度"},
            lambda ctx: check_gradients(ctx, twin),
        ),
    )
