"""Recurrent cells and layers written from tensor ops.

RNN, LSTM and GRU are equal to ``torch.nn``'s: each family lives in its own module (``rnn``,
``lstm``, ``gru``) as a one-step function plus a cell and a layer class; ``_base`` holds the
shared time loop, packed-sequence handling and parameter layout. Parameter names, shapes, order
and initialisation follow ``torch.nn``, so state dicts load both ways. ``mingru`` and ``minlstm``
are the input-gated cells of Feng et al. (2024), trained with the parallel scan of ``scan``.
"""

from rnnlab.nn.gru import GRU, GRUCell
from rnnlab.nn.lstm import LSTM, LSTMCell
from rnnlab.nn.mingru import MinGRU
from rnnlab.nn.minlstm import MinLSTM
from rnnlab.nn.rnn import RNN, RNNCell
