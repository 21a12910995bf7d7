# rnnlab exercise: embedding
# expect: advice.trains
# The last h_n kept in self and used as the next call's h_0: one call is right, training is not.
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
        self.hidden = None

    def forward(self, x):
        x = self.emb(x)  # (batchSize, seqLen, embeddingSize)
        if self.hidden is None or self.hidden.size(1) != x.size(0):
            self.hidden = x.new_zeros(self.num_layers, x.size(0), self.hidden_size)
        x, hidden = self.rnn(x, self.hidden)
        self.hidden = hidden.detach()
        x = self.fc(x)  # (batchSize, seqLen, numClass)
        return x.view(-1, self.num_class)  # (batchSize*seqLen, numClass)
