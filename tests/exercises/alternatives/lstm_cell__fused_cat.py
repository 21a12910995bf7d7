# rnnlab exercise: lstm_cell
# One fused matrix: torch.cat([x, h], 1) @ torch.cat([W_ih, W_hh], 1).T, then slicing.

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
        gates = torch.cat([input, h], 1) @ torch.cat([self.weight_ih, self.weight_hh], 1).T  # (B, 4H)
        if self.bias_ih is not None:
            gates = gates + (self.bias_ih + self.bias_hh)
        H = self.hidden_size
        ifo = torch.sigmoid(torch.cat([gates[:, : 2 * H], gates[:, 3 * H :]], 1))  # i, f, o
        g = torch.tanh(gates[:, 2 * H : 3 * H])
        i, f, o = ifo[:, :H], ifo[:, H : 2 * H], ifo[:, 2 * H :]
        c_next = torch.addcmul(f * c, i, g)
        return o * torch.tanh(c_next), c_next
