# rnnlab exercise: embedding
# No h_0 (nn.RNN's default: zeros), the Linear applied to the rows of out.
from torch import nn


class Model(nn.Module):
    def __init__(self, input_size, embedding_size, hidden_size, num_layers, num_class):
        super().__init__()
        self.num_layers = num_layers
        self.hidden_size = hidden_size
        self.num_class = num_class
        self.emb = nn.Embedding(input_size, embedding_size)
        self.rnn = nn.RNN(input_size=embedding_size, hidden_size=hidden_size, num_layers=num_layers, batch_first=True)
        self.fc = nn.Linear(hidden_size, num_class)

    def forward(self, x):
        out, _ = self.rnn(self.emb(x))  # (batchSize, seqLen, hiddenSize)
        return self.fc(out.reshape(-1, self.hidden_size))  # (batchSize*seqLen, numClass)
