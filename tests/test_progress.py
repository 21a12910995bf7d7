"""What a training shows while it runs: tqdm's bar on a terminal, plain lines in a log, and loss.png."""

from __future__ import annotations

import gc
import io
import os

import pytest
import torch

from rnnlab.commands.progress import ProgressDisplay
from rnnlab.config import ModelConfig, TrainConfig
from rnnlab.data import corpus_from_text
from rnnlab.training import LMTask, Trainer

TEXT = "to be or not to be, that is the question. " * 40


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def tiny_task() -> LMTask:
    return LMTask(
        corpus_from_text(TEXT),
        ModelConfig(layers=1, hidden=8, embed=4),
        TrainConfig(batch_size=4, seq_len=8, max_steps=30, eval_every=15, sample_chars=12, seed=0),
    )


def train(tmp_path, stream, quiet=False):
    hooks = ProgressDisplay(quiet, "batch 4 x seq 8", {}, stream=stream)
    Trainer(tiny_task(), run_dir=tmp_path, hooks=hooks).run()
    return stream.getvalue()


def drawn(out: str, step: str) -> list[str]:
    """Every drawing of the bar at ``step`` ("30/30") in what a terminal received."""
    return [part.rstrip("\n") for part in out.split("\r") if part.startswith(f"step {step} |")]


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


def test_the_loss_follows_the_bar_with_no_stray_comma(tmp_path):
    """tqdm's postfix field starts with ", "; the status goes in a field that adds nothing."""
    (bar,) = drawn(train(tmp_path, Terminal()), "30/30")[-1:]
    assert "| loss " in bar and "| ," not in bar and ", loss" not in bar


def test_a_step_past_the_estimated_total_keeps_a_full_bar_not_a_question_mark():
    """Under --max-time the total is the schedule's estimate, which a run may pass; tqdm would
    show such a count as "40/?" with an empty bar."""
    stream = Terminal()
    trainer = Trainer(tiny_task(), hooks=(hooks := ProgressDisplay(False, "b", stream=stream)))
    hooks.on_start(trainer)
    trainer.progress.step, trainer.progress.total_steps = 40, 30
    hooks.on_step(trainer, {"train_bpc": 2.0, "chars_per_s": 100.0})
    hooks.on_end(trainer, {})
    out = stream.getvalue()
    assert "40/?" not in out
    bars = [bar.split("|")[1] for bar in drawn(out, "40/40")]
    assert bars and all(len(bar) > 10 and " " not in bar for bar in bars)  # full, not empty

    log = io.StringIO()  # a log gets a line every 10 seconds there too, not one at each report
    trainer = Trainer(tiny_task(), hooks=(hooks := ProgressDisplay(False, "b", stream=log)))
    hooks.on_start(trainer)
    for step in (40, 50, 60):
        trainer.progress.step, trainer.progress.total_steps = step, 30
        hooks.on_step(trainer, {"train_bpc": 2.0, "chars_per_s": 100.0})
    assert [line.split(" | ")[0] for line in log.getvalue().splitlines() if line.startswith("step ")] == ["step 40/40"]


def test_a_terminal_that_reports_no_size_gets_an_80_column_bar(tmp_path, monkeypatch):
    """A pty nobody sized (some containers, CI runners) reports 0 x 0; tqdm would then draw nothing."""

    class Unsized(Terminal):
        def fileno(self) -> int:
            return 2  # os.get_terminal_size is replaced below: only that it has a descriptor matters

    monkeypatch.setattr("os.get_terminal_size", lambda fd=None: os.terminal_size((0, 0)))
    bars = drawn(train(tmp_path, Unsized()), "30/30")
    assert bars and all(len(bar) == 79 for bar in bars)  # 80 columns less the last, as tqdm leaves it


def test_nothing_of_the_bar_is_drawn_after_the_run_ends():
    """close() (on_end calls it) leaves the bar and ends its line; and a run that ends in an
    error, which never reaches on_end, does not have its bar drawn again below the error when
    the bar is collected."""
    task = tiny_task()
    loss, calls = task.loss, []

    def failing(model, chunk):
        calls.append(chunk)
        if len(calls) > 12:
            raise RuntimeError("a failure mid-run")
        return loss(model, chunk)

    task.loss = failing
    stream = Terminal()
    trainer = Trainer(task, hooks=(hooks := ProgressDisplay(False, "b", stream=stream)))
    with pytest.raises(RuntimeError):
        trainer.run()
    stream.write("rnnlab train: error: the last line\n")  # as the command line prints it
    del trainer, hooks
    gc.collect()
    out = stream.getvalue()
    assert "/30 |" in out and out.split("the last line\n")[1].strip() == ""  # the bar drawn, then only cleared

    stream = Terminal()
    hooks = ProgressDisplay(False, "b", stream=stream)
    Trainer(tiny_task(), hooks=hooks).run()  # on_end closes the bar
    hooks.close()  # a second close, as a caller's own, adds nothing
    hooks.write("done")
    out = stream.getvalue()
    assert out.endswith("]\ndone\n") and "step 30/30 |" in out.split("\r")[-1]


def test_sample_num_draws_a_bar_on_a_terminal_and_nothing_in_a_log(tmp_path, monkeypatch, capsys):
    """Several samples end together, so a bar shows the drawing; one sample streams instead."""
    from rnnlab.cli import main

    train(tmp_path, io.StringIO(), quiet=True)
    for stderr, num, bar in ((Terminal(), 3, True), (io.StringIO(), 3, False), (Terminal(), 1, False)):
        monkeypatch.setattr("sys.stderr", stderr)
        assert main(["sample", str(tmp_path), "--num", str(num), "--length", "40", "--seed", "0"]) == 0
        assert ("drawing 3 samples" in stderr.getvalue() and "/40 [" in stderr.getvalue()) == bar, stderr.getvalue()
        assert stderr.getvalue() == "" or bar  # a log or a pipe gets no carriage returns
        assert capsys.readouterr().out.count("--- sample") == (num if num > 1 else 0)
