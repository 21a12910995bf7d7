"""Exercise 1, ``rnn_cell``: RNNCell's forward pass from matrix products and tanh, checked against
``torch.nn.RNNCell``; the entry, its skeleton and its known mistakes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import Tensor

from rnnlab.exercise import twin
from rnnlab.exercise.cells import ACT, biases, cell_twin, common_variants, input_product, project
from rnnlab.exercise.core import Exercise, Variant

SKELETON = """
# rnnlab exercise: rnn_cell
# [en] Exercise 1 of lecture 12: RNNCell's forward pass, from matrix products and tanh.
# [zh] 第 12 讲练习 1：用矩阵乘法和 tanh 写出 RNNCell 的前向计算。
# [en] Check it with:  rnnlab exercise check rnn_cell.py   (docs/exercises.md says what is checked)
# [zh] 检查：rnnlab exercise check rnn_cell.py（检查什么，见 docs/exercises.zh.md）
#
# [en] The lecture's program 1 calls torch.nn.RNNCell once per time step: hidden = cell(input, hidden).
# [en] Here you write that cell. One step takes the input x and the previous hidden state h:
# [zh] 课上的程序 1 每个时间步调用一次 torch.nn.RNNCell：hidden = cell(input, hidden)。
# [zh] 这里由你来写这个单元。一个时间步读入输入 x 和上一步的隐藏状态 h：
#
#     h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)
#
# [en] Shapes (B: batch size, D: input_size, H: hidden_size):
# [zh] 形状（B：批量大小 batchSize，D：输入维度 input_size，H：隐层维度 hidden_size）：
#
#     x (B, D)            h (B, H)            h' (B, H)
#     weight_ih (H, D)    weight_hh (H, H)    bias_ih (H,)    bias_hh (H,)
#
# [en] The checks copy torch.nn.RNNCell's weights into yours by name, then compare h', its shape
# [en] and the gradients in float64: keep the class name, the signatures and the parameter names.
# [en] How you compute inside forward is yours to choose.
# [zh] 检查会按名字把 torch.nn.RNNCell 的权重复制到你的参数里，再在 float64 下比较 h'、它的形状
# [zh] 和梯度：请保留类名、函数签名和参数名。forward 里面怎么算由你决定。

import math

import torch
from torch import nn


class RNNCell(nn.Module):
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        # [en] A weight is (outputs, inputs), as torch.nn keeps it: one row per hidden unit.
        # [zh] 权重的形状是（输出, 输入），与 torch.nn 相同：每个隐藏单元一行。
        self.weight_ih = nn.Parameter(torch.empty(hidden_size, input_size))  # (H, D)
        self.weight_hh = nn.Parameter(torch.empty(hidden_size, hidden_size))  # (H, H)
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(hidden_size))  # (H,)
            self.bias_hh = nn.Parameter(torch.empty(hidden_size))  # (H,)
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
        # [en] h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh). x W_ih^T is input @ self.weight_ih.T,
        # [en] or torch.nn.functional.linear(input, self.weight_ih). When bias=False the biases are None.
        # [zh] h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)。x W_ih^T 就是 input @ self.weight_ih.T，
        # [zh] 或 torch.nn.functional.linear(input, self.weight_ih)。bias=False 时两个偏置都是 None。
        raise NotImplementedError("TODO: RNNCell.forward")


if __name__ == "__main__":
    # [en] This part runs when you run the file (python rnn_cell.py), not when it is checked.
    # [zh] 这一部分只在直接运行本文件时执行（python rnn_cell.py），检查时不会执行。
    cell = RNNCell(input_size=4, hidden_size=4)
    x = torch.randn(1, 4)  # (batchSize, inputSize)
    h = torch.zeros(1, 4)  # (batchSize, hiddenSize)
    print(cell(x, h).shape)  # torch.Size([1, 4])
"""


def rnn_step(options: Mapping[str, Any], x: Tensor, h: Tensor | None, p: Mapping[str, Tensor]) -> Tensor:
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh), as torch.nn computes it, or with a mistake."""
    if h is None:
        h = x.new_zeros(x.shape[0], p["weight_hh"].shape[1])  # (B, H)
    b_ih, b_hh = biases(options, p)
    pre = input_product(options, x, p["weight_ih"])  # (B, H)
    if not options.get("no_state"):
        pre = pre + project(h, p["weight_hh"], options.get("hh") == "untransposed")
    for b in (b_ih, b_hh):
        if b is not None:
            pre = pre + b
    return ACT[options.get("act", "tanh")](pre)


def _act(key: str, act: str, label_en: str, label_zh: str, why_en: str, why_zh: str) -> Variant:
    return Variant(key, {"act": act}, {"en": label_en, "zh": label_zh}, {"en": why_en, "zh": why_zh}, "rnncell")


VARIANTS = (
    *common_variants("rnncell"),
    _act(
        "sigmoid",
        "sigmoid",
        "sigmoid instead of tanh",
        "用了 sigmoid 而不是 tanh",
        "the RNN cell squashes with tanh, into (-1, 1); sigmoid gives (0, 1), so no unit can go negative",
        "RNN 单元用 tanh 压缩到 (-1, 1)；sigmoid 的值域是 (0, 1)，任何单元都不能取负值",
    ),
    _act(
        "relu",
        "relu",
        "relu instead of tanh",
        "用了 relu 而不是 tanh",
        "torch.nn.RNNCell uses tanh unless it is made with nonlinearity='relu'",
        "除非创建时指定 nonlinearity='relu'，torch.nn.RNNCell 都用 tanh",
    ),
    _act(
        "no_tanh",
        "none",
        "tanh forgotten",
        "漏掉了 tanh",
        "h' = tanh(...): without the squashing the state is a linear function of the past and can grow without bound",
        "h' = tanh(...)：不压缩的话，状态只是过去的线性函数，可以无限增长",
    ),
    Variant(
        "no_state",
        {"no_state": True},
        {"en": "the previous state unused", "zh": "没有用到上一步的状态"},
        {
            "en": "h' depends on x and on h: the term h W_hh^T + b_hh carries the past into the step; without h the cell forgets everything at every step",
            "zh": "h' 同时取决于 x 和 h：h W_hh^T + b_hh 这一项把过去带进这一步；没有 h，单元每一步都会忘掉一切",
        },
        "rnncell",
    ),
)

EXERCISE = Exercise(
    name="rnn_cell",
    number=1,
    title={"en": "RNNCell's forward from matrix products and tanh", "zh": "用矩阵乘法和 tanh 写 RNNCell 的前向计算"},
    target="RNNCell",
    skeleton=SKELETON,
    checks=twin.checks(cell_twin("RNNCell", rnn_step, ("h",))),
    variants=VARIANTS,
    lesson="rnncell",
)
