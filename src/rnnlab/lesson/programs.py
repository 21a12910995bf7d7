"""The lecture's training programs: build the data, the model, ``CrossEntropyLoss`` and Adam, then
print the predicted string and the loss per epoch in the lecture's formats.

1. ``rnncell``: a hand-written time loop over ``RNNCell(4, 4)``, whose hidden state *is* the 4 logits; loss = sum of the step losses.
2. ``rnn``: one call of ``RNN(4, 4)`` on the one-hot sequence, output viewed as ``(seqLen*batchSize, hiddenSize)`` logits; mean loss.
3. ``embedding``: ``Embedding(4, 10) -> RNN(10, 8, num_layers=2, batch_first=True) -> Linear(8, 4)`` on the ids of "hello"; mean loss.
4. ``lstm``: homework: program 3 with ``LSTM`` (state ``(h_0, c_0)``).
5. ``gru``: homework: program 3 with ``GRU``.

Nothing here prints: every function takes a ``write`` callable (``sys.stdout.write`` in the CLI)
and returns a :class:`~rnnlab.lesson.task.LessonResult`. ``lang`` (``en`` or ``zh``) is the language
of the headings, the ``--shapes`` lines and the table (:mod:`rnnlab.lesson.text`); the per-epoch
lines are the lecture's in every language. The same seed gives the same numbers
whatever the caller's RNG state and thread setting (see :func:`_seeded`). The arguments are
checked by :class:`rnnlab.config.LessonConfig`'s own fields.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence

import torch

from rnnlab.config import LessonConfig
from rnnlab.errors import UserError
from rnnlab.lesson.models import EmbeddingModel, RNNCellModel, RNNModel
from rnnlab.lesson.shapes import Write, shapes_shown
from rnnlab.lesson.task import DEFAULT_EPOCHS, DEFAULT_LR, DEFAULT_SEED, PROGRAMS, LessonResult, Task, format_table, make_task
from rnnlab.lesson.text import MESSAGES, lesson_lang, message

#: The first line of each program's log in English: what it is and the model it trains ({v}: the
#: vocabulary size). Every language's are the ``header.*`` entries of :mod:`rnnlab.lesson.text`.
HEADERS: dict[str, str] = {program: MESSAGES[f"header.{program}"]["en"] for program in PROGRAMS}


def _silent(text: str) -> None:
    pass


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


def train(
    program: str,
    task: Task | None = None,
    *,
    epochs: int = DEFAULT_EPOCHS,
    lr: float | None = None,
    seed: int = DEFAULT_SEED,
    impl: str = "torch",
    shapes: bool = False,
    lang: str | None = "en",
    write: Write = _silent,
) -> LessonResult:
    """Run one program by name (``rnncell``, ``rnn``, ``embedding``, ``lstm``, ``gru``); ``lang``
    None means the locale's language (:func:`~rnnlab.lesson.text.lesson_lang`)."""
    if program not in PROGRAMS:
        raise UserError(f"unknown program {program!r}; choose one of: {', '.join(PROGRAMS)}")
    LessonConfig(program=program, epochs=epochs, seed=seed, lr=lr, impl=impl, shapes=shapes, lang=lang)
    lang = lang or lesson_lang(os.environ)
    task = task or make_task()
    lr = DEFAULT_LR[program] if lr is None else lr
    values = {"lr": lr, "seed": seed, "impl": impl, "input": task.input_word, "target": task.target_word, "idx2char": list(task.idx2char)}
    epochs_text = message("epochs.one" if epochs == 1 else "epochs.many", lang, n=epochs)
    write(f"== {message(f'header.{program}', lang, v=task.vocab_size)} ==\n{message('settings', lang, epochs=epochs_text, **values)}\n")
    result = LessonResult(program, impl, seed, lr, task.input_word, task.target_word)
    if impl == "torch":
        layers = torch.nn
    else:  # torch's init scheme and parameter order, the modules built in the same order: the same losses
        import rnnlab.nn as layers
    with _seeded(seed):
        if program == "rnncell":
            _train_rnncell(task, layers, epochs, lr, shapes, lang, write, result)
        else:
            _train_sequence(program, task, layers, epochs, lr, shapes, lang, write, result)
    return result


def _train_rnncell(task: Task, layers, epochs: int, lr: float, shapes: bool, lang: str, write: Write, result: LessonResult) -> None:
    """Program 1: the hidden state of an ``RNNCell`` is the logits; loss = sum over steps."""
    input_size = hidden_size = task.vocab_size
    batch_size = 1
    one_hot_lookup = torch.eye(input_size).tolist()
    x_one_hot = [one_hot_lookup[x] for x in task.x_data]
    inputs = torch.Tensor(x_one_hot).view(-1, batch_size, input_size)
    labels = torch.LongTensor(list(task.y_data)).view(-1, 1)
    net = RNNCellModel(input_size, hidden_size, batch_size, layers=layers)
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)

    for epoch in range(epochs):
        on = shapes and epoch == 0
        with shapes_shown(net, criterion, write, on, lang) as show:
            show("inputs_one_hot", inputs)
            show("labels_per_step", labels)
            # With --shapes, the first epoch's characters wait until the shape lines are out.
            chars: list[str] = []
            emit = chars.append if on else write
            loss = 0
            optimizer.zero_grad()
            hidden = net.init_hidden()
            show("init_hidden", hidden)
            emit("Predicted string: ")
            predicted = []
            for input, label in zip(inputs, labels):
                hidden = net(input, hidden)
                loss += criterion(hidden, label)
                _, idx = hidden.max(dim=1)
                predicted.append(task.idx2char[idx.item()])
                emit(predicted[-1])
            loss.backward()
            optimizer.step()
        if chars:
            write("".join(chars))
        write(", Epoch [%d/%d] loss=%.4f\n" % (epoch + 1, epochs, loss.item()))
        result.record(epoch + 1, "".join(predicted), loss.item())


def _train_sequence(
    program: str, task: Task, layers, epochs: int, lr: float, shapes: bool, lang: str, write: Write, result: LessonResult
) -> None:
    """Programs 2-5 (they differ only in their model): one forward call over the whole sequence, mean cross-entropy."""
    if program == "rnn":
        input_size = hidden_size = task.vocab_size
        batch_size = 1
        one_hot_lookup = torch.eye(input_size).tolist()
        x_one_hot = [one_hot_lookup[x] for x in task.x_data]
        inputs = torch.Tensor(x_one_hot).view(-1, batch_size, input_size)
        input_name = "inputs_one_hot"
        net: torch.nn.Module = RNNModel(input_size, hidden_size, batch_size, layers=layers)
    else:
        inputs = torch.LongTensor([list(task.x_data)])
        input_name = "inputs_ids"
        cell = "rnn" if program == "embedding" else program
        net = EmbeddingModel(task.vocab_size, task.vocab_size, cell=cell, layers=layers)
    labels = torch.LongTensor(list(task.y_data))
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)

    for epoch in range(epochs):
        with shapes_shown(net, criterion, write, shapes and epoch == 0, lang) as show:
            show(input_name, inputs)
            show("labels", labels)
            optimizer.zero_grad()
            outputs = net(inputs)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()

        _, idx = outputs.max(dim=1)
        idx = idx.data.numpy()
        predicted = "".join([task.idx2char[x] for x in idx])
        write("Predicted:  " + predicted)
        write(", Epoch [%d/%d] loss = %.3f\n" % (epoch + 1, epochs, loss.item()))
        result.record(epoch + 1, predicted, loss.item())


def run_lesson(
    programs: Sequence[str] = PROGRAMS, task: Task | None = None, *, lang: str | None = "en", write: Write = _silent, **kwargs
) -> list[LessonResult]:
    """Run several programs in turn (a blank line between their logs) and end with the table."""
    results = []
    for i, program in enumerate(programs):
        if i:
            write("\n")
        results.append(train(program, task, lang=lang, write=write, **kwargs))
    write("\n" + format_table(results, lang or lesson_lang(os.environ)))
    return results


def run_config(config: LessonConfig, write: Write = _silent) -> list[LessonResult]:
    """What ``rnnlab lesson`` runs: the programs, words and settings of ``config`` (``lang`` None: the locale's)."""
    task = make_task(config.input, config.target)
    programs = PROGRAMS if config.program == "all" else (config.program,)
    kwargs = {name: getattr(config, name) for name in ("epochs", "lr", "seed", "impl", "shapes", "lang")}
    return run_lesson(programs, task, write=write, **kwargs)
