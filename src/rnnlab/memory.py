"""Memory checked before it is taken: how much there is, what a piece of work will need, a refusal.

Every size a user chooses (``--num``, ``--batch-size``, ``--hidden``, ``--layers``, ``--embed``,
``--seq-len``, report ``--chars``, the server's caps ...) scales what torch will allocate. Instead
of letting the allocator fail halfway (a traceback, or the OS killing the process), the library
entry points estimate the bytes first and :func:`check` refuses in one line that names the flags,
the estimate and the limit.

- :func:`memory_limit`: the bytes available: ``RNNLAB_MEMORY_LIMIT`` (``512M``, ``2G`` ...), else
  the cgroup v2 limit (``/sys/fs/cgroup/memory.max``, less what the group already uses), else
  ``MemAvailable`` of ``/proc/meminfo``; None where none can be read (nothing is refused then).
  On a CUDA device, the card's free memory instead (the variable still overrides).
- estimators: :func:`param_count` (the network built on torch's ``meta`` device: no memory),
  :func:`training_estimate`, :func:`sampling_estimate`, :func:`report_estimate`,
  :func:`serve_estimate`. Each returns an :class:`Estimate` made of parts, each part naming the
  flags that scale it. They aim at the right order of magnitude (within about 3x, tested against
  real allocations), fp32 throughout.
- :func:`check`: raise :class:`~rnnlab.errors.UserError` when an estimate exceeds the limit.
- :func:`is_out_of_memory`: whether an exception is an allocator failure (the CLI turns those into
  one line too).

Nothing here prints; torch is imported only where a function needs it.
"""

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rnnlab import cells
from rnnlab.errors import UserError

ENV = "RNNLAB_MEMORY_LIMIT"
CGROUP_MAX = Path("/sys/fs/cgroup/memory.max")
MEMINFO = Path("/proc/meminfo")
FLOAT = 4  # bytes of an fp32 value: weights, states and activations are estimated in fp32
LONG = 8  # bytes of an int64 id
CHAR = 4  # bytes of a character kept in a Python string (at most; ASCII takes 1)
PY_STR = 64  # bytes of one Python string object, besides its characters
SUFFIXES = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
OOM_MARKERS = ("can't allocate memory", "defaultcpuallocator", "out of memory")
# Of a recurrent layer, per row and time step, in units of H floats: the gates' pre-activations
# and activations and the states (see width()); training keeps them for the backward pass and
# makes gradients of the same size, and the autograd graph adds temporaries: three times that.
TRAIN_COPIES = 3
LOGIT_COPIES = 3  # logits, their log-softmax, their gradient
SAMPLE_LOGIT_COPIES = 6  # logits, filtered, probabilities, the exponential race, sorting for top-p


# ------------------------------------------------------------------------------------ the limit


def parse_size(text: str) -> int:
    """``"2147483648"``, ``"512M"``, ``"2G"``, ``"1.5GB"``, ``"64KiB"`` -> bytes (powers of 1024)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*([kmgt]?)(?:i?b)?\s*", text.lower())
    if not m:
        raise UserError(f"{ENV} must be a size in bytes, like 2147483648, 512M or 2G; got {text!r}")
    return int(float(m.group(1)) * SUFFIXES[m.group(2)])


def cgroup_available(path: Path = CGROUP_MAX) -> int | None:
    """The cgroup v2 limit in ``path`` (``memory.max``) less the group's use (``memory.current``
    beside it, when readable); None when there is no file or it says ``max``."""
    try:
        raw = path.read_text().strip()
    except OSError:
        return None
    if not raw.isdigit():
        return None  # "max": no limit
    limit = int(raw)
    try:
        used = int((path.parent / "memory.current").read_text().strip())
    except (OSError, ValueError):
        used = 0
    return max(0, limit - used)


def meminfo_available(path: Path = MEMINFO) -> int | None:
    """``MemAvailable`` of ``/proc/meminfo`` in bytes; None when it cannot be read."""
    try:
        text = path.read_text()
    except OSError:
        return None
    m = re.search(r"^MemAvailable:\s*(\d+)\s*kB", text, re.MULTILINE)
    return int(m.group(1)) * 1024 if m else None


def memory_limit(environ: Mapping[str, str] | None = None, cgroup: Path = CGROUP_MAX, meminfo: Path = MEMINFO) -> int | None:
    """Bytes of host memory a piece of work may take: ``RNNLAB_MEMORY_LIMIT`` in ``environ``
    (default ``os.environ``), else the cgroup v2 limit, else ``MemAvailable``; None if unknown."""
    environ = os.environ if environ is None else environ
    if environ.get(ENV, "").strip():
        return parse_size(environ[ENV])
    got = cgroup_available(cgroup)
    return got if got is not None else meminfo_available(meminfo)


def device_limit(device: Any = "cpu", environ: Mapping[str, str] | None = None) -> int | None:
    """:func:`memory_limit` for work on ``device``: on a CUDA device the card's free memory
    (unless ``RNNLAB_MEMORY_LIMIT`` is set); None where it cannot be known."""
    environ = os.environ if environ is None else environ
    if str(device).startswith("cuda") and not environ.get(ENV, "").strip():
        try:
            import torch

            return int(torch.cuda.mem_get_info(torch.device(device))[0])
        except Exception:  # no driver, a device that went away: do not refuse
            return None
    return memory_limit(environ)


# ------------------------------------------------------------------------------------ estimates


@dataclass(frozen=True)
class Part:
    """One thing that takes memory: what it is, its bytes, and the flags that scale it."""

    what: str
    bytes: int
    flags: tuple[str, ...] = ()


@dataclass
class Estimate:
    """What a piece of work will allocate, in parts; ``flags`` maps each flag named in the parts
    to the value it has (shown in the refusal)."""

    parts: list[Part] = field(default_factory=list)
    flags: dict[str, Any] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(p.bytes for p in self.parts)

    def add(self, what: str, nbytes: float, *flags: str) -> Estimate:
        self.parts.append(Part(what, int(nbytes), tuple(flags)))
        return self


def width(cell: str) -> int:
    """Floats per unit a step of ``cell`` keeps per row: its states, its gates and the candidate."""
    c = cells.get(cell)
    return len(c.states) + len(c.gates) + 1


def param_count(cfg) -> int:
    """Parameters of the network ``cfg`` describes (a ModelConfig: CharRNN, a TagModelConfig:
    TagModel), counted on a network built on torch's ``meta`` device (nothing allocated)."""
    import torch

    from rnnlab.config import TagModelConfig

    if isinstance(cfg, TagModelConfig):
        from rnnlab.tag.model import TagModel as Net
    else:
        from rnnlab.model import CharRNN as Net
    backend = "reference" if cfg.impl == "auto" else cfg.impl  # every backend has the same parameters
    with torch.device("meta"), _skip_init_mode():
        net = Net(cfg, backend)
    return sum(p.numel() for p in net.parameters())


def _skip_init_mode():
    from torch.overrides import TorchFunctionMode

    class SkipInit(TorchFunctionMode):
        """In-place fills of meta tensors (the initialisers) return at once: on the meta device
        torch runs them through its Python references, whose first call imports torch._dynamo
        (a second of start-up), and they compute nothing there anyway."""

        def __torch_function__(self, func, types, args=(), kwargs=None):
            name = getattr(func, "__name__", "")
            first = args[0] if args else (kwargs or {}).get("tensor")  # torch.nn.init passes tensor=
            if name.endswith("_") and not name.startswith("_") and isinstance(first, torch.Tensor) and first.is_meta:
                return first
            return func(*args, **(kwargs or {}))

    import torch

    return SkipInit()


def _model_flags(cfg) -> tuple[str, ...]:
    return ("--hidden", "--layers") + (() if cfg.one_hot else ("--embed",))


def model_flag_values(cfg) -> dict[str, Any]:
    """The model flags' values, for :attr:`Estimate.flags`."""
    return {"--hidden": cfg.hidden, "--layers": cfg.layers, "--embed": cfg.embed}


def _per_position(cfg, directions: int = 1) -> int:
    """Floats a forward pass keeps per row and time step in the recurrent stack (no gradient):
    every layer's states and gates, its output, the MLP and the norm when there are any."""
    mlp = 2 * getattr(cfg, "mlp", 0)
    norm = 1 if getattr(cfg, "norm", "none") != "none" else 0
    return cfg.input_size + cfg.layers * directions * cfg.hidden * (width(cfg.cell) + 1 + mlp + norm)


def training_estimate(
    cfg,
    batch: int,
    steps: int,
    *,
    params: int | None = None,
    flags: dict[str, Any] | None = None,
    out_vocab: int | None = None,
    eval_batch: int = 0,
    eval_steps: int = 0,
    val_chars: int = 0,
    sample_chars: int = 0,
    steps_flag: str = "--seq-len",
) -> Estimate:
    """Training a network ``cfg`` (ModelConfig or TagModelConfig) on batches of ``batch`` rows of
    ``steps`` characters: weights, gradients and AdamW's two moments (4 copies of the
    parameters), plus one batch's activations (kept for backward, and their gradients), plus the
    logits (``LOGIT_COPIES`` copies of B x T x vocabulary); validation (forward only, ``eval_batch``
    rows of ``eval_steps``) when it needs more than a training step; ids of the ``val_chars``
    scored; and the ``sample_chars`` of each evaluation's sample. ``steps_flag`` names the flag
    that sets ``steps`` (``--seq-len``; a tagger's ``--max-len``)."""
    params = param_count(cfg) if params is None else params
    directions = cfg.directions
    vocab = out_vocab if out_vocab is not None else (getattr(cfg, "out_vocab", 0) or cfg.vocab_size)
    est = Estimate(flags={**model_flag_values(cfg), **(flags or {})})
    est.add("weights, gradients and optimizer state", 4 * params * FLOAT, *_model_flags(cfg))
    per = _per_position(cfg, directions)
    step = batch * steps * (TRAIN_COPIES * per + LOGIT_COPIES * vocab) * FLOAT + batch * steps * 2 * LONG
    evaluation = eval_batch * eval_steps * (per + LOGIT_COPIES * vocab) * FLOAT
    if evaluation > step:
        est.add("validation activations", evaluation, "--hidden", "--layers", steps_flag, "--batch-size")
    else:
        est.add("activations of one batch", step, "--batch-size", steps_flag, "--hidden", "--layers")
    est.add("validation text", val_chars * 2 * LONG, "--eval-chars")
    est.add("samples", sample_chars * (LONG + CHAR + 32), "--sample-chars")
    return est


def sampling_estimate(cfg, num: int, length: int, prime_len: int = 1, keep: bool = False, flags: dict[str, Any] | None = None) -> Estimate:
    """Drawing ``num`` samples of ``length`` characters side by side from a CharRNN ``cfg`` after a
    prime of ``prime_len`` characters: each row's state (old and new, with the gates between),
    its logits (``SAMPLE_LOGIT_COPIES`` copies of the vocabulary), the prime's ids; the prime's
    forward pass (read once, for one row: see :func:`rnnlab.sampling.read_prime`); and with
    ``keep`` every character drawn, kept in ``num`` strings."""
    est = Estimate(flags={"--num": num, "--length": length, **(flags or {})})
    state = cfg.layers * cfg.hidden * (2 * len(cells.get(cfg.cell).states) + width(cfg.cell))
    est.add("the streams' states and logits", num * (state + SAMPLE_LOGIT_COPIES * cfg.vocab_size) * FLOAT, "--num")
    from rnnlab.sampling import PRIME_CHUNK

    read = min(prime_len, PRIME_CHUNK)  # the prime is read a chunk at a time
    est.add("the prime", num * prime_len * LONG + read * (_per_position(cfg) + cfg.vocab_size) * FLOAT, "--num")
    if keep:
        est.add("the text kept", num * ((prime_len + length) * CHAR + PY_STR), "--num", "--length")
    return est


def report_estimate(cfg, chars: int, flags: dict[str, Any] | None = None, tag: bool = False) -> Estimate:
    """A report over ``chars`` characters. A language model's trace keeps, per character and
    layer, every state and gate (fp32, a float copy, the page's int8 and its base64, the float64
    copies of the unit search), the logits and the top 5; a tagger's keeps the output's logits
    and top 5 after a forward pass in both directions. ``flags``: others that set ``chars``
    (``--length`` with ``--prime``), with their values."""
    est = Estimate(flags={"--chars": chars, **(flags or {})})
    k = cells.get(cfg.cell)
    if tag:
        directions = cfg.directions
        per = (_per_position(cfg, directions) + LOGIT_COPIES * cfg.out_vocab) * FLOAT + 5 * (LONG + FLOAT) + 3 * CHAR
    else:
        per_unit = len(k.states) * (2 * FLOAT + 2 * 8 + 1 + 4) + len(k.gates) * (FLOAT + 8)
        per = cfg.layers * cfg.hidden * per_unit + (cfg.input_size + 2 * cfg.vocab_size) * FLOAT + 5 * (LONG + FLOAT) + 3 * CHAR
    est.add("the trace and the page", chars * per, "--chars", *(flags or {}))
    return est


def serve_estimate(
    cfg,
    max_streams: int,
    max_n: int,
    max_tokens: int,
    max_prompt: int,
    models: int = 1,
    flags: dict[str, Any] | None = None,
    workers: int = 1,
) -> Estimate:
    """A server's worst case for ``models`` models like ``cfg``: per model, ``max_streams`` rows
    (and, in each of its ``workers`` engines, a last request of up to ``max_n`` more) stepped
    with the text of each kept up to ``max_tokens`` characters, and in each engine a prompt of
    ``max_prompt`` characters read (once, for one row: see :func:`rnnlab.sampling.read_prime`)
    and held for its ``max_n`` rows."""
    rows = max_streams + workers * (max_n - 1)
    est = Estimate(
        flags={
            "--max-streams": max_streams,
            "--max-n": max_n,
            "--max-tokens": max_tokens,
            "--max-prompt": max_prompt,
            "--workers": workers,
            **(flags or {}),
        }
    )
    state = cfg.layers * cfg.hidden * (2 * len(cells.get(cfg.cell).states) + width(cfg.cell))
    est.add("the streams", models * rows * ((state + SAMPLE_LOGIT_COPIES * cfg.vocab_size) * FLOAT + max_tokens * CHAR + PY_STR),
            "--max-streams", "--max-tokens", "--max-n")  # fmt: skip
    from rnnlab.sampling import PRIME_CHUNK

    read = min(max_prompt, PRIME_CHUNK)  # the prompt is read a chunk at a time
    prompt = max_n * max_prompt * LONG + read * (_per_position(cfg) + cfg.vocab_size) * FLOAT + max_prompt * CHAR
    est.add("a prompt being read in each engine", models * workers * prompt, "--max-prompt", "--max-n", "--workers")
    return est


# ------------------------------------------------------------------------------------ the check


def human(nbytes: float) -> str:
    """``40.2 GB``: bytes in decimal units, three significant figures."""
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if nbytes >= size:
            return f"{nbytes / size:.3g} {unit}"
    return f"{int(nbytes)} bytes"


def _shown(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def describe(est: Estimate) -> str:
    """The flags of an estimate, those of its largest parts first: ``--num 100,000,000 with
    --length 1``."""
    names: list[str] = []
    for part in sorted(est.parts, key=lambda p: -p.bytes):
        if part.bytes * 20 < est.total:
            continue  # a part under 5% does not explain the total
        names += [f for f in part.flags if f in est.flags and f not in names]
    shown = [f"{f} {_shown(est.flags[f])}" for f in names] or ["these settings"]
    return shown[0] + (" with " + ", ".join(shown[1:]) if len(shown) > 1 else "")


def check(est: Estimate, limit: int | None) -> None:
    """Raise :class:`UserError` when ``est`` needs more than ``limit`` bytes (None: unknown, no
    check): ``--num 100,000,000 with --length 1 would need about 40.2 GB; 7.6 GB of memory is
    available (RNNLAB_MEMORY_LIMIT overrides)``."""
    if limit is None:
        _say_unchecked()
        return
    if est.total <= limit:
        return
    raise UserError(f"{describe(est)} would need about {human(est.total)}; {human(limit)} of memory is available ({ENV} overrides)")


@functools.cache
def _say_unchecked() -> None:
    """Once per process, where the memory available cannot be read (off Linux, a CUDA card
    without its driver): that sizes go unchecked, and how to check them anyway."""
    logging.getLogger("rnnlab.memory").warning(
        "the memory available cannot be read here (rnnlab reads Linux's cgroup and /proc/meminfo), so sizes are not "
        "checked before they are allocated; set %s (for example 8G) to check them against a limit",
        ENV,
    )


def is_out_of_memory(e: BaseException) -> bool:
    """Whether ``e`` is an allocation that failed: MemoryError, or torch's allocator RuntimeError."""
    if isinstance(e, MemoryError):
        return True
    return isinstance(e, RuntimeError) and any(m in str(e).lower() for m in OOM_MARKERS)
