"""``--shapes``: the shape of every tensor on its way through a lesson model, in the first epoch.

The models are the lecture's and stay untouched: this module watches them from outside, with
``register_forward_pre_hook`` (what a module is called with) and ``register_forward_hook`` (what
it returns) on the model and its submodules, and takes every hook off again when the epoch is
over. Tensors that the program builds itself (``inputs``, ``labels``, ``net.init_hidden()``)
are not module calls; the program shows them with the ``show`` that :func:`shapes_shown` yields.

Each line reads ``  shape of <tensor> (<layout>): <shape>``, e.g.
``  shape of out (seqLen, batchSize, hiddenSize): (5, 1, 4)`` (in Chinese
``  out (seqLen, batchSize, hiddenSize) 的形状：(5, 1, 4)``). Tensors are named by their
``shape.*`` keys in :mod:`rnnlab.lesson.text`, without the prefix (``"out"``, ``"h0"`` ...).
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator

import torch

from rnnlab.lesson.models import EmbeddingModel, RNNCellModel, RNNModel
from rnnlab.lesson.text import message

Write = Callable[[str], object]


def _tensors(value) -> list[torch.Tensor]:
    """The tensors in ``value`` (a tensor, or tuples of them, as RNN arguments and outputs are)."""
    if isinstance(value, torch.Tensor):
        return [value]
    return [t for v in value for t in _tensors(v)]


def _watched(net: torch.nn.Module, criterion: torch.nn.Module) -> list[tuple[torch.nn.Module, bool, list[str | None]]]:
    """The calls of ``net`` (a lesson model), its layers and ``criterion`` that carry the shapes the
    lecture talks about, as ``(module, before, names)``: ``before`` shows what the module is called
    with, else what it returns; one name (a ``shape.*`` key of :mod:`rnnlab.lesson.text`) per tensor,
    in order (nested tuples flattened), None for one not shown; the ``step_*`` names carry the number
    of the call (1 for the first), for program 1's time loop."""
    if isinstance(net, RNNCellModel):
        # Program 1's time loop: net(input, hidden) and criterion(hidden, label) once per step.
        return [(net, True, ["step_input", None]), (net, False, ["step_hidden"]), (criterion, True, [None, "step_label"])]
    if isinstance(net, RNNModel):
        return [(net.rnn, True, [None, "h0"]), (net.rnn, False, ["out", "hn"]), (net, False, ["out_view"])]
    if isinstance(net, EmbeddingModel):
        lstm = net.cell == "lstm"
        return [
            (net.emb, False, ["emb"]),
            (net.rnn, True, [None, "h0", *(["c0"] if lstm else [])]),
            (net.rnn, False, ["rnn_out", "hn", *(["cn"] if lstm else [])]),
            (net.fc, False, ["fc"]),
            (net, False, ["x_view"]),
        ]
    raise TypeError(f"not a lesson model: {type(net).__name__}")


@contextlib.contextmanager
def shapes_shown(
    net: torch.nn.Module, criterion: torch.nn.Module, write: Write, on: bool, lang: str = "en"
) -> Iterator[Callable[..., None]]:
    """While the block runs (one epoch), show shapes through hooks on ``net`` and ``criterion``
    if ``on``, in ``lang``; the hooks are removed when it ends, however it ends. Yields
    ``show(name, tensor)`` (``name``: a ``shape.*`` key without the prefix), which writes one line
    if ``on`` and nothing otherwise; with ``on`` false nothing is hooked."""

    def show(name: str, t: torch.Tensor, step: int = 0) -> None:
        if on:
            write(message("shape", lang, name=message(f"shape.{name}", lang, step=step), shape=tuple(t.shape)) + "\n")

    def hook(names: list[str | None]):
        steps = itertools.count(1)

        def show_all(_module, args, *output):  # a forward hook gets the output as well: show that
            tensors = _tensors(output[0] if output else args)
            step = next(steps)
            if len(tensors) != len(names):
                raise ValueError(f"{len(names)} names for {len(tensors)} tensors")  # a mistake in this module
            for name, t in zip(names, tensors):
                if name is not None:
                    show(name, t, step)

        return show_all

    handles = []
    try:
        for module, before, names in _watched(net, criterion) if on else []:
            handles.append((module.register_forward_pre_hook if before else module.register_forward_hook)(hook(names)))
        yield show
    finally:
        for handle in handles:
            handle.remove()
