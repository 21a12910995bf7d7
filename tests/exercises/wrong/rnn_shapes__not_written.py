# rnnlab exercise: rnn_shapes
# expect: advice.not_written
# The skeleton as rnnlab exercise start writes it, nothing written yet.
# ruff: noqa: F841
# Exercise 3 of lecture 12: program 2's shapes around torch.nn.RNN: the one-hot input, h_0, and
# the output viewed as one row per label; with batch_first=True and without.
# Check it with:  rnnlab exercise check rnn_shapes.py   (docs/exercises.md says what is checked)
#
# Program 2 runs the whole sequence through nn.RNN in one call and scores out.view(-1, hiddenSize)
# against the labels. Its data is time-major: the ids of "hello" are (seqLen, batchSize) = (5, 1),
# and the labels, flattened in the same order, have row t*batchSize + b for step t of sequence b.
# In program 2 hiddenSize = numClasses = 4, so the rows of out are the logits.
#
#     inputs = torch.eye(numClasses)[ids]      # one_hot_lookup[ids]
#     out, h_n = rnn(inputs, h_0)
#     logits = out.view(-1, hiddenSize)
#
# Shapes (numClasses = inputSize):
#
#     ids       (seqLen, batchSize)
#     inputs    (seqLen, batchSize, inputSize), or (batchSize, seqLen, inputSize) with batch_first=True
#     h_0, h_n  (numLayers, batchSize, hiddenSize)
#     out       (seqLen, batchSize, hiddenSize), or (batchSize, seqLen, hiddenSize) with batch_first=True
#     logits    (seqLen*batchSize, hiddenSize), row t*batchSize + b = out[t, b]
#
# batch_first=True changes inputs and out only: h_0 and h_n stay (numLayers, batchSize, hiddenSize).
#
# The checks call your function with torch.nn.RNN layers of other sizes (several layers,
# batch_first=True and False) and compare logits, h_n and the gradients of the RNN's weights
# in float64: keep the name and the signature.

import torch


def rnn_logits(rnn, ids, num_classes):
    # rnn: nn.RNN(num_classes, hiddenSize, numLayers, batch_first=...); ids (seqLen, batchSize)
    # -> logits (seqLen*batchSize, hiddenSize) in the labels' order, h_n (numLayers, batchSize, hiddenSize)
    batch_size = ids.size(1)
    dtype = rnn.weight_ih_l0.dtype  # float64 in the checks, float32 in the lecture
    # TODO
    # 1. inputs: the one-hot vectors of ids, (seqLen, batchSize, num_classes), in dtype.
    # 2. With rnn.batch_first, make them (batchSize, seqLen, num_classes): transpose, not view.
    # 3. h_0: zeros (rnn.num_layers, batchSize, rnn.hidden_size), in dtype (inputs.new_zeros).
    # 4. out, h_n = rnn(inputs, h_0). logits: the rows of out in time-major order, those of a
    #    (seqLen, batchSize, hiddenSize) out viewed as (-1, hiddenSize). Return logits, h_n.
    raise NotImplementedError("TODO: rnn_logits")


if __name__ == "__main__":
    # This part runs when you run the file (python rnn_shapes.py), not when it is checked.
    ids = torch.LongTensor([1, 0, 2, 2, 3]).view(-1, 1)  # hello, (seqLen, batchSize) = (5, 1)
    rnn = torch.nn.RNN(input_size=4, hidden_size=4, num_layers=1)
    logits, h_n = rnn_logits(rnn, ids, num_classes=4)
    print(logits.shape, h_n.shape)  # torch.Size([5, 4]) torch.Size([1, 1, 4])
    rnn = torch.nn.RNN(input_size=4, hidden_size=6, num_layers=2, batch_first=True)
    logits, h_n = rnn_logits(rnn, torch.randint(0, 4, (5, 3)), num_classes=4)
    print(logits.shape, h_n.shape)  # torch.Size([15, 6]) torch.Size([2, 3, 6])
