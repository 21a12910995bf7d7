# rnnlab exercise: training_loop
# expect: advice.print_end
# Each character printed on a line of its own (print without end='').

import torch


def train(net, inputs, labels, idx2char, epochs, lr):
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    losses = []
    for epoch in range(epochs):
        optimizer.zero_grad()
        hidden = net.init_hidden()
        loss = 0
        print("Predicted string: ", end="")
        for input, label in zip(inputs, labels):
            hidden = net(input, hidden)
            loss += criterion(hidden, label)
            _, idx = hidden.max(dim=1)
            print(idx2char[idx[0].item()])
        loss.backward()
        optimizer.step()
        print(", Epoch [%d/%d] loss=%.4f" % (epoch + 1, epochs, loss.item()))
        losses.append(loss.item())
    return losses
