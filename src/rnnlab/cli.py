"""The ``rnnlab`` command line: argparse subcommands, one module each under ``rnnlab.commands``.

Each command module defines ``add_parser(subparsers)`` and ``run(args) -> int``. Modules import
torch inside ``run`` so that ``rnnlab --help`` answers at once.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Sequence

from rnnlab import __version__
from rnnlab.errors import UserError

# Order is the order ``rnnlab --help`` lists them in.
COMMANDS = ("lesson", "train", "sample", "eval", "tag", "report", "serve")


class ArgumentParser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line, not usage + message."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


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
        return int(args._run(args) or 0)
    except UserError as e:
        if debug:
            raise
        print(f"rnnlab {args.command}: error: {e}", file=sys.stderr)
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
