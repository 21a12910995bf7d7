# rnnlab exercise: rnn_shapes
# expect: batch_first_ignored
# Program 2's layout whatever rnn.batch_first says, for the inputs and the output.
import torch


def rnn_logits(rnn, ids, num_classes):
    batch_size = ids.size(1)
    dtype = rnn.weight_ih_l0.dtype
    inputs = torch.eye(num_classes, dtype=dtype)[ids]  # (seqLen, batchSize, inputSize)
    h_0 = inputs.new_zeros(rnn.num_layers, batch_size, rnn.hidden_size)  # (numLayers, batchSize, hiddenSize)
    out, h_n = rnn(inputs, h_0)
    return out.reshape(-1, rnn.hidden_size), h_n  # (seqLen*batchSize, hiddenSize), (numLayers, batchSize, hiddenSize)
