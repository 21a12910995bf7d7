"""rnnlab: character-level recurrent neural networks in PyTorch.

- ``rnnlab.nn``: RNN, LSTM and GRU cells and layers written from tensor ops, equal to ``torch.nn``.
- ``rnnlab lesson``: lecture 12 of "PyTorch深度学习实践", reproduced ("hello" -> "ohlol").
"""

__version__ = "0.1.0"
