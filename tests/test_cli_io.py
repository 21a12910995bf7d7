"""What goes in and out of the commands: ``-`` as standard input, strict JSON, and the errors
for a text with nothing to score."""

import io
import json

import pytest
from conftest import SMALL, one_line_error, train_tiny

from rnnlab.cli import build_parser, main
from rnnlab.errors import UserError

PAIRS = "hello world\tHello World\nunix is fun\tUNIX is fun\n"


def strict(s: str):
    """Parse ``s`` as strict JSON: NaN, Infinity and -Infinity are refused."""

    def refuse(name):
        raise ValueError(f"not JSON: {name}")

    return json.loads(s, parse_constant=refuse)


def feed(monkeypatch, data: bytes) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))


@pytest.fixture(scope="module")
def lm(tmp_path_factory):
    return train_tiny(tmp_path_factory.mktemp("io-lm"), 3)


@pytest.fixture(scope="module")
def tagger(tmp_path_factory):
    d = tmp_path_factory.mktemp("io-tag")
    (d / "pairs.tsv").write_text(PAIRS)
    out = d / "run"
    assert main(["tag", "train", str(d / "pairs.tsv"), "--out", str(out), "--tiny", "--quiet", "--max-steps", "3"]) == 0
    return out


def eval_json(capsys, *argv) -> dict:
    assert main(["eval", *map(str, argv), "--json"]) == 0, capsys.readouterr().err
    return strict(capsys.readouterr().out)


# ------------------------------------------------------------------------------------------ -


def test_eval_stdin_scores_as_the_same_text_in_a_file(lm, tmp_path, capsys, monkeypatch):
    text = "the lazy fox.\n" * 5
    (tmp_path / "a.txt").write_text(text)
    from_file = eval_json(capsys, lm, tmp_path / "a.txt")
    feed(monkeypatch, text.encode())
    from_stdin = eval_json(capsys, lm, "-")
    assert from_stdin["files"][0]["file"] == "standard input"
    for key in ("bpc", "nats", "perplexity", "chars", "unknown"):
        assert from_stdin[key] == from_file[key], key
    # The --encoding applies to standard input as to files.
    (tmp_path / "l.txt").write_bytes("the lazy fox é\n".encode("latin-1"))
    latin = eval_json(capsys, lm, tmp_path / "l.txt", "--encoding", "latin-1")
    feed(monkeypatch, "the lazy fox é\n".encode("latin-1"))
    assert eval_json(capsys, lm, "-", "--encoding", "latin-1")["bpc"] == latin["bpc"]


def test_eval_files_and_stdin_mixed(lm, tmp_path, capsys, monkeypatch):
    (tmp_path / "a.txt").write_text("a quick brown fox.\n" * 3)
    feed(monkeypatch, b"the lazy dog.\n" * 4)
    r = eval_json(capsys, lm, tmp_path / "a.txt", "-")
    assert [f["file"] for f in r["files"]] == [str(tmp_path / "a.txt"), "standard input"]
    assert r["chars"] == sum(f["chars"] for f in r["files"]) == (19 * 3 - 1) + (14 * 4 - 1)
    feed(monkeypatch, b"the lazy dog.\n" * 4)
    assert main(["eval", str(lm), str(tmp_path / "a.txt"), "-"]) == 0
    out = capsys.readouterr().out
    assert "standard input: " in out and "total: " in out


def test_stdin_is_read_once(lm, tagger, capsys, monkeypatch):
    feed(monkeypatch, b"the lazy dog.\n")
    one_line_error(capsys, main(["eval", str(lm), "-", "-"]), "standard input (-) can be read only once")
    one_line_error(capsys, main(["tag", "predict", str(tagger), "-", "-"]), "standard input (-) can be read only once")


def test_report_text_from_stdin(lm, tmp_path, capsys, monkeypatch):
    feed(monkeypatch, ("a quick brown fox.\n" * 10).encode())
    out = tmp_path / "r.html"
    assert main(["report", str(lm), "--text", "-", "--out", str(out), "--chars", "200"]) == 0
    assert out.is_file() and "wrote" in capsys.readouterr().err
    feed(monkeypatch, b"")
    one_line_error(capsys, main(["report", str(lm), "--text", "-", "--out", str(out)]), "standard input is empty")


def test_tag_eval_pairs_from_stdin(tagger, tmp_path, capsys, monkeypatch):
    (tmp_path / "p.tsv").write_text(PAIRS)
    assert main(["tag", "eval", str(tagger), str(tmp_path / "p.tsv"), "--json"]) == 0
    from_file = strict(capsys.readouterr().out)
    feed(monkeypatch, PAIRS.encode())
    assert main(["tag", "eval", str(tagger), "-", "--json"]) == 0
    assert strict(capsys.readouterr().out) == from_file
    # With --derive, standard input is the text to derive pairs from.
    (tmp_path / "t.txt").write_text("Hello World\nUNIX is fun\n")
    assert main(["tag", "eval", str(tagger), str(tmp_path / "t.txt"), "--derive", "truecase", "--json"]) == 0
    derived = strict(capsys.readouterr().out)
    feed(monkeypatch, b"Hello World\nUNIX is fun\n")
    assert main(["tag", "eval", str(tagger), "-", "--derive", "truecase", "--json"]) == 0
    assert strict(capsys.readouterr().out) == derived
    # No pairs on standard input is an error naming it, as for an empty file.
    feed(monkeypatch, b"")
    one_line_error(capsys, main(["tag", "eval", str(tagger), "-"]), "standard input holds no input<TAB>target pairs")
    (tmp_path / "empty.tsv").write_text("")
    one_line_error(capsys, main(["tag", "eval", str(tagger), str(tmp_path / "empty.tsv"), "--json"]), "empty.tsv holds no")


class Lines:
    """A binary standard input that hands out one line per read and records, before each read,
    what the command had printed so far: streaming means each line's output comes before the next read."""

    def __init__(self, lines: list[bytes], capsys):
        self.lines, self.capsys, self.printed = list(lines), capsys, []

    def readline(self, *_):
        self.printed.append(self.capsys.readouterr().out)
        return self.lines.pop(0) if self.lines else b""

    def read(self, *_):
        raise AssertionError("tag predict reads line by line")


def test_tag_predict_streams_lines_of_stdin(tagger, capsys, monkeypatch):
    lines = Lines([b"hello world\n", b"unix is fun\n", b"no newline"], capsys)
    monkeypatch.setattr("sys.stdin", type("Stdin", (), {"buffer": lines})())
    assert main(["tag", "predict", str(tagger), "-"]) == 0
    rest = capsys.readouterr().out
    # Nothing before the first read; after each read, that line's output (one line per line).
    assert lines.printed[0] == ""
    assert [len(p) for p in lines.printed[1:]] == [len("hello world\n"), len("unix is fun\n"), 0]
    assert len(rest) == len("no newline")  # the last line, without its missing newline
    # TEXT arguments and - mixed, in order; no TEXT reads standard input as -.
    feed(monkeypatch, b"unix is fun\n")
    assert main(["tag", "predict", str(tagger), "hello world", "-", "unix"]) == 0
    assert [len(x) for x in capsys.readouterr().out.splitlines()] == [11, 11, 4]
    feed(monkeypatch, b"hello world\nunix\n")
    assert main(["tag", "predict", str(tagger)]) == 0
    assert [len(x) for x in capsys.readouterr().out.splitlines()] == [11, 4]


def test_training_refuses_stdin(lm, tmp_path, capsys, monkeypatch):
    feed(monkeypatch, SMALL.encode())
    out = tmp_path / "out"
    rc = main(["train", "-", "--out", str(out), "--tiny", "--quiet"])
    one_line_error(capsys, rc, "training reads its text again when a run is resumed, so it cannot read standard input (-)")
    assert not out.exists()
    one_line_error(capsys, main(["train", "--resume", str(lm), "-"]), "cannot read standard input (-)")
    rc = main(["tag", "train", "-", "--out", str(out), "--tiny", "--quiet"])
    one_line_error(capsys, rc, "cannot read standard input (-); save it to a file first")
    rc = main(["tag", "train", "--derive", "truecase", "-", "--out", str(out), "--tiny", "--quiet"])
    one_line_error(capsys, rc, "cannot read standard input (-)")
    assert not out.exists()


def test_bad_bytes_on_stdin_are_one_line(lm, tagger, capsys, monkeypatch):
    feed(monkeypatch, b"the lazy \xff dog\n")
    one_line_error(capsys, main(["eval", str(lm), "-", "--json"]), "standard input, line 1: bytes at offset 9 are not valid utf-8")
    assert capsys.readouterr().out == ""
    feed(monkeypatch, b"hello world\nunix \xc3( fun\n")
    rc = main(["tag", "predict", str(tagger), "-"])
    one_line_error(capsys, rc, "standard input, line 2: bytes at offset 17 are not valid utf-8")
    feed(monkeypatch, b"hello\tHello\n\xff\n")
    one_line_error(capsys, main(["tag", "eval", str(tagger), "-"]), "standard input, line 2")
    feed(monkeypatch, b"binary\x00data")
    one_line_error(capsys, main(["eval", str(lm), "-"]), "standard input looks like binary data")


# ------------------------------------------------------------------------- nothing to score


@pytest.mark.parametrize("json_flag", [[], ["--json"]], ids=["text", "json"])
def test_empty_text_is_an_error_naming_it(lm, tmp_path, capsys, monkeypatch, json_flag):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    one_line_error(capsys, main(["eval", str(lm), str(empty), *json_flag]), "empty.txt has no characters to score")
    # Among files that do have text: still an error, since it was asked for.
    (tmp_path / "a.txt").write_text(SMALL)
    one_line_error(capsys, main(["eval", str(lm), str(tmp_path / "a.txt"), str(empty), *json_flag]), "empty.txt has no characters")
    feed(monkeypatch, b"")
    one_line_error(capsys, main(["eval", str(lm), "-", *json_flag]), "standard input has no characters to score")
    # One character: nothing is predicted.
    (tmp_path / "one.txt").write_text("a")
    one_line_error(capsys, main(["eval", str(lm), str(tmp_path / "one.txt"), *json_flag]), "one.txt has 1 character the model knows")
    assert capsys.readouterr().out == ""


def test_text_of_unknown_characters_says_so(lm, tmp_path, capsys):
    (tmp_path / "zh.txt").write_text("世界你好")
    one_line_error(
        capsys, main(["eval", str(lm), str(tmp_path / "zh.txt"), "--json"]), "none of its 4 characters are in the model's vocabulary"
    )
    # A few known characters among unknown ones are scored, and the unknown ones counted.
    (tmp_path / "mixed.txt").write_text("世界 the dog")
    r = eval_json(capsys, lm, tmp_path / "mixed.txt")
    assert r["unknown"] == 2 and r["chars"] == len(" the dog") - 1


def test_unknown_only_text_is_an_error_with_an_unknown_symbol_too(tmp_path, capsys):
    (tmp_path / "c.txt").write_text(SMALL + "Q")  # Q is rarer than --min-count: the model gets an unknown symbol
    run = tmp_path / "run"
    assert main(["train", str(tmp_path / "c.txt"), "--out", str(run), "--tiny", "--quiet", "--max-steps", "2", "--min-count", "2"]) == 0
    capsys.readouterr()
    (tmp_path / "zh.txt").write_text("世界")
    one_line_error(capsys, main(["eval", str(run), str(tmp_path / "zh.txt")]), "none of its 2 characters are in the model's vocabulary")
    (tmp_path / "some.txt").write_text("世界 dog")
    r = eval_json(capsys, run, tmp_path / "some.txt")
    assert r["unknown"] == 2 and r["chars"] == len("世界 dog") - 1  # scored as the unknown symbol


# ------------------------------------------------------------------------------- strict JSON


def json_commands() -> set[str]:
    """Every command and subcommand that has a --json flag."""
    found = set()

    def walk(parser, prefix):
        for action in parser._actions:
            if "--json" in action.option_strings:
                found.add(prefix)
            subs = action.choices if isinstance(action.choices, dict) else {}  # subcommands, not a flag's choices
            for name, sub in subs.items():
                if hasattr(sub, "_actions"):
                    walk(sub, f"{prefix} {name}".strip())

    walk(build_parser(), "")
    return found


def test_every_json_output_is_strict_json(lm, tagger, tmp_path, capsys):
    # A new --json command must be added here (and write through rnnlab.scoring.json_line).
    assert json_commands() == {"eval", "tag eval"}
    (tmp_path / "a.txt").write_text(SMALL)
    r = eval_json(capsys, lm, tmp_path / "a.txt")
    assert r["chars"] == len(SMALL) - 1 and r["bpc"] > 0
    (tmp_path / "p.tsv").write_text(PAIRS + "same\tsame\n")
    assert main(["tag", "eval", str(tagger), str(tmp_path / "p.tsv"), "--json"]) == 0
    out = capsys.readouterr().out
    assert len(out.splitlines()) == 1
    r = strict(out)
    assert r["lines"] == 3 and 0 <= r["char_accuracy"] <= 1
    # Nothing to change: changed_accuracy is null, not NaN.
    (tmp_path / "same.tsv").write_text("same\tsame\n")
    assert main(["tag", "eval", str(tagger), str(tmp_path / "same.tsv"), "--json"]) == 0
    assert strict(capsys.readouterr().out)["changed_accuracy"] is None


def test_json_line_refuses_what_json_cannot_express():
    from rnnlab.scoring import json_line

    assert strict(json_line({"bpc": 1.5, "files": [{"file": "standard input"}]})) == {"bpc": 1.5, "files": [{"file": "standard input"}]}
    for bad in (float("nan"), float("inf"), -float("inf")):
        with pytest.raises(UserError, match="NaN or infinity"):
            json_line({"bpc": bad})
    with pytest.raises(ValueError):
        strict('{"bpc": NaN}')


def test_sigterm_ends_a_one_shot_command_with_143_and_one_line(tagger):
    """A command reading standard input (`tag predict RUN -`) stopped by SIGTERM: status 143 (as
    the README's exit codes say) and one line, where before it died by the signal with no word."""
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "rnnlab", "tag", "predict", str(tagger), "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        proc.stdin.write("hello world\n")
        proc.stdin.flush()
        assert proc.stdout.readline()  # its answer: past start-up, waiting for the next line
        proc.send_signal(signal.SIGTERM)
        err = proc.stderr.read()
        proc.wait(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 143, err
    assert err.strip() == "rnnlab tag: terminated", err


def test_per_char_is_the_one_place_scores_are_made():
    """bits/char, nats/char and perplexity from a total, as rnnlab eval and LanguageModel.evaluate report them."""
    import math

    from rnnlab.scoring import per_char

    r = per_char(3 * math.log(2), 3)
    assert math.isclose(r["bpc"], 1.0) and math.isclose(r["nats"], math.log(2)) and math.isclose(r["perplexity"], 2.0)
    assert math.isinf(per_char(800.0 * 10, 10)["perplexity"])  # e^800 overflows a float: infinite, not an OverflowError
    assert all(math.isnan(v) for v in per_char(0.0, 0).values())
