# rnnlab exercise: embedding
# expect: h0_batch_first
# With batch_first=True, h_0 made batch-first too.
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
        x = self.emb(x)  # (batchSize, seqLen, embeddingSize)
        hidden = x.new_zeros(x.size(0), self.num_layers, self.hidden_size)  # (numLayers, batchSize, hiddenSize)
        x, _ = self.rnn(x, hidden)  # (batchSize, seqLen, hiddenSize)
        x = self.fc(x)  # (batchSize, seqLen, numClass)
        return x.view(-1, self.num_class)  # (batchSize*seqLen, numClass)
