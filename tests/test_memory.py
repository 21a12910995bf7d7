"""Memory is checked before it is taken (rnnlab.memory): the limit, the estimates against real
allocations, every size flag refused in one line through the CLI, and allocator failures that
still happen turned into one line."""

import json
import subprocess
import sys

import pytest
from conftest import SMALL

from rnnlab import memory
from rnnlab.cli import main
from rnnlab.config import ModelConfig, TagModelConfig
from rnnlab.errors import UserError
from rnnlab.model import CharRNN
from rnnlab.tag.model import TagModel

GB = 1 << 30


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("mem") / "run"
    text = tmp_path_factory.mktemp("text") / "t.txt"
    text.write_text(SMALL)
    assert main(["train", str(text), "--out", str(out), "--tiny", "--quiet", "--max-steps", "3", "--sample-chars", "0"]) == 0
    return out


@pytest.fixture
def limit(monkeypatch):
    def set_to(value: str) -> None:
        monkeypatch.setenv(memory.ENV, value)

    return set_to


def refused(capsys, rc, *needles: str) -> str:
    """Exit status 2 and one line on standard error, no traceback, holding every needle; the line."""
    err = capsys.readouterr().err.strip()
    assert rc == 2, err
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert all(n in err for n in needles), err
    return err


# ------------------------------------------------------------------------------------ the limit


@pytest.mark.parametrize(("text", "expected"), [("1000", 1000), ("512M", 512 << 20), ("2G", 2 << 30), ("1.5k", 1536), ("3GiB", 3 << 30)])
def test_sizes(text, expected):
    assert memory.parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "lots", "-1G", "2X"])
def test_bad_size_is_refused(text):
    with pytest.raises(UserError, match=memory.ENV):
        memory.parse_size(text)


def test_cgroup_limit_less_usage(tmp_path):
    (tmp_path / "memory.max").write_text("1073741824\n")
    (tmp_path / "memory.current").write_text("73741824\n")
    assert memory.cgroup_available(tmp_path / "memory.max") == 1_000_000_000
    (tmp_path / "memory.current").unlink()
    assert memory.cgroup_available(tmp_path / "memory.max") == 1073741824
    (tmp_path / "memory.max").write_text("max\n")
    assert memory.cgroup_available(tmp_path / "memory.max") is None
    assert memory.cgroup_available(tmp_path / "absent") is None


def test_meminfo(tmp_path):
    info = tmp_path / "meminfo"
    info.write_text("MemTotal:       16000000 kB\nMemFree:         1000000 kB\nMemAvailable:    7421875 kB\n")
    assert memory.meminfo_available(info) == 7421875 * 1024
    info.write_text("MemTotal: 1 kB\n")
    assert memory.meminfo_available(info) is None
    assert memory.meminfo_available(tmp_path / "absent") is None


def test_limit_precedence(tmp_path):
    (tmp_path / "memory.max").write_text("5000000\n")
    (tmp_path / "meminfo").write_text("MemAvailable: 100 kB\n")
    paths = {"cgroup": tmp_path / "memory.max", "meminfo": tmp_path / "meminfo"}
    assert memory.memory_limit({memory.ENV: "2G"}, **paths) == 2 << 30  # the variable wins
    assert memory.memory_limit({}, **paths) == 5_000_000  # then the cgroup
    (tmp_path / "memory.max").write_text("max\n")
    assert memory.memory_limit({}, **paths) == 102_400  # then /proc/meminfo
    assert memory.memory_limit({}, cgroup=tmp_path / "no", meminfo=tmp_path / "no") is None  # unknown: no refusal
    memory.check(memory.Estimate().add("x", 10**18), None)


# ------------------------------------------------------------------------------------ estimates


@pytest.mark.parametrize(
    "cfg",
    [
        ModelConfig(vocab_size=50, cell="lstm", hidden=48, layers=2, embed=16),
        ModelConfig(vocab_size=30, cell="gru", hidden=32, layers=3, norm="rms", residual=True, mlp=2),
        ModelConfig(vocab_size=40, cell="mingru", hidden=24, layers=1, embed=24, tie=True),
        ModelConfig(vocab_size=20, cell="rnn", hidden=16, layers=2, one_hot=True),
        TagModelConfig(vocab_size=30, out_vocab=25, cell="lstm", hidden=20, layers=2),
    ],
)
def test_parameter_estimate_is_exact(cfg):
    net = (TagModel if isinstance(cfg, TagModelConfig) else CharRNN)(cfg)
    assert memory.param_count(cfg) == sum(p.numel() for p in net.parameters())
    weights = sum(p.numel() * p.element_size() for p in net.parameters())
    est = memory.training_estimate(cfg, batch=1, steps=1)
    assert est.parts[0].bytes == 4 * weights  # weights, gradients, AdamW's two moments


MEASURE = r"""
import json, re, sys, torch
torch.set_num_threads(1)
from rnnlab import memory
from rnnlab.config import ModelConfig
from rnnlab.model import CharRNN
from rnnlab.sampling import generate
mode = sys.argv[1]
cfg = ModelConfig(vocab_size=100, cell="lstm", hidden=256 if mode == "train" else 128, layers=2, embed=64, impl="torch")
model = CharRNN(cfg, "torch")
# VmHWM, this process's own peak: ru_maxrss keeps the peak of the process before exec (pytest's,
# grown by the tests before this one), so it may not move at all.
peak = lambda: int(re.search(r"VmHWM:\s+(\d+) kB", open("/proc/self/status").read()).group(1)) * 1024
before = peak()
if mode == "train":
    del model
    model = CharRNN(cfg, "torch")  # weights counted in the growth too
    opt = torch.optim.AdamW(model.parameters())
    for _ in range(2):
        x = torch.randint(100, (48, 96))
        loss = model(x, x).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    est = memory.training_estimate(cfg, 48, 96)
    est.parts = [p for p in est.parts if p.bytes]
else:
    texts = [""] * 30000
    for ids in generate(model, torch.zeros(30000, 3, dtype=torch.long), 6, torch.Generator().manual_seed(0)):
        texts = [t + chr(97 + i) for t, i in zip(texts, ids.tolist())]
    est = memory.sampling_estimate(cfg, 30000, 6, prime_len=3, keep=True)
print(json.dumps({"real": peak() - before, "estimate": est.total}))
"""


@pytest.mark.parametrize("mode", ["train", "sample"])
def test_estimate_is_of_the_right_order(mode):
    """Against the peak resident memory a fresh process grows by (loosely: within 3x)."""
    got = json.loads(subprocess.run([sys.executable, "-c", MEASURE, mode], capture_output=True, text=True, check=True).stdout)
    assert got["real"] > 20e6, got  # the case is large enough for the allocator's noise not to matter
    assert got["real"] / 3 <= got["estimate"] <= 3 * got["real"], got


def test_message_names_flags_estimate_and_limit():
    cfg = ModelConfig(vocab_size=80, hidden=256, layers=2)
    est = memory.sampling_estimate(cfg, num=100_000_000, length=1)
    with pytest.raises(UserError) as e:
        memory.check(est, 7_600_000_000)
    msg = str(e.value)
    assert msg.startswith("--num 100,000,000 would need about ") and memory.human(est.total) in msg, msg
    assert "; 7.6 GB of memory is available (RNNLAB_MEMORY_LIMIT overrides)" in msg, msg
    memory.check(memory.sampling_estimate(cfg, num=10, length=1000), 7_600_000_000)  # small: accepted
    big_val = memory.training_estimate(cfg, 16, 32, val_chars=10**9, flags={"--eval-chars": 10**9})
    assert memory.describe(big_val).startswith("--eval-chars 1,000,000,000"), memory.describe(big_val)


def test_where_memory_cannot_be_read_one_line_says_so_once(tmp_path, caplog):
    """Off Linux (no cgroup, no /proc/meminfo) nothing is refused, and one line says that sizes
    go unchecked and how to check them; a second check says nothing more."""
    limit = memory.memory_limit({}, cgroup=tmp_path / "none", meminfo=tmp_path / "none")
    assert limit is None
    memory._say_unchecked.cache_clear()
    est = memory.sampling_estimate(ModelConfig(vocab_size=80), num=100_000_000, length=1)
    with caplog.at_level("WARNING", logger="rnnlab.memory"):
        memory.check(est, limit)
        memory.check(est, limit)
    lines = [r.getMessage() for r in caplog.records if r.name == "rnnlab.memory"]
    assert len(lines) == 1 and "not checked" in lines[0] and "RNNLAB_MEMORY_LIMIT" in lines[0], lines
    memory._say_unchecked.cache_clear()


# ------------------------------------------------------------------------------------ through the CLI


def test_sample_num_refused(run_dir, capsys, limit):
    limit("1G")
    rc = main(["sample", str(run_dir), "--num", "100000000", "--length", "1"])
    refused(
        capsys,
        rc,
        "rnnlab sample: error: --num 100,000,000 ",
        " would need about ",
        "; 1.07 GB of memory is available (RNNLAB_MEMORY_LIMIT overrides)",
    )


def test_sample_kept_length_refused_streamed_accepted(run_dir, capsys, limit):
    limit("64M")
    rc = main(["sample", str(run_dir), "--num", "100", "--length", "1000000"])  # 100 texts kept whole
    refused(capsys, rc, "--length 1,000,000")
    assert main(["sample", str(run_dir), "--num", "3", "--length", "20", "--seed", "1"]) == 0  # small sizes still run
    assert capsys.readouterr().out.count("--- sample") == 3


@pytest.mark.parametrize(
    ("flags", "needle"),
    [
        (["--hidden", "60000", "--layers", "60"], "--hidden 60,000 with --layers 60"),
        (["--embed", "65536", "--hidden", "65536"], "--hidden 65,536"),
        (["--batch-size", "4096", "--seq-len", "64"], "--batch-size 4,096"),
    ],
)
def test_train_sizes_refused_before_the_run_folder(tmp_path, capsys, limit, flags, needle):
    limit("64M")
    text = tmp_path / "big.txt"
    text.write_text(SMALL * 120)  # ~310k characters: room for 4096 streams of 64
    out = tmp_path / "run"
    rc = main(["train", str(text), "--out", str(out), "--tiny", "--quiet", "--max-steps", "1", *flags])
    refused(capsys, rc, needle, "would need about", "of memory is available")
    assert not out.exists()


def test_train_refused_without_a_variable(tmp_path, capsys, monkeypatch, text_file):
    """Terabytes are refused on any machine, whatever it has (and a small run still trains under 64M)."""
    monkeypatch.delenv(memory.ENV, raising=False)
    rc = main(["train", str(text_file), "--out", str(tmp_path / "a"), "--quiet", "--hidden", "60000", "--layers", "60"])
    refused(capsys, rc, "--hidden 60,000")
    monkeypatch.setenv(memory.ENV, "64M")
    assert main(["train", str(text_file), "--out", str(tmp_path / "b"), "--tiny", "--quiet", "--max-steps", "2"]) == 0


def test_tag_train_refused(tmp_path, capsys, limit, text_file):
    limit("64M")
    rc = main(
        [
            "tag",
            "train",
            str(text_file),
            "--derive",
            "truecase",
            "--out",
            str(tmp_path / "t"),
            "--quiet",
            "--hidden",
            "65536",
            "--layers",
            "8",
        ]
    )
    refused(capsys, rc, "--hidden 65,536")


def test_sample_chars_bounded(tmp_path, capsys, text_file):
    rc = main(["train", str(text_file), "--out", str(tmp_path / "r"), "--tiny", "--quiet", "--sample-chars", "100001"])
    refused(capsys, rc, "--sample-chars")


def test_report_chars_refused(run_dir, capsys, limit, tmp_path):
    limit("64M")
    rc = main(["report", str(run_dir), "--prime", "a", "--length", "1000000", "--chars", "1000000", "--out", str(tmp_path / "r.html")])
    refused(capsys, rc, "--chars 1,000,000 with --length 1,000,000")
    assert not (tmp_path / "r.html").exists()


def test_serve_caps_refused(run_dir, capsys, limit):
    pytest.importorskip("uvicorn")
    limit("256M")
    rc = main(["serve", str(run_dir), "--port", "0", "--max-streams", "65536", "--max-tokens", "1000000"])
    refused(capsys, rc, "--max-streams 65,536")
    rc = main(["serve", str(run_dir), "--port", "0", "--max-prompt", "1000000", "--max-n", "1024"])
    refused(capsys, rc, "--max-prompt 1,000,000")


def test_serve_estimate_counts_every_engine():
    """Each of a model's engines may read a prompt and admit a last request over the shared cap."""
    cfg = ModelConfig(vocab_size=50)
    one, four = ({p.what: p.bytes for p in memory.serve_estimate(cfg, 8, 4, 100, 1000, workers=w).parts} for w in (1, 4))
    assert four["a prompt being read in each engine"] == 4 * one["a prompt being read in each engine"]
    assert four["the streams"] * (8 + 3) == pytest.approx(one["the streams"] * (8 + 4 * 3), rel=1e-6)


# ------------------------------------------------------------------------------------ failures that still happen


@pytest.mark.parametrize(
    "error",
    [
        RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 204800000000 bytes. Error code 12"),
        RuntimeError("CUDA out of memory. Tried to allocate 20.00 GiB\nmore detail"),
        MemoryError(),
    ],
)
def test_allocator_failure_is_one_line(run_dir, capsys, monkeypatch, error):
    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr("rnnlab.lm.LanguageModel.iter_sample", fail)
    rc = main(["sample", str(run_dir)])
    refused(capsys, rc, "rnnlab sample: error: out of memory (")
    with pytest.raises(type(error)):
        main(["sample", str(run_dir), "--debug"])


def test_other_runtime_errors_still_raise(run_dir, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("rnnlab.lm.LanguageModel.iter_sample", fail)
    with pytest.raises(RuntimeError, match="a bug"):
        main(["sample", str(run_dir)])


def test_api_checks_too(run_dir, limit):
    import rnnlab

    lm = rnnlab.load(run_dir)
    limit("16M")
    with pytest.raises(UserError, match="num 1,000,000"):
        list(lm.iter_sample(1, num=1_000_000))
    assert len(lm.sample(10, seed=0)) == 10
