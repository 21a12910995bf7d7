"""Exercise 4, ``embedding``: program 3's model, ``Embedding -> RNN(num_layers=2, batch_first=True)
-> Linear``, written as the student's ``Model``; checked against the lesson's model on other sizes
(a batch of several sequences), then trained as ``rnnlab lesson --program embedding`` trains it
(:mod:`.program3` holds what this exercise shares with the homework's, exercise 5)."""

from __future__ import annotations

from rnnlab.exercise import program3, twin
from rnnlab.exercise.core import Exercise

SKELETON = """
# rnnlab exercise: embedding
# [en] Exercise 4 of lecture 12: program 3's model, Embedding -> RNN(num_layers, batch_first=True) -> Linear.
# [zh] 第 12 讲练习 4：程序 3 的模型，Embedding -> RNN(num_layers, batch_first=True) -> Linear。
# [en] Check it with:  rnnlab exercise check embedding.py   (docs/exercises.md says what is checked)
# [zh] 检查：rnnlab exercise check embedding.py（检查什么，见 docs/exercises.zh.md）
#
# [en] Program 3 gives the RNN a dense vector per character, learned by an Embedding, instead of a
# [en] one-hot vector, and maps the RNN's hidden state to the classes with a Linear layer, so that
# [en] hiddenSize is free. Its input is the ids of "hello"; its output one row of logits per label.
# [zh] 程序 3 不再用独热向量，而是用 Embedding 为每个字符学习一个稠密向量送进 RNN，再用 Linear 层把
# [zh] RNN 的隐藏状态映射到各个类别，这样 hiddenSize 就可以自由选择。输入是 "hello" 的编号；
# [zh] 输出是每个标签一行 logits。
#
#     x                        (batchSize, seqLen)
#     x = self.emb(x)          (batchSize, seqLen, embeddingSize)
#     h_0                      (numLayers, batchSize, hiddenSize)
#     x, _ = self.rnn(x, h_0)  (batchSize, seqLen, hiddenSize)
#     x = self.fc(x)           (batchSize, seqLen, numClass)
#     x.view(-1, numClass)     (batchSize*seqLen, numClass)         row b*seqLen + t = x[b, t]
#
# [en] x holds ids; with batch_first=True the RNN's input and output are batch-first, its states are not.
# [en] The rows of the result are in the labels' order.
# [zh] x 是编号；batch_first=True 时 RNN 的输入和输出是批量优先的，状态不是。结果各行的顺序与标签相同。
#
# [en] The lecture: input_size = numClass = 4, embeddingSize = 10, hiddenSize = 8, numLayers = 2, batchSize = 1.
# [zh] 课上的尺寸：input_size = numClass = 4，embeddingSize = 10，hiddenSize = 8，numLayers = 2，batchSize = 1。
#
# [en] The checks copy the lesson's weights into yours by name (emb.weight, rnn.weight_ih_l0, ...,
# [en] fc.bias): keep the class name, the signature and the attributes emb, rnn, fc. They compare
# [en] the logits and the gradients in float64 on other sizes (several sequences in a batch), then
# [en] train your model as rnnlab lesson --program embedding does, from the same initial weights:
# [en] it must predict what the lesson's model predicts at every epoch, and "ohlol" at the end.
# [zh] 检查会按名字把课程模型的权重复制到你的模型里（emb.weight、rnn.weight_ih_l0、……、fc.bias）：
# [zh] 请保留类名、签名和属性名 emb、rnn、fc。检查先在 float64 下用其他尺寸（一个批次有多个序列）
# [zh] 比较 logits 和梯度，再像 rnnlab lesson --program embedding 那样从相同的初始权重训练你的模型：
# [zh] 每一轮的预测都要与课程的模型相同，最后得到 "ohlol"。

import torch
from torch import nn


class Model(nn.Module):
    def __init__(self, input_size, embedding_size, hidden_size, num_layers, num_class):
        super().__init__()
        self.num_layers = num_layers
        self.hidden_size = hidden_size
        self.num_class = num_class
        # TODO
        # [en] self.emb: nn.Embedding, input_size ids to vectors of embedding_size;
        # [en] self.rnn: nn.RNN from embedding_size to hidden_size, with num_layers and batch_first=True;
        # [en] self.fc: nn.Linear from hidden_size to num_class.
        # [zh] self.emb：nn.Embedding，把 input_size 种编号映射成 embedding_size 维的向量；
        # [zh] self.rnn：nn.RNN，从 embedding_size 到 hidden_size，带 num_layers 和 batch_first=True；
        # [zh] self.fc：nn.Linear，从 hidden_size 到 num_class。

    def forward(self, x):
        # x (batchSize, seqLen) ids -> logits (batchSize*seqLen, numClass)
        # TODO
        # [en] h_0 is zeros (numLayers, batchSize, hiddenSize). The lecture's init_hidden makes it with
        # [en] torch.zeros, float32; the checks run in float64: make it after x = self.emb(x), in x's
        # [en] dtype (x.new_zeros(...)). Then self.rnn, self.fc and the view, as above.
        # [zh] h_0 是全零的 (numLayers, batchSize, hiddenSize)。课上的 init_hidden 用 torch.zeros 构造，
        # [zh] 是 float32；检查使用 float64：请在 x = self.emb(x) 之后按 x 的 dtype 构造
        # [zh] （x.new_zeros(...)）。然后按上面的顺序调用 self.rnn、self.fc，再 view。
        raise NotImplementedError("TODO: Model.forward")


if __name__ == "__main__":
    # [en] This part runs when you run the file (python embedding.py), not when it is checked:
    # [en] program 3's training, "hello" -> "ohlol".
    # [zh] 这一部分只在直接运行本文件时执行（python embedding.py），检查时不会执行：
    # [zh] 程序 3 的训练，"hello" -> "ohlol"。
    idx2char = ["e", "h", "l", "o"]
    inputs = torch.LongTensor([[1, 0, 2, 2, 3]])  # hello, (batchSize, seqLen) = (1, 5)
    labels = torch.LongTensor([3, 1, 2, 3, 2])  # ohlol, (batchSize*seqLen,) = (5,)
    net = Model(input_size=4, embedding_size=10, hidden_size=8, num_layers=2, num_class=4)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(net.parameters(), lr=0.05)
    for epoch in range(15):
        optimizer.zero_grad()
        outputs = net(inputs)  # (5, 4)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        predicted = "".join(idx2char[i] for i in outputs.argmax(dim=1).tolist())
        print("Predicted: ", predicted, end="")
        print(", Epoch [%d/15] loss = %.3f" % (epoch + 1, loss.item()))
"""

CELLS = ("rnn",)
TWIN = program3.model_twin(
    "nn.Embedding -> nn.RNN -> nn.Linear",
    program3.cases(("rnn", (7, 5, 4, 2, 6, 3, 8)), ("rnn", (5, 9, 6, 1, 3, 2, 4)), ("rnn", (4, 3, 5, 3, 7, 2, 6))),
)

EXERCISE = Exercise(
    name="embedding",
    number=4,
    title={
        "en": "program 3's model: Embedding -> RNN (batch_first) -> Linear",
        "zh": "程序 3 的模型：Embedding -> RNN（batch_first）-> Linear",
    },
    target="Model",
    skeleton=SKELETON,
    checks=(*twin.checks(TWIN), program3.trains_check(CELLS, cell_argument=False)),
    variants=program3.VARIANTS,
    lesson="embedding",
)
