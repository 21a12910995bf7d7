"""Runs written by earlier rnnlab (checkpoint format versions 1 and 2, tests/data/legacy/) still
sample, predict, report and resume; a resumed run is written in today's format."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

import rnnlab
from rnnlab import checkpoint
from rnnlab.cli import main
from rnnlab.tag import load_tagger

LEGACY = Path(__file__).resolve().parent / "data" / "legacy"
TEXT = LEGACY / "text.txt"


@pytest.fixture(params=["v1", "v2"])
def legacy(request, tmp_path):
    """A copy of the old run folders (resuming writes into them)."""
    out = tmp_path / request.param
    shutil.copytree(LEGACY / request.param, out)
    return out


def test_old_language_models_load_sample_and_score(legacy, capsys):
    old = torch.load(legacy / "lm" / "last.pt", weights_only=True)
    assert old["version"] == int(legacy.name[1]) and "vocab" in old and "task" not in old
    ckpt = checkpoint.load(legacy / "lm" / "last.pt", kind="lm")
    assert ckpt.data.source == "files" and ckpt.data.sha256 is None and ckpt.progress.step == 4
    # Version 1 knew only torch.nn's layers; version 2's "auto" GRU trained on the fused one.
    assert ckpt.backend == ("torch" if legacy.name == "v1" else "fused")
    lm = rnnlab.load(legacy / "lm")
    assert lm.sample(20, prime="the ", seed=0).startswith("the ") and lm.score("the cat sat") > 0
    assert main(["sample", str(legacy / "lm"), "--length", "10", "--seed", "1"]) == 0
    assert len(capsys.readouterr().out) >= 10


def test_old_taggers_predict(legacy, capsys):
    tagger = load_tagger(legacy / "tag")
    assert tagger.max_len == 200 and len(tagger.predict("the end")) == len("the end")
    assert main(["tag", "predict", str(legacy / "tag"), "a dog"]) == 0
    assert len(capsys.readouterr().out.rstrip("\n")) == len("a dog")


@pytest.mark.parametrize("kind, command", [("lm", ["train"]), ("tag", ["tag", "train"])])
def test_old_runs_resume_in_todays_format(legacy, capsys, kind, command):
    run = legacy / kind
    # The files these runs were trained on were on another machine: give the text again.
    assert main([*command, "--resume", str(run), str(TEXT), "--max-steps", "8", "--quiet"]) == 0, capsys.readouterr().err
    new = torch.load(run / "last.pt", weights_only=True)
    assert new["version"] == checkpoint.VERSION and new["progress"]["step"] == 8
    assert new["data"]["sha256"] and new["backend"]
    assert new["train_config"]["optimizer"] == "adam"  # resumed with the optimiser it was trained with
    if kind == "tag":  # and with the model it was: characters only, no word dropout, the last lines held out
        assert new["model_config"]["word_buckets"] == 0 and new["model_config"]["word_dropout"] == 0
        assert new["train_config"]["val_lines"] == "last"
    # Now the run keeps its text's hash: another text, even of the same length, is refused.
    other = legacy / "other.txt"
    other.write_text(TEXT.read_text().replace("cat", "dog"))
    capsys.readouterr()
    assert main([*command, "--resume", str(run), str(other), "--max-steps", "9", "--quiet"]) == 2
    assert "differs from the one this run was trained on" in capsys.readouterr().err


def test_an_old_run_reports(legacy, tmp_path):
    from rnnlab.report import build_report

    report = build_report(legacy / "lm", text="the cat sat on the mat")
    assert report.data["meta"]["step"] == 4 and "<html" in report.html.lower()


def test_format_6_taggers_keep_training_without_word_dropout(tmp_path, capsys):
    """Format 6 taggers had word rows but no word dropout: they load (and resume) without it."""
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("".join(f"{line.lower()}\t{line}\n" for line in TEXT.read_text().splitlines()[:30]))
    run = tmp_path / "run"
    assert main(["tag", "train", str(pairs), "--out", str(run), "--max-steps", "4", "--hidden", "8", "--quiet"]) == 0
    for name in ("last.pt", "best.pt"):
        raw = torch.load(run / name, weights_only=True)
        assert raw["model_config"]["word_dropout"] == 1.0
        del raw["model_config"]["word_dropout"]
        torch.save({**raw, "version": 6}, run / name)
    assert checkpoint.load(run / "last.pt").model_config.word_dropout == 0
    assert main(["tag", "train", "--resume", str(run), str(pairs), "--max-steps", "6", "--quiet"]) == 0, capsys.readouterr().err
    new = torch.load(run / "last.pt", weights_only=True)
    assert new["version"] == checkpoint.VERSION and new["model_config"]["word_dropout"] == 0 and new["progress"]["step"] == 6


def test_format_8_taggers_resume_with_the_epochs_and_dropout_they_had(tmp_path, capsys):
    """Before format 9 an unset --epochs meant 20 (raised to reach 300 steps) whatever the text's
    size, and the checkpoint kept None: a resumed run keeps that schedule, and its dropout."""
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("".join(f"{line.lower()}\t{line}\n" for line in TEXT.read_text().splitlines()[:30]))
    run = tmp_path / "run"
    # 30 lines, 1 held out, 29 in batches of 2: 15 steps per epoch, so 20 epochs reach 300 steps.
    args = ["--batch-size", "2", "--hidden", "8", "--quiet"]
    assert main(["tag", "train", str(pairs), "--out", str(run), "--max-steps", "4", *args]) == 0
    raw = torch.load(run / "last.pt", weights_only=True)
    assert raw["train_config"]["epochs"] == 30 and raw["model_config"]["dropout"] == 0.3  # today's for a small text
    torch.save(
        {
            **raw,
            "version": 8,
            "train_config": {**raw["train_config"], "epochs": None},
            "model_config": {**raw["model_config"], "dropout": 0.0},
        },
        run / "last.pt",
    )
    assert checkpoint.load(run / "last.pt").train_config.epochs == 20
    assert main(["tag", "train", "--resume", str(run), str(pairs), "--max-steps", "6", "--quiet"]) == 0, capsys.readouterr().err
    new = torch.load(run / "last.pt", weights_only=True)
    assert new["version"] == checkpoint.VERSION and new["progress"]["step"] == 6
    assert new["train_config"]["epochs"] == 20 and new["model_config"]["dropout"] == 0.0
