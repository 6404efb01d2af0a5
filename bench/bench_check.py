"""Time of ``grader.check()`` inside a real kernel: the first call (starts the grading process)
and the later ones, for one exercise and for all eight.

    python bench/bench_check.py [--repeat 5]

Prints medians. Baseline, measured in the same run: a fresh ``python -I -c "import numpy"`` (the
least any separate process that judges student code costs), and the course's public test of the
same exercise (``rnn_forward_test``, in-kernel: what students already run in that cell).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from grader.authoring.stubgen import render_solved
from grader.sandbox.workdir import prepare_workdir

TIMING = """\
import json, statistics, time, grader
def timed(fn, n):
    out = []
    for _ in range(n):
        t = time.perf_counter(); fn(); out.append(time.perf_counter() - t)
    return out
first = timed(lambda: grader.check("rnn_forward"), 1)[0]
one = timed(lambda: grader.check("rnn_forward"), {n})
every = timed(lambda: grader.check(), {n})
public = timed(lambda: rnn_forward_test(rnn_forward), {n})
print("BENCH " + json.dumps({{"first": first, "one": statistics.median(one),
      "all": statistics.median(every), "public": statistics.median(public)}}))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    nb = render_solved()
    nb.cells.append(nbformat.v4.new_code_cell(TIMING.format(n=args.repeat)))
    with tempfile.TemporaryDirectory() as tmp:
        prepare_workdir(Path(tmp))
        NotebookClient(nb, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": tmp}}).execute()  # fmt: skip
    floor = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-I", "-c", "import numpy"], check=True)
        floor.append(time.perf_counter() - t)
    base = statistics.median(floor)
    out = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    got = json.loads(out.split("BENCH ", 1)[1].splitlines()[0])
    print(f"median of {args.repeat}")
    print(f"python -I -c 'import numpy'      {base * 1000:7.0f} ms   (baseline)")
    print(f"public test of rnn_forward       {got['public'] * 1000:7.1f} ms")
    print(f"check('rnn_forward'), first call {got['first'] * 1000:7.0f} ms")
    print(f"check('rnn_forward'), later      {got['one'] * 1000:7.0f} ms"
          f"   ({got['one'] / base:.1f}x the baseline)")  # fmt: skip
    print(f"check() all eight, later         {got['all'] * 1000:7.0f} ms"
          f"   ({got['all'] / base:.1f}x the baseline, {got['all'] / 8 * 1000:.0f} ms per exercise)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
