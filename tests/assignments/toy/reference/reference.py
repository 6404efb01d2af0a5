"""Reference solution of the toy assignment: a dense layer's forward and backward pass.

The stub notebook is generated from these functions: each one's lines between
``### START CODE HERE ###`` and ``### END CODE HERE ###`` become placeholders (``Z = None``).
Keep each function self-contained (it becomes one notebook cell), the markers on their own lines,
and only assignments inside the region (the ``return`` stays outside it).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import numpy as np


def _helpers() -> ModuleType:
    """The course helper module students import, loaded from next to assignment.toml.

    The reference uses the very ``relu`` students get, so the expected outputs cannot drift from
    it. (Loaded by path: the reference is imported by path too, outside any package.)
    """
    path = Path(__file__).resolve().parent.parent / "toy_utils.py"
    spec = importlib.util.spec_from_file_location("_toy_reference_utils", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


relu = _helpers().relu


def linear_forward(X, W, b):
    """The linear part of a layer: Z = W X + b.

    Arguments:
    X -- input data, numpy array of shape (n_in, m)
    W -- weights, numpy array of shape (n_out, n_in)
    b -- bias, numpy array of shape (n_out, 1)

    Returns:
    Z -- the pre-activation, numpy array of shape (n_out, m)
    cache -- tuple (X, W, b), for the backward pass
    """
    ### START CODE HERE ###
    Z = np.dot(W, X) + b
    cache = (X, W, b)
    ### END CODE HERE ###
    return Z, cache


def dense_forward(X, W, b):
    """A dense layer: the linear part followed by relu (from toy_utils).

    Arguments:
    X -- input data, numpy array of shape (n_in, m)
    W -- weights, numpy array of shape (n_out, n_in)
    b -- bias, numpy array of shape (n_out, 1)

    Returns:
    A -- the activation relu(Z), numpy array of shape (n_out, m)
    cache -- tuple (linear_cache, Z): linear_forward's cache and the pre-activation
    """
    ### START CODE HERE ###
    Z, linear_cache = linear_forward(X, W, b)
    A = relu(Z)
    cache = (linear_cache, Z)
    ### END CODE HERE ###
    return A, cache


def linear_backward(dZ, cache):
    """The backward pass of the linear part.

    Arguments:
    dZ -- gradient of the loss with respect to Z, numpy array of shape (n_out, m)
    cache -- tuple (X, W, b) from linear_forward

    Returns:
    gradients -- python dictionary containing:
        dX -- gradient with respect to X, numpy array of shape (n_in, m)
        dW -- gradient with respect to W, numpy array of shape (n_out, n_in)
        db -- gradient with respect to b, numpy array of shape (n_out, 1)
    """
    X, W, _b = cache
    ### START CODE HERE ###
    dX = np.dot(W.T, dZ)
    dW = np.dot(dZ, X.T)
    db = np.sum(dZ, axis=1, keepdims=True)
    ### END CODE HERE ###
    gradients = {"dX": dX, "dW": dW, "db": db}
    return gradients
