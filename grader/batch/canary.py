"""Start-up canary: grade a known-good notebook before a batch, under the batch's own limits.

If limits are too low for this machine, or the sandbox is broken, every student would get zero;
the canary turns that into one :class:`InfrastructureError` before any student is graded.

The known-good notebook needs only what the wheel ships (the reference solutions are not in it):
its functions rebuild the expected outputs of the golden set's *public* case (the course's worked
example, which the course publishes anyway) from literals, passing inputs through where the
expected output holds them (caches, ``parameters``). It is graded against the public cases only.
It still exercises every part of the machinery a real grade uses: kernel start in the sandbox,
helper-module imports, the judge's runner and uids, result transfer and comparison.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path
from typing import Any

import nbformat
import numpy as np

from grader.assignment import golden as golden_mod
from grader.core.config import GradingConfig
from grader.core.errors import InfrastructureError
from grader.core.models import GradeResult
from grader.judge.equality import BITWISE, equal

#: Name of the notebook file the canary grades (shows up in logs and in its result).
CANARY_NAME = "canary.ipynb"


def run_canary(config: GradingConfig, golden: golden_mod.Golden) -> None:
    """Grade the canary; raise :class:`InfrastructureError` (one line) unless it gets full marks."""
    from grader.pipeline import grade_notebook

    nb, used, kind = canary_notebook(golden)
    with tempfile.TemporaryDirectory(prefix="rnn-grader-canary-") as tmp:
        path = Path(tmp) / CANARY_NAME
        nbformat.write(nb, str(path))
        result = grade_notebook(path, golden=used, config=config)
    problem = _shortfall(result)
    if problem:
        raise InfrastructureError(
            f"canary failed: a known-good notebook ({kind}) {problem} under the configured "
            f"limits and the {result.sandbox} sandbox; raise the limits in the config or fix "
            "the machine before grading (no student was graded)"
        )


def canary_notebook(
    golden: golden_mod.Golden,
) -> tuple[nbformat.NotebookNode, golden_mod.Golden, str]:
    """(notebook, golden set to grade it against, description).

    One code path everywhere (wheel, sdist, editable install, checkout): it needs nothing but the
    golden set, so a source checkout cannot hide a canary that breaks from an installed wheel.
    """
    return public_canary(golden), public_only(golden), "rebuilt public example"


def public_only(golden: golden_mod.Golden) -> golden_mod.Golden:
    cases = {name: tuple(c for c in cs if not c.hidden) for name, cs in golden.cases.items()}
    return dataclasses.replace(golden, cases=cases)


def _shortfall(result: GradeResult) -> str:
    if result.status != "graded":
        return f"could not be graded ({result.error})"
    bad = [e for e in result.exercises if e.status.value != "passed"]
    if not bad and result.score == result.max_score:
        return ""
    first = bad[0] if bad else result.exercises[0]
    why = first.reason or (first.error.message if first.error else first.status.value)
    return (
        f"scored {result.score:g}/{result.max_score:g} "
        f"({first.name}: {first.status.value}: {why[:200]})"
    )


# --------------------------------------------------------------------------- wheel canary

_BUILD = """
    import numpy as _np
    _args = ({params})

    def _build(node):
        tag = node[0]
        if tag == "arg":
            value = _args
            for step in node[1]:
                value = value[step]
            return value
        if tag == "array":
            return _np.array(node[3], dtype=node[1]).reshape(node[2])
        if tag == "tuple":
            return tuple(_build(x) for x in node[1])
        if tag == "list":
            return [_build(x) for x in node[1]]
        if tag == "dict":
            return {{k: _build(v) for k, v in node[1]}}
        return node[1]

    return _build({spec!r})
"""


def public_canary(golden: golden_mod.Golden) -> nbformat.NotebookNode:
    """A notebook whose functions return the public case's expected outputs (see module doc)."""
    nb = nbformat.v4.new_notebook()
    imports = "\n".join(filter(None, ("import numpy as np", golden.assignment.helper_import)))
    nb.cells.append(nbformat.v4.new_code_cell(imports))
    for spec in golden.assignment.exercises:
        public = [c for c in golden.for_exercise(spec.name) if not c.hidden]
        if not public:
            continue
        case = public[0]
        params = ", ".join(f"a{i}" for i in range(len(case.args)))
        tree = _encode(case.expected, case.args, ())
        body = _BUILD.format(params=params + ("," if len(case.args) == 1 else ""), spec=tree)
        nb.cells.append(nbformat.v4.new_code_cell(f"def {spec.name}({params}):{body}"))
    return nb


def _find(value: Any, tree: Any, path: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """The path of an input subtree equal to ``value`` (same type, shape and bits), if any."""
    if equal(value, tree, BITWISE):
        return path
    if isinstance(tree, (tuple, list)):
        for i, item in enumerate(tree):
            found = _find(value, item, (*path, i))
            if found is not None:
                return found
    if isinstance(tree, dict):
        for key, item in tree.items():
            found = _find(value, item, (*path, key))
            if found is not None:
                return found
    return None


def _encode(value: Any, args: tuple[Any, ...], where: tuple[Any, ...]) -> Any:
    found = _find(value, args, ())
    if found is not None:
        return ("arg", found)
    if isinstance(value, np.ndarray):
        return ("array", value.dtype.str, value.shape, value.ravel().tolist())
    if isinstance(value, tuple):
        return ("tuple", [_encode(v, args, (*where, i)) for i, v in enumerate(value)])
    if isinstance(value, list):
        return ("list", [_encode(v, args, (*where, i)) for i, v in enumerate(value)])
    if isinstance(value, dict):
        return ("dict", [(k, _encode(v, args, (*where, k))) for k, v in value.items()])
    return ("value", value.item() if isinstance(value, np.generic) else value)
