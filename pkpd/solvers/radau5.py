"""Radau IIA of order 5: implicit 3-stage collocation for stiff systems.

The algorithm is a port of ``scipy.integrate.Radau`` (``scipy/integrate/_ivp/radau.py``,
BSD-3-Clause, Copyright (c) 2001-2002 Enthought, Inc. and 2003- SciPy Developers),
which follows Hairer & Wanner's RADAU5:

* the collocation system is solved by simplified Newton iterations in the
  eigenbasis of the Radau matrix ``A = T diag(mu_real, mu_complex, conj) T^-1``, so
  each iteration needs one real and one complex n x n solve
  (:mod:`pkpd.solvers._linalg`);
* the Newton iterations stop early when their observed contraction rate predicts
  failure, the Jacobian is re-evaluated (forward differences, with scipy's
  ``num_jac`` step-size heuristics, or the model's analytic ``jac`` when
  ``opts[OPT_JACOBIAN]`` is 1) when Newton converges slowly, and LU
  factorisations are reused while the step size changes by less than 20 %;
* the local error is estimated with the embedded order-3 formula filtered through
  ``(mu_real/h I - J)^-1`` (order of the estimate: h**4, hence ``ERROR_ORDER = 3``),
  and the step size follows the predictive (Gustafsson) controller;
* dense output is the collocation polynomial (cubic in the step fraction), which
  also predicts the starting Newton iterate of the next step.

Solution values at step ends are of order 5; the dense output between step ends
has local error O(h**4) (stage order 3).

Departures from scipy:

* the Jacobian's perturbation floor for a state near zero is ``atol/rtol`` (the
  magnitude below which the state counts as zero) instead of ``atol``, whose
  perturbation is lost in the round-off of ``f`` for every compartment that
  starts a segment empty;
* on failure paths: a Newton failure counts as a rejected step (so ``max_steps``
  bounds every loop); a non-finite error estimate or end-point derivative rejects
  the step (scipy would accept a NaN error norm);
* the Jacobian and end-point derivative are not evaluated after the step that
  reaches ``t1`` (the segment ends there), and the LU factors are recomputed when
  the step size differs by more than 0.1 % from the one they were computed for
  (scipy reuses them on the step cut short at the end of the interval).

With these, step, Jacobian and LU counts on Robertson's problem equal scipy's
(``tests/test_solvers.py``).

References
----------
E. Hairer, G. Wanner, *Solving Ordinary Differential Equations II: Stiff and
Differential-Algebraic Problems*, 2nd ed., Springer 1996, Sec. IV.8.
scipy ``scipy/integrate/_ivp/radau.py`` and ``_ivp/common.py::num_jac``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from pkpd.solvers._common import (
    MAX_FACTOR, MIN_FACTOR, OPT_FIRST_STEP, OPT_JACOBIAN, OPT_MAX_STEP, OPT_MAX_STEPS, OPT_RTOL,
    ST_JAC, ST_LU, ST_REJECTED, ST_RHS, ST_SEGMENTS, ST_STEPS, all_finite, analytic_jacobian, error_norm,
    add_rate, any_rate, eval_rhs, initial_step,
)
from pkpd.signatures import SEGMENT_SIGNATURE, SEGMENT_SIGNATURE_NO_JAC
from pkpd.solvers._linalg import lu_factor, lu_solve
from pkpd.solvers.status import MAX_STEPS, NEWTON_FAILED, NON_FINITE, STEP_TOO_SMALL, SUCCESS

ORDER = 5
ERROR_ORDER = 3
STIFF = True

S6 = 6.0 ** 0.5
# Collocation nodes (Radau points on [0, 1]) and the Butcher matrix, which the
# algorithm only uses through its eigendecomposition below (kept for the tests).
C = np.array([(4.0 - S6) / 10.0, (4.0 + S6) / 10.0, 1.0])
A = np.array([
    [(88.0 - 7.0 * S6) / 360.0, (296.0 - 169.0 * S6) / 1800.0, (-2.0 + 3.0 * S6) / 225.0],
    [(296.0 + 169.0 * S6) / 1800.0, (88.0 + 7.0 * S6) / 360.0, (-2.0 - 3.0 * S6) / 225.0],
    [(16.0 - S6) / 36.0, (16.0 + S6) / 36.0, 1.0 / 9.0],
])
# Error estimate: err = (mu_real/h I - J)^-1 (f(t, y) + Z^T E / h).
E = np.array([-13.0 - 7.0 * S6, -13.0 + 7.0 * S6, -1.0]) / 3.0
# Eigenvalues of A^-1: one real and a complex-conjugate pair.
MU_REAL = 3.0 + 3.0 ** (2.0 / 3.0) - 3.0 ** (1.0 / 3.0)
MU_COMPLEX = (3.0 + 0.5 * (3.0 ** (1.0 / 3.0) - 3.0 ** (2.0 / 3.0))
              - 0.5j * (3.0 ** (5.0 / 6.0) + 3.0 ** (7.0 / 6.0)))
# A^-1 = T diag(MU_REAL, MU_COMPLEX, conj(MU_COMPLEX)) T^-1 in real block form;
# the stage increments Z (3, n) and the transformed variables are W = TI Z.
T = np.array([
    [0.09443876248897524, -0.14125529502095421, 0.03002919410514742],
    [0.25021312296533332, 0.20412935229379994, -0.38294211275726192],
    [1.0, 1.0, 0.0],
])
TI = np.array([
    [4.17871859155190428, 0.32768282076106237, 0.52337644549944951],
    [-4.17871859155190428, -0.32768282076106237, 0.47662355450055044],
    [0.50287263494578682, -2.57192694985560522, 0.59603920482822492],
])
# Dense output: y(t + x h) = y + sum_k Q[k] x**(k+1), with Q = P^T Z (P is 3 x 3).
P = np.array([
    [13.0 / 3.0 + 7.0 * S6 / 3.0, -23.0 / 3.0 - 22.0 * S6 / 3.0, 10.0 / 3.0 + 5.0 * S6],
    [13.0 / 3.0 - 7.0 * S6 / 3.0, -23.0 / 3.0 + 22.0 * S6 / 3.0, 10.0 / 3.0 - 5.0 * S6],
    [1.0 / 3.0, -8.0 / 3.0, 10.0 / 3.0],
])

NEWTON_MAXITER = 6          # Newton iterations allowed per attempt (scipy, RADAU5 default 7)
JAC_RECOMPUTE_RATE = 1e-3   # re-evaluate J after a step whose Newton rate exceeded this
LU_REUSE_FACTOR = 1.2       # keep h (and the LU factors) if it would grow by less than this
LU_STALE_RTOL = 1e-3        # refactor if h moved further than this from the factors' h (the
                            # step cut short at t1; t + h - t differs from h only by round-off)

# Forward-difference Jacobian heuristics (scipy _ivp/common.py::num_jac).
EPS = np.finfo(np.float64).eps
NUM_JAC_DIFF_REJECT = EPS ** 0.875
NUM_JAC_DIFF_SMALL = EPS ** 0.75
NUM_JAC_DIFF_BIG = EPS ** 0.25
NUM_JAC_MIN_FACTOR = 1e3 * EPS
NUM_JAC_FACTOR_INCREASE = 10.0
NUM_JAC_FACTOR_DECREASE = 0.1

# Why the last attempt failed (picks the status when the step becomes too small).
_FAIL_ERROR = 0
_FAIL_NEWTON = 1
_FAIL_NONFINITE = 2


@njit(cache=True)
def _column_diff(f, f1):
    """Largest ``|f1 - f|`` over rows, and ``max(|f|, |f1|)`` on that row (round-off scale)."""
    imax = 0
    dmax = -1.0
    for i in range(f.shape[0]):
        d = abs(f1[i] - f[i])
        if d > dmax:
            dmax = d
            imax = i
    return dmax, max(abs(f[imax]), abs(f1[imax]))


@njit(cache=True)
def num_jac(rhs, t, y, f, p, rate, threshold, factor, J, work, stats):
    """Forward-difference Jacobian ``J[i, j] = d f_i / d y_j`` (port of scipy's ``num_jac``).

    Column ``j`` is perturbed by ``factor[j] * sign(f_j) * max(|y_j|, threshold_j)``;
    ``factor`` (shape (n,), start at sqrt(eps)) is adapted in place so that the
    difference stays well above its round-off (``eps * |f|``) on later calls, and a
    column whose difference drowns in round-off is retried once with a 10x step.

    Parameters
    ----------
    rhs : compiled ``rhs(t, y, p, dydt)`` (:data:`pkpd.signatures.RHS_SIGNATURE`); t : float, h.
    y, f : ndarray, shape (n,): state and ``rhs + rate`` at (t, y).
    p : ndarray, model parameters; rate : ndarray, shape (n,), infusion rates.
    threshold : ndarray, shape (n,): floor of the perturbation scale, for states near 0.
    factor : ndarray, shape (n,): relative perturbation per column (updated).
    J : ndarray, shape (n, n): output.
    work : ndarray, shape (3, n): scratch.
    stats : ndarray of int64: ``ST_RHS`` and ``ST_JAC`` are incremented.
    """
    n = y.shape[0]
    ytmp = work[0]
    f1 = work[1]
    f2 = work[2]
    for i in range(n):
        ytmp[i] = y[i]
    infusing = any_rate(rate)
    for j in range(n):
        y_scale = max(threshold[j], abs(y[j]))
        if f[j] < 0.0:
            y_scale = -y_scale
        hj = (y[j] + factor[j] * y_scale) - y[j]
        while hj == 0.0:
            factor[j] *= NUM_JAC_FACTOR_INCREASE
            hj = (y[j] + factor[j] * y_scale) - y[j]
        ytmp[j] = y[j] + hj
        rhs(t, ytmp, p, f1)
        if infusing:
            add_rate(f1, rate)
        stats[ST_RHS] += 1
        max_diff, scale = _column_diff(f, f1)
        if max_diff < NUM_JAC_DIFF_REJECT * scale:
            new_factor = NUM_JAC_FACTOR_INCREASE * factor[j]
            h_new = (y[j] + new_factor * y_scale) - y[j]
            ytmp[j] = y[j] + h_new
            rhs(t, ytmp, p, f2)
            if infusing:
                add_rate(f2, rate)
            stats[ST_RHS] += 1
            max_diff_new, scale_new = _column_diff(f, f2)
            if max_diff * scale_new < max_diff_new * scale:
                factor[j] = new_factor
                hj = h_new
                for i in range(n):
                    f1[i] = f2[i]
                max_diff = max_diff_new
                scale = scale_new
        ytmp[j] = y[j]
        for i in range(n):
            J[i, j] = (f1[i] - f[i]) / hj
        if max_diff < NUM_JAC_DIFF_SMALL * scale:
            factor[j] *= NUM_JAC_FACTOR_INCREASE
        elif max_diff > NUM_JAC_DIFF_BIG * scale:
            factor[j] *= NUM_JAC_FACTOR_DECREASE
        factor[j] = max(factor[j], NUM_JAC_MIN_FACTOR)
    stats[ST_JAC] += 1


@njit(cache=True)
def _jacobian(jac, analytic, rhs, t, y, f, p, rate, threshold, factor, J, work, stats):
    """``J = df/dy`` at ``(t, y)``: the model's ``jac`` when ``analytic``, else :func:`num_jac`.

    ``jac`` is None in a call of the segment without it (then always finite
    differences; Numba compiles that case without the branch).
    """
    if jac is None:
        num_jac(rhs, t, y, f, p, rate, threshold, factor, J, work, stats)
    elif analytic:
        analytic_jacobian(jac, t, y, p, J, stats)
    else:
        num_jac(rhs, t, y, f, p, rate, threshold, factor, J, work, stats)


@njit(cache=True)
def _factor_iteration_matrices(J, h, lu_real, piv_real, lu_complex, piv_complex, stats):
    """LU factors of ``MU_REAL/h I - J`` and ``MU_COMPLEX/h I - J``; True if both are regular."""
    n = J.shape[0]
    mu_r = MU_REAL / h
    mu_c = MU_COMPLEX / h
    for i in range(n):
        for j in range(n):
            lu_real[i, j] = -J[i, j]
            lu_complex[i, j] = -J[i, j]
        lu_real[i, i] += mu_r
        lu_complex[i, i] += mu_c
    info_r = lu_factor(lu_real, piv_real)
    info_c = lu_factor(lu_complex, piv_complex)
    stats[ST_LU] += 2
    return info_r == 0 and info_c == 0


@njit(cache=True)
def _solve_collocation(rhs, t, y, h, p, rate, Z, scale, tol, lu_real, piv_real,
                       lu_complex, piv_complex, W, dW, F, ytmp, f_real, f_complex, stats):
    """Simplified Newton iterations for the stage increments ``Z`` (scipy ``solve_collocation_system``).

    ``Z`` (shape (3, n)) holds the starting guess on entry and the iterate on exit:
    the stage values are ``y + Z[s]`` at ``t + C[s] h``.  ``scale`` (shape (n,)) is
    ``atol + rtol |y|``; iterations stop when the predicted remaining error, in
    units of ``scale``, is below ``tol``.

    Returns ``(converged, n_iter, rate, non_finite)``: ``rate`` is the last observed
    contraction factor (-1 if fewer than two iterations ran), ``non_finite`` says the
    right-hand side returned NaN/inf at a stage value or the Newton update overflowed.
    """
    n = y.shape[0]
    mu_r = MU_REAL / h
    mu_c = MU_COMPLEX / h
    for s in range(3):
        for i in range(n):
            W[s, i] = TI[s, 0] * Z[0, i] + TI[s, 1] * Z[1, i] + TI[s, 2] * Z[2, i]
    ti_c0 = TI[1, 0] + 1j * TI[2, 0]
    ti_c1 = TI[1, 1] + 1j * TI[2, 1]
    ti_c2 = TI[1, 2] + 1j * TI[2, 2]
    dW_norm_old = -1.0
    conv_rate = -1.0
    converged = False
    non_finite = False
    k = 0
    infusing = any_rate(rate)
    for k in range(NEWTON_MAXITER):
        for s in range(3):
            for i in range(n):
                ytmp[i] = y[i] + Z[s, i]
            rhs(t + C[s] * h, ytmp, p, F[s])
            if infusing:
                add_rate(F[s], rate)
        stats[ST_RHS] += 3
        if not (all_finite(F[0]) and all_finite(F[1]) and all_finite(F[2])):
            non_finite = True
            break
        for i in range(n):
            f_real[i] = (TI[0, 0] * F[0, i] + TI[0, 1] * F[1, i] + TI[0, 2] * F[2, i]
                         - mu_r * W[0, i])
            f_complex[i] = (ti_c0 * F[0, i] + ti_c1 * F[1, i] + ti_c2 * F[2, i]
                            - mu_c * (W[1, i] + 1j * W[2, i]))
        lu_solve(lu_real, piv_real, f_real)
        lu_solve(lu_complex, piv_complex, f_complex)
        acc = 0.0
        for i in range(n):
            dW[0, i] = f_real[i]
            dW[1, i] = f_complex[i].real
            dW[2, i] = f_complex[i].imag
            for s in range(3):
                e = dW[s, i] / scale[i]
                acc += e * e
        dW_norm = np.sqrt(acc / (3 * n))
        if not np.isfinite(dW_norm):    # overflow in the linear algebra (state near 1e308)
            non_finite = True
            break
        if dW_norm_old >= 0.0:
            conv_rate = dW_norm / dW_norm_old
            if (conv_rate >= 1.0
                    or conv_rate ** (NEWTON_MAXITER - k) / (1.0 - conv_rate) * dW_norm > tol):
                break
        for s in range(3):
            for i in range(n):
                W[s, i] += dW[s, i]
        for s in range(3):
            for i in range(n):
                Z[s, i] = T[s, 0] * W[0, i] + T[s, 1] * W[1, i] + T[s, 2] * W[2, i]
        if dW_norm == 0.0 or (conv_rate >= 0.0 and conv_rate / (1.0 - conv_rate) * dW_norm < tol):
            converged = True
            break
        dW_norm_old = dW_norm
    return converged, k + 1, conv_rate, non_finite


@njit(cache=True)
def _predict_factor(h_abs, h_abs_old, err, err_old):
    """Step-size factor of Gustafsson's predictive controller (Hairer & Wanner II, Sec. IV.8).

    ``h_abs_old`` or ``err_old`` < 0 means "no previous step" (one-step formula).
    """
    if err == 0.0:
        return np.inf
    if err_old < 0.0 or h_abs_old < 0.0:
        multiplier = 1.0
    else:
        multiplier = h_abs / h_abs_old * (err_old / err) ** 0.25
    return min(1.0, multiplier) * err ** -0.25


@njit([SEGMENT_SIGNATURE, SEGMENT_SIGNATURE_NO_JAC], cache=True)
def radau5_segment(rhs, t0, t1, y, p, rate, out_t, out_row, m0, m1, y_out, atol, opts, stats, jac=None):
    """Integrate ``dy/dt = rhs + rate`` from ``t0`` to ``t1`` with Radau IIA (order 5).

    See :mod:`pkpd.solvers._common` for the argument contract (shared with
    :func:`pkpd.solvers.dopri5.dopri5_segment`).  Dense output at ``out_t[m0:m1]``
    is the collocation polynomial of the step containing each time.  Counts:
    ``ST_RHS`` includes Jacobian columns (none with the analytic ``jac``), ``ST_LU``
    counts the real and the complex factorisation separately (as scipy's ``nlu``
    does), ``ST_REJECTED`` includes attempts abandoned because Newton failed.
    ``jac`` (:data:`pkpd.signatures.JAC_SIGNATURE`) is called for the Jacobian when
    ``opts[OPT_JACOBIAN]`` is 1; left out, or with 0, forward differences.

    Returns ``(status, t_reached)``; on success ``t_reached == t1`` and ``y`` holds
    y(t1).  Failure statuses: MAX_STEPS, STEP_TOO_SMALL (error test keeps failing),
    NEWTON_FAILED (Newton keeps diverging), NON_FINITE (rhs gives NaN/inf).
    """
    n = y.shape[0]
    rtol = opts[OPT_RTOL]
    max_steps = opts[OPT_MAX_STEPS]
    max_step = opts[OPT_MAX_STEP]
    analytic = opts[OPT_JACOBIAN] != 0.0
    stats[ST_SEGMENTS] += 1
    if not t1 > t0:
        return SUCCESS, t0

    # rhs is called directly in the loops, with the infusion rates added only when some
    # run (see pkpd.solvers._common.eval_rhs for why).
    infusing = any_rate(rate)
    f = np.empty(n)
    eval_rhs(rhs, t0, y, p, rate, f)
    stats[ST_RHS] += 1
    if not all_finite(f):
        return NON_FINITE, t0

    work = np.empty((3, n))
    h_prop = opts[OPT_FIRST_STEP]     # step proposed for the next step (scipy's self.h_abs)
    if h_prop <= 0.0:
        h_prop = initial_step(rhs, t0, y, f, p, rate, atol, rtol, ERROR_ORDER, t1 - t0,
                              max_step, work, stats)
    newton_tol = max(10.0 * EPS / rtol, min(0.03, np.sqrt(rtol)))

    # Perturbation floor of the Jacobian columns: scipy uses atol, which for a state
    # at 0 (every compartment before its first dose) gives a difference lost in the
    # round-off of f; atol/rtol, the magnitude below which the state counts as
    # zero, is the scale the user implied for it.
    jac_threshold = np.empty(n)
    for i in range(n):
        jac_threshold[i] = atol[i] / min(rtol, 1.0)
    J = np.empty((n, n))
    jac_factor = np.full(n, np.sqrt(EPS))
    _jacobian(jac, analytic, rhs, t0, y, f, p, rate, jac_threshold, jac_factor, J, work, stats)
    current_jac = True
    lu_real = np.empty((n, n))
    lu_complex = np.empty((n, n), dtype=np.complex128)
    piv_real = np.empty(n, dtype=np.int64)
    piv_complex = np.empty(n, dtype=np.int64)
    lu_valid = False               # factors of the iteration matrices are up to date
    lu_regular = True
    h_lu = 0.0                     # step size the factors were computed for

    Z0 = np.empty((3, n))          # starting Newton iterate
    Z = np.empty((3, n))
    W = np.empty((3, n))
    dW = np.empty((3, n))
    F = np.empty((3, n))
    Q = np.empty((3, n))           # dense-output coefficients of the last accepted step
    f_real = np.empty(n)
    f_complex = np.empty(n, dtype=np.complex128)
    ytmp = np.empty(n)
    scale = np.empty(n)
    y_new = np.empty(n)
    y_prev = np.empty(n)           # state at the start of the last accepted step
    f_new = np.empty(n)
    err = np.empty(n)
    ZE = np.empty(n)
    have_sol = False
    t_prev = t0
    h_prev = 0.0

    h_prop_old = -1.0              # proposal for the previous step (-1: none)
    err_old = -1.0                 # error norm of the previous step (-1: none)
    h_abs = h_prop
    h_abs_old = -1.0
    err_norm_old = -1.0
    new_step = True
    rejected = False
    fail = _FAIL_ERROR
    t = t0
    m = m0
    while t < t1:
        if stats[ST_STEPS] + stats[ST_REJECTED] >= max_steps:
            return MAX_STEPS, t
        min_step = 10.0 * np.spacing(abs(t) + abs(t1))
        if new_step:
            if h_prop > max_step:
                h_abs = max_step
                h_abs_old = -1.0
                err_norm_old = -1.0
            elif h_prop < min_step:
                h_abs = min_step
                h_abs_old = -1.0
                err_norm_old = -1.0
            else:
                h_abs = h_prop
                h_abs_old = h_prop_old
                err_norm_old = err_old
            rejected = False
            new_step = False
        if h_abs < min_step:
            if fail == _FAIL_NONFINITE:
                return NON_FINITE, t
            if fail == _FAIL_NEWTON:
                return NEWTON_FAILED, t
            return STEP_TOO_SMALL, t
        t_new = t + h_abs
        if t_new >= t1 - min_step:
            t_new = t1
        h = t_new - t
        h_abs = h

        # Starting iterate: the previous step's collocation polynomial, extrapolated.
        for s in range(3):
            if have_sol:
                x = (t + C[s] * h - t_prev) / h_prev
                for i in range(n):
                    Z0[s, i] = (y_prev[i] + x * (Q[0, i] + x * (Q[1, i] + x * Q[2, i]))) - y[i]
            else:
                for i in range(n):
                    Z0[s, i] = 0.0
        for i in range(n):
            scale[i] = atol[i] + rtol * abs(y[i])

        converged = False
        n_iter = 0
        conv_rate = -1.0
        non_finite = False
        while True:
            if not lu_valid or abs(h - h_lu) > LU_STALE_RTOL * h_lu:
                lu_regular = _factor_iteration_matrices(J, h, lu_real, piv_real, lu_complex,
                                                        piv_complex, stats)
                lu_valid = True
                h_lu = h
            if lu_regular:
                Z[:, :] = Z0
                converged, n_iter, conv_rate, non_finite = _solve_collocation(
                    rhs, t, y, h, p, rate, Z, scale, newton_tol, lu_real, piv_real,
                    lu_complex, piv_complex, W, dW, F, ytmp, f_real, f_complex, stats)
            if converged or current_jac:
                break
            # Slow or failed Newton with an old Jacobian: refresh it and retry.
            _jacobian(jac, analytic, rhs, t, y, f, p, rate, jac_threshold, jac_factor, J, work, stats)
            current_jac = True
            lu_valid = False

        if not converged:
            stats[ST_REJECTED] += 1
            fail = _FAIL_NONFINITE if non_finite else _FAIL_NEWTON
            h_abs *= 0.5
            lu_valid = False
            continue

        for i in range(n):
            y_new[i] = y[i] + Z[2, i]
            ZE[i] = (Z[0, i] * E[0] + Z[1, i] * E[1] + Z[2, i] * E[2]) / h
            err[i] = f[i] + ZE[i]
        lu_solve(lu_real, piv_real, err)
        en = error_norm(err, y, y_new, atol, rtol)
        safety = 0.9 * (2 * NEWTON_MAXITER + 1) / (2 * NEWTON_MAXITER + n_iter)
        if rejected and en > 1.0:
            # After a rejection the estimate is refined once (stiff components).
            for i in range(n):
                ytmp[i] = y[i] + err[i]
            rhs(t, ytmp, p, err)
            if infusing:
                add_rate(err, rate)
            stats[ST_RHS] += 1
            for i in range(n):
                err[i] += ZE[i]
            lu_solve(lu_real, piv_real, err)
            en = error_norm(err, y, y_new, atol, rtol)

        if not (np.isfinite(en) and all_finite(y_new)):
            stats[ST_REJECTED] += 1
            fail = _FAIL_NONFINITE
            h_abs *= 0.5
            lu_valid = False
            rejected = True
            continue
        if en > 1.0:
            stats[ST_REJECTED] += 1
            fail = _FAIL_ERROR
            factor = _predict_factor(h_abs, h_abs_old, en, err_norm_old)
            h_abs *= max(MIN_FACTOR, safety * factor)
            lu_valid = False
            rejected = True
            continue

        last = t_new >= t1
        if not last:
            rhs(t_new, y_new, p, f_new)
            if infusing:
                add_rate(f_new, rate)
            stats[ST_RHS] += 1
            if not all_finite(f_new):
                stats[ST_REJECTED] += 1
                fail = _FAIL_NONFINITE
                h_abs *= 0.5
                lu_valid = False
                rejected = True
                continue

        # ---- the step is accepted ----
        stats[ST_STEPS] += 1
        for k in range(3):
            for i in range(n):
                Q[k, i] = Z[0, i] * P[0, k] + Z[1, i] * P[1, k] + Z[2, i] * P[2, k]
        while m < m1 and out_t[m] <= t_new:
            x = (out_t[m] - t) / h
            row = y_out[out_row[m]]
            for i in range(n):
                row[i] = y[i] + x * (Q[0, i] + x * (Q[1, i] + x * Q[2, i]))
            m += 1
        if last:
            for i in range(n):
                y[i] = y_new[i]
            return SUCCESS, t1

        recompute_jac = n_iter > 2 and conv_rate > JAC_RECOMPUTE_RATE
        factor = min(MAX_FACTOR, safety * _predict_factor(h_abs, h_abs_old, en, err_norm_old))
        if not recompute_jac and factor < LU_REUSE_FACTOR:
            factor = 1.0
        else:
            lu_valid = False
        for i in range(n):
            y_prev[i] = y[i]
            y[i] = y_new[i]
            f[i] = f_new[i]
        have_sol = True
        t_prev = t
        h_prev = h
        t = t_new
        if recompute_jac:
            _jacobian(jac, analytic, rhs, t, y, f, p, rate, jac_threshold, jac_factor, J, work, stats)
            current_jac = True
        else:
            current_jac = False
        h_prop_old = h_prop
        err_old = en
        h_prop = h_abs * factor
        new_step = True
    return SUCCESS, t1
