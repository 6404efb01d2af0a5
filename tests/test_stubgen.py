"""The stub notebook generator: committed exercises/ match a fresh render, and the stub behaves."""

from __future__ import annotations

import argparse
import ast
import shutil
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from grader.assignment.spec import BY_NAME, NAMES
from grader.authoring import stubgen
from grader.core.resources import compat_dir

REBUILD = "stale: run `grade stub build` and commit exercises/"


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
def stub() -> nbformat.NotebookNode:
    return stubgen.render_stub()


@pytest.fixture(scope="module")
def solved() -> nbformat.NotebookNode:
    return stubgen.render_solved()


def test_committed_notebook_matches_a_fresh_render(repo_root: Path) -> None:
    committed = (repo_root / "exercises" / stubgen.NOTEBOOK_NAME).read_text(encoding="utf-8")
    assert committed == stubgen.dumps(stubgen.render_stub()), f"{stubgen.NOTEBOOK_NAME} {REBUILD}"


@pytest.mark.parametrize("name", stubgen.COMPAT_FILES)
def test_committed_helpers_match_grader_compat(repo_root: Path, name: str) -> None:
    committed = (repo_root / "exercises" / name).read_bytes()
    assert committed == (compat_dir() / name).read_bytes(), f"exercises/{name} {REBUILD}"


def test_render_is_deterministic_and_valid(stub: nbformat.NotebookNode) -> None:
    text = stubgen.dumps(stub)
    assert text == stubgen.dumps(stubgen.render_stub())
    nb = nbformat.reads(text, as_version=4)
    nbformat.validate(nb)
    assert (nb.nbformat, nb.nbformat_minor) == (4, 5)
    assert [c.id for c in nb.cells] == [f"cell-{i:02d}" for i in range(len(nb.cells))]
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_layout_follows_the_course(stub: nbformat.NotebookNode) -> None:
    code = [c for c in stub.cells if c.cell_type == "code"]
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
    assert stub_src.splitlines()[0] == f"def {name}({', '.join(BY_NAME[name].args)}):"
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
        assert type(got) is type(want) and len(got) == len(want), where  # type: ignore[arg-type]
        for i, (g, w) in enumerate(zip(got, want, strict=True)):  # type: ignore[call-overload]
            _assert_identical(g, w, f"{where}[{i}]")
    elif isinstance(want, dict):
        assert isinstance(got, dict) and list(got) == list(want), where
        for k in want:
            _assert_identical(got[k], want[k], f"{where}[{k!r}]")
    else:
        assert got == want, where


def test_solved_functions_are_the_reference(solved: nbformat.NotebookNode) -> None:
    """Every solved function, on every golden case, returns exactly what the reference does."""
    import copy

    from grader.assignment import golden as golden_mod
    from solutions import rnn

    sys.path.insert(0, str(compat_dir()))
    try:
        namespace: dict[str, object] = {}
        exec(
            "import numpy as np\nfrom rnn_utils import *\n"
            + "\n".join(c.source for c in _cells(solved, "implementation").values()),
            namespace,
        )
    finally:
        sys.path.remove(str(compat_dir()))
    cases = golden_mod.default()
    compared = 0
    for name in NAMES:
        assert callable(namespace.get(name)), f"{name} is not defined by the solved notebook"
        assert namespace[name] is not getattr(rnn, name)  # the notebook's own, not an import
        for case in cases.for_exercise(name):
            got = namespace[name](*copy.deepcopy(case.args))  # type: ignore[operator]
            want = getattr(rnn, name)(*copy.deepcopy(case.args))
            _assert_identical(got, want, f"{name}/{case.id}")
            compared += 1
    assert compared >= 5 * len(NAMES)


def test_write_exercises_writes_the_three_files(tmp_path: Path) -> None:
    paths = stubgen.write_exercises(tmp_path / "out")
    assert [p.name for p in paths] == [stubgen.NOTEBOOK_NAME, *stubgen.COMPAT_FILES]
    assert paths[0].read_text(encoding="utf-8") == stubgen.dumps(stubgen.render_stub())


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="grade")
    stubgen.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


def test_cli_stub_build(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli(["stub", "build", "--out", str(tmp_path)]) == 0
    assert (tmp_path / stubgen.NOTEBOOK_NAME).is_file()
    assert str(tmp_path / "public_tests.py") in capsys.readouterr().out


def test_cli_stub_build_without_solutions_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(stubgen, "_SOLUTION_FILE", tmp_path / "absent.py")
    monkeypatch.setitem(sys.modules, "solutions.rnn", None)  # makes the import fail
    assert _cli(["stub", "build", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "grade stub build: error: cannot read the reference solutions/rnn.py" in err
    assert "source checkout" in err
    assert not (tmp_path / "out" / stubgen.NOTEBOOK_NAME).exists()


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
def test_stub_runs_and_every_self_check_fails(repo_root: Path, tmp_path: Path) -> None:
    shutil.copytree(repo_root / "exercises", tmp_path, dirs_exist_ok=True)
    nb = nbformat.read(tmp_path / stubgen.NOTEBOOK_NAME, as_version=4)
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
def test_solved_notebook_passes_every_self_check(tmp_path: Path) -> None:
    for name in stubgen.COMPAT_FILES:
        shutil.copyfile(compat_dir() / name, tmp_path / name)
    done = _execute(stubgen.render_solved(), tmp_path)
    for cell in done.cells:
        if cell.cell_type == "code":
            assert not _errors(cell), _errors(cell)
    for name, cell in _cells(done, "self-check").items():
        assert _stdout(cell).endswith("All tests passed\n"), f"{name}: {_stdout(cell)[-300:]}"
