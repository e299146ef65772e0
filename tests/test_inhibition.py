"""Pathway inhibition, TGI and combination metrics (pkpd.analysis.inhibition) on hand values."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pkpd.analysis.inhibition import (
    bliss_excess,
    bliss_expected,
    hsa_excess,
    hsa_expected,
    inhibition,
    tgi,
    time_average,
)
from pkpd.errors import InputError


def test_time_average_of_piecewise_linear_profiles_is_exact():
    # A tent 1 -> 0 -> 1 on t = 0, 1, 2; over [0.5, 1.5] the linear interpolant gives two
    # triangles-with-base: mean = 0.25 (area 2 * 0.5 * (0.5 + 0)/2 = 0.25 over width 1).
    assert time_average([0.0, 1.0, 2.0], [1.0, 0.0, 1.0], (0.5, 1.5)) == pytest.approx(0.25)
    # Irregular grid, straight line 1 - t/20 on [0, 10]: mean over [0, 10] = 0.75.
    t = np.array([0.0, 0.3, 1.0, 4.5, 4.6, 10.0])
    assert time_average(t, 1 - t / 20) == pytest.approx(0.75, rel=1e-14)


def test_inhibition_on_a_constructed_profile():
    # Control at 1; treated drops linearly from 1 to 0.2 over 0-4 h, stays at 0.2 until 24 h.
    #   mean over [0, 24] = (4 * (1 + 0.2)/2 + 20 * 0.2)/24 = (2.4 + 4)/24 = 0.266667
    #   inhibition = 1 - 0.266667 = 0.733333.  Over [4, 24]: 1 - 0.2 = 0.8.
    t = np.array([0.0, 1.0, 2.0, 4.0, 8.0, 24.0])
    treated = np.array([1.0, 0.8, 0.6, 0.2, 0.2, 0.2])
    control = np.ones_like(t)
    assert inhibition(t, treated, control) == pytest.approx(1 - 6.4 / 24, rel=1e-14)
    assert inhibition(t, treated, control, window=(4.0, 24.0)) == pytest.approx(0.8, rel=1e-14)
    # Edge at 3 h interpolates to 0.4: mean over [3, 24] = (1*(0.4+0.2)/2 + 20*0.2)/21.
    assert inhibition(t, treated, control, window=(3.0, 24.0)) == pytest.approx(1 - 4.3 / 21, rel=1e-14)
    # Broadcasting: three patients against one control curve.
    pts = np.stack([treated, control, 0.5 * control])
    np.testing.assert_allclose(inhibition(t, pts, control), [1 - 6.4 / 24, 0.0, 0.5], rtol=1e-14)
    # A readout above control is negative inhibition; a zero control gives NaN.
    assert inhibition(t, 2 * control, control) == pytest.approx(-1.0)
    assert np.isnan(inhibition(t, treated, 0 * control))


def test_tgi_percent():
    t = [0.0, 7.0, 14.0, 21.0]
    treated = [100.0, 110.0, 130.0, 150.0]
    control = [100.0, 160.0, 230.0, 300.0]
    # dT = 50, dC = 200 -> (1 - 0.25) * 100 = 75 %.
    assert tgi(t, treated, control, 21.0) == pytest.approx(75.0)
    # From day 7 to day 17.5 (interpolated): dT = 140 - 110 = 30; dC = 265 - 160 = 105.
    assert tgi(t, treated, control, 17.5, t_start=7.0) == pytest.approx(100 * (1 - 30 / 105))
    # Regression gives > 100 %, no effect 0 %; arrays broadcast over leading axes.
    np.testing.assert_allclose(tgi(t, [[100, 90, 80, 70.0], control], control, 21.0), [115.0, 0.0])
    with pytest.raises(InputError, match="t_end"):
        tgi(t, treated, control, 30.0)


def test_bliss_and_hsa_hand_values():
    # E_a = 0.5, E_b = 0.4: Bliss expects 0.5 + 0.4 - 0.2 = 0.7, HSA expects 0.5.
    assert bliss_expected(0.5, 0.4) == pytest.approx(0.7)
    assert bliss_excess(0.8, 0.5, 0.4) == pytest.approx(0.1)
    assert hsa_expected(0.5, 0.4) == 0.5
    assert hsa_excess(0.8, 0.5, 0.4) == pytest.approx(0.3)
    assert bliss_excess(0.6, 0.5, 0.4) == pytest.approx(-0.1)  # antagonism relative to Bliss
    # Vectorised: a 2 x 3 grid of single-agent effects.
    e_a = np.array([[0.0], [0.5]])
    e_b = np.array([0.0, 0.5, 1.0])
    np.testing.assert_allclose(bliss_expected(e_a, e_b), [[0.0, 0.5, 1.0], [0.5, 0.75, 1.0]])
    np.testing.assert_allclose(hsa_excess(0.9, e_a, e_b), [[0.9, 0.4, -0.1], [0.4, 0.4, -0.1]])
    # Values outside [0, 1] pass through (a stimulating agent has E < 0).
    assert bliss_expected(-0.2, 0.5) == pytest.approx(-0.2 + 0.5 + 0.1)


effects = st.floats(0.0, 1.0, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(effects, effects)
def test_bliss_reference_is_between_hsa_and_one(e_a, e_b):
    # For effects in [0, 1]: max(E_a, E_b) <= E_a + E_b - E_a E_b <= 1, and U_exp = U_a U_b.
    exp = bliss_expected(e_a, e_b)
    assert hsa_expected(e_a, e_b) - 1e-15 <= exp <= 1.0 + 1e-15
    assert 1 - exp == pytest.approx((1 - e_a) * (1 - e_b), abs=1e-15)
    assert bliss_excess(exp, e_a, e_b) == pytest.approx(0.0, abs=1e-15)
