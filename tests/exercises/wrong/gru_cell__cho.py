# rnnlab exercise: gru_cell
# expect: cho
# The candidate as in Cho et al. (2014): the reset gate applied to h before the product.

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
        H = self.hidden_size
        W_ir, W_iz, W_in = self.weight_ih.split(H)  # (H, D) each
        W_hr, W_hz, W_hn = self.weight_hh.split(H)  # (H, H) each
        if self.bias_ih is not None:
            b_ir, b_iz, b_in = self.bias_ih.split(H)
            b_hr, b_hz, b_hn = self.bias_hh.split(H)
        else:
            b_ir = b_iz = b_in = b_hr = b_hz = b_hn = 0
        r = torch.sigmoid(input @ W_ir.T + b_ir + hx @ W_hr.T + b_hr)
        z = torch.sigmoid(input @ W_iz.T + b_iz + hx @ W_hz.T + b_hz)
        n = torch.tanh(input @ W_in.T + b_in + (r * hx) @ W_hn.T + b_hn)
        return (1 - z) * n + z * hx
