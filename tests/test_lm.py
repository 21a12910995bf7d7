"""Language modelling: training, resume, sampling, evaluation and the Python API."""

import math

import pytest
import torch
import torch.nn.functional as F

import rnnlab
from rnnlab import checkpoint
from rnnlab.config import ModelConfig, TrainConfig
from rnnlab.data import corpus_from_text
from rnnlab.train import Hooks, Trainer

TEXT = "the cat sat on the mat. " * 40


def tiny(cell="lstm", impl="torch", **kw):
    return ModelConfig(cell=cell, layers=2, hidden=24, embed=8, impl=impl, dropout=kw.pop("dropout", 0.0)), TrainConfig(
        batch_size=4, seq_len=16, lr=1e-2, warmup_steps=2, eval_every=5, sample_chars=10, seed=3, **kw
    )


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_overfits_a_short_text(cell):
    m, t = tiny(cell, max_steps=250, schedule="constant")
    trainer = Trainer(corpus_from_text(TEXT), m, t)
    trainer.run()
    assert trainer.evaluate() < 0.3  # bits per character, from log2(14) ~ 3.8 at the start


@pytest.mark.parametrize("impl", ["torch", "reference"])
def test_resume_gives_the_same_final_weights(tmp_path, impl):
    corpus = corpus_from_text(TEXT * 3)
    m, t = tiny("lstm", impl=impl, max_steps=24, dropout=0.2)  # dropout: the RNG must resume too

    straight = Trainer(corpus, m, t, run_dir=tmp_path / "a")
    (tmp_path / "a").mkdir()
    straight.run()

    class StopAt(Hooks):
        def __init__(self, event):
            self.event = event

        def on_step(self, trainer, info):
            if trainer.progress.step >= 11:
                self.event.set()

    import threading

    stop = threading.Event()
    (tmp_path / "b").mkdir()
    first = Trainer(corpus, m, t, run_dir=tmp_path / "b", hooks=StopAt(stop), stop=stop)
    result = first.run()
    assert result["reason"] == "interrupted" and first.progress.step < 24
    ckpt = checkpoint.load(tmp_path / "b" / checkpoint.LAST)
    second = Trainer(corpus, m, t, run_dir=tmp_path / "b", resume_from=ckpt)
    second.run()
    assert second.progress.step == 24
    for (name, a), (_, b) in zip(straight.model.state_dict().items(), second.model.state_dict().items()):
        assert torch.equal(a, b), name


def test_same_seed_same_sample(tmp_path):
    m, t = tiny(max_steps=10)
    (tmp_path / "r").mkdir()
    Trainer(corpus_from_text(TEXT), m, t, run_dir=tmp_path / "r").run()
    lm = rnnlab.load(tmp_path / "r")
    a = lm.sample(40, prime="the", seed=7)
    assert a == lm.sample(40, prime="the", seed=7)
    assert a != lm.sample(40, prime="the", seed=8)
    assert a.startswith("the") and len(a) == 43
    g = lm.sample(20, prime="the", greedy=True)
    assert g == lm.sample(20, prime="the", greedy=True, seed=99)


def test_eval_equals_hand_computed_cross_entropy(tmp_path):
    m, t = tiny("gru", max_steps=10)
    (tmp_path / "r").mkdir()
    Trainer(corpus_from_text(TEXT), m, t, run_dir=tmp_path / "r").run()
    lm = rnnlab.load(tmp_path / "r")
    lm.model.double()  # float64, so chunked and whole-text passes agree to rounding
    text = "the mat sat on the cat. the mat"
    r = lm.evaluate(text, chunk=7)  # chunks carry state: must equal one pass over the whole text
    stoi = lm.vocab.stoi
    ids = torch.tensor([[stoi[c] for c in text]])
    with torch.no_grad():
        logits, _, _ = lm.model(ids[:, :-1])
        nats = F.cross_entropy(logits[0].double(), ids[0, 1:]).item()
    assert r["chars"] == len(text) - 1
    assert r["nats"] == pytest.approx(nats, abs=1e-9)
    assert r["bpc"] == pytest.approx(nats / math.log(2), abs=1e-9)
    assert r["perplexity"] == pytest.approx(math.exp(nats), rel=1e-9)
    assert lm.score(text) == pytest.approx(r["bpc"])


def test_chinese_corpus_round_trip(tmp_path):
    text = "床前明月光，疑是地上霜。举头望明月，低头思故乡。\n" * 30
    m, t = tiny(max_steps=150, schedule="constant")
    (tmp_path / "r").mkdir()
    Trainer(corpus_from_text(text), m, t, run_dir=tmp_path / "r").run()
    lm = rnnlab.load(tmp_path / "r")
    out = lm.sample(24, prime="床前", greedy=True)
    assert out.startswith("床前明月光")
    assert set(out) <= set(text)


def test_top_k_and_top_p_restrict_the_draw():
    from rnnlab.sampling import filter_logits

    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    assert torch.isinf(filter_logits(logits, top_k=2)[0, 2:]).all()
    assert torch.isfinite(filter_logits(logits, top_k=2)[0, :2]).all()
    kept = torch.isfinite(filter_logits(logits, top_p=0.7)[0]).tolist()
    assert kept == [True, True, False, False]
    kept = torch.isfinite(filter_logits(logits, top_p=0.5)[0]).tolist()
    assert kept == [True, False, False, False]


def test_train_from_code_api(tmp_path):
    lm = rnnlab.train_lm(text=TEXT, out=tmp_path / "api", model=ModelConfig(hidden=16, layers=1, embed=8), config=TrainConfig(max_steps=5, batch_size=2, seq_len=8, sample_chars=0))
    assert isinstance(lm.sample(10, seed=0), str)
    assert (tmp_path / "api" / "best.pt").is_file() and (tmp_path / "api" / "metrics.csv").is_file()


def test_checkpoint_is_plain_data_and_loads_weights_only(tmp_path):
    m, t = tiny(max_steps=5)
    (tmp_path / "r").mkdir()
    Trainer(corpus_from_text(TEXT), m, t, run_dir=tmp_path / "r").run()
    ckpt = torch.load(tmp_path / "r" / "last.pt", weights_only=True)
    assert ckpt["format"] == "rnnlab-checkpoint" and ckpt["version"] == checkpoint.VERSION
    for key in ("model_config", "train_config", "vocab", "model", "optimizer", "progress", "rng", "history"):
        assert key in ckpt
    assert ckpt["progress"]["step"] == 5


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("impl", ["torch", "reference"])
def test_one_step_sampling_path_equals_the_full_forward(cell, impl):
    from rnnlab.model import CharRNN

    torch.manual_seed(0)
    model = CharRNN(ModelConfig(vocab_size=7, cell=cell, layers=3, hidden=5, embed=4, impl=impl)).double().eval()
    ids = torch.randint(7, (2, 6))
    full, _, final = model(ids)  # (B, T, V)
    state = model.init_state(2)
    for t in range(6):
        logits, state = model.step(ids[:, t], state)
        torch.testing.assert_close(logits, full[:, t], rtol=0, atol=1e-10)
    for a, b in zip(state if cell == "lstm" else (state,), final if cell == "lstm" else (final,)):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-10)
