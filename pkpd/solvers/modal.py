"""Linear states in closed form: tables of modal coefficients, built per patient and read by generated kernels.

A linear source ``dx/dt = K x + r(t)`` (:mod:`pkpd.model.fastpaths`; ``r`` the rate of the
infusions running, constant between events) with ``K = V diag(-lambda) V^-1`` has, in the
modal coordinates ``m = V^-1 x``, one decaying mode per eigenvalue.  With ``g = V^-1 r``
and ``b = g / lambda`` (the modes' level under the current rates), a segment starting at
``t_k`` in the modal state ``m_k`` gives exactly

    m(t) = b + (m_k - b) exp(-lambda (t - t_k)),
    x_i(t) = c_(k,i) + sum_j a_(k,i,j) exp(-lambda_j (t - t_k)),
    c_(k,i) = sum_j V_ij b_j,   a_(k,i,j) = V_ij (m_(k,j) - b_j),

and at each event (a dose ``d``, an infusion starting or ending) ``m`` jumps by ``V^-1 d``
and ``b`` moves with the rates.  :func:`modal_coefficients` runs that recursion for one
patient; the table it fills is appended to the patient's parameter row, and the
generated reduced right-hand side reads a state with :func:`modal_segment` (which
segment ``t`` is in) and :func:`modal_state` (its value there).

Table layout, from ``base`` in the parameter row::

    base + 0   n    number of segments         base + 2   m   modes
    base + 1   k    search cursor (updated)    base + 3   q   states tabulated
    base + 4 ...            lambda (m), 1/h
    then                    segment start times (n), h
    then                    per segment and tabulated state: c, a_1..a_m  (n x q x (1 + m))
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["modal_segment", "modal_state", "modal_coefficients", "HEADER"]

#: entries before the rates in a table
HEADER = 4


@njit(cache=True, inline="always")  # inlined into generated right-hand sides
def modal_segment(t, p, base):
    """The segment of the table at ``base`` in ``p`` that holds time ``t`` (h): the last start at or before ``t``.

    Walks from the segment found at the previous call (``p[base + 1]``; a solver's times
    move little between calls, so the walk is usually empty) and stores the result there.
    A time before the first start (never asked for: the first segment starts where the
    integration does) gets segment 0.  The result does not depend on the cursor.
    """
    n = int(p[base])
    t0 = base + HEADER + int(p[base + 2])
    k = int(p[base + 1])
    while k + 1 < n and p[t0 + k + 1] <= t:
        k += 1
    while k > 0 and p[t0 + k] > t:
        k -= 1
    p[base + 1] = k
    return k


@njit(cache=True, inline="always")
def modal_state(t, p, base, k, i):
    """Tabulated state ``i`` of the table at ``base`` at time ``t`` (h) in segment ``k``: ``c + sum a exp(-lambda tau)``."""
    n = int(p[base])
    m = int(p[base + 2])
    q = int(p[base + 3])
    lam = base + HEADER
    t0 = lam + m
    c = t0 + n + (k * q + i) * (1 + m)
    tau = t - p[t0 + k]
    s = p[c]
    for j in range(m):
        s += p[c + 1 + j] * np.exp(-p[lam + j] * tau)
    return s


@njit(cache=True)
def modal_coefficients(lam, V, Vinv, seg_t, dose, rate, x0, out):
    """Fill ``out`` (n, nb, 1 + m) with every state's ``c, a_1..a_m`` per segment (module docstring).

    ``lam`` (m,) 1/h; ``V`` (nb, m) and ``Vinv`` (m, nb); ``seg_t`` (n,) segment starts, h;
    ``dose`` (n, nb) amounts added at each start; ``rate`` (n, nb) change of the infusion
    rates there (amount/h); ``x0`` (nb,) the state before the first start.
    """
    n, nb = dose.shape
    m = lam.shape[0]
    mode = Vinv @ x0
    level = np.zeros(m)        # b = V^-1 r / lambda
    r = np.zeros(nb)
    for k in range(n):
        if k > 0:
            tau = seg_t[k] - seg_t[k - 1]
            for j in range(m):
                mode[j] = level[j] + (mode[j] - level[j]) * np.exp(-lam[j] * tau)
        for j in range(m):
            for s in range(nb):
                mode[j] += Vinv[j, s] * dose[k, s]
        changed = False
        for s in range(nb):
            if rate[k, s] != 0.0:
                r[s] += rate[k, s]
                changed = True
        if changed:
            for j in range(m):
                g = 0.0
                for s in range(nb):
                    g += Vinv[j, s] * r[s]
                level[j] = g / lam[j]
        for i in range(nb):
            c = 0.0
            for j in range(m):
                c += V[i, j] * level[j]
            out[k, i, 0] = c
            for j in range(m):
                out[k, i, 1 + j] = V[i, j] * (mode[j] - level[j])
