"""The status of each exercise in a folder: the result of the student's last check, kept in
``.rnnlab-exercises.json`` beside the files (written atomically) and shown by ``rnnlab exercise list``.

The file holds one line per exercise in each language, so that the list needs no exercise
loaded; a file that cannot be read counts as no check yet (the next check writes it anew).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from rnnlab.exercise.result import Result
from rnnlab.exercise.text import MESSAGES
from rnnlab.fileio import atomic_write_text
from rnnlab.lesson.text import LANGS

FILE = ".rnnlab-exercises.json"


def read(folder: str | os.PathLike) -> dict[str, dict]:
    """Each checked exercise's entry: ``status``, ``file``, ``summary`` (per language), ``checked``."""
    try:
        data = json.loads((Path(folder) / FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    entries = data.get("exercises") if isinstance(data, dict) else None
    return {k: v for k, v in entries.items() if isinstance(v, dict)} if isinstance(entries, dict) else {}


def record(folder: str | os.PathLike, result: Result) -> None:
    """Keep ``result`` as the last check of its exercise in ``folder``."""
    entries = read(folder)
    entries[result.exercise] = {
        "status": result.status,
        "file": result.source,
        "summary": {lang: result.summary(lang) for lang in LANGS},
        "checked": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    atomic_write_text(Path(folder) / FILE, json.dumps({"exercises": entries}, ensure_ascii=False, indent=2) + "\n")


def line(name: str, folder: str | os.PathLike, entries: dict[str, dict], lang: str) -> str:
    """Exercise ``name``'s status in ``folder``: its last check's summary, or started, or not started."""
    entry = entries.get(name)
    if entry is not None:
        summary = entry.get("summary")
        text = summary.get(lang) if isinstance(summary, dict) else None
        if isinstance(text, str):
            return f"{text} ({entry.get('file', '?')})"
    if (Path(folder) / f"{name}.py").is_file():
        return MESSAGES["status.started"][lang].format(file=f"{name}.py")
    return MESSAGES["status.not_started"][lang]
