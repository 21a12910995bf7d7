"""What a lesson program did (:class:`LessonResult`) and the summary table printed at the end."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


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
    def final_loss(self) -> float:
        return self.losses[-1]

    @property
    def final_prediction(self) -> str:
        return self.predictions[-1]

    @property
    def final_correct(self) -> bool:
        return self.final_prediction == self.target_word

    def record(self, epoch: int, prediction: str, loss: float) -> None:
        """Add epoch ``epoch``'s (1-based) prediction and loss."""
        self.predictions.append(prediction)
        self.losses.append(loss)
        if self.first_hit is None and prediction == self.target_word:
            self.first_hit = epoch


def format_table(results: Sequence[LessonResult]) -> str:
    """A plain-text summary: program, final prediction, final loss, first epoch on target."""
    rows = [("program", "final prediction", "final loss", "first epoch on target")]
    for r in results:
        rows.append(
            (
                r.program,
                r.final_prediction,
                f"{r.final_loss:.4f}",
                "-" if r.first_hit is None else f"{r.first_hit}/{r.epochs}",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for j, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"
