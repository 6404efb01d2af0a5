"""The whole pipeline for one notebook: load → execute ∥ (extract → judge) → GradeResult.

Execution (the log shown in the report) and judging (the grade) are independent — the judge runs the
statically extracted functions in its own sandboxed processes — so they run concurrently: grading costs
little more than executing the notebook once.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from grader.assignment import golden as golden_mod
from grader.core.config import GradingConfig
from grader.core.errors import InvalidNotebookError
from grader.core.models import ExerciseResult, GradeResult, Status
from grader.core.resources import version
from grader.judge.checks import judge_exercise
from grader.judge.diagnose import Catalogue, load_catalogue, with_probes
from grader.judge.dispatch import RawOutcome, run_exercises
from grader.sandbox.jobs import job as sandbox_job
from grader.sandbox.levels import select_sandbox
from grader.stages.execute import ExecutionLog, execute_notebook
from grader.stages.extract import Extracted, extract
from grader.stages.load import load_notebook


@functools.lru_cache(maxsize=8)
def _catalogue(golden_path: Path) -> Catalogue:
    return load_catalogue(golden_path)


def invalid_result(
    notebook: str, error: str, *, golden_id: str = "", duration: float = 0.0
) -> GradeResult:
    """The contract's ``invalid`` result: no exercises, the reason in ``error``."""
    return GradeResult(
        notebook=notebook,
        status="invalid",
        error=error,
        score=0.0,
        max_score=0.0,
        duration=duration,
        grader_version=version(),
        golden=golden_id,
    )


def judge_all(
    extracted: Mapping[str, Extracted],
    raws: Mapping[str, RawOutcome],
    *,
    golden: golden_mod.Golden,
    config: GradingConfig,
    names: Collection[str] | None = None,
) -> tuple[ExerciseResult, ...]:
    """Judge what the runner sent back, in dependency order (a caller learns its callee's verdict).

    ``names``: only these exercises (``grader.check`` asks for one and what it calls).
    """
    catalogue = _catalogue(golden.path)
    verdicts: dict[str, Status] = {}
    exercises: list[ExerciseResult] = []
    for spec in golden.assignment.exercises:
        if names is not None and spec.name not in names:
            continue
        res = judge_exercise(
            spec,
            golden.for_exercise(spec.name),
            extracted[spec.name],
            raws.get(spec.name),
            points=config.points_for(spec.name, spec.points),
            rtol=golden.rtol,
            atol=golden.atol,
            limits=config.limits,
            failing=verdicts,
            catalogue=catalogue,
        )
        verdicts[spec.name] = res.status
        exercises.append(res)
    return tuple(exercises)


def grade_notebook(
    path: str | Path,
    *,
    golden: golden_mod.Golden | None = None,
    config: GradingConfig | None = None,
) -> GradeResult:
    """Grade one notebook. Never raises for a bad notebook: returns an ``invalid`` result.

    Raises ``InfrastructureError`` only when this machine cannot grade at all (kernel cannot start).
    """
    started = time.monotonic()
    config = config or GradingConfig()
    golden = golden or golden_mod.default()
    shown = str(path)
    try:
        nb = load_notebook(path)
    except InvalidNotebookError as exc:
        return invalid_result(
            shown, str(exc), golden_id=golden.id, duration=time.monotonic() - started
        )

    limits = config.limits
    sandbox = select_sandbox()
    # The strong sandbox hides every golden directory in use from student code.
    with sandbox_job(sandbox, limits, golden_dirs=(golden.path,), helpers=golden.helpers) as job:
        extracted = extract(nb, golden.assignment.names)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="execute") as pool:
            log_future = pool.submit(
                execute_notebook,
                nb,
                job.workdir,
                limits,
                env=job.kernel_env,
                kernel_cmd_prefix=job.kernel_prefix,
                owner=job.kernel_uid,
                guard=job.kernel_guard,
            )
            cases = with_probes(
                golden.assignment, {n: golden.for_exercise(n) for n in golden.assignment.names}
            )
            raws = run_exercises(extracted, cases, limits, job.judgedir, job.launcher, job.compat)
            log: ExecutionLog = log_future.result()

    exercises = judge_all(extracted, raws, golden=golden, config=config)
    return GradeResult(
        notebook=shown,
        status="graded",
        error=None,
        score=float(sum(e.score for e in exercises)),
        max_score=float(sum(e.max_score for e in exercises)),
        exercises=tuple(exercises),
        cells=log.cells,
        sandbox=sandbox.name,
        sandbox_missing=sandbox.missing,
        duration=time.monotonic() - started,
        grader_version=version(),
        golden=golden.id,
    )
