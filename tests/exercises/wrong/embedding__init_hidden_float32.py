# rnnlab exercise: embedding
# expect: h0_float32
# The lecture's init_hidden, torch.zeros: float32 where the checks' embeddings are float64.
import torch
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

    def init_hidden(self, batch_size):
        return torch.zeros(self.num_layers, batch_size, self.hidden_size)

    def forward(self, x):
        x = self.emb(x)  # (batchSize, seqLen, embeddingSize)
        hidden = self.init_hidden(x.size(0))
        x, _ = self.rnn(x, hidden)  # (batchSize, seqLen, hiddenSize)
        x = self.fc(x)  # (batchSize, seqLen, numClass)
        return x.view(-1, self.num_class)  # (batchSize*seqLen, numClass)
