# rnnlab exercise: lstm_layers
# A per-layer helper (no nn.ModuleList) called in a loop over layers; batch_first handled by permute; the input products of a layer computed for the whole sequence at once.

import math

import torch
import torch.nn.functional as F
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

    def run_layer(self, layer, xs, h, c):
        # xs (T, B, D or H) -> the layer's outputs (T, B, H) and its last (h, c)
        w_ih, w_hh, b_ih, b_hh = self.layer_weights(layer)
        x_proj = F.linear(xs, w_ih, b_ih)  # (T, B, 4H), every step at once
        outputs = []
        for x_t in x_proj:
            gates = x_t + F.linear(h, w_hh, b_hh)
            i, f, g, o = gates.chunk(4, dim=-1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            outputs.append(h)
        return torch.stack(outputs), h, c

    def forward(self, input, hx=None):
        x = input.permute(1, 0, 2) if self.batch_first else input  # (T, B, D)
        if hx is None:
            h_0 = c_0 = x.new_zeros(self.num_layers, x.size(1), self.hidden_size)
        else:
            h_0, c_0 = hx
        hs, cs = [], []
        for layer in range(self.num_layers):
            x, h, c = self.run_layer(layer, x, h_0[layer], c_0[layer])
            hs.append(h)
            cs.append(c)
        if self.batch_first:
            x = x.permute(1, 0, 2)  # (B, T, H)
        return x, (torch.stack(hs), torch.stack(cs))
