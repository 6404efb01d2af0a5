"""grade batch: discovery, output names, overview, and (slow) real batches incl. interruption."""

from __future__ import annotations

import copy
import csv
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from grader.batch.run import assign_stems, discover
from grader.cli import main
from grader.core.models import ExerciseResult, GradeResult, Status
from grader.render.overview import Row, render_overview
from grader.sandbox.levels import ENV_VAR, select_sandbox
from grader.stages.integrity import Flag
from tests.shipped import EXERCISES, NAMES

REPO = Path(__file__).resolve().parent.parent
SB = select_sandbox()
LEVELS = [
    pytest.param("basic", id="basic"),
    pytest.param(
        "strong",
        id="strong",
        marks=pytest.mark.skipif(
            not SB.strong, reason=f"strong sandbox unavailable: {', '.join(SB.missing)}"
        ),
    ),
]


# --------------------------------------------------------------------------------------------
# unit


def test_discover_is_recursive_sorted_and_skips_checkpoints(tmp_path: Path) -> None:
    for rel in ["b.ipynb", "a/z.ipynb", "a/.ipynb_checkpoints/z-checkpoint.ipynb",
                ".hidden/x.ipynb", "notes.txt", "A.ipynb"]:  # fmt: skip
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("{}")
    got = [p.relative_to(tmp_path).as_posix() for p in discover(tmp_path)]
    assert got == ["A.ipynb", "a/z.ipynb", "b.ipynb"]


@pytest.mark.parametrize(
    ("files", "stems"),
    [
        pytest.param(
            ["x/hw.ipynb", "y/hw.ipynb", "z.ipynb"], ["x__hw", "y__hw", "z"], id="collide"
        ),
        pytest.param(["Hw.ipynb", "sub/hw.ipynb"], ["Hw", "sub__hw"], id="case-insensitive"),
        pytest.param(
            ["index.ipynb", "gradebook.ipynb"], ["nb_index", "nb_gradebook"], id="reserved"
        ),
        pytest.param(["a b/ü?.ipynb"], ["ü"], id="unsafe-chars"),
        pytest.param(
            ["a__b.ipynb", "a/b.ipynb", "c/b.ipynb"], ["a__b", "a__b-2", "c__b"], id="join"
        ),
    ],
)
def test_assign_stems(files: list[str], stems: list[str]) -> None:
    assert assign_stems(files) == stems
    assert assign_stems(files) == assign_stems(list(files))  # deterministic


def _result(name: str, score_of: dict[str, Status]) -> GradeResult:
    exs = tuple(
        ExerciseResult(s.name, score_of.get(s.name, Status.PASSED),
                       s.points if score_of.get(s.name, Status.PASSED) is Status.PASSED
                       else 0.0, s.points)
        for s in EXERCISES
    )  # fmt: skip
    return GradeResult(name, "graded", None, sum(e.score for e in exs), 100.0, exs)


def test_overview_counts_escapes_and_links() -> None:
    evil = "<script>alert(1)</script>.ipynb"
    rows = [
        Row("a.ipynb", "a.html", "a.json", _result("a.ipynb", {})),
        Row(evil, "evil.html", "evil.json", _result(evil, {"rnn_forward": Status.TIMEOUT})),
        Row("bad.ipynb", "bad.html", "bad.json",
            GradeResult("bad.ipynb", "invalid", "bad.ipynb: is not valid JSON", 0.0, 0.0)),
    ]  # fmt: skip
    page = render_overview(
        rows,
        names=NAMES,
        title="RNN assignment",
        flags=[Flag(("a.ipynb", evil), ("lstm_forward",))],
    )
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert "<script" not in page.lower() and "http" not in page.replace("http://www.w3.org", "")
    for href in ("a.html", "evil.html", "bad.html", "a.json"):
        assert f'href="{href}"' in page
    assert "is not valid JSON" in page  # invalid listed with its reason
    assert page.count("<rect") == 10  # histogram bins
    assert "85 notebook" not in page
    # pass rate of rnn_forward: 1 of 2 graded notebooks
    assert "50%" in page and "Integrity hints (1)" in page and "Timed out (1)" in page
    # the isolation level is stated, and a weak one is flagged with what it lets student code do
    assert 'class="flag" data-sandbox="basic"' in page and "2 notebook(s)" in page
    assert "could read every file" in page


def test_overview_states_a_strong_level_quietly() -> None:
    strong = dataclasses.replace(_result("a.ipynb", {}), sandbox="strong-rootless",
                                 sandbox_missing=("root: no job tmpfs",))  # fmt: skip
    page = render_overview(
        [Row("a.ipynb", "a.html", "a.json", strong)], names=NAMES, title="RNN assignment"
    )
    assert 'class="muted" data-sandbox="strong-rootless"' in page
    assert "root: no job tmpfs" in page and "could read every file" not in page


def test_usage_errors_are_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["batch", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no such directory" in err[0]
    (tmp_path / "empty").mkdir()
    assert main(["batch", str(tmp_path / "empty"), "--out", str(tmp_path / "o")]) == 2
    assert "no *.ipynb" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# slow: real notebooks, real pipeline


def solved() -> nbformat.NotebookNode:
    from grader.authoring.stubgen import render_solved

    return render_solved()


def mutate(nb: nbformat.NotebookNode, old: str, new: str) -> nbformat.NotebookNode:
    nb = copy.deepcopy(nb)
    hits = 0
    for cell in nb.cells:
        if cell.cell_type == "code" and old in cell.source:
            cell.source = cell.source.replace(old, new, 1)
            hits += 1
    assert hits, old
    return nb


BUG = ("np.dot(Waa, a_prev) + np.dot(Wax, xt) + ba", "np.dot(Wax, xt) + ba")


def make_class(root: Path) -> None:
    nb = solved()
    nbformat.write(nb, root / "good.ipynb")
    (root / "sub").mkdir()
    nbformat.write(mutate(nb, *BUG), root / "sub" / "buggy.ipynb")
    (root / "bad.ipynb").write_text("not json")
    hostile = copy.deepcopy(nb)
    # kills whatever started its kernel (our worker, unless the sandbox hides it), then exits
    hostile.cells.append(nbformat.v4.new_code_cell(
        "import os, signal\ntry:\n    os.kill(os.getppid(), signal.SIGKILL)\nexcept Exception:\n"
        "    pass\nos._exit(1)"))  # fmt: skip
    nbformat.write(hostile, root / "sub" / "good.ipynb")


@pytest.mark.slow
@pytest.mark.parametrize("level", LEVELS)
def test_mixed_batch_writes_every_output(
    level: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import jsonschema
    import xmlschema
    from test_render_gradescope import SCHEMA as GS_SCHEMA
    from test_render_junit import JUNIT_XSD

    # Workers are spawned from this process and inherit the forced level.
    monkeypatch.setenv(ENV_VAR, level)
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    make_class(src)
    args = ["batch", str(src), "--out", str(out), "--jobs", "2", "--junit",
            str(tmp_path / "junit.xml"), "--gradescope", str(tmp_path / "gs")]  # fmt: skip
    assert main(args) == 0
    stems = {"bad": "bad.ipynb", "good": "good.ipynb", "buggy": "sub/buggy.ipynb",
             "sub__good": "sub/good.ipynb"}  # fmt: skip
    for stem in stems:
        assert (out / f"{stem}.html").stat().st_size > 0
        data = json.loads((out / f"{stem}.json").read_text())
        assert data["notebook"] == str(src / stems[stem])
    results = {s: json.loads((out / f"{s}.json").read_text()) for s in stems}
    assert results["bad"]["status"] == "invalid" and "JSON" in results["bad"]["error"]
    assert results["good"]["score"] == results["good"]["max_score"] > 0
    buggy = {e["name"]: e["status"] for e in results["buggy"]["exercises"]}
    assert buggy["rnn_cell_forward"] == "failed" and buggy["lstm_forward"] == "passed"
    hostile = results["sub__good"]
    if level == "basic":
        # Its kernel is a child of the worker, so killing its parent kills the worker: an invalid
        # row saying so, marked as a grader-side failure (not cached, retried on the next run).
        assert hostile["status"] == "invalid", hostile["status"]
        assert "grading process died" in hostile["error"] and "signal 9" in hostile["error"]
        assert hostile["extra"] == {"batch_failure": "worker_died"}
        assert "1 notebook(s) hit a grader-side failure" in capsys.readouterr().err
    else:  # its kernel's parent is the namespace's init, which ignores the signal
        assert hostile["status"] == "graded" and hostile["score"] == 100, hostile["error"]
        assert "grader-side failure" not in capsys.readouterr().err

    with open(out / "gradebook.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert sorted(r["file"] for r in rows) == sorted(stems.values())
    assert set(rows[0]) == {"file", *NAMES, "total", "max", "status", "reason", "sandbox"}
    if level == "basic":  # the forced level really is the one the workers graded at
        assert {r["sandbox"] for r in rows if r["status"] == "graded"} == {"basic"}
    page = (out / "index.html").read_text()
    assert all(f'href="{s}.html"' in page for s in stems)
    assert "<script" not in page
    xmlschema.XMLSchema(JUNIT_XSD).validate(str(tmp_path / "junit.xml"))
    for stem in stems:
        jsonschema.validate(json.loads((tmp_path / "gs" / f"{stem}.json").read_text()), GS_SCHEMA)

    # Re-run: nothing changed, so nothing that got a real result is graded again.
    mtimes = {s: (out / f"{s}.json").stat().st_mtime_ns for s in stems}
    capsys.readouterr()
    assert main(["batch", str(src), "--out", str(out), "--quiet"]) == 0
    summary = capsys.readouterr().err
    retried = level == "basic"  # grader-side failures are retried, not cached
    assert f"{int(retried)} graded, {4 - int(retried)} from cache" in summary
    for stem in ("bad", "good", "buggy"):
        assert (out / f"{stem}.json").stat().st_mtime_ns == mtimes[stem]
    again = json.loads((out / "sub__good.json").read_text())
    if retried:  # graded again (and killed its worker again)
        assert (out / "sub__good.json").stat().st_mtime_ns != mtimes["sub__good"]
        assert again["extra"] == {"batch_failure": "worker_died"}
    else:
        assert (out / "sub__good.json").stat().st_mtime_ns == mtimes["sub__good"]


@pytest.mark.slow
def test_failing_canary_no_canary_and_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    nbformat.write(solved(), src / "good.ipynb")
    nbformat.write(mutate(solved(), *BUG), src / "buggy.ipynb")
    # Limits no function can meet: the known-good canary cannot get full marks.
    tight = tmp_path / "tight.toml"
    tight.write_text("[limits]\ncall_timeout = 0.001\ncell_timeout = 60\n")
    base = ["batch", str(src), "--out", str(out), "--config", str(tight), "--quiet"]

    assert main(base) == 3
    # one line for the failure (below a weak-sandbox warning, where there is one)
    [line] = [ln for ln in capsys.readouterr().err.splitlines() if "canary failed" in ln]
    assert line.startswith("grade batch: canary failed") and "no student was graded" in line
    assert not list(out.glob("*.json")) and not (out / "gradebook.csv").exists()

    # --no-canary: the same limits grade the class (badly); the batch itself succeeds.
    assert main([*base, "--no-canary"]) == 0
    assert "2 graded, 0 from cache" in capsys.readouterr().err
    good = json.loads((out / "good.json").read_text())
    assert good["status"] == "graded" and good["score"] < good["max_score"]
    assert "timeout" in {e["status"] for e in good["exercises"]}
    mtimes = {s: (out / f"{s}.json").stat().st_mtime_ns for s in ("good", "buggy")}

    assert main([*base, "--no-canary"]) == 0
    assert "0 graded, 2 from cache" in capsys.readouterr().err

    # --force regrades everything although the cache holds every result.
    assert main([*base, "--no-canary", "--force"]) == 0
    assert "2 graded, 0 from cache" in capsys.readouterr().err
    assert all((out / f"{s}.json").stat().st_mtime_ns != t for s, t in mtimes.items())


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signum", "code"),
    [
        pytest.param(signal.SIGTERM, 143, id="SIGTERM"),
        pytest.param(signal.SIGINT, 130, id="SIGINT"),
    ],
)
def test_interrupted_batch_resumes(tmp_path: Path, signum: int, code: int) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    nb = solved()
    for name in ("n1", "n2", "n3"):
        sub = mutate(nb, *BUG) if name == "n2" else copy.deepcopy(nb)
        sub.cells.append(nbformat.v4.new_markdown_cell(name))  # distinct bytes, distinct keys
        nbformat.write(sub, src / f"{name}.ipynb")
    cmd = [sys.executable, "-m", "grader", "batch", str(src), "--out", str(out), "--jobs", "1"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        cmd, cwd=REPO, env=env, stderr=subprocess.PIPE, text=True,
        # Ctrl-C must reach Python even when this test itself runs with SIGINT ignored (a shell's
        # background job): Python installs its KeyboardInterrupt handler only over SIG_DFL.
        preexec_fn=_default_sigint,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not list((out / ".cache").glob("*.json.gz")) and time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        time.sleep(0.1)
    proc.send_signal(signum)  # to the batch process only, as a terminal's Ctrl-C or `kill`
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert "Traceback" not in err
    assert "run the same command again" in err
    finished = {p.stem for p in out.glob("n*.json")}
    assert finished and finished != {"n1", "n2", "n3"}
    assert not list(out.glob(".*.tmp")) and not list(out.glob("*.tmp"))
    before = {s: (out / f"{s}.json").stat().st_mtime_ns for s in finished}

    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    n_cached = len(finished)
    assert f"{3 - n_cached} graded, {n_cached} from cache" in done.stderr
    assert {p.stem for p in out.glob("n*.json")} == {"n1", "n2", "n3"}
    assert all((out / f"{s}.json").stat().st_mtime_ns == t for s, t in before.items())
    assert (out / "gradebook.csv").read_text().count("\n") == 4


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_overview_counts_evidence_findings_by_kind() -> None:
    from grader.core.models import Diagnosis

    def with_finding(name: str, title: str) -> GradeResult:
        base = _result(name, {"rnn_forward": Status.FAILED})
        finding = Diagnosis("evidence.hardcoded_size", title, "explained", "use x.shape")
        exercises = tuple(
            dataclasses.replace(e, finding=finding) if e.name == "rnn_forward" else e
            for e in base.exercises
        )
        return dataclasses.replace(base, exercises=exercises)

    rows = [
        Row("a.ipynb", "a.html", "a.json", with_finding("a.ipynb", "line 3 hard-codes 10")),
        Row("b.ipynb", "b.html", "b.json", with_finding("b.ipynb", "line 9 hard-codes 10")),
    ]
    page = render_overview(rows, names=NAMES, title="RNN assignment")
    mistakes = page.split('id="mistakes"', 1)[1].split("<h2", 1)[0]
    assert "line 3 hard-codes 10" in mistakes and "line 9 hard-codes 10" not in mistakes
    assert ">2<" in mistakes.replace(" ", "")  # one row, counted twice
