"""Grade notebooks from their bytes: local worker processes and the function a Dask task runs.

Workers are grader processes of our own (spawned, one notebook at a time each), talking over a
pipe: if one dies — a notebook killed its grader, the OOM killer struck — we know exactly which
notebook it was grading, record an ``invalid`` result saying so and start a fresh worker. (With
``ProcessPoolExecutor`` one dead worker breaks the whole pool and every running notebook with it.)
Each worker is given the notebook's *bytes*, the same bytes that were hashed for the cache key,
so the cache can never hold a result for content other than the key says.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.core.config import GradingConfig
from grader.sandbox.limits import kill_process_tree


@dataclass(frozen=True)
class Job:
    """One notebook of the batch."""

    path: Path  #: where to read it
    file: str  #: path relative to the batch directory (POSIX), the notebook's id
    shown: str  #: the path as the user gave it, recorded as ``GradeResult.notebook``
    stem: str  #: unique output name: ``<stem>.json`` / ``<stem>.html``


@dataclass(frozen=True)
class Outcome:
    """What came back for one job: a result dict, and whether it may be cached."""

    result: dict[str, Any]
    cacheable: bool = True
    #: set when the grader failed, not the notebook: worker_died, deadline, infrastructure, ...
    failure: str | None = None
    #: the HTML report, rendered by the worker (None: the batch renders it)
    html: str | None = None
    #: integrity fingerprints of the graded functions, name -> [digest, nodes] (None: unknown)
    fingerprints: dict[str, list[Any]] | None = None


# ---------------------------------------------------------------------------------------------
# Grading one notebook from its bytes (runs in a local worker or on a Dask worker)

_GOLDEN: dict[str, Any] = {}


def _golden(golden_dir: str | None, files: dict[str, bytes] | None) -> Any:
    """Load (once per process) the golden set from a path or from shipped file contents."""
    import hashlib

    from grader.assignment import golden as golden_mod

    key = golden_dir or ""
    if files:
        key = hashlib.sha256(b"".join(files[k] for k in sorted(files))).hexdigest()
    if key not in _GOLDEN:
        if files:
            where = Path(tempfile.mkdtemp(prefix="rnn-grader-golden-"))
            _GOLDEN[key] = golden_mod.load(golden_mod.unpack(files, where))
        elif golden_dir:
            _GOLDEN[key] = golden_mod.load(Path(golden_dir))
        else:
            _GOLDEN[key] = golden_mod.default()
    return _GOLDEN[key]


def _relabel(obj: Any, old: str, new: str) -> Any:
    if isinstance(obj, str):
        return obj.replace(old, new)
    if isinstance(obj, list):
        return [_relabel(v, old, new) for v in obj]
    if isinstance(obj, dict):
        return {k: _relabel(v, old, new) for k, v in obj.items()}
    return obj


def grade_bytes(
    shown: str,
    data: bytes,
    config: GradingConfig,
    golden_dir: str | None = None,
    golden_files: dict[str, bytes] | None = None,
    warm: Any = None,
) -> dict[str, Any]:
    """Grade notebook bytes as if they were the file ``shown``; returns ``GradeResult.to_dict()``.

    The bytes are written to a private temp dir under the notebook's own file name (messages that
    quote the name stay meaningful), and the temp path is replaced by ``shown`` in the result.
    ``warm``: a ``grader.pipeline.Warm`` made ahead for this notebook (used up either way).
    """
    from grader.pipeline import grade_notebook

    golden = _golden(golden_dir, golden_files)
    with tempfile.TemporaryDirectory(prefix="rnn-grader-batch-") as tmp:
        path = Path(tmp) / (Path(shown).name or "notebook.ipynb")
        path.write_bytes(data)
        result = grade_notebook(path, golden=golden, config=config, warm=warm)
        return dict(_relabel(result.to_dict(), str(path), shown))


def grade_job(
    shown: str,
    data: bytes,
    config: GradingConfig,
    golden_dir: str | None = None,
    golden_files: dict[str, bytes] | None = None,
    warm: Any = None,
) -> Outcome:
    """:func:`grade_bytes`, plus what the batch would otherwise do one notebook at a time in
    its single process: the HTML report (rendered from the result as the JSON holds it, the
    form a cached result has too) and the integrity fingerprints."""
    from grader.core.models import GradeResult
    from grader.render.html import render_html
    from grader.stages.integrity import notebook_fingerprints
    from grader.stages.load import parse_notebook

    golden = _golden(golden_dir, golden_files)
    doc = grade_bytes(shown, data, config, golden_dir, golden_files, warm)
    html = render_html(GradeResult.from_dict(doc), golden.assignment.case_labels())
    try:
        found = notebook_fingerprints(parse_notebook(data, shown), golden.assignment.names)
    except Exception:  # an unreadable notebook has no fingerprints, only its invalid result
        found = {}
    prints = {name: [fp.digest, fp.nodes] for name, fp in found.items()}
    return Outcome(doc, html=html, fingerprints=prints)


def _ahead(config: GradingConfig, golden_dir: str | None) -> Any:
    """The next notebook's sandbox, kernel and judge runner, started now; None if they cannot
    start (the notebook then starts its own, and reports why if that fails too)."""
    from grader.pipeline import Warm

    try:
        return Warm(_golden(golden_dir, None), config)
    except Exception:
        return None


# ---------------------------------------------------------------------------------------------
# Local worker processes


def _worker_main(conn: Any, config: GradingConfig, golden_dir: str | None, warm: bool) -> None:
    """A worker: grade one request at a time until the pipe closes.

    ``warm``: start each next notebook's sandbox while grading the current one. That pays only
    where a core would otherwise idle (fewer workers than cores): with every core busy the
    warm start competes for the same CPU, gains nothing and holds a second kernel's memory.
    """
    # Own process group: the terminal's Ctrl-C goes to the batch, which stops workers itself.
    # (Windows has no process groups of this kind: kill_process_tree stops what a worker left.)
    if hasattr(os, "setpgrp"):
        os.setpgrp()

    def _exit(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)  # unwinds so nbclient shuts its kernel down

    def _unraisable(info: Any) -> None:
        if isinstance(info.exc_value, SystemExit):
            # The signal landed in a callback that cannot raise (a weakref's, a __del__), which
            # swallowed the exit. Send it again a moment later, from another thread: it then
            # lands at an ordinary line (sent from here, it would land in this hook again).
            again = threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGTERM))
            again.daemon = True
            again.start()
            return
        sys.__unraisablehook__(info)

    signal.signal(signal.SIGTERM, _exit)
    sys.unraisablehook = _unraisable
    from grader.core.errors import InfrastructureError

    # The grader, golden set and catalogue load once per worker; each notebook gets a fresh
    # sandbox, kernel and judge runner (with ``warm``, started while the previous one is graded).
    ahead = _ahead(config, golden_dir) if warm else None
    try:
        while True:
            try:
                shown, data, more = conn.recv()
            except (EOFError, OSError):
                return
            ready, ahead = ahead, None
            if more and warm:
                ahead = _ahead(config, golden_dir)
            try:
                reply: tuple[str, Any] = (
                    "ok",
                    grade_job(shown, data, config, golden_dir, warm=ready),
                )
            except InfrastructureError as exc:
                reply = ("infrastructure", str(exc))
            except Exception as exc:  # a grader bug must cost one notebook, not the batch
                reply = ("internal", f"{type(exc).__name__}: {exc}")
            conn.send(reply)
    finally:
        if ahead is not None:
            ahead.close()


def failure_result(job: Job, failure: str, message: str, golden_id: str) -> Outcome:
    from grader.pipeline import invalid_result

    result = invalid_result(job.shown, message, golden_id=golden_id)
    doc = result.to_dict()
    doc["extra"] = {"batch_failure": failure}
    # Grader-side failures are not cached: the next run tries again.
    return Outcome(doc, cacheable=False, failure=failure)


class _Worker:
    """One spawned grader process; replaced when it dies or overruns its deadline."""

    def __init__(
        self, ctx: Any, config: GradingConfig, golden_dir: str | None, warm: bool = False
    ) -> None:
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(
            target=_worker_main, args=(child, config, golden_dir, warm), name="rnn-grader-worker"
        )
        self.proc.start()
        child.close()

    def grade(
        self, job: Job, data: bytes, deadline: float, golden_id: str, more: bool = False
    ) -> Outcome:
        """Grade one notebook; ``more``: another one will follow (the worker warms up for it)."""
        try:
            self.conn.send((job.shown, data, more))
            if not self.conn.poll(deadline):
                self.stop()
                return failure_result(
                    job, "deadline",
                    f"grading took longer than {deadline:.0f} s and was stopped; raise "
                    "--timeout or the [limits] in --config if the notebook is legitimately slow",
                    golden_id,
                )  # fmt: skip
            kind, payload = self.conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            self.proc.join(5)
            code = self.proc.exitcode
            how = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
            return failure_result(
                job, "worker_died",
                f"the grading process died while grading this notebook ({how}); the notebook may "
                "have exhausted memory or killed its grader. It will be retried on the next run",
                golden_id,
            )  # fmt: skip
        if kind == "ok":
            return payload  # an Outcome, pickled
        what = "this machine cannot grade" if kind == "infrastructure" else "internal grader error"
        return failure_result(job, kind, f"{what}: {payload}", golden_id)

    @property
    def alive(self) -> bool:
        return self.proc.is_alive()

    def stop(self, grace: float = 5.0, *, idle: bool = False) -> None:
        """Stop the worker; ``idle``: it is between notebooks, so closing its pipe ends it
        cleanly (it closes its warm sandbox); a signal could land anywhere, even in a weakref
        callback that swallows the exit."""
        if idle and self.proc.is_alive():
            self.conn.close()
            self.proc.join(grace)
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join(grace)
        if self.proc.is_alive() and self.proc.pid:
            if hasattr(os, "killpg"):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
            else:
                kill_process_tree(self.proc.pid)
            self.proc.join(2)
        if not self.conn.closed:
            self.conn.close()


def run_local(
    jobs: Sequence[tuple[Job, bytes]],
    *,
    workers: int,
    config: GradingConfig,
    golden_dir: str | None,
    golden_id: str,
    deadline: float,
    on_outcome: Callable[[Job, Outcome], None],
    before: Callable[[], None] | None = None,
) -> None:
    """Grade ``jobs`` on ``workers`` local processes; ``on_outcome`` runs in the calling thread.

    ``before`` (the canary) runs in the calling thread while the workers start and take their
    first notebooks: it costs its own CPU time, not a pause of the whole pool. Outcomes wait in
    the queue until it returns; if it raises, the workers are stopped and no outcome reaches
    ``on_outcome`` (nothing is written, nothing is cached).
    """
    ctx = multiprocessing.get_context("spawn")  # fork would copy threads and locks
    todo: queue.Queue[tuple[Job, bytes] | None] = queue.Queue()
    done: queue.Queue[tuple[Job, Outcome] | BaseException] = queue.Queue()
    stop = threading.Event()
    n = max(1, min(workers, len(jobs)))
    warm = n < (os.cpu_count() or 1)  # see _worker_main
    live: list[_Worker] = []
    lock = threading.Lock()
    left = [len(jobs)]  # notebooks not yet handed to a worker

    def slot() -> None:
        worker: _Worker | None = None
        item: tuple[Job, bytes] | None = None
        try:
            while not stop.is_set():
                if worker is None or not worker.alive:
                    worker = _Worker(ctx, config, golden_dir, warm)
                    with lock:
                        live.append(worker)
                item = todo.get()
                if item is None or stop.is_set():
                    break
                with lock:
                    left[0] -= 1
                    more = left[0] > 0
                outcome = worker.grade(item[0], item[1], deadline, golden_id, more)
                if not stop.is_set():
                    done.put((item[0], outcome))
        except BaseException as exc:  # surface in the main thread instead of hanging it
            done.put(exc)
        finally:
            if worker is not None:
                worker.stop(idle=item is None)

    threads = [threading.Thread(target=slot, daemon=True) for _ in range(n)]
    for t in threads:
        t.start()
    try:
        for item in jobs:
            todo.put(item)
        if before is not None:
            before()
        for _ in range(len(jobs)):
            got = done.get()
            if isinstance(got, BaseException):
                raise got
            on_outcome(*got)
    finally:
        stop.set()
        for _ in range(n):
            todo.put(None)  # wakes every slot still waiting for a notebook
        with lock:
            for w in live:
                if w.proc.is_alive():
                    w.proc.terminate()
        for t in threads:
            t.join(10)
