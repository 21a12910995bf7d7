# rnnlab exercise: homework
# The lecture's init_hidden, made in the embedding's dtype.
import torch
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

    def init_hidden(self, batch_size, like):
        hidden = torch.zeros(self.num_layers, batch_size, self.hidden_size, dtype=like.dtype)
        if self.cell == "lstm":
            return hidden, torch.zeros_like(hidden)
        return hidden

    def forward(self, x):
        x = self.emb(x)
        hidden = self.init_hidden(x.size(0), x)
        x, _ = self.rnn(x, hidden)
        x = self.fc(x)
        return x.view(-1, self.num_class)
