"""Checking the student's code in this process, under a time limit.

:func:`check` checks a class or function defined in a notebook; :func:`check_file` loads a file and
checks what it defines (the checking process of ``rnnlab exercise check`` runs it, see
:mod:`rnnlab.exercise.child`). The checks run in the exercise's order and stop at the first failure.

The time limit (:func:`limited`) stops Python code that runs too long, an endless loop, through a
trace function on the student's frames: it works in any thread and on every platform. It cannot
stop one long call into C (``time.sleep``, a huge matrix product); ``rnnlab exercise check`` runs
the code in a separate process and ends it at the limit. Neither is a sandbox: check only code
you trust.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import sys
import sysconfig
import time
import traceback
import types
from collections.abc import Callable, Iterator
from pathlib import Path

import torch

import rnnlab
from rnnlab.config import ExerciseConfig
from rnnlab.exercise import registry
from rnnlab.exercise.core import Context, Exercise, Failed, Failure, Msg, msg
from rnnlab.exercise.result import ERROR, FAIL, PASS, Result

DEFAULT_LIMIT = ExerciseConfig().time_limit
# Frames from these folders are not the student's: the time limit leaves them alone, and an error
# is shown at the student's line that led into them.
LIBRARY = tuple(
    {
        *(sysconfig.get_paths()[k] for k in ("stdlib", "purelib", "platlib")),
        os.path.dirname(torch.__file__),
        os.path.dirname(rnnlab.__file__),
    }
)
Events = Callable[..., None]  # on_event(event, **fields): how far a check has come


class OutOfTime(BaseException):
    """The time limit passed: a BaseException, so that the student's ``except Exception`` lets it by."""


@contextlib.contextmanager
def limited(seconds: float) -> Iterator[None]:
    """Raise :class:`OutOfTime` in the student's code once ``seconds`` have passed."""
    deadline = time.monotonic() + seconds

    def local(frame, event, arg):
        if time.monotonic() > deadline:
            raise OutOfTime
        return local

    def on_call(frame, event, arg):
        if frame.f_code.co_filename.startswith(LIBRARY):
            return None
        frame.f_trace_opcodes = True  # a one-line `while True: pass` has no new line to stop at
        return local(frame, event, arg)

    old = sys.gettrace()
    sys.settrace(on_call)
    try:
        yield
    finally:
        sys.settrace(old)


def where(error: BaseException, files: frozenset[str]) -> str:
    """``file:line`` of the student's code an error came from (``cell:line`` in a notebook): the
    innermost frame in ``files``, else the innermost outside the libraries; empty if there is none."""
    frames = traceback.extract_tb(error.__traceback__)
    found = [f for f in frames if f.filename in files] or [f for f in frames if not f.filename.startswith(LIBRARY)]
    if not found:
        return ""
    name = os.path.basename(found[-1].filename)
    # A notebook's cells are run from files of the kernel's own naming (ipykernel_<pid>/<hash>.py).
    return f"{'cell' if 'ipykernel_' in found[-1].filename else name}:{found[-1].lineno}"


def one_line(error: BaseException) -> str:
    """``Type: message`` on one line, cut at 300 characters (torch's messages can run long)."""
    text = " ".join(str(error).split())
    text = f"{type(error).__name__}: {text}" if text else type(error).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def _quiet(event: str, **fields: object) -> None:
    pass


def run_checks(
    exercise: Exercise,
    target: object,
    source: str,
    files: frozenset[str],
    seconds: float,
    lang: str | None = None,
    on_event: Events = _quiet,
    limit: float | None = None,
) -> Result:
    """Run ``exercise``'s checks on ``target`` within ``seconds``, up to the first failure; ``limit``:
    the whole time limit, as a time-out reports it (``seconds`` is what is left of it)."""
    result = Result(exercise.name, source, PASS, **({"lang": lang} if lang else {}))
    ctx = Context(exercise, target, files)
    try:
        with limited(seconds):
            for check in exercise.checks:
                on_event("check", check=check.key)
                try:
                    covered = check.run(ctx)
                except Failed as f:
                    result.status = FAIL
                    result.failure = Failure(check.key, list(f.what), f.case, list(f.diagnosis), f.advice, f.lesson, f.where)
                    return result
                except OutOfTime as e:
                    result.status = FAIL
                    result.failure = Failure(
                        check.key, [msg("fail.timeout", limit=seconds if limit is None else limit)], where=where(e, files)
                    )
                    return result
                result.passed.append((check.key, covered))
                on_event("passed", check=check.key)
    finally:
        torch.set_grad_enabled(True)  # whatever the student's code left it at
    return result


def target_problem(exercise: Exercise, target: object) -> Msg | None:
    """Why ``target`` cannot be what ``exercise`` asks for (not a torch.nn.Module class, not a
    function), or None."""
    if exercise.kind == "class" and not (isinstance(target, type) and issubclass(target, torch.nn.Module)):
        return msg("error.not_module", target=exercise.target)
    if exercise.kind == "function" and not inspect.isfunction(target):
        return msg("error.not_function", target=exercise.target)
    return None


def code_files(target: object) -> frozenset[str]:
    """The files the code of a class's methods (or of a function) comes from: a notebook's cells."""
    functions = [v for v in vars(target).values() if inspect.isfunction(v)] if isinstance(target, type) else [target]
    return frozenset(f.__code__.co_filename for f in functions if hasattr(f, "__code__"))


def check(name: str, obj: object, *, lang: str | None = None, time_limit: float = DEFAULT_LIMIT) -> Result:
    """Check ``obj``, the class (or function) written for exercise ``name``, in this process: the
    checks of ``rnnlab exercise check``, stopped after ``time_limit`` seconds of Python code.
    Returns a :class:`~rnnlab.exercise.result.Result`; its repr is the report (in ``lang``, by
    default the locale's)."""
    exercise = registry.get(name)
    source = getattr(obj, "__name__", type(obj).__name__)
    problem = target_problem(exercise, obj)
    if problem is not None:
        return Result(name, source, ERROR, error=problem, **({"lang": lang} if lang else {}))
    return run_checks(exercise, obj, source, code_files(obj), time_limit, lang)


def load(path: Path, exercise: Exercise, seconds: float, files: frozenset[str]) -> tuple[object, Msg | None]:
    """Run the file at ``path`` as a fresh module and take ``exercise``'s target from it: (the
    target, None), or (None, why the file cannot be checked)."""
    name = path.name
    try:
        code = compile(path.read_bytes(), str(path), "exec")
    except SyntaxError as e:
        return None, msg("error.at", file=name, line=e.lineno or 0, error=f"{type(e).__name__}: {e.msg}")
    except (OSError, ValueError) as e:  # unreadable; a NUL byte in the source
        return None, msg("error.at", file=name, line=0, error=one_line(e))
    module = types.ModuleType(f"rnnlab_exercise_{exercise.name}_{abs(hash(str(path)))}")
    module.__file__ = str(path)
    sys.modules[module.__name__] = module  # dataclasses and pickling look a class's module up there
    try:
        with limited(seconds):
            exec(code, module.__dict__)
    except OutOfTime:
        return None, msg("error.load_timeout", file=name, limit=seconds)
    except (Exception, SystemExit) as e:
        line = next((f.lineno for f in reversed(traceback.extract_tb(e.__traceback__)) if f.filename in files), 0)
        return None, msg("error.at", file=name, line=line, error=one_line(e))
    finally:
        torch.set_grad_enabled(True)
    target = getattr(module, exercise.target, None)
    if target is None:
        return None, msg("error.missing", file=name, target=exercise.target, exercise=exercise.name)
    return target, target_problem(exercise, target)


def check_file(path: str | os.PathLike, name: str, seconds: float = DEFAULT_LIMIT, on_event: Events = _quiet) -> Result:
    """Load the file at ``path`` (its folder first on ``sys.path``, so that it may import its
    neighbours) and check it for exercise ``name``; loading and checking share ``seconds``."""
    path = Path(path).resolve()
    exercise = registry.get(name)
    files = frozenset({str(path)})
    start = time.monotonic()
    sys.path.insert(0, str(path.parent))
    try:
        target, problem = load(path, exercise, seconds, files)
        if problem is not None:
            return Result(name, path.name, ERROR, error=problem)
        on_event("loaded")
        return run_checks(
            exercise, target, path.name, files, max(0.0, seconds - (time.monotonic() - start)), on_event=on_event, limit=seconds
        )
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(str(path.parent))
