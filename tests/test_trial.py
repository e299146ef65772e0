"""Virtual trial: between-patient variability (pkpd.variability) and RECIST endpoints of a run (pkpd.trial).

Endpoints are checked on hand-built lesion series whose RECIST outcome is written out in the
comments; the variability on its batch independence, its bounds and its documented numbers; the
calibration surrogate (scripts/calibrate_virtual_trial.py) against the full coupled runner.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from scipy import stats

import pkpd.runner as runner
import pkpd.variability as variability
from pkpd.analysis.response import CR, NE, PD, PR, SD, assess_recist
from pkpd.errors import InputError
from pkpd.scenario import load_scenario
from pkpd.system import PATHS, SYSTEM, parameter_matrix
from pkpd.trial import ENDPOINTS, PER_PATIENT, PER_SCAN, scan_times, sld_at_scans, trial_endpoints_dataset
from pkpd.variability import DISTRIBUTIONS, apply_variability, sample_tumor_parameters

ROOT = Path(__file__).resolve().parents[1]
WEEK = 168.0
_PARAMS = "patient_parameters" if hasattr(runner, "patient_parameters") else "_patient_parameters"


# ----------------------------------------------------------------------------------- variability

def test_factors_do_not_depend_on_batching():
    whole = sample_tumor_parameters(9, seed=3)
    parts = [sample_tumor_parameters(4, 3, start=0), sample_tumor_parameters(2, 3, start=4),
             sample_tumor_parameters(3, 3, start=6)]
    for path in whole:
        assert np.array_equal(whole[path], np.concatenate([p[path] for p in parts]))  # bitwise
    # a parameter's draws do not depend on which other parameters are drawn
    alone = sample_tumor_parameters(9, 3, distributions=DISTRIBUTIONS[1:2])
    assert np.array_equal(alone[DISTRIBUTIONS[1].path], whole[DISTRIBUTIONS[1].path])


def test_apply_variability_blocks_equal_whole_and_typical_unchanged():
    P = parameter_matrix(7)
    whole = apply_variability(P.copy(), 5)
    blocks = np.vstack([apply_variability(P[:3].copy(), 5, start=0), apply_variability(P[3:].copy(), 5, start=3)])
    assert np.array_equal(whole, blocks)
    assert np.array_equal(apply_variability(P.copy(), 5, variability=False), P)
    changed = {i for i in range(P.shape[1]) if not np.array_equal(whole[:, i], P[:, i])}
    assert changed == {PATHS[d.path] for d in DISTRIBUTIONS}


def test_distributions_have_the_documented_median_cv_and_bounds():
    n = 4000
    f = sample_tumor_parameters(n, seed=11)
    for d in DISTRIBUTIONS:
        assert d.path in PATHS and d.source and d.description and d.role
        x = np.log(f[d.path])
        typical = SYSTEM.parameters[PATHS[d.path]].value
        # truncation barely moves the median when the bounds are far out (D0 >= 10 mm: 0.3% of the
        # mass; f_R <= 1: < 1%); the SD test is only for untruncated distributions
        assert abs(np.median(x) - np.log(d.median_factor)) < 4 * d.omega / np.sqrt(n) * 1.25 + 0.02 * d.omega
        if d.lower is None and d.upper is None:
            assert abs(np.std(x) / d.omega - 1) < 0.05
        if d.lower is not None:
            assert np.all(typical * f[d.path] >= d.lower * (1 - 1e-12))
        if d.upper is not None:
            assert np.all(typical * f[d.path] <= d.upper * (1 + 1e-12))
    d0 = SYSTEM.parameters[PATHS["tumor.D0"]].value * f["tumor.D0"]
    assert d0.min() >= 10.0 and 25 < np.median(d0) < 35
    f_r = SYSTEM.parameters[PATHS["tumor.f_R"]].value * f["tumor.f_R"]
    assert f_r.max() <= 1.0 and f_r.min() > 0


def test_module_table_matches_the_numbers():
    doc = variability.__doc__
    for d in DISTRIBUTIONS:
        row = re.search(rf"``{re.escape(d.path)}``\s+x ([0-9.]+).*?\s(\d+)%", doc)
        assert row, d.path
        assert float(row.group(1)) == d.median_factor, d.path
        assert int(row.group(2)) == round(100 * d.cv), d.path


# ----------------------------------------------------------------------------------- endpoints

def _run_like(diam, t_h, arms=("a", "b"), sweep=None, seed=4):
    """A Dataset shaped like a run: tumor_diameter (arm, [sweep], patient, time)."""
    diam = np.asarray(diam, dtype=float)
    dims = ["arm"] + ([sweep[0]] if sweep else []) + ["patient", "time"]
    coords = {"arm": list(arms), "patient": np.arange(diam.shape[-2]),
              "time": ("time", np.asarray(t_h, float), {"units": "h"})}
    if sweep:
        coords[sweep[0]] = (sweep[0], np.asarray(sweep[1], float), {"units": "mg", "sweep_key": "x.dose"})
        coords[f"{sweep[0]}_label"] = (sweep[0], [f"{v:g} mg" for v in sweep[1]])
    ds = xr.Dataset({"tumor_diameter": (dims, diam, {"units": "mm"})}, coords=coords)
    ds.attrs["seed"] = seed
    return ds


# scans at 0, 8, 16, 24, 32 weeks; output every week
T = np.arange(0, 33) * WEEK
SCANS = scan_times(32 * WEEK)


def _series(values_at_scans):
    """A weekly diameter series passing through ``values_at_scans`` at the 8-weekly scans (linear between)."""
    return np.interp(T, SCANS, values_at_scans)


def test_recist_outcomes_and_endpoints_of_constructed_patients():
    pts = [
        [30, 20, 18, 17, 16],   # PR at wk 8 (-33%) confirmed at wk 16, never PD: responder, censored at wk 32
        [30, 40, 50, 60, 70],   # PD at wk 8 (+33%, +10 mm)
        [30, 31, 32, 33, 34],   # SD throughout
        [30, 20, 30, 40, 50],   # PR at wk 8, not confirmed (wk 16: +50% from nadir 20 -> PD); BOR SD (wk 8 >= 6 wk)
        [30, 4, 3, 2, 2],       # CR (< 5 mm) at wk 8 confirmed
        [30, 21, 19, 22, 30],   # PR wk 8 confirmed wk 16; wk 24 +3 mm (< 5 mm): no PD; PD at wk 32 (+11 mm)
    ]
    diam = np.array([[_series(p) for p in pts]] * 2)
    diam[1] *= 1.0  # arm b = arm a
    ds = _run_like(diam, T)
    e = trial_endpoints_dataset(ds, SCANS)
    a = e.sel(arm="a")
    assert a["best_response"].values.tolist() == [PR, PD, SD, SD, CR, PR]
    assert a["scan_response"].values[3].tolist() == [NE, PR, PD, PD, PD]
    np.testing.assert_allclose(a["best_pct_change"].values[[0, 1, 4]], [-100 * 14 / 30, 100 * 10 / 30, -100 * 28 / 30])
    np.testing.assert_allclose(a["response_start_days"].values[[0, 4, 5]], [56, 56, 56])
    np.testing.assert_allclose(a["dor_days"].values[[0, 5]], [224 - 56, 224 - 56])
    assert a["dor_event"].values[[0, 5]].tolist() == [False, True]
    np.testing.assert_allclose(a["pfs_days"].values, [224, 56, 224, 112, 224, 224])
    assert a["pfs_event"].values.tolist() == [False, True, False, True, False, True]
    # ORR 3/6 with the exact interval; DCR 5/6
    ci = stats.binomtest(3, 6).proportion_ci(method="exact")
    assert float(a["orr"]) == 0.5 and int(a["n_responders"]) == 3 and int(a["n_patients"]) == 6
    np.testing.assert_allclose([float(a["orr_low"]), float(a["orr_high"])], [ci.low, ci.high], rtol=1e-12)
    assert float(a["dcr"]) == pytest.approx(5 / 6)
    assert (int(a["n_cr"]), int(a["n_pr"]), int(a["n_sd"]), int(a["n_pd"]), int(a["n_ne"])) == (1, 2, 2, 1, 0)
    # PFS: events at 56 (1 of 6), 112 (1 of 5), 224 (1 of 4 at risk): S = 5/6, 4/6, 1/2 -> median 224 d
    assert float(a["median_pfs_months"]) == pytest.approx(224 / 30.4375)
    # DoR: one event among 3 responders -> median not reached
    assert np.isnan(float(a["median_dor_months"]))
    xr.testing.assert_equal(e.sel(arm="a").drop_vars("arm"), e.sel(arm="b").drop_vars("arm"))


def test_every_variable_has_units_and_long_name_and_the_expected_dims():
    diam = np.full((2, 3, T.size), 30.0)
    e = trial_endpoints_dataset(_run_like(diam, T), SCANS)
    for name, var in e.variables.items():
        if name in ("arm", "patient", "scan"):
            continue
        assert "units" in var.attrs and "long_name" in var.attrs, name
    for name in ENDPOINTS:
        assert e[name].dims == ("arm",), name
    for name in PER_PATIENT:
        assert e[name].dims == ("arm", "patient"), name
    for name in PER_SCAN:
        assert e[name].dims == ("arm", "patient", "scan"), name
    np.testing.assert_array_equal(e["scan_time"].values, SCANS)
    for name in ("orr", "orr_low", "orr_high", "dcr", "median_dor_months", "median_pfs_months"):
        assert name in e
    assert e["best_response"].attrs["flag_meanings"] == "NE CR PR SD PD"


def test_sweep_dimensions_and_labels_are_kept():
    rng = np.random.default_rng(0)
    diam = 30 * np.exp(rng.normal(0, 0.3, (2, 2, 5, 1)) * np.arange(T.size) / T.size)
    ds = _run_like(diam, T, sweep=("x_dose", [80, 240]))
    e = trial_endpoints_dataset(ds, SCANS)
    assert e["orr"].dims == ("arm", "x_dose") and e["best_response"].dims == ("arm", "x_dose", "patient")
    assert list(e["x_dose_label"].values) == ["80 mg", "240 mg"]
    one = trial_endpoints_dataset(ds.isel(x_dose=[1]), SCANS)
    xr.testing.assert_equal(one["best_response"], e["best_response"].isel(x_dose=[1]))


def test_scans_between_output_times_are_interpolated_and_outside_the_run_refused():
    t = np.array([0.0, 100.0, 200.0])
    d = np.array([[10.0, 20.0, 40.0]])
    np.testing.assert_allclose(sld_at_scans(t, d, [0, 50, 100, 150, 200]), [[10, 15, 20, 30, 40]])
    with pytest.raises(InputError, match="within the run"):
        sld_at_scans(t, d, [0, 250])
    with pytest.raises(InputError, match="increasing"):
        sld_at_scans(t, d, [0, 100, 100])


def test_measurement_noise_is_seeded_per_patient_and_independent_of_the_subset():
    diam = np.array([[_series([30, 25, 20, 18, 16]) for _ in range(6)]] * 2)
    ds = _run_like(diam, T)
    exact = trial_endpoints_dataset(ds, SCANS)
    assert np.array_equal(trial_endpoints_dataset(ds, SCANS, noise_cv=0.0)["scan_sld"], exact["scan_sld"])
    noisy = trial_endpoints_dataset(ds, SCANS, noise_cv=0.1)
    again = trial_endpoints_dataset(ds, SCANS, noise_cv=0.1)
    assert np.array_equal(noisy["scan_sld"].values, again["scan_sld"].values)
    assert not np.array_equal(noisy["scan_sld"].values, exact["scan_sld"].values)
    # patients 2..4 alone get the same measurements as in the whole population
    sub = trial_endpoints_dataset(ds.isel(patient=slice(2, 5)), SCANS, noise_cv=0.1)
    assert np.array_equal(sub["scan_sld"].values, noisy["scan_sld"].isel(patient=slice(2, 5)).values)
    # arms draw different errors; another seed other errors
    assert not np.array_equal(noisy["scan_sld"].values[0], noisy["scan_sld"].values[1])
    other = trial_endpoints_dataset(ds, SCANS, noise_cv=0.1, seed=5)
    assert not np.array_equal(other["scan_sld"].values, noisy["scan_sld"].values)
    rel = noisy["scan_sld"].values / exact["scan_sld"].values - 1
    assert 0.05 < rel.std() < 0.15
    with pytest.raises(InputError):
        trial_endpoints_dataset(ds, SCANS, noise_cv=-0.1)


def test_unconfirmed_option_counts_a_single_response():
    diam = np.array([[_series([30, 20, 30, 40, 50])]])  # PR at wk 8 only
    ds = _run_like(diam, T, arms=("a",))
    assert int(trial_endpoints_dataset(ds, SCANS)["best_response"][0, 0]) == SD
    assert int(trial_endpoints_dataset(ds, SCANS, confirm=False)["best_response"][0, 0]) == PR


# ----------------------------------------------------------------------------------- with the model

@pytest.fixture()
def with_variability(monkeypatch):
    """The runner with pkpd.variability applied (as the integration lines in the runner will do)."""
    original = getattr(runner, _PARAMS)
    probe = original(load_scenario(SMALL), {})
    if np.ptp(probe[:, PATHS["tumor.K_max"]]) == 0:  # not integrated yet: patch
        def patched(scenario, point):
            P = original(scenario, point)
            return apply_variability(P, scenario.population.seed, variability=scenario.population.variability)
        monkeypatch.setattr(runner, _PARAMS, patched)


SMALL = """
name: small-trial
duration: 16 weeks
output_every: 6 h
store: daily
scan_every: 8 weeks
population: {size: 4, seed: 1, variability: true}
solver: {method: radau5, rtol: 1e-4, atol: 1e-4, max_steps: 1000000}
arms:
  - name: control
  - name: combination
    regimen:
      - {drug: neratinib, dose: 240 mg, every: 24 h}
      - {drug: ruxolitinib, dose: 15 mg, every: 12 h}
"""


def test_run_with_variability_gives_patient_specific_tumours_and_endpoints(with_variability):
    s = load_scenario(SMALL)
    ds = runner.run(s)
    e = trial_endpoints_dataset(ds, s.scan_times_h())
    d0 = ds["tumor_diameter"].isel(time=0).values
    assert np.all(d0 >= 10.0) and np.unique(d0[0]).size == 4   # patients differ, paired across arms
    np.testing.assert_array_equal(d0[0], d0[1])
    np.testing.assert_allclose(e["scan_sld"].isel(scan=0).values, d0)
    ctl, combo = (e["scan_sld"].sel(arm=a).values for a in ("control", "combination"))
    assert np.all(combo[:, 1:] < ctl[:, 1:])                  # treatment slows every tumour
    assert np.all(e["best_response"].sel(arm="control").values >= SD)


def test_calibration_surrogate_matches_the_full_model(with_variability):
    spec = importlib.util.spec_from_file_location("calibrate_virtual_trial",
                                                  ROOT / "scripts" / "calibrate_virtual_trial.py")
    cal = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cal)
    n = 3
    P = cal.population(n, 1)
    # the population the script calibrates on is the one the runner simulates
    s = load_scenario(SMALL.replace("size: 4", f"size: {n}"))
    np.testing.assert_array_equal(getattr(runner, _PARAMS)(s, {}), P)
    ds = runner.run(s)
    sig = cal.simulate_signal(P, "combination")
    scan_h = s.scan_times_h()
    sur = cal.lesion_at_scans(sig, P, scan_h)
    full = sld_at_scans(ds["time"].values, ds["tumor_diameter"].sel(arm="combination").values, scan_h)
    np.testing.assert_allclose(sur, full, atol=0.05)
    assert np.array_equal(assess_recist(sur, scan_h / 24).best_response,
                          assess_recist(full, scan_h / 24).best_response)


def test_virtual_trial_scenario_is_the_trial():
    s = load_scenario(ROOT / "scenarios" / "virtual_trial.yaml")
    assert [a.name for a in s.arms] == ["control", "neratinib", "ruxolitinib", "combination"]
    doses = {a.name: sorted((r.drug, r.steps[0].dose_mg, r.interval_h) for r in a.regimens) for a in s.arms}
    assert doses["combination"] == [("neratinib", 240.0, 24.0), ("ruxolitinib", 15.0, 12.0)]
    assert s.duration_h == pytest.approx(18 * 30.4375 * 24)
    assert s.scan_every_h == 8 * WEEK and s.population.variability and s.population.seed == 1
    np.testing.assert_allclose(np.diff(s.scan_times_h()), 8 * WEEK)


def test_a_failed_simulation_is_not_evaluable_and_counts_in_n():
    diam = np.array([[_series([30, 20, 18, 17, 16])] * 2])
    diam[0, 1] = np.nan                                      # patient 1's integration failed
    for cv in (0.0, 0.1):
        e = trial_endpoints_dataset(_run_like(diam, T, arms=("a",)), SCANS, noise_cv=cv)
        assert e["best_response"].values.tolist() == [[PR, NE]]
        assert float(e["orr"][0]) == 0.5 and int(e["n_ne"][0]) == 1


# ----------------------------------------------------------------------------------- scenario recist key

def test_scenario_recist_noise_changes_responses_reproducibly_with_the_seed():
    """60 lesions at -31% (a PR 1 point past the -30% line, confirmed): without noise all are PR; 10% scan
    noise (the scenario's recist key) turns some into SD, the same ones for the same seed, others for another."""
    diam = np.array([[_series([30, 20.7, 20.7, 20.7, 20.7])] * 60])
    ds = _run_like(diam, T, arms=("a",))
    opts = load_scenario("name: r\nduration: 32 weeks\narms: [{name: a}]\n"
                         "recist: {noise_cv: 0.1, noise_sd_mm: 0.5 mm}\n").recist.options()
    exact = trial_endpoints_dataset(ds, SCANS, seed=1)
    assert np.all(exact["best_response"].values == PR)
    noisy = trial_endpoints_dataset(ds, SCANS, seed=1, **opts)
    again = trial_endpoints_dataset(ds, SCANS, seed=1, **opts)
    other = trial_endpoints_dataset(ds, SCANS, seed=2, **opts)
    b1, b2 = noisy["best_response"].values, other["best_response"].values
    assert np.array_equal(b1, again["best_response"].values)          # bitwise reproducible
    assert 0 < np.count_nonzero(b1 != PR) < 60 and not np.array_equal(b1, b2)
    assert noisy.attrs["recist_noise_cv"] == 0.1 and noisy.attrs["recist_noise_sd_mm"] == 0.5


def test_runner_passes_the_scenario_recist_options(with_variability):
    text = SMALL.replace("store: daily", "store: scans")
    plain = runner.run(load_scenario(text))
    assert plain.attrs["recist_noise_cv"] == 0.0 and plain.attrs["recist_cr_threshold_mm"] == 5.0
    text = text + "recist: {confirm: false, noise_cv: 0.2, noise_sd_mm: 1 mm, cr_threshold_mm: 4 mm}\n"
    noisy, again = runner.run(load_scenario(text)), runner.run(load_scenario(text))
    assert (noisy.attrs["recist_confirm"], noisy.attrs["recist_noise_cv"], noisy.attrs["recist_noise_sd_mm"],
            noisy.attrs["recist_cr_threshold_mm"]) == (0, 0.2, 1.0, 4.0)
    # the model's lesions are untouched; the scans read from them are noisy, the same in both runs
    np.testing.assert_array_equal(noisy["tumor_diameter"].values, plain["tumor_diameter"].values)
    assert not np.array_equal(noisy["scan_sld"].values, plain["scan_sld"].values)
    np.testing.assert_array_equal(noisy["scan_sld"].values, again["scan_sld"].values)
