"""Integrity fingerprints: blind to names/formatting/comments, sensitive to code; grouping rules."""

from __future__ import annotations

import nbformat
import pytest

from grader.stages.integrity import Fingerprint, find_groups, fingerprint, notebook_fingerprints
from tests.shipped import NAMES

ORIGINAL = '''
def rnn_cell_forward(xt, a_prev, parameters):
    """Implements a single forward step of the RNN-cell."""
    Wax = parameters["Wax"]
    Waa = parameters["Waa"]
    Wya = parameters["Wya"]
    ba = parameters["ba"]
    by = parameters["by"]
    a_next = np.tanh(np.dot(Waa, a_prev) + np.dot(Wax, xt) + ba)  # hidden state
    yt_pred = softmax(np.dot(Wya, a_next) + by)
    cache = (a_next, a_prev, xt, parameters)
    return a_next, yt_pred, cache
'''

RENAMED = """
def rnn_cell_forward(x, h, p: dict) -> tuple:
    # my own version!
    W1 = p["Wax"]; W2 = p["Waa"]
    W3 = p["Wya"]
    b1 = p["ba"]
    b2 = p["by"]
    hn = np.tanh(
        np.dot(W2, h) + np.dot(W1, x) + b1
    )
    "a string comment"
    y = softmax(np.dot(W3, hn) + b2)
    c = (hn, h, x, p)
    return hn, y, c
"""

DIFFERENT = ORIGINAL.replace("np.dot(Waa, a_prev) + np.dot(Wax, xt)", "np.dot(Wax, xt)")


def fp(src: str) -> Fingerprint:
    got = fingerprint(src, "rnn_cell_forward")
    assert got is not None
    return got


def test_renaming_and_formatting_do_not_change_the_fingerprint() -> None:
    assert fp(ORIGINAL).digest == fp(RENAMED).digest


def test_a_real_change_does() -> None:
    assert fp(ORIGINAL).digest != fp(DIFFERENT).digest


def test_globals_keep_their_names() -> None:
    assert fp(ORIGINAL).digest != fp(ORIGINAL.replace("np.tanh", "jnp.tanh")).digest


def test_last_definition_wins_and_absent_is_none() -> None:
    assert fp(DIFFERENT + ORIGINAL).digest == fp(ORIGINAL).digest
    assert fingerprint("x = 1", "rnn_cell_forward") is None


@pytest.mark.parametrize(
    "src",
    [
        pytest.param("def rnn_cell_forward(:\n", id="syntax-error"),
        pytest.param("def rnn_cell_forward():\n    return " + "(" * 5000 + ")" * 5000, id="deep"),
        pytest.param("def rnn_cell_forward():\n    pass\n" + "#" * 300_000, id="huge"),
    ],
)
def test_hostile_source_gives_none(src: str) -> None:
    assert fingerprint(src, "rnn_cell_forward") is None


def _fp(d: str, nodes: int = 100) -> Fingerprint:
    return Fingerprint(d, nodes)


def test_groups_need_min_shared_exercises() -> None:
    subs = {
        "a": {"e1": _fp("x"), "e2": _fp("y"), "e3": _fp("z1")},
        "b": {"e1": _fp("x"), "e2": _fp("y"), "e3": _fp("z2")},
        "c": {"e1": _fp("x"), "e2": _fp("q"), "e3": _fp("z3")},
    }
    flags = find_groups(subs, min_shared=2)
    assert [f.members for f in flags] == [("a", "b")]
    assert find_groups(subs, min_shared=3) == []


def test_transitive_groups_merge() -> None:
    subs = {
        "a": {"e1": _fp("x"), "e2": _fp("y")},
        "b": {"e1": _fp("x"), "e2": _fp("y"), "e3": _fp("z")},
        "c": {"e2": _fp("w"), "e3": _fp("z"), "e1": _fp("v")},
        "d": {"e2": _fp("w"), "e3": _fp("z"), "e1": _fp("u")},
    }
    flags = find_groups(subs, min_shared=2)
    assert len(flags) == 2
    assert {f.members for f in flags} == {("a", "b"), ("c", "d")}


def test_short_stub_and_common_code_are_ignored() -> None:
    subs = {
        "a": {"e1": _fp("x", 5), "e2": _fp("stub")},
        "b": {"e1": _fp("x", 5), "e2": _fp("stub")},
    }
    assert find_groups(subs, min_shared=1, ignore={"stub"}) == []
    # in a class of 12 where 10 wrote the same (canonical) code, that code is no signal
    subs = {f"s{i}": {"e1": _fp("canon")} for i in range(10)}
    subs |= {"t1": {"e1": _fp("rare")}, "t2": {"e1": _fp("rare")}}
    assert [f.members for f in find_groups(subs, min_shared=1)] == [("t1", "t2")]


def test_notebook_fingerprints_use_the_extractor() -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import numpy as np"), nbformat.v4.new_code_cell(RENAMED)]
    got = notebook_fingerprints(nb, NAMES)
    assert got["rnn_cell_forward"].digest == fp(ORIGINAL).digest
    assert "lstm_forward" not in got


def test_a_group_is_flagged_only_on_what_every_member_shares() -> None:
    """c is a copy of a and b except for one function: the flag must not call that one
    identical (c joined the group through the others)."""
    same = {f"e{i}": _fp(f"x{i}") for i in range(4)}
    subs = {"a": dict(same), "b": dict(same), "c": {**same, "e0": _fp("changed")}}
    [flag] = find_groups(subs, min_shared=2)
    assert flag.members == ("a", "b", "c") and flag.exercises == ("e1", "e2", "e3")
    # nothing shared by all three: only the pair that is identical on everything is flagged
    subs = {"a": dict(same), "b": dict(same), "c": {"e0": _fp("x0"), "e1": _fp("x1")}}
    subs["c"].update({"e2": _fp("q2"), "e3": _fp("q3")})
    subs["d"] = {"e0": _fp("r0"), "e1": _fp("r1"), "e2": _fp("q2"), "e3": _fp("q3")}
    flags = find_groups(subs, min_shared=2)
    assert all(set(f.exercises) <= {e for e in same if len({subs[m][e].digest for m in f.members}) == 1}
               for f in flags), flags  # fmt: skip
