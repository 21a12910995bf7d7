"""How exercise 9 (``training_loop``) runs and compares: program 1's model in float64, the
configurations, the lecture's loop with known mistakes (:func:`loop`), the student's ``train`` run
with its printed lines captured (``redirect_stdout``), and the three checks (the losses and final
weights, the epoch the target is first printed, the printed lines). Exercise 9's entry, skeleton and
variants are in :mod:`.training_loop`.
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from rnnlab.exercise.compare import F64, SEED, TOL, Case, Prepared, advice, describe, match, same
from rnnlab.exercise.core import Context, Failed, Msg, msg
from rnnlab.exercise.run import one_line, where
from rnnlab.lesson.models import RNNCellModel
from rnnlab.lesson.task import DEFAULT_SEED, make_task

REF = msg("ref.loop")  # "the lecture's loop", in the report's language
TARGET = "train"


class Model(RNNCellModel):
    """Program 1's model in float64: ``init_hidden`` gives float64 zeros."""

    def init_hidden(self):
        return torch.zeros(self.batch_size, self.hidden_size, dtype=F64)


@dataclass(frozen=True)
class Setup:
    """A configuration: the input words and the target words (one of each per sequence of the
    batch), the epochs, the learning rate, and the seed the model's initial weights are drawn with."""

    words: tuple[str, ...]
    targets: tuple[str, ...]
    epochs: int
    lr: float
    seed: int

    def data(self) -> tuple[Tensor, Tensor, list[str]]:
        """inputs (T, B, D) one-hot float64, labels (T, B), idx2char; the lecture's from make_task."""
        if len(self.words) == 1:  # the lecture's: one vocabulary for both words
            task = make_task(self.words[0], self.targets[0])
            x_chars = y_chars = task.idx2char
        else:  # an input alphabet and an output alphabet of their own: all sizes differ
            x_chars, y_chars = sorted(set("".join(self.words))), sorted(set("".join(self.targets)))
        x_ids = torch.tensor([[x_chars.index(c) for c in w] for w in self.words]).T  # (T, B)
        labels = torch.tensor([[y_chars.index(c) for c in w] for w in self.targets]).T  # (T, B)
        return torch.eye(len(x_chars), dtype=F64)[x_ids], labels, list(y_chars)

    def model(self) -> Model:
        inputs, _, idx2char = self.data()
        with torch.random.fork_rng(devices=[]):  # program 1 draws its model first after the seed
            torch.manual_seed(self.seed)
            return Model(inputs.shape[2], len(idx2char), inputs.shape[1]).to(F64)

    def describe(self) -> Msg:
        inputs, _, idx2char = self.data()
        (t, b, d), h = inputs.shape, len(idx2char)
        data = f"{', '.join(map(repr, self.words))} -> {', '.join(map(repr, self.targets))}"
        return msg("case.training", data=data, sizes=f"T={t}, B={b}, D={d}, H={h}", epochs=self.epochs, lr=self.lr)


LECTURE = Setup(("hello",), ("ohlol",), 15, 0.1, DEFAULT_SEED)
SETUPS = (LECTURE, Setup(("dog", "cat"), ("ant", "bun"), 6, 0.05, SEED))


@dataclass(frozen=True)
class Loose:
    """An expected line whose loss may be printed in any format: the line up to ``Epoch [e/E]``
    as it is, then a number that rounds like ``loss``."""

    head: str
    loss: float

    def fits(self, line: str) -> bool:
        m = re.search(r"[-+]?\d+(?:\.(\d*))?(?:[eE][-+]?\d+)?", line[len(self.head) :])
        if not line.startswith(self.head) or m is None:
            return False
        step = 10.0 ** -len(m[1] or "") if "e" not in m[0].lower() else abs(self.loss) * 1e-3
        return abs(float(m[0]) - self.loss) <= step / 2 + 1e-9


def fits(got: list[str], want: list[str | Loose]) -> bool:
    return len(got) == len(want) and all(w.fits(g) if isinstance(w, Loose) else g == w for g, w in zip(got, want))


@dataclass
class Trace:
    """What a training run did: the losses and the final weights (``outputs``), and the lines printed."""

    outputs: dict[str, Tensor]
    lines: list[Any]


def loop(options: Mapping[str, Any], net, inputs, labels, idx2char, epochs, lr, write) -> list[float]:
    """Program 1's loop as the lecture writes it (``rnnlab.lesson.programs``), or with the mistakes
    ``options`` name; the lines go to ``write``."""
    epochs = options.get("epochs", epochs)
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    losses, hidden = [], None
    for epoch in range(epochs):
        if options.get("zero_grad", True):
            optimizer.zero_grad()
        hidden = net.init_hidden() if hidden is None or "hidden" not in options else hidden
        hidden = hidden.detach() if options.get("hidden") == "detached" else hidden
        loss, steps, chars = 0, 0, []
        for input, label in zip(inputs, labels):
            before, hidden = hidden, net(input, hidden)
            step = criterion(hidden, label)
            loss += step.item() if options.get("loss") == "item" else step
            steps += 1
            _, idx = (before if options.get("predict") == "before" else hidden).max(dim=1)
            chars.append(idx2char[idx.item() if options.get("char") == "item" else idx[0].item()])
        loss = loss / steps if options.get("loss") == "mean" else loss
        if options.get("step") == "before":
            optimizer.step()
        loss.backward()
        if "step" not in options:
            optimizer.step()
        head = f"Predicted string: {''.join(chars)}, Epoch [{epoch + options.get('epoch_from', 1)}/{options.get('total', epochs)}]"
        write(Loose(head, loss.item()) if options.get("format") else f"{head} loss={loss.item():.4f}")
        losses.append(loss.item())
    return losses


def _outputs(losses: list[float] | Tensor, net: torch.nn.Module) -> dict[str, Tensor]:
    return {"losses": torch.as_tensor(losses, dtype=F64).reshape(-1)} | {f"net.{k}": p.detach() for k, p in net.named_parameters()}


def reference(options: Mapping[str, Any], setup: Setup) -> Trace:
    """The lecture's loop (with ``options``' mistakes) on a fresh copy of ``setup``'s model."""
    net, (inputs, labels, idx2char), lines = setup.model(), setup.data(), []
    losses = loop(options, net, inputs, labels, idx2char, setup.epochs, setup.lr, lines.append)
    return Trace(_outputs(losses, net), lines)


def _reference(ctx: Context, index: int) -> Trace:
    if ("reference", index) not in ctx.cache:
        ctx.cache["reference", index] = reference({}, SETUPS[index])
    return ctx.cache["reference", index]


def _losses(raw: Any) -> list[float] | None:
    """The per-epoch losses returned: a list or tuple of numbers or one-element tensors, or a tensor."""
    if isinstance(raw, Tensor) and raw.dim() <= 1:
        return raw.detach().to(F64).reshape(-1).tolist()
    if isinstance(raw, (list, tuple)) and all(isinstance(x, (int, float)) or (isinstance(x, Tensor) and x.numel() == 1) for x in raw):
        return [float(x.detach()) if isinstance(x, Tensor) else float(x) for x in raw]
    return None


def _diagnose(ctx: Context, index: int, got: Trace | BaseException) -> tuple[str, ...]:
    """The variants whose run on configuration ``index`` gives the student's losses, weights and
    lines (or raises the student's error), one or two at once."""

    def behaves_like(options: Mapping[str, Any]) -> bool:
        try:
            out = reference(options, SETUPS[index])
        except Exception as e:
            return isinstance(got, BaseException) and type(e) is type(got) and str(e) == str(got)
        return isinstance(got, Trace) and same(got.outputs, out.outputs) and fits(got.lines, out.lines)

    return match(ctx.exercise.variants, behaves_like)  # pairs for errors too: no zero_grad + step first raises


def student(ctx: Context, index: int) -> Trace:
    """The student's function on a fresh copy of configuration ``index``'s model, its prints captured."""
    key = ("student", index)
    if key not in ctx.cache:
        setup, net = SETUPS[index], SETUPS[index].model()
        inputs, labels, idx2char = setup.data()
        printed = io.StringIO()
        try:
            with contextlib.redirect_stdout(printed):
                raw = ctx.target(net, inputs, labels, idx2char, setup.epochs, setup.lr)
        except Exception as e:
            tensors = {"inputs": inputs, "labels": labels} | {f"net.{k}": p.detach() for k, p in net.named_parameters()}
            diagnosis = _diagnose(ctx, index, e)
            hint = None if diagnosis or "inplace" in str(e) else advice(e, Prepared(None, {}, {}, {}, tensors), Case(()))
            hint = msg("advice.init_hidden") if hint == msg("advice.dtype") else hint
            why = msg("fail.raised", call=TARGET, error=one_line(e))
            raise Failed(why, case=setup.describe(), diagnosis=diagnosis, advice=hint, where=where(e, ctx.files)) from None
        losses = _losses(raw)
        if losses is None:
            raise Failed(msg("fail.structure", call=TARGET, got=describe(raw), ref=REF, want="list[float]"), case=setup.describe())
        lines = [line.rstrip() for line in printed.getvalue().splitlines() if line.strip()]
        ctx.cache[key] = Trace(_outputs(losses, net), lines)
    return ctx.cache[key]


def check_losses(ctx: Context) -> Msg:
    for index, setup in enumerate(SETUPS):
        got, want = student(ctx, index), _reference(ctx, index)
        if same(got.outputs, want.outputs):
            continue
        mine, right = got.outputs["losses"].tolist(), want.outputs["losses"].tolist()
        if len(mine) != len(right):
            why = [msg("fail.epochs", call=TARGET, got=len(mine), ref=REF, want=len(right))]
        else:
            why = [
                msg("fail.epoch_loss", epoch=e, got=a, want=b, ref=REF)
                for e, (a, b) in enumerate(zip(mine, right), 1)
                if abs(a - b) > TOL["atol"] + TOL["rtol"] * abs(b)
            ][:1]
            for name, w in want.outputs.items():
                diff = (got.outputs[name] - w).abs()
                if name != "losses" and not torch.allclose(got.outputs[name], w, **TOL):
                    at = [int(i) for i in torch.unravel_index(diff.argmax(), diff.shape)]
                    why.append(msg("fail.value", name=name, diff=float(diff.max()), index=str(at), ref=REF))
        diagnosis = _diagnose(ctx, index, got)
        raise Failed(*why, case=setup.describe(), diagnosis=diagnosis, advice=None if diagnosis else msg("advice.training"))
    return msg("covered.cases", n=len(SETUPS))


def check_printed(ctx: Context, index: int) -> None:
    """Raise the failure of configuration ``index``'s printed lines, the first that differs shown."""
    got, want = student(ctx, index).lines, _reference(ctx, index).lines
    if fits(got, want):
        return
    at = next((i for i, (g, w) in enumerate(zip(got, want)) if g != w), min(len(got), len(want)))
    mine, right = (lines[at] if at < len(lines) else msg("line.none") for lines in (got, want))
    diagnosis = _diagnose(ctx, index, student(ctx, index))
    hint = msg("advice.print_end") if "".join(got) == "".join(want) else msg("advice.printed")
    why = (msg("fail.line", epoch=at + 1, ref=REF), msg("fail.line_got", line=mine), msg("fail.line_want", line=right))
    raise Failed(*why, case=SETUPS[index].describe(), diagnosis=diagnosis, advice=None if diagnosis else hint)


def check_reached(ctx: Context) -> Msg:
    target = re.compile(rf"\b{re.escape(LECTURE.targets[0])}\b")

    def first(lines: list[str]) -> int | None:
        return next((e for e, line in enumerate(lines, 1) if target.search(line)), None)

    got, want = first(student(ctx, 0).lines), first(_reference(ctx, 0).lines)
    assert want is not None
    if got != want:
        if len(student(ctx, 0).lines) != LECTURE.epochs:  # the lines are not one per epoch: say how they differ
            check_printed(ctx, 0)
        values = {"target": repr(LECTURE.targets[0]), "got": got, "want": want, "ref": REF, "epochs": LECTURE.epochs}
        why = msg("fail.not_reached" if got is None else "fail.reached_at", **values)
        raise Failed(why, case=LECTURE.describe(), diagnosis=_diagnose(ctx, 0, student(ctx, 0)), advice=msg("advice.printed"))
    return msg("covered.reached", target=repr(LECTURE.targets[0]), epoch=want, epochs=LECTURE.epochs)


def check_lines(ctx: Context) -> Msg:
    for index in range(len(SETUPS)):
        check_printed(ctx, index)
    return msg("covered.cases", n=len(SETUPS))
