"""The reference against two independent oracles: the course's published values and calculus.

The published numbers are typed in from /work/shared/course_expected.md (never computed here);
the gradients are checked against central finite differences of the loss the contract defines,
``L = sum(da * a)`` (plus ``sum(dc_next * c_next)`` for the LSTM cell), on several shapes.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np
import pytest

from solutions import rnn

Arrays = dict[str, np.ndarray]


# ---------------------------------------------------------------------------------------------
# The course's examples, drawn in the notebook's order


def _draw(*shapes: tuple[str, tuple[int, ...]]) -> Arrays:
    return {name: np.random.randn(*shape) for name, shape in shapes}


def _rnn_params(backward: bool) -> Arrays:
    w = [("Waa", (5, 5)), ("Wax", (5, 3))]
    return _draw(*(w[::-1] if backward else w), ("Wya", (2, 5)), ("ba", (5, 1)), ("by", (2, 1)))


def _lstm_gates() -> Arrays:
    return _draw(*[(f"{k}{g}", (5, 8) if k == "W" else (5, 1)) for g in "fioc" for k in "Wb"])


@cache
def _example(name: str) -> dict[str, Any]:
    """The outputs of the reference on the course's worked example ``name``."""
    np.random.seed(1)
    if name == "rnn_cell_forward":
        xt, a_prev = np.random.randn(3, 10), np.random.randn(5, 10)
        a_next, yt_pred, c = rnn.rnn_cell_forward(xt, a_prev, _rnn_params(False))
        return {"a_next": a_next, "yt_pred": yt_pred}
    if name == "rnn_forward":
        x, a0 = np.random.randn(3, 10, 4), np.random.randn(5, 10)
        a, y_pred, caches = rnn.rnn_forward(x, a0, _rnn_params(False))
        return {"a": a, "y_pred": y_pred, "len(caches)": len(caches)}
    if name == "lstm_cell_forward":
        xt, a_prev, c_prev = (np.random.randn(*s) for s in ((3, 10), (5, 10), (5, 10)))
        params = {**_lstm_gates(), **_draw(("Wy", (2, 5)), ("by", (2, 1)))}
        a_next, c_next, yt, cache_ = rnn.lstm_cell_forward(xt, a_prev, c_prev, params)
        return {"a_next": a_next, "c_next": c_next, "yt": yt, "len(cache)": len(cache_)}
    if name == "lstm_forward":
        x, a0 = np.random.randn(3, 10, 7), np.random.randn(5, 10)
        params = {**_lstm_gates(), **_draw(("Wy", (2, 5)), ("by", (2, 1)))}
        a, y, c, _ = rnn.lstm_forward(x, a0, params)
        return {"a": a, "y": y, "c": c}
    if name == "rnn_cell_backward":
        xt, a_prev = np.random.randn(3, 10), np.random.randn(5, 10)
        _, _, cache_ = rnn.rnn_cell_forward(xt, a_prev, _rnn_params(True))
        return rnn.rnn_cell_backward(np.random.randn(5, 10), cache_)
    if name == "rnn_backward":
        x, a0 = np.random.randn(3, 10, 4), np.random.randn(5, 10)
        _, _, caches = rnn.rnn_forward(x, a0, _rnn_params(True))
        return rnn.rnn_backward(np.random.randn(5, 10, 4), caches)
    if name == "lstm_cell_backward":
        xt, a_prev, c_prev = (np.random.randn(*s) for s in ((3, 10), (5, 10), (5, 10)))
        params = {**_lstm_gates(), **_draw(("Wy", (2, 5)), ("by", (2, 1)))}
        *_, cache_ = rnn.lstm_cell_forward(xt, a_prev, c_prev, params)
        da_next, dc_next = np.random.randn(5, 10), np.random.randn(5, 10)
        return rnn.lstm_cell_backward(da_next, dc_next, cache_)
    if name == "lstm_backward":
        x, a0 = np.random.randn(3, 10, 7), np.random.randn(5, 10)
        params = {**_lstm_gates(), "Wy": np.zeros((2, 5)), "by": np.zeros((2, 1))}
        *_, caches = rnn.lstm_forward(x, a0, params)
        return rnn.lstm_backward(np.random.randn(5, 10, 4), caches)
    raise KeyError(name)


def _p(example: str, output: str, index: Any, expected: Any) -> Any:
    return pytest.param(example, output, index, expected, id=f"{example}-{output}")


PUBLISHED = [
    _p("rnn_cell_forward", "a_next", np.s_[4, :3], [0.59584544, 0.18141802, 0.61311866]),
    _p("rnn_cell_forward", "yt_pred", np.s_[1, :3], [0.9888161, 0.01682021, 0.21140899]),
    _p("rnn_forward", "a", np.s_[4, 1], [-0.99999375, 0.77911235, -0.99861469, -0.99833267]),
    _p("rnn_forward", "y_pred", np.s_[1, 3], [0.79560373, 0.86224861, 0.11118257, 0.81515947]),
    _p("rnn_forward", "len(caches)", (), 2),
    _p("lstm_cell_forward", "a_next", np.s_[4, :3], [-0.66408471, 0.0036921, 0.02088357]),
    _p("lstm_cell_forward", "c_next", np.s_[2, :3], [0.63267805, 1.00570849, 0.35504474]),
    _p("lstm_cell_forward", "yt", np.s_[1, :3], [0.79913913, 0.15986619, 0.22412122]),
    _p("lstm_cell_forward", "len(cache)", (), 10),
    _p("lstm_forward", "a", np.s_[4, 3, 6], 0.1721177675329167),
    _p("lstm_forward", "y", np.s_[1, 4, 3], 0.9508734618501101),
    _p("lstm_forward", "c", np.s_[1, 2, 1], -0.8555449167181983),
    _p("rnn_cell_backward", "dxt", np.s_[1, 2], -1.3872130506020928),
    _p("rnn_cell_backward", "da_prev", np.s_[2, 3], -0.1523994937739543),
    _p("rnn_cell_backward", "dWax", np.s_[3, 1], 0.41077282493545836),
    _p("rnn_cell_backward", "dWaa", np.s_[1, 2], 1.1503450668497135),
    _p("rnn_cell_backward", "dba", np.s_[4], [0.20023491]),
    _p("rnn_backward", "dx", np.s_[1, 2], [-2.07101689, -0.59255627, 0.02466855, 0.01483317]),
    _p("rnn_backward", "da0", np.s_[2, 3], -0.3149423751266506),
    _p("rnn_backward", "dWax", np.s_[3, 1], 11.2641044965),
    _p("rnn_backward", "dWaa", np.s_[1, 2], 2.30333312658),
    _p("rnn_backward", "dba", np.s_[4], [-0.74747722]),
    _p("lstm_cell_backward", "dxt", np.s_[1, 2], 3.2305591151091875),
    _p("lstm_cell_backward", "da_prev", np.s_[2, 3], -0.0639621419711),
    _p("lstm_cell_backward", "dc_prev", np.s_[2, 3], 0.797522038797),
    _p("lstm_cell_backward", "dWf", np.s_[3, 1], -0.147954838164),
    _p("lstm_cell_backward", "dWi", np.s_[1, 2], 1.05749805523),
    _p("lstm_cell_backward", "dWc", np.s_[3, 1], 2.30456216369),
    _p("lstm_cell_backward", "dWo", np.s_[1, 2], 0.331311595289),
    _p("lstm_cell_backward", "dbf", np.s_[4], [0.18864637]),
    _p("lstm_cell_backward", "dbi", np.s_[4], [-0.40142491]),
    _p("lstm_cell_backward", "dbc", np.s_[4], [0.25587763]),
    _p("lstm_cell_backward", "dbo", np.s_[4], [0.1389334167611629]),
    _p("lstm_backward", "dx", np.s_[1, 2], [0.00218254, 0.28205375, -0.48292508, -0.43281115]),
    _p("lstm_backward", "da0", np.s_[2, 3], 0.3127703102572602),
    _p("lstm_backward", "dWf", np.s_[3, 1], -0.0809802310938),
    _p("lstm_backward", "dWi", np.s_[1, 2], 0.40512433093),
    _p("lstm_backward", "dWc", np.s_[3, 1], -0.0793746735512),
    _p("lstm_backward", "dWo", np.s_[1, 2], 0.038948775763),
    _p("lstm_backward", "dbf", np.s_[4], [-0.15745657]),
    _p("lstm_backward", "dbi", np.s_[4], [-0.50848333]),
    _p("lstm_backward", "dbc", np.s_[4], [-0.42510818]),
    _p("lstm_backward", "dbo", np.s_[4], [-0.17958196207090732]),
]


@pytest.mark.parametrize(("example", "output", "index", "expected"), PUBLISHED)
def test_reference_reproduces_published_value(
    example: str, output: str, index: Any, expected: Any
) -> None:
    got = np.asarray(_example(example)[output])[index]
    # The course prints 8 significant digits: 1e-7 absolute is the precision of its numbers.
    np.testing.assert_allclose(got, expected, rtol=1e-7, atol=1e-8, err_msg=f"{example} {output}")


# ---------------------------------------------------------------------------------------------
# Gradients against central finite differences

# (n_x, n_a, n_y, m, T_x): n_x, n_a and n_y all differ; one with m = 1, one with T_x = 1
SHAPES = [
    pytest.param(3, 5, 2, 4, 3, id="nx3-na5-ny2-m4-T3"),
    pytest.param(2, 3, 4, 1, 2, id="m1"),
    pytest.param(4, 2, 3, 3, 1, id="T1"),
]
EPS = 1e-5


def _numeric_gradients(loss: Callable[[Arrays], float], inputs: Arrays) -> Arrays:
    grads: Arrays = {}
    for name, value in inputs.items():
        grad = np.zeros_like(value)
        for idx in np.ndindex(value.shape):
            shifted = {k: v.copy() for k, v in inputs.items()}
            shifted[name][idx] = value[idx] + EPS
            plus = loss(shifted)
            shifted[name][idx] = value[idx] - EPS
            minus = loss(shifted)
            grad[idx] = (plus - minus) / (2 * EPS)
        grads[name] = grad
    return grads


def _assert_gradients_match(analytic: Arrays, numeric: Arrays, names: dict[str, str]) -> None:
    """``names`` maps an analytic key (dWax) to the input it differentiates (Wax)."""
    for key, wrt in names.items():
        got, want = analytic[key], numeric[wrt]
        assert got.shape == want.shape, f"{key}: shape {got.shape}, expected {want.shape}"
        # The relative error of gradient checking: scale-free, and ~1e-10 when correct.
        rel = np.linalg.norm(got - want) / max(np.linalg.norm(got) + np.linalg.norm(want), 1e-12)
        assert rel < 1e-6, f"{key}: relative error {rel:.2e} against finite differences"


def _rng_arrays(seed: int, **shapes: tuple[int, ...]) -> Arrays:
    rng = np.random.default_rng(seed)
    return {name: rng.standard_normal(shape) for name, shape in shapes.items()}


def _rnn_inputs(n_x: int, n_a: int, n_y: int, m: int, T_x: int) -> Arrays:
    return _rng_arrays(
        n_x * 100 + n_a * 10 + m,
        x=(n_x, m, T_x), a0=(n_a, m), Wax=(n_a, n_x), Waa=(n_a, n_a), Wya=(n_y, n_a),
        ba=(n_a, 1), by=(n_y, 1), da=(n_a, m, T_x),
    )  # fmt: skip


def _lstm_inputs(n_x: int, n_a: int, n_y: int, m: int, T_x: int) -> Arrays:
    gates = {f"{k}{g}": (n_a, n_a + n_x) if k == "W" else (n_a, 1) for g in "fico" for k in "Wb"}
    return _rng_arrays(
        n_x * 100 + n_a * 10 + m + 1,
        x=(n_x, m, T_x), a0=(n_a, m), c0=(n_a, m), Wy=(n_y, n_a), by=(n_y, 1),
        da=(n_a, m, T_x), dc=(n_a, m), **gates,
    )  # fmt: skip


_RNN_PARAMS = ("Wax", "Waa", "Wya", "ba", "by")
_LSTM_PARAMS = ("Wf", "bf", "Wi", "bi", "Wc", "bc", "Wo", "bo", "Wy", "by")
_LSTM_GRADS = {f"d{p}": p for p in _LSTM_PARAMS if p not in ("Wy", "by")}


@pytest.mark.parametrize(("n_x", "n_a", "n_y", "m", "T_x"), SHAPES)
def test_rnn_cell_backward_matches_finite_differences(
    n_x: int, n_a: int, n_y: int, m: int, T_x: int
) -> None:
    v = _rnn_inputs(n_x, n_a, n_y, m, T_x)
    da_next = v["da"][:, :, 0]
    inputs = {"xt": v["x"][:, :, 0], "a_prev": v["a0"], **{k: v[k] for k in _RNN_PARAMS}}

    def loss(w: Arrays) -> float:
        params = {k: w[k] for k in _RNN_PARAMS}
        a_next, _, _ = rnn.rnn_cell_forward(w["xt"], w["a_prev"], params)
        return float(np.sum(da_next * a_next))

    _, _, cache_ = rnn.rnn_cell_forward(
        inputs["xt"], inputs["a_prev"], {k: inputs[k] for k in _RNN_PARAMS}
    )
    analytic = rnn.rnn_cell_backward(da_next, cache_)
    numeric = _numeric_gradients(loss, inputs)
    _assert_gradients_match(
        analytic, numeric,
        {"dxt": "xt", "da_prev": "a_prev", "dWax": "Wax", "dWaa": "Waa", "dba": "ba"},
    )  # fmt: skip


@pytest.mark.parametrize(("n_x", "n_a", "n_y", "m", "T_x"), SHAPES)
def test_rnn_backward_matches_finite_differences(
    n_x: int, n_a: int, n_y: int, m: int, T_x: int
) -> None:
    v = _rnn_inputs(n_x, n_a, n_y, m, T_x)
    inputs = {"x": v["x"], "a0": v["a0"], **{k: v[k] for k in _RNN_PARAMS}}

    def loss(w: Arrays) -> float:
        a, _, _ = rnn.rnn_forward(w["x"], w["a0"], {k: w[k] for k in _RNN_PARAMS})
        return float(np.sum(v["da"] * a))

    _, _, caches = rnn.rnn_forward(v["x"], v["a0"], {k: v[k] for k in _RNN_PARAMS})
    analytic = rnn.rnn_backward(v["da"], caches)
    numeric = _numeric_gradients(loss, inputs)
    _assert_gradients_match(
        analytic, numeric, {"dx": "x", "da0": "a0", "dWax": "Wax", "dWaa": "Waa", "dba": "ba"}
    )


@pytest.mark.parametrize(("n_x", "n_a", "n_y", "m", "T_x"), SHAPES)
def test_lstm_cell_backward_matches_finite_differences(
    n_x: int, n_a: int, n_y: int, m: int, T_x: int
) -> None:
    v = _lstm_inputs(n_x, n_a, n_y, m, T_x)
    da_next, dc_next = v["da"][:, :, 0], v["dc"]
    inputs = {
        "xt": v["x"][:, :, 0], "a_prev": v["a0"], "c_prev": v["c0"],
        **{k: v[k] for k in _LSTM_PARAMS},
    }  # fmt: skip

    def forward(w: Arrays) -> tuple:
        params = {k: w[k] for k in _LSTM_PARAMS}
        return rnn.lstm_cell_forward(w["xt"], w["a_prev"], w["c_prev"], params)

    def loss(w: Arrays) -> float:
        a_next, c_next, _, _ = forward(w)
        return float(np.sum(da_next * a_next) + np.sum(dc_next * c_next))

    analytic = rnn.lstm_cell_backward(da_next, dc_next, forward(inputs)[3])
    numeric = _numeric_gradients(loss, inputs)
    _assert_gradients_match(
        analytic, numeric,
        {"dxt": "xt", "da_prev": "a_prev", "dc_prev": "c_prev", **_LSTM_GRADS},
    )  # fmt: skip


@pytest.mark.parametrize(("n_x", "n_a", "n_y", "m", "T_x"), SHAPES)
def test_lstm_backward_matches_finite_differences(
    n_x: int, n_a: int, n_y: int, m: int, T_x: int
) -> None:
    v = _lstm_inputs(n_x, n_a, n_y, m, T_x)
    inputs = {"x": v["x"], "a0": v["a0"], **{k: v[k] for k in _LSTM_PARAMS}}

    def loss(w: Arrays) -> float:
        a, _, _, _ = rnn.lstm_forward(w["x"], w["a0"], {k: w[k] for k in _LSTM_PARAMS})
        return float(np.sum(v["da"] * a))

    *_, caches = rnn.lstm_forward(v["x"], v["a0"], {k: v[k] for k in _LSTM_PARAMS})
    analytic = rnn.lstm_backward(v["da"], caches)
    numeric = _numeric_gradients(loss, inputs)
    _assert_gradients_match(analytic, numeric, {"dx": "x", "da0": "a0", **_LSTM_GRADS})


def test_lstm_backward_takes_the_number_of_steps_from_da() -> None:
    # The course's lstm_backward example runs 7 forward steps and back-propagates 4: the result
    # is then the exact gradient of sum(da * a[:, :, :4]), which the first 4 steps alone decide.
    v = _lstm_inputs(3, 4, 2, 2, 5)
    da = v["da"][:, :, :3]

    def loss(w: Arrays) -> float:
        a, _, _, _ = rnn.lstm_forward(w["x"], w["a0"], {k: w[k] for k in _LSTM_PARAMS})
        return float(np.sum(da * a[:, :, :3]))

    inputs = {"x": v["x"], "a0": v["a0"], **{k: v[k] for k in _LSTM_PARAMS}}
    *_, caches = rnn.lstm_forward(v["x"], v["a0"], {k: v[k] for k in _LSTM_PARAMS})
    analytic = rnn.lstm_backward(da, caches)
    numeric = _numeric_gradients(loss, inputs)
    numeric["x"] = numeric["x"][:, :, :3]  # later inputs do not reach the loss
    _assert_gradients_match(analytic, numeric, {"dx": "x", "da0": "a0", **_LSTM_GRADS})
