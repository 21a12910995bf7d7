"""``rnnlab export --to onnx``: one step of a language model as an ONNX graph, the state explicit.

An ONNX Runtime session keeps nothing between calls, so the graph takes the previous characters'
ids and every layer's state and returns the logits and the new state; the program that runs it
carries the state from one call to the next. ``OUT/model.onnx`` (batch fixed at ``--batch``):

    inputs   ids (B,) int64, h (L, B, H) float32, and c (L, B, H) for the LSTM
    outputs  logits (B, V), h_next (L, B, H), and c_next for the LSTM

``OUT/vocab.json`` holds the characters in id order, the unknown symbol's id (never to be drawn),
the newline's id (where generation with no prompt starts), and each state's name, shape and
output, so that a program can build the zero state.

The graph is the one-step runner (:class:`rnnlab.stepper.Stepper`) traced: layer 0's projection
table, the transposed matrices and the cells' step functions, in plain ops (Gather, Gemm,
Sigmoid, Tanh ...). ``nn.LSTM``'s sequence kernels never reach the exporter (torch.export of
``nn.LSTM`` with variable lengths fails: pytorch issues 115092 and 126339). The exporter is
torch.export's, ``torch.onnx.export(..., dynamo=True)`` (onnxscript): torch's default and
maintained one, which runs the stepper's Python with the prepared tensors as constants. The
TorchScript exporter (``dynamo=False``) is deprecated and refuses those tensors (they alias
parameters that require grad).

With ``--dtype float16`` the weights are stored in float16 and cast to float32 where they are
read: half the file, float32 arithmetic (ONNX Runtime's CPU kernels for float16 are few).
Before the folder is handed out, ONNX Runtime runs the graph beside the stepper for a few steps.
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import onnxscript  # noqa: F401 (torch's exporter needs it: a missing one is the command's "needs its extra")
import torch

from rnnlab import cells
from rnnlab.config import ExportConfig
from rnnlab.errors import UserError
from rnnlab.model import CharRNN
from rnnlab.stepper import Stepper

OUTPUT = "folder"
CHECK_STEPS = 8  # steps of the graph checked against the stepper at export


class OneStep(torch.nn.Module):
    """The stepper with its state as arguments and results: ids (B,) and each state (L, B, H) ->
    logits (B, V) and each new state (L, B, H)."""

    def __init__(self, model: CharRNN, batch: int):
        super().__init__()
        self.stepper = Stepper(model, batch_size=batch, numpy=False)

    def forward(self, ids: torch.Tensor, *state: torch.Tensor) -> tuple[torch.Tensor, ...]:
        step = self.stepper
        step.states = [tuple(s[layer] for s in state) for layer in range(len(step.layers))]  # per layer, (B, H) each
        logits = step(ids)
        new = step.state()
        return logits, *(new if isinstance(new, tuple) else (new,))


def states(model: CharRNN, batch: int) -> list[dict]:
    """Each state input of the graph: its name, shape and the output that holds its next value."""
    cfg = model.cfg
    return [{"name": n, "shape": [cfg.layers, batch, cfg.hidden], "next": f"{n}_next"} for n in cells.get(cfg.cell).states]


def save_graph(model: CharRNN, path: Path, batch: int = 1, dtype: str = "float32") -> list[dict]:
    """Write one step of ``model`` at ``batch`` rows to ``path``, check it with ONNX Runtime, and
    return its states (:func:`states`)."""
    step = OneStep(model.eval(), batch).eval()
    kinds = states(model, batch)
    zeros = tuple(torch.zeros(s["shape"]) for s in kinds)
    ids = torch.zeros(batch, dtype=torch.long)
    names = [s["name"] for s in kinds]
    log = logging.getLogger("torch.onnx")
    level = log.level
    log.setLevel(logging.ERROR)  # the exporter logs and warns of what this graph does not use (torchvision's operators)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = torch.onnx.export(
                step,
                (ids, *zeros),
                dynamo=True,
                verbose=False,
                input_names=["ids", *names],
                output_names=["logits", *(s["next"] for s in kinds)],
            )
    finally:
        log.setLevel(level)
    proto = program.model_proto
    if dtype == "float16":
        _half(proto)
    onnx.save(proto, path)
    _check(path, model, batch, kinds, 1e-4 if dtype == "float32" else 1e-2)
    return kinds


def _half(proto: onnx.ModelProto) -> None:
    """Store the float32 weights of ``proto`` as float16, each cast back to float32 where it is read."""
    graph = proto.graph
    casts = []
    for t in graph.initializer:
        if t.data_type == onnx.TensorProto.FLOAT:
            name = t.name
            t.CopyFrom(onnx.numpy_helper.from_array(onnx.numpy_helper.to_array(t).astype(np.float16), f"{name}.float16"))
            casts.append(onnx.helper.make_node("Cast", [t.name], [name], to=onnx.TensorProto.FLOAT))
    nodes = casts + list(graph.node)  # the casts first: a node reads only what is made before it
    del graph.node[:]
    graph.node.extend(nodes)


def _check(path: Path, model: CharRNN, batch: int, kinds: list[dict], tolerance: float) -> None:
    """Run the written graph in ONNX Runtime beside the stepper for ``CHECK_STEPS`` greedy steps;
    logits further apart than ``tolerance`` (relative to the largest) are a bug in the export."""
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    step = Stepper(model, batch_size=batch, numpy=False)
    ids = torch.arange(batch) % model.cfg.vocab_size  # (B,)
    feeds = {"ids": ids.numpy(), **{s["name"]: np.zeros(s["shape"], np.float32) for s in kinds}}
    for _ in range(CHECK_STEPS):
        logits, *new = session.run(None, feeds)
        want = step(ids).numpy()  # (B, V)
        if not np.abs(logits - want).max() <= tolerance * max(1.0, np.abs(want).max()):
            raise RuntimeError(f"the ONNX graph's logits differ from rnnlab's by {np.abs(logits - want).max():.3g}")
        ids = torch.from_numpy(want.argmax(-1))  # (B,)
        feeds = {"ids": ids.numpy(), **{s["name"]: v for s, v in zip(kinds, new)}}


def write(ckpt, model: CharRNN, out: Path, cfg: ExportConfig) -> str:
    """``out/model.onnx`` and ``out/vocab.json`` (the module docstring says what they hold)."""
    if ckpt.kind != "lm":
        raise UserError(f"{ckpt.source} is a tagger, which reads its text in both directions: --to onnx exports language models")
    vocab, mcfg = ckpt.task.vocab, model.cfg
    dtype = cfg.dtype or "float32"
    kinds = save_graph(model, out / "model.onnx", cfg.batch, dtype)
    about = {
        "chars": list(vocab.chars),
        "unk": vocab.unk,
        "newline": vocab.stoi.get("\n"),
        "batch": cfg.batch,
        "ids": "ids",
        "logits": "logits",
        "states": kinds,
        "model": {"cell": mcfg.cell, "layers": mcfg.layers, "hidden": mcfg.hidden, "dtype": dtype},
    }
    (out / "vocab.json").write_text(json.dumps(about, ensure_ascii=False) + "\n", encoding="utf-8")
    return f"one step of a {mcfg.layers}x{mcfg.hidden} {mcfg.cell.upper()} at batch {cfg.batch} ({dtype}): model.onnx, vocab.json"
