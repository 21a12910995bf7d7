"""Character vectors out of an R package's data, without R: a reader for R's lazy-load database.

An R package built with ``LazyData`` keeps its data sets in ``data/Rdata.rdb`` (one compressed,
serialised R object per variable) with an index in ``data/Rdata.rdx`` (a gzipped, serialised
list of each variable's offset and length). :func:`variables` reads both and returns every
variable: enough for ``r-cran-janeaustenr``, whose six novels are character vectors of lines.

Written by hand, not taken from a library: PyPI's ``rdata`` reads R's serialisation format but
brings pandas and xarray with it, for a one-off extraction that needs strings, numbers, lists
and attributes (about a hundred lines). The format: "R Internals", section "Serialization
Formats".

    python scripts/rdata_text.py /usr/lib/R/site-library/janeaustenr/data/Rdata   # lists the variables
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import struct
import sys
import zlib
from pathlib import Path

# SEXP types and the special values of the stream.
SYMSXP, LISTSXP, CHARSXP, LGLSXP, INTSXP, REALSXP, STRSXP, VECSXP = 1, 2, 9, 10, 13, 14, 16, 19
REFSXP, NILVALUE = 255, 254
NOTHING = {242, 241, 253, 251, 252, 247}  # empty, base and global environments, missing argument, unbound, base namespace
HAS_ATTR, HAS_TAG = 1 << 9, 1 << 10
LATIN1, UTF8 = 1 << 14, 1 << 15  # a CHARSXP's encoding bits (in the "levels" part of its flags)


class RList(list):
    """An R vector or list, with its attributes (``names``, ``class`` ...)."""

    attrs: dict


class Reader:
    """R's XDR serialisation, format versions 2 and 3, for the types data sets are made of."""

    def __init__(self, data: bytes):
        if data[:2] != b"X\n":
            raise ValueError("not an XDR-serialised R object")
        self.data, self.pos, self.refs = data, 2, []
        version = self.int()
        self.int(), self.int()  # the R version that wrote it, and the oldest that reads it
        if version == 3:
            n = self.int()
            self.pos += n  # the name of the native encoding
        elif version != 2:
            raise ValueError(f"R serialisation format {version} is not read here")

    def int(self) -> int:
        (v,) = struct.unpack_from(">i", self.data, self.pos)
        self.pos += 4
        return v

    def item(self):
        flags = self.int()
        kind = flags & 0xFF
        if kind == NILVALUE or kind in NOTHING:
            return None
        if kind == REFSXP:
            return self.refs[(flags >> 8) - 1 if flags >> 8 else self.int() - 1]
        if kind == SYMSXP:
            name = self.item()  # a CHARSXP
            self.refs.append(name)
            return name
        if kind == LISTSXP:  # a pairlist cell: [attributes], [tag], value, then the rest of the list
            if flags & HAS_ATTR:
                self.item()
            tag = self.item() if flags & HAS_TAG else None
            value = self.item()
            return [(tag, value), *(self.item() or [])]
        if kind == CHARSXP:
            n = self.int()
            if n == -1:
                return None  # NA
            text = self.data[self.pos : self.pos + n].decode("latin-1" if flags & LATIN1 else "utf-8")
            self.pos += n
            return text
        n = self.int()
        if kind in (LGLSXP, INTSXP):
            value = RList(struct.unpack_from(f">{n}i", self.data, self.pos))
            self.pos += 4 * n
        elif kind == REALSXP:
            value = RList(struct.unpack_from(f">{n}d", self.data, self.pos))
            self.pos += 8 * n
        elif kind in (STRSXP, VECSXP):
            value = RList(self.item() for _ in range(n))
        else:
            raise ValueError(f"R object type {kind} is not read here")
        value.attrs = dict(self.item() or []) if flags & HAS_ATTR else {}
        return value


def unpack(entry: bytes) -> bytes:
    """An .rdb entry: 4 bytes of length, then zlib data, or a type byte (Z zlib, 2 bzip2, X xz, 0 none) and the data."""
    body = entry[4:]
    methods = {b"Z": zlib.decompress, b"2": bz2.decompress, b"X": lzma.decompress, b"0": bytes}
    if body[:1] in methods:
        return methods[body[:1]](body[1:])
    return zlib.decompress(body)


def variables(stem: Path) -> dict[str, object]:
    """Every variable of ``stem.rdb`` (indexed by ``stem.rdx``), by name."""
    index = Reader(gzip.decompress(Path(f"{stem}.rdx").read_bytes())).item()
    top = dict(zip(index.attrs["names"], index))
    where = dict(zip(top["variables"].attrs["names"], top["variables"]))  # name -> (offset, length)
    rdb = Path(f"{stem}.rdb").read_bytes()
    return {name: Reader(unpack(rdb[int(off) : int(off) + int(n)])).item() for name, (off, n) in where.items()}


if __name__ == "__main__":
    for name, value in variables(Path(sys.argv[1])).items():
        print(name, type(value).__name__, len(value) if isinstance(value, list) else value)
