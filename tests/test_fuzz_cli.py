"""Fuzz every command line, drawn from the command's own parser (issue 16).

For each command of ``rnnlab.cli.build_parser()``, hypothesis draws any subset of the flags the
parser declares, each with a value of the flag's type or a hostile one (0, -1, huge, NaN, inf,
empty, odd Unicode, missing paths, folders, /dev/null, random bytes), and positionals from fitting
and unfitting paths (a float flag also gets subnormals, 1e-300, 1e300, -0.0 and the floats on either
side of every bound a setting checks); the command runs in-process through ``rnnlab.cli.main`` in a fresh folder. A
flag added later is fuzzed without changing this file. Every example must end in exit 0 or 2 (or 3,
a failed check, for ``exercise check``), with no traceback, one line on standard error for 2, and
strict JSON on standard output for ``--json``.

Flags that set how long a run lasts are drawn small or immediately invalid; ``serve`` stops where it
would start listening (``uvicorn.Server.run``).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import resource
import shutil
import sys
import tempfile
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnlab import config
from rnnlab.cli import build_parser, main
from rnnlab.exercise.template import skeleton
from rnnlab.settings import Settings, fields, spec

EXAMPLES = 100 if os.environ.get("RNNLAB_SLOW") else 20  # per command
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    report_multiple_bugs=False,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

SMALL = "a quick brown fox jumps over the lazy dog.\n" * 20
SOLUTIONS = Path(__file__).parent / "exercises" / "solutions"
PAIRS = "hello world\tHello World\nunix is fun\tUNIX is fun\nthe end\tThe End\n"

# --- the parser, walked -----------------------------------------------------------------------


def commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> dict[str, argparse.ArgumentParser]:
    """Every leaf command ("train", "tag predict", ...) and its parser."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return {k: v for name, sub in action.choices.items() for k, v in commands(sub, (*prefix, name)).items()}
    return {" ".join(prefix): parser}


PARSERS = commands(build_parser())


def fuzzed(action: argparse.Action) -> bool:
    """Not --help, nor hidden flags (--debug re-raises errors by design)."""
    return action.help is not argparse.SUPPRESS and not isinstance(action, (argparse._HelpAction, argparse._VersionAction))


def choices(action: argparse.Action) -> list[str] | None:
    """argparse's choices, or those of a generated flag, shown in its metavar as {a,b,c}."""
    if action.choices:
        return [str(c) for c in action.choices]
    m = action.metavar
    if isinstance(m, str) and m.startswith("{") and m.endswith("}"):
        return m[1:-1].split(",")
    return None


# --- values -----------------------------------------------------------------------------------

# What a command line can hold: any text but NUL (and no lone surrogates, which no OS hands over);
# as a path it stays in the example's folder (a text folder of / or .. would be read through).
ANY_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20).filter(
    lambda t: not t.startswith("/") and ".." not in t and not (len(t) > 2 and "--debug".startswith(t.split("=")[0]))
)  # nor an abbreviation of --debug, which shows tracebacks by design
ODD_TEXT = ["", " ", "-", "--", "-x", "é", "名字", "\u202eabc", "a\nb", "\t", "🙂" * 5, "x" * 300, "%s%n"]
NUMBERS = ["0", "-1", "-0", "65536", str(2**31), str(10**12), str(2**63), str(10**20), str(-(2**63)), "nan", "inf", "-inf", "1e308", "0x10"]
HOSTILE = st.sampled_from(NUMBERS + ODD_TEXT) | ANY_TEXT


def setting_bounds() -> list[float]:
    """Every value where a setting's check changes its answer (``check.bounds``)."""
    found = set()
    for cls in vars(config).values():
        if isinstance(cls, type) and issubclass(cls, Settings):
            for f in fields(cls):
                found.update(getattr(spec(f).check, "bounds", ()))
    return sorted(found)


# For a float flag: subnormals, the extremes, -0.0, and the float on either side of every bound.
EXTREME_FLOATS = [
    *("5e-324", "2.2250738585072014e-308", "1e-300", "1e-40", "1e300", "1.7976931348623157e308", "-0.0", "-5e-324"),
    *(repr(math.nextafter(float(b), d)) for b in setting_bounds() for d in (-math.inf, math.inf)),
]
INVALID = st.sampled_from(["0", "-1", "nan", "x", ""])  # ends a run-length flag at once

# Run-length flags (by dest): small valid values, or ones refused before anything runs.
BOUNDED = {
    "epochs": st.integers(1, 2),
    "max_steps": st.integers(1, 3),
    "max_time": st.sampled_from(["0.5", "1", "2", "5e-324", "1e-300", "1e300", "-0.0"]),
    "length": st.integers(0, 40),
    "sample_chars": st.integers(0, 20),
    "eval_every": st.integers(1, 3),
    "chars": st.integers(1, 300),
}

# Given first, so that a run ends soon and fits RNNLAB_MEMORY_LIMIT whatever else is drawn (a
# drawn value of the same flag comes later and wins).
FIRST = {"max_steps": "3", "length": "40", "max_len": "20", "max_prompt": "1000"}

# In the files every example starts with (see `example_folder`).
PATHS = [
    *("text.txt", "empty.txt", "random.bin", "pairs.tsv", "tiny.toml", "folder", "notrun", "run", "tagrun", "."),
    *("missing.txt", "missing/deeper/x", "/dev/null", "/proc/nope/x", "-", "base"),
    *("rnn_cell.py", "skeleton.py"),  # lecture 12's exercise 1: the reference solution, an unwritten skeleton
]
PATH_METAVARS = ("RUN_DIR", "FILE", "PATH", "DIR")

# Known-good values of some text flags (by dest); any other flag of type str gets text.
NAMES = {
    "device": ["cpu", "auto", "cuda", "cuda:0", "cuda:-1", "mps", "meta", "CPU"],
    "encoding": ["utf-8", "latin-1", "utf-16", "ascii", "cp1252", "rot13", "hex", "idna", "bogus"],
    "host": ["127.0.0.1", "localhost", "::1", "0.0.0.0", "256.1.1.1", "no.such.host.invalid"],
    "search": ["fox", "(", "[a-", "a|b", ".*", "(?i)DOG", "\\"],
}


def fitting(command: str, metavar: str) -> str:
    """The value of a positional that makes the command work."""
    if command.startswith("exercise"):
        return {"exercise check": "rnn_cell.py", "exercise start": "mine"}.get(command, ".")  # start writes a new folder
    tag = command.startswith("tag")
    if "RUN_DIR" in metavar:
        return "tagrun" if tag else "run"
    return "pairs.tsv" if tag else "text.txt"


def value(command: str, action: argparse.Action) -> st.SearchStrategy[str]:
    """A value for a flag or positional: of its type (or one of its choices), or hostile."""
    kind = getattr(action.type, "__name__", "str")
    metavar = str(action.metavar or "")
    if action.dest in BOUNDED:
        return st.one_of(BOUNDED[action.dest].map(str), BOUNDED[action.dest].map(str), INVALID)
    if choices(action):
        good = st.sampled_from(choices(action))
    elif kind == "int":
        good = st.integers(0, 8).map(str)
    elif kind == "float":
        good = st.floats(0, 2).map(str) | st.sampled_from(["1", "0.5", "1e-3"])
        return st.one_of(good, st.sampled_from(EXTREME_FLOATS), HOSTILE)
    elif action.dest in NAMES:
        good = st.sampled_from(NAMES[action.dest])
    elif any(m in metavar for m in PATH_METAVARS):
        good = st.sampled_from([fitting(command, metavar)] * len(PATHS) + PATHS)
    else:
        good = ANY_TEXT
    return st.one_of(good, good, HOSTILE)


@st.composite
def command_line(draw, command: str) -> list[str]:
    """Any subset of ``command``'s flags, with values, and its positionals."""
    parser = PARSERS[command]
    actions = [a for a in parser._actions if fuzzed(a)]
    flags = draw(st.lists(st.sampled_from([a for a in actions if a.option_strings]), unique_by=lambda a: a.dest, max_size=6))
    tokens = [t for a in actions if a.dest in FIRST for t in (a.option_strings[0], FIRST[a.dest])]  # the drawn flags win
    for a in flags:
        opt = draw(st.sampled_from(a.option_strings))
        if a.nargs == 0:
            tokens.append(opt)
        else:
            v = draw(value(command, a))
            tokens += [f"{opt}={v}"] if v.startswith("-") else [opt, v]
    positionals: list[str] = []
    for a in actions:
        if not a.option_strings:
            least, most = {None: (1, 1), "?": (0, 1), "*": (0, 3), "+": (1, 3)}[a.nargs]
            positionals += draw(st.lists(value(command, a), min_size=least, max_size=most))
    if positionals and draw(st.booleans()):
        return [*command.split(), *tokens, "--", *positionals]
    return [*command.split(), *positionals, *tokens]


# --- running ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A tiny language-model run and a tiny tagger run, copied into every example's folder."""
    d = tmp_path_factory.mktemp("fuzz-cli")
    (d / "text.txt").write_text(SMALL)
    (d / "pairs.tsv").write_text(PAIRS)
    lm = ["train", str(d / "text.txt"), "--out", str(d / "run"), "--tiny", "--quiet", "--max-steps", "3", "--sample-chars", "0"]
    tagger = ["tag", "train", str(d / "pairs.tsv"), "--out", str(d / "tagrun"), "--tiny", "--quiet", "--max-steps", "3"]
    assert main(lm) == 0 and main(tagger) == 0
    return d


@pytest.fixture(scope="module", autouse=True)
def allocation_guard():
    """An allocation that no memory check refused fails here instead of swapping the machine:
    the process may take 4 GiB more than it holds now, for this module's tests."""
    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    held = next(int(line.split()[1]) * 1024 for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("VmData:"))
    limit = held + (4 << 30)
    resource.setrlimit(resource.RLIMIT_DATA, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))
    yield
    resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))


@contextlib.contextmanager
def example_folder(runs: Path, random_bytes: bytes):
    """A fresh working folder holding every path of ``PATHS`` that exists."""
    with tempfile.TemporaryDirectory() as tmp, contextlib.chdir(tmp):
        Path("text.txt").write_text(SMALL)
        Path("empty.txt").write_bytes(b"")
        Path("random.bin").write_bytes(random_bytes)
        Path("pairs.tsv").write_text(PAIRS)
        with resources.as_file(resources.files("rnnlab") / "recipes" / "tiny.toml") as recipe:
            shutil.copy(recipe, "tiny.toml")
        Path("folder").mkdir()
        Path("folder/a.txt").write_text(SMALL)
        Path("notrun").mkdir()
        shutil.copy(SOLUTIONS / "rnn_cell.py", "rnn_cell.py")
        Path("skeleton.py").write_text(skeleton("rnn_cell"))
        shutil.copytree(runs / "run", "run")
        shutil.copytree(runs / "tagrun", "tagrun")
        yield


def strict_json(text: str):
    def refuse(name):
        raise ValueError(f"not JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def check(argv: list[str], capsys) -> int:
    """Run ``argv``; it ends in 0 or 2 (or 3 for ``exercise check``: a check failed), cleanly."""
    try:
        rc = main(argv)
    except BaseException as e:  # SystemExit and KeyboardInterrupt too: main must not raise
        raise AssertionError(f"rnnlab {argv!r} raised {e!r}") from e
    out, err = capsys.readouterr()
    assert rc in ((0, 2, 3) if argv[:2] == ["exercise", "check"] else (0, 2)), f"rnnlab {argv!r} exited {rc}: {err}"
    assert "Traceback" not in err, f"rnnlab {argv!r}: {err}"
    if rc == 2:
        assert err.count("\n") == 1 and err.endswith("\n"), f"rnnlab {argv!r}: {err}"
    if rc == 0 and "--json" in argv:
        strict_json(out)
    return rc


@pytest.fixture
def no_listening(monkeypatch):
    """``serve`` goes as far as listening, then returns: the uvicorn configs it would serve."""
    uvicorn = pytest.importorskip("uvicorn")
    configs = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, *a, **kw: configs.append(self.config))
    return configs


@pytest.mark.parametrize("command", sorted(PARSERS))
@FUZZ
@given(data=st.data())
def test_any_command_line(command, runs, no_listening, monkeypatch, capsys, promises, data):
    argv = data.draw(command_line(command), label="argv")
    stdin = data.draw(st.binary(max_size=200) | ANY_TEXT.map(str.encode), label="stdin")
    monkeypatch.setenv("RNNLAB_MEMORY_LIMIT", "256M")  # the memory check refuses what a tiny machine could not hold
    monkeypatch.delenv("RNNLAB_DEBUG", raising=False)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"))
    with example_folder(runs, data.draw(st.binary(max_size=300), label="random.bin")):
        served = len(no_listening)
        rc = check(argv, capsys)
    if command == "serve":
        assert (rc == 0) == (len(no_listening) == served + 1), argv  # exit 0 means it reached listening
    key = f"fuzzed command lines: {command}"
    promises[key] = promises.get(key, 0) + 1


# --- what the fuzz found, fixed at the cause ---------------------------------------------------


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["sample", "x" * 300], "cannot read run folder"),  # pathlib raised ENAMETOOLONG out of checkpoint.find
        (["train", "--init-from", "x" * 300, "--print-config"], "cannot read run folder"),
        (["eval", "/dev/null", "text.txt"], "/dev/null is not a run folder"),  # was "no such run folder"
        (["eval", "run", "text.txt", "--encoding", "hex"], "not a text encoding"),  # hex, rot13: codecs, not encodings
        (["sample", "run", "--seed", str(10**20)], "must fit in 64 bits"),  # was an overflow in torch.manual_seed
        (["lesson", "--lr", "1e38"], "--lr"),  # was an overflow in Adam's first step
        (["report", "run", "--out", ".", "--chars", "5"], "it is a folder"),  # was a ValueError from pathlib
        (["sample", "a\nb"], "no such run folder: a\\nb"),  # a line break typed by the user is shown escaped: one line
        (["sample", "run", "--top-k=--"], "got '--'"),  # Python 3.11's argparse dropped the value of --flag=--
        (["train", "text.txt", "--resume=--"], "no such run folder: --"),  # which then started a fresh run
        (
            ["eval", "run", "text.txt", "--encoding", "utf-16"],
            "is not valid utf-16",
        ),  # UnicodeError (no byte-order mark), not a decode error
        (["train", "y" * 300], "File name too long"),  # OSError from Path.exists
        (["train", "text.txt", "--out", "z" * 300], "cannot create"),
        (["report", "run", "--lstmvis", "text.txt", "--chars", "5"], "for --lstmvis"),  # after the page was written, with a second line
    ],
)
def test_found_by_fuzzing(argv, needle, runs, monkeypatch, capsys):
    monkeypatch.chdir(runs)  # text.txt and run
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and needle in err, err
