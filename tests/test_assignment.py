"""A second assignment, declared as data (tests/assignments/toy): built and graded end to end.

The toy ("a dense layer, step by step") shares nothing with the shipped RNN assignment but the
engine: other exercise names, arguments, sizes and return shapes (a step cache, a nested cache, a
dict), a helper module of its own, a reference without a ``notebook`` module (so the stub is the
plain generated one) and its own mistake catalogue. Whatever fails here is an assumption of the
engine about the RNN assignment.

The toy's source folder is never built in place: the tests copy it into a temporary folder (or
pass ``--out``), so no generated file lands in the checkout.
"""

from __future__ import annotations

import csv
import inspect
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grader.assignment import golden as golden_mod
from grader.assignment.spec import load_json
from grader.authoring.source import load_reference, load_source
from grader.cli import main
from grader.judge.diagnose import diagnose, load_catalogue

TOY = Path(__file__).resolve().parent / "assignments" / "toy"
NAMES = ("linear_forward", "dense_forward", "linear_backward")
TITLE = "A dense layer, step by step"
HIDDEN = ("one_example", "square", "wide", "large")
MISTAKE_IDS = {
    "linear_forward.no_bias",
    "linear_backward.db_no_sum",
    "linear_backward.dW_transposed",
}
GOLDEN_FILES = ("manifest.json", "inputs.npz", "expected.npz", "assignment.json", "variants.json",
                "variants.npz")  # fmt: skip


def _copy_source(dest: Path) -> Path:
    """A copy of the toy's source folder (without anything generated) at ``dest``."""
    shutil.copytree(TOY, dest, ignore=shutil.ignore_patterns("__pycache__", "golden", "*.ipynb"))
    return dest


@dataclass(frozen=True)
class Built:
    src: Path  #: a copy of the toy's source folder, built in place (golden/ and toy.ipynb)
    golden: Path  #: its built golden set

    @property
    def stub(self) -> Path:
        return self.src / "toy.ipynb"


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> Built:
    src = _copy_source(tmp_path_factory.mktemp("toy") / "toy")
    assert main(["build", str(src)]) == 0  # stub and golden set where [build] says: the copy
    return Built(src, src / "golden")


def _reference() -> Any:
    return load_reference(load_source(TOY))


def notebook(edit: Callable[[str, str], str] | None = None) -> nbformat.NotebookNode:
    """A correct submission written from the reference's functions; ``edit(name, source)``
    may change one function's text."""
    ref = _reference()
    nb = new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells.append(new_markdown_cell(f"# {TITLE}"))
    nb.cells.append(new_code_cell("import numpy as np\nfrom toy_utils import *"))
    for name in NAMES:
        source = inspect.getsource(getattr(ref, name))
        nb.cells.append(new_markdown_cell(f"## {name}"))
        nb.cells.append(new_code_cell(edit(name, source) if edit else source))
    return nb


def replace_line(exercise: str, old: str, new: str) -> Callable[[str, str], str]:
    def edit(name: str, source: str) -> str:
        if name != exercise:
            return source
        assert old in source, f"test bug: {old!r} is not in {exercise}"
        return source.replace(old, new, 1)

    return edit


def write(nb: nbformat.NotebookNode, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def grade(nb: Path, assignment: Path, out: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    code = main([str(nb), "--assignment", str(assignment), "--json", str(out), "--no-html", *extra])
    return code, json.loads(out.read_text())


def by_name(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in result["exercises"]}


# --------------------------------------------------------------------------------------------
# Building (no kernel)


def test_build_writes_the_golden_set_and_the_plain_stub(toy: Built) -> None:
    for name in GOLDEN_FILES:
        assert (toy.golden / name).is_file(), name
    assert (toy.golden / "helpers" / "toy_utils.py").read_text() == (
        TOY / "toy_utils.py"
    ).read_text()
    assert (toy.golden / golden_mod.STUB_NAME).read_bytes() == toy.stub.read_bytes()

    spec = load_json(toy.golden / "assignment.json")
    assert spec.names == NAMES
    assert spec.title == TITLE
    assert spec.helpers == ("toy_utils.py",)
    assert [c.id for c in spec.cases] == list(HIDDEN)
    assert spec.exercise("linear_backward").returns_dict
    assert spec.exercise("dense_forward").calls == ("linear_forward",)
    assert sum(e.points for e in spec.exercises) == 100

    golden = golden_mod.load(toy.golden)
    assert golden.assignment.names == NAMES
    for name in NAMES:
        assert [c.id for c in golden.for_exercise(name)] == ["public", *HIDDEN]
    variants = json.loads((toy.golden / "variants.json").read_text())
    assert {m["id"] for m in variants["mistakes"]} == MISTAKE_IDS
    # diagnose = false: the catalogue is not run on the large case
    assert all("large" not in m["cases"] for m in variants["mistakes"])


def test_every_catalogued_mistake_is_recognised_by_its_own_outputs(toy: Built) -> None:
    """Each entry's stored outputs are diagnosed as that entry: the catalogue is unambiguous."""
    golden = golden_mod.load(toy.golden)
    catalogue = load_catalogue(toy.golden)
    assert {v.id for v in catalogue.variants} == MISTAKE_IDS
    for variant in catalogue.variants:
        expected = {c.id: c.expected for c in golden.for_exercise(variant.exercise)}
        found = diagnose(
            variant.exercise, variant.outputs, catalogue, golden.rtol, golden.atol, expected
        )
        assert found is not None and found.id == variant.id, variant.id
    # the reference's own outputs are no mistake
    for name in NAMES:
        expected = {c.id: c.expected for c in golden.for_exercise(name)}
        assert diagnose(name, expected, catalogue, golden.rtol, golden.atol, expected) is None


def test_cases_follow_the_spec(toy: Built) -> None:
    golden = golden_mod.load(toy.golden)
    # the worked example draws from np.random.seed(public_seed) as a notebook would
    public = golden.for_exercise("linear_forward")[0]
    np.random.seed(3)
    X, W, b = np.random.randn(3, 4), np.random.randn(2, 3), np.random.randn(2, 1)
    for got, want in zip(public.args, (X, W, b), strict=True):
        np.testing.assert_array_equal(got, want)
    assert public.dims == {"n_in": 3, "n_out": 2, "m": 4} and not public.hidden
    Z, cache = public.expected
    np.testing.assert_allclose(Z, W @ X + b)
    assert isinstance(cache, tuple) and len(cache) == 3
    # hidden cases: the spec's sizes, scaled draws
    wide = {c.id: c for c in golden.for_exercise("linear_backward")}["wide"]
    dZ, (Xw, Ww, bw) = wide.args
    assert wide.hidden and wide.dims == {"n_in": 2, "n_out": 7, "m": 3}
    assert dZ.shape == (7, 3) and Xw.shape == (2, 3) and Ww.shape == (7, 2) and bw.shape == (7, 1)
    assert set(wide.expected) == {"dX", "dW", "db"}
    large = {c.id: c for c in golden.for_exercise("linear_forward")}["large"]
    assert np.abs(large.args[0]).max() < 1.0  # scale = 0.1


def test_build_with_out_leaves_the_source_folder_alone_and_is_deterministic(
    toy: Built, tmp_path: Path
) -> None:
    before = sorted(p.relative_to(TOY) for p in TOY.rglob("*") if "__pycache__" not in p.parts)
    out = tmp_path / "golden"
    assert main(["build", str(TOY), "--out", str(out), "--no-stub"]) == 0
    after = sorted(p.relative_to(TOY) for p in TOY.rglob("*") if "__pycache__" not in p.parts)
    assert after == before
    for name in GOLDEN_FILES:
        assert (out / name).read_bytes() == (toy.golden / name).read_bytes(), name
    # --no-stub: the folder's stub is copied only if one was generated there before
    assert (out / golden_mod.STUB_NAME).exists() == (TOY / "toy.ipynb").exists()

    # a private set: another seed changes every hidden case, never the worked example
    private = tmp_path / "private"
    assert main(["build", str(TOY), "--out", str(private), "--no-stub", "--seed", "8"]) == 0
    mine, theirs = golden_mod.load(private), golden_mod.load(out)
    assert mine.id != theirs.id and mine.seed == 8
    for name in NAMES:
        for a, b in zip(mine.for_exercise(name), theirs.for_exercise(name), strict=True):
            same = all(np.array_equal(x, y) for x, y in zip(a.args[:1], b.args[:1], strict=True))
            assert same == (a.id == "public"), (name, a.id)


def test_stub_is_the_plain_generated_notebook(toy: Built) -> None:
    nb = nbformat.read(str(toy.stub), as_version=4)
    sources = [c.source for c in nb.cells]
    assert sources[0].startswith(f"# {TITLE}")
    assert sources[1] == "import numpy as np\nfrom toy_utils import *"
    for number, name in enumerate(NAMES, start=1):
        assert f"### Exercise {number} - {name}" in sources
        cell = next(c for c in nb.cells if c.metadata.get("grader", {}).get("exercise") == name)
        assert cell.source.startswith(f"def {name}(")
        assert "### START CODE HERE ###" in cell.source and "### END CODE HERE ###" in cell.source
    text = "\n".join(sources)
    assert "Z = None" in text and "db = None" in text
    for answer in ("np.dot(W, X) + b", "A = relu(Z)", "np.sum(dZ"):
        assert answer not in text


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"test bug: {old!r} is not in {path}"
    path.write_text(text.replace(old, new, 1))


#: how to break a copy of the toy's source folder: each must fail the build, writing nothing
BROKEN: dict[str, Callable[[Path], None]] = {
    "missing_function": lambda src: edit(
        src / "reference" / "__init__.py", "linear_backward, ", ""
    ),
    "unknown_exercise_field": lambda src: edit(
        src / "assignment.toml", "points = 40\n", "points = 40\npoint = 4\n"
    ),
    "unknown_top_level_field": lambda src: edit(
        src / "assignment.toml", 'name = "toy"', 'name = "toy"\ntitel = "typo"'
    ),
    "missing_helper": lambda src: (src / "toy_utils.py").unlink(),
    "mistake_equal_to_reference": lambda src: edit(
        src / "reference" / "mistakes.py",
        "_forward_no_bias,\n",
        "lambda X, W, b: (np.dot(W, X) + b, (X, W, b)),\n",
    ),
    "make_args_raises": lambda src: edit(
        src / "reference" / "cases.py", 'if name == "linear_backward":', "if False:"
    ),
    "unknown_case_field": lambda src: edit(
        src / "assignment.toml", "diagnose = false", "diagnoze = false"
    ),
    "mistake_of_unknown_exercise": lambda src: edit(
        src / "reference" / "mistakes.py", '"linear_backward",\n', '"linear_backwrd",\n'
    ),
}


@pytest.mark.parametrize(
    "breakage",
    sorted(BROKEN),
)
def test_build_error_is_one_line_exit_2_and_writes_nothing(
    breakage: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _copy_source(tmp_path / "toy")
    BROKEN[breakage](src)
    out = tmp_path / "out"
    assert main(["build", str(src), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("grade: error: ") and err.count("\n") == 1, err
    assert not out.exists()
    assert not (src / "toy.ipynb").exists()
    assert not (src / "golden").exists()


def test_grading_an_unbuilt_source_folder_says_to_build_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _copy_source(tmp_path / "toy")
    nb = write(notebook(), tmp_path / "nb.ipynb")
    assert main([str(nb), "--assignment", str(src), "--no-html"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"grade build {src}" in err


def test_config_points_are_checked_against_the_toys_exercises(
    toy: Built, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "points.toml"
    cfg.write_text("[points]\nrnn_cell_forward = 3\n")
    nb = write(notebook(), tmp_path / "nb.ipynb")
    assert main([str(nb), "--assignment", str(toy.golden), "--config", str(cfg), "--no-html"]) == 2
    err = capsys.readouterr().err
    assert "'rnn_cell_forward' is not an exercise" in err and "linear_forward" in err


# --------------------------------------------------------------------------------------------
# Grading with real kernels


@pytest.mark.slow
def test_correct_notebook_gets_full_marks_via_the_source_folder(toy: Built, tmp_path: Path) -> None:
    nb = write(notebook(), tmp_path / "correct.ipynb")
    code, result = grade(nb, toy.src, tmp_path / "out.json")  # the source folder: its golden/
    assert result["status"] == "graded"
    assert result["golden"] == golden_mod.load(toy.golden).id
    assert [e["name"] for e in result["exercises"]] == list(NAMES)
    ex = by_name(result)
    # dense_forward calls relu from toy_utils: the golden set's helper module, not the RNN's
    assert ex["dense_forward"]["status"] == "passed", ex["dense_forward"]
    assert all(e["status"] == "passed" for e in result["exercises"]), result["exercises"]
    assert all(c["status"] == "ok" for c in result["cells"]), result["cells"]
    assert (result["score"], result["max_score"]) == (100, 100)
    assert code == 0


@pytest.mark.slow
def test_catalogued_mistake_is_named_and_points_come_from_config(
    toy: Built, tmp_path: Path
) -> None:
    nb = write(
        notebook(
            replace_line("linear_backward", "db = np.sum(dZ, axis=1, keepdims=True)", "db = dZ")
        ),
        tmp_path / "db.ipynb",
    )
    cfg = tmp_path / "points.toml"
    cfg.write_text("[points]\nlinear_forward = 5\n")
    code, result = grade(nb, toy.golden, tmp_path / "out.json", "--config", str(cfg))
    assert code == 1
    ex = by_name(result)
    assert ex["linear_forward"]["status"] == "passed"
    assert ex["linear_forward"]["score"] == ex["linear_forward"]["max_score"] == 5
    assert result["max_score"] == 65  # 5 + the spec's 30 + 30
    back = ex["linear_backward"]
    assert back["status"] == "failed" and back["score"] == 0
    assert back["diagnosis"]["id"] == "linear_backward.db_no_sum"
    assert back["hint"] == "db is dZ itself: it is not summed over the examples"
    assert "db has shape (2, 4); expected (2, 1)" in back["reason"]
    assert ex["dense_forward"]["status"] == "passed"
    assert result["score"] == 35


@pytest.mark.slow
def test_stub_scores_zero_without_crashing(toy: Built, tmp_path: Path) -> None:
    code, result = grade(toy.stub, toy.src, tmp_path / "out.json")
    assert code == 1
    assert result["status"] == "graded"
    assert (result["score"], result["max_score"]) == (0, 100)
    ex = by_name(result)
    assert {e["status"] for e in result["exercises"]} <= {"failed", "error"}
    assert "Z is None" in ex["linear_forward"]["reason"]
    assert "dX is None" in ex["linear_backward"]["reason"]
    assert ex["dense_forward"]["blocked_by"] == ["linear_forward"]


@pytest.mark.slow
def test_batch_uses_the_toys_exercises_and_title(toy: Built, tmp_path: Path) -> None:
    subs = tmp_path / "submissions"
    write(notebook(), subs / "alice.ipynb")
    write(notebook(replace_line("linear_forward", "Z = np.dot(W, X) + b", "Z = np.dot(W, X)")),
          subs / "bob.ipynb")  # fmt: skip
    out = tmp_path / "out"
    assert main(["batch", str(subs), "--out", str(out), "--assignment", str(toy.src)]) == 0
    with (out / "gradebook.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    header = list(rows[0])
    assert header[:4] == ["file", *NAMES]
    assert not any("rnn" in h or "lstm" in h for h in header)
    grades = {r["file"]: r for r in rows}
    assert set(grades) == {"alice.ipynb", "bob.ipynb"}
    assert grades["bob.ipynb"]["linear_forward"] == "0"
    assert grades["bob.ipynb"]["linear_backward"] == "30"
    assert grades["alice.ipynb"]["max"] == "100"
    page = (out / "index.html").read_text()
    assert TITLE in page
    for name in NAMES:
        assert name in page
    bob = json.loads((out / "bob.json").read_text())
    assert by_name(bob)["linear_forward"]["diagnosis"]["id"] == "linear_forward.no_bias"
    assert grades["alice.ipynb"]["total"] == "100"


# --------------------------------------------------------------------------------------------
# Return shapes the spec cannot declare yet (engine assumptions found with the toy)

#: exercise -> (assignment.toml entry, reference function = the correct submission, make_args)
EXTRA = {
    "leaky_relu": (
        'name = "leaky_relu"\nargs = ["Z"]\nreturns = "value"\noutputs = ["A"]\npoints = 10\n'
        'sizes = ["n_out", "m"]\npublic_dims = { n_out = 2, m = 4 }\n',
        "def leaky_relu(Z):\n"
        "    ### START CODE HERE ###\n"
        "    A = np.maximum(0.01 * Z, Z)\n"
        "    ### END CODE HERE ###\n"
        "    return A\n",
        '(draw(d["n_out"], d["m"]),)',
    ),
    "square_loss": (
        'name = "square_loss"\nargs = ["A", "Y"]\noutputs = ["cost", "dA"]\npoints = 10\n'
        'sizes = ["n_out", "m"]\npublic_dims = { n_out = 2, m = 4 }\n',
        "def square_loss(A, Y):\n"
        "    m = A.shape[1]\n"
        "    ### START CODE HERE ###\n"
        "    cost = float(np.sum((A - Y) ** 2) / (2 * m))\n"
        "    dA = (A - Y) / m\n"
        "    ### END CODE HERE ###\n"
        "    return cost, dA\n",
        '(draw(d["n_out"], d["m"]), draw(d["n_out"], d["m"]))',
    ),
}


def _with_extra(src: Path, name: str) -> None:
    toml, function, args = EXTRA[name]
    with (src / "assignment.toml").open("a") as f:
        f.write(f"\n[[exercises]]\n{toml}")
    with (src / "reference" / "reference.py").open("a") as f:
        f.write(f"\n\n{function}")
    with (src / "reference" / "cases.py").open("a") as f:
        f.write(
            f"\n\n_make_args = make_args\n\n\ndef make_args(name, draw, d, public):\n"
            f"    if name == {name!r}:\n        return {args}\n"
            "    return _make_args(name, draw, d, public)\n"
        )
    with (src / "reference" / "__init__.py").open("a") as f:
        f.write(f"from .reference import {name}  # noqa: E402\n")


@pytest.mark.slow
@pytest.mark.parametrize("extra", sorted(EXTRA))
def test_other_return_shapes_are_graded(extra: str, tmp_path: Path) -> None:
    src = _copy_source(tmp_path / "toy")
    _with_extra(src, extra)
    assert main(["build", str(src), "--no-stub"]) == 0
    nb = notebook()
    nb.cells.append(new_code_cell(EXTRA[extra][1]))
    code, result = grade(write(nb, tmp_path / "nb.ipynb"), src, tmp_path / "out.json")
    assert by_name(result)[extra]["status"] == "passed", by_name(result)[extra]
    assert code == 0
