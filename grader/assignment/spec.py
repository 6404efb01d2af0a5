"""The assignment's contract: the eight exercises, their arguments and what they return."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

RNN_PARAMS = ("Wax", "Waa", "Wya", "ba", "by")
LSTM_PARAMS = ("Wf", "bf", "Wi", "bi", "Wc", "bc", "Wo", "bo", "Wy", "by")
RNN_CACHE = ("a_next", "a_prev", "xt", "parameters")
LSTM_CACHE = ("a_next", "c_next", "a_prev", "c_prev", "ft", "it", "cct", "ot", "xt", "parameters")


@dataclass(frozen=True)
class ExerciseSpec:
    """One graded function: how it is called and the shape of what it must return."""

    name: str
    kind: Literal["forward", "backward"]
    args: tuple[str, ...]
    #: names of the returned tuple's elements (forward) or the gradient dict's keys (backward)
    outputs: tuple[str, ...]
    #: exercises this one is expected to call (its failures explain ours)
    calls: tuple[str, ...] = ()
    #: field names of a single-step cache, for forward cells and sequences
    cache_fields: tuple[str, ...] = ()
    #: True when the last output is ``caches = (list of T_x cell caches, x)``
    sequence: bool = False
    default_points: float = 0.0

    @property
    def returns_dict(self) -> bool:
        return self.kind == "backward"


EXERCISES: tuple[ExerciseSpec, ...] = (
    ExerciseSpec(
        "rnn_cell_forward",
        "forward",
        ("xt", "a_prev", "parameters"),
        ("a_next", "yt_pred", "cache"),
        cache_fields=RNN_CACHE,
        default_points=15,
    ),
    ExerciseSpec(
        "rnn_forward",
        "forward",
        ("x", "a0", "parameters"),
        ("a", "y_pred", "caches"),
        calls=("rnn_cell_forward",),
        cache_fields=RNN_CACHE,
        sequence=True,
        default_points=15,
    ),
    ExerciseSpec(
        "lstm_cell_forward",
        "forward",
        ("xt", "a_prev", "c_prev", "parameters"),
        ("a_next", "c_next", "yt_pred", "cache"),
        cache_fields=LSTM_CACHE,
        default_points=15,
    ),
    ExerciseSpec(
        "lstm_forward",
        "forward",
        ("x", "a0", "parameters"),
        ("a", "y", "c", "caches"),
        calls=("lstm_cell_forward",),
        cache_fields=LSTM_CACHE,
        sequence=True,
        default_points=15,
    ),
    ExerciseSpec(
        "rnn_cell_backward",
        "backward",
        ("da_next", "cache"),
        ("dxt", "da_prev", "dWax", "dWaa", "dba"),
        default_points=10,
    ),
    ExerciseSpec(
        "rnn_backward",
        "backward",
        ("da", "caches"),
        ("dx", "da0", "dWax", "dWaa", "dba"),
        calls=("rnn_cell_backward",),
        default_points=10,
    ),
    ExerciseSpec(
        "lstm_cell_backward",
        "backward",
        ("da_next", "dc_next", "cache"),
        ("dxt", "da_prev", "dc_prev", "dWf", "dbf", "dWi", "dbi", "dWc", "dbc", "dWo", "dbo"),
        default_points=10,
    ),
    ExerciseSpec(
        "lstm_backward",
        "backward",
        ("da", "caches"),
        ("dx", "da0", "dWf", "dbf", "dWi", "dbi", "dWc", "dbc", "dWo", "dbo"),
        calls=("lstm_cell_backward",),
        default_points=10,
    ),
)

BY_NAME: dict[str, ExerciseSpec] = {spec.name: spec for spec in EXERCISES}
NAMES: tuple[str, ...] = tuple(spec.name for spec in EXERCISES)
