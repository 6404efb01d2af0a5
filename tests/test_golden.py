"""Golden data: committed arrays match the reference, cover the required shapes, carry no pickle."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from grader.assignment import golden
from grader.assignment.spec import HELPERS_DIR, JSON_NAME
from grader.authoring.build import build
from grader.core.errors import GoldenError
from grader.core.resources import default_source
from tests.shipped import NAMES

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def committed() -> golden.Golden:
    return golden.load(ROOT / "golden" / "rnn")


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> golden.Golden:
    return build(default_source(), out=tmp_path_factory.mktemp("golden"), seed=0, stub=False)


def _assert_same(a: object, b: object, where: str) -> None:
    if isinstance(b, np.ndarray):
        assert isinstance(a, np.ndarray) and a.shape == b.shape and a.dtype == b.dtype, where
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14, err_msg=where)
    elif isinstance(b, (tuple, list)):
        assert type(a) is type(b) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_same(x, y, f"{where}[{i}]")
    elif isinstance(b, dict):
        assert isinstance(a, dict) and list(a) == list(b), where
        for k in b:
            _assert_same(a[k], b[k], f"{where}[{k!r}]")
    else:
        assert a == b, where


def test_committed_golden_matches_the_reference(
    committed: golden.Golden, fresh: golden.Golden
) -> None:
    """Drift test: if this fails, run `grade golden build` and commit golden/."""
    for name in NAMES:
        old, new = committed.for_exercise(name), fresh.for_exercise(name)
        assert [c.id for c in old] == [c.id for c in new], "run `grade golden build`"
        for a, b in zip(old, new, strict=True):
            assert (a.hidden, a.dims, a.label) == (b.hidden, b.dims, b.label)
            _assert_same(a.args, b.args, f"{name}/{a.id}/args (run `grade golden build`)")
            _assert_same(
                a.expected, b.expected, f"{name}/{a.id}/expected (run `grade golden build`)"
            )


def test_committed_spec_helpers_and_stub_match_their_source(
    committed: golden.Golden, fresh: golden.Golden
) -> None:
    """Drift test for the built spec, helper modules and stub copy (run `grade build exercises/rnn`)."""
    source = default_source()
    assert (committed.path / JSON_NAME).read_bytes() == (fresh.path / JSON_NAME).read_bytes()
    assert committed.assignment == fresh.assignment
    helpers = sorted(p.name for p in (committed.path / HELPERS_DIR).glob("*.py"))
    assert helpers == sorted(committed.assignment.helpers)
    for name in helpers:
        assert (committed.path / HELPERS_DIR / name).read_bytes() == (source / name).read_bytes()
    stub = (source / committed.assignment.notebook).read_bytes()
    assert (committed.path / golden.STUB_NAME).read_bytes() == stub


def test_public_cases_reproduce_published_values(committed: golden.Golden) -> None:
    # Values from shared/course_expected.md: the public case is the course's own example.
    rnn = committed.for_exercise("rnn_cell_forward")[0].expected
    np.testing.assert_allclose(rnn[0][4][:3], [0.59584544, 0.18141802, 0.61311866], atol=1e-8)
    lstm = committed.for_exercise("lstm_forward")[0].expected
    assert lstm[0][4][3][6] == pytest.approx(0.1721177675329167, abs=1e-12)
    back = committed.for_exercise("lstm_backward")[0].expected
    assert back["dbo"][4][0] == pytest.approx(-0.17958196207090732, abs=1e-12)
    assert back["dx"].shape == (3, 10, 4)  # T_x comes from da, not from the 7 forward steps


@pytest.mark.parametrize("name", NAMES)
def test_hidden_cases_cover_the_required_shapes(committed: golden.Golden, name: str) -> None:
    cases = committed.for_exercise(name)
    hidden = [c for c in cases if c.hidden]
    assert cases[0].id == "public" and not cases[0].hidden
    assert len(hidden) >= 5
    assert any(c.dims["m"] == 1 for c in hidden)
    assert any(len({c.dims["n_x"], c.dims["n_a"], c.dims["n_y"]}) == 3 for c in hidden)
    assert any(c.dims["n_a"] >= 32 for c in hidden)
    if "cell" not in name:
        assert any(c.dims["T_x"] == 1 for c in hidden)
        assert any(c.dims["n_a"] >= 32 and c.dims["T_x"] >= 20 for c in hidden)


def test_golden_files_hold_no_pickle(committed: golden.Golden) -> None:
    for part in ("inputs", "expected"):
        with zipfile.ZipFile(committed.path / f"{part}.npz") as zf:
            for info in zf.infolist():
                header = zf.read(info.filename)[:200]
                assert b"'O'" not in header and b"|O" not in header, info.filename
        with np.load(committed.path / f"{part}.npz", allow_pickle=False) as npz:
            assert all(npz[k].dtype.kind in "fiub" for k in npz.files)
    json.loads((committed.path / "manifest.json").read_text())


def test_private_seed_gives_other_hidden_cases(tmp_path: Path, committed: golden.Golden) -> None:
    private = build(default_source(), out=tmp_path, seed=12345, stub=False)
    a = committed.for_exercise("rnn_cell_forward")
    b = private.for_exercise("rnn_cell_forward")
    np.testing.assert_array_equal(a[0].args[0], b[0].args[0])  # the public example is the course's
    assert not np.allclose(a[1].args[0], b[1].args[0])
    assert private.id != committed.id


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        pytest.param(lambda d: None, "no manifest.json", id="empty-dir"),
        pytest.param(lambda d: (d / "manifest.json").write_text("{"), "unreadable", id="bad-json"),
        pytest.param(
            lambda d: (d / "manifest.json").write_text('{"format": 99}'), "unreadable", id="no-npz"
        ),
    ],
)
def test_load_errors_are_one_line(tmp_path: Path, setup, message: str) -> None:  # type: ignore[no-untyped-def]
    setup(tmp_path)
    with pytest.raises(GoldenError, match=message) as err:
        golden.load(tmp_path)
    assert "\n" not in str(err.value)


def _variant_arrays(path: Path) -> dict[str, np.ndarray]:
    """Every stored output of the catalogue, aliases resolved: which keys share storage depends on
    bit equality, which another numpy, BLAS or CPU may not reproduce."""
    doc = json.loads((path / "variants.json").read_text())
    with np.load(path / "variants.npz", allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    arrays.update({key: arrays[target] for key, target in doc["aliases"].items()})
    return arrays


def test_committed_diagnosis_variants_match_the_catalogue(
    committed: golden.Golden, fresh: golden.Golden
) -> None:
    """Drift test for golden/variants.*: if this fails, run `grade golden build` and commit."""
    old = json.loads((committed.path / "variants.json").read_text())
    new = json.loads((fresh.path / "variants.json").read_text())
    assert old["mistakes"] == new["mistakes"], "run `grade golden build`"
    a, b = _variant_arrays(committed.path), _variant_arrays(fresh.path)
    assert sorted(a) == sorted(b), "run `grade golden build`"
    for key in a:
        np.testing.assert_allclose(a[key], b[key], rtol=1e-12, atol=1e-14, err_msg=key)


def test_read_npz_gives_what_np_load_gives(tmp_path: Path) -> None:
    from grader.assignment.golden import read_npz, write_npz
    from grader.core.resources import default_golden

    for part in ("inputs", "expected", "variants"):
        path = default_golden() / f"{part}.npz"
        fast = read_npz(path.read_bytes())
        with np.load(path, allow_pickle=False) as npz:
            slow = {k: npz[k] for k in npz.files}
        assert fast.keys() == slow.keys()
        for key, arr in slow.items():
            assert fast[key].dtype == arr.dtype and fast[key].shape == arr.shape, key
            np.testing.assert_array_equal(fast[key], arr)
    # Layouts and dtypes the shipped set may not hold, and arrays that are written to later.
    odd = {
        "f": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
        "b": np.array([True, False]),
        "s": np.array(1.5, dtype=np.float32),
        "e": np.zeros((0, 4), dtype=np.int16),
        "u": np.array(["ab", "c"]),
    }
    write_npz(tmp_path / "odd.npz", odd)
    back = read_npz((tmp_path / "odd.npz").read_bytes())
    with np.load(tmp_path / "odd.npz", allow_pickle=False) as npz:
        odd = {k: npz[k] for k in npz.files}
    for key, arr in odd.items():
        assert back[key].dtype == arr.dtype and back[key].shape == arr.shape, key
        np.testing.assert_array_equal(back[key], arr)
        assert back[key].flags.writeable
    with pytest.raises(ValueError, match="npz"):
        read_npz(b"not a zip file")
