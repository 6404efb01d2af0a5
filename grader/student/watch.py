"""``grade --watch NOTEBOOK``: regrade every time the notebook is saved, until Ctrl-C.

The file is polled (its size and modification time; no extra dependency, works on every
platform and on network drives). A change is graded once it has been quiet for ``settle``
seconds, so an editor's burst of writes costs one grade. A notebook caught mid-save (truncated
JSON) is tried again until it reads, for up to ``retry_for`` seconds; it is reported as invalid
only if it stays unreadable that long. The sandbox level, golden data and catalogue are loaded once.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from grader.core.errors import InvalidNotebookError
from grader.stages.load import load_notebook

#: Clear the screen and go home: the table is redrawn in place on a terminal.
CLEAR = "\x1b[H\x1b[2J"


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


def readable(path: Path, retry_for: float, poll: float, stop: threading.Event) -> bool:
    """Whether ``path`` holds a notebook, retrying while a save may still be under way."""
    deadline = time.monotonic() + retry_for
    while True:
        try:
            load_notebook(path)
            return True
        except InvalidNotebookError:
            if time.monotonic() >= deadline or stop.wait(poll):
                return False


def watch(
    path: Path,
    grade: Callable[[], str],
    *,
    out: TextIO,
    clear: bool,
    poll: float = 0.25,
    settle: float = 0.4,
    retry_for: float = 3.0,
    stop: threading.Event | None = None,
) -> int:
    """Grade now, then after every save; ``grade()`` returns the text to show. Returns 0.

    ``stop`` ends the loop (tests); Ctrl-C (KeyboardInterrupt) ends it too and is handled here.
    """
    stop = stop or threading.Event()
    rounds = 0
    try:
        last = _stamp(path)
        while not stop.is_set():
            if rounds:
                # wait for a change, then for quiet
                while not stop.is_set() and _stamp(path) == last:
                    stop.wait(poll)
                while not stop.is_set():
                    current = _stamp(path)
                    stop.wait(settle)
                    if _stamp(path) == current:
                        break
                if stop.is_set():
                    break
                last = _stamp(path)
            if readable(path, retry_for if rounds else 0.0, poll, stop):
                text = grade()
            else:
                text = f"{path}: not a readable notebook (yet); waiting for the next save\n"
            rounds += 1
            when = time.strftime("%H:%M:%S")
            head = f"[{when}] grade #{rounds} of {path} (Ctrl-C to stop)\n"
            out.write((CLEAR if clear else "\n") + head + text)
            out.flush()
    except KeyboardInterrupt:
        pass
    out.write(f"stopped watching {path} after {rounds} grade(s)\n")
    out.flush()
    return 0
