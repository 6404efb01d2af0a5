"""Helpers the course's notebook imports with ``from rnn_utils import *``.

A stand-in for the course's ``rnn_utils.py`` so that course notebooks run offline while they are
graded. Like the original it does ``import numpy as np`` at module level, so the star import also
brings ``np`` into the notebook: some submissions rely on that. Only numpy is imported.
"""

from __future__ import annotations

import numpy as np

__all__ = ["initialize_adam", "np", "sigmoid", "softmax", "update_parameters_with_adam"]


def softmax(x: np.ndarray) -> np.ndarray:
    """Softmax over axis 0: every column of ``x`` becomes a probability distribution.

    Shifting by each column's maximum leaves the result unchanged and keeps ``np.exp`` from
    overflowing on large scores.
    """
    e_x = np.exp(x - np.max(x, axis=0, keepdims=True))
    return e_x / e_x.sum(axis=0, keepdims=True)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function ``1 / (1 + exp(-x))``, elementwise."""
    return 1 / (1 + np.exp(-x))


def initialize_adam(parameters: dict[str, np.ndarray]) -> tuple[dict, dict]:
    """Zero first (``v``) and second (``s``) moment estimates for layer parameters ``W1, b1, ...``.

    Returns ``(v, s)``, each keyed ``dW1, db1, ..., dWL, dbL`` like the gradients.
    """
    n_layers = len(parameters) // 2
    v: dict[str, np.ndarray] = {}
    s: dict[str, np.ndarray] = {}
    for layer in range(1, n_layers + 1):
        for kind in ("W", "b"):
            v[f"d{kind}{layer}"] = np.zeros_like(parameters[f"{kind}{layer}"])
            s[f"d{kind}{layer}"] = np.zeros_like(parameters[f"{kind}{layer}"])
    return v, s


def update_parameters_with_adam(
    parameters: dict[str, np.ndarray],
    grads: dict[str, np.ndarray],
    v: dict[str, np.ndarray],
    s: dict[str, np.ndarray],
    t: int,
    learning_rate: float = 0.01,
    beta1: float = 0.9,
    beta2: float = 0.999,
    epsilon: float = 1e-8,
) -> tuple[dict, dict, dict]:
    """One Adam step (t counts from 1) on ``W1, b1, ...``; returns ``(parameters, v, s)``.

    Moments are updated in place in ``v`` and ``s``; the bias-corrected estimates are used only
    for the step, as in the course.
    """
    n_layers = len(parameters) // 2
    for layer in range(1, n_layers + 1):
        for kind in ("W", "b"):
            key, grad_key = f"{kind}{layer}", f"d{kind}{layer}"
            v[grad_key] = beta1 * v[grad_key] + (1 - beta1) * grads[grad_key]
            s[grad_key] = beta2 * s[grad_key] + (1 - beta2) * np.square(grads[grad_key])
            v_corrected = v[grad_key] / (1 - beta1**t)
            s_corrected = s[grad_key] / (1 - beta2**t)
            parameters[key] = parameters[key] - learning_rate * v_corrected / (
                np.sqrt(s_corrected) + epsilon
            )
    return parameters, v, s
