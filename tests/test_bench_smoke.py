"""Smoke test for benchmarks/reference_speed.py: runs its main with --quick in-process."""

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
