"""Independent reference solutions: scipy ``solve_ivp`` at tight tolerance, restarted at every dose.

Used to check pkpd's compiled solvers and event handling against an implementation
that shares none of their code (only the model's right-hand side).
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp


def error_in_tolerance_units(y, ref, rtol, atol):
    """max |y - ref| / (atol + rtol |ref|): 1 means 'exactly at the requested tolerance'."""
    return float(np.max(np.abs(y - ref) / (atol + rtol * np.abs(ref))))


def reference_solve(rhs, y0, p, bolus_times, bolus_cmt, bolus_amt, t_eval, method="Radau", rtol=1e-10, atol=1e-12):
    """States at ``t_eval`` (n_t, n) for boluses (time h, 0-based state index, amount) with scipy.

    Only the model's compiled right-hand side is shared with pkpd (it is verified on its
    own against the reference evaluators); integration and dose handling are scipy's.
    """
    f = rhs
    p = np.asarray(p, float)

    def fun(t, y):
        dy = np.zeros_like(y)
        f(t, y, p, dy)
        return dy

    order = np.argsort(bolus_times, kind="stable")
    bt, bc, ba = np.asarray(bolus_times)[order], np.asarray(bolus_cmt)[order], np.asarray(bolus_amt)[order]
    y = np.array(y0, float)
    t = 0.0
    out = np.empty((len(t_eval), len(y)))
    k = 0
    for stop in np.unique(np.concatenate([bt, [0.0, t_eval[-1]]])):
        if stop > t:
            sol = solve_ivp(fun, (t, stop), y, method=method, rtol=rtol, atol=atol, dense_output=True)
            assert sol.success, sol.message
            inside = (t_eval > t) & (t_eval < stop)
            out[inside] = sol.sol(t_eval[inside]).T
            y = sol.y[:, -1].copy()
            t = stop
        while k < len(bt) and bt[k] == stop:
            y[bc[k]] += ba[k]
            k += 1
        out[t_eval == stop] = y  # an output at a dose time sees the dose (pkpd's convention)
    return out
