"""Settings declared once: each is one dataclass field that carries its default, its help, its
validation and whether it may change when a run is resumed.

Everything else derives from those fields: the command-line flags (``rnnlab.commands.flags``),
the TOML config files of ``--config`` and ``--print-config``, the checkpoint's copy of the
configuration, and the errors. A config class derives from :class:`Settings` and declares its
fields with :func:`setting`; cross-field rules go in its ``__post_init__``.

Written here rather than taken from a library (pydantic, attrs, simple-parsing): the needs are a
few dozen lines, the settings must import without torch (so ``rnnlab --help`` is instant), and
the errors must be rnnlab's one-line messages.
"""

from __future__ import annotations

import codecs
import dataclasses
import difflib
import functools
import math
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rnnlab.errors import UserError

Check = Callable[[Any], "str | None"]  # a problem ("must be at least 1, got 0"), or None when fine
KEY = "rnnlab"  # where a field keeps its Setting in dataclasses.Field.metadata


@dataclass(frozen=True)
class Setting:
    help: str
    check: Check | None = None
    choices: tuple | None = None
    resume: bool = False  # may change when the run is resumed
    internal: bool = False  # filled in by rnnlab (a vocabulary size): no flag, not in config files
    unset: str | None = None  # what the default None means, for the help ("no limit")
    metavar: str | None = None


@dataclass(frozen=True)
class Settings:
    """The base of config classes: every field is coerced and checked when one is made, and an
    instance remembers which fields its maker passed (:func:`given`): ``ModelConfig(dropout=0.0)``
    gives dropout, even at its default value, and leaves every other setting to the resolver."""

    def __new__(cls, *args: Any, **kwargs: Any):
        self = super().__new__(cls)
        names = [f.name for f in dataclasses.fields(cls)]
        object.__setattr__(self, "_given", frozenset(names[: len(args)]) | frozenset(kwargs))
        return self

    def __post_init__(self):
        validate(self)


def given(obj: Settings | None) -> dict[str, Any]:
    """The settings ``obj``'s maker passed (or changed with :func:`replace`), with their values."""
    return {} if obj is None else {k: getattr(obj, k) for k in sorted(getattr(obj, "_given", ()))}


def setting(default: Any, help: str, **kw: Any) -> Any:
    """A dataclass field with its :class:`Setting` (``check``, ``choices``, ``resume`` ...)."""
    return dataclasses.field(default=default, metadata={KEY: Setting(help, **kw)})


def override(cls: type, name: str, default: Any, **changes: Any) -> Any:
    """``cls``'s field ``name`` with another default (and ``help`` or other changes), for a task
    whose default differs: the rest of the declaration is not written again."""
    f = next(f for f in dataclasses.fields(cls) if f.name == name)
    return dataclasses.field(default=default, metadata={KEY: dataclasses.replace(f.metadata[KEY], **changes)})


def bounded(check: Check, *bounds: float) -> Check:
    """``check`` with the values where its answer changes, as ``check.bounds`` (the command-line
    fuzz tries the floats on either side of each)."""
    check.bounds = bounds  # type: ignore[attr-defined]
    return check


def at_least(least: int | float) -> Check:
    return bounded(lambda v: None if v >= least else f"must be at least {least}, got {v}", least)


def between(lo: int | float, hi: int | float, zero: str | None = None) -> Check:
    """lo <= v <= hi; with ``zero`` (what 0 means), 0 too."""
    if zero is None:
        return bounded(lambda v: None if lo <= v <= hi else f"must be between {lo} and {hi}, got {v}", lo, hi)
    return bounded(lambda v: None if v == 0 or lo <= v <= hi else f"must be 0 ({zero}) or between {lo:g} and {hi:g}, got {v}", 0, lo, hi)


def positive(v: float) -> str | None:
    return None if v > 0 and math.isfinite(v) else f"must be a positive number, got {v}"


def non_negative(v: float) -> str | None:
    return None if v >= 0 and math.isfinite(v) else f"must be 0 or more, got {v}"


bounded(positive, 0)
bounded(non_negative, 0)


def in_interval(lo: float, hi: float, *, closed_lo: bool = True, closed_hi: bool = False) -> Check:
    """lo <= v < hi by default; the message names the interval in the usual notation."""
    shown = f"{'[' if closed_lo else '('}{lo:g}, {hi:g}{']' if closed_hi else ')'}"

    def check(v: float) -> str | None:
        ok = (v >= lo if closed_lo else v > lo) and (v <= hi if closed_hi else v < hi)
        return None if ok else f"must be in {shown}, got {v}"

    return bounded(check, lo, hi)


def known_encoding(v: str) -> str | None:
    try:
        codecs.lookup(v)
    except LookupError:
        return f"is not a text encoding Python knows, got {v!r}"
    try:
        "".encode(v)  # refuses the codecs that are not text encodings (hex, base64, rot13, undefined)
    except (LookupError, UnicodeError):
        return f"is a codec but not a text encoding, got {v!r}"
    return None


def spec(f: dataclasses.Field) -> Setting:
    return f.metadata[KEY]


def fields(cls: type, internal: bool = False) -> list[dataclasses.Field]:
    """The settings of ``cls`` (an instance works too); internal ones only when asked for."""
    return [f for f in dataclasses.fields(cls) if KEY in f.metadata and (internal or not spec(f).internal)]


@functools.cache
def _types(cls: type) -> dict[str, tuple[type, bool]]:
    """Per field: its value type (int, float, str or bool) and whether None is allowed."""
    out = {}
    for name, hint in typing.get_type_hints(cls).items():
        args = [a for a in typing.get_args(hint) if a is not type(None)] or [hint]
        out[name] = (args[0], type(None) in typing.get_args(hint))
    return out


def value_type(cls: type, name: str) -> tuple[type, bool]:
    return _types(cls if isinstance(cls, type) else type(cls))[name]


TYPE_WORDS = {int: "a whole number", float: "a number", str: "text", bool: "true or false"}


def coerce(cls: type, name: str, value: Any) -> Any:
    """``value`` as field ``name``'s type (an int for a float field is fine), or a UserError."""
    kind, optional = value_type(cls, name)
    if value is None and optional:
        return None
    if kind is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, kind) and (kind is bool or not isinstance(value, bool)):
        return value
    raise UserError(f"{name} must be {TYPE_WORDS.get(kind, kind.__name__)}, got {value!r}")


def problem(f: dataclasses.Field, value: Any) -> str | None:
    """What is wrong with ``value`` for field ``f`` (already of the right type), or None."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**63:
        return f"must fit in 64 bits (torch's integers), got {value}"  # a seed of 10**20 was an overflow in torch
    s = spec(f)
    if s.choices is not None and value not in s.choices:
        return f"must be one of {', '.join(map(str, s.choices))}, got {value!r}"
    return s.check(value) if s.check is not None else None


def validate(obj: Any) -> None:
    """Coerce and check every setting of a config instance; the first problem is a UserError."""
    for f in fields(obj, internal=True):
        value = coerce(type(obj), f.name, getattr(obj, f.name))
        object.__setattr__(obj, f.name, value)  # frozen dataclasses too
        why = problem(f, value)
        if why:
            raise UserError(f"{f.name} {why}")


def default_text(f: dataclasses.Field) -> str:
    """The default as the help shows it."""
    d = f.default
    if d is None:
        return spec(f).unset or "none"
    if isinstance(d, bool):
        return "on" if d else "off"
    if isinstance(d, float):
        return f"{d:g}"
    return str(d)


def to_dict(obj: Any, internal: bool = True) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in fields(obj, internal=internal)}


T = typing.TypeVar("T")


def from_dict(cls: type[T], d: Mapping[str, Any], what: str | None = None) -> T:
    """Build config ``cls`` from a mapping, refusing unknown keys with a one-line error."""
    unknown_keys(d, [f.name for f in fields(cls, internal=True)], what or cls.__name__)
    return cls(**d)


def unknown_keys(d: Iterable[str], known: Iterable[str], where: str, flags: Iterable[str] = ()) -> None:
    """Refuse the first key of ``d`` not in ``known``, in one line; a key among ``flags`` (a
    command's flags that are not settings, as ``out``) is told so, not offered a look-alike."""
    known = list(known)
    for key in d:
        if key not in known:
            if key.replace("-", "_") in flags:
                flag = "--" + key.replace("_", "-")
                raise UserError(f"{where}: {flag} is a command-line flag, not a setting for a config file")
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise UserError(f"{where}: unknown setting {key!r}{hint}")


def replace(obj: T, **changes: Any) -> T:
    """``obj`` with ``changes``; what it had been given stays given, and the changes are given too."""
    new = dataclasses.replace(obj, **changes)  # type: ignore[type-var]
    object.__setattr__(new, "_given", getattr(obj, "_given", frozenset()) | frozenset(changes))
    return new


def read_toml(path: str, known: Mapping[str, tuple[type, dataclasses.Field]], flags: Iterable[str] = ()) -> dict[str, Any]:
    """Settings from a TOML file of ``key = value`` lines (the field names as keys); unknown keys
    and wrong values are one-line errors naming the file (``flags``: see :func:`unknown_keys`)."""
    import tomllib  # Python 3.11; a config file is read only when asked for

    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise UserError(f"no such config file: {path}") from None
    except OSError as e:
        raise UserError(f"cannot read {path}: {e.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"{path} is not valid TOML: {e}") from None
    data = {**{k: v for k, v in data.items() if not (k in TABLES and isinstance(v, dict))}, **_tables(data)}
    unknown_keys(data, known, path, flags)
    out = {}
    for key, value in data.items():
        cls, f = known[key]
        try:
            value = coerce(cls, key, value)
        except UserError as e:
            raise UserError(f"{path}: {e}") from None
        why = problem(f, value)
        if why:
            raise UserError(f"{path}: {key} {why}")
        out[key] = value
    return out


TABLES = ("data", "model", "training")  # the tables --print-config writes; a file may use them or plain keys


def _tables(data: Mapping[str, Any]) -> dict[str, Any]:
    """The keys of ``data``'s TABLES, as if written at the top level."""
    return {k: v for t in TABLES if isinstance(data.get(t), dict) for k, v in data[t].items()}


def to_toml(sections: Iterable[tuple[str, Any]], sources: Mapping[str, str] | None = None, open_: Mapping[str, str] | None = None) -> str:
    """The settings of config instances as TOML tables (``[model]`` ...) that :func:`read_toml`
    reads back, each value with a comment naming its source where ``sources`` has one. A setting
    that is None (TOML has no null), or named in ``open_`` (a rule that decides it later, in
    words), is a comment line."""
    import tomli_w

    parts = []
    for title, obj in sections:
        lines = [f"[{title}]"]
        for f in fields(obj):
            value, note = getattr(obj, f.name), (sources or {}).get(f.name)
            if f.name in (open_ or {}) or value is None:
                what = (open_ or {}).get(f.name) or spec(f).unset or "none"
                lines.append(f"# {f.name}: {what}" + (f" ({note})" if note else ""))
            else:
                lines.append(tomli_w.dumps({f.name: value}).strip() + (f"  # {note}" if note else ""))
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts)
