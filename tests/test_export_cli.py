"""rnnlab export as a command: an existing OUT is kept unless --force, an export that fails
leaves nothing behind (it is renamed into place only once whole), a run still training exports
its last saved checkpoint and says so, and a missing extra is one line."""

from __future__ import annotations

import builtins

import pytest
from conftest import one_line_error

from rnnlab.cli import main
from rnnlab.training.rundir import RunFolder


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export") / "run"
    text = folder.parent / "t.txt"
    text.write_text("a quick brown fox jumps over the lazy dog.\n" * 40)
    assert main(["train", str(text), "--out", str(folder), "--tiny", "--quiet"]) == 0
    return folder


def test_an_existing_out_is_kept_unless_force(run, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    rc = main(["export", str(run), "--to", "hf", str(out)])
    one_line_error(capsys, rc, "--force replaces it")
    assert (out / "mine.txt").read_text() == "keep me"
    assert main(["export", str(run), "--to", "hf", str(out), "--force"]) == 0
    assert (out / "model.safetensors").is_file() and not (out / "mine.txt").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temporary left beside it


def test_an_export_that_fails_leaves_nothing(run, tmp_path, capsys, monkeypatch):
    from rnnlab.export import hf

    def broken(ckpt, model, out, cfg):
        (out / "model.safetensors").write_bytes(b"half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(hf, "write", broken)
    rc = main(["export", str(run), "--to", "hf", str(tmp_path / "out")])
    one_line_error(capsys, rc, "No space left on device")
    assert list(tmp_path.iterdir()) == []


def test_a_run_still_training_exports_its_last_saved_checkpoint(run, tmp_path, capsys):
    with RunFolder(run).lock():
        assert main(["export", str(run), "--to", "hf", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    assert "is still training: exporting its last saved checkpoint" in err and (tmp_path / "out" / "config.json").is_file()


def test_a_missing_extra_is_one_line(run, tmp_path, capsys, monkeypatch):
    real = builtins.__import__

    def no_onnx(name, *args, **kwargs):
        if name == "onnx" or name.startswith("onnx."):
            raise ImportError(name=name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_onnx)
    monkeypatch.delitem(__import__("sys").modules, "rnnlab.export.onnx", raising=False)
    rc = main(["export", str(run), "--to", "onnx", str(tmp_path / "out")])
    one_line_error(capsys, rc, "pip install safetensors onnx onnxscript onnxruntime")
    assert not (tmp_path / "out").exists()
