"""Comparisons and virtual-trial endpoints in a model scenario: added control and monotherapy arms,
inhibition of named outputs, Bliss and HSA excess of combinations; RECIST 1.1 of a tumour output.

The independent check: the trial system written as a composition of blocks
(``model: tnbc_combination``) and run through the model path must give the inhibitions and
synergy that the trial system's own runner (hand-written layout, its own metrics code) gives
for the same regimens.  Both average over the last 7 days on a 0.05 h grid (the trial runner's
fine grid; the model scenario's output grid) with radau5 at rtol 1e-9, so they differ by the
solver error only: a bound of 1e-8 on quantities of order 0.01-0.3 (measured: 4e-12).

The trial endpoints are checked the same way over 24 weeks (scans every 8 weeks, 10 % measurement
noise, the same per-patient noise streams in both): both runners integrate the tumour alone once
the PK and network repeat (the periodic path, found on the model path from the composition's block
graph), at rtol 1e-6, so lesion sizes at the scans may differ by the solver error where a discrete
decision (a period of convergence) differs (bound 1e-4 mm on ~30 mm; measured 6e-14 mm, the same
decisions) and every RECIST category, ORR and PFS time must be the same.
"""

from __future__ import annotations

import numpy as np
import pytest

from pkpd.errors import ScenarioError
from pkpd.model_group import summary_records
from pkpd.runner import plan, run
from pkpd.metrics import TRIAL_ENDPOINTS
from pkpd.scenario import load_scenario

COMMON = """
duration: 14 d
output_every: 0.05 h
solver: {method: radau5, rtol: 1e-9, atol: 1e-12}
"""
MODEL = "name: m\nmodel: tnbc_combination\n" + COMMON + """
arms:
  - name: combination
    regimen: [{cmt: neratinib.DEPOT, dose: 240 mg, every: 24 h}, {cmt: ruxolitinib.DEPOT, dose: 15 mg, every: 12 h}]
comparisons: {outputs: [signaling.pSTAT3, signaling.P]}
"""
TRIAL = "name: t\n" + COMMON + """
arms:
  - name: combination
    regimen: [{drug: neratinib, dose: 240 mg, every: 24 h}, {drug: ruxolitinib, dose: 15 mg, every: 12 h}]
"""
BOUND = 1e-8


@pytest.fixture(scope="module")
def both():
    return run(load_scenario(TRIAL)), run(load_scenario(MODEL))


def test_the_comparison_arms_are_added(both):
    _, ds = both
    assert list(ds["arm"].values) == ["combination", "control", "neratinib.DEPOT as in combination",
                                      "ruxolitinib.DEPOT as in combination"]
    assert ds.attrs["control_arm"] == "control"
    assert ds.attrs["added_arms"] == "control, neratinib.DEPOT as in combination, ruxolitinib.DEPOT as in combination"
    assert ds.attrs["comparison_window"] == "168 h to 336 h"
    sc = load_scenario(MODEL)
    assert plan(sc).counterparts == {"combination": {"neratinib.DEPOT": "neratinib.DEPOT as in combination",
                                                     "ruxolitinib.DEPOT": "ruxolitinib.DEPOT as in combination"}}


@pytest.mark.parametrize("trial_name, model_name", [
    ("pSTAT3_inhibition", "inhibition_signaling.pSTAT3"),
    ("proliferation_inhibition", "inhibition_signaling.P"),
    ("bliss_excess_pSTAT3", "bliss_excess_signaling.pSTAT3"),
    ("bliss_excess", "bliss_excess_signaling.P"),
    ("hsa_excess_pSTAT3", "hsa_excess_signaling.pSTAT3"),
    ("hsa_excess", "hsa_excess_signaling.P"),
])
def test_the_composed_trial_system_gives_the_trial_runners_comparisons(both, trial_name, model_name):
    trial, model = both
    a = trial[trial_name].sel(stat="median").values
    b = model[model_name].isel(patient=0).values
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    assert np.nanmax(np.abs(a - b)) < BOUND
    assert model[model_name].attrs["units"] == "1"


def test_summary_records_carry_the_comparisons(both):
    _, ds = both
    rec = {r["arm"]: r for r in summary_records(ds)}
    combo = rec["combination"]
    assert combo["bliss_excess_signaling.P [1]"] == pytest.approx(float(ds["bliss_excess_signaling.P"][0, 0]))
    assert rec["control"]["inhibition_signaling.P [1]"] == 0.0
    assert rec["control"]["bliss_excess_signaling.P [1]"] is None


@pytest.mark.parametrize("comparisons, message", [
    ("{outputs: []}", "comparisons.outputs: is required: a list of outputs"),
    ("{outputs: [pSTAT3]}", "comparisons.outputs[0]: unknown variable pSTAT3; the model's states and outputs"),
    ("{outputs: [signaling.P], window: [10 d, 30 d]}", "comparisons.window[1]: must be <= duration (336 h)"),
    ("{outputs: [signaling.P], window: [10 d, 5 d]}", "comparisons.window[1]: must be later than the start"),
    ("{outputs: [signaling.P], readouts: [x]}", "comparisons.readouts: unknown key; valid keys: outputs, window"),
])
def test_bad_comparisons_are_one_line_errors(comparisons, message):
    text = MODEL.replace("comparisons: {outputs: [signaling.pSTAT3, signaling.P]}", f"comparisons: {comparisons}")
    with pytest.raises(ScenarioError) as err:
        load_scenario(text)
    assert str(err.value).startswith(message), str(err.value)


LONG = """
duration: 24 weeks
output_every: 24 h
solver: {method: radau5, rtol: 1e-6, atol: 1e-9, max_steps: 1000000}
arms:
  - name: control
  - name: combination
    regimen: [{drug: neratinib, dose: 240 mg, every: 24 h}, {drug: ruxolitinib, dose: 15 mg, every: 12 h}]
"""


def test_the_composed_trial_system_gives_the_trial_runners_recist_endpoints(tmp_path):
    trial = run(load_scenario("name: t\npopulation: {size: 6, seed: 3, variability: false}\nrecist: {noise_cv: 0.1}"
                              + LONG))
    model_text = ("name: m\nmodel: tnbc_combination\npopulation: {size: 6, seed: 3}\n"
                  "trial: {tumor: tumor.diameter, recist: {noise_cv: 0.1}}" + LONG)
    model = run(load_scenario(model_text.replace("drug: neratinib", "cmt: neratinib.DEPOT")
                              .replace("drug: ruxolitinib", "cmt: ruxolitinib.DEPOT")))
    assert list(model["arm"].values) == ["control", "combination"] and model.sizes["scan"] == 4
    t = trial.isel(arm=[0, 1])
    assert float(np.max(np.abs(t["scan_sld"].values - model["scan_sld"].values))) < 1e-4
    for k in ("best_response", "scan_response", "pfs_event", "dor_event"):
        np.testing.assert_array_equal(t[k].values, model[k].values, err_msg=k)
    for k in ("pfs_days", *TRIAL_ENDPOINTS):
        np.testing.assert_array_equal(t[k].values, model[k].values, err_msg=k)
    assert model.attrs["recist_noise_cv"] == 0.1
    from pkpd.model_plots import standard_set

    written = standard_set(model, tmp_path)
    assert [p.name for p in written] == ["profiles.png", "waterfall.png", "swimmer.png", "spider.png", "km.png",
                                         "orr.png"]
    rec = {r["arm"]: r for r in summary_records(model)}
    assert rec["combination"]["ORR [1]"] == float(model["orr"].sel(arm="combination"))
    assert rec["control"]["DCR [1]"] == float(model["dcr"].sel(arm="control"))


@pytest.mark.parametrize("trial, message", [
    ("{scan_every: 8 weeks}", "trial.tumor: is required: the state or output (in mm) that RECIST reads"),
    ("{tumor: tumor.volume}", "trial.tumor: must be in mm (a lesion diameter), but tumor.volume is in mm^3"),
    ("{tumor: tumor.diameter, recist: {noise_cv: 0.9}}", "trial.recist.noise_cv: must be in [0, 0.5]"),
    ("{tumor: tumor.diameter, scans: 3}", "trial.scans: unknown key; valid keys: tumor, scan_every, recist"),
])
def test_bad_trial_keys_are_one_line_errors(trial, message):
    text = MODEL.replace("comparisons: {outputs: [signaling.pSTAT3, signaling.P]}", f"trial: {trial}")
    with pytest.raises(ScenarioError) as err:
        load_scenario(text)
    assert str(err.value).startswith(message), str(err.value)
