"""Closed-form solutions of linear compartment PK: exact state propagation and superposition.

Four structures are covered, each the linear system ``dy/dt = K y + r`` with a
constant input rate ``r`` (mg/h) over the interval considered:

==================  =====================  ==========================================
structure           states (this order)    K (1/h)
==================  =====================  ==========================================
``"1cmt"``          CENT                   [[-k10]]
``"1cmt_oral"``     DEPOT, CENT            [[-ka, 0], [ka, -k10]]
``"2cmt"``          CENT, PERIPH           [[-(k10+k12), k21], [k12, -k21]]
``"2cmt_oral"``     DEPOT, CENT, PERIPH    [[-ka, 0, 0], [ka, -(k10+k12), k21], [0, k12, -k21]]
==================  =====================  ==========================================

The depot comes first in the oral structures, as in NONMEM ADVAN2/ADVAN4, so the
CMT of a NONMEM data set is the state index plus one.  Every rate constant is
given in one ``micro`` vector of shape (4,), ``[ka, k10, k12, k21]`` in 1/h (the
entries a structure does not use are ignored); :mod:`pkpd.models.pk` maps model
parameters (CL, V, Q, ...) onto it.

Two forms are provided.

*State propagation* (compiled, ``@njit``): the exact state after ``dt`` hours,
``y(t+dt) = E(dt) y(t) + G(dt) r`` with ``E = expm(K dt)`` and
``G = integral_0^dt expm(K s) ds``, written out analytically.  Every entry of E and
G is a non-negative combination of divided differences of ``exp(lambda*dt)`` over
the eigenvalues ``lambda`` of K (and 0, for G), evaluated by
:func:`_dd2`/:func:`_dd3`/:func:`_dd4`, which stay accurate to a few ulps when
eigenvalues coincide or nearly coincide (ka == k10, ka == alpha, alpha ~ beta) and
when ``dt`` is tiny (series for clustered points, ``expm1`` for pairs).  Since no
entry is formed by cancellation, E and G are accurate entry by entry (observed
< 5e-14 relative against a 40-digit reference), not only in norm as a general
``expm`` is.  This is the fast path for compiled population code: no
allocation, plain loops, float64 (about 0.1-0.3 us per step).

*Superposition* (numpy): the central concentration for a list of doses (bolus
or zero-order infusion, into the central compartment or the depot) at arbitrary
output times, as the classic sum over the disposition exponentials
(macro-constants) of each dose's response.  Depot doses use the same sum, each
term written as a divided difference between ka and the disposition rate so that
ka == k10 (or alpha, beta) needs no special case.

Notation: ``alpha >= beta > 0`` are the disposition rate constants (1/h) of the
two-compartment model, the negatives of the eigenvalues of its 2x2 K.

References
----------
M. Gibaldi, D. Perrier, *Pharmacokinetics*, 2nd ed., Marcel Dekker, 1982,
ch. 1-3 (one- and two-compartment models, absorption, infusion, multiple dosing).
M. Rowland, T. N. Tozer, *Clinical Pharmacokinetics and Pharmacodynamics*, 4th ed.,
2011, ch. 19-20 and appendix (superposition).
J. Bertrand, F. Mentré, *Mathematical expressions of the pharmacokinetic and
pharmacokinetic-pharmacodynamic models implemented in the Monolix software*,
Paris Diderot University, 2008 (closed forms for bolus, infusion and first-order
absorption, one to three compartments).
A. McCurdy, K. C. Ng, B. N. Parlett, "Accurate computation of divided differences
of the exponential function", Math. Comp. 43(168):501-528, 1984 (why divided
differences of exp need a series near confluence).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = [
    "ONE_CMT", "ONE_CMT_ORAL", "TWO_CMT", "TWO_CMT_ORAL", "STRUCTURES", "N_STATES",
    "MICRO_KA", "MICRO_K10", "MICRO_K12", "MICRO_K21", "N_MICRO",
    "two_cmt_rates", "propagate", "propagate_1cmt", "propagate_1cmt_oral",
    "propagate_2cmt", "propagate_2cmt_oral", "transition_matrices", "superposition",
]

# ---- structure codes (integers, so that compiled code can dispatch on them) ----
ONE_CMT = 1
ONE_CMT_ORAL = 2
TWO_CMT = 3
TWO_CMT_ORAL = 4
STRUCTURES = {"1cmt": ONE_CMT, "1cmt_oral": ONE_CMT_ORAL, "2cmt": TWO_CMT, "2cmt_oral": TWO_CMT_ORAL}
"""Structure name -> integer code."""
N_STATES = {ONE_CMT: 1, ONE_CMT_ORAL: 2, TWO_CMT: 2, TWO_CMT_ORAL: 3}
"""Structure code -> number of states."""

# ---- layout of the micro-constant vector (1/h) ----
MICRO_KA = 0    # first-order absorption rate constant, depot -> central
MICRO_K10 = 1   # elimination rate constant from central (CL/Vc)
MICRO_K12 = 2   # central -> peripheral (Q/Vc)
MICRO_K21 = 3   # peripheral -> central (Q/Vp)
N_MICRO = 4

# Points of a divided difference whose spread (in units of lambda*dt) is at most
# this are evaluated by the power series; wider sets by the recurrence.  With a
# spread >= 1 each recurrence level loses at most a factor ~6 of accuracy
# (the two lower-order differences differ by a sizeable fraction), and with a
# spread <= 1 the series, centred on the midpoint, converges like sum 0.5^j/j!.
_CLUSTER = 1.0
_SERIES_TERMS = 18  # 0.5^17/17! < 1e-21: far below double precision


# =============================================================================
# Divided differences of exp (scaled points z = lambda*dt, all z <= 0 here)
# =============================================================================
@njit(cache=True)
def _dd2(a, b):
    """exp[a, b] = (e^a - e^b)/(a - b), accurate for any a, b (e^a at a == b)."""
    hi = max(a, b)
    d = hi - min(a, b)
    if d == 0.0:
        return math.exp(hi)
    return math.exp(hi) * (-math.expm1(-d) / d)


@njit(cache=True)
def _dd_series(z0, z1, z2, z3, m):
    """exp[z0, ..., zm] (m = 2 or 3) for clustered points, by the power series.

    With c the midpoint and w_i = z_i - c, exp[z] = e^c sum_{j>=0} h_j(w)/(j+m)!,
    h_j the complete homogeneous symmetric polynomial of degree j in w_0..w_m
    (the divided difference of x^(j+m)).  h_j is built by the recurrence
    h_j(w_0..w_i) = h_j(w_0..w_{i-1}) + w_i h_{j-1}(w_0..w_i), one scalar per prefix.
    """
    lo = min(z0, z1, z2)
    hi = max(z0, z1, z2)
    if m == 3:
        lo = min(lo, z3)
        hi = max(hi, z3)
    c = 0.5 * (lo + hi)
    w0 = z0 - c
    w1 = z1 - c
    w2 = z2 - c
    w3 = z3 - c
    h1 = 1.0  # h_j(w0)
    h2 = 1.0  # h_j(w0, w1)
    h3 = 1.0  # h_j(w0, w1, w2)
    h4 = 1.0  # h_j(w0, w1, w2, w3)
    inv_fact = 1.0 / (2.0 if m == 2 else 6.0)  # 1/(j+m)! at j = 0
    total = inv_fact
    for j in range(1, _SERIES_TERMS):
        h1 = h1 * w0
        h2 = h2 * w1 + h1
        h3 = h3 * w2 + h2
        h4 = h4 * w3 + h3
        inv_fact /= j + m
        total += (h3 if m == 2 else h4) * inv_fact
    return math.exp(c) * total


@njit(cache=True)
def _dd3(a, b, c):
    """exp[a, b, c], accurate for coincident, clustered or spread points."""
    lo = min(a, b, c)
    hi = max(a, b, c)
    mid = a + b + c - lo - hi
    if hi - lo <= _CLUSTER:
        return _dd_series(a, b, c, 0.0, 2)
    return (_dd2(mid, hi) - _dd2(lo, mid)) / (hi - lo)


@njit(cache=True)
def _dd4(a, b, c, d):
    """exp[a, b, c, d], accurate for coincident, clustered or spread points."""
    # sort the four scalars (a small sorting network)
    if a > b:
        a, b = b, a
    if c > d:
        c, d = d, c
    if a > c:
        a, c = c, a
    if b > d:
        b, d = d, b
    if b > c:
        b, c = c, b
    if d - a <= _CLUSTER:
        return _dd_series(a, b, c, d, 3)
    return (_dd3(b, c, d) - _dd3(a, b, c)) / (d - a)


# =============================================================================
# Two-compartment disposition rate constants
# =============================================================================
@njit(cache=True)
def two_cmt_rates(k10, k12, k21):
    """Disposition rate constants of the two-compartment model and the two weights.

    Parameters
    ----------
    k10, k12, k21 : float
        Micro rate constants, 1/h, all >= 0.

    Returns
    -------
    alpha, beta : float
        The rate constants (1/h) of the fast and slow phases, ``alpha >= beta >= 0``,
        the negatives of the eigenvalues of ``[[-(k10+k12), k21], [k12, -k21]]``:
        ``alpha + beta = k10 + k12 + k21`` and ``alpha * beta = k10 * k21``.
    u, w : float
        ``u = alpha - k21 >= 0`` and ``w = k21 - beta >= 0`` (1/h), with
        ``u + w = alpha - beta`` and ``u * w = k12 * k21``.  ``w/(alpha - beta)`` and
        ``u/(alpha - beta)`` are the fractions of a central bolus in the slow and
        fast phases of the central amount (Gibaldi & Perrier, eq. 2.5-2.6).

    Notes
    -----
    Computed without cancellation: with ``s = k21 - k10 - k12`` the discriminant is
    ``s^2 + 4 k12 k21`` (a sum of non-negative terms), the larger of u and w is
    ``(sqrt(disc) +- s)/2`` with no cancellation and the smaller ``k12 k21`` over
    the larger; ``beta = k10 k21 / alpha``.
    """
    s = k21 - k10 - k12
    root = math.sqrt(s * s + 4.0 * k12 * k21)
    if s >= 0.0:
        w = 0.5 * (s + root)
        u = k12 * k21 / w if w > 0.0 else 0.0
    else:
        u = 0.5 * (root - s)
        w = k12 * k21 / u
    alpha = k21 + u
    beta = k10 * k21 / alpha if alpha > 0.0 else 0.0
    return alpha, beta, u, w


# =============================================================================
# State propagation (exact over an interval with constant input rates)
# =============================================================================
@njit(cache=True)
def propagate_1cmt(k10, dt, y, r, out):
    """Exact state of the one-compartment model after ``dt`` hours.

    Parameters
    ----------
    k10 : float
        Elimination rate constant, 1/h (CL/V), >= 0.
    dt : float
        Elapsed time, h, >= 0.
    y : ndarray, shape (1,)
        Amount in CENT at the start, mg.
    r : ndarray, shape (1,)
        Constant input rate into CENT over the interval, mg/h.
    out : ndarray, shape (1,)
        Receives the amount at ``t + dt``, mg.  May be ``y`` itself.

    Notes
    -----
    ``A(dt) = A0 e^{-k dt} + r (1 - e^{-k dt})/k`` (Gibaldi & Perrier, eq. 2.2).
    """
    z = -k10 * dt
    out[0] = math.exp(z) * y[0] + dt * _dd2(z, 0.0) * r[0]


@njit(cache=True)
def propagate_1cmt_oral(ka, k10, dt, y, r, out):
    """Exact state of the one-compartment model with first-order absorption after ``dt`` hours.

    Parameters
    ----------
    ka, k10 : float
        Absorption and elimination rate constants, 1/h, >= 0; ``ka == k10`` is allowed.
    dt : float
        Elapsed time, h, >= 0.
    y : ndarray, shape (2,)
        Amounts (DEPOT, CENT) at the start, mg.
    r : ndarray, shape (2,)
        Constant input rates into (DEPOT, CENT) over the interval, mg/h.
    out : ndarray, shape (2,)
        Receives the amounts at ``t + dt``, mg.  May be ``y`` itself.

    Notes
    -----
    With ``f[..]`` the divided differences of ``exp(lambda dt)`` over the
    eigenvalues -ka, -k10 (and 0 for the integral G):
    ``E = [[f[-ka], 0], [ka f[-ka,-k10], f[-k10]]]`` and
    ``G = [[f[-ka,0], 0], [ka f[-ka,-k10,0], f[-k10,0]]]``.
    ``ka f[-ka,-k10] = ka (e^{-k10 dt} - e^{-ka dt})/(ka - k10)``, the Bateman function
    (Gibaldi & Perrier, eq. 1.12), which tends to ``ka dt e^{-k dt}`` as ka -> k10.
    """
    za = -ka * dt
    zk = -k10 * dt
    e_dd = math.exp(za)
    e_cc = math.exp(zk)
    e_cd = ka * dt * _dd2(za, zk)
    depot = e_dd * y[0]
    cent = e_cd * y[0] + e_cc * y[1]
    if r[0] != 0.0 or r[1] != 0.0:
        depot += dt * _dd2(za, 0.0) * r[0]
        cent += ka * dt * dt * _dd3(za, zk, 0.0) * r[0] + dt * _dd2(zk, 0.0) * r[1]
    out[0] = depot
    out[1] = cent


@njit(cache=True)
def propagate_2cmt(k10, k12, k21, dt, y, r, out):
    """Exact state of the two-compartment model after ``dt`` hours.

    Parameters
    ----------
    k10, k12, k21 : float
        Micro rate constants, 1/h, >= 0.
    dt : float
        Elapsed time, h, >= 0.
    y : ndarray, shape (2,)
        Amounts (CENT, PERIPH) at the start, mg.
    r : ndarray, shape (2,)
        Constant input rates into (CENT, PERIPH), mg/h.
    out : ndarray, shape (2,)
        Receives the amounts at ``t + dt``, mg.  May be ``y`` itself.

    Notes
    -----
    Newton's form of the matrix function on the eigenvalues -alpha, -beta:
    ``f(K) = f[-alpha] I + f[-alpha,-beta] (K + alpha I)`` with
    ``K + alpha I = [[w, k21], [k12, u]]`` (see :func:`two_cmt_rates`), all entries
    >= 0; G is the same with every divided difference extended by the point 0.
    Equivalent to the biexponential forms of Gibaldi & Perrier, eq. 2.5-2.10.
    """
    alpha, beta, u, w = two_cmt_rates(k10, k12, k21)
    za = -alpha * dt
    zb = -beta * dt
    ea = math.exp(za)
    d = dt * _dd2(za, zb)
    c0 = y[0]
    p0 = y[1]
    cent = (ea + w * d) * c0 + k21 * d * p0
    peri = k12 * d * c0 + (ea + u * d) * p0
    if r[0] != 0.0 or r[1] != 0.0:
        ga = dt * _dd2(za, 0.0)
        gd = dt * dt * _dd3(za, zb, 0.0)
        cent += (ga + w * gd) * r[0] + k21 * gd * r[1]
        peri += k12 * gd * r[0] + (ga + u * gd) * r[1]
    out[0] = cent
    out[1] = peri


@njit(cache=True)
def propagate_2cmt_oral(ka, k10, k12, k21, dt, y, r, out):
    """Exact state of the two-compartment model with first-order absorption after ``dt`` hours.

    Parameters
    ----------
    ka, k10, k12, k21 : float
        Micro rate constants, 1/h, >= 0; ka may equal alpha or beta.
    dt : float
        Elapsed time, h, >= 0.
    y : ndarray, shape (3,)
        Amounts (DEPOT, CENT, PERIPH) at the start, mg.
    r : ndarray, shape (3,)
        Constant input rates into (DEPOT, CENT, PERIPH), mg/h.
    out : ndarray, shape (3,)
        Receives the amounts at ``t + dt``, mg.  May be ``y`` itself.

    Notes
    -----
    K is block lower triangular (depot, then the 2x2 disposition block M), so the
    depot column of ``f(K)`` is ``ka f[-ka, M] e_CENT`` with
    ``f[-ka, M] = f[-ka,-alpha] I + f[-ka,-alpha,-beta] (M + alpha I)``; the other
    columns are those of :func:`propagate_2cmt`.  G: every divided difference
    extended by the point 0.
    """
    alpha, beta, u, w = two_cmt_rates(k10, k12, k21)
    zk = -ka * dt
    za = -alpha * dt
    zb = -beta * dt
    ea = math.exp(za)
    d = dt * _dd2(za, zb)
    dka = dt * _dd2(zk, za)
    dkab = dt * dt * _dd3(zk, za, zb)
    a0 = y[0]
    c0 = y[1]
    p0 = y[2]
    depot = math.exp(zk) * a0
    cent = ka * (dka + w * dkab) * a0 + (ea + w * d) * c0 + k21 * d * p0
    peri = ka * k12 * dkab * a0 + k12 * d * c0 + (ea + u * d) * p0
    if r[0] != 0.0 or r[1] != 0.0 or r[2] != 0.0:
        ga = dt * _dd2(za, 0.0)
        gd = dt * dt * _dd3(za, zb, 0.0)
        gka = dt * dt * _dd3(zk, za, 0.0)
        gkab = dt * dt * dt * _dd4(zk, za, zb, 0.0)
        depot += dt * _dd2(zk, 0.0) * r[0]
        cent += ka * (gka + w * gkab) * r[0] + (ga + w * gd) * r[1] + k21 * gd * r[2]
        peri += ka * k12 * gkab * r[0] + k12 * gd * r[1] + (ga + u * gd) * r[2]
    out[0] = depot
    out[1] = cent
    out[2] = peri


@njit(cache=True)
def propagate(structure, micro, dt, y, r, out):
    """Exact state of a linear structure after ``dt`` hours (dispatch on ``structure``).

    Parameters
    ----------
    structure : int
        One of :data:`ONE_CMT`, :data:`ONE_CMT_ORAL`, :data:`TWO_CMT`, :data:`TWO_CMT_ORAL`.
    micro : ndarray, shape (4,)
        ``[ka, k10, k12, k21]``, 1/h.
    dt : float
        Elapsed time, h, >= 0.
    y, r, out : ndarray, shape (n_states,)
        Start amounts (mg), constant input rates (mg/h) and the amounts at
        ``t + dt`` (mg, written; may be ``y`` itself).

    Returns
    -------
    bool
        False for an unknown structure code (``out`` untouched), True otherwise.
    """
    ka = micro[MICRO_KA]
    k10 = micro[MICRO_K10]
    if structure == ONE_CMT:
        propagate_1cmt(k10, dt, y, r, out)
    elif structure == ONE_CMT_ORAL:
        propagate_1cmt_oral(ka, k10, dt, y, r, out)
    elif structure == TWO_CMT:
        propagate_2cmt(k10, micro[MICRO_K12], micro[MICRO_K21], dt, y, r, out)
    elif structure == TWO_CMT_ORAL:
        propagate_2cmt_oral(ka, k10, micro[MICRO_K12], micro[MICRO_K21], dt, y, r, out)
    else:
        return False
    return True


@njit(cache=True)
def transition_matrices(structure, micro, dt, E, G):
    """Fill ``E = expm(K dt)`` and ``G = integral_0^dt expm(K s) ds`` column by column.

    Obtained from :func:`propagate` on unit vectors, so it is exactly what the
    propagation applies.  Useful for repeated dosing over a fixed interval
    (steady state: ``y_ss = (I - E)^{-1} (...)``) and for tests.

    Parameters
    ----------
    structure : int
        Structure code.
    micro : ndarray, shape (4,)
        ``[ka, k10, k12, k21]``, 1/h.
    dt : float
        Interval, h, >= 0.
    E : ndarray, shape (n, n)
        Receives the state-transition matrix (dimensionless).
    G : ndarray, shape (n, n)
        Receives the input-response matrix, h (amount per unit rate).

    Returns
    -------
    bool
        False for an unknown structure code.
    """
    n = E.shape[0]
    unit = np.zeros(n)
    zero = np.zeros(n)
    col = np.empty(n)
    for j in range(n):
        unit[j] = 1.0
        if not propagate(structure, micro, dt, unit, zero, col):
            return False
        for i in range(n):
            E[i, j] = col[i]
        propagate(structure, micro, dt, zero, unit, col)
        for i in range(n):
            G[i, j] = col[i]
        unit[j] = 0.0
    return True


# =============================================================================
# Superposition (numpy, vectorised over output times)
# =============================================================================
def _structure_code(structure) -> int:
    if isinstance(structure, str):
        if structure not in STRUCTURES:
            raise ValueError(f"unknown structure {structure!r}; valid: {', '.join(STRUCTURES)}")
        return STRUCTURES[structure]
    code = int(structure)
    if code not in N_STATES:
        raise ValueError(f"unknown structure code {structure!r}; valid: {sorted(N_STATES)}")
    return code


def _e1(mu, x):
    """integral_0^x e^{-mu s} ds = (1 - e^{-mu x})/mu (x at mu == 0), elementwise."""
    if mu == 0.0:
        return np.asarray(x, dtype=np.float64).copy()
    return -np.expm1(-mu * x) / mu


def _d2(lam, kap, x):
    """(e^{-lam x} - e^{-kap x})/(kap - lam) (x e^{-lam x} at kap == lam), elementwise.

    Written as ``e^{-min x} (1 - e^{-|kap-lam| x})/|kap-lam|``: no cancellation.
    """
    lo = min(lam, kap)
    gap = abs(kap - lam)
    return np.exp(-lo * x) * _e1(gap, x)


def _i2(lam, kap, x):
    """integral_0^x _d2(lam, kap, s) ds, elementwise, accurate for any lam, kap >= 0.

    Uses ``(e1(lo, x) - d2(lo, hi, x))/hi`` (lo, hi = min, max of lam, kap), which
    loses at most ~2/(hi x) ulps; where ``hi x < 0.01`` the power series
    ``sum_j (-1)^j h_j(lam, kap) x^(j+2)/(j+2)!`` is used instead (h_j the
    complete homogeneous polynomial; 9 terms leave < 1e-18 relative).
    """
    x = np.asarray(x, dtype=np.float64)
    lo, hi = min(lam, kap), max(lam, kap)
    small = hi * x < 1e-2
    out = np.empty_like(x)
    if np.any(~small):
        xs = x[~small]
        out[~small] = (_e1(lo, xs) - _d2(lo, hi, xs)) / hi
    if np.any(small):
        xs = x[small]
        acc = np.zeros_like(xs)
        h = 1.0       # h_j(lam, kap)
        lo_pow = 1.0  # lo^j
        term = xs * xs / 2.0  # x^(j+2)/(j+2)!
        for j in range(9):
            if j > 0:
                lo_pow *= lo
                h = hi * h + lo_pow
                term = term * xs / (j + 2)
            acc += (-1.0) ** j * h * term
        out[small] = acc
    return out


def _disposition_modes(code, micro):
    """(rates, weights) of the central amount after a unit central bolus.

    ``A_cent(t) = sum_j weights[j] exp(-rates[j] t)`` (weights sum to 1, >= 0).
    1-cmt: one mode k10.  2-cmt: alpha with (alpha-k21)/(alpha-beta), beta with
    (k21-beta)/(alpha-beta) (Gibaldi & Perrier, eq. 2.5-2.6; their A, B times V).
    """
    k10 = float(micro[MICRO_K10])
    if code in (ONE_CMT, ONE_CMT_ORAL):
        return (k10,), (1.0,)
    alpha, beta, u, w = two_cmt_rates(k10, float(micro[MICRO_K12]), float(micro[MICRO_K21]))
    root = u + w
    if root == 0.0:  # k12 == 0 and k21 == k10: alpha == beta, a single exponential
        return (alpha,), (1.0,)
    return (alpha, beta), (u / root, w / root)


def superposition(structure, micro, volume, doses, times):
    """Central concentration for a list of doses, by superposition of closed forms.

    Each dose's response is the classic sum over the disposition exponentials
    (Gibaldi & Perrier ch. 1-3; Bertrand & Mentré 2008), and the responses add
    because the system is linear.  With modes (lambda_j, c_j) of the central
    amount after a unit central bolus (c_j >= 0, sum 1; one mode k10 for one
    compartment, alpha and beta for two), x the time after the dose, R = amount /
    duration and T the duration:

    * bolus into central: ``amt sum_j c_j e^{-lambda_j x}``;
    * infusion into central: ``R sum_j c_j (1 - e^{-lambda_j x})/lambda_j`` while
      it runs (x <= T), then ``R sum_j c_j (1 - e^{-lambda_j T})/lambda_j
      e^{-lambda_j (x-T)}``;
    * bolus into the depot: ``amt ka sum_j c_j (e^{-lambda_j x} - e^{-ka x})/(ka - lambda_j)``;
    * infusion into the depot: ``R ka sum_j c_j I_j(x)`` while it runs, with
      ``I_j(x) = integral_0^x (e^{-lambda_j s} - e^{-ka s})/(ka - lambda_j) ds``;
      after it ends, ``R ka sum_j c_j [B_j(x-T) (1 - e^{-ka T})/ka +
      e^{-lambda_j (x-T)} I_j(T)]`` with ``B_j`` the bolus kernel above: the depot
      amount left at the end of the infusion is absorbed like a bolus and the
      central amount reached decays.

    The divided differences (e^{-lambda x} - e^{-ka x})/(ka - lambda) and their
    integrals are evaluated without cancellation, so ka == lambda_j needs no
    special case (the kernel tends to ``x e^{-ka x}``).

    Parameters
    ----------
    structure : str or int
        ``"1cmt"``, ``"1cmt_oral"``, ``"2cmt"``, ``"2cmt_oral"`` or the structure code.
    micro : array_like, shape (4,)
        ``[ka, k10, k12, k21]``, 1/h.
    volume : float
        Central volume, L (1.0 gives central amounts in mg).
    doses : array_like, shape (n_doses, 4)
        One row per dose: time (h), cmt (1-based compartment in the structure's
        state order: the depot is 1 and central 2 in oral structures, central is 1
        otherwise), amount (mg, bioavailability already applied) and duration (h;
        0 for a bolus, > 0 for a zero-order infusion of rate amount/duration).
    times : array_like, shape (n_times,)
        Output times, h, in any order.  A dose at time t_d contributes at times
        ``t >= t_d`` (the value right after a bolus given at t).

    Returns
    -------
    ndarray, shape (n_times,)
        Central concentration, mg/L (amount / volume).

    Notes
    -----
    Inputs are not validated here (times, amounts and durations are expected
    finite and durations >= 0: the dosing layer checks them).  The work is one
    vectorised pass over the output times per dose, O(n_doses * n_times).

    Raises
    ------
    ValueError
        Unknown structure, or a dose into a compartment that is neither the depot
        nor the central compartment (peripheral doses are not supported).

    Examples
    --------
    One 100 mg oral dose, ka 1/h, k10 0.05/h, V 20 L, at 0, 2 and 24 h:

    >>> c = superposition("1cmt_oral", [1.0, 0.05, 0, 0], 20.0, [[0, 1, 100, 0]], [0, 2, 24])
    >>> np.round(c, 4).tolist()
    [0.0, 4.05, 1.5852]
    """
    code = _structure_code(structure)
    micro = np.asarray(micro, dtype=np.float64)
    times = np.asarray(times, dtype=np.float64)
    doses = np.asarray(doses, dtype=np.float64).reshape(-1, 4)
    oral = code in (ONE_CMT_ORAL, TWO_CMT_ORAL)
    depot_cmt, central_cmt = (1, 2) if oral else (0, 1)
    cmts = doses[:, 1]
    bad = ~np.isin(cmts, (depot_cmt, central_cmt) if oral else (central_cmt,))
    if np.any(bad):
        name = {v: k for k, v in STRUCTURES.items()}[code]
        raise ValueError(f"doses into compartment {int(cmts[bad][0])} are not supported for structure "
                         f"{name!r}; dose the {'depot (1) or central (2)' if oral else 'central (1)'} compartment")
    ka = float(micro[MICRO_KA])
    rates, weights = _disposition_modes(code, micro)

    amount = np.zeros(times.shape)
    for t_dose, cmt, amt, dur in doses:
        if amt == 0.0:
            continue
        after = times >= t_dose
        x = times[after] - t_dose
        resp = np.zeros(x.shape)
        for lam, c in zip(rates, weights):
            if cmt == central_cmt and dur == 0.0:
                resp += c * amt * np.exp(-lam * x)
            elif cmt == central_cmt:
                rate = amt / dur
                on = x <= dur
                resp += c * rate * np.where(on, _e1(lam, np.minimum(x, dur)),
                                            _e1(lam, dur) * np.exp(-lam * np.maximum(x - dur, 0.0)))
            elif dur == 0.0:
                resp += c * amt * ka * _d2(lam, ka, x)
            else:
                rate = amt / dur
                on = x <= dur
                since_end = np.maximum(x - dur, 0.0)
                depot_left = _e1(ka, dur)                      # depot amount per unit rate at the end
                central_reached = _i2(lam, ka, np.array([dur]))[0]  # this mode's central amount then
                after_end = _d2(lam, ka, since_end) * depot_left + np.exp(-lam * since_end) * central_reached
                resp += c * rate * ka * np.where(on, _i2(lam, ka, np.minimum(x, dur)), after_end)
        amount[after] += resp
    return amount / volume
