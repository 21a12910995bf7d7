"""Test-wide settings: one intra-op thread, since tiny models only lose time to thread hand-offs
and CI's two cores are shared with the test runner itself."""

import os

import pytest
import torch

from rnnlab.cells import REGISTRY

torch.set_num_threads(1)

# A small text for the command-line tests, and the file that holds it.
SMALL = "a quick brown fox jumps over the lazy dog.\n" * 60


@pytest.fixture
def text_file(tmp_path):
    p = tmp_path / "corpus.txt"
    p.write_text(SMALL)
    return p


@pytest.fixture(scope="module")
def chromium():
    """One headless Chromium for a test module (skipped, with the reason, where there is none)."""
    from browser import launch

    with launch() as browser:
        yield browser


def train_tiny(folder, steps: int = 30):
    """A ``--tiny`` language-model run of ``steps`` steps on SMALL, in ``folder/run``."""
    from rnnlab.cli import main

    (folder / "corpus.txt").write_text(SMALL)
    out = folder / "run"
    assert (
        main(
            ["train", str(folder / "corpus.txt"), "--out", str(out), "--tiny", "--quiet", "--max-steps", str(steps), "--sample-chars", "0"]
        )
        == 0
    )
    return out


def one_line_error(capsys, rc, needle: str) -> None:
    """The command failed with exit status 2 and one line on standard error, without a traceback, naming ``needle``."""
    err = capsys.readouterr().err.strip()
    assert rc == 2, err
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert needle in err, err


# Every registered cell on every backend it has: torch.nn's twin only where torch has one.
CELL_IMPLS = [(c.name, impl) for c in REGISTRY.values() for impl in ("auto", "torch", "reference") if impl != "torch" or c.torch_twin]


def pytest_collection_modifyitems(config, items):
    if os.environ.get("RNNLAB_SLOW") or config.getoption("-m"):
        return
    skip = pytest.mark.skip(reason="slow: set RNNLAB_SLOW=1 (make test-all) to run")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


# Counts behind the README's "What rnnlab promises": tests add to them, the session writes them
# to test-artifacts/promises.json.
PROMISES: dict[str, int] = {}


@pytest.fixture(scope="session")
def promises() -> dict[str, int]:
    return PROMISES


def pytest_sessionfinish(session, exitstatus):
    if PROMISES:
        import json
        from pathlib import Path

        out = Path(__file__).resolve().parents[1] / "test-artifacts"
        out.mkdir(exist_ok=True)
        (out / "promises.json").write_text(json.dumps(PROMISES, indent=2, sort_keys=True) + "\n")


@pytest.fixture(autouse=True)
def english_locale(monkeypatch):
    """Commands whose language follows the locale (rnnlab lesson) speak English in the tests,
    whatever the machine's LANG; a test that wants Chinese sets it."""
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
