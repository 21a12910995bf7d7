# rnnlab exercise: lstm_cell
# expect: return_swapped
# Returns (c', h') instead of (h', c').

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
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def forward(self, input, hx=None):
        if hx is None:
            zeros = input.new_zeros(input.size(0), self.hidden_size)  # (B, H)
            hx = (zeros, zeros)
        h, c = hx
        gates = input @ self.weight_ih.T + h @ self.weight_hh.T  # (B, 4H)
        if self.bias_ih is not None:
            gates = gates + self.bias_ih + self.bias_hh
        i, f, g, o = gates.chunk(4, dim=1)
        c_next = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h_next = torch.sigmoid(o) * torch.tanh(c_next)
        return c_next, h_next
