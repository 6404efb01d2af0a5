"""Reference RNN and LSTM cells, forward passes and backpropagation through time.

The stub notebook is generated from this file: the lines between ``### START CODE HERE ###`` and
``### END CODE HERE ###`` are what students write. Keep each function self-contained (it becomes
one notebook cell) and keep the markers on their own lines.
"""

from __future__ import annotations

from typing import Any

import numpy as np

Array = np.ndarray
Params = dict[str, Array]


def softmax(x: Array) -> Array:
    """Softmax over axis 0 (one distribution per column), shifted for numerical stability."""
    e_x = np.exp(x - np.max(x, axis=0, keepdims=True))
    return e_x / e_x.sum(axis=0, keepdims=True)


def sigmoid(x: Array) -> Array:
    return 1 / (1 + np.exp(-x))


def rnn_cell_forward(xt: Array, a_prev: Array, parameters: Params) -> tuple[Array, Array, Any]:
    """One step of the basic RNN cell.

    Arguments:
    xt -- input data at timestep "t", numpy array of shape (n_x, m)
    a_prev -- hidden state at timestep "t-1", numpy array of shape (n_a, m)
    parameters -- python dictionary containing:
        Wax -- weight matrix multiplying the input, numpy array of shape (n_a, n_x)
        Waa -- weight matrix multiplying the hidden state, numpy array of shape (n_a, n_a)
        Wya -- weight matrix relating the hidden state to the output, numpy array of shape (n_y, n_a)
        ba -- bias, numpy array of shape (n_a, 1)
        by -- bias relating the hidden state to the output, numpy array of shape (n_y, 1)

    Returns:
    a_next -- next hidden state, of shape (n_a, m)
    yt_pred -- prediction at timestep "t", numpy array of shape (n_y, m)
    cache -- tuple of values needed for the backward pass: (a_next, a_prev, xt, parameters)
    """
    Wax = parameters["Wax"]
    Waa = parameters["Waa"]
    Wya = parameters["Wya"]
    ba = parameters["ba"]
    by = parameters["by"]

    ### START CODE HERE ###
    a_next = np.tanh(np.dot(Waa, a_prev) + np.dot(Wax, xt) + ba)
    yt_pred = softmax(np.dot(Wya, a_next) + by)
    ### END CODE HERE ###

    cache = (a_next, a_prev, xt, parameters)
    return a_next, yt_pred, cache


def rnn_forward(x: Array, a0: Array, parameters: Params) -> tuple[Array, Array, Any]:
    """Forward propagation of the basic RNN over T_x time steps.

    Arguments:
    x -- input data for every time step, of shape (n_x, m, T_x)
    a0 -- initial hidden state, of shape (n_a, m)
    parameters -- python dictionary with Waa, Wax, Wya, ba, by (see rnn_cell_forward)

    Returns:
    a -- hidden states for every time step, numpy array of shape (n_a, m, T_x)
    y_pred -- predictions for every time step, numpy array of shape (n_y, m, T_x)
    caches -- tuple of values needed for the backward pass: (list of caches, x)
    """
    caches = []
    n_x, m, T_x = x.shape
    n_y, n_a = parameters["Wya"].shape

    ### START CODE HERE ###
    a = np.zeros((n_a, m, T_x))
    y_pred = np.zeros((n_y, m, T_x))
    a_next = a0
    for t in range(T_x):
        xt = x[:, :, t]
        a_next, yt_pred, cache = rnn_cell_forward(xt, a_next, parameters)
        a[:, :, t] = a_next
        y_pred[:, :, t] = yt_pred
        caches.append(cache)
    ### END CODE HERE ###

    caches = (caches, x)
    return a, y_pred, caches


def lstm_cell_forward(
    xt: Array, a_prev: Array, c_prev: Array, parameters: Params
) -> tuple[Array, Array, Array, Any]:
    """One step of the LSTM cell.

    Arguments:
    xt -- input data at timestep "t", numpy array of shape (n_x, m)
    a_prev -- hidden state at timestep "t-1", numpy array of shape (n_a, m)
    c_prev -- memory state at timestep "t-1", numpy array of shape (n_a, m)
    parameters -- python dictionary containing:
        Wf, bf -- forget gate weights (n_a, n_a + n_x) and bias (n_a, 1)
        Wi, bi -- update gate weights (n_a, n_a + n_x) and bias (n_a, 1)
        Wc, bc -- candidate value weights (n_a, n_a + n_x) and bias (n_a, 1)
        Wo, bo -- output gate weights (n_a, n_a + n_x) and bias (n_a, 1)
        Wy, by -- prediction weights (n_y, n_a) and bias (n_y, 1)

    Returns:
    a_next -- next hidden state, of shape (n_a, m)
    c_next -- next memory state, of shape (n_a, m)
    yt_pred -- prediction at timestep "t", numpy array of shape (n_y, m)
    cache -- (a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters)
    """
    Wf = parameters["Wf"]
    bf = parameters["bf"]
    Wi = parameters["Wi"]
    bi = parameters["bi"]
    Wc = parameters["Wc"]
    bc = parameters["bc"]
    Wo = parameters["Wo"]
    bo = parameters["bo"]
    Wy = parameters["Wy"]
    by = parameters["by"]

    ### START CODE HERE ###
    concat = np.concatenate((a_prev, xt), axis=0)
    ft = sigmoid(np.dot(Wf, concat) + bf)
    it = sigmoid(np.dot(Wi, concat) + bi)
    cct = np.tanh(np.dot(Wc, concat) + bc)
    c_next = ft * c_prev + it * cct
    ot = sigmoid(np.dot(Wo, concat) + bo)
    a_next = ot * np.tanh(c_next)
    yt_pred = softmax(np.dot(Wy, a_next) + by)
    ### END CODE HERE ###

    cache = (a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters)
    return a_next, c_next, yt_pred, cache


def lstm_forward(x: Array, a0: Array, parameters: Params) -> tuple[Array, Array, Array, Any]:
    """Forward propagation of the LSTM over T_x time steps; the initial memory state is zeros.

    Arguments:
    x -- input data for every time step, of shape (n_x, m, T_x)
    a0 -- initial hidden state, of shape (n_a, m)
    parameters -- python dictionary with Wf, bf, Wi, bi, Wc, bc, Wo, bo, Wy, by

    Returns:
    a -- hidden states for every time step, numpy array of shape (n_a, m, T_x)
    y -- predictions for every time step, numpy array of shape (n_y, m, T_x)
    c -- memory states for every time step, numpy array of shape (n_a, m, T_x)
    caches -- tuple of values needed for the backward pass: (list of caches, x)
    """
    caches = []
    n_x, m, T_x = x.shape
    n_y, n_a = parameters["Wy"].shape

    ### START CODE HERE ###
    a = np.zeros((n_a, m, T_x))
    c = np.zeros((n_a, m, T_x))
    y = np.zeros((n_y, m, T_x))
    a_next = a0
    c_next = np.zeros((n_a, m))
    for t in range(T_x):
        xt = x[:, :, t]
        a_next, c_next, yt, cache = lstm_cell_forward(xt, a_next, c_next, parameters)
        a[:, :, t] = a_next
        c[:, :, t] = c_next
        y[:, :, t] = yt
        caches.append(cache)
    ### END CODE HERE ###

    caches = (caches, x)
    return a, y, c, caches


def rnn_cell_backward(da_next: Array, cache: Any) -> dict[str, Array]:
    """Backward pass of one RNN cell.

    Arguments:
    da_next -- gradient of the loss with respect to the next hidden state, of shape (n_a, m)
    cache -- the cache rnn_cell_forward returned: (a_next, a_prev, xt, parameters)

    Returns:
    gradients -- python dictionary containing:
        dxt -- gradient of the input data, of shape (n_x, m)
        da_prev -- gradient of the previous hidden state, of shape (n_a, m)
        dWax -- gradient of the input-to-hidden weights, of shape (n_a, n_x)
        dWaa -- gradient of the hidden-to-hidden weights, of shape (n_a, n_a)
        dba -- gradient of the bias, of shape (n_a, 1)
    """
    (a_next, a_prev, xt, parameters) = cache
    Wax = parameters["Wax"]
    Waa = parameters["Waa"]

    ### START CODE HERE ###
    dtanh = (1 - a_next**2) * da_next
    dxt = np.dot(Wax.T, dtanh)
    dWax = np.dot(dtanh, xt.T)
    da_prev = np.dot(Waa.T, dtanh)
    dWaa = np.dot(dtanh, a_prev.T)
    dba = np.sum(dtanh, axis=1, keepdims=True)
    ### END CODE HERE ###

    gradients = {"dxt": dxt, "da_prev": da_prev, "dWax": dWax, "dWaa": dWaa, "dba": dba}
    return gradients


def rnn_backward(da: Array, caches: Any) -> dict[str, Array]:
    """Backpropagation through time for the basic RNN.

    Arguments:
    da -- upstream gradients of all hidden states, of shape (n_a, m, T_x)
    caches -- tuple containing information from the forward pass (rnn_forward)

    Returns:
    gradients -- python dictionary containing:
        dx -- gradient with respect to the input data, of shape (n_x, m, T_x)
        da0 -- gradient with respect to the initial hidden state, of shape (n_a, m)
        dWax -- gradient with respect to the input's weight matrix, of shape (n_a, n_x)
        dWaa -- gradient with respect to the hidden state's weight matrix, of shape (n_a, n_a)
        dba -- gradient with respect to the bias, of shape (n_a, 1)
    """
    ### START CODE HERE ###
    (caches, x) = caches
    (a1, a0, x1, parameters) = caches[0]
    n_a, m, T_x = da.shape
    n_x, m = x1.shape
    dx = np.zeros((n_x, m, T_x))
    dWax = np.zeros((n_a, n_x))
    dWaa = np.zeros((n_a, n_a))
    dba = np.zeros((n_a, 1))
    da_prevt = np.zeros((n_a, m))
    for t in reversed(range(T_x)):
        gradients = rnn_cell_backward(da[:, :, t] + da_prevt, caches[t])
        dxt, da_prevt = gradients["dxt"], gradients["da_prev"]
        dx[:, :, t] = dxt
        dWax += gradients["dWax"]
        dWaa += gradients["dWaa"]
        dba += gradients["dba"]
    da0 = da_prevt
    ### END CODE HERE ###

    gradients = {"dx": dx, "da0": da0, "dWax": dWax, "dWaa": dWaa, "dba": dba}
    return gradients


def lstm_cell_backward(da_next: Array, dc_next: Array, cache: Any) -> dict[str, Array]:
    """Backward pass of one LSTM cell.

    Arguments:
    da_next -- gradient of the next hidden state, of shape (n_a, m)
    dc_next -- gradient of the next memory state, of shape (n_a, m)
    cache -- the cache lstm_cell_forward returned

    Returns:
    gradients -- python dictionary containing:
        dxt -- gradient of the input data, of shape (n_x, m)
        da_prev -- gradient of the previous hidden state, of shape (n_a, m)
        dc_prev -- gradient of the previous memory state, of shape (n_a, m)
        dWf, dWi, dWc, dWo -- gradients of the gate weights, of shape (n_a, n_a + n_x)
        dbf, dbi, dbc, dbo -- gradients of the gate biases, of shape (n_a, 1)
    """
    (a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters) = cache
    n_x, m = xt.shape
    n_a, m = a_next.shape

    ### START CODE HERE ###
    tanh_c = np.tanh(c_next)
    dc = dc_next + da_next * ot * (1 - tanh_c**2)
    dot = da_next * tanh_c * ot * (1 - ot)
    dcct = dc * it * (1 - cct**2)
    dit = dc * cct * it * (1 - it)
    dft = dc * c_prev * ft * (1 - ft)

    concat = np.concatenate((a_prev, xt), axis=0)
    dWf = np.dot(dft, concat.T)
    dWi = np.dot(dit, concat.T)
    dWc = np.dot(dcct, concat.T)
    dWo = np.dot(dot, concat.T)
    dbf = np.sum(dft, axis=1, keepdims=True)
    dbi = np.sum(dit, axis=1, keepdims=True)
    dbc = np.sum(dcct, axis=1, keepdims=True)
    dbo = np.sum(dot, axis=1, keepdims=True)

    Wf, Wi, Wc, Wo = parameters["Wf"], parameters["Wi"], parameters["Wc"], parameters["Wo"]
    da_prev = (
        np.dot(Wf[:, :n_a].T, dft)
        + np.dot(Wi[:, :n_a].T, dit)
        + np.dot(Wc[:, :n_a].T, dcct)
        + np.dot(Wo[:, :n_a].T, dot)
    )
    dc_prev = dc * ft
    dxt = (
        np.dot(Wf[:, n_a:].T, dft)
        + np.dot(Wi[:, n_a:].T, dit)
        + np.dot(Wc[:, n_a:].T, dcct)
        + np.dot(Wo[:, n_a:].T, dot)
    )
    ### END CODE HERE ###

    gradients = {
        "dxt": dxt, "da_prev": da_prev, "dc_prev": dc_prev,
        "dWf": dWf, "dbf": dbf, "dWi": dWi, "dbi": dbi,
        "dWc": dWc, "dbc": dbc, "dWo": dWo, "dbo": dbo,
    }  # fmt: skip
    return gradients


def lstm_backward(da: Array, caches: Any) -> dict[str, Array]:
    """Backpropagation through time for the LSTM; T_x is taken from ``da``.

    Arguments:
    da -- gradients of the hidden states, of shape (n_a, m, T_x)
    caches -- tuple containing information from the forward pass (lstm_forward)

    Returns:
    gradients -- python dictionary containing:
        dx -- gradient of the inputs, of shape (n_x, m, T_x)
        da0 -- gradient of the initial hidden state, of shape (n_a, m)
        dWf, dWi, dWc, dWo -- gradients of the gate weights, of shape (n_a, n_a + n_x)
        dbf, dbi, dbc, dbo -- gradients of the gate biases, of shape (n_a, 1)
    """
    ### START CODE HERE ###
    (caches, x) = caches
    (a1, c1, a0, c0, f1, i1, cc1, o1, x1, parameters) = caches[0]
    n_a, m, T_x = da.shape
    n_x, m = x1.shape
    dx = np.zeros((n_x, m, T_x))
    da_prevt = np.zeros((n_a, m))
    dc_prevt = np.zeros((n_a, m))
    dWf = np.zeros((n_a, n_a + n_x))
    dWi = np.zeros((n_a, n_a + n_x))
    dWc = np.zeros((n_a, n_a + n_x))
    dWo = np.zeros((n_a, n_a + n_x))
    dbf = np.zeros((n_a, 1))
    dbi = np.zeros((n_a, 1))
    dbc = np.zeros((n_a, 1))
    dbo = np.zeros((n_a, 1))
    for t in reversed(range(T_x)):
        gradients = lstm_cell_backward(da[:, :, t] + da_prevt, dc_prevt, caches[t])
        da_prevt = gradients["da_prev"]
        dc_prevt = gradients["dc_prev"]
        dx[:, :, t] = gradients["dxt"]
        dWf += gradients["dWf"]
        dWi += gradients["dWi"]
        dWc += gradients["dWc"]
        dWo += gradients["dWo"]
        dbf += gradients["dbf"]
        dbi += gradients["dbi"]
        dbc += gradients["dbc"]
        dbo += gradients["dbo"]
    da0 = da_prevt
    ### END CODE HERE ###

    gradients = {
        "dx": dx, "da0": da0,
        "dWf": dWf, "dbf": dbf, "dWi": dWi, "dbi": dbi,
        "dWc": dWc, "dbc": dbc, "dWo": dWo, "dbo": dbo,
    }  # fmt: skip
    return gradients
