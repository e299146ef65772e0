"""Tumour growth blocks (Simeoni, Gompertz): closed forms, conservation, monotonicity, geometry,
and the drug-resistant subclone XR (acquired resistance).

References are closed-form solutions and matrix exponentials; the ODEs are integrated
with scipy ``solve_ivp`` (Radau, rtol 1e-10) calling the compiled kernels.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.linalg import expm

from pkpd.models import tumor as T

DAY = 24.0
SIM = T.TUMOR_SIMEONI
GOM = T.TUMOR_GOMPERTZ
N = T.N_STATES  # X1, X2, X3, X4, XR


def run(spec, t_end, overrides=None, y0=None, rtol=1e-10, atol=1e-10, extra_death=False):
    """Integrate a standalone tumour spec; with ``extra_death`` an extra state accumulates k1*X4 (dead volume)."""
    p = spec.pack(overrides or {})
    k1 = p[spec.parameter_index("k1")]

    def f(t, z):
        d = np.empty(N)
        spec.rhs(t, z[:N], p, d)
        return np.append(d, k1 * z[3]) if extra_death else d

    y0 = spec.y0() if y0 is None else np.asarray(y0, dtype=float)
    if extra_death:
        y0 = np.append(y0, 0.0)
    sol = solve_ivp(f, (0.0, t_end), y0, method="Radau", rtol=rtol, atol=atol, dense_output=True)
    assert sol.success, sol.message
    return sol, p


# ------------------------------------------------------------------------------- geometry
def test_sphere_diameter_formula():
    assert T.sphere_diameter(np.pi / 6 * 10.0 ** 3) == pytest.approx(10.0, rel=1e-14)
    assert T.sphere_volume(20.0) == pytest.approx(4188.790204786391, rel=1e-14)
    d = np.array([5.0, 13.0, 52.0])
    np.testing.assert_allclose(T.sphere_diameter(T.sphere_volume(d)), d, rtol=1e-14)
    out = SIM.evaluate_outputs(np.array([[T.V_REF_MM3, 0.0, 0.0, 0.0, 0.0], [100.0, 200.0, 50.0, 163.6, 10.0]]),
                               SIM.pack())
    np.testing.assert_allclose(out["volume"], [T.V_REF_MM3, 523.6])
    np.testing.assert_allclose(out["diameter"], [20.0, 10.0], rtol=1e-4)
    np.testing.assert_allclose(T.initial_state(20.0), SIM.y0())
    assert SIM.y0()[4] == pytest.approx(T.F_R_TYPICAL * T.V_REF_MM3, rel=1e-14)


def test_parameters_have_units_sources_and_flagged_guesses():
    for spec in (SIM, GOM):
        for prm in spec.parameters:
            assert prm.unit and prm.source
            if prm.assumed:
                assert "GUESS" in prm.source or "assum" in prm.source.lower(), prm.name
    assert SIM.parameter("psi").value == 20.0
    assert T.TVDT_DAYS == pytest.approx(86.6, abs=0.1)
    assert 69.0 <= T.TVDT_DAYS <= 103.0       # within the TNBC range of biology.md §3.4


# ------------------------------------------------------------------------------- untreated growth
def test_untreated_simeoni_grows_exponentially_at_the_tnbc_doubling_time():
    """At P = 1 there is no kill and, far below lambda1/lambda0, growth is exp(lambda0 t).

    Radau rtol 1e-10 over 24 weeks: the relative error of the state stays a few 1e-10;
    the Simeoni switch term (W*lambda0/lambda1)**20 is < 1e-35 here.
    """
    sol, p = run(SIM, 24 * 7 * DAY)
    lam0 = p[SIM.parameter_index("lambda0")]
    t = np.linspace(0.0, 24 * 7 * DAY, 50)
    W = sol.sol(t).sum(axis=0)
    np.testing.assert_allclose(W, T.V_REF_MM3 * np.exp(lam0 * t), rtol=1e-8)
    assert np.all(sol.sol(t)[1:4] == 0.0)
    W_at_tvdt = sol.sol(T.TVDT_DAYS * DAY).sum()
    assert W_at_tvdt == pytest.approx(2 * T.V_REF_MM3, rel=1e-8)


def test_simeoni_switches_to_linear_growth_for_large_tumours():
    p = SIM.pack()
    lam0, lam1 = p[SIM.parameter_index("lambda0")], p[SIM.parameter_index("lambda1")]
    d = np.empty(N)
    for W in (100 * lam1 / lam0, 1e30):               # 1e30: no overflow in (z**psi)
        SIM.rhs(0.0, np.array([W, 0.0, 0.0, 0.0, 0.0]), p, d)
        assert d[0] == pytest.approx(lam1, rel=1e-12)
    SIM.rhs(0.0, np.array([lam1 / lam0, 0.0, 0.0, 0.0, 0.0]), p, d)     # at the switch: 2**(-1/psi) of both
    assert d[0] == pytest.approx(lam1 * 2 ** (-1 / 20), rel=1e-12)


def test_untreated_gompertz_matches_its_closed_form():
    sol, p = run(GOM, 52 * 7 * DAY)
    alpha, vmax = p[GOM.parameter_index("alpha")], p[GOM.parameter_index("Vmax")]
    t = np.linspace(0.0, 52 * 7 * DAY, 60)
    exact = vmax * np.exp(np.log(T.V_REF_MM3 / vmax) * np.exp(-alpha * t))
    np.testing.assert_allclose(sol.sol(t).sum(axis=0), exact, rtol=1e-8)
    d = np.empty(N)
    GOM.rhs(0.0, GOM.y0(), p, d)      # specific growth at the 20 mm reference lesion is lambda0
    assert (d[0] + d[4]) / T.V_REF_MM3 == pytest.approx(T.LAMBDA0_PER_DAY / DAY, rel=1e-12)


# ------------------------------------------------------------------------------- drug effect
def test_kill_rate_shape():
    kmax, ic50, n = 0.1, 0.5, 3.0
    assert T.kill_rate(1.0, kmax, ic50, n) == 0.0
    assert T.kill_rate(1.3, kmax, ic50, n) == 0.0
    assert T.kill_rate(0.5, kmax, ic50, n) == pytest.approx(kmax / 2, rel=1e-15)
    ks = [T.kill_rate(P, kmax, ic50, n) for P in np.linspace(1.0, 0.0, 11)]
    assert np.all(np.diff(ks) > 0)


@pytest.mark.parametrize("spec", [SIM, GOM], ids=["simeoni", "gompertz"])
def test_damage_chain_matches_matrix_exponential_at_constant_signal(spec):
    """With P < 1 constant and the tumour far from saturation, Simeoni is linear: y' = A y.

    (For Gompertz growth is not linear, so it is switched off, alpha = 0.)  The resistant
    subclone XR grows at lambda0 whatever P (0 for Gompertz with alpha = 0) and is never damaged.
    """
    over = {"P": 0.6, "K_max": 0.2 / DAY}
    if spec is GOM:
        over["alpha"] = 0.0
    sol, p = run(spec, 60 * DAY, over)
    g = 0.6 ** p[spec.parameter_index("gamma")] * (p[0] if spec is SIM else 0.0)
    K = T.kill_rate(0.6, *(p[spec.parameter_index(n)] for n in ("K_max", "IC50_K", "n_K")))
    k1 = p[spec.parameter_index("k1")]
    gR = p[0] if spec is SIM else 0.0
    A = np.array([[g - K, 0, 0, 0, 0], [K, -k1, 0, 0, 0], [0, k1, -k1, 0, 0], [0, 0, k1, -k1, 0],
                  [0, 0, 0, 0, gR]])
    for t in np.linspace(0.0, 60 * DAY, 13):
        np.testing.assert_allclose(sol.sol(t), expm(A * t) @ spec.y0(), rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("spec", [SIM, GOM], ids=["simeoni", "gompertz"])
def test_volume_is_conserved_without_growth(spec):
    """No growth: cells only move down the chain and die, so W(t) + dead(t) = W0."""
    over = {"P": 0.3, "K_max": 0.5 / DAY, ("lambda0" if spec is SIM else "alpha"): 0.0}
    sol, _ = run(spec, 120 * DAY, over, extra_death=True)
    t = np.linspace(0.0, 120 * DAY, 40)
    z = sol.sol(t)
    np.testing.assert_allclose(z[:N].sum(axis=0) + z[N], T.V_REF_MM3, rtol=1e-9)
    assert np.all(z > -1e-9 * T.V_REF_MM3)


@pytest.mark.parametrize("spec", [SIM, GOM], ids=["simeoni", "gompertz"])
@pytest.mark.parametrize("arm", ["both", "cytostatic", "cytotoxic"])
def test_lower_signal_gives_smaller_tumour(spec, arm):
    over = {"K_max": 0.05 / DAY}
    if arm == "cytostatic":
        over["K_max"] = 0.0
    elif arm == "cytotoxic":
        over["gamma"] = 0.0
    final = []
    for P in (1.0, 0.9, 0.8, 0.6, 0.4, 0.1):
        sol, _ = run(spec, 8 * 7 * DAY, {**over, "P": P}, rtol=1e-8)
        final.append(sol.y[:, -1].sum())
        if P == 1.0:                                      # untreated: grows all the time
            assert np.all(np.diff(sol.y.sum(axis=0)) > 0)
        assert np.all(sol.y > -1e-9 * T.V_REF_MM3)
    assert np.all(np.diff(final) < 0)


def test_spec_kernels_equal_block_kernels_with_P_from_parameters():
    y = np.array([3000.0, 400.0, 200.0, 100.0, 50.0])
    a, b = np.empty(N), np.empty(N)
    p = SIM.pack({"P": 0.7})
    SIM.rhs(0.0, y, p, a)
    T.tumor_rhs(0.0, y, p[:-1], 0.7, b)
    np.testing.assert_array_equal(a, b)
    p = GOM.pack({"P": 0.7})
    GOM.rhs(0.0, y, p, a)
    T.gompertz_rhs(0.0, y, p[:-1], 0.7, b)
    np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------------------- acquired resistance
def test_initial_state_splits_the_lesion_into_sensitive_and_resistant_cells():
    v = T.sphere_volume(30.0)
    np.testing.assert_allclose(T.initial_state(30.0, 0.05), [0.95 * v, 0, 0, 0, 0.05 * v], rtol=1e-15)
    np.testing.assert_allclose(T.initial_state(30.0, 0.0), [v, 0, 0, 0, 0], rtol=1e-15)
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match="f_R"):
            T.initial_state(30.0, bad)
    prm = T.F_R_PARAMETER
    assert prm.unit == "1" and prm.assumed and "GUESS" in prm.source and (prm.lower, prm.upper) == (0.0, 1.0)


@pytest.mark.parametrize("spec", [SIM, GOM], ids=["simeoni", "gompertz"])
def test_untreated_resistant_fraction_stays_constant(spec):
    """At P = 1 both populations have the same specific growth rate, so XR/W stays f_R (rtol 1e-8: Radau
    at rtol 1e-10 over a year)."""
    sol, _ = run(spec, 365 * DAY)
    z = sol.sol(np.linspace(0, 365 * DAY, 20))
    np.testing.assert_allclose(z[4] / z.sum(axis=0), T.F_R_TYPICAL, rtol=1e-8)


def test_resistant_subclone_grows_whatever_the_signal_and_ends_the_response():
    """Strong kill at P = 0: XR(t) = XR0 exp(lambda0 t) exactly (far below the Simeoni switch), the
    sensitive cells vanish, so the lesion shrinks to a nadir and regrows; without the subclone it
    keeps shrinking.  Tolerances: Radau rtol 1e-10 -> relative errors ~1e-9."""
    over = {"P": 0.0, "K_max": 0.2 / DAY}
    t = np.linspace(0, 540 * DAY, 541)
    sol, p = run(SIM, t[-1], over)
    z = sol.sol(t)
    np.testing.assert_allclose(z[4], SIM.y0()[4] * np.exp(p[0] * t), rtol=1e-8)
    W = z.sum(axis=0)
    k = int(np.argmin(W))
    assert 0 < k < t.size - 1 and W[-1] > 2 * W[k]                    # nadir, then regrowth
    # (on day 1 W still rises a little: XR grows before damaged cells reach X4 and die)
    assert np.all(np.diff(W[1:k]) < 0) and np.all(np.diff(W[k + 1:]) > 0)
    sol0, _ = run(SIM, t[-1], over, y0=T.initial_state(20.0, 0.0))
    W0 = sol0.sol(t).sum(axis=0)                                     # no subclone: no regrowth
    assert np.all(np.diff(W0[1:181]) < 0) and W0[-1] < 1e-6 * W0[0]  # (later W is below atol 1e-10)
