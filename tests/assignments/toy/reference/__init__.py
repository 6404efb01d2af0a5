"""The toy assignment's reference: the exercise functions, the case builder and the catalogue.

``grade build tests/assignments/toy`` imports this package by path (``[build] reference`` in
assignment.toml); it is never shipped. It has no ``notebook`` module on purpose: the stub is the
plain generated one. See docs/authoring.md for the contract.
"""

from .cases import make_args
from .mistakes import MISTAKES
from .reference import dense_forward, linear_backward, linear_forward, relu

__all__ = ["MISTAKES", "dense_forward", "linear_backward", "linear_forward", "make_args", "relu"]
