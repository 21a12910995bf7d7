"""The train / sample / eval commands, run in-process: tiny mode for every cell, and bad input."""

import json
import os
import pickle
import signal
import subprocess
import sys

import pytest
import torch
from conftest import CELL_IMPLS, SMALL, one_line_error

from rnnlab.cli import main


@pytest.mark.parametrize("cell, impl", CELL_IMPLS)
def test_tiny_train_sample_eval_for_every_cell(tmp_path, capsys, text_file, cell, impl):
    run = tmp_path / "run"
    rc = main(["train", str(text_file), "--out", str(run), "--tiny", "--cell", cell, "--impl", impl, "--quiet"])
    assert rc == 0
    for name in ("best.pt", "last.pt", "metrics.csv", "loss.png"):
        assert (run / name).is_file(), name
    capsys.readouterr()
    assert main(["sample", str(run), "--length", "30", "--seed", "1", "--prime", "a quick"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("a quick") and len(out.rstrip("\n")) >= 37
    assert main(["eval", str(run), str(text_file), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert {"bpc", "nats", "perplexity", "chars", "unknown"} <= set(r)
    assert r["chars"] == len(SMALL) - 1 and r["unknown"] == 0 and r["bpc"] > 0


def test_default_corpus_tiny_and_sample_options(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--out", str(run), "--tiny", "--quiet"]) == 0
    capsys.readouterr()
    for extra in (["--top-k", "5"], ["--top-p", "0.9"], ["--greedy"], ["--temperature", "0.5"], ["--num", "3"]):
        assert main(["sample", str(run), "--length", "20", "--seed", "0", *extra]) == 0, extra
    out = capsys.readouterr().out
    assert "--- sample 3 ---" in out


def test_sample_same_seed_same_text(tmp_path, capsys, text_file):
    run = tmp_path / "run"
    main(["train", str(text_file), "--out", str(run), "--tiny", "--quiet"])
    capsys.readouterr()
    texts = []
    for seed in ("5", "5", "6"):
        main(["sample", str(run), "--length", "60", "--seed", seed])
        texts.append(capsys.readouterr().out)
    assert texts[0] == texts[1] != texts[2]


def test_prime_with_unknown_characters_names_them(tmp_path, capsys, text_file):
    run = tmp_path / "run"
    main(["train", str(text_file), "--out", str(run), "--tiny", "--quiet"])
    capsys.readouterr()
    rc = main(["sample", str(run), "--prime", "héllo ✓"])
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing printed before the error
    assert rc == 2 and "'é'" in captured.err and "'✓'" in captured.err


def test_eval_counts_unknown_characters(tmp_path, capsys, text_file):
    run = tmp_path / "run"
    main(["train", str(text_file), "--out", str(run), "--tiny", "--quiet"])
    other = tmp_path / "other.txt"
    other.write_text("a quick fox ✓✓ über")
    capsys.readouterr()
    assert main(["eval", str(run), str(other), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["unknown"] == 3  # ✓, ✓, ü
    assert r["chars"] == len("a quick fox ✓✓ über") - 3 - 1


def test_refuses_to_overwrite_a_run(tmp_path, capsys, text_file):
    run = tmp_path / "run"
    main(["train", str(text_file), "--out", str(run), "--tiny", "--quiet"])
    before = (run / "best.pt").read_bytes()
    capsys.readouterr()
    rc = main(["train", str(text_file), "--out", str(run), "--tiny", "--quiet"])
    one_line_error(capsys, rc, "--resume")
    assert (run / "best.pt").read_bytes() == before


def test_resume_continues_to_more_steps(tmp_path, capsys, text_file):
    run = tmp_path / "run"
    main(["train", str(text_file), "--out", str(run), "--tiny", "--quiet", "--max-steps", "10"])
    assert main(["train", "--resume", str(run), "--max-steps", "20", "--quiet"]) == 0
    ckpt = torch.load(run / "last.pt", weights_only=True)
    assert ckpt["progress"]["step"] == 20
    steps = [int(line.split(",")[0]) for line in (run / "metrics.csv").read_text().splitlines()[1:]]
    assert steps == sorted(set(steps))  # no duplicated rows after resuming


@pytest.mark.parametrize(
    "args, needle",
    [
        (["train", "{missing}", "--tiny"], "no such file"),
        (["train", "{empty}", "--tiny"], "empty"),
        (["train", "{binary}", "--tiny"], "binary"),
        (["train", "{short}", "--tiny"], "fewer than one sequence"),
        (["train", "{text}", "--hidden", "0"], "--hidden: must be between 1 and 65536, got 0"),
        (["train", "{text}", "--seq-len", "-1"], "--seq-len: must be between 1 and"),
        (["train", "{text}", "--batch-size", str(10**9)], "--batch-size: must be between 1 and"),
        (["train", "{text}", "--cell", "transformer"], "--cell: must be one of lstm, gru, rnn, mingru, minlstm, got 'transformer'"),
        (["train", "{text}", "--lr", "abc"], "expected a number"),
        (["train", "{text}", "--frobnicate"], "unrecognized arguments"),
        (["sample", "{tmp}"], "not an rnnlab run"),
        (["sample", "{missing}"], "no such run folder"),
        (["eval", "{tmp}", "{text}"], "not an rnnlab run"),
    ],
)
def test_bad_input_is_one_line_and_nonzero(tmp_path, capsys, promises, args, needle):
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "binary.bin").write_bytes(bytes(range(256)))
    (tmp_path / "short.txt").write_text("tiny")
    (tmp_path / "text.txt").write_text(SMALL)
    paths = {
        "missing": str(tmp_path / "nope.txt"),
        "empty": str(tmp_path / "empty.txt"),
        "binary": str(tmp_path / "binary.bin"),
        "short": str(tmp_path / "short.txt"),
        "text": str(tmp_path / "text.txt"),
        "tmp": str(tmp_path),
    }
    args = [a.format(**paths) for a in args]
    if args[0] == "train":
        args += ["--out", str(tmp_path / "out"), "--quiet"]
    rc = main(args)
    one_line_error(capsys, rc, needle)
    promises["bad inputs refused in one line"] = promises.get("bad inputs refused in one line", 0) + 1


def _reshaped(ckpt):
    ckpt["model"] = {k: torch.zeros(3, 3) if "head" in k else v for k, v in ckpt["model"].items()}
    return ckpt


class Evil:
    def __reduce__(self):
        return (os.system, ("touch /tmp/rnnlab-pwned",))


def test_checkpoints_that_are_unsafe_truncated_or_foreign_are_refused(tmp_path, capsys, text_file, promises):
    run = tmp_path / "run"
    main(["train", str(text_file), "--out", str(run), "--tiny", "--quiet"])
    good = (run / "best.pt").read_bytes()
    cases = {
        "evil": lambda p: torch.save({"format": "rnnlab-checkpoint", "x": Evil()}, p),
        "truncated": lambda p: p.write_bytes(good[: len(good) // 2]),
        "foreign": lambda p: torch.save({"weights": torch.zeros(3)}, p),
        "garbage": lambda p: p.write_bytes(b"not a checkpoint at all"),
        "pickle": lambda p: p.write_bytes(pickle.dumps(Evil())),
        "newer": lambda p: torch.save({**torch.load(run / "best.pt", weights_only=True), "version": 99}, p),
        "older": lambda p: torch.save({**torch.load(run / "best.pt", weights_only=True), "version": 0}, p),
        "other-kind": lambda p: torch.save({**torch.load(run / "best.pt", weights_only=True), "kind": "tag"}, p),
        "wrong-shapes": lambda p: torch.save(_reshaped(torch.load(run / "best.pt", weights_only=True)), p),
    }
    if os.path.exists("/tmp/rnnlab-pwned"):
        os.remove("/tmp/rnnlab-pwned")
    for name, make in cases.items():
        bad = tmp_path / name
        bad.mkdir()
        make(bad / "best.pt")
        capsys.readouterr()
        rc = main(["sample", str(bad), "--length", "5"])
        one_line_error(capsys, rc, str(bad))
        promises["bad checkpoints refused"] = promises.get("bad checkpoints refused", 0) + 1
    assert not os.path.exists("/tmp/rnnlab-pwned")


def test_no_command_prints_help(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    for cmd in ("lesson", "train", "sample", "eval"):
        assert cmd in out


def test_python_m_rnnlab_works():
    r = subprocess.run([sys.executable, "-m", "rnnlab", "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "train" in r.stdout


def test_sigint_saves_and_resume_finishes(tmp_path):
    run = tmp_path / "run"
    # The embedded corpus: long enough that training is still running when the signal comes.
    cmd = [
        sys.executable,
        "-m",
        "rnnlab",
        "train",
        "--out",
        str(run),
        "--tiny",
        "--max-steps",
        "100000",
        "--eval-every",
        "1000000",
        "--quiet",
    ]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    import time

    deadline = time.time() + 60
    while not (run / "metrics.csv").exists() and time.time() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "--resume" in err
    step = torch.load(run / "last.pt", weights_only=True)["progress"]["step"]
    assert step > 0
    r = subprocess.run(
        [sys.executable, "-m", "rnnlab", "train", "--resume", str(run), "--max-steps", str(step + 5), "--quiet"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert torch.load(run / "last.pt", weights_only=True)["progress"]["step"] == step + 5
