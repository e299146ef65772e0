"""The coupled system with the PK in closed form (pkpd.closed_form) against the full ODE path.

Independent checks: the PK amounts against the classic superposition formulas of
pkpd.solvers.linear (Gibaldi & Perrier), to 1e-12 relative (two closed forms of the same
quantity, different algebra: round-off only); the network and tumour against the full ODE
path at rtol 1e-10, to 1e-8 of each state's scale (both are integrations at 1e-10: a hundred
times their tolerance allows for error accumulation over two weeks).
"""

from __future__ import annotations

import numpy as np
import pytest

from pkpd.closed_form import SEPARATION, integrate_closed_form, modal_decomposition, pk_states, pk_tables, \
    rate_matrices
from pkpd.regimens import Regimen
from pkpd.simulate import _event_table, _records_from_doses, integrate_rows
from pkpd.solvers import SolverOptions, get_method
from pkpd.solvers.linear import superposition
from pkpd.system import (DEPOT_CMT, N_STATES, P_RUX, PATHS, S_NET, SYSTEM, closed_pk_rhs, dose_modifiers,
                         initial_states, parameter_matrix)

DAYS = 14


def _population(n=3, seed=5):
    """Patients with different PK (CL, V, ka spread as by the drugs' IIV) and tumour sizes."""
    rng = np.random.default_rng(seed)
    P = parameter_matrix(n)
    for path in ("neratinib.CL", "neratinib.Vc", "neratinib.KA", "ruxolitinib.CL", "ruxolitinib.V",
                 "ruxolitinib.KA", "tumor.D0"):
        P[:, PATHS[path]] *= np.exp(0.3 * rng.standard_normal(n))
    P[:, PATHS["neratinib.tlag"]] = 1.5  # lag times put doses off the output grid
    return P


def _events(P, times, days=DAYS):
    doses = (Regimen.every(240, 24).to_doses(DEPOT_CMT["neratinib"], days * 24.0)
             + Regimen.every(15, 12).to_doses(DEPOT_CMT["ruxolitinib"], days * 24.0))
    return _event_table(SYSTEM, _records_from_doses(doses, times), P[0], dose_modifiers, str)


def test_modal_decomposition_reproduces_the_rate_matrices():
    P = _population()
    for K in rate_matrices(P):
        lam, V, Vinv = modal_decomposition(K)
        np.testing.assert_allclose(V @ (-lam[..., None] * Vinv), K, rtol=1e-12, atol=1e-12 * np.abs(K).max())
        assert (lam > 0).all()


def test_coincident_absorption_and_disposition_rates_are_separated():
    P = parameter_matrix(1)
    P[0, P_RUX + 2] = P[0, P_RUX] / P[0, P_RUX + 1]  # ruxolitinib's ka == k10 = CL/V exactly
    lam, V, Vinv = modal_decomposition(rate_matrices(P)[1])
    assert abs(lam[0, 0] - lam[0, 1]) > 0.5 * SEPARATION * lam[0].min()
    assert np.linalg.cond(V[0]) < 1e8


def test_pk_states_are_the_superposition_of_the_doses():
    P = _population()
    times = np.sort(np.r_[np.linspace(0.0, DAYS * 24.0, 200), 24.0, 25.5, 48.0])  # dose times included
    ev = _events(P, times)
    X = pk_states(P, ev, times)
    for i in range(P.shape[0]):
        for drug, structure, first in (("neratinib", "2cmt_oral", 0), ("ruxolitinib", "1cmt_oral", 3)):
            K = rate_matrices(P[i:i + 1])[0 if drug == "neratinib" else 1][0]
            if drug == "neratinib":  # [ka, k10, k12, k21]
                micro = [-K[0, 0], -K[1, 1] - K[2, 1], K[2, 1], K[1, 2]]
            else:
                micro = [-K[0, 0], -K[1, 1], 0.0, 0.0]
            on = (ev.kind == 1) & (ev.cmt == DEPOT_CMT[drug] - 1)
            doses = np.column_stack([ev.time[on], np.ones(on.sum()), ev.value[on], np.zeros(on.sum())])
            cent = superposition(structure, micro, 1.0, doses, times)
            np.testing.assert_allclose(X[i, :, first + 1], cent, rtol=1e-12, atol=1e-12 * cent.max())


def _full(P, Y0, ev, times, opts):
    """The full ODE path (PK amounts as states)."""
    Y, S, status, _ = integrate_rows(SYSTEM.rhs, get_method(opts.method).segment, Y0, P, ev, times.size,
                                     opts.atol_array(N_STATES), opts.opts_array())
    assert (status == 0).all()
    return Y, S


@pytest.fixture(scope="module")
def tight():
    P = _population()
    Y0 = initial_states(P)
    times = np.arange(0.0, DAYS * 24.0 + 0.5, 2.0)
    ev = _events(P, times)
    opts = SolverOptions(method="radau5", rtol=1e-10, atol=1e-12, max_steps=10**7)
    Yc, Sc, status, _ = integrate_closed_form(get_method("radau5").segment, Y0, P, ev, times,
                                              opts.atol_array(N_STATES), opts.opts_array())
    assert (status == 0).all()
    return P, Y0, ev, times, Yc, _full(P, Y0, ev, times, opts)[0]


def test_the_closed_form_path_equals_the_full_ode_path(tight):
    P, Y0, ev, times, Yc, Yf = tight
    scale = np.abs(Yf).max(axis=1, keepdims=True) + 1e-300
    assert np.max(np.abs(Yc - Yf) / scale) < 1e-8
    assert np.max(np.abs(Yc[..., :S_NET] - Yf[..., :S_NET]) / scale[..., :S_NET]) < 1e-8


@pytest.mark.parametrize("method, rtol", [("dopri5", 1e-6), ("radau5", 1e-6), ("rodas3", 1e-5)])
def test_at_working_tolerances_the_closed_form_path_is_as_accurate_as_the_ode_path(tight, method, rtol):
    P, Y0, ev, times, _, ref = tight
    opts = SolverOptions(method=method, rtol=rtol, atol=1e-8)
    Yc, Sc, status, _ = integrate_closed_form(get_method(method).segment, Y0, P, ev, times,
                                              opts.atol_array(N_STATES), opts.opts_array())
    Yf, Sf = _full(P, Y0, ev, times, opts)
    scale = np.abs(ref).max(axis=1, keepdims=True) + 1e-300
    err_c, err_f = (np.max(np.abs(Y - ref) / scale) for Y in (Yc, Yf))
    assert err_c < 20 * rtol and err_c < 3 * err_f
    # without the PK in the error control the solver needs no more steps
    assert Sc[:, 0].sum() <= Sf[:, 0].sum()


def test_the_right_hand_side_does_not_depend_on_its_search_cursor(tight):
    P, Y0, ev, times, Yc, _ = tight
    p = pk_tables(P[:1], ev)[0]
    y = np.ascontiguousarray(Yc[0, 40, S_NET:])
    want = np.zeros(N_STATES - S_NET)
    closed_pk_rhs(80.0, y, p.copy(), want)
    for t_before in (0.0, 300.0, 79.9, 80.0):  # the cursor left behind, ahead, just before, at
        q = p.copy()
        closed_pk_rhs(t_before, y, q, np.zeros(N_STATES - S_NET))
        got = np.zeros(N_STATES - S_NET)
        closed_pk_rhs(80.0, y, q, got)
        np.testing.assert_array_equal(got, want)


def test_drug_in_the_body_at_the_start_is_refused(tight):
    P, Y0, ev, times, _, _ = tight
    Y0 = Y0.copy()
    Y0[:, 1] = 10.0
    with pytest.raises(ValueError, match="no drug"):
        integrate_closed_form(get_method("dopri5").segment, Y0, P, ev, times, np.full(N_STATES, 1e-8),
                              SolverOptions().opts_array())
