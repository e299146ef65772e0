"""The coupled system with both drugs' PK in closed form: the ODE solver carries only the network and tumour.

Both PK models are linear (``dx/dt = K x``, doses into the depot), so between two doses of
a drug each amount is a sum of exponentials of the eigenvalues ``-lambda_i`` of ``K``
(``ka``, ``alpha``, ``beta`` for neratinib's two compartments with absorption; ``ka`` and
``k10`` for ruxolitinib's one).  In the modal coordinates ``m = V^-1 x`` (``K = V diag(-lambda) V^-1``)
every mode decays on its own and a dose of ``F * D`` mg adds ``F * D * V^-1 e_depot``, so the
state just after each dose follows exactly by the recursion

    m_k = m_(k-1) * exp(-lambda (t_k - t_(k-1))) + F D_k V^-1 e_depot

(superposition of the doses), and the free concentration between ``t_k`` and ``t_(k+1)`` is

    C_u(t) = sum_i coef_(k,i) exp(-lambda_i (t - t_k)),   coef_(k,i) = s V_(CENT,i) m_(k,i),

with ``s = fu 1e6 / (MW Vc)`` turning mg in the central compartment into free nM.  The
tables ``t_k, coef_k`` are built once per patient here (:func:`pk_tables`) and appended to
the patient's parameter row; :func:`pkpd.system.closed_pk_rhs` reads them, so the solver
integrates the 18 network and tumour states, with 5 exponentials per right-hand side in
place of the 5 PK states.  The PK states at the output times are reconstructed exactly
from the same modes (:func:`pk_states`).  The solver still restarts at every dose time:
the concentrations are continuous there but their slopes jump, which an error estimate
stepping across would misjudge.

Near-coincident eigenvalues (``ka`` equal to ``alpha`` or ``beta`` within 1e-6 relative, a
one-in-a-million event under the drugs' IIV) make ``V`` ill-conditioned; ``ka`` is then
moved away by 1e-6 relative, which changes the concentrations by about as much (stated,
and far below any tolerance used for trial simulations).  This module is an alternative
path, verified equal to the full ODE path in ``tests/test_closed_form.py`` and timed
against it in ``benchmarks/`` (which says whether it is faster).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pkpd.events import EventTable, restarts_and_outputs
from pkpd.simulate import integrate_rows
from pkpd.solvers.integrate import BOLUS
from pkpd.system import (DEPOT_CMT, I_NER_VC, I_RUX_V, N_ODE_STATES, N_STATES, P_CONV, P_NER, P_RUX, P_TABLE,
                         S_NER, S_NET, S_RUX, closed_pk_rhs)

__all__ = ["rate_matrices", "modal_decomposition", "pk_tables", "pk_states", "integrate_closed_form",
           "SEPARATION"]

#: smallest relative separation of two PK eigenvalues (below it, ka is moved by this much)
SEPARATION = 1e-6


def rate_matrices(P: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``K`` (1/h) of neratinib (n, 3, 3: DEPOT, CENT, PERIPH) and ruxolitinib (n, 2, 2: DEPOT, CENT).

    From the parameter rows ``P`` (n, n_parameters) of :data:`pkpd.system.SYSTEM`.
    """
    P = np.atleast_2d(P)
    CL, Vc, Q, Vp, ka = (P[:, P_NER + i] for i in range(5))
    K1 = np.zeros((P.shape[0], 3, 3))
    K1[:, 0, 0] = -ka
    K1[:, 1, 0] = ka
    K1[:, 1, 1] = -(CL + Q) / Vc
    K1[:, 1, 2] = Q / Vp
    K1[:, 2, 1] = Q / Vc
    K1[:, 2, 2] = -Q / Vp
    CLr, V, kar = (P[:, P_RUX + i] for i in range(3))
    K2 = np.zeros((P.shape[0], 2, 2))
    K2[:, 0, 0] = -kar
    K2[:, 1, 0] = kar
    K2[:, 1, 1] = -CLr / V
    return K1, K2


def modal_decomposition(K: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``lambda`` (n, m; 1/h), ``V`` and ``V^-1`` (n, m, m) with ``K = V diag(-lambda) V^-1``.

    The depot's rate (``K[0, 0] = -ka``) is moved by :data:`SEPARATION` relative where it
    nearly coincides with a disposition rate, so that ``V`` stays well conditioned.
    """
    K = K.copy()
    disposition = -np.linalg.eigvals(K[:, 1:, 1:]).real
    ka = -K[:, 0, 0]
    for j in range(disposition.shape[1]):
        close = np.abs(ka - disposition[:, j]) < SEPARATION * disposition[:, j]
        ka = np.where(close, disposition[:, j] * (1 + 2 * SEPARATION), ka)
    K[:, 0, 0], K[:, 1, 0] = -ka, ka
    w, V = np.linalg.eig(K)
    return -w.real, V.real, np.linalg.inv(V.real)


def _dose_table(ev: EventTable, cmt: int) -> tuple[np.ndarray, np.ndarray]:
    """Times (h, after lag) and amounts (mg, after F) of the boluses into ``cmt`` (1-based), one per time."""
    on = (ev.kind == BOLUS) & (ev.cmt == cmt - 1) & (ev.value != 0.0)
    t, amt = ev.time[on], ev.value[on]
    times, inverse = np.unique(t, return_inverse=True)
    return times, np.bincount(inverse, weights=amt, minlength=times.size)


def _modes(lam, Vinv, times, amounts):
    """Modal state just after each dose: (n, n_doses, m)."""
    n, m = lam.shape
    modes = np.zeros((n, times.size, m))
    unit = Vinv[:, :, 0]  # a unit dose into the depot, in modal coordinates
    current = np.zeros((n, m))
    for k in range(times.size):
        if k:
            current = current * np.exp(-lam * (times[k] - times[k - 1]))
        current = current + amounts[k] * unit
        modes[:, k] = current
    return modes


@dataclass(frozen=True)
class _DrugModes:
    """One drug's PK in modal coordinates for rows of patients, and its doses."""

    drug: str
    lam: np.ndarray       # (n, m) rates, 1/h
    V: np.ndarray         # (n, m, m) eigenvectors (columns)
    dose_t: np.ndarray    # (n_doses,) dose times after lag, h
    modes: np.ndarray     # (n, n_doses, m) modal state just after each dose, mg


def _drug_modes(P: np.ndarray, ev: EventTable) -> tuple[_DrugModes, _DrugModes]:
    """Neratinib's and ruxolitinib's modes and doses, the work shared by the tables and the states."""
    out = []
    for K, drug in zip(rate_matrices(P), ("neratinib", "ruxolitinib")):
        lam, V, Vinv = modal_decomposition(K)
        dose_t, amounts = _dose_table(ev, DEPOT_CMT[drug])
        out.append(_DrugModes(drug, lam, V, dose_t, _modes(lam, Vinv, dose_t, amounts)))
    return tuple(out)


def pk_tables(P: np.ndarray, ev: EventTable, drug_modes=None) -> np.ndarray:
    """Parameter rows ``P`` (n, n_parameters) with each patient's PK tables appended (layout below).

    ``ev`` is the event table of the doses (lag times and F applied, as the full ODE path
    gets them).  Appended from :data:`pkpd.system.P_TABLE`: the numbers of neratinib and
    ruxolitinib dose times, two search cursors (0), their 3 + 2 rates ``lambda`` (1/h),
    then per drug the dose times (h) and, per dose, the modal coefficients of the free
    concentration (nM).  ``drug_modes``: :func:`_drug_modes` of ``P`` and ``ev`` if already at hand.
    """
    P = np.atleast_2d(P)
    assert P.shape[1] == P_TABLE, "parameter rows of pkpd.system.SYSTEM"
    n = P.shape[0]
    tables = []
    drugs = _drug_modes(P, ev) if drug_modes is None else drug_modes
    for d, vol, conv in zip(drugs, (I_NER_VC, I_RUX_V), (P_CONV, P_CONV + 2)):
        scale = P[:, conv + 1] * 1e6 / (P[:, conv] * P[:, vol])  # fu 1e6 / (MW V): mg -> free nM
        coef = (scale[:, None] * d.V[:, 1, :])[:, None, :] * d.modes
        tables += [np.broadcast_to(d.dose_t, (n, d.dose_t.size)), coef.reshape(n, -1)]
    cursors = np.zeros((n, 2))
    header = np.column_stack([np.full(n, drugs[0].dose_t.size), np.full(n, drugs[1].dose_t.size), cursors,
                              drugs[0].lam, drugs[1].lam])
    return np.ascontiguousarray(np.concatenate([P, header, *tables], axis=1))


def pk_states(P: np.ndarray, ev: EventTable, times: np.ndarray, drug_modes=None) -> np.ndarray:
    """Exact PK amounts (n, n_times, 5: neratinib DEPOT, CENT, PERIPH, ruxolitinib DEPOT, CENT; mg) at ``times`` (h).

    An output at a dose time sees the dose, as in the ODE path.  ``drug_modes``: as for
    :func:`pk_tables`.
    """
    P = np.atleast_2d(P)
    out = np.zeros((P.shape[0], times.size, S_NET))
    drugs = _drug_modes(P, ev) if drug_modes is None else drug_modes
    for d, first in zip(drugs, (S_NER, S_RUX)):
        if d.dose_t.size == 0:
            continue
        k = np.searchsorted(d.dose_t, times, side="right") - 1
        given = k >= 0
        tau = times[given] - d.dose_t[k[given]]
        m = d.modes[:, k[given]] * np.exp(-d.lam[:, None, :] * tau[None, :, None])  # (n, n_out, m)
        out[:, given, first:first + d.lam.shape[1]] = np.einsum("nij,ntj->nti", d.V, m)
    return out


def integrate_closed_form(segment, Y0: np.ndarray, P: np.ndarray, ev: EventTable, times: np.ndarray,
                          atol: np.ndarray, opts: np.ndarray):
    """Integrate patients of the coupled system with the PK in closed form; output at ``times`` (h).

    ``Y0`` (n, 23) as for the full system (its PK part must be 0: no drug before the first
    dose), ``P`` (n, n_parameters), ``ev`` the event table of the doses (lag and F applied),
    ``atol`` (23,).  Returns ``(Y, stats, status, t_reached)`` as
    :func:`pkpd.solvers.integrate.integrate_population` fills them, ``Y`` (n, n_times, 23)
    with the PK amounts reconstructed exactly.
    """
    Y0 = np.atleast_2d(Y0)
    if np.any(Y0[:, :S_NET] != 0.0):
        raise ValueError("the closed-form PK path starts with no drug in the body (Y0[:, :5] must be 0)")
    dose_times = np.unique(ev.time[(ev.kind == BOLUS) & (ev.value != 0.0)])
    ode_ev = restarts_and_outputs(dose_times[dose_times < times.max()], times, N_ODE_STATES)
    drugs = _drug_modes(np.atleast_2d(P), ev)
    Yode, S, status, t_reached = integrate_rows(closed_pk_rhs, segment, Y0[:, S_NET:], pk_tables(P, ev, drugs),
                                                ode_ev, times.size, np.ascontiguousarray(atol[S_NET:]), opts)
    Y = np.empty((Y0.shape[0], times.size, N_STATES))
    Y[:, :, S_NET:] = Yode
    Y[:, :, :S_NET] = pk_states(P, ev, times, drugs)
    return Y, S, status, t_reached
