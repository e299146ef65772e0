"""States over one period as a table, read by generated kernels: the periodic-tail path (:mod:`pkpd.periodic`).

Once the fast part of a cascade repeats from one dosing period to the next, the slow part
is integrated alone, driven by the fast states it reads.  Those are tabulated at ``M + 1``
equally spaced times over one period ``T`` (the last equal to the first), with their
exact slopes from the right-hand side (:func:`state_slopes`), and read back by cubic
Hermite interpolation (:func:`periodic_value`): exact for cubics, error about
``h**4 / 384 * max|x''''|`` for the spacing ``h = T / M``.  Time ``t = 0`` is the start of
a period.

Table layout, from ``base`` in the parameter row::

    base + 0   T  period, h          base + 2   q  states tabulated
    base + 1   M  intervals
    then       values, state by state (q x (M + 1))
    then       slopes, state by state (q x (M + 1)), per h
"""

from __future__ import annotations

import numpy as np
from numba import njit, types

from pkpd.signatures import F2, F3, I1, RHS

__all__ = ["periodic_value", "state_slopes", "HEADER"]

#: entries before the values in a table
HEADER = 3


@njit(cache=True, inline="always")  # inlined into generated right-hand sides
def periodic_value(t, p, base, i):
    """Tabulated state ``i`` of the table at ``base`` in ``p`` at time ``t`` (h, >= 0): cubic Hermite."""
    T = p[base]
    M = int(p[base + 1])
    q = int(p[base + 2])
    h = T / M
    x = (t % T) / h
    k = min(int(x), M - 1)
    s = x - k
    v = base + HEADER + i * (M + 1)
    d = base + HEADER + q * (M + 1) + i * (M + 1)
    P0 = p[v + k]
    P1 = p[v + k + 1]
    D0 = h * p[d + k]
    D1 = h * p[d + k + 1]
    r = 1.0 - s
    return r * r * ((1.0 + 2.0 * s) * P0 + s * D0) + s * s * ((3.0 - 2.0 * s) * P1 - r * D1)


@njit(types.void(RHS, F3, F2, I1, F3), cache=True)
def state_slopes(rhs, Y, P, idx, out):
    """``out[i, j, k] = d(y_idx[k])/dt`` (per h) at states ``Y[i, j]`` (n, m, n_states), parameters ``P[i]``.

    The right-hand side is evaluated at ``t = 0``: the fast part of a cascade is
    autonomous (time enters only through the events), which :mod:`pkpd.model.fastpaths`
    checks before a split is made.
    """
    f = np.empty(Y.shape[2])
    for i in range(Y.shape[0]):
        p = P[i].copy()
        for j in range(Y.shape[1]):
            rhs(0.0, Y[i, j].copy(), p, f)
            for k in range(idx.shape[0]):
                out[i, j, k] = f[idx[k]]
