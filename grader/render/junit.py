"""JUnit XML for CI dashboards (GitHub, GitLab, Jenkins): one testsuite per notebook.

Mapping (chosen so a CI summary reads like the score table):

- each exercise is a testcase (``classname`` = notebook, ``name`` = exercise);
- ``failed`` and ``missing`` are ``<failure>``: the submission is wrong or incomplete, which is
  what a failing test means; ``missing`` carries type ``missing``;
- ``error`` and ``timeout`` are ``<error>``: the code raised or ran away, like a test that crashed;
- an ``invalid`` notebook (not gradable) is one testcase ``load`` with an ``<error>`` saying why.

Student-controlled text (messages, tracebacks) may contain characters XML 1.0 cannot carry; they
are replaced, never allowed to make the file unparsable.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from grader.core.fileio import atomic_write
from grader.core.models import ExerciseResult, GradeResult, Status
from grader.render.advice import advice_lines

_ILLEGAL_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_MAX_TEXT = 20_000  # a looping print should not make a multi-megabyte CI artifact


def _clean(text: str) -> str:
    text = _ILLEGAL_XML.sub("\ufffd", text)
    if len(text) > _MAX_TEXT:
        text = text[:_MAX_TEXT] + "\n[... truncated]"
    return text


def _details(ex: ExerciseResult) -> str:
    lines = [ex.reason] if ex.reason else []
    if ex.error is not None:
        lines.append(f"{ex.error.type or ex.error.kind}: {ex.error.message}")
        lines.extend(ex.error.traceback)
    lines.extend(f"[{c.case or '-'}] {c.name}: {c.message}" for c in ex.checks if not c.passed)
    lines.extend(advice_lines(ex))
    return "\n".join(lines)


def _suite(result: GradeResult) -> ET.Element:
    suite = ET.Element("testsuite", name=_clean(result.notebook))
    tests = failures = errors = 0
    if result.status != "graded":
        tests, errors = 1, 1
        case = ET.SubElement(suite, "testcase", name="load", classname=_clean(result.notebook))
        case.set("time", f"{result.duration:.3f}")
        err = ET.SubElement(case, "error", type="invalid")
        err.set("message", _clean(result.error or "the notebook could not be graded"))
        err.text = _clean(result.error or "")
    for ex in result.exercises if result.status == "graded" else ():
        tests += 1
        case = ET.SubElement(suite, "testcase", name=ex.name, classname=_clean(result.notebook))
        case.set("time", f"{ex.duration:.3f}")
        summary = _clean(f"{ex.score:g}/{ex.max_score:g} points: {ex.reason or ex.status.value}")
        if ex.status in (Status.FAILED, Status.MISSING):
            failures += 1
            node = ET.SubElement(case, "failure", type=ex.status.value, message=summary)
            node.text = _clean(_details(ex))
        elif ex.status in (Status.ERROR, Status.TIMEOUT):
            errors += 1
            node = ET.SubElement(case, "error", type=ex.status.value, message=summary)
            node.text = _clean(_details(ex))
    suite.set("tests", str(tests))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("skipped", "0")
    suite.set("time", f"{result.duration:.3f}")
    return suite


def render_junit(results: Sequence[GradeResult]) -> str:
    root = ET.Element("testsuites", name="rnn-grader")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    time = 0.0
    for result in results:
        suite = _suite(result)
        root.append(suite)
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
        time += result.duration
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{time:.3f}")
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def write_junit(results: Sequence[GradeResult], path: Path) -> None:
    """Write the JUnit XML report for ``results`` to ``path`` atomically."""
    atomic_write(Path(path), render_junit(results))
