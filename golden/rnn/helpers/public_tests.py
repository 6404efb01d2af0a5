"""Self-checks for "Building a Recurrent Neural Network - Step by Step".

Notebooks load them with ``from public_tests import *``. Each ``*_test(target)`` rebuilds the
course's seeded worked example (``np.random.seed(1)``, the notebook's draw order), calls ``target``
and checks, in this order: what it returns (arity, types), shapes, finiteness, the values the
course publishes for that example, the cache structure (every element in its place) and that the
inputs were not modified. It prints ``All tests passed`` or raises ``AssertionError`` naming the
output, the index, expected and got, and what to check.

Beyond the course's own tests these close three known holes: ``yt_pred`` computed from
``a_prev`` (the published ``yt_pred`` uses a non-zero ``Wya``), swapped cache elements (each
element is compared with the array it must be, not only its shape), and ``c_next = c[:, :, 0]``
in ``lstm_forward`` (a view of ``c`` that later overwrites ``caches[0]``'s ``c_prev``).

This file lives in student territory, so it holds no reference implementation: only published
values and structural relations. The backward examples need caches from a forward pass; rather
than embedding the forward formulas here, the backward tests build them with the student's *own*
forward function (passed as ``forward=`` or looked up in the calling notebook's globals). That
forward is first run through its own test, so a broken forward is reported as such instead of
surfacing as mysterious wrong gradients. Only numpy (and the standard library) is imported.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

__all__ = [
    "lstm_backward_test",
    "lstm_cell_backward_test",
    "lstm_cell_forward_test",
    "lstm_forward_test",
    "np",
    "rnn_backward_test",
    "rnn_cell_backward_test",
    "rnn_cell_forward_tests",
    "rnn_forward_test",
]

# The course prints its values with 8 significant digits: compare at that precision.
_RTOL = 1e-6
_ATOL = 1e-7

Params = dict[str, np.ndarray]
# (output name, index label as printed, index, published values)
Published = tuple[str, str, Any, list[float]]


# ---------------------------------------------------------------------------------------------
# The course's examples (draw order matters: it follows the notebook exactly)


def _draw(shapes: list[tuple[str, tuple[int, ...]]]) -> Params:
    return {name: np.random.randn(*shape) for name, shape in shapes}


def _rnn_params(backward: bool) -> Params:
    # The forward examples draw Waa before Wax; the backward examples draw Wax first.
    first: list[tuple[str, tuple[int, ...]]] = [("Waa", (5, 5)), ("Wax", (5, 3))]
    rest: list[tuple[str, tuple[int, ...]]] = [("Wya", (2, 5)), ("ba", (5, 1)), ("by", (2, 1))]
    return _draw((first[::-1] if backward else first) + rest)


def _lstm_params(with_output_layer: bool = True) -> Params:
    gates: list[tuple[str, tuple[int, ...]]] = []
    for gate in ("f", "i", "o", "c"):
        gates += [(f"W{gate}", (5, 8)), (f"b{gate}", (5, 1))]
    params = _draw(gates)
    if with_output_layer:
        params.update(_draw([("Wy", (2, 5)), ("by", (2, 1))]))
    else:  # the lstm_backward example does not draw them
        params.update(Wy=np.zeros((2, 5)), by=np.zeros((2, 1)))
    return params


# ---------------------------------------------------------------------------------------------
# Checking helpers: each raises AssertionError("<exercise>: <what> ...") on the first problem


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    return f"a {type(value).__name__}"


def _fmt(value: Any) -> str:
    # 8 significant digits, the precision of the course's printed values; no column padding.
    arr = np.asarray(value)
    if arr.ndim == 0:
        return f"{arr.item():.8g}"
    return "[" + " ".join(f"{v:.8g}" for v in arr.ravel()) + "]"


def _unpack(exercise: str, result: Any, names: tuple[str, ...]) -> tuple[Any, ...]:
    wanted = f"({', '.join(names)})"
    if not isinstance(result, tuple | list):
        raise AssertionError(
            f"{exercise} returned {_describe(result)}, expected the tuple {wanted}: "
            "check the return statement"
        )
    if len(result) != len(names):
        raise AssertionError(
            f"{exercise} returned {len(result)} values, expected {len(names)}: {wanted}"
        )
    return tuple(result)


def _check_array(exercise: str, name: str, value: Any, shape: tuple[int, ...], dims: str) -> None:
    dims = f" {dims}" if dims else ""
    if not isinstance(value, np.ndarray):
        raise AssertionError(
            f"{exercise}: {name} is {_describe(value)}, expected a numpy array of shape "
            f"{shape}{dims} (is a placeholder `None` still there?)"
        )
    if value.shape != shape:
        raise AssertionError(f"{exercise}: {name} has shape {value.shape}, expected {shape}{dims}")
    if not np.issubdtype(value.dtype, np.floating):
        raise AssertionError(f"{exercise}: {name} has dtype {value.dtype}, expected floats")
    if not np.all(np.isfinite(value)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(value))[0])
        raise AssertionError(
            f"{exercise}: {name}{list(bad)} is {value[bad]}: every value must be finite"
        )


def _check_published(exercise: str, outputs: dict[str, Any], table: list[Published],
                     hints: dict[str, str]) -> None:  # fmt: skip
    for name, label, index, expected in table:
        got = np.asarray(outputs[name])[index]
        if not np.allclose(got, expected, rtol=_RTOL, atol=_ATOL):
            hint = f" ({hints[name]})" if name in hints else ""
            raise AssertionError(
                f"{exercise}: {name}{label} is {_fmt(got)}, expected {_fmt(expected)}{hint}"
            )


def _same(got: Any, want: Any) -> bool:
    if isinstance(want, dict):
        return got is want or (
            isinstance(got, dict)
            and got.keys() == want.keys()
            and all(_same(got[k], want[k]) for k in want)
        )
    return isinstance(got, np.ndarray) and got.shape == np.shape(want) and np.array_equal(got, want)


def _expect(exercise: str, label: str, got: Any, want: Any, what: str, hint: str = "") -> None:
    if not _same(got, want):
        tail = f"; {hint}" if hint else ""
        raise AssertionError(f"{exercise}: {label} should be {what}, got {_describe(got)}{tail}")


def _cache_tuple(exercise: str, label: str, cache: Any, fields: tuple[str, ...]) -> tuple:
    wanted = f"({', '.join(fields)})"
    if not isinstance(cache, tuple | list) or len(cache) != len(fields):
        size = f" of length {len(cache)}" if isinstance(cache, tuple | list) else ""
        raise AssertionError(
            f"{exercise}: {label} is {_describe(cache)}{size}, expected the {len(fields)}-tuple "
            f"{wanted}: do not change the cache line"
        )
    return tuple(cache)


def _snapshot(*values: Any) -> list[Any]:
    def copy(value: Any) -> Any:
        if isinstance(value, np.ndarray):
            return value.copy()
        if isinstance(value, dict):
            return {k: copy(v) for k, v in value.items()}
        if isinstance(value, tuple | list):
            return [copy(v) for v in value]
        return value

    return [copy(v) for v in values]


def _unchanged(value: Any, before: Any) -> bool:
    if isinstance(before, np.ndarray):
        return isinstance(value, np.ndarray) and np.array_equal(value, before)
    if isinstance(before, dict):
        return (
            isinstance(value, dict)
            and value.keys() == before.keys()
            and all(_unchanged(value[k], before[k]) for k in before)
        )
    if isinstance(before, list):  # _snapshot turns tuples into lists
        return (
            isinstance(value, tuple | list)
            and len(value) == len(before)
            and all(map(_unchanged, value, before))
        )
    return True


def _check_not_mutated(exercise: str, names: tuple[str, ...], values: tuple, before: list) -> None:
    for name, value, old in zip(names, values, before, strict=True):
        if not _unchanged(value, old):
            raise AssertionError(
                f"{exercise} modified its argument {name} in place: build new arrays "
                "(e.g. `x = x + y`, not `x += y` on an argument) and leave the inputs as they were"
            )


def _check_gradients(exercise: str, grads: Any, shapes: Mapping[str, tuple[int, ...]]) -> None:
    if not isinstance(grads, dict):
        raise AssertionError(
            f"{exercise} returned {_describe(grads)}, expected the dict `gradients` with keys "
            f"{', '.join(shapes)}"
        )
    missing = [k for k in shapes if k not in grads]
    if missing:
        raise AssertionError(f"{exercise}: gradients has no key {', '.join(map(repr, missing))}")
    for key, shape in shapes.items():
        hint = ""
        value = grads[key]
        if key.startswith("db") and isinstance(value, np.ndarray) and value.shape == shape[:1]:
            hint = " (sum with axis=1, keepdims=True to keep the column shape)"
        try:
            _check_array(exercise, f'gradients["{key}"]', value, shape, "")
        except AssertionError as err:
            raise AssertionError(f"{err}{hint}") from None


def _find_forward(name: str, given: Callable | None, test: str) -> Callable:
    """The student's forward function: ``given``, else the calling notebook's ``name``."""
    if given is not None:
        return given
    scopes: list[dict[str, Any]] = []
    frame = inspect.currentframe()
    try:
        # frame -> the *_test function -> whoever called it (the notebook cell)
        caller = frame.f_back.f_back if frame is not None and frame.f_back is not None else None
        if caller is not None:
            scopes.append(caller.f_globals)
    finally:
        del frame  # frames hold references to locals: break the cycle at once
    main = sys.modules.get("__main__")
    if main is not None:
        scopes.append(vars(main))
    for scope in scopes:
        candidate = scope.get(name)
        if callable(candidate):
            return candidate
    raise AssertionError(
        f"{test} builds its example with your {name}, which is not defined: run the {name} "
        f"cell first (or call {test}(target, forward={name}))"
    )


def _forward_passes(name: str, forward: Callable, check: Callable[[Callable], None],
                    test: str) -> None:  # fmt: skip
    try:
        check(forward)
    except Exception as err:
        raise AssertionError(
            f"{test} builds its example cache with your {name}, which fails its own test "
            f"({type(err).__name__}: {err}). Fix {name} first."
        ) from err


# ---------------------------------------------------------------------------------------------
# Forward passes

_RNN_CELL_HINTS = {
    "a_next": "check the tanh argument: Waa·a_prev + Wax·xt + ba",
    "yt_pred": "yt_pred = softmax(Wya·a_next + by): it uses the new state a_next, not a_prev",
}
_RNN_HINTS = {
    "a": "a[:, :, t] holds the hidden state of step t; each step gets the previous step's "
    "a_next, starting from a0",
    "y_pred": "y_pred[:, :, t] holds the prediction of step t",
}
_LSTM_CELL_HINTS = {
    "a_next": "a_next = ot * tanh(c_next), with concat = [a_prev; xt] in that order",
    "c_next": "c_next = ft * c_prev + it * cct; check each gate uses its own weights "
    "(Wf/bf forget, Wi/bi update, Wc/bc candidate, Wo/bo output) on concat = [a_prev; xt]",
    "yt_pred": "yt_pred = softmax(Wy·a_next + by)",
}
_LSTM_HINTS = {
    "a": "each step gets the previous step's a_next and c_next; a starts from a0",
    "c": "the memory state starts at zeros and c[:, :, t] holds c_next of step t",
    "y": "y[:, :, t] holds the prediction of step t",
}
_RNN_CACHE = ("a_next", "a_prev", "xt", "parameters")
_LSTM_CACHE = ("a_next", "c_next", "a_prev", "c_prev", "ft", "it", "cct", "ot", "xt", "parameters")


def _check_rnn_cell_forward(target: Callable) -> None:
    ex = "rnn_cell_forward"
    np.random.seed(1)
    xt = np.random.randn(3, 10)
    a_prev = np.random.randn(5, 10)
    parameters = _rnn_params(backward=False)
    before = _snapshot(xt, a_prev, parameters)

    result = target(xt, a_prev, parameters)
    a_next, yt_pred, cache = _unpack(ex, result, ("a_next", "yt_pred", "cache"))
    _check_array(ex, "a_next", a_next, (5, 10), "(n_a, m)")
    _check_array(ex, "yt_pred", yt_pred, (2, 10), "(n_y, m)")
    _check_published(ex, {"a_next": a_next, "yt_pred": yt_pred}, [
        ("a_next", "[4][:3]", np.s_[4, :3], [0.59584544, 0.18141802, 0.61311866]),
        ("yt_pred", "[1][:3]", np.s_[1, :3], [0.9888161, 0.01682021, 0.21140899]),
    ], _RNN_CELL_HINTS)  # fmt: skip

    cache = _cache_tuple(ex, "cache", cache, _RNN_CACHE)
    if _same(cache[0], a_prev) and _same(cache[1], a_next) and not _same(a_next, a_prev):
        raise AssertionError(
            f"{ex}: cache[0] and cache[1] are swapped: "
            "the cache is (a_next, a_prev, xt, parameters)"
        )
    _expect(ex, "cache[0]", cache[0], a_next, "a_next (the state you return)")
    _expect(ex, "cache[1]", cache[1], a_prev, "a_prev (the argument)")
    _expect(ex, "cache[2]", cache[2], xt, "xt (the argument)")
    _expect(ex, "cache[3]", cache[3], parameters, "the parameters dict you were given")
    _check_not_mutated(ex, ("xt", "a_prev", "parameters"), (xt, a_prev, parameters), before)


def _check_rnn_forward(target: Callable) -> None:
    ex = "rnn_forward"
    np.random.seed(1)
    x = np.random.randn(3, 10, 4)
    a0 = np.random.randn(5, 10)
    parameters = _rnn_params(backward=False)
    before = _snapshot(x, a0, parameters)

    a, y_pred, caches = _unpack(ex, target(x, a0, parameters), ("a", "y_pred", "caches"))
    _check_array(ex, "a", a, (5, 10, 4), "(n_a, m, T_x)")
    _check_array(ex, "y_pred", y_pred, (2, 10, 4), "(n_y, m, T_x)")
    _check_published(ex, {"a": a, "y_pred": y_pred}, [
        ("a", "[4][1]", np.s_[4, 1], [-0.99999375, 0.77911235, -0.99861469, -0.99833267]),
        ("y_pred", "[1][3]", np.s_[1, 3], [0.79560373, 0.86224861, 0.11118257, 0.81515947]),
    ], _RNN_HINTS)  # fmt: skip

    steps = _check_caches(ex, caches, x, n_steps=4)
    for t, step in enumerate(steps):
        cache = _cache_tuple(ex, f"caches[0][{t}]", step, _RNN_CACHE)
        now = f"a_next of step {t} (a[:, :, {t}])"
        _expect(ex, f"caches[0][{t}][0]", cache[0], a[:, :, t], now)
        prev, what = (a0, "a0") if t == 0 else (a[:, :, t - 1], f"a[:, :, {t - 1}]")
        _expect(ex, f"caches[0][{t}][1]", cache[1], prev, f"a_prev of step {t} ({what})")
        _expect(ex, f"caches[0][{t}][2]", cache[2], x[:, :, t], f"xt of step {t} (x[:, :, {t}])")
        _expect(ex, f"caches[0][{t}][3]", cache[3], parameters, "the parameters dict")
    _check_not_mutated(ex, ("x", "a0", "parameters"), (x, a0, parameters), before)


def _check_caches(exercise: str, caches: Any, x: np.ndarray, n_steps: int) -> list:
    if not isinstance(caches, tuple | list) or len(caches) != 2:
        raise AssertionError(
            f"{exercise}: caches is {_describe(caches)}, expected the pair (list of caches, x): "
            "keep the line `caches = (caches, x)`"
        )
    steps, x_back = caches
    if not isinstance(steps, list) or len(steps) != n_steps:
        size = f" of length {len(steps)}" if isinstance(steps, tuple | list) else ""
        raise AssertionError(
            f"{exercise}: caches[0] is {_describe(steps)}{size}, expected a list of T_x = "
            f"{n_steps} caches (append one cache per time step)"
        )
    _expect(exercise, "caches[1]", x_back, x, "the input x")
    return steps


def _check_lstm_cell_forward(target: Callable) -> None:
    ex = "lstm_cell_forward"
    np.random.seed(1)
    xt = np.random.randn(3, 10)
    a_prev = np.random.randn(5, 10)
    c_prev = np.random.randn(5, 10)
    parameters = _lstm_params()
    before = _snapshot(xt, a_prev, c_prev, parameters)

    result = target(xt, a_prev, c_prev, parameters)
    a_next, c_next, yt, cache = _unpack(ex, result, ("a_next", "c_next", "yt_pred", "cache"))
    for name, value, shape in (("a_next", a_next, (5, 10)), ("c_next", c_next, (5, 10))):
        _check_array(ex, name, value, shape, "(n_a, m)")
    _check_array(ex, "yt_pred", yt, (2, 10), "(n_y, m)")
    _check_published(ex, {"a_next": a_next, "c_next": c_next, "yt_pred": yt}, [
        ("a_next", "[4][:3]", np.s_[4, :3], [-0.66408471, 0.0036921, 0.02088357]),
        ("c_next", "[2][:3]", np.s_[2, :3], [0.63267805, 1.00570849, 0.35504474]),
        ("yt_pred", "[1][:3]", np.s_[1, :3], [0.79913913, 0.15986619, 0.22412122]),
    ], _LSTM_CELL_HINTS)  # fmt: skip

    cache = _cache_tuple(ex, "cache", cache, _LSTM_CACHE)
    _check_lstm_step_cache(ex, "cache", cache, a_next, c_next, a_prev, c_prev, xt, parameters)
    _check_not_mutated(
        ex, ("xt", "a_prev", "c_prev", "parameters"), (xt, a_prev, c_prev, parameters), before
    )


def _check_lstm_step_cache(exercise: str, label: str, cache: tuple, a_next: Any, c_next: Any,
                           a_prev: Any, c_prev: Any, xt: Any, parameters: Params,
                           step: str = "") -> None:  # fmt: skip
    _expect(exercise, f"{label}[0]", cache[0], a_next, f"a_next{step}")
    _expect(exercise, f"{label}[1]", cache[1], c_next, f"c_next{step}")
    _expect(exercise, f"{label}[2]", cache[2], a_prev, f"a_prev{step}")
    if label == "caches[0][0]" and _same(cache[3], c_next):
        raise AssertionError(
            f"{exercise}: {label}[3] (c_prev of the first step) holds c_next of that step instead "
            "of the initial zeros: c_next = c[:, :, 0] makes c_next a view of c, so writing "
            "c[:, :, 0] overwrote the cache; start from c_next = np.zeros((n_a, m))"
        )
    _expect(exercise, f"{label}[3]", cache[3], c_prev, f"c_prev{step}")
    gates = {"ft": (4, 0.0, 1.0), "it": (5, 0.0, 1.0), "cct": (6, -1.0, 1.0), "ot": (7, 0.0, 1.0)}
    for gate, (i, low, high) in gates.items():
        value = cache[i]
        if not isinstance(value, np.ndarray) or value.shape != np.shape(a_next):
            raise AssertionError(
                f"{exercise}: {label}[{i}] should be the gate {gate} of shape "
                f"{np.shape(a_next)}, got {_describe(value)}"
            )
        if not np.all((value >= low) & (value <= high)):
            raise AssertionError(
                f"{exercise}: {label}[{i}] should be {gate}, with values in [{low:g}, {high:g}] "
                f"({'tanh' if gate == 'cct' else 'sigmoid'}), got values from "
                f"{value.min():.4g} to {value.max():.4g}"
            )
    ft, it, cct, ot = cache[4:8]
    # Relations between the cached gates tell swapped elements apart (values alone cannot).
    if not np.allclose(ft * cache[3] + it * cct, cache[1], rtol=_RTOL, atol=_ATOL):
        raise AssertionError(
            f"{exercise}: {label}[4:7] do not satisfy c_next = ft * c_prev + it * cct: keep the "
            "order (a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters)"
        )
    if not np.allclose(ot * np.tanh(cache[1]), cache[0], rtol=_RTOL, atol=_ATOL):
        raise AssertionError(
            f"{exercise}: {label}[7] does not satisfy a_next = ot * tanh(c_next): it should be "
            "the output gate ot"
        )
    _expect(exercise, f"{label}[8]", cache[8], xt, f"xt{step}")
    _expect(exercise, f"{label}[9]", cache[9], parameters, "the parameters dict")


def _check_lstm_forward(target: Callable) -> None:
    ex = "lstm_forward"
    np.random.seed(1)
    x = np.random.randn(3, 10, 7)
    a0 = np.random.randn(5, 10)
    parameters = _lstm_params()
    before = _snapshot(x, a0, parameters)

    a, y, c, caches = _unpack(ex, target(x, a0, parameters), ("a", "y", "c", "caches"))
    _check_array(ex, "a", a, (5, 10, 7), "(n_a, m, T_x)")
    _check_array(ex, "y", y, (2, 10, 7), "(n_y, m, T_x)")
    _check_array(ex, "c", c, (5, 10, 7), "(n_a, m, T_x)")
    _check_published(ex, {"a": a, "y": y, "c": c}, [
        ("a", "[4][3][6]", np.s_[4, 3, 6], [0.1721177675329167]),
        ("y", "[1][4][3]", np.s_[1, 4, 3], [0.9508734618501101]),
        ("c", "[1][2][1]", np.s_[1, 2, 1], [-0.8555449167181983]),
    ], _LSTM_HINTS)  # fmt: skip

    steps = _check_caches(ex, caches, x, n_steps=7)
    c0 = np.zeros((5, 10))
    for t, step in enumerate(steps):
        label = f"caches[0][{t}]"
        cache = _cache_tuple(ex, label, step, _LSTM_CACHE)
        a_prev, c_prev = (a0, c0) if t == 0 else (a[:, :, t - 1], c[:, :, t - 1])
        _check_lstm_step_cache(
            ex,
            label,
            cache,
            a[:, :, t],
            c[:, :, t],
            a_prev,
            c_prev,
            x[:, :, t],
            parameters,
            step=f" of step {t}",
        )
    _check_not_mutated(ex, ("x", "a0", "parameters"), (x, a0, parameters), before)


def rnn_cell_forward_tests(target: Callable) -> None:
    """Check ``rnn_cell_forward`` on the course's example; prints ``All tests passed``."""
    _check_rnn_cell_forward(target)
    print("All tests passed")


def rnn_forward_test(target: Callable) -> None:
    """Check ``rnn_forward`` on the course's example; prints ``All tests passed``."""
    _check_rnn_forward(target)
    print("All tests passed")


def lstm_cell_forward_test(target: Callable) -> None:
    """Check ``lstm_cell_forward`` on the course's example; prints ``All tests passed``."""
    _check_lstm_cell_forward(target)
    print("All tests passed")


def lstm_forward_test(target: Callable) -> None:
    """Check ``lstm_forward`` on the course's example; prints ``All tests passed``."""
    _check_lstm_forward(target)
    print("All tests passed")


# ---------------------------------------------------------------------------------------------
# Backward passes

_RNN_CELL_BACK_HINTS = {
    "dxt": "dtanh = (1 - a_next**2) * da_next, then dxt = Waxᵀ·dtanh",
    "da_prev": "da_prev = Waaᵀ·dtanh",
    "dWax": "dWax = dtanh·xtᵀ",
    "dWaa": "dWaa = dtanh·a_prevᵀ",
    "dba": "dba = the sum of dtanh over the examples (axis=1)",
}
_SEQ_STEP = "going backwards in time, step t gets da[:, :, t] + the da_prev of step t+1"
_RNN_BACK_HINTS = {
    "dx": f"dx[:, :, t] is the dxt of step t; {_SEQ_STEP}",
    "da0": f"da0 is the da_prev of step 0, after the loop; {_SEQ_STEP}",
    "dWax": "add up (+=) the dWax of every step",
    "dWaa": "add up (+=) the dWaa of every step",
    "dba": "add up (+=) the dba of every step",
}
_GATES = (
    "dot = da_next·tanh(c_next)·ot·(1-ot), dcct = dc·it·(1-cct²), dit = dc·cct·it·(1-it), "
    "dft = dc·c_prev·ft·(1-ft) with dc = dc_next + da_next·ot·(1-tanh²(c_next))"
)
_LSTM_CELL_BACK_HINTS = {
    "dxt": f"dxt adds W[:, n_a:]ᵀ·d(gate) over the four gates; {_GATES}",
    "da_prev": f"da_prev adds W[:, :n_a]ᵀ·d(gate) over the four gates; {_GATES}",
    "dc_prev": "dc_prev = (dc_next + da_next·ot·(1 - tanh²(c_next)))·ft",
    **{f"dW{g}": f"dW{g} = d{g}t·concatᵀ with concat = [a_prev; xt]; {_GATES}" for g in "fio"},
    "dWc": f"dWc = dcct·concatᵀ with concat = [a_prev; xt]; {_GATES}",
    **{f"db{g}": f"db{g} sums the gate's gradient over axis=1; {_GATES}" for g in "fico"},
}
_LSTM_SEQ_STEP = (
    "going backwards in time, step t gets da[:, :, t] + the da_prev of step t+1 and the dc_prev "
    "of step t+1; T_x comes from da.shape"
)
_LSTM_BACK_HINTS = {
    "dx": f"dx[:, :, t] is the dxt of step t; {_LSTM_SEQ_STEP}",
    "da0": f"da0 is the da_prev of step 0, after the loop; {_LSTM_SEQ_STEP}",
    **{k: f"add up (+=) the {k} of every step; {_LSTM_SEQ_STEP}"
       for k in ("dWf", "dWi", "dWc", "dWo", "dbf", "dbi", "dbc", "dbo")},
}  # fmt: skip


def _run_backward(exercise: str, target: Callable, args: tuple, cache: Any) -> Any:
    before = _snapshot(cache)
    grads = target(*args)
    if not _unchanged(cache, before[0]):
        raise AssertionError(
            f"{exercise} modified the cache it was given: read from it, write new arrays"
        )
    return grads


def rnn_cell_backward_test(target: Callable, forward: Callable | None = None) -> None:
    """Check ``rnn_cell_backward`` on the course's example, built with your ``rnn_cell_forward``."""
    ex, test = "rnn_cell_backward", "rnn_cell_backward_test"
    forward = _find_forward("rnn_cell_forward", forward, test)
    _forward_passes("rnn_cell_forward", forward, _check_rnn_cell_forward, test)

    np.random.seed(1)
    xt = np.random.randn(3, 10)
    a_prev = np.random.randn(5, 10)
    parameters = _rnn_params(backward=True)
    _, _, cache = forward(xt, a_prev, parameters)
    da_next = np.random.randn(5, 10)

    grads = _run_backward(ex, target, (da_next, cache), cache)
    _check_gradients(ex, grads, {
        "dxt": (3, 10), "da_prev": (5, 10), "dWax": (5, 3), "dWaa": (5, 5), "dba": (5, 1),
    })  # fmt: skip
    _check_published(ex, grads, [
        ("dxt", "[1][2]", np.s_[1, 2], [-1.3872130506020928]),
        ("da_prev", "[2][3]", np.s_[2, 3], [-0.1523994937739543]),
        ("dWax", "[3][1]", np.s_[3, 1], [0.41077282493545836]),
        ("dWaa", "[1][2]", np.s_[1, 2], [1.1503450668497135]),
        ("dba", "[4]", np.s_[4], [0.20023491]),
    ], _RNN_CELL_BACK_HINTS)  # fmt: skip
    print("All tests passed")


def rnn_backward_test(target: Callable, forward: Callable | None = None) -> None:
    """Check ``rnn_backward`` on the course's example, built with your ``rnn_forward``."""
    ex, test = "rnn_backward", "rnn_backward_test"
    forward = _find_forward("rnn_forward", forward, test)
    _forward_passes("rnn_forward", forward, _check_rnn_forward, test)

    np.random.seed(1)
    x = np.random.randn(3, 10, 4)
    a0 = np.random.randn(5, 10)
    parameters = _rnn_params(backward=True)
    _, _, caches = forward(x, a0, parameters)
    da = np.random.randn(5, 10, 4)

    grads = _run_backward(ex, target, (da, caches), caches)
    _check_gradients(ex, grads, {
        "dx": (3, 10, 4), "da0": (5, 10), "dWax": (5, 3), "dWaa": (5, 5), "dba": (5, 1),
    })  # fmt: skip
    _check_published(ex, grads, [
        ("dx", "[1][2]", np.s_[1, 2], [-2.07101689, -0.59255627, 0.02466855, 0.01483317]),
        ("da0", "[2][3]", np.s_[2, 3], [-0.3149423751266506]),
        ("dWax", "[3][1]", np.s_[3, 1], [11.2641044965]),
        ("dWaa", "[1][2]", np.s_[1, 2], [2.30333312658]),
        ("dba", "[4]", np.s_[4], [-0.74747722]),
    ], _RNN_BACK_HINTS)  # fmt: skip
    print("All tests passed")


_LSTM_GRAD_SHAPES: dict[str, tuple[int, ...]] = {
    "dWf": (5, 8), "dbf": (5, 1), "dWi": (5, 8), "dbi": (5, 1),
    "dWc": (5, 8), "dbc": (5, 1), "dWo": (5, 8), "dbo": (5, 1),
}  # fmt: skip


def lstm_cell_backward_test(target: Callable, forward: Callable | None = None) -> None:
    """Check ``lstm_cell_backward`` on the course's example (cache from your lstm_cell_forward)."""
    ex, test = "lstm_cell_backward", "lstm_cell_backward_test"
    forward = _find_forward("lstm_cell_forward", forward, test)
    _forward_passes("lstm_cell_forward", forward, _check_lstm_cell_forward, test)

    np.random.seed(1)
    xt = np.random.randn(3, 10)
    a_prev = np.random.randn(5, 10)
    c_prev = np.random.randn(5, 10)
    parameters = _lstm_params()
    _, _, _, cache = forward(xt, a_prev, c_prev, parameters)
    da_next = np.random.randn(5, 10)
    dc_next = np.random.randn(5, 10)

    grads = _run_backward(ex, target, (da_next, dc_next, cache), cache)
    shapes: dict[str, tuple[int, ...]] = {
        "dxt": (3, 10), "da_prev": (5, 10), "dc_prev": (5, 10), **_LSTM_GRAD_SHAPES,
    }  # fmt: skip
    _check_gradients(ex, grads, shapes)
    _check_published(ex, grads, [
        ("dxt", "[1][2]", np.s_[1, 2], [3.2305591151091875]),
        ("da_prev", "[2][3]", np.s_[2, 3], [-0.0639621419711]),
        ("dc_prev", "[2][3]", np.s_[2, 3], [0.797522038797]),
        ("dWf", "[3][1]", np.s_[3, 1], [-0.147954838164]),
        ("dWi", "[1][2]", np.s_[1, 2], [1.05749805523]),
        ("dWc", "[3][1]", np.s_[3, 1], [2.30456216369]),
        ("dWo", "[1][2]", np.s_[1, 2], [0.331311595289]),
        ("dbf", "[4]", np.s_[4], [0.18864637]),
        ("dbi", "[4]", np.s_[4], [-0.40142491]),
        ("dbc", "[4]", np.s_[4], [0.25587763]),
        ("dbo", "[4]", np.s_[4], [0.1389334167611629]),
    ], _LSTM_CELL_BACK_HINTS)  # fmt: skip
    print("All tests passed")


def lstm_backward_test(target: Callable, forward: Callable | None = None) -> None:
    """Check ``lstm_backward`` on the course's example, built with your ``lstm_forward``."""
    ex, test = "lstm_backward", "lstm_backward_test"
    forward = _find_forward("lstm_forward", forward, test)
    _forward_passes("lstm_forward", forward, _check_lstm_forward, test)

    np.random.seed(1)
    x = np.random.randn(3, 10, 7)
    a0 = np.random.randn(5, 10)
    parameters = _lstm_params(with_output_layer=False)
    _, _, _, caches = forward(x, a0, parameters)
    # The course's example runs 7 forward steps but back-propagates only the first 4: T_x = da's.
    da = np.random.randn(5, 10, 4)

    grads = _run_backward(ex, target, (da, caches), caches)
    _check_gradients(ex, grads, {"dx": (3, 10, 4), "da0": (5, 10), **_LSTM_GRAD_SHAPES})
    _check_published(ex, grads, [
        ("dx", "[1][2]", np.s_[1, 2], [0.00218254, 0.28205375, -0.48292508, -0.43281115]),
        ("da0", "[2][3]", np.s_[2, 3], [0.3127703102572602]),
        ("dWf", "[3][1]", np.s_[3, 1], [-0.0809802310938]),
        ("dWi", "[1][2]", np.s_[1, 2], [0.40512433093]),
        ("dWc", "[3][1]", np.s_[3, 1], [-0.0793746735512]),
        ("dWo", "[1][2]", np.s_[1, 2], [0.038948775763]),
        ("dbf", "[4]", np.s_[4], [-0.15745657]),
        ("dbi", "[4]", np.s_[4], [-0.50848333]),
        ("dbc", "[4]", np.s_[4], [-0.42510818]),
        ("dbo", "[4]", np.s_[4], [-0.17958196207090732]),
    ], _LSTM_BACK_HINTS)  # fmt: skip
    print("All tests passed")
