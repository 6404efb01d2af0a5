"""A GitHub-flavoured Markdown summary (for ``$GITHUB_STEP_SUMMARY`` or a PR comment).

Notebook names and messages come from students: they are escaped so a name like
``x|y<script>`` cannot break the table or inject HTML into the job summary.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from grader.core.models import GradeResult, Status
from grader.render.gradebook import reason

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")
_ICON = {
    Status.PASSED: "✅",
    Status.FAILED: "❌",
    Status.ERROR: "💥",
    Status.TIMEOUT: "⏱️",
    Status.MISSING: "➖",
}


def escape(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return _MD_SPECIAL.sub(r"\\\1", text)


def render_markdown(results: Sequence[GradeResult], *, names: Sequence[str], title: str) -> str:
    """A Markdown summary (CI step summaries): one column per exercise of ``names``."""
    graded = [r for r in results if r.status == "graded"]
    passed = sum(r.passed for r in results)
    lines = [
        f"## {title} grades",
        "",
        f"{len(results)} notebook(s): {passed} fully passed, "
        f"{len(graded) - passed} with points lost, {len(results) - len(graded)} not gradable.",
        "",
        "| notebook | score | status | " + " | ".join(f"`{n}`" for n in names) + " |",
        "|---|---:|---|" + "---|" * len(names),
    ]
    for r in results:
        if r.status == "graded":
            cells = []
            for name in names:
                try:
                    ex = r.exercise(name)
                except KeyError:
                    cells.append("")
                    continue
                cells.append(f"{_ICON[ex.status]} {ex.score:g}")
            status = "passed" if r.passed else "graded"
            score = f"{r.score:g}/{r.max_score:g}"
        else:
            cells, status, score = [""] * len(names), "invalid", "—"
        lines.append(f"| {escape(r.notebook)} | {score} | {status} | " + " | ".join(cells) + " |")
    problems = [r for r in results if not r.passed]
    if problems:
        lines += ["", "<details><summary>Why points were lost</summary>", ""]
        lines += [f"- **{escape(r.notebook)}**: {escape(reason(r), 500)}" for r in problems]
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"
