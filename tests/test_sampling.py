"""Sampling settings are one object: a ``SampleConfig`` goes unchanged from the command line or a
request body to the sampler (``generate``, ``choose``, ``choose_many``), and anything else is
refused there, in one clear line."""

import math

import pytest
import torch

import rnnlab
from rnnlab.cli import main
from rnnlab.config import TEMPERATURES, ModelConfig, SampleConfig, ServeConfig
from rnnlab.model import CharRNN
from rnnlab.sampling import Draws, choose, choose_many, filter_of, generate, inverse_cdf, probabilities
from rnnlab.serve import requests

MODELS = {"tiny": None}  # requests.completion only checks the name


def tiny_model() -> CharRNN:
    torch.manual_seed(0)
    return CharRNN(ModelConfig(vocab_size=9, layers=1, hidden=8, embed=4)).eval()


def test_generate_and_choose_take_a_sample_config_and_refuse_a_dict():
    model, prime = tiny_model(), torch.zeros(2, 3, dtype=torch.long)
    cfg = SampleConfig(temperature=0.7, top_k=4, top_p=0.9)
    steps = list(generate(model, prime, 5, torch.Generator().manual_seed(0), None, cfg))
    assert len(steps) == 5 and all(s.shape == (2,) for s in steps)
    logits = torch.randn(3, 9, generator=torch.Generator().manual_seed(1))  # (B, V)
    assert choose(logits, torch.Generator().manual_seed(0), cfg).shape == (3,)
    assert choose_many(logits, [(1, Draws(None, 1), cfg), (2, Draws(None, 2), SampleConfig(greedy=True))]).shape == (3,)
    as_dict = {"temperature": 0.7, "top_k": 4}
    for call in (
        lambda: list(generate(model, prime, 5, None, None, as_dict)),
        lambda: choose(logits, None, as_dict),
        lambda: choose_many(logits, [(3, Draws(None, 3), as_dict)]),
    ):
        with pytest.raises(TypeError, match=r"SampleConfig, got dict"):
            call()


def test_the_filter_is_the_configs_and_greedy_is_temperature_zero():
    """What choose_many groups by is the SampleConfig's filter; greedy and temperature 0 are the
    same filter, whose probabilities are all on the likeliest character; length and seed play no part."""
    assert filter_of(SampleConfig(temperature=0.5, top_k=3, top_p=0.9, seed=1, length=7)) == (0.5, 3, 0.9)
    assert filter_of(SampleConfig(temperature=0)) == filter_of(SampleConfig(greedy=True, temperature=0.5, top_k=2)) == (0.0, None, None)
    logits = torch.randn(4, 6, generator=torch.Generator().manual_seed(0))  # (B, V)
    one_hot = torch.nn.functional.one_hot(logits.argmax(-1), 6).float()
    assert torch.equal(probabilities(logits, *filter_of(SampleConfig(greedy=True))), one_hot)
    greedy = [SampleConfig(greedy=True, seed=s) for s in range(3)] + [SampleConfig(temperature=0)]
    parts = [(1, Draws(torch.Generator().manual_seed(i), 1), c) for i, c in enumerate(greedy)]
    assert torch.equal(choose_many(logits, parts), logits.argmax(-1))
    assert all(p[1].at == 0 for p in parts)  # greedy rows draw no number


def test_the_python_api_takes_a_config_or_keywords_and_they_agree():
    lm = rnnlab.load("base")
    cfg = SampleConfig(length=40, temperature=0.8, top_p=0.95, seed=3)
    text = lm.sample(cfg, prime="The ")
    assert text == lm.sample(40, prime="The ", temperature=0.8, top_p=0.95, seed=3) and len(text) == 44
    assert lm.sample(SampleConfig(length=40, seed=3), prime="The ", temperature=0.8, top_p=0.95) == text  # keywords over a config
    assert [s[0] for s in lm.iter_sample(cfg, "The ")] == list(text[4:])


def test_rnnlab_sample_hands_one_sample_config_down(monkeypatch, capsys):
    seen = []

    def iter_sample(self, sampling, prime="", num=1, keep=False, **fields):
        seen.append((sampling, prime, num, fields))
        return iter([["x"] * num])

    monkeypatch.setattr(rnnlab.LanguageModel, "iter_sample", iter_sample)
    argv = ["sample", "base", "--length", "7", "--temperature", "0.5", "--top-k", "3", "--top-p", "0.9", "--seed", "2", "--greedy"]
    assert main([*argv, "--prime", "ab"]) == 0
    want = SampleConfig(length=7, temperature=0.5, top_k=3, top_p=0.9, seed=2, greedy=True)
    assert seen == [(want, "ab", 1, {})] and type(seen[0][0]) is SampleConfig
    assert capsys.readouterr().out == "abx\n"


def test_a_request_body_becomes_one_sample_config():
    cfg = ServeConfig()
    body = {"model": "tiny", "max_tokens": 9, "temperature": 0, "top_k": 4, "top_p": 0.5, "seed": 11, "greedy": False}
    c = requests.completion(body, MODELS, cfg)
    assert c.sampling == SampleConfig(length=9, temperature=0.0, top_k=4, top_p=0.5, seed=11)  # 0 stays 0: greedy in the one filter
    assert requests.completion({"model": "tiny"}, MODELS, cfg).sampling == SampleConfig(length=requests.DEFAULT_MAX_TOKENS)
    assert requests.next_chars({"temperature": 0.3, "top_k": 2}, MODELS, cfg).sampling == SampleConfig(length=0, temperature=0.3, top_k=2)


@pytest.mark.parametrize("bad", [1e-40, 101, math.nextafter(TEMPERATURES[0], 0), -0.5])
def test_the_servers_temperature_bounds_are_rnnlab_samples(bad, capsys):
    """A body's temperature that SampleConfig refuses is a 400 naming ``temperature`` with the
    words (and the bounds) of ``rnnlab sample --temperature``."""
    assert main(["sample", "base", "--temperature", repr(float(bad))]) == 2
    cli = capsys.readouterr().err.split("argument --temperature: ", 1)[1].split(" (see ", 1)[0]
    for parse in (requests.completion, requests.next_chars):
        with pytest.raises(requests.RequestError) as e:
            parse({"model": "tiny", "temperature": bad}, MODELS, ServeConfig())
        assert e.value.status == 400 and e.value.param == "temperature" and e.value.message == f"temperature {cli}"
    lo, hi = TEMPERATURES
    assert f"between {lo:g} and {hi:g}" in cli


@pytest.mark.parametrize(
    "body, param",
    [({"top_p": 0}, "top_p"), ({"top_p": 1.5}, "top_p"), ({"top_k": 0}, "top_k"), ({"seed": 2**64}, "seed"), ({"top_k": 2**70}, "top_k")],
)
def test_every_sampling_field_is_checked_by_sample_config(body, param):
    from rnnlab.errors import UserError

    with pytest.raises(UserError) as want:
        SampleConfig(**body)
    with pytest.raises(requests.RequestError) as got:
        requests.completion({"model": "tiny", **body}, MODELS, ServeConfig())
    assert (got.value.status, got.value.param, got.value.message) == (400, param, str(want.value))
    with pytest.raises(requests.RequestError, match="temperature must be a number"):
        requests.completion({"model": "tiny", "temperature": "hot"}, MODELS, ServeConfig())  # JSON types stay the server's


@pytest.mark.parametrize("setting", [(1.0, None, None), (0.7, None, None), (1.3, 5, None), (0.9, None, 0.8)])
def test_the_draw_is_the_inverse_cdf_of_the_probabilities_row_for_row(setting):
    """The draw reads a row's total instead of checking every probability; it takes exactly the
    ids the inverse CDF of probabilities() takes with the same uniforms, and rows that are no
    distribution (NaN, all -inf) still get probabilities()' answer."""
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(64, 40, generator=gen) * 4  # (B, V)
    logits[3, 7] = float("nan")
    logits[5] = float("-inf")
    sampling = SampleConfig(temperature=setting[0], top_k=setting[1], top_p=setting[2])
    for trial in range(20):
        draws = Draws(torch.Generator().manual_seed(trial), 64)
        u = torch.tensor(Draws(torch.Generator().manual_seed(trial), 64).next(), dtype=torch.float32)
        got = choose(logits, draws, sampling)
        assert torch.equal(got, inverse_cdf(probabilities(logits, *filter_of(sampling)), u))
        clean = choose(logits[6:], Draws(torch.Generator().manual_seed(trial), 58), sampling)  # every row a distribution
        assert torch.equal(clean, inverse_cdf(probabilities(logits[6:], *filter_of(sampling)), u[:58]))


ROWS = {
    "ordinary": [2.0, 1.0, 0.5, -1.0, 0.0, 3.0],
    "huge": [3e38, 2e38, -3e38, 0.0, 1e38, 1.0],
    "+inf": [float("inf"), 1.0, 0.0, float("inf"), -1.0, 0.0],
    "all -inf": [float("-inf")] * 6,
    "nan": [float("nan"), 1.0, 2.0, 0.0, float("nan"), 0.5],
    "all nan": [float("nan")] * 6,
}


@pytest.mark.parametrize("name", ROWS)
@pytest.mark.parametrize("banned", [None, 2])
def test_one_streams_draw_in_numpy_is_choose_manys(name, banned):
    """choose_one (one stream, NumPy) takes the id choose() takes from the same row and the same
    seed, for greedy, temperatures across their bounds and the filters, with and without a banned
    id, whatever the row holds; and it draws as many numbers (the next draw agrees too)."""
    from rnnlab.sampling import choose_one

    row = torch.tensor(ROWS[name])
    for t in (0.0, TEMPERATURES[0], 0.5, 1.0, 1.7, TEMPERATURES[1]):
        for filters in ({}, {"top_k": 2}, {"top_p": 0.5}):
            cfg = SampleConfig(temperature=t, **filters)
            for seed in range(8):
                mine, theirs = (Draws(torch.Generator().manual_seed(seed), 1) for _ in range(2))
                for _ in range(2):
                    got = choose_one(row.numpy().copy(), mine, filter_of(cfg), banned)
                    want = int(choose(row[None], theirs, cfg, banned)[0])
                    assert got == want, (t, filters, seed, got, want)
                    assert got != banned or name in ("all -inf", "all nan"), got


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_generate_draws_the_same_text_with_and_without_the_numpy_path(cell, monkeypatch):
    """One stream on the CPU steps and draws in NumPy; the same seed gives the same characters as
    the torch step and choose() (logits equal to float rounding, the same uniforms)."""
    import functools

    from rnnlab import sampling
    from rnnlab.stepper import Stepper

    torch.manual_seed(0)
    model = CharRNN(ModelConfig(vocab_size=30, cell=cell, layers=2, hidden=24, embed=8)).eval()
    prime = torch.tensor([[1, 2, 3]])
    settings = [SampleConfig(temperature=0.8), SampleConfig(greedy=True), SampleConfig(top_k=5), SampleConfig(top_p=0.9)]

    def texts() -> list[list[int]]:
        return [torch.cat(list(generate(model, prime, 400, torch.Generator().manual_seed(3), 0, cfg))).tolist() for cfg in settings]

    fast = texts()
    assert Stepper(model).one_stream and not Stepper(model, numpy=False).one_stream
    monkeypatch.setattr(sampling, "Stepper", functools.partial(Stepper, numpy=False))
    assert fast == texts()
    assert all(0 not in t for t in fast) and len(set(fast[0])) > 5
