"""The notebooks run top to bottom on a real Jupyter kernel (this virtualenv's Python), are committed
without outputs, and rnnlab.notebook's helpers work inside and outside Jupyter."""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import pytest

import rnnlab
from rnnlab.cli import main
from rnnlab.notebook import LiveCurves, ReportView, show_report

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
SMALL = "a quick brown fox jumps over the lazy dog.\n" * 60
KERNEL = "rnnlab-test"


@pytest.fixture
def kernel(tmp_path, monkeypatch):
    """A kernelspec that starts this interpreter (the default python3 spec runs whatever 'python' is on PATH)."""
    from ipykernel.kernelspec import install

    prefix = tmp_path / "jupyter"
    install(kernel_name=KERNEL, prefix=str(prefix))
    spec = prefix / "share" / "jupyter" / "kernels" / KERNEL / "kernel.json"
    assert json.loads(spec.read_text())["argv"][0] == sys.executable
    monkeypatch.setenv("JUPYTER_PATH", str(prefix / "share" / "jupyter"))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    return KERNEL


class RecordingClient(nbclient.NotebookClient):
    """Keeps every output message the kernel sends, as (cell index, message type, display id)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.messages: list[tuple[int, str, str | None]] = []

    def process_message(self, msg, cell, cell_index):
        transient = msg.get("content", {}).get("transient") or {}
        self.messages.append((cell_index, msg["header"]["msg_type"], transient.get("display_id")))
        return super().process_message(msg, cell, cell_index)


def execute(name: str, kernel: str, workdir: Path, timeout: int = 300) -> tuple[nbformat.NotebookNode, RecordingClient]:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = RecordingClient(nb, timeout=timeout, kernel_name=kernel, resources={"metadata": {"path": str(workdir)}})
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError on the first failing cell
    print(f"\n{name}: executed in {time.perf_counter() - start:.1f} s")
    return nb, client


def text_of(nb) -> str:
    out = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            out.append(o.get("text", "") if o.output_type == "stream" else o.get("data", {}).get("text/plain", ""))
    return "".join(out)


def test_lesson12_runs_the_five_programs_and_the_reference_check(kernel, tmp_path, monkeypatch):
    monkeypatch.setenv("RNNLAB_NB_EPOCHS", "3")
    nb, _ = execute("lesson12.ipynb", kernel, tmp_path)
    out = text_of(nb)
    assert "Predicted string: " in out and ", Epoch [3/3] loss=" in out  # program 1's format
    assert out.count(", Epoch [3/3] loss = ") == 4  # programs 2-5
    assert "shape of h_n" in out and "shape of cell c_0" in out
    for name in ("RNN ", "LSTM ", "GRU ", "RNNCell ", "LSTMCell ", "GRUCell "):
        assert name in out
    diffs = [float(d) for d in re.findall(r"\b(\d\.\d\de[+-]\d+)\b", out)]
    assert diffs and max(diffs) < 1e-4, diffs


def test_train_your_own_updates_one_display_and_shows_the_report(kernel, tmp_path, monkeypatch):
    monkeypatch.setenv("RNNLAB_NB_SECONDS", "5")
    monkeypatch.setenv("RNNLAB_NB_EVAL_EVERY", "10")
    monkeypatch.setenv("RNNLAB_NB_RUN_DIR", str(tmp_path / "run"))
    nb, client = execute("train_your_own.ipynb", kernel, tmp_path)
    # LiveCurves: one display_data with a display id, then several update_display_data for that id.
    shown = [(i, d) for i, kind, d in client.messages if kind == "display_data" and d]
    assert len(shown) == 1, shown
    cell_index, display_id = shown[0]
    updates = [m for m in client.messages if m[1] == "update_display_data" and m[2] == display_id]
    assert len(updates) >= 2, client.messages
    outputs = nb.cells[cell_index].outputs
    assert sum("image/png" in o.get("data", {}) for o in outputs) == 1  # updated in place, not appended
    # Above the curves, the progress bar is a notebook widget (tqdm.auto with ipywidgets), not text.
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs), outputs
    # The report page, inline, and saved next to the checkpoints.
    assert any("<iframe srcdoc=" in o.get("data", {}).get("text/html", "") for c in nb.cells for o in c.get("outputs", []))
    assert (tmp_path / "run" / "report.html").stat().st_size > 10_000
    assert "same text as before saving: True" in text_of(nb)


def test_the_committed_notebooks_have_no_outputs():
    paths = sorted(NOTEBOOKS.glob("*.ipynb"))
    assert {p.name for p in paths} >= {"lesson12.ipynb", "train_your_own.ipynb"}
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, path.name


def test_every_text_cell_is_in_english_then_chinese():
    """Both notebooks are bilingual (README, "In a notebook"): each heading has both languages, and
    each English paragraph is followed by its Chinese one."""
    han = re.compile(r"[\u4e00-\u9fff]")
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        cells = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown"]
        assert cells, path.name
        for cell in cells:
            head, *paras = cell.source.strip().split("\n\n")
            assert " / " in head and han.search(head.split(" / ")[1]), (path.name, head)
            assert paras and len(paras) % 2 == 0, (path.name, head)
            for en, zh in zip(paras[::2], paras[1::2]):
                assert not han.search(en.replace("PyTorch深度学习实践", "")) and han.search(zh), (path.name, en[:60])


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("run")
    curves = LiveCurves(every=5)
    model = rnnlab.ModelConfig(cell="gru", layers=1, hidden=32)
    config = rnnlab.TrainConfig(max_steps=30, eval_every=10, batch_size=4, seq_len=16, seed=0, device="cpu")
    rnnlab.train_lm(text=SMALL, out=run, model=model, config=config, hooks=curves)
    return run, curves


def test_live_curves_outside_jupyter_records_and_shows_nothing(small_run, capsys):
    _, curves = small_run
    assert curves.val_steps == [10, 20, 30] and len(curves.val) == 3
    assert curves.steps and all(v > 0 for v in curves.train)
    assert curves.updates == 0  # no display outside a kernel
    assert capsys.readouterr().out == ""
    assert curves.png().startswith(b"\x89PNG")


def test_show_report_is_the_page_rnnlab_report_writes(small_run, tmp_path):
    run, _ = small_run
    view = show_report(run)
    assert isinstance(view, ReportView)
    inline = view._repr_html_()
    assert inline.startswith("<iframe srcdoc=") and "&lt;!DOCTYPE html&gt;" in inline and "<html" not in inline
    saved = view.save(tmp_path / "mine.html")
    assert main(["report", str(run), "--out", str(tmp_path / "cli.html")]) == 0
    assert saved.read_text() == (tmp_path / "cli.html").read_text()


def test_a_loaded_model_shows_a_summary_in_jupyter(tmp_path):
    import rnnlab
    from rnnlab.cli import main

    text = tmp_path / "t.txt"
    text.write_text("hello world, hello <lab>.\n" * 40)
    assert main(["train", str(text), "--out", str(tmp_path / "run"), "--tiny", "--quiet"]) == 0
    lm = rnnlab.load(tmp_path / "run")
    page = lm._repr_html_()
    assert "1x32 LSTM" in page and f"{len(lm.vocab)} symbols" in page and "bits/char" in page
    assert "&lt;" in page and "<lab>" not in page  # the vocabulary is escaped
    assert f"{lm.about['steps']:,} steps" in page and lm.about["run"] == str(tmp_path / "run")
