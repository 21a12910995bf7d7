"""The peer designs of the quality-per-time benchmark, each with its published defaults.

- ``charrnn``: Karpathy's char-rnn (Lua, 2015) as the popular PyTorch ports write it: one-hot
  input, 2x128 LSTM, one call of the recurrent module per character, RMSprop lr 2e-3 (decay
  0.95), batch 50, seq 50, gradients clamped to [-5, 5] element by element, state carried.
- ``wlm``: PyTorch's examples/word_language_model at character level: embedding 200, 2x200
  LSTM, dropout 0.2, uniform(-0.1, 0.1) init of embedding and decoder, plain SGD lr 20 (the
  example's manual update), gradient norm clipped to 0.25, batch 20, bptt 35, state carried, lr
  divided by 4 after an epoch that did not improve the validation loss.
- ``gpt``: nanoGPT's character model as its README runs it on a CPU
  (``config/train_shakespeare_char.py --device=cpu --block_size=64 --batch_size=12 --n_layer=4
  --n_head=4 --n_embd=128 --dropout=0.0``), written here from its description: token and
  position embeddings, 4 pre-LayerNorm blocks without biases (causal self-attention with 4
  heads through ``F.scaled_dot_product_attention``, 4x GELU MLP), a final LayerNorm, the output
  head tied to the token embedding; normal(0, 0.02) init, residual output projections
  normal(0, 0.02 / sqrt(2 * n_layer)); AdamW lr 1e-3, betas (0.9, 0.99), weight decay 0.1 on
  2-D parameters only, 100 warm-up steps then cosine decay to 1e-4, gradient norm clipped to 1.0,
  batch 12 random windows of 65 characters; no evaluations during training. The cosine's
  horizon is fitted to the budget from the pace of the first steps (:func:`train_gpt`); past it
  the rate stays at 1e-4, as in nanoGPT. Held-out text is scored with :func:`score_sliding`
  (windows of 64, stride 32), not rnnlab's carried-state ``score_ids``.

Run as a script, a peer trains until its wall-clock budget (counted from the start of this
script, before torch is imported, like rnnlab's --max-time run it is compared with, whose
wall time includes its start-up) and saves its weights:

    python benchmarks/peers.py {charrnn,wlm,gpt} TEXT BUDGET_S OUT.pt SRC_DIR [SEED]
"""

from __future__ import annotations

import time

START = time.perf_counter()  # before importing torch (about 1.5 s), which the budget counts

import math  # noqa: E402
import sys  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402


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


class SelfAttention(nn.Module):
    """Causal multi-head self-attention, one projection for queries, keys and values, no biases."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width, bias=False)
        self.proj = nn.Linear(width, width, bias=False)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        c = h.shape[-1]
        q, k, v = (z.unflatten(2, (self.heads, c // self.heads)).transpose(1, 2) for z in self.qkv(h).chunk(3, dim=2))  # (B, nh, T, hs)
        return self.proj(F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).flatten(2))  # (B, T, C)


class Block(nn.Module):
    """Pre-LayerNorm transformer block: h + attn(ln(h)), then h + mlp(ln(h)); no biases anywhere."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.ln1 = nn.LayerNorm(width, bias=False)
        self.attn = SelfAttention(width, heads)
        self.ln2 = nn.LayerNorm(width, bias=False)
        self.fc = nn.Linear(width, 4 * width, bias=False)
        self.proj = nn.Linear(4 * width, width, bias=False)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        h = h + self.attn(self.ln1(h))
        return h + self.proj(F.gelu(self.fc(self.ln2(h))))


class GPTPeer(nn.Module):
    """nanoGPT's character model at its README's CPU size: 4 layers, 4 heads, width 128, block 64."""

    def __init__(self, vocab: int, block_size: int = 64, layers: int = 4, heads: int = 4, width: int = 128):
        super().__init__()
        self.block_size = block_size
        self.tok = nn.Embedding(vocab, width)
        self.pos = nn.Embedding(block_size, width)
        self.blocks = nn.ModuleList(Block(width, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(width, bias=False)
        for m in self.modules():
            if isinstance(m, nn.Linear | nn.Embedding):
                nn.init.normal_(m.weight, 0.0, 0.02)
        for blk in self.blocks:  # the two projections that write into the residual stream
            nn.init.normal_(blk.attn.proj.weight, 0.0, 0.02 / math.sqrt(2 * layers))
            nn.init.normal_(blk.proj.weight, 0.0, 0.02 / math.sqrt(2 * layers))

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T) ids, T <= block_size -> (B, T, C) final-normed states."""
        h = self.tok(x.long()) + self.pos(torch.arange(x.shape[1], device=x.device))  # (B, T, C)
        for blk in self.blocks:
            h = blk(h)
        return self.ln_f(h)

    def head(self, h: torch.Tensor) -> torch.Tensor:
        return F.linear(h, self.tok.weight)  # tied to the token embedding

    def forward(self, x, targets=None, state=None):
        from rnnlab.model import Output

        logits = self.head(self.hidden(x))  # (B, T, V)
        loss = None if targets is None else F.cross_entropy(logits.flatten(0, 1), targets.long().flatten())
        return Output(logits, loss, None)


def build(name: str, vocab: int) -> nn.Module:
    return {"charrnn": CharRNNPeer, "wlm": WLMPeer, "gpt": GPTPeer}[name](vocab)


@torch.no_grad()
def score_sliding(model: GPTPeer, ids: torch.Tensor, block_size: int, batch_size: int = 64) -> tuple[float, int]:
    """``(total nats, characters predicted)`` of ``ids`` (N,) under a model of context ``block_size``.

    Every character after the first is predicted once. Windows of ``block_size`` inputs start
    every ``block_size // 2`` characters: the first window scores all its positions, each later
    one only the positions not scored before (its last half), so every scored character sees at
    least half a block of context. A last window ends exactly at the end of the text.
    """
    m = ids.numel() - 1  # positions that predict a next character
    if m < 1:
        return 0.0, 0
    block = min(block_size, m)
    stride = max(1, block_size // 2)
    starts = list(range(0, m - block + 1, stride))
    if starts[-1] + block < m:
        starts.append(m - block)
    ends = [s + block for s in starts]
    first = [0, *ends[:-1]]  # window w scores inputs [first[w], ends[w])
    was_training = model.training
    model.eval()
    offsets = torch.arange(block)
    total = torch.zeros((), dtype=torch.float64)
    for i in range(0, len(starts), batch_size):
        s = torch.tensor(starts[i : i + batch_size])
        pos = s[:, None] + offsets  # (W, T)
        logits = model(ids[pos].long())[0]  # (W, T, V)
        nll = F.cross_entropy(logits.flatten(0, 1).double(), ids[pos + 1].long().flatten(), reduction="none").view(pos.shape)
        keep = pos >= torch.tensor(first[i : i + batch_size])[:, None]  # (W, T)
        total += nll[keep].sum()
    model.train(was_training)
    return float(total), m


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


def gpt_lr(step: int, total: int, lr: float = 1e-3, min_lr: float = 1e-4, warmup: int = 100) -> float:
    """nanoGPT's schedule: linear warm-up over ``warmup`` steps, cosine to ``min_lr`` at ``total``, then flat."""
    if step < warmup:
        return lr * (step + 1) / (warmup + 1)
    if step > total:
        return min_lr
    progress = (step - warmup) / max(1, total - warmup)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * progress)) * (lr - min_lr)


def train_gpt(
    model: GPTPeer, train: torch.Tensor, budget: float, start: float = START, batch: int = 12, probe: int = 20, seed: int = 0
) -> dict:
    """Random windows of block_size + 1 characters, AdamW, clipping 1.0, until ``budget`` seconds
    after ``start``.

    The cosine's last step is put where the budget runs out at the pace of the first steps:
    timed from step 1 (step 0 pays one-time set-up) over at least ``probe`` steps and at least
    min(30 s, 5% of the budget), the rule rnnlab's own trainer uses for ``--max-time`` (on this
    shared machine a pace taken from 20 steps alone was once 30x too slow). Until then the
    rate is in its 100-step warm-up, which does not depend on the horizon.
    """
    decay = [p for p in model.parameters() if p.dim() >= 2]
    other = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": other, "weight_decay": 0.0}], lr=1e-3, betas=(0.9, 0.99))
    block = model.block_size
    offsets = torch.arange(block + 1)
    g = torch.Generator().manual_seed(seed)
    model.train()
    steps, total, t_probe = 0, None, None
    while (now := time.perf_counter()) - start < budget:
        if steps == 1:
            t_probe = now
        elif total is None and steps > probe and now - t_probe >= min(30.0, 0.05 * budget):
            total = steps + int((budget - (now - start)) / ((now - t_probe) / (steps - 1)))
        for group in opt.param_groups:
            group["lr"] = gpt_lr(steps, total if total is not None else 10**9)
        w = train[torch.randint(train.numel() - block, (batch,), generator=g)[:, None] + offsets].long()  # (B, T + 1)
        loss = model(w[:, :-1], w[:, 1:]).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        steps += 1
    return {"steps": steps, "horizon": total}


def main(argv: list[str], start: float = START) -> None:
    name, path, budget, out, src = argv[0], argv[1], float(argv[2]), argv[3], argv[4]
    seed = int(argv[5]) if len(argv) > 5 else 0
    sys.path.insert(0, src)
    from rnnlab.data import load_corpus
    from rnnlab.training.lm_task import split_train_val

    torch.manual_seed(seed)
    corpus = load_corpus([path])
    train, val = split_train_val(corpus.ids, 0.05, 128)
    model = build(name, len(corpus.vocab))
    extra = {}
    if name == "charrnn":
        steps = train_charrnn(model, train, budget)
    elif name == "wlm":
        steps = train_wlm(model, train, val, budget)
    else:
        extra = train_gpt(model, train, budget, start, seed=seed)
        steps = extra.pop("steps")
    torch.save({"model": model.state_dict(), "steps": steps, **extra}, out)


if __name__ == "__main__":
    main(sys.argv[1:])
