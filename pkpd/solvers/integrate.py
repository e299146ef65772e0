"""Event-driven integration of one subject and of whole populations (compiled).

The driver walks a time-sorted *event table* built in Python by
:func:`pkpd.events.build_events`.  Between two discontinuities it hands the
stretch to a solver's segment function (see :mod:`pkpd.solvers._common`), which
also fills every output time inside the stretch from its dense output.  At an
event it stops exactly, applies the event, and restarts the solver.

Event kinds (``ev_kind``):

=========  ======================================================================
OUT        write the current state to ``y_out[ev_id]`` (an output, not a stop)
BOLUS      add ``ev_value`` (amount) to state ``ev_cmt``
RATE_ON    start infusion ``ev_id`` of ``ev_value`` (amount/h) into ``ev_cmt``
RATE_OFF   end infusion ``ev_id``
RESET      state back to the model's initial state, all infusions stopped, and
           every pending event of an earlier record (``ev_src`` < this record)
           cancelled
SS         bring the system to the periodic steady state of dose ``ev_id``
           (``ev_value`` 1: reset first, NONMEM SS=1; 2: add to the current state, SS=2)
=========  ======================================================================

Steady state is found by integrating one dosing interval at a time (the same
solver, the same tolerances) until the state at the start of the interval stops
changing; convergence is judged on the geometric tail ``d*rho/(1-rho)``, with
``d`` the change over the last interval in tolerance units and ``rho`` the
observed contraction, so slow approaches (long half-lives, short intervals) are
not declared converged early.  A constant infusion at steady state (II = 0) is
solved for directly by Newton's method on ``f(y) + rate = 0``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from pkpd.solvers._common import N_STATS, OPT_RTOL, OPT_SS_MAX_CYCLES, ST_RHS, eval_rhs
from pkpd.signatures import POPULATION_SIGNATURE, SUBJECT_SIGNATURE
from pkpd.solvers.status import NEWTON_FAILED, SS_NOT_CONVERGED, SUCCESS

OUT, BOLUS, RATE_ON, RATE_OFF, RESET, SS = 0, 1, 2, 3, 4, 5

# Newton iterations allowed for a constant-infusion steady state (exact in one step
# for linear systems; a few for mildly nonlinear ones).
_SS_NEWTON_ITERS = 50


@njit(cache=True)
def _advance(rhs, segment, t0, t1, y, p, rate, out_t, out_row, m0, m1, y_out, atol, opts, stats, jac):
    """Call the solver from t0 to t1, except across spans too short to resolve in floating point.

    Event times computed in floating point (e.g. TIME + F*AMT/RATE against TIME + II)
    can differ by a few ulps; such a span is crossed with one Euler step, whose error
    (span**2 * |f'|) is far below any tolerance.
    """
    if t1 - t0 <= 64.0 * np.spacing(max(abs(t0), abs(t1))):
        n = y.shape[0]
        f = np.empty(n)
        eval_rhs(rhs, t0, y, p, rate, f)
        stats[ST_RHS] += 1
        for m in range(m0, m1):
            y_out[out_row[m]] = y
        for i in range(n):
            y[i] += (t1 - t0) * f[i]
        return SUCCESS, t1
    return segment(rhs, t0, t1, y, p, rate, out_t, out_row, m0, m1, y_out, atol, opts, stats, jac)


@njit(cache=True)
def _cycle(rhs, segment, x, p, ii, r0, ph, kind, cmt, val, c0, c1, atol, opts, stats, dummy_t, dummy_row, dummy_out,
           jac):
    """Advance ``x`` over one dosing interval ``ii`` of a steady-state cycle; returns status."""
    rate = r0.copy()
    t = 0.0
    for c in range(c0, c1):
        if ph[c] > t:
            st, _ = _advance(rhs, segment, t, ph[c], x, p, rate, dummy_t, dummy_row, 0, 0, dummy_out, atol, opts,
                             stats, jac)
            if st != SUCCESS:
                return st
            t = ph[c]
        if kind[c] == BOLUS:
            x[cmt[c]] += val[c]
        else:  # a change of infusion rate within the interval
            rate[cmt[c]] += val[c]
    if ii > t:
        st, _ = _advance(rhs, segment, t, ii, x, p, rate, dummy_t, dummy_row, 0, 0, dummy_out, atol, opts, stats,
                         jac)
        if st != SUCCESS:
            return st
    return SUCCESS


@njit(cache=True)
def _gauss_solve(A, b):
    """Solve A x = b by Gaussian elimination with partial pivoting (A, b overwritten).

    Written out because Numba functions that call LAPACK cannot be cached.
    """
    n = b.shape[0]
    for k in range(n):
        piv = k
        for i in range(k + 1, n):
            if abs(A[i, k]) > abs(A[piv, k]):
                piv = i
        if piv != k:
            for j in range(n):
                A[k, j], A[piv, j] = A[piv, j], A[k, j]
            b[k], b[piv] = b[piv], b[k]
        if A[k, k] == 0.0:
            continue  # singular column: leave the unknown at 0 (Newton then fails to converge)
        for i in range(k + 1, n):
            m = A[i, k] / A[k, k]
            for j in range(k, n):
                A[i, j] -= m * A[k, j]
            b[i] -= m * b[k]
    x = np.zeros(n)
    for k in range(n - 1, -1, -1):
        if A[k, k] == 0.0:
            continue
        acc = b[k]
        for j in range(k + 1, n):
            acc -= A[k, j] * x[j]
        x[k] = acc / A[k, k]
    return x


@njit(cache=True)
def _constant_infusion_ss(rhs, x, p, r0, atol, opts, stats):
    """Solve f(x) + r0 = 0 by Newton's method with a finite-difference Jacobian."""
    n = x.shape[0]
    rtol = opts[OPT_RTOL]
    f = np.empty(n)
    f1 = np.empty(n)
    J = np.empty((n, n))
    xp = np.empty(n)
    for _ in range(_SS_NEWTON_ITERS):
        eval_rhs(rhs, 0.0, x, p, r0, f)
        stats[ST_RHS] += 1
        for j in range(n):
            for i in range(n):
                xp[i] = x[i]
            dx = 1e-7 * max(abs(x[j]), atol[j] / max(rtol, 1e-12), 1e-8)
            xp[j] += dx
            eval_rhs(rhs, 0.0, xp, p, r0, f1)
            for i in range(n):
                J[i, j] = (f1[i] - f[i]) / dx
        stats[ST_RHS] += n
        step = _gauss_solve(J, -f)
        done = True
        for i in range(n):
            x[i] += step[i]
            if abs(step[i]) > 1e-3 * (atol[i] + rtol * abs(x[i])):
                done = False
        if done:
            return SUCCESS
    return NEWTON_FAILED


@njit(cache=True)
def _steady_state(rhs, segment, x, p, ii, r0, ph, kind, cmt, val, c0, c1, atol, opts, stats, jac):
    """Overwrite ``x`` (the starting state) with the periodic steady state at the interval start."""
    n = x.shape[0]
    if ii <= 0.0:
        return _constant_infusion_ss(rhs, x, p, r0, atol, opts, stats)
    rtol = opts[OPT_RTOL]
    max_cycles = int(opts[OPT_SS_MAX_CYCLES])
    x_prev = np.empty(n)
    dummy_t = np.empty(0)
    dummy_row = np.empty(0, np.int64)
    dummy_out = np.empty((0, n))
    d_prev = -1.0
    for k in range(max_cycles):
        for i in range(n):
            x_prev[i] = x[i]
        st = _cycle(rhs, segment, x, p, ii, r0, ph, kind, cmt, val, c0, c1, atol, opts, stats,
                    dummy_t, dummy_row, dummy_out, jac)
        if st != SUCCESS:
            return st
        d = 0.0
        for i in range(n):
            d = max(d, abs(x[i] - x_prev[i]) / (atol[i] + rtol * abs(x[i])))
        if d == 0.0:
            return SUCCESS
        if k >= 2 and d_prev > 0.0:
            rho = d / d_prev
            # The remaining distance to the fixed point is about d*rho/(1-rho) for a
            # contraction; demand a hundredth of the tolerance so SS adds no visible error.
            if rho < 1.0 and d * rho / (1.0 - rho) < 1e-2:
                return SUCCESS
        d_prev = d
    return SS_NOT_CONVERGED


@njit(SUBJECT_SIGNATURE, cache=True)
def integrate_subject(rhs, segment, y0, p, ev_time, ev_kind, ev_cmt, ev_value, ev_id, ev_src, e0, e1,
                      inf_rate, ss_ii, ss_r0, ss_ptr, cy_phase, cy_kind, cy_cmt, cy_value,
                      y_out, atol, opts, stats, jac):
    """Integrate one subject through events ``e0 .. e1-1`` of the event table.

    Parameters
    ----------
    rhs : compiled model right-hand side ``rhs(t, y, p, dydt)``.
    segment : compiled solver segment function (e.g. ``dopri5_segment``).
    y0 : (n_states,) initial state (also the state a reset returns to).
    p : (n_parameters,) parameters.
    ev_* : event table columns (see module docstring); ``ev_time`` in h.
    inf_rate : (n_infusions,) rate of each infusion id, amount/h.
    ss_ii, ss_r0, ss_ptr, cy_* : steady-state tables: interval (h), infusion rates
        running at the start of the interval (n_ss, n_states), and the in-interval
        events ``cy_*[ss_ptr[s]:ss_ptr[s+1]]`` at phases ``cy_phase`` (h).
    y_out : (n_out, n_states) filled at the OUT events.
    atol : (n_states,); opts : solver options; stats : (N_STATS,) int64 counters.
    jac : the model's analytic Jacobian ``jac(t, y, p, J)``
        (:data:`pkpd.signatures.JAC_SIGNATURE`), handed to the segment function, which
        calls it when ``opts[OPT_JACOBIAN]`` is 1; else
        :func:`pkpd.solvers._common.no_jacobian` with ``opts[OPT_JACOBIAN]`` 0 (finite
        differences).  The Newton solve of a constant-infusion steady state always
        uses finite differences.

    Returns ``(status, t)``: the status code and the time reached.
    """
    n = y0.shape[0]
    y = y0.copy()
    rate = np.zeros(n)
    n_running = np.zeros(n, np.int64)
    active = np.zeros(inf_rate.shape[0], np.bool_)
    epoch = -1
    if e1 <= e0:
        return SUCCESS, 0.0
    t = min(0.0, ev_time[e0])
    i = e0
    while i < e1:
        # the next stop: first non-output event (or the last output)
        j = i
        while j < e1 and ev_kind[j] == OUT:
            j += 1
        t_stop = ev_time[j] if j < e1 else ev_time[e1 - 1]
        # outputs at the current time, then those strictly inside (t, t_stop)
        while i < j and ev_time[i] <= t:
            y_out[ev_id[i]] = y
            i += 1
        m1 = i
        while m1 < j and ev_time[m1] < t_stop:
            m1 += 1
        if t_stop > t:
            st, t_reached = _advance(rhs, segment, t, t_stop, y, p, rate, ev_time, ev_id, i, m1, y_out, atol, opts,
                                     stats, jac)
            if st != SUCCESS:
                return st, t_reached
            t = t_stop
        i = m1
        # everything at t_stop, in table order
        while i < e1 and ev_time[i] == t_stop:
            k = ev_kind[i]
            if k == OUT:
                y_out[ev_id[i]] = y
            elif ev_src[i] < epoch:
                pass  # pending event of a record before the last reset: cancelled
            elif k == BOLUS:
                y[ev_cmt[i]] += ev_value[i]
            elif k == RATE_ON:
                c = ev_cmt[i]
                active[ev_id[i]] = True
                rate[c] += inf_rate[ev_id[i]]
                n_running[c] += 1
            elif k == RATE_OFF:
                if active[ev_id[i]]:
                    c = ev_cmt[i]
                    active[ev_id[i]] = False
                    n_running[c] -= 1
                    rate[c] = 0.0 if n_running[c] == 0 else rate[c] - inf_rate[ev_id[i]]
            elif k == RESET:
                for q in range(n):
                    y[q] = y0[q]
                    rate[q] = 0.0
                    n_running[q] = 0
                active[:] = False
                epoch = ev_src[i]
            elif k == SS:
                s = ev_id[i]
                x = y0.copy()
                st = _steady_state(rhs, segment, x, p, ss_ii[s], ss_r0[s], cy_phase, cy_kind, cy_cmt, cy_value,
                                   ss_ptr[s], ss_ptr[s + 1], atol, opts, stats, jac)
                if st != SUCCESS:
                    return st, t
                if ev_value[i] == 1.0:  # SS=1: the steady state replaces the state
                    for q in range(n):
                        y[q] = x[q]
                else:  # SS=2: superposed on the current state (linear systems)
                    for q in range(n):
                        y[q] += x[q] - y0[q]
            i += 1
    return SUCCESS, t



@njit(POPULATION_SIGNATURE, cache=True, parallel=True)
def integrate_population(rhs, segment, Y0, P, ev_time, ev_kind, ev_cmt, ev_value, ev_id, ev_src, ev_start, ev_end,
                         inf_rate, ss_ii, ss_r0, ss_ptr, cy_phase, cy_kind, cy_cmt, cy_value,
                         Y_out, atol, opts, STATS, status, t_fail, jac):
    """Integrate every subject ``s`` (rows of ``Y0`` and ``P``) in parallel threads.

    Subject ``s`` uses events ``ev_start[s] .. ev_end[s]-1`` (subjects may share one
    table); results go to ``Y_out[s]`` (n_out, n_states), counters to ``STATS[s]``,
    the status code to ``status[s]`` and the time reached to ``t_fail[s]``.  Each
    subject is independent, so results do not depend on the number of threads.
    ``jac`` as for :func:`integrate_subject`.
    """
    for s in prange(Y0.shape[0]):
        st, t = integrate_subject(rhs, segment, Y0[s], P[s], ev_time, ev_kind, ev_cmt, ev_value, ev_id, ev_src,
                                  ev_start[s], ev_end[s], inf_rate, ss_ii, ss_r0, ss_ptr,
                                  cy_phase, cy_kind, cy_cmt, cy_value, Y_out[s], atol, opts, STATS[s], jac)
        status[s] = st
        t_fail[s] = t


__all__ = ["integrate_subject", "integrate_population", "N_STATS",
           "OUT", "BOLUS", "RATE_ON", "RATE_OFF", "RESET", "SS"]
