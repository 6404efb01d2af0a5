"""The command line contract (design.md §1.2): exit codes, one-line errors, JSON result."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from grader.cli import main
from grader.spec import NAMES

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
    from grader.load import load_notebook

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
    from grader.load import load_notebook

    nb = tmp_path / "v3.ipynb"
    nb.write_text(json.dumps({"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": [
        {"cells": [{"cell_type": "code", "input": "y = 2", "outputs": [], "language": "python"}]}]}))  # fmt: skip
    assert load_notebook(nb).cells[0].source == "y = 2"


@pytest.mark.slow
def test_json_result_follows_the_contract(tmp_path: Path) -> None:
    import shutil

    root = Path(__file__).resolve().parents[1]
    nb = Path(shutil.copy(root / "exercises" / "rnn_step_by_step.ipynb", tmp_path / "stub.ipynb"))
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
