"""The periodic-tail path on model scenarios: found from the block graph, checked against the full run.

The composed trial system (``model: tnbc_combination``) over 24 weeks with between-patient
variability: once the PK and network repeat from one day to the next, the tumour block runs alone,
driven by the network's proliferation signal over one recorded day (:mod:`pkpd.periodic`).  It
makes two controlled approximations (the fast part taken as periodic within a hundredth of the
tolerance of its orbit; the signal between table points by cubic Hermite interpolation) and
integrates the tumour alone at a hundredth of the run's rtol, so against a reference at rtol 1e-9
its error must be of the order of the run's rtol (1e-5), like the full integration's: bound 2e-5
of each variable's scale (measured 4e-7, against 7e-8 for the full integration).  The window
metrics at the end of the run (pre-dose troughs included) must agree with the full run's to the
same bound.
"""

from __future__ import annotations

import numpy as np
import pytest

from pkpd.model import compile_model, load_model_file
from pkpd.model_scenario import load_scenario_model
from pkpd.periodic import cascade_split
from pkpd.runner import run
from pkpd.scenario import load_scenario

SCENARIO = """
name: periodic-model
model: tnbc_combination
duration: 24 weeks
output_every: 24 h
population: {{size: 6, seed: 3, variability: {{neratinib.CL: 0.3, ruxolitinib.CL: 0.3, tumor.lambda0: 0.3}}}}
solver: {{method: {method}, rtol: {rtol}, atol: 1e-6, max_steps: 10000000{extra}}}
arms:
  - name: combination
    regimen:
      - {{cmt: neratinib.DEPOT, dose: 240 mg, every: 24 h}}
      - {{cmt: ruxolitinib.DEPOT, dose: 15 mg, every: 12 h{missed}}}
summary: {{variables: [tumor.volume, signaling.pSTAT3], window: last_interval}}
"""
VARIABLES = ("tumor.volume", "tumor.diameter", "signaling.pSTAT3", "neratinib.CENT", "CMIN_signaling.pSTAT3",
             "CMAX_signaling.pSTAT3", "AUC_tumor.volume")


def _run(method="radau5", rtol=1e-5, extra="", missed=""):
    return run(load_scenario(SCENARIO.format(method=method, rtol=rtol, extra=extra, missed=missed)))


@pytest.fixture(scope="module")
def reference():
    return _run(rtol=1e-9, extra=", periodic: false")


def _error(ds, ref, v):
    return float(np.nanmax(np.abs(ds[v].values - ref[v].values)) / np.nanmax(np.abs(ref[v].values)))


@pytest.mark.parametrize("method", ["radau5", "dopri5"])
def test_the_tumour_runs_alone_once_the_rest_repeats_and_is_as_accurate_as_the_full_run(reference, method):
    per, full = _run(method), _run(method, extra=", periodic: false")
    assert np.isfinite(per["periodic_from"].values).all()
    assert "periodic_from" not in full
    assert per.attrs["cascade"].startswith("periodic tail: tumor (5 states) alone")
    for v in VARIABLES:
        assert _error(per, reference, v) < 2e-5, v
        assert _error(full, reference, v) < 2e-5, v
    assert int(per.solver_steps.sum()) < int(full.solver_steps.sum()) / 2


def test_random_missed_doses_make_the_dosing_aperiodic(reference):
    ds = _run(missed=", missed: {probability: 0.1}")
    assert np.isnan(ds["periodic_from"].values).all()


def test_the_split_follows_the_blocks_of_a_swapped_composition_and_a_flat_model_has_none():
    _, _, swapped = load_scenario_model({"from": "tnbc_combination", "blocks": {"tumor": "gompertz_tumor.model"}},
                                        "examples")
    split = cascade_split(swapped)
    assert split.blocks == ("tumor",)
    assert [swapped.state_names[i] for i in split.slow] == ["tumor.V"]
    assert [swapped.state_names[i] for i in split.needed] == ["signaling.P"]
    assert cascade_split(compile_model(load_model_file("examples/indirect_response.model"))) is None
