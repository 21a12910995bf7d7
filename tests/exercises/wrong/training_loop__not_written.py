# rnnlab exercise: training_loop
# expect: advice.not_written
# The skeleton as rnnlab exercise start writes it: the loop not written yet.
# ruff: noqa: F841, B007 (the skeleton's names, not used until the loop is written)
# Exercise 9 of lecture 12: program 1's training loop: zero_grad, the loss over all steps,
# backward, step, and the prediction printed per epoch in the lecture's format.
# Check it with:  rnnlab exercise check training_loop.py   (docs/exercises.md says what is checked)
#
# net is program 1's model: one RNNCell whose hidden state is the logits (hiddenSize = the number
# of characters); hidden = net(input, hidden), and net.init_hidden() gives zeros (batchSize, hiddenSize).
# Every epoch starts from fresh gradients and a fresh hidden state, adds the step losses into one
# graph (loss += criterion(hidden, label), the SUM), then calls backward and step, and prints:
#
#     Predicted string: ohlol, Epoch [5/15] loss=3.9884
#
# print('Predicted string: ', end='') first, each character as its step produces it (end=''),
# then ', Epoch [%d/%d] loss=%.4f' % (epoch + 1, epochs, loss.item()). With batchSize > 1 the
# characters are the first sequence's: idx2char[idx[0].item()] (the lecture's idx.item() needs batchSize 1).
#
#     inputs (seqLen, batchSize, inputSize)    labels (seqLen, batchSize)    idx2char: hiddenSize characters
#     returns: losses, a list of floats: loss.item() of each epoch
#
# The checks run your function and the lecture's loop on two identical copies of the model (float64)
# and compare every epoch's loss, the final weights, the epoch the predictions first read the target,
# and the printed lines: on the lecture's "hello" -> "ohlol" (15 epochs, lr=0.1, from the initial
# weights program 1 starts from with the lesson's default seed 2: "ohlol" at epoch 5), and on two
# other word pairs at once (batchSize 2, other sizes, epochs and lr). Keep the name and the signature.

import torch


def train(net, inputs, labels, idx2char, epochs, lr):
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    losses = []
    for epoch in range(epochs):
        # TODO
        # Zero the gradients, take a fresh hidden state (net.init_hidden()), set loss = 0 and print the
        # head; for each step: hidden = net(input, hidden), add the step's loss, print the character
        # (_, idx = hidden.max(dim=1)); then backward, step, print the rest of the line, keep loss.item().
        raise NotImplementedError("TODO: training_loop")
    return losses


if __name__ == "__main__":
    # This part runs when you run the file (python training_loop.py), not when it is checked.
    from rnnlab.lesson.models import RNNCellModel  # the lecture's first Model

    idx2char = ["e", "h", "l", "o"]
    x_data = [1, 0, 2, 2, 3]  # hello
    y_data = [3, 1, 2, 3, 2]  # ohlol
    inputs = torch.eye(4)[x_data].view(-1, 1, 4)  # (seqLen, batchSize, inputSize) = (5, 1, 4)
    labels = torch.LongTensor(y_data).view(-1, 1)  # (seqLen, batchSize) = (5, 1)
    torch.manual_seed(2)  # rnnlab lesson's default seed
    net = RNNCellModel(input_size=4, hidden_size=4, batch_size=1)
    print(train(net, inputs, labels, idx2char, 15, 0.1))
