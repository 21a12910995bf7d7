# rnnlab exercise: lstm_cell
# torch.chunk on each product separately, gates named as they come, the nonlinearities as methods.

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
        x_i, x_f, x_g, x_o = torch.chunk(input @ self.weight_ih.T, 4, dim=1)
        h_i, h_f, h_g, h_o = torch.chunk(h @ self.weight_hh.T, 4, dim=1)
        if self.bias_ih is not None:
            b_i, b_f, b_g, b_o = torch.chunk(self.bias_ih + self.bias_hh, 4)
        else:
            b_i = b_f = b_g = b_o = 0.0
        i = (x_i + h_i + b_i).sigmoid()
        f = (x_f + h_f + b_f).sigmoid()
        g = (x_g + h_g + b_g).tanh()
        o = (x_o + h_o + b_o).sigmoid()
        c = f * c + i * g
        h = o * c.tanh()
        return h, c
