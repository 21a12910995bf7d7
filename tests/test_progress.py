"""What a training shows while it runs: tqdm's bar on a terminal, plain lines in a log, and loss.png."""

from __future__ import annotations

import io

import torch

from rnnlab.commands.progress import ProgressDisplay
from rnnlab.config import ModelConfig, TrainConfig
from rnnlab.data import corpus_from_text
from rnnlab.training import LMTask, Trainer

TEXT = "to be or not to be, that is the question. " * 40


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def train(tmp_path, stream, quiet=False):
    task = LMTask(
        corpus_from_text(TEXT),
        ModelConfig(layers=1, hidden=8, embed=4),
        TrainConfig(batch_size=4, seq_len=8, max_steps=30, eval_every=15, sample_chars=12, seed=0),
    )
    hooks = ProgressDisplay(quiet, "batch 4 x seq 8", {}, stream=stream)
    Trainer(task, run_dir=tmp_path, hooks=hooks).run()
    return stream.getvalue()


def test_a_terminal_gets_tqdms_bar_with_the_evaluations_above_it(tmp_path):
    out = train(tmp_path, Terminal())
    assert "\r" in out and "step 30/30 |" in out and "char/s" in out  # the bar, redrawn in place
    assert "step 15: validation" in out and "  | " in out  # an evaluation and its sample
    assert out.index("model: 1x8 LSTM") < out.index("step 30/30")  # the summary comes first


def test_a_log_file_gets_plain_lines(tmp_path):
    out = train(tmp_path, io.StringIO())
    assert "\r" not in out and "\x1b" not in out
    assert "corpus: " in out and "step 30/30 | loss " in out.splitlines()[-1]


def test_quiet_shows_nothing_and_the_chart_is_a_png(tmp_path):
    assert train(tmp_path, Terminal(), quiet=True) == ""
    png = (tmp_path / "loss.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    assert torch.load(tmp_path / "last.pt", weights_only=True)["progress"]["step"] == 30
