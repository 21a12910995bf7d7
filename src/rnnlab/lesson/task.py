"""The lesson's task (turn one word into another, "hello" -> "ohlol", one output character per input
character), what a program did (:class:`LessonResult`) and the summary table (in English or Chinese).

The defaults are :mod:`rnnlab.config`'s (``LESSON_PROGRAMS``, ``LESSON_LR`` and ``LessonConfig``'s
defaults, where the reasons for the learning rates and the seed are given), named here as the lesson
has always named them; nothing is typed twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from rnnlab.config import LESSON_LR, LESSON_PROGRAMS, LessonConfig
from rnnlab.errors import UserError
from rnnlab.lesson.text import message, pad, width

_DEFAULTS = LessonConfig()

PROGRAMS: tuple[str, ...] = LESSON_PROGRAMS
DEFAULT_LR: dict[str, float] = LESSON_LR
DEFAULT_EPOCHS: int = _DEFAULTS.epochs
DEFAULT_SEED: int = _DEFAULTS.seed


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


def make_task(input_word: str = _DEFAULTS.input, target_word: str = _DEFAULTS.target) -> Task:
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
    return Task(input_word, target_word, idx2char, tuple(char2idx[c] for c in input_word), tuple(char2idx[c] for c in target_word))


@dataclass
class LessonResult:
    """What one program did: per-epoch losses and predicted strings (epoch k at index k-1)."""

    program: str
    impl: str
    seed: int
    lr: float
    input_word: str
    target_word: str
    losses: list[float] = field(default_factory=list)
    predictions: list[str] = field(default_factory=list)
    #: first epoch (1-based) whose prediction equals the target exactly; None if never.
    first_hit: int | None = None

    @property
    def epochs(self) -> int:
        return len(self.losses)

    @property
    def final_correct(self) -> bool:
        return self.predictions[-1] == self.target_word

    def record(self, epoch: int, prediction: str, loss: float) -> None:
        """Add epoch ``epoch``'s (1-based) prediction and loss."""
        self.predictions.append(prediction)
        self.losses.append(loss)
        if self.first_hit is None and prediction == self.target_word:
            self.first_hit = epoch


def format_table(results: Sequence[LessonResult], lang: str = "en") -> str:
    """A plain-text summary: program, final prediction, final loss, first epoch on target; the
    headers in ``lang`` (see :mod:`rnnlab.lesson.text`), the columns aligned in a terminal's
    columns (a Chinese character takes two)."""
    rows = [tuple(message(f"table.{key}", lang) for key in ("program", "prediction", "loss", "first_hit"))]
    for r in results:
        rows.append((r.program, r.predictions[-1], f"{r.losses[-1]:.4f}", "-" if r.first_hit is None else f"{r.first_hit}/{r.epochs}"))
    widths = [max(width(row[i]) for row in rows) for i in range(len(rows[0]))]
    rows.insert(1, tuple("-" * w for w in widths))
    return "".join("  ".join(pad(cell, w) for cell, w in zip(row, widths)).rstrip() + "\n" for row in rows)
