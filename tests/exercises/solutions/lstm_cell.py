# rnnlab exercise: lstm_cell
# The reference solution (tests/test_exercises.py): the skeleton with forward written.
# Exercise 6 of lecture 12 (the homework): an LSTM cell from scratch, equal to torch.nn.LSTMCell.
# Check it with:  rnnlab exercise check lstm_cell.py   (docs/exercises.md says what is checked)
#
# An LSTM carries two states: the hidden state h (its output) and the cell state c (its memory).
# Three gates, each a sigmoid in (0, 1), decide what the memory forgets (f), takes in (i) and
# shows (o); g, a tanh in (-1, 1), is what it may take in. One step:
#
#     i  = sigmoid(x W_ii^T + b_ii + h W_hi^T + b_hi)
#     f  = sigmoid(x W_if^T + b_if + h W_hf^T + b_hf)
#     g  = tanh(x W_ig^T + b_ig + h W_hg^T + b_hg)
#     o  = sigmoid(x W_io^T + b_io + h W_ho^T + b_ho)
#     c' = f * c + i * g
#     h' = o * tanh(c')
#
# torch.nn stacks the four gates in one matrix each, in the order i, f, g, o:
#
#     weight_ih (4H, D) = [W_ii; W_if; W_ig; W_io]
#     weight_hh (4H, H) = [W_hi; W_hf; W_hg; W_ho]
#     bias_ih (4H,) = [b_ii; b_if; b_ig; b_io]    bias_hh (4H,) = [b_hi; b_hf; b_hg; b_ho]
#
# Rows 0:H are gate i, H:2H f, 2H:3H g, 3H:4H o. Shapes (B: batch, D: input_size, H: hidden_size):
#
#     x (B, D)    h, c (B, H)    h', c' (B, H)
#
# The checks copy torch.nn.LSTMCell's weights into yours by name, then compare (h', c'), their
# shapes and the gradients in float64: keep the class name, the signatures and the parameter
# names. How you compute inside forward is yours to choose (one product for all four gates,
# or one per gate; torch.chunk or slices).

import math

import torch
from torch import nn


class LSTMCell(nn.Module):
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.weight_ih = nn.Parameter(torch.empty(4 * hidden_size, input_size))  # (4H, D)
        self.weight_hh = nn.Parameter(torch.empty(4 * hidden_size, hidden_size))  # (4H, H)
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(4 * hidden_size))  # (4H,)
            self.bias_hh = nn.Parameter(torch.empty(4 * hidden_size))  # (4H,)
        else:
            # Without biases the attributes still exist and hold None, as in torch.nn.
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        # torch.nn's initialisation: every parameter uniform in [-1/sqrt(H), 1/sqrt(H)].
        bound = 1 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def forward(self, input, hx=None):
        # input (B, D), hx = (h, c) each (B, H), or None -> (h', c') each (B, H)
        if hx is None:
            # No state given: zeros, with the input's dtype and device.
            zeros = input.new_zeros(input.size(0), self.hidden_size)  # (B, H)
            hx = (zeros, zeros)
        h, c = hx
        gates = input @ self.weight_ih.T + h @ self.weight_hh.T  # (B, 4H)
        if self.bias_ih is not None:
            gates = gates + self.bias_ih + self.bias_hh
        H = self.hidden_size
        i = torch.sigmoid(gates[:, 0:H])
        f = torch.sigmoid(gates[:, H : 2 * H])
        g = torch.tanh(gates[:, 2 * H : 3 * H])
        o = torch.sigmoid(gates[:, 3 * H : 4 * H])
        c_next = f * c + i * g  # (B, H)
        h_next = o * torch.tanh(c_next)  # (B, H)
        return h_next, c_next


if __name__ == "__main__":
    # This part runs when you run the file (python lstm_cell.py), not when it is checked.
    cell = LSTMCell(input_size=10, hidden_size=8)
    x = torch.randn(1, 10)  # (batchSize, embeddingSize)
    h, c = cell(x)
    print(h.shape, c.shape)  # torch.Size([1, 8]) torch.Size([1, 8])
