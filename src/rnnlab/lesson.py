"""Lecture 12 of "PyTorch深度学习实践" (RNN basics), reproduced: "hello" -> "ohlol".

Five programs, each trained for a few epochs with ``CrossEntropyLoss`` and Adam:

1. ``rnncell``:   a hand-written time loop over ``RNNCell(4, 4)`` whose hidden state *is* the
                  4 logits; the loss is the sum of the per-step losses (lr 0.1).
2. ``rnn``:       one call of ``RNN(4, 4)`` on the one-hot sequence, output viewed as
                  ``(seqLen * batchSize, hiddenSize)`` logits; mean loss (lr 0.05).
3. ``embedding``: ``Embedding(4, 10) -> RNN(10, 8, num_layers=2, batch_first=True) -> Linear(8, 4)``
                  on the ids ``[[1, 0, 2, 2, 3]]``; mean loss (lr 0.05).
4. ``lstm``:      homework: program 3 with ``LSTM`` (state ``(h_0, c_0)``) (lr 0.1).
5. ``gru``:       homework: program 3 with ``GRU`` (lr 0.1).

The model classes follow the lecture's code (a ``Model`` class per program, ``init_hidden``,
``out.view(-1, ...)``) so that students recognise them. Nothing here prints: every training
function takes a ``write`` callable (``sys.stdout.write`` in the CLI) and returns a
:class:`LessonResult`. Everything random is drawn under ``seed``; the global torch RNG state is
restored afterwards. Training runs on one intra-op thread (restored afterwards too), so the same
seed gives the same numbers whatever the caller's thread setting.

``impl="reference"`` builds the recurrent layers from :mod:`rnnlab.nn` (written from tensor ops)
instead of :mod:`torch.nn`. Modules are constructed in the same order under the same seed and
``rnnlab.nn`` uses torch's init scheme and parameter order, so both impls give the same losses.
"""

from __future__ import annotations

import contextlib
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from rnnlab.errors import UserError

Write = Callable[[str], object]

PROGRAMS: tuple[str, ...] = ("rnncell", "rnn", "embedding", "lstm", "gru")
IMPLS: tuple[str, ...] = ("torch", "reference")

#: Per-program learning rates: the lecture's (0.1 for RNNCell, 0.05 for RNN and Embedding). For the
#: LSTM/GRU homework the lecture allows 0.05 to 0.1; we take 0.1, with which they reach "ohlol"
#: within 15 epochs on 44/50 and 47/50 seeds (LSTM only 30/50 at 0.05: its gates learn slower).
DEFAULT_LR: dict[str, float] = {
    "rnncell": 0.1,
    "rnn": 0.05,
    "embedding": 0.05,
    "lstm": 0.1,
    "gru": 0.1,
}
DEFAULT_EPOCHS = 15
#: Chosen so that all five programs print "ohlol" within 15 epochs with both impls
#: (see ``scripts/lesson_success_rates.py`` for how often that happens over seeds 0..49).
DEFAULT_SEED = 2
DEFAULT_INPUT = "hello"
DEFAULT_TARGET = "ohlol"

TITLES: dict[str, str] = {
    "rnncell": "Program 1 (RNNCell, hand-written time loop, hidden state = logits)",
    "rnn": "Program 2 (RNN, whole sequence in one call)",
    "embedding": "Program 3 (Embedding + RNN + Linear)",
    "lstm": "Homework (program 3 with LSTM)",
    "gru": "Homework (program 3 with GRU)",
}
MODELS: dict[str, str] = {
    "rnncell": "RNNCell(input_size={v}, hidden_size={v}), batch 1",
    "rnn": "RNN(input_size={v}, hidden_size={v}, num_layers=1), batch 1",
    "embedding": "Embedding({v}, 10) -> RNN(10, 8, num_layers=2, batch_first=True) -> Linear(8, {v})",
    "lstm": "Embedding({v}, 10) -> LSTM(10, 8, num_layers=2, batch_first=True) -> Linear(8, {v})",
    "gru": "Embedding({v}, 10) -> GRU(10, 8, num_layers=2, batch_first=True) -> Linear(8, {v})",
}

# Program 3's sizes (the lecture's constants).
EMBEDDING_SIZE = 10
HIDDEN_SIZE = 8
NUM_LAYERS = 2


# --------------------------------------------------------------------------------------------
# The task
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Task:
    """One input word to transduce into one target word, over a character vocabulary."""

    input_word: str
    target_word: str
    idx2char: tuple[str, ...]
    x_data: tuple[int, ...]
    y_data: tuple[int, ...]

    @property
    def vocab_size(self) -> int:
        return len(self.idx2char)

    @property
    def seq_len(self) -> int:
        return len(self.x_data)

    def decode(self, ids: Sequence[int]) -> str:
        return "".join(self.idx2char[int(i)] for i in ids)


def make_task(input_word: str = DEFAULT_INPUT, target_word: str = DEFAULT_TARGET) -> Task:
    """The vocabulary is the sorted set of characters of both words ('e', 'h', 'l', 'o' for
    hello/ohlol); the words must be non-empty and of equal length (one output per input step)."""
    if not input_word or not target_word:
        which = "input" if not input_word else "target"
        raise UserError(f"the {which} word is empty; give two non-empty words of equal length")
    if len(input_word) != len(target_word):
        raise UserError(
            f"input {input_word!r} has {len(input_word)} characters but target {target_word!r} "
            f"has {len(target_word)}; they must be of equal length (one output per input step)"
        )
    idx2char = tuple(sorted(set(input_word) | set(target_word)))
    char2idx = {c: i for i, c in enumerate(idx2char)}
    return Task(
        input_word=input_word,
        target_word=target_word,
        idx2char=idx2char,
        x_data=tuple(char2idx[c] for c in input_word),
        y_data=tuple(char2idx[c] for c in target_word),
    )


# --------------------------------------------------------------------------------------------
# The result
# --------------------------------------------------------------------------------------------


@dataclass
class LessonResult:
    """What one program did: per-epoch losses and predicted strings (epoch k at index k-1)."""

    program: str
    impl: str
    seed: int
    lr: float
    input_word: str
    target_word: str
    losses: list[float] = field(default_factory=list)
    predictions: list[str] = field(default_factory=list)
    #: first epoch (1-based) whose prediction equals the target exactly; None if never.
    first_hit: int | None = None

    @property
    def epochs(self) -> int:
        return len(self.losses)

    @property
    def final_loss(self) -> float:
        return self.losses[-1]

    @property
    def final_prediction(self) -> str:
        return self.predictions[-1]

    @property
    def final_correct(self) -> bool:
        return self.final_prediction == self.target_word

    def _record(self, epoch: int, prediction: str, loss: float) -> None:
        self.predictions.append(prediction)
        self.losses.append(loss)
        if self.first_hit is None and prediction == self.target_word:
            self.first_hit = epoch


# --------------------------------------------------------------------------------------------
# Layers: torch.nn or rnnlab.nn
# --------------------------------------------------------------------------------------------


def layers_for(impl: str) -> types.SimpleNamespace:
    """The recurrent classes to build with: ``torch.nn``'s or ``rnnlab.nn``'s (imported lazily).
    ``Embedding`` and ``Linear`` always come from ``torch.nn``."""
    if impl == "torch":
        nn = torch.nn
    elif impl == "reference":
        try:
            import rnnlab.nn as nn
        except ImportError as e:
            raise UserError(f"--impl reference needs rnnlab.nn, which cannot be imported: {e}") from e
    else:
        raise UserError(f"unknown impl {impl!r}; choose one of: {', '.join(IMPLS)}")
    return types.SimpleNamespace(RNNCell=nn.RNNCell, RNN=nn.RNN, LSTM=nn.LSTM, GRU=nn.GRU)


@contextlib.contextmanager
def _seeded(seed: int):
    """Draw everything under ``seed`` on one intra-op thread; restore the RNG and thread count.

    One thread because the tensors are tiny (extra threads only contend on a busy machine, 10x
    slower seen on 2 shared cores) and because the thread count can change the last bits of a
    reduction: with it fixed, the same seed gives the same numbers on every machine set-up.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            yield
    finally:
        torch.set_num_threads(threads)


def _shape(t: torch.Tensor) -> str:
    return str(tuple(t.shape))


class _Tracer:
    """Writes one line per tensor shape while switched on (the first epoch with ``--shapes``)."""

    def __init__(self, write: Write, enabled: bool):
        self.write = write
        self.on = enabled

    def __call__(self, name: str, t: torch.Tensor) -> None:
        if self.on:
            self.write(f"  shape of {name}: {_shape(t)}\n")


def _no_trace(name: str, t: torch.Tensor) -> None:
    pass


# --------------------------------------------------------------------------------------------
# The models, as in the lecture
# --------------------------------------------------------------------------------------------


class RNNCellModel(torch.nn.Module):
    """Program 1 (the lecture's first ``Model``): one ``RNNCell``, the time loop is outside."""

    def __init__(self, input_size, hidden_size, batch_size, layers=torch.nn):
        super().__init__()
        self.batch_size = batch_size
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.rnncell = layers.RNNCell(input_size=self.input_size, hidden_size=self.hidden_size)
        self.trace = _no_trace

    def forward(self, input, hidden):
        hidden = self.rnncell(input, hidden)
        return hidden

    def init_hidden(self):
        return torch.zeros(self.batch_size, self.hidden_size)


class RNNModel(torch.nn.Module):
    """Program 2 (the lecture's second ``Model``): ``nn.RNN`` over the whole sequence at once."""

    def __init__(self, input_size, hidden_size, batch_size, num_layers=1, layers=torch.nn):
        super().__init__()
        self.num_layers = num_layers
        self.batch_size = batch_size
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.rnn = layers.RNN(input_size=self.input_size, hidden_size=self.hidden_size, num_layers=num_layers)
        self.trace = _no_trace

    def init_hidden(self):
        return torch.zeros(self.num_layers, self.batch_size, self.hidden_size)

    def forward(self, input):
        hidden = self.init_hidden()
        self.trace("hidden h_0 (numLayers, batchSize, hiddenSize)", hidden)
        out, h_n = self.rnn(input, hidden)
        self.trace("out (seqLen, batchSize, hiddenSize)", out)
        self.trace("h_n (numLayers, batchSize, hiddenSize)", h_n)
        outputs = out.view(-1, self.hidden_size)
        self.trace("outputs = out.view(-1, hiddenSize) (seqLen*batchSize, hiddenSize)", outputs)
        return outputs


class EmbeddingModel(torch.nn.Module):
    """Program 3 (the lecture's third ``Model``) and the LSTM/GRU homework:
    ``Embedding -> RNN/LSTM/GRU (batch_first) -> Linear``."""

    def __init__(
        self,
        input_size,
        num_class,
        embedding_size=EMBEDDING_SIZE,
        hidden_size=HIDDEN_SIZE,
        num_layers=NUM_LAYERS,
        cell="rnn",
        layers=torch.nn,
    ):
        super().__init__()
        self.num_layers = num_layers
        self.hidden_size = hidden_size
        self.num_class = num_class
        self.cell = cell
        rnn_class = {"rnn": layers.RNN, "lstm": layers.LSTM, "gru": layers.GRU}[cell]
        self.emb = torch.nn.Embedding(input_size, embedding_size)
        self.rnn = rnn_class(
            input_size=embedding_size,
            hidden_size=hidden_size,
            num_layers=num_layers,
            batch_first=True,
        )
        self.fc = torch.nn.Linear(hidden_size, num_class)
        self.trace = _no_trace

    def init_hidden(self, batch_size):
        hidden = torch.zeros(self.num_layers, batch_size, self.hidden_size)
        if self.cell == "lstm":
            return hidden, torch.zeros(self.num_layers, batch_size, self.hidden_size)
        return hidden

    def forward(self, x):
        hidden = self.init_hidden(x.size(0))
        if self.cell == "lstm":
            self.trace("hidden h_0 (numLayers, batchSize, hiddenSize)", hidden[0])
            self.trace("cell c_0 (numLayers, batchSize, hiddenSize)", hidden[1])
        else:
            self.trace("hidden h_0 (numLayers, batchSize, hiddenSize)", hidden)
        x = self.emb(x)
        self.trace("emb(x) (batchSize, seqLen, embeddingSize)", x)
        x, h_n = self.rnn(x, hidden)
        self.trace("rnn out (batchSize, seqLen, hiddenSize)", x)
        if self.cell == "lstm":
            self.trace("h_n (numLayers, batchSize, hiddenSize)", h_n[0])
            self.trace("c_n (numLayers, batchSize, hiddenSize)", h_n[1])
        else:
            self.trace("h_n (numLayers, batchSize, hiddenSize)", h_n)
        x = self.fc(x)
        self.trace("fc(x) (batchSize, seqLen, numClass)", x)
        x = x.view(-1, self.num_class)
        self.trace("outputs = x.view(-1, numClass) (batchSize*seqLen, numClass)", x)
        return x


# --------------------------------------------------------------------------------------------
# Training, as in the lecture
# --------------------------------------------------------------------------------------------


def _header(program: str, task: Task, lr: float, epochs: int, seed: int, impl: str) -> str:
    model = MODELS[program].format(v=task.vocab_size)
    return (
        f"== {TITLES[program]}: {model} ==\n"
        f"   Adam lr={lr:g}, {epochs} epoch{'' if epochs == 1 else 's'}, seed {seed}, impl {impl}; "
        f"{task.input_word!r} -> {task.target_word!r}, idx2char={list(task.idx2char)}\n"
    )


def _check(epochs: int, lr: float | None) -> None:
    if epochs < 1:
        raise UserError(f"--epochs must be at least 1, not {epochs}")
    if lr is not None and not lr > 0:
        raise UserError(f"--lr must be positive, not {lr}")


def train_rnncell(
    task: Task | None = None,
    *,
    epochs: int = DEFAULT_EPOCHS,
    lr: float | None = None,
    seed: int = DEFAULT_SEED,
    impl: str = "torch",
    shapes: bool = False,
    write: Write = lambda s: None,
) -> LessonResult:
    """Program 1: the hidden state of an ``RNNCell`` is the logits; loss = sum over steps."""
    task = task or make_task()
    lr = DEFAULT_LR["rnncell"] if lr is None else lr
    _check(epochs, lr)
    layers = layers_for(impl)
    result = LessonResult("rnncell", impl, seed, lr, task.input_word, task.target_word)
    write(_header("rnncell", task, lr, epochs, seed, impl))

    input_size = hidden_size = task.vocab_size
    batch_size = 1
    one_hot_lookup = torch.eye(input_size).tolist()
    x_one_hot = [one_hot_lookup[x] for x in task.x_data]

    with _seeded(seed):
        inputs = torch.Tensor(x_one_hot).view(-1, batch_size, input_size)
        labels = torch.LongTensor(list(task.y_data)).view(-1, 1)
        net = RNNCellModel(input_size, hidden_size, batch_size, layers=layers)
        criterion = torch.nn.CrossEntropyLoss()
        optimizer = torch.optim.Adam(net.parameters(), lr=lr)

        for epoch in range(epochs):
            trace = _Tracer(write, shapes and epoch == 0)
            trace("inputs (seqLen, batchSize, inputSize)", inputs)
            trace("labels (seqLen, 1)", labels)
            # With --shapes, the first epoch's characters wait until the shape lines are out.
            chars: list[str] = []
            emit = chars.append if trace.on else write
            loss = 0
            optimizer.zero_grad()
            hidden = net.init_hidden()
            trace("hidden = net.init_hidden() (batchSize, hiddenSize)", hidden)
            emit("Predicted string: ")
            predicted = []
            for step, (input, label) in enumerate(zip(inputs, labels), start=1):
                trace(f"input at step {step} (batchSize, inputSize)", input)
                hidden = net(input, hidden)
                trace(f"hidden = logits at step {step} (batchSize, hiddenSize)", hidden)
                trace(f"label at step {step} (batchSize,)", label)
                loss += criterion(hidden, label)
                _, idx = hidden.max(dim=1)
                predicted.append(task.idx2char[idx.item()])
                emit(predicted[-1])
            loss.backward()
            optimizer.step()
            if chars:
                write("".join(chars))
            write(", Epoch [%d/%d] loss=%.4f\n" % (epoch + 1, epochs, loss.item()))
            result._record(epoch + 1, "".join(predicted), loss.item())
    return result


def _train_sequence(
    program: str,
    task: Task | None,
    epochs: int,
    lr: float | None,
    seed: int,
    impl: str,
    shapes: bool,
    write: Write,
) -> LessonResult:
    """Programs 2-5: one forward call over the whole sequence, mean cross-entropy."""
    task = task or make_task()
    lr = DEFAULT_LR[program] if lr is None else lr
    _check(epochs, lr)
    layers = layers_for(impl)
    result = LessonResult(program, impl, seed, lr, task.input_word, task.target_word)
    write(_header(program, task, lr, epochs, seed, impl))

    with _seeded(seed):
        if program == "rnn":
            input_size = hidden_size = task.vocab_size
            batch_size = 1
            one_hot_lookup = torch.eye(input_size).tolist()
            x_one_hot = [one_hot_lookup[x] for x in task.x_data]
            inputs = torch.Tensor(x_one_hot).view(-1, batch_size, input_size)
            input_name = "inputs (seqLen, batchSize, inputSize)"
            net: torch.nn.Module = RNNModel(input_size, hidden_size, batch_size, layers=layers)
        else:
            inputs = torch.LongTensor([list(task.x_data)])
            input_name = "inputs (batchSize, seqLen)"
            cell = "rnn" if program == "embedding" else program
            net = EmbeddingModel(task.vocab_size, task.vocab_size, cell=cell, layers=layers)
        labels = torch.LongTensor(list(task.y_data))
        criterion = torch.nn.CrossEntropyLoss()
        optimizer = torch.optim.Adam(net.parameters(), lr=lr)

        for epoch in range(epochs):
            trace = _Tracer(write, shapes and epoch == 0)
            trace(input_name, inputs)
            trace("labels (seqLen*batchSize,)", labels)
            net.trace = trace
            optimizer.zero_grad()
            outputs = net(inputs)
            net.trace = _no_trace
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()

            _, idx = outputs.max(dim=1)
            idx = idx.data.numpy()
            predicted = "".join([task.idx2char[x] for x in idx])
            write("Predicted:  " + predicted)
            write(", Epoch [%d/%d] loss = %.3f\n" % (epoch + 1, epochs, loss.item()))
            result._record(epoch + 1, predicted, loss.item())
    return result


def train_rnn(
    task=None,
    *,
    epochs=DEFAULT_EPOCHS,
    lr=None,
    seed=DEFAULT_SEED,
    impl="torch",
    shapes=False,
    write: Write = lambda s: None,
) -> LessonResult:
    """Program 2: ``nn.RNN`` on the one-hot sequence, one call."""
    return _train_sequence("rnn", task, epochs, lr, seed, impl, shapes, write)


def train_embedding(
    task=None,
    *,
    epochs=DEFAULT_EPOCHS,
    lr=None,
    seed=DEFAULT_SEED,
    impl="torch",
    shapes=False,
    write: Write = lambda s: None,
) -> LessonResult:
    """Program 3: ``Embedding -> RNN(2 layers, batch_first) -> Linear``."""
    return _train_sequence("embedding", task, epochs, lr, seed, impl, shapes, write)


def train_lstm(
    task=None,
    *,
    epochs=DEFAULT_EPOCHS,
    lr=None,
    seed=DEFAULT_SEED,
    impl="torch",
    shapes=False,
    write: Write = lambda s: None,
) -> LessonResult:
    """Homework: program 3 with ``nn.LSTM``."""
    return _train_sequence("lstm", task, epochs, lr, seed, impl, shapes, write)


def train_gru(
    task=None,
    *,
    epochs=DEFAULT_EPOCHS,
    lr=None,
    seed=DEFAULT_SEED,
    impl="torch",
    shapes=False,
    write: Write = lambda s: None,
) -> LessonResult:
    """Homework: program 3 with ``nn.GRU``."""
    return _train_sequence("gru", task, epochs, lr, seed, impl, shapes, write)


TRAINERS: dict[str, Callable[..., LessonResult]] = {
    "rnncell": train_rnncell,
    "rnn": train_rnn,
    "embedding": train_embedding,
    "lstm": train_lstm,
    "gru": train_gru,
}


def train(program: str, task: Task | None = None, **kwargs) -> LessonResult:
    """Run one program by name (``rnncell``, ``rnn``, ``embedding``, ``lstm``, ``gru``)."""
    if program not in TRAINERS:
        raise UserError(f"unknown program {program!r}; choose one of: {', '.join(PROGRAMS)}")
    return TRAINERS[program](task, **kwargs)


def run_lesson(
    programs: Sequence[str] = PROGRAMS,
    task: Task | None = None,
    *,
    write: Write = lambda s: None,
    **kwargs,
) -> list[LessonResult]:
    """Run several programs in turn (a blank line between their logs) and end with the table."""
    results = []
    for i, program in enumerate(programs):
        if i:
            write("\n")
        results.append(train(program, task, write=write, **kwargs))
    write("\n" + format_table(results))
    return results


def format_table(results: Sequence[LessonResult]) -> str:
    """A plain-text summary: program, final prediction, final loss, first epoch on target."""
    rows = [("program", "final prediction", "final loss", "first epoch on target")]
    for r in results:
        rows.append(
            (
                r.program,
                r.final_prediction,
                f"{r.final_loss:.4f}",
                "-" if r.first_hit is None else f"{r.first_hit}/{r.epochs}",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for j, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"
