"""The stub notebook generator: the committed stub matches a fresh render, and the stub behaves.

The shipped assignment's stub is checked for drift and for what it tells students; a tiny
assignment built in a temporary folder checks what the engine does on its own (no course text).
"""

from __future__ import annotations

import ast
import copy
import shutil
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import nbformat
import pytest
from nbclient import NotebookClient

from grader.assignment.spec import SPEC_NAME, load_toml
from grader.authoring import stubgen
from grader.authoring.build import Source, generate, load_reference, load_source
from grader.core.resources import default_source

REBUILD = "stale: run `grade stub build` (or `grade build exercises/rnn`) and commit it"
ASSIGNMENT = load_toml(default_source() / SPEC_NAME)
NAMES = ASSIGNMENT.names


def _cells(nb: nbformat.NotebookNode, role: str) -> dict[str, nbformat.NotebookNode]:
    return {
        c.metadata["grader"]["exercise"]: c
        for c in nb.cells
        if c.cell_type == "code" and c.metadata.get("grader", {}).get("role") == role
    }


def _split(source: str) -> tuple[list[str], list[str]]:
    """(lines strictly inside the code region, every other line)."""
    lines = source.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == stubgen.START)
    end = next(i for i, line in enumerate(lines) if line.strip() == stubgen.END)
    return lines[start + 1 : end], lines[: start + 1] + lines[end:]


def _code_lines(source: str) -> list[str]:
    inside, _ = _split(source)
    return [ln for ln in inside if ln.strip() and not ln.strip().startswith("#")]


@pytest.fixture(scope="module")
def source() -> Source:
    return load_source(default_source())


@pytest.fixture(scope="module")
def reference(source: Source) -> ModuleType:
    return load_reference(source)


@pytest.fixture(scope="module")
def pair(
    source: Source, reference: ModuleType
) -> tuple[nbformat.NotebookNode, nbformat.NotebookNode]:
    return stubgen.render_pair(source, reference)


@pytest.fixture(scope="module")
def stub(pair: tuple[nbformat.NotebookNode, nbformat.NotebookNode]) -> nbformat.NotebookNode:
    return pair[0]


@pytest.fixture(scope="module")
def solved(pair: tuple[nbformat.NotebookNode, nbformat.NotebookNode]) -> nbformat.NotebookNode:
    return pair[1]


def test_committed_notebook_matches_a_fresh_render(
    source: Source, stub: nbformat.NotebookNode
) -> None:
    committed = source.folder / source.assignment.notebook
    assert committed.read_bytes() == stubgen.dumps(stub).encode("utf-8"), f"{committed} {REBUILD}"


def test_convenience_renders_are_the_shipped_assignment(
    stub: nbformat.NotebookNode, solved: nbformat.NotebookNode
) -> None:
    assert stubgen.dumps(stubgen.render_stub()) == stubgen.dumps(stub)
    assert stubgen.dumps(stubgen.render_solved()) == stubgen.dumps(solved)


def test_render_is_deterministic_and_valid(
    source: Source, reference: ModuleType, stub: nbformat.NotebookNode
) -> None:
    text = stubgen.dumps(stub)
    assert text == stubgen.dumps(stubgen.render_pair(source, reference)[0])
    nb = nbformat.reads(text, as_version=4)
    nbformat.validate(nb)
    assert (nb.nbformat, nb.nbformat_minor) == (4, 5)
    assert [c.id for c in nb.cells] == [f"cell-{i:02d}" for i in range(len(nb.cells))]
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_layout_follows_the_course(stub: nbformat.NotebookNode) -> None:
    code = [c for c in stub.cells if c.cell_type == "code"]
    assert code[0].metadata["grader"] == {"role": "setup"}
    assert code[0].source.startswith(
        "import numpy as np\nfrom rnn_utils import *\nfrom public_tests import *\n"
    )
    # grader.check when rnn-grader is installed, a no-op stand-in when it is not
    assert "from grader import check\nexcept ImportError:" in code[0].source
    assert list(_cells(stub, "implementation")) == list(NAMES)
    checks = _cells(stub, "self-check")
    for name in NAMES:
        test = "rnn_cell_forward_tests" if name == "rnn_cell_forward" else f"{name}_test"
        assert checks[name].source.startswith("np.random.seed(1)\n")
        body, last = checks[name].source.rstrip().rsplit("\n", 1)
        assert body.endswith(f"{test}({name})") and last == f'check("{name}")'

    markdown = "\n".join(c.source for c in stub.cells if c.cell_type == "markdown")
    for i, name in enumerate(NAMES, start=1):
        assert f"### Exercise {i} - {name}\n" in markdown
    for formula in (r"\Gamma_f", r"\tilde{c}", r"d\tanh", r"dc_{prev}", r"\mathrm{softmax}"):
        assert formula in markdown


@pytest.mark.parametrize("name", NAMES)
def test_stub_keeps_the_structure_and_blanks_every_solution_line(
    stub: nbformat.NotebookNode, solved: nbformat.NotebookNode, name: str
) -> None:
    stub_src, solved_src = (
        _cells(stub, "implementation")[name].source,
        _cells(solved, "implementation")[name].source,
    )
    ast.parse(stub_src)  # the stub cell is valid Python
    # plain course-style signature: the reference's type annotations would not resolve
    assert stub_src.splitlines()[0] == f"def {name}({', '.join(ASSIGNMENT.exercise(name).args)}):"
    assert _split(stub_src)[1] == _split(solved_src)[1]  # docstring, setup, return untouched
    for line in _split(stub_src)[0]:
        code = line.split("#")[0].strip()
        assert not code or "None" in code, f"{name}: placeholder line without None: {line!r}"
    solved_code, stub_code = _code_lines(solved_src), _code_lines(stub_src)
    assert len(stub_code) <= len(solved_code)
    assert not set(solved_code) & set(stub_code), "a reference line leaked into the stub"
    assert "# fmt: skip" not in stub_src


def _assert_identical(got: object, want: object, where: str) -> None:
    """Same structure, types, shapes, dtypes and bits, recursively."""
    import numpy as np

    if isinstance(want, np.ndarray):
        assert isinstance(got, np.ndarray), where
        assert (got.shape, got.dtype) == (want.shape, want.dtype), where
        np.testing.assert_array_equal(got, want, err_msg=where)
    elif isinstance(want, (tuple, list)):
        assert type(got) is type(want) and len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            _assert_identical(g, w, f"{where}[{i}]")
    elif isinstance(want, dict):
        assert isinstance(got, dict) and list(got) == list(want), where
        for k in want:
            _assert_identical(got[k], want[k], f"{where}[{k!r}]")
    else:
        assert got == want, where


def _define(nb: nbformat.NotebookNode, folder: Path) -> dict[str, object]:
    """Run the setup-free part of a notebook: numpy, the helpers, every implementation cell."""
    sys.path.insert(0, str(folder))
    try:
        namespace: dict[str, object] = {}
        exec(
            "import numpy as np\n"
            + ASSIGNMENT.helper_import
            + "\n"
            + "\n".join(c.source for c in _cells(nb, "implementation").values()),
            namespace,
        )
    finally:
        sys.path.remove(str(folder))
    return namespace


def test_solved_functions_are_the_reference(
    source: Source, reference: ModuleType, solved: nbformat.NotebookNode
) -> None:
    """Every solved function, on every case the build draws, returns exactly what the reference does."""
    namespace = _define(solved, source.folder)
    compared = 0
    for case in generate(source.assignment, reference, source.assignment.seed):
        name = case.exercise
        assert callable(namespace.get(name)), f"{name} is not defined by the solved notebook"
        assert namespace[name] is not getattr(reference, name)  # the notebook's own, not an import
        got = namespace[name](*copy.deepcopy(case.args))  # type: ignore[operator]
        _assert_identical(got, case.expected, f"{name}/{case.id}")
        compared += 1
    assert compared == len(NAMES) * ASSIGNMENT.max_cases


def test_write_stub_writes_the_notebook(
    source: Source, stub: nbformat.NotebookNode, tmp_path: Path
) -> None:
    path = stubgen.write_stub(source, stub, tmp_path / "out")
    assert path == tmp_path / "out" / source.assignment.notebook
    assert path.read_bytes() == (source.folder / source.assignment.notebook).read_bytes()


# ---------------------------------------------------------------------------------------------
# An assignment without course text: the engine alone

TINY_SPEC = """\
name = "tiny"
title = "Tiny assignment"
helpers = ["tiny_utils.py"]
helper_import = "from tiny_utils import *"

[[exercises]]
name = "scaled_sum"
args = ["x", "k"]
outputs = ["total"]
"""

TINY_REFERENCE = '''\
import numpy as np


def scaled_sum(x: np.ndarray, k: float = 2.0) -> np.ndarray:
    """Sum the rows of ``x``, each scaled by ``k``."""
    n = x.shape[0]
    ### START CODE HERE ###
    total = np.zeros(x.shape[1])
    for i in range(n):
        total += k * x[i]
    ### END CODE HERE ###
    return total


def make_args(exercise, draw, dims, public):
    return (draw(3, 2), 0.5)
'''


def _tiny(tmp_path: Path, notebook: str | None = None) -> Path:
    folder = tmp_path / "tiny"
    (folder / "reference").mkdir(parents=True)
    (folder / SPEC_NAME).write_text(TINY_SPEC)
    (folder / "tiny_utils.py").write_text("HALF = 0.5\n")
    init = TINY_REFERENCE
    if notebook is not None:
        (folder / "reference" / "notebook.py").write_text(textwrap.dedent(notebook))
        init = "from . import notebook\n" + init
    (folder / "reference" / "__init__.py").write_text(init)
    return folder


def test_a_reference_without_notebook_text_gets_a_plain_notebook(tmp_path: Path) -> None:
    folder = _tiny(tmp_path)
    source = load_source(folder)
    stub, solved = stubgen.render_pair(source, load_reference(source))
    assert [(c.cell_type, c.get("metadata", {}).get("grader")) for c in stub.cells] == [
        ("markdown", None),
        ("code", {"role": "setup"}),
        ("markdown", None),
        ("code", {"exercise": "scaled_sum", "role": "implementation"}),
    ]
    title, setup, heading, function = (c.source for c in stub.cells)
    assert title.startswith("# Tiny assignment\n") and stubgen.START in title
    assert setup == "import numpy as np\nfrom tiny_utils import *"
    assert heading == "### Exercise 1 - scaled_sum"
    assert function.splitlines()[:3] == [
        "def scaled_sum(x, k=2.0):",  # annotations dropped, default kept
        '    """Sum the rows of ``x``, each scaled by ``k``."""',
        "    n = x.shape[0]",
    ]
    assert _split(function)[0] == [
        "    total = None",
        "    for i in range(None):",
        "        total += None",
    ]
    assert _split(solved.cells[3].source)[0] == [
        "    total = np.zeros(x.shape[1])",
        "    for i in range(n):",
        "        total += k * x[i]",
    ]

    # the solved notebook runs and computes what the reference does; the stub's function raises
    import numpy as np

    namespace: dict[str, object] = {}
    sys.path.insert(0, str(folder))
    try:
        exec("\n".join(c.source for c in solved.cells if c.cell_type == "code"), namespace)
    finally:
        sys.path.remove(str(folder))
    x = np.arange(6.0).reshape(3, 2)
    np.testing.assert_array_equal(namespace["scaled_sum"](x, 0.5), [3.0, 4.5])  # type: ignore[operator]
    exec(function, namespace)
    with pytest.raises(TypeError):
        namespace["scaled_sum"](x, 0.5)  # type: ignore[operator]

    path = stubgen.write_stub(source, stub)
    assert path == folder / "tiny.ipynb"
    assert path.read_text(encoding="utf-8") == stubgen.dumps(stub)


def test_notebook_text_fills_what_it_names_and_the_rest_is_plain(tmp_path: Path) -> None:
    folder = _tiny(
        tmp_path,
        """\
        INTRO = "# Sums"
        HINTS = {"scaled_sum": {"total": "start from zeros", "for": "add every row"}}
        AFTER = {"scaled_sum": "print(scaled_sum(np.ones((2, 2)), 1.0))"}
        """,
    )
    source = load_source(folder)
    stub, _ = stubgen.render_pair(source, load_reference(source))
    sources = [c.source for c in stub.cells]
    assert sources[0] == "# Sums"
    assert sources[1] == "import numpy as np\nfrom tiny_utils import *"  # no SETUP: the plain one
    assert sources[2] == "### Exercise 1 - scaled_sum"  # no BEFORE: the plain heading
    assert _split(sources[3])[0] == [
        "    # Start from zeros (≈1 line)",
        "    total = None",
        "",
        "    # Add every row",
        "    for i in range(None):",
        "        total += None",
    ]
    assert stub.cells[4].metadata["grader"] == {"exercise": "scaled_sum", "role": "self-check"}
    assert sources[4] == "print(scaled_sum(np.ones((2, 2)), 1.0))"
    assert len(stub.cells) == 5  # no OUTRO


def test_notebook_text_for_an_unknown_exercise_is_an_error(tmp_path: Path) -> None:
    folder = _tiny(tmp_path, 'BEFORE = {"scaled_sun": "## typo"}\n')
    source = load_source(folder)
    with pytest.raises(stubgen.StubError, match="BEFORE: scaled_sun is not an exercise"):
        stubgen.render_pair(source, load_reference(source))


# ---------------------------------------------------------------------------------------------
# Command line


def _cli(argv: list[str]) -> int:
    from grader.cli import main

    return main(argv)


def test_cli_stub_build(source: Source, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli(["stub", "build", "--out", str(tmp_path)]) == 0
    written = tmp_path / source.assignment.notebook
    assert written.read_bytes() == (source.folder / source.assignment.notebook).read_bytes()
    assert capsys.readouterr().out == f"wrote {written}\n"


def test_cli_stub_build_of_another_assignment(tmp_path: Path) -> None:
    folder = _tiny(tmp_path)
    assert _cli(["stub", "build", "--source", str(folder)]) == 0
    assert (folder / "tiny.ipynb").read_text(encoding="utf-8") == stubgen.dumps(
        stubgen.render_stub(folder)
    )


def test_cli_stub_build_without_the_reference_is_one_clear_line(
    source: Source, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "a" / "b" / "copy"  # the spec's relative [build] reference is absent here
    shutil.copytree(source.folder, folder)
    (folder / source.assignment.notebook).unlink()
    assert _cli(["stub", "build", "--source", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("grade stub build: error: building needs the reference package")
    assert "source checkout" in err
    assert not (folder / source.assignment.notebook).exists()


# ---------------------------------------------------------------------------------------------
# Real kernel


def _execute(nb: nbformat.NotebookNode, workdir: Path) -> nbformat.NotebookNode:
    client = NotebookClient(
        nb, timeout=60, allow_errors=True, kernel_name="python3",
        resources={"metadata": {"path": str(workdir)}},
    )  # fmt: skip
    return client.execute()


def _errors(cell: nbformat.NotebookNode) -> list[str]:
    return [f"{o.ename}: {o.evalue}" for o in cell.outputs if o.output_type == "error"]


def _stdout(cell: nbformat.NotebookNode) -> str:
    return "".join(o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")


@pytest.mark.slow
def test_stub_runs_and_every_self_check_fails(source: Source, tmp_path: Path) -> None:
    shutil.copytree(source.folder, tmp_path, dirs_exist_ok=True)
    nb = nbformat.read(tmp_path / source.assignment.notebook, as_version=4)
    done = _execute(nb, tmp_path)
    code = [c for c in done.cells if c.cell_type == "code"]
    # the kernel survived to the last cell: every cell ran
    assert all(c.execution_count is not None for c in code)
    for name, cell in _cells(done, "implementation").items():
        assert not _errors(cell), f"{name}: defining the stub function raised {_errors(cell)}"
    for name, cell in _cells(done, "self-check").items():
        assert _errors(cell), f"{name}: the self-check of a stub did not fail"
        assert "All tests passed" not in _stdout(cell)


@pytest.mark.slow
def test_solved_notebook_passes_every_self_check(
    source: Source, solved: nbformat.NotebookNode, tmp_path: Path
) -> None:
    for name in source.assignment.helpers:
        shutil.copyfile(source.folder / name, tmp_path / name)
    done = _execute(copy.deepcopy(solved), tmp_path)
    for cell in done.cells:
        if cell.cell_type == "code":
            assert not _errors(cell), _errors(cell)
    for name, cell in _cells(done, "self-check").items():
        assert _stdout(cell).endswith("All tests passed\n"), f"{name}: {_stdout(cell)[-300:]}"
