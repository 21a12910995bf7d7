"""One stream on the CPU steps in NumPy (``rnnlab.step_numpy``): the same logits and states as the
torch step to float rounding, from the same state at every step; greedy text identical for 2,000
characters of the shipped model; the report's reading the same; and the torch step wherever the
NumPy one does not apply."""

import pytest
import torch

import rnnlab
from rnnlab.config import ModelConfig, SampleConfig
from rnnlab.model import CharRNN
from rnnlab.sampling import generate
from rnnlab.step_numpy import CELLS
from rnnlab.stepper import Stepper

CLOSE = {"rtol": 1e-5, "atol": 1e-5}


def model_for(cell: str, **size) -> CharRNN:
    torch.manual_seed(0)
    return CharRNN(ModelConfig(vocab_size=7, cell=cell, **size)).eval()


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize(
    "size", [{"layers": 1, "hidden": 5, "embed": 3}, {"layers": 3, "hidden": 6, "embed": 4}, {"layers": 2, "hidden": 64, "one_hot": True}]
)
def test_each_step_equals_the_torch_step_from_the_same_state(cell, size):
    model = model_for(cell, **size)
    fast, slow = Stepper(model), Stepper(model, numpy=False)
    assert fast.numpy is not None and slow.numpy is None
    ids = torch.tensor([2])
    for _ in range(200):
        slow.states = [tuple(s.clone() for s in layer) for layer in fast.states]
        got, want = fast(ids), slow(ids)
        assert got.shape == want.shape == (1, 7) and got.dtype == want.dtype
        torch.testing.assert_close(got, want, **CLOSE)
        for mine, theirs in zip(fast.states, slow.states):
            for a, b in zip(mine, theirs):
                torch.testing.assert_close(a, b, **CLOSE)
        ids = torch.multinomial(torch.softmax(want, -1), 1, generator=torch.Generator().manual_seed(int(ids))).view(1)


def test_greedy_text_of_the_shipped_model_is_identical_for_2000_characters():
    lm = rnnlab.load("base")
    texts = []
    for numpy in (True, False):
        step = Stepper(lm.model, numpy=numpy)
        ids, out = torch.tensor([lm.vocab.stoi["T"]]), []
        for _ in range(2000):
            ids = step(ids).argmax(-1)
            out.append(int(ids))
        texts.append(out)
    assert texts[0] == texts[1]


def test_seeded_samples_are_reproducible():
    model = model_for("lstm", layers=2, hidden=32, embed=8)
    cfg, prime = SampleConfig(temperature=0.9), torch.tensor([[1, 2, 3]])
    runs = [torch.cat(list(generate(model, prime, 300, torch.Generator().manual_seed(5), sampling=cfg))).tolist() for _ in range(2)]
    assert runs[0] == runs[1] and len(set(runs[0])) > 3


@pytest.mark.parametrize("cell", CELLS)
def test_the_reports_reading_is_the_same(cell):
    model = model_for(cell, layers=2, hidden=8, embed=4)
    ids = torch.randint(0, 7, (1, 40), generator=torch.Generator().manual_seed(0))
    fast, slow = Stepper(model).read(ids), Stepper(model, numpy=False).read(ids)
    torch.testing.assert_close(fast.logits, slow.logits, **CLOSE)
    for a, b in zip(fast.states, slow.states):
        for x, y in zip(a, b):
            torch.testing.assert_close(x, y, **CLOSE)
    assert fast.inputs[0] is None and slow.inputs[0] is None
    for a, b in zip(fast.inputs[1:], slow.inputs[1:]):
        torch.testing.assert_close(a, b, **CLOSE)


def test_streams_joining_and_leaving_move_between_the_two_steps():
    model = model_for("gru", layers=2, hidden=8, embed=4)
    fast, slow = Stepper(model), Stepper(model, numpy=False)
    for step in (fast, slow):
        step(torch.tensor([1]))  # one stream: NumPy in fast
        step.add_rows(model.init_state(1))  # a second joins: torch
        step(torch.tensor([2, 3]))
        step.keep_rows(torch.tensor([1]))  # the first leaves: one stream again
        step(torch.tensor([4]))
    for a, b in zip(fast.state(), slow.state()):
        torch.testing.assert_close(a, b, **CLOSE)


@pytest.mark.parametrize(
    "why,build",
    [
        ("a cell NumPy has no step for", lambda: model_for("mingru", layers=1, hidden=8, embed=4)),
        ("blocks (norms, residual)", lambda: model_for("lstm", layers=2, hidden=8, embed=4, norm="layer", residual=True)),
        ("float64", lambda: model_for("lstm", layers=1, hidden=8, embed=4).double()),
    ],
)
def test_the_torch_step_where_numpys_does_not_apply(why, build):
    assert Stepper(build()).numpy is None, why
