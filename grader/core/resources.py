"""Where the shipped data lives: inside the wheel (grader/_data) or in a source checkout."""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent.parent
#: the assignment ``grade`` grades when none is named (its folders: exercises/, solutions/, golden/)
DEFAULT_ASSIGNMENT = "rnn"


def data_dir(name: str) -> Path:
    """``golden`` or ``templates``: the installed copy if there is one, else the checkout's."""
    installed = _PKG / "_data" / name
    if installed.is_dir():
        return installed
    return _PKG.parent / name


def default_golden() -> Path:
    """The shipped assignment's built data."""
    return data_dir("golden") / DEFAULT_ASSIGNMENT


def checkout_root() -> Path:
    """The source checkout this package sits in (authoring commands need one)."""
    return _PKG.parent


def default_source() -> Path:
    """The shipped assignment's source folder (``assignment.toml``): a checkout only."""
    return checkout_root() / "exercises" / DEFAULT_ASSIGNMENT


def compat_dir() -> Path:
    """The default assignment's helper modules (rnn_utils, ...), placed next to a notebook."""
    return default_golden() / "helpers"


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as _v

    try:
        return _v("rnn-grader")
    except PackageNotFoundError:  # running from a checkout without install
        return "0+unknown"
