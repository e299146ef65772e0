"""Machinery shared by the compiled solvers: option layout, error norm, step control.

Every solver module exposes one ``@njit(cache=True)`` *segment* function with the
signature documented in :mod:`pkpd.solvers`::

    status, t_reached = segment(rhs, t0, t1, y, p, rate, out_t, out_row, m0, m1,
                                y_out, atol, opts, stats, jac)

It integrates ``dy/dt = rhs(t, y, p) + rate`` from ``t0`` to ``t1`` (a stretch with
no discontinuity), overwrites ``y`` with the state at ``t1``, and writes the dense
output at ``out_t[m]`` (``t0 < out_t[m] < t1``, for ``m0 <= m < m1``) into
``y_out[out_row[m], :]``.  Output times never shorten a step, so they never change
the solution.

``jac(t, y, p, J)`` (:data:`pkpd.signatures.JAC_SIGNATURE`) is the model's analytic
Jacobian ``J[i, j] = d(dy_i/dt)/dy_j`` (per h), or the placeholder
:func:`no_jacobian`; the implicit solvers call it instead of differencing ``rhs``
when ``opts[OPT_JACOBIAN]`` is 1 (0: finite differences, ``jac`` never called; the
explicit dopri5 ignores both).  It may be left out of a direct call (the segment
functions are also compiled without it): finite differences.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from pkpd.signatures import JAC_SIGNATURE
from pkpd.solvers.status import MAX_STEPS, NON_FINITE, STEP_TOO_SMALL, SUCCESS

# ---- layout of the float64 ``opts`` array --------------------------------------
OPT_RTOL = 0          # relative tolerance
OPT_MAX_STEPS = 1     # steps (accepted + rejected) allowed per subject, all segments and SS cycles together
OPT_FIRST_STEP = 2    # first step in h; 0 selects it automatically after every restart
OPT_MAX_STEP = 3      # largest step in h (inf for none)
OPT_SS_MAX_CYCLES = 4  # dosing cycles allowed to reach steady state (SS=1/2 records)
OPT_JACOBIAN = 5      # Jacobian of the implicit solvers: 0 finite differences, 1 the analytic ``jac``
N_OPTS = 6

# ---- layout of the int64 ``stats`` array ---------------------------------------
ST_STEPS = 0      # accepted steps
ST_REJECTED = 1   # rejected steps
ST_RHS = 2        # right-hand-side evaluations (Jacobian columns included)
ST_JAC = 3        # Jacobian evaluations (finite-difference or analytic)
ST_LU = 4         # LU decompositions
ST_SEGMENTS = 5   # restarts (segments between discontinuities)
N_STATS = 6

# ---- step-size control constants (Hairer, Norsett & Wanner, Solving ODEs I, II.4) --
SAFETY = 0.9       # fraction of the optimal step actually taken
MIN_FACTOR = 0.2   # never shrink a step by more than 5x at once
MAX_FACTOR = 10.0  # never grow a step by more than 10x at once


def make_opts(rtol: float, max_steps: int, first_step: float, max_step: float,
              ss_max_cycles: int = 5000, analytic_jacobian: bool = False) -> np.ndarray:
    """Pack solver options into the float64 array the kernels read.

    ``rtol`` (1), ``max_steps`` (count), ``first_step`` and ``max_step`` (h),
    ``ss_max_cycles`` (count); ``analytic_jacobian`` sets ``OPT_JACOBIAN`` (call the
    ``jac`` argument instead of finite differences: only with a real Jacobian kernel).
    """
    opts = np.zeros(N_OPTS)
    opts[OPT_RTOL] = rtol
    opts[OPT_MAX_STEPS] = max_steps
    opts[OPT_FIRST_STEP] = first_step
    opts[OPT_MAX_STEP] = max_step
    opts[OPT_SS_MAX_CYCLES] = ss_max_cycles
    opts[OPT_JACOBIAN] = 1.0 if analytic_jacobian else 0.0
    return opts


@njit(JAC_SIGNATURE, cache=True)
def no_jacobian(t, y, p, J):
    """Placeholder for the ``jac`` argument of a model without an analytic Jacobian: does nothing.

    Passed with ``opts[OPT_JACOBIAN] = 0`` (finite differences), so it is never called.
    """


@njit(cache=True)
def analytic_jacobian(jac, t, y, p, J, stats):
    """``J = d(dy/dt)/dy`` (per h) at ``(t, y)`` from the model's ``jac``; counts one Jacobian.

    ``J`` is zeroed first, so a ``jac`` may write only its non-zero entries.  No
    right-hand-side evaluation (infusion rates do not depend on ``y``).
    """
    n = y.shape[0]
    for i in range(n):
        for j in range(n):
            J[i, j] = 0.0
    jac(t, y, p, J)
    stats[ST_JAC] += 1


@njit(cache=True)
def eval_rhs(rhs, t, y, p, rate, dydt):
    """Model right-hand side plus the infusion rates currently running (amount/h).

    For calls outside the step loops.  Passing ``rhs`` (a first-class function) to
    another compiled function costs ~50 ns a call, ten times the call of ``rhs``
    itself, so the step loops call ``rhs`` directly and then :func:`add_rate` when
    :func:`any_rate` says an infusion is running.
    """
    rhs(t, y, p, dydt)
    for i in range(y.shape[0]):
        dydt[i] += rate[i]


@njit(cache=True)
def any_rate(rate):
    """Whether any infusion rate is non-zero (then the step loops call :func:`add_rate`)."""
    for i in range(rate.shape[0]):
        if rate[i] != 0.0:
            return True
    return False


@njit(cache=True)
def add_rate(dydt, rate):
    """``dydt += rate`` (amount/h), in place."""
    for i in range(dydt.shape[0]):
        dydt[i] += rate[i]


@njit(cache=True)
def next_step(n_attempts, max_steps, t, t1, h, nonfinite_last):
    """Before an explicit or Rosenbrock step attempt from ``t`` with step ``h`` (h): ``(status, t_new)``.

    MAX_STEPS once ``n_attempts`` (accepted + rejected steps) reaches ``max_steps``;
    STEP_TOO_SMALL (NON_FINITE when the last rejection was for a non-finite value) when
    ``h`` is below ten rounding units of ``t``; else SUCCESS and ``t_new = t + h``, or
    ``t1`` when that is within ten rounding units of it (the step then ends exactly there).
    """
    if n_attempts >= max_steps:
        return MAX_STEPS, t
    min_step = 10.0 * np.spacing(abs(t) + abs(t1))
    if h < min_step:
        return (NON_FINITE if nonfinite_last else STEP_TOO_SMALL), t
    t_new = t + h
    if t_new >= t1 - min_step:
        t_new = t1
    return SUCCESS, t_new


@njit(cache=True, inline="always")
def step_factor(en, error_order, max_factor, rejected_last):
    """Factor for the next step from the error norm ``en`` (tolerance units) of the last attempt.

    ``SAFETY * en**(-1/(error_order + 1))`` for an error estimate of order ``error_order``
    (Hairer, Norsett & Wanner I, II.4).  After an accepted step (``en <= 1``): at most
    ``max_factor`` (``max_factor`` itself when ``en == 0``), and at most 1 right after a
    rejection (``rejected_last``).  After a rejected step (``en > 1``): at least ``MIN_FACTOR``.
    """
    if en == 0.0:
        return 1.0 if rejected_last else max_factor
    factor = SAFETY * en ** (-1.0 / (error_order + 1))
    if en > 1.0:
        return max(MIN_FACTOR, factor)
    factor = min(max_factor, factor)
    return min(1.0, factor) if rejected_last else factor


@njit(cache=True)
def error_norm(err, y_old, y_new, atol, rtol):
    """RMS of ``err`` in units of the tolerance ``atol + rtol*max(|y_old|, |y_new|)``."""
    n = err.shape[0]
    s = 0.0
    for i in range(n):
        scale = atol[i] + rtol * max(abs(y_old[i]), abs(y_new[i]))
        e = err[i] / scale
        s += e * e
    return np.sqrt(s / n)


@njit(cache=True)
def all_finite(y):
    for i in range(y.shape[0]):
        if not np.isfinite(y[i]):
            return False
    return True


@njit(cache=True)
def initial_step(rhs, t0, y0, f0, p, rate, atol, rtol, order, span, max_step, work, stats):
    """Starting step after a restart (Hairer, Norsett & Wanner, Solving ODEs I, II.4).

    ``work`` is scratch of shape (2, n) for a trial state and its derivative.
    """
    n = y0.shape[0]
    d0 = 0.0
    d1 = 0.0
    for i in range(n):
        scale = atol[i] + rtol * abs(y0[i])
        d0 += (y0[i] / scale) ** 2
        d1 += (f0[i] / scale) ** 2
    d0 = np.sqrt(d0 / n)
    d1 = np.sqrt(d1 / n)
    if d0 < 1e-5 or d1 < 1e-5:
        h0 = 1e-6
    else:
        h0 = 0.01 * d0 / d1
    h0 = min(h0, span)
    y1 = work[0]
    f1 = work[1]
    for i in range(n):
        y1[i] = y0[i] + h0 * f0[i]
    eval_rhs(rhs, t0 + h0, y1, p, rate, f1)
    stats[ST_RHS] += 1
    d2 = 0.0
    for i in range(n):
        scale = atol[i] + rtol * abs(y0[i])
        d2 += ((f1[i] - f0[i]) / scale) ** 2
    d2 = np.sqrt(d2 / n) / h0
    if not np.isfinite(d2):
        return min(h0, max_step)
    if d1 <= 1e-15 and d2 <= 1e-15:
        h1 = max(1e-6, h0 * 1e-3)
    else:
        h1 = (0.01 / max(d1, d2)) ** (1.0 / (order + 1))
    return min(100.0 * h0, h1, span, max_step)
