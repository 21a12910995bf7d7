"""rnnlab.nn cells against torch.nn cells, autograd's gradcheck and hand-written gate equations.

Sizes are tiny and all different (B, D, H = 2, 4, 5) so that a swapped axis cannot go unseen.
"""

from __future__ import annotations

import pytest
import torch

import rnnlab.nn as rnn

B, D, H = 2, 4, 5
TOL = {torch.float64: dict(atol=1e-10, rtol=1e-10), torch.float32: dict(atol=1e-5, rtol=1e-5)}

# (name, ours, theirs, extra kwargs); RNN relu counts as its own family
FAMILIES = [
    ("rnn_tanh", rnn.RNNCell, torch.nn.RNNCell, {}),
    ("rnn_relu", rnn.RNNCell, torch.nn.RNNCell, {"nonlinearity": "relu"}),
    ("lstm", rnn.LSTMCell, torch.nn.LSTMCell, {}),
    ("gru", rnn.GRUCell, torch.nn.GRUCell, {}),
]
FAMILY_IDS = [f[0] for f in FAMILIES]


def _as_tuple(state):
    return tuple(state) if isinstance(state, (tuple, list)) else (state,)


def _twins(ours_cls, theirs_cls, kwargs, bias=True, dtype=torch.float64, ours_from_theirs=True):
    torch.manual_seed(0)
    theirs = theirs_cls(D, H, bias=bias, **kwargs).to(dtype)
    ours = ours_cls(D, H, bias=bias, **kwargs).to(dtype)
    if ours_from_theirs:
        ours.load_state_dict(theirs.state_dict())
    else:
        theirs.load_state_dict(ours.state_dict())
    return ours, theirs


@pytest.mark.parametrize("family", FAMILIES, ids=FAMILY_IDS)
@pytest.mark.parametrize("bias", [True, False])
def test_parameters_match_torch_in_name_shape_order_and_init(family, bias):
    _, ours_cls, theirs_cls, kwargs = family
    torch.manual_seed(7)
    theirs = theirs_cls(D, H, bias=bias, **kwargs)
    torch.manual_seed(7)
    ours = ours_cls(D, H, bias=bias, **kwargs)
    ours_params = list(ours.named_parameters())
    theirs_params = list(theirs.named_parameters())
    assert [(n, p.shape) for n, p in ours_params] == [(n, p.shape) for n, p in theirs_params]
    # Same registration order and the same uniform_ calls: identical draws from the same seed.
    for (name, a), (_, b) in zip(ours_params, theirs_params):
        assert torch.equal(a, b), name
        assert a.abs().max() <= H**-0.5
    assert (ours.bias_ih is None) == (not bias)


@pytest.mark.parametrize("family", FAMILIES, ids=FAMILY_IDS)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
@pytest.mark.parametrize("with_hx", [True, False], ids=["hx", "nohx"])
@pytest.mark.parametrize("direction", ["ours_from_theirs", "theirs_from_ours"])
def test_cell_matches_torch(family, dtype, bias, batched, with_hx, direction):
    _, ours_cls, theirs_cls, kwargs = family
    ours, theirs = _twins(ours_cls, theirs_cls, kwargs, bias, dtype, direction == "ours_from_theirs")
    lead = (B,) if batched else ()
    arity = 2 if ours_cls is rnn.LSTMCell else 1
    x = torch.randn(*lead, D, dtype=dtype)
    hx = tuple(torch.randn(*lead, H, dtype=dtype) for _ in range(arity)) if with_hx else None

    results = []
    for model in (ours, theirs):
        xi = x.clone().requires_grad_()
        hi = None if hx is None else tuple(s.clone().requires_grad_() for s in hx)
        arg = hi if hi is None or arity == 2 else hi[0]
        out = _as_tuple(model(xi, arg))
        assert all(o.shape == (*lead, H) for o in out)
        weights = [torch.linspace(-1, 1, o.numel(), dtype=dtype).view_as(o) * (k + 1) for k, o in enumerate(out)]
        sum((o * w).sum() for o, w in zip(out, weights)).backward()
        grads = {n: p.grad for n, p in model.named_parameters()}
        results.append((out, xi.grad, None if hi is None else [s.grad for s in hi], grads))

    (out_a, gx_a, gh_a, gp_a), (out_b, gx_b, gh_b, gp_b) = results
    tol = TOL[dtype]
    for a, b in zip(out_a, out_b):
        torch.testing.assert_close(a, b, **tol)
    torch.testing.assert_close(gx_a, gx_b, **tol)
    if gh_a is not None:
        for a, b in zip(gh_a, gh_b):
            torch.testing.assert_close(a, b, **tol)
    assert gp_a.keys() == gp_b.keys()
    for name in gp_a:
        torch.testing.assert_close(gp_a[name], gp_b[name], **tol, msg=name)


@pytest.mark.parametrize("family", FAMILIES, ids=FAMILY_IDS)
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
def test_cell_gradcheck(family, bias):
    _, ours_cls, _, kwargs = family
    torch.manual_seed(1)
    cell = ours_cls(D, H, bias=bias, **kwargs).double()
    params = [p for _, p in cell.named_parameters()]
    names = [n for n, _ in cell.named_parameters()]
    x = torch.randn(B, D, dtype=torch.float64, requires_grad=True)
    arity = 2 if ours_cls is rnn.LSTMCell else 1
    hx = [torch.randn(B, H, dtype=torch.float64, requires_grad=True) for _ in range(arity)]

    def fn(x, *rest):
        states, weights = rest[:arity], rest[arity:]
        out = torch.func.functional_call(cell, dict(zip(names, weights)), (x, tuple(states) if arity == 2 else states[0]))
        return _as_tuple(out)

    assert torch.autograd.gradcheck(fn, (x, *hx, *params))


def _sig(v):
    return 1.0 / (1.0 + torch.exp(-v))


def _hand_lstm(cell, x, h, c):
    """LSTM per sample and per gate, each gate from its own weight rows (i, f, g, o)."""
    Wi = {g: cell.weight_ih[k * H : (k + 1) * H] for k, g in enumerate("ifgo")}
    Wh = {g: cell.weight_hh[k * H : (k + 1) * H] for k, g in enumerate("ifgo")}
    bi = {g: cell.bias_ih[k * H : (k + 1) * H] for k, g in enumerate("ifgo")}
    bh = {g: cell.bias_hh[k * H : (k + 1) * H] for k, g in enumerate("ifgo")}
    hs, cs = [], []
    for b in range(x.shape[0]):
        pre = {g: Wi[g] @ x[b] + bi[g] + Wh[g] @ h[b] + bh[g] for g in "ifgo"}
        i, f, o = _sig(pre["i"]), _sig(pre["f"]), _sig(pre["o"])
        g = (torch.exp(2 * pre["g"]) - 1) / (torch.exp(2 * pre["g"]) + 1)
        c_new = f * c[b] + i * g
        t = (torch.exp(2 * c_new) - 1) / (torch.exp(2 * c_new) + 1)
        hs.append(o * t)
        cs.append(c_new)
    return torch.stack(hs), torch.stack(cs)


def _hand_gru(cell, x, h):
    """GRU per sample, element by element, from per-gate weight rows (r, z, n)."""
    W = {g: cell.weight_ih[k * H : (k + 1) * H] for k, g in enumerate("rzn")}
    U = {g: cell.weight_hh[k * H : (k + 1) * H] for k, g in enumerate("rzn")}
    bw = {g: cell.bias_ih[k * H : (k + 1) * H] for k, g in enumerate("rzn")}
    bu = {g: cell.bias_hh[k * H : (k + 1) * H] for k, g in enumerate("rzn")}
    out = torch.zeros(x.shape[0], H, dtype=x.dtype)
    for b in range(x.shape[0]):
        for j in range(H):

            def lin(g, b=b, j=j):
                wx = sum(W[g][j, d] * x[b, d] for d in range(D)) + bw[g][j]
                uh = sum(U[g][j, k] * h[b, k] for k in range(H)) + bu[g][j]
                return wx, uh

            r = _sig(sum(lin("r")))
            z = _sig(sum(lin("z")))
            wx, uh = lin("n")
            n = torch.tanh(wx + r * uh)
            out[b, j] = (1 - z) * n + z * h[b, j]
    return out


def test_lstm_cell_matches_hand_written_gates():
    torch.manual_seed(2)
    cell = rnn.LSTMCell(D, H).double()
    x, h, c = (torch.randn(B, n, dtype=torch.float64) for n in (D, H, H))
    with torch.no_grad():
        got = cell(x, (h, c))
        want = _hand_lstm(cell, x, h, c)
    torch.testing.assert_close(got[0], want[0], atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(got[1], want[1], atol=1e-12, rtol=1e-12)


def test_gru_cell_matches_hand_written_gates():
    torch.manual_seed(3)
    cell = rnn.GRUCell(D, H).double()
    x, h = torch.randn(B, D, dtype=torch.float64), torch.randn(B, H, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(cell(x, h), _hand_gru(cell, x, h), atol=1e-12, rtol=1e-12)


def test_cells_reject_bad_input():
    with pytest.raises(ValueError):
        rnn.RNNCell(D, H, nonlinearity="sigmoid")
    with pytest.raises(ValueError):
        rnn.GRUCell(D, H)(torch.randn(1, B, D))
    with pytest.raises(ValueError):
        rnn.LSTMCell(D, H)(torch.randn(B, D), (torch.randn(1, B, H), torch.randn(1, B, H)))
    with pytest.raises(ValueError):
        rnn.RNNCell(0, H)


def test_cell_repr_like_torch():
    assert repr(rnn.RNNCell(D, H, bias=False, nonlinearity="relu")) == repr(torch.nn.RNNCell(D, H, bias=False, nonlinearity="relu"))
    assert repr(rnn.LSTMCell(D, H)) == repr(torch.nn.LSTMCell(D, H))
