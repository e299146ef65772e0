"""The closed-form path of linear sources (pkpd.closed_form, pkpd.model.fastpaths) against independent references.

Independent checks:

* the PK amounts against the classic superposition formulas of pkpd.solvers.linear (Gibaldi &
  Perrier), to 1e-12 relative (two closed forms of the same quantity, different algebra:
  round-off only);
* everything else against the full ODE path (every state integrated) at rtol 1e-10, to 1e-8 of
  each state's scale (both are integrations at 1e-10: a hundred times their tolerance allows
  for error accumulation over two weeks), on the trial system and on a user model written in
  the language with an infusion into a two-compartment model and an effect compartment;
* which states the analysis finds linear, on models where the answer is known by hand.
"""

from __future__ import annotations

import numpy as np
import pytest

from pkpd.closed_form import SEPARATION, ClosedForm, closed_form
from pkpd.dosing import Dose
from pkpd.model import compile_model, parse_model
from pkpd.regimens import Regimen
from pkpd.simulate import _event_table, _records_from_doses, integrate_rows
from pkpd.solvers import SolverOptions, get_method
from pkpd.solvers.linear import superposition
from pkpd.system import DEPOT_CMT, N_STATES, PATHS, SYSTEM, TRIAL_KERNELS, dose_modifiers, initial_states, \
    parameter_matrix

DAYS = 14
CF = closed_form(TRIAL_KERNELS)


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


def _closed(cf, rhs, method, Y0, P, ev, n_out, opts, n_states):
    n = Y0.shape[0]
    return cf.integrate(rhs, get_method(method).segment, Y0, P, ev, np.zeros(n, np.int64),
                        np.full(n, len(ev), np.int64), n_out, opts.atol_array(n_states), opts.opts_array())


def _full(rhs, Y0, P, ev, n_out, opts, n_states):
    Y, S, status, _ = integrate_rows(rhs, get_method(opts.method).segment, Y0, P, ev, n_out,
                                     opts.atol_array(n_states), opts.opts_array())
    assert (status == 0).all()
    return Y, S


# ---------------------------------------------------------------------------------- the analysis
def test_the_trial_systems_linear_sources_are_the_two_drugs_pk():
    names = TRIAL_KERNELS.state_names
    assert [[names[i] for i in src] for src in CF.sources] == [
        ["neratinib.DEPOT", "neratinib.CENT", "neratinib.PERIPH"], ["ruxolitinib.DEPOT", "ruxolitinib.CENT"]]
    assert [[names[i] for i in need] for need in CF.needed] == [["neratinib.CENT"], ["ruxolitinib.CENT"]]
    assert len(CF.ode) == N_STATES - 5


_EFFECT = """
[model]
name = cf_effect_test
[parameters]
CL [L/h] = 4 ; clearance ; assumed: test
V1 [L] = 20 ; central volume ; assumed: test
Q [L/h] = 2 ; inter-compartmental clearance ; assumed: test
V2 [L] = 40 ; peripheral volume ; assumed: test
ke0 [1/h] = 0.3 ; effect-site rate ; assumed: test
EC50 [mg/L] = 0.4 ; potency ; assumed: test
kin [1/h] = 0.2 ; production of R ; assumed: test
kout [1/h] = 0.2 ; loss of R ; assumed: test
[states]
CENT [mg] = 0 ; central
PER [mg] = 0 ; peripheral
CE [mg/L] = 0 ; effect-site concentration
R [1] = kin/kout ; response
[derived]
C [mg/L] = CENT/V1 ; plasma concentration
[odes]
d/dt(CENT) = -CL/V1*CENT - Q/V1*CENT + Q/V2*PER
d/dt(PER) = Q/V1*CENT - Q/V2*PER
d/dt(CE) = ke0*(C - CE)
d/dt(R) = kin*(1 - CE/(EC50 + CE)) - kout*R
[outputs]
CP [mg/L] = C ; plasma concentration
"""


@pytest.fixture(scope="module")
def effect_model():
    return compile_model(parse_model(_EFFECT))


def test_an_effect_compartment_joins_the_linear_source_and_a_turnover_does_not(effect_model):
    cf = closed_form(effect_model)
    names = effect_model.state_names
    assert [[names[i] for i in src] for src in cf.sources] == [["CENT", "PER", "CE"]]
    assert [names[i] for i in cf.needed[0]] == ["CE"]
    assert [names[i] for i in cf.ode] == ["R"]


@pytest.mark.parametrize("odes, linear", [
    ("d/dt(A) = -Vm*A/(Km + A)\nd/dt(B) = A - B", set()),          # Michaelis-Menten: nothing feeds B linearly
    ("d/dt(A) = -k*A\nd/dt(B) = k*A - k*B*B", {"A"}),                # B is quadratic; A still a source
    ("d/dt(A) = -k*A*t\nd/dt(B) = A - B", set()),                    # time-varying coefficient
    ("d/dt(A) = 1 - k*A\nd/dt(B) = A - B", set()),                   # a constant input is not a dose
])
def test_only_linear_homogeneous_autonomous_sources_are_found(odes, linear):
    text = ("[model]\nname = cf_probe_{}\n[parameters]\nk [1/h] = 0.1 ; r ; assumed: test\n"
            "Vm [mg/h] = 1 ; r ; assumed: test\nKm [mg] = 1 ; r ; assumed: test\n"
            "[states]\nA [mg] = 0 ; a\nB [mg] = 0 ; b\n[odes]\n{}\n").format(abs(hash(odes)) % 10**8, odes)
    cm = compile_model(parse_model(text))
    cf = closed_form(cm)
    found = set() if cf is None else {cm.state_names[i] for i in cf.closed_indices}
    assert found == linear


# ---------------------------------------------------------------------------------- the modes
def test_modes_reproduce_the_rate_matrices():
    P = _population()
    for K in CF.rate_matrices(initial_states(P), P):
        md = ClosedForm.modes(K)
        assert md.ok.all() and (md.lam > 0).all()
        np.testing.assert_allclose(md.V @ (-md.lam[..., None] * md.Vinv), K, rtol=1e-12,
                                   atol=1e-12 * np.abs(K).max())


def test_the_rate_matrix_is_the_models_own():
    P = parameter_matrix(1)
    K = CF.rate_matrices(initial_states(P), P)[1][0]
    CL, V, ka = (P[0, PATHS[f"ruxolitinib.{n}"]] for n in ("CL", "V", "KA"))
    np.testing.assert_allclose(K, [[-ka, 0.0], [ka, -CL / V]], rtol=1e-15)


def test_coincident_absorption_and_disposition_rates_are_separated():
    P = parameter_matrix(1)
    P[0, PATHS["ruxolitinib.KA"]] = P[0, PATHS["ruxolitinib.CL"]] / P[0, PATHS["ruxolitinib.V"]]  # ka == k10
    md = ClosedForm.modes(CF.rate_matrices(initial_states(P), P)[1])
    assert md.ok.all()
    assert abs(md.lam[0, 0] - md.lam[0, 1]) > 0.5 * SEPARATION * md.lam[0].min()
    assert np.linalg.cond(md.V[0]) < 1e8


def test_a_matrix_that_cannot_be_diagonalised_sends_the_patient_to_the_ode():
    # a repeated (defective) eigenvalue -2 with no depot to move; complex eigenvalues -1 +- i
    K = np.array([[[-1.0, 1.0], [-1.0, -3.0]], [[-1.0, 1.0], [-1.0, -1.0]]])
    assert not ClosedForm.modes(K).ok.any()


# ---------------------------------------------------------------------------------- the trial system
def test_pk_states_are_the_superposition_of_the_doses():
    P = _population()
    times = np.sort(np.r_[np.linspace(0.0, DAYS * 24.0, 200), 24.0, 25.5, 48.0])  # dose times included
    ev = _events(P, times)
    Y, _, status, _ = _closed(CF, SYSTEM.rhs, "dopri5", initial_states(P), P, ev, times.size, SolverOptions(),
                              N_STATES)
    assert (status == 0).all()
    K1, K2 = CF.rate_matrices(initial_states(P), P)
    for i in range(P.shape[0]):
        for drug, structure, K, cent in (("neratinib", "2cmt_oral", K1[i], 1), ("ruxolitinib", "1cmt_oral", K2[i], 4)):
            if drug == "neratinib":  # [ka, k10, k12, k21]
                micro = [-K[0, 0], -K[1, 1] - K[2, 1], K[2, 1], K[1, 2]]
            else:
                micro = [-K[0, 0], -K[1, 1], 0.0, 0.0]
            on = (ev.kind == 1) & (ev.cmt == DEPOT_CMT[drug] - 1)
            doses = np.column_stack([ev.time[on], np.ones(on.sum()), ev.value[on], np.zeros(on.sum())])
            want = superposition(structure, micro, 1.0, doses, times)
            np.testing.assert_allclose(Y[i, :, cent], want, rtol=1e-12, atol=1e-12 * want.max())


@pytest.fixture(scope="module")
def tight():
    P = _population()
    Y0 = initial_states(P)
    times = np.arange(0.0, DAYS * 24.0 + 0.5, 2.0)
    ev = _events(P, times)
    opts = SolverOptions(method="radau5", rtol=1e-10, atol=1e-12, max_steps=10**7)
    Yc, _, status, _ = _closed(CF, SYSTEM.rhs, "radau5", Y0, P, ev, times.size, opts, N_STATES)
    assert (status == 0).all()
    return P, Y0, ev, times, Yc, _full(SYSTEM.rhs, Y0, P, ev, times.size, opts, N_STATES)[0]


def test_the_closed_form_path_equals_the_full_ode_path(tight):
    P, Y0, ev, times, Yc, Yf = tight
    scale = np.abs(Yf).max(axis=1, keepdims=True) + 1e-300
    assert np.max(np.abs(Yc - Yf) / scale) < 1e-8


@pytest.mark.parametrize("method, rtol", [("dopri5", 1e-6), ("radau5", 1e-6), ("rodas3", 1e-5)])
def test_at_working_tolerances_the_closed_form_path_is_as_accurate_as_the_ode_path(tight, method, rtol):
    P, Y0, ev, times, _, ref = tight
    opts = SolverOptions(method=method, rtol=rtol, atol=1e-8)
    Yc, Sc, status, _ = _closed(CF, SYSTEM.rhs, method, Y0, P, ev, times.size, opts, N_STATES)
    Yf, Sf = _full(SYSTEM.rhs, Y0, P, ev, times.size, opts, N_STATES)
    scale = np.abs(ref).max(axis=1, keepdims=True) + 1e-300
    err_c, err_f = (np.max(np.abs(Y - ref) / scale) for Y in (Yc, Yf))
    assert err_c < 20 * rtol and err_c < 3 * err_f
    # without the PK in the error control the solver needs no more steps
    assert Sc[:, 0].sum() <= Sf[:, 0].sum()


def test_the_analytic_jacobian_of_the_reduced_kernel_is_its_derivative(tight):
    P, Y0, ev, times, Yc, _ = tight
    n = P.shape[0]
    P_ext, _, _ = CF.tables(Y0, P, ev, np.zeros(n, np.int64), np.full(n, len(ev), np.int64))
    p, y = P_ext[0].copy(), np.ascontiguousarray(Yc[0, 40, list(CF.ode)])
    J = np.zeros((y.size, y.size))
    CF.jac(80.0, y, p, J)
    f0, f1 = np.zeros(y.size), np.zeros(y.size)
    for j in range(y.size):  # central differences
        h = 1e-6 * max(abs(y[j]), 1e-3)
        yp, ym = y.copy(), y.copy()
        yp[j] += h
        ym[j] -= h
        CF.rhs(80.0, yp, p, f1)
        CF.rhs(80.0, ym, p, f0)
        np.testing.assert_allclose(J[:, j], (f1 - f0) / (2 * h), rtol=1e-5, atol=1e-6 * np.abs(J).max())


def test_the_right_hand_side_does_not_depend_on_its_search_cursor(tight):
    P, Y0, ev, times, Yc, _ = tight
    n = P.shape[0]
    P_ext, _, _ = CF.tables(Y0, P, ev, np.zeros(n, np.int64), np.full(n, len(ev), np.int64))
    p = P_ext[0]
    y = np.ascontiguousarray(Yc[0, 40, list(CF.ode)])
    want = np.zeros(y.size)
    CF.rhs(80.0, y, p.copy(), want)
    for t_before in (0.0, 300.0, 79.9, 80.0):  # the cursor left behind, ahead, just before, at
        q = p.copy()
        CF.rhs(t_before, y, q, np.zeros(y.size))
        got = np.zeros(y.size)
        CF.rhs(80.0, y, q, got)
        np.testing.assert_array_equal(got, want)


def test_drug_in_the_body_at_the_start_is_carried_by_the_tables(tight):
    P, Y0, ev, times, _, _ = tight
    Y0 = Y0.copy()
    Y0[:, 1] = 10.0    # neratinib in the central compartment at t = 0
    Y0[:, 2] = 5.0     # and in the peripheral one
    opts = SolverOptions(method="radau5", rtol=1e-10, atol=1e-12, max_steps=10**7)
    Yc, _, status, _ = _closed(CF, SYSTEM.rhs, "radau5", Y0, P, ev, times.size, opts, N_STATES)
    Yf, _ = _full(SYSTEM.rhs, Y0, P, ev, times.size, opts, N_STATES)
    assert (status == 0).all()
    assert np.max(np.abs(Yc - Yf) / (np.abs(Yf).max(axis=1, keepdims=True) + 1e-300)) < 1e-8


def test_resets_and_steady_state_records_are_refused():
    times = np.arange(0.0, 48.0, 1.0)
    P = parameter_matrix(1)
    for dose in (Dose(0.0, 240.0, 1, ii=24.0, ss=1), Dose(24.0, 0.0, 1, evid=3)):
        ev = _event_table(SYSTEM, _records_from_doses([dose], times), P[0], dose_modifiers, str)
        assert CF.supports(ev) is not None


# ---------------------------------------------------------------------------------- a user model
def test_an_infusion_into_a_user_models_linear_source_equals_the_full_ode(effect_model):
    cm, cf = effect_model, closed_form(effect_model)
    n = 3
    P = np.repeat(cm.pack()[None, :], n, axis=0)
    P[:, cm.parameter_names.index("CL")] *= [0.5, 1.0, 2.0]
    Y0 = cm.initial_states(P)
    times = np.sort(np.r_[np.arange(0.0, 96.0, 0.5), 1.0 + 1e-3, 12.0])
    doses = [Dose(0.0, 100.0, 1, rate=50.0), Dose(12.0, 50.0, 1), Dose(24.0, 100.0, 1, rate=25.0, ii=24.0, addl=2)]
    ev = _event_table(cm.spec, _records_from_doses(doses, times), P[0], cm.record_modifiers, str)
    tight = SolverOptions(method="radau5", rtol=1e-10, atol=1e-12, max_steps=10**7)
    Yf, _ = _full(cm.rhs, Y0, P, ev, times.size, tight, cm.n_states)
    for method in ("radau5", "dopri5"):
        Yc, _, status, _ = _closed(cf, cm.rhs, method, Y0, P, ev, times.size, tight, cm.n_states)
        assert (status == 0).all()
        assert np.max(np.abs(Yc - Yf) / (np.abs(Yf).max(axis=1, keepdims=True) + 1e-300)) < 1e-8
