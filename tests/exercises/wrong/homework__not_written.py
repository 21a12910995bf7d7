# rnnlab exercise: homework
# expect: advice.layers
# The skeleton as rnnlab exercise start writes it, nothing written yet.
# Exercise 5 of lecture 12, the homework: program 3's model with an LSTM or a GRU instead of the RNN,
# Embedding -> LSTM/GRU(num_layers, batch_first=True) -> Linear.
# Check it with:  rnnlab exercise check homework.py   (docs/exercises.md says what is checked)
#
# The model is exercise 4's; only the recurrent layer and its state change. An LSTM's state is
# a pair (h, c): it takes (h_0, c_0) and returns out, (h_n, c_n). A GRU's is h alone, as the RNN's.
#
#     x                                  (batchSize, seqLen)
#     x = self.emb(x)                    (batchSize, seqLen, embeddingSize)
#     LSTM: x, (h_n, c_n) = self.rnn(x, (h_0, c_0))    h_0, c_0, h_n, c_n (numLayers, batchSize, hiddenSize)
#     GRU:  x, h_n = self.rnn(x, h_0)                  h_0, h_n (numLayers, batchSize, hiddenSize)
#     x                                  (batchSize, seqLen, hiddenSize)
#     x = self.fc(x)                     (batchSize, seqLen, numClass)
#     x.view(-1, numClass)               (batchSize*seqLen, numClass)         row b*seqLen + t = x[b, t]
#
# The lecture: input_size = numClass = 4, embeddingSize = 10, hiddenSize = 8, numLayers = 2, lr = 0.1.
#
# The checks copy the lesson's weights into yours by name (emb.weight, rnn.weight_ih_l0, ...,
# fc.bias): keep the class name, the signature and the attributes emb, rnn, fc. They compare
# the logits and the gradients in float64 with both cells on other sizes, then train your model
# as rnnlab lesson --program lstm and --program gru do, from the same initial weights: it must
# predict what the lesson's model predicts at every epoch, and "ohlol" at the end.

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
        # self.emb and self.fc as in program 3 (exercise 4); self.rnn: nn.LSTM when cell is "lstm",
        # nn.GRU when it is "gru", from embedding_size to hidden_size, with num_layers and batch_first=True.

    def forward(self, x):
        # x (batchSize, seqLen) ids -> logits (batchSize*seqLen, numClass)
        # TODO
        # As in program 3, but the LSTM's state is a pair (h_0, c_0) of zeros (numLayers, batchSize,
        # hiddenSize), the GRU's h_0 alone; make them after x = self.emb(x), in x's dtype (x.new_zeros).
        raise NotImplementedError("TODO: Model.forward")


if __name__ == "__main__":
    # This part runs when you run the file (python homework.py), not when it is checked:
    # the homework's training, "hello" -> "ohlol", with each cell.
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
