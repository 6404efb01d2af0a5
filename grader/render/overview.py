"""The class overview page (``index.html`` of ``grade batch``).

Self-contained: one HTML file with inline CSS and inline SVG, no JavaScript, no CDN, so it can be
opened from a zip or an LMS attachment. Everything student-controlled goes through jinja2's
autoescape; links are relative to the output directory.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import jinja2

from grader.core.fileio import atomic_write
from grader.core.models import Diagnosis, GradeResult, Status
from grader.core.resources import data_dir, version
from grader.render.gradebook import reason
from grader.stages.integrity import Flag

TEMPLATE = "overview.html.j2"
BINS = 10


@dataclass(frozen=True)
class Row:
    """One graded notebook as the overview shows it."""

    file: str  #: path relative to the batch directory
    report: str  #: href of its HTML report, relative to the overview
    json: str  #: href of its JSON result
    result: GradeResult


def _histogram(rows: Sequence[Row]) -> list[dict[str, Any]]:
    counts = [0] * BINS
    for row in rows:
        r = row.result
        if r.status == "graded" and r.max_score > 0:
            frac = min(max(r.score / r.max_score, 0.0), 1.0)
            counts[min(int(frac * BINS), BINS - 1)] += 1
    top = max(counts) or 1
    width, height, gap = 48, 160, 6
    bars = []
    for i, c in enumerate(counts):
        h = round(height * c / top)
        lo, hi = i * 100 // BINS, (i + 1) * 100 // BINS
        bars.append(
            {
                "x": i * (width + gap) + 30,
                "y": 10 + height - h,
                "w": width,
                "h": h,
                "count": c,
                "label": f"{lo}–{hi}%" if i < BINS - 1 else f"{lo}–100%",
            }
        )
    return bars


def _exercise_stats(rows: Sequence[Row], names: Sequence[str]) -> list[dict[str, Any]]:
    graded = [r.result for r in rows if r.result.status == "graded"]
    stats = []
    for name in names:
        counts: Counter[str] = Counter()
        for res in graded:
            try:
                counts[res.exercise(name).status.value] += 1
            except KeyError:
                counts["missing"] += 1
        total = len(graded)
        rate = counts["passed"] / total if total else 0.0
        stats.append({"name": name, "rate": rate, "pct": round(100 * rate), "counts": counts,
                      "total": total})  # fmt: skip
    return stats


def _mistakes(rows: Sequence[Row], limit: int = 12) -> list[dict[str, Any]]:
    """The most common named mistakes: catalogue entries and evidence findings alike, counted by
    id (a finding's title names the student's own line, so it differs between notebooks)."""
    seen: Counter[tuple[str, str]] = Counter()
    first: dict[tuple[str, str], Diagnosis] = {}
    for row in rows:
        for ex in row.result.exercises:
            diag = ex.diagnosis or ex.finding
            if diag is not None:
                key = (ex.name, diag.id)
                seen[key] += 1
                first.setdefault(key, diag)
    return [
        {"exercise": ex, "title": first[(ex, i)].title, "count": n, "fix": first[(ex, i)].fix}
        for (ex, i), n in seen.most_common(limit)
    ]


def _sandboxes(rows: Sequence[Row]) -> list[dict[str, Any]]:
    """Each isolation level the class was graded at, with what it lacked and how many notebooks."""
    seen = Counter(
        (r.result.sandbox, r.result.sandbox_missing) for r in rows if r.result.status == "graded"
    )
    return [
        {"level": level, "missing": missing, "count": n, "weak": level in ("basic", "portable")}
        for (level, missing), n in seen.most_common()
    ]


def render_overview(
    rows: Sequence[Row], *, names: Sequence[str], title: str, flags: Sequence[Flag] = ()
) -> str:
    """The class overview page: ``names`` are the assignment's exercises, ``title`` its title."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(data_dir("templates"))),
        autoescape=True,
        undefined=jinja2.StrictUndefined,  # a template typo fails tests, not silently renders ""
    )
    graded = [r for r in rows if r.result.status == "graded"]
    scores = sorted(r.result.score / r.result.max_score for r in graded if r.result.max_score)
    links = {r.file: r.report for r in rows}
    return env.get_template(TEMPLATE).render(
        title=title,
        rows=rows,
        n=len(rows),
        n_graded=len(graded),
        n_passed=sum(r.result.passed for r in rows),
        median=round(100 * scores[len(scores) // 2]) if scores else None,
        bars=_histogram(rows),
        exercises=_exercise_stats(rows, names),
        mistakes=_mistakes(rows),
        invalid=[r for r in rows if r.result.status != "graded"],
        timeouts=[
            (r, [e.name for e in r.result.exercises if e.status is Status.TIMEOUT])
            for r in graded
            if any(e.status is Status.TIMEOUT for e in r.result.exercises)
        ],
        flags=[
            {"members": [(m, links.get(m)) for m in f.members], "exercises": f.exercises}
            for f in flags
        ],
        reason=reason,
        names=names,
        sandboxes=_sandboxes(rows),
        version=version(),
        generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    )


def write_overview(
    rows: Sequence[Row],
    path: Path,
    *,
    names: Sequence[str],
    title: str,
    flags: Sequence[Flag] = (),
) -> None:
    atomic_write(Path(path), render_overview(rows, names=names, title=title, flags=flags))
