# rnnlab exercise: gru_cell
# expect: no_reset
# Both products summed first, like the LSTM's gates: the reset gate is computed but never used.

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
        gates = input @ self.weight_ih.T + hx @ self.weight_hh.T  # (B, 3H)
        if self.bias_ih is not None:
            gates = gates + self.bias_ih + self.bias_hh
        r_pre, z_pre, n_pre = gates.chunk(3, dim=1)
        r = torch.sigmoid(r_pre)  # noqa: F841 (the mistake: r computed, never used)
        z = torch.sigmoid(z_pre)
        n = torch.tanh(n_pre)
        return (1 - z) * n + z * hx
