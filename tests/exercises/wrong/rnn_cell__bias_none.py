# rnnlab exercise: rnn_cell
# expect: advice.bias_none
# The biases added without a check for bias=False, where they are None.
# Exercise 1 of lecture 12: RNNCell's forward pass, from matrix products and tanh.
# Check it with:  rnnlab exercise check rnn_cell.py   (docs/exercises.md says what is checked)
#
# The lecture's program 1 calls torch.nn.RNNCell once per time step: hidden = cell(input, hidden).
# Here you write that cell. One step takes the input x and the previous hidden state h:
#
#     h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)
#
# Shapes (B: batch size, D: input_size, H: hidden_size):
#
#     x (B, D)            h (B, H)            h' (B, H)
#     weight_ih (H, D)    weight_hh (H, H)    bias_ih (H,)    bias_hh (H,)
#
# The checks copy torch.nn.RNNCell's weights into yours by name, then compare h', its shape
# and the gradients in float64: keep the class name, the signatures and the parameter names.
# How you compute inside forward is yours to choose.

import math

import torch
from torch import nn


class RNNCell(nn.Module):
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        # A weight is (outputs, inputs), as torch.nn keeps it: one row per hidden unit.
        self.weight_ih = nn.Parameter(torch.empty(hidden_size, input_size))  # (H, D)
        self.weight_hh = nn.Parameter(torch.empty(hidden_size, hidden_size))  # (H, H)
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(hidden_size))  # (H,)
            self.bias_hh = nn.Parameter(torch.empty(hidden_size))  # (H,)
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
        # input (B, D), hx (B, H) or None -> h' (B, H)
        if hx is None:
            # No state given: zeros, with the input's dtype and device.
            hx = input.new_zeros(input.size(0), self.hidden_size)  # (B, H)
        # h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)
        pre = input @ self.weight_ih.T + hx @ self.weight_hh.T  # (B, H)
        pre = pre + self.bias_ih + self.bias_hh
        return torch.tanh(pre)


if __name__ == "__main__":
    # This part runs when you run the file (python rnn_cell.py), not when it is checked.
    cell = RNNCell(input_size=4, hidden_size=4)
    x = torch.randn(1, 4)  # (batchSize, inputSize)
    h = torch.zeros(1, 4)  # (batchSize, hiddenSize)
    print(cell(x, h).shape)  # torch.Size([1, 4])
