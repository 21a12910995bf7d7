"""``rnnlab export --to onnx``: the graph, run in ONNX Runtime, against rnnlab's one-step runner
and sampler, for every cell and stack option; the example program; the command line."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import onnxruntime
import pytest
import torch
from conftest import one_line_error, train_tiny

from rnnlab import cells
from rnnlab.cli import main
from rnnlab.config import ExportConfig, ModelConfig
from rnnlab.data import UNK_DISPLAY, Vocab
from rnnlab.export import onnx as onnx_export
from rnnlab.lm import LanguageModel
from rnnlab.model import CharRNN
from rnnlab.stepper import Stepper

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "onnx_generate.py"
LETTERS = "\n etaoinshrdlucmfwypvbgkjqxz."
PROMPT = "a neat tin is in a tent"  # in every case's vocabulary

# Tiny models whose sizes differ from each other in every case (vocabulary, layers, hidden,
# embedding, MLP width, batch), so that a mixed-up axis cannot go unseen. name: (settings, vocabulary size).
CASES = {
    "lstm": ({"cell": "lstm", "layers": 2, "hidden": 7, "embed": 5}, 11),
    "gru": ({"cell": "gru", "layers": 3, "hidden": 6, "embed": 4}, 13),
    "rnn": ({"cell": "rnn", "layers": 2, "hidden": 9, "embed": 3}, 12),
    "mingru": ({"cell": "mingru", "layers": 2, "hidden": 5, "embed": 6}, 14),
    "minlstm": ({"cell": "minlstm", "layers": 3, "hidden": 4, "embed": 7}, 10),
    # the block stack: pre-norm, residual connections, MLPs, tied output
    "lstm-blocks": ({"cell": "lstm", "layers": 2, "hidden": 8, "norm": "rms", "residual": True, "mlp": 3, "tie": True}, 13),
    "gru-blocks": ({"cell": "gru", "layers": 3, "hidden": 7, "norm": "layer", "residual": True, "mlp": 2}, 11),
    "rnn-blocks": ({"cell": "rnn", "layers": 2, "hidden": 6, "norm": "rms", "residual": True, "tie": True}, 9),
    "mingru-blocks": ({"cell": "mingru", "layers": 2, "hidden": 9, "norm": "layer", "residual": True, "mlp": 4, "tie": True}, 12),
    "minlstm-blocks": ({"cell": "minlstm", "layers": 2, "hidden": 5, "norm": "rms", "residual": True, "mlp": 3}, 14),
    # options alone
    "lstm-one-hot": ({"cell": "lstm", "layers": 2, "hidden": 6, "one_hot": True}, 10),
    "gru-norm": ({"cell": "gru", "layers": 2, "hidden": 7, "embed": 5, "norm": "layer"}, 12),
    "rnn-tie": ({"cell": "rnn", "layers": 3, "hidden": 6, "embed": 6, "tie": True}, 11),
}


def tiny(name: str) -> tuple[CharRNN, Vocab]:
    """The model of ``CASES[name]`` with random weights, and its vocabulary (the LSTM's with an
    unknown symbol, which the graph's users must never draw)."""
    settings, size = CASES[name]
    torch.manual_seed(sorted(CASES).index(name))
    model = CharRNN(ModelConfig(vocab_size=size, **settings)).eval()
    if name != "lstm":
        return model, Vocab(tuple(LETTERS[:size]))
    with torch.no_grad():
        model.head.bias[0] += 1.0  # the unknown symbol the likeliest often: a sampler that draws it is seen
    return model, Vocab((UNK_DISPLAY, *LETTERS[: size - 1]), unk=0)


def export(model: CharRNN, vocab: Vocab, out: Path, **settings) -> Path:
    """``out`` as ``rnnlab export --to onnx`` writes it from a language-model checkpoint of ``vocab``."""
    out.mkdir()
    onnx_export.write(SimpleNamespace(kind="lm", task=SimpleNamespace(vocab=vocab)), model, out, ExportConfig(**settings))
    return out


class Graph:
    """The exported step in ONNX Runtime, carrying its own state like a program that uses it."""

    def __init__(self, out: Path):
        self.about = json.loads((out / "vocab.json").read_text(encoding="utf-8"))
        self.session = onnxruntime.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
        self.state = {s["name"]: np.zeros(s["shape"], np.float32) for s in self.about["states"]}

    def __call__(self, ids: torch.Tensor) -> torch.Tensor:
        logits, *new = self.session.run(None, {"ids": ids.numpy(), **self.state})
        self.state = {s["name"]: v for s, v in zip(self.about["states"], new)}
        return torch.from_numpy(logits)


def load_example():
    spec = importlib.util.spec_from_file_location("onnx_generate", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Each case's model, vocabulary and export (made once, on first use)."""
    made = {}

    def get(name: str):
        if name not in made:
            model, vocab = tiny(name)
            made[name] = (model, vocab, export(model, vocab, tmp_path_factory.mktemp(name) / "out"))
        return made[name]

    return get


def test_every_cell_has_a_case():
    assert set(cells.CELLS) <= {settings["cell"] for settings, _ in CASES.values()}


@pytest.mark.parametrize("name", CASES)
def test_logits_and_state_equal_the_stepper_for_300_steps_after_a_prime(exported, name):
    model, vocab, out = exported(name)
    graph, step = Graph(out), Stepper(model)
    prime, _ = vocab.encode(PROMPT)
    ids = torch.cat([prime, torch.randint(len(vocab), (300,), generator=torch.Generator().manual_seed(0))])
    worst = 0.0
    for i in ids:
        got, want = graph(i[None]), step(i[None])  # (1, V) each
        worst = max(worst, float((got - want).abs().max()))
    assert worst <= 1e-4
    want = step.state()
    for s, w in zip(graph.about["states"], want if isinstance(want, tuple) else (want,)):
        torch.testing.assert_close(torch.from_numpy(graph.state[s["name"]]), w, atol=1e-4, rtol=0)


@pytest.mark.parametrize("name", CASES)
def test_the_example_writes_what_rnnlab_writes_greedily(exported, name, capsys):
    model, vocab, out = exported(name)
    prompt = PROMPT + ("Z" if vocab.unk is not None else "")  # Z: no such character, read as the unknown symbol
    assert load_example().main([str(out), prompt, "--length", "500"]) == 0
    assert capsys.readouterr().out == LanguageModel(model, vocab).sample(500, prime=prompt, greedy=True) + "\n"


def test_the_graph_says_its_inputs_and_outputs_and_vocab_json_says_the_same(exported):
    _, vocab, out = exported("lstm")
    about = json.loads((out / "vocab.json").read_text(encoding="utf-8"))
    assert about["chars"] == list(vocab.chars) and about["unk"] == 0 and about["newline"] == vocab.stoi["\n"] and about["batch"] == 1
    assert about["states"] == [{"name": "h", "shape": [2, 1, 7], "next": "h_next"}, {"name": "c", "shape": [2, 1, 7], "next": "c_next"}]
    session = onnxruntime.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    assert [(i.name, i.shape, i.type) for i in session.get_inputs()] == [
        ("ids", [1], "tensor(int64)"),
        ("h", [2, 1, 7], "tensor(float)"),
        ("c", [2, 1, 7], "tensor(float)"),
    ]
    assert [(o.name, o.shape) for o in session.get_outputs()] == [("logits", [1, 11]), ("h_next", [2, 1, 7]), ("c_next", [2, 1, 7])]
    assert [s["name"] for s in json.loads((exported("gru")[2] / "vocab.json").read_text())["states"]] == ["h"]


@pytest.mark.parametrize("name", ["lstm-blocks", "minlstm"])
def test_a_batch_of_rows_steps_each_row_as_the_stepper_does(tmp_path, name, capsys):
    model, vocab = tiny(name)
    out = export(model, vocab, tmp_path / "out", batch=3)
    graph, step = Graph(out), Stepper(model, batch_size=3)
    assert all(s["shape"][1] == 3 for s in graph.about["states"])
    rows = torch.randint(len(vocab), (50, 3), generator=torch.Generator().manual_seed(1))  # (T, B): a different text per row
    for ids in rows:
        torch.testing.assert_close(graph(ids), step(ids), atol=1e-4, rtol=0)
    assert load_example().main([str(out), PROMPT, "--length", "100"]) == 0
    want = LanguageModel(model, vocab).sample(100, prime=PROMPT, greedy=True)
    assert capsys.readouterr().out == "\n\n".join([want] * 3) + "\n"


def test_float16_weights_halve_the_file_and_stay_close(tmp_path):
    torch.manual_seed(0)
    model = CharRNN(ModelConfig(vocab_size=12, cell="gru", layers=2, hidden=96, norm="layer", residual=True, mlp=2)).eval()
    vocab = Vocab(tuple(LETTERS[:12]))  # weights large enough to outweigh the graph's description
    full = export(model, vocab, tmp_path / "full")
    half = export(model, vocab, tmp_path / "half", dtype="float16")
    assert (half / "model.onnx").stat().st_size < 0.6 * (full / "model.onnx").stat().st_size
    assert json.loads((half / "vocab.json").read_text())["model"]["dtype"] == "float16"
    graph, step = Graph(half), Stepper(model)
    for i in vocab.encode(PROMPT * 4)[0]:
        torch.testing.assert_close(graph(i[None]), step(i[None]), atol=1e-2, rtol=0)


def test_the_example_starts_an_empty_prompt_from_a_newline_and_samples_with_a_seed(exported, capsys):
    model, vocab, out = exported("rnn")
    example = load_example()
    assert example.main([str(out), "", "--length", "200"]) == 0
    assert capsys.readouterr().out == LanguageModel(model, vocab).sample(200, greedy=True) + "\n"
    texts = []
    for seed in (1, 1, 2):
        assert example.main([str(out), "", "--length", "200", "--seed", str(seed)]) == 0
        texts.append(capsys.readouterr().out)
    assert texts[0] == texts[1] != texts[2] and all(len(t) == 201 and set(t) <= set(vocab.chars) for t in texts)


# ------------------------------------------------------------------------------ the command line


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return train_tiny(tmp_path_factory.mktemp("onnx-run"), 30)


def example_alone(out: Path, prompt: str, tmp_path: Path) -> str:
    """The example's greedy text from another Python, where torch and rnnlab cannot be imported."""
    blocked = tmp_path / "blocked"
    blocked.mkdir(exist_ok=True)
    for name in ("torch", "rnnlab"):
        (blocked / f"{name}.py").write_text("raise ImportError('the example runs on onnxruntime and numpy only')\n")
    r = subprocess.run(
        [sys.executable, str(EXAMPLE), str(out), prompt, "--length", "500"],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(blocked), "PATH": "/usr/bin:/bin"},
    )
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.mark.parametrize("source", ["tiny", "base"])
def test_the_command_exports_a_run_and_the_example_continues_it_as_rnnlab_does(run, tmp_path, capsys, source):
    import rnnlab

    where = str(run) if source == "tiny" else "base"
    out = tmp_path / "onnx"
    assert main(["export", where, "--to", "onnx", str(out)]) == 0
    assert "model.onnx, vocab.json" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["model.onnx", "vocab.json"]
    prompt = "the quick" if source == "tiny" else "The meaning of"
    assert example_alone(out, prompt, tmp_path) == rnnlab.load(where).sample(500, prime=prompt, greedy=True) + "\n"


def test_a_tagger_is_refused_in_one_line(tmp_path, capsys):
    (tmp_path / "pairs.tsv").write_text("hello world\tHello World\nunix is fun\tUNIX is fun\n")
    tagger = tmp_path / "tagger"
    assert main(["tag", "train", str(tmp_path / "pairs.tsv"), "--out", str(tagger), "--tiny", "--quiet", "--max-steps", "2"]) == 0
    capsys.readouterr()
    one_line_error(capsys, main(["export", str(tagger), "--to", "onnx", str(tmp_path / "out")]), "language models")
    assert not (tmp_path / "out").exists()
