"""Exercise 2, ``time_loop``: program 1's hand-written loop over the sequence with ``RNNCell``, the
hidden state used as the logits and the step losses summed; checked against the lecture's loop
(the first configuration is the lecture's own "hello" -> "ohlol"), with its known mistakes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from rnnlab.exercise import function
from rnnlab.exercise.compare import F64, Case
from rnnlab.exercise.core import Exercise, Variant
from rnnlab.lesson.task import make_task

SKELETON = """
# rnnlab exercise: time_loop
# [en] Exercise 2 of lecture 12: program 1's loop over the time steps, written by hand.
# [zh] 第 12 讲练习 2：亲手写出程序 1 中对时间步的循环。
# [en] Check it with:  rnnlab exercise check time_loop.py   (docs/exercises.md says what is checked)
# [zh] 检查：rnnlab exercise check time_loop.py（检查什么，见 docs/exercises.zh.md）
#
# [en] Program 1 feeds "hello" to an RNNCell one character at a time. hiddenSize = 4 = the number
# [en] of characters, so the hidden state after each step *is* that step's 4 logits: it is scored
# [en] against the step's label with CrossEntropyLoss, and its argmax is the predicted character.
# [en] The loss of the sequence is the SUM of the step losses (one graph for all steps).
# [zh] 程序 1 把 "hello" 一个字符一个字符地送进 RNNCell。hiddenSize = 4 = 字符数，所以每一步之后的
# [zh] 隐藏状态就是这一步的 4 个 logits：用 CrossEntropyLoss 与这一步的标签计算损失，它的 argmax
# [zh] 就是预测的字符。整个序列的损失是各步损失之和（所有时间步共用一张计算图）。
#
#     for input, label in zip(inputs, labels):
#         hidden = cell(input, hidden)
#         loss += criterion(hidden, label)
#
# [en] Shapes (seqLen, batchSize, inputSize, hiddenSize = the number of classes):
# [zh] 形状（seqLen 序列长度，batchSize 批量，inputSize 输入维度，hiddenSize 隐层维度 = 类别数）：
#
#     inputs (seqLen, batchSize, inputSize)    input (batchSize, inputSize)
#     labels (seqLen, batchSize)               label (batchSize,)
#     hidden (batchSize, hiddenSize)
#     returns: loss (a 0-dim tensor), predicted (seqLen, batchSize) the argmax ids of each step
#
# [en] The checks call your function with a torch.nn.RNNCell and compare the loss, the predictions
# [en] and the gradients (of the cell's weights, the inputs and the initial hidden state) in float64,
# [en] on the lecture's "hello" -> "ohlol" and on other sizes: keep the name and the signature.
# [zh] 检查会用一个 torch.nn.RNNCell 调用你的函数，在 float64 下比较损失、预测和梯度（单元的权重、
# [zh] 输入和初始隐藏状态的梯度），数据包括课上的 "hello" -> "ohlol" 和其他尺寸：请保留函数名和签名。

import torch


def time_loop(cell, inputs, labels, hidden):
    # cell: an RNNCell(inputSize, hiddenSize); inputs (seqLen, batchSize, inputSize);
    # labels (seqLen, batchSize); hidden (batchSize, hiddenSize) -> loss, predicted (seqLen, batchSize)
    criterion = torch.nn.CrossEntropyLoss()
    loss = 0
    predicted = []
    # TODO
    # [en] For each step: the new hidden state from the cell, the step's loss added to loss, and the
    # [en] argmax of hidden over the classes (hidden.max(dim=1) or hidden.argmax(dim=1)) kept in predicted.
    # [zh] 每一步：用单元算出新的隐藏状态，把这一步的损失加到 loss 上，再把 hidden 在类别维上的
    # [zh] argmax（hidden.max(dim=1) 或 hidden.argmax(dim=1)）存进 predicted。
    raise NotImplementedError("TODO: time_loop")
    return loss, torch.stack(predicted)  # (seqLen, batchSize)


if __name__ == "__main__":
    # [en] This part runs when you run the file (python time_loop.py), not when it is checked.
    # [zh] 这一部分只在直接运行本文件时执行（python time_loop.py），检查时不会执行。
    idx2char = ["e", "h", "l", "o"]
    x_data = [1, 0, 2, 2, 3]  # hello
    y_data = [3, 1, 2, 3, 2]  # ohlol
    inputs = torch.eye(4)[x_data].view(-1, 1, 4)  # (seqLen, batchSize, inputSize) = (5, 1, 4)
    labels = torch.LongTensor(y_data).view(-1, 1)  # (seqLen, batchSize) = (5, 1)
    cell = torch.nn.RNNCell(input_size=4, hidden_size=4)
    loss, predicted = time_loop(cell, inputs, labels, torch.zeros(1, 4))
    print("".join(idx2char[i] for i in predicted[:, 0].tolist()), loss.item())  # about 5 ln 4 = 6.9
"""


def time_loop(options: Mapping[str, Any], args: Mapping[str, Any]) -> tuple[Tensor, Tensor]:
    """Program 1's loop as the lecture writes it, or with the mistakes ``options`` name."""
    cell, inputs, labels, hidden = args["cell"], args["inputs"], args["labels"], args["hidden"]
    criterion = torch.nn.CrossEntropyLoss()
    start, losses, predicted = hidden, [], []
    for input, label in zip(inputs, labels):
        before = hidden
        hidden = cell(input, start if options.get("state") == "initial" else hidden)  # (B, H)
        losses.append(criterion(hidden, label))
        predicted.append((before if options.get("predict") == "before" else hidden).argmax(dim=1))  # (B,)
    loss = {"sum": sum(losses), "mean": sum(losses) / len(losses), "last": losses[-1]}[options.get("loss", "sum")]
    return loss, torch.stack(predicted)  # (), (T, B)


def _arguments(case: Case, gen: torch.Generator) -> dict[str, Any]:
    t, b, d, h = (case[k] for k in "TBDH")
    cell = function.random_module(lambda: torch.nn.RNNCell(d, h, bias=case.bias), gen, scale=1.0)
    if case.sizes == LECTURE.sizes:  # the lecture's own data: one-hot "hello", labels "ohlol"
        task = make_task()
        inputs = torch.eye(d, dtype=F64)[list(task.x_data)].view(t, b, d)  # (seqLen, batchSize, inputSize)
        labels = torch.tensor(task.y_data).view(t, b)  # (seqLen, batchSize)
    else:
        inputs = torch.randn(t, b, d, generator=gen, dtype=F64)
        labels = torch.randint(0, h, (t, b), generator=gen)
    hidden = torch.randn(b, h, generator=gen, dtype=F64) if case.state else torch.zeros(b, h, dtype=F64)
    return {"cell": cell, "inputs": inputs, "labels": labels, "hidden": hidden}


def _outputs(raw: Any) -> dict[str, Tensor] | None:
    """(loss, predicted); the loss may be a Python number (then it carries no gradient) and the
    predictions a list of (batchSize,) tensors."""
    if not (isinstance(raw, (tuple, list)) and len(raw) == 2):
        return None
    loss, predicted = raw
    if isinstance(loss, (int, float)):
        loss = torch.tensor(float(loss), dtype=F64)
    if isinstance(predicted, (list, tuple)) and predicted and all(isinstance(p, Tensor) for p in predicted):
        predicted = torch.stack([p.reshape(-1) for p in predicted])  # (T, B)
    if not (isinstance(loss, Tensor) and isinstance(predicted, Tensor)):
        return None
    return {"loss": loss, "predicted": predicted}


LECTURE = Case((("T", 5), ("B", 1), ("D", 4), ("H", 4)), state=False)
PROGRAM = function.Program(
    name="ref.loop",
    target="time_loop",
    cases=(
        LECTURE,
        Case((("T", 3), ("B", 2), ("D", 6), ("H", 5)), state=True),
        Case((("T", 4), ("B", 3), ("D", 2), ("H", 7)), bias=False, state=True),
    ),
    arguments=_arguments,
    call=lambda f, a: f(a["cell"], a["inputs"], a["labels"], a["hidden"]),
    outputs=_outputs,
    returns="loss, predicted",
    reference=time_loop,
    leaves=("cell", "inputs", "hidden"),
)


def _variant(key: str, options: dict, label: tuple[str, str], why: tuple[str, str]) -> Variant:
    return Variant(key, options, dict(zip(("en", "zh"), label)), dict(zip(("en", "zh"), why)), "rnncell")


VARIANTS = (
    _variant(
        "loss_mean",
        {"loss": "mean"},
        ("the loss averaged over the steps", "损失对时间步取了平均"),
        (
            "program 1 sums the step losses (loss += criterion(hidden, label)), so the first epoch's loss is about 5 ln 4 = 6.9; "
            "programs 2 and 3 take the mean because CrossEntropyLoss sees all steps at once",
            "程序 1 把各步损失相加（loss += criterion(hidden, label)），所以第一轮的损失约为 5 ln 4 = 6.9；"
            "程序 2 和 3 取平均，是因为 CrossEntropyLoss 一次看到所有时间步",
        ),
    ),
    _variant(
        "loss_last",
        {"loss": "last"},
        ("only the last step's loss", "只用了最后一步的损失"),
        (
            "loss = criterion(...) inside the loop replaces the loss at every step; loss += criterion(...) adds every step's",
            "在循环里写 loss = criterion(...) 会在每一步覆盖损失；应写 loss += criterion(...) 把每一步的都加上",
        ),
    ),
    _variant(
        "state_not_carried",
        {"state": "initial"},
        ("the hidden state not carried from step to step", "隐藏状态没有从一步传到下一步"),
        (
            "each step reads the hidden state the previous step returned: hidden = cell(input, hidden); "
            "giving every step the initial state makes each character's prediction forget the ones before",
            "每一步都读入上一步返回的隐藏状态：hidden = cell(input, hidden)；每一步都用初始状态，每个字符的预测就忘掉了前面的字符",
        ),
    ),
    _variant(
        "predicted_before_step",
        {"predict": "before"},
        ("the prediction taken before the step", "在这一步之前取了预测"),
        (
            "a step's prediction is the argmax of the hidden state the cell returns for it, after hidden = cell(input, hidden)",
            "一步的预测是单元为这一步返回的隐藏状态的 argmax，应在 hidden = cell(input, hidden) 之后取",
        ),
    ),
)

EXERCISE = Exercise(
    name="time_loop",
    number=2,
    title={
        "en": "program 1's time loop: hidden = logits, the step losses summed",
        "zh": "程序 1 的时间循环：hidden 即 logits，各步损失相加",
    },
    target="time_loop",
    skeleton=SKELETON,
    checks=function.checks(PROGRAM),
    variants=VARIANTS,
    lesson="rnncell",
    kind="function",
)
