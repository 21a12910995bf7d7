# rnnlab exercise: lstm_cell
# einsum over the weights viewed as (4, H, D): one gate per leading index, unbind to name them.

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
        H = self.hidden_size
        w_ih = self.weight_ih.view(4, H, -1)  # (4, H, D)
        w_hh = self.weight_hh.view(4, H, H)  # (4, H, H)
        pre = torch.einsum("bd,ghd->gbh", input, w_ih) + torch.einsum("bk,ghk->gbh", h, w_hh)  # (4, B, H)
        if self.bias_ih is not None:
            pre = pre + (self.bias_ih + self.bias_hh).view(4, 1, H)
        i, f, g, o = pre.unbind(0)
        c2 = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h2 = torch.sigmoid(o) * torch.tanh(c2)
        return (h2, c2)
