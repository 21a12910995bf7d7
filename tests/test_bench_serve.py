"""Smoke test of benchmarks/serve_load.py: a tiny model served to two levels of clients for a few seconds."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

pytest.importorskip("httpx")
pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

SCRIPTS = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name):
    path = SCRIPTS / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_serve_load_smoke_measures_every_level_without_errors(tmp_path, capsys):
    out = tmp_path / "x.json"
    argv = ["--layers", "1", "--hidden", "16", "--clients", "1", "3", "--seconds", "2", "--warmup", "0.5", "--max-tokens", "30", "--bare"]
    _load("serve_load").main([*argv, "--out", str(out)])

    data = json.loads(out.read_text())
    assert data["settings"]["clients"] == [1, 3] and data["settings"]["max_tokens"] == 30
    assert [r["clients"] for r in data["rows"]] == [1, 3]
    for row in data["rows"]:
        assert row["errors"] == 0, row["error_samples"]
        assert row["requests"] > 0 and row["server_cps"] > 0 and row["client_cps"] > 0
        assert row["ttfc_p50_ms"] > 0 and row["ttfc_p99_ms"] >= row["ttfc_p50_ms"]
        assert row["rss_mb"] > 0
        assert len(row["rounds_cps"]) == 3  # the levels took turns three times (--rounds' default)
        assert row["bare_cps"] > 0 and row["of_bare"] > 0  # the engine alone, measured too
    assert data["rows"][0]["x_one"] == 1.0
    assert data["server_exit_code"] == 0, data["server_log"]
    goals = {g["goal"]: g for g in data["goals"]}
    assert goals["0 errors"]["met"] is True
    assert data["machine"]["cpu"]
    printed = capsys.readouterr().out
    assert "server_cps" in printed and "goal: 0 errors: met" in printed
