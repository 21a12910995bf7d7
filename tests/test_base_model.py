"""The English base model shipped in the package (``src/rnnlab/models/base.pt``, docs/base-model.md).

Checked as a user meets it: its size and vocabulary, ``rnnlab sample base``, ``rnnlab eval base
FILE`` and ``rnnlab.load("base")`` with no run folder, and a fine-tuning start from it. Its
quality is measured by ``benchmarks/finetune_quality.py`` (not here: minutes of training).
"""

import json

import pytest
import torch

import rnnlab
from rnnlab import checkpoint, init_from, runs
from rnnlab.cli import main

TYPOGRAPHIC = "‘’“”–—…•"
ENGLISH = "It is a truth universally acknowledged, that a hacker in possession of a good terminal must be in want of coffee.\n"


@pytest.fixture(scope="module")
def base():
    path = runs.base_model_path()
    if not path.is_file():
        pytest.fail(f"the package has no base model at {path}: it ships with rnnlab")
    return checkpoint.load(path, kind="lm")


def test_size_precision_and_description(base):
    path = runs.base_model_path()
    assert path.stat().st_size <= 10_000_000
    assert all(v.dtype == torch.float16 for k, v in base.weights.items() if v.is_floating_point())
    assert base.optimizer is None  # shipped without its optimizer state: weights only
    assert base.model_config.cell == "lstm" and base.progress.step > 0


def test_vocabulary_covers_what_english_text_uses(base):
    chars = set(base.task.vocab.chars)
    wanted = {chr(c) for c in range(32, 127)} | {chr(c) for c in range(0xA0, 0x100)} | set(TYPOGRAPHIC) | {"\n", "\t"}
    assert wanted <= chars, sorted(wanted - chars)


def test_sample_eval_and_load_need_no_run_folder(base, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no folder named base here: the name is the shipped model's
    assert main(["sample", "base", "--length", "80", "--seed", "0", "--prime", "The "]) == 0
    out = capsys.readouterr().out
    assert out.startswith("The ") and len(out) >= 80
    text = tmp_path / "english.txt"
    text.write_text(ENGLISH * 3)
    assert main(["eval", "base", str(text), "--json"]) == 0
    bpc = json.loads(capsys.readouterr().out)["bpc"]
    assert bpc < 3.0  # English it was trained on reads well (an untrained model: log2(201) = 7.65)
    lm = rnnlab.load("base")
    assert lm.score(ENGLISH * 3) == pytest.approx(bpc, rel=1e-4)
    assert lm.sample(20, seed=1) == lm.sample(20, seed=1)


def test_fine_tuning_from_base_starts_where_base_is(base, tmp_path, capsys):
    text = tmp_path / "mine.txt"
    text.write_text(ENGLISH * 40 + "Ωmega\n")  # one character the base does not know
    out = tmp_path / "ft"
    assert main(["train", str(text), "--init-from", "base", "--out", str(out), "--max-steps", "2", "--eval-every", "2"]) == 0
    assert "started from base" in capsys.readouterr().err
    ckpt = checkpoint.load(out / "last.pt", kind="lm")
    assert ckpt.task.origin["init_from"] == "base" and ckpt.task.origin["new_chars"] == 1
    assert ckpt.model_config.hidden == base.model_config.hidden and ckpt.weights["rnn.weight_hh_l0"].dtype == torch.float32


CHINESE = "循环神经网络用来处理序列数据，比如天气、股市和自然语言。我们先学习RNNCell，再学习RNN和LSTM。\n" * 30


def test_a_chinese_text_fine_tunes_from_base(base, tmp_path):
    text = tmp_path / "zh.txt"
    text.write_text(CHINESE, encoding="utf-8")
    out = tmp_path / "zh"
    flags = ["--init-from", "base", "--out", str(out), "--max-steps", "40", "--eval-every", "40", "--quiet"]
    assert main(["train", str(text), *flags]) == 0
    ckpt = checkpoint.load(out / "last.pt", kind="lm")
    vocab = ckpt.task.vocab
    assert set(CHINESE) <= set(vocab.chars) and vocab.chars[: len(base.task.vocab)] == base.task.vocab.chars
    start = init_from.read("base")
    before = rnnlab.LanguageModel(start.model(vocab), vocab).score(CHINESE[:200])
    after = rnnlab.load(out, which="last").score(CHINESE[:200])
    assert after < before - 5, (before, after)  # the new characters' rows learned
