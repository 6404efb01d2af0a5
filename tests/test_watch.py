"""``grade --watch``: regrades after each save, debounces bursts, never reports a half-written file
as invalid, and stops cleanly on Ctrl-C (SIGINT)."""

from __future__ import annotations

import io
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest

from grader.authoring.stubgen import render_solved, render_stub
from grader.student.watch import watch

REPO = Path(__file__).resolve().parent.parent


def _lines(proc: subprocess.Popen[str]) -> queue.Queue[str]:
    out: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            out.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return out


def _until(lines: queue.Queue[str], needle: str, timeout: float = 120) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        seen.append(line)
        if needle in line:
            return seen
    raise AssertionError(f"{needle!r} not printed within {timeout} s; got {''.join(seen)[-2000:]}")


@pytest.mark.slow
def test_watch_regrades_each_save_and_stops_on_sigint(tmp_path: Path) -> None:
    nb = tmp_path / "hw.ipynb"
    nbformat.write(render_stub(), str(nb))
    env = {**os.environ, "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "grader", str(nb), "--watch", "--no-html"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=tmp_path,
    )  # fmt: skip
    lines = _lines(proc)
    try:
        first = "".join(_until(lines, "total"))
        assert "grade #1" in first and "0/100" in first.replace(" ", "")
        # save 1: a solved notebook, written in two bursts with a half-written file in between
        text = nbformat.writes(render_solved())
        nb.write_text(text[: len(text) // 2])
        time.sleep(0.1)
        nb.write_text(text)
        second = "".join(_until(lines, "total"))
        assert "grade #2" in second and "100/100" in second.replace(" ", "")
        assert "not a readable notebook" not in second and "invalid" not in second
        # save 2: back to the stub
        time.sleep(1.0)
        nbformat.write(render_stub(), str(nb))
        third = "".join(_until(lines, "total"))
        assert "grade #3" in third and "0/100" in third.replace(" ", "")
        # save 3: touched but the same bytes still regrades (a save is a save)
        time.sleep(1.0)
        os.utime(nb)
        fourth = "".join(_until(lines, "total"))
        assert "grade #4" in fourth
        proc.send_signal(signal.SIGINT)
        rest = "".join(_until(lines, "stopped watching", timeout=60))
        assert "after 4 grade(s)" in rest
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_watch_waits_out_a_file_that_stays_unreadable(tmp_path: Path) -> None:
    nb = tmp_path / "hw.ipynb"
    nb.write_text("{ not yet")
    stop = threading.Event()
    out = io.StringIO()
    graded: list[int] = []

    def grade() -> str:
        graded.append(1)
        return "graded\n"

    def stop_soon() -> None:
        time.sleep(0.5)
        stop.set()

    threading.Thread(target=stop_soon, daemon=True).start()
    assert watch(nb, grade, out=out, clear=False, poll=0.05, settle=0.05, stop=stop) == 0
    text = out.getvalue()
    assert graded == [] and "not a readable notebook (yet)" in text
    assert "stopped watching" in text
