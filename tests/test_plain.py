"""The no-pickle codec: round trips, and strict rejection of anything a hostile sender could forge."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from grader.wire import codec as plain


def test_round_trip_nested_values() -> None:
    params = {"W": np.arange(6.0).reshape(2, 3), "b": np.zeros((2, 1))}
    value = ([(np.ones(3), np.int64(2), params), (np.ones(3), None, params)], 1.5, "x", True, 7)
    back = plain.unpack(plain.pack(value))
    assert isinstance(back, tuple) and isinstance(back[0], list)
    np.testing.assert_array_equal(back[0][0][2]["W"], params["W"])
    assert back[1:] == (1.5, "x", True, 7)
    assert isinstance(back[0][0][1], plain.ForeignArray)  # a numpy scalar is not an array


def test_shared_arrays_are_sent_once() -> None:
    w = np.ones((100, 100))
    once = len(plain.pack([w]))
    assert len(plain.pack([w, w, w])) < once + 200


def test_special_floats_survive() -> None:
    back = plain.unpack(plain.pack([float("nan"), float("inf"), np.array([np.nan, -np.inf])]))
    assert np.isnan(back[0]) and back[1] == float("inf")
    assert np.isnan(back[2][0]) and back[2][1] == -np.inf


def test_subclasses_and_objects_keep_their_type_only() -> None:
    class Lying(np.ndarray):
        def __eq__(self, other):  # type: ignore[no-untyped-def]
            return True

    class Obj:
        def __repr__(self) -> str:
            raise RuntimeError("boom")

    back = plain.unpack(plain.pack((np.zeros(2).view(Lying), Obj(), np.array(["a"]), print)))
    assert isinstance(back[0], plain.ForeignArray) and back[0].type.endswith("Lying")
    assert type(back[0].array) is np.ndarray
    assert isinstance(back[1], plain.Opaque) and back[1].type.endswith("Obj")
    assert isinstance(back[2], plain.Opaque) and "dtype=<U1" in back[2].type
    assert isinstance(back[3], plain.Opaque)


def _forge(header: object, blob: bytes = b"") -> bytes:
    raw = json.dumps(header).encode()
    return plain.MAGIC + struct.pack("<Q", len(raw)) + raw + blob


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"\x80\x04K\x01.", id="a-pickle"),
        pytest.param(plain.pack([1, 2])[:-1], id="truncated"),
        pytest.param(plain.pack(np.ones(3)) + b"x", id="trailing-bytes"),
        pytest.param(
            _forge(
                {
                    "tree": {"t": "array", "i": 0},
                    "arrays": [{"dtype": "|O", "shape": [1], "nbytes": 8}],
                },
                b"\0" * 8,
            ),
            id="object-dtype",
        ),
        pytest.param(
            _forge(
                {
                    "tree": {"t": "array", "i": 0},
                    "arrays": [{"dtype": "[('a', '<f8')]", "shape": [1], "nbytes": 8}],
                },
                b"\0" * 8,
            ),
            id="structured-dtype",
        ),
        pytest.param(
            _forge(
                {
                    "tree": {"t": "array", "i": 0},
                    "arrays": [{"dtype": "<f8", "shape": [10**12], "nbytes": 8}],
                },
                b"\0" * 8,
            ),
            id="lying-shape",
        ),
        pytest.param(_forge({"tree": {"t": "array", "i": 3}, "arrays": []}), id="bad-index"),
        pytest.param(
            _forge({"tree": {"t": "exec", "v": "import os"}, "arrays": []}), id="unknown-node"
        ),
        pytest.param(
            _forge({"tree": {"t": "float", "v": "1e" + "9" * 100}, "arrays": []}), id="absurd-float"
        ),
        pytest.param(plain.MAGIC + struct.pack("<Q", 1 << 40), id="huge-header-length"),
        pytest.param(_forge({"arrays": []}).replace(b"{", b"[" * 5000, 1), id="deep-json"),
    ],
)
def test_unpack_rejects_forged_data(data: bytes) -> None:
    with pytest.raises(plain.DecodeError):
        plain.unpack(data)


def test_deep_nesting_is_rejected_not_a_recursion_error() -> None:
    tree: dict[str, object] = {"t": "none"}
    for _ in range(plain.MAX_DEPTH + 5):
        tree = {"t": "list", "v": [tree]}
    with pytest.raises(plain.DecodeError, match="deep"):
        plain.unpack(_forge({"tree": tree, "arrays": []}))


def test_size_cap_is_checked_before_parsing() -> None:
    with pytest.raises(plain.DecodeError, match="limit"):
        plain.unpack(plain.pack(np.zeros(1000)), max_total=100)


def test_encode_ignores_patched_builtins_and_numpy() -> None:
    """In the sandbox, student code runs after grader.wire.codec is imported: patches must not matter."""
    import subprocess
    import sys

    code = (
        "import sys, builtins, numpy as np\n"
        "from grader.wire import codec as plain\n"
        "builtins.isinstance = lambda *a: False\n"
        "builtins.type = lambda *a: int\n"
        "np.asarray = lambda *a, **k: np.zeros(1)\n"
        "sys.stdout.buffer.write(plain.pack((np.ones(2), {'k': np.float64(3.0)})))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True).stdout
    back = plain.unpack(out)
    np.testing.assert_array_equal(back[0], np.ones(2))
    assert float(back[1]["k"].array) == 3.0


def test_tuple_list_and_dict_subclasses_are_what_they_extend() -> None:
    """A namedtuple cache and OrderedDict gradients are a tuple and a dict; their items are read
    through the base classes' own methods, so an override cannot show other values."""
    from collections import OrderedDict, namedtuple

    class Liar(tuple):  # type: ignore[type-arg]
        def __iter__(self):  # type: ignore[no-untyped-def]
            return iter((np.ones(2),))

        def __getitem__(self, i):  # type: ignore[no-untyped-def]
            return np.ones(2)

    class Sneaky(dict):  # type: ignore[type-arg]
        def __getitem__(self, k):  # type: ignore[no-untyped-def]
            return np.ones(2)

        def keys(self):  # type: ignore[no-untyped-def]
            return ["fake"]

    Cache = namedtuple("Cache", "a b")
    value = (Cache(np.zeros(2), 1.5), OrderedDict(dx=np.arange(3)), Liar((np.zeros(2), 2)),
             Sneaky(real=np.zeros(1)), type("L", (list,), {})([1, 2]))  # fmt: skip
    got = plain.unpack(plain.pack(value))
    assert type(got) is tuple and len(got) == 5
    cache, grads, liar, sneaky, lst = got
    assert type(cache) is tuple and np.array_equal(cache[0], np.zeros(2)) and cache[1] == 1.5
    assert (
        type(grads) is dict and list(grads) == ["dx"] and np.array_equal(grads["dx"], np.arange(3))
    )
    assert type(liar) is tuple and np.array_equal(liar[0], np.zeros(2)) and liar[1] == 2
    assert (
        type(sneaky) is dict
        and list(sneaky) == ["real"]
        and np.array_equal(sneaky["real"], np.zeros(1))
    )
    assert lst == [1, 2]


def test_lone_surrogates_arrive_as_their_escapes(tmp_path: Path) -> None:
    """Student text such as ``raise ValueError("\\ud800")`` must never crash a writer."""
    from grader.core.fileio import atomic_write

    got = plain.unpack(plain.pack({"message": "a\ud800b"}))
    assert got == {"message": "a\\ud800b"}
    got["message"].encode("utf-8")  # no UnicodeEncodeError
    atomic_write(tmp_path / "x.txt", "still \udfff written")
    assert (tmp_path / "x.txt").read_text() == "still \\udfff written"
