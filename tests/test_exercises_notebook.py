"""notebooks/exercises.ipynb: scripts/make_exercises_notebook.py makes it from the exercises' registry,
and in a real kernel its check cells pass the reference solutions, name a wrong solution's mistake
and report an unfinished skeleton, without raising.

The notebook runs once (a kernel start costs more than all the checks): every exercise's cell holds
its reference solution (tests/exercises/solutions/NAME.py), except one that holds a wrong solution
(tests/exercises/wrong/) and one left as the skeleton; cells added at the end check those two
exercises' solutions."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from test_notebooks import NOTEBOOKS, execute, kernel, nbformat, text_of  # noqa: F401 (kernel: a fixture)

from rnnlab.exercise import registry
from rnnlab.exercise.text import MESSAGES

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = Path(__file__).resolve().parent / "exercises"
NOTEBOOK = NOTEBOOKS / "exercises.ipynb"
EXPECT = re.compile(r"^# expect: (\S+)\s*$", re.M)

spec = importlib.util.spec_from_file_location("make_exercises_notebook", ROOT / "scripts" / "make_exercises_notebook.py")
make = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make)


def solution(name: str) -> str:
    return make.notebook_code((EXERCISES / "solutions" / f"{name}.py").read_text(encoding="utf-8"))


def wrong_solution() -> tuple[str, str, str]:
    """(exercise, variant key, code) of a wrong solution whose diagnosis is one known mistake (an order
    of the gates where there is one)."""
    found = []
    for path in sorted((EXERCISES / "wrong").glob("*__*.py")):
        name = path.name.split("__")[0]
        m = EXPECT.search(path.read_text(encoding="utf-8"))
        if name in registry.NAMES and m and m[1] in {v.key for v in registry.get(name).variants}:
            found.append((name, m[1], path))
    assert found, "no wrong solution diagnosed as one variant in tests/exercises/wrong"
    name, key, path = min(found, key=lambda f: "order" not in f[1])
    return name, key, make.notebook_code(path.read_text(encoding="utf-8"))


def test_the_committed_notebook_is_what_the_generator_makes(tmp_path, capsys):
    assert NOTEBOOK.read_text(encoding="utf-8") == make.text(), "run: python scripts/make_exercises_notebook.py"
    assert make.main(["--check"]) == 0
    out = tmp_path / "exercises.ipynb"
    out.write_text(make.text().replace("check(", "check (", 1), encoding="utf-8")
    assert make.main(["--check", "--out", str(out)]) == 1 and "out of date" in capsys.readouterr().err
    assert make.main(["--out", str(out)]) == 0 and make.main(["--check", "--out", str(out)]) == 0

    nb = nbformat.read(NOTEBOOK, as_version=4)
    lesson12 = nbformat.read(NOTEBOOKS / "lesson12.ipynb", as_version=4)
    assert nb.cells[1].source == next(c.source for c in lesson12.cells if c.cell_type == "code") == make.INSTALL
    cells = {c.id: c for c in nb.cells}
    assert len(nb.cells) == 3 + 3 * len(registry.NAMES)
    for n, name in enumerate(registry.NAMES):
        ex = registry.get(name)
        about, code, check = nb.cells[3 + 3 * n : 6 + 3 * n]
        assert (about.id, code.id, check.id) == (f"{name}-about", f"{name}-code", f"{name}-check")
        assert about.source.startswith(f"## Exercise {ex.number}: {ex.title['en']} / ")
        assert all(c.title["en"] in about.source and c.title["zh"] in about.source for c in ex.checks)
        assert check.source == f'check("{name}", {ex.target})' == cells[f"{name}-check"].source
        # Both languages' comments, untagged; no marker, no `if __name__ == "__main__":` part.
        assert "# [en]" not in code.source and "# [zh]" not in code.source and re.search(r"# .*[\u4e00-\u9fff]", code.source)
        assert "__main__" not in code.source and f"rnnlab exercise: {name}" not in code.source
        assert re.search(rf"^(class|def) {ex.target}\b", code.source, re.M)


def check_output(nb, cell_id: str) -> str:
    cell = next(c for c in nb.cells if c.id == cell_id)
    return text_of(nbformat.v4.new_notebook(cells=[cell])).strip()


def test_solutions_pass_a_wrong_one_is_diagnosed_a_skeleton_fails_without_raising(kernel, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    monkeypatch.setenv("LC_ALL", "C.UTF-8")  # the reports in English (rnnlab.lesson.text.lesson_lang)
    monkeypatch.setenv("LANG", "C.UTF-8")
    wrong, key, wrong_code = wrong_solution()
    unfinished = next(name for name in registry.NAMES if name != wrong)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for name in registry.NAMES:
        cell = next(c for c in nb.cells if c.id == f"{name}-code")
        if name == wrong:
            cell.source = wrong_code
        elif name != unfinished:  # the unfinished one keeps its skeleton
            cell.source = solution(name)
    for name in (wrong, unfinished):  # then their solutions, in cells added at the end
        target = registry.get(name).target
        nb.cells += [
            nbformat.v4.new_code_cell(solution(name), id=f"{name}-solved"),
            nbformat.v4.new_code_cell(f'check("{name}", {target})', id=f"{name}-recheck"),
        ]
    path = tmp_path / "exercises.ipynb"
    nbformat.write(nb, path)
    nb, _ = execute(str(path), kernel, tmp_path)  # an absolute path: NOTEBOOKS / path is path; raises on any error

    for name in registry.NAMES:
        last = check_output(nb, f"{name}-recheck" if name in (wrong, unfinished) else f"{name}-check").splitlines()[-1]
        assert last == f"all {len(registry.get(name).checks)} checks passed", (name, check_output(nb, f"{name}-check"))
    report = check_output(nb, f"{wrong}-check")
    assert "FAILED" in report and registry.get(wrong).variant(key).label["en"] in report, report
    report = check_output(nb, f"{unfinished}-check")
    assert "FAILED" in report and "NotImplementedError" in report and MESSAGES["advice.not_written"]["en"] in report, report
    assert re.search(r"stopped at cell:\d+", report), report  # the cell's line, not the kernel's file name


@pytest.mark.parametrize("name", registry.NAMES)
def test_a_solution_without_its_main_part_is_what_the_cell_gets(name):
    code = solution(name)
    assert "__main__" not in code and not code.startswith("# rnnlab exercise:")
    assert re.search(rf"^(class|def) {registry.get(name).target}\b", code, re.M)
