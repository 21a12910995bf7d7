"""Generate text from a model that ``rnnlab export --to onnx`` wrote, with ONNX Runtime and NumPy only.

    python examples/onnx_generate.py OUT PROMPT [--length 500] [--seed 0] [--temperature 1.0]

OUT is the exported folder: ``model.onnx`` (one step: the previous characters' ids and every
layer's state in, the logits and the new state out) and ``vocab.json`` (the characters in id
order, the unknown symbol's id, the newline's id and each state's name and shape). The prompt is
read one character at a time from the zero state, then each next character is the likeliest one
(greedy, the default: the same text as ``rnnlab sample --greedy``) or, with ``--seed``, drawn
from the softmax at ``--temperature``. An empty prompt starts from a newline. The unknown
symbol stands for no character and is never chosen. Every row of the graph's batch gets the
same prompt; each row's text is printed, one blank line between rows.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path, help="the folder rnnlab export --to onnx wrote")
    ap.add_argument("prompt", help="the text to continue ('' starts from a newline)")
    ap.add_argument("--length", type=int, default=500, help="characters to generate")
    ap.add_argument("--seed", type=int, help="sample with this seed (default: greedy)")
    ap.add_argument("--temperature", type=float, default=1.0, help="with --seed: the softmax's temperature (0: greedy)")
    args = ap.parse_args(argv)
    about = json.loads((args.out / "vocab.json").read_text(encoding="utf-8"))
    chars, unk, batch = about["chars"], about["unk"], about["batch"]
    session = onnxruntime.InferenceSession(str(args.out / "model.onnx"), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(args.seed)

    stoi = {c: i for i, c in enumerate(chars) if i != unk}
    unknown = sorted({c for c in args.prompt if c not in stoi})
    if unknown and unk is None:
        sys.exit(f"the prompt has characters the model has never seen: {', '.join(map(repr, unknown))}")
    prompt = [stoi.get(c, unk) for c in args.prompt]
    if not prompt:
        prompt = [about["newline"] if about["newline"] is not None else int(rng.integers(len(chars)))]

    state = {s["name"]: np.zeros(s["shape"], np.float32) for s in about["states"]}

    def step(ids: np.ndarray) -> np.ndarray:
        """ids (B,) -> logits (B, V); the state moves one character on."""
        logits, *new = session.run([about["logits"], *(s["next"] for s in about["states"])], {about["ids"]: ids, **state})
        state.update(zip((s["name"] for s in about["states"]), new))
        return logits

    for i in prompt[:-1]:
        step(np.full(batch, i, np.int64))
    ids = np.full(batch, prompt[-1], np.int64)  # (B,)
    rows: list[list[str]] = [[] for _ in range(batch)]
    for _ in range(args.length):
        logits = step(ids)  # (B, V)
        if unk is not None:
            logits[:, unk] = -np.inf
        if args.seed is None or args.temperature == 0:
            ids = logits.argmax(-1)  # (B,)
        else:
            z = (logits - logits.max(-1, keepdims=True)).astype(np.float64) / args.temperature  # (B, V)
            p = np.exp(z) / np.exp(z).sum(-1, keepdims=True)
            ids = np.array([rng.choice(len(chars), p=row) for row in p], np.int64)  # (B,)
        for row, i in zip(rows, ids):
            row.append(chars[i])
    print("\n\n".join(args.prompt + "".join(row) for row in rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
