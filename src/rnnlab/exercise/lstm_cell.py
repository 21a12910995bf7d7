"""Exercise 6, ``lstm_cell``: LSTMCell from scratch, checked against ``torch.nn.LSTMCell``; the
entry, its skeleton, the step with its known mistakes (shared with exercise 8, ``lstm_layers``)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from torch import Tensor

from rnnlab.exercise import twin
from rnnlab.exercise.cells import ACT, biases, cell_twin, common_variants, input_product, project
from rnnlab.exercise.core import Exercise, Variant

SKELETON = """
# rnnlab exercise: lstm_cell
# [en] Exercise 6 of lecture 12 (the homework): an LSTM cell from scratch, equal to torch.nn.LSTMCell.
# [zh] 第 12 讲练习 6（课后作业）：从零写一个 LSTM 单元，与 torch.nn.LSTMCell 相等。
# [en] Check it with:  rnnlab exercise check lstm_cell.py   (docs/exercises.md says what is checked)
# [zh] 检查：rnnlab exercise check lstm_cell.py（检查什么，见 docs/exercises.zh.md）
#
# [en] An LSTM carries two states: the hidden state h (its output) and the cell state c (its memory).
# [en] Three gates, each a sigmoid in (0, 1), decide what the memory forgets (f), takes in (i) and
# [en] shows (o); g, a tanh in (-1, 1), is what it may take in. One step:
# [zh] LSTM 有两个状态：隐藏状态 h（输出）和细胞状态 c（记忆）。三个门都是取值在 (0, 1) 的 sigmoid，
# [zh] 决定记忆遗忘多少（f）、写入多少（i）、输出多少（o）；g 是取值在 (-1, 1) 的 tanh，是可以写入的内容。
# [zh] 一个时间步：
#
#     i  = sigmoid(x W_ii^T + b_ii + h W_hi^T + b_hi)
#     f  = sigmoid(x W_if^T + b_if + h W_hf^T + b_hf)
#     g  = tanh(x W_ig^T + b_ig + h W_hg^T + b_hg)
#     o  = sigmoid(x W_io^T + b_io + h W_ho^T + b_ho)
#     c' = f * c + i * g
#     h' = o * tanh(c')
#
# [en] torch.nn stacks the four gates in one matrix each, in the order i, f, g, o:
# [zh] torch.nn 把四个门按 i, f, g, o 的顺序各堆叠成一个矩阵：
#
#     weight_ih (4H, D) = [W_ii; W_if; W_ig; W_io]
#     weight_hh (4H, H) = [W_hi; W_hf; W_hg; W_ho]
#     bias_ih (4H,) = [b_ii; b_if; b_ig; b_io]    bias_hh (4H,) = [b_hi; b_hf; b_hg; b_ho]
#
# [en] Rows 0:H are gate i, H:2H f, 2H:3H g, 3H:4H o. Shapes (B: batch, D: input_size, H: hidden_size):
# [zh] 第 0:H 行是门 i，H:2H 是 f，2H:3H 是 g，3H:4H 是 o。形状（B：批量，D：input_size，H：hidden_size）：
#
#     x (B, D)    h, c (B, H)    h', c' (B, H)
#
# [en] The checks copy torch.nn.LSTMCell's weights into yours by name, then compare (h', c'), their
# [en] shapes and the gradients in float64: keep the class name, the signatures and the parameter
# [en] names. How you compute inside forward is yours to choose (one product for all four gates,
# [en] or one per gate; torch.chunk or slices).
# [zh] 检查会按名字把 torch.nn.LSTMCell 的权重复制到你的参数里，再在 float64 下比较 (h', c')、它们的
# [zh] 形状和梯度：请保留类名、函数签名和参数名。forward 里面怎么算由你决定（四个门一次矩阵乘法，
# [zh] 或者每个门一次；torch.chunk 或切片都可以）。

import math

import torch
from torch import nn


class LSTMCell(nn.Module):
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.weight_ih = nn.Parameter(torch.empty(4 * hidden_size, input_size))  # (4H, D)
        self.weight_hh = nn.Parameter(torch.empty(4 * hidden_size, hidden_size))  # (4H, H)
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(4 * hidden_size))  # (4H,)
            self.bias_hh = nn.Parameter(torch.empty(4 * hidden_size))  # (4H,)
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
        # input (B, D), hx = (h, c) each (B, H), or None -> (h', c') each (B, H)
        if hx is None:
            # [en] No state given: zeros, with the input's dtype and device.
            # [zh] 没有给出状态：用全零，dtype 和 device 与输入相同。
            zeros = input.new_zeros(input.size(0), self.hidden_size)  # (B, H)
            hx = (zeros, zeros)
        h, c = hx
        # TODO
        # [en] 1. The four gates' pre-activations, (B, 4H): x W_ih^T + b_ih + h W_hh^T + b_hh
        # [en]    (the biases are None when bias=False).
        # [en] 2. Split them into i, f, g, o, each (B, H), in torch's order; sigmoid or tanh each.
        # [en] 3. c' = f * c + i * g, then h' = o * tanh(c'). Return (h', c'), in that order.
        # [zh] 1. 四个门激活前的值，形状 (B, 4H)：x W_ih^T + b_ih + h W_hh^T + b_hh
        # [zh]    （bias=False 时偏置为 None）。
        # [zh] 2. 按 torch 的顺序拆成 i, f, g, o，各 (B, H)；分别套上 sigmoid 或 tanh。
        # [zh] 3. c' = f * c + i * g，然后 h' = o * tanh(c')。按这个顺序返回 (h', c')。
        raise NotImplementedError("TODO: LSTMCell.forward")


if __name__ == "__main__":
    # [en] This part runs when you run the file (python lstm_cell.py), not when it is checked.
    # [zh] 这一部分只在直接运行本文件时执行（python lstm_cell.py），检查时不会执行。
    cell = LSTMCell(input_size=10, hidden_size=8)
    x = torch.randn(1, 10)  # (batchSize, embeddingSize)
    h, c = cell(x)
    print(h.shape, c.shape)  # torch.Size([1, 8]) torch.Size([1, 8])
"""

ORDER = "ifgo"  # torch.nn's order of the gates' rows
SIGMOID_GATES = "ifo"


def lstm_step(
    options: Mapping[str, Any], x: Tensor, hx: tuple[Tensor, Tensor] | None, p: Mapping[str, Tensor], suffix: str = ""
) -> tuple[Tensor, Tensor]:
    """One LSTM step as torch.nn computes it, or with the mistakes ``options`` name; ``p`` holds the
    weights under torch.nn's names (with ``suffix``, ``_l0`` ..., for a layer's)."""
    w_ih, w_hh = p[f"weight_ih{suffix}"], p[f"weight_hh{suffix}"]
    if hx is None:
        zeros = x.new_zeros(x.shape[0], w_hh.shape[1])  # (B, H)
        hx = (zeros, zeros)
    h, c = hx
    if options.get("unpack_swapped"):
        h, c = c, h
    b_ih, b_hh = biases(options, p, suffix)
    pre = input_product(options, x, w_ih) + project(h, w_hh, options.get("hh") == "untransposed")  # (B, 4H)
    for b in (b_ih, b_hh):
        if b is not None:
            pre = pre + b
    named = dict(zip(options.get("order", ORDER), pre.chunk(4, dim=1)))  # (B, H) each
    acts = {k: "sigmoid" if k in SIGMOID_GATES else "tanh" for k in ORDER} | dict(options.get("acts", {}))
    i, f, g, o = (ACT[acts[k]](named[k]) for k in ORDER)
    c_new = f * (h if options.get("c_from_h") else c) + i * g
    h_new = o * ACT[options.get("squash", "tanh")](c if options.get("h_from_old_c") else c_new)
    return (c_new, h_new) if options.get("return_swapped") else (h_new, c_new)


def _variant(key: str, options: dict, label: tuple[str, str], why: tuple[str, str]) -> Variant:
    return Variant(key, options, dict(zip(("en", "zh"), label)), dict(zip(("en", "zh"), why)), "homework")


def _order(order: str) -> Variant:
    shown = ", ".join(order)
    return _variant(
        f"order_{order}",
        {"order": order},
        (f"gates in the order {shown}", f"门的顺序是 {shown}"),
        (
            f"torch.nn stacks the gates' rows in the order i, f, g, o (rows 0:H are i, H:2H f, 2H:3H g, 3H:4H o, in weight_ih, weight_hh "
            f"and both biases); your code reads them as {shown}",
            f"torch.nn 按 i, f, g, o 的顺序堆叠各门的行（在 weight_ih、weight_hh 和两个偏置中，第 0:H 行是 i，H:2H 是 f，2H:3H 是 g，"
            f"3H:4H 是 o）；你的代码按 {shown} 的顺序读取",
        ),
    )


_GATES_WHY = (
    "i, f and o are gates: sigmoid, in (0, 1), how much passes; g is the candidate: tanh, in (-1, 1), what may be written",
    "i、f、o 是门：用 sigmoid，取值在 (0, 1)，表示通过多少；g 是候选值：用 tanh，取值在 (-1, 1)，表示可以写入的内容",
)


def _act(gate: str) -> Variant:
    wrong = "sigmoid" if gate == "g" else "tanh"
    return _variant(f"act_{gate}", {"acts": {gate: wrong}}, (f"{wrong} on {gate}", f"{gate} 用了 {wrong}"), _GATES_WHY)


VARIANTS = (
    *(_order("".join(o)) for o in itertools.permutations(ORDER) if "".join(o) != ORDER),
    *(_act(gate) for gate in ORDER),
    _variant(
        "acts_swapped",
        {"acts": {"i": "tanh", "f": "tanh", "g": "sigmoid", "o": "tanh"}},
        ("tanh and sigmoid swapped on every gate", "所有门的 tanh 和 sigmoid 都用反了"),
        _GATES_WHY,
    ),
    _variant(
        "squash_sigmoid",
        {"squash": "sigmoid"},
        ("sigmoid(c') instead of tanh(c')", "用了 sigmoid(c') 而不是 tanh(c')"),
        (
            "h' = o * tanh(c'): the cell state is squashed with tanh before the output gate",
            "h' = o * tanh(c')：细胞状态先用 tanh 压缩，再乘输出门",
        ),
    ),
    _variant(
        "no_squash",
        {"squash": "none"},
        ("tanh(c') forgotten", "漏掉了 tanh(c')"),
        (
            "h' = o * tanh(c'): the cell state is squashed with tanh before the output gate",
            "h' = o * tanh(c')：细胞状态先用 tanh 压缩，再乘输出门",
        ),
    ),
    _variant(
        "c_from_h",
        {"c_from_h": True},
        ("f * h instead of f * c", "写成了 f * h 而不是 f * c"),
        ("the forget gate scales the previous cell state: c' = f * c + i * g", "遗忘门作用在上一步的细胞状态上：c' = f * c + i * g"),
    ),
    _variant(
        "h_from_old_c",
        {"h_from_old_c": True},
        ("h' from the old c", "用旧的 c 计算 h'"),
        ("h' = o * tanh(c') uses the new cell state c', computed first", "h' = o * tanh(c') 用的是先算出来的新细胞状态 c'"),
    ),
    _variant(
        "return_swapped",
        {"return_swapped": True},
        ("h and c swapped on return", "返回时 h 和 c 的顺序反了"),
        (
            "torch.nn.LSTMCell returns (h', c'): the hidden state first, then the cell state",
            "torch.nn.LSTMCell 返回 (h', c')：先隐藏状态，后细胞状态",
        ),
    ),
    _variant(
        "unpack_swapped",
        {"unpack_swapped": True},
        ("h and c swapped when reading hx", "读取 hx 时 h 和 c 的顺序反了"),
        ("hx is (h, c): the hidden state first, then the cell state (h, c = hx)", "hx 是 (h, c)：先隐藏状态，后细胞状态（h, c = hx）"),
    ),
    *common_variants("homework"),
)

EXERCISE = Exercise(
    name="lstm_cell",
    number=6,
    title={"en": "LSTMCell from scratch: four gates, two states", "zh": "从零写 LSTMCell：四个门，两个状态"},
    target="LSTMCell",
    skeleton=SKELETON,
    checks=twin.checks(cell_twin("LSTMCell", lstm_step, ("h", "c"))),
    variants=VARIANTS,
    lesson="homework",
)
