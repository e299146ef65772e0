"""Rodas3: a linearly implicit (Rosenbrock) method of order 3 for stiff systems.

Four stages, L-stable and stiffly accurate, with an embedded order-2 solution
for the error estimate (Sandu et al. 1997; the coefficients are those of the
KPP Rosenbrock integrators, below).  A Rosenbrock step solves four *linear*
systems with one matrix ``G = I/(h*gamma) - J``: one LU factorisation and no
Newton iterations per step, against Radau IIA's real and complex factorisations
and its Newton loop.  For the mildly stiff, long-horizon problems of this
project (an 18-month virtual trial at rtol 1e-3..1e-4: a fast ERK relaxation of
~30 /h that caps an explicit step at ~0.1 h, and dynamics that need ~1 h steps)
this is the cheapest stable step available.

Step from ``(t, y)`` with ``f0 = f(t, y)``, ``J = df/dy`` and ``f_t = df/dt``
(both by forward differences, or ``J`` from the model's analytic ``jac`` when
``opts[OPT_JACOBIAN]`` is 1)::

    G K1 = f0                                  + h*gamma_1*f_t
    G K2 = f0 + c21/h*K1                       + h*gamma_2*f_t
    G K3 = f(t + h, y + 2 K1) + (c31 K1 + c32 K2)/h
    G K4 = f(t + h, y + 2 K1 + K3) + (c41 K1 + c42 K2 + c43 K3)/h
    y_new = y + 2 K1 + K3 + K4,    error estimate = K4

with ``gamma = 1/2``.  ``J`` and ``f_t`` are evaluated once per step (kept
when a step is rejected and retried from the same point); the local error is
O(h**3) (``ERROR_ORDER = 2``) and the step size follows ``0.9*err**(-1/3)``,
bounded to [0.2, 6] (as in KPP).  Output between steps is the cubic Hermite
interpolant of ``y, f`` at both ends of the step (local error O(h**4), the
method's own order), so outputs never shorten a step.

The Jacobian costs ``n`` right-hand-side evaluations per step (none with the analytic
``jac``); ``f_t`` one more, in both cases (exactly zero for autonomous models,
whatever the model, so nothing is assumed).

References
----------
A. Sandu, J. G. Verwer, J. G. Blom, E. J. Spee, G. R. Carmichael, F. A. Potra,
"Benchmarking stiff ODE solvers for atmospheric chemistry problems II:
Rosenbrock solvers", Atmos. Environ. 31(20):3459-3472, 1997 (RODAS3).
E. Hairer, G. Wanner, *Solving Ordinary Differential Equations II*, 2nd ed.,
Springer 1996, Sec. IV.7 (Rosenbrock methods).
KPP (the Kinetic PreProcessor), ``int/rosenbrock.f90``: subroutine ``Rodas3``
(coefficient tables ``ros_A``, ``ros_C``, ``ros_M``, ``ros_E``, ``ros_Alpha``,
``ros_Gamma``) and the step-size controller.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from pkpd.signatures import SEGMENT_SIGNATURE, SEGMENT_SIGNATURE_NO_JAC
from pkpd.solvers._common import (
    OPT_FIRST_STEP, OPT_JACOBIAN, OPT_MAX_STEP, OPT_MAX_STEPS, OPT_RTOL, ST_JAC, ST_LU, ST_REJECTED, ST_RHS,
    ST_SEGMENTS, ST_STEPS, add_rate, all_finite, analytic_jacobian, any_rate, error_norm, eval_rhs,
    initial_step, next_step, step_factor,
)
from pkpd.solvers._linalg import lu_factor, lu_solve
from pkpd.solvers.status import NON_FINITE, SUCCESS

ORDER = 3
ERROR_ORDER = 2
STIFF = True

#: the diagonal coefficient gamma of every stage
GAMMA = 0.5
#: ros_A (stage arguments), ros_C (stage couplings), ros_M (solution), ros_E (error),
#: ros_Alpha (stage times), ros_Gamma (time-derivative weights) of KPP's Rodas3
A = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [2.0, 0.0, 1.0]])
C = np.array([[0.0, 0.0, 0.0], [4.0, 0.0, 0.0], [1.0, -1.0, 0.0], [1.0, -1.0, -8.0 / 3.0]])
M = np.array([2.0, 0.0, 1.0, 1.0])
E = np.array([0.0, 0.0, 0.0, 1.0])
ALPHA = np.array([0.0, 0.0, 1.0, 1.0])
GAMMAS = np.array([0.5, 1.5, 0.0, 0.0])

# The step uses these as compile-time constants; the tables above document them (and the
# tests check the two agree and satisfy the order conditions).
_C21, _C31, _C32, _C41, _C42, _C43 = 4.0, 1.0, -1.0, 1.0, -1.0, -8.0 / 3.0
_G1, _G2 = 0.5, 1.5
MAX_FACTOR_ROS = 6.0     # KPP's FacMax
_EPS = np.finfo(np.float64).eps
_SQRT_EPS = np.sqrt(_EPS)


@njit(cache=True)
def _hermite(t, h, y0, f0, y1, f1, t_eval, out):
    """Cubic Hermite interpolant of (y0, f0) at t and (y1, f1) at t + h, written at t_eval."""
    s = (t_eval - t) / h
    s2 = s * s
    s3 = s2 * s
    h00 = 2.0 * s3 - 3.0 * s2 + 1.0
    h10 = s3 - 2.0 * s2 + s
    h01 = -2.0 * s3 + 3.0 * s2
    h11 = s3 - s2
    for i in range(y0.shape[0]):
        out[i] = h00 * y0[i] + h * h10 * f0[i] + h01 * y1[i] + h * h11 * f1[i]


@njit(cache=True)
def _fd_jacobian(rhs, t, y, f0, p, rate, infusing, delta, J, fs, stats):
    """``J = df/dy`` at ``(t, y)`` by forward differences: column ``j`` perturbed by
    ``sqrt(eps) * max(|y_j|, delta_j)`` (``delta`` the magnitude below which a state
    counts as zero); ``f0`` is ``rhs + rate`` at ``(t, y)``, ``fs`` scratch (n,).
    ``y`` is perturbed in place and restored exactly.  Counts ``n`` rhs calls and one Jacobian.
    """
    n = y.shape[0]
    for j in range(n):
        yj = y[j]
        d = _SQRT_EPS * max(abs(yj), delta[j], 1e-300)
        y[j] = yj + d
        d = y[j] - yj
        rhs(t, y, p, fs)
        if infusing:
            add_rate(fs, rate)
        y[j] = yj
        for i in range(n):
            J[i, j] = (fs[i] - f0[i]) / d
    stats[ST_RHS] += n
    stats[ST_JAC] += 1


@njit(cache=True)
def _jacobian(jac, analytic, rhs, t, y, f0, p, rate, infusing, delta, J, fs, stats):
    """``J = df/dy`` at ``(t, y)``: the model's ``jac`` when ``analytic``, else :func:`_fd_jacobian`.

    ``jac`` is None in a call of the segment without it (then always finite
    differences; Numba compiles that case without the branch).
    """
    if jac is None:
        _fd_jacobian(rhs, t, y, f0, p, rate, infusing, delta, J, fs, stats)
    elif analytic:
        analytic_jacobian(jac, t, y, p, J, stats)
    else:
        _fd_jacobian(rhs, t, y, f0, p, rate, infusing, delta, J, fs, stats)


@njit([SEGMENT_SIGNATURE, SEGMENT_SIGNATURE_NO_JAC], cache=True)
def rodas3_segment(rhs, t0, t1, y, p, rate, out_t, out_row, m0, m1, y_out, atol, opts, stats, jac=None):
    """Integrate ``dy/dt = rhs + rate`` from ``t0`` to ``t1`` with Rodas3 (order 3, L-stable).

    See :mod:`pkpd.solvers._common` for the argument contract (shared with
    :func:`pkpd.solvers.dopri5.dopri5_segment`).  Counts: ``ST_RHS`` includes the
    Jacobian columns (none with the analytic ``jac``) and the time derivative;
    ``ST_JAC`` Jacobians; ``ST_LU`` factorisations (one per attempted step).  ``jac``
    (:data:`pkpd.signatures.JAC_SIGNATURE`) gives ``J`` when ``opts[OPT_JACOBIAN]``
    is 1; left out, or with 0, forward differences.  Returns ``(status, t_reached)``; on
    success ``t_reached == t1`` and ``y`` holds y(t1).
    """
    n = y.shape[0]
    rtol = opts[OPT_RTOL]
    max_steps = opts[OPT_MAX_STEPS]
    max_step = opts[OPT_MAX_STEP]
    analytic = opts[OPT_JACOBIAN] != 0.0
    stats[ST_SEGMENTS] += 1
    if not t1 > t0:
        return SUCCESS, t0

    # rhs is called directly in the loop, with the infusion rates added only when some
    # run (see pkpd.solvers._common.eval_rhs for why).
    infusing = any_rate(rate)
    f0 = np.empty(n)
    eval_rhs(rhs, t0, y, p, rate, f0)
    stats[ST_RHS] += 1
    if not all_finite(f0):
        return NON_FINITE, t0
    work = np.empty((2, n))
    span = t1 - t0
    h = opts[OPT_FIRST_STEP]
    if h <= 0.0:
        h = initial_step(rhs, t0, y, f0, p, rate, atol, rtol, ORDER, span, max_step, work, stats)
    h = min(h, span, max_step)

    J = np.empty((n, n))
    G = np.empty((n, n))
    piv = np.empty(n, np.int64)
    K1 = np.empty(n)
    K2 = np.empty(n)
    K3 = np.empty(n)
    K4 = np.empty(n)
    ytmp = np.empty(n)
    fs = np.empty(n)
    f_t = np.empty(n)
    y_new = np.empty(n)
    f_new = np.empty(n)
    delta = np.empty(n)
    for j in range(n):
        delta[j] = atol[j] / min(rtol, 1.0)   # the magnitude below which a state counts as zero

    t = t0
    m = m0
    need_jac = True
    rejected_last = False
    nonfinite_last = False
    while t < t1:
        status, t_new = next_step(stats[ST_STEPS] + stats[ST_REJECTED], max_steps, t, t1, h, nonfinite_last)
        if status != SUCCESS:
            return status, t
        h = t_new - t

        if need_jac:  # df/dy (forward differences or the model's jac) and df/dt (a difference) at (t, y)
            _jacobian(jac, analytic, rhs, t, y, f0, p, rate, infusing, delta, J, fs, stats)
            dt = _SQRT_EPS * max(1e-5, abs(t))
            rhs(t + dt, y, p, fs)
            if infusing:
                add_rate(fs, rate)
            for i in range(n):
                f_t[i] = (fs[i] - f0[i]) / dt
            stats[ST_RHS] += 1
            need_jac = False

        # G = I/(h gamma) - J
        diag = 1.0 / (h * GAMMA)
        for i in range(n):
            for j in range(n):
                G[i, j] = -J[i, j]
            G[i, i] += diag
        info = lu_factor(G, piv)
        stats[ST_LU] += 1
        if info != 0:  # singular at this h: try a shorter step
            stats[ST_REJECTED] += 1
            h *= 0.5
            rejected_last = True
            continue

        for i in range(n):
            K1[i] = f0[i] + h * _G1 * f_t[i]
        lu_solve(G, piv, K1)
        for i in range(n):
            K2[i] = f0[i] + (_C21 / h) * K1[i] + h * _G2 * f_t[i]
        lu_solve(G, piv, K2)
        for i in range(n):
            ytmp[i] = y[i] + 2.0 * K1[i]
        rhs(t + h, ytmp, p, fs)
        if infusing:
            add_rate(fs, rate)
        for i in range(n):
            K3[i] = fs[i] + (_C31 * K1[i] + _C32 * K2[i]) / h
        lu_solve(G, piv, K3)
        for i in range(n):
            ytmp[i] = y[i] + 2.0 * K1[i] + K3[i]
        rhs(t + h, ytmp, p, fs)
        if infusing:
            add_rate(fs, rate)
        for i in range(n):
            K4[i] = fs[i] + (_C41 * K1[i] + _C42 * K2[i] + _C43 * K3[i]) / h
        lu_solve(G, piv, K4)
        stats[ST_RHS] += 2
        for i in range(n):
            y_new[i] = y[i] + 2.0 * K1[i] + K3[i] + K4[i]

        en = error_norm(K4, y, y_new, atol, rtol)
        finite = np.isfinite(en) and all_finite(y_new)
        if finite and en <= 1.0:
            rhs(t_new, y_new, p, f_new)
            if infusing:
                add_rate(f_new, rate)
            stats[ST_RHS] += 1
            if not all_finite(f_new):  # the new point is not usable: retry shorter
                stats[ST_REJECTED] += 1
                h *= 0.25
                rejected_last = True
                nonfinite_last = True
                continue
            while m < m1 and out_t[m] <= t_new:
                _hermite(t, h, y, f0, y_new, f_new, out_t[m], y_out[out_row[m]])
                m += 1
            factor = step_factor(en, ERROR_ORDER, MAX_FACTOR_ROS, rejected_last)
            for i in range(n):
                y[i] = y_new[i]
                f0[i] = f_new[i]
            t = t_new
            stats[ST_STEPS] += 1
            h = min(h * factor, max_step)
            need_jac = True
            rejected_last = False
            nonfinite_last = False
        else:
            stats[ST_REJECTED] += 1
            if finite:
                h *= step_factor(en, ERROR_ORDER, MAX_FACTOR_ROS, rejected_last)
                nonfinite_last = False
            else:
                h *= 0.25
                nonfinite_last = True
            rejected_last = True
    return SUCCESS, t1
