"""The trial system written as equations and composed from blocks (pkpd.model.library) against the hand-laid kernels.

The hand-written kernels (:func:`benchmarks.handwritten.coupled_rhs`, ``network_rhs``,
``tumor_rhs``) are the independent reference: the blocks are written from the
equations, not generated from those kernels.  Where the arithmetic is written in the
same order the results are required to be bitwise equal (the golden scenarios then
cannot move); the network's stoichiometric form is another association of the same
sums and agrees to 1e-13 relative (round-off of sums of rates of order 1 whose
result can cancel to ~1e-3: a few ulp of the terms, relative to the largest term).
Jacobians: central differences, tolerance as in tests/test_model_language.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root, for `benchmarks`
from benchmarks.handwritten import coupled_rhs  # noqa: E402
from pkpd import system
from pkpd.model import compile_model
from pkpd.model.compose import block_graph
from pkpd.model.library.network import SIGNALING, network_block, stoichiometric_odes
from pkpd.model.library.trial import TRIAL
from pkpd.model.library.tumor import SIMEONI
from pkpd.models.tumor import initial_state, tumor_simeoni_rhs
from pkpd.signaling import egfr_jak_stat3 as net

from test_model_language import fd_jacobian

N = system.N_STATES


def _random_states(rng, n, y0):
    """States around the baseline, with drug in the PK compartments (some rows drug-free)."""
    for k in range(n):
        y = y0 * (1 + 0.3 * rng.standard_normal(len(y0)))
        y[:5] = rng.random(5) * [240.0, 100.0, 50.0, 15.0, 5.0]
        if k % 3 == 0:
            y[:3] = 0.0
        yield y


@pytest.fixture(scope="module")
def trial():
    return system.TRIAL_KERNELS


@pytest.fixture(scope="module")
def p_typical():
    return system.parameter_matrix(1)[0]


def test_trial_layout_matches_the_system(trial):
    assert trial.model.digest() == TRIAL.digest()
    assert tuple(n.replace(".", "_", 1) for n in trial.parameter_names) == system.SYSTEM.parameter_names
    assert len(trial.state_names) == N
    assert trial.state_names[:5] == ("neratinib.DEPOT", "neratinib.CENT", "neratinib.PERIPH", "ruxolitinib.DEPOT",
                                     "ruxolitinib.CENT")
    assert block_graph(TRIAL) == {"neratinib": {"signaling"}, "ruxolitinib": {"signaling"},
                                  "signaling": {"tumor"}, "tumor": set()}
    assert system.SYSTEM.rhs is trial.rhs


def test_trial_rhs_is_bitwise_the_hand_laid_kernel(trial, p_typical):
    rng = np.random.default_rng(7)
    y0 = system.initial_states(p_typical[None])[0]
    P = system.parameter_matrix(1)[0]
    for y in _random_states(rng, 500, y0):
        a, b = np.zeros(N), np.zeros(N)
        trial.rhs(0.0, y, P, a)
        coupled_rhs(0.0, y, P, b)
        np.testing.assert_array_equal(a, b)


def test_trial_initial_states_and_dose_modifiers(trial):
    P = system.parameter_matrix(4)
    P[:, system.PATHS["tumor.D0"]] = [10.0, 20.0, 30.0, 55.0]
    P[:, system.PATHS["tumor.f_R"]] = [0.0, 0.01, 0.2, 1.0]
    P[:, system.PATHS["signaling.L"]] *= [0.5, 1.0, 1.5, 2.0]
    np.testing.assert_array_equal(trial.initial_states(P), system.initial_states(P))
    mods = trial.dose_modifiers(P[0])
    legacy = system.dose_modifiers({"cmt": np.array([1, 4])}, P[0])
    np.testing.assert_array_equal(mods[[0, 3], 0], legacy["F"])
    np.testing.assert_array_equal(mods[[0, 3], 1], legacy["ALAG"])


def test_trial_jacobian_matches_finite_differences(trial, p_typical):
    rng = np.random.default_rng(8)
    y0 = system.initial_states(p_typical[None])[0]
    for y in _random_states(rng, 10, y0):
        J = np.zeros((N, N))
        trial.jac(0.0, y, p_typical, J)
        # the tumour's states share one scale (their sum sets the growth law): steps relative to it
        steps = 1e-6 * np.r_[np.maximum(1.0, np.abs(y[:18])), np.full(5, max(1.0, np.abs(y[18:]).max()))]
        Jfd = fd_jacobian(trial, y, p_typical, steps)
        np.testing.assert_allclose(J, Jfd, rtol=1e-6, atol=1e-6)


def test_network_block_baseline_is_the_network_steady_state():
    cm = compile_model(SIGNALING)
    p = np.array([q.value for q in cm.parameters])
    y0 = cm.initial_states(p)
    np.testing.assert_allclose(y0, net.baseline_state(p[:net.N_PARAMS]), rtol=1e-15, atol=1e-15)
    out = np.zeros(len(y0))
    cm.rhs(0.0, y0, p, out)
    assert np.abs(out).max() < 1e-14          # a steady state: the rates cancel to round-off


def test_factored_network_odes_equal_the_stoichiometric_sums():
    factored = compile_model(SIGNALING)
    stoich = compile_model(network_block(net.NETWORK, name="egfr_jak_stat3_stoichiometric",
                                         odes=stoichiometric_odes(net.NETWORK)))
    assert stoich.model.odes != factored.model.odes
    pf = np.array([q.value for q in factored.parameters])
    ps = np.array([q.value for q in stoich.parameters])
    rng = np.random.default_rng(9)
    for _ in range(200):
        y = np.abs(net.baseline_state() * (1 + 0.5 * rng.standard_normal(net.N_SPECIES)))
        pf[-2:] = ps[-2:] = rng.random(2) * [200.0, 500.0]   # free neratinib, ruxolitinib (nM)
        a, b = np.zeros(len(y)), np.zeros(len(y))
        factored.rhs(0.0, y, pf, a)
        stoich.rhs(0.0, y, ps, b)
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-13 * max(1.0, np.abs(b).max()))


def test_tumour_block_is_bitwise_the_hand_written_kernel():
    cm = compile_model(SIMEONI)
    p = np.array([q.value for q in cm.parameters])
    np.testing.assert_array_equal(cm.initial_states(p), initial_state(p[8], p[9]))
    rng = np.random.default_rng(10)
    y0 = initial_state(30.0, 0.01)
    for P_signal in (1.0, 0.7, 0.2, 1.3, -0.1):
        for scale in (1.0, 1e3, 1e5, 1e7):     # exponential, switching and linear growth
            y = y0 * scale * (1 + 0.2 * rng.random(5)) + rng.random(5)
            q = p.copy()
            q[-1] = P_signal
            a, b = np.zeros(5), np.zeros(5)
            cm.rhs(0.0, y, q, a)
            tumor_simeoni_rhs(0.0, y, np.r_[p[:8], P_signal], b)
            np.testing.assert_array_equal(a, b)


def test_cli_models_prints_equations_and_block_graph(tmp_path):
    from click.testing import CliRunner

    from pkpd.cli import main
    from pkpd.model.language import parse_model

    r = CliRunner().invoke(main, ["models", "tnbc_combination"])
    assert r.exit_code == 0, r.output
    assert "d/dt(tumor.X1) = tumor.growth - tumor.kill * tumor.X1" in r.output
    assert "neratinib.CL [L/h] = 281" in r.output
    assert "#   signaling (egfr_jak_stat3) -> tumor" in r.output
    assert "#   tumor.P <- signaling.P" in r.output
    # what it prints is the model: the equations part parses back to the same model
    text = r.output.split("\n# block graph")[0] + "\n"
    assert parse_model(text).canonical()["odes"] == TRIAL.canonical()["odes"]
