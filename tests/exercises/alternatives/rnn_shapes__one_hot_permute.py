# rnnlab exercise: rnn_shapes
# F.one_hot, the ids laid out batch-first before the one-hot, the rows by permute and flatten.
import torch


def rnn_logits(rnn, ids, num_classes):
    batch_size = ids.size(1)
    dtype = rnn.weight_ih_l0.dtype
    layout = ids.T if rnn.batch_first else ids  # (batchSize, seqLen) or (seqLen, batchSize)
    inputs = torch.nn.functional.one_hot(layout, num_classes).to(dtype)
    h_0 = torch.zeros(rnn.num_layers, batch_size, rnn.hidden_size, dtype=dtype)
    out, h_n = rnn(inputs, h_0)
    if rnn.batch_first:
        out = out.permute(1, 0, 2)  # (seqLen, batchSize, hiddenSize)
    return out.flatten(0, 1), h_n
