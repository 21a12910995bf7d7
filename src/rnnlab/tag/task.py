"""Aligned transduction as a training task: shuffled batches of whole lines.

Pairs are cut into windows of at most ``max_len`` characters and held as rows of a padded id
matrix; each step takes the next ``batch_size`` rows of a shuffled order, in which the rows of a
batch have similar lengths (:func:`bucketed_order`). The shuffling generator and the order are in
the checkpoint, so a resumed run continues exactly. Validation holds out lines (:func:`split_lines`).
A derived task's model takes only the outputs its rule allows, in training and validation too
(:func:`rnnlab.tag.pairs.allowed_outputs`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from rnnlab import memory
from rnnlab.checkpoint import TagState
from rnnlab.config import TagDataConfig, TagModelConfig, TagTrainConfig
from rnnlab.data import UNK_DISPLAY, DataSpec, Vocab, digest
from rnnlab.distributed import DistContext
from rnnlab.errors import UserError
from rnnlab.init_from import origin_text
from rnnlab.model import LN2
from rnnlab.resolve import Resolved, TextSize
from rnnlab.settings import replace
from rnnlab.tag.from_lm import TagStart, load_into
from rnnlab.tag.infer import Tagger, score, transduce
from rnnlab.tag.model import TagModel
from rnnlab.tag.pairs import Pair, allowed_outputs, windows

BUCKET_POOL = 50  # batches whose windows are sorted by length together
EVAL_LINES = 256  # validation windows per forward pass


def bucketed_order(lengths: torch.Tensor, batch_size: int, generator: torch.Generator, pool: int = BUCKET_POOL) -> torch.Tensor:
    """A random order of the rows whose consecutive ``batch_size`` slices are batches of
    similar lengths: shuffle, sort each run of ``pool`` batches by length, cut into batches,
    shuffle the full batches (a last, partial one stays last). A batch is padded to its longest
    row, so random batches of lines spend a fifth to a third of each step on padding (the
    truecasing and French texts of benchmarks/tag_quality.py); these spend a few percent."""
    n = lengths.numel()
    order = torch.randperm(n, generator=generator)
    chunk = batch_size * pool
    order = torch.cat([idx[torch.argsort(lengths[idx], stable=True)] for idx in order.split(chunk)])
    full = n // batch_size
    batches = order[: full * batch_size].view(full, batch_size)  # (full, batch_size)
    shuffled = batches[torch.randperm(full, generator=generator)].flatten()
    return torch.cat([shuffled, order[full * batch_size :]])


@dataclass
class TagData:
    """Pairs of whole lines, their vocabularies and where they came from."""

    pairs: list[Pair]
    in_vocab: Vocab | None = None  # built from the pairs when None; its unknown symbol, id 0, is also the padding
    out_vocab: Vocab | None = None
    n_bad: int = 0  # lines skipped with --skip-bad
    spec: DataSpec | None = None  # None: pairs given in memory

    def __post_init__(self):
        if not self.pairs:
            raise UserError("there are no pairs to train on")
        if self.in_vocab is None or self.out_vocab is None:
            self.in_vocab = Vocab((UNK_DISPLAY, *sorted(set("".join(i for i, _ in self.pairs)))), unk=0)
            self.out_vocab = Vocab(tuple(sorted(set("".join(t for _, t in self.pairs)))))
        if self.spec is None:
            self.spec = DataSpec("text", (), self.chars, digest("".join(f"{i}\t{t}\n" for i, t in self.pairs)))

    @property
    def chars(self) -> int:
        return sum(len(t) for _, t in self.pairs)


@dataclass
class Encoded:
    """Windows as rows of a padded id matrix: x, y (N, L) and lengths (N,)."""

    x: torch.Tensor
    y: torch.Tensor
    lengths: torch.Tensor

    def __len__(self) -> int:
        return self.lengths.numel()

    def batch(self, idx: torch.Tensor, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        lengths = self.lengths[idx]
        t = int(lengths.max())
        x = self.x[idx, :t].to(device, non_blocking=True).long()  # (B, T)
        y = self.y[idx, :t].to(device, non_blocking=True).long()  # (B, T)
        return x, y, lengths


def encode_pairs(pairs: Sequence[Pair], in_vocab: Vocab, out_vocab: Vocab) -> Encoded:
    """Pairs (already windowed) -> padded id matrices; unknown inputs -> unk, padding = 0."""
    lengths = torch.tensor([len(i) for i, _ in pairs], dtype=torch.long)
    x_ids, _ = in_vocab.encode("".join(i for i, _ in pairs))  # unknown characters -> unk
    y_ids, missing = out_vocab.encode("".join(t for _, t in pairs))
    if missing:
        chars = sorted(set("".join(t for _, t in pairs)) - set(out_vocab.chars))
        raise UserError(f"target characters outside the output vocabulary: {', '.join(map(repr, chars[:10]))}")
    real = torch.arange(int(lengths.max()) if pairs else 0)[None, :] < lengths[:, None]  # (N, L), filled row by row
    dtype = max(in_vocab.dtype, out_vocab.dtype, key=lambda d: d.itemsize)
    x = torch.zeros(real.shape, dtype=dtype)
    y = torch.zeros(real.shape, dtype=dtype)
    x[real] = x_ids.to(dtype)
    y[real] = y_ids.to(dtype)
    return Encoded(x, y, lengths)


def split_lines(pairs: Sequence[Pair], cfg: TagTrainConfig) -> tuple[list[Pair], list[Pair]]:
    """Hold out ``cfg.val_fraction`` of the lines (none when that is under one line), both parts
    in file order. ``val_lines`` "spread": lines drawn with ``cfg.seed`` from the whole file; "last":
    the last lines. Lines are examples, not a stream: the last ones are often the nearest kin of
    what the user will tag next (a catalog in order, a file of chapters), and holding them all out
    kept the tagger from learning words that a rule fitted to every line knew."""
    n_val = int(len(pairs) * cfg.val_fraction)
    if n_val >= len(pairs):
        return list(pairs), []
    if cfg.val_lines == "last":
        held = set(range(len(pairs) - n_val, len(pairs)))
    else:
        held = set(torch.randperm(len(pairs), generator=torch.Generator().manual_seed(cfg.seed))[:n_val].tolist())
    return [p for i, p in enumerate(pairs) if i not in held], [p for i, p in enumerate(pairs) if i in held]


def text_size(data: TagData, resolved: Resolved) -> TextSize:
    """What the tagger's size rule reads of ``data``, split and windowed as ``resolved`` says."""
    train_pairs, _ = split_lines(data.pairs, resolved.train)
    return TextSize(data.chars, len(windows(train_pairs, resolved.data.max_len)))


class TagTask:
    kind = "tag"

    def __init__(
        self,
        data: TagData,
        model: TagModelConfig,
        train: TagTrainConfig,
        data_config: TagDataConfig | None = None,
        start: TagStart | None = None,
    ):
        """``start``: the language model to start from (``model`` then has its sizes); None:
        random weights, or a resumed run's."""
        self.tag_data = data
        self.in_vocab, self.out_vocab = data.in_vocab, data.out_vocab
        self.model_config = replace(model, vocab_size=len(self.in_vocab), out_vocab=len(self.out_vocab))
        self.init_weights = start.weights_for(self.model_config, self.in_vocab) if start is not None else None
        self.origin = start.origin(self.in_vocab) if start is not None else None
        self.data_config, self.data = data_config or TagDataConfig(), data.spec
        max_len = self.data_config.max_len
        train_pairs, self.val_pairs = split_lines(data.pairs, train)
        self.train = encode_pairs(windows(train_pairs, max_len), self.in_vocab, self.out_vocab)
        self.val = encode_pairs(windows(self.val_pairs, max_len), self.in_vocab, self.out_vocab) if self.val_pairs else None
        self.allowed = allowed_outputs(self.data_config.derive, self.in_vocab, self.out_vocab)
        for part in (self.train, self.val):
            self.check_allowed(part)
        n = len(self.train)
        self.batch_size = min(train.batch_size, n)
        self.steps_per_epoch = math.ceil(n / self.batch_size)
        self.epochs, self.train_config = train.epochs, train
        self.chars_per_step = max(1, round(float(self.train.lengths.float().mean()) * self.batch_size))
        self.shuffle = torch.Generator().manual_seed(train.seed)
        self.start_epoch()

    def check_allowed(self, part: Encoded | None) -> None:
        """Refuse a target that the derivation's mask rules out: its probability would be 0, its loss infinite."""
        if self.allowed is None or part is None:
            return
        real = torch.arange(part.x.shape[1])[None, :] < part.lengths[:, None]  # (N, L)
        x, y = part.x[real].long(), part.y[real].long()  # (n,) each
        bad = (~self.allowed[x, y]).nonzero().flatten()
        if bad.numel():
            i, t = self.in_vocab.chars[int(x[bad[0]])], self.out_vocab.chars[int(y[bad[0]])]
            raise UserError(f"--derive {self.data_config.derive} cannot turn {i!r} into {t!r}: derived pairs come from its rule")

    def place(self, device: torch.device, dist: DistContext | None) -> int:
        if dist is not None:
            raise UserError("rnnlab tag train runs in one process; start it without torchrun")
        self.device = device
        return self.batch_size

    def build_model(self, backend: str) -> TagModel:
        model = TagModel(self.model_config, backend)
        if self.init_weights is not None:
            load_into(model, self.init_weights)
        model.set_word_chars(self.in_vocab.chars)
        model.set_allowed(self.allowed)
        model.count_words(self.train.x, self.train.lengths)
        return model

    def start_epoch(self) -> None:
        self.order = bucketed_order(self.train.lengths, self.batch_size, self.shuffle)

    def loss(self, model: torch.nn.Module, index: int) -> torch.Tensor:
        s = index * self.batch_size
        return model(*self.train.batch(self.order[s : s + self.batch_size], self.device))[1]  # (x, y, lengths) -> loss

    def has_validation(self) -> bool:
        return self.val is not None

    @torch.no_grad()
    def evaluate(self, model: torch.nn.Module) -> float:
        cap = int(torch.searchsorted(torch.cumsum(self.val.lengths, 0), self.train_config.eval_chars, right=True))
        idx = torch.argsort(self.val.lengths[: max(1, min(cap, len(self.val)))])  # similar lengths together
        was_training = model.training
        model.eval()
        total = 0.0
        for s in range(0, idx.numel(), EVAL_LINES):
            x, y, lengths = self.val.batch(idx[s : s + EVAL_LINES], self.device)
            _, loss = model(x, y, lengths)
            total += float(loss) * int(lengths.sum())
        model.train(was_training)
        return total / int(self.val.lengths[idx].sum()) / LN2

    def val_error(self, model: torch.nn.Module) -> float | None:
        """The share of the held-out positions to change that the model gets wrong, scored as
        ``rnnlab tag eval`` scores (on the lines that fit in ``eval_chars``). The held-out loss
        wanders late in training while this still falls (docs/tag.md). None: nothing to change."""
        pairs, chars = [], 0
        for pair in self.val_pairs:
            if pairs and chars + len(pair[0]) > self.train_config.eval_chars:
                break
            pairs.append(pair)
            chars += len(pair[0])
        outs = transduce(model, self.in_vocab, self.out_vocab, [i for i, _ in pairs], self.data_config.max_len, self.device)
        accuracy = score(pairs, [o.text for o in outs])["changed_accuracy"]
        return None if accuracy is None else 1.0 - accuracy

    def preview(self, model: torch.nn.Module, seed: int) -> str:
        pool = self.val_pairs or self.tag_data.pairs
        picks = torch.randperm(len(pool), generator=torch.Generator().manual_seed(seed))[:2].tolist()
        width = max(8, self.train_config.sample_chars // 2)
        shown = [(pool[i][0][:width], pool[i][1][:width]) for i in picks]
        outs = transduce(model, self.in_vocab, self.out_vocab, [i for i, _ in shown], self.data_config.max_len, self.device)
        return "\n".join(f"in:     {inp}\nout:    {out.text}\ntarget: {tgt}" for (inp, tgt), out in zip(shown, outs))

    def notes(self) -> list[str]:
        return [origin_text(self.origin)] if self.origin else []

    def memory_estimate(self, batch: int) -> memory.Estimate:
        cfg, steps = self.train_config, max(1, self.train.x.shape[1])  # the longest window there is
        flags = {"--batch-size": cfg.batch_size, "--max-len": steps, "--eval-chars": cfg.eval_chars, "--sample-chars": cfg.sample_chars}
        return memory.training_estimate(
            self.model_config,
            batch,
            steps,
            flags=flags,
            eval_batch=EVAL_LINES,
            eval_steps=steps,
            sample_chars=cfg.sample_chars,
            steps_flag="--max-len",
        )

    def describe(self) -> str:
        d = self.tag_data
        changed = sum(a != b for i, t in d.pairs for a, b in zip(i, t))
        return (
            f"data: {len(d.pairs):,} lines ({len(self.train):,} training windows of at most {self.data_config.max_len}, "
            f"{len(self.val_pairs):,} lines held out), {d.chars:,} characters, {changed / max(1, d.chars):.1%} "
            f"of them to change; {len(self.in_vocab) - 1} input and {len(self.out_vocab)} output symbols"
            + (f"; {d.n_bad:,} bad line{'s' * (d.n_bad != 1)} skipped" if d.n_bad else "")
        )

    def state(self) -> TagState:
        return TagState(self.in_vocab, self.out_vocab, self.shuffle.get_state(), self.order, self.origin)

    def restore(self, state: TagState) -> None:
        self.origin = state.origin
        self.shuffle.set_state(state.shuffle)
        self.order = state.order.clone()


def train_tagger(
    pairs: Sequence[Pair],
    out: str | os.PathLike | None = None,
    model: TagModelConfig | None = None,
    config: TagTrainConfig | None = None,
    data: TagDataConfig | None = None,
    hooks=None,
    init_from: str | os.PathLike | None = None,
    overwrite: bool = False,
) -> Tagger:
    """Train from pairs in memory, as ``rnnlab tag train`` does: the fields passed to ``model``,
    ``config`` and ``data`` are the settings given and :func:`rnnlab.resolve.resolve` decides the
    others (dropout and epochs by the size of the text). Checkpoints go to ``out`` when given (a
    folder that already holds a run is refused; ``overwrite=True`` replaces that run).
    ``init_from`` (or ``config.init_from``): start from a language model, as ``--init-from`` (its
    sizes; a given size that differs is refused)."""
    from rnnlab.init_from import read
    from rnnlab.resolve import given_in, python_label, resolve
    from rnnlab.training import Trainer, rundir

    given, label = given_in(data, model, config, init_from=init_from), python_label("tag")
    start = TagStart(read(given["init_from"])) if given.get("init_from") else None
    tag_data = TagData(list(pairs))
    resolved = resolve("tag", given, start, text_size(tag_data, resolve("tag", given, start, label=label)), label=label)
    task = TagTask(tag_data, resolved.model, resolved.train, resolved.data, start)
    trainer = Trainer(task, run_dir=out, hooks=hooks)  # refusals come before the folder
    if out is not None:
        rundir.create(out, overwrite)
    trainer.run()
    return Tagger(trainer.model, task.in_vocab, task.out_vocab, task.data_config.max_len, trainer.device, task.data_config.derive)
