"""``--shapes``: the shape of every tensor on its way through a lesson model, in the first epoch.

The models are the lecture's and stay untouched: this module watches them from outside, with
``register_forward_pre_hook`` (what a module is called with) and ``register_forward_hook`` (what
it returns) on the model and its submodules, and takes every hook off again when the epoch is
over. Tensors that the program builds itself (``inputs``, ``labels``, ``net.init_hidden()``)
are not module calls; the program shows them with :meth:`ShapePrinter.show`.

Each line reads ``  shape of <tensor> (<layout>): <shape>``, e.g.
``  shape of out (seqLen, batchSize, hiddenSize): (5, 1, 4)``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence

import torch

from rnnlab.lesson.models import EmbeddingModel, RNNCellModel, RNNModel

Write = Callable[[str], object]
#: One name per tensor a hook sees, in order (nested tuples flattened); None: not shown.
#: ``{step}`` is replaced by the number of the call (1 for the first), for program 1's time loop.
Names = Sequence[str | None]


def _tensors(value) -> list[torch.Tensor]:
    """The tensors in ``value`` (a tensor, or tuples of them, as RNN arguments and outputs are)."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in _tensors(v)]
    return []


class ShapePrinter:
    """Writes one line per tensor shape; :meth:`before` and :meth:`after` hook modules, and
    :meth:`remove` takes every hook off. A printer that is not ``on`` shows and hooks nothing."""

    def __init__(self, write: Write, on: bool = True):
        self.write = write
        self.on = on
        self._handles: list[torch.utils.hooks.RemovableHandle] = []

    def show(self, name: str, t: torch.Tensor) -> None:
        if self.on:
            self.write(f"  shape of {name}: {tuple(t.shape)}\n")

    def _show_all(self, names: Names, value, step: int) -> None:
        tensors = _tensors(value)
        if len(tensors) != len(names):
            raise ValueError(f"{len(names)} names for {len(tensors)} tensors")  # a mistake in this module
        for name, t in zip(names, tensors):
            if name is not None:
                self.show(name.format(step=step), t)

    def before(self, module: torch.nn.Module, *names: str | None) -> None:
        """Show the tensors ``module`` is called with, named ``names``, at every call."""
        if self.on:
            calls = [0]

            def pre_hook(_module, args):
                calls[0] += 1
                self._show_all(names, args, calls[0])

            self._handles.append(module.register_forward_pre_hook(pre_hook))

    def after(self, module: torch.nn.Module, *names: str | None) -> None:
        """Show the tensors ``module`` returns, named ``names``, at every call."""
        if self.on:
            calls = [0]

            def hook(_module, _args, output):
                calls[0] += 1
                self._show_all(names, output, calls[0])

            self._handles.append(module.register_forward_hook(hook))

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()


H0 = "hidden h_0 (numLayers, batchSize, hiddenSize)"
C0 = "cell c_0 (numLayers, batchSize, hiddenSize)"
HN = "h_n (numLayers, batchSize, hiddenSize)"
CN = "c_n (numLayers, batchSize, hiddenSize)"


def watch(printer: ShapePrinter, net: torch.nn.Module, criterion: torch.nn.Module) -> None:
    """Hook the calls of ``net`` (a lesson model), its layers and ``criterion`` that carry the
    shapes the lecture talks about."""
    if isinstance(net, RNNCellModel):
        # Program 1's time loop: net(input, hidden) and criterion(hidden, label) once per step.
        printer.before(net, "input at step {step} (batchSize, inputSize)", None)
        printer.after(net, "hidden = logits at step {step} (batchSize, hiddenSize)")
        printer.before(criterion, None, "label at step {step} (batchSize,)")
    elif isinstance(net, RNNModel):
        printer.before(net.rnn, None, H0)
        printer.after(net.rnn, "out (seqLen, batchSize, hiddenSize)", HN)
        printer.after(net, "outputs = out.view(-1, hiddenSize) (seqLen*batchSize, hiddenSize)")
    elif isinstance(net, EmbeddingModel):
        lstm = net.cell == "lstm"
        printer.after(net.emb, "emb(x) (batchSize, seqLen, embeddingSize)")
        printer.before(net.rnn, None, H0, *([C0] if lstm else []))
        printer.after(net.rnn, "rnn out (batchSize, seqLen, hiddenSize)", HN, *([CN] if lstm else []))
        printer.after(net.fc, "fc(x) (batchSize, seqLen, numClass)")
        printer.after(net, "outputs = x.view(-1, numClass) (batchSize*seqLen, numClass)")
    else:
        raise TypeError(f"not a lesson model: {type(net).__name__}")


@contextlib.contextmanager
def shapes_shown(net: torch.nn.Module, criterion: torch.nn.Module, write: Write, on: bool) -> Iterator[ShapePrinter]:
    """While the block runs (one epoch), show shapes through hooks on ``net`` and ``criterion``
    if ``on``; the hooks are removed when it ends, however it ends."""
    printer = ShapePrinter(write, on)
    try:
        watch(printer, net, criterion)
        yield printer
    finally:
        printer.remove()
