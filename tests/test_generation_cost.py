"""The recurrent advantage, tested: generating 10,000 characters costs no more per character
(time within 20%) and no more memory (peak heap within 5%) than generating 1,000.

A transformer re-reads its window (or a growing key/value cache) for every new character; a
recurrent model carries a state of fixed size, so both costs are flat. Memory is glibc's count
of heap bytes in use (``mallinfo2``: where torch's CPU allocator gets its memory), sampled while
the characters are drawn, so a tensor kept per generated character would show.
"""

import ctypes
import time

import pytest
import torch

from rnnlab.config import ModelConfig
from rnnlab.model import CharRNN
from rnnlab.sampling import generate


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


def cost(model, n: int, in_use) -> tuple[float, int]:
    """Seconds per character and peak heap bytes while generating n characters at batch 1."""
    prime = torch.tensor([[1, 2, 3]])
    peak = in_use()
    t0 = time.perf_counter()
    for i, _ in enumerate(generate(model, prime, n, torch.Generator().manual_seed(0))):
        if i % 25 == 0:
            peak = max(peak, in_use())
    return (time.perf_counter() - t0) / n, max(peak, in_use())


@pytest.mark.parametrize("cell", ["lstm", "mingru"])
def test_time_and_memory_per_character_do_not_grow_with_length(cell):
    in_use = heap_meter()
    torch.manual_seed(0)
    model = CharRNN(ModelConfig(vocab_size=96, cell=cell)).eval()  # the default size
    cost(model, 200, in_use)  # warm-up: first calls allocate and pick kernels
    short, long = [], []
    for _ in range(3):  # interleaved, so that a busy moment of the machine falls on both
        short.append(cost(model, 1_000, in_use))
        long.append(cost(model, 10_000, in_use))
    per_char_short, per_char_long = min(s for s, _ in short), min(s for s, _ in long)
    assert per_char_long <= 1.2 * per_char_short, (per_char_short, per_char_long)
    peak_short, peak_long = max(m for _, m in short), max(m for _, m in long)
    assert peak_long <= 1.05 * peak_short, (peak_short, peak_long)
    assert peak_long - peak_short < 256 * 1024  # not even a quarter of a megabyte more (10,000 kept (V,) rows would be 3.8 MB)
