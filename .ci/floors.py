"""Print a pip constraints file pinning every runtime dependency to its declared floor.

CI installs the project with these constraints and runs the test suite again, so the lower bounds
in pyproject.toml stay true (``numpy>=1.24`` must mean that numpy 1.24.0 works).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import tomllib

SPEC = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*>=\s*([^,;\s]+)\s*$")


def main() -> int:
    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    deps = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    for dep in deps:
        match = SPEC.match(dep)
        if match is None:
            print(
                f"floors.py: cannot read a floor from {dep!r} (write it as 'name>=X')",
                file=sys.stderr,
            )
            return 2
        print(f"{match[1]}=={match[2]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
