"""Write notebooks/exercises.ipynb from the exercises' registry (rnnlab.exercise.registry.NAMES).

The notebook is bilingual, like lesson12.ipynb: an introduction, the install cell, the import of
``check``, then per exercise, in the lecture's order, three cells: what it asks and what its checks
compare; its skeleton with the comments of both languages (without the marker line and the
``if __name__ == "__main__":`` part, which only a file needs); and ``check("NAME", TARGET)``.
Nothing in it is written by hand: a new exercise in the registry is a new section after
``python scripts/make_exercises_notebook.py``. The notebook is written without outputs and with
cell ids made from the exercise's name, so that the same registry gives the same bytes;
``--check`` exits 1 where the committed notebook is not what this script makes (tests/test_exercises_notebook.py).

    python scripts/make_exercises_notebook.py            # rewrite notebooks/exercises.ipynb
    python scripts/make_exercises_notebook.py --check    # exit 1 if it is out of date
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from rnnlab.exercise import registry
from rnnlab.exercise.template import BOTH, MARKER, MARKER_LINES, render

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "exercises.ipynb"

# lesson12.ipynb's first code cell, word for word (tests/test_exercises_notebook.py compares them).
INSTALL = """\
RNNLAB_SOURCE = "git+https://github.com/OWNER/rnnlab"  # point this at your copy of the repository

try:
    import rnnlab
except ImportError:  # e.g. on Colab: install rnnlab (and its dependencies) from RNNLAB_SOURCE
    %pip install -q "$RNNLAB_SOURCE"
    import rnnlab"""

IMPORT = "from rnnlab.exercise import check"

MAIN = re.compile(r"""^if\s+__name__\s*==\s*['"]__main__['"]\s*:""")
# The skeleton's "check it with: rnnlab exercise check NAME.py" lines: a cell is checked by the cell after it.
CHECK_WITH = re.compile(r"^#\s*(Check it with:|检查：)\s*rnnlab exercise check")


def notebook_code(source: str) -> str:
    """A skeleton or a solution file as a notebook cell: without the marker line (``# rnnlab exercise:
    NAME``), the lines saying how to check the file, and without the top-level ``if __name__ == "__main__":`` block, which runs only when the
    file is run."""
    lines = [
        line
        for i, line in enumerate(source.splitlines())
        if not (i < MARKER_LINES and MARKER.match(line.strip())) and not CHECK_WITH.match(line.strip())
    ]
    out: list[str] = []
    in_main = False
    for line in lines:
        if MAIN.match(line):
            in_main = True
        elif in_main and line.strip() and not line[0].isspace():
            in_main = False  # top-level code after the block
        if not in_main:
            out.append(line)
    return "\n".join(out).strip("\n")


def intro(n: int) -> str:
    return f"""\
# Lecture 12's exercises: your own RNN code, checked / 第 12 讲练习：检查你自己写的 RNN 代码

This notebook is bilingual (English, then Simplified Chinese), like `lesson12.ipynb`. It holds the {n} exercises of \
[rnnlab](../README.md)'s `rnnlab.exercise`, in the lecture's order: in each you write a piece of the lecture's code \
yourself (a cell, the loop over time, a layer ...) from a skeleton, and the checks compare what it computes with \
`torch.nn` or with the lecture's own program and name the mistake when they differ.

本笔记本为中英双语（先英文，后简体中文），与 `lesson12.ipynb` 相同。它收录了 [rnnlab](../README.md) 的 \
`rnnlab.exercise` 中的 {n} 个练习，按课程的顺序排列：每个练习都从一个骨架开始，由你亲手写出课程代码的一部分\
（一个单元、对时间步的循环、一个层……），检查会把它的计算结果与 `torch.nn` 或课程自己的程序比较，\
不一致时指出错在哪里。

Each exercise is three cells: what it asks and what its checks compare; the skeleton, with its comments in both \
languages, to complete where it says `TODO`; and the check. Run the skeleton's cell, then the check cell: the class \
or function the cell defines is passed to `rnnlab.exercise.check(NAME, obj)`, which runs the same checks as \
`rnnlab exercise check`, here in the kernel's own process, and shows the report: a line per check and, for the first \
that fails, what differs, a diagnosis and where to read about it. An unfinished skeleton only fails its checks \
(`NotImplementedError`); after each change, run both cells again. The report is in the language of the locale \
(`check(NAME, obj, lang="zh")` asks for Chinese).

每个练习有三个单元格：它要求什么、检查比较什么；骨架（注释为中英双语），在 `TODO` 处补全；以及检查。先运行骨架所在的\
单元格，再运行检查单元格：这个单元格定义的类或函数会传给 `rnnlab.exercise.check(NAME, obj)`，它运行的检查与 \
`rnnlab exercise check` 相同，只是在内核自己的进程里运行，然后显示报告：每项检查一行；对第一项未通过的检查，\
给出哪里不同、诊断，以及该去读哪一节。没有写完的骨架只会检查不通过（`NotImplementedError`）；每次修改后，\
把两个单元格都重新运行一遍。报告的语言跟随系统的区域设置（`check(NAME, obj, lang="zh")` 要求中文）。

The checks stop Python code that runs longer than a time limit (an endless loop; `time_limit=` seconds, 60 by \
default), but not one long call into C, and they are not a sandbox: your code runs with your rights, so check only \
code you trust. The same exercises also exist as files, checked in a separate process: `rnnlab exercise start NAME` \
writes the skeleton `NAME.py`, `rnnlab exercise check NAME.py` checks it (docs/exercises.md).

检查会停止运行时间超过限制的 Python 代码（死循环；`time_limit=` 秒，默认 60 秒），但停不下一次耗时很长的 C 调用；\
它也不是沙箱：你的代码以你的权限运行，所以只检查你信任的代码。同样的练习也有文件形式，在单独的进程里检查：\
`rnnlab exercise start NAME` 写出骨架 `NAME.py`，`rnnlab exercise check NAME.py` 检查它（docs/exercises.zh.md）。"""


def about(ex) -> str:
    """An exercise's heading and what its checks compare, in English then Chinese."""
    call = f'`check("{ex.name}", {ex.target})`'
    what = {"en": f"the class `{ex.target}`", "zh": f"类 `{ex.target}`"}
    if ex.kind == "function":
        what = {"en": f"the function `{ex.target}`", "zh": f"函数 `{ex.target}`"}
    checks = {lang: "\n".join(f"- {check.title[lang]}" for check in ex.checks) for lang in ("en", "zh")}
    return f"""\
## Exercise {ex.number}: {ex.title["en"]} / 练习 {ex.number}：{ex.title["zh"]}

Complete {what["en"]} in the cell below and run it, then run {call}. The checks run in this order and stop at the \
first that fails (`rnnlab exercise start {ex.name}` writes the same skeleton as a file):
{checks["en"]}

在下面的单元格里补全{what["zh"]} 并运行，然后运行 {call}。检查按以下顺序进行，遇到第一项未通过的检查就停止\
（`rnnlab exercise start {ex.name}` 会把同样的骨架写成文件）：
{checks["zh"]}"""


def build() -> nbformat.NotebookNode:
    """The notebook, from the registry as it is now."""
    exercises = registry.exercises()
    cells = [new_markdown_cell(intro(len(exercises)), id="intro"), new_code_cell(INSTALL, id="install"), new_code_cell(IMPORT, id="import")]
    for ex in exercises:
        cells += [
            new_markdown_cell(about(ex), id=f"{ex.name}-about"),
            new_code_cell(notebook_code(render(ex.skeleton, BOTH)), id=f"{ex.name}-code"),
            new_code_cell(f'check("{ex.name}", {ex.target})', id=f"{ex.name}-check"),
        ]
    nb = new_notebook(
        cells=cells,
        metadata={"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}, "language_info": {"name": "python"}},
    )
    nbformat.validate(nb)
    return nb


def text() -> str:
    """The notebook file's text, as nbformat writes a notebook (and as Jupyter saves one)."""
    return nbformat.writes(build()) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 if the notebook differs from what this script makes")
    p.add_argument("--out", type=Path, default=NOTEBOOK, help="the notebook (default: %(default)s)")
    args = p.parse_args(argv)
    want = text()
    if args.check:
        have = args.out.read_text(encoding="utf-8") if args.out.is_file() else None
        if have != want:
            print(f"{args.out} is out of date: run python scripts/make_exercises_notebook.py", file=sys.stderr)
            return 1
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(want, encoding="utf-8")
    print(f"wrote {args.out}: {len(registry.NAMES)} exercises ({', '.join(registry.NAMES)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
