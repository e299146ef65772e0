"""The benchmark suite runs end to end on tiny sizes and its numbers are sane.

Correctness only: every engine agrees with the reference solution and every
count is finite.  Timings are never asserted (they depend on the machine).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root, for `benchmarks`

from benchmarks import engines as E  # noqa: E402
from benchmarks import problems as PR  # noqa: E402
from benchmarks.report import render  # noqa: E402
from benchmarks.suite import Config, run, scaled_error  # noqa: E402


@pytest.fixture(scope="module")
def result():
    return run(Config.tiny_config(), log=lambda msg: None)


def _finite(x):
    return x is not None and math.isfinite(x)


def test_every_timed_row_has_finite_numbers_and_a_small_error(result):
    timed = [r for r in result["rows"] if r["time_s"] is not None]
    engines = {(r["problem"], r["n_subjects"], r["engine"], r["method"], r["rhs"]) for r in timed}
    # pkpd (both methods) and scipy LSODA (both rhs kinds) on both problems, one subject and a population
    for prob in ("pk2cmt", "system"):
        for pop in (False, True):
            rows = [e for e in engines if e[0] == prob and (e[1] > 1) == pop]
            assert {(e[2], e[3]) for e in rows} >= {("pkpd", "dopri5"), ("pkpd", "radau5"), ("scipy", "LSODA")}
    for r in timed:
        assert r["time_s"] > 0 and _finite(r["subjects_per_s"])
        assert _finite(r["x_vs_lsoda_py"]) and _finite(r["x_vs_lsoda_jit"])
        assert _finite(r["max_err"]) and r["max_err"] < 1e-4, r  # rtol 1e-6: errors are ~1e-7 .. 1e-5
        if r["engine"] in ("pkpd", "scipy"):
            assert r["steps"] > 0 and r["rhs_evals"] >= r["steps"], r


def test_references_agree_with_each_other(result):
    for name, err in result["notes"]["reference_check"].items():
        assert err < 1e-8, name


def test_thread_scaling_overhead_and_radau_records(result):
    assert {t["threads"] for t in result["threads"]} >= {1}
    assert all(t["time_s"] > 0 and _finite(t["subjects_per_s"]) for t in result["threads"])
    for o in result["overhead"]:
        assert 0 < o["kernel_s"] and 0 < o["simulate_s"]
    for case in result["radau"]["cases"]:
        pk, sp = case["pkpd_radau5"], case["scipy_Radau"]
        assert pk["steps"] > 0 and sp["steps"] > 0
        # the compiled radau5 is a port of scipy's Radau: step counts within a few percent
        assert abs(pk["steps"] - sp["steps"]) <= 0.05 * sp["steps"]
    assert result["radau"]["max_abs_eigenvalue_per_h"] > 0


def test_long_horizon_rows_integrate_every_arm_to_the_end(result):
    rows = result["horizon"]["rows"]
    assert {r["arm"] for r in rows} == {"control", "neratinib", "ruxolitinib", "combination"}
    for r in rows:
        # the run reaches its end (steps taken) and, at rtol 1e-4 against rtol 1e-10, the diameter is
        # within a few tolerance units
        assert r["steps"] > 0 and r["rhs"] >= r["steps"], r
        assert _finite(r["max_rel_err_diameter"]) and r["max_rel_err_diameter"] < 1e-3, r


def test_virtual_trial_rows_time_both_paths_and_they_agree(result):
    tr = result["trial"]
    assert [r["path"] for r in tr["rows"]] == ["periodic", "full"]
    for r in tr["rows"]:
        assert r["time_s"] > 0 and r["steps"] > 0, r
    assert 0 <= tr["rows"][0]["orr_combination"] <= 1  # the whole population's
    # the two paths agree on the subset: the diameters to well under the 0.1 mm a caliper reads
    assert tr["diff_diameter_mm"] < 0.05 and tr["diff_best_response"] == 0


def test_kernel_rows_compare_generated_and_hand_written_rhs_and_both_jacobians(result):
    k = result["kernels"]
    kinds = [(r["what"], r["rhs"]) for r in k["rhs"]]
    assert kinds == [(w, r) for w in ("kernel", "population") for r in ("generated", "hand-written")]
    assert k["rhs"][0]["max_abs_diff"] <= 1e-9    # the same equations: round-off at most (observed: bitwise equal)
    assert k["rhs"][2]["max_scaled_diff"] <= 1e-12          # the same solution, to round-off
    jac = k["jacobian"]
    assert {(r["problem"].split(",")[0].split(" (")[0], r["method"], r["jacobian"]) for r in jac} == {
        (p, m, j) for p in ("trial system", "TMDD") for m in ("radau5", "rodas3") for j in ("numeric", "analytic")}
    for r in jac:
        assert r["time_s"] > 0 and r["steps"] > 0 and r["rhs_calls"] > 0, r
        # the two Jacobians change only the Newton iterations / Rosenbrock stages: solutions agree
        # within a few tolerance units (scaled per state; observed <= 9 rtol on the trial with rodas3)
        assert r["diff_rtol"] < 50, r
    for num, ana in zip(jac[0::2], jac[1::2]):
        assert ana["rhs_calls"] < num["rhs_calls"], (num, ana)   # no rhs calls spent on J
    fast = k["fast_paths"]
    assert [r["path"] for r in fast] == ["everything integrated", "PK in closed form", "closed form + periodic tail"]
    for r in fast:
        assert r["time_s"] > 0 and r["steps"] > 0, r
        assert r["error"] < 1e-4, r   # rtol 1e-5 against rtol 1e-9: each path within a few tolerances
    assert fast[1]["steps"] < fast[0]["steps"]   # the PK no longer in the error control


def test_report_renders_every_section(result):
    md = render(result)
    for heading in ("(a) mrgsolve benchmark shape", "(b) full coupled model", "Thread scaling",
                    "radau5 vs scipy Radau", "Long horizon", "Virtual trial", "Generated kernels and analytic Jacobians",
                    "Start-up"):
        assert heading in md
    assert "| pkpd | dopri5 | compiled |" in md


def test_antimony_translation_of_rate_laws():
    from benchmarks.sbml import STATE_IDS, _expr

    assert _expr("k*x**n/(K**n + x**n)", lambda s: f"nw_{s}") == \
        "((nw_k * (nw_x ^ nw_n)) / ((nw_K ^ nw_n) + (nw_x ^ nw_n)))"
    assert _expr("max(ERKp/ERKp0, 0.0)", str) == "max((ERKp / ERKp0), 0.0)"
    assert len(STATE_IDS) == 23 and len(set(STATE_IDS)) == 23


def test_the_libroadrunner_model_has_pkpds_right_hand_side():
    roadrunner = pytest.importorskip("roadrunner")
    antimony = pytest.importorskip("antimony")
    from benchmarks.sbml import STATE_IDS, antimony_text

    sy = PR.system(2, days=1)
    for i in range(2):
        y = sy.Y0[i].copy()
        y[[0, 1, 2, 3, 4]] = [50.0, 120.0, 30.0, 5.0, 10.0]  # drug in every PK compartment
        y[18:] *= [1.0, 0.0, 0.0, 0.0, 1.0]
        y[19:22] = [200.0, 100.0, 50.0]  # damaged cells
        assert antimony.loadAntimonyString(antimony_text(sy.P[i], y)) >= 0, antimony.getLastError()
        rr = roadrunner.RoadRunner(antimony.getSBMLString(antimony.getMainModuleName()))
        rates = rr.getRatesOfChangeNamedArray()
        names = list(rates.colnames)
        got = np.array([rates[0][names.index(s + "'")] for s in STATE_IDS])
        want = np.zeros(sy.n_states)
        sy.model.rhs(0.0, y, sy.P[i], want)
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12 * np.abs(want).max())


def test_dejit_runs_the_same_rhs_in_the_interpreter():
    sy = PR.system(1, days=1)
    f_py = E.dejit(sy.model.rhs)
    y = sy.Y0[0].copy()
    y[1], y[4] = 120.0, 10.0
    d_jit, d_py = np.zeros(sy.n_states), np.zeros(sy.n_states)
    sy.model.rhs(3.0, y, sy.P[0], d_jit)
    f_py(3.0, y, sy.P[0], d_py)
    np.testing.assert_allclose(d_py, d_jit, rtol=1e-13, atol=1e-15)
    assert not hasattr(f_py, "py_func")  # a plain Python function, not a Numba dispatcher


def test_scipy_restarts_match_the_exact_pk_solution_and_pkpd():
    pk = PR.pk2cmt(2, n_doses=4, end_h=96.0)
    exact = E.exact_pk2cmt(pk, [0, 1])
    Y, _ = E.scipy_run(pk, [0, 1], "LSODA", "jit", 1e-8, 1e-10)
    assert scaled_error(Y, exact) < 1e-6
    Yp, c = E.pkpd_population(pk, [0, 1], "dopri5", 1e-8, 1e-10)
    assert scaled_error(Yp, exact) < 1e-6 and c["steps"] > 0
    # doses land where the problem says: DEPOT jumps by 100 mg at every dose time
    assert pk.bolus_time.tolist() == [0.0, 24.0, 48.0, 72.0]
    assert np.all(pk.bolus_state == 0) and np.all(pk.bolus_amt == 100.0)
