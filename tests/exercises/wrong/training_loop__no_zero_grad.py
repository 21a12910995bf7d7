# rnnlab exercise: training_loop
# expect: zero_grad_forgotten
# optimizer.zero_grad() left out: the gradients of every epoch add up.

import torch


def train(net, inputs, labels, idx2char, epochs, lr):
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    losses = []
    for epoch in range(epochs):
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
        print(", Epoch [%d/%d] loss=%.4f" % (epoch + 1, epochs, loss.item()))
        losses.append(loss.item())
    return losses
