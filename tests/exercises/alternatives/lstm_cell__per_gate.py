# rnnlab exercise: lstm_cell
# Four separate per-gate weight slices, weight_ih[0:H] ..., one F.linear per gate.

import math

import torch
import torch.nn.functional as F
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
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def gate(self, k, x, h):
        H = self.hidden_size
        rows = slice(k * H, (k + 1) * H)
        b_ih = None if self.bias_ih is None else self.bias_ih[rows]
        b_hh = None if self.bias_hh is None else self.bias_hh[rows]
        return F.linear(x, self.weight_ih[rows], b_ih) + F.linear(h, self.weight_hh[rows], b_hh)

    def forward(self, input, hx=None):
        if hx is None:
            zeros = input.new_zeros(input.size(0), self.hidden_size)  # (B, H)
            hx = (zeros, zeros)
        h, c = hx
        i = torch.sigmoid(self.gate(0, input, h))
        f = torch.sigmoid(self.gate(1, input, h))
        g = torch.tanh(self.gate(2, input, h))
        o = torch.sigmoid(self.gate(3, input, h))
        c_new = f * c + i * g
        return o * torch.tanh(c_new), c_new
