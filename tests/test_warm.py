"""Warm sandboxes (``grader.pipeline.Warm``): ready ahead, used once, and never a carrier of state.

A batch worker starts the next notebook's sandbox, kernel and judge runner while it grades the
current one. These tests grade a notebook that leaves every trace it can (a global, builtins and
numpy patched in its kernel and in its judged function, files in its directory and home) and
then, on the same worker, a notebook that looks for those traces and must find none.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from grader.assignment import golden as golden_mod
from grader.batch.run import run_batch
from grader.core.config import GradingConfig
from grader.core.models import Status
from grader.pipeline import Warm, grade_notebook
from tests.notebooks import function_sources, submission, write
from tests.shipped import NAMES

#: Leaves traces in its kernel: a global, builtins, numpy, a file in its directory and home.
DIRTY_CELL = """\
import builtins, os
import numpy as np
LEFT_BEHIND = 1
builtins.LEFT_BEHIND = 1
np.tanh = lambda x: 0 * x
open("left-behind.txt", "w").write("a")
open(os.path.expanduser("~/left-behind.txt"), "w").write("a")
"""

#: The same, from inside a judged function: the judge runner's process is the target.
DIRTY_CALL = """\
    import builtins as _b, os as _os
    _b.LEFT_BEHIND = 1
    np.tanh = lambda x: 0 * x
    open("left-behind.txt", "w").write("a")
    open(_os.path.expanduser("~/left-behind.txt"), "w").write("a")
"""

#: Looks for every trace; prints one line the test reads from the execution log.
LOOK_CELL = """\
import builtins, os
import numpy as np
print("TRACES", [
    "LEFT_BEHIND" in globals(),
    hasattr(builtins, "LEFT_BEHIND"),
    float(np.tanh(0.5)) == 0.0,
    os.path.exists("left-behind.txt"),
    os.path.exists(os.path.expanduser("~/left-behind.txt")),
])
"""

#: The same checks inside the judge: a function that fails its checks if it sees any trace.
LOOK_CALL = """\
    import builtins as _b, os as _os
    if (hasattr(_b, "LEFT_BEHIND") or float(np.tanh(0.5)) == 0.0
            or _os.path.exists("left-behind.txt")
            or _os.path.exists(_os.path.expanduser("~/left-behind.txt"))):
        raise RuntimeError("state from an earlier notebook")
"""


def _inject(name: str, lines: str) -> str:
    """The reference source of ``name`` with ``lines`` run first in its body."""
    source = function_sources()[name]
    doc_end = source.index('"""', source.index('"""') + 3) + 3
    return source[:doc_end] + "\n" + lines + source[doc_end:]


def _dirty() -> object:
    return submission({NAMES[0]: _inject(NAMES[0], DIRTY_CALL)}, before=(DIRTY_CELL,))


def _clean() -> object:
    return submission({NAMES[0]: _inject(NAMES[0], LOOK_CALL)}, before=(LOOK_CELL,))


def _traces(cells: list[dict[str, object]]) -> str:
    return next(str(c["output"]) for c in cells if "TRACES" in str(c["output"]))


def test_a_batch_worker_carries_no_state_from_one_notebook_to_the_next(tmp_path: Path) -> None:
    src = tmp_path / "class"
    src.mkdir()
    # One worker grades them in order, each in the sandbox warmed while the previous one ran.
    write(_dirty(), src / "a_dirty.ipynb")  # type: ignore[arg-type]
    write(_clean(), src / "b_clean.ipynb")  # type: ignore[arg-type]
    write(_dirty(), src / "c_dirty.ipynb")  # type: ignore[arg-type]
    write(_clean(), src / "d_clean.ipynb")  # type: ignore[arg-type]
    report = run_batch(src, tmp_path / "out", jobs=1)
    assert report.failures == 0
    for stem in ("b_clean", "d_clean"):
        doc = json.loads((tmp_path / "out" / f"{stem}.json").read_text())
        assert doc["status"] == "graded", doc["error"]
        assert _traces(doc["cells"]).endswith("[False, False, False, False, False]"), stem
        # The judged function raises if it sees a trace: every exercise passes.
        assert [e["status"] for e in doc["exercises"]] == ["passed"] * len(NAMES), stem
        assert doc["score"] == doc["max_score"] > 0
    # The dirty notebooks did leave their traces where they ran (the test can fail).
    dirty = json.loads((tmp_path / "out" / "a_dirty.json").read_text())
    assert dirty["exercises"][0]["status"] != "passed"  # its np.tanh patch broke its own cell


def test_a_warm_sandbox_serves_one_notebook_and_is_used(tmp_path: Path) -> None:
    golden = golden_mod.default()
    config = GradingConfig()
    warm = Warm(golden, config)
    runner = warm.runner
    assert runner is not None and runner.poll() is None  # started ahead, waiting
    result = grade_notebook(write(_clean(), tmp_path / "nb.ipynb"), golden=golden, config=config,
                            warm=warm)  # type: ignore[arg-type]  # fmt: skip
    assert result.status == "graded" and result.passed
    assert warm.runner is None and runner.poll() is not None  # its runner was used, then ended
    with pytest.raises(RuntimeError, match="one notebook"):
        warm.kernel.execute(_clean())  # type: ignore[arg-type]


def test_a_warm_sandbox_for_other_limits_is_not_used(tmp_path: Path) -> None:
    golden = golden_mod.default()
    config = GradingConfig()
    other = dataclasses.replace(config, limits=dataclasses.replace(config.limits, call_timeout=7))
    warm = Warm(golden, other)
    runner = warm.runner
    assert runner is not None
    result = grade_notebook(write(_clean(), tmp_path / "nb.ipynb"), golden=golden, config=config,
                            warm=warm)  # type: ignore[arg-type]  # fmt: skip
    assert result.passed
    assert runner.poll() is not None  # closed, not used: its limits were not this grade's
    assert all(e.status is Status.PASSED for e in result.exercises)


def test_an_unused_warm_sandbox_closes_cleanly() -> None:
    warm = Warm(golden_mod.default(), GradingConfig())
    runner = warm.runner
    assert runner is not None
    warm.close()
    assert runner.poll() is not None
    assert warm.kernel.finished
