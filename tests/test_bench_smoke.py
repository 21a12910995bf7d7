"""Smoke tests for the benchmark scripts: each main runs in-process at tiny sizes and writes its JSON."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "reference_speed.py"


def test_reference_speed_quick_writes_json_with_ratio(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("reference_speed", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "sub" / "speed.json"
    module.main(["--quick", "--repeats", "2", "--seed", "3", "--out", str(out)])

    data = json.loads(out.read_text())
    assert data["quick"] is True and data["seed"] == 3
    assert data["ratio_median"] > 0 and data["ratio_min"] > 0
    assert set(data["times_s"]) == {"torch.nn.LSTM", "rnnlab.nn.LSTM"}
    assert all(len(t) == 2 for t in data["times_s"].values())
    assert data["torch_version"] and data["threads"] >= 1 and data["cpu"]
    assert "ratio rnnlab/torch" in capsys.readouterr().out


def _load(name):
    path = SCRIPT.parent / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_lm_throughput_quick_has_every_cell_both_peers_and_utilisation(tmp_path):
    out = tmp_path / "t.json"
    _load("lm_throughput").main(["--quick", "--steps", "1", "--rounds", "1", "--out", str(out)])
    data = json.loads(out.read_text())
    assert [r["cell"] for r in data["rows"]] == ["lstm", "gru", "rnn"]
    for row in data["rows"]:
        assert row["rnnlab_cps"] > 0 and row["seq_cps"] > 0 and row["char_cps"] > 0
        assert row["utilisation"].endswith("%") and row["shape_gflops"] > 0 and row["achieved_gflops"] > 0
        assert row["backend"] == ("torch" if row["cell"] == "lstm" else "fused")
    assert data["square_matmul_flops_per_s"] > 0


def test_flop_count_of_a_training_step_by_hand():
    lm = _load("lm_throughput")
    # 1-layer LSTM, D=3, H=5, V=7, B=2, T=4: forward 2*(8*3*20 + 4*(2*5*20) + 8*5*7) FLOPs, x3 with backward.
    forward = 2 * (8 * 3 * 20 + 4 * 2 * 5 * 20 + 8 * 5 * 7)
    assert lm.flops_of(lm.step_matmuls("lstm", 1, 5, 3, 7, 2, 4)) == 3 * forward


def test_sample_speed_compares_with_the_naive_loop(tmp_path):
    out = tmp_path / "s.json"
    _load("sample_speed").main(["--chars", "20", "--rounds", "1", "--hidden", "16", "--out", str(out)])
    data = json.loads(out.read_text())
    assert [r["batch"] for r in data["rows"]] == [1, 64]
    assert data["rows"][0]["limit_cps"] > 0 and all(r["naive_cps"] > 0 for r in data["rows"])
