"""The default recipe is chosen by the budget, only when no model setting is given, and says so."""

import tomllib

import pytest

from rnnlab import defaults, settings
from rnnlab.cli import main
from rnnlab.config import ModelConfig, TrainConfig


def test_every_budget_recipe_is_a_valid_model_and_the_budgets_are_ordered():
    limits = [r.up_to for r in defaults.BY_BUDGET]
    assert limits[-1] is None and limits[:-1] == sorted(limits[:-1])
    for r in defaults.BY_BUDGET:
        model = defaults.model_values(r)
        assert model and set(model) <= {f.name for f in settings.fields(ModelConfig)}
        ModelConfig(**model)
        rest = {k: v for k, v in defaults.recipe_values(r).items() if k not in model}
        TrainConfig(**rest)  # the others are training settings


@pytest.mark.parametrize("max_time", [30, 60, 300, 600, 601, 900, 3600, None])
def test_the_recipe_follows_the_budget(max_time):
    chosen = defaults.for_budget(max_time)
    fitting = [r for r in defaults.BY_BUDGET if r.up_to is not None and max_time is not None and max_time <= r.up_to]
    assert chosen == (fitting[0] if fitting else defaults.BY_BUDGET[-1])


def printed_config(capsys, *flags) -> dict:
    assert main(["train", "--print-config", *flags]) == 0
    return tomllib.loads(capsys.readouterr().out)


@pytest.mark.parametrize("max_time", ["60", "900"])
def test_train_without_model_flags_uses_the_budget_recipe(capsys, max_time):
    got = printed_config(capsys, "--max-time", max_time)
    recipe = defaults.recipe_values(defaults.for_budget(float(max_time)))
    assert {k: got[k] for k in recipe} == recipe


def test_the_budgets_differ_in_how_they_train():
    short, long = (defaults.recipe_values(defaults.for_budget(t)) for t in (60, 900))
    assert (short["batch_size"], short["seq_len"]) != (long["batch_size"], long["seq_len"])


def test_training_flags_win_over_the_recipe(capsys):
    got = printed_config(capsys, "--max-time", "900", "--seq-len", "48")
    recipe = defaults.recipe_values(defaults.for_budget(900))
    assert got["seq_len"] == 48 and got["batch_size"] == recipe["batch_size"] and got["hidden"] == recipe["hidden"]


def test_any_model_setting_turns_the_recipe_off(capsys, tmp_path):
    got = printed_config(capsys, "--max-time", "60", "--hidden", "32")
    plain = ModelConfig(hidden=32)
    assert got["hidden"] == 32 and got["dropout"] == plain.dropout and got["layers"] == plain.layers
    assert got["batch_size"] == TrainConfig().batch_size and got["seq_len"] == TrainConfig().seq_len  # whole or not at all
    cfg = tmp_path / "m.toml"
    cfg.write_text("cell = 'gru'\n")
    got = printed_config(capsys, "--config", str(cfg))
    assert got["cell"] == "gru" and got["dropout"] == ModelConfig().dropout
    # Training settings alone keep the recipe.
    got = printed_config(capsys, "--lr", "0.001")
    assert {k: got[k] for k in defaults.model_values(defaults.for_budget(None))} == defaults.model_values(defaults.for_budget(None))


def test_the_start_up_summary_says_what_it_chose_and_why(tmp_path, capsys):
    text = tmp_path / "t.txt"
    text.write_text("the cat sat on the mat. " * 200)
    args = ["train", str(text), "--max-steps", "2", "--eval-every", "2", "--sample-chars", "0", "--batch-size", "2", "--seq-len", "8"]
    assert main([*args, "--out", str(tmp_path / "a"), "--max-time", "60"]) == 0
    err = capsys.readouterr().err
    recipe = defaults.for_budget(60)
    assert f"the default for --max-time 60 s: recipes/{recipe.file}, {recipe.why}" in err
    assert main([*args, "--out", str(tmp_path / "b"), "--hidden", "16"]) == 0
    assert "recipes/" not in capsys.readouterr().err


def test_train_lm_without_a_model_takes_the_budget_default():
    import rnnlab

    lm = rnnlab.train_lm(text="abcabcabd " * 50, config=TrainConfig(max_steps=1, batch_size=2, seq_len=8, sample_chars=0, max_time=60))
    expected = ModelConfig(**defaults.model_values(defaults.for_budget(60)))
    assert (lm.model.cfg.cell, lm.model.cfg.hidden, lm.model.cfg.dropout) == (expected.cell, expected.hidden, expected.dropout)


def test_default_configs_fill_only_the_training_fields_left_at_their_defaults():
    long = defaults.recipe_values(defaults.for_budget(900))
    model, train = defaults.default_configs(TrainConfig(max_time=900, seq_len=8))
    assert model == ModelConfig(**defaults.model_values(defaults.for_budget(900)))
    assert train.seq_len == 8 and train.batch_size == long["batch_size"] and train.max_time == 900
