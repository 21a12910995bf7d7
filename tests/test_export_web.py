"""``rnnlab export --to web``: the page in a real browser against rnnlab's Python, its size, its
choice of float16, and the runs it refuses.

The page is opened from disk in headless Chromium (the system's own, as the report's tests do):
its logits over 200 characters against :class:`rnnlab.stepper.Stepper`, its greedy text against
``LanguageModel.sample``, both with the weights the page holds (float16-rounded where it stores
float16); a seeded sample repeated; the stop button; and not one request but the file itself.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from browser import Tab, needs_browser, open_tab

from rnnlab import checkpoint, runs
from rnnlab.cli import main
from rnnlab.config import ExportConfig
from rnnlab.data import DataSpec
from rnnlab.export import web
from rnnlab.lm import LanguageModel
from rnnlab.model import CharRNN
from rnnlab.report.build import heldout_text
from rnnlab.stepper import Stepper

REPO = Path(__file__).resolve().parents[1]
TEXT = "The quick (brown) fox jumps over the lazy dog. {See also} the [hacker] (and the 'wizard').\n" * 40 + "Un caf\u00e9.\n"
PROMPT = TEXT[:230]  # 200 steps of logits compared, from a prompt longer than that
TOL = 1e-4
# Each cell with a stack option the page reads differently: the block layout (variational
# dropout); one-hot input and an unknown symbol (the text's one "\u00e9" is rarer than
# --min-count); a tied head.
RUNS = {"lstm": ["--variational", "--dropout", "0.1"], "gru": ["--one-hot", "--min-count", "2"], "rnn": ["--tie", "--embed", "32"]}


@pytest.fixture(scope="module")
def corpus_file(tmp_path_factory):
    p = tmp_path_factory.mktemp("web-corpus") / "corpus.txt"
    p.write_text(TEXT)
    return p


@pytest.fixture(scope="module")
def trained(corpus_file, tmp_path_factory):
    """cell -> a short run that has learnt enough for a greedy text that is not one repeated character."""
    out = {}
    for cell, flags in RUNS.items():
        run = tmp_path_factory.mktemp(f"web-{cell}") / "run"
        argv = ["train", str(corpus_file), "--out", str(run), "--tiny", "--layers", "2", "--cell", cell, "--max-steps", "60"]
        assert main([*argv, "--lr", "0.02", "--seed", "3", "--quiet", *flags]) == 0
        out[cell] = run
    return out


@pytest.fixture
def tab(chromium):
    with open_tab(chromium, 1200, 1000, 60_000) as tab:
        yield tab


def export(run, out: Path, *flags: str) -> str:
    assert main(["export", str(run), "--to", "web", str(out), *flags]) == 0
    return out.read_text()


def weight_bytes(model: CharRNN, dtype: str) -> int:
    return sum(p.numel() for p in model.parameters()) * (2 if dtype == "float16" else 4)  # parameters(): a tied matrix once


def as_held(model: CharRNN, dtype: str) -> CharRNN:
    """The network with the weights the page computes with."""
    return web.rounded(model) if dtype == "float16" else model


def wait_until(tab: Tab, expression: str, timeout: float = 60) -> None:
    """Poll ``expression`` (Playwright's wait_for_function evaluates strings, which the page's
    Content-Security-Policy forbids)."""
    end = time.monotonic() + timeout
    while not tab.js(expression):
        assert time.monotonic() < end, f"timed out waiting for {expression}"
        time.sleep(0.02)


def open_page(tab: Tab, path: Path) -> None:
    tab.page.goto(path.resolve().as_uri(), wait_until="load")
    wait_until(tab, "document.body.dataset.ready === '1'")


def write_in_page(tab: Tab, prompt: str, temperature, length: int, seed="", state="done") -> str:
    """Fill the page's fields, click Generate, wait for the end: the output (the prompt, then the text written)."""
    p = tab.page
    for field, value in (("#prompt", prompt), ("#temperature", str(temperature)), ("#length", str(length)), ("#seed", str(seed))):
        p.fill(field, value)
    p.click("#generate")
    wait_until(tab, "document.body.dataset.state !== 'running'")
    assert tab.js("document.body.dataset.state") == state, tab.js("document.getElementById('status').textContent")
    return tab.js("document.getElementById('output').textContent")


def python_logits(model: CharRNN, ids: torch.Tensor) -> torch.Tensor:
    step = Stepper(model)
    return torch.stack([step(ids[t : t + 1])[0] for t in range(ids.numel())])  # (T, V)


def check_against_python(tab: Tab, ckpt, model: CharRNN, dtype: str, prime: str) -> None:
    """The page's logits over PROMPT (200 steps) and greedy text after ``prime`` (100 characters) are Python's."""
    held = as_held(model, dtype)
    ids, _ = ckpt.task.vocab.encode(PROMPT)
    got = torch.tensor(tab.js(f"window.rnnlabWeb.logits({json.dumps(PROMPT)}, 200)"), dtype=torch.float64)
    want = python_logits(held, ids[:200]).double()
    assert got.shape == want.shape == (200, ckpt.model_config.vocab_size)
    assert (got - want).abs().max().item() <= TOL
    greedy = LanguageModel(held, ckpt.task.vocab).sample(100, prime=prime, greedy=True)
    assert len(set(greedy[len(prime) :])) > 3, greedy  # a text, not one character over and over
    assert write_in_page(tab, prime, 0, 100) == greedy


@needs_browser
@pytest.mark.parametrize("cell", list(RUNS))
def test_page_writes_as_python_does(cell, trained, corpus_file, tab, tmp_path):
    run = trained[cell]
    ckpt, model, _ = runs.load_model(run)
    page = tmp_path / "model.html"
    flags = ["--dtype", "float32"] if cell == "rnn" else []  # one page of each precision
    html = export(run, page, *flags)
    dtype = "float32" if flags else "float16"  # measured: these runs lose less than 0.005 bits/char in float16
    assert f'"dtype":"{dtype}"' in html
    assert len(html.encode()) <= 1.4 * weight_bytes(model, dtype) + 300_000
    assert str(corpus_file.parent) not in html and str(run.parent) not in html  # file names only, never where they lay

    open_page(tab, page)
    assert tab.js("window.rnnlabWeb.info") == {"cell": cell, "layers": 2, "hidden": 32, "vocabSize": len(ckpt.task.vocab), "dtype": dtype}
    assert (ckpt.task.vocab.unk is not None) == (cell == "gru")
    check_against_python(tab, ckpt, model, dtype, "The qu\u00e9ck")  # "\u00e9": the unknown symbol where there is one
    card = dict(tab.js("Array.from(document.querySelectorAll('#card tr')).map(r => [r.cells[0].textContent, r.cells[1].textContent])"))
    assert card["trained on"] == "corpus.txt" and card["text size"] == f"{len(TEXT):,} characters"
    assert card["held-out bits/char"].startswith(f"{ckpt.progress.best_val:.3f}")
    assert card["weights"].startswith(dtype)
    assert [r.url for r in tab.requests] == [page.resolve().as_uri()]
    assert tab.errors() == []


@needs_browser
def test_seeded_sample_repeats_and_stop_stops(trained, tab, tmp_path):
    page = tmp_path / "lstm.html"
    export(trained["lstm"], page)
    open_page(tab, page)
    first = write_in_page(tab, "The ", 1, 300, seed=7)
    assert write_in_page(tab, "The ", 1, 300, seed=7) == first
    assert tab.js("window.rnnlabWeb.sample('The ', 300, 1, 7)") == first  # the button and the hook write alike
    assert write_in_page(tab, "The ", 1, 300, seed=8) != first
    assert len(first) == 304
    unseeded = write_in_page(tab, "The ", 1, 300)
    assert "seed " in tab.js("document.getElementById('status').textContent") and len(unseeded) == 304

    # Stop: the text ends where it was stopped.
    tab.page.fill("#length", "100000")
    tab.page.click("#generate")
    tab.page.click("#stop")
    wait_until(tab, "document.body.dataset.state !== 'running'")
    assert tab.js("document.body.dataset.state") == "stopped"
    written = tab.js("document.getElementById('generated').textContent.length")
    time.sleep(0.3)
    assert 0 < written == tab.js("document.getElementById('generated').textContent.length") < 100_000
    assert tab.js("document.getElementById('generate').disabled") is False

    # A prompt with a character the model never saw, and a bad temperature: said in the page.
    write_in_page(tab, "zebra \u0436", 1, 10, state="error")
    assert "never seen" in tab.js("document.getElementById('status').textContent")
    for field, value, said in (("#temperature", "-1", "temperature"), ("#temperature", "", "temperature"), ("#length", "0", "length")):
        tab.page.fill(field, value)
        tab.page.click("#generate")
        assert said in tab.js("document.getElementById('status').textContent")
        tab.page.fill("#temperature", "1")
    assert [r.url for r in tab.requests] == [page.resolve().as_uri()]
    assert tab.errors() == []


@needs_browser
def test_base_model_page(tab, tmp_path):
    page = tmp_path / "base.html"
    html = export("base", page)
    ckpt, model, _ = runs.load_model("base")
    assert '"dtype":"float16"' in html  # the shipped weights are float16 already: nothing lost
    assert len(html.encode()) <= 1.4 * weight_bytes(model, "float16") + 300_000
    open_page(tab, page)
    check_against_python(tab, ckpt, model, "float16", "The ")
    assert [r.url for r in tab.requests] == [page.resolve().as_uri()]
    assert tab.errors() == []


# ------------------------------------------------------------------------------------------
# float16 where it costs at most 0.005 bits/char on the held-out text


def test_float16_is_measured_on_the_heldout_text(trained, monkeypatch):
    ckpt, model, _ = runs.load_model(trained["lstm"])
    dtype, why = web.choose_dtype(ckpt, model, ExportConfig())
    assert dtype == "float16" and "held-out characters" in why
    # The cost is the held-out text's score with rounded weights less its score as trained.
    text, what = heldout_text(ckpt, int(len(TEXT) * ckpt.train_config.val_fraction))
    assert "held-out" in what
    bpc = [LanguageModel(m, ckpt.task.vocab).evaluate(text) for m in (model, web.rounded(model))]
    cost, n = web.float16_cost(model, web.rounded(model), web.heldout_ids(ckpt))
    assert n == bpc[0]["chars"] and cost == pytest.approx(bpc[1]["bpc"] - bpc[0]["bpc"], abs=1e-9)
    assert f"{cost:+.4f}" in why

    monkeypatch.setattr(web, "MAX_FLOAT16_COST", cost - 1e-6)  # a cost over the limit
    assert web.choose_dtype(ckpt, model, ExportConfig())[0] == "float32"
    monkeypatch.undo()
    no_text = dataclasses.replace(ckpt, data=DataSpec("text", (), ckpt.data.chars, ckpt.data.sha256))
    assert web.choose_dtype(no_text, model, ExportConfig()) == ("float32", "no held-out text found to measure what float16 would cost")
    assert web.choose_dtype(no_text, model, ExportConfig(dtype="float16")) == ("float16", "as asked")
    assert web.choose_dtype(ckpt, model, ExportConfig(dtype="float32")) == ("float32", "as asked")
    assert web.choose_dtype(no_text, web.rounded(model), ExportConfig())[0] == "float16"  # exact in float16: nothing to measure


def test_float16_that_overflows_is_not_taken(trained):
    ckpt, model, _ = runs.load_model(trained["gru"])
    with torch.no_grad():
        model.head.bias[0] = 1e6  # beyond float16's 65504
    assert web.choose_dtype(ckpt, model, ExportConfig())[0] == "float32"


# ------------------------------------------------------------------------------------------
# What the page does not run: refused in one line


def variant(run: Path, folder: Path, **changes) -> Path:
    """A run like ``run`` whose model has ``changes`` (random weights of that shape)."""
    ckpt = checkpoint.load(run / "best.pt")
    ckpt.model_config = dataclasses.replace(ckpt.model_config, **changes)
    ckpt.weights, ckpt.backend = CharRNN(ckpt.model_config).state_dict(), "reference"
    folder.mkdir()
    checkpoint.save(folder / "best.pt", ckpt)
    return folder


def refused(capsys, argv: list[str], *needles: str) -> None:
    rc = main(argv)
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert all(n in err for n in needles), err


@pytest.mark.parametrize(
    "changes, has",
    [({"cell": "mingru"}, "the mingru cell"), ({"norm": "layer"}, "--norm layer"), ({"residual": True, "mlp": 2}, "--residual, --mlp 2")],
)
def test_other_cells_and_stacks_are_refused(changes, has, trained, tmp_path, capsys):
    run = variant(trained["lstm"], tmp_path / "run", **changes)
    out = tmp_path / "x.html"
    refused(capsys, ["export", str(run), "--to", "web", str(out)], "LSTM, GRU and RNN", has)
    assert not out.exists() and list(tmp_path.glob(".x.html*")) == []


def test_a_tagger_is_refused(tmp_path, capsys):
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("hello world\tHello World\nthe fox\tThe Fox\n" * 30)
    run = tmp_path / "tag"
    assert main(["tag", "train", str(pairs), "--out", str(run), "--tiny", "--max-steps", "2", "--quiet"]) == 0
    capsys.readouterr()
    refused(capsys, ["export", str(run), "--to", "web", str(tmp_path / "x.html")], "language model", "tagging run")


# ------------------------------------------------------------------------------------------
# The speed benchmark's smoke test


@needs_browser
def test_web_speed_quick(tmp_path):
    # A process of its own: Playwright's sync API runs one instance per thread, and this module's is open.
    out = tmp_path / "speed.json"
    r = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "web_speed.py"), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    data = json.loads(out.read_text())
    assert data["quick"] is True and data["chromium"] and len(data["rows"]) == 1
    assert all(row["hook_cps"] > 0 and row["page_cps"] > 0 and row["hidden"] == 256 for row in data["rows"])
    assert "chars/s" in r.stdout
