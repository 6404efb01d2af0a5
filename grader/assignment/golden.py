"""Golden data: seeded inputs and the reference's expected outputs, stored without pickle.

Layout of a golden directory (``grade build`` writes it; docs/authoring.md)::

    assignment.json the assignment's spec (grader.assignment.spec): exercises, points, cases
    helpers/        the course modules students import, copied next to every graded notebook
    stub.ipynb      the notebook students start from (its placeholders are not "shared code")
    manifest.json   format, seed, tolerances, and per exercise its cases: id, label, hidden,
                    dims, and the JSON trees (grader.wire.codec) of ``args`` and ``expected``
    inputs.npz      the arrays of every case's args, keyed ``<exercise>/<case>/<i>``
    expected.npz    the arrays of every case's expected output, keyed the same way

Building needs the reference (``grader.authoring.build``, from a checkout); ``load`` needs only
the directory: an installed grader reads data, never the reference.
"""

from __future__ import annotations

import ast
import hashlib
import io
import json
import math
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from grader.assignment import spec as spec_mod
from grader.assignment.spec import Assignment
from grader.core.errors import GoldenError
from grader.wire import codec as plain

FORMAT = 1
#: files of a golden directory; the diagnosis variants are optional (absent in a set built without them)
FILES = ("manifest.json", "inputs.npz", "expected.npz", spec_mod.JSON_NAME)
OPTIONAL_FILES = ("variants.json", "variants.npz")
STUB_NAME = "stub.ipynb"
DEFAULT_RTOL = 1e-6
DEFAULT_ATOL = 1e-8


@dataclass(frozen=True)
class Case:
    exercise: str
    id: str
    label: str
    hidden: bool
    dims: dict[str, int]
    args: tuple[Any, ...]
    expected: Any = field(repr=False)

    def describe(self) -> str:
        """A label safe to show for any case: hidden cases show only their sizes."""
        sizes = ", ".join(f"{k}={v}" for k, v in sorted(self.dims.items()))
        if not self.hidden:
            return f"the notebook's worked example ({sizes})"
        return f"hidden case '{self.id}' ({sizes})"


@dataclass(frozen=True)
class Golden:
    path: Path
    id: str
    seed: int
    rtol: float
    atol: float
    cases: dict[str, tuple[Case, ...]]
    assignment: Assignment
    #: changes whenever the data or the spec (points, tolerances) does: the result cache's key
    key: str = ""

    def for_exercise(self, name: str) -> tuple[Case, ...]:
        return self.cases.get(name, ())

    @property
    def helpers(self) -> Path:
        """The course helper modules students import (copied next to every graded notebook)."""
        return self.path / spec_mod.HELPERS_DIR

    def stub(self) -> Any:
        """The stub notebook students start from, or None when the set has none."""
        import nbformat

        try:
            return nbformat.read(str(self.path / STUB_NAME), as_version=4)
        except (OSError, ValueError):
            return None


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """An uncompressed npz with fixed timestamps, so identical arrays give identical bytes."""
    import io
    import zipfile

    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as zf:
        for key in sorted(arrays):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arrays[key]), allow_pickle=False)
            zf.writestr(
                zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0)), buf.getvalue()
            )
    tmp.replace(path)


def read_npz(data: bytes) -> dict[str, np.ndarray]:
    """The arrays of an npz file's bytes, as ``np.load(allow_pickle=False)`` gives them.

    A golden set holds thousands of small arrays: ``np.load`` parses each one's header with
    ``ast.literal_eval`` and opens each member as a file (~0.15 s per grade); here the few
    distinct headers are parsed once and every array is a copy out of the member's bytes.
    """
    try:
        return _read_npz(data)
    except (zipfile.BadZipFile, KeyError, SyntaxError, TypeError) as exc:
        raise ValueError(f"not an npz file of plain arrays ({exc})") from exc


def _read_npz(data: bytes) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    headers: dict[bytes, tuple[np.dtype[Any], tuple[int, ...], bool]] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for info in zf.infolist():
            raw = zf.read(info)
            if raw[:6] != b"\x93NUMPY":
                raise ValueError(f"{info.filename}: not a .npy member")
            size = 2 if raw[6] == 1 else 4  # header length field: version 1.0, else 2.0/3.0
            length = int.from_bytes(raw[8 : 8 + size], "little")
            start = 8 + size + length
            header = raw[8 + size : start]
            if header not in headers:
                meta = ast.literal_eval(header.decode("latin1"))
                dtype = np.dtype(np.lib.format.descr_to_dtype(meta["descr"]))
                if dtype.hasobject:
                    raise ValueError(f"{info.filename}: object arrays are not allowed")
                headers[header] = (dtype, tuple(meta["shape"]), bool(meta["fortran_order"]))
            dtype, shape, fortran = headers[header]
            flat = np.frombuffer(raw, dtype=dtype, count=math.prod(shape), offset=start)
            name = info.filename.removesuffix(".npy")
            out[name] = flat.reshape(shape, order="F" if fortran else "C").copy(order="K")
    return out


def load(path: Path) -> Golden:
    """Read a golden directory (never unpickles; raises GoldenError with what to do)."""
    manifest_path = path / "manifest.json"
    if not manifest_path.is_file():
        raise GoldenError(
            f"{path}: not a golden directory (no manifest.json); build one with "
            "'grade build ASSIGNMENT_DIR'"
        )
    digest = hashlib.sha256()
    try:
        raw = manifest_path.read_bytes()
        manifest = json.loads(raw)
        digest.update(raw)
        arrays: dict[str, dict[str, np.ndarray]] = {}
        for part in ("inputs", "expected"):
            data = (path / f"{part}.npz").read_bytes()
            digest.update(data)
            arrays[part] = read_npz(data)
    except (OSError, ValueError) as exc:
        raise GoldenError(f"{path}: golden data is unreadable ({exc}); rebuild it") from exc
    if manifest.get("format") != FORMAT:
        raise GoldenError(f"{path}: golden format {manifest.get('format')!r}, expected {FORMAT}")
    assignment = spec_mod.load_json(path / spec_mod.JSON_NAME)
    cases: dict[str, tuple[Case, ...]] = {}
    try:
        for name in assignment.names:
            entries = manifest["exercises"][name]
            built = []
            for e in entries:
                prefix = f"{name}/{e['id']}/"

                def pick(part: str, tree: Any, _p: str = prefix) -> Any:
                    count = count_arrays(tree)
                    return plain.decode(tree, [arrays[part][_p + str(i)] for i in range(count)])

                built.append(
                    Case(
                        name,
                        e["id"],
                        e["label"],
                        bool(e["hidden"]),
                        dict(e["dims"]),
                        tuple(pick("inputs", e["args"])),
                        pick("expected", e["expected"]),
                    )
                )
            cases[name] = tuple(built)
    except (KeyError, TypeError, plain.DecodeError) as exc:
        raise GoldenError(f"{path}: golden manifest is inconsistent ({exc}); rebuild it") from exc
    return Golden(
        path=path,
        id=digest.hexdigest()[:16],
        seed=int(manifest.get("seed", 0)),
        rtol=float(manifest.get("rtol", DEFAULT_RTOL)),
        atol=float(manifest.get("atol", DEFAULT_ATOL)),
        cases=cases,
        assignment=assignment,
        key=hashlib.sha256(digest.hexdigest().encode() + assignment.to_json().encode()).hexdigest()[
            :16
        ],
    )


def count_arrays(tree: Any) -> int:
    """Number of distinct arrays a tree refers to (shared arrays appear once)."""
    found: set[int] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("t") == "array" and isinstance(node.get("i"), int):
                found.add(node["i"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(tree)
    return max(found) + 1 if found else 0


def resolve(path: Path) -> Path:
    """``--assignment DIR``: a built golden directory, or an assignment folder's built set."""
    if (path / "manifest.json").is_file():
        return path
    source = path / spec_mod.SPEC_NAME
    if source.is_file():
        built = spec_mod.build_paths(source)["golden"]
        if (built / "manifest.json").is_file():
            return built
        raise GoldenError(f"{path}: the assignment is not built yet; run 'grade build {path}'")
    raise GoldenError(
        f"{path}: neither a golden directory (manifest.json) nor an assignment folder "
        f"({spec_mod.SPEC_NAME})"
    )


def files(path: Path) -> dict[str, bytes]:
    """Every file of a golden set by relative POSIX path (to ship it to a cluster's workers)."""
    names = [*FILES, *OPTIONAL_FILES, STUB_NAME]
    found = {n: (path / n).read_bytes() for n in names if (path / n).is_file()}
    helpers = path / spec_mod.HELPERS_DIR
    if helpers.is_dir():
        for module in sorted(helpers.iterdir()):
            if module.is_file():
                found[f"{spec_mod.HELPERS_DIR}/{module.name}"] = module.read_bytes()
    return found


def unpack(shipped: dict[str, bytes], where: Path) -> Path:
    """Write what ``files`` returned into ``where``; refuses paths that leave it."""
    for rel, data in shipped.items():
        target = (where / rel).resolve()
        if not target.is_relative_to(where.resolve()):
            raise GoldenError(f"golden file {rel!r} would be written outside {where}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return where


def default() -> Golden:
    """The shipped assignment's golden set."""
    from grader.core.resources import default_golden

    return load(default_golden())
