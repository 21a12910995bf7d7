"""``rnnlab tag train --init-from``: a tagger's embedding and recurrent layers from a language model.

What it promises is checked against the language model itself: at the start, the tagger's
forward direction computes exactly the language model's hidden states (the backward half of its
upper layers' input weights is zero), each input character's embedding is the language model's
row for the same character, whatever the ids, and a character the language model never saw gets
the mean of its rows.
"""

import pytest
import torch
from conftest import SMALL, one_line_error

from rnnlab import checkpoint, init_from, runs, settings
from rnnlab.cli import main
from rnnlab.data import UNK_DISPLAY, Vocab
from rnnlab.tag import TagModel, TagModelConfig, TagTrainConfig, derive_truecase, train_tagger
from rnnlab.tag.from_lm import TagStart, load_into

LINES = ["The Quick Brown Fox. It Jumps!", "a lazy Dog sleeps; Zed wakes it.", "Unix is not dead. Or is it?"] * 20


@pytest.fixture(scope="module")
def lm_run(tmp_path_factory):
    """A small language model (GRU, 2 layers of 6, embed 5: sizes unlike the tagger's defaults)."""
    folder = tmp_path_factory.mktemp("lm")
    (folder / "small.txt").write_text(SMALL)
    out = folder / "run"
    flags = ["--cell", "gru", "--layers", "2", "--hidden", "6", "--embed", "5", "--max-steps", "15", "--quiet"]
    assert main(["train", str(folder / "small.txt"), "--out", str(out), *flags]) == 0
    return out


def _forward_states(tagger: TagModel, ids: torch.Tensor) -> torch.Tensor:
    """The top forward layer's outputs (B, T, H), caught on its way into the concatenation."""
    caught = {}
    module = tagger.fwd[-1] if tagger.cfg.bidirectional else tagger.rnn

    def catch(module, inputs, output):  # returns None: the output goes on unchanged
        caught["h"] = output[0]

    handle = module.register_forward_hook(catch)
    tagger(ids)
    handle.remove()
    return caught["h"]


@pytest.mark.parametrize("bidirectional", [True, False])
def test_the_forward_direction_starts_as_the_language_model(lm_run, bidirectional):
    start = TagStart(init_from.read(str(lm_run)))
    lm_ckpt = start.lm.ckpt
    # The tagger's own input vocabulary: its unknown/padding symbol first, a character the
    # language model never saw ("Z"), the rest in another order than the language model's.
    in_vocab = Vocab((UNK_DISPLAY, "Z", *sorted(set(SMALL) - {"\n"}, reverse=True)), unk=0)
    cfg = start.model_config({"bidirectional": bidirectional, "word_buckets": 64})
    assert (cfg.cell, cfg.layers, cfg.hidden, cfg.embed) == ("gru", 2, 6, 5)
    cfg = settings.replace(cfg, vocab_size=len(in_vocab), out_vocab=3)
    tagger = TagModel(cfg).double().eval()
    load_into(tagger, start.weights_for(cfg, in_vocab))
    tagger.set_word_chars(in_vocab.chars)  # the words are read, but their rows start at zero: they add nothing yet
    assert tagger.word is not None and tagger.word_rows(torch.tensor([[in_vocab.chars.index("a")]])).item() > 0
    lm = runs.build_model(lm_ckpt).double().eval()

    text = "a lazy dog jumps. a quick fox"
    tag_ids = torch.tensor([[in_vocab.chars.index(c) for c in text]])  # (1, T)
    lm_ids = torch.tensor([[lm_ckpt.task.vocab.chars.index(c) for c in text]])  # (1, T)
    lm_states, _ = lm.rnn(lm.embed(lm_ids))  # (1, T, H)
    torch.testing.assert_close(_forward_states(tagger, tag_ids), lm_states, rtol=0, atol=1e-12)

    emb = lm.embed.weight.detach()
    assert torch.equal(tagger.embed.weight[in_vocab.chars.index("q")], emb[lm_ckpt.task.vocab.chars.index("q")])
    assert torch.allclose(tagger.embed.weight[1], emb.mean(0))  # "Z": the language model's mean row
    if bidirectional:  # the backward direction: the same weights, its own half of the upper input
        h = cfg.hidden
        torch.testing.assert_close(tagger.bwd[1].weight_ih_l0[:, h:], lm.rnn.weight_ih_l1.detach())
        assert not tagger.bwd[1].weight_ih_l0[:, :h].any() and not tagger.fwd[1].weight_ih_l0[:, h:].any()


def test_cli_records_the_start_trains_and_refuses_what_does_not_fit(lm_run, tmp_path, capsys):
    pairs = tmp_path / "lines.txt"
    pairs.write_text("\n".join(LINES) + "\n")
    out = tmp_path / "tag"
    rc = main(["tag", "train", "--derive", "truecase", str(pairs), "--init-from", str(lm_run), "--max-steps", "8", "--out", str(out)])
    assert rc == 0
    err = capsys.readouterr().err
    assert f"started from {lm_run}" in err
    ckpt = checkpoint.load(out / "last.pt", kind="tag")
    assert ckpt.train_config.init_from == str(lm_run) and ckpt.task.origin["init_from"] == str(lm_run)
    assert (ckpt.model_config.cell, ckpt.model_config.hidden) == ("gru", 6)
    # Its recurrent weights moved from the language model's: it trained.
    lm = checkpoint.load(lm_run / "best.pt", kind="lm")
    assert not torch.equal(ckpt.weights["fwd.0.weight_hh_l0"], lm.weights["rnn.weight_hh_l0"])
    # Resumed, it keeps where it came from.
    assert main(["tag", "train", "--resume", str(out), "--max-steps", "10", "--quiet"]) == 0
    assert checkpoint.load(out / "last.pt", kind="tag").task.origin["init_from"] == str(lm_run)
    capsys.readouterr()

    rc = main(
        ["tag", "train", "--derive", "truecase", str(pairs), "--init-from", str(lm_run), "--hidden", "64", "--out", str(tmp_path / "x")]
    )
    one_line_error(capsys, rc, "--hidden 64 does not fit")
    rc = main(["tag", "train", "--derive", "truecase", str(pairs), "--init-from", str(out), "--out", str(tmp_path / "y")])
    one_line_error(capsys, rc, "not a language-model run")
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_a_residual_language_model_is_refused(tmp_path, capsys):
    (tmp_path / "s.txt").write_text(SMALL)
    lm = tmp_path / "res"
    flags = ["--cell", "mingru", "--residual", "--layers", "2", "--hidden", "8", "--max-steps", "3", "--quiet"]
    assert main(["train", str(tmp_path / "s.txt"), "--out", str(lm), *flags]) == 0
    capsys.readouterr()
    rc = main(["tag", "train", "--derive", "truecase", str(tmp_path / "s.txt"), "--init-from", str(lm), "--out", str(tmp_path / "t")])
    one_line_error(capsys, rc, "plain stack")


def test_python_api(lm_run):
    pairs = [derive_truecase(line) for line in LINES]
    tagger = train_tagger(pairs, config=TagTrainConfig(max_steps=3, eval_every=3), init_from=lm_run)
    assert tagger.model.cfg.hidden == 6 and len(tagger.predict("the unix way")) == len("the unix way")
    with pytest.raises(Exception, match="does not fit"):
        train_tagger(pairs, model=TagModelConfig(hidden=64), config=TagTrainConfig(max_steps=3), init_from=lm_run)
