"""EGFR–JAK–STAT3 network: kernel vs reference evaluator, steady state, drug effects, feedback, docs.

Reference solutions come from scipy (``solve_ivp`` Radau, ``optimize.root``) and
closed forms, never from pkpd's own solvers.

Clinical free concentrations (constant-exposure arms), computed from pk.md:

* neratinib 240 mg QD: Cavg,ss = dose/(CL/F·tau) = 240 mg / (281 L/h · 24 h) = 35.6 ng/mL
  = 63.9 nM total (MW 557.04); fu 0.01 (">99% bound") gives 0.64 nM free.  Peak: HV day-4
  Cmax 61.2 ng/mL (pk.md §5 [V]) = 110 nM total, 1.10 nM free.
* ruxolitinib 15 mg BID, female CL/F 17.7 L/h, F 0.95: Cavg,ss = F·dose/(CL/F·tau) =
  0.95 · 15 mg / (17.7 L/h · 12 h) = 67.1 ng/mL = 219 nM total (MW 306.37); fu 0.03 gives
  6.57 nM free.  Peak: steady-state Cmax 177 ng/mL (pk.md §2.2 [D]) = 578 nM total, 17.3 nM free.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.linalg import expm
from scipy.optimize import root

from pkpd.errors import ModelError
from pkpd.models.spec import Parameter
from pkpd.signaling import egfr_jak_stat3 as m
from pkpd.signaling.network import Network, Reaction, Species

NET = m.NETWORK
P0 = NET.parameter_values()
IDX = {name: i for i, name in enumerate(NET.parameter_names)}
SP = {name: i for i, name in enumerate(NET.species_names)}
REPO = Path(__file__).resolve().parents[1]


def _mg_per_L_to_nM(c_mg_per_L, mw):
    return c_mg_per_L * 1e6 / mw  # mg/L -> ug/L (=ng/mL) x 1000/MW -> nM


NER_AVG = _mg_per_L_to_nM(240.0 / (281.0 * 24.0), 557.04) * 0.01     # 0.639 nM free
NER_PEAK = _mg_per_L_to_nM(61.2e-3, 557.04) * 0.01                   # 1.10 nM free
RUX_AVG = _mg_per_L_to_nM(0.95 * 15.0 / (17.7 * 12.0), 306.37) * 0.03  # 6.57 nM free
RUX_PEAK = _mg_per_L_to_nM(177e-3, 306.37) * 0.03                    # 17.3 nM free


def params(**overrides):
    p = P0.copy()
    for k, v in overrides.items():
        p[IDX[k]] = v
    return p


def simulate(p, c_ner, c_rux, t_end, y0=None, rtol=1e-8, atol=1e-11):
    """scipy Radau on the compiled block kernel at constant free concentrations (nM)."""
    def f(t, y):
        dydt = np.empty_like(y)
        m.network_rhs(t, y, p, c_ner, c_rux, dydt)
        return dydt
    y0 = m.baseline_state(p) if y0 is None else y0
    sol = solve_ivp(f, (0.0, t_end), y0, method="Radau", rtol=rtol, atol=atol, dense_output=True)
    assert sol.success, sol.message
    return sol


def time_average(sol, p, t0, t1, dt=0.05):
    """Time averages of the relative readouts over [t0, t1] h (trapezoid on the dense output)."""
    t = np.arange(t0, t1 + dt / 2, dt)
    rel = m.readouts(sol.sol(t).T, p, relative=True)
    return {k: np.trapezoid(v, t) / (t1 - t0) for k, v in rel.items()}


# ------------------------------------------------------------------------------- network data
def test_clinical_free_concentrations_from_pk_notes():
    assert NER_AVG == pytest.approx(0.639, abs=0.002)
    assert NER_PEAK == pytest.approx(1.10, abs=0.01)
    assert RUX_AVG == pytest.approx(6.57, abs=0.01)
    assert RUX_PEAK == pytest.approx(17.3, abs=0.1)


def test_network_rejects_inconsistent_definitions():
    sp = (Species("A", "1", "a"),)
    k = Parameter("k", 1.0, "1/h", "rate", "assumed", assumed=True)
    with pytest.raises(ModelError, match="unknown names"):
        Network("x", sp, (Reaction("r", ("A",), (), "k*B", ("k",), ""),), (k,))
    with pytest.raises(ModelError, match="declares parameters"):
        Network("x", sp, (Reaction("r", ("A",), (), "k*A", (), ""),), (k,))
    with pytest.raises(ModelError, match="never used"):
        Network("x", sp, (Reaction("r", ("A",), (), "A", (), ""),), (k,))
    with pytest.raises(ModelError, match="not allowed"):
        Network("x", sp, (Reaction("r", ("A",), (), "k*A if A else 0", ("k",), ""),), (k,))
    with pytest.raises(ModelError, match="unknown species"):
        Network("x", sp, (Reaction("r", ("B",), (), "k*A", ("k",), ""),), (k,))


def test_stoichiometry_and_conservation_laws():
    N = NET.stoichiometry
    assert N.shape == (13, len(NET.reactions))
    laws = NET.conservation_laws()
    assert laws.shape == (1, 13)                     # only total STAT3 is conserved
    stat3 = np.zeros(13)
    stat3[[SP["S"], SP["pSc"], SP["pSn"]]] = 1.0
    c = laws[0] / laws[0][SP["S"]]
    np.testing.assert_allclose(c, stat3, atol=1e-12)


def test_every_parameter_has_unit_source_and_guesses_are_flagged():
    for prm in NET.parameters:
        assert prm.unit and prm.source and prm.description
        if prm.assumed:
            assert "GUESS" in prm.source or "assum" in prm.source.lower(), prm.name
        else:
            assert "GUESS" not in prm.source, prm.name


# ------------------------------------------------------------------------------- kernel
def _random_case(rng):
    p = P0 * np.exp(rng.normal(0.0, 0.5, P0.size))
    for name in ("b_E", "b_A", "w_EI", "phi_EJ", "b_m", "Imax_rux"):
        p[IDX[name]] = rng.uniform(0.05, 0.95)
    p[IDX["F_S3"]] = rng.uniform(0.0, 2.0)
    p[IDX["n_fb"]] = rng.uniform(1.0, 4.0)
    p[IDX["n_rux"]] = rng.uniform(0.5, 2.0)
    y = rng.uniform(0.0, 2.0, 13)
    c_ner = 0.0 if rng.random() < 0.2 else float(np.exp(rng.normal(0.0, 1.5)))
    c_rux = 0.0 if rng.random() < 0.2 else float(np.exp(rng.normal(2.0, 1.5)))
    return y, p, c_ner, c_rux


def test_kernel_equals_reference_evaluator_on_random_states_and_parameters():
    """Hand-written kernel == N @ v(y) of the rate-law strings, to 1e-12 of the summed terms.

    Each derivative is a sum of a few terms, each ~20 floating-point operations, so the
    two implementations differ by round-off, a few 1e-16 of the largest term; 1e-12
    leaves a wide margin while a wrong index, sign or factor gives an O(1) error.
    """
    rng = np.random.default_rng(20240611)
    dydt = np.empty(13)
    for _ in range(300):
        y, p, c_ner, c_rux = _random_case(rng)
        m.network_rhs(0.0, y, p, c_ner, c_rux, dydt)
        inputs = {"C_ner_u": c_ner, "C_rux_u": c_rux}
        ref = NET.rhs(y, p, inputs)
        scale = NET.rhs_scale(y, p, inputs)
        assert np.all(np.abs(dydt - ref) <= 1e-12 * scale + 1e-300), (y, p, c_ner, c_rux)


def test_spec_rhs_reads_concentrations_from_its_last_two_parameters():
    spec = m.EGFR_JAK_STAT3
    assert spec.parameter_names[-2:] == ("C_ner_u", "C_rux_u")
    assert spec.n_parameters == m.N_PARAMS + 2 and spec.n_states == m.N_SPECIES
    y = m.baseline_state() * 0.9
    p = spec.pack({"C_ner_u": 0.7, "C_rux_u": 5.0})
    a, b = np.empty(13), np.empty(13)
    spec.rhs(0.0, y, p, a)
    m.network_rhs(0.0, y, P0, 0.7, 5.0, b)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(spec.y0(), m.steady_state(), rtol=0, atol=1e-14)


# ------------------------------------------------------------------------------- steady state
def test_untreated_steady_state_is_computed_consistent_and_stable():
    y = m.steady_state()
    assert np.max(np.abs(NET.rhs(y, P0))) < 1e-14
    # normalisation: these are 1 by construction of the pre-treatment state
    for name in ("IL6", "mS3", "SOCS3", "P"):
        assert y[SP[name]] == pytest.approx(1.0, abs=1e-14)
    assert y[SP["R"]] + y[SP["Ra"]] == pytest.approx(1.0, abs=1e-14)
    assert abs(y[SP["Rx"]]) < 1e-20
    assert y[SP["S"]] + y[SP["pSc"]] + y[SP["pSn"]] == pytest.approx(1.0, abs=1e-14)
    # the JAK route carries ~59% of the pre-treatment STAT3 phosphorylation flux (biology.md §6.4)
    flux = m.stat3_fluxes(y)
    assert flux["JAK"] / (flux["JAK"] + flux["EGFR"]) == pytest.approx(0.59, abs=0.01)
    # independent check: Newton on the *reference* evaluator from a distant start
    Q, C = m._stoichiometric_basis(), NET.conservation_laws()
    start = np.full(13, 0.5)
    start[[SP["S"], SP["pSc"], SP["pSn"]]] = [0.4, 0.3, 0.3]
    sol = root(lambda z: np.concatenate([Q.T @ NET.rhs(z, P0), C @ (z - start)]), start, tol=1e-13)
    assert np.max(np.abs(NET.rhs(sol.x, P0))) < 1e-13
    np.testing.assert_allclose(sol.x, y, rtol=0, atol=1e-10)
    assert np.max(m.reduced_eigenvalues(y, P0).real) < -0.01     # slowest mode ~ kdeg_R = 0.05/h


def test_closed_form_baseline_is_a_stable_steady_state_for_random_parameters():
    rng = np.random.default_rng(7)
    for _ in range(20):
        p = P0 * np.exp(rng.normal(0.0, 0.3, P0.size))
        for name in ("b_E", "b_A", "w_EI", "phi_EJ", "b_m"):
            p[IDX[name]] = rng.uniform(0.05, 0.95)
        p[IDX["Imax_rux"]] = 1.0
        y = m.baseline_state(p)
        assert np.max(np.abs(NET.rhs(y, p))) < 1e-13
        assert np.max(m.reduced_eigenvalues(y, p).real) < 0
        np.testing.assert_allclose(m.steady_state(p), y, rtol=0, atol=1e-12)


def test_steady_state_rejects_bad_inputs():
    with pytest.raises(ModelError, match="length"):
        m.steady_state(P0[:5])
    with pytest.raises(ModelError, match=">= 0 nM"):
        m.steady_state(P0, c_ner_u=-1.0)


def test_no_drug_every_species_stays_at_baseline_for_8_weeks():
    """Radau, rtol 1e-10, atol 1e-12, 8 weeks: the start is an exact, stable equilibrium
    (residual ~1e-16 per h), so the solution may only drift by the solver's error control,
    which the stable dynamics damp; 1e-9 absolute is a few tolerance units."""
    y0 = m.steady_state()
    sol = simulate(P0, 0.0, 0.0, 8 * 7 * 24.0, y0=y0, rtol=1e-10, atol=1e-12)
    t = np.linspace(0.0, 8 * 7 * 24.0, 500)
    assert np.max(np.abs(sol.sol(t) - y0[:, None])) < 1e-9


# ------------------------------------------------------------------------------- drug effects
def test_neratinib_lowers_pegfr_monotonically_as_the_closed_form_says():
    """At constant C the receptor block is linear; its steady state solves a 2x2 system."""
    conc = [0.0, 0.1, 0.3, NER_AVG, 1.0, 3.0, 10.0, 30.0]
    pegfr = []
    for c in conc:
        y = m.steady_state(P0, c_ner_u=c)
        kN = P0[IDX["kinact"]] * c / (P0[IDX["KI"]] + c)
        ka, kd, kR, kRa = (P0[IDX[n]] for n in ("k_act", "k_deact", "kdeg_R", "kdeg_Ra"))
        ks = NET.namespace(y, P0)["ks"]
        A = np.array([[ka + kR + kN, -kd], [-ka, kd + kRa + kN]])
        R, Ra = np.linalg.solve(A, [ks, 0.0])
        assert y[SP["R"]] == pytest.approx(R, rel=1e-10)
        assert y[SP["Ra"]] == pytest.approx(Ra, rel=1e-10)
        pegfr.append(m.readouts(y, P0, relative=True)["pEGFR"])
    assert np.all(np.diff(pegfr) < 0)
    # the KI guess was chosen so that the average 240 mg QD exposure gives ~65% pEGFR reduction
    assert pegfr[3] == pytest.approx(0.34, abs=0.02)


def test_ruxolitinib_lowers_jak_driven_stat3_flux_monotonically():
    conc = [0.0, 1.0, 3.0, RUX_AVG, 10.0, RUX_PEAK, 30.0, 100.0]
    jak_flux, pstat3 = [], []
    for c in conc:
        y = m.steady_state(P0, c_rux_u=c)
        jak_flux.append(m.stat3_fluxes(y, P0, c_rux_u=c)["JAK"])
        rel = m.readouts(y, P0, relative=True)
        pstat3.append(rel["pSTAT3"])
        assert rel["pEGFR"] == pytest.approx(1.0, abs=1e-12)   # no effect on its non-target
    assert np.all(np.diff(jak_flux) < 0)
    assert np.all(np.diff(pstat3) < 0)


def test_neratinib_effect_persists_after_removal_and_recovers_by_receptor_resynthesis():
    """72 h at the peak free concentration, then none.

    After removal the receptor block (R, Ra, Rx) is linear and autonomous, so its exact
    solution is a matrix exponential; Radau (rtol 1e-10) must agree to 1e-8.  The slow
    eigenvalue equals the receptor turnover ks (R and Ra equilibrate within minutes),
    so pEGFR recovers with half-time ~ln2/ks (5.4 h), not at the drug's speed.
    """
    sol_on = simulate(P0, NER_PEAK, 0.0, 72.0, rtol=1e-10, atol=1e-12)
    y_off = sol_on.y[:, -1]
    sol_off = simulate(P0, 0.0, 0.0, 96.0, y0=y_off, rtol=1e-10, atol=1e-12)
    ka, kd, kR, kRa = (P0[IDX[n]] for n in ("k_act", "k_deact", "kdeg_R", "kdeg_Ra"))
    ks = NET.namespace(y_off, P0)["ks"]
    # augmented linear system z = (R, Ra, Rx, 1): dz/dt = M z
    M = np.array([[-(ka + kR), kd, 0.0, ks],
                  [ka, -(kd + kRa), 0.0, 0.0],
                  [0.0, 0.0, -kR, 0.0],
                  [0.0, 0.0, 0.0, 0.0]])
    z0 = np.array([y_off[SP["R"]], y_off[SP["Ra"]], y_off[SP["Rx"]], 1.0])
    t = np.linspace(0.0, 96.0, 97)
    exact = np.array([expm(M * ti) @ z0 for ti in t]).T[:3]
    np.testing.assert_allclose(sol_off.sol(t)[:3], exact, rtol=1e-8, atol=1e-12)

    Ra0 = m.baseline_state()[SP["Ra"]]
    deficit = (Ra0 - sol_off.sol(t)[SP["Ra"]]) / (Ra0 - y_off[SP["Ra"]])
    assert deficit[1] > 0.85            # 1 h after the drug is gone, < 15% of the effect has worn off
    t50 = np.interp(0.5, deficit[::-1], t[::-1])
    assert t50 == pytest.approx(np.log(2) / ks, rel=0.1)
    assert deficit[-1] < 1e-4           # fully recovered after 96 h (~18 half-lives)


# ------------------------------------------------------------------------------- feedback
@pytest.fixture(scope="module")
def arms():
    """Three weeks at constant clinical free concentrations (average and peak levels)."""
    out = {}
    for level, (cn, cr) in {"avg": (NER_AVG, RUX_AVG), "peak": (NER_PEAK, RUX_PEAK)}.items():
        for arm, (a, b) in {"ner": (cn, 0.0), "rux": (0.0, cr), "combo": (cn, cr)}.items():
            out[level, arm] = simulate(P0, a, b, 21 * 24.0)
    return out


def test_neratinib_alone_raises_il6_and_jak_and_pstat3_rebounds(arms):
    sol = arms["avg", "ner"]
    t = np.arange(0.0, 21 * 24.0, 0.25)
    rel = m.readouts(sol.sol(t).T, P0, relative=True)
    assert rel["IL6"][-1] > 1.3 and rel["JAK"][-1] > 1.3
    # pSTAT3 dips as the EGFR route is lost, then rebounds as IL-6/JAK rise
    trough = rel["pSTAT3"].min()
    assert trough < 0.95 and t[np.argmin(rel["pSTAT3"])] < 12.0
    assert rel["pSTAT3"][-1] > trough + 0.05
    # the rebound is the feedback's doing: without it pSTAT3 would settle much lower
    no_fb = m.readouts(m.steady_state(params(F_fb=0.0), c_ner_u=NER_AVG), P0, relative=True)
    assert rel["pSTAT3"][-1] > no_fb["pSTAT3"] + 0.15


def test_adding_ruxolitinib_removes_the_pstat3_rebound(arms):
    t = np.arange(0.0, 21 * 24.0, 0.25)
    ner = m.readouts(arms["avg", "ner"].sol(t).T, P0, relative=True)["pSTAT3"]
    combo = m.readouts(arms["avg", "combo"].sol(t).T, P0, relative=True)["pSTAT3"]
    assert np.all(combo <= 1.0 + 1e-9)
    assert np.all(combo[t >= 24.0] < ner.min())      # after day 1: below neratinib's own trough


@pytest.mark.parametrize("level", ["avg", "peak"])
def test_combination_lowers_time_averaged_pstat3_and_p_more_than_either_drug(arms, level):
    avg = {arm: time_average(arms[level, arm], P0, 0.0, 21 * 24.0) for arm in ("ner", "rux", "combo")}
    for readout in ("pSTAT3", "P"):
        assert avg["combo"][readout] < min(avg["ner"][readout], avg["rux"][readout]) - 0.02, readout


def test_combination_pstat3_advantage_depends_on_il6_feedback_strength():
    """The pSTAT3 benefit over ruxolitinib alone is conditional (reported, not forced).

    With a stronger compensatory loop (neratinib raising IL-6 ~2.7-fold instead of ~1.5-fold)
    the extra JAK flux outweighs the lost EGFR route and the combination's pSTAT3 ends
    above ruxolitinib alone; its proliferation signal stays lower in both cases.
    """
    for p, combo_wins in ((P0, True), (params(F_fb=16.0, n_fb=3.0), False)):
        rel = {arm: m.readouts(m.steady_state(p, cn, cr), p, relative=True)
               for arm, (cn, cr) in {"ner": (NER_AVG, 0.0), "rux": (0.0, RUX_AVG),
                                     "combo": (NER_AVG, RUX_AVG)}.items()}
        assert bool(rel["combo"]["pSTAT3"] < rel["rux"]["pSTAT3"]) is combo_wins
        assert rel["combo"]["P"] < min(rel["ner"]["P"], rel["rux"]["P"])


def test_total_stat3_conserved_under_treatment(arms):
    t = np.linspace(0.0, 21 * 24.0, 400)
    y = arms["peak", "combo"].sol(t)
    np.testing.assert_allclose(y[SP["S"]] + y[SP["pSc"]] + y[SP["pSn"]], 1.0, rtol=0, atol=1e-9)


# ------------------------------------------------------------------------------- readouts, docs
def test_readouts_definitions_and_relative_baseline():
    y = m.steady_state()
    abs_ = m.readouts(y)
    assert abs_["pSTAT3"] == y[SP["pSc"]] + y[SP["pSn"]]
    assert abs_["pSTAT3_nuclear"] == y[SP["pSn"]] and abs_["pEGFR"] == y[SP["Ra"]]
    for v in m.readouts(y, P0, relative=True).values():
        assert v == pytest.approx(1.0, abs=1e-13)
    # vectorised over a time course, and through the ModelSpec output function
    ys = np.stack([y, 0.5 * y])
    out = m.EGFR_JAK_STAT3.evaluate_outputs(ys, m.EGFR_JAK_STAT3.pack())
    np.testing.assert_allclose(out["pERK_rel"], [1.0, 0.5], rtol=1e-13)
    assert set(out) == {o.name for o in m.EGFR_JAK_STAT3.outputs}


def test_committed_documentation_page_is_up_to_date():
    page = (REPO / "docs" / "signaling.md").read_text(encoding="utf-8")
    assert page == m.documentation(), (
        "docs/signaling.md is stale; regenerate with: python -c \"from pkpd.signaling.egfr_jak_stat3 "
        "import write_documentation; write_documentation('docs/signaling.md')\"")
    for prm in NET.parameters:
        assert f"`{prm.name}`" in page
    for r in NET.reactions:
        assert r.rate_law in page.replace("\\|", "|")
