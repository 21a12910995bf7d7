# rnnlab exercise: gru_cell
# The reference solution (tests/test_exercises.py): the skeleton with forward written.
# Exercise 7 of lecture 12 (the homework): a GRU cell from scratch, equal to torch.nn.GRUCell.
# Check it with:  rnnlab exercise check gru_cell.py   (docs/exercises.md says what is checked)
#
# A GRU keeps one state h. The reset gate r decides how much of the past enters the candidate n;
# the update gate z decides how much of the old state is kept. One step:
#
#     r  = sigmoid(x W_ir^T + b_ir + h W_hr^T + b_hr)
#     z  = sigmoid(x W_iz^T + b_iz + h W_hz^T + b_hz)
#     n  = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn))
#     h' = (1 - z) * n + z * h
#
# Mind n: r multiplies the whole recurrent term, h W_hn^T + b_hn, after the product. That is
# torch.nn's GRU; the paper that introduced the GRU (Cho et al., 2014) put r inside, (r * h) W_hn^T.
#
# torch.nn stacks the three parts in one matrix each, in the order r, z, n:
#
#     weight_ih (3H, D) = [W_ir; W_iz; W_in]    weight_hh (3H, H) = [W_hr; W_hz; W_hn]
#     bias_ih (3H,) = [b_ir; b_iz; b_in]        bias_hh (3H,) = [b_hr; b_hz; b_hn]
#
# Shapes (B: batch, D: input_size, H: hidden_size):  x (B, D)   h (B, H)   h' (B, H)
#
# The checks copy torch.nn.GRUCell's weights into yours by name, then compare h', its shape and
# the gradients in float64: keep the class name, the signatures and the parameter names. How
# you compute inside forward is yours to choose.

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
        return (1 - z) * n + z * hx


if __name__ == "__main__":
    # This part runs when you run the file (python gru_cell.py), not when it is checked.
    cell = GRUCell(input_size=10, hidden_size=8)
    x = torch.randn(1, 10)  # (batchSize, embeddingSize)
    print(cell(x).shape)  # torch.Size([1, 8])
