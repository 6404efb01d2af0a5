"""Student code sees only the allow-list view: no classmate, no instructor file, wherever they live.

One batch mixes a notebook that walks the whole file system (from a top-level cell and from inside
an exercise function, which runs in the judge's sandbox) with honest classmates. The class folder
lies outside every temporary directory and is world-readable, so only the view keeps it out: a
separate uid, or a deny-list of known places, would not. Every readable regular file the walker
finds must lie under the allow-list of ``grader.sandbox.view`` (the system's libraries and commands, the
interpreter, the job's own directories, private tmpfs), and no classmate's text may appear in any
report or log.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from grader.authoring.stubgen import render_solved
from grader.cli import main
from grader.sandbox import levels, view
from grader.sandbox.uids import STATE_DIR

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not levels.select_sandbox().strong,
        reason=f"strong sandbox unavailable here ({', '.join(levels.select_sandbox().missing)})",
    ),
]

MARKER = "CLASSMATE-SECRET-7f3a9c"


def _allowed() -> list[str]:
    """What the design allows student code to read: independent of how the view is built."""
    allowed = [*view.SYSTEM_DIRS, *view.SYSTEM_FILES, "/proc", "/dev", "/etc", "/tmp"]
    allowed += [str(p) for p in view.interpreter_paths()]
    allowed.append(str(STATE_DIR / "jobs"))  # the job's own directories (root level)
    return allowed


WALK = r"""
import os, json
ALLOWED = {allowed!r}
PROBES = {probes!r}

def _allowed(path):
    return any(path == a or path.startswith(a.rstrip("/") + "/") for a in ALLOWED)

def _walk(job):
    seen, leaks = 0, []
    for top, dirs, files in os.walk("/"):
        if top == "/proc":
            dirs[:] = []  # the sandbox's own processes: nothing of anyone else's
            continue
        for name in files:
            path = os.path.join(top, name)
            if not os.path.isfile(path) or os.path.islink(path) or not os.access(path, os.R_OK):
                continue
            seen += 1
            if not (_allowed(path) or (job and path.startswith(job))):
                leaks.append(path)
    probed = {{p: os.path.exists(p) for p in PROBES}}
    return {{"seen": seen, "leaks": leaks[:50], "n_leaks": len(leaks), "probed": probed}}
"""

CELL = (
    WALK
    + r"""
print("WALK-CELL " + json.dumps(_walk(os.path.dirname(os.getcwd()))))
"""
)

FUNCTION = (
    WALK
    + r"""
_FOUND = None

def lstm_backward(da, caches):  # no other exercise calls it: it alone loses its points
    global _FOUND
    if _FOUND is None:
        _FOUND = _walk(os.path.dirname(os.getcwd()))
    raise RuntimeError("WALK-JUDGE " + json.dumps(_FOUND))
"""
)


@pytest.fixture
def class_dir() -> Iterator[Path]:
    """A class folder outside /tmp and /var/tmp, readable by everyone (as many are)."""
    base = Path("/srv") if Path("/srv").is_dir() else Path("/")
    root = base / f"rnn-grader-class-{uuid.uuid4().hex[:8]}"
    root.mkdir(mode=0o755)
    root.chmod(0o755)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _write(nb: nbformat.NotebookNode, path: Path) -> None:
    nbformat.write(nb, str(path))
    path.chmod(0o644)


def test_a_file_walking_notebook_sees_only_the_allow_list(class_dir: Path) -> None:
    subs, out = class_dir / "submissions", class_dir / "reports"
    subs.mkdir(mode=0o755)
    private = class_dir / "private-golden"
    assert main(["golden", "build", "--seed", "4242", "--out", str(private)]) == 0
    # (the grader's home and cwd may exist as the path to the interpreter or to grader/: the
    # walk shows whether anything else of them is readable)
    probes = [str(subs), str(out), str(private), str(class_dir)]
    params = {"allowed": _allowed(), "probes": probes}

    walker = render_solved()
    walker.cells.append(nbformat.v4.new_code_cell(CELL.format(**params)))
    walker.cells.append(nbformat.v4.new_code_cell(FUNCTION.format(**params)))
    _write(walker, subs / "walker.ipynb")
    for name in ("alice", "bob"):
        honest = render_solved()
        honest.cells.insert(0, nbformat.v4.new_markdown_cell(f"{name}'s work {MARKER}-{name}"))
        honest.cells.append(nbformat.v4.new_code_cell(f"# {MARKER}-{name}\nprint('done')"))
        _write(honest, subs / f"{name}.ipynb")
    config = class_dir / "limits.toml"
    config.write_text("[limits]\ncall_timeout = 120\ncell_timeout = 120\n")

    code = main([
        "batch", str(subs), "--out", str(out), "--jobs", "2", "--no-canary", "--quiet",
        "--golden", str(private), "--config", str(config),
    ])  # fmt: skip
    assert code == 0

    results = {p.stem: json.loads(p.read_text()) for p in out.glob("*.json")}
    assert {"walker", "alice", "bob"} <= set(results)
    for name in ("alice", "bob"):
        assert results[name]["score"] == 100, [
            (e["status"], e["reason"]) for e in results[name]["exercises"]
        ]
        assert results[name]["sandbox"].startswith("strong")

    walker_json = (out / "walker.json").read_text()
    cell = next(c for c in results["walker"]["cells"] if "WALK-CELL" in c.get("output", ""))
    from_cell = json.loads(cell["output"].split("WALK-CELL ", 1)[1].splitlines()[0])
    exercise = next(e for e in results["walker"]["exercises"] if e["name"] == "lstm_backward")
    message = exercise["error"]["message"]
    from_judge = json.loads(message.split("WALK-JUDGE ", 1)[1])
    for where, found in (("cell", from_cell), ("exercise function", from_judge)):
        assert found["seen"] > 1000, (where, found)  # the walk really ran through the view
        assert found["n_leaks"] == 0, (where, found["leaks"])
        assert not any(found["probed"].values()), (where, found["probed"])
    # the other exercises still graded; nothing of a classmate in any of the walker's outputs
    assert results["walker"]["score"] == 100 - exercise["max_score"], [
        (e["name"], e["status"], e["reason"]) for e in results["walker"]["exercises"]
    ]
    for text in (walker_json, (out / "walker.html").read_text()):
        assert MARKER not in text and "alice.ipynb" not in text and "bob.ipynb" not in text
