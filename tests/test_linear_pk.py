"""Linear PK library (pkpd.models.pk) and its closed forms (pkpd.solvers.linear).

References used as independent truth:

* the matrix exponential: ``scipy.linalg.expm`` (normwise accurate) and, when
  mpmath is installed, a 40-digit ``mpmath.expm`` (accurate entry by entry), with
  G from the block matrix ``[[K dt, I dt], [0, 0]]`` whose exponential is
  ``[[E, G], [0, I]]`` (C. F. Van Loan, IEEE Trans. Autom. Control 23:395, 1978);
* scipy ``solve_ivp(method="Radau", rtol=1e-10, atol=1e-12)`` on each model's
  own right-hand side;
* textbook identities (Gibaldi & Perrier): Tmax, Cmax, AUC, half-life, Css;
* NONMEM 7 concentrations from the mrgsolve acceptance suite (../shared).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.integrate import quad, solve_ivp
from scipy.linalg import expm

from pkpd.errors import InputError
from pkpd.models import LINEAR_MODELS, MODELS, get_model, micro_constants, system_matrix
from pkpd.models import pk
from pkpd.solvers import linear as lin

MODEL_NAMES = tuple(LINEAR_MODELS)


# =============================================================================
# helpers
# =============================================================================
def _code(name):
    return lin.STRUCTURES[LINEAR_MODELS[name].structure]


def _K_from_micro(structure, m):
    ka, k10, k12, k21 = m
    return {
        "1cmt": np.array([[-k10]]),
        "1cmt_oral": np.array([[-ka, 0.0], [ka, -k10]]),
        "2cmt": np.array([[-(k10 + k12), k21], [k12, -k21]]),
        "2cmt_oral": np.array([[-ka, 0.0, 0.0], [ka, -(k10 + k12), k21], [0.0, k12, -k21]]),
    }[structure]


def _expm_reference(K, dt):
    """(E, G) from scipy.linalg.expm: E = expm(K dt); G from the Van Loan block matrix.

    ``expm([[K dt, I], [0, 0]])`` has upper-right block ``phi1(K dt) = G/dt``, which
    is O(1) for any dt, so scipy's normwise accuracy carries over to G.  E is taken
    from its own expm because next to that block it can be tiny.
    """
    n = K.shape[0]
    M = np.zeros((2 * n, 2 * n))
    M[:n, :n] = K * dt
    M[:n, n:] = np.eye(n)
    return expm(K * dt), expm(M)[:n, n:] * dt


def _mp_reference(K, dt, dps=40):
    """(E, G) from a 40-digit mpmath.expm of the Van Loan block matrix (entrywise exact in float64)."""
    mpmath = pytest.importorskip("mpmath")
    n = K.shape[0]
    with mpmath.workdps(dps):
        M = mpmath.zeros(2 * n, 2 * n)
        for i in range(n):
            for j in range(n):
                M[i, j] = mpmath.mpf(float(K[i, j])) * mpmath.mpf(float(dt))
            M[i, n + i] = mpmath.mpf(float(dt))
        X = mpmath.expm(M)
        E = np.array([[float(X[i, j]) for j in range(n)] for i in range(n)])
        G = np.array([[float(X[i, n + j]) for j in range(n)] for i in range(n)])
    return E, G


def _closed_form(structure, micro, dt):
    code = lin.STRUCTURES[structure]
    n = lin.N_STATES[code]
    E = np.empty((n, n))
    G = np.empty((n, n))
    assert lin.transition_matrices(code, np.asarray(micro, dtype=np.float64), dt, E, G)
    return E, G


def _entrywise_rel(A, ref):
    """max |A - ref| / |ref| over entries, with exact zeros of ref required to be exact."""
    err = np.abs(A - ref)
    nz = ref != 0.0
    worst = np.max(err[nz] / np.abs(ref[nz])) if nz.any() else 0.0
    return max(worst, np.max(err[~nz], initial=0.0))


def _random_micro(rng, structure):
    """Random micro constants (1/h) spanning four decades, as a model would give them."""
    ka, k10, k12, k21 = np.exp(rng.uniform(np.log(0.01), np.log(20.0), 4))
    if structure.startswith("1cmt"):
        k12 = k21 = 0.0
    if not structure.endswith("_oral"):
        ka = 0.0
    return np.array([ka, k10, k12, k21])


def _active_rates(doses, n, t):
    """Input rate vector (mg/h) of the infusions running on [t, next event)."""
    r = np.zeros(n)
    for t0, cmt, amt, dur in doses:
        if dur > 0 and t0 <= t < t0 + dur:
            r[int(cmt) - 1] += amt / dur
    return r


def _event_walk(doses, n, times, advance):
    """Walk dose and output times in order; ``advance(y, r, t0, t1)`` moves the state.

    Boluses are applied at their time before the output at that time is taken
    (the convention of :func:`pkpd.solvers.linear.superposition`).  Returns the
    states at ``times``, shape (n_times, n).
    """
    doses = np.asarray(doses, dtype=np.float64)
    breaks = sorted(set(doses[:, 0]) | set(doses[:, 0] + doses[:, 3]) | set(times))
    y = np.zeros(n)
    t = breaks[0]
    states = {}
    for tb in breaks:
        if tb > t:
            y = advance(y, _active_rates(doses, n, t), t, tb)
            t = tb
        for t0, cmt, amt, dur in doses:
            if dur == 0 and t0 == tb:
                y[int(cmt) - 1] += amt
        states[tb] = y.copy()
    return np.array([states[t] for t in times])


def _by_propagation(structure, micro, doses, times):
    code = lin.STRUCTURES[structure]
    n = lin.N_STATES[code]
    micro = np.asarray(micro, dtype=np.float64)

    def advance(y, r, t0, t1):
        lin.propagate(code, micro, t1 - t0, y, r, y)  # in place: out may be y
        return y

    return _event_walk(doses, n, times, advance)


def _by_radau(spec, p, doses, times, K):
    rhs = spec.rhs.py_func

    def advance(y, r, t0, t1):
        def f(t, x):
            dx = np.empty_like(x)
            rhs(t, x, p, dx)
            return dx + r

        sol = solve_ivp(f, (t0, t1), y, method="Radau", rtol=1e-10, atol=1e-12, jac=K)
        assert sol.success, sol.message
        return sol.y[:, -1].copy()

    return _event_walk(doses, spec.n_states, times, advance)


# Regimens: (time h, cmt 1-based, amount mg, duration h).  The infusions of 30 h
# and 20 h outlast the 12 h dosing interval, so several run at once.
ORAL_REGIMEN = [
    [0.0, 1, 100.0, 0.0],      # bolus into the depot
    [12.0, 1, 100.0, 0.0],
    [24.0, 1, 100.0, 0.0],
    [6.0, 2, 80.0, 30.0],      # infusion into central, longer than the interval
    [30.0, 1, 60.0, 20.0],     # infusions into the depot, overlapping
    [42.0, 1, 60.0, 20.0],
    [50.0, 2, 25.0, 0.0],      # bolus into central
    [50.0, 1, 40.0, 0.5],      # short depot infusion at the same time
]
IV_REGIMEN = [
    [0.0, 1, 100.0, 0.0],
    [12.0, 1, 100.0, 0.0],
    [6.0, 1, 80.0, 30.0],
    [30.0, 1, 60.0, 20.0],
    [42.0, 1, 60.0, 20.0],
    [50.0, 1, 25.0, 0.5],
]
OUTPUT_TIMES = np.unique(np.concatenate([np.linspace(0.0, 120.0, 61), [0.25, 6.0, 36.0, 50.0, 50.5, 62.0]]))


def _regimen(structure):
    return ORAL_REGIMEN if structure.endswith("_oral") else IV_REGIMEN


# =============================================================================
# the model library
# =============================================================================
def test_registry_and_lookup():
    assert set(MODELS) >= {"pk1cmt", "pk1cmt_oral", "pk2cmt", "pk2cmt_oral"}
    assert get_model("pk2cmt_oral") is pk.pk2cmt_oral
    with pytest.raises(InputError, match=r"^model: unknown model 'x'; valid: pk1cmt, pk1cmt_oral"):
        get_model("x")
    with pytest.raises(InputError, match="not a linear model"):
        system_matrix("x", [1.0])


def test_defaults_are_mrgsolve_modlib():
    """Defaults of mrgsolve inst/models/pk1.cpp (CL 1, V 20, KA 1) and pk2.cpp (CL 1, V2 20, Q 2, V3 10, KA 1)."""
    assert dict(zip(pk.pk1cmt_oral.parameter_names, pk.pk1cmt_oral.pack())) == {"CL": 1, "V": 20, "KA": 1}
    assert dict(zip(pk.pk2cmt_oral.parameter_names, pk.pk2cmt_oral.pack())) == {
        "CL": 1, "Vc": 20, "Q": 2, "Vp": 10, "KA": 1}
    for spec in (pk.pk1cmt, pk.pk1cmt_oral, pk.pk2cmt, pk.pk2cmt_oral):
        assert all("mrgsolve" in prm.source for prm in spec.parameters)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_layout_matches_nonmem_and_linear_module(name):
    lm = LINEAR_MODELS[name]
    spec = lm.spec
    assert lm.structure in lin.STRUCTURES
    assert spec.n_states == lin.N_STATES[_code(name)]
    assert spec.state_names[lm.central] == "CENT"
    assert spec.parameter_names[lm.volume] in ("V", "Vc")
    if name.endswith("_oral"):  # NONMEM ADVAN2/4: depot CMT 1, central CMT 2
        assert spec.state_index("DEPOT") == 0 and spec.state_index("CENT") == 1
    assert pk.MICRO_NAMES.index("ka") == lin.MICRO_KA
    assert pk.MICRO_NAMES.index("k10") == lin.MICRO_K10
    assert pk.MICRO_NAMES.index("k12") == lin.MICRO_K12
    assert pk.MICRO_NAMES.index("k21") == lin.MICRO_K21


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_rhs_is_system_matrix_times_state(name):
    """The compiled rhs, K from the micro constants, and the closed form's K agree."""
    rng = np.random.default_rng(7)
    spec = MODELS[name]
    lm = LINEAR_MODELS[name]
    for _ in range(5):
        p = spec.pack() * np.exp(rng.normal(0.0, 1.0, spec.n_parameters))
        y = rng.uniform(0.0, 100.0, spec.n_states)
        dydt = np.empty(spec.n_states)
        spec.rhs(0.0, y, p, dydt)
        K = system_matrix(name, p)
        np.testing.assert_allclose(K @ y, dydt, rtol=1e-14, atol=1e-14 * np.abs(K).max() * y.max())
        np.testing.assert_array_equal(K, _K_from_micro(lm.structure, micro_constants(name, p)))


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_vectorised_over_leading_axes(name):
    spec = MODELS[name]
    lm = LINEAR_MODELS[name]
    P = spec.pack() * np.linspace(0.5, 2.0, 6)[:, None, None] * np.ones((6, 2, spec.n_parameters))
    Y = np.arange(6 * 2 * spec.n_states, dtype=float).reshape(6, 2, spec.n_states)
    assert micro_constants(name, P).shape == (6, 2, 4)
    K = system_matrix(name, P)
    assert K.shape == (6, 2, spec.n_states, spec.n_states)
    np.testing.assert_array_equal(K[3, 1], system_matrix(name, P[3, 1]))
    cp = spec.evaluate_outputs(Y, P)["CP"]
    assert cp.shape == (6, 2)
    np.testing.assert_array_equal(cp, Y[..., lm.central] / P[..., lm.volume])
    with pytest.raises(InputError, match="parameters"):
        micro_constants(name, np.ones(spec.n_parameters + 1))


# =============================================================================
# (a) state propagation vs the matrix exponential
# =============================================================================
DTS = (1e-6, 0.01, 0.7, 5.0, 48.0, 400.0)


@pytest.mark.parametrize("structure", list(lin.STRUCTURES))
def test_propagation_vs_scipy_expm(structure):
    """E and G against scipy.linalg.expm, normwise.

    scipy's expm (Al-Mohy & Higham 2009) is accurate in norm, not entry by entry:
    entries that have decayed far below the largest one carry its absolute error
    (e.g. 1e-3 relative on a 2e-13 entry next to an O(1) one).  The closed form is
    exact to a few ulps entry by entry (see the mpmath test), so the difference is
    scipy's, which reached 7e-13 of the largest entry over 1200 random cases with
    ||K dt|| up to 8000: tolerance 1e-11 of the largest entry (1e-300 for an all-
    underflowed E, whose reference holds denormals).
    """
    rng = np.random.default_rng(2024)
    for dt in DTS:
        for _ in range(4):
            m = _random_micro(rng, structure)
            K = _K_from_micro(structure, m)
            E, G = _closed_form(structure, m, dt)
            E_ref, G_ref = _expm_reference(K, dt)
            assert np.abs(E - E_ref).max() <= 1e-11 * np.abs(E_ref).max() + 1e-300, (m, dt)
            assert np.abs(G - G_ref).max() <= 1e-11 * np.abs(G_ref).max(), (m, dt)


@pytest.mark.parametrize("structure", list(lin.STRUCTURES))
def test_propagation_entrywise_vs_mpmath(structure):
    """Every entry of E and G to relative 1e-10 of a 40-digit reference.

    Each entry is a non-negative combination of divided differences of exp, each
    computed to a few tens of ulps; the inputs z = lambda*dt carry a relative
    rounding error, which moves exp(z) by |z| ulps (|z| <= 8000 here, 2e-12).
    Observed: < 5e-14 over 120 random cases; 1e-10 leaves a wide margin.
    """
    rng = np.random.default_rng(99)
    for dt in DTS:
        m = _random_micro(rng, structure)
        K = _K_from_micro(structure, m)
        E, G = _closed_form(structure, m, dt)
        E_ref, G_ref = _mp_reference(K, dt)
        assert _entrywise_rel(E, E_ref) < 1e-10, (m, dt)
        assert _entrywise_rel(G, G_ref) < 1e-10, (m, dt)


def _degenerate_cases():
    """(structure, micro) with ka equal or nearly equal to a disposition rate, or alpha ~ beta."""
    cases = []
    for rel in (0.0, 1e-14, 1e-10, 1e-7, 1e-6, 1e-5, 1e-3):
        cases.append(("1cmt_oral", (0.3 * (1.0 + rel), 0.3, 0.0, 0.0)))
    k10, k12, k21 = 0.2, 0.5, 0.1
    alpha, beta, _, _ = lin.two_cmt_rates(k10, k12, k21)
    for rel in (0.0, 1e-12, 1e-8, 1e-6, 1e-4):
        cases.append(("2cmt_oral", (alpha * (1.0 + rel), k10, k12, k21)))
        cases.append(("2cmt_oral", (beta * (1.0 - rel), k10, k12, k21)))
    # alpha ~ beta: vanishing k12 with k10 == k21, and ka on top of both (triple)
    for k12 in (0.0, 1e-16, 1e-12, 1e-8, 1e-4):
        alpha, _, _, _ = lin.two_cmt_rates(0.3, k12, 0.3)
        cases.append(("2cmt", (0.0, 0.3, k12, 0.3)))
        cases.append(("2cmt_oral", (alpha * (1.0 + 1e-9), 0.3, k12, 0.3)))
    return cases


@pytest.mark.parametrize("structure,micro", _degenerate_cases())
def test_propagation_degenerate_eigenvalues(structure, micro):
    """Coincident and nearly coincident rates: entrywise 1e-10 vs mpmath, finite, no special case.

    The naive forms, e.g. ka/(ka-k) (e^{-kt} - e^{-ka t}), lose eps/|rel| of
    accuracy (all of it at rel = 0); divided differences by expm1 and the series do not.
    """
    K = _K_from_micro(structure, micro)
    for dt in (1e-3, 2.0, 50.0):
        E, G = _closed_form(structure, micro, dt)
        assert np.all(np.isfinite(E)) and np.all(np.isfinite(G))
        E_ref, G_ref = _mp_reference(K, dt, dps=50)
        assert _entrywise_rel(E, E_ref) < 1e-10, dt
        assert _entrywise_rel(G, G_ref) < 1e-10, dt


def test_ka_equal_k_limit_formula():
    """ka == k: the Bateman function tends to ka t e^{-kt} (Gibaldi & Perrier, eq. 1.12 limit)."""
    k = 0.25
    for dt in (0.1, 4.0, 40.0):
        E, _ = _closed_form("1cmt_oral", (k, k, 0.0, 0.0), dt)
        assert E[1, 0] == pytest.approx(k * dt * math.exp(-k * dt), rel=1e-15)


@pytest.mark.parametrize("structure", list(lin.STRUCTURES))
def test_propagation_mass_balance_and_edges(structure):
    """sum_i E_ij + k10 G_cj = 1 (what leaves is eliminated); E(0) = I, G(0) = 0; G ~ I dt for tiny dt."""
    rng = np.random.default_rng(5)
    code = lin.STRUCTURES[structure]
    n = lin.N_STATES[code]
    c = 1 if structure.endswith("_oral") else 0
    for dt in (1e-9, 0.3, 30.0):
        m = _random_micro(rng, structure)
        E, G = _closed_form(structure, m, dt)
        np.testing.assert_allclose(E.sum(axis=0) + m[lin.MICRO_K10] * G[c], 1.0, rtol=1e-13)
        assert np.all(E >= 0.0) and np.all(G >= 0.0)
    E, G = _closed_form(structure, _random_micro(rng, structure), 0.0)
    np.testing.assert_array_equal(E, np.eye(n))
    np.testing.assert_array_equal(G, np.zeros((n, n)))
    E, G = _closed_form(structure, _random_micro(rng, structure), 1e-12)
    np.testing.assert_allclose(G, 1e-12 * np.eye(n), rtol=1e-10, atol=1e-22)
    # unknown code: reported, nothing written
    out = np.full(n, 7.0)
    assert not lin.propagate(99, np.ones(4), 1.0, np.ones(n), np.zeros(n), out)
    assert np.all(out == 7.0)


# =============================================================================
# (b) superposition vs state propagation on multi-dose regimens
# =============================================================================
@pytest.mark.parametrize("structure", list(lin.STRUCTURES))
def test_superposition_vs_propagation(structure):
    """Boluses and infusions (into depot and central, overlapping, longer than the interval).

    Both forms are exact; they differ by rounding only: relative 1e-12, plus
    1e-14 of the peak for values that are (near) zero before the first dose
    reaches the central compartment.  Observed: < 6e-14 relative.
    """
    rng = np.random.default_rng(11)
    regimen = _regimen(structure)
    c = 1 if structure.endswith("_oral") else 0
    for trial in range(4):
        m = _random_micro(rng, structure)
        if trial == 3 and structure.endswith("_oral"):  # ka on a disposition rate
            m[lin.MICRO_KA] = (lin.two_cmt_rates(*m[1:])[1] if structure.startswith("2cmt")
                               else m[lin.MICRO_K10])
        volume = 15.0
        sup = lin.superposition(structure, m, volume, regimen, OUTPUT_TIMES)
        prop = _by_propagation(structure, m, regimen, OUTPUT_TIMES)[:, c] / volume
        np.testing.assert_allclose(sup, prop, rtol=1e-12, atol=1e-14 * prop.max())


def test_superposition_input_errors():
    with pytest.raises(ValueError, match="unknown structure"):
        lin.superposition("3cmt", np.ones(4), 1.0, [[0, 1, 1, 0]], [1.0])
    with pytest.raises(ValueError, match="compartment 3"):
        lin.superposition("2cmt_oral", np.ones(4), 1.0, [[0, 3, 1, 0]], [1.0])
    with pytest.raises(ValueError, match="compartment 2"):
        lin.superposition("2cmt", np.ones(4), 1.0, [[0, 2, 1, 0]], [1.0])


def test_superposition_output_order_and_dose_time():
    """Times in any order; a bolus counts from its own time on; nothing before the first dose."""
    m = np.array([0.0, 0.1, 0.0, 0.0])
    times = np.array([5.0, -1.0, 2.0, 0.0])
    c = lin.superposition("1cmt", m, 10.0, [[2.0, 1, 100.0, 0.0]], times)
    np.testing.assert_allclose(c, [10.0 * math.exp(-0.3), 0.0, 10.0, 0.0], rtol=1e-15)


# =============================================================================
# (c) superposition vs scipy Radau on each model's own right-hand side
# =============================================================================
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_superposition_vs_radau(name):
    """Radau at rtol 1e-10, atol 1e-12 mg, restarted at every dose and infusion end.

    Tolerance: |C - C_ref| <= 1e-8 |C_ref| + 1e-11 mg/L: 100x the requested rtol
    to cover the global error accumulated over ~70 segments (Radau's local
    tolerance does not bound it), and atol/V for values near zero.  Observed:
    < 2e-13 relative (Radau IIA of order 5 is very accurate on linear problems).
    """
    spec = MODELS[name]
    lm = LINEAR_MODELS[name]
    p = spec.pack({"CL": 3.0, "KA": 0.8} if "KA" in spec.parameter_names else {"CL": 3.0})
    regimen = _regimen(lm.structure)
    K = system_matrix(name, p)
    ref = _by_radau(spec, p, regimen, OUTPUT_TIMES, K)
    cp_ref = spec.evaluate_outputs(ref, p)["CP"]
    cp = lin.superposition(lm.structure, micro_constants(name, p), p[lm.volume], regimen, OUTPUT_TIMES)
    np.testing.assert_allclose(cp, cp_ref, rtol=1e-8, atol=1e-11)


# =============================================================================
# (d) classic known values
# =============================================================================
def test_one_cmt_oral_tmax_cmax_auc():
    """Tmax = ln(ka/k)/(ka-k), Cmax = F D/V e^{-k Tmax}, AUC = F D/CL (Gibaldi & Perrier, ch. 1)."""
    spec = pk.pk1cmt_oral
    CL, V, ka, dose, F = 2.0, 30.0, 1.3, 250.0, 0.7
    p = spec.pack({"CL": CL, "V": V, "KA": ka})
    m = micro_constants(spec, p)
    k = CL / V
    tmax = math.log(ka / k) / (ka - k)
    doses = [[0.0, 1, F * dose, 0.0]]
    cmax = lin.superposition("1cmt_oral", m, V, doses, [tmax])[0]
    assert cmax == pytest.approx(F * dose / V * math.exp(-k * tmax), rel=1e-13)
    # dC/dt = 0 at Tmax: the rhs at the propagated state vanishes (to rounding of ka*A_depot)
    y = np.array([F * dose, 0.0])
    lin.propagate(lin.ONE_CMT_ORAL, m, tmax, y, np.zeros(2), y)
    dydt = np.empty(2)
    spec.rhs(0.0, y, p, dydt)
    assert abs(dydt[1]) < 1e-13 * ka * F * dose
    # AUC 0-inf by adaptive quadrature (independent of the closed form's integral G)
    auc, err = quad(lambda t: lin.superposition("1cmt_oral", m, V, doses, [t])[0], 0.0, np.inf,
                    epsabs=0.0, epsrel=1e-11, limit=200)
    assert auc == pytest.approx(F * dose / CL, rel=1e-9)


def test_two_cmt_iv_bolus_biexponential_and_auc():
    """C = D/Vc (A e^{-alpha t} + B e^{-beta t}), A = (alpha-k21)/(alpha-beta); AUC = D/CL."""
    CL, Vc, Q, Vp, dose = 4.0, 25.0, 7.0, 60.0, 500.0
    p = pk.pk2cmt.pack({"CL": CL, "Vc": Vc, "Q": Q, "Vp": Vp})
    m = micro_constants("pk2cmt", p)
    k10, k12, k21 = CL / Vc, Q / Vc, Q / Vp
    alpha, beta, _, _ = lin.two_cmt_rates(k10, k12, k21)
    eig = np.sort(-np.linalg.eigvals(system_matrix("pk2cmt", p)).real)
    np.testing.assert_allclose([beta, alpha], eig, rtol=1e-14)
    assert alpha * beta == pytest.approx(k10 * k21, rel=1e-15)
    assert alpha + beta == pytest.approx(k10 + k12 + k21, rel=1e-15)
    t = np.array([0.0, 0.5, 3.0, 24.0, 200.0])
    A = (alpha - k21) / (alpha - beta)
    B = (k21 - beta) / (alpha - beta)
    textbook = dose / Vc * (A * np.exp(-alpha * t) + B * np.exp(-beta * t))
    doses = [[0.0, 1, dose, 0.0]]
    np.testing.assert_allclose(lin.superposition("2cmt", m, Vc, doses, t), textbook, rtol=1e-13)
    auc, _ = quad(lambda s: lin.superposition("2cmt", m, Vc, doses, [s])[0], 0.0, np.inf,
                  epsabs=0.0, epsrel=1e-11, limit=200)
    assert auc == pytest.approx(dose / CL, rel=1e-9)
    # the same AUC from the closed-form integral: AUC_0^T = (G(T) y0)_cent / Vc, T = 60 half-lives
    T = 60 * math.log(2) / beta
    _, G = _closed_form("2cmt", m, T)
    assert (G @ np.array([dose, 0.0]))[0] / Vc == pytest.approx(dose / CL, rel=1e-12)


def test_half_life_and_infusion_steady_state():
    """1-cmt IV: C(ln2/k) = C0/2; a long infusion reaches Css = R/CL (R/CL (1 - e^{-kT}) during it)."""
    CL, V = 1.5, 12.0
    m = micro_constants("pk1cmt", pk.pk1cmt.pack({"CL": CL, "V": V}))
    k = CL / V
    c = lin.superposition("1cmt", m, V, [[0.0, 1, 60.0, 0.0]], [0.0, math.log(2) / k])
    assert c[1] == pytest.approx(c[0] / 2, rel=1e-15)
    R = 5.0
    t = np.array([1.0, 10.0, 1000.0])
    c = lin.superposition("1cmt", m, V, [[0.0, 1, R * 2000.0, 2000.0]], t)
    np.testing.assert_allclose(c, R / CL * (1 - np.exp(-k * t)), rtol=1e-14)
    # the same in the two-compartment and oral models: Css depends on CL only
    for name, overrides in (("pk2cmt", {}), ("pk2cmt_oral", {"KA": 0.3}), ("pk1cmt_oral", {})):
        lm = LINEAR_MODELS[name]
        p = lm.spec.pack({"CL": CL, **overrides})
        # cmt 1: the depot in the oral models, the central compartment otherwise
        c = lin.superposition(lm.structure, micro_constants(name, p), p[lm.volume],
                              [[0.0, 1, R * 5000.0, 5000.0]], [4000.0])
        assert c[0] == pytest.approx(R / CL, rel=1e-12)


# =============================================================================
# NONMEM 7 reference (mrgsolve acceptance suite 1001: ADVAN2 TRANS2, CL 1.1, V 20, KA 1.5)
# =============================================================================
def _nm_rows(shared_dir: Path):
    nmtests = shared_dir / "reference" / "nmtests"
    with open(nmtests / "1001.csv") as fh:
        data = list(csv.DictReader(fh))
    with open(nmtests / "1001-nm.csv") as fh:
        nm = list(csv.DictReader(fh))
    assert len(data) == len(nm)
    return data, nm


@pytest.mark.parametrize("nm_id", [1, 3, 4, 6])
def test_superposition_vs_nonmem(nm_id, shared_dir):
    """IDs 1 (depot boluses), 3 (central infusions), 4 (infusion, F 0.5), 6 (depot infusions).

    NONMEM prints CP = A(2)/(V/1000) with 5 significant digits, so the relative
    rounding is at most 5e-5: tolerance 1e-4 relative (and 1e-3 ng/mL absolute for zeros).
    """
    data, nm = _nm_rows(shared_dir)
    rows = [(d, r) for d, r in zip(data, nm) if int(d["ID"]) == nm_id]
    doses = []
    for d, _ in rows:
        if int(d["evid"]) != 1:
            continue
        assert float(d["LAGT"]) == 0.0 and int(d["ss"]) == 0 and float(d["MODE"]) == 0
        cmt, amt, rate = int(d["cmt"]), float(d["amt"]), float(d["rate"])
        if cmt == 2:  # F2 = BIOAV applies to doses into the central compartment
            amt *= float(d["BIOAV"])
        duration = amt / rate if rate > 0 else 0.0  # NONMEM: F scales the amount, the rate is kept
        for i in range(int(d["addl"]) + 1):
            doses.append([float(d["time"]) + i * float(d["ii"]), cmt, amt, duration])
    obs = [(float(d["time"]), float(r["CP"])) for d, r in rows if int(d["evid"]) == 0]
    times = np.array([t for t, _ in obs])
    cp_nm = np.array([c for _, c in obs])
    CL, V, KA = 1.1, 20.0, 1.5
    p = pk.pk1cmt_oral.pack({"CL": CL, "V": V, "KA": KA})
    cp = lin.superposition("1cmt_oral", micro_constants("pk1cmt_oral", p), V, doses, times) * 1000.0
    np.testing.assert_allclose(cp, cp_nm, rtol=1e-4, atol=1e-3)
