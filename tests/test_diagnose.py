"""The mistake catalogue: every entry is recognised from its own outputs, and nothing else is."""

from __future__ import annotations

import copy
import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import solutions.rnn as solutions
from grader.assignment import golden
from grader.core.errors import GoldenError
from grader.core.models import ErrorInfo
from grader.judge import diagnose
from grader.judge.equality import equal
from grader.wire import codec as plain
from solutions.rnn.mistakes import MISTAKES, Mistake

RTOL, ATOL = golden.DEFAULT_RTOL, golden.DEFAULT_ATOL


@pytest.fixture(scope="module")
def gold() -> golden.Golden:
    return golden.default()


@pytest.fixture(scope="module")
def catalogue(gold: golden.Golden, tmp_path_factory: pytest.TempPathFactory) -> diagnose.Catalogue:
    out = tmp_path_factory.mktemp("variants")
    diagnose.write_variants(
        out,
        [c for cs in gold.cases.values() for c in cs],
        mistakes=MISTAKES,
        skip=frozenset(c.id for c in gold.assignment.cases if not c.diagnose),
        rtol=RTOL,
        atol=ATOL,
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


@pytest.fixture(scope="module")
def committed() -> tuple[golden.Golden, diagnose.Catalogue]:
    """The golden set and catalogue committed in golden/ (what a checkout grades with)."""
    path = Path(__file__).resolve().parents[1] / "golden" / "rnn"
    return golden.load(path), diagnose.load_catalogue(path)


@pytest.mark.parametrize("mistake", MISTAKES, ids=[m.id for m in MISTAKES])
def test_each_mistake_is_diagnosed_by_the_committed_catalogue(
    mistake: Mistake, committed: tuple[golden.Golden, diagnose.Catalogue]
) -> None:
    gold_c, catalogue_c = committed
    assert [v.id for v in catalogue_c.variants] == [m.id for m in MISTAKES], (
        "golden/variants.* is stale: run `grade golden build`"
    )
    outputs = student_outputs(mistake.run, gold_c.for_exercise(mistake.exercise))
    found = diagnose.diagnose(mistake.exercise, outputs, catalogue_c, gold_c.rtol, gold_c.atol)
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
    not_exercises = {"sigmoid", "softmax", "make_args", "MISTAKES", "notebook"}
    assert {m.exercise for m in MISTAKES} == set(solutions.__all__) - not_exercises
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
        not equal(va.outputs[cid], vb.outputs[cid], diagnose.RULES, RTOL, ATOL)
        for cid in va.outputs
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
    diagnose.write_variants(
        tmp_path, gold.for_exercise("rnn_cell_backward"), mistakes=MISTAKES, rtol=RTOL, atol=ATOL
    )
    (tmp_path / diagnose.NPZ_NAME).write_bytes(b"not a zip")
    with pytest.raises(GoldenError, match="rebuild"):
        diagnose.load_catalogue(tmp_path)


def test_build_refuses_a_mistake_equal_to_the_reference(
    tmp_path: Path, gold: golden.Golden, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_op = Mistake(
        "rnn_cell_backward.no_op", "rnn_cell_backward", "t", "e", "f", solutions.rnn_cell_backward
    )
    with pytest.raises(GoldenError, match=r"no_op.*every golden case"):
        diagnose.write_variants(
            tmp_path,
            gold.for_exercise("rnn_cell_backward"),
            mistakes=(no_op,),
            rtol=RTOL,
            atol=ATOL,
        )


def test_build_is_deterministic(tmp_path: Path, gold: golden.Golden) -> None:
    cases = gold.for_exercise("lstm_forward")
    for sub in ("a", "b"):
        diagnose.write_variants(tmp_path / sub, cases, mistakes=MISTAKES, rtol=RTOL, atol=ATOL)
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


# ---------------------------------------------------------------------------------------------
# Evidence: probes, per-step comparison and the source, beyond the catalogue.
# Each kind fires on its mistake and stays silent on correct code in several styles.

from grader.stages.extract import extract_sources  # noqa: E402
from tests.notebooks import IMPORTS, function_sources, mutate  # noqa: E402
from tests.shipped import (  # noqa: E402
    BY_NAME,
    HELPERS,
    NAMES,
)
from tests.test_pipeline import STYLES  # noqa: E402

SRC = function_sources()
TEST_CELL = (
    "np.random.seed(1)\nxt_tmp = np.random.randn(3, 10)\na_prev_tmp = np.random.randn(5, 10)\n"
    "c_prev_tmp = np.random.randn(5, 10)\na0_tmp = np.random.randn(5, 10)\n"
    "parameters_tmp = {'Waa': np.random.randn(5, 5), 'Wax': np.random.randn(5, 3),\n"
    "                  'Wya': np.random.randn(2, 5), 'ba': np.random.randn(5, 1),\n"
    "                  'by': np.random.randn(2, 1)}\n"
)


def _cells(replace: dict[str, str], extra: str = "") -> list[str]:
    return [IMPORTS, *(replace.get(n, SRC[n]) for n in NAMES), *([extra] if extra else [])]


def _run_program(cells: list[str]) -> dict[str, Any]:
    import sys

    if str(HELPERS) not in sys.path:
        sys.path.insert(0, str(HELPERS))
    namespace: dict[str, Any] = {"__name__": "__main__"}
    for i, cell in enumerate(cells):
        exec(compile(cell, f"<cell {i + 1}>", "exec"), namespace)
    return namespace


def _call(fn: Any, args: tuple[Any, ...]) -> Any:
    try:
        return plain.unpack(plain.pack(fn(*copy.deepcopy(args))))
    except Exception as exc:
        return ErrorInfo("exception", f"{type(exc).__name__}: {exc}", type=type(exc).__name__)


def evidence_for(
    exercise: str, replace: dict[str, str], gold: golden.Golden, extra: str = "", *, force: bool
) -> Any:
    """What ``diagnose.evidence`` says about ``exercise`` in this program, as the judge calls it.

    ``force``: treat every case as failed, so every rule looks (correct code must stay silent
    even then); otherwise failed cases are the ones whose output is not the reference's."""
    cells = _cells(replace, extra)
    fn = _run_program(cells)[exercise]
    cases = gold.for_exercise(exercise)
    outputs = {c.id: _call(fn, c.args) for c in cases}
    probes = {c.id: _call(fn, c.args) for c in diagnose.probe_cases(BY_NAME[exercise], cases)}
    failed = frozenset(
        c.id
        for c in cases
        if force
        or isinstance(outputs[c.id], ErrorInfo)
        or not equal(outputs[c.id], c.expected, diagnose.RULES, RTOL, ATOL)
    )
    facts = diagnose.source_facts(extract_sources(list(enumerate(cells)), NAMES)[exercise])
    spec = BY_NAME[exercise]
    return diagnose.evidence(spec, cases, outputs, probes, facts, failed, RTOL, ATOL)


RC, LC, RF, LF = "rnn_forward", "lstm_forward", "rnn_cell_forward", "lstm_cell_forward"
RB, RS, LB, LS = "rnn_cell_backward", "rnn_backward", "lstm_cell_backward", "lstm_backward"

EVIDENCE = [
    # (id, exercise, [(old, new)], notebook cell, expected kind, words the hint must contain)
    ("hard-coded-a", RC, [("a = np.zeros((n_a, m, T_x))", "a = np.zeros((5, 10, T_x))")], "",
     "hard_coded_size", ["hard-codes 5 and 10", "n_a and m"]),
    ("hard-coded-range", RC, [("for t in range(T_x):", "for t in range(4):")], "",
     "hard_coded_size", ["hard-codes 4", "T_x", "x.shape[2]"]),
    ("hard-coded-slices", LB, [(f"W{g}[:, :n_a].T", f"W{g}[:, :5].T") for g in "fico"], "",
     "hard_coded_size", ["hard-codes 5", "n_a"]),
    # `n_gates = 4` (4 is the worked example's T_x) is innocent: the shape on the next line is not
    ("hard-coded-after-innocent-constant", LS,
     [("    da_prevt = np.zeros((n_a, m))\n", "    n_gates = 4\n    da_prevt = np.zeros((n_a, 10))\n")],
     "", "hard_coded_size", ["hard-codes 10", "m"]),
    ("reads-parameters-tmp", RF, [('parameters["', 'parameters_tmp["')] * 5, TEST_CELL,
     "reads_notebook_variable", ["parameters_tmp", "instead of its argument parameters"]),
    ("reads-one-key", RF, [('Wya = parameters["Wya"]', 'Wya = parameters_tmp["Wya"]')], TEST_CELL,
     "reads_notebook_variable", ["parameters_tmp"]),
    ("renamed-argument", RF, [("a_prev: Array, parameters: Params)", "a_prev: Array, params: Params)")],
     TEST_CELL + "parameters = parameters_tmp\n", "reads_notebook_variable",
     ["parameters", "instead of its argument params"]),
    ("reads-a0-tmp", RC, [("    a_next = a0\n", "    a_next = a0_tmp\n")], TEST_CELL,
     "reads_notebook_variable", ["a0_tmp", "a0"]),
    ("constant-outputs", RF, [('    Wax = parameters["Wax"]',
                              '    xt, a_prev, parameters = xt_tmp, a_prev_tmp, parameters_tmp\n'
                              '    Wax = parameters["Wax"]')], TEST_CELL,
     "ignores_inputs", ["do not depend on its inputs"]),
    ("c-from-a0", LC, [("    c_next = np.zeros((n_a, m))\n", "    c_next = a0\n")], "",
     "initial_cell_state", ["cell state starts from a0"]),
    ("a-from-zeros", LC, [("    a_next = a0\n", "    a_next = np.zeros((n_a, m))\n")], "",
     "initial_hidden_state", ["starts from zeros instead of a0"]),
    ("c-never-stored", LC, [("        c[:, :, t] = c_next\n", "")], "",
     "never_stored", ["c is zero at every time step", "never stored"]),
    ("dx-never-stored", RS, [("        dx[:, :, t] = dxt\n", "")], "", "never_stored", ["dx"]),
    ("loop-stops-early", LC, [("for t in range(T_x):", "for t in range(T_x - 1):")], "",
     "loop_stops_early", ["zero from t = 6"]),
    ("backward-loop-stops-early", RS, [("for t in reversed(range(T_x)):",
                                       "for t in reversed(range(1, T_x)):")], "",
     "loop_stops_early", ["zero for t < 1"]),
    ("state-not-carried", RC, [("rnn_cell_forward(xt, a_next, parameters)",
                               "rnn_cell_forward(xt, a0, parameters)")], "",
     "state_not_carried", ["right for t = 0 and wrong from t = 1"]),
    ("gradient-not-carried", RS, [("da[:, :, t] + da_prevt, caches[t]", "da[:, :, t], caches[t]")],
     "", "gradient_not_carried", ["right for the last step"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("exercise", "edits", "extra", "kind", "words"),
    [pytest.param(*e[1:], id=e[0]) for e in EVIDENCE],
)
def test_each_evidence_kind_fires_on_its_mistake(
    exercise: str,
    edits: list[tuple[str, str]],
    extra: str,
    kind: str,
    words: list[str],
    gold: golden.Golden,
) -> None:
    src = SRC[exercise]
    for old, new in edits:
        src = mutate(src, old, new)
    found = evidence_for(exercise, {exercise: src}, gold, extra, force=False)
    assert found is not None and found.id == f"evidence.{kind}", found
    for word in words:
        assert word in found.title, (word, found.title)
    assert found.explanation and found.fix


def _correct_programs() -> list[Any]:
    params = [pytest.param("reference", {}, id="reference")]
    params += [pytest.param(style, replace, id=style) for style, replace in sorted(STYLES.items())]
    # a correct function next to the course's test cell (notebook variables it does not read)
    params.append(pytest.param("with-test-cell", {"_extra": TEST_CELL}, id="with-test-cell"))
    return params


@pytest.mark.parametrize(("style", "replace"), _correct_programs())
@pytest.mark.parametrize("force", [False, True], ids=["as-judged", "every-rule-looks"])
def test_evidence_is_silent_on_correct_code(
    style: str, replace: dict[str, str], force: bool, gold: golden.Golden
) -> None:
    replace = dict(replace)
    extra = replace.pop("_extra", "")
    for exercise in NAMES:
        found = evidence_for(exercise, replace, gold, extra, force=force)
        assert found is None, (exercise, found)


@pytest.mark.parametrize("exercise", NAMES)
def test_every_argument_changes_the_reference_outputs(exercise: str, gold: golden.Golden) -> None:
    """So 'an output that does not change means the argument is ignored' never fires on correct
    code: the reference's outputs change with every probe."""
    fn = getattr(solutions, exercise)
    spec = BY_NAME[exercise]
    cases = gold.for_exercise(exercise)
    base = _call(fn, cases[0].args)
    probes = {c.id: _call(fn, c.args) for c in diagnose.probe_cases(BY_NAME[exercise], cases)}
    assert len(probes) == len(spec.args)
    assert diagnose._ignored_args(spec, base, probes, RTOL, ATOL) == []


def test_probes_carry_inputs_only_and_keep_shapes(gold: golden.Golden) -> None:
    cases = gold.for_exercise("lstm_backward")
    probes = diagnose.probe_cases(BY_NAME["lstm_backward"], cases)
    assert [p.id for p in probes] == ["probe.vary.da", "probe.vary.caches"]
    assert all(p.expected is None and p.hidden for p in probes)
    public = cases[0]
    for p in probes:
        _, arrays_p = plain.encode(p.args)
        _, arrays_c = plain.encode(public.args)
        assert [a.shape for a in arrays_p] == [a.shape for a in arrays_c]
    assert not np.allclose(probes[0].args[0], public.args[0])
    assert probes[0].args[1] is public.args[1]  # the other arguments are the worked example's


def test_a_caller_is_only_told_about_its_own_text_when_its_callee_fails(
    gold: golden.Golden,
) -> None:
    # rnn_cell_forward reads parameters_tmp; rnn_forward is correct and calls it: the probe on
    # rnn_forward's parameters sees no change either, but that is the callee's doing.
    broken = SRC[RF].replace('parameters["', 'parameters_tmp["')
    cells = _cells({RF: broken}, TEST_CELL)
    fn = _run_program(cells)[RC]
    cases = gold.for_exercise(RC)
    outputs = {c.id: _call(fn, c.args) for c in cases}
    probes = {c.id: _call(fn, c.args) for c in diagnose.probe_cases(BY_NAME[RC], cases)}
    facts = diagnose.source_facts(extract_sources(list(enumerate(cells)), NAMES)[RC])
    failed = frozenset(c.id for c in cases)
    spec = BY_NAME[RC]
    unblocked = diagnose.evidence(spec, cases, outputs, probes, facts, failed, RTOL, ATOL)
    assert unblocked is not None  # what the evidence alone would (wrongly) say about rnn_forward
    assert (
        diagnose.evidence(spec, cases, outputs, probes, facts, failed, RTOL, ATOL, blocked=True)
        is None
    )
    # ... unless its own text reads a notebook variable named after one of its arguments
    own = SRC[RC].replace("    a_next = a0\n", "    a_next = a0_tmp\n")
    cells = _cells({RF: broken, RC: own}, TEST_CELL)
    facts = diagnose.source_facts(extract_sources(list(enumerate(cells)), NAMES)[RC])
    found = diagnose.evidence(spec, cases, outputs, probes, facts, failed, RTOL, ATOL, blocked=True)
    assert found is not None and "a0_tmp" in found.title


def test_the_hint_says_fix_the_callee_first() -> None:
    diag = diagnose.Variant("x.y", "x", "own title", "", "", {}).diagnosis()
    assert diagnose.compose_hint("rnn_forward", (), None) is None
    assert diagnose.compose_hint("rnn_forward", (), diag) == "own title"
    hint = diagnose.compose_hint("rnn_forward", ("rnn_cell_forward",), None)
    assert hint == (
        "rnn_forward calls your rnn_cell_forward, which does not pass yet: "
        "fix rnn_cell_forward first"
    )
    both = diagnose.compose_hint("rnn_forward", ("rnn_cell_forward",), diag)
    assert both is not None and both.startswith(hint) and both.endswith("own title")


def test_evidence_never_raises_on_garbage(gold: golden.Golden) -> None:
    for exercise in NAMES:
        spec = BY_NAME[exercise]
        cases = gold.for_exercise(exercise)
        for out in (None, 1, "x", (None,) * 4, {"dx": "y"}, plain.Opaque("builtins.object")):
            outputs = {c.id: out for c in cases}
            probes = {p.id: out for p in diagnose.probe_cases(BY_NAME[exercise], cases)}
            failed = frozenset(outputs)
            assert (
                diagnose.evidence(
                    spec, cases, outputs, probes, diagnose.SourceFacts(), failed, RTOL, ATOL
                )
                is None
            )


@pytest.mark.parametrize(
    ("name", "arg", "alike"),
    [("parameters_tmp", "parameters", True), ("a_prev_tmp", "a_prev", True), ("x2", "x", True),
     ("parametersTmp", "parameters", True), ("keys_to_update", "da", False), ("index", "x", False),
     ("n_x", "x", False), ("xt", "x", False), ("parameters", "parameters", False)],
)  # fmt: skip
def test_variable_named_after_an_argument(name: str, arg: str, alike: bool) -> None:
    assert diagnose._named_after(name, arg) is alike
