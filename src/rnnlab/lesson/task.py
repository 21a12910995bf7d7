"""The lesson's task and defaults: turn one word into another ("hello" -> "ohlol"), one output
character per input character, over the characters of both words.

The defaults are :mod:`rnnlab.config`'s (``LESSON_PROGRAMS``, ``LESSON_LR`` and the defaults of
``LessonConfig``), named here as the lesson has always named them; nothing is typed twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rnnlab import settings
from rnnlab.config import LESSON_LR, LESSON_PROGRAMS, LessonConfig
from rnnlab.errors import UserError

_DEFAULTS = LessonConfig()

PROGRAMS: tuple[str, ...] = LESSON_PROGRAMS
#: Per-program learning rates: the lecture's, and 0.1 for the LSTM/GRU homework (see rnnlab.config).
DEFAULT_LR: dict[str, float] = LESSON_LR
DEFAULT_EPOCHS: int = _DEFAULTS.epochs
#: Chosen so that all five programs print "ohlol" within 15 epochs with both impls
#: (see ``scripts/lesson_success_rates.py`` for how often that happens over seeds 0..49).
DEFAULT_SEED: int = _DEFAULTS.seed
DEFAULT_INPUT: str = _DEFAULTS.input
DEFAULT_TARGET: str = _DEFAULTS.target
#: Where the recurrent layers come from: torch.nn or rnnlab.nn (the choices of LessonConfig.impl).
IMPLS: tuple[str, ...] = next(settings.spec(f).choices for f in settings.fields(LessonConfig) if f.name == "impl")


@dataclass(frozen=True)
class Task:
    """One input word to transduce into one target word, over a character vocabulary."""

    input_word: str
    target_word: str
    idx2char: tuple[str, ...]
    x_data: tuple[int, ...]
    y_data: tuple[int, ...]

    @property
    def vocab_size(self) -> int:
        return len(self.idx2char)

    @property
    def seq_len(self) -> int:
        return len(self.x_data)

    def decode(self, ids: Sequence[int]) -> str:
        return "".join(self.idx2char[int(i)] for i in ids)


def make_task(input_word: str = DEFAULT_INPUT, target_word: str = DEFAULT_TARGET) -> Task:
    """The vocabulary is the sorted set of characters of both words ('e', 'h', 'l', 'o' for
    hello/ohlol); the words must be non-empty and of equal length (one output per input step)."""
    if not input_word or not target_word:
        which = "input" if not input_word else "target"
        raise UserError(f"the {which} word is empty; give two non-empty words of equal length")
    if len(input_word) != len(target_word):
        raise UserError(
            f"input {input_word!r} has {len(input_word)} characters but target {target_word!r} "
            f"has {len(target_word)}; they must be of equal length (one output per input step)"
        )
    idx2char = tuple(sorted(set(input_word) | set(target_word)))
    char2idx = {c: i for i, c in enumerate(idx2char)}
    return Task(
        input_word=input_word,
        target_word=target_word,
        idx2char=idx2char,
        x_data=tuple(char2idx[c] for c in input_word),
        y_data=tuple(char2idx[c] for c in target_word),
    )
