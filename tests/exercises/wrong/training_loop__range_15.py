# rnnlab exercise: training_loop
# expect: epochs_fixed
# The lecture's range(15) and /15 copied, whatever the epochs.

import torch


def train(net, inputs, labels, idx2char, epochs, lr):
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    losses = []
    for epoch in range(15):
        optimizer.zero_grad()
        hidden = net.init_hidden()
        loss = 0
        print("Predicted string: ", end="")
        for input, label in zip(inputs, labels):
            hidden = net(input, hidden)
            loss += criterion(hidden, label)
            _, idx = hidden.max(dim=1)
            print(idx2char[idx[0].item()], end="")
        loss.backward()
        optimizer.step()
        print(", Epoch [%d/15] loss=%.4f" % (epoch + 1, loss.item()))
        losses.append(loss.item())
    return losses
