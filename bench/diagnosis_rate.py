"""How often the report names the right mistake, on single-mistake notebooks written as students do.

    python bench/diagnosis_rate.py [-k SUBSTRING]

Each entry below is one textual edit of one function of the reference (the way a student would get
it wrong), with the catalogue id we expect the report to name, or None for mistakes outside the
catalogue (there any hint is a wrong hint). The edits are independent of solutions/mistakes.py:
they are the test, the catalogue is the thing tested. Every notebook goes through the full pipeline.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.pipeline import grade_notebook  # noqa: E402
from tests.notebooks import function_sources, mutate, submission, write  # noqa: E402

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
]  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-k", default="", help="only entries whose label contains this")
    args = ap.parse_args()
    sources = function_sources()
    right = wrong = none = 0
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (label, exercise, edits, want) in enumerate(CASES):
            if args.k not in label:
                continue
            src = sources[exercise]
            for old, new in edits:
                src = mutate(src, old, new)
            nb = write(submission({exercise: src}), Path(tmp) / f"m{i}.ipynb")
            ex = grade_notebook(nb).exercise(exercise)
            got = ex.diagnosis.id.split(".", 1)[1] if ex.diagnosis else None
            ok = got == want
            if want is None:
                verdict = "ok (no hint)" if got is None else "WRONG HINT"
            else:
                verdict = "right" if ok else ("no hint" if got is None else "WRONG HINT")
            right += ok and want is not None
            wrong += verdict == "WRONG HINT"
            none += verdict == "no hint"
            rows.append((exercise, label, ex.status.value, want, got, verdict))
    for row in rows:
        print(f"{row[0]:19} {row[1]:36} {row[2]:7} want={row[3]!s:24} got={row[4]!s:24} {row[5]}")
    in_catalogue = sum(1 for r in rows if r[3] is not None)
    print(f"\nright hint: {right}/{in_catalogue} ({100 * right / max(in_catalogue, 1):.0f}%), "
          f"wrong hints: {wrong}/{len(rows)}, no hint: {none}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
