"""--tensorboard DIR (and the TensorBoard hooks from Python): the event file, read back with
TensorBoard's own reader, holds metrics.csv's numbers, the samples and the settings."""

from __future__ import annotations

import csv
import math

import pytest

from rnnlab.cli import main

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator


def test_the_event_file_holds_what_metrics_csv_holds(tmp_path, text_file, capsys):
    run, board = tmp_path / "run", tmp_path / "board"
    assert main(["train", str(text_file), "--out", str(run), "--tiny", "--quiet", "--tensorboard", str(board)]) == 0
    with open(run / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    events = EventAccumulator(str(board), size_guidance={"scalars": 0, "tensors": 0})
    events.Reload()
    for key in ("train_bpc", "val_bpc", "lr", "grad_norm", "chars_per_s"):
        written = {e.step: e.value for e in events.Scalars(key)}
        expected = {int(r["step"]): float(r[key]) for r in rows if r[key]}
        assert set(written) == set(expected) and expected, key
        assert all(math.isclose(written[s], expected[s], rel_tol=1e-6) for s in expected), key
    assert all(float(r["grad_norm"]) > 0 for r in rows)
    texts = events.Tensors("sample/text_summary")
    assert [t.step for t in texts] == [int(r["step"]) for r in rows if r["val_bpc"]]
    # The settings, as hparams, in the run's own folder of the board.
    hparams = EventAccumulator(str(board)).Reload().summary_metadata
    assert any("hparams" in str(m.plugin_data.plugin_name) for m in hparams.values())


def test_without_the_package_the_flag_is_one_line(tmp_path, text_file, capsys, monkeypatch):
    import builtins

    real = builtins.__import__

    def no_tensorboard(name, *args, **kwargs):
        if name.startswith("torch.utils.tensorboard"):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    rc = main(["train", str(text_file), "--out", str(tmp_path / "run"), "--tiny", "--quiet", "--tensorboard", str(tmp_path / "b")])
    err = capsys.readouterr().err
    assert rc == 2 and "pip install tensorboard" in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "run").exists()  # refused before the run folder


def test_from_python_with_other_hooks(tmp_path):
    import rnnlab
    from rnnlab.config import ModelConfig, TrainConfig

    seen = []

    class Count(rnnlab.Hooks):
        def on_step(self, trainer, info):
            seen.append(info["step"])

    board = tmp_path / "board"
    cfg = TrainConfig(max_steps=20, eval_every=10, sample_chars=0)
    rnnlab.train_lm(
        text="the cat sat on the mat. " * 40,
        model=ModelConfig(layers=1, hidden=8, embed=4),
        config=cfg,
        hooks=rnnlab.AllHooks(Count(), rnnlab.TensorBoard(board)),
    )
    events = EventAccumulator(str(board))
    events.Reload()
    assert [e.step for e in events.Scalars("train_bpc")] == seen == [10, 20]


def test_the_docs_tracker_example_runs_with_a_stand_in_for_wandb(tmp_path, monkeypatch):
    """docs/training.md's Weights & Biases hooks, with a stand-in module that records the calls."""
    import re
    import sys
    import types
    from pathlib import Path

    logged = []
    fake = types.ModuleType("wandb")
    fake.init = lambda **kw: types.SimpleNamespace(log=lambda values, step: logged.append((step, values)), finish=lambda: None)
    monkeypatch.setitem(sys.modules, "wandb", fake)
    doc = (Path(__file__).resolve().parents[1] / "docs" / "training.md").read_text()
    code = next(block for block in re.findall(r"```python\n(.*?)```", doc, re.S) if "WandB" in block)
    text = tmp_path / "my.txt"
    text.write_text("the cat sat on the mat. " * 40)
    code = code.replace(
        'paths=["my.txt"], out="runs/mine"',
        f"paths=[{str(text)!r}], out={str(tmp_path / 'run')!r}, config=rnnlab.TrainConfig(max_steps=10, sample_chars=0), model=rnnlab.ModelConfig(layers=1, hidden=8, embed=4)",
    )
    exec(compile(code, "docs/training.md", "exec"), {})
    assert [step for step, _ in logged] == [10] and {"train_bpc", "lr", "grad_norm"} <= set(logged[0][1])
