"""Exercise 8, ``lstm_layers``: a multi-layer LSTM over a sequence, the state ``(h, c)`` passed in
and out, checked against ``torch.nn.LSTM``; the entry, its skeleton, and the layer's known
mistakes (the state not carried, ``batch_first`` confused) beside the LSTM step's own."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from rnnlab.exercise import lstm_cell, twin
from rnnlab.exercise.core import Exercise, Variant
from rnnlab.exercise.twin import F64, Case, Twin

SKELETON = """
# rnnlab exercise: lstm_layers
# [en] Exercise 8 of lecture 12: a multi-layer LSTM over a whole sequence, equal to
# [en] torch.nn.LSTM(input_size, hidden_size, num_layers, bias, batch_first), the state (h, c) in and out.
# [zh] 第 12 讲练习 8：一个处理整个序列的多层 LSTM，与
# [zh] torch.nn.LSTM(input_size, hidden_size, num_layers, bias, batch_first) 相等，状态 (h, c) 既传入也传出。
# [en] Check it with:  rnnlab exercise check lstm_layers.py   (docs/exercises.md says what is checked)
# [zh] 检查：rnnlab exercise check lstm_layers.py（检查什么，见 docs/exercises.zh.md）
#
# [en] The homework's model is Embedding -> LSTM(10, 8, num_layers=2, batch_first=True) -> Linear.
# [en] This is that LSTM. Layer 0 reads the input x; layer l > 0 reads the h of layer l - 1 at every
# [en] step. Each layer starts from its own initial state (h_0[l], c_0[l]) and carries its (h, c)
# [en] from one step to the next; its last (h, c) is its part of (h_n, c_n).
# [zh] 作业中的模型是 Embedding -> LSTM(10, 8, num_layers=2, batch_first=True) -> Linear，
# [zh] 这里写的就是其中的 LSTM。第 0 层读入输入 x；第 l > 0 层在每个时间步读入第 l - 1 层的 h。
# [zh] 每一层从自己的初始状态 (h_0[l], c_0[l]) 开始，把自己的 (h, c) 从一个时间步传到下一个；
# [zh] 最后一步的 (h, c) 就是它在 (h_n, c_n) 中的那一份。
#
#     for l in range(num_layers):
#         h, c = h_0[l], c_0[l]
#         for t in range(T):
#             h, c = lstm_step(x_t of layer l, h, c)    # exercise 6: i, f, g, o
#
# [en] Shapes (T: seqLen, B: batchSize, D: input_size, H: hidden_size, L: num_layers):
# [zh] 形状（T：序列长度 seqLen，B：批量 batchSize，D：input_size，H：hidden_size，L：num_layers）：
#
#     input          (T, B, D), or (B, T, D) with batch_first=True
#     h_0, c_0       (L, B, H)
#     output         (T, B, H), or (B, T, H) with batch_first=True: the last layer's h at every step
#     h_n, c_n       (L, B, H)
#     weight_ih_l{l} (4H, D) for l = 0, (4H, H) above    weight_hh_l{l} (4H, H)
#     bias_ih_l{l}, bias_hh_l{l} (4H,)
#
# [en] batch_first changes the input and the output only: the states stay (L, B, H), as in torch.nn.
# [zh] batch_first 只改变输入和输出的形状：状态仍然是 (L, B, H)，与 torch.nn 相同。
#
# [en] The checks copy torch.nn.LSTM's weights into yours by name, then compare the output, (h_n, c_n),
# [en] their shapes and the gradients in float64: keep the class name, the signatures and the
# [en] parameter names. How you compute inside forward is yours to choose.
# [zh] 检查会按名字把 torch.nn.LSTM 的权重复制到你的参数里，再在 float64 下比较 output、(h_n, c_n)、
# [zh] 它们的形状和梯度：请保留类名、函数签名和参数名。forward 里面怎么算由你决定。

import math

import torch
from torch import nn


class LSTM(nn.Module):
    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True, batch_first: bool = False):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        for layer in range(num_layers):
            inputs = input_size if layer == 0 else hidden_size
            self.register_parameter(f"weight_ih_l{layer}", nn.Parameter(torch.empty(4 * hidden_size, inputs)))  # (4H, D or H)
            self.register_parameter(f"weight_hh_l{layer}", nn.Parameter(torch.empty(4 * hidden_size, hidden_size)))  # (4H, H)
            if bias:
                self.register_parameter(f"bias_ih_l{layer}", nn.Parameter(torch.empty(4 * hidden_size)))  # (4H,)
                self.register_parameter(f"bias_hh_l{layer}", nn.Parameter(torch.empty(4 * hidden_size)))  # (4H,)
        self.reset_parameters()

    def reset_parameters(self):
        # [en] torch.nn's initialisation: every parameter uniform in [-1/sqrt(H), 1/sqrt(H)].
        # [zh] torch.nn 的初始化：每个参数都在 [-1/sqrt(H), 1/sqrt(H)] 上均匀分布。
        bound = 1 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def layer_weights(self, layer):
        # [en] weight_ih, weight_hh, bias_ih, bias_hh of one layer (the biases None when bias=False).
        # [zh] 某一层的 weight_ih、weight_hh、bias_ih、bias_hh（bias=False 时偏置为 None）。
        return (
            getattr(self, f"weight_ih_l{layer}"),
            getattr(self, f"weight_hh_l{layer}"),
            getattr(self, f"bias_ih_l{layer}", None),
            getattr(self, f"bias_hh_l{layer}", None),
        )

    def forward(self, input, hx=None):
        # input (T, B, D) or (B, T, D); hx = (h_0, c_0) each (L, B, H), or None
        # -> output (T, B, H) or (B, T, H), (h_n, c_n) each (L, B, H)
        # TODO
        # [en] 1. With batch_first, make the input (T, B, D) first (input.transpose(0, 1)).
        # [en] 2. No hx: h_0 and c_0 are zeros (L, B, H), with the input's dtype (input.new_zeros).
        # [en] 3. Layer by layer, step by step, as above: an LSTM step is exercise 6's forward with
        # [en]    self.layer_weights(l). Keep each step's h: stacked (torch.stack), the layer's outputs (T, B, H).
        # [en] 4. output: the last layer's outputs, back to (B, T, H) with batch_first;
        # [en]    h_n, c_n: each layer's last (h, c), stacked to (L, B, H). Return output, (h_n, c_n).
        # [zh] 1. batch_first 时先把输入变成 (T, B, D)（input.transpose(0, 1)）。
        # [zh] 2. 没有 hx：h_0 和 c_0 是全零的 (L, B, H)，dtype 与输入相同（input.new_zeros）。
        # [zh] 3. 按上面的方式逐层、逐时间步计算：一个 LSTM 时间步就是练习 6 的 forward，权重用
        # [zh]    self.layer_weights(l)。保留每一步的 h，堆叠起来（torch.stack）就是这一层的输出 (T, B, H)。
        # [zh] 4. output：最后一层的输出，batch_first 时再变回 (B, T, H)；
        # [zh]    h_n, c_n：每一层最后的 (h, c)，堆叠成 (L, B, H)。返回 output, (h_n, c_n)。
        raise NotImplementedError("TODO: LSTM.forward")


if __name__ == "__main__":
    # [en] This part runs when you run the file (python lstm_layers.py), not when it is checked.
    # [en] The homework's sizes: embeddingSize 10, hiddenSize 8, numLayers 2, batch_first.
    # [zh] 这一部分只在直接运行本文件时执行（python lstm_layers.py），检查时不会执行。
    # [zh] 作业中的尺寸：embeddingSize 10，hiddenSize 8，numLayers 2，batch_first。
    lstm = LSTM(10, 8, num_layers=2, batch_first=True)
    x = torch.randn(1, 5, 10)  # (batchSize, seqLen, embeddingSize)
    out, (h_n, c_n) = lstm(x)
    print(out.shape, h_n.shape, c_n.shape)  # torch.Size([1, 5, 8]) torch.Size([2, 1, 8]) torch.Size([2, 1, 8])
"""

CASES = (
    Case((("T", 4), ("B", 2), ("D", 6), ("H", 5), ("L", 3)), bias=True, state=True, batch_first=False),
    Case((("T", 3), ("B", 4), ("D", 6), ("H", 5), ("L", 2)), bias=True, state=False, batch_first=True),
    Case((("T", 5), ("B", 3), ("D", 2), ("H", 4), ("L", 1)), bias=False, state=True, batch_first=True),
)


def lstm_layers(options: Mapping[str, Any], p: Mapping[str, Tensor], case: Case, args: tuple) -> tuple[Tensor, tuple[Tensor, Tensor]]:
    """torch.nn.LSTM's forward, or with the mistakes ``options`` name (the step's own among them)."""
    x, hx = args
    layers, first = case["L"], options.get("batch_first")
    if case.batch_first and first != "ignored":
        x = x.transpose(0, 1)  # (T, B, D)
    steps, batch, hidden = x.shape[0], x.shape[1], p["weight_hh_l0"].shape[1]
    if hx is None:
        h0 = c0 = x.new_zeros(layers, batch, hidden)  # (L, B, H)
    else:
        h0, c0 = hx
        if case.batch_first and first == "states_too":
            h0, c0 = h0.transpose(0, 1), c0.transpose(0, 1)
    seq, last = x, []
    for layer in range(layers):
        start = 0 if options.get("layers_start") == "first" else layer
        h, c = last[-1] if options.get("layers_start") == "chained" and last else (h0[start], c0[start])
        outs = []
        for t in range(steps):
            if options.get("steps_start") == "initial":
                h, c = h0[start], c0[start]
            h, c = lstm_cell.lstm_step(options, (x if options.get("layer_input") == "original" else seq)[t], (h, c), p, f"_l{layer}")
            outs.append(h)
        seq = torch.stack(outs)  # (T, B, H)
        last.append((h, c))
    if case.batch_first and first not in ("ignored", "output_not_back"):
        seq = seq.transpose(0, 1)  # (B, T, H)
    h_n, c_n = torch.stack([h for h, _ in last]), torch.stack([c for _, c in last])  # (L, B, H)
    if case.batch_first and first == "states_too":
        h_n, c_n = h_n.transpose(0, 1), c_n.transpose(0, 1)
    return (seq, (c_n, h_n)) if options.get("states_swapped") else (seq, (h_n, c_n))


def _inputs(case: Case, gen: torch.Generator) -> dict[str, Tensor]:
    t, b, d, h, layers = (case[k] for k in "TBDHL")
    x = torch.randn(*((b, t) if case.batch_first else (t, b)), d, generator=gen, dtype=F64)
    if not case.state:
        return {"input": x}
    return {
        "input": x,
        "h_0": torch.randn(layers, b, h, generator=gen, dtype=F64),
        "c_0": torch.randn(layers, b, h, generator=gen, dtype=F64),
    }


def _outputs(raw: Any) -> dict[str, Tensor] | None:
    """(output, (h_n, c_n)), named; None for any other structure."""
    if isinstance(raw, (tuple, list)) and len(raw) == 2 and isinstance(raw[0], Tensor):
        states = raw[1]
        if isinstance(states, (tuple, list)) and len(states) == 2 and all(isinstance(s, Tensor) for s in states):
            return {"output": raw[0], "h_n": states[0], "c_n": states[1]}
    return None


TWIN = Twin(
    name="torch.nn.LSTM",
    build=torch.nn.LSTM,
    cases=CASES,
    arguments=lambda case: ((case["D"], case["H"]), {"num_layers": case["L"], "bias": case.bias, "batch_first": case.batch_first}),
    inputs=_inputs,
    call=lambda case, inputs: (inputs["input"], (inputs["h_0"], inputs["c_0"]) if case.state else None),
    outputs=_outputs,
    returns="output, (h_n, c_n)",
    reference=lstm_layers,
)


def _variant(key: str, options: dict, label: tuple[str, str], why: tuple[str, str], lesson: str) -> Variant:
    return Variant(key, options, dict(zip(("en", "zh"), label)), dict(zip(("en", "zh"), why)), lesson)


_BATCH_FIRST = (
    "with batch_first=True the input is (B, T, D) and the output (B, T, H); the states h_0, c_0, h_n, c_n stay (L, B, H)",
    "batch_first=True 时输入是 (B, T, D)，输出是 (B, T, H)；状态 h_0、c_0、h_n、c_n 仍然是 (L, B, H)",
)
VARIANTS = (
    _variant(
        "steps_not_carried",
        {"steps_start": "initial"},
        ("the state not carried from step to step", "状态没有从一个时间步传到下一个"),
        (
            "every step starts from the state the previous step returned: h, c = step(x_t, h, c); starting each step from (h_0[l], c_0[l]) forgets the sequence",
            "每个时间步都从上一步返回的状态开始：h, c = step(x_t, h, c)；每一步都从 (h_0[l], c_0[l]) 开始，就忘掉了整个序列",
        ),
        "rnn",
    ),
    _variant(
        "layers_share_first_state",
        {"layers_start": "first"},
        ("every layer starts from layer 0's initial state", "每一层都从第 0 层的初始状态开始"),
        (
            "layer l starts from its own initial state, (h_0[l], c_0[l]); h_0 is (L, B, H), one state per layer",
            "第 l 层从自己的初始状态 (h_0[l], c_0[l]) 开始；h_0 是 (L, B, H)，每层一个状态",
        ),
        "rnn",
    ),
    _variant(
        "layers_chained",
        {"layers_start": "chained"},
        ("each layer starts from the previous layer's last state", "每一层都从上一层的最后状态开始"),
        (
            "layer l starts from its own initial state, (h_0[l], c_0[l]): what passes from layer to layer is the sequence of h, not the state",
            "第 l 层从自己的初始状态 (h_0[l], c_0[l]) 开始：层与层之间传递的是 h 组成的序列，而不是状态",
        ),
        "rnn",
    ),
    _variant(
        "layer_input_original",
        {"layer_input": "original"},
        ("every layer reads the input x", "每一层都读入输入 x"),
        (
            "layer l > 0 reads the outputs h of layer l - 1 (that is why weight_ih_l1 is (4H, H)), not x",
            "第 l > 0 层读入第 l - 1 层的输出 h（所以 weight_ih_l1 是 (4H, H)），而不是 x",
        ),
        "rnn",
    ),
    _variant(
        "states_swapped",
        {"states_swapped": True},
        ("h_n and c_n swapped on return", "返回时 h_n 和 c_n 的顺序反了"),
        (
            "torch.nn.LSTM returns output, (h_n, c_n): the hidden state first, then the cell state",
            "torch.nn.LSTM 返回 output, (h_n, c_n)：先隐藏状态，后细胞状态",
        ),
        "homework",
    ),
    _variant("batch_first_ignored", {"batch_first": "ignored"}, ("batch_first ignored", "忽略了 batch_first"), _BATCH_FIRST, "embedding"),
    _variant(
        "batch_first_output",
        {"batch_first": "output_not_back"},
        ("the output left (T, B, H) with batch_first", "batch_first 时输出仍是 (T, B, H)"),
        _BATCH_FIRST,
        "embedding",
    ),
    _variant(
        "batch_first_states",
        {"batch_first": "states_too"},
        ("the states made batch-first too", "把状态也当成了 batch-first"),
        _BATCH_FIRST,
        "embedding",
    ),
    *(v for v in lstm_cell.VARIANTS if v.key != "unpack_swapped"),
)

EXERCISE = Exercise(
    name="lstm_layers",
    number=8,
    title={"en": "a multi-layer LSTM over a sequence, (h, c) in and out", "zh": "处理整个序列的多层 LSTM，(h, c) 传入也传出"},
    target="LSTM",
    skeleton=SKELETON,
    checks=twin.checks(TWIN),
    variants=VARIANTS,
    lesson="homework",
)
