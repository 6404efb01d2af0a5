"""gradescope-bundle: the zip's contents and permissions, and run_autograder end to end."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import nbformat
import pytest

from grader.assignment import golden as golden_mod
from grader.authoring.bundle import build_bundle
from grader.cli import main
from grader.judge import diagnose

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundle, built from this checkout and unzipped (as Gradescope does into source/)."""
    tmp = tmp_path_factory.mktemp("bundle")
    zpath = tmp / "autograder.zip"
    assert main(["gradescope-bundle", str(zpath)]) == 0
    out = tmp / "source"
    with zipfile.ZipFile(zpath) as zf:
        zf.extractall(out)
        modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in zf.infolist()}
    assert modes["setup.sh"] == modes["run_autograder"] == 0o755
    for name, mode in modes.items():  # extractall drops modes; restore them as unzip would
        os.chmod(out / name, mode)
    return out


def test_zip_holds_scripts_and_a_wheel_without_solutions(source: Path) -> None:
    names = sorted(p.name for p in source.iterdir())
    wheels = [n for n in names if n.endswith(".whl")]
    assert names == sorted(["setup.sh", "run_autograder", *wheels]) and len(wheels) == 1
    with zipfile.ZipFile(source / wheels[0]) as whl:
        files = whl.namelist()
    assert "grader/cli/__init__.py" in files and "grader/_data/golden/rnn/manifest.json" in files
    assert not any(f.startswith("solutions/") for f in files)
    setup = (source / "setup.sh").read_text()
    assert "pip install ./rnn_grader-*.whl" in setup
    for script in ("setup.sh", "run_autograder"):
        subprocess.run(["bash", "-n", str(source / script)], check=True)


def test_bundle_ships_private_golden_and_config(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text("[points]\nrnn_forward = 20\n")
    wheel = tmp_path / "rnn_grader-0-py3-none-any.whl"
    wheel.write_bytes(b"not really a wheel")
    out = build_bundle(tmp_path / "b.zip", wheel=wheel, golden=REPO / "golden" / "rnn",
                       config=tmp_path / "c.toml")  # fmt: skip
    with zipfile.ZipFile(out) as zf:
        assert {"config.toml", "golden/manifest.json", "golden/inputs.npz"} <= set(zf.namelist())
        # the shipped set is complete: it loads, with its spec and helper modules
        zf.extractall(tmp_path / "unzipped")
    shipped = golden_mod.load(tmp_path / "unzipped" / "golden")
    assert shipped.assignment.names and (shipped.helpers / "rnn_utils.py").is_file()
    assert len(diagnose.load_catalogue(shipped.path)) > 0



def test_bundle_refuses_a_config_for_another_assignment(tmp_path: Path) -> None:
    """[points] naming exercises the shipped set does not have would fail every submission on
    Gradescope: the bundle is refused when it is built (exit 2, one line)."""
    from grader.core.errors import GraderError

    (tmp_path / "c.toml").write_text("[points]\nlinear_forward = 20\n")
    wheel = tmp_path / "rnn_grader-0-py3-none-any.whl"
    wheel.write_bytes(b"not really a wheel")
    with pytest.raises(GraderError, match="linear_forward") as info:
        build_bundle(tmp_path / "b.zip", wheel=wheel, config=tmp_path / "c.toml")
    assert info.value.exit_code == 2 and "\n" not in str(info.value)
    assert not (tmp_path / "b.zip").exists()

def _run(source: Path, submission: Path, tmp: Path) -> dict[str, object]:
    bin_dir = tmp / "bin"
    bin_dir.mkdir(exist_ok=True)
    shim = bin_dir / "grade"  # stands for the console script setup.sh would install
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m grader "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(REPO),
        "RNN_GRADER_SUBMISSION": str(submission),
        "RNN_GRADER_RESULTS": str(tmp / "results"),
        "RNN_GRADER_SOURCE": str(source),
        "RNN_GRADER_PYTHON": sys.executable,
    }
    proc = subprocess.run([str(source / "run_autograder")], env=env, capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    doc: dict[str, object] = json.loads((tmp / "results" / "results.json").read_text())
    from test_render_gradescope import SCHEMA

    jsonschema.validate(doc, SCHEMA)
    return doc


@pytest.mark.parametrize(
    ("files", "needle"),
    [
        pytest.param({}, "no .ipynb file", id="empty"),
        pytest.param({"a.ipynb": "{}", "b.ipynb": "{}"}, "2 notebooks", id="two"),
        pytest.param({"hw.ipynb": "not json"}, "not valid JSON", id="invalid"),
    ],
)
def test_run_autograder_always_leaves_results(
    source: Path, tmp_path: Path, files: dict[str, str], needle: str
) -> None:
    sub = tmp_path / "submission"
    sub.mkdir()
    for name, text in files.items():
        (sub / name).write_text(text)
    doc = _run(source, sub, tmp_path)
    assert doc["score"] == 0.0 and needle in str(doc["output"])


@pytest.mark.slow
def test_run_autograder_grades_the_submission(source: Path, tmp_path: Path) -> None:
    from grader.authoring.stubgen import render_solved

    sub = tmp_path / "submission"
    (sub / ".ipynb_checkpoints").mkdir(parents=True)
    nbformat.write(render_solved(), sub / "RNN_Step_by_Step.ipynb")
    (sub / ".ipynb_checkpoints" / "RNN_Step_by_Step-checkpoint.ipynb").write_text("{}")
    doc = _run(source, sub, tmp_path)
    assert doc["score"] == 100.0
    tests = [t for t in doc["tests"] if isinstance(t, dict) and t["visibility"] == "visible"]
    assert len(tests) == 8 and all(t["status"] == "passed" for t in tests)
