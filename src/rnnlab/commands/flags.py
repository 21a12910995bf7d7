"""Command-line flags generated from settings (:mod:`rnnlab.settings`): one flag per field.

``--batch-size`` comes from ``batch_size``; its help is the field's help with the real default;
its values are parsed to the field's type and checked by the field's own check, so a bad value
gets the same one-line error as in Python or a config file. Flags default to "not given"
(``argparse.SUPPRESS``), so that a command can tell what the user asked for.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Iterable
from typing import Any

from rnnlab import settings
from rnnlab.config import LoadConfig

METAVARS = {int: "N", float: "X", str: "NAME"}
NONE = "none"  # the value that unsets a setting whose default is unset


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _parser(cls: type, f: dataclasses.Field):
    kind, optional = settings.value_type(cls, f.name)

    def parse(text: str) -> Any:
        if optional and kind in (int, float) and text.strip().lower() == NONE:
            return None  # unset: "no limit", "all" ... (how a resumed run drops its --max-time)
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {settings.TYPE_WORDS[kind]}, got {text!r}") from None
        why = settings.problem(f, value)
        if why:
            raise argparse.ArgumentTypeError(why)
        return value

    parse.__name__ = kind.__name__  # what argparse names in its own messages
    return parse


def help_text(cls: type, f: dataclasses.Field, default: str | None = None) -> str:
    """The flag's help: the setting's, and its default (``default``: what the resolver says instead)."""
    kind, optional = settings.value_type(cls, f.name)
    unset = f", also as '{NONE}'" if f.default is None and optional and kind in (int, float) else ""
    return f"{settings.spec(f).help} (default: {default or settings.default_text(f)}{unset})".replace("%", "%%")


def add_settings(
    parser: argparse.ArgumentParser,
    cls: type,
    title: str,
    only: Iterable[str] | None = None,
    defaults: bool = False,
    groups: dict[str, argparse._ArgumentGroup] | None = None,
    defaults_shown: dict[str, str] | None = None,
) -> None:
    """One flag per user-facing field of config class ``cls`` (or of those named in ``only``),
    in a help group called ``title`` (or, for a field named in ``groups``, that group). With
    ``defaults`` a flag not given takes the field's default; otherwise it is left out of the
    parsed arguments (see :func:`given`). ``defaults_shown``: the help's default of a setting
    that a recipe or rule chooses."""
    own = None
    for f in settings.fields(cls):
        if only is not None and f.name not in only:
            continue
        group = (groups or {}).get(f.name) or own or (own := parser.add_argument_group(title))
        s = settings.spec(f)
        kw: dict[str, Any] = {
            "dest": f.name,
            "default": f.default if defaults else argparse.SUPPRESS,
            "help": help_text(cls, f, (defaults_shown or {}).get(f.name)),
        }
        if settings.value_type(cls, f.name)[0] is bool:
            kw["action"] = argparse.BooleanOptionalAction
        else:
            kw["type"] = _parser(cls, f)
            kind = settings.value_type(cls, f.name)[0]
            kw["metavar"] = "{" + ",".join(map(str, s.choices)) + "}" if s.choices else s.metavar or METAVARS[kind]
        group.add_argument(flag(f.name), **kw)


def given(args: argparse.Namespace, classes: Iterable[type]) -> dict[str, Any]:
    """The settings of ``classes`` that were given on the command line."""
    names = {f.name for cls in classes for f in settings.fields(cls)}
    return {k: v for k, v in vars(args).items() if k in names}


def build(cls: type, values: dict[str, Any]):
    """Config ``cls`` from those of ``values`` that are its fields (the rest keep defaults)."""
    names = {f.name for f in settings.fields(cls, internal=True)}
    return cls(**{k: v for k, v in values.items() if k in names})


def parsed(args: argparse.Namespace, cls: type):
    """Config ``cls`` from the flags of :func:`add_settings` (defaults where none was given)."""
    return build(cls, given(args, [cls]))


def add_load_args(p: argparse.ArgumentParser) -> None:
    """The flags of the commands that use a trained run: which checkpoint, and on which device."""
    add_settings(p, LoadConfig, "run", defaults=True)
