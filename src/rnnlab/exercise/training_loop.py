"""Exercise 9, ``training_loop``: program 1's training loop (zero_grad, the step losses summed,
backward, step, and one line printed per epoch in the lecture's format), written as a function
``train(net, inputs, labels, idx2char, epochs, lr)`` that returns the loss of every epoch.

The student's function and the lecture's loop (:func:`loop`) train two identical float64 copies of
program 1's model; the checks compare the losses of every epoch and the final weights, the epoch
at which the printed predictions first read the target, and the printed lines (captured with
``redirect_stdout``), on two configurations: the lecture's "hello" -> "ohlol" from the initial
weights program 1 starts from with the lesson's default seed (it reads "ohlol" at epoch 5), and
two other word pairs at once with all-different sizes. A difference is diagnosed by running the
lecture's loop with known mistakes (``options``) on another copy and comparing all three
(:mod:`.training_run`).
"""

from __future__ import annotations

from rnnlab.exercise.core import Check, Exercise, Variant
from rnnlab.exercise.training_run import TARGET, check_lines, check_losses, check_reached

SKELETON = """
# rnnlab exercise: training_loop
# [en] Exercise 9 of lecture 12: program 1's training loop: zero_grad, the loss over all steps,
# [en] backward, step, and the prediction printed per epoch in the lecture's format.
# [zh] 第 12 讲练习 9：程序 1 的训练循环：zero_grad、所有时间步的损失、backward、step，
# [zh] 以及按课上的格式在每一轮打印预测。
# [en] Check it with:  rnnlab exercise check training_loop.py   (docs/exercises.md says what is checked)
# [zh] 检查：rnnlab exercise check training_loop.py（检查什么，见 docs/exercises.zh.md）
#
# [en] net is program 1's model: one RNNCell whose hidden state is the logits (hiddenSize = the number
# [en] of characters); hidden = net(input, hidden), and net.init_hidden() gives zeros (batchSize, hiddenSize).
# [en] Every epoch starts from fresh gradients and a fresh hidden state, adds the step losses into one
# [en] graph (loss += criterion(hidden, label), the SUM), then calls backward and step, and prints:
# [zh] net 是程序 1 的模型：一个 RNNCell，其隐藏状态就是 logits（hiddenSize = 字符数）；
# [zh] hidden = net(input, hidden)，net.init_hidden() 给出全零的 (batchSize, hiddenSize)。
# [zh] 每一轮都从清零的梯度和新的隐藏状态开始，把各步损失加进同一张计算图
# [zh] （loss += criterion(hidden, label)，是求和），然后 backward、step，并打印一行：
#
#     Predicted string: ohlol, Epoch [5/15] loss=3.9884
#
# [en] print('Predicted string: ', end='') first, each character as its step produces it (end=''),
# [en] then ', Epoch [%d/%d] loss=%.4f' % (epoch + 1, epochs, loss.item()). With batchSize > 1 the
# [en] characters are the first sequence's: idx2char[idx[0].item()] (the lecture's idx.item() needs batchSize 1).
# [zh] 先 print('Predicted string: ', end='')，每一步产生一个字符就打印它（end=''），最后打印
# [zh] ', Epoch [%d/%d] loss=%.4f' % (epoch + 1, epochs, loss.item())。batchSize > 1 时打印第一个序列的
# [zh] 字符：idx2char[idx[0].item()]（课上的 idx.item() 只适用于 batchSize 为 1）。
#
#     inputs (seqLen, batchSize, inputSize)    labels (seqLen, batchSize)    idx2char: hiddenSize characters
#     returns: losses, a list of floats: loss.item() of each epoch
#
# [en] The checks run your function and the lecture's loop on two identical copies of the model (float64)
# [en] and compare every epoch's loss, the final weights, the epoch the predictions first read the target,
# [en] and the printed lines: on the lecture's "hello" -> "ohlol" (15 epochs, lr=0.1, from the initial
# [en] weights program 1 starts from with the lesson's default seed 2: "ohlol" at epoch 5), and on two
# [en] other word pairs at once (batchSize 2, other sizes, epochs and lr). Keep the name and the signature.
# [zh] 检查会在模型的两份相同副本上（float64）分别运行你的函数和课上的循环，比较每一轮的损失、最终的
# [zh] 权重、预测第一次等于目标的轮次以及打印的每一行：数据是课上的 "hello" -> "ohlol"（15 轮，lr=0.1，
# [zh] 初始权重与程序 1 在课程默认种子 2 下的相同：第 5 轮得到 "ohlol"），以及同时训练的另外两对单词
# [zh] （batchSize 为 2，其他尺寸、轮数和 lr 也不同）。请保留函数名和签名。

import torch


def train(net, inputs, labels, idx2char, epochs, lr):
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    losses = []
    for epoch in range(epochs):
        # TODO
        # [en] Zero the gradients, take a fresh hidden state (net.init_hidden()), set loss = 0 and print the
        # [en] head; for each step: hidden = net(input, hidden), add the step's loss, print the character
        # [en] (_, idx = hidden.max(dim=1)); then backward, step, print the rest of the line, keep loss.item().
        # [zh] 清零梯度，取新的隐藏状态（net.init_hidden()），令 loss = 0 并打印开头；每一步：
        # [zh] hidden = net(input, hidden)，加上这一步的损失，打印字符（_, idx = hidden.max(dim=1)）；
        # [zh] 然后 backward、step，打印这一行的其余部分，并把 loss.item() 存进 losses。
        raise NotImplementedError("TODO: training_loop")
    return losses


if __name__ == "__main__":
    # [en] This part runs when you run the file (python training_loop.py), not when it is checked.
    # [zh] 这一部分只在直接运行本文件时执行（python training_loop.py），检查时不会执行。
    from rnnlab.lesson.models import RNNCellModel  # the lecture's first Model

    idx2char = ["e", "h", "l", "o"]
    x_data = [1, 0, 2, 2, 3]  # hello
    y_data = [3, 1, 2, 3, 2]  # ohlol
    inputs = torch.eye(4)[x_data].view(-1, 1, 4)  # (seqLen, batchSize, inputSize) = (5, 1, 4)
    labels = torch.LongTensor(y_data).view(-1, 1)  # (seqLen, batchSize) = (5, 1)
    torch.manual_seed(2)  # rnnlab lesson's default seed
    net = RNNCellModel(input_size=4, hidden_size=4, batch_size=1)
    print(train(net, inputs, labels, idx2char, 15, 0.1))
"""


def _variant(key: str, options: dict, en: str, zh: str) -> Variant:
    """A variant whose texts are written ``label | why`` in each language."""
    (label_en, why_en), (label_zh, why_zh) = en.split(" | "), zh.split(" | ")
    return Variant(key, options, {"en": label_en, "zh": label_zh}, {"en": why_en, "zh": why_zh}, "rnncell")


VARIANTS = (
    _variant(
        "zero_grad_forgotten",
        {"zero_grad": False},
        "optimizer.zero_grad() forgotten | backward adds to every parameter's .grad, so without zero_grad each step uses the sum of all epochs' gradients: "
        "call optimizer.zero_grad() at the start of every epoch",
        "忘了 optimizer.zero_grad() | backward 会把梯度累加到每个参数的 .grad 上，不调用 zero_grad 时每次 step 用的是之前所有轮梯度之和："
        "每一轮开始时调用 optimizer.zero_grad()",
    ),
    _variant(
        "hidden_not_reset",
        {"hidden": "carried"},
        "the hidden state not reset between epochs | the second epoch's graph then reaches back into the first's, which backward has already freed; "
        "every epoch reads the word from the start: hidden = net.init_hidden() inside the epoch loop",
        "没有在每一轮重新初始化隐藏状态 | 这样第二轮的计算图会连到第一轮的计算图，而后者已被 backward 释放；每一轮都从头读这个单词："
        "在每一轮的循环里写 hidden = net.init_hidden()",
    ),
    _variant(
        "hidden_carried_detached",
        {"hidden": "detached"},
        "the last epoch's hidden state carried over (detached) | hidden.detach() silences the error, but each epoch then starts where the last "
        "word ended, not from zeros: hidden = net.init_hidden() at the start of every epoch",
        "沿用了上一轮的隐藏状态（detach 之后） | hidden.detach() 消除了报错，但每一轮都从上一轮单词结束时的状态开始，而不是从全零开始："
        "每一轮开始时写 hidden = net.init_hidden()",
    ),
    _variant(
        "loss_mean",
        {"loss": "mean"},
        "the loss averaged over the steps | program 1 sums the step losses (loss += criterion(hidden, label)): its first epoch's loss is about 5 ln 4 = 6.9",
        "损失对时间步取了平均 | 程序 1 把各步损失相加（loss += criterion(hidden, label)）：第一轮的损失约为 5 ln 4 = 6.9",
    ),
    _variant(
        "step_forgotten",
        {"step": None},
        "optimizer.step() forgotten, or called before loss.backward() | step changes the weights by the gradients backward has just computed; "
        "before backward (after zero_grad) there are none, so the weights never change: loss.backward(), then optimizer.step()",
        "忘了 optimizer.step()，或在 loss.backward() 之前调用 | step 用 backward 刚算出的梯度更新权重；在 backward 之前（zero_grad 之后）"
        "还没有梯度，权重就一直不变：先 loss.backward()，再 optimizer.step()",
    ),
    _variant(
        "step_before_backward",
        {"step": "before"},
        "optimizer.step() called before loss.backward() | step changes the weights in place with the gradients there are (without zero_grad, "
        "the last epoch's), and the backward after it finds the weights its graph saved modified: loss.backward() first, then optimizer.step()",
        "在 loss.backward() 之前调用了 optimizer.step() | step 用当时已有的梯度（没有 zero_grad 时是上一轮的）原地修改权重，"
        "之后的 backward 发现计算图保存的权重已被修改：先 loss.backward()，再 optimizer.step()",
    ),
    _variant(
        "loss_item",
        {"loss": "item"},
        "loss.item() added up: no graph left to backward through | .item() is a Python number, outside autograd; add the tensors "
        "(loss += criterion(hidden, label)) and call .item() only to print and to keep the loss",
        "累加的是 loss.item()：没有计算图可供反向传播 | .item() 是 Python 数值，不在 autograd 之中；应累加张量"
        "（loss += criterion(hidden, label)），只在打印和保存损失时调用 .item()",
    ),
    _variant(
        "predicted_before_step",
        {"predict": "before"},
        "the prediction taken before the step | a step's character is the argmax of the hidden state net returns for it, after hidden = net(input, hidden)",
        "在这一步之前取了预测 | 一步的字符是 net 为这一步返回的隐藏状态的 argmax，应在 hidden = net(input, hidden) 之后取",
    ),
    _variant(
        "char_item",
        {"char": "item"},
        "the character read with idx.item() for a batch | idx holds one id per sequence of the batch and .item() works for batchSize 1 only: "
        "print the first sequence's, idx2char[idx[0].item()]",
        "对一个批量用 idx.item() 读字符 | idx 中批量里的每个序列各有一个 id，.item() 只适用于 batchSize 为 1：请打印第一个序列的，idx2char[idx[0].item()]",
    ),
    _variant(
        "epoch_from_zero",
        {"epoch_from": 0},
        "the epoch printed from 0 | range(epochs) counts from 0; the lecture prints epoch + 1: Epoch [1/15] to [15/15]",
        "打印的轮次从 0 开始 | range(epochs) 从 0 开始计数；课上打印的是 epoch + 1：从 Epoch [1/15] 到 [15/15]",
    ),
    _variant(
        "loss_format",
        {"format": True},
        "the loss printed in another format | the lecture prints ' loss=%.4f' % loss.item(): four decimals, no spaces around =",
        "损失的打印格式不同 | 课上打印的是 ' loss=%.4f' % loss.item()：四位小数，= 两边没有空格",
    ),
    _variant(
        "epochs_fixed",
        {"epochs": 15, "total": 15},
        "15 epochs written in the code | the lecture's range(15) and /15 are its epochs: use the epochs given, range(epochs) and (epoch + 1, epochs)",
        "代码里写死了 15 轮 | 课上的 range(15) 和 /15 就是它的轮数：请使用传入的 epochs：range(epochs) 和 (epoch + 1, epochs)",
    ),
)

EXERCISE = Exercise(
    name="training_loop",
    number=9,
    title={
        "en": "program 1's training loop: zero_grad, summed loss, backward, step, printed lines",
        "zh": "程序 1 的训练循环：zero_grad、求和的损失、backward、step、打印",
    },
    target=TARGET,
    skeleton=SKELETON,
    checks=(
        Check(
            "losses",
            {
                "en": "losses and weights: every epoch's loss and the final weights equal the lecture's loop's (float64)",
                "zh": "损失与权重：每一轮的损失和最终权重与课上的循环相等（float64）",
            },
            check_losses,
        ),
        Check(
            "reached",
            {"en": "predictions: 'ohlol' first printed at the lecture's epoch", "zh": "预测：与课上的循环在同一轮第一次打印出 'ohlol'"},
            check_reached,
        ),
        Check(
            "printed",
            {"en": "printed lines: the lecture's format, epoch by epoch", "zh": "打印：每一轮的一行与课上的格式相同"},
            check_lines,
        ),
    ),
    variants=VARIANTS,
    lesson="rnncell",
    kind="function",
)
