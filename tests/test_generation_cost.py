"""The recurrent advantage, tested: the 10,000th generated character costs the same work as the
10th, and generating 10,000 characters takes no more memory (peak heap within 5%) than 1,000.

A transformer re-reads its window (or a growing key/value cache) for every new character; a
recurrent model carries a state of fixed size, so both costs are flat. Work is counted, not
timed, so that a busy machine cannot fail the test: every tensor operation the generator runs is
seen by a ``TorchDispatchMode`` that adds up the elements it reads and writes (a matrix-vector
product reads its whole matrix). Seconds per character are a benchmark's business
(``benchmarks/sample_speed.py``). Memory is glibc's count of heap bytes in use (``mallinfo2``:
where torch's CPU allocator gets its memory), sampled while the characters are drawn, so a
tensor kept per generated character would show.
"""

import ctypes
import functools
import tracemalloc

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from rnnlab import sampling
from rnnlab.config import ModelConfig, SampleConfig
from rnnlab.model import CharRNN
from rnnlab.sampling import generate
from rnnlab.step_numpy import CELLS as NUMPY_CELLS
from rnnlab.stepper import Stepper


class MallInfo2(ctypes.Structure):
    _fields_ = [
        (n, ctypes.c_size_t)
        for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")
    ]


def heap_meter():
    try:
        libc = ctypes.CDLL("libc.so.6")
        fn = libc.mallinfo2
    except (OSError, AttributeError):
        pytest.skip("needs glibc 2.33 or newer (mallinfo2)")
    fn.restype = MallInfo2

    def in_use() -> int:
        m = fn()
        return m.uordblks + m.hblkhd  # small blocks in use + mmapped large ones

    return in_use


class WorkMeter(TorchDispatchMode):
    """Counts operations and the tensor elements they read and write."""

    def __init__(self):
        super().__init__()
        self.ops = self.elements = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        self.ops += 1
        self.elements += sum(t.numel() for t in tree_flatten((args, kwargs, out))[0] if isinstance(t, torch.Tensor))
        return out


def work_per_step(steps, at: set[int]) -> dict[int, tuple[int, int]]:
    """(operations, elements) spent producing step i of the iterator ``steps``, for each i in ``at``;
    the other steps run unmetered (the meter's Python hook is slow)."""
    seen = {}
    steps = iter(steps)
    for i in range(max(at) + 1):
        if i in at:
            with WorkMeter() as meter:
                next(steps)
            seen[i] = (meter.ops, meter.elements)
        else:
            next(steps)
    return seen


def model_for(cell: str) -> CharRNN:
    torch.manual_seed(0)
    return CharRNN(ModelConfig(vocab_size=96, cell=cell)).eval()  # the default size


PRIME = torch.tensor([[1, 2, 3]])


@pytest.mark.parametrize("cell", ["lstm", "mingru"])
def test_the_ten_thousandth_character_costs_what_the_tenth_did(cell, monkeypatch):
    # The meter counts torch's operations, so the LSTM steps in torch here; the NumPy step (one
    # stream on the CPU) is counted by the next test.
    monkeypatch.setattr(sampling, "Stepper", functools.partial(Stepper, numpy=False))
    seen = work_per_step(generate(model_for(cell), PRIME, 10_001, torch.Generator().manual_seed(0)), at={10, 1_000, 10_000})
    ops, elements = seen[10]
    assert ops > 5 and elements > 100_000  # the meter saw the step: a 2x256 LSTM reads ~0.8 M weights
    assert seen[1_000] == seen[10_000] == seen[10], seen


@pytest.mark.parametrize("cell", NUMPY_CELLS)
def test_the_numpy_step_allocates_at_the_ten_thousandth_character_what_it_did_at_the_tenth(cell):
    """NumPy's arrays are allocated through tracemalloc's hooks: what a NumPy step and its draw
    leave allocated (the new state, the logits, the id) and the peak of what they allocate on the
    way (a step that worked over a growing history would peak higher) are the same at every step."""
    step = Stepper(model_for(cell))
    assert step.one_stream
    ids, parts = torch.tensor([3]), [(1, sampling.Draws(torch.Generator().manual_seed(0), 1), SampleConfig())]
    seen = {}
    for i in range(10_001):
        if i in (10, 10_000):  # neither refills the draws' block of 64
            tracemalloc.start()
            ids = sampling.advance(step, ids, parts)
            snapshot, (_, peak) = tracemalloc.take_snapshot(), tracemalloc.get_traced_memory()
            tracemalloc.stop()
            stats = snapshot.statistics("filename")
            seen[i] = (sum(s.count for s in stats), sum(s.size for s in stats), peak)
        else:
            ids = sampling.advance(step, ids, parts)
    assert seen[10][0] > 0 and seen[10] == seen[10_000], seen


def test_the_work_meter_sees_a_growing_context():
    """The check above can fail: a generator that re-reads everything so far (a transformer
    without a window) costs more per step as it goes, and the meter says so."""

    def rereads_history(n):
        history = torch.zeros(1, 8)
        for _ in range(n):
            step = history.mean(0, keepdim=True)  # attends to every earlier position
            history = torch.cat([history, step])
            yield step

    seen = work_per_step(rereads_history(1_001), at={10, 1_000})
    assert seen[1_000][1] > 50 * seen[10][1], seen


def peak_heap(model, n: int, in_use) -> int:
    """Peak heap bytes while generating n characters at batch 1."""
    peak = in_use()
    for i, _ in enumerate(generate(model, PRIME, n, torch.Generator().manual_seed(0))):
        if i % 25 == 0:
            peak = max(peak, in_use())
    return max(peak, in_use())


@pytest.mark.parametrize("cell", ["lstm", "mingru"])
def test_memory_does_not_grow_with_length(cell):
    in_use = heap_meter()
    model = model_for(cell)
    peak_heap(model, 200, in_use)  # warm-up: first calls allocate and pick kernels
    peak_short = max(peak_heap(model, 1_000, in_use) for _ in range(2))
    peak_long = max(peak_heap(model, 10_000, in_use) for _ in range(2))
    assert peak_long <= 1.05 * peak_short, (peak_short, peak_long)
    assert peak_long - peak_short < 256 * 1024  # not even a quarter of a megabyte more (10,000 kept (V,) rows would be 3.8 MB)


def test_a_long_prime_is_read_in_chunks_to_the_state_of_one_pass(monkeypatch):
    """A prompt's memory is one chunk's activations (rnnlab.memory counts it so): reading it a
    chunk at a time with the state carried gives the state of one pass over it (float64)."""
    from rnnlab import sampling

    torch.manual_seed(0)
    for cell in ("lstm", "gru"):
        model = CharRNN(ModelConfig(vocab_size=7, cell=cell, layers=2, hidden=5, embed=3)).double().eval()
        ids = torch.randint(0, 7, (2, 23))  # (B, P)
        whole = model(ids[:, :-1])[2]
        monkeypatch.setattr(sampling, "PRIME_CHUNK", 4)  # 22 characters: five full chunks and a short one
        chunked = sampling.read_prime(model, ids)
        monkeypatch.undo()
        for a, b in zip(*(s if isinstance(s, tuple) else (s,) for s in (whole, chunked))):
            torch.testing.assert_close(a, b)
        same = ids[:1].expand(3, -1)  # one prime for three rows: read once, the state repeated
        rows = sampling.read_prime(model, same)
        for a, b in zip(*(s if isinstance(s, tuple) else (s,) for s in (model(same[:, :-1])[2], rows))):
            torch.testing.assert_close(a, b)
