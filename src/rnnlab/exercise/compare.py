"""What the checks of the student's code against the right answer share, whatever the code is (a
class with a torch.nn twin, :mod:`.twin`, or a function, :mod:`.function`): the configurations,
the comparison in float64, the checks of shapes, values and gradients, and the diagnosis.

A :class:`Spec` says, for configuration ``index``, what the right answer gives (:class:`Prepared`:
the outputs, and the gradients of a weighted sum of them) and what the student's code gives
(:class:`Run`); and ``variant(options, prep, case)`` runs a known wrong version of the right answer
on the same arguments. A difference is diagnosed by running every variant, then every pair of
variants: a variant whose outputs (or whose error) the student's code reproduces names the
mistake, however the code is written.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
from torch import Tensor

from rnnlab.exercise.core import Context, Failed, Msg, Variant, msg
from rnnlab.exercise.run import one_line, where
from rnnlab.exercise.text import MESSAGES

SEED = 12
TOL = {"rtol": 1e-7, "atol": 1e-9}  # float64: a correct answer computed in another order is within 1e-14
F64 = torch.float64


@dataclass(frozen=True)
class Case:
    """A configuration: the sizes (shown as ``B=2, D=4, H=5``), whether there are biases, whether an
    initial state is given (else torch.nn's zeros), and ``batch_first`` (None: the code has none)."""

    sizes: tuple[tuple[str, int], ...]
    bias: bool = True
    state: bool = True
    batch_first: bool | None = None

    def __getitem__(self, name: str) -> int:
        return dict(self.sizes)[name]

    def describe(self) -> Msg:
        sizes = ", ".join(f"{k}={v}" for k, v in self.sizes) + ("" if self.batch_first is None else f", batch_first={self.batch_first}")
        return msg(
            "case",
            sizes=sizes,
            bias=msg("case.bias" if self.bias else "case.no_bias"),
            state=msg("case.state" if self.state else "case.no_state"),
        )


@dataclass
class Prepared:
    """One configuration as the right answer sees it: ``args`` (what the variants are run on),
    ``expected`` outputs, the ``weights`` of the loss ``sum((output * weight).sum())`` (so that every
    output element counts differently) and the ``grads`` of that loss by name; ``tensors``: the
    inputs and parameters by name, for the messages."""

    args: Any
    expected: dict[str, Tensor]
    weights: dict[str, Tensor]
    grads: dict[str, Tensor]
    tensors: dict[str, Tensor]


@dataclass
class Run:
    """The student's code on one configuration: its outputs, and the tensors whose gradients are
    compared (the inputs, the initial state, the parameters), by name."""

    outputs: dict[str, Tensor]
    leaves: dict[str, Tensor] = field(default_factory=dict)


class Spec(Protocol):
    """How one exercise's code is run and compared (see the module's docstring)."""

    name: str  # the right answer, as the reports show it: "torch.nn.LSTM", or a text's key ("ref.loop")
    cases: tuple[Case, ...]
    returns: str  # what the right answer returns, for a message: "(h', c')"

    def prepared(self, ctx: Context, index: int) -> Prepared: ...

    def student_run(self, ctx: Context, index: int) -> Run: ...

    def variant(self, options: Mapping[str, Any], prep: Prepared, case: Case) -> dict[str, Tensor] | None: ...


def shown(name: str) -> Msg | str:
    """The right answer's name as a message shows it: a key of the texts (``ref.loop``: "the
    lecture's loop", in the report's language), or a name that reads the same in both (``torch.nn.LSTM``)."""
    return msg(name) if name in MESSAGES else name


def describe(value: Any) -> str:
    """What code returned, as code would write its type: ``tuple(Tensor(2, 5), Tensor(2, 5))``."""
    if isinstance(value, Tensor):
        return f"Tensor{tuple(value.shape)}"
    if isinstance(value, (tuple, list)):
        return f"{type(value).__name__}({', '.join(describe(v) for v in value)})"
    return type(value).__name__


def shapes(values: Mapping[str, Tensor]) -> str:
    return ", ".join(f"{k} {tuple(v.shape)}" for k, v in values.items())


def same(a: Mapping[str, Tensor] | None, b: Mapping[str, Tensor]) -> bool:
    return (
        a is not None
        and a.keys() == b.keys()
        and all(a[k].shape == b[k].shape and torch.allclose(a[k].detach().to(F64), b[k].detach().to(F64), **TOL) for k in a)
    )


def loss_weights(expected: Mapping[str, Tensor], gen: torch.Generator) -> dict[str, Tensor]:
    """A random weight for every element of the floating-point outputs (ids and counts have none)."""
    return {k: torch.randn(v.shape, generator=gen, dtype=F64) for k, v in expected.items() if v.is_floating_point()}


def weighted_loss(outputs: Mapping[str, Tensor], weights: Mapping[str, Tensor]) -> Tensor:
    return sum(((outputs[k].to(F64) * w).sum() for k, w in weights.items()), torch.zeros((), dtype=F64))


def match(variants: tuple[Variant, ...], behaves_like: Callable[[Mapping[str, Any]], bool], pairs: bool = True) -> tuple[str, ...]:
    """The key of the first variant ``behaves_like`` accepts, else (with ``pairs``) the keys of the
    first pair of variants (on different options) it accepts at once; empty when none."""
    for v in variants:
        if behaves_like(v.options):
            return (v.key,)
    if pairs:
        for a, b in itertools.combinations(variants, 2):
            if not a.options.keys() & b.options.keys() and behaves_like({**a.options, **b.options}):
                return (a.key, b.key)
    return ()


def diagnose(ctx: Context, spec: Spec, case: Case, prep: Prepared, got: Mapping[str, Tensor] | BaseException) -> tuple[str, ...]:
    """The keys of the variants whose outputs on these arguments are ``got`` (or that raise the same
    error): one variant, else two at once; empty when none does."""

    def behaves_like(options: Mapping[str, Any]) -> bool:
        try:
            with torch.no_grad():
                out = spec.variant(options, prep, case)
        except Exception as e:  # a variant that fails where the student's code failed, the same way
            return isinstance(got, BaseException) and type(e) is type(got) and str(e) == str(got)
        return not isinstance(got, BaseException) and same(got, out)

    return match(ctx.exercise.variants, behaves_like, pairs=not isinstance(got, BaseException))


def advice(error: BaseException, prep: Prepared, case: Case) -> Msg | None:
    """A general diagnosis of an error raised by the student's code."""
    text = str(error)
    if isinstance(error, NotImplementedError):
        return msg("advice.not_written")
    if not case.bias and isinstance(error, TypeError) and "NoneType" in text:
        return msg("advice.bias_none")
    if "shapes cannot be multiplied" in text or "size mismatch" in text:
        return msg("advice.matmul", params=shapes({k: v for k, v in prep.tensors.items() if k.startswith(("weight", "bias")) or "." in k}))
    if ("dtype" in text or "scalar type" in text) and "inplace" not in text:
        return msg("advice.dtype")
    if "size of tensor" in text or "shape" in text or "dimension" in text or "size" in text:
        return msg("advice.shapes", shapes=shapes(prep.tensors))
    return None


def raised(ctx: Context, spec: Spec, case: Case, prep: Prepared, call: str, error: Exception) -> Failed:
    """The failure for an error the student's code raised on ``case``, diagnosed."""
    return Failed(
        msg("fail.raised", call=call, error=one_line(error)),
        case=case.describe(),
        diagnosis=diagnose(ctx, spec, case, prep, error),
        advice=advice(error, prep, case),
        where=where(error, ctx.files),
    )


def check_shapes(ctx: Context, spec: Spec) -> Msg:
    for index, case in enumerate(spec.cases):
        prep, run = spec.prepared(ctx, index), spec.student_run(ctx, index)
        for name, want in prep.expected.items():
            got = run.outputs[name]
            if got.shape != want.shape:
                why = msg("fail.shape", name=name, got=str(tuple(got.shape)), want=str(tuple(want.shape)), ref=shown(spec.name))
                raise Failed(why, case=case.describe(), diagnosis=diagnose(ctx, spec, case, prep, run.outputs))
            if got.dtype != want.dtype:
                raise Failed(
                    msg("fail.dtype", name=name, got=str(got.dtype), want=str(want.dtype)), case=case.describe(), advice=msg("advice.dtype")
                )
    return msg("covered.cases", n=len(spec.cases))


def check_values(ctx: Context, spec: Spec) -> Msg:
    for index, case in enumerate(spec.cases):
        prep, run = spec.prepared(ctx, index), spec.student_run(ctx, index)
        if same(run.outputs, prep.expected):
            continue
        lines = []
        for name, want in prep.expected.items():
            mine = run.outputs[name].detach().to(F64)
            if torch.allclose(mine, want.to(F64), **TOL):
                lines.append(msg("fail.value_ok", name=name))
            else:
                diff = (mine - want.to(F64)).abs()
                at = [int(i) for i in torch.unravel_index(diff.argmax(), diff.shape)]
                lines.insert(0, msg("fail.value", name=name, diff=float(diff.max()), index=str(at), ref=shown(spec.name)))
        diagnosis = diagnose(ctx, spec, case, prep, run.outputs)
        raise Failed(*lines, case=case.describe(), diagnosis=diagnosis, advice=None if diagnosis else msg("advice.unknown"))
    return msg("covered.cases", n=len(spec.cases))


def check_gradients(ctx: Context, spec: Spec) -> Msg:
    for index, case in enumerate(spec.cases):
        prep, run = spec.prepared(ctx, index), spec.student_run(ctx, index)
        loss = weighted_loss(run.outputs, prep.weights)
        if loss.requires_grad:
            try:
                loss.backward()
            except Exception as e:
                raise Failed(msg("fail.backward", error=one_line(e)), case=case.describe(), where=where(e, ctx.files)) from None
        lines, cut = [], None
        for name, want in prep.grads.items():
            leaf = run.leaves.get(name)
            mine = None if leaf is None else leaf.grad
            if (mine is None or not mine.any()) and want.any():
                lines.append(msg("fail.grad_none", name=name))
                cut = cut or name
            elif mine is not None and not torch.allclose(mine, want, **TOL):
                lines.append(msg("fail.grad", name=name, diff=float((mine - want).abs().max())))
        if lines:
            why = msg("advice.graph", name=cut) if cut else msg("advice.grad")
            raise Failed(*lines, case=case.describe(), advice=why)
    return msg("covered.cases", n=len(spec.cases))
