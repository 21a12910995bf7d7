"""``rnnlab export --to hf``: a run as a folder in the Hugging Face Hub's layout.

``model.safetensors`` holds the weights (float32, or float16 on request), ``config.json`` the rest
of what loading needs (:func:`rnnlab.checkpoint.export_config`: settings, vocabulary, where the text
came from, the export format), and ``README.md`` is a model card with the Hub's metadata. The
folder loads as a run does, reading JSON and safetensors only (:func:`rnnlab.checkpoint.load_export`).
"""

from __future__ import annotations

import copy
import json
import math
import re
import shlex
from pathlib import Path

import torch
from safetensors.torch import save

from rnnlab import settings
from rnnlab.checkpoint import EXPORT_CONFIG, EXPORT_WEIGHTS, Checkpoint, export_config
from rnnlab.config import ExportConfig, SampleConfig
from rnnlab.data import EMBEDDED
from rnnlab.fileio import atomic_write, atomic_write_text
from rnnlab.lm import LanguageModel
from rnnlab.resolve import FINETUNE, SMALL_TAG, for_budget
from rnnlab.tag.pairs import DERIVE_TEXT

OUTPUT = "folder"
SAMPLE = SampleConfig(length=200, temperature=0.8)  # the model card's samples, seeds 0, 1 and 2
WHAT = {"lm": "character-level language model", "tag": "character-level tagger (aligned transduction)"}
PIPELINE = {"lm": "text-generation", "tag": "token-classification"}


def write(ckpt: Checkpoint, model: torch.nn.Module, out: Path, cfg: ExportConfig) -> str:
    """Write the three files of the folder ``out``; return what was written, in one line."""
    dtype = torch.float16 if cfg.dtype == "float16" else torch.float32
    # A copy of each tensor: safetensors refuses tensors that share memory (a tied output layer).
    weights = {k: v.detach().to("cpu", dtype if v.is_floating_point() else v.dtype).clone() for k, v in model.state_dict().items()}
    atomic_write(out / EXPORT_WEIGHTS, lambda f: f.write(save(weights, metadata={"format": "pt"})))
    config = {**export_config(ckpt), "torch_dtype": str(dtype).removeprefix("torch.")}
    atomic_write_text(out / EXPORT_CONFIG, json.dumps(config, ensure_ascii=False, indent=2) + "\n")
    if dtype != torch.float32:  # the card's samples are the ones the folder gives
        model = copy.deepcopy(model)
        model.load_state_dict(weights)
    atomic_write_text(out / "README.md", card(ckpt, model, cfg))
    params = sum(p.numel() for p in model.parameters())
    return f"a Hugging Face folder: {params:,} parameters in {config['torch_dtype']}, config.json and a model card"


def card(ckpt: Checkpoint, model: torch.nn.Module, cfg: ExportConfig) -> str:
    """README.md: the Hub's metadata, then what the model is, how it was trained, its held-out
    score, samples (unless ``cfg.samples`` is off) and how to load it."""
    m, p, kind = ckpt.model_config, ckpt.progress, ckpt.kind
    license_ = cfg.license if re.fullmatch(r"[\w.+-]+", cfg.license) else json.dumps(cfg.license)
    tags = ["character-level", "rnn", m.cell, PIPELINE[kind]]
    size = f"{m.layers}x{m.hidden} {m.cell.upper()}"
    params = sum(q.numel() for q in model.parameters())
    vocab = len(ckpt.task.vocab if kind == "lm" else ckpt.task.in_vocab)
    lines = ["---", "library_name: rnnlab", f"license: {license_}", "tags:", *(f"- {x}" for x in tags), f"pipeline_tag: {PIPELINE[kind]}"]
    lines += ["---", "", f"# A {size} {WHAT[kind]}", ""]
    version = "" if ckpt.written_by == "unknown" else f" {ckpt.written_by}"
    lines += [f"A {WHAT[kind]} trained with rnnlab{version}: a {size} ({', '.join(m.extras())}), {params:,} parameters,"]
    lines += [f"over {vocab:,} characters."]
    lines += [f"`{EXPORT_WEIGHTS}` holds the weights, `{EXPORT_CONFIG}` the settings and the vocabulary.", ""]
    lines += ["## Training", "", f"Trained for {p.step:,} steps ({_duration(p.elapsed)}). The command, rebuilt from the run's"]
    lines += ["settings that differ from their defaults (not recorded as typed):", "", "```", train_command(ckpt), "```", ""]
    lines += ["## Evaluation", "", held_out(ckpt), "", f"The text: {text_named(ckpt)}.", ""]
    if cfg.samples and kind == "lm":
        lines += ["## Samples", "", f"Three samples of {SAMPLE.length} characters at temperature {SAMPLE.temperature:g}, seeds 0, 1 and 2;"]
        lines += [f"`rnnlab sample NAME --length {SAMPLE.length} --temperature {SAMPLE.temperature:g} --seed 0` draws the first again.", ""]
        lm = LanguageModel(model, ckpt.task.vocab, "cpu")
        for seed in range(3):
            lines += [*fenced(lm.sample(SAMPLE, seed=seed)), ""]
    return "\n".join([*lines, *usage(kind)]) + "\n"


def train_command(ckpt: Checkpoint) -> str:
    """The command that trains this run again: its text by file name, and a flag for each
    setting whose value differs from what the command would choose without it (the field's
    default, the budget's or fine-tuning recipe, the tagger's rule by text size, always given)."""
    configs = (ckpt.data_config, ckpt.model_config, ckpt.train_config)
    values = {f.name: getattr(c, f.name) for c in configs for f in settings.fields(type(c))}
    usual = {f.name: f.default for c in configs for f in settings.fields(type(c))}
    if ckpt.kind == "lm":
        usual |= (FINETUNE if values["init_from"] else for_budget(values["max_time"])).values()
    flags = [_flag(k, v) for k, v in values.items() if v != usual[k] or (ckpt.kind == "tag" and k in SMALL_TAG)]
    d = ckpt.data
    default = ("jargon",) if ckpt.kind == "lm" else (DERIVE_TEXT.get(ckpt.data_config.derive),)
    names = [] if d.source == "embedded" and d.paths == default else ["TEXT"] if d.source == "text" else _names(ckpt)
    return " ".join(["rnnlab", *(["train"] if ckpt.kind == "lm" else ["tag", "train"]), *map(shlex.quote, names), *flags])


def _flag(key: str, value) -> str:
    name = "--" + key.replace("_", "-")
    if isinstance(value, bool):
        return name if value else f"--no-{key.replace('_', '-')}"
    if key == "init_from" and value:
        value = Path(value).name  # the source run by name: no path of the machine it trained on
    return f"{name} {'none' if value is None else shlex.quote(str(value))}"


def _names(ckpt: Checkpoint) -> list[str]:
    """The text's files by name (an embedded text by its file's)."""
    return [EMBEDDED.get(p, p) if ckpt.data.source == "embedded" else Path(p).name for p in ckpt.data.paths]


def text_named(ckpt: Checkpoint) -> str:
    """The training text as the card names it: files by name, size and hash."""
    d = ckpt.data
    what = "a text given in memory" if d.source == "text" else ", ".join(f"`{n}`" for n in _names(ckpt))
    shipped = " (shipped with rnnlab)" if d.source == "embedded" else ""
    return f"{what}{shipped}, {d.chars:,} characters" + (f", SHA-256 `{d.sha256}`" if d.sha256 else "")


def held_out(ckpt: Checkpoint) -> str:
    """The best held-out score, measured during training, and on what part of the text."""
    p, t = ckpt.progress, ckpt.train_config
    if not math.isfinite(p.best_val):
        return "Nothing was held out, so there is no held-out score."
    part = f"held-out end of the text ({t.val_fraction:.1%} of it, at most {t.eval_chars:,} characters)"
    if ckpt.kind == "tag":
        part = f"held-out lines ({t.val_fraction:.1%} of them, {t.val_lines})"
        if math.isfinite(p.best_error):
            right = f"**{1 - p.best_error:.1%}** of the changes right ({p.best_val:.3f} bits per output character)"
            return f"{right} at step {p.best_step:,}, on the {part}."
    unit = "character" if ckpt.kind == "lm" else "output character"
    return f"**{p.best_val:.3f} bits per {unit}** at step {p.best_step:,}, on the {part}."


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} seconds" if seconds < 120 else f"{seconds / 60:.0f} minutes" if seconds < 7200 else f"{seconds / 3600:.1f} hours"


def fenced(text: str) -> list[str]:
    """``text`` as a Markdown code block whose fence no run of backticks inside it closes."""
    fence = "`" * max(3, 1 + max((len(r) for r in re.findall("`+", text)), default=0))
    return [fence, text, fence]


def usage(kind: str) -> list[str]:
    """How to get the folder and load it."""
    get = ["## Use", "", "Download the folder and load it with rnnlab (and safetensors), which reads only JSON and"]
    get += ["safetensors from it: nothing in it can run code.", "", "```", "hf download USER/NAME --local-dir NAME"]
    if kind == "lm":
        get += ["rnnlab sample NAME --prime 'The ' --length 200", "rnnlab eval NAME FILE", "rnnlab serve NAME", "```", ""]
        get += ["```python", "import rnnlab", "", 'lm = rnnlab.load("NAME")', 'print(lm.sample(200, prime="The ", seed=0))', "```", ""]
    else:
        get += ["rnnlab tag predict NAME 'some text'", "rnnlab tag eval NAME PAIRS.tsv", "```", ""]
        get += ["```python", "import rnnlab", "", 'tagger = rnnlab.load_tagger("NAME")', 'print(tagger.predict("some text"))', "```", ""]
    publish = "This folder was written by `rnnlab export RUN --to hf NAME`; `hf upload USER/NAME NAME` publishes it"
    return [*get, f"{publish} (Hugging Face's CLI; publishing needs a network and was not tested here)."]
