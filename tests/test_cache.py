"""Result cache: keys change with every input that can change a grade; writes are atomic."""

from __future__ import annotations

import dataclasses
import gzip
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader.batch.cache import ResultCache, cache_key
from grader.core.config import GradingConfig, Limits
from grader.core.fileio import atomic_write
from grader.core.models import ExerciseResult, GradeResult, Status

BASE = {"golden_id": "g1", "config": GradingConfig(), "version": "1.0"}


def _result(score: float = 15.0) -> GradeResult:
    ex = ExerciseResult("rnn_cell_forward", Status.PASSED if score else Status.FAILED, score, 15.0)
    return GradeResult("a.ipynb", "graded", None, score, 15.0, exercises=(ex,))


_KEY_IN_A_FRESH_PROCESS = """
import sys
from grader.batch.cache import cache_key
from grader.core.config import GradingConfig, Limits
from tests.shipped import NAMES
points = {n: float(i + 1) for i, n in enumerate(NAMES)}  # the other insertion order
config = GradingConfig(points=points, limits=Limits(call_timeout=7.0))
print(cache_key(b"nb", golden_id="g1", config=config, version="1.0"))
"""


@pytest.mark.parametrize("hash_seed", ["0", "12345"])
def test_key_is_stable_across_processes(hash_seed: str) -> None:
    """A resumed batch runs in a new process: equal inputs must give the same key there, whatever
    the hash seed and however the config's dicts were built."""
    from tests.shipped import NAMES

    points = {n: float(i + 1) for i, n in enumerate(NAMES)}
    here = cache_key(
        b"nb",
        golden_id="g1",
        config=GradingConfig(points=dict(reversed(list(points.items()))),
                             limits=Limits(call_timeout=7.0)),
        version="1.0",
    )  # fmt: skip
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    there = subprocess.run(
        [sys.executable, "-c", _KEY_IN_A_FRESH_PROCESS],
        capture_output=True, text=True, env=env, check=True, timeout=120,
    ).stdout.strip()  # fmt: skip
    assert there == here
    assert len(here) == 64 and int(here, 16) >= 0  # a hex sha256


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"golden_id": "g2"}, id="golden"),
        pytest.param({"version": "1.1"}, id="version"),
        pytest.param({"config": GradingConfig(limits=Limits(call_timeout=3))}, id="limits"),
        pytest.param(
            {"config": GradingConfig(points={**GradingConfig().points, "rnn_forward": 99})},
            id="points",
        ),
    ],
)
def test_key_changes_with_each_input(change: dict[str, object]) -> None:
    assert cache_key(b"nb", **{**BASE, **change}) != cache_key(b"nb", **BASE)  # type: ignore[arg-type]


def test_key_changes_with_notebook_bytes() -> None:
    assert cache_key(b"nb ", **BASE) != cache_key(b"nb", **BASE)


def test_put_get_roundtrip_and_miss(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path / "c")
    key = cache_key(b"x", **BASE)
    assert cache.get(key) is None and key not in cache
    cache.put(key, _result())
    assert cache.get(key) == _result()
    assert key in cache


def test_corrupt_entry_is_a_miss(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path)
    key = cache_key(b"x", **BASE)
    cache.put(key, _result())
    entry = next(tmp_path.iterdir())
    entry.write_bytes(entry.read_bytes()[:20])  # truncated gzip
    assert cache.get(key) is None
    entry.write_bytes(gzip.compress(b'{"result": 3}'))
    assert cache.get(key) is None


def test_keys_cannot_escape_the_cache_dir(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path / "c")
    (tmp_path / "x.json.gz").write_bytes(gzip.compress(b'{"result": {}}'))
    assert cache.get("../x") is None
    with pytest.raises(ValueError):
        cache.put("../x", _result())


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "f.json"
    atomic_write(target, "old")
    atomic_write(target, b"new")
    assert target.read_bytes() == b"new"
    assert os.listdir(target.parent) == ["f.json"]


def test_atomic_write_failure_keeps_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "f.txt"
    atomic_write(target, "old")

    def boom(*a: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, "new")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["f.txt"]


def test_cached_result_keeps_every_field(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path)
    rich = dataclasses.replace(_result(0.0), duration=2.5, golden="g1", sandbox_missing=("uid",))
    cache.put("abc", rich)
    got = cache.get("abc")
    assert got is not None and got.to_dict() == rich.to_dict()
