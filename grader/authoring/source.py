"""An assignment's source folder (``assignment.toml`` + helpers) and its reference package.

The reference is imported by path under a private module name, so an assignment needs no
installation and two assignments never collide; its relative imports work as in any package.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from grader.assignment import spec as spec_mod
from grader.assignment.spec import Assignment
from grader.core.errors import GoldenError


@dataclass(frozen=True)
class Source:
    """An assignment's source folder, read and checked."""

    folder: Path
    assignment: Assignment
    reference: Path  #: the reference package's folder (never shipped)
    golden: Path  #: where the built data goes


def load_source(folder: Path) -> Source:
    """Read ``folder/assignment.toml`` and resolve its ``[build]`` paths."""
    folder = folder.resolve()
    spec_path = folder / spec_mod.SPEC_NAME
    if not spec_path.is_file():
        raise GoldenError(
            f"{folder}: not an assignment folder (no {spec_mod.SPEC_NAME}); see docs/authoring.md"
        )
    assignment = spec_mod.load_toml(spec_path)
    paths = spec_mod.build_paths(spec_path)
    missing = [h for h in assignment.helpers if not (folder / h).is_file()]
    if missing:
        raise GoldenError(f"{spec_path}: helper module(s) {missing} are not in {folder}")
    return Source(folder, assignment, paths["reference"], paths["golden"])


def load_reference(source: Source) -> ModuleType:
    """Import the reference package by path; fail with one line when it is absent or incomplete."""
    init = source.reference / "__init__.py"
    if not init.is_file():
        raise GoldenError(
            f"building needs the reference package {source.reference} (a source checkout: the "
            "reference is not part of the installed package)"
        )
    name = f"_grader_reference_{hashlib.sha256(str(init).encode()).hexdigest()[:12]}"
    if name in sys.modules:
        module = sys.modules[name]
    else:
        spec = importlib.util.spec_from_file_location(
            name, init, submodule_search_locations=[str(source.reference)]
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # before exec: the package's relative imports need it
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            del sys.modules[name]
            raise GoldenError(f"{init}: the reference does not import ({exc!r})") from exc
    needed = [*source.assignment.names, "make_args"]
    absent = [n for n in needed if not callable(getattr(module, n, None))]
    if absent:
        raise GoldenError(f"{init}: the reference does not export {', '.join(absent)}")
    return module


def shipped_source() -> Path:
    """The shipped assignment's source folder; one line saying so outside a source checkout."""
    from grader.core.resources import default_source

    folder = default_source()
    if not (folder / spec_mod.SPEC_NAME).is_file():
        raise GoldenError(
            "building the shipped assignment needs a source checkout of rnn-grader (its "
            f"exercises/ and solutions/ are not installed; no {folder}); to build your own "
            "assignment run 'grade build ASSIGNMENT_DIR'"
        )
    return folder
