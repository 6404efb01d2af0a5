"""The RNN assignment's reference: the eight functions, the case builder and the mistake catalogue.

``grade build exercises/rnn`` loads this package (from ``exercises/rnn/assignment.toml``'s
``[build] reference``); it is never shipped in the wheel. See docs/authoring.md for the contract.
"""

from . import notebook
from .cases import make_args
from .mistakes import MISTAKES
from .reference import (
    lstm_backward,
    lstm_cell_backward,
    lstm_cell_forward,
    lstm_forward,
    rnn_backward,
    rnn_cell_backward,
    rnn_cell_forward,
    rnn_forward,
    sigmoid,
    softmax,
)

__all__ = [
    "MISTAKES",
    "lstm_backward",
    "lstm_cell_backward",
    "lstm_cell_forward",
    "lstm_forward",
    "make_args",
    "notebook",
    "rnn_backward",
    "rnn_cell_backward",
    "rnn_cell_forward",
    "rnn_forward",
    "sigmoid",
    "softmax",
]
