"""Tests of the compiled solvers (dopri5, radau5, rodas3), their linear algebra and options.

The segment functions are called directly, as the event driver calls them, with
two test right-hand sides defined here, compiled for
:data:`pkpd.signatures.RHS_SIGNATURE` like every model (the segments take them as
first-class functions, so nothing recompiles per right-hand side):

* ``linear_rhs``: dy/dt = M y with M passed flat in ``p``; exact reference
  ``expm(M t) y0`` (order tests, two-compartment oral PK, infusions, overflow);
* ``robertson_rhs``: Robertson's reaction scheme, stiff with its classical rate
  constants and non-stiff with mild ones; reference scipy ``solve_ivp(Radau)`` at
  rtol 1e-10;
* ``sign_switch_rhs``: a derivative that jumps at y = 0 (Newton failure).

Errors against a reference are measured in units of the requested tolerance,
``(y - ref) / (atol + rtol |ref|)`` (scipy ``tests/test_ivp.py::compute_error``).
"""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit
from scipy.integrate import solve_ivp
from scipy.linalg import expm

from pkpd.errors import InputError
from pkpd.signatures import RHS_SIGNATURE
from pkpd.solvers import SOLVERS, MIN_RTOL, Method, SolverOptions, get_method
from pkpd.solvers import dopri5, radau5, rodas3
from pkpd.solvers._common import (
    N_OPTS, N_STATS, OPT_FIRST_STEP, OPT_MAX_STEP, OPT_MAX_STEPS, OPT_RTOL, ST_JAC, ST_LU,
    ST_REJECTED, ST_RHS, ST_SEGMENTS, ST_STEPS, make_opts,
)
from pkpd.solvers._linalg import lu_factor, lu_solve
from pkpd.solvers.status import MAX_STEPS, NEWTON_FAILED, NON_FINITE, SUCCESS

SEGMENTS = {"dopri5": dopri5.dopri5_segment, "radau5": radau5.radau5_segment, "rodas3": rodas3.rodas3_segment}


# ---- test right-hand sides ------------------------------------------------------

@njit(RHS_SIGNATURE, cache=True)
def linear_rhs(t, y, p, dydt):
    """dy/dt = M y, with M (n x n) stored row-major in p."""
    n = y.shape[0]
    for i in range(n):
        acc = 0.0
        for j in range(n):
            acc += p[i * n + j] * y[j]
        dydt[i] = acc


@njit(RHS_SIGNATURE, cache=True)
def robertson_rhs(t, y, p, dydt):
    """Robertson (1966): A -> B (k1), 2B -> B + C (k2), B + C -> A + C (k3); p = (k1, k2, k3)."""
    k1, k2, k3 = p[0], p[1], p[2]
    dydt[0] = -k1 * y[0] + k3 * y[1] * y[2]
    dydt[1] = k1 * y[0] - k3 * y[1] * y[2] - k2 * y[1] * y[1]
    dydt[2] = k2 * y[1] * y[1]


@njit(RHS_SIGNATURE, cache=True)
def sign_switch_rhs(t, y, p, dydt):
    """dy/dt = -p[0] sign(y): reaches 0 at t = y0/p[0], then has no classical solution."""
    dydt[0] = -p[0] if y[0] > 0.0 else p[0]


def _robertson_py(p):
    k1, k2, k3 = p
    return lambda t, y: [-k1 * y[0] + k3 * y[1] * y[2],
                         k1 * y[0] - k3 * y[1] * y[2] - k2 * y[1] ** 2,
                         k2 * y[1] ** 2]


ROBERTSON_STIFF = np.array([0.04, 3e7, 1e4])
ROBERTSON_MILD = np.array([1.0, 5.0, 2.0])     # same scheme, time scales ~0.1-1: non-stiff


def integrate(method, rhs, y0, p, t0, t1, out_t=(), *, rtol=1e-6, atol=1e-9, max_steps=100_000,
              first_step=0.0, max_step=np.inf, rate=None):
    """Run one segment; returns (status, t_reached, y_end, y_out, stats)."""
    y = np.array(y0, dtype=np.float64)
    n = y.shape[0]
    out_t = np.asarray(out_t, dtype=np.float64)
    y_out = np.full((out_t.shape[0], n), np.nan)
    stats = np.zeros(N_STATS, np.int64)
    rate = np.zeros(n) if rate is None else np.asarray(rate, dtype=np.float64)
    status, t_reached = SEGMENTS[method](
        rhs, t0, t1, y, np.asarray(p, dtype=np.float64), rate, out_t,
        np.arange(out_t.shape[0]), 0, out_t.shape[0], y_out, np.full(n, atol, dtype=np.float64),
        make_opts(rtol, max_steps, first_step, max_step), stats)
    return status, t_reached, y, y_out, stats


def tol_units(y, ref, rtol, atol):
    """Largest error in units of the requested tolerance."""
    return np.max(np.abs(y - ref) / (atol + rtol * np.abs(ref)))


# ---- tableaus ---------------------------------------------------------------------

def test_dopri5_tableau():
    # Exact rational coefficients; the checks hold to round-off of sums of ~10 terms.
    assert dopri5.B.sum() == pytest.approx(1.0, abs=1e-15)
    np.testing.assert_allclose(dopri5.A.sum(axis=1), dopri5.C, rtol=0, atol=1e-15)
    assert dopri5.E.sum() == pytest.approx(0.0, abs=1e-15)
    # Classical quadrature conditions up to order 5: sum b c^k = 1/(k+1).
    for k in range(5):
        assert dopri5.B @ dopri5.C ** k == pytest.approx(1.0 / (k + 1), abs=1e-15)
    # Dense output at theta = 1 reproduces y_new: its weights are B (and 0 for the
    # FSAL stage), tested both on the coefficients and through the kernel.
    np.testing.assert_allclose(dopri5.P.sum(axis=1), np.append(dopri5.B, 0.0), atol=1e-14)
    rng = np.random.default_rng(1)
    K = rng.normal(size=(7, 3))
    y = rng.normal(size=3)
    h = 0.3
    out = np.empty(3)
    dopri5._dense(2.0, h, y, K, 2.0 + h, out)
    np.testing.assert_allclose(out, y + h * (dopri5.B @ K[:6]), rtol=1e-14, atol=1e-14)


def test_radau5_tableau():
    A, C, T, TI, P, E = radau5.A, radau5.C, radau5.T, radau5.TI, radau5.P, radau5.E
    b = A[-1]                                   # stiffly accurate: B is the last row of A
    np.testing.assert_allclose(A.sum(axis=1), C, atol=1e-15)
    for k in range(1, 6):                       # quadrature order 5: sum b c^(k-1) = 1/k
        assert b @ C ** (k - 1) == pytest.approx(1.0 / k, abs=1e-15)
    for k in range(1, 4):                       # stage order 3: A c^(k-1) = c^k / k
        np.testing.assert_allclose(A @ C ** (k - 1), C ** k / k, atol=1e-15)
    # Eigen-decomposition used by the Newton iteration: TI A^-1 T is the real block
    # form of diag(mu_real, mu_complex, conj(mu_complex)).  T and TI are printed to
    # 17 digits, so they agree with the exact values to ~1e-15 relative.
    np.testing.assert_allclose(TI @ T, np.eye(3), atol=1e-14)
    mr, mc = radau5.MU_REAL, radau5.MU_COMPLEX
    block = np.array([[mr, 0, 0], [0, mc.real, -mc.imag], [0, mc.imag, mc.real]])
    np.testing.assert_allclose(TI @ np.linalg.inv(A) @ T, block, atol=1e-13)
    # The dense output (collocation polynomial) passes through the stage values:
    # sum_k P[s', k] c_s^(k+1) = delta(s', s).
    V = np.array([C, C ** 2, C ** 3])
    np.testing.assert_allclose(P @ V, np.eye(3), atol=1e-13)
    # The embedded estimate is exact for solutions of degree <= 3 (error O(h^4)).
    np.testing.assert_allclose([E @ C, E @ C ** 2, E @ C ** 3], [-1.0, 0.0, 0.0], atol=1e-13)


def test_rodas3_tableau_and_stability():
    """Rodas3 (KPP's tables): the solution and the error weights, and the stability function.

    The stability function R(z) = y1/y0 of one step on y' = lambda y (z = h lambda) is read
    from the kernel itself: L-stable means |R(z)| <= 1 on the closed left half-plane and
    R(z) -> 0 as z -> -inf (stiffly accurate: the last stage is the solution).
    """
    assert rodas3.GAMMA == 0.5 and rodas3.E @ np.ones(4) == 1.0
    np.testing.assert_array_equal(rodas3.M, [2.0, 0.0, 1.0, 1.0])
    assert (rodas3._C21, rodas3._C31, rodas3._C32, rodas3._C41, rodas3._C42, rodas3._C43) == tuple(
        rodas3.C[i, j] for i, j in ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2)))
    assert (rodas3._G1, rodas3._G2) == tuple(rodas3.GAMMAS[:2])

    def R(z):
        _, _, y, _, _ = integrate("rodas3", linear_rhs, [1.0], [z], 0.0, 1.0, rtol=1e3, atol=1e3,
                                  first_step=1.0, max_step=1.0)
        return y[0]

    # Exact rational stability function of an order-3 method agrees with e^z to O(z^4).
    for z in (-1e-2, -2e-2):
        assert abs(R(z) - np.exp(z)) < 0.1 * abs(z) ** 3
    # The Jacobian is a forward difference (relative error ~1e-8), hence the 1e-7 slack.
    for z in (-0.5, -1.0, -5.0, -30.0, -1e3):
        assert abs(R(z)) <= 1.0 + 1e-7, z
    assert abs(R(-1e8)) < 1e-6


def _robertson_stiff(method, robertson_refs):
    """Stiff Robertson to t = 1e5 with ``method`` at rtol 1e-6, atol 1e-10, checked against scipy Radau
    at rtol 1e-10 (outputs and end point within TOL_UNITS_BOUND tolerance units) and for its linear
    invariant y1 + y2 + y3 = 1 (kept by Runge-Kutta and Rosenbrock steps up to round-off, the Newton
    residual and the finite-difference Jacobian's error: measured 1e-16 .. 1e-15); returns the stats."""
    p, t1, out_t, ref_out, ref_end = robertson_refs["stiff"]
    rtol, atol = 1e-6, 1e-10
    status, _, y, y_out, stats = integrate(method, robertson_rhs, [1.0, 0.0, 0.0], p, 0.0, t1,
                                           out_t, rtol=rtol, atol=atol)
    assert status == SUCCESS
    assert tol_units(y_out, ref_out, rtol, atol) < TOL_UNITS_BOUND
    assert tol_units(y, ref_end, rtol, atol) < TOL_UNITS_BOUND
    assert abs(y.sum() - 1.0) < 1e-9
    return stats


def test_rodas3_robertson_stiff(robertson_refs):
    """Stiff Robertson (same bounds as radau5), and a Rosenbrock method's cost per step."""
    stats = _robertson_stiff("rodas3", robertson_refs)
    # Linearly implicit: one Jacobian (3 columns + the time derivative) and one LU per
    # attempted step, 3 further rhs calls per attempt (2 stages, the end point).
    attempts = stats[ST_STEPS] + stats[ST_REJECTED]
    assert stats[ST_LU] == attempts and stats[ST_JAC] <= attempts
    assert stats[ST_RHS] <= 1 + 4 * stats[ST_JAC] + 3 * attempts + 2
    # Stability: far fewer steps than an explicit method would need (dopri5 hits
    # 2000 steps before t = 1e5, test_max_steps).
    assert stats[ST_STEPS] < 2000


# ---- linear algebra ---------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("n", [1, 2, 7, 40])
def test_lu_solves_like_numpy(dtype, n):
    rng = np.random.default_rng(n)
    a = rng.normal(size=(n, n)).astype(dtype)
    b = rng.normal(size=n).astype(dtype)
    if dtype == np.complex128:
        a += 1j * rng.normal(size=(n, n))
        b += 1j * rng.normal(size=n)
    if n > 1:
        a[0, 0] = 0.0                            # force a row exchange
    lu = a.copy()
    piv = np.empty(n, np.int64)
    x = b.copy()
    assert lu_factor(lu, piv) == 0
    lu_solve(lu, piv, x)
    # Partial pivoting is backward stable: error ~ eps * cond(a), and these random
    # matrices have cond(a) < 1e4, so 1e-10 is a loose bound.
    np.testing.assert_allclose(x, np.linalg.solve(a, b), rtol=1e-10, atol=1e-10)


def test_lu_reports_singular_column():
    a = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])
    assert lu_factor(a.copy(), np.empty(3, np.int64)) == 3


# ---- order of convergence ---------------------------------------------------------

M_ORDER = np.array([[-1.0, 2.0, 0.0], [-2.0, -1.0, 0.0], [0.5, 0.0, -3.0]])  # eig -1±2i, -3
Y0_ORDER = np.array([1.0, 0.0, 0.5])
THETA = 0.37      # step fraction of the dense-output points (not a collocation node)
# Observed convergence exponents.  Step ends: both methods are of order 5.  Between
# step ends: dopri5's quartic interpolant is a continuous extension of order 4
# (local error h^5, so h^5 overall); radau5's cubic collocation polynomial has the
# stage order 3 (local error h^4).  rodas3 is of order 3, and its cubic Hermite
# interpolant (local error h^4) keeps that order between step ends.
EXPECTED = {"dopri5": (5, 5), "radau5": (5, 4), "rodas3": (3, 3)}


@pytest.mark.parametrize("method", ["dopri5", "radau5", "rodas3"])
def test_observed_order(method):
    """Fixed steps h = 2^-4 .. 2^-7 on [0, 1] (dyadic, so t lands on 1 exactly).

    first_step = max_step = h fixes the step; rtol = 1e3 makes every error
    estimate pass (checked: no rejection).  With atol = 1 the Jacobian used by
    radau5's Newton iteration is accurate to ~1e-8, so two iterations solve the
    linear collocation system to round-off and only the truncation error is seen.
    Errors run from ~1e-7 down to ~1e-13, far above round-off (~1e-15).
    """
    hs = 2.0 ** -np.arange(4, 8)
    end_err, dense_err = [], []
    for h in hs:
        n_steps = int(round(1.0 / h))
        out_t = (np.arange(n_steps) + THETA) * h
        status, t_reached, y, y_out, stats = integrate(
            method, linear_rhs, Y0_ORDER, M_ORDER.ravel(), 0.0, 1.0, out_t,
            rtol=1e3, atol=1.0, first_step=h, max_step=h)
        assert status == SUCCESS and t_reached == 1.0
        assert stats[ST_STEPS] == n_steps and stats[ST_REJECTED] == 0
        end_err.append(np.max(np.abs(y - expm(M_ORDER) @ Y0_ORDER)))
        ref = np.array([expm(M_ORDER * t) @ Y0_ORDER for t in out_t])
        dense_err.append(np.max(np.abs(y_out - ref)))
    end_order, dense_order = EXPECTED[method]
    slope_end = np.polyfit(np.log(hs), np.log(end_err), 1)[0]
    slope_dense = np.polyfit(np.log(hs), np.log(dense_err), 1)[0]
    assert abs(slope_end - end_order) < 0.5, (slope_end, end_err)
    assert abs(slope_dense - dense_order) < 0.5, (slope_dense, dense_err)


# ---- accuracy against references ----------------------------------------------------

# 2-compartment oral PK (amounts in mg, time in h): ka 1.2 /h, CL 8 L/h, Vc 40 L,
# Q 5 L/h, Vp 80 L; states depot, central, peripheral; 100 mg in the depot at t=0.
KA, CL, VC, Q, VP = 1.2, 8.0, 40.0, 5.0, 80.0
M_PK = np.array([
    [-KA, 0.0, 0.0],
    [KA, -(CL + Q) / VC, Q / VP],
    [0.0, Q / VC, -Q / VP],
])
Y0_PK = np.array([100.0, 0.0, 0.0])
T_PK = np.linspace(0.25, 71.75, 144)

# Adaptive codes control the local error per step; the global error is a modest
# multiple of the tolerance that grows with the number of steps and the problem's
# stability.  Measured (numba 0.68, x86-64): at most 3.4 tolerance units (dopri5's
# dense output on the PK problem; 0.55 at step ends), at most 0.25 for radau5,
# whose order-3 error estimate is conservative.  20 leaves room for other
# platforms while still catching a wrong coefficient or a broken interpolant
# (errors of 1e3 units and more).
TOL_UNITS_BOUND = 20.0


@pytest.mark.parametrize("method", ["dopri5", "radau5", "rodas3"])
def test_two_compartment_oral_pk_matches_expm(method):
    rtol, atol = 1e-6, 1e-9
    status, t_reached, y, y_out, stats = integrate(
        method, linear_rhs, Y0_PK, M_PK.ravel(), 0.0, 72.0, T_PK, rtol=rtol, atol=atol)
    assert status == SUCCESS and t_reached == 72.0
    ref = np.array([expm(M_PK * t) @ Y0_PK for t in T_PK])
    assert tol_units(y_out, ref, rtol, atol) < TOL_UNITS_BOUND
    assert tol_units(y, expm(M_PK * 72.0) @ Y0_PK, rtol, atol) < TOL_UNITS_BOUND
    assert stats[ST_SEGMENTS] == 1


@pytest.fixture(scope="module")
def robertson_refs():
    """scipy Radau at rtol 1e-10, atol 1e-12 (its error is ~1e-3 of our tolerances)."""
    refs = {}
    for name, p, t1, out_t in [
        ("mild", ROBERTSON_MILD, 10.0, np.linspace(0.05, 9.95, 100)),
        ("stiff", ROBERTSON_STIFF, 1e5, np.logspace(-5, 4.9, 100)),
    ]:
        sol = solve_ivp(_robertson_py(p), (0.0, t1), [1.0, 0.0, 0.0], method="Radau",
                        rtol=1e-10, atol=1e-12, dense_output=True)
        refs[name] = (p, t1, out_t, sol.sol(out_t).T, sol.y[:, -1])
    return refs


@pytest.mark.parametrize("method", ["dopri5", "radau5", "rodas3"])
def test_nonstiff_nonlinear_matches_scipy(method, robertson_refs):
    p, t1, out_t, ref_out, ref_end = robertson_refs["mild"]
    rtol, atol = 1e-6, 1e-9
    status, _, y, y_out, _ = integrate(method, robertson_rhs, [1.0, 0.0, 0.0], p, 0.0, t1,
                                       out_t, rtol=rtol, atol=atol)
    assert status == SUCCESS
    assert tol_units(y_out, ref_out, rtol, atol) < TOL_UNITS_BOUND
    assert tol_units(y, ref_end, rtol, atol) < TOL_UNITS_BOUND


def test_radau5_robertson_stiff(robertson_refs):
    stats = _robertson_stiff("radau5", robertson_refs)
    p, t1 = robertson_refs["stiff"][:2]
    rtol, atol = 1e-6, 1e-10
    # A port of scipy's Radau takes the same steps (measured: 188 steps, 41 Jacobians,
    # 206 LU for both at these tolerances); a larger count means that the step-size,
    # Jacobian or LU-reuse control regressed.
    sol = solve_ivp(_robertson_py(p), (0.0, t1), [1.0, 0.0, 0.0], method="Radau",
                    rtol=rtol, atol=atol)
    assert stats[ST_STEPS] <= 1.2 * (sol.t.size - 1)
    assert stats[ST_JAC] <= 1.2 * sol.njev and stats[ST_LU] <= 1.2 * sol.nlu


@pytest.mark.parametrize("method", ["dopri5", "radau5", "rodas3"])
def test_infusion_rate_adds_to_rhs(method):
    """y' = -k y + r, y(0) = 1: y = r/k + (1 - r/k) e^{-k t}.

    Also checks the output bookkeeping: only out_t[m0:m1] are written, into the
    rows out_row names.
    """
    k, r, rtol, atol = 0.3, 2.0, 1e-8, 1e-10
    out_t = np.array([-1.0, 0.5, 2.0, 7.5, 99.0])   # first and last lie outside m0:m1
    out_row = np.array([0, 4, 3, 2, 1])
    y_out = np.full((5, 1), np.nan)
    y = np.array([1.0])
    stats = np.zeros(N_STATS, np.int64)
    status, t_reached = SEGMENTS[method](
        linear_rhs, 0.0, 10.0, y, np.array([-k]), np.array([r]), out_t, out_row, 1, 4, y_out,
        np.array([atol]), make_opts(rtol, 100_000, 0.0, np.inf), stats)
    assert status == SUCCESS and t_reached == 10.0
    exact = lambda t: r / k + (1.0 - r / k) * np.exp(-k * t)  # noqa: E731
    assert tol_units(y[0], exact(10.0), rtol, atol) < TOL_UNITS_BOUND
    assert tol_units(y_out[[4, 3, 2], 0], exact(out_t[1:4]), rtol, atol) < TOL_UNITS_BOUND
    assert np.isnan(y_out[[0, 1], 0]).all()


# ---- output times, restarts, statuses -----------------------------------------------

@pytest.mark.parametrize("method,rhs,p,y0,t1", [
    ("dopri5", linear_rhs, M_PK.ravel(), Y0_PK, 72.0),
    ("radau5", linear_rhs, M_PK.ravel(), Y0_PK, 72.0),
    ("radau5", robertson_rhs, ROBERTSON_STIFF, [1.0, 0.0, 0.0], 1e5),
    ("rodas3", linear_rhs, M_PK.ravel(), Y0_PK, 72.0),
    ("rodas3", robertson_rhs, ROBERTSON_STIFF, [1.0, 0.0, 0.0], 1e5),
])
def test_output_times_do_not_change_the_solution(method, rhs, p, y0, t1):
    _, _, y_plain, _, stats_plain = integrate(method, rhs, y0, p, 0.0, t1)
    dense_t = np.sort(np.random.default_rng(0).uniform(0.0, t1, 500))
    _, _, y_dense, y_out, stats_dense = integrate(method, rhs, y0, p, 0.0, t1, dense_t)
    np.testing.assert_array_equal(y_plain, y_dense)
    np.testing.assert_array_equal(stats_plain, stats_dense)
    assert np.isfinite(y_out).all()


@pytest.mark.parametrize("method", ["dopri5", "radau5", "rodas3"])
def test_empty_segment_is_a_no_op(method):
    status, t_reached, y, _, stats = integrate(method, linear_rhs, Y0_PK, M_PK.ravel(), 5.0, 5.0)
    assert status == SUCCESS and t_reached == 5.0
    np.testing.assert_array_equal(y, Y0_PK)
    assert stats[ST_SEGMENTS] == 1 and stats[ST_STEPS] == 0


@pytest.mark.parametrize("method,max_steps", [("dopri5", 2000), ("radau5", 10), ("rodas3", 10)])
def test_max_steps(method, max_steps):
    # dopri5 on stiff Robertson is stability-limited to h ~ 1e-4 (needs ~1e9 steps).
    status, t_reached, _, _, stats = integrate(method, robertson_rhs, [1.0, 0.0, 0.0],
                                               ROBERTSON_STIFF, 0.0, 1e5, max_steps=max_steps)
    assert status == MAX_STEPS
    assert 0.0 < t_reached < 1e5
    assert stats[ST_STEPS] + stats[ST_REJECTED] == max_steps


@pytest.mark.parametrize("method", ["dopri5", "radau5", "rodas3"])
def test_non_finite_rhs_at_start(method):
    status, t_reached, _, _, stats = integrate(method, linear_rhs, [1.0, 1.0],
                                               [np.nan, 0.0, 0.0, -1.0], 0.0, 1.0)
    assert status == NON_FINITE and t_reached == 0.0
    assert stats[ST_STEPS] == 0


@pytest.mark.parametrize("method", ["dopri5", "radau5", "rodas3"])
def test_non_finite_when_the_solution_overflows(method):
    # y' = 60 y, y(0) = 1 passes the largest float64 (1.8e308) at t = ln(1.8e308)/60 = 11.83.
    status, t_reached, _, _, _ = integrate(method, linear_rhs, [1.0], [60.0], 0.0, 20.0)
    assert status == NON_FINITE
    assert 11.0 < t_reached <= np.log(np.finfo(np.float64).max) / 60.0


def test_radau5_newton_fails_at_a_jump_in_the_derivative():
    # y' = -1000 sign(y), y(0) = 1 reaches 0 at t = 1e-3; past it the collocation
    # equations have no solution, so the step shrinks on Newton failures until it
    # is too small.  The solver must stop there, not chatter up to max_steps.
    status, t_reached, y, _, stats = integrate("radau5", sign_switch_rhs, [1.0], [1e3], 0.0, 10.0)
    assert status == NEWTON_FAILED
    assert abs(t_reached - 1e-3) < 1e-6 and abs(y[0]) < 1e-3
    assert stats[ST_STEPS] + stats[ST_REJECTED] < 1000


def test_stats_count_work():
    _, _, _, _, stats = integrate("radau5", robertson_rhs, [1.0, 0.0, 0.0], ROBERTSON_STIFF,
                                  0.0, 1.0)
    # One Jacobian (3 columns) at the start, and 3 rhs calls per Newton iteration.
    assert stats[ST_JAC] >= 1 and stats[ST_LU] >= 2 and stats[ST_LU] % 2 == 0
    assert stats[ST_RHS] >= 3 * stats[ST_JAC] + 3 * stats[ST_STEPS]
    _, _, _, _, stats = integrate("dopri5", linear_rhs, Y0_PK, M_PK.ravel(), 0.0, 1.0)
    assert stats[ST_JAC] == 0 and stats[ST_LU] == 0
    assert stats[ST_RHS] >= 6 * (stats[ST_STEPS] + stats[ST_REJECTED])


# ---- registry and options -----------------------------------------------------------

def test_registry():
    assert set(SOLVERS) == {"dopri5", "radau5", "rodas3"}
    for name, method in SOLVERS.items():
        assert isinstance(method, Method) and method.name == name
        assert method.order == {"dopri5": 5, "radau5": 5, "rodas3": 3}[name]
        assert method.segment is SEGMENTS[name]
    assert get_method("radau5").stiff and get_method("rodas3").stiff and not get_method("dopri5").stiff
    with pytest.raises(InputError) as exc:
        get_method("lsoda")
    assert str(exc.value) == "solver.method: unknown method 'lsoda'; valid: dopri5, radau5, rodas3"


def test_solver_options_arrays():
    opts = SolverOptions(method="radau5", rtol=1e-8, atol=[1e-9, 1e-12], max_steps=50,
                         first_step=0.1, max_step=2.0)
    arr = opts.opts_array()
    assert arr.dtype == np.float64 and arr.shape == (N_OPTS,)
    assert (arr[OPT_RTOL], arr[OPT_MAX_STEPS], arr[OPT_FIRST_STEP], arr[OPT_MAX_STEP]) == (
        1e-8, 50.0, 0.1, 2.0)
    np.testing.assert_array_equal(opts.atol_array(2), [1e-9, 1e-12])
    np.testing.assert_array_equal(SolverOptions().atol_array(3), [1e-9] * 3)
    assert opts.solver is SOLVERS["radau5"]
    with pytest.raises(InputError, match=r"^solver\.atol: must have 3 entries"):
        opts.atol_array(3)


@pytest.mark.parametrize("kwargs,message", [
    ({"rtol": -1}, "solver.rtol: must be > 0, got -1"),
    ({"rtol": 1e-20}, f"solver.rtol: must be >= {MIN_RTOL:.3g} and < 1, got 1e-20"),
    ({"rtol": "1e-6"}, "solver.rtol: must be a number, got '1e-6'"),
    ({"atol": 0.0}, "solver.atol: must be > 0 and finite, got 0.0"),
    ({"atol": [1e-9, -1.0]}, "solver.atol[1]: must be > 0 and finite, got -1.0"),
    ({"atol": []}, "solver.atol: must not be empty"),
    ({"max_steps": 0}, "solver.max_steps: must be >= 1, got 0"),
    ({"max_steps": 10.5}, "solver.max_steps: must be an integer, got 10.5"),
    ({"first_step": -0.1}, "solver.first_step: must be >= 0 h and finite (0 = automatic), got -0.1"),
    ({"max_step": 0}, "solver.max_step: must be > 0 h, got 0"),
    ({"method": "rk4"}, "solver.method: unknown method 'rk4'; valid: dopri5, radau5, rodas3"),
])
def test_solver_options_validation(kwargs, message):
    with pytest.raises(InputError) as exc:
        SolverOptions(**kwargs)
    assert str(exc.value) == message
