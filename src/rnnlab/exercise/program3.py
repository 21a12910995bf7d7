"""What exercises 4 (``embedding``) and 5 (``homework``) share: program 3's model,
``Embedding -> RNN/LSTM/GRU (batch_first) -> Linear``, checked against the lesson's own.

- :class:`Model`: the right answer, :class:`rnnlab.lesson.models.EmbeddingModel` with the
  exercises' signature ``Model(input_size, embedding_size, hidden_size, num_layers, num_class[,
  cell])`` and its zero state in its own dtype (float64 in the checks).
- :func:`forward`: the same forward pass from the parameters by name, or with the mistakes a
  variant's options name (it calls torch's layers, so that a mistake torch rejects raises the
  student's error word for word).
- :func:`model_twin`: the :class:`~rnnlab.exercise.twin.Twin` of either exercise; :func:`trains`:
  the fifth check, the lecture's training loop on "hello" -> "ohlol" from the lesson's initial
  weights, epoch by epoch beside the lesson's model; :data:`VARIANTS`: the mistakes both share.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnlab.config import LESSON_LR
from rnnlab.exercise.core import Check, Context, Failed, Msg, Variant, msg
from rnnlab.exercise.run import one_line, where
from rnnlab.exercise.twin import F64, Case, Twin
from rnnlab.lesson.models import EMBEDDING_SIZE, HIDDEN_SIZE, NUM_LAYERS, EmbeddingModel
from rnnlab.lesson.task import DEFAULT_EPOCHS, DEFAULT_SEED, make_task

LAYERS = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}


@dataclass(frozen=True)
class ModelCase(Case):
    """A configuration of the model: the sizes (V: input_size, E: embedding_size, H: hidden_size,
    L: num_layers, C: num_class, B: batchSize, T: seqLen) and the recurrent layer, ``cell``;
    ``cell_argument``: the constructor takes it (the homework's)."""

    cell: str = "rnn"
    cell_argument: bool = False

    def describe(self) -> Msg:
        cell = f", cell={self.cell!r}" if self.cell_argument else ""
        call = f"Model({', '.join(str(self[k]) for k in 'VEHLC')}{cell})"
        return msg("case.call", call=call, input=f"x (batchSize, seqLen) = ({self['B']}, {self['T']})")


class Model(EmbeddingModel):
    """Program 3's model as the lesson builds it (the same layers in the same order: the same
    initial weights under a seed), with the exercises' signature and a state in its own dtype."""

    def __init__(self, input_size, embedding_size, hidden_size, num_layers, num_class, cell="rnn", dtype=None):
        super().__init__(input_size, num_class, embedding_size, hidden_size, num_layers, cell=cell)
        if dtype is not None:
            self.to(dtype)

    def init_hidden(self, batch_size):
        hidden = self.fc.weight.new_zeros(self.num_layers, batch_size, self.hidden_size)  # (L, B, H)
        return (hidden, hidden) if self.cell == "lstm" else hidden


@functools.cache
def _layer(cell: str, e: int, h: int, layers: int, batch_first: bool) -> torch.nn.Module:
    """torch's recurrent layer, whose weights :func:`forward` replaces with the configuration's."""
    with torch.random.fork_rng(devices=[]):
        return getattr(torch.nn, LAYERS[cell])(e, h, layers, batch_first=batch_first, dtype=F64)


def forward(options: Mapping[str, Any], p: Mapping[str, Tensor], case: ModelCase, args: tuple) -> Tensor:
    """The model's forward pass from parameters ``p``, or with the mistakes ``options`` name."""
    (x,) = args  # (B, T) ids
    e, h, layers, c = (case[k] for k in "EHLC")
    emb = F.embedding(x, p["emb.weight"])  # (B, T, E)
    state = options.get("h_0")
    batch = 1 if state == "batch_of_one" else x.shape[0]
    h_0 = torch.zeros(
        *((batch, layers) if state == "batch_first" else (layers, batch)), h, dtype=torch.float32 if state == "float32" else emb.dtype
    )
    hx = {"none": None, "h": h_0, "pair": (h_0, h_0)}[options.get("hx", "pair" if case.cell == "lstm" else "h")]
    rnn = _layer(case.cell, e, h, layers, options.get("batch_first") != "forgotten")
    result = torch.func.functional_call(rnn, {k[4:]: v for k, v in p.items() if k.startswith("rnn.")}, (emb, hx))
    if options.get("out") == "not_unpacked":
        out = result  # fc(a tuple) raises as the student's does
    elif options.get("out") == "h_n":
        out = result[1][0] if case.cell == "lstm" else result[1]  # (L, B, H)
    else:
        out = result[0]  # (B, T, H)
    y = F.linear(out, p["fc.weight"], p["fc.bias"])  # (B, T, C)
    if options.get("rows") == "not_viewed":
        return y
    if options.get("rows") == "time_major":
        y = y.transpose(0, 1)  # (T, B, C)
    return y.reshape(-1, c)  # (B*T, C)


def model_twin(name: str, cases: tuple[ModelCase, ...]) -> Twin:
    """The Twin of exercise 4 (``Model(V, E, H, L, C)``) or 5 (cases with ``cell_argument``: ``..., cell=``)."""
    return Twin(
        name=name,
        build=Model,
        cases=cases,
        arguments=lambda case: (tuple(case[k] for k in "VEHLC"), {"cell": case.cell} if case.cell_argument else {}),
        inputs=lambda case, gen: {"x": torch.randint(0, case["V"], (case["B"], case["T"]), generator=gen)},
        call=lambda case, inputs: (inputs["x"],),
        outputs=lambda raw: {"output": raw} if isinstance(raw, Tensor) else None,
        returns="(batchSize*seqLen, numClass)",
        reference=forward,
        params_advice="advice.layers",
        gradients={"en": "gradients: of every parameter (emb, rnn, fc)", "zh": "梯度：每个参数（emb、rnn、fc）的梯度"},
    )


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as rnnlab lesson trains: the same numbers on every machine
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _train(net: torch.nn.Module, lr: float, epochs: int) -> list[tuple[str, float]]:
    """Programs 3 to 5's loop (rnnlab.lesson.programs): the prediction and loss of every epoch."""
    task = make_task()
    inputs = torch.LongTensor([list(task.x_data)])  # (batchSize, seqLen) = (1, 5)
    labels = torch.LongTensor(list(task.y_data))  # (batchSize*seqLen,) = (5,)
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    out = []
    for _ in range(epochs):
        optimizer.zero_grad()
        outputs = net(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        out.append(("".join(task.idx2char[i] for i in outputs.argmax(dim=1).tolist()), loss.item()))
    return out


def trains(ctx: Context, cells: tuple[str, ...], cell_argument: bool) -> Msg:
    """The student's model and the lesson's, from the same initial weights (the lesson's under its
    default seed), trained as ``rnnlab lesson --program P`` trains: the same prediction at every
    epoch, the losses within 1e-4, and the target at the end."""
    task, epochs = make_task(), DEFAULT_EPOCHS
    programs = []
    for cell in cells:
        program = "embedding" if cell == "rnn" else cell
        programs.append(program)
        args = (task.vocab_size, EMBEDDING_SIZE, HIDDEN_SIZE, NUM_LAYERS, task.vocab_size)
        with _one_thread(), torch.random.fork_rng(devices=[]):
            torch.manual_seed(DEFAULT_SEED)
            ref = Model(*args, cell=cell)  # float32, the initial weights of rnnlab lesson --program P
            start = {k: v.detach().clone() for k, v in ref.named_parameters()}
            right = _train(ref, LESSON_LR[program], epochs)
            assert right[-1][0] == task.target_word, f"the lesson's {program} model does not reach {task.target_word}"
            try:
                net = ctx.target(*args, **({"cell": cell} if cell_argument else {}))
                own = dict(net.named_parameters())
                with torch.no_grad():
                    for name, value in start.items():
                        own[name].copy_(value)
                mine = _train(net, LESSON_LR[program], epochs)
            except Exception as e:
                raise Failed(msg("fail.raised", call=f"training ({program})", error=one_line(e)), where=where(e, ctx.files)) from None
        for epoch, ((got, loss), (want, ref_loss)) in enumerate(zip(mine, right), 1):
            values = {"program": program, "epoch": epoch, "epochs": epochs, "got": got, "want": want, "loss": loss, "ref_loss": ref_loss}
            if got != want:
                raise Failed(msg("fail.trains_parted", **values), advice=msg("advice.trains"))
            if abs(loss - ref_loss) > 1e-4 * abs(ref_loss):
                raise Failed(msg("fail.trains_loss", **values), advice=msg("advice.trains"))
        if mine[-1][0] != task.target_word:  # the same as the lesson's, which reaches it: a safeguard
            raise Failed(msg("fail.trains_target", program=program, epochs=epochs, got=mine[-1][0], want=task.target_word))
    return msg("covered.trains", programs=", ".join(programs), epochs=epochs, target=task.target_word)


def trains_check(cells: tuple[str, ...], cell_argument: bool) -> Check:
    flags = [f"--program {'embedding' if c == 'rnn' else c}" for c in cells]
    en, zh = " and ".join(flags), " 和 ".join(flags)
    return Check(
        "trains",
        {
            "en": f'trains: as rnnlab lesson {en}, from its initial weights: the same predictions, "ohlol" at the end',
            "zh": f'训练：与 rnnlab lesson {zh} 从相同的初始权重开始训练：每一轮的预测都相同，最后得到 "ohlol"',
        },
        lambda ctx: trains(ctx, cells, cell_argument),
    )


def variant(key: str, options: dict, label: tuple[str, str], why: tuple[str, str], lesson: str = "") -> Variant:
    return Variant(key, options, dict(zip(("en", "zh"), label)), dict(zip(("en", "zh"), why)), lesson)


_BATCH_FIRST = (
    "program 3 feeds the RNN emb(x), (batchSize, seqLen, embeddingSize): without batch_first=True the RNN reads it as "
    "(seqLen, batchSize, ...), the two axes swapped; build it with batch_first=True: nn.RNN(..., num_layers=numLayers, batch_first=True) (or nn.LSTM, nn.GRU)",
    "程序 3 送进 RNN 的是 emb(x)，形状 (batchSize, seqLen, embeddingSize)：没有 batch_first=True，RNN 会把它当成 "
    "(seqLen, batchSize, ...)，两个轴对调了；构造时请传入 batch_first=True：nn.RNN(..., num_layers=numLayers, batch_first=True)（nn.LSTM、nn.GRU 同理）",
)
_CALL_FORM = "{}: out, h_n = self.rnn(x, h_0) (the homework's LSTM: out, (h_n, c_n) = self.rnn(x, (h_0, c_0)))"
VARIANTS: tuple[Variant, ...] = (
    variant(
        "batch_first_forgotten",
        {"batch_first": "forgotten"},
        ("batch_first=True forgotten", "漏掉了 batch_first=True"),
        _BATCH_FIRST,
        "embedding",
    ),
    variant(
        "batch_first_forgotten_no_h0",
        {"batch_first": "forgotten", "hx": "none"},
        ("batch_first=True forgotten", "漏掉了 batch_first=True"),
        _BATCH_FIRST,
        "embedding",
    ),
    variant(
        "rows_time_major",
        {"rows": "time_major"},
        ("the logits' rows in time-major order", "logits 的行按时间优先排列"),
        (
            "the labels of a batch are in the order of x (batchSize, seqLen), row b*seqLen + t; fc's output is (batchSize, seqLen, numClass), "
            "already in that order: x.view(-1, numClass), with no transpose",
            "一个批次的标签按 x (batchSize, seqLen) 的顺序排列，第 b*seqLen + t 行；fc 的输出是 (batchSize, seqLen, numClass)，"
            "已经是这个顺序：直接 x.view(-1, numClass)，不要转置",
        ),
        "embedding",
    ),
    variant(
        "not_viewed",
        {"rows": "not_viewed"},
        ("the output not viewed as (batchSize*seqLen, numClass)", "输出没有变成 (batchSize*seqLen, numClass)"),
        (
            "CrossEntropyLoss takes one row of logits per label: return x.view(-1, numClass), (batchSize*seqLen, numClass)",
            "CrossEntropyLoss 要求每个标签一行 logits：返回 x.view(-1, numClass)，形状 (batchSize*seqLen, numClass)",
        ),
        "embedding",
    ),
    variant(
        "not_unpacked",
        {"out": "not_unpacked"},
        ("the RNN's result not unpacked", "没有拆开 RNN 的返回值"),
        (_CALL_FORM.format("the RNN returns a pair; fc takes out, the first"), _CALL_FORM.format("RNN 返回一对值；fc 要的是第一个 out")),
        "rnn",
    ),
    variant(
        "h_n_as_output",
        {"out": "h_n"},
        ("h_n taken for the output", "把 h_n 当成了输出"),
        (
            _CALL_FORM.format(
                "out is the last layer's h at every step (batchSize, seqLen, hiddenSize), h_n each layer's last h (numLayers, batchSize, hiddenSize)"
            ),
            _CALL_FORM.format(
                "out 是最后一层每一步的 h (batchSize, seqLen, hiddenSize)，h_n 是每一层最后一步的 h (numLayers, batchSize, hiddenSize)"
            ),
        ),
        "rnn",
    ),
    variant(
        "h0_batch_first",
        {"h_0": "batch_first"},
        ("h_0 made (batchSize, numLayers, hiddenSize)", "h_0 做成了 (batchSize, numLayers, hiddenSize)"),
        (
            "batch_first=True changes the input and the output only: the states stay (numLayers, batchSize, hiddenSize)",
            "batch_first=True 只改变输入和输出：状态仍然是 (numLayers, batchSize, hiddenSize)",
        ),
        "embedding",
    ),
    variant(
        "h0_batch_of_one",
        {"h_0": "batch_of_one"},
        ("h_0 made for a batch of 1", "h_0 按批量 1 构造"),
        (
            "the lecture's batchSize is 1, but h_0 has one row per sequence of the batch: (numLayers, x.size(0), hiddenSize)",
            "课上的 batchSize 是 1，但 h_0 对批次中的每个序列都有一行：(numLayers, x.size(0), hiddenSize)",
        ),
        "embedding",
    ),
    variant(
        "h0_float32",
        {"h_0": "float32"},
        ("h_0 made with torch.zeros (float32)", "h_0 用 torch.zeros 构造（float32）"),
        (
            "the lecture's init_hidden uses torch.zeros, float32; the checks run in float64: make h_0 in the embedding's dtype, "
            "x.new_zeros(numLayers, batchSize, hiddenSize) after x = self.emb(x)",
            "课上的 init_hidden 用 torch.zeros，是 float32；检查使用 float64：请让 h_0 与嵌入结果的 dtype 相同，"
            "在 x = self.emb(x) 之后用 x.new_zeros(numLayers, batchSize, hiddenSize)",
        ),
        "embedding",
    ),
)


def cases(*specs: tuple[str, tuple[int, ...]], cell_argument: bool = False) -> tuple[ModelCase, ...]:
    """ModelCases from (cell, (V, E, H, L, C, B, T)); no initial state: forward makes it."""
    return tuple(ModelCase(tuple(zip("VEHLCBT", sizes)), state=False, cell=cell, cell_argument=cell_argument) for cell, sizes in specs)
