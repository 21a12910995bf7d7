"""Checkpoints of formats 1 to 9 read as format 10: ``STEPS[v]`` turns the raw dict of a format-``v`` file into
format ``v + 1``, giving what those runs lacked the value they trained with (4 and 9 need only the reader's defaults)."""

import math
from typing import Any

from rnnlab.cells import resolve_impl
from rnnlab.config import TagTrainConfig
from rnnlab.data import DataSpec


def upgrade(raw: dict, version: int) -> dict:
    """A raw checkpoint of format ``version`` through every step from that format on."""
    for start in (s for s in sorted(STEPS) if s >= version):
        raw = STEPS[start](raw)
    return raw


def _put(raw: dict, section: str, kinds: tuple[str, ...] = ("lm", "tag"), **values: Any) -> dict:
    """``raw`` with ``values`` set in one of its sections, for a run of one of ``kinds``."""
    return {**raw, section: {**(raw.get(section) or {}), **values}} if raw["kind"] in kinds else raw


def _typed_layout(d: dict) -> dict:
    """Format 2's flat layout in format 3's typed one: data_config, data, backend (impl absent: format 1's torch), a task section."""
    model = dict(d["model_config"])
    train = dict(d.get("train_config", {}))
    if d["kind"] == "lm":
        spec = d.get("corpus_spec") or {}
        chars = (d.get("corpus") or {}).get("chars", 0)
        if not spec:
            data = DataSpec("text", (), chars)  # trained from Python on a text in memory
        elif spec.get("embedded"):
            data = DataSpec("embedded", ("jargon",), chars)
        else:
            data = DataSpec("files", tuple(spec.get("paths", ())), chars)
        data_config = {k: spec[k] for k in ("encoding", "min_count") if k in spec}
        task = {"vocab": d["vocab"], "carried_state": d.get("carried_state")}
    else:
        model["vocab_size"] = model.pop("in_vocab")
        train.pop("seq_len", None)  # a tag batch is whole lines
        spec = d.get("data_spec") or {}
        embedded = bool(spec.get("derive")) and not spec.get("paths")
        names = ("french" if spec.get("derive") == "diacritics" else "jargon",) if embedded else tuple(spec.get("paths", ()))
        data = DataSpec("embedded" if embedded else "files", names, (d.get("data") or {}).get("chars", 0))
        data_config = {k: spec[k] for k in ("encoding", "derive", "skip_bad", "max_len") if k in spec}
        shuffle = d.get("shuffle") or {}
        task = {"in_vocab": d["vocab"], "out_vocab": d["out_vocab"], "shuffle": shuffle.get("generator"), "order": shuffle.get("order")}
    backend = resolve_impl(model.get("impl", "torch"), model.get("cell", "lstm"), "cpu", d.get("batch_size", train.get("batch_size")))
    kept = {k: d.get(k) for k in ("optimizer", "rng", "scaler")} | {"progress": d.get("progress", {}), "history": d.get("history", [])}
    configs = {"model_config": model, "train_config": train, "data_config": data_config}
    return {**kept, **configs, "kind": d["kind"], "data": data.to_dict(), "model": d["model"], "backend": backend, "task": task}


def _tag_epochs(raw: dict) -> dict:
    """Formats 3-8 keep None for an unset tagger --epochs, meaning 20 passes raised to reach 300
    steps: that number, so that a resumed run keeps its schedule (the default 20 without an order of lines)."""
    order = (raw.get("task") or {}).get("order")
    if raw["kind"] != "tag" or raw["train_config"].get("epochs") is not None:
        return raw
    if order is None or not len(order):
        return {**raw, "train_config": {k: v for k, v in raw["train_config"].items() if k != "epochs"}}
    batch = min(int(raw["train_config"].get("batch_size", TagTrainConfig.batch_size)), len(order))
    return _put(raw, "train_config", epochs=max(20, math.ceil(300 / math.ceil(len(order) / batch))))


STEPS = {
    1: lambda raw: _put(raw, "train_config", precision="fp32"),  # format-1 runs trained in fp32 alone
    2: _typed_layout,
    3: lambda raw: _put(raw, "train_config", optimizer="adam"),  # formats 1-3 trained with Adam
    5: lambda raw: _put(raw, "model_config", ("tag",), word_buckets=0),  # taggers of formats 1-5 read characters only
    6: lambda raw: _put(raw, "model_config", ("tag",), word_dropout=0.0),  # format 6's word rows trained without word dropout
    7: lambda raw: _put(raw, "train_config", ("tag",), val_lines="last"),  # the lines formats 1-7 held out, so a resume validates on them
    8: _tag_epochs,
}
