"""What the everyday commands import before they answer: ``--help`` no torch, and none of
``--help``, ``sample``, ``serve`` or the memory estimate before training torch's compiler
(``torch._dynamo``, a second or more of imports that rnnlab never uses). Read from ``python -X
importtime``, which lists every module a process imports; ``benchmarks/startup.py`` times them.

Training itself imports torch._dynamo at the optimizer's first step (torch 2.13's
``Optimizer.step`` does, whatever the optimizer), so there the test is that nothing before it does.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from serve_fixtures import free_port, wait_for_health

from rnnlab.cli import main


def imported(stderr: str) -> set[str]:
    return {line.rsplit("|", 1)[-1].strip() for line in stderr.splitlines() if line.startswith("import time:")}


def run_importtime(*argv: str, cwd: Path) -> set[str]:
    done = subprocess.run([sys.executable, "-X", "importtime", *argv], cwd=cwd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return imported(done.stderr)


@pytest.fixture(scope="module")
def run(tmp_path_factory, text_file_module):
    out = tmp_path_factory.mktemp("startup") / "run"
    assert main(["train", str(text_file_module), "--out", str(out), "--tiny", "--quiet"]) == 0
    return out


@pytest.fixture(scope="module")
def text_file_module(tmp_path_factory):
    p = tmp_path_factory.mktemp("text") / "corpus.txt"
    p.write_text("a quick brown fox jumps over the lazy dog.\n" * 60)
    return p


def test_help_imports_no_torch(tmp_path):
    names = run_importtime("-m", "rnnlab", "--help", cwd=tmp_path)
    assert "rnnlab.cli" in names and "torch" not in names


def test_sample_imports_no_compiler(tmp_path, run):
    names = run_importtime("-m", "rnnlab", "sample", str(run), "--length", "100", "--seed", "0", cwd=tmp_path)
    assert "torch" in names and "rnnlab.sampling" in names
    assert "torch._dynamo" not in names


def test_the_memory_estimate_and_the_model_import_no_compiler(tmp_path):
    """The estimate builds the network on torch's meta device, where torch's initialisers would
    import torch._dynamo; rnnlab skips them there (they fill nothing on meta)."""
    code = (
        "import sys; from rnnlab import memory; from rnnlab.config import ModelConfig, TagModelConfig; "
        "n = memory.param_count(ModelConfig(vocab_size=90)); t = memory.param_count(TagModelConfig(vocab_size=90, out_vocab=90)); "
        "import torch; from rnnlab.model import CharRNN; real = sum(p.numel() for p in CharRNN(ModelConfig(vocab_size=90), 'torch').parameters()); "
        "print(n, real, t, 'torch._dynamo' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    n, real, t, dynamo = done.stdout.split()
    assert n == real and int(t) > 0, done.stdout  # the same count as the network built for real
    assert dynamo == "False"


def test_serve_is_ready_without_the_compiler(tmp_path, run):
    port = free_port()
    cmd = [sys.executable, "-X", "importtime", "-m", "rnnlab", "serve", str(run), "--port", str(port)]
    log = tmp_path / "stderr.txt"  # a file, not a pipe: importtime's lines would fill a pipe and stall it
    with open(log, "w") as err:
        proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=err, text=True)
    try:
        assert wait_for_health(f"http://127.0.0.1:{port}", proc)["status"] == "ok"
    finally:
        proc.terminate()
        proc.wait(60)
    names = imported(log.read_text())
    assert "rnnlab.serve.app" in names and "torch._dynamo" not in names
