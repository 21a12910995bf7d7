"""Runs written by earlier rnnlab (checkpoint formats 1 to 9, tests/data/legacy/vN) still sample,
predict, report and resume; a resumed run is written in format 10. What each migration step gives
an old file is checked in test_migrations.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

import rnnlab
from rnnlab import checkpoint, settings
from rnnlab.cli import main
from rnnlab.tag import load_tagger

LEGACY = Path(__file__).resolve().parent / "data" / "legacy"
TEXT = LEGACY / "text.txt"
RUNS = sorted(str(p.parent.relative_to(LEGACY)) for p in LEGACY.glob("v*/*/last.pt"))  # "v1/lm" ... "v9/tag"
LMS = [r for r in RUNS if r.endswith("/lm")]  # v1 to v5: formats 6 to 9 changed the tagger alone
TAGGERS = [r for r in RUNS if r.endswith("/tag")]  # v1 to v9


@pytest.mark.parametrize("run", LMS)
def test_old_language_models_load_sample_and_score(run, capsys):
    old = torch.load(LEGACY / run / "last.pt", weights_only=True)
    assert old["version"] == int(run[1]) and ("task" in old) == (old["version"] >= 3)
    ckpt = checkpoint.load(LEGACY / run / "last.pt", kind="lm")
    assert ckpt.data.source == "files" and (ckpt.data.sha256 is None) == (old["version"] < 3) and ckpt.progress.step == 4
    # Version 2's "auto" GRU trained on the fused layer; every other one is an LSTM on torch.nn's.
    assert ckpt.backend == ("fused" if run == "v2/lm" else "torch") and ckpt.written_by == "unknown"
    lm = rnnlab.load(LEGACY / run)
    assert lm.sample(20, prime="the ", seed=0).startswith("the ") and lm.score("the cat sat") > 0
    assert main(["sample", str(LEGACY / run), "--length", "10", "--seed", "1"]) == 0
    assert len(capsys.readouterr().out) >= 10


@pytest.mark.parametrize("run", TAGGERS)
def test_old_taggers_predict(run, capsys):
    tagger = load_tagger(LEGACY / run)
    assert tagger.max_len == 200 and len(tagger.predict("the end")) == len("the end")
    assert main(["tag", "predict", str(LEGACY / run), "a dog"]) == 0
    assert len(capsys.readouterr().out.rstrip("\n")) == len("a dog")


@pytest.mark.parametrize("run", RUNS)
def test_old_runs_resume_in_format_10(run, tmp_path, capsys):
    shutil.copytree(LEGACY / run, tmp_path / run)  # resuming writes into the run folder
    legacy, run = tmp_path / run.split("/")[0], tmp_path / run
    command = ["train"] if run.name == "lm" else ["tag", "train"]
    old = checkpoint.load(run / "last.pt")
    # The files these runs were trained on were on another machine: give the text again.
    assert main([*command, "--resume", str(run), str(TEXT), "--max-steps", "8", "--quiet"]) == 0, capsys.readouterr().err
    new = torch.load(run / "last.pt", weights_only=True)
    assert (new["version"], new["written_by"], new["progress"]["step"]) == (10, rnnlab.__version__, 8)
    assert new["data"]["sha256"] and new["backend"] == old.backend
    # Resumed with the settings it was trained with, as the migration gave them (test_migrations.py).
    assert new["model_config"] == settings.to_dict(old.model_config)
    assert {**new["train_config"], "max_steps": 4} == settings.to_dict(old.train_config)
    # Now the run keeps its text's hash: another text, even of the same length, is refused.
    other = legacy / "other.txt"
    other.write_text(TEXT.read_text().replace("cat", "dog"))
    capsys.readouterr()
    assert main([*command, "--resume", str(run), str(other), "--max-steps", "9", "--quiet"]) == 2
    assert "differs from the one this run was trained on" in capsys.readouterr().err


@pytest.mark.parametrize("run", LMS)
def test_an_old_run_reports(run):
    from rnnlab.report import build_report

    report = build_report(LEGACY / run, text="the cat sat on the mat")
    assert report.data["meta"]["step"] == 4 and "<html" in report.html.lower()
