"""``grade build DIR``: turn an assignment's source into the data the grader reads.

An assignment's source folder holds ``assignment.toml`` (the spec) and the helper modules students
import; its ``[build]`` table says where the reference package lives (default ``reference/`` next
to the spec) and where the built golden set goes (default ``golden/``). The reference package
exports every exercise function, ``make_args(exercise, draw, dims, public)`` and, optionally,
``MISTAKES`` (the catalogue of known mistakes) and ``notebook`` text for the stub
(docs/authoring.md). Building writes, from the reference alone:

* the golden set: ``assignment.json``, ``helpers/``, ``manifest.json``, ``inputs.npz``,
  ``expected.npz`` (``grader.assignment.golden``) and the catalogue's outputs (``variants.*``);
* the stub notebook students start from, next to the spec.

Everything is deterministic (fixed seeds, sorted keys, fixed zip timestamps), so a test can fail when
committed data drift from their source.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from grader.assignment import golden as golden_mod
from grader.assignment import spec as spec_mod
from grader.assignment.golden import Case, Golden
from grader.assignment.spec import Assignment
from grader.authoring import stubgen
from grader.authoring.source import Source, load_reference, load_source
from grader.core.errors import GoldenError
from grader.wire import codec


def generate(assignment: Assignment, reference: ModuleType, seed: int) -> Iterator[Case]:
    """Every case of every exercise, deterministically from ``seed``.

    The worked example draws from ``np.random.seed(public_seed)`` exactly as the course notebook
    does; hidden case ``h`` of exercise ``i`` draws from ``default_rng([seed, i, h])``.
    """
    make_args: Callable[..., tuple[Any, ...]] = reference.make_args
    for idx, ex in enumerate(assignment.exercises):
        fn = getattr(reference, ex.name)
        np.random.seed(assignment.public_seed)
        args = make_args(ex.name, np.random.randn, dict(ex.public_dims), True)
        shown = ex.shown_dims(ex.public_dims)
        yield Case(
            ex.name, "public", "the notebook's worked example", False, shown, args, fn(*args)
        )
        for hidx, case in enumerate(assignment.cases):
            rng = np.random.default_rng([seed, idx, hidx])

            def draw(*shape: int, _rng: np.random.Generator = rng, _s: float = case.scale) -> Any:
                return _rng.standard_normal(shape) * _s

            dims = ex.shown_dims(case.dims)
            args = make_args(ex.name, draw, dict(dims), False)
            yield Case(ex.name, case.id, case.label, True, dims, args, fn(*args))


def _checked(cases: Iterator[Case], source: Source) -> Iterator[Case]:
    """The generated cases; a reference or input builder that raises becomes one line."""
    it = iter(cases)
    while True:
        try:
            case = next(it)
        except StopIteration:
            return
        except Exception as exc:
            raise GoldenError(
                f"{source.reference}: building the cases failed ({type(exc).__name__}: {exc}); "
                "fix the reference or its make_args"
            ) from exc
        yield case


def build_golden(source: Source, reference: ModuleType, out: Path, seed: int) -> Golden:
    """Write the golden set of ``source`` to ``out`` and load it back."""
    assignment = source.assignment
    out.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = {
        "format": golden_mod.FORMAT,
        "seed": seed,
        "rtol": assignment.rtol,
        "atol": assignment.atol,
        "exercises": {name: [] for name in assignment.names},
    }
    inputs: dict[str, np.ndarray] = {}
    expected: dict[str, np.ndarray] = {}
    for case in _checked(generate(assignment, reference, seed), source):
        prefix = f"{case.exercise}/{case.id}/"
        args_tree, args_arrays = codec.encode(case.args)
        exp_tree, exp_arrays = codec.encode(case.expected)
        inputs.update({prefix + str(i): a for i, a in enumerate(args_arrays)})
        expected.update({prefix + str(i): a for i, a in enumerate(exp_arrays)})
        manifest["exercises"][case.exercise].append(
            {
                "id": case.id,
                "label": case.label,
                "hidden": case.hidden,
                "dims": case.dims,
                "args": args_tree,
                "expected": exp_tree,
            }
        )
    golden_mod.write_npz(out / "inputs.npz", inputs)
    golden_mod.write_npz(out / "expected.npz", expected)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    (out / spec_mod.JSON_NAME).write_text(assignment.to_json())
    helpers = out / spec_mod.HELPERS_DIR
    if helpers.exists():
        shutil.rmtree(helpers)
    helpers.mkdir()
    for name in assignment.helpers:
        shutil.copyfile(source.folder / name, helpers / name)
    return golden_mod.load(out)


def build(
    folder: Path, *, out: Path | None = None, seed: int | None = None, stub: bool = True
) -> Golden:
    """``grade build``: the golden set (and the catalogue's outputs) and the stub notebook.

    All of it is built in a temporary folder next to the target and swapped into place only when
    everything succeeded: a failed build (a reference that raises, a mistake equal to the
    reference) leaves the previous golden set exactly as it was.
    """
    from grader.judge.diagnose import write_variants

    source = load_source(folder)
    reference = load_reference(source)
    mistakes = tuple(getattr(reference, "MISTAKES", ()))
    unknown = sorted({m.exercise for m in mistakes} - set(source.assignment.names))
    if unknown:
        raise GoldenError(
            f"{source.reference}: MISTAKES names exercise(s) {unknown}, which the spec does not "
            f"declare (its exercises: {', '.join(source.assignment.names)})"
        )
    notebooks = stubgen.render_pair(source, reference) if stub else None
    target = (out or source.golden).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    staging.chmod(0o755)  # mkdtemp's 0700 would hide the set from other accounts (a grading user)
    try:
        built = build_golden(
            source, reference, staging, source.assignment.seed if seed is None else seed
        )
        write_variants(
            staging,
            [c for cases in built.cases.values() for c in cases],
            mistakes=mistakes,
            skip=frozenset(c.id for c in source.assignment.cases if not c.diagnose),
            rtol=built.rtol,
            atol=built.atol,
        )
        if notebooks is not None:
            stubgen.write_stub(source, notebooks[0])
        stub_file = source.folder / source.assignment.notebook
        if stub_file.is_file():  # integrity hints ignore its placeholders, even when installed
            shutil.copyfile(stub_file, staging / golden_mod.STUB_NAME)
        _swap(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return golden_mod.load(target)


def _swap(staging: Path, target: Path) -> None:
    """Put the built folder in place of ``target`` (two renames; the old one removed last)."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        target.rename(old)
    staging.rename(target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
