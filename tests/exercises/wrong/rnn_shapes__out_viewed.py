# rnnlab exercise: rnn_shapes
# expect: out_view_batch_first
# Program 2's out.view(-1, hiddenSize), whatever the layout of out.
import torch


def rnn_logits(rnn, ids, num_classes):
    batch_size = ids.size(1)
    dtype = rnn.weight_ih_l0.dtype
    inputs = torch.eye(num_classes, dtype=dtype)[ids]  # (seqLen, batchSize, inputSize)
    if rnn.batch_first:
        inputs = inputs.transpose(0, 1)  # (batchSize, seqLen, inputSize)
    h_0 = inputs.new_zeros(rnn.num_layers, batch_size, rnn.hidden_size)  # (numLayers, batchSize, hiddenSize)
    out, h_n = rnn(inputs, h_0)
    return out.view(-1, rnn.hidden_size), h_n  # (seqLen*batchSize, hiddenSize), (numLayers, batchSize, hiddenSize)
