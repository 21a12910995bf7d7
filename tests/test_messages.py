"""What the commands say to a newcomer is true: no "nan" for nothing held out, plurals that agree,
a config file's command-line flag named as one, the port a server really bound, and no empty
run folder left by a refused run."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading

import pytest
from conftest import SMALL, one_line_error
from serve_fixtures import request, stop

from rnnlab.cli import main
from rnnlab.data import load_corpus

PAIRS = "".join(f"{w} line {i}\t{w.upper()} line {i}\n" for i, w in enumerate(["hello", "unix", "world", "fun", "rnn"] * 2))


def test_tag_training_with_nothing_held_out_says_so_instead_of_nan(tmp_path, capsys):
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text(PAIRS)  # 10 lines: 5% held out is under one line, so none is
    assert main(["tag", "train", str(pairs), "--out", str(tmp_path / "run"), "--tiny", "--max-steps", "10"]) == 0
    err = capsys.readouterr().err
    assert "nan" not in err.lower(), err
    assert "step 10 (nothing held out, so no validation):\n  | in:" in err, err


def test_skipped_binary_files_are_counted_in_agreeing_words(tmp_path):
    (tmp_path / "text.txt").write_text(SMALL)
    (tmp_path / "a.bin").write_bytes(b"\x00\x01" * 10)
    assert load_corpus([tmp_path]).describe().endswith(", 1 binary file skipped")
    (tmp_path / "b.bin").write_bytes(b"\x00\x02" * 10)
    assert load_corpus([tmp_path]).describe().endswith(", 2 binary files skipped")


@pytest.mark.parametrize("command", [["train"], ["tag", "train", "--derive", "truecase"]])
@pytest.mark.parametrize(
    "line",
    [
        'out = "runs/x"',
        'resume = "runs/x"',
        'config = "more.toml"',
        "print-config = true",
        "print_config = true",
        "tiny = true",
        "quiet = true",
    ],
)
def test_a_command_line_flag_in_a_config_file_is_named_as_one(tmp_path, capsys, text_file, command, line):
    config = tmp_path / "settings.toml"
    config.write_text(line + "\n")
    rc = main([*command, str(text_file), "--config", str(config), "--out", str(tmp_path / "run")])
    key = line.split(" = ")[0]
    one_line_error(capsys, rc, f"{config}: --{key.replace('_', '-')} is a command-line flag, not a setting for a config file")
    assert not (tmp_path / "run").exists()


def test_a_misspelt_setting_in_a_config_file_is_still_offered_the_likely_one(tmp_path, capsys, text_file):
    config = tmp_path / "settings.toml"
    config.write_text("dropuot = 0.1\n")
    rc = main(["train", str(text_file), "--config", str(config), "--out", str(tmp_path / "run")])
    one_line_error(capsys, rc, "unknown setting 'dropuot' (did you mean 'dropout'?)")


def test_serve_on_port_0_prints_the_port_it_bound(tmp_path, text_file):
    pytest.importorskip("uvicorn")
    run = tmp_path / "run"
    assert main(["train", str(text_file), "--out", str(run), "--tiny", "--quiet", "--max-steps", "3"]) == 0
    cmd = [sys.executable, "-m", "rnnlab", "serve", str(run), "--port", "0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    timeout = threading.Timer(120, proc.kill)  # a server that never says where it listens ends the wait
    timeout.start()
    try:
        line = " "
        while line and "http://" not in line:  # "" at the end of its output
            line = proc.stderr.readline()
        found = re.search(r"on (http://127\.0\.0\.1:(\d+)/) \(Ctrl-C stops\)", line)
        assert found and int(found[2]) != 0, line
        status, body = request(found[1] + "health", None)
        assert status == 200 and body["status"] == "ok" and "run" in body["models"]
    finally:
        timeout.cancel()
        stop(proc)


@pytest.mark.parametrize("command", [["train"], ["tag", "train", "--derive", "truecase"]])
def test_a_refused_run_leaves_no_run_folder(tmp_path, capsys, text_file, command):
    """fp16 needs CUDA: refused before anything is written, the folder and its parents too."""
    out = tmp_path / "new" / "run"
    rc = main([*command, str(text_file), "--out", str(out), "--tiny", "--device", "cpu", "--precision", "fp16"])
    one_line_error(capsys, rc, "fp16 needs a CUDA device")
    assert not (tmp_path / "new").exists() and os.listdir(tmp_path) == ["corpus.txt"]
