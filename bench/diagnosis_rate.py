"""How often the report names the right mistake, on single-mistake notebooks written as students do.

    python bench/diagnosis_rate.py [-k SUBSTRING]

Each entry below is one textual edit of one function of the reference (the way a student would get
it wrong), with the mistake we expect the hint to name: a catalogue id (``missing_ba``), an
evidence kind (``evidence.hard_coded_size``: probes, per-step comparison, the source), or None for
mistakes nothing should claim to know (there any hint is a wrong hint). The edits are independent
of solutions/rnn/mistakes.py and grader/judge/diagnose.py: they are the test. Every notebook goes through the
full pipeline. Reported separately: catalogued mistakes, uncatalogued ones, wrong hints, callers
told a mistake of their own when only the function they call is wrong, and hints on correct
notebooks (the reference and the correct styles of tests/test_pipeline.py).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.core.models import ExerciseResult, Status  # noqa: E402
from grader.pipeline import grade_notebook  # noqa: E402
from tests.notebooks import function_sources, mutate, submission, write  # noqa: E402
from tests.shipped import BY_NAME, NAMES  # noqa: E402

RF, RC = "rnn_cell_forward", "rnn_forward"
LF, LC = "lstm_cell_forward", "lstm_forward"
RB, RS = "rnn_cell_backward", "rnn_backward"
LB, LS = "lstm_cell_backward", "lstm_backward"
BIASES = ("dbf", "dft"), ("dbi", "dit"), ("dbc", "dcct"), ("dbo", "dot")

# (label, exercise, [(old, new), ...], expected mistake id or None)
CASES: list[tuple[str, str, list[tuple[str, str]], str | None]] = [
    ("missing ba", RF, [("np.dot(Wax, xt) + ba)", "np.dot(Wax, xt))")], "missing_ba"),
    ("missing by", RF, [("np.dot(Wya, a_next) + by)", "np.dot(Wya, a_next))")], "missing_by"),
    ("sigmoid for tanh", RF, [("a_next = np.tanh(", "a_next = sigmoid(")], "sigmoid_activation"),
    ("softmax over axis 1", RF, [("yt_pred = softmax(np.dot(Wya, a_next) + by)",
      "z = np.dot(Wya, a_next) + by\n    yt_pred = np.exp(z) / np.sum(np.exp(z), axis=1, keepdims=True)")],
     "softmax_axis1"),
    ("no softmax", RF, [("yt_pred = softmax(np.dot(Wya, a_next) + by)",
                         "yt_pred = np.dot(Wya, a_next) + by")], "no_softmax"),
    ("yt from a_prev", RF, [("softmax(np.dot(Wya, a_next)", "softmax(np.dot(Wya, a_prev)")], "yt_from_a_prev"),
    ("cache order", RF, [("cache = (a_next, a_prev, xt, parameters)", "cache = (a_prev, a_next, xt, parameters)")],
     "cache_swapped"),
    ("cache without parameters", RF, [("cache = (a_next, a_prev, xt, parameters)", "cache = (a_next, a_prev, xt)")],
     "cache_no_parameters"),
    ("Wax/Waa swapped", RF, [("np.dot(Waa, a_prev) + np.dot(Wax, xt)", "np.dot(Wax, a_prev) + np.dot(Waa, xt)")],
     "swapped_weights"),
    ("bias added twice (off-catalogue)", RF, [("+ ba)", "+ 2 * ba)")], None),
    ("a0 reused", RC, [("rnn_cell_forward(xt, a_next, parameters)", "rnn_cell_forward(xt, a0, parameters)")],
     "a0_every_step"),
    ("zeros start", RC, [("    a_next = a0\n", "    a_next = np.zeros((n_a, m))\n")], "zeros_start"),
    ("caches without x", RC, [("    caches = (caches, x)\n    return a, y_pred, caches",
                               "    return a, y_pred, caches")], "caches_bare_list"),
    ("y_pred filled with a", RC, [("y_pred[:, :, t] = yt_pred", "y_pred[:, :, t] = a_next")], "y_from_a"),
    ("concat order", LF, [("np.concatenate((a_prev, xt), axis=0)", "np.concatenate((xt, a_prev), axis=0)")],
     "concat_order"),
    ("gates use each other's weights", LF, [("ft = sigmoid(np.dot(Wf, concat) + bf)", "ft = sigmoid(np.dot(Wi, concat) + bi)"),
                                             ("it = sigmoid(np.dot(Wi, concat) + bi)", "it = sigmoid(np.dot(Wf, concat) + bf)")],
     "gates_swapped"),
    ("gate roles swapped", LF, [("c_next = ft * c_prev + it * cct", "c_next = it * c_prev + ft * cct")],
     "gate_roles_swapped"),
    ("a_next = ot * c_next", LF, [("a_next = ot * np.tanh(c_next)", "a_next = ot * c_next")], "a_next_no_tanh"),
    ("tanh forget gate", LF, [("ft = sigmoid(", "ft = np.tanh(")], "tanh_forget_gate"),
    ("sigmoid candidate", LF, [("cct = np.tanh(", "cct = sigmoid(")], "sigmoid_candidate"),
    ("no forget term", LF, [("c_next = ft * c_prev + it * cct", "c_next = it * cct")], "no_forget_term"),
    ("cache ot before cct", LF, [("ft, it, cct, ot, xt, parameters)\n    return", "ft, it, ot, cct, xt, parameters)\n    return")],
     "cache_reordered"),
    ("output gate uses Wc (off-catalogue)", LF, [("ot = sigmoid(np.dot(Wo, concat) + bo)", "ot = sigmoid(np.dot(Wc, concat) + bo)")], None),
    ("c_next = c[:, :, 0]", LC, [("    c_next = np.zeros((n_a, m))\n", "    c_next = c[:, :, 0]\n")], "c_view"),
    ("c = a", LC, [("    c = np.zeros((n_a, m, T_x))\n", "    c = a\n")], "c_is_a"),
    ("y and c swapped", LC, [("return a, y, c, caches", "return a, c, y, caches")], "y_c_order"),
    ("c reset each step", LC, [("lstm_cell_forward(xt, a_next, c_next, parameters)",
                                "lstm_cell_forward(xt, a_next, np.zeros((n_a, m)), parameters)")], "c_reset"),
    ("a0 reused", LC, [("lstm_cell_forward(xt, a_next, c_next, parameters)", "lstm_cell_forward(xt, a0, c_next, parameters)")],
     "a0_every_step"),
    ("dtanh from a_prev", RB, [("(1 - a_next**2)", "(1 - a_prev**2)")], "dtanh_a_prev"),
    ("dba without keepdims", RB, [("np.sum(dtanh, axis=1, keepdims=True)", "np.sum(dtanh, axis=1)")], "dba_no_keepdims"),
    ("dtanh without da_next", RB, [("dtanh = (1 - a_next**2) * da_next", "dtanh = 1 - a_next**2")], "dtanh_no_da_next"),
    ("dxt with Waa", RB, [("dxt = np.dot(Wax.T, dtanh)", "dxt = np.dot(Waa.T, dtanh)")], "dxt_waa"),
    ("gradients overwritten", RS, [(f'd{w} += gradients["d{w}"]', f'd{w} = gradients["d{w}"]') for w in ("Wax", "Waa", "ba")],
     "overwrite"),
    ("dWax overwritten only", RS, [('dWax += gradients["dWax"]', 'dWax = gradients["dWax"]')], "overwrite"),
    ("da_prev not propagated", RS, [("da[:, :, t] + da_prevt, caches[t]", "da[:, :, t], caches[t]")], "no_da_prev"),
    ("loop runs forwards", RS, [("for t in reversed(range(T_x)):", "for t in range(T_x):")], "forward_loop"),
    ("whole W.T", LB, [(f"W{g}[:, :n_a].T", f"W{g}.T") for g in "fico"] + [(f"W{g}[:, n_a:].T", f"W{g}.T") for g in "fico"],
     "full_weights"),
    ("tanh(cct) in dcct", LB, [("(1 - cct**2)", "(1 - np.tanh(cct)**2)")], "dcct_tanh"),
    ("biases without keepdims", LB, [(f"np.sum({d}, axis=1, keepdims=True)", f"np.sum({d}, axis=1)") for _, d in BIASES],
     "bias_no_keepdims"),
    ("dbf without keepdims only", LB, [("np.sum(dft, axis=1, keepdims=True)", "np.sum(dft, axis=1)")], "bias_no_keepdims"),
    ("dc_prev without the da_next term", LB, [("dc_prev = dc * ft", "dc_prev = dc_next * ft")], "dc_prev_no_da"),
    ("dot without (1 - ot)", LB, [("dot = da_next * tanh_c * ot * (1 - ot)", "dot = da_next * tanh_c * ot")],
     "dot_missing_1_minus_ot"),
    ("dWo from dft (off-catalogue)", LB, [("dWo = np.dot(dot, concat.T)", "dWo = np.dot(dft, concat.T)")], None),
    ("gradients overwritten", LS, [(f'd{w} += gradients["d{w}"]', f'd{w} = gradients["d{w}"]')
                                   for w in ("Wf", "Wi", "Wc", "Wo", "bf", "bi", "bc", "bo")], "overwrite"),
    ("da_prev not propagated", LS, [("da[:, :, t] + da_prevt, dc_prevt", "da[:, :, t], dc_prevt")], "no_da_prev"),
    ("dc_prev not propagated", LS, [('dc_prevt = gradients["dc_prev"]', "pass")], "no_dc_prev"),
    ("dc_prev zeroed each step", LS, [('dc_prevt = gradients["dc_prev"]', "dc_prevt = np.zeros_like(dc_prevt)")],
     "no_dc_prev"),
    ("c_prev zero at every step", LC, [("lstm_cell_forward(xt, a_next, c_next, parameters)",
                                        "lstm_cell_forward(xt, a_next, c[:, :, 0] * 0, parameters)")], "c_reset"),
]  # fmt: skip


#: The course's test cells, as students keep them next to their functions (the notebook-level
#: variables a function may read by mistake).
TEST_CELLS = {
    RF: "np.random.seed(1)\nxt_tmp = np.random.randn(3, 10)\na_prev_tmp = np.random.randn(5, 10)\n"
        "parameters_tmp = {}\nparameters_tmp['Waa'] = np.random.randn(5, 5)\n"
        "parameters_tmp['Wax'] = np.random.randn(5, 3)\nparameters_tmp['Wya'] = np.random.randn(2, 5)\n"
        "parameters_tmp['ba'] = np.random.randn(5, 1)\nparameters_tmp['by'] = np.random.randn(2, 1)\n",
    RC: "np.random.seed(1)\nx_tmp = np.random.randn(3, 10, 4)\na0_tmp = np.random.randn(5, 10)\n",
    LF: "np.random.seed(1)\nxt_tmp = np.random.randn(3, 10)\na_prev_tmp = np.random.randn(5, 10)\n"
        "c_prev_tmp = np.random.randn(5, 10)\n",
    RB: "np.random.seed(1)\nda_next_tmp = np.random.randn(5, 10)\n",
}  # fmt: skip

# (label, exercise, edits, expected evidence kind, notebook-level test cells)
NEW: list[tuple[str, str, list[tuple[str, str]], str, tuple[str, ...]]] = [
    # sizes hard-coded to the worked example
    ("a allocated (5, 10, T_x)", RC, [("a = np.zeros((n_a, m, T_x))", "a = np.zeros((5, 10, T_x))")], "hard_coded_size", ()),
    ("range(4)", RC, [("for t in range(T_x):", "for t in range(4):")], "hard_coded_size", ()),
    ("c_next zeros((5, 10))", LC, [("    c_next = np.zeros((n_a, m))\n", "    c_next = np.zeros((5, 10))\n")], "hard_coded_size", ()),
    ("y allocated with n_y = 2", LC, [("y = np.zeros((n_y, m, T_x))", "y = np.zeros((2, m, T_x))")], "hard_coded_size", ()),
    ("W[:, :5] blocks", LB, [(f"W{g}[:, :n_a].T", f"W{g}[:, :5].T") for g in "fico"]
     + [(f"W{g}[:, n_a:].T", f"W{g}[:, 5:].T") for g in "fico"], "hard_coded_size", ()),
    ("dx zeros((3, 10, 4))", RS, [("dx = np.zeros((n_x, m, T_x))", "dx = np.zeros((3, 10, 4))")], "hard_coded_size", ()),
    ("da_prevt zeros((5, 10))", LS, [("da_prevt = np.zeros((n_a, m))", "da_prevt = np.zeros((5, 10))")], "hard_coded_size", ()),
    # a notebook-level variable read instead of an argument
    ("parameters_tmp everywhere", RF, [('parameters["', 'parameters_tmp["')] * 5, "reads_notebook_variable", (TEST_CELLS[RF],)),
    ("Wya from parameters_tmp", RF, [('Wya = parameters["Wya"]', 'Wya = parameters_tmp["Wya"]')], "reads_notebook_variable", (TEST_CELLS[RF],)),
    ("a0_tmp as the start", RC, [("    a_next = a0\n", "    a_next = a0_tmp\n")], "reads_notebook_variable", (TEST_CELLS[RC],)),
    ("xt_tmp in concat", LF, [("np.concatenate((a_prev, xt), axis=0)", "np.concatenate((a_prev, xt_tmp), axis=0)")],
     "reads_notebook_variable", (TEST_CELLS[LF],)),
    ("da_next_tmp in dtanh", RB, [("* da_next", "* da_next_tmp")], "reads_notebook_variable", (TEST_CELLS[RB],)),
    # outputs that do not depend on the inputs
    ("every input from the test cell", RF, [('    Wax = parameters["Wax"]', '    xt, a_prev, parameters = xt_tmp, a_prev_tmp, parameters_tmp\n    Wax = parameters["Wax"]')],
     "ignores_inputs", (TEST_CELLS[RF],)),
    ("replays the worked example", RB, [("    (a_next, a_prev, xt, parameters) = cache\n",
      "    np.random.seed(1)\n    xt, a_prev = np.random.randn(3, 10), np.random.randn(5, 10)\n"
      "    parameters = {'Wax': np.random.randn(5, 3), 'Waa': np.random.randn(5, 5), 'Wya': np.random.randn(2, 5),\n"
      "                  'ba': np.random.randn(5, 1), 'by': np.random.randn(2, 1)}\n"
      "    a_next = np.tanh(parameters['Wax'] @ xt + parameters['Waa'] @ a_prev + parameters['ba'])\n"
      "    da_next = np.random.randn(5, 10)\n")], "ignores_inputs", ()),
    ("inputs of the test cell", LF, [("    Wf = parameters[\"Wf\"]", "    xt, a_prev, c_prev = xt_tmp, a_prev_tmp, c_prev_tmp\n    Wf = parameters[\"Wf\"]")],
     "reads_notebook_variable", (TEST_CELLS[LF],)),
    # wrong initial state
    ("c starts from a0", LC, [("    c_next = np.zeros((n_a, m))\n", "    c_next = a0\n")], "initial_cell_state", ()),
    ("c starts from a copy of a0", LC, [("    c_next = np.zeros((n_a, m))\n", "    c_next = np.copy(a0)\n")], "initial_cell_state", ()),
    ("a starts from zeros", LC, [("    a_next = a0\n", "    a_next = np.zeros((n_a, m))\n")], "initial_hidden_state", ()),
    ("a starts from zeros_like", LC, [("    a_next = a0\n", "    a_next = np.zeros_like(a0)\n")], "initial_hidden_state", ()),
    ("a starts from x", RC, [("    a_next = a0\n", "    a_next = np.tanh(a0 * 0 + x[:1, :, 0])\n")], "initial_hidden_state", ()),
    # a per-step quantity computed but never stored
    ("c never stored", LC, [("        c[:, :, t] = c_next\n", "")], "never_stored", ()),
    ("y never stored", LC, [("        y[:, :, t] = yt\n", "")], "never_stored", ()),
    ("y_pred never stored", RC, [("        y_pred[:, :, t] = yt_pred\n", "")], "never_stored", ()),
    ("a never stored", RC, [("        a[:, :, t] = a_next\n", "")], "never_stored", ()),
    ("dx never stored", RS, [("        dx[:, :, t] = dxt\n", "")], "never_stored", ()),
    # sequences localised step by step
    ("loop stops one step early", LC, [("for t in range(T_x):", "for t in range(T_x - 1):")], "loop_stops_early", ()),
    ("backward loop stops at t = 1", RS, [("for t in reversed(range(T_x)):", "for t in reversed(range(1, T_x)):")],
     "loop_stops_early", ()),
]  # fmt: skip

#: single mistakes in a function others call: the callers must only be told to fix it first
CALLERS: list[tuple[str, str, list[tuple[str, str]]]] = [
    ("dc_prev without the da_next term", LB, [("dc_prev = dc * ft", "dc_prev = dc_next * ft")]),
    ("dtanh from a_prev", RB, [("(1 - a_next**2)", "(1 - a_prev**2)")]),
    ("cell missing ba", RF, [("np.dot(Wax, xt) + ba)", "np.dot(Wax, xt))")]),
    ("cell concat order", LF, [("np.concatenate((a_prev, xt), axis=0)", "np.concatenate((xt, a_prev), axis=0)")]),
    ("cell reads parameters_tmp", RF, [('parameters["', 'parameters_tmp["')] * 5),
]  # fmt: skip


def _named(ex: ExerciseResult) -> str | None:
    """The mistake the hint names: a catalogue id suffix, an evidence id, or None."""
    source = ex.diagnosis or ex.finding
    if source is None:
        return None
    return source.id if source.id.startswith("evidence.") else source.id.split(".", 1)[1]


def _grade(tmp: Path, i: int, replace: dict[str, str], before: tuple[str, ...] = ()) -> object:
    nb = write(submission(replace, after=before), tmp / f"m{i}.ipynb")
    return grade_notebook(nb)


def _callers_blamed(result: object, mutated: str) -> list[str]:
    """Callers of ``mutated`` that got a mistake of their own (they are correct)."""
    blamed = []
    for name in NAMES:
        if mutated in BY_NAME[name].calls:
            ex = result.exercise(name)  # type: ignore[attr-defined]
            if ex.status is not Status.PASSED and (ex.diagnosis or ex.finding or not ex.blocked_by):
                blamed.append(name)
    return blamed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-k", default="", help="only entries whose label contains this")
    args = ap.parse_args()
    sources = function_sources()
    rows = []
    tally = {"cat": [0, 0], "new": [0, 0], "wrong": 0, "none": 0, "off": 0, "blamed": 0}
    entries = [
        (label, ex, edits, want, (), "cat" if want else "off") for label, ex, edits, want in CASES
    ]
    entries += [
        (label, ex, edits, f"evidence.{want}", cells, "new")
        for label, ex, edits, want, cells in NEW
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for i, (label, exercise, edits, want, cells, group) in enumerate(entries):
            if args.k not in label:
                continue
            src = sources[exercise]
            for old, new in edits:
                src = mutate(src, old, new)
            result = _grade(Path(tmp), i, {exercise: src}, cells)
            ex = result.exercise(exercise)  # type: ignore[attr-defined]
            got = _named(ex)
            if want is None:
                verdict = "ok (no hint)" if got is None else "WRONG HINT"
            else:
                verdict = "right" if got == want else ("no hint" if got is None else "WRONG HINT")
            blamed = _callers_blamed(result, exercise)
            if blamed:
                verdict += f" + CALLER BLAMED ({', '.join(blamed)})"
            if group in ("cat", "new"):
                tally[group][0] += verdict.startswith("right")
                tally[group][1] += 1
            tally["off"] += group == "off"
            tally["wrong"] += "WRONG HINT" in verdict
            tally["none"] += verdict.startswith("no hint")
            tally["blamed"] += bool(blamed)
            rows.append((exercise, label, ex.status.value, want, got, verdict))
        for j, (label, exercise, edits) in enumerate(CALLERS):
            if args.k not in label:
                continue
            src = sources[exercise]
            for old, new in edits:
                src = mutate(src, old, new)
            cells = (TEST_CELLS[RF],) if "parameters_tmp" in label else ()
            result = _grade(Path(tmp), 1000 + j, {exercise: src}, cells)
            blamed = _callers_blamed(result, exercise)
            tally["blamed"] += bool(blamed)
            callers = [n for n in NAMES if exercise in BY_NAME[n].calls]
            rows.append(
                (
                    callers[0],
                    f"caller of: {label}",
                    "-",
                    "fix first",
                    "-",
                    f"CALLER BLAMED ({', '.join(blamed)})" if blamed else "ok (fix first)",
                )
            )
        correct = {"reference": {}}
        try:
            from tests.test_pipeline import STYLES

            correct.update(STYLES)
        except Exception:  # pytest or the tests are not importable: the reference alone
            pass
        hinted = 0
        for k, (style, replace) in enumerate(sorted(correct.items())):
            if args.k not in style and args.k:
                continue
            result = _grade(Path(tmp), 2000 + k, replace)
            extra = [e.name for e in result.exercises if e.hint or e.status is not Status.PASSED]  # type: ignore[attr-defined]
            hinted += bool(extra)
            rows.append(
                (
                    "(correct)",
                    style,
                    "-",
                    None,
                    None,
                    f"HINT ON CORRECT ({extra})" if extra else "ok",
                )
            )
    for row in rows:
        print(f"{row[0]:19} {row[1]:36} {row[2]:7} want={row[3]!s:34} got={row[4]!s:34} {row[5]}")
    (cr, cn), (nr, nn) = tally["cat"], tally["new"]
    print(f"\ncatalogued mistakes:   hint names it {cr}/{cn} ({100 * cr / max(cn, 1):.0f}%)")
    print(f"uncatalogued mistakes: hint names it {nr}/{nn} ({100 * nr / max(nn, 1):.0f}%)")
    print(f"off-catalogue controls (no hint expected): {tally['off']}")
    print(f"wrong hints: {tally['wrong']}, no hint: {tally['none']}, "
          f"callers blamed for their callee: {tally['blamed']}, correct notebooks with a hint: {hinted}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
