# rnnlab exercise: homework
# expect: h_n_as_output
# The LSTM's h_n taken for its output, `_, (x, _)` (and the GRU's `_, x`).
from torch import nn


class Model(nn.Module):
    def __init__(self, input_size, embedding_size, hidden_size, num_layers, num_class, cell="lstm"):
        super().__init__()
        self.num_layers = num_layers
        self.hidden_size = hidden_size
        self.num_class = num_class
        self.cell = cell
        self.emb = nn.Embedding(input_size, embedding_size)
        rnn_class = nn.LSTM if cell == "lstm" else nn.GRU
        self.rnn = rnn_class(input_size=embedding_size, hidden_size=hidden_size, num_layers=num_layers, batch_first=True)
        self.fc = nn.Linear(hidden_size, num_class)

    def forward(self, x):
        x = self.emb(x)  # (batchSize, seqLen, embeddingSize)
        hidden = x.new_zeros(self.num_layers, x.size(0), self.hidden_size)  # (numLayers, batchSize, hiddenSize)
        if self.cell == "lstm":
            hidden = (hidden, x.new_zeros(self.num_layers, x.size(0), self.hidden_size))  # (h_0, c_0)
        if self.cell == "lstm":
            _, (x, _) = self.rnn(x, hidden)
        else:
            _, x = self.rnn(x, hidden)
        x = self.fc(x)  # (batchSize, seqLen, numClass)
        return x.view(-1, self.num_class)  # (batchSize*seqLen, numClass)
