"""The mistake catalogue: every entry is recognised from its own outputs, and nothing else is."""

from __future__ import annotations

import copy
import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import solutions
from grader import diagnose, golden, plain
from grader.errors import GoldenError
from grader.models import ErrorInfo
from solutions.mistakes import MISTAKES, Mistake

RTOL, ATOL = golden.DEFAULT_RTOL, golden.DEFAULT_ATOL


@pytest.fixture(scope="module")
def gold() -> golden.Golden:
    return golden.default()


@pytest.fixture(scope="module")
def catalogue(gold: golden.Golden, tmp_path_factory: pytest.TempPathFactory) -> diagnose.Catalogue:
    out = tmp_path_factory.mktemp("variants")
    diagnose.write_variants(
        out, [c for cs in gold.cases.values() for c in cs], rtol=RTOL, atol=ATOL
    )
    return diagnose.load_catalogue(out)


def student_outputs(fn: Any, cases: tuple[golden.Case, ...]) -> dict[str, Any]:
    """What the judge would hand over: outputs through the wire codec, or Raised."""
    outputs: dict[str, Any] = {}
    for case in cases:
        try:
            result = fn(*copy.deepcopy(case.args))
        except Exception as exc:
            outputs[case.id] = diagnose.Raised(type(exc).__name__, str(exc))
            continue
        outputs[case.id] = plain.unpack(plain.pack(result))
    return outputs


@pytest.mark.parametrize("mistake", MISTAKES, ids=[m.id for m in MISTAKES])
def test_each_mistake_is_diagnosed_as_itself(
    mistake: Mistake, gold: golden.Golden, catalogue: diagnose.Catalogue
) -> None:
    # "large" is included on purpose: the catalogue skips it and must not be confused by it.
    outputs = student_outputs(mistake.run, gold.for_exercise(mistake.exercise))
    found = diagnose.diagnose(mistake.exercise, outputs, catalogue, RTOL, ATOL)
    assert found is not None and found.id == mistake.id
    assert found.title == mistake.title and found.fix == mistake.fix


@pytest.mark.parametrize("exercise", sorted({m.exercise for m in MISTAKES}))
def test_reference_matches_no_mistake(
    exercise: str, gold: golden.Golden, catalogue: diagnose.Catalogue
) -> None:
    outputs = student_outputs(getattr(solutions, exercise), gold.for_exercise(exercise))
    assert diagnose.diagnose(exercise, outputs, catalogue, RTOL, ATOL) is None


def test_catalogue_covers_every_mistake_and_exercise(catalogue: diagnose.Catalogue) -> None:
    assert [v.id for v in catalogue.variants] == [m.id for m in MISTAKES]
    assert {m.exercise for m in MISTAKES} == set(solutions.__all__) - {"sigmoid", "softmax"}
    assert all(m.title and m.explanation and m.fix for m in MISTAKES)


@pytest.mark.parametrize(
    "a, b",
    [
        pytest.param(a, b, id=f"{a.id}~{b.id.split('.')[1]}")
        for a, b in itertools.combinations(MISTAKES, 2)
        if a.exercise == b.exercise
    ],
)
def test_no_two_mistakes_are_indistinguishable(
    a: Mistake, b: Mistake, catalogue: diagnose.Catalogue
) -> None:
    va, vb = (next(v for v in catalogue.variants if v.id == m.id) for m in (a, b))
    assert any(
        not diagnose._same(va.outputs[cid], vb.outputs[cid], RTOL, ATOL) for cid in va.outputs
    )


def test_only_uninformative_cases_give_no_diagnosis(
    gold: golden.Golden, catalogue: diagnose.Catalogue
) -> None:
    # With T_x = 1, "a0 at every step" is the right answer: agreeing there proves nothing.
    mistake = next(m for m in MISTAKES if m.id == "rnn_forward.a0_every_step")
    outputs = student_outputs(mistake.run, gold.for_exercise("rnn_forward"))
    assert diagnose.diagnose("rnn_forward", {"t1": outputs["t1"]}, catalogue, RTOL, ATOL) is None
    found = diagnose.diagnose("rnn_forward", {"m1": outputs["m1"]}, catalogue, RTOL, ATOL)
    assert found is not None and found.id == mistake.id


def test_one_wrong_case_spoils_the_match(
    gold: golden.Golden, catalogue: diagnose.Catalogue
) -> None:
    mistake = next(m for m in MISTAKES if m.id == "rnn_cell_forward.missing_by")
    outputs = student_outputs(mistake.run, gold.for_exercise("rnn_cell_forward"))
    a_next, yt_pred, cache = outputs["distinct"]
    outputs["distinct"] = (a_next, yt_pred + 1e-3, cache)
    assert diagnose.diagnose("rnn_cell_forward", outputs, catalogue, RTOL, ATOL) is None


def test_noise_within_tolerance_still_matches(
    gold: golden.Golden, catalogue: diagnose.Catalogue
) -> None:
    mistake = next(m for m in MISTAKES if m.id == "rnn_cell_backward.dxt_waa")
    outputs = student_outputs(mistake.run, gold.for_exercise("rnn_cell_backward"))
    noisy = {cid: {k: v * (1 + 1e-9) for k, v in out.items()} for cid, out in outputs.items()}
    found = diagnose.diagnose("rnn_cell_backward", noisy, catalogue, RTOL, ATOL)
    assert found is not None and found.id == mistake.id


def test_containers_tuple_or_list_do_not_matter(
    gold: golden.Golden, catalogue: diagnose.Catalogue
) -> None:
    mistake = next(m for m in MISTAKES if m.id == "rnn_cell_forward.yt_from_a_prev")
    outputs = student_outputs(mistake.run, gold.for_exercise("rnn_cell_forward"))
    as_lists = {cid: list(out) for cid, out in outputs.items()}
    found = diagnose.diagnose("rnn_cell_forward", as_lists, catalogue, RTOL, ATOL)
    assert found is not None and found.id == mistake.id


def test_error_info_from_the_judge_is_matched(
    gold: golden.Golden, catalogue: diagnose.Catalogue
) -> None:
    mistake = next(m for m in MISTAKES if m.id == "rnn_cell_forward.swapped_weights")
    raised = student_outputs(mistake.run, gold.for_exercise("rnn_cell_forward"))
    as_info = {
        cid: ErrorInfo("exception", f"ValueError: {r.message}", type="builtins.ValueError")
        for cid, r in raised.items()
    }
    found = diagnose.diagnose("rnn_cell_forward", as_info, catalogue, RTOL, ATOL)
    assert found is not None and found.id == mistake.id
    timeouts = {cid: ErrorInfo("timeout", "took too long") for cid in raised}
    assert diagnose.diagnose("rnn_cell_forward", timeouts, catalogue, RTOL, ATOL) is None


@pytest.mark.parametrize(
    "outputs",
    [
        pytest.param({}, id="no-cases"),
        pytest.param({"public": None}, id="none"),
        pytest.param({"public": plain.Opaque("builtins.object")}, id="opaque"),
        pytest.param({"public": (np.array(["a"]), 1, 2)}, id="string-array"),
        pytest.param({"public": {"dxt": np.zeros((2, 2))}}, id="wrong-keys"),
        pytest.param({"public": np.zeros((10**2,))}, id="bare-array"),
        pytest.param({"nonexistent": 1.0}, id="unknown-case"),
    ],
)
def test_garbage_is_never_diagnosed_and_never_raises(
    outputs: dict[str, Any], catalogue: diagnose.Catalogue
) -> None:
    for exercise in ("rnn_cell_forward", "rnn_cell_backward", "not_an_exercise"):
        assert diagnose.diagnose(exercise, outputs, catalogue, RTOL, ATOL) is None


def test_foreign_arrays_are_compared_by_their_data(
    gold: golden.Golden, catalogue: diagnose.Catalogue
) -> None:
    mistake = next(m for m in MISTAKES if m.id == "rnn_cell_backward.dtanh_a_prev")
    outputs = student_outputs(mistake.run, gold.for_exercise("rnn_cell_backward"))
    wrapped = {
        cid: {k: plain.ForeignArray("numpy.matrix", v) for k, v in out.items()}
        for cid, out in outputs.items()
    }
    found = diagnose.diagnose("rnn_cell_backward", wrapped, catalogue, RTOL, ATOL)
    assert found is not None and found.id == mistake.id


def test_tie_between_identical_variants_gives_none() -> None:
    out = {"public": np.arange(3.0)}
    twins = tuple(
        diagnose.Variant(f"x.{n}", "x", n, "", "", out, frozenset({"public"})) for n in "ab"
    )
    assert diagnose.diagnose("x", out, diagnose.Catalogue(twins), RTOL, ATOL) is None
    assert diagnose.diagnose("x", out, diagnose.Catalogue(twins[:1]), RTOL, ATOL) is not None


def test_missing_files_give_an_empty_catalogue(tmp_path: Path) -> None:
    assert len(diagnose.load_catalogue(tmp_path)) == 0


def test_corrupt_files_raise_golden_error(tmp_path: Path, gold: golden.Golden) -> None:
    diagnose.write_variants(tmp_path, gold.for_exercise("rnn_cell_backward"), rtol=RTOL, atol=ATOL)
    (tmp_path / diagnose.NPZ_NAME).write_bytes(b"not a zip")
    with pytest.raises(GoldenError, match="rebuild"):
        diagnose.load_catalogue(tmp_path)


def test_build_refuses_a_mistake_equal_to_the_reference(
    tmp_path: Path, gold: golden.Golden, monkeypatch: pytest.MonkeyPatch
) -> None:
    import solutions.mistakes as mistakes

    no_op = Mistake(
        "rnn_cell_backward.no_op", "rnn_cell_backward", "t", "e", "f", solutions.rnn_cell_backward
    )
    monkeypatch.setattr(mistakes, "MISTAKES", (no_op,))
    with pytest.raises(GoldenError, match=r"no_op.*every golden case"):
        diagnose.write_variants(
            tmp_path, gold.for_exercise("rnn_cell_backward"), rtol=RTOL, atol=ATOL
        )


def test_build_is_deterministic(tmp_path: Path, gold: golden.Golden) -> None:
    cases = gold.for_exercise("lstm_forward")
    for sub in ("a", "b"):
        diagnose.write_variants(tmp_path / sub, cases, rtol=RTOL, atol=ATOL)
    for name in (diagnose.JSON_NAME, diagnose.NPZ_NAME):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_lstm_view_alias_variant_really_corrupts_the_first_cache(
    gold: golden.Golden, catalogue: diagnose.Catalogue
) -> None:
    # The mistake the course's tests miss: caches[0]'s c_prev must not be all zeros any more.
    variant = next(v for v in catalogue.variants if v.id == "lstm_forward.c_view")
    c_prev0 = variant.outputs["public"][3][0][0][3]
    assert np.any(c_prev0 != 0)


def _expected(cases: tuple[golden.Case, ...]) -> dict[str, Any]:
    return {c.id: c.expected for c in cases}


def test_a_mistake_made_in_one_line_of_several_is_named(
    gold: golden.Golden, catalogue: diagnose.Catalogue
) -> None:
    """dbf without keepdims, dbi/dbc/dbo right: the catalogue's entry drops keepdims on all four."""

    def dbf_only(da: Any, dc: Any, cache: Any) -> Any:
        grads = solutions.lstm_cell_backward(da, dc, cache)
        grads["dbf"] = grads["dbf"].ravel()
        return grads

    cases = gold.for_exercise("lstm_cell_backward")
    outputs = student_outputs(dbf_only, cases)
    assert diagnose.diagnose("lstm_cell_backward", outputs, catalogue, RTOL, ATOL) is None
    found = diagnose.diagnose(
        "lstm_cell_backward", outputs, catalogue, RTOL, ATOL, _expected(cases)
    )
    assert found is not None and found.id == "lstm_cell_backward.bias_no_keepdims"


def test_two_unrelated_mistakes_get_no_hint(
    gold: golden.Golden, catalogue: diagnose.Catalogue
) -> None:
    def two(da: Any, dc: Any, cache: Any) -> Any:
        grads = solutions.lstm_cell_backward(da, dc, cache)
        grads["dbf"] = grads["dbf"].ravel()  # one catalogued mistake ...
        grads["dWo"] = grads["dWo"] * 2  # ... and one the catalogue does not explain
        return grads

    cases = gold.for_exercise("lstm_cell_backward")
    outputs = student_outputs(two, cases)
    assert (
        diagnose.diagnose("lstm_cell_backward", outputs, catalogue, RTOL, ATOL, _expected(cases))
        is None
    )
