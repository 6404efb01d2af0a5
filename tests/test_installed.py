"""The installed product: every user journey from a regular install of the wheel, outside the checkout.

Users get the wheel (``pip install rnn-grader`` or ``pip install .``), not this editable checkout.
Here the sdist and the wheel are built from the checkout (the wheel *from the sdist*, as ``python -m
build`` does, so a file missing from the sdist fails too), the wheel is installed with its
dependencies into a fresh virtual environment, and every journey runs as a subprocess of that
environment's ``grade`` from a directory outside the checkout, with a clean environment (no
``PYTHONPATH``). Nothing run under test imports from the checkout; the test process itself only
builds input notebooks and a private golden set (an instructor's checkout does that too).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import tarfile
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.installed]

REPO = Path(__file__).resolve().parent.parent
STUB = REPO / "exercises" / "rnn" / "rnn_step_by_step.ipynb"


@dataclass(frozen=True)
class Installed:
    wheel: Path
    sdist: Path
    venv: Path
    work: Path  #: a directory outside the checkout: the cwd of every journey

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    def env(self, **extra: str) -> dict[str, str]:
        keep = ("HOME", "LANG", "TMPDIR", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
        env = {k: os.environ[k] for k in keep if k in os.environ}
        env["PATH"] = f"{self.bin}{os.pathsep}/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
        env["VIRTUAL_ENV"] = str(self.venv)
        env.update(extra)
        return env

    def run(
        self, *argv: str | Path, cwd: Path | None = None, timeout: float = 600, **env: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(a) for a in argv],
            cwd=cwd or self.work,
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    def grade(self, *args: str | Path, **kw: object) -> subprocess.CompletedProcess[str]:
        return self.run(self.bin / "grade", *args, **kw)  # type: ignore[arg-type]


def _build_dists(out: Path) -> tuple[Path, Path]:
    """sdist, then the wheel built from that sdist (``python -m build``'s default)."""
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(REPO)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    (sdist,) = out.glob("rnn_grader-*.tar.gz")
    (wheel,) = out.glob("rnn_grader-*.whl")
    return sdist, wheel


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("installed")
    sdist, wheel = _build_dists(root / "dist")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    # Dependencies resolved from the index, as a user's `pip install` would: the newest versions
    # that pyproject.toml admits.
    proc = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    work = root / "work"
    work.mkdir()
    return Installed(wheel, sdist, venv, work)


@pytest.fixture(scope="session")
def solved(installed: Installed) -> Path:
    from grader.authoring.stubgen import (
        render_solved,  # the test process builds the input, from the checkout
    )

    path = installed.work / "solved.ipynb"
    nbformat.write(render_solved(), str(path))
    return path


@pytest.fixture(scope="session")
def stub(installed: Installed) -> Path:
    path = installed.work / "stub.ipynb"
    path.write_bytes(STUB.read_bytes())
    return path


def _one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


# ------------------------------------------------------------------------------------------------
# What was installed


def test_the_journeys_run_the_wheel_not_the_checkout(installed: Installed) -> None:
    proc = installed.run(
        installed.bin / "python",
        "-c",
        "import grader, sys; print(grader.__file__)\n"
        "try:\n    import solutions\nexcept ImportError:\n    print('no solutions')\n"
        "else:\n    print('solutions from', solutions.__file__)",
    )
    assert proc.returncode == 0, proc.stderr
    where, solutions = proc.stdout.splitlines()
    assert Path(where).is_relative_to(installed.venv), where
    assert solutions == "no solutions"
    assert not installed.work.is_relative_to(REPO)


def test_dists_carry_the_data_and_not_the_reference(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as whl:
        names = set(whl.namelist())
    for needed in (
        "grader/_data/golden/rnn/manifest.json",
        "grader/_data/golden/rnn/variants.json",
        "grader/_data/golden/rnn/assignment.json",
        "grader/_data/golden/rnn/stub.ipynb",
        "grader/_data/golden/rnn/helpers/rnn_utils.py",
        "grader/_data/golden/rnn/helpers/public_tests.py",
        "grader/_data/templates/report.html.j2",
    ):
        assert needed in names, needed
    assert not any(n.startswith(("solutions/", "tests/")) for n in names)
    with tarfile.open(installed.sdist) as sd:
        members = {m.name.split("/", 1)[1] for m in sd.getmembers() if "/" in m.name}
    for needed in (
        "pyproject.toml",
        "README.md",
        "solutions/rnn/reference.py",
        "golden/rnn/manifest.json",
        "exercises/rnn/assignment.toml",
    ):
        assert needed in members, needed


def test_python_m_grader_help(installed: Installed) -> None:
    proc = installed.run(installed.bin / "python", "-m", "grader", "--help")
    assert proc.returncode == 0, proc.stderr
    assert "usage: grade" in proc.stdout and "batch" in proc.stdout


# ------------------------------------------------------------------------------------------------
# Students: grade one notebook


def test_grade_the_stub_exits_1(installed: Installed, stub: Path) -> None:
    proc = installed.grade(stub)
    assert proc.returncode == 1, proc.stderr
    assert "0/100" in proc.stdout.replace(" ", "") or "0.0/100" in proc.stdout
    assert (installed.work / "stub.report.html").is_file()


def test_grade_a_solved_notebook_with_every_output(installed: Installed, solved: Path) -> None:
    out = installed.work / "outputs"
    proc = installed.grade(
        solved,
        "--json", out / "r.json",
        "--html", out / "r.html",
        "--junit", out / "r.xml",
        "--gradescope", out / "results.json",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads((out / "r.json").read_text())
    assert result["status"] == "graded" and result["score"] == result["max_score"] == 100
    assert [e["status"] for e in result["exercises"]] == ["passed"] * 8
    # The wheel sandboxes as well as the checkout does: its golden set lies inside grader/_data,
    # which once made the strong view fail to build and every installed grade fall back to basic.
    from grader.sandbox import levels

    assert result["sandbox"] == levels.select_sandbox().level, proc.stderr
    assert "<html" in (out / "r.html").read_text()[:500].lower()
    suite = ET.parse(out / "r.xml").getroot()
    assert suite.iter("testcase") and not list(suite.iter("failure"))
    assert json.loads((out / "results.json").read_text())["score"] == 100


def test_commands_that_need_a_checkout_fail_with_one_line(installed: Installed) -> None:
    for argv in (("golden", "build", "--out", "g"), ("stub", "build", "--out", "s")):
        proc = installed.grade(*argv)
        assert proc.returncode == 2, (argv, proc.stdout, proc.stderr)
        line = _one_line(proc.stderr)
        assert "checkout" in line, line
    assert not (installed.work / "g").exists() and not (installed.work / "s").exists()


def test_a_private_golden_set_built_from_the_checkout(
    installed: Installed, solved: Path, tmp_path: Path
) -> None:
    private = tmp_path / "private-golden"
    build = subprocess.run(
        [sys.executable, "-m", "grader", "golden", "build", "--seed", "8675309", "--out", private],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
    )
    assert build.returncode == 0, build.stderr
    manifest = json.loads((private / "manifest.json").read_text())
    assert manifest["seed"] == 8675309
    out = installed.work / "private.json"
    proc = installed.grade(solved, "--golden", private, "--json", out, "--no-html")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(out.read_text())["score"] == 100


def test_an_instructors_own_assignment_builds_and_grades_from_the_wheel(
    installed: Installed,
) -> None:
    """A second assignment: built and graded by the installed package, no checkout involved."""
    from tests.test_assignment import TOY, notebook

    source = installed.work / "my-assignment"
    shutil.copytree(TOY, source, ignore=shutil.ignore_patterns("golden", "*.ipynb", "__pycache__"))
    built = installed.grade("build", source)
    assert built.returncode == 0, built.stdout + built.stderr
    spec = json.loads((source / "golden" / "assignment.json").read_text())
    stub = source / spec["notebook"]
    assert stub.is_file()
    submission = installed.work / "toy-submission.ipynb"
    nbformat.write(notebook(), str(submission))
    out = installed.work / "toy.json"
    proc = installed.grade(submission, "--assignment", source, "--json", out, "--no-html")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(out.read_text())
    assert result["score"] == result["max_score"] > 0
    assert [e["name"] for e in result["exercises"]] == [e["name"] for e in spec["exercises"]]
    assert {e["status"] for e in result["exercises"]} == {"passed"}
    graded_stub = installed.grade(stub, "--assignment", source, "--no-html")
    assert graded_stub.returncode == 1, graded_stub.stdout + graded_stub.stderr


# ------------------------------------------------------------------------------------------------
# Instructors: a class, with the canary on


def test_batch_with_the_canary_and_an_invalid_notebook(
    installed: Installed, stub: Path, solved: Path
) -> None:
    subs = installed.work / "class"
    subs.mkdir()
    (subs / "alice.ipynb").write_bytes(solved.read_bytes())
    (subs / "bob.ipynb").write_bytes(stub.read_bytes())
    (subs / "carol.ipynb").write_text("this is not a notebook")
    proc = installed.grade("batch", "class", "--out", "reports", "--jobs", "2")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(installed.work / "reports" / "gradebook.csv", newline="") as f:
        rows = {Path(r["file"]).stem: r for r in csv.DictReader(f)}
    assert set(rows) == {"alice", "bob", "carol"}, rows
    assert float(rows["alice"]["total"]) == 100
    assert float(rows["bob"]["total"]) == 0 and rows["bob"]["status"] == "graded"
    assert rows["carol"]["status"] == "invalid"
    for stem in ("alice", "bob", "carol"):
        assert (installed.work / "reports" / f"{stem}.json").is_file()
    assert (installed.work / "reports" / "index.html").is_file()


# ------------------------------------------------------------------------------------------------
# Course pipelines: the Gradescope bundle, run as Gradescope runs it


def test_gradescope_bundle_installs_and_grades(
    installed: Installed, solved: Path, tmp_path: Path
) -> None:
    zpath = installed.work / "autograder.zip"
    proc = installed.grade("gradescope-bundle", zpath, "--wheel", installed.wheel)
    assert proc.returncode == 0, proc.stderr
    source = tmp_path / "source"
    with zipfile.ZipFile(zpath) as zf:
        zf.extractall(source)
        for info in zf.infolist():
            os.chmod(source / info.filename, (info.external_attr >> 16) & 0o777)
    # The image Gradescope builds: its own Python, set up by the bundle's setup.sh.
    image = tmp_path / "image"
    subprocess.run([sys.executable, "-m", "venv", str(image)], check=True, timeout=300)
    env = {"PATH": f"{image / 'bin'}{os.pathsep}/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"}
    setup = installed.run("bash", source / "setup.sh", cwd=source, timeout=900, **env)
    assert setup.returncode == 0, setup.stdout[-2000:] + setup.stderr[-2000:]
    submission = tmp_path / "submission"
    submission.mkdir()
    (submission / "RNN_Step_by_Step.ipynb").write_bytes(solved.read_bytes())
    results = tmp_path / "results"
    run = installed.run(
        source / "run_autograder",
        cwd=source,
        RNN_GRADER_SUBMISSION=str(submission),
        RNN_GRADER_RESULTS=str(results),
        RNN_GRADER_SOURCE=str(source),
        **env,
    )
    assert run.returncode == 0, run.stderr
    doc = json.loads((results / "results.json").read_text())
    assert doc["score"] == 100, doc.get("output")


# ------------------------------------------------------------------------------------------------
# Students in a notebook: grader.check() from the installed package, no notebook file on disk

CHECK_IN_A_KERNEL = """
import sys, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
nb.cells.append(nbformat.v4.new_code_cell(
    "import grader\\nprint(repr(grader.check('rnn_cell_forward', 'lstm_backward')))"))
NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True,
               resources={"metadata": {"path": sys.argv[2]}}).execute()
print("".join(o.get("text", "") for o in nb.cells[-1].outputs))
"""


def test_check_inside_a_notebook_kernel(installed: Installed, solved: Path) -> None:
    kernel_dir = installed.work / "kernel"
    kernel_dir.mkdir()
    for helper in ("rnn_utils.py", "public_tests.py"):
        (kernel_dir / helper).write_bytes((REPO / "exercises" / "rnn" / helper).read_bytes())
    proc = installed.run(installed.bin / "python", "-c", CHECK_IN_A_KERNEL, solved, kernel_dir)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "✓ rnn_cell_forward: passed (15/15)" in proc.stdout, proc.stdout
    assert "✓ lstm_backward: passed (10/10)" in proc.stdout, proc.stdout
