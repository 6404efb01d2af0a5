"""The course helpers in grader/compat: the public tests pass the reference and fail known mistakes.

Every wrong variant is written out here (small edits of the reference); each must fail with an
AssertionError whose message names the exercise and the output that is wrong.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from solutions import rnn
from tests.shipped import HELPERS

Fn = Callable[..., Any]


def _load(name: str) -> ModuleType:
    # The folder is not a package: notebooks import these files by their bare names.
    spec = importlib.util.spec_from_file_location(f"compat_{name}", HELPERS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


pt = _load("public_tests")
utils = _load("rnn_utils")


# ---------------------------------------------------------------------------------------------
# rnn_utils


def test_softmax_normalises_each_column_and_survives_large_scores() -> None:
    x = np.array([[1.0, 1000.0], [2.0, 1000.0], [3.0, -1000.0]])
    got = utils.softmax(x)
    e = np.exp([1.0, 2.0, 3.0])
    np.testing.assert_allclose(got[:, 0], e / e.sum())
    np.testing.assert_allclose(got[:, 1], [0.5, 0.5, 0.0])
    assert np.all(np.isfinite(got))


def test_sigmoid_values() -> None:
    np.testing.assert_allclose(utils.sigmoid(np.array([0.0, np.log(3.0)])), [0.5, 0.75])


def test_star_import_brings_numpy_and_the_helpers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(HELPERS))
    monkeypatch.delitem(sys.modules, "rnn_utils", raising=False)
    namespace: dict[str, Any] = {}
    exec("from rnn_utils import *", namespace)  # the notebooks' own idiom
    monkeypatch.delitem(sys.modules, "rnn_utils")
    assert namespace["np"] is np
    helpers = {"softmax", "sigmoid", "initialize_adam", "update_parameters_with_adam"}
    assert helpers <= set(namespace)


def test_adam_first_step_moves_each_parameter_by_the_learning_rate() -> None:
    # With bias correction the first step is lr * g / (|g| + eps): lr * sign(g).
    params = {"W1": np.array([[1.0, -2.0]]), "b1": np.array([[0.5]])}
    grads = {"dW1": np.array([[0.3, -4.0]]), "db1": np.array([[-1e-3]])}
    v, s = utils.initialize_adam(params)
    assert set(v) == set(s) == {"dW1", "db1"}
    new, v, s = utils.update_parameters_with_adam(params, grads, v, s, t=1, learning_rate=0.1)
    np.testing.assert_allclose(new["W1"], [[0.9, -1.9]], rtol=1e-6)
    np.testing.assert_allclose(new["b1"], [[0.6]], rtol=1e-4)


# ---------------------------------------------------------------------------------------------
# The public tests pass the reference

FORWARD_TESTS = [
    ("rnn_cell_forward_tests", rnn.rnn_cell_forward),
    ("rnn_forward_test", rnn.rnn_forward),
    ("lstm_cell_forward_test", rnn.lstm_cell_forward),
    ("lstm_forward_test", rnn.lstm_forward),
]
BACKWARD_TESTS = [
    ("rnn_cell_backward_test", rnn.rnn_cell_backward, rnn.rnn_cell_forward),
    ("rnn_backward_test", rnn.rnn_backward, rnn.rnn_forward),
    ("lstm_cell_backward_test", rnn.lstm_cell_backward, rnn.lstm_cell_forward),
    ("lstm_backward_test", rnn.lstm_backward, rnn.lstm_forward),
]


@pytest.mark.parametrize(("test", "target"), FORWARD_TESTS, ids=[t for t, _ in FORWARD_TESTS])
def test_forward_public_tests_pass_the_reference(
    test: str, target: Fn, capsys: pytest.CaptureFixture[str]
) -> None:
    getattr(pt, test)(target)
    assert capsys.readouterr().out == "All tests passed\n"


@pytest.mark.parametrize(
    ("test", "target", "forward"), BACKWARD_TESTS, ids=[t for t, *_ in BACKWARD_TESTS]
)
def test_backward_public_tests_pass_the_reference(
    test: str, target: Fn, forward: Fn, capsys: pytest.CaptureFixture[str]
) -> None:
    getattr(pt, test)(target, forward=forward)
    assert capsys.readouterr().out == "All tests passed\n"


def test_backward_test_finds_the_forward_in_the_callers_globals(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A notebook calls rnn_cell_backward_test(rnn_cell_backward) with its own forward in scope.
    namespace = {
        "rnn_cell_forward": rnn.rnn_cell_forward,
        "rnn_cell_backward": rnn.rnn_cell_backward,
        "check": pt.rnn_cell_backward_test,
    }
    exec("check(rnn_cell_backward)", namespace)
    assert capsys.readouterr().out == "All tests passed\n"


def test_backward_test_says_when_the_forward_is_missing() -> None:
    namespace = {"check": pt.lstm_backward_test, "lstm_backward": rnn.lstm_backward}
    with pytest.raises(AssertionError) as err:
        exec("check(lstm_backward)", namespace)
    msg = str(err.value)
    assert "lstm_forward" in msg and "not defined" in msg and "run the lstm_forward cell" in msg


def test_backward_test_blames_a_broken_forward_first() -> None:
    with pytest.raises(AssertionError) as err:
        pt.rnn_cell_backward_test(rnn.rnn_cell_backward, forward=_yt_from_a_prev)
    msg = str(err.value)
    assert "your rnn_cell_forward, which fails its own test" in msg
    assert "yt_pred[1][:3]" in msg and "Fix rnn_cell_forward first" in msg


# ---------------------------------------------------------------------------------------------
# Wrong variants, each must fail


def _yt_from_a_prev(xt: Any, a_prev: Any, parameters: Any) -> Any:
    # Course hole 1: its test keeps Wya at zero, so the prediction's input is never checked.
    a_next, _, cache = rnn.rnn_cell_forward(xt, a_prev, parameters)
    return a_next, utils.softmax(parameters["Wya"] @ a_prev + parameters["by"]), cache


def _cache_swapped(xt: Any, a_prev: Any, parameters: Any) -> Any:
    # Course hole 2: its test checks only the shapes of the cache's elements.
    a_next, yt_pred, _ = rnn.rnn_cell_forward(xt, a_prev, parameters)
    return a_next, yt_pred, (a_prev, a_next, xt, parameters)


def _lstm_forward_c_view(x: Any, a0: Any, parameters: Any) -> Any:
    # Course hole 3: c_next starts as a view of c; writing c[:, :, 0] rewrites caches[0]'s c_prev.
    caches = []
    _n_x, m, T_x = x.shape
    n_y, n_a = parameters["Wy"].shape
    a, c, y = np.zeros((n_a, m, T_x)), np.zeros((n_a, m, T_x)), np.zeros((n_y, m, T_x))
    a_next, c_next = a0, c[:, :, 0]
    for t in range(T_x):
        a_next, c_next, yt, cache = rnn.lstm_cell_forward(x[:, :, t], a_next, c_next, parameters)
        a[:, :, t], c[:, :, t], y[:, :, t] = a_next, c_next, yt
        caches.append(cache)
    return a, y, c, (caches, x)


def _two_values(xt: Any, a_prev: Any, parameters: Any) -> Any:
    a_next, yt_pred, _ = rnn.rnn_cell_forward(xt, a_prev, parameters)
    return a_next, yt_pred


def _tanh_into_a_prev(xt: Any, a_prev: Any, parameters: Any) -> Any:
    p = parameters
    a_next = np.tanh(p["Waa"] @ a_prev + p["Wax"] @ xt + p["ba"], out=a_prev)  # overwrites input
    return a_next, utils.softmax(p["Wya"] @ a_next + p["by"]), (a_next, a_prev, xt, p)


def _no_bias(xt: Any, a_prev: Any, parameters: Any) -> Any:
    return rnn.rnn_cell_forward(xt, a_prev, {**parameters, "ba": np.zeros_like(parameters["ba"])})


def _rnn_forward_from_a0_each_step(x: Any, a0: Any, parameters: Any) -> Any:
    n_y, n_a = parameters["Wya"].shape
    a, y_pred, caches = np.zeros((n_a, *x.shape[1:])), np.zeros((n_y, *x.shape[1:])), []
    for t in range(x.shape[2]):
        a[:, :, t], y_pred[:, :, t], cache = rnn.rnn_cell_forward(x[:, :, t], a0, parameters)
        caches.append(cache)
    return a, y_pred, (caches, x)


def _lstm_concat_reversed(xt: Any, a_prev: Any, c_prev: Any, parameters: Any) -> Any:
    # [xt; a_prev]: same shape, wrong columns of every weight matrix.
    p = parameters
    n_x = xt.shape[0]
    swapped = {
        k: np.concatenate([v[:, -n_x:], v[:, :-n_x]], axis=1)
        if k in ("Wf", "Wi", "Wc", "Wo")
        else v
        for k, v in p.items()
    }
    a_next, c_next, yt, cache = rnn.lstm_cell_forward(xt, a_prev, c_prev, swapped)
    return a_next, c_next, yt, (*cache[:9], p)


def _lstm_cache_gates_swapped(xt: Any, a_prev: Any, c_prev: Any, parameters: Any) -> Any:
    a_next, c_next, yt, cache = rnn.lstm_cell_forward(xt, a_prev, c_prev, parameters)
    ft, it = cache[4], cache[5]
    return a_next, c_next, yt, (*cache[:4], it, ft, *cache[6:])


def _dba_without_keepdims(da_next: Any, cache: Any) -> Any:
    grads = rnn.rnn_cell_backward(da_next, cache)
    return {**grads, "dba": grads["dba"].ravel()}


def _dtanh_from_a_prev(da_next: Any, cache: Any) -> Any:
    _a_next, a_prev, xt, parameters = cache
    return rnn.rnn_cell_backward(da_next, (a_prev, a_prev, xt, parameters))


def _rnn_backward_drops_the_recurrent_gradient(da: Any, caches: Any) -> Any:
    steps, x = caches
    _n_a, m, T_x = da.shape
    total = {k: np.zeros_like(v) for k, v in rnn.rnn_cell_backward(da[:, :, 0], steps[0]).items()}
    dx = np.zeros((x.shape[0], m, T_x))
    for t in reversed(range(T_x)):
        g = rnn.rnn_cell_backward(da[:, :, t], steps[t])  # forgets + da_prevt
        dx[:, :, t] = g["dxt"]
        for k in ("dWax", "dWaa", "dba"):
            total[k] += g[k]
        da0 = g["da_prev"]
    return {"dx": dx, "da0": da0, **{k: total[k] for k in ("dWax", "dWaa", "dba")}}


def _lstm_cell_backward_without_output_path(da_next: Any, dc_next: Any, cache: Any) -> Any:
    # dc = dc_next only: forgets the gradient reaching c_next through a_next = ot * tanh(c_next).
    a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, p = cache
    n_a = a_next.shape[0]
    dc = dc_next
    d = {
        "o": da_next * np.tanh(c_next) * ot * (1 - ot),
        "c": dc * it * (1 - cct**2),
        "i": dc * cct * it * (1 - it),
        "f": dc * c_prev * ft * (1 - ft),
    }
    concat = np.concatenate((a_prev, xt), axis=0)
    grads = {f"dW{g}": d[g] @ concat.T for g in d} | {
        f"db{g}": d[g].sum(axis=1, keepdims=True) for g in d
    }
    grads["da_prev"] = sum(p[f"W{g}"][:, :n_a].T @ d[g] for g in d)
    grads["dxt"] = sum(p[f"W{g}"][:, n_a:].T @ d[g] for g in d)
    grads["dc_prev"] = dc * ft
    return grads


def _lstm_backward_without_dc(da: Any, caches: Any) -> Any:
    steps, x = caches
    n_a, m, T_x = da.shape
    keys = ("dWf", "dbf", "dWi", "dbi", "dWc", "dbc", "dWo", "dbo")
    total = dict.fromkeys(keys, 0.0)
    dx, da_prevt = np.zeros((x.shape[0], m, T_x)), np.zeros((n_a, m))
    for t in reversed(range(T_x)):
        g = rnn.lstm_cell_backward(da[:, :, t] + da_prevt, np.zeros((n_a, m)), steps[t])
        da_prevt, dx[:, :, t] = g["da_prev"], g["dxt"]
        for k in keys:
            total[k] = total[k] + g[k]
    return {"dx": dx, "da0": da_prevt, **total}


def _bad(test: str, target: Fn, *needles: str, forward: Fn | None = None, id: str) -> Any:
    return pytest.param(test, target, forward, needles, id=id)


WRONG = [
    _bad("rnn_cell_forward_tests", _yt_from_a_prev, "rnn_cell_forward: yt_pred[1][:3] is",
         "expected [0.9888161 0.01682021 0.21140899]", "not a_prev", id="hole-yt-from-a_prev"),
    _bad("rnn_cell_forward_tests", _cache_swapped, "cache[0] and cache[1] are swapped",
         id="hole-cache-swapped"),
    _bad("lstm_forward_test", _lstm_forward_c_view, "lstm_forward: caches[0][0][3]",
         "view of c", "np.zeros((n_a, m))", id="hole-c_next-view"),
    _bad("rnn_cell_forward_tests", _two_values, "rnn_cell_forward returned 2 values, expected 3",
         id="returns-two-values"),
    _bad("rnn_cell_forward_tests", _no_bias, "rnn_cell_forward: a_next[4][:3] is",
         "expected [0.59584544 0.18141802 0.61311866] (check the tanh argument", id="no-bias"),
    _bad("rnn_cell_forward_tests", _tanh_into_a_prev, "modified its argument a_prev",
         id="writes-into-input"),
    _bad("rnn_forward_test", _rnn_forward_from_a0_each_step, "rnn_forward: a[4][1] is",
         id="rnn-forward-state-not-passed"),
    _bad("lstm_cell_forward_test", _lstm_concat_reversed, "lstm_cell_forward: a_next[4][:3] is",
         "[a_prev; xt]", id="lstm-concat-reversed"),
    _bad("lstm_cell_forward_test", _lstm_cache_gates_swapped, "c_next = ft * c_prev + it * cct",
         "cache[4:7]", id="lstm-cache-gates-swapped"),
    _bad("rnn_cell_backward_test", _dba_without_keepdims, 'gradients["dba"] has shape (5,)',
         "keepdims=True", forward=rnn.rnn_cell_forward, id="dba-without-keepdims"),
    _bad("rnn_cell_backward_test", _dtanh_from_a_prev, "rnn_cell_backward: dxt[1][2] is",
         "1 - a_next**2", forward=rnn.rnn_cell_forward, id="dtanh-from-a_prev"),
    _bad("rnn_backward_test", _rnn_backward_drops_the_recurrent_gradient, "rnn_backward: dx[1][2]",
         "da[:, :, t] + the da_prev of step t+1", forward=rnn.rnn_forward,
         id="rnn-backward-no-recurrent-gradient"),
    _bad("lstm_cell_backward_test", _lstm_cell_backward_without_output_path,
         "lstm_cell_backward: dxt[1][2] is", forward=rnn.lstm_cell_forward,
         id="lstm-cell-backward-dc-misses-da_next"),
    _bad("lstm_backward_test", _lstm_backward_without_dc, "lstm_backward: dx[1][2] is",
         "dc_prev", forward=rnn.lstm_forward, id="lstm-backward-drops-dc_prev"),
    _bad("lstm_backward_test", rnn.lstm_backward, "your lstm_forward, which fails its own test",
         "view of c", forward=_lstm_forward_c_view, id="lstm-backward-on-view-caches"),
]  # fmt: skip


@pytest.mark.parametrize(("test", "target", "forward", "needles"), WRONG)
def test_public_tests_fail_wrong_code_and_name_the_output(
    test: str, target: Fn, forward: Fn | None, needles: tuple[str, ...],
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    kwargs = {"forward": forward} if forward is not None else {}
    with pytest.raises(AssertionError) as err:
        getattr(pt, test)(target, **kwargs)
    msg = str(err.value)
    for needle in needles:
        assert needle in msg, f"{needle!r} not in {msg!r}"
    assert "All tests passed" not in capsys.readouterr().out


@pytest.mark.parametrize(("test", "target"), FORWARD_TESTS, ids=[t for t, _ in FORWARD_TESTS])
def test_placeholder_none_is_reported_as_not_an_array(test: str, target: Fn) -> None:
    def stub(*args: Any) -> Any:
        return (None,) * len(target(*args))

    with pytest.raises(AssertionError, match=r"is a NoneType, expected a numpy array"):
        getattr(pt, test)(stub)


def test_public_tests_do_not_contain_the_reference() -> None:
    # public_tests runs in student territory: it may check relations between the values it is
    # given, but never compute an output from the inputs (no products, exponentials, softmax...).
    tree = ast.parse((HELPERS / "public_tests.py").read_text())
    forbidden = {"dot", "matmul", "concatenate", "exp", "softmax", "sigmoid", "tanh"}
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp):
            assert not isinstance(node.op, ast.MatMult), f"matrix product at line {node.lineno}"
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name == "tanh":  # allowed only to relate cached values: a_next = ot * tanh(c_next)
                assert ast.unparse(node) == "np.tanh(cache[1])", f"line {node.lineno}"
                continue
            assert name not in forbidden, f"{name}() at line {node.lineno}"
