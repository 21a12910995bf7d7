"""``rnnlab lesson --lang zh``: the headings, ``--shapes`` lines and table in Chinese, the lecture's
training lines unchanged; the language from the locale without ``--lang``; one table of messages
with a Chinese text for every English one; ``docs/lesson.zh.md`` runs the same commands."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from conftest import one_line_error

from rnnlab import lesson, settings
from rnnlab.cli import main
from rnnlab.config import LESSON_LANGS, LessonConfig
from rnnlab.errors import UserError
from rnnlab.lesson.text import MESSAGES, lesson_lang, width

DOCS = Path(__file__).resolve().parents[1] / "docs"
# The lecture's print formats, the same in every language.
RE_CELL = re.compile(r"^Predicted string: [a-z]+, Epoch \[\d+/\d+\] loss=\d+\.\d{4}$")
RE_SEQ = re.compile(r"^Predicted:  [a-z]+, Epoch \[\d+/\d+\] loss = \d+\.\d{3}$")
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def locale(monkeypatch):
    """Set the locale for one test: ``locale(LANG=..., LC_ALL=...)``; the variables not named are unset."""

    def set_locale(**env: str) -> None:
        for var in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
            if var in env:
                monkeypatch.setenv(var, env[var])
            else:
                monkeypatch.delenv(var, raising=False)

    return set_locale


def run_cli(capsys, *argv: str) -> str:
    rc = main(["lesson", *argv])
    out, err = capsys.readouterr()
    assert rc == 0 and err == "", err
    return out


def training_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("Predicted")]


def test_lang_zh_prints_chinese_and_the_lecture_lines(capsys, locale):
    locale(LANG="C.UTF-8")
    zh = run_cli(capsys, "--lang", "zh", "--epochs", "2", "--shapes")
    for text in (
        "== 程序 1（RNNCell，手写时间步循环，隐藏状态直接作为 logits）：RNNCell(input_size=4, hidden_size=4)，批量 batchSize=1 ==",
        "== 程序 2（RNN，一次调用处理整个序列）：",
        "== 程序 3（嵌入层 Embedding + RNN + 线性层 Linear）：Embedding(4, 10) -> RNN(10, 8, num_layers=2, batch_first=True) -> Linear(8, 4) ==",
        "== 作业（把程序 3 的 RNN 换成 LSTM）：",
        "== 作业（把程序 3 的 RNN 换成 GRU）：",
        "优化器 Adam，学习率 lr=0.1，训练 2 轮，随机种子 seed 2",
        "字符表 idx2char=['e', 'h', 'l', 'o']",
        "  第 3 步的 hidden = logits (batchSize, hiddenSize) 的形状：(1, 4)",
        "  隐藏状态 h_0 (numLayers, batchSize, hiddenSize) 的形状：(2, 1, 8)",
        "  细胞状态 c_0 (numLayers, batchSize, hiddenSize) 的形状：(2, 1, 8)",
    ):
        assert text in zh, text
    for english in ("Program", "Homework", "shape of", "epochs", "final prediction", "first epoch on target"):
        assert english not in zh, english
    # The training lines are the lecture's, character for character, and the same as in English.
    lines = training_lines(zh)
    assert len(lines) == 5 * 2
    assert all(RE_CELL.match(line) for line in lines[:2]) and all(RE_SEQ.match(line) for line in lines[2:]), lines
    en = run_cli(capsys, "--lang", "en", "--epochs", "2", "--shapes")
    assert training_lines(en) == lines
    assert len(en.splitlines()) == len(zh.splitlines())
    # Every other line but the table's rows (program names and numbers) is in Chinese.
    table = zh.splitlines()[-7:]
    assert table[0].split() == ["程序", "最终预测", "最终损失", "首次预测正确的轮次"]
    for line in zh.splitlines()[:-6]:
        assert not line or line in lines or CJK.search(line), line


def test_the_chinese_table_lines_up_in_a_terminal(capsys, locale):
    locale(LANG="C.UTF-8")
    header, rule, *rows = run_cli(capsys, "--lang", "zh", "--epochs", "1").splitlines()[-7:]
    columns = list(zip(*(line.split() for line in [header, *rows])))
    assert rule.split() == ["-" * max(map(width, column)) for column in columns]  # a rule as wide as the widest cell
    # Each column starts at the same terminal column (a Chinese character takes two) in every line.
    starts = [width(header[: m.start()]) for m in re.finditer(r"\S+", header)]
    assert [m.start() for m in re.finditer(r"\S+", rule)] == starts
    for row in rows:
        assert [m.start() for m in re.finditer(r"\S+", row)] == starts, row
    assert [row.split()[0] for row in rows] == list(lesson.PROGRAMS)


@pytest.mark.parametrize(
    "env, lang",
    [
        ({"LANG": "zh_CN.UTF-8"}, "zh"),
        ({"LANG": "C.UTF-8"}, "en"),
        ({"LC_ALL": "C", "LANG": "zh_CN.UTF-8"}, "en"),  # LC_ALL wins, as in setlocale
        ({"LC_MESSAGES": "zh_TW.UTF-8", "LANG": "en_US.UTF-8"}, "zh"),
        ({"LC_ALL": "", "LANG": "zh_CN.GB18030"}, "zh"),  # empty is unset
    ],
)
def test_the_language_follows_the_locale_without_lang(capsys, locale, env, lang):
    locale(**env)
    out = run_cli(capsys, "--program", "rnn", "--epochs", "1")
    heading = out.splitlines()[0]
    assert heading.startswith("== 程序 2（RNN" if lang == "zh" else "== Program 2 (RNN"), heading
    assert RE_SEQ.match(training_lines(out)[0])
    # --lang wins over the locale.
    other = "en" if lang == "zh" else "zh"
    assert run_cli(capsys, "--program", "rnn", "--epochs", "1", "--lang", other).splitlines()[0] != heading


def test_lesson_lang():
    assert lesson_lang({"LANG": "zh_CN.UTF-8"}) == "zh"
    assert lesson_lang({"LANG": "zh"}) == "zh"
    assert lesson_lang({"LC_ALL": "zh_SG"}) == "zh"
    for env in ({}, {"LANG": "C.UTF-8"}, {"LANG": "POSIX"}, {"LANG": "en_GB.UTF-8"}, {"LANG": "fr_FR.UTF-8"}, {"LANG": "zhx"}):
        assert lesson_lang(env) == "en", env
    assert lesson_lang({"LC_ALL": "en_US.UTF-8", "LC_MESSAGES": "zh_CN.UTF-8", "LANG": "zh_CN.UTF-8"}) == "en"


def test_bad_lang_is_a_one_line_error(capsys):
    rc = main(["lesson", "--lang", "xx", "--program", "rnn"])
    one_line_error(capsys, rc, "xx")
    with pytest.raises(UserError, match="lang must be one of en, zh"):
        lesson.train("rnn", epochs=1, lang="xx")


def test_the_setting_is_declared_once(capsys):
    (field,) = [f for f in settings.fields(LessonConfig) if f.name == "lang"]
    assert settings.spec(field).choices is LESSON_LANGS is lesson.LANGS
    assert LessonConfig().lang is None  # from the locale
    assert main(["lesson", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--lang {en,zh}" in help_text and "(default: from the locale" in help_text


def placeholders(text: str) -> list[tuple[str, str | None, str]]:
    return sorted((name, conversion, spec or "") for _, name, spec, conversion in string.Formatter().parse(text) if name is not None)


def test_every_message_has_every_language_with_the_same_placeholders():
    assert MESSAGES and lesson.MESSAGES is MESSAGES
    for key, texts in MESSAGES.items():
        assert tuple(texts) == LESSON_LANGS, key
        english = placeholders(texts["en"])
        for lang, text in texts.items():
            assert text.strip(), (key, lang)
            assert placeholders(text) == english, (key, lang)
    # The words a learner reads are translated (the shape names that are only code stay code).
    for key in MESSAGES:
        if key.startswith(("header.", "table.", "settings", "epochs.")) or key in ("shape", "shape.h0", "shape.step_input"):
            assert CJK.search(MESSAGES[key]["zh"]) and not CJK.search(MESSAGES[key]["en"]), key


def test_the_library_speaks_chinese_when_asked():
    written: list[str] = []
    result = lesson.train("gru", epochs=1, lang="zh", write=written.append)
    text = "".join(written)
    assert text.startswith("== 作业（把程序 3 的 RNN 换成 GRU）") and "训练 1 轮" in text
    assert result.epochs == 1
    assert lesson.format_table([result], "zh").split("\n")[0].split() == ["程序", "最终预测", "最终损失", "首次预测正确的轮次"]
    assert lesson.format_table([result]) == lesson.format_table([result], "en")


def code_blocks(path: Path) -> list[str]:
    return re.findall(r"^```[^\n]*\n(.*?)^```", path.read_text(encoding="utf-8"), re.M | re.S)


def test_the_chinese_walkthrough_runs_the_same_commands():
    en, zh = DOCS / "lesson.md", DOCS / "lesson.zh.md"
    assert zh.read_text(encoding="utf-8").splitlines()[0] == "[English](lesson.md) | 简体中文"
    assert code_blocks(zh) == code_blocks(en) != []
    # The same numbers: every number of the English page, and the success-rate rows byte for byte.
    numbers = re.compile(r"\d+(?:\.\d+)?(?:/\d+)?")
    assert set(numbers.findall(en.read_text(encoding="utf-8"))) <= set(numbers.findall(zh.read_text(encoding="utf-8")))
    rows = [line for line in en.read_text(encoding="utf-8").splitlines() if re.match(r"\| [a-z]+ \| \d+/50 \|", line)]
    assert len(rows) == 5 and all(row in zh.read_text(encoding="utf-8").splitlines() for row in rows)
