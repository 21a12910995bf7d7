# rnnlab exercise: rnn_shapes
# expect: one_hot_columns
# The columns of the identity picked, not its rows.
import torch


def rnn_logits(rnn, ids, num_classes):
    batch_size = ids.size(1)
    dtype = rnn.weight_ih_l0.dtype
    inputs = torch.eye(num_classes, dtype=dtype)[:, ids]  # (seqLen, batchSize, inputSize)
    if rnn.batch_first:
        inputs = inputs.transpose(0, 1)  # (batchSize, seqLen, inputSize)
    h_0 = inputs.new_zeros(rnn.num_layers, batch_size, rnn.hidden_size)  # (numLayers, batchSize, hiddenSize)
    out, h_n = rnn(inputs, h_0)
    if rnn.batch_first:
        out = out.transpose(0, 1)  # (seqLen, batchSize, hiddenSize)
    return out.reshape(-1, rnn.hidden_size), h_n  # (seqLen*batchSize, hiddenSize), (numLayers, batchSize, hiddenSize)
