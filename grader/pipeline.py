"""The whole pipeline for one notebook: load → execute ∥ (extract → judge) → GradeResult.

Execution (the log shown in the report) and judging (the grade) are independent — the judge runs the
statically extracted functions in its own sandboxed processes — so they run concurrently: grading costs
little more than executing the notebook once.
"""

from __future__ import annotations

import contextlib
import functools
import subprocess
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
from grader.judge.dispatch import RawOutcome, discard_runner, launch_runner, run_exercises
from grader.sandbox.jobs import job as sandbox_job
from grader.sandbox.levels import select_sandbox
from grader.stages.execute import ExecutionLog, WarmKernel
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
    catalogue = functools.partial(_catalogue, golden.path)  # loaded when something fails
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


class Warm:
    """One notebook's sandbox, made ready before the notebook is known.

    The job (directories, uids, views), a kernel that is starting or started, and a judge runner
    that has imported its modules and waits for its request: most of a notebook's fixed cost,
    paid ahead. ``grade batch`` workers keep the next notebook's ``Warm`` ready while they grade
    the current one; a single ``grade`` starts it first and does its own set-up meanwhile.
    Nothing in it has run student code, and it serves one notebook: no state can pass from one
    notebook to the next. :meth:`close` (or leaving its ``with`` block) kills what it started.
    """

    def __init__(self, golden: golden_mod.Golden, config: GradingConfig) -> None:
        self.golden = golden
        self.limits = config.limits
        self.sandbox = select_sandbox()
        self._stack = contextlib.ExitStack()
        self.runner: subprocess.Popen[bytes] | None = None
        try:
            # The strong sandbox hides every golden directory in use from student code.
            self.job = self._stack.enter_context(
                sandbox_job(
                    self.sandbox, self.limits, golden_dirs=(golden.path,), helpers=golden.helpers
                )
            )
            job = self.job
            self.kernel = WarmKernel(
                job.workdir,
                self.limits,
                env=job.kernel_env,
                kernel_cmd_prefix=job.kernel_prefix,
                owner=job.kernel_uid,
                guard=job.kernel_guard,
            )
            self._stack.callback(self.kernel.discard)  # before the job ends: LIFO
            self.runner = launch_runner(job.launcher, job.judgedir)
        except BaseException:
            self.close()
            raise

    def fits(self, golden: golden_mod.Golden, config: GradingConfig) -> bool:
        """Was this made for the same golden set and limits?"""
        return self.golden.path == golden.path and self.limits == config.limits

    def take_runner(self) -> subprocess.Popen[bytes] | None:
        runner, self.runner = self.runner, None
        return runner

    def close(self) -> None:
        runner = self.take_runner()
        if runner is not None:
            discard_runner(runner)
        self._stack.close()

    def __enter__(self) -> Warm:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def grade_notebook(
    path: str | Path,
    *,
    golden: golden_mod.Golden | None = None,
    config: GradingConfig | None = None,
    warm: Warm | None = None,
) -> GradeResult:
    """Grade one notebook. Never raises for a bad notebook: returns an ``invalid`` result.

    ``warm``: a :class:`Warm` made for this golden set and config (it is used up, or closed,
    either way); without one the notebook gets a fresh one.
    Raises ``InfrastructureError`` only when this machine cannot grade at all (kernel cannot start).
    """
    started = time.monotonic()
    config = config or GradingConfig()
    golden = golden or golden_mod.default()
    shown = str(path)
    if warm is not None and not warm.fits(golden, config):
        warm.close()
        warm = None
    try:
        nb = load_notebook(path)
    except InvalidNotebookError as exc:
        if warm is not None:
            warm.close()
        return invalid_result(
            shown, str(exc), golden_id=golden.id, duration=time.monotonic() - started
        )

    with warm or Warm(golden, config) as ready:
        job = ready.job
        # The kernel is booting in its own thread meanwhile. Extraction comes before the cells
        # run: a notebook that exhausts the machine's memory must not make the grader's own
        # parsing fail (at the portable level its kernel is only watched, not capped).
        extracted = extract(nb, golden.assignment.names)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="execute") as pool:
            log_future = pool.submit(ready.kernel.execute, nb)
            cases = with_probes(
                golden.assignment, {n: golden.for_exercise(n) for n in golden.assignment.names}
            )
            raws = run_exercises(
                extracted,
                cases,
                config.limits,
                job.judgedir,
                job.launcher,
                job.compat,
                runner=ready.take_runner(),
            )
            # Judging needs only the runner's answers: it overlaps the notebook's execution.
            exercises = judge_all(extracted, raws, golden=golden, config=config)
            log: ExecutionLog = log_future.result()

    return GradeResult(
        notebook=shown,
        status="graded",
        error=None,
        score=float(sum(e.score for e in exercises)),
        max_score=float(sum(e.max_score for e in exercises)),
        exercises=tuple(exercises),
        cells=log.cells,
        sandbox=ready.sandbox.name,
        sandbox_missing=ready.sandbox.missing,
        duration=time.monotonic() - started,
        grader_version=version(),
        golden=golden.id,
    )
