"""rnnlab tag: derive functions, pair files, padding invariance, pass-through, resume, the CLI."""

import argparse
import json
import unicodedata

import pytest
import torch
from conftest import CELL_IMPLS, one_line_error
from hypothesis import given, settings
from hypothesis import strategies as st
from resume_check import assert_same_weights, straight_and_resumed

from rnnlab.cells import CELLS
from rnnlab.cli import main
from rnnlab.config import TagTrainConfig
from rnnlab.errors import UserError
from rnnlab.tag import (
    TagData,
    TagModel,
    TagModelConfig,
    TagTask,
    derive_diacritics,
    derive_truecase,
    load_tagger,
    parse_pairs,
    read_pairs,
    score,
    window_spans,
    windows,
)
from rnnlab.tag.infer import Tagger
from rnnlab.training import Trainer

TEXT = (
    "The quick brown fox jumps over the lazy dog. It was NOT amused.\n"
    "Unix and GNU are names. I said so, and she agreed.\n"
    "A line without an end? Then another one! Fine.\n"
) * 8


# ------------------------------------------------------------------------------ derive


def test_derive_truecase_hand_cases():
    assert derive_truecase("Hello World") == ("hello world", "Hello World")
    assert derive_truecase("UNIX, GNU/Linux.") == ("unix, gnu/linux.", "UNIX, GNU/Linux.")
    assert derive_truecase("中文没有大小写 123") == ("中文没有大小写 123", "中文没有大小写 123")  # no case: unchanged
    assert derive_truecase("ΣΟΦΙΑ Straße") == ("σοφια straße", "ΣΟΦΙΑ Straße")
    # "İ".lower() is two characters; it stays as it is so that the lengths agree.
    assert derive_truecase("İstanbul") == ("İstanbul", "İstanbul")
    assert derive_truecase("Élan") == ("élan", "Élan")


def test_derive_diacritics_hand_cases():
    assert derive_diacritics("école où Noël") == ("ecole ou Noel", "école où Noël")
    assert derive_diacritics("ÇA VA À PARIS") == ("CA VA A PARIS", "ÇA VA À PARIS")
    # Decomposed input (e + combining acute) is composed first: one character, one target.
    assert derive_diacritics("e\u0301te\u0301") == ("ete", "été")
    # Several marks on one letter (Vietnamese), and Greek and Cyrillic.
    assert derive_diacritics("Tiếng Việt") == ("Tieng Viet", "Tiếng Việt")
    assert derive_diacritics("ά й") == ("α и", "ά й")
    # No canonical decomposition: left alone. A mark that composes with nothing: kept.
    assert derive_diacritics("ø ł đ") == ("ø ł đ", "ø ł đ")
    assert derive_diacritics("q\u0303") == ("q\u0303", "q\u0303")
    # Non-Latin text without marks, and Hangul (which decomposes into jamo, not marks).
    assert derive_diacritics("中文 한국어") == ("中文 한국어", "中文 한국어")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_derived_pairs_always_have_equal_lengths(text):
    for derive in (derive_truecase, derive_diacritics):
        inp, tgt = derive(text)
        assert len(inp) == len(tgt)
    inp, tgt = derive_diacritics(text)
    assert tgt == unicodedata.normalize("NFC", text)
    for a, t in zip(inp, tgt):  # each input character is its target, or the target's base letter
        decomposed = unicodedata.normalize("NFD", t)
        assert a == t or (decomposed[0] == a and all(unicodedata.combining(m) for m in decomposed[1:]))


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ab \n", max_size=60), st.integers(1, 8))
def test_windows_cover_the_line_and_respect_max_len(text, max_len):
    spans = window_spans(text, max_len)
    assert "".join(text[a:b] for a, b in spans) == text
    assert all(0 < b - a <= max_len for a, b in spans)
    assert windows([(text, text.upper())], max_len) == [(text[a:b], text.upper()[a:b]) for a, b in spans]


# ------------------------------------------------------------------------------ pair files


def test_read_pairs_and_bad_lines(tmp_path):
    good = tmp_path / "good.tsv"
    good.write_text("hello\tohlol\n\nab c\tAB C\r\n", encoding="utf-8")
    assert read_pairs(good) == ([("hello", "ohlol"), ("ab c", "AB C")], 0)

    cases = {
        "hello\tohlol\nno tab here\n": "line 2 has no tab",
        "hello\tohlol\nabc\tab\n": "line 2 has an input of 3 characters but a target of 2",
        "a\tb\tc\n": "line 1 has 2 tabs",
    }
    for text, needle in cases.items():
        bad = tmp_path / "bad.tsv"
        bad.write_text(text)
        with pytest.raises(UserError, match=needle) as e:
            read_pairs(bad)
        assert str(bad) in str(e.value)
    pairs, n_bad = parse_pairs("x\ty\nbad\nab\tabc\nq\tQ\n", skip_bad=True)
    assert pairs == [("x", "y"), ("q", "Q")] and n_bad == 2

    (tmp_path / "latin1.tsv").write_bytes(b"ok\tOK\nd\xe9j\xe0\tDEJA\n")
    with pytest.raises(UserError, match="line 2: bytes at offset 7 are not valid utf-8"):
        read_pairs(tmp_path / "latin1.tsv")
    (tmp_path / "empty.tsv").write_text("\n\n")
    with pytest.raises(UserError, match="no input<TAB>target pairs"):
        read_pairs(tmp_path / "empty.tsv")
    with pytest.raises(UserError, match="no such file"):
        read_pairs(tmp_path / "missing.tsv")


# ------------------------------------------------------------------------------ model


@pytest.mark.parametrize("cell, impl", CELL_IMPLS)
@pytest.mark.parametrize("bidirectional", [True, False])
def test_padding_changes_neither_loss_nor_predictions(cell, bidirectional, impl):
    torch.manual_seed(0)
    cfg = TagModelConfig(
        vocab_size=11,
        out_vocab=7,
        cell=cell,
        layers=2,
        hidden=12,
        embed=6,
        impl=impl,
        bidirectional=bidirectional,
        word_buckets=50,
        word_embed=3,
    )
    model = TagModel(cfg).double().eval()
    model.set_word_chars(list("_abcdefg .,"))  # ids 1-7 make words; the word rows random, so they matter
    torch.nn.init.normal_(model.word.weight)
    short = torch.randint(1, 11, (4,))
    short_y = torch.randint(0, 7, (4,))
    logits_alone, loss_alone = model(short[None], short_y[None], torch.tensor([4]))

    # The same line in a batch with longer ones, its padding filled with random ids.
    batch = torch.randint(1, 11, (3, 9))
    targets = torch.randint(0, 7, (3, 9))
    batch[1, :4], targets[1, :4] = short, short_y
    lengths = torch.tensor([9, 4, 7])
    logits, loss = model(batch, targets, lengths)
    torch.testing.assert_close(logits[1, :4], logits_alone[0], rtol=0, atol=1e-12)

    # The batch loss is the character-weighted mean of the lines' losses, each taken alone.
    per_line = []
    for i, n in enumerate(lengths.tolist()):
        _, line_loss = model(batch[i : i + 1, :n], targets[i : i + 1, :n], torch.tensor([n]))
        per_line.append(line_loss * n)
    torch.testing.assert_close(loss, torch.stack(per_line).sum() / lengths.sum(), rtol=0, atol=1e-12)
    torch.testing.assert_close(loss_alone, per_line[1] / 4, rtol=0, atol=1e-12)


def test_word_rows_hash_each_whole_word_as_a_naive_loop_does():
    """Each position's row is its whole word's hash, as written out here with Python ints: the
    same word gives the same row wherever it stands; outside words, and past a line's length, 0."""
    import re

    from rnnlab.tag.model import HASH_BASE, HASH_MOD

    chars = list("?abc .xyz")  # id 0 is not a word character
    cfg = TagModelConfig(vocab_size=len(chars), out_vocab=3, layers=1, hidden=4, embed=3, word_buckets=97, word_embed=2)
    model = TagModel(cfg)
    model.set_word_chars(chars)
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, len(chars), (6, 23), generator=g)
    ids[0, :9] = torch.tensor([1, 2, 3, 4, 5, 1, 2, 3, 4])  # "abc .abc ": one word twice
    lengths = torch.tensor([23, 17, 1, 23, 5, 12])
    rows = model.word_rows(ids, lengths)
    for b in range(ids.shape[0]):
        n = int(lengths[b])
        text = "".join(chars[i] if chars[i].isalnum() else " " for i in ids[b, :n].tolist())
        want = [0] * ids.shape[1]
        for m in re.finditer(r"\w+", text):
            h = sum((int(ids[b, i]) + 1) * HASH_BASE ** (i - m.start()) for i in range(m.start(), m.end())) % HASH_MOD
            want[m.start() : m.end()] = [h % 96 + 1] * (m.end() - m.start())
        assert rows[b].tolist() == want
    assert rows[0, 0] == rows[0, 5] and rows[0, 0] != 0


def test_word_dropout_leaves_out_whole_words_as_often_as_their_counts_say():
    """count_words counts each word once per occurrence (a regex count of the lines is the
    reference); in training a word seen n times keeps its row with probability n / (a + n), for all
    of its positions at once; a word never counted, and every word outside training, keeps it."""
    import re

    chars = list("?ab .")
    lines = ["ab ab.b", "ab", "aab ab", "b.ab"]  # ab x5, b x2, aab x1
    ids = torch.zeros(len(lines), 8, dtype=torch.long)
    for i, line in enumerate(lines):
        ids[i, : len(line)] = torch.tensor([chars.index(c) for c in line])
    lengths = torch.tensor([len(line) for line in lines])
    cfg = TagModelConfig(vocab_size=len(chars), out_vocab=3, layers=1, hidden=4, embed=3, word_buckets=1009, word_embed=2, word_dropout=1.5)
    model = TagModel(cfg)
    model.set_word_chars(chars)
    model.count_words(ids, lengths, chunk=3)  # chunks split the lines: counts still add up

    def row(word):
        return int(model.eval().word_rows(torch.tensor([[chars.index(c) for c in word]]))[0, 0])

    want = {}
    for line in lines:
        for w in re.findall(r"[ab]+", line):
            want[row(w)] = want.get(row(w), 0) + 1
    assert {r: c for r, c in enumerate(model.word_counts.tolist()) if c} == want == {row("ab"): 5, row("b"): 2, row("aab"): 1}

    # Many copies of one line in training mode: "ab" (5), "b" (2), "ba" (never counted).
    line = torch.tensor([[1, 2, 3, 2, 3, 2, 1]] * 20_000)  # "ab b ba"
    torch.manual_seed(0)
    rows = model.train().word_rows(line)
    kept = rows != 0
    assert (kept[:, 0] == kept[:, 1]).all() and (kept[:, 5] == kept[:, 6]).all()  # whole words
    assert kept[:, 5].all() and (rows[:, 2] == 0).all()  # never counted: always kept; a space: no row
    for pos, n in ((0, 5), (3, 2)):
        assert abs(kept[:, pos].float().mean().item() - n / (1.5 + n)) < 0.015  # binomial sd here < 0.004
    assert (model.eval().word_rows(line) != 0)[:, [0, 1, 3, 5, 6]].all()  # no dropout outside training


def test_score_counts_changed_positions_and_lines():
    pairs = [("abc", "aBc"), ("xy", "xy")]
    r = score(pairs, ["aBc", "xz"])
    assert r["char_accuracy"] == 4 / 5 and r["changed_accuracy"] == 1.0 and r["line_accuracy"] == 0.5
    assert r["changed_chars"] == 1 and r["wrong_changes"] == 1
    assert score([("ab", "ab")], ["ab"])["changed_accuracy"] is None  # nothing to change: undefined


# ------------------------------------------------------------------------------ training


def _tiny(**kw):
    m = TagModelConfig(layers=2, hidden=16, embed=8, dropout=0.2)  # dropout: the RNG must resume too
    t = TagTrainConfig(**{"batch_size": 4, "max_steps": 24, "eval_every": 8, "sample_chars": 40, "warmup_steps": 3, "lr": 0.02, **kw})
    return m, t


def test_best_checkpoint_is_the_one_that_gets_most_changes_right(tmp_path, monkeypatch):
    """val_error is what tag eval reports on the held-out lines, and it, not the held-out loss,
    decides best.pt (the loss only breaks ties)."""
    data = TagData([derive_truecase(line) for line in TEXT.splitlines()])
    m, t = _tiny(max_steps=8, eval_every=2)
    task = TagTask(data, m, t)
    trainer = Trainer(task, run_dir=tmp_path / "run")
    got = task.val_error(trainer.model)
    assert trainer.model.training  # left as it was found
    tagger = Tagger(trainer.model, task.in_vocab, task.out_vocab, task.data_config.max_len)
    assert got == pytest.approx(1 - tagger.evaluate(task.val_pairs)["changed_accuracy"], abs=1e-12)
    trainer.model.train()

    # Made up figures: the loss rises at every evaluation while the error falls, then ties.
    losses, errors = iter([1.0, 2.0, 3.0, 2.5]), iter([0.9, 0.5, 0.4, 0.4])  # evaluations at steps 2, 4, 6, 8
    monkeypatch.setattr(TagTask, "evaluate", lambda self, model: next(losses))
    monkeypatch.setattr(TagTask, "val_error", lambda self, model: next(errors))
    trainer.run()
    p = trainer.progress
    assert (p.best_step, p.best_error, p.best_val) == (8, 0.4, 2.5)  # the tie at step 8 goes to its lower loss
    best = torch.load(tmp_path / "run" / "best.pt", weights_only=True)
    assert best["progress"]["step"] == 8 and best["progress"]["best_error"] == 0.4


def test_validation_holds_out_lines_spread_over_the_file_by_seed_or_the_last():
    from rnnlab.tag.task import split_lines

    pairs = [(f"line {i}", f"Line {i}") for i in range(200)]
    split = lambda **kw: split_lines(pairs, TagTrainConfig(**kw))  # noqa: E731
    train, val = split(val_fraction=0.1)
    assert len(val) == 20 and sorted(train + val, key=pairs.index) == pairs  # a partition
    assert train == sorted(train, key=pairs.index) and val == sorted(val, key=pairs.index)  # both in file order
    where = [pairs.index(p) for p in val]
    assert where[0] < 50 and where[-1] >= 150  # from the whole file, not one end
    assert split(val_fraction=0.1) == (train, val) and split(val_fraction=0.1, seed=2)[1] != val  # by --seed
    assert split(val_fraction=0.1, val_lines="last") == (pairs[:180], pairs[180:])
    assert split(val_fraction=0.004) == (pairs, [])  # under one line: none held out


def test_unset_dropout_and_epochs_follow_the_size_of_the_text():
    """The resolver's rule: a text of at most SMALL_TAG_TEXT characters gets SMALL_TAG's dropout
    and epochs, a larger one LARGE_TAG's, a file of few lines enough epochs for MIN_TAG_STEPS
    steps; a setting given (even at the other size's value) is kept. The task takes what it gets."""
    from rnnlab.resolve import LARGE_TAG, MIN_TAG_STEPS, SMALL_TAG, SMALL_TAG_TEXT, resolve
    from rnnlab.tag.task import text_size

    line = derive_truecase(("The Quick Brown Fox. " * 5)[:100])
    lines, rest = divmod(SMALL_TAG_TEXT, len(line[1]))
    assert rest == 0  # so that the small text below has exactly SMALL_TAG_TEXT characters

    def resolved(n, **given):
        data = TagData([line] * n)
        return resolve("tag", given, size=text_size(data, resolve("tag", given)))

    small, large = resolved(lines), resolved(lines + 1)
    assert small.model.dropout == SMALL_TAG["dropout"] > 0 and small.train.epochs == SMALL_TAG["epochs"]
    assert large.model.dropout == LARGE_TAG["dropout"] and large.train.epochs == LARGE_TAG["epochs"] != SMALL_TAG["epochs"]
    assert small.notes() == [
        f"dropout {SMALL_TAG['dropout']:g}, epochs {SMALL_TAG['epochs']}: the default on a text of at most "
        f"{SMALL_TAG_TEXT:,} characters; flags choose your own"
    ]
    given = resolved(lines, dropout=0.0, epochs=7)
    assert (given.model.dropout, given.train.epochs, given.notes()) == (0.0, 7, [])
    only = resolved(lines, dropout=0.0)
    assert only.train.epochs == SMALL_TAG["epochs"] and only.notes()[0].startswith(f"epochs {SMALL_TAG['epochs']}:")
    assert resolved(lines + 1, epochs=3).model.dropout == LARGE_TAG["dropout"]
    few = resolved(20)  # one step per epoch: raised to reach MIN_TAG_STEPS, and the note says so
    assert few.train.epochs == MIN_TAG_STEPS and f"raised from {SMALL_TAG['epochs']} to reach {MIN_TAG_STEPS} steps" in few.notes()[-1]
    task = TagTask(TagData([line] * 20), TagModelConfig(layers=1, hidden=4, embed=3, word_buckets=0), few.train)
    assert task.epochs == few.train.epochs == task.train_config.epochs  # the task chooses nothing


def test_the_start_up_summary_says_what_the_size_chose(tmp_path, capsys):
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("".join(f"{i}\t{t}\n" for i, t in map(derive_truecase, TEXT.splitlines())))
    run = tmp_path / "run"
    assert main(["tag", "train", str(pairs), "--out", str(run), "--tiny", "--max-steps", "2", "--dropout", "0.1"]) == 0
    err = capsys.readouterr().err
    # 23 windows in batches of 8: 3 steps per epoch, so 100 epochs reach the 300 steps.
    assert (
        "dropout 0.1" in err
        and "(epochs 100: the default on a text of at most 200,000 characters, raised from 30 to reach 300 steps" in err
    )
    assert "flags choose your own)" in err


def test_resume_gives_the_same_final_weights(tmp_path):
    # 14 lines, 13 to train on in batches of 4: 4 steps per epoch, so the run crosses epochs
    # (new shuffles) and is cut mid-epoch.
    data = TagData([derive_truecase(line) for line in TEXT.splitlines()[:14]])
    m, t = _tiny()
    straight, second, first = straight_and_resumed(
        lambda d, **kw: Trainer(TagTask(data, m, t), run_dir=d, **kw), tmp_path, stop_at=10, kind="tag"
    )
    assert first.progress.step == 10
    assert second.progress.step == 24 and second.progress.epoch == straight.progress.epoch
    assert_same_weights(straight, second)


@pytest.mark.parametrize("n, batch, pool", [(103, 4, 3), (96, 8, 2), (5, 8, 50), (50, 7, 1)])
def test_bucketed_order_is_a_shuffle_of_batches_of_similar_lengths(n, batch, pool):
    from rnnlab.tag.task import bucketed_order

    lengths = torch.randint(1, 200, (n,), generator=torch.Generator().manual_seed(n))
    order = bucketed_order(lengths, batch, torch.Generator().manual_seed(0), pool)
    assert sorted(order.tolist()) == list(range(n))  # every row once
    again = bucketed_order(lengths, batch, torch.Generator().manual_seed(0), pool)
    assert torch.equal(order, again)  # the generator decides it all (a resumed run's epochs)
    # Each full batch is a slice of one pool sorted by length: written out with plain lists.
    g = torch.Generator().manual_seed(0)
    shuffled = torch.randperm(n, generator=g).tolist()
    pools = [shuffled[s : s + batch * pool] for s in range(0, n, batch * pool)]
    flat = [i for p in pools for i in sorted(p, key=lambda i: (int(lengths[i]), p.index(i)))]
    full = n // batch
    expected_batches = [flat[b * batch : (b + 1) * batch] for b in range(full)]
    picked = torch.randperm(full, generator=g).tolist()
    expected = [i for b in picked for i in expected_batches[b]] + flat[full * batch :]
    assert order.tolist() == expected
    if pool > 1 and full > 1:  # padding: less than random batches of the same rows

        def waste(o):
            return sum(int(lengths[o[s : s + batch]].max()) * len(o[s : s + batch]) for s in range(0, n, batch))

        assert waste(order) < waste(torch.randperm(n, generator=torch.Generator().manual_seed(1)))


def test_predict_passes_unseen_characters_through(tmp_path):
    pairs = [derive_truecase(line) for line in TEXT.splitlines()]
    m, t = _tiny(max_steps=5)
    (tmp_path / "r").mkdir()
    Trainer(TagTask(TagData(pairs), m, t), run_dir=tmp_path / "r").run()
    tagger = load_tagger(tmp_path / "r")
    text = "the fox ✓ 中文 ЖЖ ~"
    out = tagger.predict(text)
    assert len(out) == len(text)
    for i, c in enumerate(text):
        if c not in tagger.in_vocab.stoi:
            assert out[i] == c
    # Lines and windows are put back together in order; every output has its input's length.
    long = "the quick brown fox " * 30 + "\nand one more line"
    out = tagger.predict_many([long, "", "x"])
    assert [len(o) for o in out] == [len(long), 0, 1] and out[0].count("\n") == 1


# ------------------------------------------------------------------------------ CLI


def test_hello_becomes_ohlol(tmp_path, capsys):
    pairs = tmp_path / "hello.tsv"
    pairs.write_text("hello\tohlol\n")
    run = tmp_path / "run"
    assert main(["tag", "train", str(pairs), "--out", str(run), "--quiet"]) == 0
    for name in ("best.pt", "last.pt", "metrics.csv", "loss.png"):
        assert (run / name).is_file(), name
    capsys.readouterr()
    assert main(["tag", "predict", str(run), "hello"]) == 0
    assert capsys.readouterr().out == "ohlol\n"


@pytest.mark.parametrize("cell", CELLS)
def test_tiny_derive_train_predict_eval_for_every_cell(tmp_path, capsys, monkeypatch, cell):
    text = tmp_path / "text.txt"
    text.write_text(TEXT)
    run = tmp_path / "run"
    assert main(["tag", "train", "--derive", "truecase", str(text), "--out", str(run), "--tiny", "--cell", cell, "--quiet"]) == 0
    ckpt = torch.load(run / "last.pt", weights_only=True)
    assert ckpt["kind"] == "tag" and ckpt["progress"]["step"] == 30 and ckpt["model_config"]["bidirectional"] is True
    capsys.readouterr()

    import io

    # Standard input is read as bytes (sys.stdin.buffer) and decoded with --encoding, as files are.
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO("the fox\nunix ✓\n".encode()), encoding="utf-8"))
    assert main(["tag", "predict", str(run)]) == 0
    out = capsys.readouterr().out.split("\n")
    assert [len(line) for line in out] == [7, 6, 0] and out[1][-1] == "✓"

    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("the fox\tThe fox\nunix\tUNIX\n")
    assert main(["tag", "eval", str(run), str(pairs), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert {"char_accuracy", "changed_accuracy", "line_accuracy", "baseline"} <= set(r)
    assert r["baseline"]["changed_accuracy"] == 0.0 and r["baseline"]["char_accuracy"] == 6 / 11
    assert r["baseline"]["line_accuracy"] == 0.0 and r["lines"] == 2 and r["changed_chars"] == 5
    assert main(["tag", "eval", str(run), str(text), "--derive", "truecase"]) == 0
    assert "changed positions" in capsys.readouterr().out


def test_resume_from_the_command_line(tmp_path, capsys):
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("".join(f"{i}\t{o}\n" for i, o in (derive_truecase(line) for line in TEXT.splitlines())))
    run = tmp_path / "run"
    assert main(["tag", "train", str(pairs), "--out", str(run), "--tiny", "--max-steps", "10", "--quiet"]) == 0
    assert main(["tag", "train", "--resume", str(run), "--max-steps", "20", "--quiet"]) == 0
    assert torch.load(run / "last.pt", weights_only=True)["progress"]["step"] == 20
    steps = [int(line.split(",")[0]) for line in (run / "metrics.csv").read_text().splitlines()[1:]]
    assert steps == sorted(set(steps))
    pairs.write_text("changed\tChanged\n")
    capsys.readouterr()
    one_line_error(
        capsys, main(["tag", "train", "--resume", str(run), "--max-steps", "30"]), "differs from the one this run was trained on"
    )


@pytest.mark.parametrize(
    "args, needle",
    [
        (["tag", "train", "{notab}", "--out", "{out}"], "line 2 has no tab"),
        (["tag", "train", "{unequal}", "--out", "{out}"], "line 1 has an input of 5 characters but a target of 4"),
        (["tag", "train", "{unequal}", "--skip-bad", "--out", "{out}"], "no input<TAB>target pairs (1 bad line skipped)"),
        (["tag", "train", "{missing}", "--out", "{out}"], "no such file"),
        (["tag", "train", "--out", "{out}"], "give PAIRS.tsv files"),
        (["tag", "train", "{good}", "--hidden", "0", "--out", "{out}"], "--hidden: must be between 1"),
        (["tag", "train", "{good}", "--seq-len", "5", "--out", "{out}"], "unrecognized arguments"),
        (["tag", "predict", "{tmp}", "x"], "not an rnnlab run"),
        (["tag", "eval", "{missing}", "{good}"], "no such run folder"),
        (["tag", "frobnicate"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, args, needle):
    (tmp_path / "notab.tsv").write_text("ab\tAB\nno tab\n")
    (tmp_path / "unequal.tsv").write_text("hello\thell\n")
    (tmp_path / "good.tsv").write_text("ab\tAB\n")
    paths = {n: str(tmp_path / f"{n}.tsv") for n in ("notab", "unequal", "good", "missing")}
    paths.update(out=str(tmp_path / "out"), tmp=str(tmp_path))
    try:
        rc = main([a.format(**paths) for a in args])
    except SystemExit as e:  # argparse errors
        rc = e.code
    one_line_error(capsys, rc, needle)


def test_a_language_model_run_is_not_a_tagger(tmp_path, capsys):
    text = tmp_path / "t.txt"
    text.write_text(TEXT)
    assert main(["train", str(text), "--out", str(tmp_path / "lm"), "--tiny", "--max-steps", "2", "--quiet"]) == 0
    capsys.readouterr()
    one_line_error(capsys, main(["tag", "predict", str(tmp_path / "lm"), "x"]), "not a tagging run ('tag')")


def test_derive_without_text_uses_an_embedded_corpus(tmp_path, capsys):
    run = tmp_path / "fr"
    assert main(["tag", "train", "--derive", "diacritics", "--out", str(run), "--tiny", "--max-steps", "3", "--quiet"]) == 0
    ckpt = torch.load(run / "last.pt", weights_only=True)
    assert ckpt["data_config"]["derive"] == "diacritics" and ckpt["data"]["source"] == "embedded"
    assert ckpt["data"]["paths"] == ["french"]
    assert "é" in load_tagger(run).out_vocab.chars


def test_benchmark_rule_baselines():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "tag_quality.py"
    spec = importlib.util.spec_from_file_location("tag_quality", path)
    q = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(q)
    assert q.capitalise("the end. and so i said! yes", line_start=True) == "The end. And so I said! Yes"
    assert q.capitalise("more of it. then", line_start=False) == "more of it. Then"
    forms = q.word_forms([derive_diacritics(s) for s in ("le café est là", "où est le café", "là")])
    assert q.apply_words("le cafe est la ou", forms) == "le café est là où"
    train = [derive_diacritics(s) for s in ("là la là", "élève", "si sí si")]
    test = [derive_diacritics(s) for s in ("là la élevé élève déjà", "sí")]
    assert q.position_kinds(train, test) == {"majority form": 3, "minority form": 1, "form unseen": 2, "new word": 2}
    assert q.position_kinds(train, [derive_diacritics("la")]) == {"majority form": 0, "minority form": 0, "form unseen": 0, "new word": 0}
    assert q.text_option(f"diacritics={path}") == ("diacritics", path)  # any existing file
    tmp = Path("/tmp/tmpabc")
    args = ["tag", "train", "--derive", "truecase", str(tmp / "train.txt"), "--out", str(tmp / "run"), "--max-time", "210.0"]
    assert q.command_line(args, tmp) == "rnnlab tag train --derive truecase train.txt --out run --max-time 210.0"

    # --seeds: the mean over the runs of a text, and its margin over the word rule that gets the
    # most changed positions right (here the second rule, though it is listed after the first).
    def run(seed, changed, lines):
        results = {
            "rnnlab tag": {"changed_accuracy": changed, "line_accuracy": lines},
            "copy input": {"changed_accuracy": 0.0, "line_accuracy": 0.9},
            "rule: sentence starts": {"changed_accuracy": 0.2, "line_accuracy": 0.5},
            "rule + word forms": {"changed_accuracy": 0.6, "line_accuracy": 0.4},
        }
        return {"task": "truecase", "text": "a.txt", "seed": seed, "results": results}

    (row,) = q.summary([run(1, 0.70, 0.46), run(2, 0.74, 0.50), run(3, 0.72, 0.42)])
    assert row["best_rule"] == "rule + word forms" and row["seeds"] == [1, 2, 3] and row["runs"] == 3
    assert row["changed_accuracy"] == {"mean": 72.0, "min": 70.0, "max": 74.0, "margin": 12.0}
    assert row["line_accuracy"] == {"mean": 46.0, "min": 42.0, "max": 50.0, "margin": 6.0}
    assert [r["text"] for r in q.summary([run(1, 0.7, 0.5), {**run(1, 0.7, 0.5), "text": "b.txt"}])] == ["a.txt", "b.txt"]
    for bad in ("diacritics", f"spelling={path}", "truecase=/no/such/file"):
        with pytest.raises(argparse.ArgumentTypeError):
            q.text_option(bad)
