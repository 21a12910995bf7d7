"""``--shapes``: the shape of every tensor on its way through a lesson model, in the first epoch.

The models are the lecture's and stay untouched: this module watches them from outside, with
``register_forward_pre_hook`` (what a module is called with) and ``register_forward_hook`` (what
it returns) on the model and its submodules, and takes every hook off again when the epoch is
over. Tensors that the program builds itself (``inputs``, ``labels``, ``net.init_hidden()``)
are not module calls; the program shows them with the ``show`` that :func:`shapes_shown` yields.

Each line reads ``  shape of <tensor> (<layout>): <shape>``, e.g.
``  shape of out (seqLen, batchSize, hiddenSize): (5, 1, 4)``.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator

import torch

from rnnlab.lesson.models import EmbeddingModel, RNNCellModel, RNNModel

Write = Callable[[str], object]

H0 = "hidden h_0 (numLayers, batchSize, hiddenSize)"
C0 = "cell c_0 (numLayers, batchSize, hiddenSize)"
HN = "h_n (numLayers, batchSize, hiddenSize)"
CN = "c_n (numLayers, batchSize, hiddenSize)"


def _tensors(value) -> list[torch.Tensor]:
    """The tensors in ``value`` (a tensor, or tuples of them, as RNN arguments and outputs are)."""
    if isinstance(value, torch.Tensor):
        return [value]
    return [t for v in value for t in _tensors(v)]


def _watched(net: torch.nn.Module, criterion: torch.nn.Module) -> list[tuple[torch.nn.Module, bool, list[str | None]]]:
    """The calls of ``net`` (a lesson model), its layers and ``criterion`` that carry the shapes the
    lecture talks about, as ``(module, before, names)``: ``before`` shows what the module is called
    with, else what it returns; one name per tensor, in order (nested tuples flattened), None for
    one not shown; ``{step}`` is the number of the call (1 for the first), for program 1's time loop."""
    if isinstance(net, RNNCellModel):
        # Program 1's time loop: net(input, hidden) and criterion(hidden, label) once per step.
        return [
            (net, True, ["input at step {step} (batchSize, inputSize)", None]),
            (net, False, ["hidden = logits at step {step} (batchSize, hiddenSize)"]),
            (criterion, True, [None, "label at step {step} (batchSize,)"]),
        ]
    if isinstance(net, RNNModel):
        return [
            (net.rnn, True, [None, H0]),
            (net.rnn, False, ["out (seqLen, batchSize, hiddenSize)", HN]),
            (net, False, ["outputs = out.view(-1, hiddenSize) (seqLen*batchSize, hiddenSize)"]),
        ]
    if isinstance(net, EmbeddingModel):
        lstm = net.cell == "lstm"
        return [
            (net.emb, False, ["emb(x) (batchSize, seqLen, embeddingSize)"]),
            (net.rnn, True, [None, H0, *([C0] if lstm else [])]),
            (net.rnn, False, ["rnn out (batchSize, seqLen, hiddenSize)", HN, *([CN] if lstm else [])]),
            (net.fc, False, ["fc(x) (batchSize, seqLen, numClass)"]),
            (net, False, ["outputs = x.view(-1, numClass) (batchSize*seqLen, numClass)"]),
        ]
    raise TypeError(f"not a lesson model: {type(net).__name__}")


@contextlib.contextmanager
def shapes_shown(net: torch.nn.Module, criterion: torch.nn.Module, write: Write, on: bool) -> Iterator[Callable[[str, torch.Tensor], None]]:
    """While the block runs (one epoch), show shapes through hooks on ``net`` and ``criterion``
    if ``on``; the hooks are removed when it ends, however it ends. Yields ``show(name, tensor)``,
    which writes one line if ``on`` and nothing otherwise; with ``on`` false nothing is hooked."""

    def show(name: str, t: torch.Tensor) -> None:
        if on:
            write(f"  shape of {name}: {tuple(t.shape)}\n")

    def hook(names: list[str | None]):
        steps = itertools.count(1)

        def show_all(_module, args, *output):  # a forward hook gets the output as well: show that
            tensors = _tensors(output[0] if output else args)
            step = next(steps)
            if len(tensors) != len(names):
                raise ValueError(f"{len(names)} names for {len(tensors)} tensors")  # a mistake in this module
            for name, t in zip(names, tensors):
                if name is not None:
                    show(name.format(step=step), t)

        return show_all

    handles = []
    try:
        for module, before, names in _watched(net, criterion) if on else []:
            handles.append((module.register_forward_pre_hook if before else module.register_forward_hook)(hook(names)))
        yield show
    finally:
        for handle in handles:
            handle.remove()
