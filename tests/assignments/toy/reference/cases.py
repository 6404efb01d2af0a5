"""Input builder of the toy assignment: the arguments of one case.

``grade build`` calls ``make_args(exercise, draw, dims, public)`` once for the worked example
(``public`` is True and ``draw`` is ``np.random.randn`` right after ``np.random.seed(public_seed)``)
and once per hidden case (``draw`` samples a seeded generator, scaled by the case's ``scale``).
``dims`` holds the exercise's ``sizes`` of the case (for the worked example: its ``public_dims``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .reference import linear_forward

Draw = Callable[..., np.ndarray]


def make_args(name: str, draw: Draw, d: dict[str, int], public: bool) -> tuple[Any, ...]:
    """Inputs of one case of exercise ``name`` with sizes ``d`` (``public`` is unused here)."""
    n_in, n_out, m = d["n_in"], d["n_out"], d["m"]
    X, W, b = draw(n_in, m), draw(n_out, n_in), draw(n_out, 1)
    if name in ("linear_forward", "dense_forward"):
        return (X, W, b)
    if name == "linear_backward":
        _, cache = linear_forward(X, W, b)
        return (draw(n_out, m), cache)
    raise KeyError(f"no input builder for exercise {name!r}")
