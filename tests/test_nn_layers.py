"""rnnlab.nn sequence layers (RNN, LSTM, GRU) against their torch.nn twins.

Every case copies weights with ``load_state_dict`` (in one direction or the other), runs both
models on the same input and compares outputs, final states and the gradients of every
parameter, of the input and of the initial state, in float64 (1e-10) and float32 (1e-5).
Sizes are tiny and all different: T, B, D, H = 3, 2, 4, 5; packed batches hold 6 sequences.
"""

from __future__ import annotations

import functools
import itertools
import re
from pathlib import Path

import pytest
import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

import rnnlab.nn as rnn

T, B, D, H = 3, 2, 4, 5
TOL = {torch.float64: dict(atol=1e-10, rtol=1e-10), torch.float32: dict(atol=1e-5, rtol=1e-5)}
LENGTHS = {"packed_sorted": [3, 3, 2, 2, 1, 1], "packed_unsorted": [2, 3, 1, 3, 1, 2]}

FAMILIES = {
    "rnn_tanh": (rnn.RNN, torch.nn.RNN, {}),
    "rnn_relu": (rnn.RNN, torch.nn.RNN, {"nonlinearity": "relu"}),
    "lstm": (rnn.LSTM, torch.nn.LSTM, {}),
    "gru": (rnn.GRU, torch.nn.GRU, {}),
    # The whole-sequence autograd node (padded input; packed input falls back to the step loop).
    "gru_fused": (functools.partial(rnn.GRU, fused=True), torch.nn.GRU, {}),
    "rnn_tanh_fused": (functools.partial(rnn.RNN, fused=True), torch.nn.RNN, {}),
    "rnn_relu_fused": (functools.partial(rnn.RNN, fused=True), torch.nn.RNN, {"nonlinearity": "relu"}),
}


def _pair(family, dtype=torch.float64, ours_from_theirs=True, **config):
    ours_cls, theirs_cls, extra = FAMILIES[family]
    torch.manual_seed(0)
    theirs = theirs_cls(D, H, **extra, **config).to(dtype)
    ours = ours_cls(D, H, **extra, **config).to(dtype)
    if ours_from_theirs:
        ours.load_state_dict(theirs.state_dict())
    else:
        theirs.load_state_dict(ours.state_dict())
    return ours, theirs


def _states(hidden):
    return tuple(hidden) if isinstance(hidden, tuple) else (hidden,)


def _make_input(kind, batch_first, dtype, gen):
    """A dense input tensor plus, for packed kinds, the lengths to pack it with."""
    if kind == "unbatched":
        return torch.randn(T, D, dtype=dtype, generator=gen), None
    if kind == "padded":
        shape = (B, T, D) if batch_first else (T, B, D)
        return torch.randn(*shape, dtype=dtype, generator=gen), None
    lengths = LENGTHS[kind]
    shape = (len(lengths), T, D) if batch_first else (T, len(lengths), D)
    return torch.randn(*shape, dtype=dtype, generator=gen), torch.tensor(lengths)


def _run(model, x, lengths, hx, kind, batch_first):
    """Forward + backward of a weighted loss (weights fixed, so a permuted row changes the loss)."""
    model.zero_grad(set_to_none=True)
    x = x.clone().requires_grad_()
    hx = None if hx is None else tuple(s.clone().requires_grad_() for s in hx)
    inp = x
    if lengths is not None:
        inp = pack_padded_sequence(x, lengths, batch_first=batch_first, enforce_sorted=kind == "packed_sorted")
    arg = None if hx is None else (hx if len(hx) == 2 else hx[0])
    out, hidden = model(inp, arg)
    states = _states(hidden)
    if isinstance(out, PackedSequence):
        meta = (out.batch_sizes, out.sorted_indices, out.unsorted_indices)
        padded, out_lengths = pad_packed_sequence(out, batch_first=batch_first)
        assert torch.equal(out_lengths, lengths)
        flat = out.data
    else:
        meta, padded, flat = None, out, out
    gen = torch.Generator().manual_seed(99)
    loss = (flat * torch.randn(flat.shape, generator=gen, dtype=flat.dtype)).sum()
    for s in states:
        loss = loss + (s * torch.randn(s.shape, generator=gen, dtype=s.dtype)).sum()
    loss.backward()
    return {
        "output": padded,
        "meta": meta,
        "states": states,
        "grad_x": x.grad,
        "grad_hx": None if hx is None else [s.grad for s in hx],
        "grad_params": {n: p.grad for n, p in model.named_parameters()},
    }


def _assert_same(a, b, tol):
    torch.testing.assert_close(a["output"], b["output"], **tol)
    if a["meta"] is not None:
        for u, v in zip(a["meta"], b["meta"]):
            assert (u is None and v is None) or torch.equal(u, v)
    assert len(a["states"]) == len(b["states"])
    for u, v in zip(a["states"], b["states"]):
        torch.testing.assert_close(u, v, **tol)
    torch.testing.assert_close(a["grad_x"], b["grad_x"], **tol)
    if a["grad_hx"] is not None:
        for u, v in zip(a["grad_hx"], b["grad_hx"]):
            torch.testing.assert_close(u, v, **tol)
    assert a["grad_params"].keys() == b["grad_params"].keys()
    for name in a["grad_params"]:
        torch.testing.assert_close(a["grad_params"][name], b["grad_params"][name], **tol, msg=name)


def _compare(family, kind, with_hx, dtype=torch.float64, ours_from_theirs=True, **config):
    ours, theirs = _pair(family, dtype, ours_from_theirs, **config)
    ours.eval()
    theirs.eval()
    batch_first = config.get("batch_first", False)
    gen = torch.Generator().manual_seed(5)
    x, lengths = _make_input(kind, batch_first, dtype, gen)
    hx = None
    if with_hx:
        L = config.get("num_layers", 1) * (2 if config.get("bidirectional", False) else 1)
        batch = () if kind == "unbatched" else (B if lengths is None else len(lengths),)
        arity = 2 if family == "lstm" else 1
        hx = tuple(torch.randn(L, *batch, H, dtype=dtype, generator=gen) for _ in range(arity))
    _assert_same(_run(ours, x, lengths, hx, kind, batch_first), _run(theirs, x, lengths, hx, kind, batch_first), TOL[dtype])


KINDS = ["padded", "unbatched", "packed_sorted", "packed_unsorted"]

# Every input kind x layout x direction count for each family, 2 layers, with an initial state.
SHAPE_CASES = list(itertools.product(FAMILIES, KINDS, [False, True], [False, True]))


@pytest.mark.parametrize("family,kind,batch_first,bidirectional", SHAPE_CASES)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
def test_layer_matches_torch_inputs(family, kind, batch_first, bidirectional, dtype):
    _compare(family, kind, True, dtype, num_layers=2, batch_first=batch_first, bidirectional=bidirectional)


# Depth x bias x initial state x copy direction, bidirectional on odd layer counts.
DEPTH_CASES = list(itertools.product(FAMILIES, [1, 2, 3], [True, False], [True, False], ["theirs", "ours"]))


@pytest.mark.parametrize("family,num_layers,bias,with_hx,copy_from", DEPTH_CASES)
def test_layer_matches_torch_depth_bias_state(family, num_layers, bias, with_hx, copy_from):
    kind = "packed_unsorted" if num_layers == 3 else "padded"
    _compare(
        family, kind, with_hx, torch.float64, copy_from == "theirs", num_layers=num_layers, bias=bias, bidirectional=num_layers % 2 == 1
    )


@pytest.mark.parametrize("family", FAMILIES)
def test_dropout_is_off_in_eval_mode(family):
    # eval() is set inside _compare: with dropout > 0 both must still agree exactly.
    _compare(family, "padded", False, num_layers=3, dropout=0.5, bidirectional=True)
    _compare(family, "packed_unsorted", True, torch.float32, num_layers=2, dropout=0.3)


@pytest.mark.parametrize("family", FAMILIES)
def test_parameter_names_shapes_order_and_init_match_torch(family):
    ours_cls, theirs_cls, extra = FAMILIES[family]
    for config in [dict(num_layers=3, bidirectional=True), dict(num_layers=2, bias=False)]:
        torch.manual_seed(11)
        theirs = theirs_cls(D, H, **extra, **config)
        torch.manual_seed(11)
        ours = ours_cls(D, H, **extra, **config)
        a, b = list(ours.named_parameters()), list(theirs.named_parameters())
        assert [(n, p.shape) for n, p in a] == [(n, p.shape) for n, p in b]
        # Same order of uniform_ calls from the same seed: bit-identical initial weights.
        for (name, p), (_, q) in zip(a, b):
            assert torch.equal(p, q), name
        assert list(ours.state_dict()) == list(theirs.state_dict())
        assert [[p.shape for p in w] for w in ours.all_weights] == [[p.shape for p in w] for w in theirs.all_weights]
        assert repr(ours) == repr(theirs)


def test_dropout_in_training_mode():
    torch.manual_seed(0)
    x = torch.randn(T, B, D)
    for cls in (rnn.RNN, rnn.LSTM, rnn.GRU):
        model = cls(D, H, num_layers=2, dropout=0.5)
        model.eval()
        eval_out, _ = model(x)
        model.train()
        train_out, _ = model(x)
        assert not torch.allclose(train_out, eval_out)

        plain = cls(D, H, num_layers=2, dropout=0.0)
        plain.train()
        a, _ = plain(x)
        plain.eval()
        b, _ = plain(x)
        assert torch.equal(a, b)


@pytest.mark.parametrize("family", ["lstm", "gru"])
def test_dropout_sits_between_layers_only(family):
    """With p = 1 every input to layer 1 is zero: layer 0 untouched, layer 1 fed zeros, no dropout after it."""
    ours_cls, theirs_cls, _ = FAMILIES[family]
    torch.manual_seed(4)
    model = ours_cls(D, H, num_layers=2, dropout=1.0).double().train()
    x = torch.randn(T, B, D, dtype=torch.float64)
    out, hidden = model(x)
    layer0 = theirs_cls(D, H).double()
    layer0.load_state_dict({k: v for k, v in model.state_dict().items() if k.endswith("_l0")})
    layer1 = theirs_cls(H, H).double()
    layer1.load_state_dict({k.replace("_l1", "_l0"): v for k, v in model.state_dict().items() if k.endswith("_l1")})
    _, hidden0 = layer0(x)
    out1, hidden1 = layer1(torch.zeros(T, B, H, dtype=torch.float64))
    torch.testing.assert_close(out, out1, atol=1e-12, rtol=0)
    assert out.abs().sum() > 0
    for ours_state, h0, h1 in zip(_states(hidden), _states(hidden0), _states(hidden1)):
        torch.testing.assert_close(ours_state[0], h0[0], atol=1e-12, rtol=0)
        torch.testing.assert_close(ours_state[1], h1[0], atol=1e-12, rtol=0)


def test_dropout_on_single_layer_warns_like_torch():
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        rnn.GRU(D, H, dropout=0.2)


def _hand_lstm_sequence(model, x):
    """One-layer LSTM from per-gate weight rows (i, f, g, o), sample by sample, step by step."""
    rows = {g: slice(k * H, (k + 1) * H) for k, g in enumerate("ifgo")}
    W, U, bw, bu = model.weight_ih_l0, model.weight_hh_l0, model.bias_ih_l0, model.bias_hh_l0
    outputs = torch.zeros(x.shape[0], x.shape[1], H, dtype=x.dtype)
    for b in range(x.shape[1]):
        h = torch.zeros(H, dtype=x.dtype)
        c = torch.zeros(H, dtype=x.dtype)
        for t in range(x.shape[0]):
            pre = {g: W[r] @ x[t, b] + bw[r] + U[r] @ h + bu[r] for g, r in rows.items()}
            i = 1 / (1 + torch.exp(-pre["i"]))
            f = 1 / (1 + torch.exp(-pre["f"]))
            o = 1 / (1 + torch.exp(-pre["o"]))
            g = torch.tanh(pre["g"])
            c = f * c + i * g
            h = o * torch.tanh(c)
            outputs[t, b] = h
    return outputs


def _hand_gru_sequence(model, x):
    """One-layer GRU from per-gate weight rows (r, z, n), sample by sample, step by step."""
    rows = {g: slice(k * H, (k + 1) * H) for k, g in enumerate("rzn")}
    W, U, bw, bu = model.weight_ih_l0, model.weight_hh_l0, model.bias_ih_l0, model.bias_hh_l0
    outputs = torch.zeros(x.shape[0], x.shape[1], H, dtype=x.dtype)
    for b in range(x.shape[1]):
        h = torch.zeros(H, dtype=x.dtype)
        for t in range(x.shape[0]):
            wx = {g: W[r] @ x[t, b] + bw[r] for g, r in rows.items()}
            uh = {g: U[r] @ h + bu[r] for g, r in rows.items()}
            r = 1 / (1 + torch.exp(-(wx["r"] + uh["r"])))
            z = 1 / (1 + torch.exp(-(wx["z"] + uh["z"])))
            n = torch.tanh(wx["n"] + r * uh["n"])
            h = (1 - z) * n + z * h
            outputs[t, b] = h
    return outputs


@pytest.mark.parametrize("family,hand", [("lstm", _hand_lstm_sequence), ("gru", _hand_gru_sequence), ("gru_fused", _hand_gru_sequence)])
def test_layer_matches_hand_written_gates(family, hand):
    ours_cls = FAMILIES[family][0]
    torch.manual_seed(6)
    model = ours_cls(D, H).double()
    x = torch.randn(T, B, D, dtype=torch.float64)
    with torch.no_grad():
        out, _ = model(x)
        torch.testing.assert_close(out, hand(model, x), atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("family", ["gru", "rnn_tanh", "rnn_relu"])
def test_fused_sequence_backward_passes_gradcheck(family, bias):
    from rnnlab.nn.gru import GRUSequence
    from rnnlab.nn.rnn import RNNSequence

    gen = torch.Generator().manual_seed(7)
    g = 3 if family == "gru" else 1
    xw = torch.randn(T, B, g * H, dtype=torch.float64, generator=gen, requires_grad=True)
    h0 = torch.randn(B, H, dtype=torch.float64, generator=gen, requires_grad=True)
    w_hh = torch.randn(g * H, H, dtype=torch.float64, generator=gen, requires_grad=True)
    b_hh = torch.randn(g * H, dtype=torch.float64, generator=gen, requires_grad=True) if bias else None
    if family == "gru":
        assert torch.autograd.gradcheck(GRUSequence.apply, (xw, h0, w_hh, b_hh))
    else:
        relu = family == "rnn_relu"
        assert torch.autograd.gradcheck(lambda *a: RNNSequence.apply(*a, relu), (xw, h0, w_hh, b_hh))


@pytest.mark.parametrize("cls,node", [(rnn.GRU, "GRUSequence"), (rnn.RNN, "RNNSequence")])
def test_fused_layer_really_runs_one_node_per_layer(cls, node):
    model = cls(D, H, num_layers=2, fused=True)
    out, _ = model(torch.randn(T, B, D))
    names, seen, stack = [], set(), [out.grad_fn]
    while stack:
        fn = stack.pop()
        if fn is not None and id(fn) not in seen:
            seen.add(id(fn))
            names.append(fn.name())
            stack.extend(f for f, _ in fn.next_functions)
    assert sum(node in n for n in names) == 2  # one per layer
    assert not any("Sigmoid" in n or "Tanh" in n for n in names)  # no per-step nodes


def test_layers_reject_bad_arguments():
    with pytest.raises(NotImplementedError):
        rnn.LSTM(D, H, proj_size=2)
    with pytest.raises(ValueError):
        rnn.RNN(D, H, nonlinearity="gelu")
    with pytest.raises(ValueError):
        rnn.GRU(D, H, dropout=1.5)
    model = rnn.LSTM(D, H, num_layers=2)
    with pytest.raises(RuntimeError):
        model(torch.randn(T, B, D), (torch.zeros(1, B, H), torch.zeros(1, B, H)))
    with pytest.raises(RuntimeError):
        model(torch.randn(T, B, D + 1))
    with pytest.raises(ValueError):
        model(torch.randn(T, B, D, 1))


NN_SOURCES = sorted((Path(rnn.__file__).parent).glob("*.py"))
FORBIDDEN = re.compile(r"_VF|nn\.(RNN|LSTM|GRU)(Cell)?\(|torch\.(rnn_tanh|rnn_relu|lstm|gru)(_cell)?\b|_thnn|functional\.(rnn|lstm|gru)")


def test_sources_do_not_call_torch_recurrent_kernels():
    assert {p.name for p in NN_SOURCES} >= {"__init__.py", "_base.py", "rnn.py", "lstm.py", "gru.py"}
    for path in NN_SOURCES:
        hits = [line for line in path.read_text().splitlines() if FORBIDDEN.search(line)]
        assert not hits, f"{path.name}: {hits}"


def test_no_torch_recurrent_kernel_runs(monkeypatch):
    """Belt and braces for the grep: make torch's fused kernels explode and run every layer."""

    def boom(*args, **kwargs):
        raise AssertionError("torch recurrent kernel called")

    for name in ("lstm", "gru", "rnn_tanh", "rnn_relu", "lstm_cell", "gru_cell", "rnn_tanh_cell", "rnn_relu_cell"):
        monkeypatch.setattr(torch._VF, name, boom, raising=False)
        monkeypatch.setattr(torch, name, boom, raising=False)
    x = torch.randn(T, B, D)
    packed = pack_padded_sequence(torch.randn(T, 6, D), torch.tensor(LENGTHS["packed_unsorted"]), enforce_sorted=False)
    for cls in (rnn.RNN, rnn.LSTM, rnn.GRU):
        model = cls(D, H, num_layers=2, bidirectional=True)
        model(x)[0].sum().backward()
        model(packed)
    for cls in (rnn.RNNCell, rnn.LSTMCell, rnn.GRUCell):
        cls(D, H)(x[0])
