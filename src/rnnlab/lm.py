"""The Python API for language models: ``rnnlab.load(run_dir)`` and ``rnnlab.train_lm(...)``.

>>> lm = rnnlab.load("runs/jargon")
>>> print(lm.sample(200, prime="hacker", temperature=0.8, seed=0))
>>> lm.score("The quick brown fox")      # bits per character
"""

from __future__ import annotations

import html
import math
import os
from collections.abc import Iterator, Sequence

import torch

from rnnlab import memory
from rnnlab.config import DataConfig, ModelConfig, SampleConfig, TrainConfig
from rnnlab.data import Vocab, corpus_from_text, load_corpus
from rnnlab.errors import UserError
from rnnlab.model import CharRNN
from rnnlab.runs import load_model
from rnnlab.sampling import generate, seeded
from rnnlab.scoring import check_scored, per_char, score_ids
from rnnlab.settings import replace


class LanguageModel:
    """A trained character model with its vocabulary: sample text, score text."""

    def __init__(self, model: CharRNN, vocab: Vocab, device: torch.device | str = "cpu", about: dict | None = None):
        self.model = model.eval()
        self.vocab = vocab
        self.device = torch.device(device)
        self.about = about or {}  # where it came from, for the summary: run, steps, best bits/char

    @classmethod
    def load(cls, run_dir: str | os.PathLike, which: str = "best", device: str = "cpu") -> LanguageModel:
        ckpt, model, dev = load_model(run_dir, which, "lm", device)
        p = ckpt.progress
        about = {"run": str(run_dir), "steps": p.step, "best_val": None if math.isinf(p.best_val) else p.best_val}
        return cls(model, ckpt.task.vocab, dev, about)

    def summary(self) -> list[tuple[str, str]]:
        """(what, value) rows: the network, its size, its vocabulary, where it came from."""
        cfg = self.model.cfg
        shown = "".join(c if c.isprintable() and c != " " else {" ": "␣", "\n": "↵", "\t": "⇥"}.get(c, "·") for c in self.vocab.chars[:60])
        rows = [
            ("model", f"{cfg.layers}x{cfg.hidden} {cfg.cell.upper()}" + (f" ({', '.join(cfg.extras())})" if cfg.extras() else "")),
            ("parameters", f"{sum(t.numel() for t in self.model.parameters()):,}"),
            ("vocabulary", f"{len(self.vocab)} symbols: {shown}{' ...' if len(self.vocab) > 60 else ''}"),
            ("device", str(self.device)),
        ]
        if self.about.get("run"):
            rows.append(("run", self.about["run"]))
        if self.about.get("steps") is not None:
            rows.append(("trained", f"{self.about['steps']:,} steps"))
        if self.about.get("best_val") is not None:
            rows.append(("best validation", f"{self.about['best_val']:.3f} bits/char"))
        return rows

    def __repr__(self) -> str:
        """The summary as text, for a plain Python prompt."""
        width = max(len(k) for k, _ in self.summary())
        return "rnnlab LanguageModel\n" + "\n".join(f"  {k.ljust(width)}  {v}" for k, v in self.summary())

    def _repr_html_(self) -> str:
        """The summary as a table, for Jupyter."""
        body = "".join(
            f"<tr><th style='text-align:left'>{k}</th><td style='text-align:left'>{html.escape(v)}</td></tr>" for k, v in self.summary()
        )
        return f"<table><caption style='text-align:left'><b>rnnlab LanguageModel</b></caption>{body}</table>"

    def prime_ids(self, prime: str, num: int, generator: torch.Generator) -> torch.Tensor:
        """(num, P) ids that start generation; an empty prime starts from a newline."""
        vocab = self.vocab
        if prime:
            unknown = vocab.unknown_chars(prime)
            if unknown and vocab.unk is None:
                shown = ", ".join(repr(c) for c in unknown[:10])
                raise UserError(f"the prime text has characters the model has never seen: {shown}")
            ids, _ = vocab.encode(prime)
        else:
            start = vocab.stoi.get("\n")
            if start is None:
                start = int(torch.randint(len(vocab), (1,), generator=generator))
            ids = torch.tensor([start])
        return ids.to(self.device)[None, :].expand(num, -1).contiguous()  # (num, P)

    def iter_sample(self, sampling: SampleConfig | int, prime: str = "", num: int = 1, keep: bool = False, **fields) -> Iterator[list[str]]:
        """Yield one character per sample at every step (``num`` samples side by side), drawn as ``sampling``
        says: a :class:`~rnnlab.config.SampleConfig`, or its length with ``fields`` its other fields (``temperature``,
        ``top_k``, ``top_p``, ``greedy``, ``seed``). Checked here, before the first character, the memory too
        (:mod:`rnnlab.memory`): ``keep`` says the caller keeps every character drawn."""
        cfg = replace(sampling, **fields) if isinstance(sampling, SampleConfig) else SampleConfig(length=sampling, **fields)
        if num < 1:
            raise UserError(f"num must be at least 1, got {num}")
        est = memory.sampling_estimate(self.model.cfg, num, cfg.length, max(1, len(prime)), keep=keep)
        memory.check(est, memory.device_limit(self.device))
        g = seeded(cfg, self.device)
        steps = generate(self.model, self.prime_ids(prime, num, g), cfg.length, g, self.vocab.unk, cfg)
        # On a GPU, reading ids back to the host every character would stall the queue of work
        # each time; collecting a block of steps first keeps it fed.
        return decode_steps(steps, self.vocab, 1 if self.device.type == "cpu" else 32)

    def sample(self, sampling: SampleConfig | int, prime: str = "", **fields) -> str:
        """``prime`` followed by the generated characters (``sampling``, ``fields``: as :meth:`iter_sample`)."""
        return prime + "".join(step[0] for step in self.iter_sample(sampling, prime, keep=True, **fields))

    def evaluate(self, text: str, chunk: int = 1024) -> dict:
        """Cross-entropy of ``text``: each character predicted from all before it (one pass,
        read ``chunk`` characters at a time with the state carried). With nothing to score (``chars``
        0) the means are NaN; ``rnnlab eval`` refuses that (:func:`rnnlab.scoring.check_scored`)."""
        ids, unknown = self.vocab.encode(text)
        nats, n = score_ids(self.model, ids, 1, chunk, self.device)
        return {**per_char(nats, n), "chars": n, "unknown": unknown, "total_nats": nats}

    def score(self, text: str) -> float:
        """Bits per character of ``text`` (unknown characters map to unk, or are skipped); a text
        with nothing to score (empty, or no character the model knows) is a UserError, as in
        ``rnnlab eval``."""
        result = self.evaluate(text)
        check_scored("the text", text, result["chars"], result["unknown"])
        return result["bpc"]


def decode_steps(steps: Iterator[torch.Tensor], vocab: Vocab, block: int = 1) -> Iterator[list[str]]:
    """(B,) id tensors -> per step, the B characters; ids are read back ``block`` steps at a time."""
    symbols = [vocab.decode([i]) for i in range(len(vocab))]  # one lookup per character drawn
    pending: list[torch.Tensor] = []
    for ids in steps:
        pending.append(ids)
        if len(pending) == block:
            rows = torch.stack(pending).tolist() if block > 1 else [ids.tolist()]  # (block, B)
            yield from ([symbols[i] for i in row] for row in rows)
            pending = []
    if pending:
        yield from ([symbols[i] for i in row] for row in torch.stack(pending).tolist())


def load(run_dir: str | os.PathLike, which: str = "best", device: str = "cpu") -> LanguageModel:
    """Load a trained language model from a run folder (``best.pt``, else ``last.pt``)."""
    return LanguageModel.load(run_dir, which=which, device=device)


def train_lm(
    text: str | None = None,
    paths: Sequence[str | os.PathLike] | None = None,
    out: str | os.PathLike | None = None,
    model: ModelConfig | None = None,
    config: TrainConfig | None = None,
    data: DataConfig | None = None,
    hooks=None,
    init_from: str | os.PathLike | None = None,
    overwrite: bool = False,
) -> LanguageModel:
    """Train from a string or files without the CLI, as ``rnnlab train`` does: the fields passed
    to ``model``, ``config`` and ``data`` (even at a default value) are the settings given, and
    :func:`rnnlab.resolve.resolve` decides the others (the budget recipe for ``config.max_time``,
    the fine-tuning recipe and the model's own shape with ``init_from``). Checkpoints go to
    ``out`` when given, and ``rnnlab train --resume OUT`` continues the run (given the same text
    again as PATH when it came from a string). A folder that already holds a run is refused, as
    by ``rnnlab train``; ``overwrite=True`` replaces that run.

    ``init_from`` (or ``config.init_from``): start from a trained model's weights, as
    ``--init-from``: a run folder, a checkpoint file, or ``"base"``; a given model setting that
    would change its shape is refused."""
    from rnnlab.init_from import read
    from rnnlab.resolve import given_in, python_label, resolve
    from rnnlab.training import LMTask, Trainer, rundir

    if (text is None) == (paths is None):
        raise UserError("give exactly one of text= or paths=")
    given = given_in(data, model, config, init_from=init_from)
    start = read(given["init_from"]) if given.get("init_from") else None
    data, model, config = resolve("lm", given, start, label=python_label("lm")).configs
    grow = start.grow if start is not None else None
    if text is not None:
        corpus = corpus_from_text(text, min_count=data.min_count, grow=grow)
    else:
        corpus = load_corpus(paths, encoding=data.encoding, min_count=data.min_count, grow=grow)
    trainer = Trainer(LMTask(corpus, model, config, data, start), run_dir=out, hooks=hooks)  # refusals come before the folder
    if out is not None:
        rundir.create(out, overwrite)
    trainer.run()
    return LanguageModel(trainer.model, corpus.vocab, trainer.device)
