# rnnlab exercise: gru_cell
# expect: z_swapped
# h' = z * n + (1 - z) * h: the update gate the other way round.

import math

import torch
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
        gx = input @ self.weight_ih.T  # (B, 3H)
        gh = hx @ self.weight_hh.T  # (B, 3H)
        if self.bias_ih is not None:
            gx = gx + self.bias_ih
            gh = gh + self.bias_hh
        x_r, x_z, x_n = gx.chunk(3, dim=1)  # (B, H) each
        h_r, h_z, h_n = gh.chunk(3, dim=1)
        r = torch.sigmoid(x_r + h_r)
        z = torch.sigmoid(x_z + h_z)
        n = torch.tanh(x_n + r * h_n)
        return z * n + (1 - z) * hx
