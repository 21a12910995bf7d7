# rnnlab exercise: time_loop
# The reference solution (tests/test_exercises.py): the skeleton with the loop written.
# Exercise 2 of lecture 12: program 1's loop over the time steps, written by hand.
# Check it with:  rnnlab exercise check time_loop.py   (docs/exercises.md says what is checked)
#
# Program 1 feeds "hello" to an RNNCell one character at a time. hiddenSize = 4 = the number
# of characters, so the hidden state after each step *is* that step's 4 logits: it is scored
# against the step's label with CrossEntropyLoss, and its argmax is the predicted character.
# The loss of the sequence is the SUM of the step losses (one graph for all steps).
#
#     for input, label in zip(inputs, labels):
#         hidden = cell(input, hidden)
#         loss += criterion(hidden, label)
#
# Shapes (seqLen, batchSize, inputSize, hiddenSize = the number of classes):
#
#     inputs (seqLen, batchSize, inputSize)    input (batchSize, inputSize)
#     labels (seqLen, batchSize)               label (batchSize,)
#     hidden (batchSize, hiddenSize)
#     returns: loss (a 0-dim tensor), predicted (seqLen, batchSize) the argmax ids of each step
#
# The checks call your function with a torch.nn.RNNCell and compare the loss, the predictions
# and the gradients (of the cell's weights, the inputs and the initial hidden state) in float64,
# on the lecture's "hello" -> "ohlol" and on other sizes: keep the name and the signature.

import torch


def time_loop(cell, inputs, labels, hidden):
    # cell: an RNNCell(inputSize, hiddenSize); inputs (seqLen, batchSize, inputSize);
    # labels (seqLen, batchSize); hidden (batchSize, hiddenSize) -> loss, predicted (seqLen, batchSize)
    criterion = torch.nn.CrossEntropyLoss()
    loss = 0
    predicted = []
    # TODO
    # For each step: the new hidden state from the cell, the step's loss added to loss, and the
    # argmax of hidden over the classes (hidden.max(dim=1) or hidden.argmax(dim=1)) kept in predicted.
    for input, label in zip(inputs, labels):
        hidden = cell(input, hidden)  # (batchSize, hiddenSize)
        loss += criterion(hidden, label)
        _, idx = hidden.max(dim=1)
        predicted.append(idx)
    return loss, torch.stack(predicted)  # (seqLen, batchSize)


if __name__ == "__main__":
    # This part runs when you run the file (python time_loop.py), not when it is checked.
    idx2char = ["e", "h", "l", "o"]
    x_data = [1, 0, 2, 2, 3]  # hello
    y_data = [3, 1, 2, 3, 2]  # ohlol
    inputs = torch.eye(4)[x_data].view(-1, 1, 4)  # (seqLen, batchSize, inputSize) = (5, 1, 4)
    labels = torch.LongTensor(y_data).view(-1, 1)  # (seqLen, batchSize) = (5, 1)
    cell = torch.nn.RNNCell(input_size=4, hidden_size=4)
    loss, predicted = time_loop(cell, inputs, labels, torch.zeros(1, 4))
    print("".join(idx2char[i] for i in predicted[:, 0].tolist()), loss.item())  # about 5 ln 4 = 6.9
