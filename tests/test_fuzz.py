"""Property-based fuzzing of the commands: any input ends in success or a clean one-line error."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnlab.cli import main

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("fuzz") / "run"
    assert main(["train", "--out", str(out), "--tiny", "--quiet", "--max-steps", "3", "--sample-chars", "0"]) == 0
    return out


def clean(rc, err):
    assert rc in (0, 2), (rc, err)
    assert "Traceback" not in err
    if rc == 2:
        assert len(err.strip().splitlines()) == 1, err


@SETTINGS
@given(prime=st.text(max_size=40))
def test_sample_any_prime(run, capsys, promises, prime):
    rc = main(["sample", str(run), "--prime", prime, "--length", "5", "--seed", "0"])
    clean(rc, capsys.readouterr().err)
    promises["fuzzed sample --prime"] = promises.get("fuzzed sample --prime", 0) + 1


@SETTINGS
@given(text=st.text(max_size=200))
def test_eval_any_text(run, capsys, tmp_path, promises, text):
    f = tmp_path / "in.txt"
    f.write_text(text, encoding="utf-8", errors="surrogatepass")
    rc = main(["eval", str(run), str(f), "--json"])
    captured = capsys.readouterr()
    clean(rc, captured.err)
    if rc == 0:
        assert "bpc" in json.loads(captured.out)
    promises["fuzzed eval"] = promises.get("fuzzed eval", 0) + 1


@pytest.fixture(scope="module")
def tagger(tmp_path_factory):
    d = tmp_path_factory.mktemp("fuzz-tag")
    (d / "pairs.tsv").write_text("hello world\tHello World\nunix is fun\tUNIX is fun\n")
    out = d / "run"
    assert main(["tag", "train", str(d / "pairs.tsv"), "--out", str(out), "--tiny", "--quiet", "--max-steps", "3"]) == 0
    return out


@SETTINGS
@given(text=st.text(max_size=60))
def test_tag_predict_any_text(tagger, capsys, promises, text):
    rc = main(["tag", "predict", str(tagger), "--", text])
    captured = capsys.readouterr()
    clean(rc, captured.err)
    if rc == 0:
        # One output character per input character, whatever they are.
        assert len(captured.out) == len(text) + 1  # the output line, as long as the input
    promises["fuzzed tag predict"] = promises.get("fuzzed tag predict", 0) + 1


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=3000))
def test_train_any_bytes(capsys, tmp_path, promises, data):
    f = tmp_path / "in.bin"
    f.write_bytes(data)
    out = tmp_path / f"out{promises.get('fuzzed train', 0)}"
    rc = main(["train", str(f), "--out", str(out), "--tiny", "--quiet", "--max-steps", "2", "--seq-len", "8", "--sample-chars", "0"])
    clean(rc, capsys.readouterr().err)
    promises["fuzzed train"] = promises.get("fuzzed train", 0) + 1
