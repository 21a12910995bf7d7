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


def test_lm_throughput_quick_has_every_cell_its_peers_and_utilisation(tmp_path):
    from rnnlab.cells import CELLS

    out = tmp_path / "t.json"
    _load("lm_throughput").main(["--quick", "--steps", "1", "--rounds", "1", "--out", str(out)])
    data = json.loads(out.read_text())
    assert [r["cell"] for r in data["rows"]] == list(CELLS)
    for row in data["rows"]:
        assert row["rnnlab_cps"] > 0 and row["stack"] == "" and row["peers"] == "same"
        assert row["utilisation"].endswith("%") and row["shape_gflops"] > 0 and row["achieved_gflops"] > 0
        if row["cell"].startswith("min"):  # no torch.nn twin: on a CPU the step loop, against its own scan
            assert row["scan_cps"] > 0 and row["vs_scan"] > 0 and "seq_cps" not in row and "char_cps" not in row
            assert row["backend"] == "reference"
        else:
            assert row["seq_cps"] > 0 and row["char_cps"] > 0 and "scan_cps" not in row and "loop_cps" not in row
            assert row["backend"] == ("torch" if row["cell"] == "lstm" else "fused")
    assert data["square_matmul_flops_per_s"] > 0 and data["stack"] == ""


def test_lm_throughput_stack_reaches_rnnlab_and_the_scan_peer_not_the_plain_peers(tmp_path):
    out = tmp_path / "t.json"
    lm = _load("lm_throughput")
    quick = ["--quick", "--steps", "1", "--rounds", "1", "--no-char"]
    lm.main([*quick, "--cells", "gru,mingru", "--stack", "--residual --mlp 2", "--out", str(out)])
    data = json.loads(out.read_text())
    assert data["stack"] == "--residual --mlp 2"
    gru, mingru = data["rows"]
    assert gru["peers"] == "plain" and gru["seq_cps"] > 0 and mingru["peers"] == "same" and mingru["scan_cps"] > 0
    assert all(r["stack"] == "--residual --mlp 2" for r in data["rows"])
    lm.main([*quick, "--cells", "minlstm", "--impl", "fused", "--out", str(out)])  # rnnlab scans: the peer is the loop
    (row,) = json.loads(out.read_text())["rows"]
    assert row["backend"] == "fused/scan" and row["loop_cps"] > 0 and "scan_cps" not in row
    parsed = lm.parse_stack("--residual --norm rms --mlp 2 --tie --dropout 0.1")
    assert parsed == {"residual": True, "norm": "rms", "mlp": 2, "tie": True, "dropout": 0.1}


def test_lm_throughput_gives_the_plain_peers_the_recipes_dropout(tmp_path):
    """A --stack of dropout alone is a recipe's plain model: the peers train it with the same
    dropout (between the layers, before the output), so the ratio compares like with like."""
    import torch

    out = tmp_path / "t.json"
    lm = _load("lm_throughput")
    lm.main(["--quick", "--steps", "1", "--rounds", "1", "--no-char", "--cells", "lstm", "--stack", "--dropout 0.2", "--out", str(out)])
    (row,) = json.loads(out.read_text())["rows"]
    assert row["peers"] == "same" and row["seq_cps"] > 0
    net = lm.Net("lstm", 7, 3, 4, 2, 0.2)
    assert net.rnn.dropout == 0.2 and net.drop.p == 0.2
    x = torch.randint(7, (2, 5))  # (B, T)
    assert not torch.equal(net(x, None)[0], net(x, None)[0])  # training: each call draws its masks
    net.eval()
    assert torch.equal(net(x, None)[0], net(x, None)[0])
    assert lm.Net("lstm", 7, 3, 4, 1, 0.2).rnn.dropout == 0.0  # one layer: nothing between


def test_flop_count_of_a_training_step_by_hand():
    from rnnlab.config import ModelConfig

    lm = _load("lm_throughput")
    # 1-layer LSTM, D=3, H=5, V=7, B=2, T=4: forward 2*(8*3*20 + 4*(2*5*20) + 8*5*7) FLOPs, x3 with backward.
    forward = 2 * (8 * 3 * 20 + 4 * 2 * 5 * 20 + 8 * 5 * 7)
    assert lm.flops_of(lm.step_matmuls(ModelConfig(cell="lstm", layers=1, hidden=5, embed=3, vocab_size=7), 2, 4)) == 3 * forward
    # 2-layer minGRU, residual (embedding 5 wide), MLP 2x: per layer input (8, 5, 10), MLP (8, 5, 10) and (8, 10, 5),
    # no recurrent product; head (8, 5, 7): forward 2*(2*(400 + 400 + 400) + 280) = 5360 FLOPs, x3 with backward.
    cfg = ModelConfig(cell="mingru", layers=2, hidden=5, embed=3, vocab_size=7, residual=True, mlp=2)
    assert lm.flops_of(lm.step_matmuls(cfg, 2, 4)) == 3 * 5360


def test_sample_speed_compares_with_the_naive_loop(tmp_path):
    out = tmp_path / "s.json"
    _load("sample_speed").main(
        ["--chars", "20", "--rounds", "1", "--hidden", "16", "--lengths", "30", "60", "--no-onnx", "--out", str(out)]
    )
    data = json.loads(out.read_text())
    assert [r["batch"] for r in data["rows"]] == [1, 64]
    assert data["rows"][0]["limit_cps"] > 0 and all(r["naive_cps"] > 0 for r in data["rows"])
    one = data["rows"][0]
    assert one["plain_cps"] > 0 and one["vs_plain"] > 0 and "plain_cps" not in data["rows"][1]
    assert one["products_cps"] > 0 and one["products_vw_cps"] > 0 and one["of_products"].endswith("%")
    assert set(data["matvec_bytes_per_s_by"]) == {"torch", "numpy"} and data["matvec_bytes_per_s"] == max(
        data["matvec_bytes_per_s_by"].values()
    )
    assert one["torch_limit_cps"] <= one["limit_cps"] and len(data["machine"]["load_average"]) == 3
    assert [r["cell"] for r in data["by_length"]] == ["lstm", "mingru"]
    assert all(r["us_per_char_30"] > 0 and r["us_per_char_60"] > 0 and r["longest_vs_shortest"] > 0 for r in data["by_length"])


def test_gpt_peer_builds_trains_within_its_budget_and_saves(tmp_path):
    import time

    import torch

    peers = _load("peers")
    text = tmp_path / "t.txt"
    text.write_text("the quick brown fox jumps over the lazy dog.\n" * 120)
    out = tmp_path / "gpt.pt"
    start = time.perf_counter()
    peers.main(["gpt", str(text), "1.5", str(out), str(SCRIPT.parents[1] / "src")], start=start)
    assert time.perf_counter() - start < 10.0  # the budget, one more step and the save (slow on a busy machine)

    saved = torch.load(out, weights_only=True)
    assert saved["steps"] > 0
    net = peers.build("gpt", 29)  # 28 distinct characters in the text + newline
    net.load_state_dict(saved["model"])
    assert net.block_size == 64 and len(net.blocks) == 4 and net.tok.weight.shape == (29, 128)
    assert sum(p.numel() for p in net.parameters()) == 29 * 128 + 64 * 128 + 4 * (12 * 128 * 128 + 2 * 128) + 128
    logits = net(torch.zeros(2, 64, dtype=torch.long)).logits
    assert logits.shape == (2, 64, 29) and torch.isfinite(logits).all()


def test_gpt_schedule_warms_up_decays_to_the_floor_and_stays():
    peers = _load("peers")
    assert abs(peers.gpt_lr(0, 1000) - 1e-3 / 101) < 1e-15
    assert peers.gpt_lr(100, 1000) == 1e-3
    assert abs(peers.gpt_lr(550, 1000) - 5.5e-4) < 1e-12
    assert peers.gpt_lr(1000, 1000) == 1e-4 and peers.gpt_lr(5000, 1000) == 1e-4


def test_sliding_window_score_equals_a_naive_loop_over_positions():
    import torch

    peers = _load("peers")
    torch.manual_seed(0)
    for block in (8, 7):
        model = peers.GPTPeer(11, block_size=block, layers=2, heads=2, width=8).double()
        with torch.no_grad():
            for p in model.parameters():
                if p.dim() == 2:
                    p.normal_(0.0, 0.5)  # a context that matters: a window one character off scores differently
        stride = block // 2

        def nll(ids, lo, p, model=model):  # nats of ids[p + 1] predicted from ids[lo .. p]
            with torch.no_grad():
                logits = model(ids[lo : p + 1][None])[0][0, -1]  # (V,)
            return float(-torch.log_softmax(logits, -1)[int(ids[p + 1])])

        for n in (2, 5, block, block + 1, block + 2, 2 * block, 2 * block + 1, 31):
            ids = torch.randint(0, 11, (n,), dtype=torch.uint8)
            nats, count = peers.score_sliding(model, ids, block, batch_size=3)
            m = n - 1
            width = min(block, m)
            # The stride rule: position p is scored in the first window that reaches it; windows
            # start at multiples of the stride, and the last one ends at the end of the text.
            starts = [0 if p < width else min(((p - width) // stride + 1) * stride, m - width) for p in range(m)]
            assert all(p - s + 1 >= min(p + 1, block - stride) for p, s in enumerate(starts))  # at least half a block
            assert count == m
            assert abs(nats - sum(nll(ids, s, p) for p, s in enumerate(starts))) < 1e-9, (block, n)
            if n >= 2 * block:  # the test can tell the stride rule from a full block of context
                assert abs(nats - sum(nll(ids, max(0, p - block + 1), p) for p in range(m))) > 1e-6


def test_sample_speed_times_the_gpt_and_onnxruntime_contenders_at_batch_one(tmp_path):
    out = tmp_path / "s.json"
    _load("sample_speed").main(["--chars", "20", "--rounds", "1", "--hidden", "16", "--lengths", "--out", str(out)])
    data = json.loads(out.read_text())
    one, wide = data["rows"]
    assert one["gpt_cps"] > 0 and one["vs_gpt"] > 0 and len(one["runs"]["gpt"]) == 1
    assert one["ort_cps"] > 0 and one["vs_ort"] > 0 and len(one["runs"]["onnxruntime"]) == 1
    assert "gpt_cps" not in wide and "ort_cps" not in wide
    assert data["onnxruntime"]["version"] and data["onnxruntime"]["threads"] >= 1
    assert data["gpt"]["block_size"] == 64 and data["gpt"]["kv_cache"] is False


def test_stdlib_text_skips_tests_and_records_its_hash(tmp_path, monkeypatch):
    import hashlib
    import sysconfig

    lm = _load("lm_quality")
    root = tmp_path / "Lib"
    for rel, body in {
        "b.py": "b = 2\n",
        "a/x.py": "x = 1\n",
        "a.py": "a = 'é'\n",
        "test/t.py": "T\n",
        "pkg/tests/t.py": "T\n",
        "idlelib/idle_test/t.py": "T\n",
        "idlelib/run.py": "run = 3\n",
        "site-packages/numpy/n.py": "N\n",
        "_sysconfigdata__linux.py": "S\n",
        "config-3.11-x86_64-linux-gnu/python-config.py": "C\n",
        "notes.txt": "not python\n",
    }.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(body, encoding="utf-8")
    monkeypatch.setattr(sysconfig, "get_paths", lambda: {"stdlib": str(root)})
    monkeypatch.setattr(lm.tempfile, "gettempdir", lambda: str(tmp_path))
    path, info = lm.stdlib_text()
    whole = "a = 'é'\nx = 1\nb = 2\nrun = 3\n"  # sorted by relative path: a.py, a/x.py, b.py, idlelib/run.py
    assert path.read_text(encoding="utf-8") == whole
    assert info["files"] == 4 and info["bytes"] == len(whole.encode()) and info["sha256"] == hashlib.sha256(whole.encode()).hexdigest()
    path, info = lm.stdlib_text(limit=6)  # "a = '" is 5 bytes, then the 2-byte é: cut before it
    assert path.read_bytes() == b"a = '" and info["chars"] == 5 and info["files"] == 1
    path6, info = lm.text_path("stdlib1")  # stdlibN: the first N MB, here all of it, in a file of its own
    assert path6.read_text(encoding="utf-8") == whole and path6 != path and info["bytes"] == len(whole.encode())


def test_lm_quality_scores_rnnlab_last_checkpoint_not_the_one_its_tail_chose(tmp_path):
    from rnnlab.data import load_corpus
    from rnnlab.training.lm_task import split_train_val

    lm = _load("lm_quality")
    path = tmp_path / "t.txt"
    path.write_text("the cat sat on the mat. " * 400)
    corpus = load_corpus([path])
    _, val = split_train_val(corpus.ids, 0.05, 128)
    flags = "--layers 1 --hidden 8 --embed 4 --batch-size 4 --seq-len 8 --max-steps 12 --eval-every 5 --eval-chars 64"
    row = lm.one_budget(1, "t", path, corpus, val, flags, (), Path(lm.__file__).parent, "", 0)
    assert row["rnnlab_checkpoint"] == "last" and row["rnnlab_steps"] == 12 == row["rnnlab_evals"][-1][0]
    assert 0 < row["rnnlab_bpc"] < 8 and 0 < row["rnnlab_bpc_best"] < 8
    best = min(row["rnnlab_evals"], key=lambda e: e[2])  # the step of the lowest validation
    assert row["rnnlab_best_step"] == best[0] and (row["rnnlab_bpc_best"] == row["rnnlab_bpc"]) == (best[0] == 12)


def test_lm_quality_summary_averages_each_group_and_pairs_margins_by_seed(tmp_path):
    lm = _load("lm_quality")
    assert (
        lm.run_name({"text": "runs/base-corpus/train.txt", "minutes": 30.0, "seed": 0, "variant": ""})
        == "runs-base-corpus-train.txt_30min_seed0.json"
    )
    run = {"text": "prose", "minutes": 1.0, "variant": "", "rnnlab_params": 7}
    rows = [
        {**run, "seed": 0, "rnnlab_bpc": 2.0, "gpt_bpc": 3.0, "rnnlab_cps": 100},
        {**run, "seed": 1, "rnnlab_bpc": 2.2, "gpt_bpc": 3.4, "rnnlab_cps": 300},
        {**run, "variant": "--cell gru", "seed": 0, "rnnlab_bpc": 2.5, "rnnlab_cps": 50},  # alone: the peer of seed 0
        {**run, "variant": "--cell gru", "seed": 2, "rnnlab_bpc": 2.9, "rnnlab_cps": 50},  # no peer ran seed 2
        {**run, "text": "code", "seed": 0, "rnnlab_bpc": 1.0, "wlm_bpc": 4.0},  # another text's peer pairs with nothing here
    ]
    for r in rows:
        (tmp_path / lm.run_name(r)).write_text(json.dumps({"row": r}))
    code, plain, gru = lm.summarise(tmp_path)
    assert (plain["variant"], plain["seeds"], plain["rnnlab_bpc"], plain["gpt_bpc"]) == ("", 2, 2.1, 3.2)
    assert plain["gpt_minus_rnnlab"] == 1.1 and plain["rnnlab_cps"] == 200 and plain["rnnlab_params"] == 7
    assert "wlm_bpc" not in plain and code["wlm_minus_rnnlab"] == 3.0
    assert (gru["variant"], gru["seeds"], gru["rnnlab_bpc"]) == ("--cell gru", 2, 2.7)
    assert (gru["gpt_runs"], gru["gpt_bpc"], gru["gpt_minus_rnnlab"]) == (1, 3.0, 0.5)  # seed 0 only: 3.0 - 2.5


def test_demo_english_counts_words_of_the_list():
    share = _load("demo_english").english_share
    assert share("The cat sat on the mat; xqzv wibble don't.", {"the", "cat", "sat", "on", "mat", "don't"}) == (7, 9)


def test_finetune_quality_scores_the_tail_train_validates_on():
    import torch

    from rnnlab.training.lm_task import split_train_val

    text = "abcdefghij" * 1000
    tail = _load("finetune_quality").heldout(text)
    _, val = split_train_val(torch.arange(len(text)), 0.05, 32)
    assert len(tail) == val.numel() and text.endswith(tail) and 0.04 * len(text) < len(tail) <= 0.05 * len(text)


def test_startup_times_every_command_against_its_baseline(tmp_path):
    startup = _load("startup")
    out = tmp_path / "startup.json"
    payload = startup.main(["--runs", "1", "--warmup", "0", "--out", str(out)])
    results = json.loads(out.read_text())["results"]
    assert set(results) == {"python -c pass", "import torch", "--help", "train --tiny", "sample", "serve"} == set(payload["results"])
    assert all(r["median_s"] > 0 and len(r["runs_s"]) == 1 for r in results.values())
    assert results["--help"]["baseline"] == "python -c pass" and results["serve"]["baseline"] == "import torch"
    assert not results["--help"]["imports"]["torch"] and results["sample"]["imports"] == {"torch": True, "torch._dynamo": False}
    assert results["train --tiny"]["imports"]["torch"]
