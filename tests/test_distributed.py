"""grade batch --scheduler: a real Dask cluster gives the same results as local workers."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import nbformat
import pytest

from grader.batch.run import run_batch
from grader.core.errors import UsageError


def _strip_timing(obj: Any) -> Any:
    """Drop durations and the pipeline's random temp dirs (quoted in cell tracebacks).

    A job dir appears as ``<job dir>/notebook/<file>``, possibly cut anywhere by the excerpt's
    length limit (``ader/jobs/j2yv.../notebook/public_tests.py``): everything of the path before
    ``/notebook/`` goes.
    """
    if isinstance(obj, str):
        obj = re.sub(r"\S*/notebook/", "<job>/notebook/", obj)
        return re.sub(r"(/tmp/rnn-grader-|/run/rnn-grader/jobs/)[\w-]+", "<tmp>", obj)
    if isinstance(obj, dict):
        return {k: _strip_timing(v) for k, v in obj.items() if k != "duration"}
    if isinstance(obj, list):
        return [_strip_timing(v) for v in obj]
    return obj


def _outputs(out: Path) -> dict[str, Any]:
    return {p.name: _strip_timing(json.loads(p.read_text())) for p in sorted(out.glob("*.json"))}


def test_unreachable_scheduler_is_a_usage_error(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    from grader.batch.distributed import run_dask

    with pytest.raises(UsageError, match="cannot connect"):
        run_dask([], address="tcp://127.0.0.1:9", config=None,  # type: ignore[arg-type]
                 golden_dir=None, golden_id="", on_outcome=lambda j, o: None,
                 connect_timeout=2)  # fmt: skip


@pytest.mark.slow
def test_cluster_results_equal_local_results(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    from grader.authoring.stubgen import render_solved

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

    local = run_batch(src, tmp_path / "local", jobs=2)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:  # fmt: skip
        remote = run_batch(src, tmp_path / "dask", scheduler=cluster.scheduler_address,
                           )  # fmt: skip
    assert remote.graded == local.graded == 3
    assert remote.failures == 0
    got, want = _outputs(tmp_path / "dask"), _outputs(tmp_path / "local")
    assert list(got) == ["bad.json", "buggy.json", "good.json"]
    assert got == want
    statuses = {e["name"]: e["status"] for e in got["buggy.json"]["exercises"]}
    assert statuses["lstm_cell_forward"] == "failed" and statuses["rnn_forward"] == "passed"


@pytest.mark.slow
def test_worker_killed_repeatedly_becomes_an_invalid_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A notebook that takes down every worker it is given: KilledWorker, one invalid row.

    At the basic level a notebook's kernel is a child of the Dask worker process grading it, so a
    first cell that SIGKILLs its parent kills that worker; the nanny restarts it, the scheduler
    retries the task elsewhere, until it gives up. (At the strong level the kernel's parent is
    its namespace's init, which ignores the signal.)
    """
    distributed = pytest.importorskip("distributed")
    import dask

    from grader.authoring.stubgen import render_solved
    from grader.sandbox.levels import ENV_VAR

    monkeypatch.setenv(ENV_VAR, "basic")  # inherited by the cluster's worker processes
    src = tmp_path / "in"
    src.mkdir()
    nb = render_solved()
    nbformat.write(nb, src / "good.ipynb")
    killer = copy.deepcopy(nb)
    killer.cells.insert(
        0, nbformat.v4.new_code_cell("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)")
    )
    nbformat.write(killer, src / "killer.ipynb")

    # The scheduler runs in this process: give up after the second dead worker, not the fourth.
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 1}),
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
    ):  # fmt: skip
        report = run_batch(src, tmp_path / "out", scheduler=cluster.scheduler_address,
                           )  # fmt: skip
    rows = {job.file: result for job, result in report.rows}
    assert rows["good.ipynb"].status == "graded" and rows["good.ipynb"].score == 100
    dead = rows["killer.ipynb"]
    assert dead.status == "invalid" and "KilledWorker" in (dead.error or ""), dead.error
    assert report.failures == 1 and report.infrastructure == 0 and report.exit_code == 0
    saved = json.loads((tmp_path / "out" / "killer.json").read_text())
    assert saved["extra"] == {"batch_failure": "worker_died"}
    assert (tmp_path / "out" / "killer.html").is_file()
    # Only the good notebook's result is cached: the next run tries the killer again.
    assert len(list((tmp_path / "out" / ".cache").glob("*.json.gz"))) == 1
