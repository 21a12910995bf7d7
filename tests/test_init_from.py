"""``--init-from``: a new run from a trained model's weights, its vocabulary grown for a new text.

The extension is checked against what it promises, computed independently from the source's
own logits: the new characters together take exactly a thousandth of the rarest known
character's probability at every position, so a known character's log-probability drops by
exactly ``log(1 + p_rare / 1000)``.
"""

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from conftest import SMALL, one_line_error

import rnnlab
from rnnlab import checkpoint, init_from, runs
from rnnlab.cli import main
from rnnlab.config import TrainConfig
from rnnlab.data import UNK_DISPLAY, Vocab, corpus_from_text
from rnnlab.errors import UserError
from rnnlab.init_from import extend_vocab
from rnnlab.model import CharRNN
from rnnlab.settings import replace, to_dict

NEW_TEXT = "the quick brown fox, QUIZZED: 'why?' — jumps!\n" * 40  # capitals, punctuation, a dash: not in SMALL


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A small trained run on SMALL (seconds), the model every test starts from."""
    folder = tmp_path_factory.mktemp("src")
    (folder / "small.txt").write_text(SMALL)
    out = folder / "run"
    assert main(["train", str(folder / "small.txt"), "--out", str(out), "--tiny", "--quiet"]) == 0
    return out


def test_extend_vocab_keeps_the_source_ids_and_appends_the_rest():
    src = Vocab(tuple("abc"))
    grown = extend_vocab(src, Vocab(tuple("Zbcd")))
    assert grown.chars == ("a", "b", "c", "Z", "d") and grown.unk is None
    assert extend_vocab(src, Vocab(tuple("cab"))).chars == src.chars  # nothing new: the same vocabulary
    with_unk = extend_vocab(src, Vocab((UNK_DISPLAY, "a", "x"), unk=0))  # the text has characters under min_count
    assert with_unk.chars == ("a", "b", "c", "x", UNK_DISPLAY) and with_unk.unk == 4
    keeps = extend_vocab(Vocab((UNK_DISPLAY, "a"), unk=0), Vocab(tuple("ab")))
    assert keeps.chars == (UNK_DISPLAY, "a", "b") and keeps.unk == 0


def test_the_extension_alone_changes_known_scores_by_exactly_the_rare_share(source):
    start = init_from.read(str(source))
    old = start.vocab
    grown = corpus_from_text(NEW_TEXT, grow=start.grow).vocab
    new = len(grown) - len(old)
    assert new >= 8 and grown.chars[: len(old)] == old.chars
    cfg = start.ckpt.model_config
    before = runs.build_model(start.ckpt).double()
    after = CharRNN(replace(cfg, vocab_size=len(grown))).double().eval()
    after.load_state_dict(start.weights_for(grown))

    ids, _ = old.encode(SMALL[:400])  # only characters the source knows
    with torch.no_grad():
        lp_old = F.log_softmax(before(ids[None])[0][0], -1)  # (T, V)
        lp_new = F.log_softmax(after(ids[None])[0][0], -1)  # (T, V + new)
    rare = int(start.ckpt.weights["head.bias"].argmin())
    share = 1e-3
    expected = lp_old - torch.log1p(share * lp_old[:, rare].exp())[:, None]  # every known character, every position
    # (to float32's rounding of the new rows' bias, b_rare - log(new / share): the weights are stored in float32)
    assert torch.allclose(lp_new[:, : len(old)], expected, atol=1e-6, rtol=0)
    # together the new characters are a thousandth as likely as the rarest known one ...
    assert torch.allclose(torch.logsumexp(lp_new[:, len(old) :], -1), lp_new[:, rare] + math.log(share), atol=1e-6, rtol=0)
    # ... so each alone is less likely still, and the score of known text stays as it was
    assert (lp_new[:, len(old) :] < lp_new[:, rare : rare + 1]).all()
    nats = (lp_old[:-1] - lp_new[:-1, : len(old)]).gather(1, ids[1:, None].long()).mean()  # per predicted character
    assert 0 <= float(nats) / math.log(2) < 1e-4, float(nats)
    # the known rows are untouched
    for key, w in start.ckpt.weights.items():
        assert torch.equal(after.state_dict()[key][: w.shape[0]].float(), w.float()), key


def test_cli_fine_tunes_on_a_text_with_new_characters(source, tmp_path, capsys):
    text = tmp_path / "new.txt"
    text.write_text(NEW_TEXT)
    out = tmp_path / "tuned"
    rc = main(
        ["train", str(text), "--init-from", str(source), "--out", str(out), "--max-steps", "20", "--eval-every", "10", "--dropout", "0.1"]
    )
    assert rc == 0
    err = capsys.readouterr().err
    assert f"started from {source}" in err and "new characters added" in err
    ckpt = checkpoint.load(out / "last.pt", kind="lm")
    src = checkpoint.load(source / "best.pt", kind="lm")
    assert ckpt.train_config.init_from == str(source) and ckpt.task.origin["init_from"] == str(source)
    assert ckpt.task.origin["step"] == src.progress.step and ckpt.task.origin["new_chars"] == len(ckpt.task.vocab) - len(src.task.vocab)
    assert ckpt.progress.step == 20  # a fresh schedule: its own steps from 0
    same = {k: v for k, v in settings_of(src).items() if k not in ("vocab_size", "dropout")}
    assert {k: v for k, v in settings_of(ckpt).items() if k in same} == same and ckpt.model_config.dropout == 0.1
    assert main(["sample", str(out), "--length", "20", "--prime", "QUIZ", "--seed", "0"]) == 0


def settings_of(ckpt):
    return to_dict(ckpt.model_config)


def test_resuming_a_started_run_keeps_its_vocabulary_and_origin(source, tmp_path):
    text = tmp_path / "new.txt"
    text.write_text(NEW_TEXT)
    out = tmp_path / "tuned"
    assert main(["train", str(text), "--init-from", str(source), "--out", str(out), "--max-steps", "10", "--quiet"]) == 0
    first = checkpoint.load(out / "last.pt", kind="lm")
    assert main(["train", str(text), "--resume", str(out), "--max-steps", "15", "--quiet"]) == 0
    again = checkpoint.load(out / "last.pt", kind="lm")
    assert again.progress.step == 15 and again.task.vocab == first.task.vocab and again.task.origin == first.task.origin


@pytest.mark.parametrize(
    "flags, needle",
    [
        (["--hidden", "7"], "--hidden 7 does not fit the model of"),
        (["--cell", "gru"], "--cell gru does not fit"),
        (["--norm", "rms"], "--norm rms does not fit"),
    ],
)
def test_model_flags_that_change_the_shape_are_refused(source, tmp_path, capsys, text_file, flags, needle):
    out = tmp_path / "out"
    rc = main(["train", str(text_file), "--init-from", str(source), "--out", str(out), "--quiet", *flags])
    one_line_error(capsys, rc, needle)
    assert not out.exists()


def test_bad_sources_are_refused_in_one_line_and_nothing_is_written(source, tmp_path, capsys, text_file):
    from test_cli_lm import Evil

    tag_run = tmp_path / "tagrun"
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("abc\tABC\n" * 50)
    assert main(["tag", "train", str(pairs), "--out", str(tag_run), "--tiny", "--quiet"]) == 0
    good = torch.load(source / "best.pt", weights_only=True)
    cases = {"not a run": tmp_path / "empty", "a tagging run": tag_run}
    (tmp_path / "empty").mkdir()
    for name, payload in {
        "newer": {**good, "version": 99},
        "unknown kind": {**good, "kind": "vision"},
        "crafted": {"format": "rnnlab-checkpoint", "x": Evil()},
    }.items():
        path = tmp_path / f"{name}.pt"
        torch.save(payload, path)
        cases[name] = path
    cases["missing"] = tmp_path / "nowhere"
    for name, src in cases.items():
        out = tmp_path / f"out-{name}"
        capsys.readouterr()
        rc = main(["train", str(text_file), "--init-from", str(src), "--out", str(out), "--quiet"])
        one_line_error(capsys, rc, str(src))
        assert not out.exists(), name


def test_one_hot_sources_take_no_new_characters(tmp_path, capsys, text_file):
    src = tmp_path / "onehot"
    assert main(["train", str(text_file), "--out", str(src), "--tiny", "--one-hot", "--quiet"]) == 0
    new = tmp_path / "new.txt"
    new.write_text(NEW_TEXT)
    capsys.readouterr()
    rc = main(["train", str(new), "--init-from", str(src), "--out", str(tmp_path / "o"), "--quiet"])
    one_line_error(capsys, rc, "one-hot")
    assert main(["train", str(text_file), "--init-from", str(src), "--out", str(tmp_path / "same"), "--max-steps", "3", "--quiet"]) == 0


def test_python_api_and_print_config(source, tmp_path, capsys, text_file):
    lm = rnnlab.train_lm(text=NEW_TEXT, init_from=source, config=TrainConfig(max_steps=5))
    assert "Q" in lm.vocab.stoi and lm.model.cfg.hidden == checkpoint.load(source / "best.pt").model_config.hidden
    with pytest.raises(UserError, match=r"model\.hidden 7 does not fit"):
        rnnlab.train_lm(text=NEW_TEXT, init_from=source, model=replace(lm.model.cfg, hidden=7, vocab_size=0))
    capsys.readouterr()
    assert main(["train", str(text_file), "--init-from", str(source), "--print-config"]) == 0
    out = capsys.readouterr().out
    assert f'init_from = "{source}"' in out


def test_base_is_named_and_missing_base_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(runs, "base_model_path", lambda: tmp_path / "none.pt")
    rc = main(["sample", "base", "--length", "5"])
    one_line_error(capsys, rc, "no base model")
    assert runs.locate("./base") == Path("base") and runs.locate("runs/x") == Path("runs/x")  # a folder called base stays reachable


CHINESE = "循环神经网络用来处理序列数据，比如天气、股市和自然语言。我们先学习RNNCell，再学习RNN和LSTM。\n" * 30


def test_a_chinese_text_gets_rows_and_trains(source, tmp_path):
    text = tmp_path / "zh.txt"
    text.write_text(CHINESE, encoding="utf-8")
    out = tmp_path / "zh"
    assert (
        main(
            [
                "train",
                str(text),
                "--init-from",
                str(source),
                "--out",
                str(out),
                "--max-steps",
                "150",
                "--epochs",
                "100",
                "--eval-every",
                "150",
                "--quiet",
            ]
        )
        == 0
    )
    ckpt = checkpoint.load(out / "last.pt", kind="lm")
    src = init_from.read(str(source))
    assert set(CHINESE) <= set(ckpt.task.vocab.chars) and ckpt.task.vocab.chars[: len(src.vocab)] == src.vocab.chars
    before = rnnlab.LanguageModel(src.model(ckpt.task.vocab), ckpt.task.vocab).score(CHINESE[:300])
    after = rnnlab.load(out, which="last").score(CHINESE[:300])
    assert after < before - 5, (before, after)  # the new characters' rows learned: many bits per character fewer


def test_the_fine_tuning_recipe_fills_what_is_not_given(source, text_file, capsys):
    """--init-from fine-tunes with recipes/finetune.toml (its dropout and learning rate, read
    from the file, not restated here) in every setting not given: a training flag or a model
    flag given wins for itself and leaves the recipe's others. Python: the same, and a value
    passed at its field default counts as given."""
    import tomllib

    from rnnlab.resolve import FINETUNE

    recipe = FINETUNE.values()
    assert recipe["lr"] != TrainConfig().lr  # else this test could not tell the recipe from the defaults

    def printed(*flags) -> dict:
        assert main(["train", str(text_file), "--init-from", str(source), "--print-config", *flags]) == 0
        return {k: v for table in tomllib.loads(capsys.readouterr().out).values() for k, v in table.items()}

    assert {k: printed()[k] for k in recipe} == recipe
    mixed = printed("--lr", "0.0123")
    assert mixed["lr"] == 0.0123 and mixed["dropout"] == recipe["dropout"]
    source_dropout = checkpoint.load(source / "best.pt").model_config.dropout
    own = printed("--dropout", str(source_dropout))
    assert own["lr"] == recipe["lr"] and own["dropout"] == source_dropout  # a model flag keeps the recipe's lr

    lm = rnnlab.train_lm(text=NEW_TEXT, init_from=source, config=TrainConfig(max_steps=2))
    assert lm.model.cfg.dropout == recipe["dropout"]
