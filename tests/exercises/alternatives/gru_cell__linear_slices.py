# rnnlab exercise: gru_cell
# F.linear on per-part slices of the weights and biases, r and z from one sigmoid.

import math

import torch
import torch.nn.functional as F
from torch import nn


class GRUCell(nn.Module):
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.weight_ih = nn.Parameter(torch.empty(3 * hidden_size, input_size))  # (3H, D)
        self.weight_hh = nn.Parameter(torch.empty(3 * hidden_size, hidden_size))  # (3H, H)
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(3 * hidden_size))  # (3H,)
            self.bias_hh = nn.Parameter(torch.empty(3 * hidden_size))  # (3H,)
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
            hx = input.new_zeros(input.size(0), self.hidden_size)  # (B, H)
        H = self.hidden_size
        b_ih, b_hh = self.bias_ih, self.bias_hh  # None when bias=False
        rz = torch.sigmoid(
            F.linear(input, self.weight_ih[: 2 * H], None if b_ih is None else b_ih[: 2 * H])
            + F.linear(hx, self.weight_hh[: 2 * H], None if b_hh is None else b_hh[: 2 * H])
        )
        r, z = rz[:, :H], rz[:, H:]
        x_n = F.linear(input, self.weight_ih[2 * H :], None if b_ih is None else b_ih[2 * H :])
        h_n = F.linear(hx, self.weight_hh[2 * H :], None if b_hh is None else b_hh[2 * H :])
        n = torch.tanh(x_n + r * h_n)
        return n + z * (hx - n)  # = (1 - z) * n + z * h
