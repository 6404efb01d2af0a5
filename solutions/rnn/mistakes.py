"""Known mistakes: small, deliberate modifications of the reference, one per entry.

Each ``Mistake.run`` has its exercise's signature. ``grader.judge.diagnose.write_variants`` runs every
entry on the golden inputs at golden-build time and stores the outputs as data, so the shipped
grader recognises a mistake without shipping this file (``solutions/`` stays out of the wheel).

Adding a mistake = adding one entry to ``MISTAKES``. The build fails if an entry's outputs equal
the reference on every case (it would fire on correct code), and the tests fail if two entries of
one exercise cannot be told apart on the golden cases.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .reference import (
    lstm_cell_backward,
    lstm_cell_forward,
    rnn_cell_backward,
    rnn_cell_forward,
    sigmoid,
    softmax,
)

Array = np.ndarray


@dataclass(frozen=True)
class Mistake:
    id: str  #: "<exercise>.<short name>", stable: it appears in results
    exercise: str
    title: str  #: one line, says what the code does wrong
    explanation: str  #: plain words: why it is wrong and how it shows
    fix: str  #: the correct line(s) of code
    run: Callable[..., Any]


# ---------------------------------------------------------------------------------------------
# rnn_cell_forward


def _rnn_cell(
    xt: Array,
    a_prev: Array,
    p: dict[str, Array],
    *,
    pre: Callable[[Array, Array, dict[str, Array]], Array] | None = None,
    act: Callable[[Array], Array] = np.tanh,
    out: Callable[[Array, Array, dict[str, Array]], Array] | None = None,
    cache: Callable[[Array, Array, Array, dict[str, Array]], Any] | None = None,
) -> tuple[Array, Array, Any]:
    """The reference cell with one piece swapped for a wrong one."""
    z = pre(xt, a_prev, p) if pre else np.dot(p["Waa"], a_prev) + np.dot(p["Wax"], xt) + p["ba"]
    a_next = act(z)
    yt_pred = out(a_next, a_prev, p) if out else softmax(np.dot(p["Wya"], a_next) + p["by"])
    c = cache(a_next, a_prev, xt, p) if cache else (a_next, a_prev, xt, p)
    return a_next, yt_pred, c


def _softmax_axis1(z: Array) -> Array:
    e = np.exp(z - np.max(z, axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


_A_NEXT = "a_next = np.tanh(np.dot(Waa, a_prev) + np.dot(Wax, xt) + ba)"
_YT_PRED = "yt_pred = softmax(np.dot(Wya, a_next) + by)"
_RNN_CACHE = "cache = (a_next, a_prev, xt, parameters)"

RNN_CELL_FORWARD = (
    Mistake(
        "rnn_cell_forward.swapped_weights", "rnn_cell_forward",
        "Wax and Waa are applied to the wrong inputs",
        "Wax (n_a, n_x) multiplies the input xt and Waa (n_a, n_a) multiplies the previous "
        "hidden state a_prev. Multiplying Wax by a_prev (and Waa by xt) only works when "
        "n_x = n_a, so numpy raises 'shapes not aligned'.",
        _A_NEXT,
        lambda xt, a_prev, p: _rnn_cell(
            xt, a_prev, p, pre=lambda x, a, q: np.dot(q["Wax"], a) + np.dot(q["Waa"], x) + q["ba"]
        ),
    ),
    Mistake(
        "rnn_cell_forward.missing_ba", "rnn_cell_forward",
        "the bias ba is missing from a_next",
        "The hidden state is tanh of the two products plus the bias ba; without ba every "
        "entry of a_next (and so yt_pred) is shifted.",
        _A_NEXT,
        lambda xt, a_prev, p: _rnn_cell(
            xt, a_prev, p, pre=lambda x, a, q: np.dot(q["Waa"], a) + np.dot(q["Wax"], x)
        ),
    ),
    Mistake(
        "rnn_cell_forward.missing_by", "rnn_cell_forward",
        "the bias by is missing from yt_pred",
        "a_next is right, but the prediction is softmax of Wya·a_next plus the bias by; "
        "without by the probabilities are off.",
        _YT_PRED,
        lambda xt, a_prev, p: _rnn_cell(
            xt, a_prev, p, out=lambda a_n, a_p, q: softmax(np.dot(q["Wya"], a_n))
        ),
    ),
    Mistake(
        "rnn_cell_forward.sigmoid_activation", "rnn_cell_forward",
        "sigmoid instead of tanh for the hidden state",
        "The RNN cell's hidden state uses tanh (values in -1..1); sigmoid gives values in "
        "0..1, so a_next and everything computed from it are wrong.",
        _A_NEXT,
        lambda xt, a_prev, p: _rnn_cell(xt, a_prev, p, act=sigmoid),
    ),
    Mistake(
        "rnn_cell_forward.softmax_axis1", "rnn_cell_forward",
        "softmax is taken over axis 1 (examples) instead of axis 0 (classes)",
        "yt_pred holds one probability distribution per example, i.e. per column: each "
        "column must sum to 1. Normalising along axis 1 makes each row sum to 1 instead.",
        _YT_PRED + "   # softmax over axis 0, as rnn_utils.softmax does",
        lambda xt, a_prev, p: _rnn_cell(
            xt, a_prev, p, out=lambda a_n, a_p, q: _softmax_axis1(np.dot(q["Wya"], a_n) + q["by"])
        ),
    ),
    Mistake(
        "rnn_cell_forward.no_softmax", "rnn_cell_forward",
        "yt_pred is missing the softmax",
        "yt_pred must be probabilities: apply softmax to Wya·a_next + by. Without it the "
        "columns do not sum to 1 and entries can be negative.",
        _YT_PRED,
        lambda xt, a_prev, p: _rnn_cell(
            xt, a_prev, p, out=lambda a_n, a_p, q: np.dot(q["Wya"], a_n) + q["by"]
        ),
    ),
    Mistake(
        "rnn_cell_forward.yt_from_a_prev", "rnn_cell_forward",
        "yt_pred is computed from a_prev instead of a_next",
        "The prediction at step t comes from the new hidden state a_next. Using a_prev gives "
        "the prediction of the previous step (the course's own test misses this because it "
        "keeps Wya at zero).",
        _YT_PRED,
        lambda xt, a_prev, p: _rnn_cell(
            xt, a_prev, p, out=lambda a_n, a_p, q: softmax(np.dot(q["Wya"], a_p) + q["by"])
        ),
    ),
    Mistake(
        "rnn_cell_forward.cache_swapped", "rnn_cell_forward",
        "cache holds a_prev and a_next in the wrong order",
        "The backward pass unpacks the cache as (a_next, a_prev, xt, parameters); with the "
        "first two swapped it differentiates through the wrong state.",
        _RNN_CACHE,
        lambda xt, a_prev, p: _rnn_cell(
            xt, a_prev, p, cache=lambda a_n, a_p, x, q: (a_p, a_n, x, q)
        ),
    ),
    Mistake(
        "rnn_cell_forward.cache_no_parameters", "rnn_cell_forward",
        "cache is missing the parameters",
        "The cache must be (a_next, a_prev, xt, parameters): the backward pass needs Wax and "
        "Waa from it.",
        _RNN_CACHE,
        lambda xt, a_prev, p: _rnn_cell(xt, a_prev, p, cache=lambda a_n, a_p, x, q: (a_n, a_p, x)),
    ),
)  # fmt: skip


# ---------------------------------------------------------------------------------------------
# rnn_forward


def _rnn_seq(
    x: Array,
    a0: Array,
    p: dict[str, Array],
    *,
    start: str = "a0",
    feed: str = "a_next",
    store_a: str = "a_next",
    bare: bool = False,
) -> tuple[Array, Array, Any]:
    _, m, T_x = x.shape
    n_y, n_a = p["Wya"].shape
    a, y_pred = np.zeros((n_a, m, T_x)), np.zeros((n_y, m, T_x))
    caches = []
    a_next = a0 if start == "a0" else np.zeros((n_a, m))
    for t in range(T_x):
        a_prev = a0 if feed == "a0" else a_next
        a_next, yt, cache = rnn_cell_forward(x[:, :, t], a_prev, p)
        a[:, :, t] = a_next if store_a == "a_next" else a_prev
        y_pred[:, :, t] = yt
        caches.append(cache)
    return a, y_pred, (caches if bare else (caches, x))


_RNN_LOOP = "a_next = a0  # before the loop\n" + (
    "a_next, yt_pred, cache = rnn_cell_forward(x[:, :, t], a_next, parameters)"
)

RNN_FORWARD = (
    Mistake(
        "rnn_forward.a0_every_step", "rnn_forward",
        "a0 is passed to the cell at every time step",
        "Each step must start from the hidden state the previous step produced. Passing a0 "
        "every time makes every step forget the past (only T_x = 1 comes out right).",
        _RNN_LOOP,
        lambda x, a0, p: _rnn_seq(x, a0, p, feed="a0"),
    ),
    Mistake(
        "rnn_forward.zeros_start", "rnn_forward",
        "the loop starts from zeros instead of a0",
        "The initial hidden state is the argument a0, not a zero array: the first step (and "
        "through it every later step) comes out wrong.",
        "a_next = a0",
        lambda x, a0, p: _rnn_seq(x, a0, p, start="zeros"),
    ),
    Mistake(
        "rnn_forward.caches_bare_list", "rnn_forward",
        "caches is returned as a bare list, without x",
        "rnn_backward expects caches = (list of the T_x cell caches, x); returning only the "
        "list leaves x out.",
        "caches = (caches, x)",
        lambda x, a0, p: _rnn_seq(x, a0, p, bare=True),
    ),
    Mistake(
        "rnn_forward.a_stores_a_prev", "rnn_forward",
        "a[:, :, t] stores the previous hidden state instead of the new one",
        "a[:, :, t] must hold the state the cell just computed at step t (a_next), so the "
        "whole sequence comes out shifted by one step.",
        "a[:, :, t] = a_next",
        lambda x, a0, p: _rnn_seq(x, a0, p, store_a="a_prev"),
    ),
    Mistake(
        "rnn_forward.y_from_a", "rnn_forward",
        "y_pred[:, :, t] is filled with the hidden state instead of the prediction",
        "The cell returns (a_next, yt_pred, cache): y_pred[:, :, t] takes yt_pred (n_y, m); "
        "a_next has n_a rows, so numpy cannot broadcast it into y_pred.",
        "y_pred[:, :, t] = yt_pred",
        lambda x, a0, p: _rnn_y_from_a(x, a0, p),
    ),
)  # fmt: skip


def _rnn_y_from_a(x: Array, a0: Array, p: dict[str, Array]) -> Any:
    _, m, T_x = x.shape
    n_y, n_a = p["Wya"].shape
    a, y_pred, caches = np.zeros((n_a, m, T_x)), np.zeros((n_y, m, T_x)), []
    a_next = a0
    for t in range(T_x):
        a_next, _, cache = rnn_cell_forward(x[:, :, t], a_next, p)
        a[:, :, t] = a_next
        y_pred[:, :, t] = a_next
        caches.append(cache)
    return a, y_pred, (caches, x)


# ---------------------------------------------------------------------------------------------
# lstm_cell_forward


def _lstm_cell(
    xt: Array,
    a_prev: Array,
    c_prev: Array,
    p: dict[str, Array],
    *,
    concat_first: str = "a",
    swap_fi: bool = False,
    f_act: Callable[[Array], Array] = sigmoid,
    c_act: Callable[[Array], Array] = np.tanh,
    forget: bool = True,
    tanh_c: bool = True,
    roles_swapped: bool = False,
    order: tuple[int, ...] = tuple(range(10)),
) -> tuple[Array, Array, Array, Any]:
    pair = (a_prev, xt) if concat_first == "a" else (xt, a_prev)
    concat = np.concatenate(pair, axis=0)
    f, i = ("i", "f") if swap_fi else ("f", "i")
    ft = f_act(np.dot(p["W" + f], concat) + p["b" + f])
    it = sigmoid(np.dot(p["W" + i], concat) + p["b" + i])
    cct = c_act(np.dot(p["Wc"], concat) + p["bc"])
    c_next = (ft * c_prev if forget else 0) + it * cct
    if roles_swapped:
        c_next = it * c_prev + ft * cct
    ot = sigmoid(np.dot(p["Wo"], concat) + p["bo"])
    a_next = ot * (np.tanh(c_next) if tanh_c else c_next)
    yt_pred = softmax(np.dot(p["Wy"], a_next) + p["by"])
    full = (a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, p)
    return a_next, c_next, yt_pred, tuple(full[k] for k in order)


LSTM_CELL_FORWARD = (
    Mistake(
        "lstm_cell_forward.concat_order", "lstm_cell_forward",
        "concat stacks xt above a_prev",
        "The gate weights are laid out as [a_prev columns | xt columns], so concat must put "
        "a_prev first: concat = [a_prev; xt]. Stacking xt first multiplies each part by the "
        "wrong block of weights.",
        "concat = np.concatenate((a_prev, xt), axis=0)",
        lambda xt, a, c, p: _lstm_cell(xt, a, c, p, concat_first="x"),
    ),
    Mistake(
        "lstm_cell_forward.gates_swapped", "lstm_cell_forward",
        "the forget and update gates use each other's weights",
        "ft uses Wf and bf; it uses Wi and bi. With them swapped the cell forgets what it "
        "should keep and the other way round.",
        "ft = sigmoid(np.dot(Wf, concat) + bf)\nit = sigmoid(np.dot(Wi, concat) + bi)",
        lambda xt, a, c, p: _lstm_cell(xt, a, c, p, swap_fi=True),
    ),
    Mistake(
        "lstm_cell_forward.gate_roles_swapped", "lstm_cell_forward",
        "c_next multiplies c_prev by the update gate and cct by the forget gate",
        "The forget gate ft decides how much of the old memory c_prev to keep; the update gate it "
        "decides how much of the candidate cct to add. Swapping them keeps the candidate and "
        "forgets the memory.",
        "c_next = ft * c_prev + it * cct",
        lambda xt, a, c, p: _lstm_cell(xt, a, c, p, roles_swapped=True),
    ),
    Mistake(
        "lstm_cell_forward.a_next_no_tanh", "lstm_cell_forward",
        "a_next = ot * c_next, without tanh",
        "The hidden state is the output gate times tanh of the new cell state; without the "
        "tanh a_next is not squashed into -1..1.",
        "a_next = ot * np.tanh(c_next)",
        lambda xt, a, c, p: _lstm_cell(xt, a, c, p, tanh_c=False),
    ),
    Mistake(
        "lstm_cell_forward.tanh_forget_gate", "lstm_cell_forward",
        "the forget gate uses tanh instead of sigmoid",
        "Gates are sigmoids (values in 0..1: how much to let through); only the candidate "
        "cct uses tanh.",
        "ft = sigmoid(np.dot(Wf, concat) + bf)",
        lambda xt, a, c, p: _lstm_cell(xt, a, c, p, f_act=np.tanh),
    ),
    Mistake(
        "lstm_cell_forward.sigmoid_candidate", "lstm_cell_forward",
        "the candidate cct uses sigmoid instead of tanh",
        "The candidate value is tanh (values in -1..1); sigmoid is for the gates.",
        "cct = np.tanh(np.dot(Wc, concat) + bc)",
        lambda xt, a, c, p: _lstm_cell(xt, a, c, p, c_act=sigmoid),
    ),
    Mistake(
        "lstm_cell_forward.no_forget_term", "lstm_cell_forward",
        "c_next is missing the ft * c_prev term",
        "The new cell state keeps part of the old one (ft * c_prev) and adds the gated "
        "candidate (it * cct); dropping the first term throws the memory away.",
        "c_next = ft * c_prev + it * cct",
        lambda xt, a, c, p: _lstm_cell(xt, a, c, p, forget=False),
    ),
    Mistake(
        "lstm_cell_forward.cache_reordered", "lstm_cell_forward",
        "cache lists ot before cct",
        "lstm_cell_backward unpacks the cache as (a_next, c_next, a_prev, c_prev, ft, it, "
        "cct, ot, xt, parameters); any other order hands it the wrong arrays.",
        "cache = (a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters)",
        lambda xt, a, c, p: _lstm_cell(xt, a, c, p, order=(0, 1, 2, 3, 4, 5, 7, 6, 8, 9)),
    ),
)  # fmt: skip


# ---------------------------------------------------------------------------------------------
# lstm_forward


def _lstm_seq(x: Array, a0: Array, p: dict[str, Array], *, bug: str = "") -> Any:
    _, m, T_x = x.shape
    n_y, n_a = p["Wy"].shape
    a = np.zeros((n_a, m, T_x))
    c = a if bug == "c_is_a" else np.zeros((n_a, m, T_x))
    y = np.zeros((n_y, m, T_x))
    caches = []
    a_next = a0
    # c[:, :, 0] is a view: writing c[:, :, 0] later changes the c_prev stored in caches[0].
    c_next = c[:, :, 0] if bug == "c_view" else np.zeros((n_a, m))
    for t in range(T_x):
        if bug == "c_reset":
            c_next = np.zeros((n_a, m))
        a_prev = a0 if bug == "a0_every_step" else a_next
        a_next, c_next, yt, cache = lstm_cell_forward(x[:, :, t], a_prev, c_next, p)
        a[:, :, t] = a_next
        c[:, :, t] = c_next
        y[:, :, t] = yt
        caches.append(cache)
    if bug == "y_c_order":
        return a, c, y, (caches, x)
    return a, y, c, (caches, x)


LSTM_FORWARD = (
    Mistake(
        "lstm_forward.c_view", "lstm_forward",
        "c_next starts as c[:, :, 0], a view into c",
        "c[:, :, 0] is not a new array but a window into c. When step 0 writes "
        "c[:, :, 0] = c_next, the c_prev stored in caches[0] changes too, and the backward "
        "pass then sees the wrong initial cell state.",
        "c_next = np.zeros((n_a, m))",
        lambda x, a0, p: _lstm_seq(x, a0, p, bug="c_view"),
    ),
    Mistake(
        "lstm_forward.c_is_a", "lstm_forward",
        "c is the same array as a (c = a)",
        "'c = a' does not copy: both names point to one array, so storing the cell states "
        "overwrites the hidden states. Create c with its own np.zeros.",
        "c = np.zeros((n_a, m, T_x))",
        lambda x, a0, p: _lstm_seq(x, a0, p, bug="c_is_a"),
    ),
    Mistake(
        "lstm_forward.y_c_order", "lstm_forward",
        "y and c are returned in the wrong order",
        "lstm_forward returns (a, y, c, caches); returning c before y swaps the predictions "
        "and the cell states.",
        "return a, y, c, caches",
        lambda x, a0, p: _lstm_seq(x, a0, p, bug="y_c_order"),
    ),
    Mistake(
        "lstm_forward.c_reset", "lstm_forward",
        "c_next is reset to zeros at every step",
        "Only the initial cell state is zeros; inside the loop each step must continue from "
        "the c_next the previous step returned. Initialise it once, before the loop.",
        "c_next = np.zeros((n_a, m))  # once, before the loop",
        lambda x, a0, p: _lstm_seq(x, a0, p, bug="c_reset"),
    ),
    Mistake(
        "lstm_forward.a0_every_step", "lstm_forward",
        "a0 is passed to the cell at every time step",
        "Each step must start from the hidden state the previous step produced; passing a0 "
        "every time makes the LSTM forget its past hidden states.",
        "a_next, c_next, yt, cache = lstm_cell_forward(x[:, :, t], a_next, c_next, parameters)",
        lambda x, a0, p: _lstm_seq(x, a0, p, bug="a0_every_step"),
    ),
)  # fmt: skip


# ---------------------------------------------------------------------------------------------
# rnn_cell_backward


def _rnn_cell_bwd(da_next: Array, cache: Any, *, bug: str = "") -> dict[str, Array]:
    a_next, a_prev, xt, p = cache
    Wax, Waa = p["Wax"], p["Waa"]
    state = a_prev if bug == "dtanh_a_prev" else a_next
    dtanh = (1 - state**2) if bug == "no_da_next" else (1 - state**2) * da_next
    dxt = np.dot((Waa if bug == "dxt_waa" else Wax).T, dtanh)
    return {
        "dxt": dxt,
        "da_prev": np.dot(Waa.T, dtanh),
        "dWax": np.dot(dtanh, xt.T),
        "dWaa": np.dot(dtanh, a_prev.T),
        "dba": np.sum(dtanh, axis=1, keepdims=bug != "no_keepdims"),
    }


RNN_CELL_BACKWARD = (
    Mistake(
        "rnn_cell_backward.dtanh_a_prev", "rnn_cell_backward",
        "the tanh derivative uses a_prev instead of a_next",
        "The derivative of tanh at step t is 1 - a_next**2 (a_next = tanh(...) is the output "
        "of this step's tanh), not 1 - a_prev**2.",
        "dtanh = (1 - a_next ** 2) * da_next",
        lambda da, cache: _rnn_cell_bwd(da, cache, bug="dtanh_a_prev"),
    ),
    Mistake(
        "rnn_cell_backward.dba_no_keepdims", "rnn_cell_backward",
        "dba is summed without keepdims=True",
        "np.sum(dtanh, axis=1) has shape (n_a,), but dba must have the bias's shape (n_a, 1). "
        "Added to an (n_a, 1) array, an (n_a,) array broadcasts to (n_a, n_a).",
        "dba = np.sum(dtanh, axis=1, keepdims=True)",
        lambda da, cache: _rnn_cell_bwd(da, cache, bug="no_keepdims"),
    ),
    Mistake(
        "rnn_cell_backward.dtanh_no_da_next", "rnn_cell_backward",
        "dtanh is not multiplied by da_next",
        "Chain rule: the gradient flowing into tanh is da_next times tanh's derivative; "
        "without da_next every gradient ignores the upstream signal.",
        "dtanh = (1 - a_next ** 2) * da_next",
        lambda da, cache: _rnn_cell_bwd(da, cache, bug="no_da_next"),
    ),
    Mistake(
        "rnn_cell_backward.dxt_waa", "rnn_cell_backward",
        "dxt uses Waa instead of Wax",
        "xt entered the cell through Wax, so its gradient is Wax.T · dtanh (shape (n_x, m)); "
        "Waa.T · dtanh is the gradient of a_prev.",
        "dxt = np.dot(Wax.T, dtanh)",
        lambda da, cache: _rnn_cell_bwd(da, cache, bug="dxt_waa"),
    ),
)  # fmt: skip


# ---------------------------------------------------------------------------------------------
# rnn_backward


def _rnn_bwd(da: Array, caches: Any, *, bug: str = "") -> dict[str, Array]:
    cache_list, _ = caches
    n_a, m, T_x = da.shape
    n_x = cache_list[0][2].shape[0]
    dx = np.zeros((n_x, m, T_x))
    g = {"dWax": np.zeros((n_a, n_x)), "dWaa": np.zeros((n_a, n_a)), "dba": np.zeros((n_a, 1))}
    da_prevt = np.zeros((n_a, m))
    da0 = da_prevt
    steps = range(T_x) if bug == "forward_loop" else reversed(range(T_x))
    for t in steps:
        upstream = da[:, :, t] if bug == "no_da_prev" else da[:, :, t] + da_prevt
        if t == 0:
            da0 = upstream  # used only by the "da0 one step late" mistake
        grads = rnn_cell_backward(upstream, cache_list[t])
        da_prevt = grads["da_prev"]
        dx[:, :, t] = grads["dxt"]
        for k in g:
            g[k] = grads[k] if bug == "overwrite" else g[k] + grads[k]
    if bug != "da0_late":
        da0 = da_prevt
    return {"dx": dx, "da0": da0, **g}


RNN_BACKWARD = (
    Mistake(
        "rnn_backward.overwrite", "rnn_backward",
        "the weight gradients are overwritten instead of accumulated",
        "Wax, Waa and ba are shared by every time step, so their gradients are sums over the "
        "steps. Assigning (=) keeps only the last step processed (t = 0).",
        'dWax += gradients["dWax"]\ndWaa += gradients["dWaa"]\ndba += gradients["dba"]',
        lambda da, caches: _rnn_bwd(da, caches, bug="overwrite"),
    ),
    Mistake(
        "rnn_backward.no_da_prev", "rnn_backward",
        "da_prev is not propagated to the previous step",
        "The hidden state at step t influences the loss directly (da[:, :, t]) and through "
        "every later step (da_prev of step t+1): the cell must get the sum of both.",
        'gradients = rnn_cell_backward(da[:, :, t] + da_prevt, caches[t])',
        lambda da, caches: _rnn_bwd(da, caches, bug="no_da_prev"),
    ),
    Mistake(
        "rnn_backward.da0_late", "rnn_backward",
        "da0 is the gradient of a<1>, not of a0",
        "a0 enters the first cell, so its gradient is that cell's da_prev after the last "
        "iteration of the backward loop, not the upstream gradient fed into it.",
        'da0 = da_prevt  # after the loop: gradients["da_prev"] of step t = 0',
        lambda da, caches: _rnn_bwd(da, caches, bug="da0_late"),
    ),
    Mistake(
        "rnn_backward.forward_loop", "rnn_backward",
        "the backward loop runs forwards in time",
        "Backpropagation through time starts at the last step: da_prev of step t is needed "
        "by step t-1, so iterate over reversed(range(T_x)).",
        "for t in reversed(range(T_x)):",
        lambda da, caches: _rnn_bwd(da, caches, bug="forward_loop"),
    ),
)  # fmt: skip


# ---------------------------------------------------------------------------------------------
# lstm_cell_backward


def _lstm_cell_bwd(da_next: Array, dc_next: Array, cache: Any, *, bug: str = "") -> Any:
    a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, p = cache
    n_a = a_next.shape[0]
    tanh_c = np.tanh(c_next)
    dc = dc_next if bug == "dc_no_da" else dc_next + da_next * ot * (1 - tanh_c**2)
    dot = da_next * tanh_c * ot * (1 if bug == "dot_no_1_minus_ot" else (1 - ot))
    dcct = dc * it * (1 - (np.tanh(cct) if bug == "dcct_tanh" else cct) ** 2)
    dit = dc * cct * it * (1 - it)
    dft = dc * c_prev * ft * (1 - ft)
    concat = np.concatenate((a_prev, xt), axis=0)
    keep = bug != "no_keepdims"
    grads = {}
    for gate, d in (("f", dft), ("i", dit), ("c", dcct), ("o", dot)):
        grads["dW" + gate] = np.dot(d, concat.T)
        grads["db" + gate] = np.sum(d, axis=1, keepdims=keep)
    pairs = [(p["W" + g], d) for g, d in (("f", dft), ("i", dit), ("c", dcct), ("o", dot))]
    if bug == "full_weights":
        da_prev = sum(np.dot(W.T, d) for W, d in pairs)
        dxt = da_prev
    else:
        da_prev = sum(np.dot(W[:, :n_a].T, d) for W, d in pairs)
        dxt = sum(np.dot(W[:, n_a:].T, d) for W, d in pairs)
    dc_prev = dc_next * ft if bug == "dc_prev_no_da" else dc * ft
    return {"dxt": dxt, "da_prev": da_prev, "dc_prev": dc_prev, **grads}


LSTM_CELL_BACKWARD = (
    Mistake(
        "lstm_cell_backward.full_weights", "lstm_cell_backward",
        "da_prev and dxt use the whole W.T instead of its a_prev / xt blocks",
        "Each gate's W multiplies concat = [a_prev; xt]: its first n_a columns act on a_prev "
        "and the rest on xt. da_prev needs W[:, :n_a].T and dxt needs W[:, n_a:].T; the full "
        "W.T gives (n_a + n_x, m) arrays.",
        "da_prev = np.dot(Wf[:, :n_a].T, dft) + np.dot(Wi[:, :n_a].T, dit) + "
        "np.dot(Wc[:, :n_a].T, dcct) + np.dot(Wo[:, :n_a].T, dot)\n"
        "dxt = np.dot(Wf[:, n_a:].T, dft) + np.dot(Wi[:, n_a:].T, dit) + "
        "np.dot(Wc[:, n_a:].T, dcct) + np.dot(Wo[:, n_a:].T, dot)",
        lambda da, dc, cache: _lstm_cell_bwd(da, dc, cache, bug="full_weights"),
    ),
    Mistake(
        "lstm_cell_backward.dcct_tanh", "lstm_cell_backward",
        "dcct applies tanh to cct again",
        "cct is already tanh(...), so the derivative of tanh there is 1 - cct**2; "
        "1 - tanh(cct)**2 applies tanh twice.",
        "dcct = dc * it * (1 - cct ** 2)\n"
        "# where dc = dc_next + da_next * ot * (1 - np.tanh(c_next) ** 2)",
        lambda da, dc, cache: _lstm_cell_bwd(da, dc, cache, bug="dcct_tanh"),
    ),
    Mistake(
        "lstm_cell_backward.bias_no_keepdims", "lstm_cell_backward",
        "the bias gradients are summed without keepdims=True",
        "np.sum(d, axis=1) has shape (n_a,), but dbf, dbi, dbc and dbo must have the biases' "
        "shape (n_a, 1).",
        "dbf = np.sum(dft, axis=1, keepdims=True)   # same for dbi, dbc, dbo",
        lambda da, dc, cache: _lstm_cell_bwd(da, dc, cache, bug="no_keepdims"),
    ),
    Mistake(
        "lstm_cell_backward.dc_prev_no_da", "lstm_cell_backward",
        "dc_prev leaves out the da_next term",
        "c_next reaches the loss directly (dc_next) and through a_next = ot * tanh(c_next), so "
        "dc_prev = (dc_next + da_next * ot * (1 - tanh(c_next)**2)) * ft, not dc_next * ft.",
        "dc_prev = (dc_next + ot * (1 - np.tanh(c_next) ** 2) * da_next) * ft",
        lambda da, dc, cache: _lstm_cell_bwd(da, dc, cache, bug="dc_prev_no_da"),
    ),
    Mistake(
        "lstm_cell_backward.dc_no_da", "lstm_cell_backward",
        "the cell-state gradient leaves out the da_next term",
        "c_next affects the loss directly (dc_next) and through a_next = ot * tanh(c_next): "
        "the gradient used for dcct, dit, dft and dc_prev is the sum of both.",
        "dc = dc_next + da_next * ot * (1 - np.tanh(c_next) ** 2)",
        lambda da, dc, cache: _lstm_cell_bwd(da, dc, cache, bug="dc_no_da"),
    ),
    Mistake(
        "lstm_cell_backward.dot_missing_1_minus_ot", "lstm_cell_backward",
        "dot is missing the (1 - ot) factor",
        "ot is a sigmoid, whose derivative is ot * (1 - ot).",
        "dot = da_next * np.tanh(c_next) * ot * (1 - ot)",
        lambda da, dc, cache: _lstm_cell_bwd(da, dc, cache, bug="dot_no_1_minus_ot"),
    ),
)  # fmt: skip


# ---------------------------------------------------------------------------------------------
# lstm_backward


def _lstm_bwd(da: Array, caches: Any, *, bug: str = "") -> dict[str, Array]:
    cache_list, _ = caches
    n_a, m, T_x = da.shape
    n_x = cache_list[0][8].shape[0]
    dx = np.zeros((n_x, m, T_x))
    g: dict[str, Array] = {}
    for gate in "fico":
        g["dW" + gate] = np.zeros((n_a, n_a + n_x))
        g["db" + gate] = np.zeros((n_a, 1))
    da_prevt, dc_prevt = np.zeros((n_a, m)), np.zeros((n_a, m))
    for t in reversed(range(T_x)):
        upstream = da[:, :, t] if bug == "no_da_prev" else da[:, :, t] + da_prevt
        dc_in = np.zeros((n_a, m)) if bug == "no_dc_prev" else dc_prevt
        grads = lstm_cell_backward(upstream, dc_in, cache_list[t])
        da_prevt, dc_prevt = grads["da_prev"], grads["dc_prev"]
        dx[:, :, t] = grads["dxt"]
        for k in g:
            g[k] = grads[k] if bug == "overwrite" else g[k] + grads[k]
    return {"dx": dx, "da0": da_prevt, **g}


LSTM_BACKWARD = (
    Mistake(
        "lstm_backward.overwrite", "lstm_backward",
        "the weight gradients are overwritten instead of accumulated",
        "The gate weights and biases are shared by every time step, so their gradients are "
        "sums over the steps; assigning (=) keeps only the last step processed (t = 0).",
        'dWf += gradients["dWf"]   # same for dbf, dWi, dbi, dWc, dbc, dWo, dbo',
        lambda da, caches: _lstm_bwd(da, caches, bug="overwrite"),
    ),
    Mistake(
        "lstm_backward.no_da_prev", "lstm_backward",
        "da_prev is not propagated to the previous step",
        "The hidden state at step t affects the loss directly (da[:, :, t]) and through every "
        "later step (da_prev from step t+1): the cell must get their sum.",
        "gradients = lstm_cell_backward(da[:, :, t] + da_prevt, dc_prevt, caches[t])",
        lambda da, caches: _lstm_bwd(da, caches, bug="no_da_prev"),
    ),
    Mistake(
        "lstm_backward.no_dc_prev", "lstm_backward",
        "dc_prev is not propagated to the previous step",
        "The cell state carries memory from step to step, so its gradient flows back too: "
        "feed the dc_prev of step t+1 into the cell at step t.",
        "gradients = lstm_cell_backward(da[:, :, t] + da_prevt, dc_prevt, caches[t])",
        lambda da, caches: _lstm_bwd(da, caches, bug="no_dc_prev"),
    ),
)  # fmt: skip


MISTAKES: tuple[Mistake, ...] = (
    *RNN_CELL_FORWARD,
    *RNN_FORWARD,
    *LSTM_CELL_FORWARD,
    *LSTM_FORWARD,
    *RNN_CELL_BACKWARD,
    *RNN_BACKWARD,
    *LSTM_CELL_BACKWARD,
    *LSTM_BACKWARD,
)
