"""The toy assignment's catalogue of known mistakes: small modifications of the reference.

Each ``Mistake.run`` takes its exercise's arguments. ``grade build`` runs every entry on the
golden cases and stores its outputs; a student whose outputs equal one entry's on every case is
told its title. An entry must differ from the reference on at least one case (else the build
fails: it would be named on correct code).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Mistake:
    id: str  #: "<exercise>.<short name>", stable: it appears in results
    exercise: str
    title: str  #: one line: what the code does wrong
    explanation: str  #: plain words: why it is wrong and how it shows
    fix: str  #: the correct line(s) of code
    run: Callable[..., Any]


def _forward_no_bias(X, W, b):
    return np.dot(W, X), (X, W, b)


def _backward(dZ, cache, *, dW=None, db=None):
    X, W, _ = cache
    return {
        "dX": np.dot(W.T, dZ),
        "dW": np.dot(dZ, X.T) if dW is None else dW(dZ, X),
        "db": np.sum(dZ, axis=1, keepdims=True) if db is None else db(dZ),
    }


MISTAKES = (
    Mistake(
        "linear_forward.no_bias",
        "linear_forward",
        "the bias b is not added",
        "Z = W X + b: without b every output unit is shifted by the wrong amount.",
        "Z = np.dot(W, X) + b",
        _forward_no_bias,
    ),
    Mistake(
        "linear_backward.db_no_sum",
        "linear_backward",
        "db is dZ itself: it is not summed over the examples",
        "b is added to every example (column) of Z, so its gradient sums dZ over the examples: "
        "db has shape (n_out, 1), one entry per output unit.",
        "db = np.sum(dZ, axis=1, keepdims=True)",
        lambda dZ, cache: _backward(dZ, cache, db=lambda d: d),
    ),
    Mistake(
        "linear_backward.dW_transposed",
        "linear_backward",
        "dW is transposed: X times dZ.T instead of dZ times X.T",
        "dW must have W's shape (n_out, n_in): dZ (n_out, m) times X.T (m, n_in).",
        "dW = np.dot(dZ, X.T)",
        lambda dZ, cache: _backward(dZ, cache, dW=lambda d, x: np.dot(x, d.T)),
    ),
)
