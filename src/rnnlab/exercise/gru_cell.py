"""Exercise 7, ``gru_cell``: GRUCell from scratch, checked against ``torch.nn.GRUCell``; the entry,
its skeleton and the step with its known mistakes (Cho et al.'s candidate among them)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from torch import Tensor

from rnnlab.exercise import twin
from rnnlab.exercise.cells import ACT, biases, cell_twin, common_variants, input_product, project
from rnnlab.exercise.core import Exercise, Variant

SKELETON = """
# rnnlab exercise: gru_cell
# [en] Exercise 7 of lecture 12 (the homework): a GRU cell from scratch, equal to torch.nn.GRUCell.
# [zh] 第 12 讲练习 7（课后作业）：从零写一个 GRU 单元，与 torch.nn.GRUCell 相等。
# [en] Check it with:  rnnlab exercise check gru_cell.py   (docs/exercises.md says what is checked)
# [zh] 检查：rnnlab exercise check gru_cell.py（检查什么，见 docs/exercises.zh.md）
#
# [en] A GRU keeps one state h. The reset gate r decides how much of the past enters the candidate n;
# [en] the update gate z decides how much of the old state is kept. One step:
# [zh] GRU 只有一个状态 h。重置门 r 决定过去的信息有多少进入候选值 n；更新门 z 决定保留多少旧状态。
# [zh] 一个时间步：
#
#     r  = sigmoid(x W_ir^T + b_ir + h W_hr^T + b_hr)
#     z  = sigmoid(x W_iz^T + b_iz + h W_hz^T + b_hz)
#     n  = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn))
#     h' = (1 - z) * n + z * h
#
# [en] Mind n: r multiplies the whole recurrent term, h W_hn^T + b_hn, after the product. That is
# [en] torch.nn's GRU; the paper that introduced the GRU (Cho et al., 2014) put r inside, (r * h) W_hn^T.
# [zh] 注意 n：r 乘的是整个循环项 h W_hn^T + b_hn，在矩阵乘法之后。这是 torch.nn 的 GRU；
# [zh] 提出 GRU 的论文（Cho 等，2014）把 r 放在里面：(r * h) W_hn^T。
#
# [en] torch.nn stacks the three parts in one matrix each, in the order r, z, n:
# [zh] torch.nn 把三部分按 r, z, n 的顺序各堆叠成一个矩阵：
#
#     weight_ih (3H, D) = [W_ir; W_iz; W_in]    weight_hh (3H, H) = [W_hr; W_hz; W_hn]
#     bias_ih (3H,) = [b_ir; b_iz; b_in]        bias_hh (3H,) = [b_hr; b_hz; b_hn]
#
# [en] Shapes (B: batch, D: input_size, H: hidden_size):  x (B, D)   h (B, H)   h' (B, H)
# [zh] 形状（B：批量，D：input_size，H：hidden_size）：x (B, D)   h (B, H)   h' (B, H)
#
# [en] The checks copy torch.nn.GRUCell's weights into yours by name, then compare h', its shape and
# [en] the gradients in float64: keep the class name, the signatures and the parameter names. How
# [en] you compute inside forward is yours to choose.
# [zh] 检查会按名字把 torch.nn.GRUCell 的权重复制到你的参数里，再在 float64 下比较 h'、它的形状和
# [zh] 梯度：请保留类名、函数签名和参数名。forward 里面怎么算由你决定。

import math

import torch
from torch import nn


class GRUCell(nn.Module):
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.weight_ih = nn.Parameter(torch.empty(3 * hidden_size, input_size))  # (3H, D)
        self.weight_hh = nn.Parameter(torch.empty(3 * hidden_size, hidden_size))  # (3H, H)
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(3 * hidden_size))  # (3H,)
            self.bias_hh = nn.Parameter(torch.empty(3 * hidden_size))  # (3H,)
        else:
            # [en] Without biases the attributes still exist and hold None, as in torch.nn.
            # [zh] 没有偏置时这两个属性仍然存在，值为 None，与 torch.nn 相同。
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        # [en] torch.nn's initialisation: every parameter uniform in [-1/sqrt(H), 1/sqrt(H)].
        # [zh] torch.nn 的初始化：每个参数都在 [-1/sqrt(H), 1/sqrt(H)] 上均匀分布。
        bound = 1 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def forward(self, input, hx=None):
        # input (B, D), hx (B, H) or None -> h' (B, H)
        if hx is None:
            # [en] No state given: zeros, with the input's dtype and device.
            # [zh] 没有给出状态：用全零，dtype 和 device 与输入相同。
            hx = input.new_zeros(input.size(0), self.hidden_size)  # (B, H)
        # TODO
        # [en] 1. x W_ih^T + b_ih and h W_hh^T + b_hh, each (B, 3H), kept apart: n needs the second's
        # [en]    n part on its own (the biases are None when bias=False).
        # [en] 2. Split each into its r, z, n parts (B, H); r and z take both parts' sum, through sigmoid.
        # [en] 3. n = tanh(x part + r * h part), then h' = (1 - z) * n + z * h.
        # [zh] 1. 分别计算 x W_ih^T + b_ih 和 h W_hh^T + b_hh，形状各为 (B, 3H)，不要先相加：n 需要
        # [zh]    后者单独的 n 部分（bias=False 时偏置为 None）。
        # [zh] 2. 把两者各拆成 r, z, n 三部分 (B, H)；r 和 z 取两部分之和，再经过 sigmoid。
        # [zh] 3. n = tanh(x 部分 + r * h 部分)，然后 h' = (1 - z) * n + z * h。
        raise NotImplementedError("TODO: GRUCell.forward")


if __name__ == "__main__":
    # [en] This part runs when you run the file (python gru_cell.py), not when it is checked.
    # [zh] 这一部分只在直接运行本文件时执行（python gru_cell.py），检查时不会执行。
    cell = GRUCell(input_size=10, hidden_size=8)
    x = torch.randn(1, 10)  # (batchSize, embeddingSize)
    print(cell(x).shape)  # torch.Size([1, 8])
"""

ORDER = "rzn"  # torch.nn's order of the rows


def gru_step(options: Mapping[str, Any], x: Tensor, h: Tensor | None, p: Mapping[str, Tensor]) -> Tensor:
    """One GRU step as torch.nn computes it, or with the mistakes ``options`` name."""
    w_ih, w_hh = p["weight_ih"], p["weight_hh"]
    if h is None:
        h = x.new_zeros(x.shape[0], w_hh.shape[1])  # (B, H)
    b_ih, b_hh = biases(options, p)
    untransposed = options.get("hh") == "untransposed"
    gx = input_product(options, x, w_ih)  # (B, 3H)
    if b_ih is not None:
        gx = gx + b_ih
    gh = project(h, w_hh, untransposed)  # (B, 3H)
    if b_hh is not None:
        gh = gh + b_hh
    order = options.get("order", ORDER)
    xs, hs = dict(zip(order, gx.chunk(3, dim=1))), dict(zip(order, gh.chunk(3, dim=1)))  # (B, H) each
    acts = {"r": "sigmoid", "z": "sigmoid", "n": "tanh"} | dict(options.get("acts", {}))
    r, z = ACT[acts["r"]](xs["r"] + hs["r"]), ACT[acts["z"]](xs["z"] + hs["z"])
    candidate = options.get("candidate")
    if candidate in ("cho", "cho_no_b_hn"):  # W_hn (r * h) (+ b_hn)
        w_hn = w_hh.split(w_hh.shape[1])[order.index("n")]
        inner = project(r * h, w_hn, untransposed)
        b_hn = b_hh.chunk(3)[order.index("n")] if b_hh is not None and candidate == "cho" else None
        pre = xs["n"] + (inner if b_hn is None else inner + b_hn)
    elif candidate == "b_hn_outside":  # r * (W_hn h) + b_hn
        b_hn = b_hh.chunk(3)[order.index("n")] if b_hh is not None else 0
        pre = xs["n"] + r * (hs["n"] - b_hn) + b_hn
    elif candidate == "no_reset":
        pre = xs["n"] + hs["n"]
    else:
        pre = xs["n"] + r * hs["n"]
    n = ACT[acts["n"]](pre)
    return z * n + (1 - z) * h if options.get("update") == "swapped" else (1 - z) * n + z * h


def _variant(key: str, options: dict, label: tuple[str, str], why: tuple[str, str]) -> Variant:
    return Variant(key, options, dict(zip(("en", "zh"), label)), dict(zip(("en", "zh"), why)), "homework")


def _order(order: str) -> Variant:
    shown = ", ".join(order)
    return _variant(
        f"order_{order}",
        {"order": order},
        (f"parts in the order {shown}", f"三部分的顺序是 {shown}"),
        (
            f"torch.nn stacks the rows in the order r, z, n (rows 0:H are r, H:2H z, 2H:3H n, in weight_ih, weight_hh and both biases); "
            f"your code reads them as {shown}",
            f"torch.nn 按 r, z, n 的顺序堆叠各行（在 weight_ih、weight_hh 和两个偏置中，第 0:H 行是 r，H:2H 是 z，2H:3H 是 n）；"
            f"你的代码按 {shown} 的顺序读取",
        ),
    )


_GATES_WHY = (
    "r and z are gates: sigmoid, in (0, 1); n is the candidate state: tanh, in (-1, 1)",
    "r 和 z 是门：用 sigmoid，取值在 (0, 1)；n 是候选状态：用 tanh，取值在 (-1, 1)",
)
_CANDIDATE = "torch.nn's candidate is n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn))"
_CANDIDATE_ZH = "torch.nn 的候选值是 n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn))"

VARIANTS = (
    _variant(
        "cho",
        {"candidate": "cho"},
        ("the candidate of Cho et al. (2014)", "用了 Cho 等（2014）论文中的候选值"),
        (
            f"your n is tanh(x W_in^T + b_in + (r * h) W_hn^T + b_hn), the original paper's; {_CANDIDATE}: r multiplies the whole "
            "recurrent term after the product, its bias included",
            f"你的 n 是 tanh(x W_in^T + b_in + (r * h) W_hn^T + b_hn)，即原论文的写法；{_CANDIDATE_ZH}：r 在矩阵乘法之后乘以整个循环项，"
            "偏置也在内",
        ),
    ),
    _variant(
        "cho_no_b_hn",
        {"candidate": "cho_no_b_hn"},
        ("the candidate of Cho et al. (2014), without b_hn", "用了 Cho 等（2014）论文中的候选值，且没有 b_hn"),
        (
            f"your n is tanh(x W_in^T + b_in + (r * h) W_hn^T), the original paper's; {_CANDIDATE}: r multiplies the whole "
            "recurrent term after the product, and b_hn (rows 2H:3H of bias_hh) is inside it",
            f"你的 n 是 tanh(x W_in^T + b_in + (r * h) W_hn^T)，即原论文的写法；{_CANDIDATE_ZH}：r 在矩阵乘法之后乘以整个循环项，"
            "b_hn（bias_hh 的第 2H:3H 行）也在其中",
        ),
    ),
    _variant(
        "b_hn_outside",
        {"candidate": "b_hn_outside"},
        ("b_hn outside r * (...)", "b_hn 放在了 r * (...) 外面"),
        (f"{_CANDIDATE}: b_hn is inside the reset gate's product", f"{_CANDIDATE_ZH}：b_hn 在重置门的乘积里面"),
    ),
    _variant(
        "no_reset",
        {"candidate": "no_reset"},
        ("the reset gate unused", "没有用到重置门"),
        (f"{_CANDIDATE}: r decides how much of the past enters it", f"{_CANDIDATE_ZH}：r 决定过去的信息有多少进入候选值"),
    ),
    _variant(
        "z_swapped",
        {"update": "swapped"},
        ("(1 - z) and z swapped", "(1 - z) 和 z 用反了"),
        (
            "torch.nn keeps the old state with z: h' = (1 - z) * n + z * h, so z near 1 keeps h",
            "torch.nn 用 z 保留旧状态：h' = (1 - z) * n + z * h，z 接近 1 时保持 h 不变",
        ),
    ),
    *(_order("".join(o)) for o in itertools.permutations(ORDER) if "".join(o) != ORDER),
    *(
        _variant(f"act_{k}", {"acts": {k: wrong}}, (f"{wrong} on {k}", f"{k} 用了 {wrong}"), _GATES_WHY)
        for k, wrong in (("r", "tanh"), ("z", "tanh"), ("n", "sigmoid"))
    ),
    *common_variants("homework"),
)

EXERCISE = Exercise(
    name="gru_cell",
    number=7,
    title={"en": "GRUCell from scratch: reset, update, candidate", "zh": "从零写 GRUCell：重置门、更新门、候选值"},
    target="GRUCell",
    skeleton=SKELETON,
    checks=twin.checks(cell_twin("GRUCell", gru_step, ("h",))),
    variants=VARIANTS,
    lesson="homework",
)
