"""Build real submission notebooks for integration tests from the reference's function sources.

A "correct" notebook is what a student hands in: an import cell, one cell per exercise (in the
course's order) and the course's self-check calls. Variants replace text in one function's source.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Mapping
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

import solutions.rnn.reference as ref
from tests.shipped import NAMES

IMPORTS = "import numpy as np\nfrom rnn_utils import *\nfrom public_tests import *\n"


def function_sources() -> dict[str, str]:
    """Each exercise function's source exactly as in solutions/rnn/reference.py."""
    text = inspect.getsource(ref)
    tree = ast.parse(text)
    lines = text.splitlines(keepends=True)
    out = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name in NAMES:
            out[node.name] = "".join(lines[node.lineno - 1 : node.end_lineno])
    return out


def mutate(source: str, old: str, new: str) -> str:
    if old not in source:
        raise AssertionError(f"test bug: {old!r} is not in the source")
    return source.replace(old, new, 1)


def submission(
    replace: Mapping[str, str] | None = None,
    *,
    drop: tuple[str, ...] = (),
    before: tuple[str, ...] = (),
    after: tuple[str, ...] = (),
    imports: str = IMPORTS,
) -> nbformat.NotebookNode:
    """A notebook: imports, ``before`` cells, each exercise (replaced/dropped), ``after`` cells."""
    sources = {**function_sources(), **(replace or {})}
    nb = new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells.append(new_markdown_cell("# Building a Recurrent Neural Network - Step by Step"))
    nb.cells.append(new_code_cell(imports))
    nb.cells.extend(new_code_cell(c) for c in before)
    for name in NAMES:
        if name in drop:
            continue
        nb.cells.append(new_markdown_cell(f"## {name}"))
        nb.cells.append(new_code_cell(sources[name]))
    nb.cells.extend(new_code_cell(c) for c in after)
    return nb


def write(nb: nbformat.NotebookNode, path: Path) -> Path:
    nbformat.write(nb, str(path))
    return path
