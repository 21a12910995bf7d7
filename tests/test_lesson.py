"""``rnnlab lesson``: the lecture's five programs, run in-process through the CLI."""

from __future__ import annotations

import inspect
import math
import re
import subprocess
import sys

import pytest
import torch

from rnnlab import lesson
from rnnlab.cli import main
from rnnlab.config import LESSON_LR, LESSON_PROGRAMS, LessonConfig
from rnnlab.errors import UserError

PROGRAMS = lesson.PROGRAMS

# The lecture's print formats (program 1 streams characters; the others print with sep=' ').
RE_CELL = re.compile(r"^Predicted string: (?P<pred>[a-z]+), Epoch \[(?P<k>\d+)/(?P<n>\d+)\] loss=(?P<loss>\d+\.\d{4})$")
RE_SEQ = re.compile(r"^Predicted:  (?P<pred>[a-z]+), Epoch \[(?P<k>\d+)/(?P<n>\d+)\] loss = (?P<loss>\d+\.\d{3})$")


def run_cli(capsys, *argv):
    rc = main(["lesson", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


def epoch_lines(out: str):
    """(program-index, match) for every per-epoch line, program index counted from the headers."""
    found, program = [], -1
    for line in out.splitlines():
        if line.startswith("== "):
            program += 1
        m = RE_CELL.match(line) or RE_SEQ.match(line)
        if m:
            found.append((program, m))
    return found


def table_rows(out: str) -> dict[str, list[str]]:
    lines = out.splitlines()
    start = max(i for i, line in enumerate(lines) if line.startswith("program "))
    return {line.split()[0]: line.split() for line in lines[start + 2 :] if line.strip()}


# ---------------------------------------------------------------------------------------------


def test_default_run_all_programs_reach_ohlol(capsys):
    rc, out, err = run_cli(capsys)
    assert rc == 0 and err == ""
    headers = [line for line in out.splitlines() if line.startswith("== ")]
    assert len(headers) == 5
    for header, name in zip(headers, ("RNNCell", "RNN", "Embedding", "LSTM", "GRU")):
        assert name in header
    lines = epoch_lines(out)
    assert len(lines) == 5 * 15
    rows = table_rows(out)
    assert list(rows) == list(PROGRAMS)
    for program, row in rows.items():
        _, final_prediction, final_loss, first_hit = row
        assert first_hit != "-", f"{program} never predicted 'ohlol' with the default seed"
        assert int(first_hit.split("/")[0]) <= 15
        assert final_prediction == "ohlol"
        float(final_loss)


@pytest.mark.parametrize("program", PROGRAMS)
def test_each_program_reaches_target_and_prints_lecture_format(capsys, program):
    rc, out, err = run_cli(capsys, "--program", program)
    assert rc == 0 and err == ""
    body = [line for line in out.splitlines() if line.startswith("Predicted")]
    pattern = RE_CELL if program == "rnncell" else RE_SEQ
    matches = [pattern.match(line) for line in body]
    assert all(matches), body
    assert [int(m["k"]) for m in matches] == list(range(1, 16))
    assert all(m["n"] == "15" for m in matches)
    assert "ohlol" in [m["pred"] for m in matches]
    result = lesson.train(program)
    assert result.first_hit is not None and result.first_hit <= 15
    # The printed losses are the result's, rounded as the lecture rounds them.
    digits = 4 if program == "rnncell" else 3
    assert [m["loss"] for m in matches] == [f"{x:.{digits}f}" for x in result.losses]
    assert [m["pred"] for m in matches] == result.predictions


def test_epoch_count_in_lines_follows_epochs_flag(capsys):
    rc, out, _ = run_cli(capsys, "--epochs", "3")
    assert rc == 0
    lines = epoch_lines(out)
    assert len(lines) == 5 * 3
    assert all(m["n"] == "3" for _, m in lines)
    assert "[3/3]" in out and "/15]" not in out


@pytest.mark.parametrize("program", PROGRAMS)
def test_reference_impl_gives_torch_losses(program):
    pytest.importorskip("rnnlab.nn", reason="rnnlab.nn (the reference cells) is not importable")
    ref = lesson.train(program, impl="reference")
    tor = lesson.train(program, impl="torch")
    assert len(ref.losses) == len(tor.losses) == 15
    for epoch, (a, b) in enumerate(zip(ref.losses, tor.losses), start=1):
        assert abs(a - b) <= 1e-5, f"{program} epoch {epoch}: reference {a} vs torch {b}"
    assert ref.predictions == tor.predictions
    assert ref.first_hit == tor.first_hit is not None


def test_reference_impl_through_cli_prints_the_same_epochs(capsys):
    pytest.importorskip("rnnlab.nn", reason="rnnlab.nn (the reference cells) is not importable")
    _, out_t, _ = run_cli(capsys, "--impl", "torch")
    rc, out_r, err = run_cli(capsys, "--impl", "reference")
    assert rc == 0 and err == ""
    lines_r, lines_t = epoch_lines(out_r), epoch_lines(out_t)
    assert len(lines_r) == len(lines_t) == 5 * 15
    # Same predictions; printed losses equal up to the last printed digit (rounding may flip).
    for (_, r), (_, t) in zip(lines_r, lines_t):
        assert (r["pred"], r["k"]) == (t["pred"], t["k"])
        assert abs(float(r["loss"]) - float(t["loss"])) <= 1.01e-3
    assert "impl reference" in out_r
    assert table_rows(out_r).keys() == table_rows(out_t).keys()


def test_rnncell_first_loss_is_sum_of_five_steps():
    # Five per-step cross-entropies of near-uniform logits over 4 classes: about 5 ln 4 = 6.93
    # (a mean would be about ln 4 = 1.39, as program 2's first epoch is).
    first = lesson.train("rnncell", epochs=1).losses[0]
    assert abs(first - 5 * math.log(4)) < 0.5, first
    firsts = [lesson.train("rnncell", epochs=1, seed=seed).losses[0] for seed in range(10)]
    assert abs(sum(firsts) / len(firsts) - 5 * math.log(4)) < 1.0, firsts
    # RNNCell(4, 4) and RNN(4, 4) draw the same initial weights under one seed and see the same
    # one-hot inputs, so the summed loss of program 1 is exactly 5x program 2's mean loss.
    for seed in (lesson.DEFAULT_SEED, 0, 1):
        cell = lesson.train("rnncell", epochs=1, seed=seed).losses[0]
        rnn = lesson.train("rnn", epochs=1, seed=seed).losses[0]
        assert cell == pytest.approx(5 * rnn, abs=1e-4)
        assert abs(rnn - math.log(4)) < 0.6


def test_shapes(capsys):
    rc, out, _ = run_cli(capsys, "--shapes", "--epochs", "2")
    assert rc == 0
    shape_lines = [line.strip() for line in out.splitlines() if "shape of" in line]
    expected = [
        # Built by the programs themselves.
        "inputs (seqLen, batchSize, inputSize): (5, 1, 4)",  # one-hot, programs 1 and 2
        "labels (seqLen, 1): (5, 1)",
        "hidden = net.init_hidden() (batchSize, hiddenSize): (1, 4)",
        "labels (seqLen*batchSize,): (5,)",
        "inputs (batchSize, seqLen): (1, 5)",
        # Seen by hooks: program 1's net(input, hidden) and criterion(hidden, label) at each step.
        "input at step 1 (batchSize, inputSize): (1, 4)",
        "input at step 5 (batchSize, inputSize): (1, 4)",
        "hidden = logits at step 3 (batchSize, hiddenSize): (1, 4)",
        "label at step 5 (batchSize,): (1,)",
        # Program 2: net.rnn(input, h_0) -> out, h_n; net(...) -> outputs.
        "hidden h_0 (numLayers, batchSize, hiddenSize): (1, 1, 4)",
        "out (seqLen, batchSize, hiddenSize): (5, 1, 4)",
        "h_n (numLayers, batchSize, hiddenSize): (1, 1, 4)",
        "outputs = out.view(-1, hiddenSize) (seqLen*batchSize, hiddenSize): (5, 4)",
        # Programs 3-5: net.emb, net.rnn, net.fc, net.
        "emb(x) (batchSize, seqLen, embeddingSize): (1, 5, 10)",
        "hidden h_0 (numLayers, batchSize, hiddenSize): (2, 1, 8)",
        "cell c_0 (numLayers, batchSize, hiddenSize): (2, 1, 8)",
        "rnn out (batchSize, seqLen, hiddenSize): (1, 5, 8)",
        "h_n (numLayers, batchSize, hiddenSize): (2, 1, 8)",
        "c_n (numLayers, batchSize, hiddenSize): (2, 1, 8)",
        "fc(x) (batchSize, seqLen, numClass): (1, 5, 4)",
        "outputs = x.view(-1, numClass) (batchSize*seqLen, numClass): (5, 4)",
    ]
    for text in expected:
        assert any(line.endswith(text) for line in shape_lines), text
    # Once per program (first epoch only): the hooks are gone in the second epoch.
    assert sum("shape of inputs" in line for line in shape_lines) == 5
    assert sum("input at step 1 " in line for line in shape_lines) == 1
    assert sum("emb(x)" in line for line in shape_lines) == 3
    assert sum("cell c_0" in line for line in shape_lines) == 1  # the LSTM's alone
    assert "(5, 1, 4)" in out
    # The epoch lines keep the lecture's format, shapes or not.
    assert len(epoch_lines(out)) == 5 * 2
    _, plain, _ = run_cli(capsys, "--epochs", "2")
    assert [m.group(0) for _, m in epoch_lines(out)] == [m.group(0) for _, m in epoch_lines(plain)]
    assert "shape of" not in plain


def test_shapes_come_from_hooks_outside_the_models(monkeypatch):
    # The models are the lecture's: no tracing, no printing, nothing of --shapes in them.
    for cls in (lesson.RNNCellModel, lesson.RNNModel, lesson.EmbeddingModel):
        source = inspect.getsource(cls)
        for word in ("trace", "hook", "write", "print", "shape"):
            assert word not in source, f"{cls.__name__} mentions {word!r}"
    # Record every hook registered on any module while the programs run.
    hooked: list[torch.nn.Module] = []
    for method in ("register_forward_hook", "register_forward_pre_hook"):
        original = getattr(torch.nn.Module, method)

        def recording(module, *args, _original=original, **kwargs):
            hooked.append(module)
            return _original(module, *args, **kwargs)

        monkeypatch.setattr(torch.nn.Module, method, recording)
    for program in lesson.PROGRAMS:
        lesson.train(program, epochs=2)
    assert hooked == [], "without --shapes no hook is registered"
    written: list[str] = []
    for program in lesson.PROGRAMS:
        lesson.train(program, epochs=2, shapes=True, write=written.append)
    assert "shape of hidden = logits at step 1" in "".join(written)
    kinds = {type(m) for m in hooked}
    assert {lesson.RNNCellModel, lesson.RNNModel, lesson.EmbeddingModel, torch.nn.Embedding, torch.nn.Linear} <= kinds
    assert {torch.nn.RNN, torch.nn.LSTM, torch.nn.GRU} <= kinds
    # After the run (they go after the first epoch) no hook is left on any module, submodules included.
    for module in hooked:
        for m in module.modules():
            assert not m._forward_hooks and not m._forward_pre_hooks, type(m).__name__


def test_other_word_pair(capsys):
    rc, out, err = run_cli(capsys, "--input", "dog", "--target", "god", "--program", "embedding")
    assert rc == 0 and err == ""
    assert "idx2char=['d', 'g', 'o']" in out
    preds = [m["pred"] for _, m in epoch_lines(out)]
    assert len(preds) == 15 and all(len(p) == 3 and set(p) <= set("dgo") for p in preds)
    assert "god" in preds
    rc, out, err = run_cli(capsys, "--input", "ab", "--target", "cd", "--program", "rnncell")
    assert rc == 0 and "Predicted string: " in out
    assert len([m for _, m in epoch_lines(out)]) == 15


@pytest.mark.parametrize("words, needle", [(("hello", "ohlo"), "equal length"), (("", ""), "empty"), (("abc", ""), "empty")])
def test_bad_word_pairs_exit_2_with_one_line(capsys, words, needle):
    rc, out, err = run_cli(capsys, "--input", words[0], "--target", words[1])
    assert rc == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("rnnlab lesson: error:")
    assert needle in err


def test_bad_program_exits_nonzero(capsys):
    rc = main(["lesson", "--program", "transformer"])
    assert rc == 2
    _, err = capsys.readouterr()
    assert "transformer" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("argv", [["--epochs", "0"], ["--lr", "0"], ["--lr", "-0.1"]])
def test_bad_numbers_exit_2(capsys, argv):
    rc, _, err = run_cli(capsys, "--program", "rnn", *argv)
    assert rc == 2 and err.count("\n") == 1


def test_same_seed_same_output_other_seed_other_losses(capsys):
    _, a, _ = run_cli(capsys, "--seed", "7", "--epochs", "4")
    _, b, _ = run_cli(capsys, "--seed", "7", "--epochs", "4")
    _, c, _ = run_cli(capsys, "--seed", "8", "--epochs", "4")
    assert a == b
    for program in PROGRAMS:
        la = lesson.train(program, seed=7, epochs=4).losses
        assert la == lesson.train(program, seed=7, epochs=4).losses
        assert la != lesson.train(program, seed=8, epochs=4).losses
    assert [m["loss"] for _, m in epoch_lines(a)] != [m["loss"] for _, m in epoch_lines(c)]


def test_lr_flag_overrides_the_lecture_rate(capsys):
    _, out, _ = run_cli(capsys, "--program", "rnn", "--lr", "0.2", "--epochs", "3")
    assert "Adam lr=0.2," in out
    assert lesson.train("rnn", lr=0.2, epochs=3).losses != lesson.train("rnn", epochs=3).losses


def test_library_writes_only_through_write_and_keeps_global_rng(capsys):
    written: list[str] = []
    state, threads = torch.get_rng_state(), torch.get_num_threads()
    result = lesson.train("gru", epochs=2, write=written.append)
    assert torch.equal(state, torch.get_rng_state())
    assert torch.get_num_threads() == threads
    assert capsys.readouterr() == ("", "")
    text = "".join(written)
    assert text.startswith("== Homework (program 3 with GRU)") and text.count("Predicted:  ") == 2
    assert isinstance(result, lesson.LessonResult)
    assert result.program == "gru" and result.epochs == 2 and len(result.predictions) == 2
    assert result.lr == lesson.DEFAULT_LR["gru"]
    # The lecture's learning rates.
    assert lesson.DEFAULT_LR["rnncell"] == 0.1
    assert lesson.DEFAULT_LR["rnn"] == lesson.DEFAULT_LR["embedding"] == 0.05
    assert 0.05 <= lesson.DEFAULT_LR["lstm"] <= 0.1 and 0.05 <= lesson.DEFAULT_LR["gru"] <= 0.1


def test_model_parameters_match_the_lecture():
    task = lesson.make_task()
    assert task.idx2char == ("e", "h", "l", "o")
    assert task.x_data == (1, 0, 2, 2, 3) and task.y_data == (3, 1, 2, 3, 2)
    net = lesson.RNNCellModel(4, 4, 1)
    assert [n for n, _ in net.named_parameters()] == ["rnncell.weight_ih", "rnncell.weight_hh", "rnncell.bias_ih", "rnncell.bias_hh"]
    assert net.init_hidden().shape == (1, 4)
    net = lesson.EmbeddingModel(4, 4, cell="lstm")
    assert isinstance(net.rnn, torch.nn.LSTM) and net.rnn.num_layers == 2 and net.rnn.batch_first
    assert net.emb.weight.shape == (4, 10) and net.fc.weight.shape == (4, 8)


def test_library_constants_are_configs(capsys):
    # Declared once, in rnnlab.config; the library names them, the CLI's flags are LessonConfig's.
    defaults = LessonConfig()
    assert lesson.PROGRAMS is LESSON_PROGRAMS
    assert lesson.DEFAULT_LR is LESSON_LR
    assert defaults.seed == lesson.DEFAULT_SEED
    assert defaults.epochs == lesson.DEFAULT_EPOCHS
    assert lesson.make_task() == lesson.make_task(defaults.input, defaults.target)
    # --help shows the real defaults.
    assert main(["lesson", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert f"(default: {defaults.epochs})" in help_text and f"(default: {defaults.seed})" in help_text
    assert "(default: all)" in help_text and "(default: hello)" in help_text and "(default: ohlol)" in help_text
    assert ", ".join(f"{k} {v:g}" for k, v in LESSON_LR.items()) in help_text
    assert "--shapes, --no-shapes" in help_text
    for name in ("program", "epochs", "seed", "lr", "impl", "shapes", "input", "target"):
        assert f"--{name}" in help_text


def test_help_does_not_import_torch():
    code = "import sys; from rnnlab.cli import main; main(['lesson', '--help']); print('torch' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-1] == "False"


def test_library_checks_its_arguments_as_the_config_does():
    for kwargs, field in [({"epochs": 0}, "epochs"), ({"lr": -0.1}, "lr"), ({"impl": "numpy"}, "impl")]:
        with pytest.raises(UserError, match=field):
            lesson.train("rnn", **kwargs)
    with pytest.raises(UserError, match="unknown program"):
        lesson.train("all")


def test_numbers_do_not_depend_on_the_callers_thread_count():
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        a = lesson.train("gru", epochs=5).losses
        torch.set_num_threads(1)
        b = lesson.train("gru", epochs=5).losses
    finally:
        torch.set_num_threads(threads)
    assert a == b
