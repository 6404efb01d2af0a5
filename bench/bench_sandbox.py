"""Cost of one strong-sandbox job: set-up and tear-down, and a sandboxed ``python -c 'import numpy'``.

    python bench/bench_sandbox.py [--repeat 10]

Prints the median of each, and the same Python started without a sandbox as the baseline measured
in the same run (ratios, not absolute times, are comparable across machines). Run it as root for
the strong level with its own uids, as an ordinary user for the rootless strong level.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from grader.core.config import Limits
from grader.sandbox import jobs, levels

CODE = "import numpy"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=10)
    args = ap.parse_args()
    level = levels.select_sandbox()
    if not level.strong:
        print(f"strong sandbox unavailable here ({', '.join(level.missing)})", file=sys.stderr)
        return 1
    limits = Limits()
    setup, run, bare = [], [], []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        with jobs.job(level, limits) as job:
            t1 = time.perf_counter()
            subprocess.run(
                [*job.kernel_prefix, sys.executable, "-I", "-c", CODE],
                cwd=job.workdir, env=job.kernel_env, check=True,
            )  # fmt: skip
            t2 = time.perf_counter()
        t3 = time.perf_counter()
        setup.append((t1 - t0) + (t3 - t2))
        run.append(t2 - t1)
        t4 = time.perf_counter()
        subprocess.run([sys.executable, "-I", "-c", CODE], check=True)
        bare.append(time.perf_counter() - t4)
    med = statistics.median
    name = getattr(level, "name", level.level)
    print(f"level: {name}  (median of {args.repeat})")
    print(f"job set-up + tear-down     {med(setup) * 1000:7.1f} ms")
    print(f"sandboxed python (numpy)   {med(run) * 1000:7.1f} ms")
    print(f"bare python (numpy)        {med(bare) * 1000:7.1f} ms   (baseline)")
    print(f"sandboxed / bare           {med(run) / med(bare):7.2f}x")
    print(f"whole job / bare           {(med(setup) + med(run)) / med(bare):7.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
