"""Exercise 5, ``homework``: the lecture's homework, program 3's model with ``nn.LSTM`` or
``nn.GRU`` in place of the RNN (``Model(..., cell="lstm")``); checked as exercise 4 is, on
configurations of both cells, then trained as ``rnnlab lesson --program lstm`` and ``--program gru``
train (:mod:`.program3`), with the state mistakes of each cell beside program 3's."""

from __future__ import annotations

from rnnlab.exercise import program3, twin
from rnnlab.exercise.core import Exercise

SKELETON = """
# rnnlab exercise: homework
# [en] Exercise 5 of lecture 12, the homework: program 3's model with an LSTM or a GRU instead of the RNN,
# [en] Embedding -> LSTM/GRU(num_layers, batch_first=True) -> Linear.
# [zh] 第 12 讲练习 5（课后作业）：把程序 3 模型中的 RNN 换成 LSTM 或 GRU，
# [zh] Embedding -> LSTM/GRU(num_layers, batch_first=True) -> Linear。
# [en] Check it with:  rnnlab exercise check homework.py   (docs/exercises.md says what is checked)
# [zh] 检查：rnnlab exercise check homework.py（检查什么，见 docs/exercises.zh.md）
#
# [en] The model is exercise 4's; only the recurrent layer and its state change. An LSTM's state is
# [en] a pair (h, c): it takes (h_0, c_0) and returns out, (h_n, c_n). A GRU's is h alone, as the RNN's.
# [zh] 模型与练习 4 相同，只有循环层和它的状态不同。LSTM 的状态是一对 (h, c)：它接收 (h_0, c_0)，
# [zh] 返回 out, (h_n, c_n)。GRU 的状态只有 h，与 RNN 相同。
#
#     x                                  (batchSize, seqLen)
#     x = self.emb(x)                    (batchSize, seqLen, embeddingSize)
#     LSTM: x, (h_n, c_n) = self.rnn(x, (h_0, c_0))    h_0, c_0, h_n, c_n (numLayers, batchSize, hiddenSize)
#     GRU:  x, h_n = self.rnn(x, h_0)                  h_0, h_n (numLayers, batchSize, hiddenSize)
#     x                                  (batchSize, seqLen, hiddenSize)
#     x = self.fc(x)                     (batchSize, seqLen, numClass)
#     x.view(-1, numClass)               (batchSize*seqLen, numClass)         row b*seqLen + t = x[b, t]
#
# [en] The lecture: input_size = numClass = 4, embeddingSize = 10, hiddenSize = 8, numLayers = 2, lr = 0.1.
# [zh] 课上的尺寸：input_size = numClass = 4，embeddingSize = 10，hiddenSize = 8，numLayers = 2，学习率 0.1。
#
# [en] The checks copy the lesson's weights into yours by name (emb.weight, rnn.weight_ih_l0, ...,
# [en] fc.bias): keep the class name, the signature and the attributes emb, rnn, fc. They compare
# [en] the logits and the gradients in float64 with both cells on other sizes, then train your model
# [en] as rnnlab lesson --program lstm and --program gru do, from the same initial weights: it must
# [en] predict what the lesson's model predicts at every epoch, and "ohlol" at the end.
# [zh] 检查会按名字把课程模型的权重复制到你的模型里（emb.weight、rnn.weight_ih_l0、……、fc.bias）：
# [zh] 请保留类名、签名和属性名 emb、rnn、fc。检查先在 float64 下用两种单元和其他尺寸比较 logits
# [zh] 和梯度，再像 rnnlab lesson --program lstm 和 --program gru 那样从相同的初始权重训练你的模型：
# [zh] 每一轮的预测都要与课程的模型相同，最后得到 "ohlol"。

import torch
from torch import nn


class Model(nn.Module):
    def __init__(self, input_size, embedding_size, hidden_size, num_layers, num_class, cell="lstm"):
        super().__init__()
        self.num_layers = num_layers
        self.hidden_size = hidden_size
        self.num_class = num_class
        self.cell = cell  # "lstm" or "gru"
        # TODO
        # [en] self.emb and self.fc as in program 3 (exercise 4); self.rnn: nn.LSTM when cell is "lstm",
        # [en] nn.GRU when it is "gru", from embedding_size to hidden_size, with num_layers and batch_first=True.
        # [zh] self.emb 和 self.fc 与程序 3（练习 4）相同；self.rnn：cell 为 "lstm" 时是 nn.LSTM，
        # [zh] 为 "gru" 时是 nn.GRU，从 embedding_size 到 hidden_size，带 num_layers 和 batch_first=True。

    def forward(self, x):
        # x (batchSize, seqLen) ids -> logits (batchSize*seqLen, numClass)
        # TODO
        # [en] As in program 3, but the LSTM's state is a pair (h_0, c_0) of zeros (numLayers, batchSize,
        # [en] hiddenSize), the GRU's h_0 alone; make them after x = self.emb(x), in x's dtype (x.new_zeros).
        # [zh] 与程序 3 相同，但 LSTM 的状态是一对全零的 (h_0, c_0)，形状 (numLayers, batchSize, hiddenSize)，
        # [zh] GRU 的状态只有 h_0；请在 x = self.emb(x) 之后按 x 的 dtype 构造（x.new_zeros）。
        raise NotImplementedError("TODO: Model.forward")


if __name__ == "__main__":
    # [en] This part runs when you run the file (python homework.py), not when it is checked:
    # [en] the homework's training, "hello" -> "ohlol", with each cell.
    # [zh] 这一部分只在直接运行本文件时执行（python homework.py），检查时不会执行：
    # [zh] 作业的训练，"hello" -> "ohlol"，两种单元各训练一次。
    idx2char = ["e", "h", "l", "o"]
    inputs = torch.LongTensor([[1, 0, 2, 2, 3]])  # hello, (batchSize, seqLen) = (1, 5)
    labels = torch.LongTensor([3, 1, 2, 3, 2])  # ohlol, (batchSize*seqLen,) = (5,)
    for cell in ("lstm", "gru"):
        net = Model(input_size=4, embedding_size=10, hidden_size=8, num_layers=2, num_class=4, cell=cell)
        criterion = nn.CrossEntropyLoss()
        optimizer = torch.optim.Adam(net.parameters(), lr=0.1)
        for epoch in range(15):
            optimizer.zero_grad()
            outputs = net(inputs)  # (5, 4)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()
            predicted = "".join(idx2char[i] for i in outputs.argmax(dim=1).tolist())
            print(cell, "Predicted: ", predicted, end="")
            print(", Epoch [%d/15] loss = %.3f" % (epoch + 1, loss.item()))
"""

CELLS = ("lstm", "gru")
TWIN = program3.model_twin(
    "nn.Embedding -> nn.LSTM/GRU -> nn.Linear",
    program3.cases(("lstm", (7, 5, 4, 2, 6, 3, 8)), ("gru", (6, 4, 3, 2, 5, 7, 9)), ("lstm", (5, 9, 6, 1, 3, 2, 4)), cell_argument=True),
)

VARIANTS = (
    *program3.VARIANTS,
    program3.variant(
        "lstm_h0_only",
        {"hx": "h"},
        ("the LSTM given h_0 alone", "只给 LSTM 传了 h_0"),
        (
            "an LSTM's state is a pair: x, (h_n, c_n) = self.rnn(x, (h_0, c_0)), both zeros (numLayers, batchSize, hiddenSize); "
            "given one tensor, torch splits it along its first axis into (hx[0], hx[1]), two 2-D tensors, and raises",
            "LSTM 的状态是一对：x, (h_n, c_n) = self.rnn(x, (h_0, c_0))，两者都是全零的 (numLayers, batchSize, hiddenSize)；"
            "只给一个张量时，torch 会沿第一个轴把它拆成 (hx[0], hx[1])，两个二维张量，于是报错",
        ),
        "homework",
    ),
    program3.variant(
        "gru_given_pair",
        {"hx": "pair"},
        ("the GRU given (h_0, c_0)", "给 GRU 传了 (h_0, c_0)"),
        (
            "a GRU's state is h alone, as the RNN's: x, h_n = self.rnn(x, h_0); only the LSTM has a cell state c",
            "GRU 的状态只有 h，与 RNN 相同：x, h_n = self.rnn(x, h_0)；只有 LSTM 才有细胞状态 c",
        ),
        "homework",
    ),
)

EXERCISE = Exercise(
    name="homework",
    number=5,
    title={"en": "the homework: program 3's model with LSTM and GRU", "zh": "课后作业：用 LSTM 和 GRU 实现程序 3 的模型"},
    target="Model",
    skeleton=SKELETON,
    checks=(*twin.checks(TWIN), program3.trains_check(CELLS, cell_argument=True)),
    variants=VARIANTS,
    lesson="homework",
)
