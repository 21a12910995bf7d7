"""``rnnlab report``: the numbers against direct computations, the command, and the page in a real browser.

The browser tests drive headless Chromium (the system's own, launched once per module) through
Playwright's sync API: they load the page, watch for console errors and uncaught exceptions, hover
a character with real mouse events, change the unit through the page's controls, read the page's
own numbers back and compare them with torch, and save a screenshot to test-artifacts/report/.
They are skipped when no Chromium is installed (``.ci/run`` installs Debian's ``chromium``) or
when the ``playwright`` package cannot be imported.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from pathlib import Path

import pytest
import torch
from browser import Tab, needs_browser, open_tab
from conftest import one_line_error

from rnnlab import checkpoint
from rnnlab.cli import main
from rnnlab.config import ModelConfig
from rnnlab.model import CharRNN
from rnnlab.report import build_report, correlations, regex_mask, saturation, trace, unit_search
from rnnlab.runs import build_model, load_run

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(os.environ.get("RNNLAB_TEST_ARTIFACTS", REPO / "test-artifacts")) / "report"
PARENS = r"\([^)]*\)"
TEXT = (
    "The quick (brown) fox jumps over the lazy dog. {See also} the [hacker] (and the 'wizard').\n"
    "A line (with a note) and another (one more) here; then plain words follow, then (more).\n"
) * 30


# ------------------------------------------------------------------------------------------
# Direct computations: torch.nn cells fed with the same weights, and float64 formulas


def random_model(cell: str, layers: int = 2, hidden: int = 12, vocab: int = 20, seed: int = 0) -> CharRNN:
    torch.manual_seed(seed)
    m = CharRNN(ModelConfig(vocab_size=vocab, cell=cell, layers=layers, hidden=hidden, embed=7))
    with torch.no_grad():  # larger weights than the default init, so that gates saturate sometimes
        for name, p in m.rnn.named_parameters():
            p.mul_(4.0 if "weight" in name else 2.0)
    return m.eval()


def reference_states(model: CharRNN, ids: torch.Tensor):
    """Per layer: h (T, H), c (T, H) or None, and the gates, from torch.nn cells in float64."""
    cfg = model.cfg
    x = model.encode_input(ids[None])[0].double()  # (T, E)
    out = []
    for layer in range(cfg.layers):
        w_ih, w_hh, b_ih, b_hh = (
            getattr(model.rnn, f"{n}_l{layer}").detach().double() for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        )
        H = w_hh.shape[1]
        cls = {"lstm": torch.nn.LSTMCell, "gru": torch.nn.GRUCell, "rnn": torch.nn.RNNCell}[cfg.cell]
        cellmod = cls(x.shape[1], H).double()
        cellmod.load_state_dict({"weight_ih": w_ih, "weight_hh": w_hh, "bias_ih": b_ih, "bias_hh": b_hh})
        h = torch.zeros(1, H, dtype=torch.float64)
        c = torch.zeros(1, H, dtype=torch.float64)
        hs, cs, gates = [], [], {}
        sig = torch.sigmoid
        for t in range(x.shape[0]):
            xt = x[t : t + 1]
            if cfg.cell == "lstm":
                pre = xt @ w_ih.T + b_ih + h @ w_hh.T + b_hh
                i, f, _g, o = pre.chunk(4, 1)
                for name, v in (("input", sig(i)), ("forget", sig(f)), ("output", sig(o))):
                    gates.setdefault(name, []).append(v)
                with torch.no_grad():
                    h, c = cellmod(xt, (h, c))
                cs.append(c)
            elif cfg.cell == "gru":
                gi, gh = xt @ w_ih.T + b_ih, h @ w_hh.T + b_hh
                gates.setdefault("reset", []).append(sig(gi[:, :H] + gh[:, :H]))
                gates.setdefault("update", []).append(sig(gi[:, H : 2 * H] + gh[:, H : 2 * H]))
                with torch.no_grad():
                    h = cellmod(xt, h)
            else:
                with torch.no_grad():
                    h = cellmod(xt, h)
            hs.append(h)
        x = torch.cat(hs)
        out.append((x, torch.cat(cs) if cs else None, {k: torch.cat(v) for k, v in gates.items()}))
    return out


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_trace_matches_torch_cells_gates_and_predictions(cell):
    model = random_model(cell)
    ids = torch.randint(0, 20, (60,), generator=torch.Generator().manual_seed(1))
    tr = trace(model, ids)
    ref = reference_states(model, ids)
    for layer, (h, c, gates) in enumerate(ref):
        torch.testing.assert_close(tr.h[layer].double(), h, atol=1e-5, rtol=0)
        if cell == "lstm":
            torch.testing.assert_close(tr.c[layer].double(), c, atol=1e-5, rtol=0)
            torch.testing.assert_close(tr.activation("c", layer).double(), torch.tanh(c), atol=1e-5, rtol=0)
        assert sorted(tr.gates[layer]) == sorted(gates)
        for name, v in gates.items():
            torch.testing.assert_close(tr.gates[layer][name].double(), v, atol=1e-5, rtol=0)
    # The top layer is what nn.LSTM / nn.GRU / nn.RNN gives in one call.
    with torch.no_grad():
        logits, _, _ = model(ids[None])
    torch.testing.assert_close(tr.h[-1], model.rnn(model.encode_input(ids[None]))[0][0].detach(), atol=1e-5, rtol=0)
    probs = torch.softmax(logits[0].double(), -1)  # (T, V)
    p, i = probs.topk(5, -1)
    torch.testing.assert_close(tr.top_p.double(), p, atol=1e-6, rtol=0)
    assert torch.equal(tr.top_ids, i)
    torch.testing.assert_close(tr.p_next[:-1].double(), probs[:-1].gather(1, ids[1:, None])[:, 0], atol=1e-6, rtol=0)
    assert math.isnan(float(tr.p_next[-1]))
    # Saturation, recomputed from the float64 gates.
    sat = saturation(tr)
    for layer, (_, _, gates) in enumerate(ref):
        for name, v in gates.items():
            left = (v < 0.1).double().mean(0).tolist()
            right = (v > 0.9).double().mean(0).tolist()
            assert sat[layer][name]["left"] == pytest.approx(left, abs=1e-9)
            assert sat[layer][name]["right"] == pytest.approx(right, abs=1e-9)
    if cell == "lstm":
        assert any(x > 0 for g in sat for gate in g.values() for x in gate["left"] + gate["right"])


def test_regex_mask_and_correlation_match_numpy():
    np = pytest.importorskip("numpy")
    text = "ab (cd) ef (g)\n(h"
    mask = regex_mask(text, PARENS)
    assert "".join(c for c, m in zip(text, mask.tolist()) if m) == "(cd)(g)"
    assert not regex_mask(text, "x*").any()  # empty matches mark nothing
    g = torch.Generator().manual_seed(0)
    values = torch.rand(len(text), 6, generator=g) * 2 - 1
    values[:, 3] = 0.25  # a constant unit: correlation 0, not NaN
    r = correlations(values, mask)
    for u in range(6):
        want = 0.0 if u == 3 else np.corrcoef(values[:, u].double().numpy(), mask.double().numpy())[0, 1]
        assert float(r[u]) == pytest.approx(want, abs=1e-12)


def test_unit_search_ranks_by_absolute_correlation():
    text = TEXT[:400]
    vocab = sorted(set(text))
    model = random_model("lstm", hidden=10, vocab=len(vocab))
    ids = torch.tensor([vocab.index(c) for c in text])
    tr = trace(model, ids, text=text)
    found = unit_search(tr, PARENS, top=300)
    assert len(found) == 2 * 2 * 10  # h and c, 2 layers, 10 units
    rs = [abs(f["r"]) for f in found]
    assert rs == sorted(rs, reverse=True)
    mask = regex_mask(text, PARENS)
    best = found[0]
    direct = correlations(tr.activation(best["kind"], best["layer"]), mask)[best["unit"]]
    assert best["r"] == pytest.approx(float(direct))


# ------------------------------------------------------------------------------------------
# Runs and the command


@pytest.fixture(scope="module")
def corpus_file(tmp_path_factory):
    p = tmp_path_factory.mktemp("report") / "corpus.txt"
    p.write_text(TEXT)
    return p


def _train(corpus_file, tmp_path_factory, cell):
    run = tmp_path_factory.mktemp(f"run-{cell}") / "run"
    rc = main(["train", str(corpus_file), "--out", str(run), "--tiny", "--layers", "2", "--cell", cell, "--quiet", "--seed", "3"])
    assert rc == 0
    return run


@pytest.fixture(scope="module")
def lstm_run(corpus_file, tmp_path_factory):
    return _train(corpus_file, tmp_path_factory, "lstm")


@pytest.fixture(scope="module")
def gru_run(corpus_file, tmp_path_factory):
    return _train(corpus_file, tmp_path_factory, "gru")


def test_report_command_writes_one_self_contained_file(lstm_run, corpus_file, tmp_path, capsys):
    out = tmp_path / "r.html"
    assert main(["report", str(lstm_run), "--text", str(corpus_file), "--out", str(out), "--chars", "700"]) == 0
    err = capsys.readouterr().err
    assert "wrote" in err and "first 700 of" in err
    html = out.read_text()
    assert html.startswith("<!DOCTYPE html>")
    # Self-contained: no external scripts, styles, images or fetches.
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", html)
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "") and "https://" not in html
    data = json.loads(re.search(r'<script id="report-data" type="application/json">(.*?)</script>', html, re.S).group(1))
    assert data["meta"]["chars"] == 700 and data["text"] == TEXT[:700]
    assert data["history"] and data["curves"]["step"] and data["curves"]["val"]
    assert "showing the first 700" in " ".join(data["meta"]["notes"])
    # Default text: the held-out tail of the training text; default output inside the run folder.
    assert main(["report", str(lstm_run), "--chars", "300"]) == 0
    assert (lstm_run / "report.html").is_file()
    assert (
        "held-out"
        in json.loads(re.search(r'type="application/json">(.*?)</script>', (lstm_run / "report.html").read_text(), re.S).group(1))["meta"][
            "source"
        ]
    )
    # A sample from a prime.
    assert main(["report", str(lstm_run), "--prime", "The ", "--length", "50", "--out", str(tmp_path / "p.html")]) == 0
    capsys.readouterr()


def test_report_errors_are_one_line(lstm_run, tmp_path, capsys):
    one_line_error(capsys, main(["report", str(tmp_path / "nope")]), "no such run folder")
    one_line_error(
        capsys, main(["report", str(lstm_run), "--search", "(unclosed", "--out", str(tmp_path / "x.html")]), "bad regular expression"
    )
    unknown = tmp_path / "zh.txt"
    unknown.write_text("\u4e2d\u6587")
    one_line_error(capsys, main(["report", str(lstm_run), "--text", str(unknown), "--out", str(tmp_path / "x.html")]), "vocabulary")
    # A checkpoint of another kind.
    other = tmp_path / "other"
    other.mkdir()
    raw = checkpoint.load(lstm_run / "best.pt").to_dict()
    raw["kind"] = "speech"
    torch.save(raw, other / "best.pt")
    one_line_error(capsys, main(["report", str(other)]), "a checkpoint of a 'speech' model")
    one_line_error(capsys, main(["report", str(lstm_run), "--text", "a", "--prime", "b"]), "not allowed with")


def test_lstmvis_export(lstm_run, corpus_file, tmp_path, capsys):
    h5py = pytest.importorskip("h5py", reason="h5py not installed (pip install h5py)")
    vis = tmp_path / "vis"
    assert (
        main(
            [
                "report",
                str(lstm_run),
                "--text",
                str(corpus_file),
                "--chars",
                "200",
                "--out",
                str(tmp_path / "r.html"),
                "--lstmvis",
                str(vis),
            ]
        )
        == 0
    )
    capsys.readouterr()
    rep = build_report(lstm_run, text=TEXT, chars=200)
    with h5py.File(vis / "states.h5", "r") as f:
        assert sorted(f) == ["cell1", "cell2", "output1", "output2"]
        for layer in range(2):
            torch.testing.assert_close(torch.from_numpy(f[f"output{layer + 1}"][:]), rep.trace.h[layer])
            torch.testing.assert_close(torch.from_numpy(f[f"cell{layer + 1}"][:]), rep.trace.c[layer])
    with h5py.File(vis / "chars.h5", "r") as f:
        assert f["chars"][:].tolist() == rep.trace.ids.tolist()
    lines = (vis / "chars.dict").read_text().splitlines()
    assert len(lines) == len(rep.vocab.chars) and all(len(line.split()) == 2 for line in lines)
    assert "\u2423 " + str(rep.vocab.stoi[" "]) in lines
    yml = (vis / "lstm.yml").read_text()
    for needle in ("states: states.h5", "word_sequence:", "dict_file: chars_dict", "path: cell2", "path: output2, transform: none"):
        assert needle in yml


# ------------------------------------------------------------------------------------------
# The page in Chromium


@pytest.fixture
def tab(chromium):
    """A fresh page (in its own context) at 1400 x 1800 CSS pixels, one device pixel each."""
    with open_tab(chromium, 1400, 1800, 60_000, device_scale_factor=1) as tab:
        yield tab


def open_page(tab: Tab, path: Path) -> float:
    start = time.monotonic()
    tab.page.goto(path.resolve().as_uri(), wait_until="load")
    assert tab.js("document.body.dataset.ready") == "1", tab.errors()
    return time.monotonic() - start


def hover_char(tab: Tab, t: int, container: str = "#text") -> None:
    """Move the real mouse onto character t (on the current page of text)."""
    box = tab.js(
        f"(() => {{ const s = document.querySelector('{container} span[data-i=\"{t}\"]'); s.scrollIntoView({{block: 'center'}});"
        " const r = s.getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; })()"
    )
    tab.page.mouse.move(box[0], box[1])


def screenshot(tab: Tab, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    tab.js("window.scrollTo(0, 0)")
    png = tab.page.screenshot(type="png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    path = ARTIFACTS / name
    path.write_bytes(png)
    return path


@needs_browser
def test_page_in_chromium_lstm(tab, lstm_run, tmp_path):
    dt = tab
    rep = build_report(lstm_run, text=TEXT, chars=1500, search=PARENS)
    page = tmp_path / "lstm.html"
    page.write_text(rep.html)
    open_page(dt, page)
    tr = rep.trace
    T, H = len(tr.text), tr.hidden

    # The text and the curves are drawn.
    assert dt.js("document.querySelectorAll('#text span').length") == T
    assert (
        dt.js(
            "Array.from(document.querySelectorAll('#text span')).map(s => s.dataset.i === undefined ? '' : window.rnnlabReport.chars[+s.dataset.i]).join('')"
        )
        == tr.text
    )
    for chart in ("chart-step", "chart-time", "chart-lr"):
        n = dt.js(
            f"Array.from(document.querySelectorAll('#{chart} .series')).filter(e => (e.getAttribute('d') || '').length > 10 || e.childElementCount > 0).length"
        )
        assert n >= 1, chart
    assert dt.js("document.querySelectorAll('#samples .sample').length") == len(rep.data["history"])

    # Choosing another unit through the page's own controls changes the colours.
    dt.js("(() => { const s = document.getElementById('layer'); s.value = '0'; s.dispatchEvent(new Event('change')); })()")
    dt.js("(() => { const k = document.getElementById('kind'); k.value = 'h'; k.dispatchEvent(new Event('change')); })()")
    dt.js("(() => { const u = document.getElementById('unit'); u.value = '1'; u.dispatchEvent(new Event('change')); })()")
    before = dt.js("window.rnnlabReport.colours()")
    assert dt.js("window.rnnlabReport.selection()") == {"layer": 0, "kind": "h", "unit": 1}
    dt.js("document.getElementById('next').click()")
    after = dt.js("window.rnnlabReport.colours()")
    assert dt.js("window.rnnlabReport.selection()")["unit"] == 2
    assert len(before) == len(after) == T and before != after
    dt.js("(() => { const k = document.getElementById('kind'); k.value = 'c'; k.dispatchEvent(new Event('change')); })()")
    assert dt.js("window.rnnlabReport.colours()") != after

    # Hover a character with the mouse: the top-5 panel shows the model's probabilities.
    t = 123
    hover_char(dt, t)
    rows = dt.js(
        "Array.from(document.querySelectorAll('#top5 tr')).map(r => [r.dataset.char, +r.dataset.p, r.querySelector('td.p').textContent])"
    )
    assert len(rows) == 5
    probs = [p for _, p, _ in rows]
    assert all(0 <= p <= 1 for p in probs) and sum(probs) <= 1 + 1e-6
    assert probs == sorted(probs, reverse=True)
    assert [c for c, _, _ in rows] == [rep.vocab.chars[i] for i in tr.top_ids[t].tolist()]
    assert probs == pytest.approx(tr.top_p[t].tolist(), abs=1e-6)
    assert [float(s) for _, _, s in rows] == pytest.approx(tr.top_p[t].tolist(), abs=6e-4)

    # The page's activations are the trace's, to the 8-bit storage step.
    got = dt.js(
        "(() => { const R = window.rnnlabReport, o = [];"
        f" for (const k of ['h', 'c']) for (let l = 0; l < 2; l++) for (let t = 0; t < {T}; t += 7) for (let u = 0; u < {H}; u += 3) o.push(R.act(k, l, t, u));"
        " return o; })()"
    )
    want = [float(tr.activation(k, layer)[t, u]) for k in ("h", "c") for layer in range(2) for t in range(0, T, 7) for u in range(0, H, 3)]
    assert max(abs(a - b) for a, b in zip(got, want)) <= 1 / 254 + 1e-6

    # Saturation fractions drawn in the scatter plots, against the float64 recomputation.
    ref = reference_states(build_model_of(lstm_run), tr.ids)
    dots = dt.js(
        "Array.from(document.querySelectorAll('.satplot')).map(p => [p.dataset.gate, Array.from(p.querySelectorAll('g[data-layer]')).map("
        "g => Array.from(g.querySelectorAll('circle')).map(c => [+c.dataset.left, +c.dataset.right]))])"
    )
    assert [g for g, _ in dots] == ["input", "forget", "output"]
    for gate, layers in dots:
        for layer, pts in enumerate(layers):
            v = ref[layer][2][gate]
            assert [p[0] for p in pts] == pytest.approx((v < 0.1).double().mean(0).tolist(), abs=1e-9)
            assert [p[1] for p in pts] == pytest.approx((v > 0.9).double().mean(0).tolist(), abs=1e-9)

    # Unit search: the page's correlations against a direct computation on the exact states.
    res = dt.js(f"window.rnnlabReport.runSearch({json.dumps(PARENS)}).results")
    assert len(res) == 20
    mask = regex_mask(tr.text, PARENS)
    for r in res:
        direct = float(correlations(tr.activation(r["kind"], r["layer"]), mask)[r["unit"]])
        assert r["r"] == pytest.approx(direct, abs=0.02)
    best_py = unit_search(tr, PARENS, top=1)[0]
    assert abs(res[0]["r"]) == pytest.approx(abs(best_py["r"]), abs=0.02)
    n_rows = dt.js("document.querySelectorAll('#results tr.row').length")
    assert n_rows == 20
    dt.js("document.querySelectorAll('#results tr.row')[2].click()")
    assert dt.js("window.rnnlabReport.selection()") == {"layer": res[2]["layer"], "kind": res[2]["kind"], "unit": res[2]["unit"]}
    assert dt.js("document.querySelector('#results tr.sel') !== null")

    assert dt.js("window.__reportErrors") == []
    assert dt.errors() == []
    path = screenshot(dt, "report-lstm.png")
    assert path.stat().st_size > 10_000


def build_model_of(run):
    return build_model(load_run(run))


@needs_browser
def test_page_in_chromium_gru_and_large_text(tab, gru_run, tmp_path):
    dt = tab
    text = (TEXT * 10)[:25_000]
    rep = build_report(gru_run, text=text, chars=25_000)
    page = tmp_path / "gru.html"
    page.write_text(rep.html)
    load_s = open_page(dt, page)
    assert load_s < 30
    # Paginated at 20,000 characters, and the page says so.
    assert dt.js("document.querySelectorAll('#text span').length") == 20_000
    assert "of 25,000" in dt.js("document.getElementById('pager').textContent")
    assert "pages of 20,000" in dt.js("document.getElementById('notes').textContent")
    # Responsive: recolouring 20,000 characters for another unit is quick.
    ms = dt.js(
        "(() => { const t0 = performance.now(); for (let u = 0; u < 5; u++) window.rnnlabReport.select(0, 'h', u, true); return (performance.now() - t0) / 5; })()"
    )
    assert ms < 400, f"{ms:.0f} ms to recolour"
    assert dt.js("document.querySelectorAll('.satplot').length") == 2  # reset and update gates
    # Next page: the last 5,000 characters.
    dt.js("document.querySelector('#pager button:last-of-type').click()")
    assert dt.js("document.querySelectorAll('#text span').length") == 5_000
    hover_char(dt, 24_000)
    probs = dt.js("Array.from(document.querySelectorAll('#top5 tr')).map(r => +r.dataset.p)")
    assert len(probs) == 5 and sum(probs) <= 1 + 1e-6
    assert probs == pytest.approx(rep.trace.top_p[24_000].tolist(), abs=1e-6)
    assert dt.js("window.__reportErrors") == [] and dt.errors() == []
    screenshot(dt, "report-gru-large.png")


# ------------------------------------------------------------------------------------------
# Tag (transduction) runs


@pytest.fixture(scope="module")
def tag_run(corpus_file, tmp_path_factory):
    run = tmp_path_factory.mktemp("run-tag") / "run"
    assert main(["tag", "train", "--derive", "truecase", str(corpus_file), "--out", str(run), "--tiny", "--quiet", "--seed", "3"]) == 0
    return run


def test_tag_report_numbers_match_the_tagger(tag_run, tmp_path, capsys):
    from rnnlab.tag import load_tagger

    tagger = load_tagger(tag_run)
    pairs_file = tmp_path / "pairs.tsv"
    lines = ["the quick (brown) fox", "see also {hacker}", "a line (with a note)"]
    pairs_file.write_text("".join(f"{line}\t{line.title()}\n" for line in lines))
    rep = build_report(tag_run, text=pairs_file.read_text())
    tt = rep.trace
    assert rep.data["mode"] == "tag" and tt.input == "\n".join(lines) and tt.target == "\n".join(x.title() for x in lines)
    # The output is what `rnnlab tag predict` gives, and the confidences are the model's own softmax.
    assert tt.output.split("\n") == tagger.predict_many(lines)
    offset = 0
    for line in lines:
        ids = torch.tensor([[tagger.in_vocab.stoi.get(c, tagger.in_vocab.unk) for c in line]])
        with torch.no_grad():
            logits, _ = tagger.model(ids)
        probs = torch.softmax(logits[0].double(), -1)
        torch.testing.assert_close(tt.conf[offset : offset + len(line)], probs.max(-1).values, atol=1e-6, rtol=0)
        torch.testing.assert_close(tt.top_p[offset : offset + len(line)], probs.topk(tt.top_p.shape[1], -1).values, atol=1e-6, rtol=0)
        assert math.isnan(float(tt.conf[offset + len(line)])) if offset + len(line) < len(tt.input) else True
        offset += len(line) + 1
    assert rep.data["mistakes"] == sum(o != t for o, t in zip(tt.output, tt.target))
    # The command: default text is the run's held-out lines (derived as in training).
    assert main(["report", str(tag_run), "--out", str(tmp_path / "tag.html")]) == 0
    capsys.readouterr()
    one_line_error(capsys, main(["report", str(tag_run), "--lstmvis", str(tmp_path / "v"), "--out", str(tmp_path / "t2.html")]), "tag run")


@needs_browser
def test_page_in_chromium_tag(tab, tag_run, tmp_path):
    dt = tab
    text = "\n".join(TEXT.split("\n")[:6])
    rep = build_report(tag_run, text=text)  # plain text: targets derived as in training (truecase)
    assert rep.trace.target == text
    page = tmp_path / "tag.html"
    page.write_text(rep.html)
    open_page(dt, page)
    tt = rep.trace
    assert dt.js("document.body.classList.contains('mode-tag')")
    assert dt.js("getComputedStyle(document.getElementById('hidden')).display") == "none"
    n_out = dt.js("document.querySelectorAll('#tagtext .trow.out span[data-i]').length")
    assert n_out == len(tt.input) - tt.input.count("\n")
    assert dt.js("document.querySelectorAll('#tagtext .trow.out span.miss').length") == len(tt.mistakes()) == rep.data["mistakes"]
    # Output characters carry the model's confidence, coloured; the hover panel shows its top 5.
    got = dt.js("Array.from(document.querySelectorAll('#tagtext .trow.out span[data-i]')).map(s => window.rnnlabReport.conf(+s.dataset.i))")
    want = [float(c) for c, ch in zip(tt.conf, tt.input) if ch != "\n"]
    assert got == pytest.approx(want, abs=1e-6)
    t = 5
    hover_char(dt, t, "#tagtext")
    probs = dt.js("Array.from(document.querySelectorAll('#top5 tr')).map(r => +r.dataset.p)")
    named = tt.top_ids[t] >= 0  # (K,): a derived run names only the outputs its rule allows
    assert len(probs) == int(named.sum()) and sum(probs) <= 1 + 1e-6
    assert probs == pytest.approx(tt.top_p[t][named].tolist(), abs=1e-6)
    for chart in ("chart-step", "chart-lr"):
        assert dt.js(f"document.querySelectorAll('#{chart} .series').length") >= 1
    assert dt.js("window.__reportErrors") == [] and dt.errors() == []
    screenshot(dt, "report-tag.png")
