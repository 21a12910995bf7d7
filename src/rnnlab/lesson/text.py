"""What the lesson says, in English and in Chinese: one table, one entry per message.

The Chinese uses the lecture's own terms (the study note the project began from): 循环神经网络,
隐藏状态 / 隐层, 序列长度 seqLen, 批量 batchSize, 独热向量 (one-hot), 嵌入层 Embedding, 线性层
Linear, 交叉熵损失, 优化器. The training lines (``Predicted string: ohlol, Epoch [5/15] loss=3.9884``,
``Predicted:  ohlol, Epoch [7/15] loss = 0.845``) are the lecture's own printouts and are in no
table: they read the same in every language.

The languages are :data:`rnnlab.config.LESSON_LANGS` (declared there once); every entry has
one text per language, with the same ``{placeholders}``. :func:`lesson_lang` picks the language
from the locale, for ``rnnlab lesson`` without ``--lang``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from rnnlab.config import LESSON_LANGS

LANGS: tuple[str, ...] = LESSON_LANGS
#: Where the locale is read, in the order that C's setlocale and gettext give them precedence.
LOCALE_VARS = ("LC_ALL", "LC_MESSAGES", "LANG")

_PROGRAM_3 = "Embedding({v}, 10) -> {cell}(10, 8, num_layers=2, batch_first=True) -> Linear(8, {v})"

MESSAGES: dict[str, dict[str, str]] = {
    # The first line of each program's log (framed as "== ... ==" by the caller; {v}: the vocabulary size).
    "header.rnncell": {
        "en": "Program 1 (RNNCell, hand-written time loop, hidden state = logits): RNNCell(input_size={v}, hidden_size={v}), batch 1",
        "zh": "程序 1（RNNCell，手写时间步循环，隐藏状态直接作为 logits）：RNNCell(input_size={v}, hidden_size={v})，批量 batchSize=1",
    },
    "header.rnn": {
        "en": "Program 2 (RNN, whole sequence in one call): RNN(input_size={v}, hidden_size={v}, num_layers=1), batch 1",
        "zh": "程序 2（RNN，一次调用处理整个序列）：RNN(input_size={v}, hidden_size={v}, num_layers=1)，批量 batchSize=1",
    },
    "header.embedding": {
        "en": "Program 3 (Embedding + RNN + Linear): " + _PROGRAM_3.replace("{cell}", "RNN"),
        "zh": "程序 3（嵌入层 Embedding + RNN + 线性层 Linear）：" + _PROGRAM_3.replace("{cell}", "RNN"),
    },
    "header.lstm": {
        "en": "Homework (program 3 with LSTM): " + _PROGRAM_3.replace("{cell}", "LSTM"),
        "zh": "作业（把程序 3 的 RNN 换成 LSTM）：" + _PROGRAM_3.replace("{cell}", "LSTM"),
    },
    "header.gru": {
        "en": "Homework (program 3 with GRU): " + _PROGRAM_3.replace("{cell}", "GRU"),
        "zh": "作业（把程序 3 的 RNN 换成 GRU）：" + _PROGRAM_3.replace("{cell}", "GRU"),
    },
    # The second line: how the program trains ({epochs}: one of the two entries after it).
    "settings": {
        "en": "   Adam lr={lr:g}, {epochs}, seed {seed}, impl {impl}; {input!r} -> {target!r}, idx2char={idx2char}",
        "zh": "   优化器 Adam，学习率 lr={lr:g}，{epochs}，随机种子 seed {seed}，循环层实现 impl {impl}；{input!r} -> {target!r}，字符表 idx2char={idx2char}",
    },
    "epochs.one": {"en": "{n} epoch", "zh": "训练 {n} 轮"},
    "epochs.many": {"en": "{n} epochs", "zh": "训练 {n} 轮"},
    # The summary table's column headers.
    "table.program": {"en": "program", "zh": "程序"},
    "table.prediction": {"en": "final prediction", "zh": "最终预测"},
    "table.loss": {"en": "final loss", "zh": "最终损失"},
    "table.first_hit": {"en": "first epoch on target", "zh": "首次预测正确的轮次"},
    # --shapes: one line per tensor ({name}: one of the shape.* entries below, {shape}: e.g. (5, 1, 4)).
    "shape": {"en": "  shape of {name}: {shape}", "zh": "  {name} 的形状：{shape}"},
    # Tensors the programs build themselves. Code and layouts read the same in Chinese, as in the lecture's comments.
    "shape.inputs_one_hot": {"en": "inputs (seqLen, batchSize, inputSize)", "zh": "inputs (seqLen, batchSize, inputSize)"},
    "shape.inputs_ids": {"en": "inputs (batchSize, seqLen)", "zh": "inputs (batchSize, seqLen)"},
    "shape.labels_per_step": {"en": "labels (seqLen, 1)", "zh": "labels (seqLen, 1)"},
    "shape.labels": {"en": "labels (seqLen*batchSize,)", "zh": "labels (seqLen*batchSize,)"},
    "shape.init_hidden": {
        "en": "hidden = net.init_hidden() (batchSize, hiddenSize)",
        "zh": "hidden = net.init_hidden() (batchSize, hiddenSize)",
    },
    # Seen by hooks: program 1's time loop ({step}: 1 for the first step) ...
    "shape.step_input": {"en": "input at step {step} (batchSize, inputSize)", "zh": "第 {step} 步的 input (batchSize, inputSize)"},
    "shape.step_hidden": {
        "en": "hidden = logits at step {step} (batchSize, hiddenSize)",
        "zh": "第 {step} 步的 hidden = logits (batchSize, hiddenSize)",
    },
    "shape.step_label": {"en": "label at step {step} (batchSize,)", "zh": "第 {step} 步的 label (batchSize,)"},
    # ... and the recurrent layers and the rest of programs 2 to 5.
    "shape.h0": {"en": "hidden h_0 (numLayers, batchSize, hiddenSize)", "zh": "隐藏状态 h_0 (numLayers, batchSize, hiddenSize)"},
    "shape.c0": {"en": "cell c_0 (numLayers, batchSize, hiddenSize)", "zh": "细胞状态 c_0 (numLayers, batchSize, hiddenSize)"},
    "shape.hn": {"en": "h_n (numLayers, batchSize, hiddenSize)", "zh": "h_n (numLayers, batchSize, hiddenSize)"},
    "shape.cn": {"en": "c_n (numLayers, batchSize, hiddenSize)", "zh": "c_n (numLayers, batchSize, hiddenSize)"},
    "shape.out": {"en": "out (seqLen, batchSize, hiddenSize)", "zh": "out (seqLen, batchSize, hiddenSize)"},
    "shape.out_view": {
        "en": "outputs = out.view(-1, hiddenSize) (seqLen*batchSize, hiddenSize)",
        "zh": "outputs = out.view(-1, hiddenSize) (seqLen*batchSize, hiddenSize)",
    },
    "shape.emb": {"en": "emb(x) (batchSize, seqLen, embeddingSize)", "zh": "emb(x) (batchSize, seqLen, embeddingSize)"},
    "shape.rnn_out": {"en": "rnn out (batchSize, seqLen, hiddenSize)", "zh": "rnn 的输出 out (batchSize, seqLen, hiddenSize)"},
    "shape.fc": {"en": "fc(x) (batchSize, seqLen, numClass)", "zh": "fc(x) (batchSize, seqLen, numClass)"},
    "shape.x_view": {
        "en": "outputs = x.view(-1, numClass) (batchSize*seqLen, numClass)",
        "zh": "outputs = x.view(-1, numClass) (batchSize*seqLen, numClass)",
    },
}


def message(key: str, lang: str, **values: object) -> str:
    """Entry ``key`` in language ``lang``, its ``{placeholders}`` filled from ``values``."""
    return MESSAGES[key][lang].format(**values)


def lesson_lang(env: Mapping[str, str]) -> str:
    """The lesson's language for a locale: the first of ``LC_ALL``, ``LC_MESSAGES`` and ``LANG`` that
    is set decides; ``zh_CN.UTF-8`` gives ``zh``; ``C.UTF-8``, ``en_GB``, another language or no
    locale at all gives ``LANGS[0]`` (``en``)."""
    for var in LOCALE_VARS:
        value = env.get(var)
        if value:
            language = re.split(r"[_.@-]", value, maxsplit=1)[0].lower()
            return language if language in LANGS else LANGS[0]
    return LANGS[0]


def width(text: str) -> int:
    """Columns ``text`` takes in a terminal: Chinese characters (East Asian wide or full-width) take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad(text: str, columns: int) -> str:
    """``text`` padded with spaces to ``columns`` terminal columns (``str.ljust`` counting wide characters as two)."""
    return text + " " * (columns - width(text))
