"""Test-wide settings: one intra-op thread, since tiny models only lose time to thread hand-offs
and CI's two cores are shared with the test runner itself."""

import os

import pytest
import torch

from rnnlab.cells import REGISTRY

torch.set_num_threads(1)

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
