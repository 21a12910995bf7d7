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


def test_the_chart_is_drawn_at_the_end_and_at_most_every_chart_every_seconds(tmp_path, monkeypatch):
    """A short run draws loss.png once, at its end (a draw costs a fraction of a second); with
    no interval it would be drawn at every evaluation too."""
    from rnnlab.training import loop
    from rnnlab.training.rundir import RunFolder

    drawn = []
    real = RunFolder.write_chart
    monkeypatch.setattr(RunFolder, "write_chart", lambda self: drawn.append(1) or real(self))
    train(tmp_path / "short", io.StringIO(), quiet=True)  # evaluations at steps 15 and 30
    assert len(drawn) == 1 and (tmp_path / "short" / "loss.png").is_file()
    drawn.clear()
    monkeypatch.setattr(loop, "CHART_EVERY", 0.0)
    train(tmp_path / "every", io.StringIO(), quiet=True)
    assert len(drawn) == 3  # at both evaluations, then at the end
