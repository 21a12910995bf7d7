# rnnlab exercise: lstm_layers
# The reference solution (tests/test_exercises.py): the skeleton with forward written.
# Exercise 8 of lecture 12: a multi-layer LSTM over a whole sequence, equal to
# torch.nn.LSTM(input_size, hidden_size, num_layers, bias, batch_first), the state (h, c) in and out.
# Check it with:  rnnlab exercise check lstm_layers.py   (docs/exercises.md says what is checked)
#
# The homework's model is Embedding -> LSTM(10, 8, num_layers=2, batch_first=True) -> Linear.
# This is that LSTM. Layer 0 reads the input x; layer l > 0 reads the h of layer l - 1 at every
# step. Each layer starts from its own initial state (h_0[l], c_0[l]) and carries its (h, c)
# from one step to the next; its last (h, c) is its part of (h_n, c_n).
#
#     for l in range(num_layers):
#         h, c = h_0[l], c_0[l]
#         for t in range(T):
#             h, c = lstm_step(x_t of layer l, h, c)    # exercise 6: i, f, g, o
#
# Shapes (T: seqLen, B: batchSize, D: input_size, H: hidden_size, L: num_layers):
#
#     input          (T, B, D), or (B, T, D) with batch_first=True
#     h_0, c_0       (L, B, H)
#     output         (T, B, H), or (B, T, H) with batch_first=True: the last layer's h at every step
#     h_n, c_n       (L, B, H)
#     weight_ih_l{l} (4H, D) for l = 0, (4H, H) above    weight_hh_l{l} (4H, H)
#     bias_ih_l{l}, bias_hh_l{l} (4H,)
#
# batch_first changes the input and the output only: the states stay (L, B, H), as in torch.nn.
#
# The checks copy torch.nn.LSTM's weights into yours by name, then compare the output, (h_n, c_n),
# their shapes and the gradients in float64: keep the class name, the signatures and the
# parameter names. How you compute inside forward is yours to choose.

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
        # torch.nn's initialisation: every parameter uniform in [-1/sqrt(H), 1/sqrt(H)].
        bound = 1 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def layer_weights(self, layer):
        # weight_ih, weight_hh, bias_ih, bias_hh of one layer (the biases None when bias=False).
        return (
            getattr(self, f"weight_ih_l{layer}"),
            getattr(self, f"weight_hh_l{layer}"),
            getattr(self, f"bias_ih_l{layer}", None),
            getattr(self, f"bias_hh_l{layer}", None),
        )

    def forward(self, input, hx=None):
        # input (T, B, D) or (B, T, D); hx = (h_0, c_0) each (L, B, H), or None
        # -> output (T, B, H) or (B, T, H), (h_n, c_n) each (L, B, H)
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
            h, c = h_0[layer], c_0[layer]  # (B, H)
            outputs = []
            for t in range(steps):
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


if __name__ == "__main__":
    # This part runs when you run the file (python lstm_layers.py), not when it is checked.
    # The homework's sizes: embeddingSize 10, hiddenSize 8, numLayers 2, batch_first.
    lstm = LSTM(10, 8, num_layers=2, batch_first=True)
    x = torch.randn(1, 5, 10)  # (batchSize, seqLen, embeddingSize)
    out, (h_n, c_n) = lstm(x)
    print(out.shape, h_n.shape, c_n.shape)  # torch.Size([1, 5, 8]) torch.Size([2, 1, 8]) torch.Size([2, 1, 8])
