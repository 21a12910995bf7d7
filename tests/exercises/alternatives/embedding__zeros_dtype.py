# rnnlab exercise: embedding
# Keyword arguments for the layers, h_0 made with torch.zeros in the embedding's dtype, the rows by flatten.
import torch
from torch import nn


class Model(nn.Module):
    def __init__(self, input_size, embedding_size, hidden_size, num_layers, num_class):
        super().__init__()
        self.num_layers = num_layers
        self.hidden_size = hidden_size
        self.num_class = num_class
        self.emb = torch.nn.Embedding(num_embeddings=input_size, embedding_dim=embedding_size)
        self.rnn = torch.nn.RNN(embedding_size, hidden_size, num_layers, batch_first=True)
        self.fc = torch.nn.Linear(in_features=hidden_size, out_features=num_class)

    def forward(self, x):
        batch_size = x.size(0)
        embedded = self.emb(x)  # (batchSize, seqLen, embeddingSize)
        h_0 = torch.zeros(self.num_layers, batch_size, self.hidden_size, dtype=embedded.dtype)
        out, _ = self.rnn(embedded, h_0)
        return self.fc(out).flatten(0, 1)  # (batchSize*seqLen, numClass)
