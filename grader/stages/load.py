"""Load stage: read a notebook file into a clean nbformat v4 notebook, or say in one line why not."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_raw_cell

from grader.core.errors import InvalidNotebookError

MAX_BYTES = 50 << 20
MAX_CELLS = 5000
_CELL_MAKERS = {"code": new_code_cell, "markdown": new_markdown_cell, "raw": new_raw_cell}


def load_notebook(path: str | Path) -> NotebookNode:
    """Read ``path``; raise InvalidNotebookError (never anything else) if it cannot be graded.

    The result keeps only what grading needs — each cell's type and source — so student metadata
    (tags such as ``skip-execution``, kernelspecs, widget state, outputs) cannot steer execution.
    """
    shown = str(path)
    p = Path(path)
    try:
        if p.is_dir():
            raise InvalidNotebookError(
                shown,
                "is a directory",
                "to grade every notebook in it use 'grade batch DIR --out OUT'",
            )
        size = p.stat().st_size
        if size > MAX_BYTES:
            raise InvalidNotebookError(
                shown,
                f"is {size >> 20} MiB, over the {MAX_BYTES >> 20} MiB limit",
                "clear the outputs (Edit > Clear All Outputs) and save again",
            )
        raw = p.read_bytes()
    except FileNotFoundError:
        raise InvalidNotebookError(shown, "no such file") from None
    except OSError as exc:
        raise InvalidNotebookError(shown, f"cannot be read ({exc.strerror or exc})") from None
    return parse_notebook(raw, shown)


def parse_notebook(raw: bytes, shown: str) -> NotebookNode:
    if not raw.strip():
        raise InvalidNotebookError(
            shown, "is empty", "save the notebook from Jupyter and try again"
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidNotebookError(
            shown,
            f"is not UTF-8 text (bad byte at offset {exc.start})",
            "is it really an .ipynb file? Download it again as .ipynb",
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidNotebookError(
            shown,
            f"is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
            "a notebook must be saved by Jupyter/Colab as .ipynb",
        ) from None
    except (ValueError, RecursionError):
        raise InvalidNotebookError(shown, "is not valid JSON (nested too deeply)") from None
    return _to_v4(data, shown)


def _source(cell: dict[str, Any], index: int, shown: str) -> str:
    src = cell.get("source", cell.get("input", ""))
    if isinstance(src, list) and all(isinstance(s, str) for s in src):
        return "".join(src)
    if isinstance(src, str):
        return src
    raise InvalidNotebookError(shown, f"cell {index + 1} has a source that is not text")


def _to_v4(data: Any, shown: str) -> NotebookNode:
    if not isinstance(data, dict):
        raise InvalidNotebookError(shown, "is JSON but not a Jupyter notebook (not an object)")
    major = data.get("nbformat")
    # Hand-edited or converted files write "4" or 4.0; nbformat itself reads both as 4.
    if isinstance(major, float) and major.is_integer():
        major = int(major)
    elif isinstance(major, str) and major.strip().isdigit():
        major = int(major.strip())
    if "cells" in data:
        cells = data["cells"]
    elif "worksheets" in data and isinstance(data["worksheets"], list):  # nbformat 3
        cells = [
            c for ws in data["worksheets"] if isinstance(ws, dict) for c in ws.get("cells", [])
        ]
    else:
        raise InvalidNotebookError(shown, "is JSON but not a Jupyter notebook (it has no 'cells')")
    if major is not None and (
        not isinstance(major, int) or isinstance(major, bool) or not 3 <= major <= 4
    ):
        raise InvalidNotebookError(
            shown,
            f"uses nbformat {str(major)[:20]}, which this grader does not read (3 and 4 are)",
            "re-save it with a current Jupyter or Colab",
        )
    if not isinstance(cells, list):
        raise InvalidNotebookError(shown, "is not a valid notebook ('cells' is not a list)")
    if len(cells) > MAX_CELLS:
        raise InvalidNotebookError(shown, f"has {len(cells)} cells, over the {MAX_CELLS} limit")
    nb = new_notebook()
    for i, cell in enumerate(cells):
        if not isinstance(cell, dict):
            raise InvalidNotebookError(shown, f"cell {i + 1} is not an object")
        kind = cell.get("cell_type")
        if kind == "heading":  # nbformat 3
            kind = "markdown"
        maker = _CELL_MAKERS.get(kind) if isinstance(kind, str) else None
        if maker is None:
            raise InvalidNotebookError(
                shown, f"cell {i + 1} has an unknown type {str(kind)[:30]!r}"
            )
        nb.cells.append(maker(_source(cell, i, shown)))
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.validate(nb)  # what we built is valid by construction; this guards our own code
    return nb
