"""What a run keeps and how it goes on: a run folder is never replaced unasked (command line or
Python), every run's metrics hold its last validation, a short run under --max-time validates as
it goes, a resume that moves the run's end refits the schedule, a run folder inside the text's
folder is not read as text, and the warm-up fits a short run."""

from __future__ import annotations

import csv
import itertools

import pytest
import torch
from conftest import SMALL, one_line_error

import rnnlab
from rnnlab import checkpoint
from rnnlab.cli import main
from rnnlab.config import ModelConfig, TagTrainConfig, TrainConfig
from rnnlab.errors import UserError
from rnnlab.tag import derive_truecase, train_tagger
from rnnlab.training import schedule

TINY = ModelConfig(layers=1, hidden=16, embed=8)


def rows(run) -> list[dict[str, str]]:
    with open(run / "metrics.csv", newline="") as f:
        return list(csv.DictReader(f))


# ------------------------------------------------------------------------------ never replaced


def test_the_api_refuses_a_finished_run_and_replaces_it_only_when_asked(tmp_path):
    run = tmp_path / "run"
    rnnlab.train_lm(text=SMALL, out=run, model=TINY, config=TrainConfig(max_steps=12, eval_every=6, sample_chars=0))
    before = (run / checkpoint.LAST).read_bytes()
    with pytest.raises(UserError, match="already holds a run"):
        rnnlab.train_lm(text=SMALL, out=run, model=TINY, config=TrainConfig(max_steps=5, sample_chars=0))
    assert (run / checkpoint.LAST).read_bytes() == before  # nothing written
    rnnlab.train_lm(text=SMALL, out=run, model=TINY, config=TrainConfig(max_steps=5, sample_chars=0), overwrite=True)
    assert checkpoint.load(run / checkpoint.LAST).progress.step == 5
    assert [int(r["step"]) for r in rows(run)][-1] == 5  # the old run's metrics went with it

    pairs = [derive_truecase(line) for line in SMALL.title().splitlines()]
    tag = tmp_path / "tag"
    train_tagger(pairs, out=tag, config=TagTrainConfig(max_steps=4, sample_chars=0))
    with pytest.raises(UserError, match="already holds a run"):
        train_tagger(pairs, out=tag, config=TagTrainConfig(max_steps=4, sample_chars=0))
    train_tagger(pairs, out=tag, config=TagTrainConfig(max_steps=3, sample_chars=0), overwrite=True)
    assert checkpoint.load(tag / checkpoint.LAST).progress.step == 3


def test_a_folder_in_training_is_named_as_such(tmp_path, capsys, text_file):
    """Starting a run into a folder that another training holds says so (not "--resume", which
    would fail on the same lock)."""
    from rnnlab.training.rundir import RunFolder

    run = tmp_path / "run"
    assert main(["train", str(text_file), "--out", str(run), "--tiny", "--quiet"]) == 0
    capsys.readouterr()
    with RunFolder(run).lock():
        rc = main(["train", str(text_file), "--out", str(run), "--tiny", "--quiet"])
        one_line_error(capsys, rc, "is in use by another training")


# ------------------------------------------------------------------------------ the last validation


@pytest.mark.parametrize("stop", [["--max-time", "1.5"], ["--max-steps", "17"], ["--epochs", "1"]])
def test_every_run_records_its_last_validation(tmp_path, text_file, stop):
    """Whatever ends it (time, steps, epochs), a run's last row in metrics.csv is a validation of
    its last step, and best.pt holds a validated step."""
    run = tmp_path / "run"
    assert main(["train", str(text_file), "--out", str(run), "--tiny", "--eval-every", "1000", "--quiet", *stop]) == 0
    last = rows(run)[-1]
    ckpt = checkpoint.load(run / checkpoint.LAST)
    assert int(last["step"]) == ckpt.progress.step and last["val_bpc"] and last["train_bpc"], last
    assert ckpt.progress.best_step == ckpt.progress.step or any(
        r["val_bpc"] and int(r["step"]) == ckpt.progress.best_step for r in rows(run)
    )


def test_a_timed_run_validates_at_each_tenth_of_its_budget(tmp_path, text_file):
    """--eval-every 1000 would leave a run of seconds without a validation curve; under
    --max-time it validates about every tenth of the budget (validation here is cheap)."""
    run = tmp_path / "run"
    endless = ["--max-steps", "1000000", "--epochs", "100000", "--eval-every", "1000000"]
    assert main(["train", str(text_file), "--out", str(run), "--tiny", *endless, "--max-time", "4", "--quiet"]) == 0
    validated = [r for r in rows(run) if r["val_bpc"]]
    assert 8 <= len(validated) <= 11, [(r["step"], r["elapsed_s"]) for r in validated]
    times = [float(r["elapsed_s"]) for r in validated[:-1]]  # the last: where the time ran out
    assert all(b - a >= 0.399 for a, b in itertools.pairwise(times)), times  # a tenth of 4 s apart (times rounded to ms)


# ------------------------------------------------------------------------------ training longer


def test_resuming_with_more_steps_refits_the_schedule(tmp_path, capsys, text_file):
    run = tmp_path / "run"
    assert main(["train", str(text_file), "--out", str(run), "--tiny", "--max-steps", "20", "--quiet"]) == 0
    done = checkpoint.load(run / checkpoint.LAST)
    assert done.progress.total_steps == 20
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--max-steps", "60"]) == 0
    err = capsys.readouterr().err
    assert "the cosine schedule is refitted to end at step 60" in err, err
    after = checkpoint.load(run / checkpoint.LAST)
    assert after.progress.step == 60 and after.progress.total_steps == 60
    by_step = {int(r["step"]): float(r["lr"]) for r in rows(run)}
    cfg = after.train_config
    # Past the old end the rate follows the longer cosine, not the floor it had reached (a row's
    # rate is the one its last step took: step 30's is the rate at step index 29).
    assert by_step[30] == pytest.approx(schedule.lr_at(29, cfg, 60), rel=1e-6) and by_step[30] > 2 * cfg.lr * cfg.min_lr_ratio
    assert by_step[60] == pytest.approx(schedule.lr_at(59, cfg, 60), rel=1e-6)


def test_resuming_with_a_constant_schedule_trains_the_rest_at_lr(tmp_path, text_file):
    run = tmp_path / "run"
    assert main(["train", str(text_file), "--out", str(run), "--tiny", "--max-steps", "20", "--quiet"]) == 0
    assert main(["train", "--resume", str(run), "--max-steps", "40", "--schedule", "constant", "--quiet"]) == 0
    lr = checkpoint.load(run / checkpoint.LAST).train_config.lr
    assert {float(r["lr"]) for r in rows(run) if int(r["step"]) > 20} == {lr}


def test_resuming_a_timed_run_with_more_time_refits_and_none_clears_the_limit(tmp_path, capsys, text_file):
    run = tmp_path / "run"
    endless = ["--max-steps", "100000", "--epochs", "1000"]
    assert main(["train", str(text_file), "--out", str(run), "--tiny", *endless, "--max-time", "1", "--quiet"]) == 0
    first = checkpoint.load(run / checkpoint.LAST).progress
    assert first.horizon_fixed
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--max-time", "3"]) == 0
    err = capsys.readouterr().err
    assert "refitted to end at the new time budget" in err, err
    second = checkpoint.load(run / checkpoint.LAST).progress
    assert second.step > first.step and second.total_steps > first.total_steps  # a new end, not the old one
    # --max-time none drops the budget; --max-steps then decides where it ends.
    assert main(["train", "--resume", str(run), "--max-time", "none", "--max-steps", str(second.step + 5), "--quiet"]) == 0
    third = checkpoint.load(run / checkpoint.LAST)
    assert third.train_config.max_time is None and third.progress.step == second.step + 5


def test_none_unsets_only_numbers_that_may_be_unset(capsys):
    from rnnlab.commands.flags import NONE

    assert NONE == "none"
    rc = main(["train", "--hidden", "none", "--print-config"])
    one_line_error(capsys, rc, "--hidden")
    assert main(["train", "--max-steps", "none", "--print-config"]) == 0
    assert "# max_steps: no limit (given)" in capsys.readouterr().out


# ------------------------------------------------------------------------------ the warm-up


def test_the_warm_up_is_at_most_a_tenth_of_the_run():
    cfg = TrainConfig(warmup_steps=100, lr=1e-2)
    assert schedule.warmup(cfg, 61) == 6 and schedule.warmup(cfg, 5000) == 100
    lrs = [schedule.lr_at(s, cfg, 61) for s in range(61)]
    assert lrs[:6] == pytest.approx([1e-2 * (s + 1) / 6 for s in range(6)])  # six steps up to --lr, not a hundred
    assert lrs[6] == pytest.approx(1e-2) and all(a >= b for a, b in itertools.pairwise(lrs[6:])) and lrs[-1] < 2e-3


# ------------------------------------------------------------------------------ runs beside their text


def test_a_run_inside_the_text_folder_resumes(tmp_path, capsys):
    """rnnlab train tx --out tx/run, then --resume: the run folder is not read as text."""
    tx = tmp_path / "tx"
    tx.mkdir()
    (tx / "a.txt").write_text(SMALL)
    run = tx / "run"
    assert main(["train", str(tx), "--out", str(run), "--tiny", "--max-steps", "10", "--quiet"]) == 0
    assert main(["train", "--resume", str(run), "--max-steps", "20", "--quiet"]) == 0
    assert checkpoint.load(run / checkpoint.LAST).progress.step == 20
    capsys.readouterr()
    rc = main(["train", str(run), "--tiny", "--out", str(tmp_path / "other")])
    one_line_error(capsys, rc, "is a run folder, not text")


def test_scoring_nothing_is_an_error_from_python_too(tmp_path):
    lm = rnnlab.train_lm(text=SMALL, model=TINY, config=TrainConfig(max_steps=3, sample_chars=0))
    for text in ("", "日本"):
        with pytest.raises(UserError, match="score"):
            lm.score(text)
    assert lm.score("a quick brown fox") > 0
    text = repr(lm)
    assert text.startswith("rnnlab LanguageModel\n") and "1x16 LSTM" in text and "parameters" in text


def test_the_unknown_symbol_is_never_drawn(tmp_path, capsys):
    """With --min-count, rare characters map to the unknown symbol: it is scored, never written."""
    text = SMALL + "§¶" * 3  # two characters seen fewer than --min-count times
    lm = rnnlab.train_lm(text=text, data=rnnlab.DataConfig(min_count=20), model=TINY, config=TrainConfig(max_steps=3, sample_chars=0))
    assert lm.vocab.unk is not None
    # Make the unknown symbol by far the likeliest: it must still never come out.
    with torch.no_grad():
        lm.model.head.bias[lm.vocab.unk] = 100.0
    for kw in ({}, {"temperature": 2.0}, {"greedy": True}, {"top_k": 1}, {"temperature": 0}):
        out = lm.sample(300, seed=0, **kw)
        assert "\ufffd" not in out, kw
