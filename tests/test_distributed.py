"""grade batch --scheduler: a real Dask cluster gives the same results as local workers."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import nbformat
import pytest

from grader.batch import run_batch
from grader.errors import UsageError


def _strip_timing(obj: Any) -> Any:
    """Drop durations and the pipeline's random temp dirs (quoted in cell tracebacks)."""
    if isinstance(obj, str):
        return re.sub(r"(/tmp/rnn-grader-|/run/rnn-grader/jobs/)[\w]+", "<tmp>", obj)
    if isinstance(obj, dict):
        return {k: _strip_timing(v) for k, v in obj.items() if k != "duration"}
    if isinstance(obj, list):
        return [_strip_timing(v) for v in obj]
    return obj


def _outputs(out: Path) -> dict[str, Any]:
    return {p.name: _strip_timing(json.loads(p.read_text())) for p in sorted(out.glob("*.json"))}


def test_unreachable_scheduler_is_a_usage_error(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    from grader.distributed import run_dask

    with pytest.raises(UsageError, match="cannot connect"):
        run_dask([], address="tcp://127.0.0.1:9", config=None,  # type: ignore[arg-type]
                 golden_dir=None, golden_id="", on_outcome=lambda j, o: None,
                 connect_timeout=2)  # fmt: skip


@pytest.mark.slow
def test_cluster_results_equal_local_results(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    from grader.stubgen import render_solved

    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    nb = render_solved()
    nbformat.write(nb, src / "good.ipynb")
    buggy = copy.deepcopy(nb)
    for cell in buggy.cells:
        cell.source = cell.source.replace("c_next = ft * c_prev + it * cct", "c_next = it * cct")
    assert buggy != nb
    nbformat.write(buggy, src / "sub" / "buggy.ipynb")
    (src / "bad.ipynb").write_text("not json")

    local = run_batch(src, tmp_path / "local", jobs=2, progress=False)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:  # fmt: skip
        remote = run_batch(src, tmp_path / "dask", scheduler=cluster.scheduler_address,
                           progress=False)  # fmt: skip
    assert remote.graded == local.graded == 3
    assert remote.failures == 0
    got, want = _outputs(tmp_path / "dask"), _outputs(tmp_path / "local")
    assert list(got) == ["bad.json", "buggy.json", "good.json"]
    assert got == want
    statuses = {e["name"]: e["status"] for e in got["buggy.json"]["exercises"]}
    assert statuses["lstm_cell_forward"] == "failed" and statuses["rnn_forward"] == "passed"
