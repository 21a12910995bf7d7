"""Exercise 3, ``rnn_shapes``: program 2's shapes around ``nn.RNN``, written as a function: the
one-hot input, laid out for ``batch_first`` or not, ``h_0`` of ``(numLayers, batchSize,
hiddenSize)``, and the output viewed as one row per label, in the labels' (time-major) order;
checked against the right answer on all-different sizes with and without ``batch_first`` (the last
configuration is the lecture's "hello"), with the layout mistakes that torch rejects or lets by."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from rnnlab.exercise import function
from rnnlab.exercise.compare import Case
from rnnlab.exercise.core import Exercise, Msg, Variant, msg
from rnnlab.lesson.task import make_task

SKELETON = """
# rnnlab exercise: rnn_shapes
# [en] Exercise 3 of lecture 12: program 2's shapes around torch.nn.RNN: the one-hot input, h_0, and
# [en] the output viewed as one row per label; with batch_first=True and without.
# [zh] 第 12 讲练习 3：程序 2 中 torch.nn.RNN 前后的形状：独热输入、h_0，以及把输出变成每个标签一行；
# [zh] 包括 batch_first=True 和不用 batch_first 两种情况。
# [en] Check it with:  rnnlab exercise check rnn_shapes.py   (docs/exercises.md says what is checked)
# [zh] 检查：rnnlab exercise check rnn_shapes.py（检查什么，见 docs/exercises.zh.md）
#
# [en] Program 2 runs the whole sequence through nn.RNN in one call and scores out.view(-1, hiddenSize)
# [en] against the labels. Its data is time-major: the ids of "hello" are (seqLen, batchSize) = (5, 1),
# [en] and the labels, flattened in the same order, have row t*batchSize + b for step t of sequence b.
# [en] In program 2 hiddenSize = numClasses = 4, so the rows of out are the logits.
# [zh] 程序 2 用一次调用把整个序列送进 nn.RNN，再用 out.view(-1, hiddenSize) 与标签计算损失。它的数据
# [zh] 是时间优先的："hello" 的编号是 (seqLen, batchSize) = (5, 1)，标签按同样的顺序展平，序列 b 的
# [zh] 第 t 步在第 t*batchSize + b 行。程序 2 中 hiddenSize = numClasses = 4，所以 out 的每一行就是 logits。
#
#     inputs = torch.eye(numClasses)[ids]      # one_hot_lookup[ids]
#     out, h_n = rnn(inputs, h_0)
#     logits = out.view(-1, hiddenSize)
#
# [en] Shapes (numClasses = inputSize):
# [zh] 形状（numClasses = inputSize）：
#
#     ids       (seqLen, batchSize)
#     inputs    (seqLen, batchSize, inputSize), or (batchSize, seqLen, inputSize) with batch_first=True
#     h_0, h_n  (numLayers, batchSize, hiddenSize)
#     out       (seqLen, batchSize, hiddenSize), or (batchSize, seqLen, hiddenSize) with batch_first=True
#     logits    (seqLen*batchSize, hiddenSize), row t*batchSize + b = out[t, b]
#
# [en] batch_first=True changes inputs and out only: h_0 and h_n stay (numLayers, batchSize, hiddenSize).
# [zh] batch_first=True 只改变 inputs 和 out：h_0 和 h_n 仍然是 (numLayers, batchSize, hiddenSize)。
#
# [en] The checks call your function with torch.nn.RNN layers of other sizes (several layers,
# [en] batch_first=True and False) and compare logits, h_n and the gradients of the RNN's weights
# [en] in float64: keep the name and the signature.
# [zh] 检查会用其他尺寸的 torch.nn.RNN（多层，batch_first=True 和 False）调用你的函数，在 float64 下
# [zh] 比较 logits、h_n 以及 RNN 权重的梯度：请保留函数名和签名。

import torch


def rnn_logits(rnn, ids, num_classes):
    # rnn: nn.RNN(num_classes, hiddenSize, numLayers, batch_first=...); ids (seqLen, batchSize)
    # -> logits (seqLen*batchSize, hiddenSize) in the labels' order, h_n (numLayers, batchSize, hiddenSize)
    batch_size = ids.size(1)
    dtype = rnn.weight_ih_l0.dtype  # float64 in the checks, float32 in the lecture
    # TODO
    # [en] 1. inputs: the one-hot vectors of ids, (seqLen, batchSize, num_classes), in dtype.
    # [en] 2. With rnn.batch_first, make them (batchSize, seqLen, num_classes): transpose, not view.
    # [en] 3. h_0: zeros (rnn.num_layers, batchSize, rnn.hidden_size), in dtype (inputs.new_zeros).
    # [en] 4. out, h_n = rnn(inputs, h_0). logits: the rows of out in time-major order, those of a
    # [en]    (seqLen, batchSize, hiddenSize) out viewed as (-1, hiddenSize). Return logits, h_n.
    # [zh] 1. inputs：ids 的独热向量，(seqLen, batchSize, num_classes)，dtype 为 dtype。
    # [zh] 2. rnn.batch_first 时把它变成 (batchSize, seqLen, num_classes)：用 transpose，不要用 view。
    # [zh] 3. h_0：全零的 (rnn.num_layers, batchSize, rnn.hidden_size)，dtype 为 dtype（inputs.new_zeros）。
    # [zh] 4. out, h_n = rnn(inputs, h_0)。logits：按时间优先顺序排列的 out 的各行，即把
    # [zh]    (seqLen, batchSize, hiddenSize) 的 out 变成 (-1, hiddenSize)。返回 logits, h_n。
    raise NotImplementedError("TODO: rnn_logits")


if __name__ == "__main__":
    # [en] This part runs when you run the file (python rnn_shapes.py), not when it is checked.
    # [zh] 这一部分只在直接运行本文件时执行（python rnn_shapes.py），检查时不会执行。
    ids = torch.LongTensor([1, 0, 2, 2, 3]).view(-1, 1)  # hello, (seqLen, batchSize) = (5, 1)
    rnn = torch.nn.RNN(input_size=4, hidden_size=4, num_layers=1)
    logits, h_n = rnn_logits(rnn, ids, num_classes=4)
    print(logits.shape, h_n.shape)  # torch.Size([5, 4]) torch.Size([1, 1, 4])
    rnn = torch.nn.RNN(input_size=4, hidden_size=6, num_layers=2, batch_first=True)
    logits, h_n = rnn_logits(rnn, torch.randint(0, 4, (5, 3)), num_classes=4)
    print(logits.shape, h_n.shape)  # torch.Size([15, 6]) torch.Size([2, 3, 6])
"""


@dataclass(frozen=True)
class RNNCase(Case):
    """A configuration: T: seqLen, B: batchSize, C: numClasses (the RNN's input_size), H: hiddenSize, L: numLayers."""

    def describe(self) -> Msg:
        t, b, c, h, layers = (self[k] for k in "TBCHL")
        call = f"nn.RNN({c}, {h}, num_layers={layers}, bias={self.bias}, batch_first={self.batch_first})"
        return msg("case.call", call=call, input=f"ids (seqLen, batchSize) = ({t}, {b}), num_classes={c}")


def rnn_logits(options: Mapping[str, Any], args: Mapping[str, Any]) -> tuple[Tensor, Tensor]:
    """The right answer, or with the mistakes ``options`` name."""
    rnn, ids, num_classes = args["rnn"], args["ids"], args["num_classes"]
    seq_len, batch_size = ids.shape
    one_hot = options.get("one_hot")
    lookup = torch.eye(
        rnn.hidden_size if one_hot == "hidden_size" else num_classes,
        dtype=torch.float32 if one_hot == "float32" else rnn.weight_ih_l0.dtype,
    )
    inputs = lookup[:, ids] if one_hot == "columns" else lookup[ids]  # (T, B, C); columns: (C, T, B)
    if rnn.batch_first and options.get("input") == "view":
        inputs = inputs.reshape(batch_size, seq_len, -1)  # (B, T, C), the elements scrambled
    elif rnn.batch_first and options.get("input") != "as_is":
        inputs = inputs.transpose(0, 1)  # (B, T, C)
    state = options.get("h_0")
    h_0 = torch.zeros(
        *((batch_size, rnn.num_layers) if state == "batch_first" else (rnn.num_layers, batch_size)),
        rnn.hidden_size,
        dtype=torch.float32 if state == "float32" else inputs.dtype,
    )
    out, h_n = rnn(inputs, h_0)
    if options.get("results") == "swapped":
        out, h_n = h_n, out
    if options.get("rows") == "view":
        return out.view(-1, rnn.hidden_size), h_n  # a batch-first out is a transposed view: view raises, as the student's does
    time_major = out.transpose(0, 1) if rnn.batch_first else out  # (T, B, H)
    rows = time_major.transpose(0, 1) if options.get("rows") == "batch_major" else time_major  # batch-major: (B, T, H)
    return rows.reshape(-1, rnn.hidden_size), h_n  # (T*B, H), (L, B, H)


def _arguments(case: RNNCase, gen: torch.Generator) -> dict[str, Any]:
    t, b, c, h, layers = (case[k] for k in "TBCHL")
    rnn = function.random_module(lambda: torch.nn.RNN(c, h, layers, bias=case.bias, batch_first=bool(case.batch_first)), gen)
    if case == LECTURE:  # program 2's own data: "hello", (seqLen, batchSize) = (5, 1)
        ids = torch.tensor(make_task().x_data).view(t, b)
    else:
        ids = torch.randint(0, c, (t, b), generator=gen)
    return {"rnn": rnn, "ids": ids, "num_classes": c}


def _outputs(raw: Any) -> dict[str, Tensor] | None:
    if isinstance(raw, (tuple, list)) and len(raw) == 2 and all(isinstance(v, Tensor) for v in raw):
        return {"logits": raw[0], "h_n": raw[1]}
    return None


def _case(sizes: tuple[int, ...], batch_first: bool, bias: bool = True) -> RNNCase:
    return RNNCase(tuple(zip("TBCHL", sizes)), bias=bias, state=False, batch_first=batch_first)


LECTURE = _case((5, 1, 4, 4, 1), batch_first=False)
PROGRAM = function.Program(
    name="ref.answer",
    target="rnn_logits",
    cases=(
        _case((5, 3, 4, 6, 2), batch_first=True),
        _case((4, 2, 7, 5, 3), batch_first=False),
        _case((3, 4, 6, 2, 1), batch_first=True, bias=False),
        LECTURE,
    ),
    arguments=_arguments,
    call=lambda f, a: f(a["rnn"], a["ids"], a["num_classes"]),
    outputs=_outputs,
    returns="logits, h_n",
    reference=rnn_logits,
    leaves=("rnn",),
)


def _variant(key: str, options: dict, label: tuple[str, str], why: tuple[str, str], lesson: str) -> Variant:
    return Variant(key, options, dict(zip(("en", "zh"), label)), dict(zip(("en", "zh"), why)), lesson)


VARIANTS = (
    _variant(
        "batch_first_ignored",
        {"input": "as_is"},
        (
            "batch_first ignored: the inputs left (seqLen, batchSize, inputSize)",
            "忽略了 batch_first：输入仍是 (seqLen, batchSize, inputSize)",
        ),
        (
            "with batch_first=True nn.RNN reads its input as (batchSize, seqLen, inputSize), so a (seqLen, batchSize, ...) input is read "
            "with its two axes swapped and h_0 no longer fits; make it inputs.transpose(0, 1) when rnn.batch_first",
            "batch_first=True 时 nn.RNN 把输入当成 (batchSize, seqLen, inputSize)，于是 (seqLen, batchSize, ...) 的输入两个轴被对调，"
            "h_0 也就对不上了；rnn.batch_first 时请用 inputs.transpose(0, 1)",
        ),
        "embedding",
    ),
    _variant(
        "input_view",
        {"input": "view"},
        ("the inputs made batch-first with view", "用 view 把输入变成了 batch-first"),
        (
            "view(batchSize, seqLen, inputSize) keeps the elements in their order and only cuts them differently: step t of sequence b "
            "is no longer at [b, t]; transpose(0, 1) swaps the two axes",
            "view(batchSize, seqLen, inputSize) 保持元素的顺序不变，只是换一种切法：序列 b 的第 t 步不再位于 [b, t]；"
            "transpose(0, 1) 才是交换两个轴",
        ),
        "embedding",
    ),
    _variant(
        "rows_batch_major",
        {"rows": "batch_major"},
        ("the logits' rows in batch-major order", "logits 的行按批量优先排列"),
        (
            "the labels are time-major, row t*batchSize + b; out.view(-1, hiddenSize) gives that order for a (seqLen, batchSize, hiddenSize) "
            "out only: with batch_first=True take out.transpose(0, 1).reshape(-1, hiddenSize), without it out.view(-1, hiddenSize)",
            "标签是时间优先的，第 t*batchSize + b 行；只有 out 为 (seqLen, batchSize, hiddenSize) 时 out.view(-1, hiddenSize) 才是这个顺序："
            "batch_first=True 时用 out.transpose(0, 1).reshape(-1, hiddenSize)，否则用 out.view(-1, hiddenSize)",
        ),
        "rnn",
    ),
    _variant(
        "out_view_batch_first",
        {"rows": "view"},
        ("program 2's out.view(-1, hiddenSize) on a batch-first out", "对 batch-first 的 out 用了程序 2 的 out.view(-1, hiddenSize)"),
        (
            "with batch_first=True out is (batchSize, seqLen, hiddenSize), torch's time-major result transposed, which view cannot flatten "
            "(reshape can, but into batch-major rows, not the labels' time-major order): take out.transpose(0, 1).reshape(-1, hiddenSize)",
            "batch_first=True 时 out 是 (batchSize, seqLen, hiddenSize)，即 torch 按时间优先算出的结果转置后的视图，view 无法把它展平"
            "（reshape 可以，但得到的是批量优先的行，而不是标签的时间优先顺序）：请用 out.transpose(0, 1).reshape(-1, hiddenSize)",
        ),
        "rnn",
    ),
    _variant(
        "results_swapped",
        {"results": "swapped"},
        ("out and h_n swapped", "out 和 h_n 的顺序反了"),
        (
            "nn.RNN returns out, h_n: first the last layer's hidden state at every step, then each layer's last hidden state",
            "nn.RNN 返回 out, h_n：先是最后一层在每一步的隐藏状态，再是每一层最后一步的隐藏状态",
        ),
        "rnn",
    ),
    _variant(
        "h0_batch_first",
        {"h_0": "batch_first"},
        ("h_0 made (batchSize, numLayers, hiddenSize)", "h_0 做成了 (batchSize, numLayers, hiddenSize)"),
        (
            "h_0 and h_n are (numLayers, batchSize, hiddenSize) with batch_first=True or not: batch_first changes the input and the output only",
            "无论 batch_first 是否为 True，h_0 和 h_n 都是 (numLayers, batchSize, hiddenSize)：batch_first 只改变输入和输出",
        ),
        "rnn",
    ),
    _variant(
        "h0_float32",
        {"h_0": "float32"},
        ("h_0 made with torch.zeros (float32)", "h_0 用 torch.zeros 构造（float32）"),
        (
            "torch.zeros makes float32, as the lecture's init_hidden; the checks' RNN is float64: inputs.new_zeros(...) or dtype=dtype",
            "torch.zeros 生成 float32，与课上的 init_hidden 相同；检查用的 RNN 是 float64：请用 inputs.new_zeros(...) 或 dtype=dtype",
        ),
        "rnn",
    ),
    _variant(
        "one_hot_float32",
        {"one_hot": "float32"},
        ("the one-hot vectors left float32", "独热向量仍是 float32"),
        (
            "torch.eye(n) and torch.Tensor(...) make float32, as the lecture's one_hot_lookup; nn.RNN needs its input in its weights' dtype "
            "(float64 in the checks): torch.eye(num_classes, dtype=dtype)",
            "torch.eye(n) 和 torch.Tensor(...) 生成 float32，与课上的 one_hot_lookup 相同；nn.RNN 要求输入与权重的 dtype 相同"
            "（检查中是 float64）：torch.eye(num_classes, dtype=dtype)",
        ),
        "data",
    ),
    _variant(
        "one_hot_hidden_size",
        {"one_hot": "hidden_size"},
        ("the one-hot vectors hiddenSize long", "独热向量的长度用了 hiddenSize"),
        (
            "a one-hot vector has one element per class: torch.eye(num_classes), which is the RNN's input_size; in the lecture "
            "inputSize = hiddenSize = 4, so the two are easy to confuse",
            "独热向量每个类别一个元素：torch.eye(num_classes)，也就是 RNN 的 input_size；课上 inputSize = hiddenSize = 4，所以两者容易混淆",
        ),
        "data",
    ),
    _variant(
        "one_hot_columns",
        {"one_hot": "columns"},
        ("the one-hot vectors taken as columns", "把独热向量取成了列"),
        (
            "the one-hot vector of id i is row i of the identity: torch.eye(num_classes)[ids], (seqLen, batchSize, num_classes), "
            "the classes on the last axis; torch.eye(num_classes)[:, ids] puts them first",
            "编号 i 的独热向量是单位矩阵的第 i 行：torch.eye(num_classes)[ids]，形状 (seqLen, batchSize, num_classes)，"
            "类别在最后一个轴上；torch.eye(num_classes)[:, ids] 把类别放到了第一个轴",
        ),
        "data",
    ),
)

EXERCISE = Exercise(
    name="rnn_shapes",
    number=3,
    title={
        "en": "program 2's shapes: one-hot input, h_0 and nn.RNN's output, batch_first or not",
        "zh": "程序 2 的形状：独热输入、h_0 和 nn.RNN 的输出，batch_first 与否",
    },
    target="rnn_logits",
    skeleton=SKELETON,
    checks=function.checks(PROGRAM),
    variants=VARIANTS,
    lesson="rnn",
    kind="function",
)
