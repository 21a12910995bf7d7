"""The export for LSTMVis (Strobelt et al.): a language model's trace as the HDF5 files, the
dictionary and the project config that LSTMVis's server reads (``rnnlab report --lstmvis``)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from rnnlab.data import Vocab
from rnnlab.errors import UserError
from rnnlab.fileio import atomic_write_text
from rnnlab.report.tracing import Trace

NEEDS_H5PY = "--lstmvis needs h5py, rnnlab's 'lstmvis' extra: pip install h5py"
# LSTMVis splits each .dict line at whitespace: these characters are written as symbols.
NAMED = {" ": "\u2423", "\n": "\u21b5", "\t": "\u21e5", "\r": "\u240d"}


def check_h5py() -> None:
    """Fail early, before any work, when h5py is missing."""
    try:
        import h5py  # noqa: F401
    except ImportError:
        raise UserError(NEEDS_H5PY) from None


def write_lstmvis(tr: Trace, vocab: Vocab, out_dir: str | os.PathLike, name: str = "rnnlab") -> list[Path]:
    """Write states.h5, chars.h5, chars.dict and lstm.yml, the layout LSTMVis reads.

    states.h5 holds, per layer l (1-based), ``output{l}`` = h (T, H) and for an LSTM ``cell{l}``
    = the raw cell state c (T, H); LSTMVis applies tanh to ``cell`` itself (its default
    transform) and shows ``output`` as is. chars.h5 holds ``chars`` (T,) character ids; chars.dict
    maps each id to its character as one whitespace-free token (space, newline, tab as the symbols in
    ``NAMED``, other blank or unprintable characters as ``U+XXXX``).
    """
    check_h5py()
    import h5py
    import numpy as np

    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot create {out}: {e.strerror}") from None
    types = []
    with h5py.File(out / "states.h5", "w") as f:
        for layer in range(tr.layers):
            if tr.c is not None:
                f.create_dataset(f"cell{layer + 1}", data=tr.c[layer].numpy().astype(np.float32))
                types.append(f"  {{type: state, layer: {layer + 1}, path: cell{layer + 1}}}")
            f.create_dataset(f"output{layer + 1}", data=tr.h[layer].numpy().astype(np.float32))
            kind = "output" if tr.c is not None else "state"
            types.append(f"  {{type: {kind}, layer: {layer + 1}, path: output{layer + 1}, transform: none}}")
    with h5py.File(out / "chars.h5", "w") as f:
        f.create_dataset("chars", data=tr.ids.numpy().astype(np.int32))
    tokens = [NAMED.get(c, f"U+{ord(c):04X}" if c.isspace() or not c.isprintable() else c) for c in vocab.chars]
    atomic_write_text(out / "chars.dict", "".join(f"{tok} {i}\n" for i, tok in enumerate(tokens)))
    desc = f"{tr.layers}x{tr.hidden} {tr.cell.upper()} on {len(tr.text):,} characters (rnnlab report)"
    yml = (
        f"name: {json.dumps(name)}\n"
        f"description: {json.dumps(desc)}\n"
        "\n"
        "files:\n"
        "  states: states.h5\n"
        "  chars: chars.h5\n"
        "  chars_dict: chars.dict\n"
        "\n"
        "word_sequence:\n"
        "  file: chars\n"
        "  path: chars\n"
        "  dict_file: chars_dict\n"
        "\n"
        "states:\n"
        "  file: states\n"
        "  types: [\n" + ",\n".join(types) + "\n  ]\n"
    )
    atomic_write_text(out / "lstm.yml", yml)
    return [out / n for n in ("lstm.yml", "states.h5", "chars.h5", "chars.dict")]
