"""The tagger's network: embedding (or one-hot) -> recurrent layers -> Linear at every position.

Lines of different lengths share a batch, right-padded; padding never reaches the outputs of
real positions or the loss (see :class:`TagModel`).

Word embeddings (``word_buckets``): beside its own embedding, each character of a word reads an
embedding of the whole word, hashed into a fixed number of rows (the hashing trick: no word
vocabulary to build or store, and a word never seen in training falls in some row). What case or
accents a word takes is mostly a fact about the word; a row per word learns it from every
occurrence at once, where the recurrent layers must piece each word together from its letters.
The rows start at zero, so a word whose row training never reached adds nothing.

Word dropout (``word_dropout`` a): in training, each occurrence of a word seen n times in the
training lines reads no row (row 0) with probability a / (a + n), the word-dropout of Kiperwasser
and Goldberg (2016). Without it the layers learn to lean on the rows, and at test a new word (8%
and 14% of the words to change in the benchmark's English and French texts) reads a zero row, or
another word's, in a way training never showed them; rare words, the closest kin of new ones, are the
ones left out most. The counts come from the training data (:meth:`TagModel.count_words`).

Allowed outputs (:meth:`TagModel.set_allowed`): a derived task says which outputs each input
character may take (``rnnlab.tag.pairs.allowed_outputs``); the others get logit -inf, at
prediction and in the loss alike, so no output, however untrained the model, changes a digit or a
letter's identity. The mask follows from the run's ``--derive`` and vocabularies, so it is not
saved with the weights: a run gets it when it is loaded.
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F
from torch import nn

from rnnlab.config import TagModelConfig
from rnnlab.model import recurrent_layer


def reverse_within(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse the first ``lengths[b]`` steps of each row of x (B, T, ...); padding stays at the end. Its own inverse."""
    b, t = x.shape[:2]
    idx = torch.arange(t, device=x.device)[None, :].expand(b, t)  # (B, T)
    rev = lengths.to(x.device)[:, None] - 1 - idx
    rev = torch.where(rev >= 0, rev, idx)  # (B, T)
    return x.gather(1, rev.view(b, t, *([1] * (x.dim() - 2))).expand_as(x))


HASH_MOD = 2**31 - 1  # a prime: the word hash is a polynomial in the character ids modulo it
HASH_BASE = 1_000_003


def _powers(base: int, n: int) -> torch.Tensor:
    """base**i modulo HASH_MOD for i < n, as int64 (Python ints, so nothing overflows)."""
    out, x = [], 1
    for _ in range(n):
        out.append(x)
        x = x * base % HASH_MOD
    return torch.tensor(out, dtype=torch.long)


def word_starts(in_word: torch.Tensor) -> torch.Tensor:
    """in_word (B, T) -> where the word of each position began (B, T); meaningless outside words."""
    idx = torch.arange(in_word.shape[1], device=in_word.device)
    before = torch.cat([torch.zeros_like(in_word[:, :1]), in_word[:, :-1]], 1)
    return torch.where(in_word & ~before, idx, -1).cummax(1).values.clamp(min=0)


def word_hashes(ids: torch.Tensor, in_word: torch.Tensor) -> torch.Tensor:
    """For ids (B, T) and ``in_word`` (B, T), whether each position is a word character: the hash
    of the word each position is in, sum of (id + 1) * HASH_BASE**(i - start) over the word's
    positions i, modulo HASH_MOD; 0 outside words. The same word gives the same hash wherever it
    stands (the prefix sums are shifted back by the inverse power of its start)."""
    t = ids.shape[1]
    idx = torch.arange(t, device=ids.device)
    powers = _powers(HASH_BASE, t).to(ids.device)
    inverse = _powers(pow(HASH_BASE, HASH_MOD - 2, HASH_MOD), t).to(ids.device)  # Fermat: HASH_BASE**-i
    terms = (ids.long() + 1) * powers % HASH_MOD * in_word  # (B, T), each < 2**31
    sums = torch.cat([torch.zeros_like(terms[:, :1]), terms.cumsum(1) % HASH_MOD], 1)  # (B, T + 1): sums[i] over positions < i
    after = torch.cat([in_word[:, 1:], torch.zeros_like(in_word[:, :1])], 1)
    start = word_starts(in_word)
    end = torch.where(in_word & ~after, idx, t - 1).flip(1).cummin(1).values.flip(1)  # (B, T): where it ends
    h = (sums.gather(1, end + 1) - sums.gather(1, start)) % HASH_MOD * inverse[start] % HASH_MOD  # products < 2**62
    return torch.where(in_word, h, 0)


class TagModel(nn.Module):
    """``forward(ids, targets=None, lengths=None) -> (logits, loss)``: ids (B, T) -> logits (B, T, V).

    Lines are right-padded. A left-to-right layer never carries padding back to the real
    positions; the right-to-left direction reads each line reversed within its own length, so its
    padding also comes after the line. Each line is thus computed exactly as it would be alone,
    and the loss is the mean cross-entropy (nats) over the real positions only. (This is the
    masking that ``PackedSequence`` does, without its cost: packed input runs about 1.6x slower
    on a CPU.) Bidirectional models keep one single-layer module per layer and direction, since
    each layer reads both directions of the one below. With :meth:`set_allowed`, the logits of the
    outputs an input may not take are -inf, and the loss is taken over the others."""

    def __init__(self, cfg: TagModelConfig, backend: str | None = None):
        super().__init__()
        if cfg.dropout is None:  # unset outside a TagTask (which sets it by the text's size): none
            cfg = dataclasses.replace(cfg, dropout=0.0)
        self.cfg = cfg
        self.embed = None if cfg.one_hot else nn.Embedding(cfg.vocab_size, cfg.embed)
        self.word = None
        if cfg.word_buckets:
            self.word = nn.Embedding(cfg.word_buckets, cfg.word_embed, padding_idx=0)  # row 0: not in a word
            nn.init.zeros_(self.word.weight)
            # Which input ids are word characters: set from the vocabulary (set_word_chars), saved with the weights.
            self.register_buffer("word_chars", torch.zeros(cfg.vocab_size, dtype=torch.bool))
            # Occurrences of each row's words in the training lines (count_words), for word dropout;
            # not saved: a resumed run counts its data again. All zero: no word dropout.
            self.register_buffer("word_counts", torch.zeros(cfg.word_buckets, dtype=torch.long), persistent=False)
        first = cfg.input_size + (cfg.word_embed if cfg.word_buckets else 0)
        if cfg.bidirectional:
            one = dataclasses.replace(cfg, layers=1)
            sizes = [first] + [2 * cfg.hidden] * (cfg.layers - 1)
            self.fwd = nn.ModuleList(recurrent_layer(one, n, backend) for n in sizes)
            self.bwd = nn.ModuleList(recurrent_layer(one, n, backend) for n in sizes)
        else:
            self.rnn = recurrent_layer(cfg, first, backend)
        self.drop = nn.Dropout(cfg.dropout) if cfg.dropout > 0 else nn.Identity()  # also between bidirectional layers
        self.head = nn.Linear(cfg.hidden * (2 if cfg.bidirectional else 1), cfg.out_vocab)
        # (V_in, V_out) bool, the outputs each input id may take (set_allowed); None: all. Not saved:
        # it follows from the run's --derive and vocabularies, which the checkpoint holds.
        self.register_buffer("allowed", None, persistent=False)

    def set_allowed(self, allowed: torch.Tensor | None) -> None:
        """Restrict input id i to the output ids j where ``allowed[i, j]`` (V_in, V_out), in the
        logits and so in the loss; None: every output."""
        if allowed is not None and tuple(allowed.shape) != (self.cfg.vocab_size, self.cfg.out_vocab):
            raise ValueError(f"allowed outputs {tuple(allowed.shape)} do not fit the model ({self.cfg.vocab_size}, {self.cfg.out_vocab})")
        self.allowed = None if allowed is None else allowed.to(self.head.weight.device, torch.bool)

    def set_word_chars(self, chars: list[str]) -> None:
        """Mark the input ids whose symbol (``chars[id]``) is a letter, digit or underscore."""
        if self.word is not None:
            mask = [len(c) == 1 and (c.isalnum() or c == "_") for c in chars]
            self.word_chars.copy_(torch.tensor(mask, dtype=torch.bool))

    def _in_word(self, ids: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
        in_word = self.word_chars[ids]  # (B, T)
        if lengths is not None:
            in_word = in_word & (torch.arange(ids.shape[1], device=ids.device)[None, :] < lengths.to(ids.device)[:, None])
        return in_word

    def _hashed_rows(self, ids: torch.Tensor, in_word: torch.Tensor) -> torch.Tensor:
        return torch.where(in_word, word_hashes(ids, in_word) % (self.cfg.word_buckets - 1) + 1, 0)  # row 0: no word

    def word_rows(self, ids: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """ids (B, T) -> the word embedding's row of each position (B, T); 0 outside words (and
        in the padding after ``lengths``, so that a word at a line's end ends with the line).
        In training with ``word_dropout``, a whole word's positions may read row 0 instead."""
        in_word = self._in_word(ids, lengths)
        rows = self._hashed_rows(ids, in_word)
        if not (self.training and self.cfg.word_dropout > 0):
            return rows
        n = self.word_counts[rows].float()  # (B, T); 0 for rows never counted: never dropped
        keep_p = torch.where(n > 0, n / (self.cfg.word_dropout + n), 1.0)
        # One draw per word, taken at its first position, so a word is left out whole.
        u = torch.rand(ids.shape, device=ids.device).gather(1, word_starts(in_word))  # (B, T)
        return torch.where(u < keep_p, rows, 0)

    @torch.no_grad()
    def count_words(self, ids: torch.Tensor, lengths: torch.Tensor, chunk: int = 4096) -> None:
        """Count the words of the training rows ids (N, L) (right-padded to ``lengths``) per row of
        the word embedding, for word dropout. Replaces earlier counts."""
        if self.word is None:
            return
        self.word_counts.zero_()
        for s in range(0, ids.shape[0], chunk):
            x, lens = ids[s : s + chunk].to(self.word_counts.device).long(), lengths[s : s + chunk]
            in_word = self._in_word(x, lens)
            first = in_word & (word_starts(in_word) == torch.arange(x.shape[1], device=x.device))  # (B, T): a word's first position
            self.word_counts += torch.bincount(self._hashed_rows(x, in_word)[first], minlength=self.cfg.word_buckets)

    def forward(
        self, ids: torch.Tensor, targets: torch.Tensor | None = None, lengths: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        ids = ids.long()
        b, t = ids.shape
        x = F.one_hot(ids, self.cfg.vocab_size).to(self.head.weight.dtype) if self.embed is None else self.embed(ids)  # (B, T, V_in or E)
        if self.word is not None:
            x = torch.cat([x, self.word(self.word_rows(ids, lengths))], dim=-1)  # (B, T, E + word_embed)
        if self.cfg.bidirectional:
            lens = torch.full((b,), t, dtype=torch.long, device=ids.device) if lengths is None else lengths.to(ids.device, torch.long)
            for i, (fwd, bwd) in enumerate(zip(self.fwd, self.bwd)):
                if i:
                    x = self.drop(x)
                right, _ = fwd(x)  # (B, T, H)
                left, _ = bwd(reverse_within(x, lens))  # (B, T, H), reversed
                x = torch.cat([right, reverse_within(left, lens)], dim=-1)  # (B, T, 2H)
        else:
            x, _ = self.rnn(x)  # (B, T, H)
        logits = self.head(self.drop(x))  # (B, T, V_out)
        if self.allowed is not None:
            logits = logits.masked_fill(~self.allowed[ids], float("-inf"))  # (B, T, V_out)
        if targets is None:
            return logits, None
        if lengths is None:
            return logits, F.cross_entropy(logits.flatten(0, 1), targets.long().flatten())
        mask = torch.arange(t, device=ids.device)[None, :] < lengths.to(ids.device)[:, None]  # (B, T)
        return logits, F.cross_entropy(logits[mask], targets.long()[mask])
