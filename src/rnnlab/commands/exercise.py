"""``rnnlab exercise``: lecture 12's homework, checked against torch.nn.

``rnnlab exercise list [DIR]`` shows the exercises and how far the student in DIR has come;
``rnnlab exercise start NAME [DIR]`` writes the skeleton DIR/NAME.py; ``rnnlab exercise check FILE``
runs the file in a separate process (:func:`rnnlab.exercise.child.check_in_child`), prints the
report and exits 0 (passed), 3 (a check failed) or 2 (the file cannot be checked: one line on
standard error). The checker runs the student's code with the student's rights: it is no sandbox.

The exercises come from :data:`rnnlab.exercise.registry.NAMES` (light: it imports no torch, so
that ``--help`` answers at once); everything else is imported in :func:`run`.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

from rnnlab.commands.flags import add_settings, parsed
from rnnlab.config import ExerciseConfig
from rnnlab.errors import UserError
from rnnlab.exercise import registry

TRUST = "The checker imports and runs your file with your rights: it is not a sandbox, so check only code you trust."

# What this command says itself (the exercises' own words are in rnnlab.exercise.text).
LINES = {
    "started": {
        "en": "wrote {path}: write the code where the TODOs are, then check it with: {command}",
        "zh": "已写出 {path}：在 TODO 处写好代码后，用这条命令检查：{command}",
    },
    "unknown": {
        "en": "{file} names the exercise {name!r} in its first lines, and there is none of that name; the exercises are {names} (or give --exercise NAME)",
        "zh": "{file} 开头注明的练习 {name!r} 不存在；练习有 {names}（或者给出 --exercise NAME）",
    },
    "not_recorded": {
        "en": "rnnlab exercise: warning: the result is not kept for 'rnnlab exercise list': {why}",
        "zh": "rnnlab exercise: 警告：结果没有保存，'rnnlab exercise list' 看不到它：{why}",
    },
}


def add_parser(subparsers) -> argparse.ArgumentParser:
    names = ", ".join(registry.NAMES)
    p = subparsers.add_parser(
        "exercise",
        help="lecture 12's homework: write RNN cells and layers yourself, checked against torch.nn",
        description=(
            "Write lecture 12's cells and layers yourself and have them checked against torch.nn: 'rnnlab exercise start NAME' "
            "writes a skeleton, 'rnnlab exercise check FILE' compares your code with torch.nn (values, shapes, gradients) and "
            "names the mistake when they differ, 'rnnlab exercise list' shows how far you have come. Exit status of check: 0 "
            f"passed, 3 a check failed, 2 the file cannot be checked. The exercises: {names}. {TRUST} "
            "Subcommands: list, start, check ('rnnlab exercise SUBCOMMAND --help')."
        ),
    )
    sub = p.add_subparsers(dest="exercise_command", metavar="SUBCOMMAND", parser_class=type(p), required=True)

    ls = sub.add_parser(
        "list",
        help="the exercises, and the status of each in a folder",
        description="List the exercises in the lecture's order, each with its number, name and title, and its status in DIR: "
        "not started, started (DIR/NAME.py exists), or the result of its last 'rnnlab exercise check' there.",
    )
    ls.add_argument("folder", nargs="?", default=".", metavar="DIR", help="the folder of your exercise files (default: the current folder)")
    add_settings(ls, ExerciseConfig, "exercise", only=("lang",), defaults=True)

    st = sub.add_parser(
        "start",
        help="write an exercise's skeleton file",
        description="Write the skeleton of exercise NAME to DIR/NAME.py (DIR is created if need be): the class to write, its "
        "equations and shapes in comments, and a first line naming the exercise, from which 'rnnlab exercise check' knows what "
        "to check. A file already there is your work: it is kept unless --force.",
    )
    st.add_argument("name", choices=registry.NAMES, metavar="NAME", help=f"the exercise: {names}")
    st.add_argument("folder", nargs="?", default=".", metavar="DIR", help="where to write NAME.py (default: the current folder)")
    st.add_argument("--force", action="store_true", help="replace DIR/NAME.py if it exists (your work in it is lost)")
    add_settings(st, ExerciseConfig, "exercise", only=("lang",), defaults=True)

    ch = sub.add_parser(
        "check",
        help="check your code against torch.nn (runs it: only code you trust)",
        description="Run FILE in a separate process and check what it defines against torch.nn, up to the first failing check: "
        "the report says what passed, what differs, and which known mistake gives those numbers. The exercise is --exercise, "
        "or the one the file's first line names ('# rnnlab exercise: NAME', as 'rnnlab exercise start' writes it). The result "
        "is kept beside the file for 'rnnlab exercise list'. Exit status: 0 every check passed, 3 a check failed (the report "
        f"says which and why), 2 the file cannot be checked (one line on standard error). {TRUST}",
    )
    ch.add_argument("file", metavar="FILE", help="your Python file")
    ch.add_argument("--exercise", choices=registry.NAMES, metavar="NAME", help=f"which exercise FILE is (default: its marker): {names}")
    add_settings(ch, ExerciseConfig, "exercise", defaults=True)

    for q in (ls, st, ch):
        q.add_argument("--debug", action="store_true", dest="debug_cmd", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return p


def run(args) -> int:
    return {"list": _list, "start": _start, "check": _check}[args.exercise_command](args)


def _lang(args) -> str:
    lang = parsed(args, ExerciseConfig).lang
    if lang is None:
        from rnnlab.lesson.text import lesson_lang

        lang = lesson_lang(os.environ)
    return lang


def _folder(text: str) -> Path:
    folder = Path(text)
    try:
        if not folder.exists():
            raise UserError(f"no such folder: {text} (rnnlab exercise start NAME {shlex.quote(text)} creates it)")
        if not folder.is_dir():
            raise UserError(f"{text} is not a folder")
    except OSError as e:
        raise UserError(f"cannot read the folder {text}: {e.strerror or e}") from None
    return folder


def _list(args) -> int:
    from rnnlab.exercise import status
    from rnnlab.lesson.text import pad, width

    lang = _lang(args)
    folder = _folder(args.folder)
    entries = status.read(folder)
    exercises = [registry.get(name) for name in registry.NAMES]
    name_w = max(len(ex.name) for ex in exercises)
    title_w = max(width(ex.title[lang]) for ex in exercises)
    for ex in exercises:
        print(f"{ex.number:>2}  {pad(ex.name, name_w)}  {pad(ex.title[lang], title_w)}  {status.line(ex.name, folder, entries, lang)}")
    return 0


def _start(args) -> int:
    from rnnlab.exercise import template

    lang = _lang(args)
    try:
        path = template.write(args.name, args.folder, lang, force=args.force)
    except OSError as e:  # a name too long, a folder we may not read
        raise UserError(f"cannot write {Path(args.folder) / (args.name + '.py')}: {e.strerror or e}") from None
    print(LINES["started"][lang].format(path=path, command=f"rnnlab exercise check {shlex.quote(str(path))}"))
    return 0


def _source(text: str) -> tuple[Path, str]:
    """The file to check, resolved, and its text; a UserError for anything that is no Python source."""
    path = Path(text)
    try:
        if not path.exists():
            raise UserError(f"no such file: {text}")
        if path.is_dir():
            raise UserError(
                f"{text} is a folder; name your Python file (rnnlab exercise list {shlex.quote(text)} shows the exercises there)"
            )
        if not path.is_file():
            raise UserError(f"{text} is not a regular file")
        data = path.read_bytes()
        path = path.resolve()
    except OSError as e:
        raise UserError(f"cannot read {text}: {e.strerror or e}") from None
    if b"\x00" in data:
        raise UserError(f"{text} is not Python source: it holds binary data")
    try:
        return path, data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise UserError(f"{text} is not UTF-8 text (byte {e.start}); save it as UTF-8") from None


def _check(args) -> int:
    from rnnlab.exercise import child, status, template
    from rnnlab.exercise.result import ERROR
    from rnnlab.exercise.text import render

    config = parsed(args, ExerciseConfig)
    lang = _lang(args)
    path, source = _source(args.file)
    name = args.exercise or template.marked(source)
    if name is None:
        from rnnlab.exercise.core import msg

        raise UserError(render(msg("error.no_marker", file=path.name), lang))
    if name not in registry.NAMES:
        raise UserError(LINES["unknown"][lang].format(file=path.name, name=name, names=", ".join(registry.NAMES)))
    result = child.check_in_child(path, name, config.time_limit)
    try:
        status.record(path.parent, result)
    except (OSError, UserError) as e:  # a read-only folder: the result stands, unkept
        if result.status != ERROR:  # an error's one line stays the only line on standard error
            print(LINES["not_recorded"][lang].format(why=e), file=sys.stderr)
    if result.status == ERROR:
        raise UserError(result.report(lang))
    print(result.report(lang))
    return result.exit_code
