"""RECIST 1.1 classification, best overall response and trial endpoints (pkpd.analysis.response).

Every RECIST boundary is pinned by a constructed SLD series (mm) at scan days; Kaplan–Meier
medians and their Brookmeyer–Crowley limits are checked against hand computations written out
in the comments; the Clopper–Pearson interval against scipy.stats.binomtest and the beta
quantiles; the Greenwood log-log band against scipy.stats.ecdf.
"""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from pkpd.analysis.response import (
    CR,
    DAYS_PER_MONTH,
    NE,
    PD,
    PR,
    SD,
    add_measurement_noise,
    assess_recist,
    classify_assessments,
    disease_control_rate,
    kaplan_meier,
    objective_response_rate,
    response_labels,
    trial_endpoints,
)
from pkpd.errors import InputError


def codes(*sld, **kw):
    return classify_assessments(np.array([sld], dtype=float), **kw)[0].tolist()


def bor(sld, days, **kw):
    return int(assess_recist(np.array([sld], dtype=float), np.array(days, dtype=float), **kw).best_response[0])


# ------------------------------------------------------------------ per-assessment boundaries


def test_exactly_minus_30_percent_is_pr():
    assert codes(100.0, 70.0) == [NE, PR]
    assert codes(100.0, 70.01) == [NE, SD]
    # 33.3 * 0.7 = 23.31 in decimal but not in binary: the 1e-9 mm slack keeps it a PR.
    assert codes(33.3, 23.31) == [NE, PR]


def test_plus_20_percent_but_under_5_mm_is_not_pd():
    assert codes(20.0, 24.0) == [NE, SD]  # +20%, +4 mm
    assert codes(20.0, 24.99) == [NE, SD]  # +25%, +4.99 mm


def test_plus_20_percent_and_5_mm_is_pd():
    assert codes(25.0, 30.0) == [NE, PD]  # exactly +20% and exactly +5 mm
    assert codes(25.0, 29.99) == [NE, SD]  # +19.96%
    assert codes(30.0, 35.0) == [NE, SD]  # +5 mm but only +16.7%


def test_pd_is_measured_from_a_new_nadir_after_pr():
    # Nadir 40 after PR: 48 = 1.2 * 40 and +8 mm -> PD although still -52% from baseline.
    assert codes(100.0, 60.0, 40.0, 48.0) == [NE, PR, PR, PD]
    assert codes(100.0, 60.0, 40.0, 47.9) == [NE, PR, PR, PR]


def test_cr_threshold_is_strict_and_configurable():
    assert codes(100.0, 4.9) == [NE, CR]
    assert codes(100.0, 5.0) == [NE, PR]
    assert codes(100.0, 5.0, cr_threshold_mm=5.5) == [NE, CR]
    assert codes(100.0, 0.0, cr_threshold_mm=1e-6) == [NE, CR]


def test_missing_scans_new_lesions_and_missing_baseline():
    assert codes(100.0, np.nan, 50.0) == [NE, NE, PR]
    sld = np.array([[100.0, 50.0, 50.0]])
    out = classify_assessments(sld, new_lesion=np.array([[False, False, True]]))
    assert out[0].tolist() == [NE, PR, PD]
    assert codes(np.nan, 50.0, 60.0) == [NE, NE, NE]
    assert response_labels([NE, CR, PR, SD, PD]).tolist() == ["NE", "CR", "PR", "SD", "PD"]


# ------------------------------------------------------------------ best overall response


def test_unconfirmed_pr_is_sd_with_confirmation_and_pr_without():
    sld, days = [100.0, 65.0, 75.0], [0, 56, 112]  # PR then SD (75 < 1.2*65)
    assert bor(sld, days) == SD
    assert bor(sld, days, confirm=False) == PR
    res = assess_recist(np.array([sld]), days)
    assert np.isnan(res.dor_days[0]) and np.isnan(res.response_start_days[0])


def test_pr_confirmed_less_than_28_days_later_does_not_count():
    # PR on day 42 and day 63 (21 days apart); the first scan >= 28 days after day 42 is day 105 (SD).
    assert bor([100.0, 65.0, 66.0, 90.0], [0, 42, 63, 105]) == SD
    # Exactly 28 days apart confirms.
    res = assess_recist(np.array([[100.0, 65.0, 66.0, 90.0]]), [0, 42, 70, 112])
    assert res.best_response[0] == PR
    assert res.response_start_days[0] == 42
    # The confirmation gap is a parameter.
    assert bor([100.0, 65.0, 66.0, 90.0], [0, 42, 63, 105], confirm_days=21) == PR


def test_confirmed_cr_and_mixed_runs():
    assert bor([100.0, 4.9, 4.0], [0, 56, 112]) == CR
    assert bor([100.0, 5.0, 4.0], [0, 56, 112]) == PR  # PR then CR confirms a PR only
    assert bor([100.0, 5.0, 4.0], [0, 56, 112], cr_threshold_mm=5.5) == CR
    # An SD between response and confirmation breaks it, PD ends the search.
    assert bor([100.0, 60.0, 75.0, 60.0], [0, 42, 56, 84]) == SD
    # PR on day 42 whose next scan is PD (80 >= 1.2*60, +20 mm): unconfirmed, so SD (day 42 >= 42).
    assert bor([100.0, 60.0, 80.0, 30.0], [0, 42, 84, 126]) == SD
    # Nothing after the first PD counts, not even without confirmation.
    assert bor([100.0, 90.0, 130.0, 30.0], [0, 42, 84, 126], confirm=False) == SD


def test_minimum_sd_duration():
    assert bor([100.0, 90.0, 130.0], [0, 35, 77]) == PD  # SD only before day 42
    assert bor([100.0, 90.0, 130.0], [0, 42, 84]) == SD
    assert bor([100.0, 90.0, 130.0], [0, 35, 77], min_sd_days=35) == SD
    assert bor([100.0, 90.0], [0, 35]) == NE  # too early for SD, no PD
    assert bor([100.0, np.nan], [0, 56]) == NE


def test_pfs_dor_and_censoring():
    sld = np.array(
        [
            [100.0, 60.0, np.nan, 62.0, np.nan],  # PR day 56 confirmed on day 168; censored at 168
            [100.0, 130.0, 140.0, 90.0, 80.0],  # PD at the first scan
            [100.0, 60.0, 55.0, 70.0, 80.0],  # PR confirmed; PD day 168 (70 >= 1.2*55 and +15)
            [100.0, 95.0, 90.0, 92.0, 91.0],  # SD throughout, censored at 224
            [100.0, 60.0, 55.0, 50.0, np.nan],  # PR, death on day 200
        ]
    )
    days = [0, 56, 112, 168, 224]
    res = assess_recist(sld, days, death_days=[np.nan, np.nan, np.nan, np.nan, 200.0])
    assert res.best_response.tolist() == [PR, PD, PR, SD, PR]
    np.testing.assert_array_equal(res.pfs_days, [168, 56, 168, 224, 200])
    assert res.pfs_event.tolist() == [False, True, True, False, True]
    np.testing.assert_array_equal(res.dor_days, [112, np.nan, 112, np.nan, 144])
    assert res.dor_event.tolist() == [False, False, True, False, True]
    np.testing.assert_allclose(res.best_pct_change, [-40, 30, -45, -10, -50])
    assert res.last_assessment_days.tolist() == [168, 0, 112, 224, 168]
    assert res.assessments.shape == (5, 5) and res.pct_change.shape == (5, 5)


def test_leading_axes_and_per_patient_times():
    rng = np.random.default_rng(0)
    sld = rng.uniform(20, 120, (2, 3, 6))
    days = np.sort(rng.uniform(1, 400, (2, 3, 6)), axis=-1)
    days[..., 0] = 0
    batch = assess_recist(sld, days)
    assert batch.best_response.shape == (2, 3)
    for i in range(2):
        for j in range(3):
            one = assess_recist(sld[i, j][None], days[i, j])
            assert one.best_response[0] == batch.best_response[i, j]
            np.testing.assert_equal(one.pfs_days[0], batch.pfs_days[i, j])


# ------------------------------------------------------------------------------ rates


@pytest.mark.parametrize("k, n", [(0, 20), (2, 31), (7, 31), (20, 20), (45, 100)])
def test_orr_interval_is_exact_clopper_pearson(k, n):
    best = np.array([PR] * k + [SD] * (n - k), dtype=np.int8)
    out = objective_response_rate(best)
    ref = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    assert out["rate"] == k / n and out["count"] == k and out["n"] == n
    assert out["ci_low"] == pytest.approx(ref.low, abs=1e-12)
    assert out["ci_high"] == pytest.approx(ref.high, abs=1e-12)
    # Clopper–Pearson as beta quantiles (independent of binomtest).
    lo = 0.0 if k == 0 else stats.beta.ppf(0.025, k, n - k + 1)
    hi = 1.0 if k == n else stats.beta.ppf(0.975, k + 1, n - k)
    assert out["ci_low"] == pytest.approx(lo, abs=1e-9)
    assert out["ci_high"] == pytest.approx(hi, abs=1e-9)


def test_rates_count_every_patient_and_vectorise_over_arms():
    arms = np.array([[CR, PR, SD, PD, NE], [SD, SD, PD, PD, NE]], dtype=np.int8)
    orr = objective_response_rate(arms)
    dcr = disease_control_rate(arms)
    np.testing.assert_allclose(orr["rate"], [0.4, 0.0])
    np.testing.assert_allclose(dcr["rate"], [0.6, 0.4])
    assert orr["ci_low"].shape == (2,)
    with pytest.raises(InputError, match="best_response"):
        objective_response_rate(np.array([0.5, 1.0]))


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 300), st.data())
def test_orr_interval_contains_the_estimate(n, data):
    k = data.draw(st.integers(0, n))
    best = np.array([CR] * k + [PD] * (n - k), dtype=np.int8)
    out = objective_response_rate(best)
    assert 0.0 <= out["ci_low"] <= out["rate"] <= out["ci_high"] <= 1.0


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0.0, 300.0, allow_nan=False), min_size=2, max_size=12))
def test_shrinking_tumours_never_progress(values):
    sld = -np.sort(-np.array(values))  # non-increasing
    sld[0] = max(sld[0], 1.0)
    sld[1:] = np.minimum(sld[1:], sld[0])
    c = classify_assessments(sld[None])[0]
    assert PD not in c
    res = assess_recist(sld[None], np.arange(sld.size) * 56.0)
    assert res.best_response[0] != PD and not res.pfs_event[0]


# ------------------------------------------------------------------------------ Kaplan–Meier


def test_km_median_hand_computed_with_censoring():
    # Times (+ = censored): 2, 3+, 4, 5, 5+, 7, 8+, 9, 10.  Events before censorings at ties.
    #   t=2 : at risk 9, 1 event -> S = 8/9              = 0.888889
    #   t=4 : at risk 7 (3+ left) -> S = 8/9 * 6/7       = 0.761905
    #   t=5 : at risk 6, 1 event  -> S = 0.761905 * 5/6 = 0.634921 (5+ leaves after)
    #   t=7 : at risk 4           -> S = 0.634921 * 3/4 = 0.476190  <= 0.5: median = 7
    #   t=9 : at risk 2           -> S = 0.238095;  t=10: at risk 1 -> S = 0.
    # Greenwood sums  sum d/(n(n-d)):  t=2: 1/72 = 0.013889;  t=7: 1/72+1/42+1/30+1/12 = 0.154365.
    # log-log limits S^exp(+-z*sqrt(V)/|ln S|), z = 1.959964:
    #   t=2: sigma = 0.117851/0.117783 = 1.000578, lower = (8/9)^exp(1.961097) = (8/9)^7.107120
    #        = 0.432965 <= 0.5 -> the median's lower limit is 2.
    #   t=7: sigma = 0.392893/0.741937 = 0.529550, lower = 0.476190^2.823281 = 0.123107.
    #   t=9: V = 0.654365, sigma = 0.808928/1.435085 = 0.563680,
    #        upper = 0.238095^exp(-1.104792) = 0.238095^0.331280 = 0.621627 > 0.5; at t=10 S = 0 and the band is
    #        undefined, so the upper band never reaches 0.5: the upper limit is not reached (NaN).
    t = np.array([2, 3, 4, 5, 5, 7, 8, 9, 10.0])
    e = np.array([1, 0, 1, 1, 0, 1, 0, 1, 1], dtype=bool)
    km = kaplan_meier(t, e)
    np.testing.assert_allclose(km.survival, [8 / 9, 0.761905, 0.634921, 0.476190, 0.238095, 0.0], atol=1e-6)
    np.testing.assert_array_equal(km.n_at_risk, [9, 7, 6, 4, 2, 1])
    assert km.lower[0] == pytest.approx(0.432965, abs=1e-6)
    assert km.lower[3] == pytest.approx(0.123107, abs=1e-6)
    assert km.upper[4] == pytest.approx(0.621627, abs=1e-6)
    med, lo, hi = km.median()
    assert med == 7.0 and lo == 2.0 and math.isnan(hi)
    # log transform (R's default): lower at t=2 is S*exp(-z*se) = 0.888889*exp(-0.230984)
    #   = 0.888889*0.793752 = 0.705558.
    assert kaplan_meier(t, e, conf_type="log").lower[0] == pytest.approx(0.705558, abs=1e-6)
    # Survival at a time between events, and beyond follow-up.
    s, _, _ = km.survival_at([0.0, 4.5, 10.0, 11.0])
    np.testing.assert_allclose(s, [1.0, 0.761905, 0.0, np.nan], atol=1e-6)


def test_km_median_of_a_flat_at_one_half_and_its_limits():
    # 10 uncensored times 1..10: S(5) = 0.5 exactly until t = 6 -> median = (5 + 6)/2 = 5.5.
    # Greenwood telescopes: sum_{n=m}^{10} 1/(n(n-1)) = 1/(m-1) - 1/10.
    #   lower band at t=1: S = 0.9, V = 1/9 - 1/10 = 0.011111, sigma = 0.105409/0.105361 = 1.000463,
    #     lower = 0.9^exp(1.960871) = 0.9^7.105511 = 0.473009 <= 0.5 -> lower limit 1.
    #   upper band at t=7: S = 0.3, V = 1/3 - 1/10 = 0.233333, sigma = 0.483046/1.203973 = 0.401210,
    #     upper = 0.3^exp(-0.786356) = 0.3^0.455501 = 0.577867 > 0.5;
    #   at t=8: S = 0.2, V = 0.4, sigma = 0.632456/1.609438 = 0.392967,
    #     upper = 0.2^exp(-0.770203) = 0.2^0.462920 = 0.474715 <= 0.5 -> upper limit 8.
    t = np.arange(1, 11, dtype=float)
    km = kaplan_meier(t, np.ones(10, dtype=bool))
    assert km.lower[0] == pytest.approx(0.473009, abs=1e-6)
    assert km.upper[6] == pytest.approx(0.577867, abs=1e-6)
    assert km.upper[7] == pytest.approx(0.474715, abs=1e-6)
    assert km.median() == (5.5, 1.0, 8.0)
    assert km.median()[0] == np.median(t)


def test_km_band_matches_scipy_ecdf_log_log():
    rng = np.random.default_rng(11)
    t = np.round(rng.exponential(10, 80), 1)
    e = rng.uniform(size=80) < 0.7
    km = kaplan_meier(t, e)
    ref = stats.ecdf(stats.CensoredData(uncensored=t[e], right=t[~e]))
    np.testing.assert_allclose(km.survival, ref.sf.evaluate(km.time), rtol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "undefined at some observations" (S = 0)
        band = ref.sf.confidence_interval(0.95, method="log-log")
    ok = km.survival > 0
    np.testing.assert_allclose(km.lower[ok], band.low.evaluate(km.time)[ok], rtol=1e-9)
    np.testing.assert_allclose(km.upper[ok], band.high.evaluate(km.time)[ok], rtol=1e-9)


def test_km_bad_input():
    with pytest.raises(InputError, match="time: must be finite and >= 0"):
        kaplan_meier([1.0, -2.0], [True, True])
    with pytest.raises(InputError, match="conf_type"):
        kaplan_meier([1.0, 2.0], [True, True], conf_type="plain")


# ------------------------------------------------------------------------------ summary & noise


def test_trial_endpoints_summary():
    sld = np.array(
        [
            [100.0, 60.0, 50.0, 45.0, 70.0],  # PR confirmed day 56, PD day 224 -> DoR 168 d
            [100.0, 60.0, 50.0, 45.0, 40.0],  # PR confirmed, censored at 224 -> DoR 168 d (censored)
            [100.0, 130.0, np.nan, np.nan, np.nan],  # PD day 56
            [100.0, 95.0, 125.0, np.nan, np.nan],  # SD day 56, PD day 112
        ]
    )
    res = assess_recist(sld, [0, 56, 112, 168, 224])
    out = trial_endpoints(res)
    assert out["n_patients"] == 4 and out["n_pr"] == 2 and out["n_pd"] == 1 and out["n_sd"] == 1
    assert out["orr"] == 0.5 and out["dcr"] == 0.75 and out["n_responders"] == 2
    # PFS: events at 56, 112, 224 and one censored at 224:
    #   t=56: S = 3/4;  t=112: S = 3/4 * 2/3 = 1/2, flat at exactly 0.5 until the next event at
    #   t=224 -> median = (112 + 224)/2 = 168 d.
    assert out["median_pfs_months"] == pytest.approx(168 / DAYS_PER_MONTH)
    # DoR: one event at 168 d and one censoring at 168 d -> S = 1/2 flat to the end of follow-up
    #   (168 d) -> median = (168 + 168)/2 = 168 d.
    assert out["median_dor_months"] == pytest.approx(168 / DAYS_PER_MONTH)
    # 6 months = 182.6 d is beyond the longest follow-up (168 d): not estimable.
    assert math.isnan(out["responding_at_6_months"])
    assert out["pfs_at_6_months"] == pytest.approx(0.5)  # 182.6 d lies in the flat from 112 to 224 d
    early = trial_endpoints(res, landmarks_months=(3.0,))
    assert early["responding_at_3_months"] == 1.0 and early["pfs_at_3_months"] == 0.75  # 91.3 d: after t=56
    assert DAYS_PER_MONTH == 30.4375


def test_measurement_noise():
    rng = np.random.default_rng(5)
    sld = np.full((400, 500), 50.0)
    obs = add_measurement_noise(sld, 0.1, 2.0, rng)
    # Var = (0.1*50)^2 + 2^2 = 29 -> SD 5.385; mean 50.  n = 200000: SE of the SD ~ 0.0085.
    assert obs.mean() == pytest.approx(50.0, abs=0.1)
    assert obs.std() == pytest.approx(math.sqrt(29.0), abs=0.05)
    assert np.array_equal(add_measurement_noise(sld[:2], 0.0, 0.0, 1), sld[:2])
    small = add_measurement_noise(np.array([0.5, np.nan]), 0.5, 5.0, 3)
    assert small[0] >= 0.0 and np.isnan(small[1])
    assert np.array_equal(add_measurement_noise(sld[:3], 0.1, 1.0, 42), add_measurement_noise(sld[:3], 0.1, 1.0, 42))
    with pytest.raises(InputError, match="cv"):
        add_measurement_noise(sld, -0.1, 1.0, rng)


@pytest.mark.parametrize(
    "sld, days, fragment",
    [
        ([[100.0, -1.0]], [0, 56], "sld: must be >= 0 mm"),
        ([[0.0, 10.0]], [0, 56], "baseline SLD (column 0) must be > 0 mm"),
        ([[100.0, 50.0]], [0, 0], "strictly increasing"),
        ([[100.0, 50.0]], [0, 56, 112], "times_days: last axis must match"),
    ],
)
def test_recist_bad_input(sld, days, fragment):
    with pytest.raises(InputError) as info:
        assess_recist(np.array(sld), np.array(days, dtype=float))
    assert fragment in str(info.value)
