"""The ``rnnlab`` command line: argparse subcommands, one module each under ``rnnlab.commands``.

Each command module defines ``add_parser(subparsers)`` and ``run(args) -> int``. Modules import
torch inside ``run`` so that ``rnnlab --help`` answers at once.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence

from rnnlab import __version__
from rnnlab.errors import UserError

# Order is the order ``rnnlab --help`` lists them in.
COMMANDS = ("lesson", "exercise", "train", "sample", "eval", "tag", "report", "serve", "export")


def one_line(message: object) -> str:
    """An error message on one line: line breaks in what the user typed (a path, a prime) shown
    escaped, as Python writes them, so that the error stays one line."""
    return str(message).replace("\r", "\\r").replace("\n", "\\n")


class ArgumentParser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line, not usage + message."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {one_line(message)} (see '{self.prog} --help')\n")

    def _get_values(self, action, arg_strings):
        # Python 3.11's argparse drops the value of `--flag=--` (it takes the "--" for the end of
        # the options), leaving [] unchecked by the flag's type; the value is the text "--".
        if action.option_strings and action.nargs is None and arg_strings == ["--"]:
            value = self._get_value(action, "--")
            self._check_value(action, value)
            return value
        return super()._get_values(action, arg_strings)


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="rnnlab",
        description="Character-level recurrent neural networks: the lesson, reference cells, language models and transduction.",
    )
    parser.add_argument("--debug", action="store_true", help="show a full traceback on errors")
    parser.add_argument("--version", action="version", version=f"rnnlab {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=ArgumentParser)
    for name in COMMANDS:
        module = importlib.import_module(f"rnnlab.commands.{name}")
        sub = module.add_parser(subparsers)
        sub.add_argument("--debug", action="store_true", dest="debug_cmd", help=argparse.SUPPRESS)
        sub.set_defaults(_run=module.run)
    return parser


class Terminated(BaseException):
    """SIGTERM, raised where the command is, as Ctrl-C raises KeyboardInterrupt (a BaseException so
    that no ``except Exception`` on the way swallows it)."""


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    """SIGTERM ends a one-shot command with status 143 and one line, not silently by the signal.
    Training and serving install their own handlers while they run (save first; finish streams)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise Terminated

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, or a bad flag (already reported in one line)
        return int(e.code or 0)
    if args.command is None:
        parser.print_help()
        return 0
    debug = args.debug or getattr(args, "debug_cmd", False) or bool(os.environ.get("RNNLAB_DEBUG"))
    try:
        with _sigterm_raises():
            return int(args._run(args) or 0)
    except Terminated:
        print(f"rnnlab {args.command}: terminated", file=sys.stderr)
        return 143
    except UserError as e:
        if debug:
            raise
        print(f"rnnlab {args.command}: error: {one_line(e)}", file=sys.stderr)
        return 2
    except (MemoryError, RuntimeError) as e:
        from rnnlab.memory import is_out_of_memory

        if debug or not is_out_of_memory(e):
            raise
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        print(f"rnnlab {args.command}: error: out of memory ({one_line(first)}); use smaller sizes", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if debug:
            raise
        print(f"rnnlab {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `rnnlab sample ... | head` closes the pipe early; that is not an error.
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (open for the rest of the process)
        return 0
