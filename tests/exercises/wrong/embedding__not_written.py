# rnnlab exercise: embedding
# expect: advice.layers
# The skeleton as rnnlab exercise start writes it, nothing written yet.
# Exercise 4 of lecture 12: program 3's model, Embedding -> RNN(num_layers, batch_first=True) -> Linear.
# Check it with:  rnnlab exercise check embedding.py   (docs/exercises.md says what is checked)
#
# Program 3 gives the RNN a dense vector per character, learned by an Embedding, instead of a
# one-hot vector, and maps the RNN's hidden state to the classes with a Linear layer, so that
# hiddenSize is free. Its input is the ids of "hello"; its output one row of logits per label.
#
#     x                        (batchSize, seqLen)
#     x = self.emb(x)          (batchSize, seqLen, embeddingSize)
#     h_0                      (numLayers, batchSize, hiddenSize)
#     x, _ = self.rnn(x, h_0)  (batchSize, seqLen, hiddenSize)
#     x = self.fc(x)           (batchSize, seqLen, numClass)
#     x.view(-1, numClass)     (batchSize*seqLen, numClass)         row b*seqLen + t = x[b, t]
#
# x holds ids; with batch_first=True the RNN's input and output are batch-first, its states are not.
# The rows of the result are in the labels' order.
#
# The lecture: input_size = numClass = 4, embeddingSize = 10, hiddenSize = 8, numLayers = 2, batchSize = 1.
#
# The checks copy the lesson's weights into yours by name (emb.weight, rnn.weight_ih_l0, ...,
# fc.bias): keep the class name, the signature and the attributes emb, rnn, fc. They compare
# the logits and the gradients in float64 on other sizes (several sequences in a batch), then
# train your model as rnnlab lesson --program embedding does, from the same initial weights:
# it must predict what the lesson's model predicts at every epoch, and "ohlol" at the end.

import torch
from torch import nn


class Model(nn.Module):
    def __init__(self, input_size, embedding_size, hidden_size, num_layers, num_class):
        super().__init__()
        self.num_layers = num_layers
        self.hidden_size = hidden_size
        self.num_class = num_class
        # TODO
        # self.emb: nn.Embedding, input_size ids to vectors of embedding_size;
        # self.rnn: nn.RNN from embedding_size to hidden_size, with num_layers and batch_first=True;
        # self.fc: nn.Linear from hidden_size to num_class.

    def forward(self, x):
        # x (batchSize, seqLen) ids -> logits (batchSize*seqLen, numClass)
        # TODO
        # h_0 is zeros (numLayers, batchSize, hiddenSize). The lecture's init_hidden makes it with
        # torch.zeros, float32; the checks run in float64: make it after x = self.emb(x), in x's
        # dtype (x.new_zeros(...)). Then self.rnn, self.fc and the view, as above.
        raise NotImplementedError("TODO: Model.forward")


if __name__ == "__main__":
    # This part runs when you run the file (python embedding.py), not when it is checked:
    # program 3's training, "hello" -> "ohlol".
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
