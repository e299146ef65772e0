"""A model written in the language, run from the CLI (``model: irm.model``), against an independent reference.

The reference is scipy's Radau at rtol 1e-10 on the same equations written by hand here,
with the doses given by hand (bioavailability F1 and lag ALAG of each patient, NONMEM
semantics: the dose amount F1*AMT enters DEPOT at t + ALAG).  pkpd runs dopri5 at rtol
1e-8 / atol 1e-10, so 1e-6 relative (plus 1e-9 absolute) is a few times its global error.
"""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.integrate import solve_ivp

from pkpd.cli import main
from pkpd.io import read_dataset

from test_model_language import IRM

SCENARIO = """\
name: irm-language
model: irm.model
duration: 5 d
output_every: 1 h
parameters: {IC50: 0.05 mg/L}
population: {size: 6, seed: 3, variability: {CL: 0.3, kin: 0.2, F1: 0.2, ALAG: 0.5}}
solver: {method: dopri5, rtol: 1e-8, atol: 1e-10}
arms:
  - name: placebo
  - name: 100 mg QD
    regimen: [{cmt: DEPOT, dose: 100 mg, every: 24 h}]
summary: {variables: [CP, RESP], window: last_interval}
"""


def _reference(p: dict, times: np.ndarray, dose_mg: float, every_h: float) -> np.ndarray:
    """States (n_times, 3) by Radau at rtol 1e-10, integrating from dose to dose."""
    def f(t, y):
        C = y[1] / p["V"]
        INH = p["Imax"] * C ** p["gam"] / (p["IC50"] ** p["gam"] + C ** p["gam"])
        return [-p["KA"] * y[0], p["KA"] * y[0] - p["CL"] / p["V"] * y[1],
                p["kin"] * (1 - INH) - p["kout"] * y[2]]

    doses = np.arange(0.0, times[-1] + 1e-9, every_h) + p["ALAG"]
    edges = np.unique(np.r_[0.0, doses[doses < times[-1]], times[-1]])
    y = np.array([0.0, 0.0, p["kin"] / p["kout"]])
    out = np.empty((times.size, 3))
    for a, b in zip(edges[:-1], edges[1:]):
        if np.any(np.isclose(a, doses)):
            y = y + [p["F1"] * dose_mg, 0.0, 0.0]
        inside = (times >= a) & (times < b) if b < times[-1] else (times >= a)
        sol = solve_ivp(f, (a, b), y, method="Radau", rtol=1e-10, atol=1e-12, dense_output=True)
        out[inside] = sol.sol(times[inside]).T
        y = sol.y[:, -1]
    return out


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    d = tmp_path_factory.mktemp("irm")
    (d / "irm.model").write_text(IRM.replace("R     [1]  = kin/kout", "R     [1]  = steady_state"))
    (d / "irm.yaml").write_text(SCENARIO)
    r = CliRunner().invoke(main, ["run", str(d / "irm.yaml"), "-o", str(d / "irm.nc")])
    assert r.exit_code == 0, r.output
    return read_dataset(d / "irm.nc")


def test_steady_state_baseline_is_per_patient(result):
    placebo = result.sel(arm="placebo")
    np.testing.assert_allclose(placebo.RESP.values, 1.0, rtol=1e-12)      # at rest, drug-free
    kin = placebo.param_kin.values
    np.testing.assert_allclose(placebo.R.isel(time=0).values, kin / placebo.param_kout.values, rtol=1e-13)
    assert np.unique(kin).size == kin.size                                  # kin varies between patients


def test_treated_patients_match_an_independent_solution(result):
    arm = result.sel(arm="100 mg QD")
    t = arm.time.values
    names = ["CL", "V", "KA", "kin", "kout", "IC50", "Imax", "gam", "F1", "ALAG"]
    for i in range(arm.sizes["patient"]):
        p = {n: float(arm[f"param_{n}"].isel(patient=i)) for n in names}
        ref = _reference(p, t, 100.0, 24.0)
        got = np.stack([arm[s].isel(patient=i).values for s in ("DEPOT", "CENT", "R")], axis=-1)
        np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-9)
    lags = arm.param_ALAG.values
    assert np.unique(lags).size == lags.size        # the lag time varies: per-patient dose tables


def test_unknown_symbol_in_a_model_file_is_one_line_exit_2(tmp_path):
    (tmp_path / "irm.model").write_text(IRM.replace("- kout*R", "- kot*R"))
    (tmp_path / "irm.yaml").write_text(SCENARIO)
    r = CliRunner().invoke(main, ["run", str(tmp_path / "irm.yaml"), "-o", str(tmp_path / "out.nc")])
    assert r.exit_code == 2
    msg = r.stderr.strip()
    assert len(msg.splitlines()) == 1 and "irm.model:" in msg and "'kot'" in msg and "Traceback" not in msg
    assert not (tmp_path / "out.nc").exists()


def test_stiff_tmdd_example_matches_an_independent_solution(tmp_path):
    """examples/tmdd.model with radau5 against scipy Radau at rtol 1e-10 (binding ~1e3 /h vs kel 0.01 /h).

    pkpd at rtol 1e-8 / atol 1e-10: 1e-5 relative (plus 1e-8 nM absolute) bounds its global
    error over 4 weeks with two doses.
    """
    from pathlib import Path

    examples = Path(__file__).resolve().parents[1] / "examples"
    (tmp_path / "tmdd.yaml").write_text(f"""\
name: tmdd-check
model: {examples / 'tmdd.model'}
duration: 4 weeks
output_every: 6 h
population: {{size: 2, seed: 1, variability: {{kel: 0.3, ksyn: 0.3}}}}
solver: {{method: radau5, rtol: 1e-8, atol: 1e-10}}
arms:
  - name: 3 umol Q2W
    regimen: [{{cmt: A, dose: 3 umol, every: 2 weeks}}]
""")
    r = CliRunner().invoke(main, ["run", str(tmp_path / "tmdd.yaml"), "-o", str(tmp_path / "tmdd.nc")])
    assert r.exit_code == 0, r.output
    ds = read_dataset(tmp_path / "tmdd.nc").isel(arm=0)
    t = ds.time.values
    for i in range(2):
        q = {n: float(ds[f"param_{n}"].isel(patient=i)) for n in ("V", "kel", "kon", "koff", "kint", "ksyn", "kdeg")}

        def f(_, y):
            C = y[0] / q["V"]
            binding = q["kon"] * C * y[1] - q["koff"] * y[2]
            return [-q["kel"] * y[0] - binding * q["V"], q["ksyn"] - q["kdeg"] * y[1] - binding,
                    binding - q["kint"] * y[2]]

        y = np.array([0.0, q["ksyn"] / q["kdeg"], 0.0])
        ref = np.empty((t.size, 3))
        for a, b in ((0.0, 336.0), (336.0, t[-1])):
            y = y + [3000.0, 0.0, 0.0]               # 3 umol = 3000 nmol into A
            inside = (t >= a) & ((t < b) if b < t[-1] else (t <= b))
            sol = solve_ivp(f, (a, b), y, method="Radau", rtol=1e-10, atol=1e-12, dense_output=True)
            ref[inside] = sol.sol(t[inside]).T
            y = sol.y[:, -1]
        got = np.stack([ds[s].isel(patient=i).values for s in ("A", "R", "RL")], axis=-1)
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-8)
