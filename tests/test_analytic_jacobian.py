"""The implicit solvers (radau5, rodas3) with the model's analytic Jacobian instead of finite differences.

A model may come with ``jac(t, y, p, J)`` (:data:`pkpd.signatures.JAC_SIGNATURE`,
``J[i, j] = d(dy_i/dt)/dy_j`` per h).  The driver and the segment functions take it as a
first-class function (their last argument) and ``opts[OPT_JACOBIAN]`` says whether to call
it (1) or to difference the right-hand side (0, with the placeholder ``no_jacobian``).
Two stiff test models, each with a hand-written Jacobian:

* Robertson's reaction scheme (classical stiff rate constants), the segments called
  directly (as ``tests/test_solvers.py`` does), 0 .. 1e5;
* a two-compartment PK model with first-order absorption and Michaelis-Menten
  elimination, fast distribution (k12 = Q/Vc = 200 /h against an elimination of
  ~0.1-2 /h: stiff), through :func:`pkpd.simulate.simulate` from a
  :class:`~pkpd.models.spec.ModelSpec` with ``jac``, with repeated oral doses and an IV bolus.

Reference: scipy ``solve_ivp(method="Radau", rtol=1e-10, atol=1e-12)`` (given the same
analytic Jacobian), restarted at every dose.  Errors are in units of the requested
tolerance, ``|y - ref| / (atol + rtol |ref|)``, as in ``tests/test_solvers.py``.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from numba import njit
from scipy.integrate import solve_ivp

from pkpd.dosing import Dose
from pkpd.errors import InputError, ScenarioError
from pkpd.models.spec import ModelSpec, Parameter, State
from pkpd.scenario import load_scenario
from pkpd.signatures import JAC_SIGNATURE, RHS_SIGNATURE
from pkpd.simulate import _jacobian, simulate
from pkpd.solvers import SolverOptions, radau5, rodas3
from pkpd.solvers._common import (
    N_STATS, OPT_JACOBIAN, ST_JAC, ST_LU, ST_REJECTED, ST_RHS, ST_SEGMENTS, ST_STEPS, make_opts, no_jacobian,
)

SEGMENTS = {"radau5": radau5.radau5_segment, "rodas3": rodas3.rodas3_segment}

# Error against the rtol-1e-10 reference, in tolerance units.  The solvers' local error
# estimates are asymptotic and the global error accumulates over hundreds of steps:
# measured (this machine) radau5 0.24 / 0.35, rodas3 14 / 4.3 (Robertson / PK model at
# rtol 1e-6), the same with the analytic and the finite-difference Jacobian.  20 is the
# bound tests/test_solvers.py uses for the same solvers (TOL_UNITS_BOUND).
TOL_UNITS_BOUND = 20.0

# Analytic against finite-difference Jacobian, same problem and tolerances.  The forward
# difference is accurate to ~sqrt(eps) relative: radau5 uses J only in its Newton iteration
# (converged to a fraction of the tolerance), rodas3 in the formula itself (a W-method
# error of order |J - J_fd| h).  Measured at rtol 1e-6: radau5 1e-5 / 2e-5, rodas3 0.08 /
# 1.3e-4 tolerance units.  The two runs may still differ by one step-size decision, which
# moves the result by about the solver's own error: one tolerance unit bounds that.
FD_AGREEMENT_BOUND = 1.0


def tol_units(y, ref, rtol, atol):
    return float(np.max(np.abs(y - ref) / (atol + rtol * np.abs(ref))))


# ---- Robertson ---------------------------------------------------------------------

@njit(RHS_SIGNATURE, cache=True)
def robertson_rhs(t, y, p, dydt):
    """A -> B (k1), 2B -> B + C (k2), B + C -> A + C (k3); p = (k1, k2, k3, jac calls)."""
    k1, k2, k3 = p[0], p[1], p[2]
    dydt[0] = -k1 * y[0] + k3 * y[1] * y[2]
    dydt[1] = k1 * y[0] - k3 * y[1] * y[2] - k2 * y[1] * y[1]
    dydt[2] = k2 * y[1] * y[1]


@njit(JAC_SIGNATURE, cache=True)
def robertson_jac(t, y, p, J):
    """d(dy_i/dt)/dy_j of :func:`robertson_rhs`; counts its calls in p[3] (which the rhs ignores)."""
    k1, k2, k3 = p[0], p[1], p[2]
    J[0, 0] = -k1
    J[0, 1] = k3 * y[2]
    J[0, 2] = k3 * y[1]
    J[1, 0] = k1
    J[1, 1] = -k3 * y[2] - 2.0 * k2 * y[1]
    J[1, 2] = -k3 * y[1]
    J[2, 1] = 2.0 * k2 * y[1]      # J[2, 0] and J[2, 2] are 0: the solver zeroes J before the call
    p[3] += 1.0


ROBERTSON_P = (0.04, 3e7, 1e4)
ROB_T1 = 1e5
ROB_OUT = np.geomspace(1e-4, 1e4, 30)
RTOL, ATOL = 1e-6, 1e-10     # atol: y[1] stays below 4e-5


def _rob_ref():
    p = np.array([*ROBERTSON_P, 0.0])

    def f(t, y):
        d = np.empty(3)
        robertson_rhs(t, np.ascontiguousarray(y), p, d)
        return d

    def jac(t, y):
        J = np.zeros((3, 3))
        robertson_jac(t, np.ascontiguousarray(y), p, J)
        return J

    sol = solve_ivp(f, (0.0, ROB_T1), [1.0, 0.0, 0.0], method="Radau", rtol=1e-10, atol=1e-12, jac=jac,
                    t_eval=np.r_[ROB_OUT, ROB_T1])
    assert sol.success
    return sol.y.T


@pytest.fixture(scope="module")
def rob_ref():
    return _rob_ref()


def run_segment(method, mode):
    """One Robertson segment 0 .. 1e5: ``mode`` "analytic", "fd" (no_jacobian, flag 0) or "direct" (14 args)."""
    p = np.array([*ROBERTSON_P, 0.0])
    y = np.array([1.0, 0.0, 0.0])
    y_out = np.full((ROB_OUT.size, 3), np.nan)
    stats = np.zeros(N_STATS, np.int64)
    opts = make_opts(RTOL, 10**6, 0.0, np.inf, analytic_jacobian=mode == "analytic")
    args = (robertson_rhs, 0.0, ROB_T1, y, p, np.zeros(3), ROB_OUT, np.arange(ROB_OUT.size), 0, ROB_OUT.size,
            y_out, np.full(3, ATOL), opts, stats)
    if mode == "direct":
        status, t = SEGMENTS[method](*args)
    else:
        status, t = SEGMENTS[method](*args, robertson_jac if mode in ("analytic", "fd_with_jac") else no_jacobian)
    assert status == 0 and t == ROB_T1
    return np.vstack([y_out, y]), stats, int(p[3])


@pytest.mark.parametrize("method", ["radau5", "rodas3"])
def test_robertson_analytic_jacobian_matches_scipy_and_finite_differences(method, rob_ref):
    Y_an, s_an, jac_calls = run_segment(method, "analytic")
    Y_fd, s_fd, _ = run_segment(method, "fd")
    assert tol_units(Y_an, rob_ref, RTOL, ATOL) < TOL_UNITS_BOUND
    assert tol_units(Y_fd, rob_ref, RTOL, ATOL) < TOL_UNITS_BOUND
    assert tol_units(Y_an, Y_fd, RTOL, ATOL) < FD_AGREEMENT_BOUND
    # jac is called exactly as often as the stats count Jacobians
    assert s_an[ST_JAC] > 0 and jac_calls == s_an[ST_JAC]


@pytest.mark.parametrize("method", ["radau5", "rodas3"])
def test_numeric_path_never_calls_jac_and_equals_the_direct_call(method):
    """Flag 0: the jac passed is never called, and the result is bitwise that of the 14-argument call."""
    Y_direct, s_direct, _ = run_segment(method, "direct")
    Y_fd, s_fd, _ = run_segment(method, "fd")
    Y_j, s_j, jac_calls = run_segment(method, "fd_with_jac")   # a real jac passed, flag 0
    assert jac_calls == 0
    for Y, s in ((Y_fd, s_fd), (Y_j, s_j)):
        np.testing.assert_array_equal(Y, Y_direct)
        np.testing.assert_array_equal(s, s_direct)


def rodas3_rhs_count(stats, n, analytic):
    """rhs calls of rodas3 (no singular or non-finite attempts): per segment f0 and the initial-step
    trial; per Jacobian n columns (0 analytic) + 1 for df/dt; 2 stages per attempt; f at each new point."""
    attempts = stats[ST_STEPS] + stats[ST_REJECTED]
    per_jac = 1 if analytic else n + 1
    return 2 * stats[ST_SEGMENTS] + per_jac * stats[ST_JAC] + 2 * attempts + stats[ST_STEPS]


def test_rodas3_analytic_path_spends_no_rhs_calls_on_the_jacobian():
    _, s_an, _ = run_segment("rodas3", "analytic")
    _, s_fd, _ = run_segment("rodas3", "fd")
    assert s_an[ST_RHS] == rodas3_rhs_count(s_an, 3, analytic=True)
    assert s_fd[ST_RHS] == rodas3_rhs_count(s_fd, 3, analytic=False)


def test_radau5_analytic_path_spends_no_rhs_calls_on_the_jacobian():
    # radau5's other rhs calls depend on its Newton iterations, so the check compares two runs
    # that take the same steps: on Robertson at rtol 1e-6 the analytic and the finite-difference
    # Jacobian lead to the same decisions (measured: 188 steps, 5 rejected, 41 Jacobians, 206
    # LU); the finite-difference run then spends n to 2n (a retried column) rhs calls per
    # Jacobian more, the analytic one none.
    _, s_an, _ = run_segment("radau5", "analytic")
    _, s_fd, _ = run_segment("radau5", "fd")
    for k in (ST_STEPS, ST_REJECTED, ST_JAC, ST_LU):
        assert s_an[k] == s_fd[k]
    extra = s_fd[ST_RHS] - s_an[ST_RHS]
    assert 3 * s_fd[ST_JAC] <= extra <= 6 * s_fd[ST_JAC]


# ---- two-compartment PK, Michaelis-Menten elimination, through simulate ---------------

KA, VC, Q, VP, VMAX, KM = range(6)


@njit(cache=True)
def mm_rhs(t, y, p, dydt):
    """[DEPOT, CENT, PERIPH] (mg) per h; p = [KA 1/h, VC L, Q L/h, VP L, VMAX mg/h, KM mg/L]."""
    c = y[1] / p[VC]
    absorption = p[KA] * y[0]
    distribution = p[Q] * (c - y[2] / p[VP])
    dydt[0] = -absorption
    dydt[1] = absorption - distribution - p[VMAX] * c / (p[KM] + c)
    dydt[2] = distribution


@njit(cache=True)
def mm_jac(t, y, p, J):
    """d(dy_i/dt)/dy_j of :func:`mm_rhs` (per h); zeros left to the solver."""
    c = y[1] / p[VC]
    J[0, 0] = -p[KA]
    J[1, 0] = p[KA]
    J[1, 1] = -p[Q] / p[VC] - p[VMAX] * p[KM] / ((p[KM] + c) ** 2 * p[VC])
    J[1, 2] = p[Q] / p[VP]
    J[2, 1] = p[Q] / p[VC]
    J[2, 2] = -p[Q] / p[VP]


def mm_model(jac):
    src = "assumed (test model)"
    return ModelSpec(
        "mm2cmt" if jac is None else "mm2cmt_jac",
        (State("DEPOT", "mg", "gut depot"), State("CENT", "mg", "central"), State("PERIPH", "mg", "peripheral")),
        (Parameter("KA", 1.0, "1/h", "absorption", src), Parameter("VC", 10.0, "L", "central volume", src),
         Parameter("Q", 2000.0, "L/h", "distribution clearance", src),
         Parameter("VP", 50.0, "L", "peripheral volume", src),
         Parameter("VMAX", 20.0, "mg/h", "maximal elimination rate", src),
         Parameter("KM", 0.5, "mg/L", "Michaelis constant", src)),
        mm_rhs, jac=jac)


MM_JAC = mm_model(mm_jac)
MM_NOJAC = mm_model(None)
MM_DOSES = [Dose(0.0, 200.0, 1, ii=24.0, addl=6), Dose(36.0, 100.0, 2)]
MM_T = np.arange(0.5, 240.0, 1.0)         # off the dose times
MM_RTOL, MM_ATOL = 1e-6, 1e-8


def _mm_ref():
    p = MM_JAC.pack()

    def f(t, y):
        d = np.empty(3)
        mm_rhs(t, np.ascontiguousarray(y), p, d)
        return d

    def jac(t, y):
        J = np.zeros((3, 3))
        mm_jac(t, np.ascontiguousarray(y), p, J)
        return J

    boluses = {24.0 * k: [(0, 200.0)] for k in range(7)}   # (state, mg) at each dose time (h)
    boluses[36.0] = [(1, 100.0)]
    stops = sorted({*boluses, 240.0})
    y = np.zeros(3)
    R = np.full((MM_T.size, 3), np.nan)
    for a, b in zip(stops[:-1], stops[1:]):
        for s, amt in boluses.get(a, []):
            y[s] += amt
        inside = (MM_T > a) & (MM_T < b)
        sol = solve_ivp(f, (a, b), y, method="Radau", rtol=1e-10, atol=1e-12, jac=jac, t_eval=np.r_[MM_T[inside], b])
        assert sol.success
        R[inside] = sol.y[:, :-1].T
        y = sol.y[:, -1].copy()
    return R


def _mm_run(model, method, jacobian):
    ds = simulate(model, MM_DOSES, MM_T, solver=dict(method=method, rtol=MM_RTOL, atol=MM_ATOL, jacobian=jacobian))
    Y = np.stack([ds[s].values for s in model.state_names], axis=-1)
    names = ("steps", "rejected_steps", "rhs_evaluations", "jacobians", "lu_decompositions", "segments")
    stats = np.array([int(ds[f"solver_{k}"]) for k in names])   # in the order of ST_*
    return Y, stats


@pytest.mark.parametrize("method", ["radau5", "rodas3"])
def test_mm_two_compartment_through_simulate(method):
    R = _mm_ref()
    Y_an, s_an = _mm_run(MM_JAC, method, "auto")          # auto: the model's jac
    Y_fd, s_fd = _mm_run(MM_JAC, method, "numeric")
    Y_nojac, s_nojac = _mm_run(MM_NOJAC, method, "auto")  # no jac: finite differences
    assert tol_units(Y_an, R, MM_RTOL, MM_ATOL) < TOL_UNITS_BOUND
    assert tol_units(Y_an, Y_fd, MM_RTOL, MM_ATOL) < FD_AGREEMENT_BOUND
    # numeric on a model with a jac is the model without one, bitwise
    np.testing.assert_array_equal(Y_fd, Y_nojac)
    np.testing.assert_array_equal(s_fd, s_nojac)
    assert s_an[ST_SEGMENTS] == 8 and s_an[ST_JAC] > 0   # 7 oral doses + 1 IV bolus: 8 restarts
    assert s_an[ST_RHS] < s_fd[ST_RHS]
    if method == "rodas3":
        assert s_an[ST_RHS] == rodas3_rhs_count(s_an, 3, analytic=True)
        assert s_fd[ST_RHS] == rodas3_rhs_count(s_fd, 3, analytic=False)


# ---- choosing the Jacobian: ModelSpec.jacobian, SolverOptions, scenarios ---------------

def test_jacobian_modes_of_a_model_spec():
    assert MM_JAC.jacobian("auto") == (mm_jac, True)
    assert MM_JAC.jacobian("analytic") == (mm_jac, True)
    assert MM_JAC.jacobian("numeric") == (no_jacobian, False)
    assert MM_NOJAC.jacobian("auto") == (no_jacobian, False)
    assert MM_NOJAC.jacobian("numeric") == (no_jacobian, False)
    assert MM_JAC.has_jacobian and not MM_NOJAC.has_jacobian
    with pytest.raises(InputError) as exc:
        MM_NOJAC.jacobian("analytic")
    assert str(exc.value) == ("solver.jacobian: analytic, but model mm2cmt has no analytic Jacobian "
                              "(use auto or numeric)")
    with pytest.raises(InputError, match="solver.jacobian: analytic, but model mm2cmt has"):
        simulate(MM_NOJAC, MM_DOSES, MM_T, solver=dict(method="radau5", jacobian="analytic"))
    # the driver's flag follows the choice
    opts = SolverOptions(method="rodas3")
    arr = opts.opts_array()
    assert _jacobian(MM_JAC, opts, arr) is mm_jac and arr[OPT_JACOBIAN] == 1.0
    assert _jacobian(MM_NOJAC, opts, arr) is no_jacobian and arr[OPT_JACOBIAN] == 0.0
    assert SolverOptions().opts_array()[OPT_JACOBIAN] == 0.0


def test_a_spec_compiles_an_explicitly_typed_jac_and_refuses_a_plain_function():
    # robertson_rhs/jac are decorated with their signatures (no further compilation allowed)
    spec = ModelSpec("rob", (State("A", "1", "a", 1.0), State("B", "1", "b"), State("C", "1", "c")),
                     tuple(Parameter(k, v, "1/h", k, "Robertson 1966") for k, v in
                           zip(("k1", "k2", "k3"), ROBERTSON_P))
                     + (Parameter("ncalls", 0.0, "1", "jac calls (test counter)", "test"),),
                     robertson_rhs, jac=robertson_jac)
    assert spec.jacobian() == (robertson_jac, True)
    from pkpd.errors import ModelError
    with pytest.raises(ModelError, match="jac must be a Numba @njit function"):
        dataclasses.replace(MM_JAC, jac=lambda t, y, p, J: None)


@pytest.mark.parametrize("value,message", [
    ("x", "solver.jacobian: must be one of auto, analytic, numeric, got 'x'"),
    ("null", "solver.jacobian: must be one of auto, analytic, numeric, got nothing (null)"),
    ("3", "solver.jacobian: must be one of auto, analytic, numeric, got 3"),
])
def test_bad_solver_jacobian_in_a_scenario_is_a_one_line_error(value, message):
    text = f"name: t\nduration: 2 d\narms: [{{name: control}}]\nsolver: {{method: radau5, jacobian: {value}}}\n"
    with pytest.raises(ScenarioError) as exc:
        load_scenario(text)
    assert str(exc.value) == message


def test_solver_jacobian_in_a_scenario():
    text = "name: t\nduration: 2 d\narms: [{name: control}]\nsolver: {method: radau5, jacobian: Numeric}\n"
    assert load_scenario(text).solver == SolverOptions(method="radau5", jacobian="numeric")
    assert load_scenario("name: t\nduration: 2 d\narms: [{name: control}]\n").solver.jacobian == "auto"


def test_analytic_jacobian_on_the_builtin_system_is_refused_naming_it():
    from pkpd.runner import run
    from pkpd.system import SYSTEM

    if SYSTEM.has_jacobian:
        pytest.skip("the built-in system has an analytic Jacobian")
    text = ("name: t\nduration: 1 d\narms: [{name: ner, regimen: [{drug: neratinib, dose: 240 mg, every: 24 h}]}]\n"
            "solver: {method: radau5, jacobian: analytic}\n")
    with pytest.raises(InputError) as exc:
        run(load_scenario(text))
    assert str(exc.value) == (f"solver.jacobian: analytic, but model {SYSTEM.name} has no analytic Jacobian "
                              "(use auto or numeric)")


# ---- a user model file with jac, run by the runner ----------------------------------

MODEL_FILE = '''
from numba import njit
from pkpd.models import ModelSpec, Parameter, State

@njit(cache=True)
def rhs(t, y, p, dydt):
    c = y[1] / p[1]
    dist = p[2] * (c - y[2] / p[3])
    dydt[0] = -p[0] * y[0]
    dydt[1] = p[0] * y[0] - dist - p[4] * c / (p[5] + c)
    dydt[2] = dist

@njit(cache=True)
def jac(t, y, p, J):
    c = y[1] / p[1]
    J[0, 0] = -p[0]
    J[1, 0] = p[0]
    J[1, 1] = -p[2] / p[1] - p[4] * p[5] / ((p[5] + c) ** 2 * p[1])
    J[1, 2] = p[2] / p[3]
    J[2, 1] = p[2] / p[1]
    J[2, 2] = -p[2] / p[3]

MODEL = ModelSpec(
    "stiff_mm",
    (State("DEPOT", "mg", "gut"), State("CENT", "mg", "central"), State("PERIPH", "mg", "peripheral")),
    (Parameter("KA", 1.0, "1/h", "absorption", "assumed"), Parameter("VC", 10.0, "L", "central", "assumed"),
     Parameter("Q", 2000.0, "L/h", "distribution", "assumed"), Parameter("VP", 50.0, "L", "peripheral", "assumed"),
     Parameter("VMAX", 20.0, "mg/h", "max elimination", "assumed"), Parameter("KM", 0.5, "mg/L", "Km", "assumed")),
    rhs, jac=jac)
'''


def test_the_runner_uses_the_model_files_jacobian(tmp_path):
    from pkpd.runner import run
    from pkpd.scenario import load_scenario

    (tmp_path / "stiff_mm.py").write_text(MODEL_FILE)
    base = ("name: t\nmodel: stiff_mm.py:MODEL\nduration: 3 d\noutput_every: 1 h\n"
            "arms: [{name: a, regimen: [{cmt: DEPOT, dose: 200 mg, every: 24 h}]}]\n")
    runs = {}
    for mode in ("analytic", "numeric"):
        sc = load_scenario(base + f"solver: {{method: rodas3, rtol: 1e-6, atol: 1e-8, jacobian: {mode}}}\n",
                           base_dir=tmp_path)
        assert sc.solver.jacobian == mode and sc.model.has_jacobian
        runs[mode] = run(sc)
    an, fd = runs["analytic"], runs["numeric"]
    # same solution to the bound above (here in mg, the states' scale is ~100 mg)
    assert tol_units(an["CENT"].values, fd["CENT"].values, 1e-6, 1e-8) < FD_AGREEMENT_BOUND
    assert int(an["solver_rhs_evaluations"].sum()) < int(fd["solver_rhs_evaluations"].sum())


# ---- cacheability: a second process loads every kernel from Numba's cache ---------------

CACHE_SCRIPT = '''
import numpy as np
from numba import njit
from pkpd.signatures import JAC_SIGNATURE, RHS_SIGNATURE
from pkpd.models.spec import ModelSpec, Parameter, State
from pkpd.dosing import Dose
from pkpd.simulate import simulate, simulate_population
from pkpd.solvers import dopri5, radau5, rodas3, _common
from pkpd.solvers.integrate import integrate_population, integrate_subject

@njit(RHS_SIGNATURE, cache=True)
def rhs(t, y, p, d):
    d[0] = -p[0] * y[0] + p[2] * y[1] * y[2]
    d[1] = p[0] * y[0] - p[2] * y[1] * y[2] - p[1] * y[1] * y[1]
    d[2] = p[1] * y[1] * y[1]

@njit(JAC_SIGNATURE, cache=True)
def jac(t, y, p, J):
    J[0, 0] = -p[0]; J[0, 1] = p[2] * y[2]; J[0, 2] = p[2] * y[1]
    J[1, 0] = p[0]; J[1, 1] = -p[2] * y[2] - 2 * p[1] * y[1]; J[1, 2] = -p[2] * y[1]
    J[2, 1] = 2 * p[1] * y[1]

m = ModelSpec("rob", (State("A", "1", "a", 1.0), State("B", "1", "b"), State("C", "1", "c")),
              (Parameter("k1", 0.04, "1/h", "k1", "x"), Parameter("k2", 3e7, "1/h", "k2", "x"),
               Parameter("k3", 1e4, "1/h", "k3", "x")), rhs, jac=jac)
t = np.geomspace(1e-3, 1e4, 20)
for method in ("radau5", "rodas3", "dopri5"):
    solver = dict(method=method, rtol=1e-4, atol=1e-8, max_steps=10**6)
    simulate(m, [Dose(1.0, 0.1, 1)], t[t < 50] if method == "dopri5" else t, solver=solver)
    simulate_population(m, [], t[t < 50] if method == "dopri5" else t, np.repeat(m.pack()[None], 2, 0), solver=solver)
kernels = (rhs, jac, _common.no_jacobian, radau5.radau5_segment, rodas3.rodas3_segment, dopri5.dopri5_segment,
           integrate_subject, integrate_population)
for k in kernels:   # name, signatures loaded from the cache, signatures compiled
    print(k.__name__, len(k.stats.cache_hits), len(k.stats.cache_misses))
'''


def test_kernels_with_a_jacobian_load_from_the_cache_in_a_second_process(tmp_path):
    """The solvers and the driver take jac as a function pointer: nothing recompiles per model.

    Both processes use pkpd's own cache folder (as a user's runs do); the first may compile
    (a fresh cache, or the model file's kernels), the second must load every kernel.
    """
    script = tmp_path / "rob_cache.py"
    script.write_text(textwrap.dedent(CACHE_SCRIPT))
    env = dict(os.environ)
    first = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr[-2000:]
    second = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True)
    assert second.returncode == 0, second.stderr[-2000:]
    counts = {name: (int(h), int(m)) for name, h, m in (line.split() for line in second.stdout.splitlines())}
    assert len(counts) == 8
    for name, (hits, misses) in counts.items():
        assert hits >= 1 and misses == 0, (name, hits, misses)
