"""What an exercise is made of: its entry (:class:`Exercise`), its checks, its known wrong variants,
and the messages a check gives when the student's code fails it.

A check is a function of the :class:`Context` (the student's class or function, and a cache the
checks share) that returns quietly, or a :class:`Msg` saying what it covered, or raises
:class:`Failed`: what differs, on which configuration, and the diagnosis. A diagnosis names a
:class:`Variant`, a known wrong version of the right answer whose outputs the student's code
reproduces on the same inputs: mistakes are recognised by what the code computes, never by
reading its text. Messages are keys of a table with a text per language (:mod:`.text`) and the
values of their placeholders, so that a result travels between processes as JSON and is read in
either language.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

LANGS_NEEDED = ("en", "zh")  # every text an exercise declares has both


@dataclass(frozen=True)
class Msg:
    """A message: the key of an entry in :data:`rnnlab.exercise.text.MESSAGES` (or of a variant,
    ``variant:KEY``) and the values of its placeholders (numbers, code, or other messages)."""

    key: str
    values: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"key": self.key, "values": {k: v.to_json() if isinstance(v, Msg) else v for k, v in self.values.items()}}

    @staticmethod
    def from_json(data: dict) -> Msg:
        values = {k: Msg.from_json(v) if isinstance(v, dict) and "key" in v else v for k, v in data.get("values", {}).items()}
        return Msg(data["key"], values)


def msg(key: str, **values: Any) -> Msg:
    return Msg(key, values)


@dataclass(frozen=True)
class Variant:
    """A known wrong version of the right answer. ``options`` tell the exercise's reference function
    what to do wrong (``{}`` is the right answer); ``label`` names the mistake in a few words and
    ``why`` says what torch.nn does instead and how to fix it, each in English and Chinese;
    ``lesson`` is the section of docs/lesson.md it concerns (a key of
    :data:`rnnlab.exercise.text.LESSON_SECTIONS`; empty: the exercise's own)."""

    key: str
    options: Mapping[str, Any]
    label: Mapping[str, str]
    why: Mapping[str, str]
    lesson: str = ""


@dataclass(frozen=True)
class Check:
    """One check: ``key`` names it in results, ``title`` in reports (English and Chinese); ``run``
    raises :class:`Failed` or returns what it covered (a :class:`Msg`, or None)."""

    key: str
    title: Mapping[str, str]
    run: Callable[[Context], Msg | None]


@dataclass(frozen=True)
class Exercise:
    """An exercise, whole: ``number`` is its place in the lecture's order; ``title`` its one line;
    ``target`` the class (an ``nn.Module``, ``kind="class"``) or function (``kind="function"``) the
    student's file defines; ``skeleton`` the file ``rnnlab exercise start`` writes, with comment
    lines tagged ``[en]`` or ``[zh]`` (:func:`rnnlab.exercise.skeleton.render`); ``checks`` run in
    order, the first failure ending the run; ``variants`` are the mistakes a diagnosis can name;
    ``lesson`` the section of docs/lesson.md it belongs to."""

    name: str
    number: int
    title: Mapping[str, str]
    target: str
    skeleton: str
    checks: tuple[Check, ...]
    variants: tuple[Variant, ...] = ()
    lesson: str = ""
    kind: str = "class"

    def variant(self, key: str) -> Variant:
        return next(v for v in self.variants if v.key == key)


class Failed(Exception):
    """A check failed: ``what`` differs (lines), on configuration ``case``; ``diagnosis``: the keys of
    the variants the code behaves like (one, or two mistakes at once), else ``advice``, a general
    diagnosis; ``lesson``: the section of docs/lesson.md to read (the variant's by default)."""

    def __init__(
        self,
        *what: Msg,
        case: Msg | None = None,
        diagnosis: tuple[str, ...] = (),
        advice: Msg | None = None,
        lesson: str = "",
        where: str = "",
    ):
        super().__init__(what[0].key if what else "failed")
        self.what, self.case, self.diagnosis, self.advice, self.lesson, self.where = what, case, diagnosis, advice, lesson, where


@dataclass
class Failure:
    """A failed check, as a result keeps it (see :class:`Failed`); ``where``: the line of the
    student's code an error or the time limit stopped at (``file:line``)."""

    check: str
    what: list[Msg]
    case: Msg | None = None
    diagnosis: list[str] = field(default_factory=list)
    advice: Msg | None = None
    lesson: str = ""
    where: str = ""

    def to_json(self) -> dict:
        return {
            "check": self.check,
            "what": [m.to_json() for m in self.what],
            "case": self.case and self.case.to_json(),
            "diagnosis": list(self.diagnosis),
            "advice": self.advice and self.advice.to_json(),
            "lesson": self.lesson,
            "where": self.where,
        }

    @staticmethod
    def from_json(data: dict) -> Failure:
        return Failure(
            data["check"],
            [Msg.from_json(m) for m in data["what"]],
            data["case"] and Msg.from_json(data["case"]),
            list(data["diagnosis"]),
            data["advice"] and Msg.from_json(data["advice"]),
            data["lesson"],
            data["where"],
        )


@dataclass
class Context:
    """What the checks of one run share: the exercise, the student's class or function, the files
    its code comes from (to point at its lines), and a cache (a forward pass computed by one check
    and read by the next)."""

    exercise: Exercise
    target: Any
    files: frozenset[str] = frozenset()
    cache: dict[Any, Any] = field(default_factory=dict)
