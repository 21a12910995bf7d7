"""Language modelling: training, resume, sampling, evaluation and the Python API."""

import math

import pytest
import torch
import torch.nn.functional as F
from conftest import CELL_IMPLS
from resume_check import assert_same_weights, straight_and_resumed

import rnnlab
from rnnlab import checkpoint
from rnnlab.cells import CELLS
from rnnlab.config import ModelConfig, SampleConfig, TrainConfig
from rnnlab.data import Vocab, corpus_from_text
from rnnlab.training import LMTask, Trainer

TEXT = "the cat sat on the mat. " * 40


def tiny(cell="lstm", impl="auto", **kw):
    return ModelConfig(cell=cell, layers=2, hidden=24, embed=8, impl=impl, dropout=kw.pop("dropout", 0.0)), TrainConfig(
        batch_size=4, seq_len=16, lr=1e-2, warmup_steps=2, eval_every=5, sample_chars=10, seed=3, **kw
    )


@pytest.mark.parametrize("cell", CELLS)
def test_overfits_a_short_text(cell):
    m, t = tiny(cell, max_steps=250, schedule="constant")
    trainer = Trainer(LMTask(corpus_from_text(TEXT), m, t))
    trainer.run()
    assert trainer.evaluate() < 0.3  # bits per character, from log2(14) ~ 3.8 at the start


@pytest.mark.parametrize("impl", ["torch", "reference"])
def test_resume_gives_the_same_final_weights(tmp_path, impl):
    corpus = corpus_from_text(TEXT * 3)
    m, t = tiny("lstm", impl=impl, max_steps=24, dropout=0.2)  # dropout: the RNG must resume too

    straight, second, first = straight_and_resumed(lambda d, **kw: Trainer(LMTask(corpus, m, t), run_dir=d, **kw), tmp_path, stop_at=11)
    assert first.progress.step < 24 and second.progress.step == 24
    assert_same_weights(straight, second)


def test_same_seed_same_sample(tmp_path):
    m, t = tiny(max_steps=10)
    (tmp_path / "r").mkdir()
    Trainer(LMTask(corpus_from_text(TEXT), m, t), run_dir=tmp_path / "r").run()
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
    Trainer(LMTask(corpus_from_text(TEXT), m, t), run_dir=tmp_path / "r").run()
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
    Trainer(LMTask(corpus_from_text(text), m, t), run_dir=tmp_path / "r").run()
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
    lm = rnnlab.train_lm(
        text=TEXT,
        out=tmp_path / "api",
        model=ModelConfig(hidden=16, layers=1, embed=8),
        config=TrainConfig(max_steps=5, batch_size=2, seq_len=8, sample_chars=0),
    )
    assert isinstance(lm.sample(10, seed=0), str)
    assert (tmp_path / "api" / "best.pt").is_file() and (tmp_path / "api" / "metrics.csv").is_file()


def test_checkpoint_is_plain_data_and_loads_weights_only(tmp_path):
    m, t = tiny(max_steps=5)
    (tmp_path / "r").mkdir()
    Trainer(LMTask(corpus_from_text(TEXT), m, t), run_dir=tmp_path / "r").run()
    ckpt = torch.load(tmp_path / "r" / "last.pt", weights_only=True)
    assert ckpt["format"] == "rnnlab-checkpoint" and ckpt["version"] == checkpoint.VERSION
    for key in ("kind", "model_config", "train_config", "data_config", "data", "model", "backend", "task"):
        assert key in ckpt
    for key in ("optimizer", "progress", "rng", "history"):
        assert key in ckpt
    assert ckpt["task"]["vocab"]["chars"] and ckpt["data"]["sha256"] and ckpt["data"]["source"] == "text"
    assert ckpt["progress"]["step"] == 5


@pytest.mark.parametrize("cell, impl", CELL_IMPLS)
def test_one_step_sampling_path_equals_the_full_forward(cell, impl):
    from rnnlab.model import CharRNN
    from rnnlab.stepper import Stepper

    torch.manual_seed(0)
    model = CharRNN(ModelConfig(vocab_size=7, cell=cell, layers=3, hidden=5, embed=4, impl=impl)).double().eval()
    ids = torch.randint(7, (2, 6))
    full, _, final = model(ids)  # (B, T, V)
    step = Stepper(model, model.init_state(2))
    for t in range(6):
        torch.testing.assert_close(step(ids[:, t]), full[:, t], rtol=0, atol=1e-10)
    state = step.state()
    for a, b in zip(state if cell == "lstm" else (state,), final if cell == "lstm" else (final,)):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-10)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("one_hot", [False, True])
def test_fast_sampler_writes_what_the_slow_loop_writes(cell, one_hot):
    """The generator's Stepper against the naive loop: one full forward (nn.LSTM etc.) per character."""
    from rnnlab.model import CharRNN
    from rnnlab.sampling import choose, generate

    torch.manual_seed(0)
    model = CharRNN(ModelConfig(vocab_size=11, cell=cell, layers=2, hidden=16, embed=6, one_hot=one_hot)).eval()
    prime = torch.randint(11, (3, 4))  # (B, P)
    sampling = SampleConfig(temperature=0.9, top_k=8, top_p=0.95)
    fast = torch.stack(list(generate(model, prime, 200, generator=torch.Generator().manual_seed(1), sampling=sampling)), 1)  # (B, 200)

    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        _, _, state = model(prime[:, :-1])
        ids, slow = prime[:, -1], []
        for _ in range(200):
            logits, _, state = model(ids[:, None], state=state)  # (B, 1, V)
            ids = choose(logits[:, 0], g, sampling)
            slow.append(ids)
    assert torch.equal(fast, torch.stack(slow, 1))


def test_stepper_state_and_logits_equal_forward_for_uint8_ids():
    from rnnlab.model import CharRNN
    from rnnlab.stepper import Stepper

    torch.manual_seed(0)
    model = CharRNN(ModelConfig(vocab_size=9, cell="lstm", layers=2, hidden=5, embed=4)).double().eval()
    ids = torch.randint(9, (2, 5), dtype=torch.uint8)  # compact ids, as the corpus stores them
    full, _, (h, c) = model(ids)  # (B, T, V)
    step = Stepper(model, model.init_state(2))
    for t in range(5):
        torch.testing.assert_close(step(ids[:, t]), full[:, t], rtol=0, atol=1e-10)
    sh, sc = step.state()
    torch.testing.assert_close(sh, h, rtol=0, atol=1e-10)
    torch.testing.assert_close(sc, c, rtol=0, atol=1e-10)


def test_the_draw_follows_the_probabilities_and_never_picks_excluded_characters():
    """choose() draws by the inverse of the cumulative distribution; check its frequencies against the probabilities."""
    from rnnlab.sampling import choose

    p = torch.tensor([0.5, 0.3, 0.15, 0.05, 0.0])
    logits = torch.log(p)[None].expand(20000, -1)  # (N, V), one draw per row
    drawn = choose(logits, torch.Generator().manual_seed(0))
    freq = torch.bincount(drawn, minlength=5).double() / 20000
    # 4 standard errors of a binomial proportion at N = 20000 is at most 0.0142.
    assert (freq - p.double()).abs().max() < 0.0142
    assert freq[4] == 0
    only = choose(torch.log(p)[None].expand(2000, -1), torch.Generator().manual_seed(1), SampleConfig(top_k=1))
    assert (only == 0).all()


EXTREME_TEMPERATURES = [5e-324, 1e-300, 1e-40, 1e-8, 0.01, 1.0, 100.0, 1e300, float("inf")]
EXTREME_LOGITS = {
    "ordinary": [2.0, 1.0, 0.5, -1.0, 0.0],
    "huge": [3e38, 2e38, -3e38, 0.0, 1e38],
    "tied": [1e30, 1e30, 1e30, 1e30, 1e30],
    "+inf": [float("inf"), 1.0, 0.0, float("inf"), -1.0],
    "-inf": [float("-inf")] * 4 + [0.0],
    "all -inf": [float("-inf")] * 5,
    "nan": [float("nan"), 1.0, 2.0, 0.0, float("nan")],
    "all nan": [float("nan")] * 5,
}


@pytest.mark.parametrize("name", EXTREME_LOGITS)
def test_no_temperature_or_logits_draw_an_id_outside_the_vocabulary(name):
    """Whatever the logits and the temperature, the probabilities are a distribution over the V
    characters and every draw is one of them; a tiny temperature draws the likeliest character.
    choose() draws from those probabilities at every temperature SampleConfig takes."""
    from rnnlab.config import TEMPERATURES
    from rnnlab.sampling import Draws, choose, inverse_cdf, probabilities

    logits = torch.tensor(EXTREME_LOGITS[name])[None].expand(64, -1)  # (B, V)
    finite = torch.nan_to_num(logits, nan=float("-inf"))
    for t in [*EXTREME_TEMPERATURES, 0.0]:
        for filters in ({}, {"top_k": 2}, {"top_p": 0.5}):
            probs = probabilities(logits, t, **filters)
            assert bool(torch.isfinite(probs).all()) and torch.allclose(probs.sum(-1), torch.ones(64)), (t, filters, probs[0])
            u = torch.tensor(Draws(torch.Generator().manual_seed(0), 64).next(), dtype=torch.float32)  # (B,): choose()'s numbers
            ids = inverse_cdf(probs, u)
            assert ids.shape == (64,) and int(ids.min()) >= 0 and int(ids.max()) < 5, (t, filters, ids)
            if t <= 1e-8 and name in ("ordinary", "huge", "nan"):
                assert bool((ids == finite[0].argmax()).all()), (t, ids)  # as greedy
            if t == 0 or TEMPERATURES[0] <= t <= TEMPERATURES[1]:
                drawn = choose(logits, torch.Generator().manual_seed(0), SampleConfig(temperature=t, **filters))
                assert torch.equal(drawn, ids), (t, filters, drawn, ids)
    assert bool((choose(logits, None, SampleConfig(greedy=True)) < 5).all())


def test_temperature_zero_is_greedy_and_the_bounds_are_one_pair():
    """0 means the likeliest character in the sampler, the command line and the server alike;
    the bounds of rnnlab sample, rnnlab report and the server are config.TEMPERATURES."""
    from rnnlab.config import TEMPERATURES, ReportConfig, ServeConfig
    from rnnlab.errors import UserError
    from rnnlab.sampling import choose
    from rnnlab.serve import requests

    logits = torch.randn(8, 7, generator=torch.Generator().manual_seed(0))
    assert torch.equal(choose(logits, torch.Generator().manual_seed(1), SampleConfig(temperature=0.0)), logits.argmax(-1))
    lo, hi = TEMPERATURES
    for cls in (SampleConfig, ReportConfig):
        for ok in (0.0, lo, 1.0, hi):
            assert cls(temperature=ok).temperature == ok
        for bad in (math.nextafter(lo, 0), math.nextafter(hi, math.inf), -0.5, 1e-40, 1e300, float("nan"), float("inf")):
            with pytest.raises(UserError, match="temperature must be 0"):
                cls(temperature=bad)
    for ok in (0.0, lo, hi):
        assert requests.completion({"temperature": ok}, {"tiny": None}, ServeConfig()).sampling.temperature == ok
    for bad in (math.nextafter(lo, 0), math.nextafter(hi, math.inf)):
        with pytest.raises(requests.RequestError, match="temperature must be 0"):
            requests.completion({"temperature": bad}, {"tiny": None}, ServeConfig())


def test_sampling_at_temperature_zero_equals_greedy(tmp_path):
    m, t = tiny(max_steps=20)
    trainer = Trainer(LMTask(corpus_from_text(TEXT), m, t))
    trainer.run()
    lm = rnnlab.LanguageModel(trainer.model, trainer.task.vocab, trainer.device)
    assert lm.sample(60, "the ", temperature=0) == lm.sample(60, "the ", greedy=True)


def test_decoding_in_blocks_changes_nothing():
    from rnnlab.lm import decode_steps

    vocab = Vocab(tuple("abcde"))
    steps = [torch.randint(5, (3,), generator=torch.Generator().manual_seed(i)) for i in range(10)]
    one = list(decode_steps(iter(steps), vocab, 1))
    assert len(one) == 10 and all(len(s) == 3 for s in one)
    for block in (3, 10, 32):
        assert list(decode_steps(iter(steps), vocab, block)) == one


def test_auto_picks_the_backend_per_cell_and_device_and_checkpoints_cross_over(tmp_path):
    from rnnlab import nn as ref
    from rnnlab.cells import resolve_impl
    from rnnlab.model import CharRNN

    assert resolve_impl("auto", "gru", "cpu") == "fused" and resolve_impl("auto", "gru", "cuda") == "torch"
    assert resolve_impl("auto", "gru", "cpu", batch_size=32) == "fused"
    assert resolve_impl("auto", "gru", "cpu", batch_size=64) == "torch"
    assert resolve_impl("auto", "lstm", "cpu") == "torch" and resolve_impl("reference", "gru", "cuda") == "reference"
    assert resolve_impl("auto", "rnn", "cpu", batch_size=64) == "fused"
    assert resolve_impl("auto", "rnn", "cpu", batch_size=128) == "torch"
    for cell in ("mingru", "minlstm"):  # the step loop on a CPU, the parallel scan elsewhere
        assert resolve_impl("auto", cell, "cpu") == "reference" and resolve_impl("auto", cell, "cuda") == "fused"
        assert not CharRNN(ModelConfig(vocab_size=5, cell=cell)).rnn.fused
        assert CharRNN(ModelConfig(vocab_size=5, cell=cell, impl="fused")).rnn.fused
    assert isinstance(CharRNN(ModelConfig(vocab_size=5, cell="gru")).rnn, ref.GRU)
    assert CharRNN(ModelConfig(vocab_size=5, cell="gru")).rnn.fused
    assert isinstance(CharRNN(ModelConfig(vocab_size=5, cell="lstm")).rnn, torch.nn.LSTM)

    m, t = tiny("gru", impl="auto", max_steps=6)
    (tmp_path / "r").mkdir()
    Trainer(LMTask(corpus_from_text(TEXT), m, t), run_dir=tmp_path / "r").run()
    ckpt = torch.load(tmp_path / "r" / "last.pt", weights_only=True)
    assert ckpt["model_config"]["impl"] == "auto" and ckpt["backend"] == "fused"  # what was asked, what ran
    ids = torch.randint(ckpt["model_config"]["vocab_size"], (2, 9))
    logits = {}
    for impl in ("auto", "torch", "reference"):
        model = CharRNN(ModelConfig(**{**ckpt["model_config"], "impl": impl})).eval()
        model.load_state_dict(ckpt["model"])
        logits[impl] = model(ids).logits
    torch.testing.assert_close(logits["auto"], logits["torch"], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(logits["reference"], logits["torch"], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cell", ["gru", "rnn"])
def test_fused_layers_train_like_torch(cell):
    """A few optimizer steps with the fused backend against torch.nn's layer from the same start."""
    from rnnlab.model import CharRNN

    torch.manual_seed(0)
    ids = torch.randint(9, (4, 13))
    models = {
        impl: CharRNN(ModelConfig(vocab_size=9, cell=cell, layers=2, hidden=6, embed=5, impl=impl)).double() for impl in ("fused", "torch")
    }
    models["fused"].load_state_dict(models["torch"].state_dict())
    for model in models.values():
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        state = None
        for s in range(0, 12, 4):
            out = model(ids[:, s : s + 4], ids[:, s + 1 : s + 5], state)
            opt.zero_grad()
            out.loss.backward()
            opt.step()
            state = out.state.detach()
    for (name, a), b in zip(models["fused"].named_parameters(), models["torch"].parameters()):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10, msg=name)


def test_adamw_decays_matrices_only_and_equals_adam_without_decay():
    from rnnlab.model import CharRNN
    from rnnlab.training.optimizer import make_optimizer

    torch.manual_seed(0)
    model = CharRNN(ModelConfig(vocab_size=6, cell="gru", layers=2, hidden=5, embed=4)).double()
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    opt = make_optimizer(model, TrainConfig(lr=0.1, weight_decay=0.3))
    for p in model.parameters():
        p.grad = torch.zeros_like(p)  # no gradient: only the decay moves a weight
    opt.step()
    for name, p in model.named_parameters():
        expected = before[name] * (1 - 0.1 * 0.3) if p.dim() >= 2 else before[name]
        torch.testing.assert_close(p.detach(), expected, rtol=0, atol=1e-15, msg=name)

    runs = {}
    for optimizer in ("adam", "adamw"):
        torch.manual_seed(1)
        model = CharRNN(ModelConfig(vocab_size=6, layers=1, hidden=5, embed=4)).double()
        opt = make_optimizer(model, TrainConfig(lr=0.01, optimizer=optimizer))
        ids = torch.randint(6, (3, 9))
        for _ in range(5):
            opt.zero_grad()
            model(ids[:, :-1], ids[:, 1:]).loss.backward()
            opt.step()
        runs[optimizer] = model.state_dict()
    for k, v in runs["adam"].items():
        torch.testing.assert_close(runs["adamw"][k], v, rtol=0, atol=1e-12, msg=k)
