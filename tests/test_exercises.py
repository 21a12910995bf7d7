"""The exercise library under tests/exercises/, checked as ``rnnlab exercise check`` checks a file.

- ``solutions/NAME.py``: the reference solution of each exercise; ``alternatives/NAME__how.py``:
  right answers written another way. Both must pass, with no diagnosis.
- ``wrong/NAME__what.py``: a mistake as a student makes it. The line after the marker says what
  the diagnosis must be: ``# expect: KEY`` (a variant of the exercise), ``# expect: KEY1 + KEY2``
  (two at once, in the order the exercise declares them), ``# expect: advice.KEY`` (a general
  diagnosis) or ``# expect: error`` (the file cannot be checked). ``# xfail: reason`` marks a
  mistake the package does not diagnose yet (the test then fails until it does).

Every file found there, for any exercise, is checked by one ``python -m rnnlab.exercise.child``
process, once per session; a test per file reads its result. The in-process :func:`check` is
compared with the child on the wrong files, and the time limit is tested in this process.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

import rnnlab.exercise
import rnnlab.exercise.run
from rnnlab.exercise import registry
from rnnlab.exercise.result import ERROR, FAIL, PASS, Result
from rnnlab.exercise.template import marked
from rnnlab.exercise.text import MESSAGES, render

LIBRARY = Path(__file__).parent / "exercises"
FOLDERS = ("solutions", "alternatives", "wrong")
HEADER = re.compile(r"^#\s*(expect|xfail):\s*(.*?)\s*$")
CHILD_TIMEOUT = 600  # seconds for the one checking process over the whole library: generous, it takes a few
FILE_LIMIT = 30.0  # each file's own time limit in that process (a wrong file that loops costs no more)
MIN_WRONG = 20


@dataclass(frozen=True)
class Entry:
    """A file of the library: its folder, the exercise its marker names, its header lines."""

    path: Path
    folder: str
    exercise: str | None
    expect: str | None
    xfail: str | None

    @property
    def id(self) -> str:
        return f"{self.folder}/{self.path.stem}"

    @property
    def keys(self) -> list[str]:
        """The variant keys the diagnosis must be (empty for an advice or an error)."""
        if self.expect is None or self.expect == "error" or self.expect.startswith("advice."):
            return []
        return [k.strip() for k in self.expect.split("+")]


def _entry(path: Path, folder: str) -> Entry:
    text = path.read_text(encoding="utf-8")
    headers: dict[str, str] = {}
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        m = HEADER.match(line)
        if m:
            headers[m[1]] = m[2]
    return Entry(path, folder, marked(text), headers.get("expect"), headers.get("xfail"))


ENTRIES = [_entry(p, folder) for folder in FOLDERS for p in sorted((LIBRARY / folder).glob("*.py"))]
WRONG = [e for e in ENTRIES if e.folder == "wrong"]


def _params(entries: list[Entry], *langs: str, xfail: bool = True) -> list:
    """One pytest.param per entry (and language); with ``xfail``, marked xfail(strict) where the
    file says the package does not diagnose it yet (tests of the diagnosis; not those of the file's
    header, nor the comparison of the in-process check with the child's, which hold either way)."""
    out = []
    for e in entries:
        marks = [pytest.mark.xfail(reason=e.xfail, strict=True)] if e.xfail and xfail else []
        out += (
            [pytest.param(e, lang, id=f"{e.id}-{lang}", marks=marks) for lang in langs]
            if langs
            else [pytest.param(e, id=e.id, marks=marks)]
        )
    return out


@dataclass
class ChildRun:
    """What the checking process reported: each file's result (JSON), and what it wrote on stderr."""

    results: dict[str, dict]
    crashed: dict[str, str]  # a file during which the process ended: how it ended
    stderr: str
    seconds: float


def run_child(paths: list[Path]) -> ChildRun:
    """Check ``paths`` in one ``python -m rnnlab.exercise.child`` process; a file that ends the
    process is recorded and the files after it are checked by a fresh one."""
    results: dict[str, dict] = {}
    crashed: dict[str, str] = {}
    stderr = []
    todo = [str(p) for p in paths]
    start = time.monotonic()
    while todo:
        command = [sys.executable, "-P", "-m", "rnnlab.exercise.child", "--time-limit", repr(FILE_LIMIT), *todo]
        proc = subprocess.run(
            command, stdin=subprocess.DEVNULL, capture_output=True, text=True, encoding="utf-8", errors="replace", timeout=CHILD_TIMEOUT
        )
        stderr.append(proc.stderr)
        current = None
        for line in proc.stdout.splitlines():
            event = json.loads(line)
            if event["event"] == "file":
                current = event["file"]
            elif event["event"] == "result":
                results[event["file"]] = event["result"]
                current = None
        if current is None:  # every file has its result, or the process failed before the first
            break
        crashed[current] = f"the checking process ended with status {proc.returncode} during this file"
        todo = todo[todo.index(current) + 1 :]
    return ChildRun(results, crashed, "".join(stderr), time.monotonic() - start)


@pytest.fixture(scope="module")
def child() -> ChildRun:
    return run_child([e.path for e in ENTRIES])


def result_of(child: ChildRun, entry: Entry, lang: str = "en") -> Result:
    key = str(entry.path)
    if key not in child.results:
        why = child.crashed.get(key, "the checking process reported no result for it")
        pytest.fail(f"{entry.id}: {why}\n--- stderr of the checking process (end) ---\n{child.stderr[-3000:]}")
    return Result.from_json(child.results[key], lang)


def got(result: Result) -> str:
    """The result as an ``# expect:`` line writes it."""
    if result.status != FAIL:
        return result.status
    f = result.failure
    assert f is not None
    return " + ".join(f.diagnosis) or (f.advice.key if f.advice else "no diagnosis")


# ---------------------------------------------------------------------------------------------
# The library itself


def test_every_exercise_has_a_reference_solution():
    for name in registry.NAMES:
        path = LIBRARY / "solutions" / f"{name}.py"
        assert path.is_file(), f"no reference solution for {name}: {path}"
        assert marked(path.read_text(encoding="utf-8")) == name


def test_enough_wrong_solutions():
    assert len(WRONG) >= MIN_WRONG, f"{len(WRONG)} wrong solutions; the library keeps at least {MIN_WRONG}"


@pytest.mark.parametrize("entry", _params(ENTRIES, xfail=False))
def test_header(entry):
    """Every file names its exercise; a wrong file says what it expects, in keys the exercise has."""
    assert entry.exercise is not None, f"{entry.path}: no '# rnnlab exercise: NAME' marker"
    if entry.folder != "wrong":
        assert entry.expect is None, f"{entry.path}: '# expect:' belongs in wrong/ only"
        return
    assert entry.expect, f"{entry.path}: no '# expect:' line after the marker"
    if entry.expect == "error":
        return
    if entry.expect.startswith("advice."):
        assert entry.expect in MESSAGES, f"{entry.path}: no message {entry.expect}"
        return
    exercise = registry.get(entry.exercise)
    known = {v.key for v in exercise.variants}
    assert 1 <= len(entry.keys) <= 2 and set(entry.keys) <= known, f"{entry.path}: {entry.keys} not among {sorted(known)}"
    order = [v.key for v in exercise.variants]
    assert entry.keys == sorted(entry.keys, key=order.index), f"{entry.path}: write two mistakes in the exercise's order"


# ---------------------------------------------------------------------------------------------
# Every file, checked by the one checking process


@pytest.mark.parametrize("entry", _params(ENTRIES))
def test_file(child, entry):
    result = result_of(child, entry)
    report = f"{entry.id}:\n{result.report('en')}"
    if entry.folder != "wrong":
        assert result.status == PASS, report
        return
    if entry.expect == "error":
        assert result.status == ERROR, report
        return
    assert result.status == FAIL, report
    failure = result.failure
    assert failure is not None
    if entry.keys:
        assert failure.diagnosis == entry.keys, report
    else:
        assert failure.diagnosis == [] and failure.advice is not None and failure.advice.key == entry.expect, report


@pytest.mark.parametrize(("entry", "lang"), _params([e for e in WRONG if e.expect != "error"], "en", "zh"))
def test_report_names_the_diagnosis(child, entry, lang):
    """The report, in either language, names each mistake by its variant's label (or gives the advice)."""
    result = result_of(child, entry, lang)
    report = result.report(lang)
    assert result.report() == report  # the language chosen when read back is the report's default
    exercise = registry.get(entry.exercise)
    if entry.keys:
        for key in entry.keys:
            assert exercise.variant(key).label[lang] in report, report
    else:
        assert result.failure is not None and result.failure.advice is not None, report
        assert render(result.failure.advice, lang) in report, report


# ---------------------------------------------------------------------------------------------
# In this process


def load_target(entry: Entry) -> object:
    """The class (or function) ``entry``'s file defines for its exercise, loaded with importlib."""
    spec = importlib.util.spec_from_file_location(f"rnnlab_test_exercise_{entry.folder}_{entry.path.stem}", entry.path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, registry.get(entry.exercise).target)


@pytest.mark.parametrize("name", registry.NAMES)
def test_check_in_process_passes_the_solution(name):
    entry = next(e for e in ENTRIES if e.folder == "solutions" and e.path.stem == name)
    result = rnnlab.exercise.check(name, load_target(entry), lang="en")
    assert result.ok, result.report()
    assert repr(result) == result.report("en")


IN_PROCESS = [e for e in WRONG if e.expect != "error"]


@pytest.mark.parametrize("entry", _params(IN_PROCESS, xfail=False))
def test_check_in_process_agrees_with_the_child(child, entry):
    """check(NAME, cls) on a class loaded from a wrong file fails as the checking process says."""
    theirs = result_of(child, entry)
    mine = rnnlab.exercise.check(entry.exercise, load_target(entry), lang="en")
    assert (mine.status, got(mine)) == (theirs.status, got(theirs)), mine.report()
    assert mine.failure is not None and theirs.failure is not None
    assert mine.failure.check == theirs.failure.check
    assert [m.key for m in mine.failure.what] == [m.key for m in theirs.failure.what]


def _skeleton_with_forward(tmp_path: Path, body: str) -> Path:
    text = rnnlab.exercise.skeleton("rnn_cell", "en")
    todo = '        raise NotImplementedError("TODO: RNNCell.forward")\n'
    assert todo in text
    path = tmp_path / "rnn_cell.py"
    path.write_text(text.replace(todo, body), encoding="utf-8")
    return path


def _endless_forward(tmp_path: Path) -> tuple[Result, float]:
    path = _skeleton_with_forward(tmp_path, "        while True:\n            pass\n")
    start = time.monotonic()
    result = rnnlab.exercise.run.check_file(path, "rnn_cell", 2.0)
    return result, time.monotonic() - start


def test_time_limit_stops_an_endless_forward(tmp_path):
    result, elapsed = _endless_forward(tmp_path)
    assert result.status == FAIL, result.report("en")
    assert result.failure is not None and [m.key for m in result.failure.what] == ["fail.timeout"]
    assert result.failure.what[0].values["limit"] == pytest.approx(2.0, abs=0.5)
    assert "did not finish within" in result.report("en") and "未能在" in result.report("zh")
    assert result.failure.check == "shapes" and result.failure.where.startswith("rnn_cell.py:")
    assert elapsed < 10, f"the 2 s limit took {elapsed:.1f} s"


def test_time_limit_message_names_the_limit(tmp_path):
    result, _ = _endless_forward(tmp_path)
    assert "did not finish within 2 s " in result.report("en"), result.report("en")


def test_time_limit_stops_an_endless_load(tmp_path):
    path = tmp_path / "rnn_cell.py"
    path.write_text("# rnnlab exercise: rnn_cell\nwhile True:\n    pass\n", encoding="utf-8")
    start = time.monotonic()
    result = rnnlab.exercise.run.check_file(path, "rnn_cell", 2.0)
    elapsed = time.monotonic() - start
    assert result.status == ERROR
    assert result.error is not None and result.error.key == "error.load_timeout", result.report("en")
    assert elapsed < 10, f"the 2 s limit took {elapsed:.1f} s"
