"""README.zh-CN.md (the Simplified Chinese README) stays in step with README.md.

Every change to the README changes the Chinese README with it. These checks catch what can be
compared without reading Chinese: the same headings at the same levels (with the same section
numbers and backticked names), byte-identical code blocks in the same order, the same link
targets, and every figure of README.md's tables present in the translation, so that commands and
numbers cannot drift apart between the two languages.
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EN = ROOT / "README.md"
ZH = ROOT / "README.zh-CN.md"

FENCE = re.compile(r"^```[^\n]*\n.*?^```[ \t]*$", re.M | re.S)
HEADING = re.compile(r"^(#{1,6}) +(.+?) *$")
LINK = re.compile(r"\]\(([^)\s]+)\)")
FIGURE = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+\.\d+")
LANGUAGE_LINKS = {"README.md", "README.zh-CN.md"}  # the "English | 简体中文" switch at the top


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def code_blocks(text: str) -> list[str]:
    """The fenced code blocks, fences and info strings included, in order."""
    return FENCE.findall(text)


def prose(text: str) -> str:
    """The text with every fenced code block removed (a `#` comment in a block is no heading)."""
    return FENCE.sub("", text)


def headings(text: str) -> list[tuple[int, str]]:
    """(level, title) of each heading outside code fences."""
    return [(len(m[1]), m[2]) for line in prose(text).splitlines() if (m := HEADING.match(line))]


def section_number(title: str) -> str | None:
    """The leading section number, like "3." in "3. Character language models"."""
    m = re.match(r"\d+(?:\.\d+)*\.", title)
    return m[0] if m else None


def backticked(title: str) -> list[str]:
    return re.findall(r"`[^`]+`", title)


def link_targets(text: str) -> set[str]:
    return set(LINK.findall(prose(text))) - LANGUAGE_LINKS


def table_figures(text: str) -> set[str]:
    """Numbers with a thousands separator or a decimal point on table lines."""
    lines = [line for line in prose(text).splitlines() if line.lstrip().startswith("|")]
    return {figure for line in lines for figure in FIGURE.findall(line)}


def test_both_readmes_exist_and_link_to_each_other():
    assert EN.is_file() and ZH.is_file()
    assert "](README.md)" in read(ZH)


def test_headings_match_in_level_number_and_code():
    en, zh = headings(read(EN)), headings(read(ZH))
    assert [level for level, _ in zh] == [level for level, _ in en], (en, zh)
    for (_, e), (_, z) in zip(en, zh):
        assert section_number(z) == section_number(e), (e, z)
        assert backticked(z) == backticked(e), (e, z)


def test_code_blocks_are_identical_and_in_the_same_order():
    assert code_blocks(read(ZH)) == code_blocks(read(EN))


def test_link_targets_are_the_same():
    assert link_targets(read(ZH)) == link_targets(read(EN))


def test_every_table_figure_appears_in_the_translation():
    in_zh = set(FIGURE.findall(read(ZH)))
    missing = sorted(table_figures(read(EN)) - in_zh)
    assert not missing, f"figures of README.md's tables missing from README.zh-CN.md: {missing}"
