"""Fuzz: mutated notebooks (bytes and JSON structure) always end in a result or exit 2.

Most examples go through ``parse_notebook`` + ``extract`` in-process (fast); a few through the
real CLI in a subprocess, where a traceback or a hang would show. Example counts are bounded so
the whole file stays well under a minute.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.core.errors import InvalidNotebookError
from grader.stages.extract import extract
from grader.stages.load import parse_notebook
from tests.notebooks import submission
from tests.shipped import NAMES

BASE = nbformat.writes(submission()).encode()
BASE_JSON: dict[str, Any] = json.loads(BASE)

json_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(), st.text(max_size=30)
)
json_value = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)

byte_edit = st.tuples(
    st.sampled_from(["flip", "cut", "insert", "delete"]),
    st.integers(0, len(BASE) - 1),
    st.binary(min_size=1, max_size=8),
)


def apply_byte_edit(data: bytes, edit: tuple[str, int, bytes]) -> bytes:
    kind, pos, blob = edit
    if kind == "flip":
        return data[:pos] + bytes([data[pos] ^ (blob[0] or 1)]) + data[pos + 1 :]
    if kind == "cut":
        return data[:pos]
    if kind == "insert":
        return data[:pos] + blob + data[pos:]
    return data[:pos] + data[pos + len(blob) :]


# A JSON-structure mutation: a path of keys/indices into the notebook, and a new value there.
structure_edit = st.tuples(
    st.lists(st.one_of(st.sampled_from(
        ["cells", "metadata", "source", "cell_type", "nbformat", "nbformat_minor", "outputs",
         "tags", "kernelspec", "execution_count", "attachments", "id"]
    ), st.integers(0, 30)), min_size=1, max_size=4),
    json_value,
    st.booleans(),
)  # fmt: skip


def apply_structure_edit(doc: dict[str, Any], edit: tuple[list[Any], Any, bool]) -> Any:
    path, value, delete = edit
    doc = copy.deepcopy(doc)
    node: Any = doc
    for step in path[:-1]:
        try:
            node = node[step if isinstance(node, dict) else int(step) % max(len(node), 1)]
        except (KeyError, IndexError, TypeError, ValueError, ZeroDivisionError):
            return doc
    last = path[-1]
    try:
        if isinstance(node, list):
            if not node or isinstance(last, str):
                return doc
            last = last % len(node)
        if delete:
            del node[last]
        else:
            node[last] = value
    except (KeyError, IndexError, TypeError):
        pass
    return doc


def must_load_or_refuse(raw: bytes) -> None:
    try:
        nb = parse_notebook(raw, "fuzz.ipynb")
    except InvalidNotebookError as exc:
        assert str(exc).startswith("fuzz.ipynb: ") and "\n" not in str(exc)
        return
    got = extract(nb, NAMES)
    assert set(got) == set(NAMES)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(byte_edit, min_size=1, max_size=4))
def test_byte_mutations_load_or_are_refused(edits: list[tuple[str, int, bytes]]) -> None:
    data = BASE
    for edit in edits:
        if data:
            data = apply_byte_edit(data, (edit[0], edit[1] % len(data), edit[2]))
    must_load_or_refuse(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(structure_edit, min_size=1, max_size=3))
def test_structure_mutations_load_or_are_refused(edits: list[Any]) -> None:
    doc: Any = BASE_JSON
    for edit in edits:
        doc = apply_structure_edit(doc, edit)
    must_load_or_refuse(json.dumps(doc).encode())


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"\xef\xbb\xbf" + BASE, id="bom-prefixed-valid"),
        pytest.param(BASE.replace(b'"nbformat": 4', b'"nbformat": 99'), id="nbformat-99"),
        pytest.param(BASE[: len(BASE) // 2], id="truncated"),
        pytest.param(
            BASE.replace(b"rnn_cell_forward", b"rnn_cell_\xff\xfeforward", 1), id="bad-utf8"
        ),
        pytest.param(
            json.dumps({**BASE_JSON, "cells": BASE_JSON["cells"] * 60}).encode(), id="huge"
        ),
    ],
)
def test_odd_but_plausible_files(raw: bytes) -> None:
    must_load_or_refuse(raw)


@pytest.mark.slow
@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(edits=st.lists(byte_edit, min_size=1, max_size=2))
def test_cli_never_tracebacks_or_hangs(edits: list[Any], tmp_path: Path) -> None:
    data = BASE
    for edit in edits:
        if data:
            data = apply_byte_edit(data, (edit[0], edit[1] % len(data), edit[2]))
    path = tmp_path / "fuzz.ipynb"
    path.write_bytes(data)
    proc = subprocess.run(
        [sys.executable, "-m", "grader", str(path), "--html", str(tmp_path / "r.html"),
         "--json", str(tmp_path / "r.json")],
        capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert proc.returncode in (0, 1, 2), proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    if proc.returncode == 2:
        assert proc.stderr.count("\n") == 1
    result = json.loads((tmp_path / "r.json").read_text())
    assert result["status"] in ("graded", "invalid")
