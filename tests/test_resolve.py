"""One resolver decides every setting (rnnlab.resolve): the recipes by budget, the --init-from
model, the tagger's rule by size, a resumed run's own settings. The help states what it gives,
--print-config prints what would run with its sources, the command line and the Python API
resolve the same requests alike, and giving a setting never changes another."""

from __future__ import annotations

import math
import re
import tomllib

import pytest
from conftest import SMALL

import rnnlab
from rnnlab import checkpoint, settings
from rnnlab.cli import main
from rnnlab.commands.training import help_defaults
from rnnlab.config import ModelConfig, TagDataConfig, TagModelConfig, TagTrainConfig, TrainConfig
from rnnlab.resolve import BY_BUDGET, FINETUNE, NO_LIMIT, SECTIONS, TAG_SHAPE, budget_cases, for_budget, resolve, tag_rule_text
from rnnlab.tag import load_pairs, train_tagger


def test_every_recipe_is_valid_and_the_budgets_are_ordered():
    limits = [r.up_to for r in BY_BUDGET]
    assert limits[-1] == math.inf and limits == sorted(set(limits))
    for r in (*BY_BUDGET, NO_LIMIT, FINETUNE):
        values = r.values()
        assert values and set(values) <= {f.name for cls in (ModelConfig, TrainConfig) for f in settings.fields(cls)}


@pytest.mark.parametrize(
    "max_time, file",
    [
        (30, "cpu-short"),
        (300, "cpu-short"),
        (301, "cpu-long"),
        (900, "cpu-long"),
        (901, "cpu-large"),
        (3600, "cpu-large"),
        (None, "cpu-long"),
    ],
)
def test_the_recipe_follows_the_budget(max_time, file):
    expected = for_budget(max_time)
    assert expected.file == f"{file}.toml" and (expected is NO_LIMIT) == (max_time is None)
    resolved = resolve("lm", {} if max_time is None else {"max_time": max_time})
    for key, value in expected.values().items():
        assert settings.to_dict(resolved.model if key in resolved.model.__dataclass_fields__ else resolved.train)[key] == value
        assert resolved.sources[key] == expected.source


def help_of(command: str) -> dict[str, str]:
    """flag dest -> its help, one line."""
    from rnnlab.cli import build_parser

    parser = build_parser()
    for word in command.split():
        parser = next(a for a in parser._actions if hasattr(a, "choices") and isinstance(a.choices, dict)).choices[word]
    return {a.dest: " ".join(a.help.split()) for a in parser._actions if a.help}


def shown(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def test_the_help_states_what_the_resolver_gives_for_each_budget_and_with_init_from():
    """For every setting of rnnlab train, the help's default is what resolve() gives with no
    flags: the value of each budget's recipe, and with --init-from the fine-tuning recipe's
    value or the model's own; the tagger's rule for dropout and epochs, its sizes with --init-from."""
    helps = help_of("train")
    contexts = [(r.when, given) for r, given in budget_cases()] + [(FINETUNE.when, {"init_from": "base"})]
    model_fields = {f.name for f in settings.fields(ModelConfig)}
    for f in [f for cls in SECTIONS["lm"] for f in settings.fields(cls)]:
        text = helps[f.name]
        for when, given in contexts:
            if f.name in given:
                continue
            resolved = resolve("lm", given)
            value = {k: v for c in resolved.configs for k, v in settings.to_dict(c).items()}[f.name]
            source = resolved.sources[f.name]
            if "init_from" in given and f.name in model_fields and not source.startswith("recipes/"):
                expected = f"the model's own {when}"  # the source model decides it (its shape, its other settings)
            elif source.startswith("recipes/") or f.name in help_defaults("lm"):
                expected = f"{shown(value)} {when}"
            else:
                expected = f"(default: {settings.default_text(f)}"
            assert expected in text, (f.name, expected, text)
    tag = help_of("tag train")
    for key in ("dropout", "epochs"):
        assert f"(default: {tag_rule_text(key)})" in tag[key]
    for key in TAG_SHAPE:
        assert f"(default: {getattr(TagModelConfig(), key)}; with --init-from, the language model's)" in tag[key]


def printed(capsys, *argv) -> tuple[dict, str]:
    assert main([*argv, "--print-config"]) == 0
    out = capsys.readouterr().out
    return {k: v for table in tomllib.loads(out).values() for k, v in table.items()}, out


def test_giving_a_setting_never_changes_another(capsys):
    """--hidden 256 (the recipe's own value) keeps the recipe's dropout and steps: the recipe
    fills every setting not given."""
    plain, _ = printed(capsys, "train")
    for flags in (["--hidden", "256"], ["--hidden", "128"], ["--cell", "gru"], ["--lr", "0.001"]):
        got, _ = printed(capsys, "train", *flags)
        changed = {k for k in got if got[k] != plain[k]}
        assert changed <= {flags[0][2:].replace("-", "_")}, (flags, changed)


def test_print_config_names_each_source_and_the_tagger_reads_its_text(capsys, tmp_path):
    _, out = printed(capsys, "train", "--max-time", "60", "--hidden", "64")
    assert re.search(r"^hidden = 64  # given$", out, re.M)
    assert re.search(r"^dropout = 0.2  # recipes/cpu-short.toml, the default for --max-time up to 300 s$", out, re.M)
    assert re.search(r"^grad_clip = 5.0  # default$", out, re.M)
    _, rule = printed(capsys, "tag", "train")  # no text: the rule, as a comment
    assert f"# dropout: {tag_rule_text('dropout')} (the rule by the text's size)" in rule
    pairs = tmp_path / "p.tsv"
    pairs.write_text("hello world\tHello World\n" * 20)
    got, out = printed(capsys, "tag", "train", str(pairs))
    assert got["dropout"] == 0.3 and "# the default on a text of at most 200,000 characters" in out
    assert got["epochs"] > 30 and "raised from 30 to reach 300 steps" in out


def test_configs_remember_what_was_given():
    assert settings.given(ModelConfig()) == {} and settings.given(ModelConfig(dropout=0.0)) == {"dropout": 0.0}
    assert settings.given(settings.replace(ModelConfig(dropout=0.0), hidden=8)) == {"dropout": 0.0, "hidden": 8}


# ------------------------------------------------------------------------------ the command line and Python alike


@pytest.fixture(scope="module")
def text(tmp_path_factory):
    path = tmp_path_factory.mktemp("resolve") / "text.txt"
    path.write_text(SMALL * 4)
    return path


def configs_of(run) -> dict:
    ckpt = checkpoint.load(run / checkpoint.LAST)
    return {
        name: settings.to_dict(c) for name, c in zip(("data", "model", "train"), (ckpt.data_config, ckpt.model_config, ckpt.train_config))
    }


QUICK = ["--max-steps", "1", "--sample-chars", "0", "--eval-chars", "64", "--quiet"]
QUICK_API = dict(max_steps=1, sample_chars=0, eval_chars=64)


@pytest.mark.parametrize(
    "flags, model, config",
    [
        ([], None, {}),  # no time limit: cpu-long.toml
        (["--max-time", "60"], None, {"max_time": 60}),  # cpu-short.toml
        (["--hidden", "32", "--dropout", "0"], {"hidden": 32, "dropout": 0.0}, {}),  # a given value equal to a field default counts
        (["--init-from", "base"], None, {"init_from": "base"}),
        (["--init-from", "base", "--dropout", "0"], {"dropout": 0.0}, {"init_from": "base"}),  # not the recipe's: given
        (["--init-from", "base", "--lr", "0.005"], None, {"init_from": "base", "lr": 0.005}),
    ],
)
def test_the_command_line_and_python_train_the_same_language_model(tmp_path, text, flags, model, config):
    assert main(["train", str(text), "--out", str(tmp_path / "cli"), *QUICK, *flags]) == 0
    rnnlab.train_lm(
        paths=[text], out=tmp_path / "api", model=None if model is None else ModelConfig(**model), config=TrainConfig(**QUICK_API, **config)
    )
    assert configs_of(tmp_path / "cli") == configs_of(tmp_path / "api")


@pytest.mark.parametrize("size", ["small", "large"])
def test_the_command_line_and_python_train_the_same_tagger(tmp_path, text, size):
    quick = ["--word-buckets", "64", "--hidden", "16", "--layers", "1"]
    if size == "small":
        args, data = [str(text)], TagDataConfig(derive="truecase")
        pairs = load_pairs([text], data)[0]
    else:  # the embedded French text, over the rule's 200,000 characters
        args, data = [], TagDataConfig(derive="diacritics")
        pairs = load_pairs([], data)[0]
    assert main(["tag", "train", "--derive", data.derive, *args, "--out", str(tmp_path / "cli"), *QUICK, *quick]) == 0
    train_tagger(
        pairs,
        out=tmp_path / "api",
        model=TagModelConfig(word_buckets=64, hidden=16, layers=1),
        config=TagTrainConfig(**QUICK_API),
        data=data,
    )
    cli, api = configs_of(tmp_path / "cli"), configs_of(tmp_path / "api")
    assert cli == api
    assert cli["model"]["dropout"] == (0.3 if size == "small" else 0.0)


def test_a_resume_runs_what_print_config_says(tmp_path, text, capsys):
    run = tmp_path / "run"
    assert main(["train", str(text), "--out", str(run), "--tiny", "--quiet", "--max-steps", "4"]) == 0
    capsys.readouterr()
    said, out = printed(capsys, "train", "--resume", str(run), "--max-steps", "6", "--schedule", "constant")
    assert "max_steps = 6  # given" in out and "hidden = 32  # the run" in out
    assert main(["train", "--resume", str(run), "--max-steps", "6", "--schedule", "constant", "--quiet"]) == 0
    ran = {k: v for part in configs_of(run).values() for k, v in part.items()}
    assert {k: ran[k] for k in said} == said
    rc = main(["train", "--resume", str(run), "--hidden", "8"])
    err = capsys.readouterr().err
    assert rc == 2 and "--hidden cannot change when a run is resumed" in err
