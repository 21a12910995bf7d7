# rnnlab exercise: lstm_layers
# expect: steps_not_carried
# Every step starts again from the layer's initial state.

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
            input = input.transpose(0, 1)  # (T, B, D)
        steps, batch = input.shape[0], input.shape[1]
        if hx is None:
            zeros = input.new_zeros(self.num_layers, batch, self.hidden_size)  # (L, B, H)
            hx = (zeros, zeros)
        h_0, c_0 = hx
        layer_input = input
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            w_ih, w_hh, b_ih, b_hh = self.layer_weights(layer)
            outputs = []
            for t in range(steps):
                h, c = h_0[layer], c_0[layer]
                gates = layer_input[t] @ w_ih.T + h @ w_hh.T  # (B, 4H)
                if b_ih is not None:
                    gates = gates + b_ih + b_hh
                i, f, g, o = gates.chunk(4, dim=1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
                outputs.append(h)
            layer_input = torch.stack(outputs)  # (T, B, H)
            h_n.append(h)
            c_n.append(c)
        output = layer_input.transpose(0, 1) if self.batch_first else layer_input
        return output, (torch.stack(h_n), torch.stack(c_n))
