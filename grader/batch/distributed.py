"""Grade a batch on an existing Dask distributed cluster (``grade batch ... --scheduler ADDR``).

One task per notebook. Workers need this package installed but not the batch's filesystem: the
notebook's bytes travel with its task, a private golden set (``--golden``) is broadcast once, and
each result comes back as ``GradeResult.to_dict()`` to be written locally. Tasks run the same
``grade_bytes`` as local workers, so a cluster run and a local run give identical results.

Dask is an optional extra (``pip install 'rnn-grader[dask]'``), imported only here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from grader.assignment import golden as golden_mod
from grader.batch.workers import Job, Outcome, failure_result, grade_job
from grader.core.config import GradingConfig
from grader.core.errors import UsageError
from grader.core.resources import default_golden


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise UsageError(
            "--scheduler needs Dask: pip install 'rnn-grader[dask]' (on this machine and workers)"
        ) from exc
    return distributed


def _task(
    shown: str, data: bytes, config: GradingConfig, golden_files: dict[str, bytes] | None
) -> tuple[str, Any]:
    """Runs on a Dask worker. Errors come back as values: a task exception is not our failure."""
    from grader.core.errors import InfrastructureError

    try:
        return ("ok", grade_job(shown, data, config, golden_files=golden_files))
    except InfrastructureError as exc:
        return ("infrastructure", str(exc))
    except Exception as exc:
        return ("internal", f"{type(exc).__name__}: {exc}")


def run_dask(
    jobs: Sequence[tuple[Job, bytes]],
    *,
    address: str,
    config: GradingConfig,
    golden_dir: Path | None,
    golden_id: str,
    on_outcome: Callable[[Job, Outcome], None],
    client: Any = None,
    connect_timeout: float = 30.0,
) -> None:
    """Submit one task per job to the scheduler at ``address``; ``on_outcome`` runs here."""
    distributed = _import_distributed()
    own = client is None
    if own:
        try:
            client = distributed.Client(address, timeout=connect_timeout)
        except (OSError, TimeoutError) as exc:
            raise UsageError(
                f"--scheduler {address}: cannot connect ({exc}); is `dask scheduler` running "
                "there and the port reachable?"
            ) from exc
    try:
        # Always ship our golden set (even the default one): workers with another version of the
        # package would otherwise grade against other arrays than the cache key says.
        files = golden_mod.files(golden_dir or default_golden())
        [golden] = client.scatter([files], broadcast=True, hash=False)
        by_future = {}
        for job, data in jobs:
            # pure=False: the same bytes in two files are two tasks (each gets its own result).
            fut = client.submit(_task, job.shown, data, config, golden, pure=False, retries=0)
            by_future[fut] = job
        for fut in distributed.as_completed(by_future):
            job = by_future[fut]
            try:
                kind, payload = fut.result()
            except Exception as exc:  # KilledWorker: the notebook took down every worker it met
                name = type(exc).__name__
                why = (
                    "the notebook's grading process died repeatedly on the cluster (KilledWorker);"
                    " it may exhaust memory or kill its grader"
                    if name == "KilledWorker"
                    else f"the cluster failed to grade it ({name}: {exc})"
                )
                on_outcome(job, failure_result(job, "worker_died", why, golden_id))
                continue
            if kind == "ok" and isinstance(payload, Outcome):
                on_outcome(job, payload)
            else:
                what = "a worker cannot grade" if kind == "infrastructure" else "internal error"
                on_outcome(job, failure_result(job, kind, f"{what}: {payload}", golden_id))
    finally:
        if own:
            client.close()
