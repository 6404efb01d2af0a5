"""What an instructor may tune: points per exercise and resource limits (TOML file or defaults).

Points default to the assignment's own (its spec); a config overrides some of them.
"""

from __future__ import annotations

import sys
from collections.abc import Collection
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from grader.core.errors import UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@dataclass(frozen=True)
class Limits:
    """Resource limits for one notebook; each limit hit becomes a named verdict."""

    cell_timeout: float = 60.0  #: seconds per notebook cell
    notebook_timeout: float = 300.0  #: seconds for the whole notebook execution
    startup_timeout: float = 60.0  #: seconds for a kernel to start
    call_timeout: float = 10.0  #: seconds per call of an exercise function on one case
    memory_bytes: int = 2 << 30  #: RLIMIT_AS of kernels and judge processes
    cpu_seconds: int = 600  #: RLIMIT_CPU of a kernel
    output_bytes: int = 4 << 20  #: total output a notebook may produce before its kernel is killed
    result_bytes: int = 64 << 20  #: largest result one exercise may send back
    file_bytes: int = 256 << 20  #: RLIMIT_FSIZE
    open_files: int = 256  #: RLIMIT_NOFILE
    processes: int = 256  #: RLIMIT_NPROC (per sandbox uid)


@dataclass(frozen=True)
class GradingConfig:
    #: points per exercise that override the assignment's own
    points: dict[str, float] = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)

    def points_for(self, name: str, default: float) -> float:
        return float(self.points.get(name, default))


def load_config(path: Path | None, names: Collection[str] | None = None) -> GradingConfig:
    """Read a TOML config (``names``: the assignment's exercises, to check [points] against)::

    [points]
    cell_forward = 20
    [limits]
    call_timeout = 5
    """
    if path is None:
        return GradingConfig()
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the config ({exc})") from exc
    base = GradingConfig()
    points = dict(base.points)
    for name, value in data.get("points", {}).items():
        if names is not None and name not in names:
            raise UsageError(
                f"{path}: [points] {name!r} is not an exercise; use one of {tuple(names)}"
            )
        if not isinstance(value, (int, float)) or value < 0:
            raise UsageError(f"{path}: [points] {name} must be a number >= 0, got {value!r}")
        points[name] = float(value)
    known = {f.name: f.type for f in fields(Limits)}
    overrides: dict[str, Any] = {}
    for key, value in data.get("limits", {}).items():
        if key not in known:
            raise UsageError(f"{path}: [limits] {key!r} is unknown; use one of {sorted(known)}")
        if not isinstance(value, (int, float)) or value <= 0:
            raise UsageError(f"{path}: [limits] {key} must be a positive number, got {value!r}")
        overrides[key] = value
    extra = set(data) - {"points", "limits"}
    if extra:
        raise UsageError(f"{path}: unknown section(s) {sorted(extra)}; use [points] and [limits]")
    return GradingConfig(points=points, limits=replace(base.limits, **overrides))
