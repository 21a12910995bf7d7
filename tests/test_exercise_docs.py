"""docs/exercises.md and docs/exercises.zh.md stay true to the exercises they describe.

The reports name the sections of docs/lesson.md (docs/lesson.zh.md) by their headings and the
docs' paths, so those must exist; the docs' tables list the registry's exercises in order; their
links to the lesson's sections point to real headings (GitHub's anchors); the two languages show
the same code blocks; and the example report in each is exactly what the checker prints today.
"""

from __future__ import annotations

import re
import shutil
from collections import Counter
from pathlib import Path

import pytest

from rnnlab.exercise import registry, text
from rnnlab.exercise.run import check_file

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
EXERCISES = {"en": DOCS / "exercises.md", "zh": DOCS / "exercises.zh.md"}
LESSONS = {"en": DOCS / "lesson.md", "zh": DOCS / "lesson.zh.md"}
WRONG = ROOT / "tests" / "exercises" / "wrong"
REPORT_SOURCE = WRONG / "lstm_cell__order_ifog.py"  # an LSTM cell that reads its gates as i, f, o, g
REPORT_START = {"en": "lstm_cell (exercise 6", "zh": "lstm_cell（练习 6"}

FENCE = re.compile(r"^```[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)
HEADING = re.compile(r"^(#{1,6}) +(.+?) *#* *$")
TABLE_ROW = re.compile(r"^\| *(\d+) *\| *`([a-z_0-9]+)` *\|", re.M)
LESSON_LINK = re.compile(r"\]\((lesson(?:\.zh)?\.md)(?:#([^)\s]*))?\)")
RELATIVE_LINK = re.compile(r"\]\((?![a-z]+:|#)([^)#\s]+)(?:#[^)\s]*)?\)")


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def prose(markdown: str) -> str:
    """The text without its fenced code blocks (a shell comment there is no heading)."""
    return FENCE.sub("", markdown)


def code_blocks(markdown: str) -> list[str]:
    """The contents of the fenced code blocks, in order."""
    return FENCE.findall(markdown)


def headings(markdown: str, deepest: int = 6) -> list[str]:
    """The titles of the headings of level 1 to ``deepest``, in order."""
    return [m[2] for line in prose(markdown).splitlines() if (m := HEADING.match(line)) and len(m[1]) <= deepest]


def slug(title: str) -> str:
    """GitHub's anchor for a heading: lowercase, every character but letters, digits, ``_``, ``-`` and
    spaces dropped (full-width punctuation too), spaces to ``-``."""
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


def anchors(markdown: str) -> list[str]:
    """Every heading's anchor, a repeated one numbered ``-1``, ``-2`` ... as GitHub does."""
    seen: Counter[str] = Counter()
    result = []
    for title in headings(markdown):
        base = slug(re.sub(r"`([^`]*)`", r"\1", title))
        result.append(f"{base}-{seen[base]}" if seen[base] else base)
        seen[base] += 1
    return result


def test_slug_follows_githubs_rule():
    assert slug("1. RNNCell (RNN 单元)") == "1-rnncell-rnn-单元"
    assert slug("1. RNNCell（RNN 单元）") == "1-rnncellrnn-单元"  # full-width parentheses are dropped, no space left
    assert slug("作业：LSTM 和 GRU") == "作业lstm-和-gru"
    assert slug("How often does it work?") == "how-often-does-it-work"
    assert slug("成功的概率有多大？") == "成功的概率有多大"
    assert anchors("# A\n```\n# not a heading\n```\n## A\n") == ["a", "a-1"]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_table_lists_every_exercise_in_order_with_its_number(lang):
    rows = [(int(number), name) for number, name in TABLE_ROW.findall(read(EXERCISES[lang]))]
    assert rows == [(registry.get(name).number, name) for name in registry.NAMES]
    assert [number for number, _ in rows] == list(range(1, len(registry.NAMES) + 1))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_lesson_sections_the_reports_name_are_headings(lang):
    titles = headings(read(LESSONS[lang]), deepest=3)
    missing = [sections[lang] for sections in text.LESSON_SECTIONS.values() if sections[lang] not in titles]
    assert not missing, f"not a heading of {LESSONS[lang].name}: {missing}; its headings: {titles}"


def test_the_docs_the_reports_name_exist():
    assert set(text.DOCS) == {"en", "zh"}
    for lang, paths in text.DOCS.items():
        for path in paths:
            assert (ROOT / path).is_file(), (lang, path)
    assert text.DOCS["en"] == (str(EXERCISES["en"].relative_to(ROOT)), str(LESSONS["en"].relative_to(ROOT)))
    assert text.DOCS["zh"] == (str(EXERCISES["zh"].relative_to(ROOT)), str(LESSONS["zh"].relative_to(ROOT)))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_links_to_the_lesson_point_to_its_headings(lang):
    links = LESSON_LINK.findall(prose(read(EXERCISES[lang])))
    assert links
    assert {file for file, _ in links} == {LESSONS[lang].name}, f"{EXERCISES[lang].name} links to the other language's lesson"
    valid = set(anchors(read(LESSONS[lang])))
    broken = [f"{file}#{anchor}" for file, anchor in links if anchor and anchor not in valid]
    assert not broken, f"no such heading in {LESSONS[lang].name}: {broken}; its anchors: {sorted(valid)}"


def test_both_languages_link_to_the_same_lesson_sections():
    """The n-th heading of lesson.md is the n-th of lesson.zh.md: each link goes to the same section."""
    en_anchors, zh_anchors = anchors(read(LESSONS["en"])), anchors(read(LESSONS["zh"]))
    assert len(en_anchors) == len(zh_anchors)

    def sections(lang: str, own: list[str]) -> list[int | str | None]:
        position = {anchor: i for i, anchor in enumerate(own)}
        return [position.get(a, f"no heading {a}") if a else None for _, a in LESSON_LINK.findall(prose(read(EXERCISES[lang])))]

    assert sections("zh", zh_anchors) == sections("en", en_anchors)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_relative_links_lead_to_files(lang):
    targets = RELATIVE_LINK.findall(prose(read(EXERCISES[lang])))
    assert targets
    missing = [target for target in targets if not (DOCS / target).exists()]
    assert not missing, missing


def test_the_two_languages_link_to_each_other():
    assert read(EXERCISES["zh"]).splitlines()[0] == "[English](exercises.md) | 简体中文"
    assert "English | [简体中文](exercises.zh.md)" in read(EXERCISES["en"])
    assert [len(m[1]) for line in prose(read(EXERCISES["zh"])).splitlines() if (m := HEADING.match(line))] == [
        len(m[1]) for line in prose(read(EXERCISES["en"])).splitlines() if (m := HEADING.match(line))
    ]


def split_report(blocks: list[str], lang: str) -> tuple[int, str]:
    """(the position, the text) of the one block that is a report."""
    found = [(i, block) for i, block in enumerate(blocks) if block.startswith(REPORT_START[lang])]
    assert len(found) == 1, f"{len(found)} code blocks start with {REPORT_START[lang]!r}, not one"
    return found[0]


def test_the_code_blocks_are_the_same_but_the_report():
    en, zh = code_blocks(read(EXERCISES["en"])), code_blocks(read(EXERCISES["zh"]))
    (en_at, _), (zh_at, _) = split_report(en, "en"), split_report(zh, "zh")
    assert en_at == zh_at, "the report is not in the same place in both languages"
    assert zh[:zh_at] + zh[zh_at + 1 :] == en[:en_at] + en[en_at + 1 :] != []


@pytest.fixture(scope="module")
def example_result(tmp_path_factory):
    """What the checker says of the docs' example: the wrong LSTM cell, as lstm_cell.py."""
    path = tmp_path_factory.mktemp("report") / "lstm_cell.py"
    shutil.copyfile(REPORT_SOURCE, path)
    result = check_file(path, "lstm_cell")
    assert result.exit_code == 3
    return result


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_example_report_is_the_checkers(example_result, lang):
    _, shown = split_report(code_blocks(read(EXERCISES[lang])), lang)
    assert shown.rstrip("\n") == example_result.report(lang)


def test_the_count_of_wrong_solutions_is_not_overstated():
    stated = re.findall(r"over (\d+) wrong ones", read(EXERCISES["en"]))
    assert len(stated) == 1, stated
    n = int(stated[0])
    assert n <= len([p for p in WRONG.iterdir() if p.is_file()])
    assert re.search(rf"{n} 多个\s*错误解法", read(EXERCISES["zh"])), "docs/exercises.zh.md does not state the same number"
