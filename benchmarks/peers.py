"""The two peer designs of the quality-per-time benchmark, each with its published defaults.

- ``charrnn``: Karpathy's char-rnn (Lua, 2015) as the popular PyTorch ports write it: one-hot
  input, 2x128 LSTM, one call of the recurrent module per character, RMSprop lr 2e-3 (decay
  0.95), batch 50, seq 50, gradients clamped to [-5, 5] element by element, state carried.
- ``wlm``: PyTorch's examples/word_language_model at character level: embedding 200, 2x200
  LSTM, dropout 0.2, uniform(-0.1, 0.1) init of embedding and decoder, plain SGD lr 20 (the
  example's manual update), gradient norm clipped to 0.25, batch 20, bptt 35, state carried, lr
  divided by 4 after an epoch that did not improve the validation loss.

Run as a script, a peer trains until its wall-clock budget (counted from process start, like
rnnlab's --max-time run it is compared with) and saves its weights:

    python benchmarks/peers.py {charrnn,wlm} TEXT BUDGET_S OUT.pt SRC_DIR
"""

from __future__ import annotations

import math
import sys
import time

import torch
from torch import nn

START = time.perf_counter()


class CharRNNPeer(nn.Module):
    def __init__(self, vocab: int, hidden: int = 128, layers: int = 2):
        super().__init__()
        self.vocab = vocab
        self.rnn = nn.LSTM(vocab, hidden, layers, batch_first=True)
        self.fc = nn.Linear(hidden, vocab)

    def forward(self, x, targets=None, state=None):
        from rnnlab.model import Output

        o, state = self.rnn(nn.functional.one_hot(x.long(), self.vocab).float(), state)  # (B, T, H)
        return Output(self.fc(o), None, state)


class WLMPeer(nn.Module):
    def __init__(self, vocab: int, emsize: int = 200, hidden: int = 200, layers: int = 2, dropout: float = 0.2):
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(vocab, emsize)
        self.rnn = nn.LSTM(emsize, hidden, layers, dropout=dropout, batch_first=True)
        self.decoder = nn.Linear(hidden, vocab)
        nn.init.uniform_(self.encoder.weight, -0.1, 0.1)
        nn.init.zeros_(self.decoder.bias)
        nn.init.uniform_(self.decoder.weight, -0.1, 0.1)

    def forward(self, x, targets=None, state=None):
        from rnnlab.model import Output

        o, state = self.rnn(self.drop(self.encoder(x.long())), state)  # (B, T, H)
        return Output(self.decoder(self.drop(o)), None, state)


def build(name: str, vocab: int) -> nn.Module:
    return {"charrnn": CharRNNPeer, "wlm": WLMPeer}[name](vocab)


def streams(ids: torch.Tensor, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    n = (ids.numel() - 1) // batch
    return ids[: batch * n].view(batch, n), ids[1 : batch * n + 1].view(batch, n)  # (B, N) each


def detach(h):
    return tuple(t.detach() for t in h)


def train_charrnn(model: CharRNNPeer, train: torch.Tensor, budget: float) -> int:
    batch, seq = 50, 50
    opt = torch.optim.RMSprop(model.parameters(), lr=2e-3, alpha=0.95)
    x, y = streams(train, batch)
    p, h, steps = 0, None, 0
    while time.perf_counter() - START < budget:
        if p + seq > x.shape[1]:
            p, h = 0, None
        xb = nn.functional.one_hot(x[:, p : p + seq].long(), model.vocab).float()  # (B, T, V)
        yb = y[:, p : p + seq].long()  # (B, T)
        loss = 0.0
        for t in range(seq):  # one recurrent call per character: the ports' design
            o, h = model.rnn(xb[:, t : t + 1], h)  # (B, 1, H)
            loss = loss + nn.functional.cross_entropy(model.fc(o[:, 0]), yb[:, t])
        loss = loss / seq
        opt.zero_grad()
        loss.backward()
        for q in model.parameters():
            q.grad.clamp_(-5.0, 5.0)
        opt.step()
        h, p, steps = detach(h), p + seq, steps + 1
    return steps


def train_wlm(model: WLMPeer, train: torch.Tensor, val: torch.Tensor, budget: float) -> int:
    from rnnlab.scoring import score_ids

    batch, bptt, lr, clip = 20, 35, 20.0, 0.25
    x, y = streams(train, batch)
    p, h, steps, best = 0, None, 0, math.inf
    model.train()
    while time.perf_counter() - START < budget:
        if p + bptt > x.shape[1]:
            # End of an epoch: the example anneals the learning rate on the validation loss.
            nats, n = score_ids(model, val, 10, bptt)
            v = nats / n
            model.train()
            if v < best:
                best = v
            else:
                lr /= 4.0
            p, h = 0, None
        logits, _, h = model(x[:, p : p + bptt], state=h)  # (B, T, V)
        loss = nn.functional.cross_entropy(logits.flatten(0, 1), y[:, p : p + bptt].long().flatten())
        model.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), clip)
        with torch.no_grad():
            for q in model.parameters():
                q.add_(q.grad, alpha=-lr)
        h, p, steps = detach(h), p + bptt, steps + 1
    return steps


def main(argv: list[str]) -> None:
    name, path, budget, out, src = argv[0], argv[1], float(argv[2]), argv[3], argv[4]
    sys.path.insert(0, src)
    from rnnlab.data import load_corpus
    from rnnlab.training.lm_task import split_train_val

    torch.manual_seed(0)
    corpus = load_corpus([path])
    train, val = split_train_val(corpus.ids, 0.05, 128)
    model = build(name, len(corpus.vocab))
    steps = train_charrnn(model, train, budget) if name == "charrnn" else train_wlm(model, train, val, budget)
    torch.save({"model": model.state_dict(), "steps": steps}, out)


if __name__ == "__main__":
    main(sys.argv[1:])
