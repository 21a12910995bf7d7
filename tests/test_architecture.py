"""The house rules that keep rnnlab easy to change, checked: small modules that say what they are
for, layers that point down, and the one registration line a new cell needs."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "rnnlab"
MODULES = sorted(SRC.rglob("*.py"))
MAX_LINES = 420  # "about 400 lines at most"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_a_module_is_small_and_says_what_it_is_for(path):
    text = path.read_text()
    assert len(text.splitlines()) <= MAX_LINES
    if path.name != "__init__.py" or text.strip():
        assert ast.get_docstring(ast.parse(text)), "no module docstring"


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def test_the_library_never_imports_the_command_line():
    library = [p for p in MODULES if "commands" not in p.parts and p.name not in ("cli.py", "__main__.py")]
    offenders = [str(p.relative_to(SRC)) for p in library if any(m.startswith("rnnlab.commands") or m == "rnnlab.cli" for m in imports(p))]
    assert offenders == []


def test_the_model_knows_nothing_of_files_and_the_trainer_nothing_of_argparse():
    for name in ("model.py", "stepper.py", "tag/model.py", "nn/_base.py"):
        assert not {"rnnlab.data", "rnnlab.checkpoint", "rnnlab.fileio", "pathlib"} & imports(SRC / name), name
    for path in (SRC / "training").glob("*.py"):
        assert "argparse" not in imports(path), path.name


def test_nothing_prints_in_the_library():
    library = [p for p in MODULES if "commands" not in p.parts and p.name not in ("cli.py", "__main__.py")]
    for path in library:
        calls = [n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "print"]
        assert calls == [], path


def test_settings_and_cells_import_without_torch():
    import subprocess
    import sys

    code = "import sys, rnnlab.config, rnnlab.cells, rnnlab.cli; rnnlab.cli.build_parser(); print('torch' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == "False", r.stderr


# Modules that exist only on POSIX systems, and signals that Windows lacks.
POSIX_ONLY = {"fcntl", "resource", "termios", "tty", "pty", "pwd", "grp", "posix", "crypt", "syslog", "readline"}
WINDOWS_LACKS = {"SIGKILL", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGALRM", "SIGCHLD", "SIGPIPE", "SIGCONT", "SIGSTOP"}


def test_nothing_imports_or_signals_what_only_posix_has():
    """rnnlab imports on Windows and macOS too: no POSIX-only module, anywhere in the package,
    and no signal Windows lacks (SIGINT and SIGTERM it has)."""
    for path in MODULES:
        tree = ast.parse(path.read_text())
        assert not {m.split(".")[0] for m in imports(path)} & POSIX_ONLY, path
        used = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and getattr(n.value, "id", None) == "signal"}
        assert not used & WINDOWS_LACKS, (path, used & WINDOWS_LACKS)
        names = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and getattr(n.value, "id", None) == "os"}
        # os functions that only POSIX has: each use must sit behind a hasattr check (serve's core count does).
        for fn in names & {"sched_getaffinity", "fork", "getuid", "killpg", "setsid", "getloadavg"}:
            assert f'hasattr(os, "{fn}")' in path.read_text(), (path, fn)
