"""rnnlab: character-level recurrent neural networks in PyTorch.

- ``rnnlab.nn``: RNN, LSTM and GRU cells and layers written from tensor ops, equal to ``torch.nn``.
- ``rnnlab lesson``: lecture 12 of "PyTorch深度学习实践", reproduced ("hello" -> "ohlol").
- ``rnnlab.load(run_dir)`` / ``rnnlab.train_lm(...)``: character language models from Python.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("rnnlab")  # declared once, in pyproject.toml
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"

# Imported on first use, so that `rnnlab --help` does not wait for torch.
_LAZY = {
    "load": "rnnlab.lm",
    "train_lm": "rnnlab.lm",
    "LanguageModel": "rnnlab.lm",
    "ModelConfig": "rnnlab.config",
    "TrainConfig": "rnnlab.config",
    "DataConfig": "rnnlab.config",
    "SampleConfig": "rnnlab.config",
    "Trainer": "rnnlab.training",
    "LMTask": "rnnlab.training",
    "train_tagger": "rnnlab.tag",
    "load_tagger": "rnnlab.tag",
    "LiveCurves": "rnnlab.notebook",
    "TensorBoard": "rnnlab.training.tensorboard",
    "AllHooks": "rnnlab.training.hooks",
    "Hooks": "rnnlab.training.hooks",
    "show_report": "rnnlab.notebook",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'rnnlab' has no attribute {name!r}")
