"""rnnlab's one text reader: files, folders and standard input, decoded in chunks.

:func:`iter_text` reads every text rnnlab takes in: the corpus, pair files, ``rnnlab eval``, the
report. Folders are read recursively in sorted order; binary files (a NUL byte in the first 8 kB)
are refused when named and skipped inside folders, and so are run folders (a folder with a
checkpoint: its ``metrics.csv`` is no training text, even where the run sits inside the text's
folder); undecodable bytes are one error naming the file,
the line and the byte offset. ``-`` is standard input where a command allows it (``eval``,
``report --text``, ``tag eval`` and ``tag predict``), not for training, which reads its text again
on resume.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from rnnlab.errors import UserError
from rnnlab.fileio import BEST, LAST

CHUNK_BYTES = 1 << 22  # 4 MiB of input per decode step: bounded memory, few Python calls.


STDIN = "-"  # the path that means standard input (eval, report --text, tag eval and predict)
NO_STDIN = "training reads its text again when a run is resumed, so it cannot read standard input (-); save it to a file first"
STDIN_ONCE = "standard input (-) can be read only once; give - once"


class StandardInput:
    """``-`` among the files to read: ``sys.stdin.buffer``, read when its turn comes."""

    name = "standard input"  # how messages and rnnlab eval's per-file lines name it

    def __str__(self) -> str:
        return self.name


STANDARD_INPUT = StandardInput()


def _looks_binary(path: Path) -> bool:
    with open(path, "rb") as f:
        return b"\x00" in f.read(8192)


def list_text_files(paths: Sequence[str | os.PathLike], stdin: bool = False) -> tuple[list[Path], int]:
    """Expand files and folders into a stable list of text files: ``(files, skipped)``, where
    ``skipped`` counts binary files found inside folders. A path named directly must exist, be
    readable and be text; a folder must hold some text. ``-`` is standard input (:data:`STANDARD_INPUT`),
    once, where ``stdin`` allows it: not for training, which reads its text again on resume."""
    files: list[Path] = []
    skipped = 0
    if sum(os.fspath(p) == STDIN for p in paths) > (1 if stdin else 0):
        raise UserError(STDIN_ONCE if stdin else NO_STDIN)
    for p in paths:
        path = Path(p)
        if os.fspath(p) == STDIN:
            files.append(STANDARD_INPUT)  # type: ignore[arg-type] (iter_text reads it like a file)
            continue
        try:  # a name too long, a folder that cannot be read: one line, as a missing file
            skipped += _add(path, files)
        except OSError as e:
            raise UserError(f"cannot read {e.filename or path}: {e.strerror or e}") from None
    return files, skipped


def _add(path: Path, files: list[Path]) -> int:
    """Append the text files of ``path`` (a file, or a folder read recursively) to ``files``;
    returns the binary files skipped in a folder."""
    if not path.exists():
        raise UserError(f"no such file or folder: {path}")
    if path.is_dir():
        if is_run_folder(path):
            raise UserError(f"{path} is a run folder, not text")
        found, skipped = [], 0
        for root, dirs, names in os.walk(path, onerror=_raise):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not is_run_folder(Path(root) / d))
            for f in (Path(root) / name for name in sorted(names) if not name.startswith(".")):
                binary = f.is_file() and _looks_binary(f)
                skipped += binary
                found += [f] if f.is_file() and not binary else []
        if not found:
            raise UserError(f"folder {path} holds no text files")
        files.extend(found)
        return skipped
    if not path.is_file():
        raise UserError(f"{path} is not a regular file or folder")
    if _looks_binary(path):
        raise UserError(f"{path} looks like a binary file (it contains NUL bytes), not text")
    files.append(path)
    return 0


def is_run_folder(path: Path) -> bool:
    """Whether ``path`` holds a run (one of its checkpoints)."""
    return (path / LAST).is_file() or (path / BEST).is_file()


def _raise(error: OSError):
    raise error  # os.walk would skip a folder it cannot read without a word


def iter_text(path: Path, encoding: str = "utf-8", chunk_bytes: int = CHUNK_BYTES, lines: bool = False) -> Iterator[str]:
    """Yield the decoded text of one file or :data:`STANDARD_INPUT` in chunks (with ``lines``,
    line by line as each arrives, each with its ``\\n``), without a leading byte-order mark;
    undecodable bytes are an error naming the file, the line and the byte offset."""
    try:
        decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    except LookupError:
        raise UserError(f"unknown encoding {encoding!r}") from None
    offset = n_lines = 0
    first, pending = True, ""
    stdin = path is STANDARD_INPUT
    try:
        f = contextlib.nullcontext(sys.stdin.buffer) if stdin else open(path, "rb")  # noqa: SIM115 (closed by the with below)
    except (OSError, AttributeError) as e:  # no standard input at all: sys.stdin is None
        raise UserError(f"cannot read {path}: {getattr(e, 'strerror', None) or e}") from None
    with f as stream:
        while True:
            try:
                raw = stream.readline() if lines else stream.read(chunk_bytes)
            except OSError as e:
                raise UserError(f"cannot read {path}: {e.strerror or e}") from None
            if stdin and not lines and offset < 8192 and b"\x00" in raw[: 8192 - offset]:
                raise UserError(f"{path} looks like binary data (it contains NUL bytes), not text")
            final = not raw
            try:
                text = decoder.decode(raw, final=final)
            except UnicodeDecodeError as e:
                # e.start is relative to the bytes the decoder held (buffered tail + raw).
                held = len(e.object) - len(raw)
                where = offset - held + e.start
                line = n_lines - e.object[:held].count(b"\n") + e.object[: e.start].count(b"\n") + 1
                raise UserError(
                    f"{path}, line {line}: bytes at offset {where} are not valid {encoding} "
                    f"({e.reason}); convert the file or pass --encoding"
                ) from None
            except UnicodeError as e:  # a decoder's own complaint, e.g. UTF-16 without a byte-order mark
                raise UserError(f"{path} is not valid {encoding} ({e}); convert the file or pass --encoding") from None
            if first and text:
                text, first = text.removeprefix("\ufeff"), False
            if lines:  # whole lines only, whatever the decoder held back
                *done, pending = (pending + text).split("\n")
                yield from (line + "\n" for line in done)
                text = pending if final else ""
            if text:
                yield text
            if final:
                return
            offset += len(raw)
            n_lines += raw.count(b"\n")


def read_text(path: Path, encoding: str = "utf-8") -> str:
    """The whole text of one file (see :func:`iter_text`)."""
    return "".join(iter_text(path, encoding))


def read_texts(paths: Sequence[str | os.PathLike], encoding: str = "utf-8", stdin: bool = False) -> Iterator[tuple[Path, str]]:
    """``(file, its text)`` for every text file under ``paths`` (see :func:`list_text_files`)."""
    files, _ = list_text_files(paths, stdin)
    for f in files:
        yield f, read_text(f, encoding)
