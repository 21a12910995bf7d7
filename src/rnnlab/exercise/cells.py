"""What the three cell exercises share: their configurations, how a cell is built and called as
torch.nn's is, the products as torch.nn computes them (or with a weight untransposed), and the
mistakes any cell can make: a bias forgotten, a weight used untransposed.

The configurations have sizes that all differ (B=2, D=4, H=5 first), so that a swapped axis
raises or shows instead of passing by chance; one has no biases and one no initial state.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor

from rnnlab.exercise.core import Variant
from rnnlab.exercise.twin import F64, Case, Twin

CASES = (
    Case((("B", 2), ("D", 4), ("H", 5)), bias=True, state=True),
    Case((("B", 3), ("D", 6), ("H", 2)), bias=False, state=True),
    Case((("B", 4), ("D", 3), ("H", 6)), bias=True, state=False),
)
ACT: dict[str, Callable[[Tensor], Tensor]] = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu, "none": lambda v: v}


def project(v: Tensor, w: Tensor, untransposed: bool = False) -> Tensor:
    """``v W^T`` (B, rows of W), as torch.nn computes it; ``untransposed``: ``v`` times each (H, H)
    block of ``W`` as it stands, the mistake (a whole (k*H, H) weight would not fit)."""
    if not untransposed:
        return v @ w.T
    return torch.cat([v @ block for block in w.split(w.shape[1])], dim=1)


def inputs_of(case: Case, gen: torch.Generator, states: tuple[str, ...]) -> dict[str, Tensor]:
    """x (B, D), and each state (B, H) when the configuration gives one."""
    b, d, h = case["B"], case["D"], case["H"]
    x = {"x": torch.randn(b, d, generator=gen, dtype=F64)}
    return x | ({s: torch.randn(b, h, generator=gen, dtype=F64) for s in states} if case.state else {})


def cell_twin(twin: str, reference: Callable[[Mapping[str, Any], Tensor, Any, dict[str, Tensor]], Any], states: tuple[str, ...]) -> Twin:
    """A cell checked against ``torch.nn.<twin>``: built as ``Cell(D, H, bias=...)``, called as
    ``cell(x, hx)`` with ``hx`` a tensor (one state) or a tuple (``h, c``) or None; ``reference(options,
    x, hx, params)`` returns what the cell returns."""
    pair = len(states) == 2

    def call(case: Case, inputs: dict[str, Tensor]) -> tuple:
        if not case.state:
            return (inputs["x"], None)
        return (inputs["x"], tuple(inputs[s] for s in states) if pair else inputs[states[0]])

    def outputs(raw: Any) -> dict[str, Tensor] | None:
        if not pair:
            return {"h'": raw} if isinstance(raw, Tensor) else None
        if isinstance(raw, (tuple, list)) and len(raw) == 2 and all(isinstance(t, Tensor) for t in raw):
            return {"h'": raw[0], "c'": raw[1]}
        return None

    return Twin(
        name=f"torch.nn.{twin}",
        build=getattr(torch.nn, twin),
        cases=CASES,
        arguments=lambda case: ((case["D"], case["H"]), {"bias": case.bias}),
        inputs=lambda case, gen: inputs_of(case, gen, states),
        call=call,
        outputs=outputs,
        returns="(h', c')" if pair else "h'",
        reference=lambda options, params, case, args: reference(options, args[0], args[1], params),
    )


def biases(options: Mapping[str, Any], params: Mapping[str, Tensor], suffix: str = "") -> tuple[Tensor | None, Tensor | None]:
    """bias_ih and bias_hh (None where there is none, or where ``options`` forget it)."""
    b_ih, b_hh = params.get(f"bias_ih{suffix}"), params.get(f"bias_hh{suffix}")
    return (None if options.get("no_b_ih") else b_ih), (None if options.get("no_b_hh") else b_hh)


def common_variants(lesson: str) -> tuple[Variant, ...]:
    """A bias forgotten, a weight used untransposed: mistakes any cell can make."""
    return (
        Variant(
            "no_b_hh",
            {"no_b_hh": True},
            {"en": "b_hh forgotten", "zh": "漏掉了 b_hh"},
            {
                "en": "torch.nn adds two biases, bias_ih (b_ih) and bias_hh (b_hh): with bias=True both belong in the sum",
                "zh": "torch.nn 有两个偏置 bias_ih（b_ih）和 bias_hh（b_hh）：bias=True 时两者都要加进去",
            },
            lesson,
        ),
        Variant(
            "no_b_ih",
            {"no_b_ih": True},
            {"en": "b_ih forgotten", "zh": "漏掉了 b_ih"},
            {
                "en": "torch.nn adds two biases, bias_ih (b_ih) and bias_hh (b_hh): with bias=True both belong in the sum",
                "zh": "torch.nn 有两个偏置 bias_ih（b_ih）和 bias_hh（b_hh）：bias=True 时两者都要加进去",
            },
            lesson,
        ),
        Variant(
            "hh_untransposed",
            {"hh": "untransposed"},
            {"en": "weight_hh used untransposed", "zh": "weight_hh 没有转置"},
            {
                "en": "torch.nn keeps a weight as (outputs, inputs), so the product with the state is h @ weight_hh.T "
                "(or F.linear(h, weight_hh)); h @ W for a square block W runs, but with the transpose",
                "zh": "torch.nn 的权重形状是（输出, 输入），所以与状态相乘应写 h @ weight_hh.T（或 F.linear(h, weight_hh)）；"
                "对方阵块 W 写 h @ W 也能运行，但用的是转置",
            },
            lesson,
        ),
        Variant(
            "ih_untransposed",
            {"ih": "untransposed"},
            {"en": "weight_ih used untransposed", "zh": "weight_ih 没有转置"},
            {
                "en": "torch.nn keeps a weight as (outputs, inputs), so the product with the input is x @ weight_ih.T (or F.linear(x, weight_ih))",
                "zh": "torch.nn 的权重形状是（输出, 输入），所以与输入相乘应写 x @ weight_ih.T（或 F.linear(x, weight_ih)）",
            },
            lesson,
        ),
    )


def input_product(options: Mapping[str, Any], x: Tensor, w_ih: Tensor) -> Tensor:
    """x W_ih^T, or the untransposed product (which fails, as the student's does, when D differs)."""
    return x @ w_ih if options.get("ih") == "untransposed" else x @ w_ih.T
