"""The command line contract (docs/architecture.md §1.2): exit codes, one-line errors, JSON result."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from grader.cli import main
from tests.shipped import NAMES

BAD_FILES = [
    pytest.param(b"", "is empty", id="empty"),
    pytest.param(b"not json at all", "is not valid JSON", id="not-json"),
    pytest.param(b'{"cells": [', "is not valid JSON", id="truncated"),
    pytest.param(b"\xff\xfe\x00garbage", "is not UTF-8", id="invalid-utf8"),
    pytest.param(b"[1, 2, 3]", "not a Jupyter notebook", id="json-array"),
    pytest.param(b'{"hello": "world"}', "not a Jupyter notebook", id="json-object"),
    pytest.param(b'{"nbformat": 99, "nbformat_minor": 0, "metadata": {}, "cells": []}',
                 "nbformat 99", id="nbformat-99"),
    pytest.param(b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "code",'
                 b' "source": 42}]}', "source that is not text", id="bad-source"),
    pytest.param(b"[" * 100_000 + b"]" * 100_000, "not valid JSON", id="deep-nesting"),
]  # fmt: skip


@pytest.mark.parametrize(("content", "message"), BAD_FILES)
def test_invalid_files_exit_2_with_one_line(
    content: bytes, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nb = tmp_path / "sub.ipynb"
    nb.write_bytes(content)
    out_json = tmp_path / "r.json"
    code = main([str(nb), "--json", str(out_json)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and message in err and str(nb) in err
    result = json.loads(out_json.read_text())
    assert result["status"] == "invalid" and message in result["error"]
    assert result["exercises"] == [] and result["score"] == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(["/nonexistent/x.ipynb"], "no such file", id="missing-file"),
        pytest.param([], "the following arguments are required", id="no-arguments"),
        pytest.param(["a.ipynb", "--frobnicate"], "unrecognized arguments", id="unknown-option"),
        pytest.param(
            ["a.ipynb", "--timeout", "-1"], "--timeout must be a positive", id="bad-timeout"
        ),
        pytest.param(
            ["a.ipynb", "--golden", "/nonexistent"], "not a golden directory", id="bad-golden"
        ),
        pytest.param(["batch"], "required", id="batch-without-dir"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err


def test_directory_points_to_batch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path)]) == 2
    assert "grade batch" in capsys.readouterr().err


def test_bom_prefixed_notebook_is_read(tmp_path: Path) -> None:
    from grader.stages.load import load_notebook

    nb = tmp_path / "bom.ipynb"
    nb.write_bytes(b"\xef\xbb\xbf" + json.dumps({
        "nbformat": 4, "nbformat_minor": 2, "metadata": {},
        "cells": [{"cell_type": "code", "source": ["x = 1\n"], "metadata": {"tags": ["skip-execution"]},
                   "outputs": [], "execution_count": None}],
    }).encode())  # fmt: skip
    loaded = load_notebook(nb)
    assert loaded.cells[0].source == "x = 1\n"
    assert "tags" not in loaded.cells[0].metadata  # student tags cannot steer execution


def test_nbformat_3_is_read(tmp_path: Path) -> None:
    from grader.stages.load import load_notebook

    nb = tmp_path / "v3.ipynb"
    nb.write_text(json.dumps({"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": [
        {"cells": [{"cell_type": "code", "input": "y = 2", "outputs": [], "language": "python"}]}]}))  # fmt: skip
    assert load_notebook(nb).cells[0].source == "y = 2"


@pytest.mark.parametrize("major", ["4", 4.0, " 4"])
def test_nbformat_written_as_text_or_float_is_read(tmp_path: Path, major: object) -> None:
    """Hand-edited and converted files write "4" or 4.0; nbformat itself reads both."""
    from grader.stages.load import load_notebook

    nb = tmp_path / "odd.ipynb"
    nb.write_text(json.dumps({"nbformat": major, "nbformat_minor": 2, "metadata": {},
                              "cells": [{"cell_type": "code", "source": "z = 3"}]}))  # fmt: skip
    assert load_notebook(nb).cells[0].source == "z = 3"


@pytest.mark.slow
def test_json_result_follows_the_contract(tmp_path: Path) -> None:
    import shutil

    root = Path(__file__).resolve().parents[1]
    nb = Path(
        shutil.copy(root / "exercises" / "rnn" / "rnn_step_by_step.ipynb", tmp_path / "stub.ipynb")
    )
    proc = subprocess.run(
        [sys.executable, "-m", "grader", str(nb), "--json", str(tmp_path / "r.json")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    report = tmp_path / "stub.report.html"
    assert report.exists() and str(report) in proc.stdout
    data = json.loads((tmp_path / "r.json").read_text())
    assert list(data)[:7] == [
        "notebook",
        "status",
        "error",
        "score",
        "max_score",
        "exercises",
        "cells",
    ]
    assert data["notebook"] == str(nb) and data["status"] == "graded" and data["error"] is None
    assert data["max_score"] == 100.0
    assert [e["name"] for e in data["exercises"]] == list(NAMES)
    for ex in data["exercises"]:
        assert set(ex) >= {"name", "status", "score", "max_score", "checks", "hint"}
        assert ex["status"] in {"passed", "failed", "error", "timeout", "missing"}
        for check in ex["checks"]:
            assert set(check) >= {"name", "passed", "message"}


# ------------------------------------------------------------------------------------------------
# Options documented in the README's contract table


def _solved(path: Path) -> Path:
    import nbformat

    from grader.authoring.stubgen import render_solved

    nbformat.write(render_solved(), str(path))
    return path


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        pytest.param("[points]\nrnn_cel_forward = 20\n", "is not an exercise", id="points-typo"),
        pytest.param("[points]\nrnn_forward = -1\n", "must be a number >= 0", id="negative"),
        pytest.param("[limits]\ncall_timout = 5\n", "[limits] 'call_timout' is unknown", id="key"),
        pytest.param("[limits]\ncall_timeout = 0\n", "must be a positive number", id="zero"),
        pytest.param("[scoring]\nx = 1\n", "unknown section(s) ['scoring']", id="section"),
        pytest.param("[points\n", "cannot read the config", id="not-toml"),
    ],
)
def test_bad_config_exits_2_with_one_line_and_outputs_written(
    toml: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "grading.toml"
    cfg.write_text(toml)
    nb = _solved(tmp_path / "nb.ipynb")
    out = tmp_path / "r.json"
    assert main([str(nb), "--config", str(cfg), "--json", str(out), "--no-html"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and str(cfg) in err, err
    data = json.loads(out.read_text())
    assert data["status"] == "invalid" and message in data["error"]


@pytest.mark.slow
def test_solved_notebook_exits_0_and_config_points_change_the_score(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import xmlschema
    from test_render_junit import JUNIT_XSD

    nb = _solved(tmp_path / "solved.ipynb")
    cfg = tmp_path / "grading.toml"
    cfg.write_text("[points]\nrnn_cell_forward = 20\nlstm_backward = 0\n")
    junit = tmp_path / "junit.xml"
    argv = [str(nb), "--config", str(cfg), "--json", str(tmp_path / "r.json"),
            "--junit", str(junit), "--gradescope", str(tmp_path / "gs.json")]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    data = json.loads((tmp_path / "r.json").read_text())
    # default 100 = 15 + ... ; rnn_cell_forward 15 -> 20, lstm_backward 10 -> 0
    points = {e["name"]: e["max_score"] for e in data["exercises"]}
    assert points["rnn_cell_forward"] == 20 and points["lstm_backward"] == 0
    assert data["score"] == data["max_score"] == sum(points.values()) == 95
    assert "95/95" in out and (tmp_path / "solved.report.html").exists()
    # single-notebook JUnit: valid, one testcase per exercise, nothing failed
    xmlschema.XMLSchema(JUNIT_XSD).validate(str(junit))
    text = junit.read_text()
    assert text.count("<testcase ") == len(NAMES)
    assert "<failure" not in text and "<error" not in text
    for name in NAMES:
        assert f'name="{name}"' in text
    assert json.loads((tmp_path / "gs.json").read_text())["score"] == 95


@pytest.mark.slow
def test_machine_that_cannot_grade_exits_3_and_still_writes_ci_outputs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import jsonschema
    import xmlschema
    from test_render_gradescope import SCHEMA as GS_SCHEMA
    from test_render_junit import JUNIT_XSD

    nb = _solved(tmp_path / "solved.ipynb")
    cfg = tmp_path / "grading.toml"
    cfg.write_text("[limits]\nstartup_timeout = 0.001\n")  # no kernel starts that fast
    j, x, g = tmp_path / "r.json", tmp_path / "junit.xml", tmp_path / "gs.json"
    argv = [str(nb), "--config", str(cfg), "--json", str(j), "--junit", str(x),
            "--gradescope", str(g)]  # fmt: skip
    assert main(argv) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "did not start" in err, err
    data = json.loads(j.read_text())
    assert data["status"] == "invalid" and "did not start" in data["error"]
    xmlschema.XMLSchema(JUNIT_XSD).validate(str(x))
    assert 'type="invalid"' in x.read_text() and "did not start" in x.read_text()
    doc = json.loads(g.read_text())
    jsonschema.validate(doc, GS_SCHEMA)
    assert doc["score"] == 0 and "did not start" in doc["output"]


@pytest.mark.slow
def test_timeout_and_call_timeout_take_effect(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.notebooks import submission, write

    sleeper = "def rnn_cell_forward(xt, a_prev, parameters):\n    import time\n    time.sleep(60)\n"
    nb = submission({"rnn_cell_forward": sleeper}, before=("import time\ntime.sleep(60)",))
    path = write(nb, tmp_path / "slow.ipynb")
    out = tmp_path / "r.json"
    argv = [str(path), "--timeout", "2", "--call-timeout", "1.5", "--json", str(out), "--no-html"]
    assert main(argv) == 1
    data = json.loads(out.read_text())
    cell = next(c for c in data["cells"] if c["index"] == 2)
    assert cell["status"] == "timeout" and "longer than 2 s" in cell["evalue"], cell
    ex = {e["name"]: e for e in data["exercises"]}["rnn_cell_forward"]
    assert ex["status"] == "timeout" and "no result after 1.5 s" in ex["reason"], ex["reason"]
    assert ex["error"]["limit"] == "1.5 s per call"
    assert data["score"] == 70  # rnn_cell_forward and rnn_forward (which calls it)


@pytest.mark.slow
def test_private_golden_build_then_grade_with_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from grader.assignment import golden as golden_mod

    private = tmp_path / "private-golden"
    assert main(["golden", "build", "--seed", "8675309", "--out", str(private)]) == 0
    built = golden_mod.load(private)
    shipped = golden_mod.default()
    assert f"to {private} (golden id {built.id})" in capsys.readouterr().out
    assert built.seed == 8675309 and built.id != shipped.id
    for name in NAMES:  # the public example is the course's; the hidden cases are new
        mine, theirs = built.for_exercise(name), shipped.for_exercise(name)
        assert [c.id for c in mine] == [c.id for c in theirs]
        assert repr(mine[0].args) == repr(theirs[0].args)
        assert repr(mine[1].args) != repr(theirs[1].args)

    nb = _solved(tmp_path / "solved.ipynb")
    out = tmp_path / "r.json"
    assert main([str(nb), "--golden", str(private), "--json", str(out), "--no-html"]) == 0
    data = json.loads(out.read_text())
    assert data["golden"] == built.id and data["score"] == data["max_score"] == 100
