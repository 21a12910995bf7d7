"""Each step of rnnlab.migrations on a real file of the format it reads (tests/data/legacy/vN, one
per format before 10), and the format's policy: a field with a default may be missing from a file,
and the reader fills the default."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest
import torch

import rnnlab
from rnnlab import checkpoint, migrations
from rnnlab.errors import UserError

LEGACY = Path(__file__).resolve().parent / "data" / "legacy"
FIXTURES = sorted((int(p.parts[-3][1:]), p.parts[-2]) for p in LEGACY.glob("v*/*/last.pt"))


def raw(version: int, kind: str) -> dict:
    return torch.load(LEGACY / f"v{version}" / kind / "last.pt", weights_only=True)


def load(version: int, kind: str) -> checkpoint.Checkpoint:
    return checkpoint.load(LEGACY / f"v{version}" / kind / "last.pt", kind=kind)


def test_every_older_format_has_real_files_of_its_version():
    assert {v for v, _ in FIXTURES} == set(range(checkpoint.MIN_VERSION, checkpoint.VERSION)) and checkpoint.VERSION == 10
    assert {k for v, k in FIXTURES if v <= 5} == {"lm", "tag"} and all((v, "lm") in FIXTURES for v in range(1, 6))
    for version, kind in FIXTURES:
        d = raw(version, kind)
        assert (d["version"], d["kind"]) == (version, kind) and "written_by" not in d
        assert (LEGACY / f"v{version}" / kind / "last.pt").stat().st_size < 100_000


@pytest.mark.parametrize("kind", ["lm", "tag"])
def test_format_1_trained_in_fp32(kind):
    d = raw(1, kind)
    assert "precision" not in d["train_config"]
    assert migrations.STEPS[1](d)["train_config"]["precision"] == "fp32"


def test_format_2_flat_files_take_the_typed_layout():
    lm, tag = migrations.STEPS[2](raw(2, "lm")), migrations.STEPS[2](raw(2, "tag"))
    for d in (lm, tag):
        assert {"data_config", "data", "backend", "task"} <= d.keys() and d["data"]["source"] == "files"
        assert d["data"]["sha256"] is None and d["data"]["paths"] and d["progress"]["step"] == 4
    assert set(lm["task"]) == {"vocab", "carried_state"} and lm["backend"] == "fused"  # its "auto" GRU trained on the fused layer
    assert tag["model_config"]["vocab_size"] == 17 and "in_vocab" not in tag["model_config"]
    assert "seq_len" not in tag["train_config"] and tag["task"]["order"] is not None and tag["data_config"]["derive"] == "truecase"
    assert migrations.upgrade(raw(1, "lm"), 1)["backend"] == "torch"  # format 1 knew torch.nn's layers alone


@pytest.mark.parametrize("kind", ["lm", "tag"])
def test_format_3_trained_with_adam_and_format_4_keeps_its_optimizer(kind):
    assert "optimizer" not in raw(3, kind)["train_config"]
    assert migrations.STEPS[3](raw(3, kind))["train_config"]["optimizer"] == "adam" and load(3, kind).train_config.optimizer == "adam"
    assert load(4, kind).train_config.optimizer == "adamw"


@pytest.mark.parametrize("kind", ["lm", "tag"])
def test_format_4_started_from_random_weights(kind):
    """Format 5 added where the weights started; a format-4 file reads as a run from random weights."""
    d = raw(4, kind)
    assert "init_from" not in d["train_config"] and "origin" not in d["task"] and 4 not in migrations.STEPS
    ckpt = load(4, kind)
    assert ckpt.train_config.init_from is None and ckpt.task.origin is None


def test_format_5_taggers_read_characters_only():
    d = raw(5, "tag")
    assert "word_buckets" not in d["model_config"] and rnnlab.config.TagModelConfig.word_buckets > 0
    assert migrations.STEPS[5](d)["model_config"]["word_buckets"] == 0 and load(5, "tag").model_config.word_buckets == 0
    lm = raw(5, "lm")
    assert migrations.STEPS[5](lm) is lm  # the step is the tagger's


def test_format_6_word_rows_trained_without_word_dropout():
    d = raw(6, "tag")
    assert d["model_config"]["word_buckets"] == 64 and "word_dropout" not in d["model_config"]
    assert migrations.STEPS[6](d)["model_config"]["word_dropout"] == 0
    ckpt = load(6, "tag")
    assert (ckpt.model_config.word_buckets, ckpt.model_config.word_dropout) == (64, 0)


def test_format_7_taggers_held_out_the_last_lines():
    d = raw(7, "tag")
    assert "val_lines" not in d["train_config"] and "best_error" not in d["progress"]
    assert migrations.STEPS[7](d)["train_config"]["val_lines"] == "last"
    ckpt = load(7, "tag")
    assert ckpt.train_config.val_lines == "last" and ckpt.model_config.word_dropout == 1.0
    assert ckpt.progress.best_error == math.inf  # none yet: the next evaluation becomes the best
    assert load(8, "tag").train_config.val_lines == "spread"


def test_format_8_taggers_keep_the_epochs_an_unset_flag_gave():
    """Unset, --epochs meant 20 passes, raised to reach 300 steps; the file kept None."""
    d = raw(8, "tag")
    assert d["train_config"]["epochs"] is None and d["model_config"]["dropout"] == 0.0 and len(d["task"]["order"]) == 38
    assert migrations.STEPS[8](d)["train_config"]["epochs"] == 20  # 38 lines in batches of 2: 19 steps a pass
    few_steps = {**d, "train_config": {**d["train_config"], "batch_size": 8}}  # 5 steps a pass: 60 passes reach 300 steps
    assert migrations.STEPS[8](few_steps)["train_config"]["epochs"] == 60
    given = {**d, "train_config": {**d["train_config"], "epochs": 3}}
    assert migrations.STEPS[8](given)["train_config"]["epochs"] == 3
    ckpt = load(8, "tag")
    assert (ckpt.train_config.epochs, ckpt.model_config.dropout) == (20, 0.0)


def test_format_9_files_need_no_step_and_keep_what_the_size_chose():
    d = raw(9, "tag")
    assert migrations.upgrade(d, 9) is d and (d["train_config"]["epochs"], d["model_config"]["dropout"]) == (30, 0.3)
    ckpt = load(9, "tag")
    assert (ckpt.train_config.epochs, ckpt.model_config.dropout, ckpt.written_by) == (30, 0.3, "unknown")


def test_the_steps_run_in_order_from_a_files_format():
    d = migrations.upgrade(raw(1, "tag"), 1)
    assert {k: d["train_config"][k] for k in ("precision", "optimizer", "val_lines", "epochs")} == {
        "precision": "fp32",
        "optimizer": "adam",
        "val_lines": "last",
        "epochs": 20,
    }
    assert (d["model_config"]["word_buckets"], d["model_config"]["word_dropout"]) == (0, 0)


def test_a_broken_old_file_is_one_line(tmp_path):
    d = raw(2, "lm")
    del d["vocab"]
    torch.save(d, tmp_path / "last.pt")
    with pytest.raises(UserError, match=r"\(format version 2\) has a broken description \(KeyError: 'vocab'\)"):
        checkpoint.load(tmp_path / "last.pt")


def test_format_10_records_its_writer_and_fills_every_missing_default(tmp_path):
    """The policy: adding a field with a default keeps the format, since a reader fills the
    default where a file lacks it. Every defaulted setting and progress field is taken out here."""
    path = tmp_path / "last.pt"
    checkpoint.save(path, load(9, "tag"))
    d = torch.load(path, weights_only=True)
    ckpt = checkpoint.load(path)
    assert (d["version"], d["written_by"], ckpt.written_by) == (10, rnnlab.__version__, rnnlab.__version__)
    dropped = {}
    for section in ("model_config", "train_config", "data_config", "progress"):
        for f in dataclasses.fields(getattr(ckpt, section)):
            if f.default is not dataclasses.MISSING and d[section][f.name] != f.default:
                dropped[section, f.name] = f.default
                del d[section][f.name]
    del d["written_by"], d["task"]["origin"]
    torch.save(d, path)
    again = checkpoint.load(path)
    assert {s for s, _ in dropped} >= {"model_config", "train_config", "progress"} and ("train_config", "epochs") in dropped
    assert {(s, name): getattr(getattr(again, s), name) for s, name in dropped} == dropped
    assert again.written_by == "unknown" and again.task.origin is None
