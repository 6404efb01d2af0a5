"""The notebook's working directory: the course helper modules next to it."""

from __future__ import annotations

import shutil
from pathlib import Path

from grader.core.resources import compat_dir


def copy_helpers(helpers: Path, dest: Path) -> None:
    """Copy the helper modules of ``helpers`` (``*.py`` but ``__init__.py``) into ``dest``."""
    for module in sorted(helpers.glob("*.py")):
        if module.name != "__init__.py":
            shutil.copyfile(module, dest / module.name)


def prepare_workdir(workdir: Path, helpers: Path | None = None) -> None:
    """Copy the course helper modules (rnn_utils, public_tests) into ``workdir``.

    ``helpers``: the folder holding them; None means the default assignment's
    (``grader.core.resources.compat_dir()``). Notebooks written for the course import them; the
    originals are fetched with ``!wget``, which fails offline, so the grader's own copies must be
    importable from the kernel's cwd.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    copy_helpers(compat_dir() if helpers is None else helpers, workdir)
