"""Tumour growth blocks (Simeoni, Gompertz): closed forms, conservation, monotonicity, geometry.

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


def run(spec, t_end, overrides=None, y0=None, rtol=1e-10, atol=1e-10, extra_death=False):
    """Integrate a standalone tumour spec; with ``extra_death`` a 5th state accumulates k1*X4 (dead volume)."""
    p = spec.pack(overrides or {})
    k1 = p[spec.parameter_index("k1")]

    def f(t, z):
        d = np.empty(4)
        spec.rhs(t, z[:4], p, d)
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
    out = SIM.evaluate_outputs(np.array([[T.V_REF_MM3, 0.0, 0.0, 0.0], [100.0, 200.0, 50.0, 173.6]]), SIM.pack())
    np.testing.assert_allclose(out["volume"], [T.V_REF_MM3, 523.6])
    np.testing.assert_allclose(out["diameter"], [20.0, 10.0], rtol=1e-4)
    np.testing.assert_allclose(T.initial_state(20.0), SIM.y0())


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
    assert np.all(sol.sol(t)[1:] == 0.0)
    W_at_tvdt = sol.sol(T.TVDT_DAYS * DAY).sum()
    assert W_at_tvdt == pytest.approx(2 * T.V_REF_MM3, rel=1e-8)


def test_simeoni_switches_to_linear_growth_for_large_tumours():
    p = SIM.pack()
    lam0, lam1 = p[SIM.parameter_index("lambda0")], p[SIM.parameter_index("lambda1")]
    d = np.empty(4)
    for W in (100 * lam1 / lam0, 1e30):               # 1e30: no overflow in (z**psi)
        SIM.rhs(0.0, np.array([W, 0.0, 0.0, 0.0]), p, d)
        assert d[0] == pytest.approx(lam1, rel=1e-12)
    SIM.rhs(0.0, np.array([lam1 / lam0, 0.0, 0.0, 0.0]), p, d)     # at the switch: 2**(-1/psi) of both
    assert d[0] == pytest.approx(lam1 * 2 ** (-1 / 20), rel=1e-12)


def test_untreated_gompertz_matches_its_closed_form():
    sol, p = run(GOM, 52 * 7 * DAY)
    alpha, vmax = p[GOM.parameter_index("alpha")], p[GOM.parameter_index("Vmax")]
    t = np.linspace(0.0, 52 * 7 * DAY, 60)
    exact = vmax * np.exp(np.log(T.V_REF_MM3 / vmax) * np.exp(-alpha * t))
    np.testing.assert_allclose(sol.sol(t).sum(axis=0), exact, rtol=1e-8)
    d = np.empty(4)
    GOM.rhs(0.0, GOM.y0(), p, d)      # specific growth at the 20 mm reference lesion is lambda0
    assert d[0] / T.V_REF_MM3 == pytest.approx(T.LAMBDA0_PER_DAY / DAY, rel=1e-12)


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

    (For Gompertz growth is not linear, so it is switched off, alpha = 0.)
    """
    over = {"P": 0.6, "K_max": 0.2 / DAY}
    if spec is GOM:
        over["alpha"] = 0.0
    sol, p = run(spec, 60 * DAY, over)
    g = 0.6 ** p[spec.parameter_index("gamma")] * (p[0] if spec is SIM else 0.0)
    K = T.kill_rate(0.6, *(p[spec.parameter_index(n)] for n in ("K_max", "IC50_K", "n_K")))
    k1 = p[spec.parameter_index("k1")]
    A = np.array([[g - K, 0, 0, 0], [K, -k1, 0, 0], [0, k1, -k1, 0], [0, 0, k1, -k1]])
    for t in np.linspace(0.0, 60 * DAY, 13):
        np.testing.assert_allclose(sol.sol(t), expm(A * t) @ spec.y0(), rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("spec", [SIM, GOM], ids=["simeoni", "gompertz"])
def test_volume_is_conserved_without_growth(spec):
    """No growth: cells only move down the chain and die, so W(t) + dead(t) = W0."""
    over = {"P": 0.3, "K_max": 0.5 / DAY, ("lambda0" if spec is SIM else "alpha"): 0.0}
    sol, _ = run(spec, 120 * DAY, over, extra_death=True)
    t = np.linspace(0.0, 120 * DAY, 40)
    z = sol.sol(t)
    np.testing.assert_allclose(z[:4].sum(axis=0) + z[4], T.V_REF_MM3, rtol=1e-9)
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
    y = np.array([3000.0, 400.0, 200.0, 100.0])
    a, b = np.empty(4), np.empty(4)
    p = SIM.pack({"P": 0.7})
    SIM.rhs(0.0, y, p, a)
    T.tumor_rhs(0.0, y, p[:-1], 0.7, b)
    np.testing.assert_array_equal(a, b)
    p = GOM.pack({"P": 0.7})
    GOM.rhs(0.0, y, p, a)
    T.gompertz_rhs(0.0, y, p[:-1], 0.7, b)
    np.testing.assert_array_equal(a, b)
