"""Settings declared once: every field is a flag with its real default and its own error; config
files and --print-config round-trip; --resume says what it changes and refuses what it cannot."""

from __future__ import annotations

import argparse
import math
import re
import tomllib

import pytest
import torch

import rnnlab
from rnnlab import settings
from rnnlab.cli import build_parser, main
from rnnlab.commands import tag as tag_command
from rnnlab.commands import train as train_command
from rnnlab.commands.flags import flag
from rnnlab.config import ModelConfig, TagModelConfig, TrainConfig

TEXT = "the quick brown fox jumps over the lazy dog. " * 40
COMMANDS = {"train": train_command.COMMAND, "tag train": tag_command.COMMAND}


def sections(cmd):
    return [cls for _, cls in cmd.sections]


def user_fields(cmd):
    return [(cls, f) for cls in sections(cmd) for f in settings.fields(cls)]


def bad_value(cls, f) -> str | None:
    """A text for the flag that the field refuses (None for on/off flags, which take none)."""
    kind, _ = settings.value_type(cls, f.name)
    spec = settings.spec(f)
    if kind is bool:
        return None
    if spec.choices:
        return "no-such-choice"
    if spec.check is None:
        return "not-a-number" if kind in (int, float) else None
    for text in ("-1", "0", "1e15" if kind is float else str(10**15), "nan", "no-such-thing"):
        try:
            value = kind(text)
        except ValueError:
            continue
        if settings.problem(f, value):
            return text
    raise AssertionError(f"no invalid value found for {f.name}")


def subparser(words):
    parser = build_parser()
    for word in words:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[word]
    return parser


@pytest.mark.parametrize("name", COMMANDS)
def test_every_setting_is_a_flag_whose_help_states_the_default(capsys, name):
    from rnnlab.commands.training import help_defaults

    actions = {o: a for a in subparser(name.split())._actions for o in a.option_strings}
    chosen = help_defaults(COMMANDS[name].kind)  # what a recipe, rule or --init-from decides: tests/test_resolve.py
    for _, f in user_fields(COMMANDS[name]):
        action = actions[flag(f.name)]
        assert action.dest == f.name
        default = chosen.get(f.name, settings.default_text(f))
        # A number that may be unset also says how to unset it: "(default: no limit, also as 'none')".
        assert re.search(rf"\(default: {re.escape(default)}(, also as 'none')?\)", action.help), f.name
    assert main([*name.split(), "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "(default: 16 for --max-time up to 300 s" in help_text if name == "train" else "(default: 32)" in help_text
    for cls in sections(COMMANDS[name]):  # internal fields (vocabulary sizes) are not flags
        for f in settings.fields(cls, internal=True):
            assert (flag(f.name) in actions) != settings.spec(f).internal, f.name


@pytest.mark.parametrize("name", COMMANDS)
def test_every_invalid_value_gets_the_fields_one_line_error(tmp_path, capsys, promises, name):
    cmd = COMMANDS[name]
    checked = 0
    for cls, f in user_fields(cmd):
        text = bad_value(cls, f)
        if text is None:
            continue
        rc = main([*name.split(), "--out", str(tmp_path / "never"), flag(f.name), text])
        err = capsys.readouterr().err.strip()
        assert rc == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, (f.name, err)
        assert f"argument {flag(f.name)}: " in err, err
        kind, _ = settings.value_type(cls, f.name)
        try:
            expected = settings.problem(f, kind(text))
        except ValueError:
            expected = f"expected {settings.TYPE_WORDS[kind]}"
        assert expected in err, (f.name, err)
        checked += 1
    assert not (tmp_path / "never").exists()
    assert checked >= 20
    promises["invalid setting values refused in one line"] = promises.get("invalid setting values refused in one line", 0) + checked


def test_a_config_in_python_gets_the_same_errors():
    with pytest.raises(rnnlab.errors.UserError, match=r"^hidden must be between 1 and 65536, got 0$"):
        ModelConfig(hidden=0)
    with pytest.raises(rnnlab.errors.UserError, match=r"^lr must be a number, got '0.1'$"):
        TrainConfig(lr="0.1")
    with pytest.raises(rnnlab.errors.UserError, match="did you mean 'hidden'"):
        settings.from_dict(ModelConfig, {"hiden": 3})
    assert TagModelConfig().hidden == 128 and ModelConfig().hidden == 256  # a task's own default


# ------------------------------------------------------------------------------ config files


def test_print_config_round_trips_and_flags_win(tmp_path, capsys):
    """--print-config prints [data], [model] and [training] tables, each value with its source;
    --config reads them back to the same values, and a flag still wins over the file."""
    assert main(["train", "--tiny", "--cell", "gru", "--max-time", "60", "--print-config"]) == 0
    printed = capsys.readouterr().out
    assert 'cell = "gru"  # given' in printed and "max_time = 60.0  # given" in printed and "max_steps = 30  # given" in printed
    assert "[model]" in printed and "# patience: off (default)" in printed
    values = tomllib.loads(printed)
    assert set(values) == {"data", "model", "training"} and "vocab_size" not in values["model"]  # internal
    assert "patience" not in values["training"]  # unset: a comment
    recipe = tmp_path / "recipe.toml"
    recipe.write_text(printed)
    assert main(["train", "--config", str(recipe), "--print-config"]) == 0
    assert tomllib.loads(capsys.readouterr().out) == values
    assert main(["train", "--config", str(recipe), "--hidden", "48", "--print-config"]) == 0
    again = tomllib.loads(capsys.readouterr().out)
    assert again["model"]["hidden"] == 48 and {**again["model"], "hidden": 32} == values["model"]


def test_tiny_is_a_shipped_recipe(capsys):
    from importlib import resources

    text = (resources.files("rnnlab") / "recipes" / "tiny.toml").read_text()
    assert main(["train", "--tiny", "--print-config"]) == 0
    printed = capsys.readouterr().out
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.split(" = ")
            assert re.search(rf"^{key} = {re.escape(value)}(\.0)?  # given$", printed, re.M), line


@pytest.mark.parametrize(
    "content, needle",
    [
        ("hiden = 3\n", "unknown setting 'hiden' (did you mean 'hidden'?)"),
        ("hidden = 0\n", "hidden must be between 1 and 65536, got 0"),
        ('lr = "fast"\n', "lr must be a number, got 'fast'"),
        ("cell = [\n", "is not valid TOML"),
        ("bidirectional = true\n", "unknown setting 'bidirectional'"),  # a tag setting, not train's
    ],
)
def test_bad_config_files_are_one_line_naming_the_file(tmp_path, capsys, content, needle):
    path = tmp_path / "bad.toml"
    path.write_text(content)
    rc = main(["train", "--config", str(path), "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and str(path) in err and needle in err, err
    assert main(["train", "--config", str(tmp_path / "missing.toml")]) == 2
    assert "no such config file" in capsys.readouterr().err


# ------------------------------------------------------------------------------ resume


def test_resume_applies_what_may_change_prints_it_and_refuses_the_rest(tmp_path, capsys, text_file):
    run = tmp_path / "run"
    base = ["train", str(text_file), "--out", str(run), "--tiny", "--max-steps", "10", "--quiet"]
    assert main([*base, "--cell", "gru"]) == 0
    capsys.readouterr()
    for args, name in (
        (["--lr", "0.1"], "--lr"),
        (["--seq-len", "16"], "--seq-len"),
        (["--cell", "rnn"], "--cell"),
        (["--tiny"], "--tiny"),
    ):
        assert main(["train", "--resume", str(run), *args]) == 2, args
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and name in err, err
    # The same value as the run's is no change; what may change is applied and said.
    assert main(["train", "--resume", str(run), "--cell", "gru", "--max-steps", "20", "--eval-every", "5"]) == 0
    err = capsys.readouterr().err
    assert "resuming at step 10; changed: max_steps 10 -> 20, eval_every 10 -> 5" in err
    ckpt = torch.load(run / "last.pt", weights_only=True)
    assert ckpt["progress"]["step"] == 20 and ckpt["train_config"]["max_steps"] == 20 and ckpt["train_config"]["eval_every"] == 5


def test_the_backend_is_resolved_once_saved_and_printed(tmp_path, capsys, text_file):
    run = tmp_path / "run"
    assert main(["train", str(text_file), "--out", str(run), "--tiny", "--cell", "gru", "--batch-size", "4"]) == 0
    assert "GRU (impl auto -> fused)" in capsys.readouterr().err
    ckpt = torch.load(run / "last.pt", weights_only=True)
    assert ckpt["model_config"]["impl"] == "auto" and ckpt["backend"] == "fused"
    assert rnnlab.load(run).model.rnn.fused  # loaded on the backend it was trained on


def test_a_run_made_from_python_resumes_from_the_command_line(tmp_path, capsys):
    run = tmp_path / "api"
    rnnlab.train_lm(
        text=TEXT, out=run, model=ModelConfig(layers=1, hidden=16, embed=8), config=TrainConfig(max_steps=6, batch_size=4, seq_len=16)
    )
    same, other = tmp_path / "same.txt", tmp_path / "other.txt"
    same.write_text(TEXT)
    other.write_text(TEXT.upper())
    capsys.readouterr()
    for args, needle in (([], "give the same text again as PATH"), ([str(other)], "differs from the one this run was trained on")):
        assert main(["train", "--resume", str(run), *args, "--max-steps", "12", "--quiet"]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and needle in err, err
    assert main(["train", "--resume", str(run), str(same), "--max-steps", "12", "--quiet"]) == 0
    ckpt = torch.load(run / "last.pt", weights_only=True)
    assert ckpt["progress"]["step"] == 12 and ckpt["data"]["source"] == "files"  # now it can find its text
    assert main(["train", "--resume", str(run), "--max-steps", "14", "--quiet"]) == 0


def test_version_comes_from_the_installed_metadata(capsys):
    from importlib.metadata import version

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"rnnlab {version('rnnlab')}" == f"rnnlab {rnnlab.__version__}"
    assert math.isfinite(float(rnnlab.__version__.split(".")[0]))


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_help_groups_every_flag_with_the_everyday_ones_first(name):
    """--help of a training command: argparse groups from config.HELP_GROUPS, "everyday" first;
    every setting and every flag of the command sits in exactly one of them, and every name the
    groups list is a real setting or flag (no stale entry)."""
    from rnnlab.commands.training import HELP_GROUPS, OWN_FLAGS

    parser = subparser(name.split())
    titled = {g.title: g for g in parser._action_groups}
    shown = [g.title for g in parser._action_groups if g._group_actions and g.title in HELP_GROUPS]
    assert shown[0] == "everyday" and shown == [t for t in HELP_GROUPS if t in shown]
    flags_in = {t: {a.dest for a in titled[t]._group_actions} for t in shown}
    for _, f in user_fields(COMMANDS[name]):
        assert sum(f.name in d for d in flags_in.values()) == 1, f.name
    assert {"cell", "max_time", "out", "lr"} <= flags_in["everyday"] and "seq_len" not in flags_in["everyday"]
    everything = {f.name for cmd in COMMANDS.values() for _, f in user_fields(cmd)} | set(OWN_FLAGS)
    assert not {n for names in HELP_GROUPS.values() for n in names} - everything
    text = parser.format_help()
    assert text.index("everyday:") < text.index("model:") < text.index("performance:")
