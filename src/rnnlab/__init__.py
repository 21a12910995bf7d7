"""rnnlab: character-level recurrent neural networks in PyTorch.

- ``rnnlab.nn``: RNN, LSTM and GRU cells and layers written from tensor ops, equal to ``torch.nn``.
- ``rnnlab lesson``: lecture 12 of "PyTorch深度学习实践", reproduced ("hello" -> "ohlol").
- ``rnnlab.load(run_dir)`` / ``rnnlab.train_lm(...)``: character language models from Python.
"""

__version__ = "0.1.0"

# Imported on first use, so that `rnnlab --help` does not wait for torch.
_LAZY = {
    "load": "rnnlab.lm",
    "train_lm": "rnnlab.lm",
    "LanguageModel": "rnnlab.lm",
    "ModelConfig": "rnnlab.config",
    "TrainConfig": "rnnlab.config",
    "Trainer": "rnnlab.train",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'rnnlab' has no attribute {name!r}")
