# rnnlab exercise: rnn_shapes
# expect: one_hot_float32
# The lecture's one_hot_lookup and torch.Tensor: float32 where the checks' RNN is float64.
import torch


def rnn_logits(rnn, ids, num_classes):
    batch_size = ids.size(1)
    one_hot_lookup = torch.eye(num_classes).tolist()
    x_one_hot = [[one_hot_lookup[x] for x in row] for row in ids.tolist()]
    inputs = torch.Tensor(x_one_hot)  # (seqLen, batchSize, inputSize)
    if rnn.batch_first:
        inputs = inputs.transpose(0, 1)  # (batchSize, seqLen, inputSize)
    h_0 = inputs.new_zeros(rnn.num_layers, batch_size, rnn.hidden_size)  # (numLayers, batchSize, hiddenSize)
    out, h_n = rnn(inputs, h_0)
    if rnn.batch_first:
        out = out.transpose(0, 1)  # (seqLen, batchSize, hiddenSize)
    return out.reshape(-1, rnn.hidden_size), h_n  # (seqLen*batchSize, hiddenSize), (numLayers, batchSize, hiddenSize)
