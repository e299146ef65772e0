"""Initial states at the drug-free steady state (``R [1] = steady_state`` in a model).

The states marked ``steady_state`` start where the model settles with every other
state held at its initial value (the drug compartments empty, so drug-free) and
unconnected inputs at their defaults, solved for each patient's parameters.  Their
values solve ``f_S(y) = 0`` (``S`` the marked states), found by *pseudo-transient
continuation* (Kelley & Keyes 1998): implicit-Euler steps of the sub-system from 0,

    (I/dt - J_SS) dx = f_S(x),    x <- x + dx,

with the step ``dt`` grown as the residual falls (switched evolution relaxation:
``dt <- dt * |f_old| / |f_new|``), so the iteration follows the model's own dynamics
while far from equilibrium (it reaches the steady state the model would settle to
from an empty start, not an unstable one) and becomes Newton's method near it
(quadratic convergence, with the analytic Jacobian of the generated kernel).

Converged, at the longest step, when the last step moves no state by more than 1e-12 of
the states' scale (``|dx_i| <= 1e-12 (|x_i| + max_j |x_j|)``), or the residual has fallen
by 14 orders of magnitude (round-off).  A model with
no reachable steady state (a state that grows without bound drug-free, or a singular
Jacobian) is refused with one line naming the state and the parameter row.

Reference: Kelley CT, Keyes DE. Convergence analysis of pseudo-transient continuation.
SIAM J Numer Anal 1998;35(2):508-523.
"""

from __future__ import annotations

import numpy as np

from pkpd.errors import InputError

__all__ = ["solve_steady_states", "MAX_ITERATIONS", "STEP_RTOL"]

#: iterations of pseudo-transient continuation before a row is refused
MAX_ITERATIONS = 500
#: relative size of the last Newton step at convergence
STEP_RTOL = 1e-12


def _steady_row(rhs, jac, y, p, idx, names, row):
    n = y.size
    f_full = np.zeros(n)
    J = np.zeros((n, n))
    eye = np.eye(idx.size)

    def residual(x):
        y[idx] = x
        rhs(0.0, y, p, f_full)
        return f_full[idx].copy()

    x = y[idx].copy()
    f = residual(x)
    norm = float(np.max(np.abs(f))) if f.size else 0.0
    if norm == 0.0:
        return x
    norm0 = norm
    jac(0.0, y, p, J)
    # first pseudo-time step: a tenth of the fastest time scale of the sub-system (h)
    fastest = max(float(np.abs(np.diag(J)[idx]).max()), 1e-12)
    dt = 0.1 / fastest
    # the longest pseudo-time step: 1e8 of the fastest time scale.  Not infinite: a model with a
    # conserved total (S + pSc + pSn = 1) has a singular Jacobian, and 1/dt keeps the step defined
    # while moving the total by at most dt * (round-off of f), ~1e-10 over the last steps.
    dt_max = 1e8 / fastest
    for _ in range(MAX_ITERATIONS):
        jac(0.0, y, p, J)
        A = eye / dt - J[np.ix_(idx, idx)]
        try:
            dx = np.linalg.solve(A, f)
        except np.linalg.LinAlgError:
            dx = np.full(idx.size, np.nan)
        if not np.all(np.isfinite(dx)):
            break
        x = x + dx
        f = residual(x)
        new = float(np.max(np.abs(f)))
        if not np.isfinite(new):
            break
        if dt >= dt_max and (np.all(np.abs(dx) <= STEP_RTOL * (np.abs(x) + np.abs(x).max()))
                             or new <= 1e-14 * norm0):
            return x
        dt = dt_max if new == 0.0 else min(dt * max(0.1, min(1e3, norm / new)), dt_max)
        if new <= 1e-8 * norm0:
            dt = dt_max   # close: the longest step (Newton's method, but for the conserved totals)
        norm = new
    worst = int(np.argmax(np.abs(f))) if np.all(np.isfinite(f)) else 0
    raise InputError(f"initial value of {names[worst]}",
                     f"no drug-free steady state found for parameter row {row} (residual {norm:.3g} per h after "
                     f"{MAX_ITERATIONS} iterations of pseudo-transient continuation); give the state an initial "
                     "value instead of steady_state", show_value=False)


def solve_steady_states(rhs, jac, Y0: np.ndarray, P: np.ndarray, idx, names) -> np.ndarray:
    """``Y0`` (..., n_states) with the states ``idx`` replaced by their drug-free steady state per row of ``P``.

    ``rhs``, ``jac`` are the compiled kernels; ``names`` the state names of ``idx`` (for
    errors).  Rows are solved one by one (a few dozen kernel calls each).
    """
    idx = np.asarray(idx, dtype=np.int64)
    Y0 = np.array(Y0, dtype=np.float64, copy=True)
    P = np.asarray(P, dtype=np.float64)
    flatY = Y0.reshape(-1, Y0.shape[-1])
    flatP = np.broadcast_to(P, Y0.shape[:-1] + P.shape[-1:]).reshape(-1, P.shape[-1])
    for r in range(flatY.shape[0]):
        y = np.ascontiguousarray(flatY[r])
        p = np.ascontiguousarray(flatP[r])
        flatY[r, idx] = _steady_row(rhs, jac, y, p, idx, names, r)
    return flatY.reshape(Y0.shape)
