"""Aligned character transduction: one output character for every input character.

The lecture maps "hello" to "ohlol"; truecasing ("the unix way" -> "The UNIX way"), diacritic
restoration ("ecole" -> "école") and per-character labelling have the same shape. Data are pairs
``(input, target)`` of equal length in characters, read from ``input<TAB>target`` lines or derived
from plain text. The model reads the whole input (bidirectional by default) and puts a Linear
over the output vocabulary at every position; a derived task's model takes only the outputs its
rule allows each input character (a letter's case or marks, never another character). Modules:
:mod:`.pairs` (reading and deriving pairs, windows, the allowed outputs),
:mod:`.model` (the network, :class:`TagModel`, with padding that never reaches the outputs), :mod:`.task`
(training: :class:`TagTask` for :class:`rnnlab.training.Trainer`, :func:`train_tagger`) and :mod:`.infer`
(the one transduction, the scores and :class:`Tagger`).
"""

from rnnlab.config import TagDataConfig, TagModelConfig, TagTrainConfig
from rnnlab.tag.infer import Tagger, Transduced, load_tagger, score, transduce
from rnnlab.tag.model import TagModel
from rnnlab.tag.pairs import (
    DERIVE,
    Pair,
    allowed_outputs,
    derive_diacritics,
    derive_truecase,
    load_pairs,
    parse_pairs,
    read_pairs,
    window_spans,
    windows,
)
from rnnlab.tag.task import TagData, TagTask, train_tagger
