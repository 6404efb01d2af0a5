"""``grade gradescope-bundle OUT.zip``: the autograder zip to upload to Gradescope.

The zip holds ``setup.sh`` (installs Python dependencies and this package from a wheel built
from the checkout), ``run_autograder`` (grades the submitted notebook and *always* leaves
``results.json``), the wheel, and optionally a private golden set and a config.

``run_autograder`` reads its locations from the environment so it can be tested outside the
Gradescope image: ``RNN_GRADER_SUBMISSION``, ``RNN_GRADER_RESULTS``, ``RNN_GRADER_SOURCE``,
``RNN_GRADER_CMD`` (the grade command, default ``grade``) and ``RNN_GRADER_PYTHON``.
"""

from __future__ import annotations

import importlib.util
import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from grader.core.errors import GraderError, UsageError

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once when building the autograder image (as root, in /autograder/source).
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v python3 >/dev/null || ! python3 -m pip --version >/dev/null 2>&1; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3 python3-pip
fi
python3 -m pip install --upgrade pip
# The wheel pulls numpy, nbformat, nbclient, ipykernel and jinja2 from PyPI.
python3 -m pip install ./rnn_grader-*.whl
python3 -c "import grader, nbclient, ipykernel; print('rnn-grader installed')"
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission. Whatever happens, results.json is left behind:
# a student must see why they got 0, never "the autograder failed to produce output".
set -u
SUBMISSION="${RNN_GRADER_SUBMISSION:-/autograder/submission}"
RESULTS="${RNN_GRADER_RESULTS:-/autograder/results}"
SOURCE="${RNN_GRADER_SOURCE:-/autograder/source}"
PY="${RNN_GRADER_PYTHON:-python3}"
read -r -a GRADE <<< "${RNN_GRADER_CMD:-grade}"
OUT="$RESULTS/results.json"
mkdir -p "$RESULTS"
rm -f "$OUT"

LAST_RESORT='{"score": 0.0, "execution_time": 0.0, "tests": [], "output":
 "The autograder could not grade this submission; please tell your instructor."}'
fail() {  # write a zero-score results.json that says why
    "$PY" - "$OUT" "$1" <<'PYEOF' || printf '%s\\n' "$LAST_RESORT" > "$OUT"
import sys
from grader.render.gradescope import write_gradescope
write_gradescope(None, sys.argv[1], error=sys.argv[2])
PYEOF
}

mapfile -t NOTEBOOKS < <(find "$SUBMISSION" -type f -name '*.ipynb' \\
    -not -path '*/.ipynb_checkpoints/*' -not -path '*/__MACOSX/*' | sort)
if [ "${#NOTEBOOKS[@]}" -eq 0 ]; then
    fail "no .ipynb file was found in your submission; upload the notebook file itself"
    exit 0
fi
if [ "${#NOTEBOOKS[@]}" -gt 1 ]; then
    names=$(printf '%s, ' "${NOTEBOOKS[@]##*/}")
    fail "your submission holds ${#NOTEBOOKS[@]} notebooks (${names%, }); upload only one"
    exit 0
fi

EXTRA=()
[ -f "$SOURCE/config.toml" ] && EXTRA+=(--config "$SOURCE/config.toml")
[ -f "$SOURCE/golden/manifest.json" ] && EXTRA+=(--golden "$SOURCE/golden")
"${GRADE[@]}" "${NOTEBOOKS[0]}" --gradescope "$OUT" --no-html "${EXTRA[@]}"
code=$?
# Exit 0/1 are grades; anything else is a failure, but results.json may still be fine.
if ! "$PY" -c 'import json, sys; json.load(open(sys.argv[1]))' "$OUT" 2>/dev/null; then
    fail "the grader stopped unexpectedly (exit code $code); please tell your instructor"
fi
exit 0
"""


def _checkout() -> Path:
    root = Path(__file__).resolve().parents[2]
    if not (root / "pyproject.toml").is_file():
        raise UsageError(
            "building the bundle needs a checkout of rnn-grader (pyproject.toml not found next "
            "to the installed package); run it from the repository or pass --wheel FILE"
        )
    return root


def build_wheel(source: Path, out_dir: Path) -> Path:
    """Build this package's wheel from ``source`` (offline when the backend is installed)."""
    cmd = [sys.executable, "-m", "build", "--wheel", "--outdir", str(out_dir), str(source)]
    if importlib.util.find_spec("hatchling") is not None:
        cmd.insert(4, "--no-isolation")  # no download of the build backend
    if importlib.util.find_spec("build") is None:
        cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(out_dir), str(source)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wheels = sorted(out_dir.glob("rnn_grader-*.whl"))
    if proc.returncode != 0 or not wheels:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise GraderError(f"building the wheel failed ({' | '.join(tail)}); try: {' '.join(cmd)}")
    return wheels[-1]


def _add(zf: zipfile.ZipFile, name: str, data: bytes, mode: int) -> None:
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.external_attr = (0o100000 | mode) << 16  # regular file + permissions (unzip honours)
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, data)


def build_bundle(
    out: Path,
    *,
    wheel: Path | None = None,
    golden: Path | None = None,
    config: Path | None = None,
) -> Path:
    """Write the Gradescope autograder zip to ``out`` (atomically) and return it."""
    with tempfile.TemporaryDirectory(prefix="rnn-grader-bundle-") as tmp:
        whl = wheel or build_wheel(_checkout(), Path(tmp))
        if not whl.is_file():
            raise UsageError(f"--wheel {whl}: no such file")
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            _add(zf, "setup.sh", SETUP_SH.encode(), 0o755)
            _add(zf, "run_autograder", RUN_AUTOGRADER.encode(), 0o755)
            _add(zf, whl.name, whl.read_bytes(), 0o644)
            from grader.assignment import golden as golden_mod

            # Validate before shipping, against the set the bundle grades with: a config whose
            # [points] name another assignment's exercises would fail every submission.
            used = golden_mod.load(golden) if golden is not None else golden_mod.default()
            if config is not None:
                from grader.core.config import load_config

                load_config(config, used.assignment.names)
                _add(zf, "config.toml", config.read_bytes(), 0o644)
            if golden is not None:
                # every file of the set: the spec, the helper modules, the catalogue, the stub
                for name, data in golden_mod.files(golden).items():
                    _add(zf, f"golden/{name}", data, 0o644)
        from grader.core.fileio import atomic_write

        atomic_write(out, buf.getvalue())
    return out
