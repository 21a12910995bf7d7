"""The result of checking one exercise: what passed, the first failure and its diagnosis, or why
the code cannot be checked; its exit status, its report in English or Chinese, and its JSON (the
form in which it leaves the checking process).

In a notebook the result's repr is its report, in the language of the locale.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from rnnlab.exercise import registry
from rnnlab.exercise.core import Failure, Msg, msg
from rnnlab.exercise.text import DOCS, LESSON_SECTIONS, render
from rnnlab.lesson.text import lesson_lang, pad

PASS, FAIL, ERROR = "pass", "fail", "error"
EXIT = {PASS: 0, FAIL: 3, ERROR: 2}  # the exit statuses of `rnnlab exercise check`
COLUMN = 9  # the width of the ok / FAILED / not run column
INDENT = " " * (2 + COLUMN)  # the report's lines under a check


@dataclass
class Result:
    """``status`` is ``pass`` (every check passed), ``fail`` (``failure`` says which check failed and
    why) or ``error`` (``error`` says why the code cannot be checked: a syntax error, a missing
    class ...); ``passed``: the checks that passed, each with what it covered; ``lang``: the
    language of the repr."""

    exercise: str
    source: str
    status: str
    passed: list[tuple[str, Msg | None]] = field(default_factory=list)
    failure: Failure | None = None
    error: Msg | None = None
    lang: str = field(default_factory=lambda: lesson_lang(os.environ))

    @property
    def exit_code(self) -> int:
        return EXIT[self.status]

    @property
    def ok(self) -> bool:
        return self.status == PASS

    def __repr__(self) -> str:
        return self.report()

    def report(self, lang: str | None = None) -> str:
        """The report: a line per check (passed, the first failure with what differs, its diagnosis
        and where to read about it, the checks not run), or the one line of an error."""
        lang = lang or self.lang
        if self.status == ERROR:
            return render(msg("report.error", error=self.error), lang)
        ex = registry.get(self.exercise)
        lines = [render(msg("report.head", name=ex.name, number=ex.number, title=ex.title[lang], source=self.source), lang)]
        done = dict(self.passed)
        failed_seen = False
        for check in ex.checks:
            title = check.title[lang]
            if check.key in done:
                covered = done[check.key]
                lines.append(
                    self._line("report.ok", render(msg("report.covered", title=title, what=covered), lang) if covered else title, lang)
                )
            elif self.failure is not None and check.key == self.failure.check:
                failed_seen = True
                case = self.failure.case
                lines.append(self._line("report.failed", render(msg("report.case", title=title, case=case), lang) if case else title, lang))
                lines += [INDENT + line for line in self._failure_lines(ex, lang)]
            else:
                lines.append(self._line("report.skipped", title, lang))
        if self.failure is not None and not failed_seen:  # a failure outside the declared checks (the process ended)
            lines.append(self._line("report.failed", "", lang))
            lines += [INDENT + line for line in self._failure_lines(ex, lang)]
        if self.status == PASS:
            lines.append(render(msg("report.passed", n=len(ex.checks)), lang))
        return "\n".join(lines)

    @staticmethod
    def _line(status: str, text: str, lang: str) -> str:
        return f"  {pad(render(msg(status), lang), COLUMN)}{text}".rstrip()

    def _failure_lines(self, ex, lang: str) -> list[str]:
        f = self.failure
        assert f is not None
        lines = [render(m, lang) for m in f.what]
        if f.where:
            lines.append(render(msg("report.where", where=f.where), lang))
        variants = [ex.variant(key) for key in f.diagnosis]
        if len(variants) == 1:
            lines.append(render(msg("report.diagnosis", label=variants[0].label[lang], why=variants[0].why[lang]), lang))
        elif variants:
            lines.append(render(msg("report.two"), lang))
            lines += [
                "  " + render(msg("report.one_of_two", n=n, label=v.label[lang], why=v.why[lang]), lang) for n, v in enumerate(variants, 1)
            ]
        elif f.advice:
            lines.append(render(msg("report.advice", advice=f.advice), lang))
        section = f.lesson or next((v.lesson for v in variants if v.lesson), "") or ex.lesson
        exercises_doc, lesson_doc = DOCS[lang]
        see = msg("report.see", exercises=exercises_doc, exercise=ex.name, lesson=lesson_doc, section=LESSON_SECTIONS[section][lang])
        lines.append(render(see, lang))
        return lines

    def summary(self, lang: str | None = None) -> str:
        """One line: passed, the failed check and its diagnosis, or why the code cannot be checked."""
        lang = lang or self.lang
        if self.status == PASS:
            return render(msg("summary.pass"), lang)
        if self.status == ERROR:
            return render(msg("summary.error", error=self.error), lang)
        ex = registry.get(self.exercise)
        f = self.failure
        assert f is not None
        check = next((c.title[lang] for c in ex.checks if c.key == f.check), f.check)
        why = " + ".join(ex.variant(k).label[lang] for k in f.diagnosis) or render(f.what[0], lang)
        return render(msg("summary.fail", check=check, why=why), lang)

    def to_json(self) -> dict:
        return {
            "exercise": self.exercise,
            "source": self.source,
            "status": self.status,
            "passed": [[key, covered and covered.to_json()] for key, covered in self.passed],
            "failure": self.failure and self.failure.to_json(),
            "error": self.error and self.error.to_json(),
        }

    @staticmethod
    def from_json(data: dict, lang: str | None = None) -> Result:
        return Result(
            data["exercise"],
            data["source"],
            data["status"],
            [(key, covered and Msg.from_json(covered)) for key, covered in data["passed"]],
            data["failure"] and Failure.from_json(data["failure"]),
            data["error"] and Msg.from_json(data["error"]),
            lang or lesson_lang(os.environ),
        )
