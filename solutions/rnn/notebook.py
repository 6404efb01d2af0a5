"""The RNN assignment's notebook text: what the stub notebook says around each exercise.

``grader.authoring.stubgen`` builds the notebook students start from out of the reference
functions (their code regions blanked) and, when the reference package exposes a ``notebook``
module, the course text in it. The engine names no exercise: everything specific to this course
(the explanations and formulas, the setup cell, the comments that guide each code region, the
worked example and unit test run after each function) lives here, under the names the engine
reads (``INTRO``, ``SETUP``, ``BEFORE``, ``HINTS``, ``AFTER``, ``OUTRO``: the contract is in
``grader/authoring/stubgen.py``'s docstring).

Edit this text, then rebuild the stub (``grade build exercises/rnn`` or ``grade stub build``):
a test fails while the committed notebook differs from a fresh render.
"""

from __future__ import annotations

# ---------------------------------------------------------------------------------------------
# Markdown: the course's structure, our wording

_T = r"^{\langle t \rangle}"
_TM1 = r"^{\langle t-1 \rangle}"

INTRO = rf"""# Building your Recurrent Neural Network - Step by Step

In this assignment you implement the key components of a recurrent neural network (RNN) and of a
long short-term memory network (LSTM) in numpy, forward and backward.

RNNs suit natural language processing and other sequence tasks because they have "memory": they
read the inputs $x{_T}$ (such as words) one at a time and carry information from one time step to
the next through the hidden layer activations. A unidirectional RNN uses the past to process later
inputs; a bidirectional RNN uses context from both the past and the future.

**By the end of this assignment you will be able to:**
- define the notation used for sequence models;
- describe the architecture of a basic RNN and implement its forward pass;
- identify the components of an LSTM (forget, update and output gates, candidate value, memory
  cell) and implement its forward pass;
- implement backpropagation through time for a basic RNN and for an LSTM.

**Notation**:
- Superscript $[l]$ denotes an object associated with the $l^{{th}}$ layer.
- Superscript $(i)$ denotes an object associated with the $i^{{th}}$ example.
- Superscript $\langle t \rangle$ denotes an object at the $t^{{th}}$ time step.
- Subscript $i$ denotes the $i^{{th}}$ entry of a vector.

Example: $a^{{(2)[3]<4>}}_5$ is the activation of the 2nd training example (2), 3rd layer [3],
4th time step <4>, 5th entry in the vector.

**Dimensions.** The input $x$ has shape $(n_x, m, T_x)$: $n_x$ units per time step (for instance
the length of a one-hot vector over the vocabulary), a mini-batch of $m$ examples and $T_x$ time
steps. One time step's slice $x{_T}$ is the 2D array `x[:, :, t]` of shape $(n_x, m)$. Likewise the
hidden state $a{_T}$ has shape $(n_a, m)$ and the prediction $\hat{{y}}{_T}$ has shape $(n_y, m)$;
over all time steps they are stacked into 3D arrays of shape $(n_a, m, T_x)$ and $(n_y, m, T_x)$.

**How to work.** Write your code between `### START CODE HERE ###` and `### END CODE HERE ###`,
replacing each `None`. The cell after each function runs the course's example and a unit test
that prints `All tests passed`, or tells you which output is wrong, where, and what to check.
With rnn-grader installed (`pip install rnn-grader`), its last line, `check(...)`, also grades
your function as the autograder will: on hidden sizes, naming the likely mistake.

## Packages

Run the cell below to import numpy and the helpers `softmax` and `sigmoid` (from `rnn_utils.py`)
and the unit tests (from `public_tests.py`)."""

_RNN_CELL = rf"""## 1 - Forward propagation for the basic recurrent neural network

A basic RNN reads an input sequence $x{_T}$ and makes a prediction $\hat{{y}}{_T}$ at every time
step (here $T_x = T_y$). It is the repetition of one *cell* over the time steps: you first
implement the cell, then loop over it.

### 1.1 - RNN cell

The cell takes the current input $x{_T}$ and the previous hidden state $a{_TM1}$ (which carries
information from the past), and outputs the next hidden state $a{_T}$ and a prediction
$\hat{{y}}{_T}$:

$$a{_T} = \tanh\left(W_{{aa}} a{_TM1} + W_{{ax}} x{_T} + b_a\right)$$

$$\hat{{y}}{_T} = \mathrm{{softmax}}\left(W_{{ya}} a{_T} + b_y\right)$$

### Exercise 1 - rnn_cell_forward

Implement the RNN cell:
1. Compute the hidden state with tanh: $a{_T}$ (use `np.tanh` and `np.dot`).
2. Compute the prediction $\hat{{y}}{_T}$ with the `softmax` function provided (it normalises
   over axis 0, one distribution per example). Note that it uses the **new** state $a{_T}$.
3. The cache `(a_next, a_prev, xt, parameters)` is stored for the backward pass: keep it as it is.
4. Return `a_next`, `yt_pred` and `cache`.

Shapes: `xt` is $(n_x, m)$, `a_prev` is $(n_a, m)$, $W_{{ax}}$ is $(n_a, n_x)$, $W_{{aa}}$ is
$(n_a, n_a)$, $W_{{ya}}$ is $(n_y, n_a)$, $b_a$ is $(n_a, 1)$ and $b_y$ is $(n_y, 1)$."""

_RNN_FORWARD = rf"""### 1.2 - RNN forward pass

The RNN is the cell repeated $T_x$ times. The hidden state of one step is the input state of the
next, starting from $a^{{\langle 0 \rangle}}$. Each step $t$ takes $x{_T}$ = `x[:, :, t]` and
$a{_TM1}$, and produces $a{_T}$ and $\hat{{y}}{_T}$.

### Exercise 2 - rnn_forward

Implement the forward propagation of the RNN:
1. Create the 3D arrays of zeros $a$ of shape $(n_a, m, T_x)$ and $\hat{{y}}$ of shape
   $(n_y, m, T_x)$.
2. Initialise the 2D hidden state `a_next` with $a_0$ (the initial hidden state).
3. At each time step $t$:
   - take the 2D slice $x{_T}$ = `x[:, :, t]`;
   - call `rnn_cell_forward` to update the hidden state and get the prediction and the cache;
   - store the hidden state in `a[:, :, t]` and the prediction in `y_pred[:, :, t]`;
   - append the cache to `caches`.
4. Return $a$, $\hat{{y}}$ and `caches` (the code after the region packs it as
   `(list of caches, x)`)."""

_LSTM_CELL = rf"""## 2 - Long Short-Term Memory (LSTM) network

A basic RNN suffers from vanishing gradients: it works best when each prediction needs only
"local" context. An LSTM keeps a *memory cell* $c{_T}$ next to its hidden state, and three gates
decide what this memory forgets, adds and shows, so information can survive many time steps.

All the gates and the candidate value read the same input: the previous hidden state stacked
above the current input, $[a{_TM1}, x{_T}]$ of shape $(n_a + n_x, m)$. Each gate's weight matrix
has shape $(n_a, n_a + n_x)$ and its bias $(n_a, 1)$. The `*` below is an elementwise product.

**Forget gate** $\Gamma_f$: values between 0 and 1 (a sigmoid). Where it is close to 0, the
LSTM forgets the stored value of the previous memory $c{_TM1}$; close to 1, it keeps it.

$$\Gamma_f{_T} = \sigma\left(W_f[a{_TM1}, x{_T}] + b_f\right)$$

**Candidate value** $\tilde{{c}}{_T}$: new information from the current step that may be stored,
between -1 and 1 (a tanh).

$$\tilde{{c}}{_T} = \tanh\left(W_c[a{_TM1}, x{_T}] + b_c\right)$$

**Update gate** $\Gamma_i$: values between 0 and 1 that decide which parts of the candidate are
added to the memory.

$$\Gamma_i{_T} = \sigma\left(W_i[a{_TM1}, x{_T}] + b_i\right)$$

**Cell state** (the memory passed on to later steps): the previous memory, filtered by the forget
gate, plus the candidate, filtered by the update gate.

$$c{_T} = \Gamma_f{_T} * c{_TM1} + \Gamma_i{_T} * \tilde{{c}}{_T}$$

**Output gate** $\Gamma_o$ and **hidden state**: the output gate decides what of the memory is
shown as the hidden state, which also gives the prediction.

$$\Gamma_o{_T} = \sigma\left(W_o[a{_TM1}, x{_T}] + b_o\right)$$

$$a{_T} = \Gamma_o{_T} * \tanh\left(c{_T}\right)$$

$$\hat{{y}}{_T} = \mathrm{{softmax}}\left(W_y a{_T} + b_y\right)$$

In the code the gates are named `ft`, `it`, `cct` (c tilde) and `ot`.

### 2.1 - LSTM cell

### Exercise 3 - lstm_cell_forward

Implement the LSTM cell:
1. Concatenate $a{_TM1}$ and $x{_T}$ into `concat` of shape $(n_a + n_x, m)$, hidden state
   first (`np.concatenate` along axis 0).
2. Compute `ft`, `it`, `cct`, `c_next`, `ot` and `a_next` with the formulas above (`sigmoid` is
   provided, use `np.tanh` and `np.dot`).
3. Compute the prediction `yt_pred` with `softmax`.
4. The cache `(a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters)` is kept for the
   backward pass: keep its order."""

_LSTM_FORWARD = rf"""### 2.2 - LSTM forward pass

The LSTM repeats its cell over the $T_x$ time steps. The memory starts at zeros,
$c^{{\langle 0 \rangle}} = 0$, and each step passes both $a{_T}$ and $c{_T}$ on to the next.

### Exercise 4 - lstm_forward

1. Get the dimensions $n_x, m, T_x$ from `x` and $n_y, n_a$ from `Wy`.
2. Create the 3D arrays of zeros $a$, $c$ (shape $(n_a, m, T_x)$) and $y$ (shape $(n_y, m, T_x)$).
3. Initialise `a_next` with $a_0$ and `c_next` with a **new** array of zeros of shape $(n_a, m)$.
   Do not take a slice of `c` such as `c[:, :, 0]`: it is a view, and writing `c[:, :, 0]` later
   would silently change the memory state stored in the first cache.
4. At each time step: take `x[:, :, t]`, call `lstm_cell_forward`, store the hidden state, the
   memory state and the prediction in `a`, `c` and `y`, and append the cache to `caches`."""

_RNN_CELL_BACKWARD = rf"""## 3 - Backpropagation in recurrent neural networks

Deep learning frameworks compute the backward pass for you; implementing it once shows what
they do. As in a fully-connected network, the backward pass goes through the same cells in the
opposite order, using what each cell stored in its cache.

In this notebook the loss's gradient with respect to every hidden state $a{_T}$ is given as
`da[:, :, t]` (how the loss came to be does not matter), and the memory cell does not enter the
loss directly.

### 3.1 - Basic RNN backward pass

Start with one cell. With $z = W_{{aa}} a{_TM1} + W_{{ax}} x{_T} + b_a$ and $a{_T} = \tanh(z)$,
the derivative of tanh is $1 - \tanh^2(z) = 1 - (a{_T})^2$, so the gradient reaching $z$ is

$$d\tanh = da_{{next}} * \left(1 - (a{_T})^2\right)$$

and the chain rule gives the gradients of the inputs and the parameters:

$$dx{_T} = W_{{ax}}^T \, d\tanh \qquad dW_{{ax}} = d\tanh \; x^{{\langle t \rangle T}}$$

$$da_{{prev}} = W_{{aa}}^T \, d\tanh \qquad dW_{{aa}} = d\tanh \; a^{{\langle t-1 \rangle T}}$$

$$db_a = \sum_{{batch}} d\tanh$$

### Exercise 5 - rnn_cell_backward

Implement the formulas above. `da_next` is the gradient of the loss with respect to $a{_T}$.
Sum $db_a$ over the examples with `np.sum(..., axis=1, keepdims=True)` so that it keeps the
shape $(n_a, 1)$ of $b_a$."""

_RNN_BACKWARD = rf"""### 3.2 - Backpropagation through time (RNN)

Each hidden state $a{_T}$ influences the loss twice: directly (its gradient `da[:, :, t]`) and
through the next step (the `da_prev` computed by step $t+1$). Go through the steps backwards,
from $t = T_x - 1$ down to 0, and at each step call `rnn_cell_backward` with the sum of both.

### Exercise 6 - rnn_backward

1. Read the dimensions from `da` and from the first cache.
2. Initialise `dx`, `dWax`, `dWaa`, `dba` and the gradient flowing back, `da_prevt`, with zeros.
3. Loop backwards over the time steps: call `rnn_cell_backward` with
   `da[:, :, t] + da_prevt` and `caches[t]`, store `dxt` in `dx[:, :, t]`, keep `da_prev` for
   the next iteration, and **add** (`+=`) the parameter gradients: the weights are shared by all
   steps.
4. `da0` is the gradient that flowed back through every step, down to $a^{{\langle 0 \rangle}}$."""

_LSTM_CELL_BACKWARD = rf"""### 3.3 - LSTM backward pass

The LSTM cell is more involved. Write $\tanh(c_{{next}})$ for $\tanh(c{_T})$ and let $dc$ be the
full gradient reaching the new memory state: the one coming from the next step plus the one
through $a{_T} = \Gamma_o * \tanh(c{_T})$:

$$dc = dc_{{next}} + da_{{next}} * \Gamma_o{_T} * \left(1 - \tanh^2(c_{{next}})\right)$$

**Gate derivatives** (with respect to each gate's pre-activation; the sigmoid's derivative is
$\sigma(1 - \sigma)$):

$$d\gamma_o{_T} = da_{{next}} * \tanh(c_{{next}}) * \Gamma_o{_T} * \left(1 - \Gamma_o{_T}\right)$$

$$d\tilde{{c}}{_T} = dc * \Gamma_i{_T} * \left(1 - (\tilde{{c}}{_T})^2\right)$$

$$d\gamma_i{_T} = dc * \tilde{{c}}{_T} * \Gamma_i{_T} * \left(1 - \Gamma_i{_T}\right)$$

$$d\gamma_f{_T} = dc * c_{{prev}} * \Gamma_f{_T} * \left(1 - \Gamma_f{_T}\right)$$

**Parameter derivatives** (the same input $[a_{{prev}}, x_t]$ feeds every gate):

$$dW_f = d\gamma_f{_T} \begin{{bmatrix}} a_{{prev}} \\ x_t \end{{bmatrix}}^T \quad
dW_i = d\gamma_i{_T} \begin{{bmatrix}} a_{{prev}} \\ x_t \end{{bmatrix}}^T \quad
dW_c = d\tilde{{c}}{_T} \begin{{bmatrix}} a_{{prev}} \\ x_t \end{{bmatrix}}^T \quad
dW_o = d\gamma_o{_T} \begin{{bmatrix}} a_{{prev}} \\ x_t \end{{bmatrix}}^T$$

$$db_f = \sum_{{batch}} d\gamma_f{_T} \quad db_i = \sum_{{batch}} d\gamma_i{_T} \quad
db_c = \sum_{{batch}} d\tilde{{c}}{_T} \quad db_o = \sum_{{batch}} d\gamma_o{_T}$$

**Derivatives of the previous states and of the input.** The first $n_a$ columns of each weight
matrix multiply $a_{{prev}}$, the remaining $n_x$ columns multiply $x_t$:

$$da_{{prev}} = W_f[:, :n_a]^T d\gamma_f{_T} + W_i[:, :n_a]^T d\gamma_i{_T}
+ W_c[:, :n_a]^T d\tilde{{c}}{_T} + W_o[:, :n_a]^T d\gamma_o{_T}$$

$$dc_{{prev}} = dc * \Gamma_f{_T}$$

$$dx{_T} = W_f[:, n_a:]^T d\gamma_f{_T} + W_i[:, n_a:]^T d\gamma_i{_T}
+ W_c[:, n_a:]^T d\tilde{{c}}{_T} + W_o[:, n_a:]^T d\gamma_o{_T}$$

### Exercise 7 - lstm_cell_backward

Implement the formulas above. In the code the gate derivatives are `dot`, `dcct`, `dit` and
`dft`; sum the bias gradients with `axis=1, keepdims=True`."""

_LSTM_BACKWARD = r"""### 3.4 - Backpropagation through time (LSTM)

As for the RNN, go through the steps backwards and call `lstm_cell_backward` at each one. Two
gradients flow back from step $t+1$ to step $t$: `da_prev` (added to `da[:, :, t]`) and
`dc_prev` (it becomes the next call's `dc_next`). The number of steps $T_x$ is taken from
`da`'s shape: the example below backpropagates through the first 4 of 7 forward steps.

### Exercise 8 - lstm_backward

1. Read the dimensions from `da` and from the first cache.
2. Initialise `dx`, `da_prevt`, `dc_prevt` and the eight parameter gradients with zeros of the
   right shapes.
3. Loop backwards over the time steps: call `lstm_cell_backward`, keep `da_prev` and `dc_prev`
   for the next iteration, store `dxt` in `dx[:, :, t]` and **add** the parameter gradients.
4. `da0` is the gradient that flowed back through every step."""

OUTRO = r"""## What you should remember

- An RNN is one cell applied at every time step; its hidden state carries information from one
  step to the next.
- An LSTM adds a memory cell and three gates (forget, update, output) that decide what the memory
  forgets, adds and shows; this helps with vanishing gradients.
- Backpropagation through time runs the cells in reverse order: each step receives the gradient of
  its own hidden state plus what flows back from the step after it, and the gradients of the
  shared weights add up over all steps."""

BEFORE: dict[str, str] = {
    "rnn_cell_forward": _RNN_CELL,
    "rnn_forward": _RNN_FORWARD,
    "lstm_cell_forward": _LSTM_CELL,
    "lstm_forward": _LSTM_FORWARD,
    "rnn_cell_backward": _RNN_CELL_BACKWARD,
    "rnn_backward": _RNN_BACKWARD,
    "lstm_cell_backward": _LSTM_CELL_BACKWARD,
    "lstm_backward": _LSTM_BACKWARD,
}

# ---------------------------------------------------------------------------------------------
# The setup cell

SETUP = """\
import numpy as np
from rnn_utils import *
from public_tests import *

try:  # rnn-grader's check: hidden sizes and likely mistakes (pip install rnn-grader)
    from grader import check
except ImportError:  # without it, the public tests above still run
    def check(*exercises):
        pass\
"""

# ---------------------------------------------------------------------------------------------
# Guidance inside the code regions

# Course-style guidance written above groups of statements in the code region, keyed by the
# source of the statement's target (or "for", or the called function).
HINTS: dict[str, dict[str, str]] = {
    "rnn_cell_forward": {
        "a_next": "compute the next activation state using the formula given above",
        "yt_pred": "compute the output of the current cell using the formula given above",
    },
    "rnn_forward": {
        "a": 'initialize "a" and "y_pred" with zeros',
        "a_next": "initialize a_next",
        "for": "loop over all time-steps",
        "xt": "get the 2D slice 'xt' from the 3D input 'x' at time step 't'",
        "a_next, yt_pred, cache": "update next hidden state, compute the prediction, get the cache",
        "a[:, :, t]": 'save the new "next" hidden state in a, and the prediction in y_pred',
        "caches.append": 'append "cache" to "caches"',
    },
    "lstm_cell_forward": {
        "concat": "concatenate a_prev and xt",
        "ft": "compute ft, it, cct, c_next, ot, a_next using the formulas given above",
        "yt_pred": "compute the prediction of the LSTM cell",
    },
    "lstm_forward": {
        "a": 'initialize "a", "c" and "y" with zeros',
        "a_next": "initialize a_next and c_next (the memory state starts at zeros)",
        "for": "loop over all time-steps",
        "xt": "get the 2D slice 'xt' from the 3D input 'x' at time step 't'",
        "a_next, c_next, yt, cache": "update the hidden and memory states, get yt and the cache",
        "a[:, :, t]": "save the new hidden state in a, the memory state in c, the prediction in y",
        "caches.append": 'append "cache" to "caches"',
    },
    "rnn_cell_backward": {
        "dtanh": "compute the gradient of the loss with respect to the tanh argument",
        "dxt": "compute the gradients with respect to xt and Wax",
        "da_prev": "compute the gradients with respect to a_prev and Waa",
        "dba": "compute the gradient with respect to ba (keep its (n_a, 1) shape)",
    },
    "rnn_backward": {
        "(caches, x)": "retrieve values from the first cache (t=1) of caches",
        "n_a, m, T_x": "retrieve dimensions from da's and x1's shapes",
        "dx": "initialize the gradients with the right sizes",
        "for": "loop through all the time steps, backwards",
        "gradients": "compute the gradients at step t from da[:, :, t] + da_prevt",
        "dxt, da_prevt": "retrieve the derivatives from gradients",
        "dx[:, :, t]": "store dxt and add up the parameter gradients of every step",
        "da0": "set da0 to the gradient backpropagated through all the time steps",
    },
    "lstm_cell_backward": {
        "tanh_c": "compute the gate derivatives using the formulas given above",
        "concat": "compute the parameter derivatives using the formulas given above",
        "Wf, Wi, Wc, Wo": "compute the derivatives of the previous states and of the input",
    },
    "lstm_backward": {
        "(caches, x)": "retrieve values from the first cache (t=1) of caches",
        "n_a, m, T_x": "retrieve dimensions from da's and x1's shapes",
        "dx": "initialize the gradients with the right sizes",
        "for": "loop back over the whole sequence",
        "gradients": "compute all gradients using lstm_cell_backward",
        "da_prevt": "keep da_prev and dc_prev, store dxt, add up the parameter gradients",
        "da0": "set da0 to the gradient backpropagated through all the time steps",
    },
}


# ---------------------------------------------------------------------------------------------
# Self-check cells: the course's worked example, its print-outs and the matching unit test, then
# rnn-grader's check (SETUP defines a no-op stand-in when rnn-grader is not installed)

_RNN_FWD_PARAMS = """\
parameters_tmp = {}
parameters_tmp['Waa'] = np.random.randn(5, 5)
parameters_tmp['Wax'] = np.random.randn(5, 3)
parameters_tmp['Wya'] = np.random.randn(2, 5)
parameters_tmp['ba'] = np.random.randn(5, 1)
parameters_tmp['by'] = np.random.randn(2, 1)
"""
_RNN_BWD_PARAMS = """\
parameters_tmp = {}
parameters_tmp['Wax'] = np.random.randn(5, 3)
parameters_tmp['Waa'] = np.random.randn(5, 5)
parameters_tmp['Wya'] = np.random.randn(2, 5)
parameters_tmp['ba'] = np.random.randn(5, 1)
parameters_tmp['by'] = np.random.randn(2, 1)
"""
_LSTM_GATES = """\
parameters_tmp = {}
parameters_tmp['Wf'] = np.random.randn(5, 5 + 3)
parameters_tmp['bf'] = np.random.randn(5, 1)
parameters_tmp['Wi'] = np.random.randn(5, 5 + 3)
parameters_tmp['bi'] = np.random.randn(5, 1)
parameters_tmp['Wo'] = np.random.randn(5, 5 + 3)
parameters_tmp['bo'] = np.random.randn(5, 1)
parameters_tmp['Wc'] = np.random.randn(5, 5 + 3)
parameters_tmp['bc'] = np.random.randn(5, 1)
"""
_LSTM_PARAMS = (
    _LSTM_GATES
    + """\
parameters_tmp['Wy'] = np.random.randn(2, 5)
parameters_tmp['by'] = np.random.randn(2, 1)
"""
)


def _grads_print(spec: str) -> str:
    """Course-style prints of ``gradients`` entries, from ``"dxt[1][2] dba[4] ..."``."""
    lines = []
    for item in spec.split():
        k, idx = item[: item.index("[")], item[item.index("[") :]
        lines.append(f'print("gradients[\\"{k}\\"]{idx} =", gradients_tmp["{k}"]{idx})')
        lines.append(f'print("gradients[\\"{k}\\"].shape =", gradients_tmp["{k}"].shape)')
    return "\n".join(lines) + "\n"


_RNN_CELL_GRADS = _grads_print("dxt[1][2] da_prev[2][3] dWax[3][1] dWaa[1][2] dba[4]")
_RNN_GRADS = _grads_print("dx[1][2] da0[2][3] dWax[3][1] dWaa[1][2] dba[4]")
_LSTM_CELL_GRADS = _grads_print(
    "dxt[1][2] da_prev[2][3] dc_prev[2][3] dWf[3][1] dWi[1][2] dWc[3][1] dWo[1][2] "
    "dbf[4] dbi[4] dbc[4] dbo[4]"
)
_LSTM_GRADS = _grads_print(
    "dx[1][2] da0[2][3] dWf[3][1] dWi[1][2] dWc[3][1] dWo[1][2] dbf[4] dbi[4] dbc[4] dbo[4]"
)

_CHECKS: dict[str, str] = {
    "rnn_cell_forward": f"""\
np.random.seed(1)
xt_tmp = np.random.randn(3, 10)
a_prev_tmp = np.random.randn(5, 10)
{_RNN_FWD_PARAMS}
a_next_tmp, yt_pred_tmp, cache_tmp = rnn_cell_forward(xt_tmp, a_prev_tmp, parameters_tmp)
print("a_next[4] = \\n", a_next_tmp[4])
print("a_next.shape = \\n", a_next_tmp.shape)
print("yt_pred[1] =\\n", yt_pred_tmp[1])
print("yt_pred.shape = \\n", yt_pred_tmp.shape)

# UNIT TESTS
rnn_cell_forward_tests(rnn_cell_forward)""",
    "rnn_forward": f"""\
np.random.seed(1)
x_tmp = np.random.randn(3, 10, 4)
a0_tmp = np.random.randn(5, 10)
{_RNN_FWD_PARAMS}
a_tmp, y_pred_tmp, caches_tmp = rnn_forward(x_tmp, a0_tmp, parameters_tmp)
print("a[4][1] = \\n", a_tmp[4][1])
print("a.shape = \\n", a_tmp.shape)
print("y_pred[1][3] =\\n", y_pred_tmp[1][3])
print("y_pred.shape = \\n", y_pred_tmp.shape)
print("caches[1][1][3] =\\n", caches_tmp[1][1][3])
print("len(caches) = \\n", len(caches_tmp))

# UNIT TEST
rnn_forward_test(rnn_forward)""",
    "lstm_cell_forward": f"""\
np.random.seed(1)
xt_tmp = np.random.randn(3, 10)
a_prev_tmp = np.random.randn(5, 10)
c_prev_tmp = np.random.randn(5, 10)
{_LSTM_PARAMS}
a_next_tmp, c_next_tmp, yt_tmp, cache_tmp = lstm_cell_forward(xt_tmp, a_prev_tmp, c_prev_tmp, parameters_tmp)
print("a_next[4] = \\n", a_next_tmp[4])
print("a_next.shape = ", a_next_tmp.shape)
print("c_next[2] = \\n", c_next_tmp[2])
print("c_next.shape = ", c_next_tmp.shape)
print("yt[1] =", yt_tmp[1])
print("yt.shape = ", yt_tmp.shape)
print("cache[1][3] =\\n", cache_tmp[1][3])
print("len(cache) = ", len(cache_tmp))

# UNIT TEST
lstm_cell_forward_test(lstm_cell_forward)""",
    "lstm_forward": f"""\
np.random.seed(1)
x_tmp = np.random.randn(3, 10, 7)
a0_tmp = np.random.randn(5, 10)
{_LSTM_PARAMS}
a_tmp, y_tmp, c_tmp, caches_tmp = lstm_forward(x_tmp, a0_tmp, parameters_tmp)
print("a[4][3][6] = ", a_tmp[4][3][6])
print("a.shape = ", a_tmp.shape)
print("y[1][4][3] =", y_tmp[1][4][3])
print("y.shape = ", y_tmp.shape)
print("caches[1][1][1] =\\n", caches_tmp[1][1][1])
print("c[1][2][1]", c_tmp[1][2][1])
print("len(caches) = ", len(caches_tmp))

# UNIT TEST
lstm_forward_test(lstm_forward)""",
    "rnn_cell_backward": f"""\
np.random.seed(1)
xt_tmp = np.random.randn(3, 10)
a_prev_tmp = np.random.randn(5, 10)
{_RNN_BWD_PARAMS}
a_next_tmp, yt_tmp, cache_tmp = rnn_cell_forward(xt_tmp, a_prev_tmp, parameters_tmp)

da_next_tmp = np.random.randn(5, 10)
gradients_tmp = rnn_cell_backward(da_next_tmp, cache_tmp)
{_RNN_CELL_GRADS}
# UNIT TEST (it builds its example with your rnn_cell_forward)
rnn_cell_backward_test(rnn_cell_backward)""",
    "rnn_backward": f"""\
np.random.seed(1)
x_tmp = np.random.randn(3, 10, 4)
a0_tmp = np.random.randn(5, 10)
{_RNN_BWD_PARAMS}
a_tmp, y_tmp, caches_tmp = rnn_forward(x_tmp, a0_tmp, parameters_tmp)
da_tmp = np.random.randn(5, 10, 4)
gradients_tmp = rnn_backward(da_tmp, caches_tmp)

{_RNN_GRADS}
# UNIT TEST (it builds its example with your rnn_forward)
rnn_backward_test(rnn_backward)""",
    "lstm_cell_backward": f"""\
np.random.seed(1)
xt_tmp = np.random.randn(3, 10)
a_prev_tmp = np.random.randn(5, 10)
c_prev_tmp = np.random.randn(5, 10)
{_LSTM_PARAMS}
a_next_tmp, c_next_tmp, yt_tmp, cache_tmp = lstm_cell_forward(xt_tmp, a_prev_tmp, c_prev_tmp, parameters_tmp)

da_next_tmp = np.random.randn(5, 10)
dc_next_tmp = np.random.randn(5, 10)
gradients_tmp = lstm_cell_backward(da_next_tmp, dc_next_tmp, cache_tmp)
{_LSTM_CELL_GRADS}
# UNIT TEST (it builds its example with your lstm_cell_forward)
lstm_cell_backward_test(lstm_cell_backward)""",
    "lstm_backward": f"""\
np.random.seed(1)
x_tmp = np.random.randn(3, 10, 7)
a0_tmp = np.random.randn(5, 10)
{_LSTM_GATES}parameters_tmp['Wy'] = np.zeros((2, 5))
parameters_tmp['by'] = np.zeros((2, 1))

a_tmp, y_tmp, c_tmp, caches_tmp = lstm_forward(x_tmp, a0_tmp, parameters_tmp)

# Backpropagate through the first 4 time steps only: T_x is taken from da's shape.
da_tmp = np.random.randn(5, 10, 4)
gradients_tmp = lstm_backward(da_tmp, caches_tmp)

{_LSTM_GRADS}
# UNIT TEST (it builds its example with your lstm_forward)
lstm_backward_test(lstm_backward)""",
}

AFTER: dict[str, str] = {name: f'{code}\ncheck("{name}")' for name, code in _CHECKS.items()}
