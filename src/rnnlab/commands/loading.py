"""The flags of the commands that use a trained run: which checkpoint, and on which device."""

from __future__ import annotations

import argparse

from rnnlab.commands.flags import add_settings
from rnnlab.config import LoadConfig


def add_load_args(p: argparse.ArgumentParser) -> None:
    add_settings(p, LoadConfig, "run", defaults=True)
