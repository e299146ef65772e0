"""Dormand–Prince 5(4): explicit adaptive Runge–Kutta with quartic dense output.

Order 5 (local extrapolation), embedded order-4 error estimate, FSAL, and the
continuous extension of Shampine (1986) for output between steps.  The tableau
below is the one used by ``scipy.integrate.RK45`` (same published constants).

References
----------
J. R. Dormand, P. J. Prince, "A family of embedded Runge-Kutta formulae",
J. Comput. Appl. Math. 6(1):19-26, 1980.
L. W. Shampine, "Some practical Runge-Kutta formulas", Math. Comp. 46(173):135-150, 1986.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from pkpd.solvers._common import (
    MAX_FACTOR, OPT_FIRST_STEP, OPT_MAX_STEP, OPT_MAX_STEPS, OPT_RTOL, ST_REJECTED, ST_RHS, ST_SEGMENTS,
    ST_STEPS, add_rate, all_finite, any_rate, error_norm, eval_rhs, initial_step, next_step, step_factor,
)
from pkpd.signatures import SEGMENT_SIGNATURE, SEGMENT_SIGNATURE_NO_JAC
from pkpd.solvers.status import NON_FINITE, SUCCESS

ORDER = 5
ERROR_ORDER = 4
STIFF = False

C = np.array([0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0])
A = np.array([
    [0.0, 0.0, 0.0, 0.0, 0.0],
    [1 / 5, 0.0, 0.0, 0.0, 0.0],
    [3 / 40, 9 / 40, 0.0, 0.0, 0.0],
    [44 / 45, -56 / 15, 32 / 9, 0.0, 0.0],
    [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729, 0.0],
    [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
])
B = np.array([35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84])
# E = (5th-order weights) - (4th-order weights), over the 7 stages (FSAL stage last).
E = np.array([-71 / 57600, 0.0, 71 / 16695, -71 / 1920, 17253 / 339200, -22 / 525, 1 / 40])
# Dense output: y(t + theta*h) = y + h * sum_s K_s * sum_k P[s, k] * theta**(k+1).
P = np.array([
    [1.0, -8048581381 / 2820520608, 8663915743 / 2820520608, -12715105075 / 11282082432],
    [0.0, 0.0, 0.0, 0.0],
    [0.0, 131558114200 / 32700410799, -68118460800 / 10900136933, 87487479700 / 32700410799],
    [0.0, -1754552775 / 470086768, 14199869525 / 1410260304, -10690763975 / 1880347072],
    [0.0, 127303824393 / 49829197408, -318862633887 / 49829197408, 701980252875 / 199316789632],
    [0.0, -282668133 / 205662961, 2019193451 / 616988883, -1453857185 / 822651844],
    [0.0, 40617522 / 29380423, -110615467 / 29380423, 69997945 / 29380423],
])

# The tableau as scalars (module-level floats are compile-time constants in Numba).
_C1, _C2, _C3, _C4, _C5 = (float(C[s]) for s in range(1, 6))
_A10 = float(A[1, 0])
_A20, _A21 = float(A[2, 0]), float(A[2, 1])
_A30, _A31, _A32 = (float(A[3, j]) for j in range(3))
_A40, _A41, _A42, _A43 = (float(A[4, j]) for j in range(4))
_A50, _A51, _A52, _A53, _A54 = (float(A[5, j]) for j in range(5))
_B0, _B2, _B3, _B4, _B5 = (float(B[j]) for j in (0, 2, 3, 4, 5))
_E0, _E2, _E3, _E4, _E5, _E6 = (float(E[j]) for j in (0, 2, 3, 4, 5, 6))
assert B[1] == 0.0 and E[1] == 0.0


@njit(cache=True)
def _dense(t, h, y, K, t_eval, out):
    """Write the quartic interpolant at ``t_eval`` (within the step [t, t+h]) into ``out``."""
    theta = (t_eval - t) / h
    n = y.shape[0]
    b = np.empty(7)
    for s in range(7):
        th = theta
        acc = 0.0
        for k in range(4):
            acc += P[s, k] * th
            th *= theta
        b[s] = acc
    for i in range(n):
        acc = 0.0
        for s in range(7):
            acc += b[s] * K[s, i]
        out[i] = y[i] + h * acc


@njit([SEGMENT_SIGNATURE, SEGMENT_SIGNATURE_NO_JAC], cache=True)
def dopri5_segment(rhs, t0, t1, y, p, rate, out_t, out_row, m0, m1, y_out, atol, opts, stats, jac=None):
    """Integrate ``dy/dt = rhs + rate`` from ``t0`` to ``t1`` with Dormand–Prince 5(4).

    See :mod:`pkpd.solvers._common` for the argument contract; an explicit method,
    it ignores ``jac`` and ``opts[OPT_JACOBIAN]``.  Returns
    ``(status, t_reached)``; on success ``t_reached == t1`` and ``y`` holds y(t1).
    """
    n = y.shape[0]
    rtol = opts[OPT_RTOL]
    max_steps = opts[OPT_MAX_STEPS]
    max_step = opts[OPT_MAX_STEP]
    stats[ST_SEGMENTS] += 1
    if not t1 > t0:
        return SUCCESS, t0
    K = np.empty((7, n))
    y_new = np.empty(n)
    tmp = np.empty(n)
    err = np.empty(n)
    work = np.empty((2, n))

    eval_rhs(rhs, t0, y, p, rate, K[0])
    stats[ST_RHS] += 1
    if not all_finite(K[0]):
        return NON_FINITE, t0
    span = t1 - t0
    h = opts[OPT_FIRST_STEP]
    if h <= 0.0:
        h = initial_step(rhs, t0, y, K[0], p, rate, atol, rtol, ORDER, span, max_step, work, stats)
    h = min(h, span, max_step)

    k0, k1, k2, k3, k4, k5, k6 = K[0], K[1], K[2], K[3], K[4], K[5], K[6]
    infusing = any_rate(rate)
    t = t0
    m = m0
    rejected_last = False
    nonfinite_last = False
    while t < t1:
        status, t_new = next_step(stats[ST_STEPS] + stats[ST_REJECTED], max_steps, t, t1, h, nonfinite_last)
        if status != SUCCESS:
            return status, t
        h = t_new - t
        # Stages 2..6, the solution and the error estimate, written out stage by stage with
        # the tableau entries as compile-time constants (same sums, same order as the
        # tableau, zero entries skipped), so each loop over the states vectorises.
        # rhs is called directly, with the infusion rates added only when some run
        # (see pkpd.solvers._common.eval_rhs for why).
        for i in range(n):
            tmp[i] = y[i] + h * (_A10 * k0[i])
        rhs(t + _C1 * h, tmp, p, k1)
        if infusing:
            add_rate(k1, rate)
        for i in range(n):
            tmp[i] = y[i] + h * (_A20 * k0[i] + _A21 * k1[i])
        rhs(t + _C2 * h, tmp, p, k2)
        if infusing:
            add_rate(k2, rate)
        for i in range(n):
            tmp[i] = y[i] + h * (_A30 * k0[i] + _A31 * k1[i] + _A32 * k2[i])
        rhs(t + _C3 * h, tmp, p, k3)
        if infusing:
            add_rate(k3, rate)
        for i in range(n):
            tmp[i] = y[i] + h * (_A40 * k0[i] + _A41 * k1[i] + _A42 * k2[i] + _A43 * k3[i])
        rhs(t + _C4 * h, tmp, p, k4)
        if infusing:
            add_rate(k4, rate)
        for i in range(n):
            tmp[i] = y[i] + h * (_A50 * k0[i] + _A51 * k1[i] + _A52 * k2[i] + _A53 * k3[i] + _A54 * k4[i])
        rhs(t + _C5 * h, tmp, p, k5)
        if infusing:
            add_rate(k5, rate)
        for i in range(n):
            y_new[i] = y[i] + h * (_B0 * k0[i] + _B2 * k2[i] + _B3 * k3[i] + _B4 * k4[i] + _B5 * k5[i])
        rhs(t_new, y_new, p, k6)
        if infusing:
            add_rate(k6, rate)
        stats[ST_RHS] += 6
        for i in range(n):
            err[i] = h * (_E0 * k0[i] + _E2 * k2[i] + _E3 * k3[i] + _E4 * k4[i] + _E5 * k5[i] + _E6 * k6[i])
        en = error_norm(err, y, y_new, atol, rtol)
        if np.isfinite(en) and all_finite(k6) and en <= 1.0:
            while m < m1 and out_t[m] <= t_new:
                _dense(t, h, y, K, out_t[m], y_out[out_row[m]])
                m += 1
            factor = step_factor(en, ERROR_ORDER, MAX_FACTOR, rejected_last)
            for i in range(n):
                y[i] = y_new[i]
                k0[i] = k6[i]
            t = t_new
            stats[ST_STEPS] += 1
            h = min(h * factor, max_step)
            rejected_last = False
            nonfinite_last = False
        else:
            stats[ST_REJECTED] += 1
            if np.isfinite(en) and all_finite(k6):
                h *= step_factor(en, ERROR_ORDER, MAX_FACTOR, rejected_last)
                nonfinite_last = False
            else:
                h *= 0.25
                nonfinite_last = True
            rejected_last = True
    return SUCCESS, t1
