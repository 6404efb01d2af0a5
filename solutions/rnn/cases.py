"""Input builders of the RNN assignment: the arguments of one case, drawn in the course's order.

``make_args(exercise, draw, dims, public)`` is called by ``grade build`` for the worked example
(``public``: ``draw`` is ``np.random.randn`` after ``np.random.seed(public_seed)``, exactly as the
course notebook draws it) and for every hidden case (``draw`` from a seeded generator).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .reference import lstm_cell_forward, lstm_forward, rnn_cell_forward, rnn_forward

Draw = Callable[..., np.ndarray]


def _rnn_params(draw: Draw, n_x: int, n_a: int, n_y: int, backward: bool) -> dict[str, np.ndarray]:
    # The course's forward examples draw Waa before Wax; its backward examples, Wax first.
    order = ("Wax", "Waa") if backward else ("Waa", "Wax")
    shapes = {
        "Waa": (n_a, n_a),
        "Wax": (n_a, n_x),
        "Wya": (n_y, n_a),
        "ba": (n_a, 1),
        "by": (n_y, 1),
    }
    p = {k: draw(*shapes[k]) for k in order}
    for k in ("Wya", "ba", "by"):
        p[k] = draw(*shapes[k])
    return {k: p[k] for k in ("Waa", "Wax", "Wya", "ba", "by")}


def _lstm_params(
    draw: Draw, n_x: int, n_a: int, n_y: int, zero_output: bool = False
) -> dict[str, np.ndarray]:
    p: dict[str, np.ndarray] = {}
    for gate in ("f", "i", "o", "c"):
        p["W" + gate] = draw(n_a, n_a + n_x)
        p["b" + gate] = draw(n_a, 1)
    if zero_output:
        p["Wy"], p["by"] = np.zeros((n_y, n_a)), np.zeros((n_y, 1))
    else:
        p["Wy"], p["by"] = draw(n_y, n_a), draw(n_y, 1)
    return p


def make_args(name: str, draw: Draw, d: dict[str, int], public: bool) -> tuple[Any, ...]:
    """Inputs of one case of exercise ``name`` with sizes ``d``."""
    n_x, n_a, n_y, m, t = d["n_x"], d["n_a"], d["n_y"], d["m"], d.get("T_x", 1)
    if name == "rnn_cell_forward":
        xt, a_prev = draw(n_x, m), draw(n_a, m)
        return (xt, a_prev, _rnn_params(draw, n_x, n_a, n_y, backward=False))
    if name == "rnn_forward":
        x, a0 = draw(n_x, m, t), draw(n_a, m)
        return (x, a0, _rnn_params(draw, n_x, n_a, n_y, backward=False))
    if name == "lstm_cell_forward":
        xt, a_prev, c_prev = draw(n_x, m), draw(n_a, m), draw(n_a, m)
        return (xt, a_prev, c_prev, _lstm_params(draw, n_x, n_a, n_y))
    if name == "lstm_forward":
        x, a0 = draw(n_x, m, t), draw(n_a, m)
        return (x, a0, _lstm_params(draw, n_x, n_a, n_y))
    if name == "rnn_cell_backward":
        xt, a_prev = draw(n_x, m), draw(n_a, m)
        params = _rnn_params(draw, n_x, n_a, n_y, backward=True)
        _, _, cache = rnn_cell_forward(xt, a_prev, params)
        return (draw(n_a, m), cache)
    if name == "rnn_backward":
        x, a0 = draw(n_x, m, t), draw(n_a, m)
        params = _rnn_params(draw, n_x, n_a, n_y, backward=True)
        _, _, caches = rnn_forward(x, a0, params)
        return (draw(n_a, m, t), caches)
    if name == "lstm_cell_backward":
        xt, a_prev, c_prev = draw(n_x, m), draw(n_a, m), draw(n_a, m)
        params = _lstm_params(draw, n_x, n_a, n_y)
        cache = lstm_cell_forward(xt, a_prev, c_prev, params)[3]
        return (draw(n_a, m), draw(n_a, m), cache)
    if name == "lstm_backward":
        # The course's example runs 7 forward steps and back-propagates 4: T_x comes from da.
        t_fwd = d.get("T_fwd", t)
        x, a0 = draw(n_x, m, t_fwd), draw(n_a, m)
        params = _lstm_params(draw, n_x, n_a, n_y, zero_output=public)
        caches = lstm_forward(x, a0, params)[3]
        return (draw(n_a, m, t), caches)
    raise KeyError(f"no input builder for exercise {name!r}")
