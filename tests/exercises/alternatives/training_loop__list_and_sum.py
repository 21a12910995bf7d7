# rnnlab exercise: training_loop
# Correct, written differently: the step losses in a list and summed, argmax, the characters
# collected and printed at once with an f-string, zero_grad after the step.

import torch


def train(net, inputs, labels, idx2char, epochs, lr):
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    history = []
    for epoch in range(1, epochs + 1):
        hidden = net.init_hidden()
        step_losses, chars = [], ""
        for t in range(inputs.size(0)):
            hidden = net(inputs[t], hidden)
            step_losses.append(criterion(hidden, labels[t]))
            chars += idx2char[hidden.argmax(1)[0]]
        loss = sum(step_losses)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        print(f"Predicted string: {chars}, Epoch [{epoch}/{epochs}] loss={loss.item():.4f}")
        history.append(loss.item())
    return history
