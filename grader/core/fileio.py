"""Atomic file writes: an interrupted run leaves the old file or the new one, never half of one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def atomic_write(path: Path, data: str | bytes, *, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` so readers never see a partial file (temp + fsync + replace)."""
    # backslashreplace: a lone surrogate from student text (raise ValueError("\\ud800")) is
    # written as its escape, never a crash that loses the result
    raw = data.encode("utf-8", "backslashreplace") if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        # KeyboardInterrupt included: never leave temp files behind in the output directory.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
