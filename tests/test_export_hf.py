"""``rnnlab export --to hf``: the folder loads as the run does (scores, seeded samples, the CLI,
the tagger, the report), its card and config.json say what the run is without a path of the
machine, and a crafted folder is refused in one line with nothing run."""

from __future__ import annotations

import json
import pickle
import shlex
import shutil
import tomllib

import pytest
import torch
from conftest import SMALL, one_line_error
from safetensors.torch import load_file, save_file

import rnnlab
from rnnlab import checkpoint, settings
from rnnlab.cli import main
from rnnlab.errors import UserError
from rnnlab.export import hf
from rnnlab.report import build_report
from rnnlab.report.build import EXPORT_NOTE
from rnnlab.runs import load_run
from rnnlab.tag import load_tagger

TAG_TEXT = "The quick brown fox jumps over the lazy dog. It was NOT amused.\nUnix and GNU are names. I said so, and she agreed.\n" * 8


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A tiny language-model run (a tied GRU, so that two weights share memory) and its export."""
    root = tmp_path_factory.mktemp("hf")
    text = root / "corpus.txt"
    text.write_text(SMALL)
    run, out = root / "run", root / "out"
    flags = ["--tiny", "--cell", "gru", "--hidden", "24", "--embed", "24", "--tie", "--lr", "0.01", "--quiet"]
    assert main(["train", str(text), "--out", str(run), *flags]) == 0
    assert main(["export", str(run), "--to", "hf", str(out)]) == 0
    return root, text, run, out


@pytest.fixture(scope="module")
def tagged(tmp_path_factory):
    """A tiny tag run (truecase, derived from plain text) and its export; its dropout is the field's
    default, which the rule for a small text would change, so the rebuilt command must give it."""
    root = tmp_path_factory.mktemp("hf_tag")
    text = root / "text.txt"
    text.write_text(TAG_TEXT)
    run, out = root / "run", root / "out"
    assert main(["tag", "train", "--derive", "truecase", str(text), "--out", str(run), "--tiny", "--dropout", "0", "--quiet"]) == 0
    assert main(["export", str(run), "--to", "hf", str(out)]) == 0
    return root, text, run, out


def copy_of(out, tmp_path):
    dst = tmp_path / "crafted"
    shutil.copytree(out, dst)
    return dst


def test_the_folder_has_the_hubs_layout(made):
    _, _, _, out = made
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "config.json", "model.safetensors"]
    assert load_file(out / "model.safetensors")["embed.weight"].dtype == torch.float32


def test_the_export_scores_and_samples_as_the_run(made):
    _, text, run, out = made
    a, b = rnnlab.load(run), rnnlab.load(out)
    got, want = b.evaluate(text.read_text()), a.evaluate(text.read_text())
    assert got["chars"] == want["chars"] and abs(got["bpc"] - want["bpc"]) < 1e-6
    for seed in (0, 7):
        assert b.sample(80, prime="a quick", seed=seed) == a.sample(80, prime="a quick", seed=seed)
    assert [r for r in b.summary() if r[0] != "run"] == [r for r in a.summary() if r[0] != "run"]  # steps, best score
    assert load_run(out).progress == load_run(run).progress  # a score never taken (infinite) reads back as such


def test_the_commands_take_the_folder(made, capsys):
    _, text, run, out = made
    capsys.readouterr()
    outs = []
    for where in (run, out):
        assert main(["sample", str(where), "--length", "60", "--seed", "3", "--prime", "a quick"]) == 0
        assert main(["eval", str(where), str(text), "--json"]) == 0
        outs.append(capsys.readouterr().out)
    assert outs[0] == outs[1] and "a quick" in outs[0]
    # Either file of the folder names the folder.
    assert rnnlab.load(out / "model.safetensors").sample(40, seed=1) == rnnlab.load(run).sample(40, seed=1)


def test_config_json_describes_the_run_without_its_paths(made):
    root, _, run, out = made
    # Strict JSON, which other programs read: no Infinity or NaN (a score never taken is left out).
    config = json.loads((out / "config.json").read_text(), parse_constant=lambda c: pytest.fail(f"config.json holds {c}"))
    ckpt = load_run(run)
    assert config["export_format"] == checkpoint.EXPORT_FORMAT == 1 and config["rnnlab_version"] == rnnlab.__version__
    assert config["kind"] == "lm" and config["torch_dtype"] == "float32"
    assert config["model_config"] == settings.to_dict(ckpt.model_config)
    assert config["task"] == {"vocab": ckpt.task.vocab.to_dict()}
    assert config["data"] == {"source": "files", "paths": ["corpus.txt"], "chars": len(SMALL), "sha256": ckpt.data.sha256}
    for name in ("config.json", "README.md"):
        assert str(root) not in (out / name).read_text(), name


def test_the_card_has_the_hubs_metadata_the_score_and_the_samples(made):
    _, _, run, out = made
    card = (out / "README.md").read_text()
    head, body = card.split("\n---\n", 1)
    assert head.startswith("---\nlibrary_name: rnnlab\nlicense: unknown\ntags:\n")
    assert all(f"- {t}" in head for t in ("character-level", "rnn", "gru", "text-generation"))
    ckpt = load_run(run)
    assert f"{ckpt.progress.best_val:.3f} bits per character" in body and ckpt.data.sha256 in body and "`corpus.txt`" in body
    assert "rebuilt" in body and hf.train_command(ckpt) in body
    lm = rnnlab.load(out)
    for seed in range(3):
        assert "\n".join(hf.fenced(lm.sample(hf.SAMPLE, seed=seed))) in body
    assert 'rnnlab.load("NAME")' in body and "hf upload USER/NAME NAME" in body and "not tested" in body


def test_the_card_leaves_samples_out_and_names_the_licence_when_asked(made, tmp_path):
    _, _, run, _ = made
    out = tmp_path / "out"
    assert main(["export", str(run), "--to", "hf", str(out), "--license", "mit", "--no-samples"]) == 0
    card = (out / "README.md").read_text()
    assert "\nlicense: mit\n" in card and "## Samples" not in card


@pytest.mark.parametrize("which", ["lm", "tag"])
def test_the_rebuilt_command_resolves_to_the_runs_settings(made, tagged, which, capsys, monkeypatch):
    root, _, run, _ = made if which == "lm" else tagged
    ckpt = load_run(run)
    command = hf.train_command(ckpt)
    monkeypatch.chdir(root)  # the command names the text by its file name
    capsys.readouterr()
    assert main([*shlex.split(command)[1:], "--print-config"]) == 0
    resolved = {k: v for table in tomllib.loads(capsys.readouterr().out).values() for k, v in table.items()}
    for config in (ckpt.data_config, ckpt.model_config, ckpt.train_config):
        for key, value in settings.to_dict(config, internal=False).items():
            assert resolved.get(key) == value, (key, command)


def test_float16_halves_the_file_and_scores_within_a_rounding(made, tmp_path):
    _, text, _, out = made
    half = tmp_path / "half"
    assert main(["export", str(out), "--to", "hf", str(half), "--dtype", "float16"]) == 0
    assert (half / "model.safetensors").stat().st_size < 0.6 * (out / "model.safetensors").stat().st_size
    assert json.loads((half / "config.json").read_text())["torch_dtype"] == "float16"
    # Rounding each weight to float16 moves it by at most 2**-11 of itself; on this model that moves
    # the score by thousandths of a bit, and the web export allows float16 that costs 0.005 bits/char.
    full, small = rnnlab.load(out).evaluate(text.read_text()), rnnlab.load(half).evaluate(text.read_text())
    assert abs(full["bpc"] - small["bpc"]) < 0.005


def test_the_cards_samples_come_from_the_weights_it_exports(made, tmp_path, monkeypatch):
    _, _, run, _ = made
    drawn_by = []
    monkeypatch.setattr(hf, "LanguageModel", lambda model, *a: drawn_by.append(model) or rnnlab.LanguageModel(model, *a))
    assert main(["export", str(run), "--to", "hf", str(tmp_path / "half"), "--dtype", "float16"]) == 0
    weights = drawn_by[0].state_dict()
    assert all(torch.equal(w, w.half().float()) for w in weights.values())  # the float16 weights, not the run's


def test_the_report_of_an_export_says_it_has_no_history(made, capsys, monkeypatch):
    root, _, _, out = made
    monkeypatch.chdir(root)  # a file named as the run's text is here, but it is not read as the held-out text
    page = root / "page.html"
    capsys.readouterr()
    assert main(["report", str(out), "--out", str(page)]) == 0
    assert EXPORT_NOTE in capsys.readouterr().err and page.is_file()
    report = build_report(out)
    assert report.data["curves"]["step"] == [] and report.data["history"] == []
    assert EXPORT_NOTE in report.data["meta"]["notes"] and report.data["meta"]["source"].startswith("a sample of the model")


def test_a_tag_run_exports_and_predicts_as_the_run(tagged, capsys):
    _, text, run, out = tagged
    config = json.loads((out / "config.json").read_text())
    assert config["kind"] == "tag" and set(config["task"]) == {"in_vocab", "out_vocab"}
    assert config["data_config"]["derive"] == "truecase" and config["data_config"]["max_len"] == 200
    lines = ["the quick brown fox. it was not amused.", "unix and gnu are names."]
    assert load_tagger(out).predict_many(lines) == load_tagger(run).predict_many(lines)
    capsys.readouterr()
    outs = []
    for where in (run, out):
        assert main(["tag", "predict", str(where), lines[1]]) == 0
        assert main(["tag", "eval", str(where), str(text), "--derive", "truecase", "--json"]) == 0
        outs.append(capsys.readouterr().out)
    assert outs[0] == outs[1]
    one_line_error(capsys, main(["sample", str(out)]), "is a tagging run")


def test_loading_needs_no_training_state(made, tmp_path, capsys):
    _, _, _, out = made
    one_line_error(capsys, main(["train", "--resume", str(out)]), "is an exported model")
    one_line_error(capsys, main(["sample", str(out), "--checkpoint", "last"]), "is an exported model")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="is not an rnnlab run"):
        rnnlab.load(tmp_path / "empty")


def test_a_field_left_out_of_config_json_reads_as_its_default(made, tmp_path):
    _, _, run, out = made
    dst = copy_of(out, tmp_path)
    config = json.loads((dst / "config.json").read_text())
    for section, cls in (("model_config", type(load_run(run).model_config)), ("train_config", type(load_run(run).train_config))):
        defaults = {f.name: f.default for f in settings.fields(cls)}
        config[section] = {k: v for k, v in config[section].items() if k not in defaults or v != defaults[k]}
    del config["progress"]["chars_seen"]
    (dst / "config.json").write_text(json.dumps(config))
    got, want = load_run(dst), load_run(out)
    assert (got.model_config, got.train_config) == (want.model_config, want.train_config)
    assert got.progress.chars_seen == 0 and got.progress.best_val == want.progress.best_val


def marker_pickle(marker) -> bytes:
    class Boom:
        def __reduce__(self):
            return (open, (str(marker), "w"))  # unpickling it would create the marker file

    return pickle.dumps(Boom())


def craft(dst, how, marker):
    """Spoil a copy of an export in one way."""
    config = json.loads((dst / "config.json").read_text())
    if how in ("newer", "foreign", "kind"):
        config = {"newer": {**config, "export_format": 2}, "foreign": {"model_type": "gpt2"}, "kind": {**config, "kind": "evil"}}[how]
        (dst / "config.json").write_text(json.dumps(config))
    elif how == "pickle":
        (dst / "model.safetensors").write_bytes(marker_pickle(marker))
    elif how in ("no weights", "no config"):
        (dst / ("model.safetensors" if how == "no weights" else "config.json")).unlink()
    elif how == "shapes":
        weights = load_file(dst / "model.safetensors")
        weights["embed.weight"] = torch.zeros(3, 5)
        save_file(weights, dst / "model.safetensors")
    elif how == "not json":
        (dst / "config.json").write_bytes(marker_pickle(marker))


CRAFTED = {
    "newer": "export format 2; this rnnlab reads up to 1",
    "foreign": "is not an rnnlab run or export",
    "kind": "which this rnnlab does not know",
    "pickle": "is not a readable safetensors file (refused, nothing was run)",
    "no weights": "has no model.safetensors",
    "no config": "has no config.json",
    "shapes": "the weights do not fit the model it describes",
    "not json": "is not readable JSON",
}


@pytest.mark.parametrize("how", sorted(CRAFTED))
def test_a_crafted_folder_is_refused_in_one_line_and_nothing_runs(made, tmp_path, capsys, how):
    _, _, _, out = made
    dst, marker = copy_of(out, tmp_path), tmp_path / "ran"
    craft(dst, how, marker)
    capsys.readouterr()
    one_line_error(capsys, main(["sample", str(dst), "--length", "5"]), CRAFTED[how])
    with pytest.raises(UserError, match=CRAFTED[how].split(";")[0].replace("(", r"\(").replace(")", r"\)")):
        rnnlab.load(dst)
    assert not marker.exists()
