"""``grader.check()``: grade exercises from inside a running notebook (Jupyter, JupyterLab, VS Code,
Colab), from the definitions the kernel holds now.

This side runs in the student's kernel and stays small: it collects the cells the kernel has
executed (IPython's raw input history, so it needs no notebook file on disk: Colab has none) and
hands them to a grading process (``grader.student.server``), started on the first call and kept for the
next ones. That process extracts, judges in the sandboxed runner and diagnoses exactly as ``grade``
does, and sends back only the rendered verdict: no expected value enters the kernel, and student
code is never judged in it. The last executed definition of an exercise wins, as it does in the
kernel; a function the history cannot explain (defined by ``exec``, imported from a module or a
compiled extension) is reported in one line that points to ``grade notebook.ipynb``.
"""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from html import escape
from typing import Any

#: Set in every kernel the grader itself runs: ``check()`` there is a no-op (the grade is coming).
GRADING_ENV = "RNN_GRADER_GRADING"
#: Seconds one check may take before the grading process is replaced.
TIMEOUT = 300.0


@dataclass(frozen=True)
class CheckReport:
    """What ``check()`` returns: Jupyter shows ``_repr_html_``, a console ``__repr__``."""

    text: str
    html: str
    exercises: tuple[dict[str, Any], ...] = ()

    @property
    def passed(self) -> bool:
        return bool(self.exercises) and all(e["status"] == "passed" for e in self.exercises)

    def __repr__(self) -> str:
        return self.text.rstrip("\n")

    def _repr_html_(self) -> str:
        return self.html


def _note(text: str) -> CheckReport:
    return CheckReport(text + "\n", f'<div class="rnn-grader-check"><i>{escape(text)}</i></div>')


class _Checker:
    """The warm grading process; replaced when it dies or stops answering."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            for attempt in range(2):  # a process that died since the last call is replaced once
                proc = self._start()
                assert proc.stdin is not None and proc.stdout is not None
                try:
                    proc.stdin.write(json.dumps(request) + "\n")
                    proc.stdin.flush()
                    line = _readline(proc, TIMEOUT)
                except (BrokenPipeError, OSError, TimeoutError):
                    line = ""
                if line:
                    answer: dict[str, Any] = json.loads(line)
                    return answer
                self.close()
                if attempt:
                    break
            return {"error": "the grading process stopped unexpectedly; run `grade notebook.ipynb`"}

    def _start(self) -> subprocess.Popen[str]:
        if self._proc is None or self._proc.poll() is not None:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "grader.student.server"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                encoding="utf-8",
                # its own session: a Ctrl-C (interrupt) in the notebook does not kill it midway
                start_new_session=hasattr(os, "setsid"),
            )
        return self._proc

    def close(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self._proc = None


def _readline(proc: subprocess.Popen[str], timeout: float) -> str:
    """One line of ``proc``'s stdout within ``timeout`` seconds (a thread: portable, no select)."""
    assert proc.stdout is not None
    out: list[str] = []
    reader = threading.Thread(target=lambda: out.append(proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout)
    if reader.is_alive():
        raise TimeoutError
    return out[0] if out else ""


_CHECKER = _Checker()
atexit.register(_CHECKER.close)


def _history() -> list[tuple[int, str]] | str:
    """(execution count, raw cell text) of every executed cell, or why there is none."""
    try:
        from IPython import get_ipython
    except ImportError:
        return (
            "check() runs inside a Jupyter or Colab notebook; elsewhere run `grade notebook.ipynb`"
        )
    shell = get_ipython()
    if shell is None or not hasattr(shell, "history_manager"):
        return (
            "check() runs inside a Jupyter or Colab notebook; elsewhere run `grade notebook.ipynb`"
        )
    raw = list(shell.history_manager.input_hist_raw)
    return [(i, text) for i, text in enumerate(raw) if text and text.strip()]


def _unexplained(names: list[str]) -> list[str]:
    """Exercises whose live object the cell history cannot reproduce (exec, modules, extensions)."""
    from IPython import get_ipython

    shell = get_ipython()
    ns = getattr(shell, "user_ns", {}) if shell is not None else {}
    out = []
    for name in names:
        obj = ns.get(name)
        if obj is None:
            continue  # missing: the grader says so itself
        code = getattr(obj, "__code__", None)
        filename = getattr(code, "co_filename", "")
        if code is None or not _is_cell_file(shell, filename):
            where = getattr(obj, "__module__", None) or type(obj).__name__
            out.append(
                f"{name} was not defined by a notebook cell (it comes from {where}), so its code "
                "cannot be checked here: run `grade notebook.ipynb` on the saved notebook"
            )
    return out


def _is_cell_file(shell: Any, filename: str) -> bool:
    """Whether ``filename`` names code compiled from a notebook cell in this kernel."""
    compiler = getattr(shell, "compile", None)
    cache = getattr(compiler, "_filename_map", None)
    if isinstance(cache, dict) and filename in cache:
        return True
    return filename.startswith("<ipython-input-") or "ipykernel_" in filename


def check(*names: str) -> CheckReport:
    """Grade ``names`` (default: every exercise) from the definitions in this kernel."""
    if os.environ.get(GRADING_ENV):
        return _note("check() does nothing while the grader runs this notebook")
    history = _history()
    if isinstance(history, str):
        return _note(history)
    if names:
        wanted = list(names)
    else:
        listed = _CHECKER.ask({"list": True})
        if listed.get("error"):
            return _note(f"grader.check: {listed['error']}")
        wanted = list(listed.get("names", ()))
    unexplained = _unexplained(wanted)
    # the history holds an older definition of those: judging it would mislead, so say so instead
    wanted = [n for n in wanted if not any(line.startswith(f"{n} ") for line in unexplained)]
    if not wanted:
        return _note(" ".join(unexplained))
    answer = _CHECKER.ask({"names": wanted, "sources": history})
    if answer.get("error"):
        return _note(f"grader.check: {answer['error']}")
    text, html = answer["text"], answer["html"]
    for line in unexplained:
        text += f"note: {line}\n"
        html += f"<div><i>note: {escape(line)}</i></div>"
    return CheckReport(text, html, tuple(answer["exercises"]))
