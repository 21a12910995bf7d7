"""A derived tag task's outputs: only what its rule allows, at prediction and in the loss.

Which outputs an input character may take is checked against Unicode's character names, not
against the rule the code applies: under truecasing a letter may only change between SMALL and
CAPITAL, under diacritics only gain or lose a mark ("... WITH ACUTE"); anything else, a digit or
punctuation above all, comes out as it went in. Untrained models are the hardest case: nothing
but the mask keeps their random outputs in bounds. The masked loss is checked against
cross-entropy written out over the allowed outputs, and ``rnnlab tag eval`` against the run's
own derivation.
"""

import json
import math
import unicodedata

import pytest
import torch
from conftest import one_line_error

from rnnlab import checkpoint
from rnnlab.cli import main
from rnnlab.config import TagDataConfig, TagTrainConfig
from rnnlab.data import UNK_DISPLAY, Vocab
from rnnlab.errors import UserError
from rnnlab.tag import DERIVE, TagData, TagModel, TagModelConfig, TagTask, allowed_outputs, load_tagger, train_tagger
from rnnlab.tag.infer import Tagger
from rnnlab.training import Trainer

LINES = {
    "truecase": ["Section 5 And 12. See RFC 822, p. 4.", "The GNU Project (1983) and UNIX; ok?", "4. Le Système: Élan, 3 x 7 = 21!"],
    "diacritics": ["le système a 12 règles; voir § 5.", "Où est l'école? À côté, n° 4.", "Ça coûte 3,50 € (été 1999)!"],
}
PROBES = ["section 5 and 12.", "4.", "le systeme", "le systeme est a cote: 42 (ok)!"]


def may_become(derive: str, c: str, o: str) -> bool:
    """Whether the task may turn input character ``c`` into ``o``, by their Unicode names."""
    if o == c:
        return True
    if not (c.isalpha() and o.isalpha()):
        return False
    if derive == "truecase":
        return unicodedata.name(o).replace(" CAPITAL ", " SMALL ") == unicodedata.name(c)
    return unicodedata.name(o).split(" WITH ")[0] == unicodedata.name(c)


def check_outputs(derive: str, tagger: Tagger, texts: list[str]) -> None:
    """Every output, and every output ``transduce`` names among its top choices, is one the task
    allows; every allowed output is named, so the mask is exactly the rule."""
    outs = tagger.transduce(texts, top_k=len(tagger.out_vocab))
    for text, got in zip(texts, outs):
        assert len(got.text) == len(text)
        for j, (c, o) in enumerate(zip(text, got.text)):
            assert may_become(derive, c, o), (text, j, c, o)
            named = {tagger.out_vocab.chars[i] for i in got.top_ids[j].tolist() if i >= 0}
            if c not in tagger.in_vocab.stoi or c == "\n":
                assert o == c and not named  # passes through, nothing predicted
                continue
            assert named == {t for t in tagger.out_vocab.chars if may_become(derive, c, t)}, (c, named)
            assert (got.top_p[j][got.top_ids[j] < 0] == 0).all()
            assert float(got.top_p[j].sum()) == pytest.approx(1.0, abs=1e-9)


# ------------------------------------------------------------------------------ the rule


def test_allowed_outputs_by_hand():
    in_vocab = Vocab((UNK_DISPLAY, "1", ".", "a", "e", "k", "q"), unk=0)
    out_vocab = Vocab(("1", ".", "A", "a", "E", "e", "É", "é", "K", "k", "\u212a"))  # the last: KELVIN SIGN, lower-cased "k"
    want = {
        "truecase": {"1": "1", ".": ".", "a": "Aa", "e": "Ee", "k": "Kk\u212a"},
        "diacritics": {"1": "1", ".": ".", "a": "a", "e": "eé", "k": "k"},
    }
    for derive, rows in want.items():
        got = allowed_outputs(derive, in_vocab, out_vocab)
        for i, c in enumerate(in_vocab.chars):
            names = {out_vocab.chars[j] for j in got[i].nonzero().flatten().tolist()}
            # The unknown symbol and "q" (no output derives to it) keep every output.
            assert names == set(rows.get(c, out_vocab.chars)), (derive, c)
    assert allowed_outputs(None, in_vocab, out_vocab) is None


@pytest.mark.parametrize("bidirectional", [True, False])
def test_masked_loss_is_cross_entropy_over_the_allowed_outputs(bidirectional):
    torch.manual_seed(0)
    v_in, v_out = 7, 11
    cfg = TagModelConfig(
        vocab_size=v_in, out_vocab=v_out, layers=2, hidden=5, embed=3, bidirectional=bidirectional, word_buckets=13, word_embed=2
    )
    model = TagModel(cfg).double().eval()
    model.set_word_chars(list("?abc d."))
    allowed = torch.rand(v_in, v_out) < 0.4
    allowed[torch.arange(v_in), torch.randint(0, v_out, (v_in,))] = True  # each row allows something
    lengths = torch.tensor([6, 2, 4])
    ids = torch.randint(0, v_in, (3, 6))
    targets = torch.stack([torch.multinomial(allowed[i].float(), 1)[0] for i in ids.flatten()]).view(3, 6)  # (B, T)
    with torch.no_grad():
        raw, _ = model(ids, lengths=lengths)  # (B, T, V_out), unmasked
    model.set_allowed(allowed)
    logits, loss = model(ids, targets, lengths)
    assert torch.equal(logits[~allowed[ids]], torch.full_like(logits[~allowed[ids]], float("-inf")))
    assert torch.equal(logits[allowed[ids]], raw[allowed[ids]])

    total, n = 0.0, 0
    for b in range(3):
        for t in range(int(lengths[b])):
            row = [float(raw[b, t, j]) for j in range(v_out) if allowed[ids[b, t], j]]
            top = max(row)
            total += top + math.log(sum(math.exp(z - top) for z in row)) - float(raw[b, t, targets[b, t]])
            n += 1
    assert abs(loss.item() - total / n) < 1e-12
    loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_pairs_a_derivation_cannot_give_are_refused():
    # "a" comes from "A" and "b" from "b": "a" -> "b" is no case of "a" (an input no output
    # derives to would allow every output).
    with pytest.raises(UserError, match="--derive truecase cannot turn 'a' into 'b'"):
        train_tagger([("ab", "bA")] * 30, data=TagDataConfig(derive="truecase"), config=TagTrainConfig(max_steps=1))


# ------------------------------------------------------------------------------ untrained and briefly trained


@pytest.mark.parametrize("derive", ["truecase", "diacritics"])
def test_an_untrained_derived_tagger_changes_only_case_or_marks(derive):
    torch.manual_seed(1)
    data = TagData([DERIVE[derive](line) for line in LINES[derive] * 8])
    model = TagModelConfig(layers=1, hidden=8, embed=4, word_buckets=17, word_embed=2)
    task = TagTask(data, model, TagTrainConfig(max_steps=1), TagDataConfig(derive=derive))
    trainer = Trainer(task)  # random weights, never stepped
    tagger = Tagger(trainer.model, task.in_vocab, task.out_vocab, task.data_config.max_len)
    check_outputs(derive, tagger, PROBES + [i for i, _ in map(DERIVE[derive], LINES[derive])] + ["✓ 中 ~\n5"])
    assert task.evaluate(trainer.model) < float("inf")  # validation's loss, over masked logits too


@pytest.mark.parametrize("derive", ["truecase", "diacritics"])
def test_a_tagger_trained_two_steps_keeps_digits_and_letters(tmp_path, capsys, derive):
    text = tmp_path / "text.txt"
    text.write_text("\n".join(LINES[derive] * 10) + "\n")
    run = tmp_path / "run"
    assert main(["tag", "train", "--derive", derive, str(text), "--out", str(run), "--tiny", "--max-steps", "2", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["tag", "predict", str(run), *PROBES]) == 0
    outs = capsys.readouterr().out.split("\n")[:-1]
    assert len(outs) == len(PROBES)
    for probe, out in zip(PROBES, outs):
        assert len(out) == len(probe) and all(may_become(derive, c, o) for c, o in zip(probe, out)), (probe, out)

    tagger = load_tagger(run)  # the mask comes from the checkpoint's --derive and vocabularies
    assert tagger.derive == derive
    check_outputs(derive, tagger, PROBES)
    ckpt = checkpoint.load(run / "last.pt", kind="tag")
    assert set(ckpt.weights) == set(TagModel(ckpt.model_config).state_dict())  # the mask is not saved


def test_a_pairs_file_tagger_may_take_any_output(tmp_path):
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("hello 42\tohlol 24\nab.c\tc.ba\n" * 10)
    run = tmp_path / "run"
    assert main(["tag", "train", str(pairs), "--out", str(run), "--tiny", "--max-steps", "2", "--quiet"]) == 0
    tagger = load_tagger(run)
    assert tagger.derive is None and tagger.model.allowed is None
    (got,) = tagger.transduce(["hello 42"], top_k=len(tagger.out_vocab))
    assert (got.top_ids >= 0).all() and sorted(got.top_ids[0].tolist()) == list(range(len(tagger.out_vocab)))


# ------------------------------------------------------------------------------ tag eval


@pytest.fixture(scope="module")
def truecase_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tc")
    (folder / "text.txt").write_text("\n".join(LINES["truecase"] * 10) + "\n")
    run = folder / "run"
    assert (
        main(["tag", "train", "--derive", "truecase", str(folder / "text.txt"), "--out", str(run), "--tiny", "--max-steps", "2", "--quiet"])
        == 0
    )
    return run


def _eval(capsys, *args) -> dict:
    capsys.readouterr()
    assert main(["tag", "eval", *map(str, args), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_eval_derives_a_plain_text_file_the_runs_way(tmp_path, capsys, truecase_run):
    held = tmp_path / "held.txt"
    text = "The GNU Project.\n\nSee RFC 822 and UNIX.\nno capitals here\n"
    held.write_text(text)
    got = _eval(capsys, truecase_run, held)
    assert got["lines"] == 3 and got["changed_chars"] == sum(c.isupper() for c in text)  # ASCII: upper case is what changes
    assert got == _eval(capsys, truecase_run, held, "--derive", "truecase")
    pairs = tmp_path / "held.tsv"  # a file with a tab is read as pairs, as before
    pairs.write_text("the gnu\tThe GNU\n")
    assert _eval(capsys, truecase_run, pairs)["changed_chars"] == 4


def test_eval_refuses_another_derivation_and_names_a_misread_text(tmp_path, capsys, truecase_run):
    held = tmp_path / "held.txt"
    held.write_text("le systeme\n")
    capsys.readouterr()
    one_line_error(
        capsys, main(["tag", "eval", str(truecase_run), str(held), "--derive", "diacritics"]), "--derive truecase, not diacritics"
    )
    held.write_text("a table\twith tabs\n")
    one_line_error(capsys, main(["tag", "eval", str(truecase_run), str(held)]), "--derive truecase reads it as text")
    assert main(["tag", "eval", str(truecase_run), str(held), "--derive", "truecase"]) == 0
