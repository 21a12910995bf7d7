"""The lecture's three ``Model`` classes, written as the lecture writes them.

Each is the lecture's ``Model`` with its sizes as constructor arguments, ``init_hidden`` and
``out.view(-1, ...)`` as in the lecture, so that students recognise them. ``layers`` is where the
recurrent classes come from (``torch.nn`` or ``rnnlab.nn``, chosen by :func:`rnnlab.lesson.programs.train`);
``Embedding`` and ``Linear`` always come from ``torch.nn``. Nothing here prints or traces: the
``--shapes`` printout watches these models from outside, with hooks (:mod:`rnnlab.lesson.shapes`).
"""

from __future__ import annotations

import torch

# Program 3's sizes (the lecture's constants).
EMBEDDING_SIZE = 10
HIDDEN_SIZE = 8
NUM_LAYERS = 2


class RNNCellModel(torch.nn.Module):
    """Program 1 (the lecture's first ``Model``): one ``RNNCell``, the time loop is outside."""

    def __init__(self, input_size, hidden_size, batch_size, layers=torch.nn):
        super().__init__()
        self.batch_size = batch_size
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.rnncell = layers.RNNCell(input_size=self.input_size, hidden_size=self.hidden_size)

    def forward(self, input, hidden):
        hidden = self.rnncell(input, hidden)
        return hidden

    def init_hidden(self):
        return torch.zeros(self.batch_size, self.hidden_size)


class RNNModel(torch.nn.Module):
    """Program 2 (the lecture's second ``Model``): ``nn.RNN`` over the whole sequence at once."""

    def __init__(self, input_size, hidden_size, batch_size, num_layers=1, layers=torch.nn):
        super().__init__()
        self.num_layers = num_layers
        self.batch_size = batch_size
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.rnn = layers.RNN(input_size=self.input_size, hidden_size=self.hidden_size, num_layers=num_layers)

    def init_hidden(self):
        return torch.zeros(self.num_layers, self.batch_size, self.hidden_size)

    def forward(self, input):
        hidden = self.init_hidden()
        out, _ = self.rnn(input, hidden)
        return out.view(-1, self.hidden_size)


class EmbeddingModel(torch.nn.Module):
    """Program 3 (the lecture's third ``Model``) and the LSTM/GRU homework:
    ``Embedding -> RNN/LSTM/GRU (batch_first) -> Linear``."""

    def __init__(
        self,
        input_size,
        num_class,
        embedding_size=EMBEDDING_SIZE,
        hidden_size=HIDDEN_SIZE,
        num_layers=NUM_LAYERS,
        cell="rnn",
        layers=torch.nn,
    ):
        super().__init__()
        self.num_layers = num_layers
        self.hidden_size = hidden_size
        self.num_class = num_class
        self.cell = cell
        rnn_class = {"rnn": layers.RNN, "lstm": layers.LSTM, "gru": layers.GRU}[cell]
        self.emb = torch.nn.Embedding(input_size, embedding_size)
        self.rnn = rnn_class(input_size=embedding_size, hidden_size=hidden_size, num_layers=num_layers, batch_first=True)
        self.fc = torch.nn.Linear(hidden_size, num_class)

    def init_hidden(self, batch_size):
        hidden = torch.zeros(self.num_layers, batch_size, self.hidden_size)
        if self.cell == "lstm":
            return hidden, torch.zeros(self.num_layers, batch_size, self.hidden_size)
        return hidden

    def forward(self, x):
        hidden = self.init_hidden(x.size(0))
        x = self.emb(x)
        x, _ = self.rnn(x, hidden)
        x = self.fc(x)
        return x.view(-1, self.num_class)
