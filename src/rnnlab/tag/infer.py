"""Using a trained tagger: the one transduction (``rnnlab tag predict``, ``tag eval``, the report),
the scores, and :class:`Tagger`."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from rnnlab.data import Vocab
from rnnlab.runs import load_model
from rnnlab.tag.model import TagModel
from rnnlab.tag.pairs import Pair, allowed_outputs, window_spans


@dataclass
class Transduced:
    """One text transformed, aligned character by character with its input."""

    text: str  # the output: the input's length; unseen characters and newlines pass through
    top_ids: torch.Tensor  # (T, K) likeliest output-vocabulary ids; -1 where nothing was predicted, or past the allowed outputs
    top_p: torch.Tensor  # (T, K) their probabilities (0 where the id is -1)


@torch.no_grad()
def transduce(
    model: TagModel,
    in_vocab: Vocab,
    out_vocab: Vocab,
    texts: Sequence[str],
    max_len: int,
    device: torch.device | str = "cpu",
    batch_size: int = 128,
    top_k: int = 1,
) -> list[Transduced]:
    """Transform every text: each line is cut into windows as in training, windows of similar
    length are batched, and every position takes its likeliest output character among those the
    model allows it (:meth:`TagModel.set_allowed`). Newlines separate lines and are not
    predicted; characters the model never saw pass through."""
    was_training = model.training
    model.eval()
    k = min(top_k, len(out_vocab))
    pieces: list[tuple[int, int, str]] = []  # (text index, offset in the text, window)
    for ti, text in enumerate(texts):
        offset = 0
        for line in text.split("\n"):
            pieces.extend((ti, offset + a, line[a:b]) for a, b in window_spans(line, max_len))
            offset += len(line) + 1
    outs = [list(t) for t in texts]
    top_ids = [torch.full((len(t), k), -1, dtype=torch.long) for t in texts]
    top_p = [torch.zeros(len(t), k, dtype=torch.float64) for t in texts]
    stoi, chars = in_vocab.stoi, out_vocab.chars
    order = sorted(range(len(pieces)), key=lambda i: len(pieces[i][2]))
    for s in range(0, len(order), batch_size):
        chunk = [pieces[i] for i in order[s : s + batch_size]]
        lengths = torch.tensor([len(w) for _, _, w in chunk])
        ids = torch.full((len(chunk), int(lengths.max())), -1, dtype=torch.long)  # (B, T)
        for r, (_, _, w) in enumerate(chunk):
            ids[r, : len(w)] = torch.tensor([stoi.get(c, -1) for c in w], dtype=torch.long)
        known = ids >= 0
        logits, _ = model(ids.clamp_min(0).masked_fill(~known, in_vocab.unk or 0).to(device), lengths=lengths)
        logits = logits.double()
        p, i = torch.softmax(logits, -1).topk(k, -1)  # (B, T, K)
        # An output the model's mask rules out (logit -inf) is no choice: named -1, as nothing.
        p, i = p.cpu(), i.masked_fill(logits.gather(-1, i) == float("-inf"), -1).cpu()
        for r, (ti, start, w) in enumerate(chunk):
            cols = known[r, : len(w)].nonzero().flatten()  # (n,) positions the model predicts
            top_ids[ti][start + cols], top_p[ti][start + cols] = i[r, cols], p[r, cols]
            for j, c in zip(cols.tolist(), i[r, cols, 0].tolist()):
                outs[ti][start + j] = chars[c]
    model.train(was_training)
    return [Transduced("".join(o), ti, tp) for o, ti, tp in zip(outs, top_ids, top_p)]


def score(pairs: Sequence[Pair], predictions: Sequence[str]) -> dict[str, Any]:
    """Character accuracy, accuracy on the positions where the target differs from the input,
    exact-line accuracy, and how many unchanged positions the prediction changed wrongly."""
    chars = correct = changed = changed_ok = wrong_changes = lines_ok = 0
    for (inp, tgt), pred in zip(pairs, predictions):
        lines_ok += pred == tgt
        chars += len(tgt)
        for a, t, p in zip(inp, tgt, pred):
            correct += p == t
            changed += a != t
            changed_ok += a != t and p == t
            wrong_changes += a == t != p
    return {
        "char_accuracy": correct / chars if chars else None,
        "changed_accuracy": changed_ok / changed if changed else None,
        "line_accuracy": lines_ok / len(pairs) if len(pairs) else None,
        "lines": len(pairs),
        "chars": chars,
        "changed_chars": changed,
        "wrong_changes": wrong_changes,
    }


class Tagger:
    """A trained transducer: ``predict(text)``, ``predict_many(texts)``, ``evaluate(pairs)``.

    ``derive``: the derivation the model was trained on; given, the model takes only the outputs
    it allows (:func:`rnnlab.tag.pairs.allowed_outputs`); None leaves the model's outputs as they are."""

    def __init__(
        self,
        model: TagModel,
        in_vocab: Vocab,
        out_vocab: Vocab,
        max_len: int,
        device: torch.device | str = "cpu",
        derive: str | None = None,
    ):
        self.model = model.eval()
        self.in_vocab, self.out_vocab, self.max_len, self.derive = in_vocab, out_vocab, max_len, derive
        self.device = torch.device(device)
        if derive is not None:
            model.set_allowed(allowed_outputs(derive, in_vocab, out_vocab))

    def transduce(self, texts: Sequence[str], batch_size: int = 128, top_k: int = 1) -> list[Transduced]:
        return transduce(self.model, self.in_vocab, self.out_vocab, texts, self.max_len, self.device, batch_size, top_k)

    def predict(self, text: str) -> str:
        return self.predict_many([text])[0]

    def predict_many(self, texts: Sequence[str], batch_size: int = 128) -> list[str]:
        return [t.text for t in self.transduce(texts, batch_size)]

    def evaluate(self, pairs: Sequence[Pair]) -> dict[str, Any]:
        """The model's scores on the pairs, with the copy-the-input baseline under ``baseline``."""
        predictions = self.predict_many([i for i, _ in pairs])
        return {**score(pairs, predictions), "baseline": score(pairs, [i for i, _ in pairs])}


def load_tagger(run_dir: str | os.PathLike, which: str = "best", device: str = "cpu") -> Tagger:
    """Load a model trained by ``rnnlab tag train`` (``best.pt``, else ``last.pt``), restricted to
    the outputs its ``--derive`` allows."""
    ckpt, model, dev = load_model(run_dir, which, "tag", device)
    return Tagger(model, ckpt.task.in_vocab, ckpt.task.out_vocab, ckpt.data_config.max_len, dev, ckpt.data_config.derive)
