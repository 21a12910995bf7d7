# rnnlab exercise: lstm_layers
# A module-level step function (exercise 6's cell as a function), time outer and layers inner, states kept in lists.

import math

import torch
from torch import nn


class LSTM(nn.Module):
    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True, batch_first: bool = False):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        for layer in range(num_layers):
            inputs = input_size if layer == 0 else hidden_size
            self.register_parameter(f"weight_ih_l{layer}", nn.Parameter(torch.empty(4 * hidden_size, inputs)))  # (4H, D or H)
            self.register_parameter(f"weight_hh_l{layer}", nn.Parameter(torch.empty(4 * hidden_size, hidden_size)))  # (4H, H)
            if bias:
                self.register_parameter(f"bias_ih_l{layer}", nn.Parameter(torch.empty(4 * hidden_size)))  # (4H,)
                self.register_parameter(f"bias_hh_l{layer}", nn.Parameter(torch.empty(4 * hidden_size)))  # (4H,)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def layer_weights(self, layer):
        return (
            getattr(self, f"weight_ih_l{layer}"),
            getattr(self, f"weight_hh_l{layer}"),
            getattr(self, f"bias_ih_l{layer}", None),
            getattr(self, f"bias_hh_l{layer}", None),
        )

    def forward(self, input, hx=None):
        if self.batch_first:
            input = input.transpose(0, 1)
        T, B, _ = input.shape
        if hx is None:
            h_0 = torch.zeros(self.num_layers, B, self.hidden_size, dtype=input.dtype, device=input.device)
            c_0 = torch.zeros_like(h_0)
        else:
            h_0, c_0 = hx
        h = list(h_0.unbind(0))
        c = list(c_0.unbind(0))
        outputs = []
        for t in range(T):
            x = input[t]
            for layer in range(self.num_layers):
                h[layer], c[layer] = lstm_step(x, h[layer], c[layer], *self.layer_weights(layer))
                x = h[layer]
            outputs.append(x)
        output = torch.stack(outputs, dim=1 if self.batch_first else 0)
        return output, (torch.stack(h), torch.stack(c))


def lstm_step(x, h, c, w_ih, w_hh, b_ih, b_hh):
    gates = x @ w_ih.T + h @ w_hh.T
    if b_ih is not None:
        gates = gates + b_ih + b_hh
    H = h.shape[1]
    i = torch.sigmoid(gates[:, :H])
    f = torch.sigmoid(gates[:, H : 2 * H])
    g = torch.tanh(gates[:, 2 * H : 3 * H])
    o = torch.sigmoid(gates[:, 3 * H :])
    c = f * c + i * g
    return o * torch.tanh(c), c
