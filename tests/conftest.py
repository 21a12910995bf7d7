"""Test-wide settings: one intra-op thread, since tiny models only lose time to thread hand-offs
and CI's two cores are shared with the test runner itself."""

import os

import pytest
import torch

torch.set_num_threads(1)


def pytest_collection_modifyitems(config, items):
    if os.environ.get("RNNLAB_SLOW") or config.getoption("-m"):
        return
    skip = pytest.mark.skip(reason="slow: set RNNLAB_SLOW=1 (make test-all) to run")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
