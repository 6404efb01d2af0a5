"""Golden data: seeded inputs and the reference's expected outputs, stored without pickle.

Layout of a golden directory::

    manifest.json   format, seed, tolerances, and per exercise its cases: id, label, hidden,
                    dims, and the JSON trees (grader.wire.codec) of ``args`` and ``expected``
    inputs.npz      the arrays of every case's args, keyed ``<exercise>/<case>/<i>``
    expected.npz    the arrays of every case's expected output, keyed the same way

``build`` needs the reference (``solutions/``, present in a checkout, not in the wheel);
``load`` needs only the directory.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from grader.assignment.spec import NAMES
from grader.core.errors import GoldenError
from grader.wire import codec as plain

FORMAT = 1
#: files of a golden directory; the diagnosis variants are optional (absent in a set built without them)
FILES = ("manifest.json", "inputs.npz", "expected.npz")
OPTIONAL_FILES = ("variants.json", "variants.npz")
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

    def for_exercise(self, name: str) -> tuple[Case, ...]:
        return self.cases.get(name, ())


# ---------------------------------------------------------------------------------------------
# Case generation (draw order of the public cases follows the course notebook exactly)


Draw = Callable[..., np.ndarray]


def _rnn_params(draw: Draw, n_x: int, n_a: int, n_y: int, backward: bool) -> dict[str, np.ndarray]:
    # The course's forward examples draw Waa before Wax; its backward examples, Wax first.
    order = ("Wax", "Waa") if backward else ("Waa", "Wax")
    shapes = {
        "Waa": (n_a, n_a),
        "Wax": (n_a, n_x),
        "Wya": (n_y, n_a),
        "ba": (n_a, 1),
        "by": (n_y, 1),
    }
    p = {k: draw(*shapes[k]) for k in order}
    for k in ("Wya", "ba", "by"):
        p[k] = draw(*shapes[k])
    return {k: p[k] for k in ("Waa", "Wax", "Wya", "ba", "by")}


def _lstm_params(
    draw: Draw, n_x: int, n_a: int, n_y: int, zero_output: bool = False
) -> dict[str, np.ndarray]:
    p: dict[str, np.ndarray] = {}
    for gate in ("f", "i", "o", "c"):
        p["W" + gate] = draw(n_a, n_a + n_x)
        p["b" + gate] = draw(n_a, 1)
    if zero_output:
        p["Wy"], p["by"] = np.zeros((n_y, n_a)), np.zeros((n_y, 1))
    else:
        p["Wy"], p["by"] = draw(n_y, n_a), draw(n_y, 1)
    return p


def _make_args(name: str, draw: Draw, d: dict[str, int], public: bool) -> tuple[Any, ...]:
    """Inputs of one case, drawn in the course's order."""
    import solutions as ref

    n_x, n_a, n_y, m, t = d["n_x"], d["n_a"], d["n_y"], d["m"], d.get("T_x", 1)
    if name == "rnn_cell_forward":
        xt, a_prev = draw(n_x, m), draw(n_a, m)
        return (xt, a_prev, _rnn_params(draw, n_x, n_a, n_y, backward=False))
    if name == "rnn_forward":
        x, a0 = draw(n_x, m, t), draw(n_a, m)
        return (x, a0, _rnn_params(draw, n_x, n_a, n_y, backward=False))
    if name == "lstm_cell_forward":
        xt, a_prev, c_prev = draw(n_x, m), draw(n_a, m), draw(n_a, m)
        return (xt, a_prev, c_prev, _lstm_params(draw, n_x, n_a, n_y))
    if name == "lstm_forward":
        x, a0 = draw(n_x, m, t), draw(n_a, m)
        return (x, a0, _lstm_params(draw, n_x, n_a, n_y))
    if name == "rnn_cell_backward":
        xt, a_prev = draw(n_x, m), draw(n_a, m)
        params = _rnn_params(draw, n_x, n_a, n_y, backward=True)
        _, _, cache = ref.rnn_cell_forward(xt, a_prev, params)
        return (draw(n_a, m), cache)
    if name == "rnn_backward":
        x, a0 = draw(n_x, m, t), draw(n_a, m)
        params = _rnn_params(draw, n_x, n_a, n_y, backward=True)
        _, _, caches = ref.rnn_forward(x, a0, params)
        return (draw(n_a, m, t), caches)
    if name == "lstm_cell_backward":
        xt, a_prev, c_prev = draw(n_x, m), draw(n_a, m), draw(n_a, m)
        params = _lstm_params(draw, n_x, n_a, n_y)
        cache = ref.lstm_cell_forward(xt, a_prev, c_prev, params)[3]
        return (draw(n_a, m), draw(n_a, m), cache)
    if name == "lstm_backward":
        # The course's example runs 7 forward steps and back-propagates 4: T_x comes from da.
        t_fwd = d.get("T_fwd", t)
        x, a0 = draw(n_x, m, t_fwd), draw(n_a, m)
        params = _lstm_params(draw, n_x, n_a, n_y, zero_output=public)
        caches = ref.lstm_forward(x, a0, params)[3]
        return (draw(n_a, m, t), caches)
    raise GoldenError(f"unknown exercise {name!r}")


PUBLIC_DIMS: dict[str, dict[str, int]] = {
    "rnn_cell_forward": {"n_x": 3, "n_a": 5, "n_y": 2, "m": 10},
    "rnn_forward": {"n_x": 3, "n_a": 5, "n_y": 2, "m": 10, "T_x": 4},
    "lstm_cell_forward": {"n_x": 3, "n_a": 5, "n_y": 2, "m": 10},
    "lstm_forward": {"n_x": 3, "n_a": 5, "n_y": 2, "m": 10, "T_x": 7},
    "rnn_cell_backward": {"n_x": 3, "n_a": 5, "n_y": 2, "m": 10},
    "rnn_backward": {"n_x": 3, "n_a": 5, "n_y": 2, "m": 10, "T_x": 4},
    "lstm_cell_backward": {"n_x": 3, "n_a": 5, "n_y": 2, "m": 10},
    "lstm_backward": {"n_x": 3, "n_a": 5, "n_y": 2, "m": 10, "T_x": 4, "T_fwd": 7},
}

#: Hidden cases: (id, label, dims, scale of the draws)
HIDDEN: tuple[tuple[str, str, dict[str, int], float], ...] = (
    ("m1", "a single example (m = 1)", {"n_x": 3, "n_a": 5, "n_y": 2, "m": 1, "T_x": 4}, 1.0),
    ("t1", "a single time step (T_x = 1)", {"n_x": 4, "n_a": 3, "n_y": 2, "m": 6, "T_x": 1}, 1.0),
    ("distinct", "all sizes different", {"n_x": 4, "n_a": 6, "n_y": 3, "m": 7, "T_x": 5}, 1.0),
    (
        "wide",
        "more inputs than hidden units",
        {"n_x": 9, "n_a": 2, "n_y": 5, "m": 3, "T_x": 3},
        1.0,
    ),
    ("large", "a larger network", {"n_x": 12, "n_a": 32, "n_y": 9, "m": 16, "T_x": 20}, 0.3),
    ("saturated", "large pre-activations", {"n_x": 2, "n_a": 3, "n_y": 4, "m": 5, "T_x": 6}, 6.0),
)

_RUNS: dict[str, Callable[..., Any]] = {}


def _reference(name: str) -> Callable[..., Any]:
    try:
        import solutions as ref
    except ImportError as exc:
        raise GoldenError(
            "building golden data needs the reference solutions: run it from a checkout of "
            "rnn-grader (the solutions/ folder is not part of the installed package)"
        ) from exc
    fn: Callable[..., Any] = getattr(ref, name)
    return fn


def generate(seed: int) -> Iterator[Case]:
    """Every case of every exercise, deterministically from ``seed`` (public cases: seed 1)."""
    for idx, name in enumerate(NAMES):
        fn = _reference(name)
        np.random.seed(1)
        dims = PUBLIC_DIMS[name]
        args = _make_args(name, np.random.randn, dims, public=True)
        shown = {k: v for k, v in dims.items() if k != "T_fwd"}
        yield Case(name, "public", "the notebook's worked example", False, shown, args, fn(*args))
        for hidx, (cid, label, hdims, scale) in enumerate(HIDDEN):
            rng = np.random.default_rng([seed, idx, hidx])

            def draw(*shape: int, _rng: np.random.Generator = rng, _s: float = scale) -> np.ndarray:
                return _rng.standard_normal(shape) * _s

            d = dict(hdims)
            if "cell" in name:
                d.pop("T_x")
            args = _make_args(name, draw, d, public=False)
            yield Case(name, cid, label, True, d, args, fn(*args))


def build(out: Path, seed: int = 0) -> Golden:
    """Generate every case from the reference and write them to ``out``."""
    for name in NAMES:  # before anything is written: from a wheel there is no reference
        _reference(name)
    out.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "seed": seed,
        "rtol": DEFAULT_RTOL,
        "atol": DEFAULT_ATOL,
        "exercises": {name: [] for name in NAMES},
    }
    inputs: dict[str, np.ndarray] = {}
    expected: dict[str, np.ndarray] = {}
    for case in generate(seed):
        prefix = f"{case.exercise}/{case.id}/"
        args_tree, args_arrays = plain.encode(case.args)
        exp_tree, exp_arrays = plain.encode(case.expected)
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
    _write_npz(out / "inputs.npz", inputs)
    _write_npz(out / "expected.npz", expected)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    from grader.judge.diagnose import write_variants

    built = load(out)
    write_variants(
        out, [c for cases in built.cases.values() for c in cases], rtol=built.rtol, atol=built.atol
    )
    return built


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
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


def load(path: Path) -> Golden:
    """Read a golden directory (never unpickles; raises GoldenError with what to do)."""
    manifest_path = path / "manifest.json"
    if not manifest_path.is_file():
        raise GoldenError(
            f"{path}: not a golden directory (no manifest.json); build one with "
            f"'grade golden build --out {path}'"
        )
    digest = hashlib.sha256()
    try:
        raw = manifest_path.read_bytes()
        manifest = json.loads(raw)
        digest.update(raw)
        arrays: dict[str, dict[str, np.ndarray]] = {}
        for part in ("inputs", "expected"):
            file = path / f"{part}.npz"
            digest.update(file.read_bytes())
            with np.load(file, allow_pickle=False) as npz:
                arrays[part] = {k: npz[k] for k in npz.files}
    except (OSError, ValueError) as exc:
        raise GoldenError(f"{path}: golden data is unreadable ({exc}); rebuild it") from exc
    if manifest.get("format") != FORMAT:
        raise GoldenError(f"{path}: golden format {manifest.get('format')!r}, expected {FORMAT}")
    cases: dict[str, tuple[Case, ...]] = {}
    try:
        for name in NAMES:
            entries = manifest["exercises"][name]
            built = []
            for e in entries:
                prefix = f"{name}/{e['id']}/"

                def pick(part: str, tree: Any, _p: str = prefix) -> Any:
                    count = _count_arrays(tree)
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
    )


def _count_arrays(tree: Any) -> int:
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


def default() -> Golden:
    from grader.core.resources import data_dir

    return load(data_dir("golden"))
