"""Reference RNN, LSTM and GRU cells and layers, written from tensor ops and equal to ``torch.nn``.

Each family lives in its own module (``rnn``, ``lstm``, ``gru``) as a one-step function plus a
cell and a layer class; ``_base`` holds the shared time loop, packed-sequence handling and
parameter layout. Parameter names, shapes, order and initialisation follow ``torch.nn``, so
state dicts load both ways.
"""

from rnnlab.nn.gru import GRU, GRUCell
from rnnlab.nn.lstm import LSTM, LSTMCell
from rnnlab.nn.rnn import RNN, RNNCell
