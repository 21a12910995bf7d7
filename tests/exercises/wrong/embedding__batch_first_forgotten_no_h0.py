# rnnlab exercise: embedding
# expect: batch_first_forgotten_no_h0
# No batch_first=True and no h_0 given: it runs, along the wrong axis.
from torch import nn


class Model(nn.Module):
    def __init__(self, input_size, embedding_size, hidden_size, num_layers, num_class):
        super().__init__()
        self.num_layers = num_layers
        self.hidden_size = hidden_size
        self.num_class = num_class
        self.emb = nn.Embedding(input_size, embedding_size)
        self.rnn = nn.RNN(input_size=embedding_size, hidden_size=hidden_size, num_layers=num_layers)
        self.fc = nn.Linear(hidden_size, num_class)

    def forward(self, x):
        x = self.emb(x)  # (batchSize, seqLen, embeddingSize)
        x, _ = self.rnn(x)  # (batchSize, seqLen, hiddenSize)
        x = self.fc(x)  # (batchSize, seqLen, numClass)
        return x.view(-1, self.num_class)  # (batchSize*seqLen, numClass)
