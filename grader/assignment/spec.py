"""An assignment, declared as data: its exercises, how each is called and checked, its cases.

An assignment's source is an ``assignment.toml`` (see ``docs/authoring.md``); building it
(``grade build DIR``) writes the golden set, which carries this spec as ``assignment.json``. The
engine reads exercises, points, cases, tolerances and the evidence rules only from a loaded
:class:`Assignment`: it never names an exercise itself.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from grader.core.errors import GoldenError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

FORMAT = 1
SPEC_NAME = "assignment.toml"  #: the source spec, in an assignment's folder
JSON_NAME = "assignment.json"  #: the built spec, in a golden directory
HELPERS_DIR = "helpers"  #: the course modules students import, in a golden directory

Returns = Literal["tuple", "dict", "value"]
Cache = Literal["", "step", "sequence"]
Time = Literal["", "forward", "backward"]


@dataclass(frozen=True)
class InitialState:
    """Evidence rule for a sequence forward pass: the first step must start from an argument."""

    output: str  #: the sequence output whose first step shows it ("a")
    arg: str  #: the argument the recurrence starts from ("a0")
    field: str  #: the cache field holding the first step's starting value ("a_prev")
    #: a second state that must start at zeros, not from ``arg`` (the LSTM's memory: "c_prev")
    zero_field: str = ""
    #: plain-words explanation shown when ``zero_field`` does not start at zeros
    zero_explanation: str = ""
    zero_fix: str = ""


@dataclass(frozen=True)
class ExerciseSpec:
    """One graded function: how it is called, what it returns and how that is checked."""

    name: str
    args: tuple[str, ...]
    #: names of the returned tuple's elements, the returned dict's keys, or the one value's name
    outputs: tuple[str, ...]
    returns: Returns = "tuple"
    #: the last output is a cache: one step's tuple of ``cache_fields``, or
    #: ``(list of step caches, x)`` for a sequence
    cache: Cache = ""
    cache_fields: tuple[str, ...] = ()
    #: exercises this one is expected to call (their failures explain ours)
    calls: tuple[str, ...] = ()
    points: float = 0.0
    #: the size names of a hidden case this exercise uses (a cell has no T_x)
    sizes: tuple[str, ...] = ()
    #: every size the public (worked example) case is built with, shown ones and extra ones
    public_dims: Mapping[str, int] = field(default_factory=dict)
    #: evidence: this exercise runs over time steps (the last axis of its 3-D outputs)
    time: Time = ""
    #: evidence: where each size should be read from ("n_x" -> "xt.shape[0]")
    size_from: Mapping[str, str] = field(default_factory=dict)
    #: evidence: the per-step value each stored sequence output comes from ("a" -> "a_next")
    step_values: Mapping[str, str] = field(default_factory=dict)
    initial_state: InitialState | None = None

    @property
    def returns_dict(self) -> bool:
        return self.returns == "dict"

    @property
    def sequence(self) -> bool:
        return self.cache == "sequence"

    def shown_dims(self, dims: Mapping[str, int]) -> dict[str, int]:
        """The sizes that describe a case of this exercise (labels, size evidence)."""
        return {k: v for k, v in dims.items() if not self.sizes or k in self.sizes}


@dataclass(frozen=True)
class CaseSpec:
    """A hidden case: sizes shared by every exercise (each keeps the sizes it uses)."""

    id: str
    label: str
    dims: Mapping[str, int]
    scale: float = 1.0
    #: run the mistake catalogue on this case at build time (off for large, slow cases)
    diagnose: bool = True


@dataclass(frozen=True)
class Assignment:
    name: str
    title: str
    exercises: tuple[ExerciseSpec, ...]
    cases: tuple[CaseSpec, ...] = ()
    #: file name of the stub notebook students start from
    notebook: str = "assignment.ipynb"
    #: course modules students import (copied next to every graded notebook)
    helpers: tuple[str, ...] = ()
    #: the line that imports them in a generated notebook ("from rnn_utils import *")
    helper_import: str = ""
    seed: int = 0
    #: the worked examples draw from ``np.random.seed(public_seed)``, as the course notebook does
    public_seed: int = 1
    rtol: float = 1e-6
    atol: float = 1e-8

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(e.name for e in self.exercises)

    @property
    def by_name(self) -> dict[str, ExerciseSpec]:
        return {e.name: e for e in self.exercises}

    def exercise(self, name: str) -> ExerciseSpec:
        return self.by_name[name]

    @property
    def max_cases(self) -> int:
        """Most calls one exercise gets (the worked example and every hidden case)."""
        return 1 + len(self.cases)

    def case_labels(self) -> dict[str, str]:
        """Hidden case id -> its label (what a report says a case tests)."""
        return {c.id: c.label for c in self.cases}

    def to_json(self) -> str:
        data = asdict(self)
        return json.dumps({"format": FORMAT, **data}, indent=1, sort_keys=True) + "\n"


# ---------------------------------------------------------------------------------------------
# Reading a spec (TOML source or built JSON): both go through one validating parser


def load_toml(path: Path) -> Assignment:
    """Read an ``assignment.toml``; raises GoldenError naming the file and the field."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise GoldenError(f"{path}: cannot read the assignment spec ({exc})") from exc
    data.pop("build", None)  # where the source's parts live: read by the builder only
    return parse(data, str(path))


def build_paths(path: Path) -> dict[str, Path]:
    """The ``[build]`` table of an ``assignment.toml``: where its reference and golden set live."""
    try:
        build = tomllib.loads(path.read_text(encoding="utf-8")).get("build", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise GoldenError(f"{path}: cannot read the assignment spec ({exc})") from exc
    folder = path.parent
    return {
        "reference": (folder / str(build.get("reference", "reference"))).resolve(),
        "golden": (folder / str(build.get("golden", "golden"))).resolve(),
    }


def load_json(path: Path) -> Assignment:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise GoldenError(
            f"{path}: cannot read the built assignment spec ({exc}); rebuild it"
        ) from exc
    if data.pop("format", None) != FORMAT:
        raise GoldenError(f"{path}: assignment spec format is not {FORMAT}; rebuild it")
    return parse(data, str(path))


def _strs(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise GoldenError(f"{where}: expected a list of strings, got {value!r}")
    return tuple(value)


def _str_map(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise GoldenError(f"{where}: expected a table of strings, got {value!r}")
    return dict(value)


def _int_map(value: Any, where: str) -> dict[str, int]:
    if not isinstance(value, dict) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in value.values()
    ):
        raise GoldenError(f"{where}: expected a table of integers, got {value!r}")
    return dict(value)


def _choice(value: Any, allowed: tuple[str, ...], where: str) -> Any:
    if value not in allowed:
        raise GoldenError(f"{where}: {value!r} is not one of {', '.join(map(repr, allowed))}")
    return value


def _exercise(e: Mapping[str, Any], where: str) -> ExerciseSpec:
    known = {f for f in ExerciseSpec.__dataclass_fields__}
    unknown = set(e) - known
    if unknown:
        raise GoldenError(f"{where}: unknown field(s) {sorted(unknown)}; use {sorted(known)}")
    if not isinstance(e.get("name"), str) or not e["name"].isidentifier():
        raise GoldenError(f"{where}: 'name' must be a Python identifier, got {e.get('name')!r}")
    w = f"{where} ({e['name']})"
    init = e.get("initial_state")
    if init is not None:
        if not isinstance(init, dict):
            raise GoldenError(f"{w}.initial_state: expected a table")
        try:
            init = InitialState(**init)
        except TypeError as exc:
            raise GoldenError(f"{w}.initial_state: {exc}") from exc
    points = e.get("points", 0.0)
    if not isinstance(points, (int, float)) or isinstance(points, bool) or points < 0:
        raise GoldenError(f"{w}.points: must be a number >= 0, got {points!r}")
    spec = ExerciseSpec(
        name=e["name"],
        args=_strs(e.get("args", ()), f"{w}.args"),
        outputs=_strs(e.get("outputs", ()), f"{w}.outputs"),
        returns=_choice(e.get("returns", "tuple"), ("tuple", "dict", "value"), f"{w}.returns"),
        cache=_choice(e.get("cache", ""), ("", "step", "sequence"), f"{w}.cache"),
        cache_fields=_strs(e.get("cache_fields", ()), f"{w}.cache_fields"),
        calls=_strs(e.get("calls", ()), f"{w}.calls"),
        points=float(points),
        sizes=_strs(e.get("sizes", ()), f"{w}.sizes"),
        public_dims=_int_map(e.get("public_dims", {}), f"{w}.public_dims"),
        time=_choice(e.get("time", ""), ("", "forward", "backward"), f"{w}.time"),
        size_from=_str_map(e.get("size_from", {}), f"{w}.size_from"),
        step_values=_str_map(e.get("step_values", {}), f"{w}.step_values"),
        initial_state=init,
    )
    if not spec.outputs:
        raise GoldenError(f"{w}: 'outputs' must name what the function returns")
    if spec.returns == "value" and len(spec.outputs) != 1:
        raise GoldenError(f"{w}: returns = 'value' names exactly one output, got {spec.outputs}")
    if spec.cache and (spec.returns != "tuple" or not spec.cache_fields):
        raise GoldenError(f"{w}: a cache needs returns = 'tuple' and its 'cache_fields'")
    return spec


def parse(data: Mapping[str, Any], where: str) -> Assignment:
    """Validate a spec's plain data (every error names ``where`` and the field)."""
    known = set(Assignment.__dataclass_fields__)
    unknown = set(data) - known
    if unknown:
        raise GoldenError(f"{where}: unknown field(s) {sorted(unknown)}; use {sorted(known)}")
    for key in ("name", "title"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise GoldenError(f"{where}: '{key}' must be a non-empty string")
    raw = data.get("exercises")
    if not isinstance(raw, list) or not raw:
        raise GoldenError(f"{where}: declare at least one [[exercises]]")
    exercises = tuple(_exercise(e, f"{where}: exercises[{i}]") for i, e in enumerate(raw))
    names = [e.name for e in exercises]
    if len(set(names)) != len(names):
        raise GoldenError(f"{where}: an exercise name appears twice in {names}")
    for e in exercises:
        for dep in e.calls:
            if dep not in names:
                raise GoldenError(f"{where}: {e.name} calls {dep!r}, which is not an exercise")
    cases = []
    case_fields = set(CaseSpec.__dataclass_fields__)
    for i, c in enumerate(data.get("cases", ())):
        w = f"{where}: cases[{i}]"
        if not isinstance(c, dict) or not isinstance(c.get("id"), str) or c["id"] == "public":
            raise GoldenError(f"{w}: needs an 'id' (a string other than 'public')")
        unknown = set(c) - case_fields
        if unknown:
            raise GoldenError(f"{w}: unknown field(s) {sorted(unknown)}; use {sorted(case_fields)}")
        scale = c.get("scale", 1.0)
        if not isinstance(scale, (int, float)) or isinstance(scale, bool) or scale <= 0:
            raise GoldenError(f"{w}.scale: must be a number > 0, got {scale!r}")
        if not isinstance(c.get("diagnose", True), bool):
            raise GoldenError(f"{w}.diagnose: must be true or false")
        cases.append(
            CaseSpec(
                id=c["id"],
                label=str(c.get("label", c["id"])),
                dims=_int_map(c.get("dims", {}), f"{w}.dims"),
                scale=float(scale),
                diagnose=c.get("diagnose", True),
            )
        )
    if len({c.id for c in cases}) != len(cases):
        raise GoldenError(f"{where}: a case id appears twice")
    try:
        return Assignment(
            name=data["name"],
            title=data["title"],
            exercises=exercises,
            cases=tuple(cases),
            notebook=str(data.get("notebook", f"{data['name']}.ipynb")),
            helpers=_strs(data.get("helpers", ()), f"{where}: helpers"),
            helper_import=str(data.get("helper_import", "")),
            seed=int(data.get("seed", 0)),
            public_seed=int(data.get("public_seed", 1)),
            rtol=float(data.get("rtol", 1e-6)),
            atol=float(data.get("atol", 1e-8)),
        )
    except (TypeError, ValueError) as exc:
        raise GoldenError(f"{where}: {exc}") from exc
