"""The skeleton files ``rnnlab exercise start`` writes, and the marker that names a file's exercise.

An exercise's skeleton is written once, in both languages: a comment line tagged ``# [en]`` or
``# [zh]`` is kept, untagged, in that language's file and left out of the other; every other line
(the code, and the comments that read the same in both: equations, shapes) is in both, so the
two files differ in their comments only. The first line names the exercise
(``# rnnlab exercise: NAME``): that is how ``rnnlab exercise check`` knows what to check.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from rnnlab.errors import UserError
from rnnlab.exercise import registry
from rnnlab.fileio import atomic_write_text

MARKER = re.compile(r"^#\s*rnnlab exercise:\s*([A-Za-z0-9_]+)\s*$")
MARKER_LINES = 5  # the marker may follow a shebang or an encoding line
TAG = re.compile(r"^(\s*)# \[(en|zh)\] ?(.*)$")
BOTH = "both"  # a language for render: every tagged line kept, as it stands (a bilingual notebook's cells)


def render(template: str, lang: str) -> str:
    """``template`` with the comments of language ``lang`` (lines tagged for another left out);
    ``lang="both"`` keeps every tagged line, untagged, where it stands (English, then Chinese)."""
    out = []
    for line in template.strip("\n").splitlines():
        m = TAG.match(line)
        if m is None:
            out.append(line)
        elif lang in (m[2], BOTH):
            out.append(f"{m[1]}# {m[3]}".rstrip())
    return "\n".join(out) + "\n"


def skeleton(name: str, lang: str = "en") -> str:
    """The skeleton of exercise ``name``, its comments in ``lang``: what a notebook cell can start from."""
    return render(registry.get(name).skeleton, lang)


def marked(source: str) -> str | None:
    """The exercise a file's marker names (``# rnnlab exercise: NAME`` in its first lines), or None."""
    for line in source.splitlines()[:MARKER_LINES]:
        m = MARKER.match(line.strip())
        if m:
            return m[1]
    return None


def write(name: str, folder: str | os.PathLike, lang: str, force: bool = False) -> Path:
    """Write exercise ``name``'s skeleton to ``folder/NAME.py`` (the folder made if need be) and
    return its path; a file already there is the student's work and is kept, unless ``force``."""
    text = skeleton(name, lang)
    folder = Path(folder)
    path = folder / f"{name}.py"
    if folder.exists() and not folder.is_dir():
        raise UserError(f"{folder} is not a folder")
    if path.is_dir():
        raise UserError(f"{path} is a folder")
    if path.exists() and not force:
        raise UserError(f"{path} exists: your work there is kept (--force replaces it with a new skeleton)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot create the folder {folder}: {e.strerror or e}") from None
    atomic_write_text(path, text)
    return path
