"""``grade batch DIR --out OUTDIR``: grade a class, resumably, without losing a notebook.

Per notebook the output directory gets ``<stem>.json`` and ``<stem>.html``; for the class,
``gradebook.csv`` and ``index.html`` (overview). A content-addressed cache in ``OUTDIR/.cache``
makes a re-run grade only new or changed notebooks (``--force`` regrades all).

Workers are grader processes of our own (spawned, one notebook at a time each), talking over a
pipe: if one dies — a notebook killed its grader, the OOM killer struck — we know exactly which
notebook it was grading, record an ``invalid`` result saying so and start a fresh worker. (With
``ProcessPoolExecutor`` one dead worker breaks the whole pool and every running notebook with it.)
Each worker is given the notebook's *bytes*, the same bytes that were hashed for the cache key,
so the cache can never hold a result for content other than the key says; the same function
grades locally and on a Dask cluster (``--scheduler``), so both give identical results.
"""

from __future__ import annotations

import dataclasses
import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from grader.assignment.golden import Golden
from grader.assignment.spec import Assignment
from grader.batch.cache import ResultCache, cache_key
from grader.batch.workers import Job, Outcome, failure_result, run_local
from grader.core.config import GradingConfig
from grader.core.errors import ExitCode, UsageError
from grader.core.fileio import atomic_write
from grader.core.models import GradeResult, result_json

#: output names the batch writes itself: a notebook stem must never overwrite them
RESERVED = frozenset({"index", "gradebook", "junit", "gradescope", "summary"})
_UNSAFE = re.compile(r"[^\w.\-]+")


# ---------------------------------------------------------------------------------------------
# Discovery and output names


def discover(root: Path) -> list[Path]:
    """Every ``*.ipynb`` under ``root`` (recursive, no checkpoints or hidden dirs), sorted."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):  # does not follow symlinked dirs: no loops
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        found.extend(Path(dirpath) / f for f in filenames if f.endswith(".ipynb"))
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def assign_stems(files: Sequence[str]) -> list[str]:
    """Unique, filesystem-safe output stems, deterministic for a given set of relative paths.

    ``alice.ipynb`` → ``alice``; when two notebooks share a stem (``a/hw.ipynb``, ``b/hw.ipynb``),
    both use their relative path (``a__hw``, ``b__hw``). Comparison is case-insensitive, because
    the output directory may live on a case-insensitive filesystem.
    """

    def safe(text: str) -> str:
        return _UNSAFE.sub("_", text).strip("._") or "notebook"

    short = [safe(Path(f).stem) for f in files]
    long = [safe("__".join(Path(f).with_suffix("").parts)) for f in files]
    counts: dict[str, int] = {}
    for s in short:
        counts[s.lower()] = counts.get(s.lower(), 0) + 1
    stems: list[str] = []
    taken: set[str] = set()
    for s, lg in zip(short, long, strict=True):
        base = s if counts[s.lower()] == 1 and s.lower() not in RESERVED else lg
        if base.lower() in RESERVED:
            base = f"nb_{base}"
        stem, n = base, 2
        while stem.lower() in taken:
            stem, n = f"{base}-{n}", n + 1
        taken.add(stem.lower())
        stems.append(stem)
    return stems


# ---------------------------------------------------------------------------------------------
# Progress: the caller's (the CLI shows a bar); the library only reports each result


class Reporter(Protocol):
    def advance(self, file: str, result: GradeResult, failed: bool) -> None: ...
    def close(self) -> None: ...


class _Silent:
    def advance(self, file: str, result: GradeResult, failed: bool) -> None:
        pass

    def close(self) -> None:
        pass


# ---------------------------------------------------------------------------------------------
# The batch


@dataclass
class BatchReport:
    """What a batch run produced (also what ``grade batch`` prints a summary of)."""

    out: Path
    rows: list[tuple[Job, GradeResult]]
    assignment: Assignment
    #: the stub students start from (integrity hints ignore its placeholders), or None
    stub: Any = None
    graded: int = 0  #: graded now (not from the cache)
    cached: int = 0
    failures: int = 0  #: grader-side failures (worker died, deadline, infrastructure)
    infrastructure: int = 0
    elapsed: float = 0.0

    @property
    def exit_code(self) -> int:
        # Every notebook got a row. Only "this machine cannot grade" is the grader's failure.
        return int(ExitCode.INTERNAL if self.infrastructure else ExitCode.OK)


def default_deadline(config: GradingConfig, assignment: Assignment) -> float:
    """Outer wall-clock limit for one notebook, a safety net above the pipeline's own limits."""
    lim = config.limits
    calls = len(assignment.exercises) * assignment.max_cases
    return lim.startup_timeout + lim.notebook_timeout + calls * lim.call_timeout + 60


def _html(result: GradeResult, path: Path, labels: Mapping[str, str]) -> None:
    try:
        from grader.render.html import write_html

        write_html(result, path, labels)
    except Exception as exc:  # a report that cannot render must not cost the batch
        import html

        body = (
            f"<!DOCTYPE html><meta charset='utf-8'><title>{html.escape(result.notebook)}</title>"
            f"<h1>{html.escape(result.notebook)}</h1><p>Score {result.score:g}/"
            f"{result.max_score:g} ({html.escape(result.status)}). The full report could not be "
            f"rendered ({html.escape(type(exc).__name__)}: {html.escape(str(exc))}); see the "
            "JSON result next to this file.</p>"
        )
        atomic_write(path, body)


def _write_result(
    out: Path,
    job: Job,
    result: GradeResult,
    labels: Mapping[str, str],
    doc: dict[str, Any] | None = None,
    html: str | None = None,
) -> None:
    """``<stem>.json`` (``doc``, else the result's) and ``<stem>.html`` (``html``, else rendered)."""
    atomic_write(out / f"{job.stem}.json", result_json(doc or result))
    if html is None:
        _html(result, out / f"{job.stem}.html", labels)
    else:
        atomic_write(out / f"{job.stem}.html", html)


def run_batch(
    src: Path,
    out: Path,
    *,
    jobs: int | None = None,
    force: bool = False,
    scheduler: str | None = None,
    golden: Golden | None = None,
    config: GradingConfig | None = None,
    junit: Path | None = None,
    gradescope: Path | None = None,
    deadline: float | None = None,
    progress: Callable[[int], Reporter] | None = None,
    canary: Callable[[], None] | None = None,
) -> BatchReport:
    """Grade every notebook under ``src`` into ``out`` (see the module docstring).

    ``canary`` (``grader.batch.canary.run_canary``, bound) runs before any result is recorded:
    alongside the local workers' first notebooks (their outcomes wait for it), before a Dask
    run; if it raises, the batch stops there and no student's result is written.
    """
    from grader.assignment import golden as golden_mod
    from grader.core.resources import version

    started = time.monotonic()
    if not src.is_dir():
        raise UsageError(f"{src}: no such directory; pass the folder holding the notebooks")
    paths = discover(src)
    if not paths:
        raise UsageError(f"{src}: no *.ipynb notebooks found (searched recursively)")
    config = config or GradingConfig()
    golden = golden or golden_mod.default()
    out.mkdir(parents=True, exist_ok=True)
    cache = ResultCache(out / ".cache")
    files = [p.relative_to(src).as_posix() for p in paths]
    all_jobs = [
        Job(p, f, str(src / f), stem)
        for p, f, stem in zip(paths, files, assign_stems(files), strict=True)
    ]
    report = BatchReport(out, [], golden.assignment, golden.stub())
    labels = golden.assignment.case_labels()
    results: dict[str, GradeResult] = {}
    keys: dict[str, str] = {}
    prints: dict[str, dict[str, list[Any]]] = {}  # integrity fingerprints the workers computed
    pending: list[tuple[Job, bytes]] = []
    bar: Reporter = progress(len(all_jobs)) if progress is not None else _Silent()

    def record(job: Job, outcome: Outcome) -> None:
        result = GradeResult.from_dict(outcome.result)
        _write_result(out, job, result, labels, outcome.result, outcome.html)
        if outcome.fingerprints is not None:
            prints[job.file] = outcome.fingerprints
        if outcome.cacheable and job.file in keys:
            # last: a cache entry implies its files exist
            cache.put(keys[job.file], outcome.result, outcome.fingerprints)
        if outcome.failure:
            report.failures += 1
            report.infrastructure += outcome.failure == "infrastructure"
        results[job.file] = result
        bar.advance(job.file, result, result.status != "graded")

    ver = version()
    try:
        for job in all_jobs:
            try:
                data = job.path.read_bytes()
            except OSError as exc:
                why = f"{job.shown}: cannot read the file ({exc.strerror or exc})"
                record(job, failure_result(job, "unreadable", why, golden.id))
                continue
            keys[job.file] = cache_key(data, golden_id=golden.key, config=config, version=ver)
            entry = None if force else cache.entry(keys[job.file])
            if entry is not None:
                hit = dataclasses.replace(entry[0], notebook=job.shown)
                if entry[1] is not None:
                    prints[job.file] = entry[1]
                if (
                    not (out / f"{job.stem}.json").is_file()
                    or not (out / f"{job.stem}.html").is_file()
                ):
                    _write_result(out, job, hit, labels)
                results[job.file] = hit
                report.cached += 1
                bar.advance(job.file, hit, hit.status != "graded")
            else:
                pending.append((job, data))
        report.graded = len(pending)
        limit = deadline or default_deadline(config, golden.assignment)
        if canary is not None and not (pending and not scheduler):
            canary()  # else it runs inside run_local, once its workers are starting
        if pending and scheduler:
            from grader.batch.distributed import run_dask

            run_dask(pending, address=scheduler, config=config, golden_dir=golden.path,
                     golden_id=golden.id, on_outcome=record)  # fmt: skip
        elif pending:
            run_local(pending, workers=jobs or os.cpu_count() or 1, config=config,
                      golden_dir=str(golden.path), golden_id=golden.id,
                      deadline=limit, on_outcome=record, before=canary)  # fmt: skip
    finally:
        bar.close()
    report.rows = [(job, results[job.file]) for job in all_jobs]
    write_class_outputs(report, junit=junit, gradescope=gradescope, fingerprints=prints)
    report.elapsed = time.monotonic() - started
    return report


def write_class_outputs(
    report: BatchReport,
    *,
    junit: Path | None = None,
    gradescope: Path | None = None,
    fingerprints: Mapping[str, Mapping[str, Sequence[Any]]] | None = None,
) -> None:
    """gradebook.csv, index.html (with integrity hints), and the optional CI files.

    ``fingerprints``: integrity fingerprints already known, by notebook (the workers compute
    them while grading; the cache keeps them); the others are computed here.
    """
    from grader.render.gradebook import write_gradebook
    from grader.render.overview import Row, write_overview

    out = report.out
    names = report.assignment.names
    write_gradebook([(job.file, r) for job, r in report.rows], out / "gradebook.csv", names)
    flags = _integrity([job for job, _ in report.rows], names, report.stub, fingerprints or {})
    rows = [Row(job.file, f"{job.stem}.html", f"{job.stem}.json", r) for job, r in report.rows]
    write_overview(
        rows, out / "index.html", names=names, title=report.assignment.title, flags=flags
    )
    if junit is not None:
        from grader.render.junit import write_junit

        write_junit([r for _, r in report.rows], junit)
    if gradescope is not None:
        from grader.render.gradescope import write_gradescope

        for job, r in report.rows:
            write_gradescope(r, gradescope / f"{job.stem}.json")


def _integrity(
    jobs: Sequence[Job],
    names: Sequence[str],
    stub: Any,
    known: Mapping[str, Mapping[str, Sequence[Any]]],
) -> list[Any]:
    """Integrity hints over the batch; never fails the batch (a hint is optional)."""
    from grader.stages import integrity
    from grader.stages.load import load_notebook

    def fingerprints(job: Job) -> dict[str, integrity.Fingerprint]:
        if job.file in known:
            return {
                n: integrity.Fingerprint(str(d), int(k)) for n, (d, k) in known[job.file].items()
            }
        try:
            return integrity.notebook_fingerprints(load_notebook(job.path), names)
        except Exception:  # invalid notebooks simply have nothing to compare
            return {}

    try:
        subs = {job.file: fingerprints(job) for job in jobs}
        return integrity.find_groups(subs, names=names, ignore=integrity.stub_digests(stub, names))
    except Exception:
        return []
