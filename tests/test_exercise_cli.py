"""``rnnlab exercise list|start|check``: the command line of lecture 12's exercises.

In-process through ``rnnlab.cli.main`` wherever the command starts no checking process; a check
runs the student's file in a child process (``rnnlab.exercise.child``), about a second and a half
of torch start each, so each kind of result is checked once; one run goes through ``python -m
rnnlab`` for the process's own exit status.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import one_line_error

from rnnlab.cli import main
from rnnlab.exercise import child, registry, template
from rnnlab.exercise.core import msg
from rnnlab.exercise.result import ERROR, PASS, Result
from rnnlab.exercise.status import FILE as STATUS_FILE

SOLUTION = Path(__file__).parent / "exercises" / "solutions" / "rnn_cell.py"
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def listed(capsys, folder: Path, lang: str) -> dict[str, str]:
    """``rnnlab exercise list`` in ``lang``: each exercise's line, by name (checked to be in order)."""
    assert main(["exercise", "list", str(folder), "--lang", lang]) == 0
    lines = capsys.readouterr().out.splitlines()
    names = [line.split()[1] for line in lines]
    assert names == list(registry.NAMES), lines
    return dict(zip(names, lines))


def solution(folder: Path, name: str = "rnn_cell.py", edit: tuple[str, str] | None = None) -> Path:
    """The reference solution of rnn_cell in ``folder``, with ``edit`` (old, new) made in it."""
    text = SOLUTION.read_text(encoding="utf-8")
    if edit is not None:
        assert edit[0] in text, edit
        text = text.replace(*edit)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def no_child(monkeypatch) -> None:
    """The command must refuse before it starts a checking process."""
    monkeypatch.setattr(child, "check_in_child", lambda *a: pytest.fail("a checking process was started"))


# --- help and start-up -------------------------------------------------------------------------


def test_help_imports_no_torch(tmp_path):
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "rnnlab", "exercise", "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    names = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "rnnlab.exercise.registry" in names and "torch" not in names  # (importtime misses importlib's imports)
    assert "list" in done.stdout and "start" in done.stdout and "check" in done.stdout


@pytest.mark.parametrize("argv", [["exercise"], ["exercise", "check"]])
def test_help_says_it_is_no_sandbox(argv, capsys):
    assert main([*argv, "--help"]) == 0
    assert "not a sandbox" in " ".join(capsys.readouterr().out.split())


# --- list --------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang, word", [("en", "not started"), ("zh", "未开始")])
def test_list_of_an_empty_folder(lang, word, tmp_path, capsys):
    lines = listed(capsys, tmp_path, lang)
    for name, line in lines.items():
        assert line.endswith(word), line
        assert registry.get(name).title[lang] in line
    numbers = [int(line.split()[0]) for line in lines.values()]
    assert numbers == [registry.get(name).number for name in registry.NAMES]


def test_list_after_start(tmp_path, capsys):
    assert main(["exercise", "start", "rnn_cell", str(tmp_path), "--lang", "en"]) == 0
    capsys.readouterr()
    lines = listed(capsys, tmp_path, "en")
    assert lines["rnn_cell"].endswith("started (rnn_cell.py), not checked")
    assert all(line.endswith("not started") for name, line in lines.items() if name != "rnn_cell")
    assert listed(capsys, tmp_path, "zh")["rnn_cell"].endswith("已开始（rnn_cell.py），尚未检查")


@pytest.mark.parametrize("what, needle", [("missing", "no such folder"), ("file", "is not a folder")])
def test_list_of_no_folder(what, needle, tmp_path, capsys):
    target = tmp_path / "x"
    if what == "file":
        target.write_text("x")
    one_line_error(capsys, main(["exercise", "list", str(target)]), needle)


# --- start -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", registry.NAMES)
def test_start_writes_the_marked_skeleton(name, tmp_path, capsys):
    assert main(["exercise", "start", name, str(tmp_path / "hw"), "--lang", "en"]) == 0
    path = tmp_path / "hw" / f"{name}.py"
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == f"# rnnlab exercise: {name}" and template.marked(text) == name
    assert text == template.skeleton(name, "en") and not CHINESE.search(text)
    assert f"class {registry.get(name).target}" in text or f"def {registry.get(name).target}" in text
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and str(path) in out and f"rnnlab exercise check {path}" in out


def test_start_keeps_the_students_work(tmp_path, capsys):
    path = tmp_path / "rnn_cell.py"
    path.write_text("# my work\n")
    one_line_error(capsys, main(["exercise", "start", "rnn_cell", str(tmp_path)]), "--force")
    assert path.read_text() == "# my work\n"
    assert main(["exercise", "start", "rnn_cell", str(tmp_path), "--force", "--lang", "en"]) == 0
    assert path.read_text(encoding="utf-8") == template.skeleton("rnn_cell", "en")


def test_start_in_chinese(tmp_path, capsys, monkeypatch):
    assert main(["exercise", "start", "rnn_cell", str(tmp_path / "a"), "--lang", "zh"]) == 0
    zh = (tmp_path / "a" / "rnn_cell.py").read_text(encoding="utf-8")
    comments = [line for line in zh.splitlines() if line.lstrip().startswith("#")]
    assert sum(bool(CHINESE.search(line)) for line in comments) >= 3, zh
    assert CHINESE.search(capsys.readouterr().out)
    for var in ("LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")  # the default language is the locale's
    assert main(["exercise", "start", "rnn_cell", str(tmp_path / "b")]) == 0
    assert (tmp_path / "b" / "rnn_cell.py").read_text(encoding="utf-8") == zh


def test_start_of_an_unknown_exercise(tmp_path, capsys):
    rc = main(["exercise", "start", "no_such", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and all(name in err for name in registry.NAMES), err
    assert list(tmp_path.iterdir()) == []


# --- check: refused before anything runs --------------------------------------------------------


@pytest.mark.parametrize(
    "content, needle",
    [
        (None, "no such file"),
        ("folder", "is a folder"),
        (b"# rnnlab exercise: rnn_cell\n\x00\x01\x02", "binary"),
        ("# rnnlab exercise: rnn_cell\n# caf\xe9\n".encode("latin-1"), "not UTF-8"),
        (b"import torch\n", "does not say which exercise"),
        (b"# rnnlab exercise: no_such\n", "the exercises are " + ", ".join(registry.NAMES)),
    ],
    ids=["missing", "folder", "binary", "latin-1", "no marker", "unknown marker"],
)
def test_check_refuses_what_is_no_exercise_file(content, needle, tmp_path, capsys, monkeypatch):
    no_child(monkeypatch)
    path = tmp_path / "mine.py"
    if content == "folder":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    one_line_error(capsys, main(["exercise", "check", str(path)]), needle)
    assert not (tmp_path / STATUS_FILE).exists()


# --- check: each kind of result, from the checking process --------------------------------------


def test_check_of_the_reference_passes(tmp_path, capsys):
    path = solution(tmp_path)
    assert main(["exercise", "check", str(path), "--lang", "en"]) == 0
    out, err = capsys.readouterr()
    assert out.rstrip().endswith("checks passed") and "FAILED" not in out and err == "", out + err
    assert listed(capsys, tmp_path, "en")["rnn_cell"].endswith("passed (rnn_cell.py)")
    assert listed(capsys, tmp_path, "zh")["rnn_cell"].endswith("通过 (rnn_cell.py)")


def test_check_of_a_wrong_cell_fails_with_the_diagnosis(tmp_path, capsys):
    path = solution(tmp_path, "mine.py", ("pre + self.bias_ih + self.bias_hh", "pre + self.bias_ih"))
    assert main(["exercise", "check", str(path), "--lang", "en"]) == 3
    out = capsys.readouterr().out
    assert "FAILED   values" in out and "diagnosis: b_hh forgotten" in out, out
    assert listed(capsys, tmp_path, "en")["rnn_cell"].endswith("(mine.py)")
    assert "failed: values" in listed(capsys, tmp_path, "en")["rnn_cell"]
    assert "未通过" in listed(capsys, tmp_path, "zh")["rnn_cell"]


@pytest.mark.parametrize(
    "source, argv, needle",
    [
        ("# rnnlab exercise: rnn_cell\nimport torch\nx = (\n", [], "mine.py, line 3: SyntaxError"),
        ("import torch\n", ["--exercise", "rnn_cell"], "mine.py defines no RNNCell"),  # --exercise without a marker
        ("# rnnlab exercise: rnn_cell\nimport torch\nimport no_such_module\n", [], "line 3: ModuleNotFoundError"),
    ],
    ids=["syntax", "no class", "import"],
)
def test_check_of_a_file_that_cannot_be_checked(source, argv, needle, tmp_path, capsys):
    path = tmp_path / "mine.py"
    path.write_text(source)
    one_line_error(capsys, main(["exercise", "check", str(path), "--lang", "en", *argv]), needle)
    assert "cannot be checked" in listed(capsys, tmp_path, "en")["rnn_cell"]


def test_check_of_an_import_that_never_ends(tmp_path, capsys):
    path = tmp_path / "mine.py"
    path.write_text("# rnnlab exercise: rnn_cell\nimport time\ntime.sleep(1000)\n")
    start = time.monotonic()
    rc = main(["exercise", "check", str(path), "--time-limit", "2", "--lang", "en"])
    assert time.monotonic() - start < 2 + 10
    one_line_error(capsys, rc, "did not finish loading within 2 s")


def test_check_of_an_endless_forward_exits_3(tmp_path):
    """Through ``python -m rnnlab``: the process's own exit status."""
    path = solution(tmp_path, edit=("        pre = input @", "        while True:\n            pass\n        pre = input @"))
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "rnnlab", "exercise", "check", path.name, "--time-limit", "3", "--lang", "en"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 3, done.stdout + done.stderr
    assert "did not finish within" in done.stdout and "Traceback" not in done.stderr, done.stdout + done.stderr
    assert time.monotonic() - start < 3 + 20


# --- check: a folder where the result cannot be kept --------------------------------------------


@pytest.mark.parametrize("status", [PASS, ERROR])
def test_check_where_the_result_cannot_be_kept(status, tmp_path, capsys, monkeypatch):
    path = solution(tmp_path)
    (tmp_path / STATUS_FILE).mkdir()  # unwritable, even by root
    error = None if status == PASS else msg("error.missing", file=path.name, target="RNNCell", exercise="rnn_cell")
    monkeypatch.setattr(child, "check_in_child", lambda p, name, s: Result(name, p.name, status, error=error))
    rc = main(["exercise", "check", str(path), "--lang", "en"])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    if status == PASS:
        assert rc == 0 and out.startswith("rnn_cell (exercise") and err.count("\n") == 1 and "not kept" in err, out + err
    else:
        assert rc == 2 and out == "" and err.count("\n") == 1 and "cannot be checked" in err, out + err
    assert (tmp_path / STATUS_FILE).is_dir()
