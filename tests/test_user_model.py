"""User-supplied models: loading a model file, scenarios of any model through the one runner, and the CLI.

References are independent of pkpd's solver and event code: scipy ``solve_ivp`` (LSODA,
rtol 1e-10, atol 1e-12) restarted at every dose with a plain-numpy right-hand side written
here, and the closed-form superposition of one-compartment boluses.  pkpd runs at rtol 1e-8,
atol 1e-10; errors are measured in units of that tolerance, ``|y - ref| / (atol + rtol |ref|)``,
and allowed up to 50: an adaptive method controls the local error per step, and the global
error over a run with ~20 dose restarts is a modest multiple of it (tests/test_system.py uses
the same bound).
"""

from __future__ import annotations

import math
from pathlib import Path

import numba
import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from scipy.integrate import solve_ivp

from pkpd import model_group
from pkpd.cli import main
from pkpd.errors import InputError, ScenarioError
from pkpd.io import read_dataset
from pkpd.model_group import patient_parameters, summary_records
from pkpd.models import ModelSpec
from pkpd.runner import run
from pkpd.scenario import load_scenario
from pkpd.usermodel import load_model

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "indirect_response.py"
EXAMPLE_SCENARIO = ROOT / "examples" / "user_model.yaml"
RTOL, ATOL = 1e-8, 1e-10
MAX_TOL_UNITS = 50.0

# A small valid model file; the bad-model cases below change one thing in it.
GOOD = '''\
from numba import njit
from pkpd.models import ModelSpec, Parameter, State

@njit
def rhs(t, y, p, dydt):
    dydt[0] = -p[0] * y[0]

ONE = ModelSpec("one", (State("A", "mg", "amount"),), (Parameter("K", 0.1, "1/h", "rate", "assumed"),), rhs)
'''


def write(tmp_path: Path, text: str, name: str = "m.py") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def run_in_chunks(sc, chunk: int):
    """``run(sc)`` with ``chunk`` patients per call of the compiled driver."""
    saved = model_group.PATIENT_CHUNK
    model_group.PATIENT_CHUNK = chunk
    try:
        return run(sc)
    finally:
        model_group.PATIENT_CHUNK = saved


def error_in_tolerance_units(y, ref) -> float:
    return float(np.max(np.abs(y - ref) / (ATOL + RTOL * np.abs(ref))))


# ----------------------------------------------------------------------------- loading


def test_load_example_and_builtin_models():
    spec = load_model("examples/indirect_response.py:INDIRECT_RESPONSE", base_dir=ROOT)
    assert isinstance(spec, ModelSpec) and spec.state_names == ("DEPOT", "CENT", "RREL")
    assert load_model(f"{EXAMPLE}:INDIRECT_RESPONSE") is spec  # imported once, absolute path too
    assert load_model("pk1cmt_oral").state_names == ("DEPOT", "CENT")


@pytest.mark.parametrize("text, ref, message", [
    (None, "nowhere.py:M", "model: file 'nowhere.py' not found (looked for "),
    ("x = 1\ndef f(:\n", "m.py:M", "model: syntax error in {file}, line 2: "),
    ("import numpy\n\nraise RuntimeError('boom')\n", "m.py:M",
     "model: importing {file} failed, line 3: RuntimeError: boom"),
    ("import not_a_package_pkpd\n", "m.py:M", "model: importing {file} failed, line 1: ModuleNotFoundError"),
    (GOOD, "m.py:TWO", "model: m.py has no attribute 'TWO'; ModelSpecs in it: ONE"),
    (GOOD + "NUMBER = 3\n", "m.py:NUMBER", "model: m.py:NUMBER is a int, not a pkpd.models.ModelSpec"),
    (GOOD.replace("-p[0] * y[0]", "-p[0] * y.nonexistent"), "m.py:ONE",
     "model: the right-hand side in {file} does not compile as rhs(t, y, p, dydt) with t a float64 (h) and y, p, "
     "dydt C-contiguous float64 arrays (line 6: Unknown attribute 'nonexistent' of type array(float64, 1d, C))"),
    (GOOD.replace("dydt[0] = -p[0] * y[0]", "x = y[0]"), "m.py:ONE",
     "model: the right-hand side of m.py:ONE leaves dydt unwritten or not finite for A"),
    (GOOD, "m.py", "model: name the model inside the file: m.py:MODEL"),
    (None, "pk9cmt", "model: unknown model 'pk9cmt'; give a shipped model (pk1cmt, "),
    (None, "m.txt:M", "model: 'm.txt' is not a Python file (.py)"),
], ids=["missing-file", "syntax", "raises", "import", "no-attribute", "not-a-spec", "rhs-does-not-compile",
        "dydt-unwritten", "no-name", "unknown-builtin", "not-py"])
def test_bad_models_are_one_line_errors(tmp_path, text, ref, message):
    file = write(tmp_path, text) if text is not None else tmp_path / "m.py"
    with pytest.raises(InputError) as err:
        load_model(ref, base_dir=tmp_path)
    msg = str(err.value)
    assert msg.startswith(message.format(file=file.resolve())), msg
    assert "\n" not in msg


# ----------------------------------------------------------------------------- model scenarios


def scenario_text(**changes) -> str:
    """The example scenario, small: 3 patients, 5 days of dosing, hourly output."""
    d = yaml.safe_load(EXAMPLE_SCENARIO.read_text())
    d.update(duration="6 d", output_every="1 h", solver={"rtol": RTOL, "atol": ATOL})
    d["population"]["size"] = 3
    for arm in d["arms"]:
        arm["regimen"][0]["until"] = "5 d"
    d.update(changes)
    return yaml.safe_dump(d, sort_keys=False)


def test_example_scenario_is_valid_as_shipped():
    sc = load_scenario(EXAMPLE_SCENARIO)
    assert sc.model.name == "indirect_response" and sc.model_file == str(EXAMPLE)
    assert [a.name for a in sc.arms] == ["100 mg QD", "300 mg QD"] and sc.population.size == 200
    assert sc.parameters == {"IC50": 0.4} and sc.population.variability == {"CL": 0.3, "V": 0.2, "KOUT": 0.25}


def reference_indirect_response(p, dose_times, dose_mg, t_eval):
    """scipy LSODA (rtol 1e-10) of the example model, written here in numpy, restarted at every dose."""
    CL, V, KA, F1, IMAX, IC50, KOUT, R0 = p

    def fun(t, y):
        c = y[1] / V
        return [-KA * y[0], KA * y[0] - CL * c, KOUT * (1.0 - IMAX * c / (IC50 + c) - y[2])]

    y, t0 = np.array([0.0, 0.0, 1.0]), 0.0
    out = np.empty((t_eval.size, 3))
    for stop in list(dose_times) + [t_eval[-1] + 1.0]:
        if stop > t0:
            sol = solve_ivp(fun, (t0, stop), y, method="LSODA", rtol=1e-10, atol=1e-12, dense_output=True)
            assert sol.success
            inside = (t_eval >= t0) & (t_eval < stop)
            out[inside] = sol.sol(t_eval[inside]).T
            y, t0 = sol.y[:, -1].copy(), stop
        if stop in dose_times:
            y[0] += F1 * dose_mg
            out[t_eval == stop] = y  # an output at a dose time sees the dose
    return out


@pytest.fixture(scope="module")
def example_run():
    sc = load_scenario(scenario_text(), base_dir=EXAMPLE.parent)
    return sc, run(sc)


def test_model_scenario_run_matches_scipy_reference(example_run):
    sc, ds = example_run
    assert dict(ds.sizes) == {"arm": 2, "patient": 3, "time": 145, "bound": 2}
    t = ds["time"].values
    dose_times = list(np.arange(5) * 24.0)
    for k, dose in enumerate((100.0, 300.0)):
        for i in range(3):
            p = np.array([float(ds[f"param_{n}"][i]) for n in sc.model.parameter_names])
            ref = reference_indirect_response(p, dose_times, dose, t)
            y = np.stack([ds[s].values[k, i] for s in ("DEPOT", "CENT", "RREL")], axis=-1)
            assert error_in_tolerance_units(y, ref) < MAX_TOL_UNITS
            assert np.allclose(ds["CP"].values[k, i], ref[:, 1] / p[1], rtol=1e-6, atol=0)
            assert np.allclose(ds["R"].values[k, i], ref[:, 2] * p[7], rtol=1e-6, atol=0)


def test_dataset_is_labelled_and_records_provenance(example_run):
    sc, ds = example_run
    for name, var in ds.variables.items():
        if name not in ("arm", "patient", "bound"):
            assert var.attrs.get("units"), name
    assert ds["CP"].attrs["units"] == "mg/L" and ds["AUC_CP"].attrs["units"] == "mg/L*h"
    assert ds["AUC_R"].attrs["units"] == "U/L*h" and ds["RREL"].attrs["units"] == "1"
    assert ds.attrs["scenario"] == sc.text and ds.attrs["seed"] == 2026 and ds.attrs["pkpd_version"]
    assert "rtol=1e-08" in ds.attrs["solver"] and ds.attrs["model_file"] == str(EXAMPLE)
    # last complete dosing interval: doses at 0..96 h (until 5 d), so [96, 120] h
    assert ds["summary_window"].values.tolist() == [[96.0, 120.0], [96.0, 120.0]]
    rec = summary_records(ds)
    assert [r["arm"] for r in rec] == ["100 mg QD", "300 mg QD"] and rec[0]["n"] == 3
    assert rec[1]["CMAX_CP [mg/L]"] == pytest.approx(float(np.median(ds["CMAX_CP"].values[1])))


def test_summary_metrics_are_exact_for_an_iv_bolus_with_a_dose_at_the_window_end():
    """pk1cmt, 100 mg IV every 12 h for 30 h, output every 5 h (no output at the dose times 12 and 24 h).

    The last complete interval is [12, 24] h with a dose at 24 h: CMIN must be the pre-dose
    trough C(24-), CMAX the post-dose peak C(12+), and AUC the exact integral (the log-down
    rule is exact for a mono-exponential).  Closed form: C(t) = sum_j D/V exp(-k (t - t_j)).
    """
    sc = load_scenario("""
name: iv
model: pk1cmt
duration: 30 h
output_every: 5 h
parameters: {CL: 2 L/h, V: 10 L}
solver: {rtol: 1e-10, atol: 1e-12}
arms:
  - name: q12h
    regimen: [{cmt: CENT, dose: 100 mg, every: 12 h}]
summary: {window: last_interval}
""")
    ds = run(sc)
    k, c0 = 0.2, 10.0
    conc = lambda t, doses: sum(c0 * math.exp(-k * (t - d)) for d in doses if d <= t)  # noqa: E731
    assert ds["summary_window"].values[0].tolist() == [12.0, 24.0]
    assert float(ds["CMAX_CP"][0, 0]) == pytest.approx(conc(12.0, [0, 12]), rel=1e-8)
    assert float(ds["CMIN_CP"][0, 0]) == pytest.approx(conc(24.0, [0, 12]), rel=1e-8)
    assert float(ds["AUC_CP"][0, 0]) == pytest.approx(conc(12.0, [0, 12]) / k * (1 - math.exp(-12 * k)), rel=1e-8)
    t = ds["time"].values
    assert np.allclose(ds["CP"].values[0, 0], [conc(x, [0, 12, 24]) for x in t], rtol=1e-8)


def test_same_seed_is_identical_whatever_the_chunks_and_threads(example_run):
    sc, ds = example_run
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        again = run_in_chunks(sc, 1)
    finally:
        numba.set_num_threads(threads)
    for name in ds.data_vars:
        np.testing.assert_array_equal(again[name].values, ds[name].values, err_msg=name)
    other = run(load_scenario(scenario_text(population={"size": 3, "seed": 1, "variability":
                                                                             {"CL": 0.3}}), base_dir=EXAMPLE.parent))
    assert not np.array_equal(other["param_CL"].values, ds["param_CL"].values)


def test_log_normal_variability_per_patient_streams():
    sc = load_scenario(scenario_text(population={"size": 4000, "seed": 5, "variability": {"CL": 0.3}}),
                             base_dir=EXAMPLE.parent)
    P = patient_parameters(sc)
    # patients drawn in another block are the same patients
    np.testing.assert_array_equal(patient_parameters(sc, start=1000, n=10), P[1000:1010])
    eta = np.log(P[:, 0] / 5.0)
    omega = math.sqrt(math.log(1 + 0.3 ** 2))
    # 4000 draws: the standard error of the sample SD is omega / sqrt(2 n) ~ 1.1% of omega
    assert abs(eta.std() / omega - 1) < 0.05 and abs(eta.mean()) < 4 * omega / math.sqrt(4000)
    assert np.all(P[:, 1:] == P[0, 1:])  # parameters without variability stay typical


def test_per_patient_dose_modifiers_match_single_subject_simulations():
    """Variability of F1 gives each patient its own event table; each equals pkpd.simulate alone."""
    from pkpd.dosing import Dose
    from pkpd.simulate import simulate

    sc = load_scenario(scenario_text(population={"size": 3, "seed": 3, "variability": {"F1": 0.05}}),
                             base_dir=EXAMPLE.parent)
    ds = run(sc)
    t = ds["time"].values
    for i in range(3):
        params = {n: float(ds[f"param_{n}"][i]) for n in sc.model.parameter_names}
        one = simulate(sc.model, [Dose(24.0 * j, 300.0, 1) for j in range(5)], t, params=params,
                       solver=sc.solver)
        np.testing.assert_allclose(ds["CENT"].values[1, i], one["CENT"].values, rtol=1e-12, atol=1e-15)


def test_random_missed_doses_come_from_per_patient_streams():
    """missed: {probability}: each patient's doses from its own stream; trajectories equal pkpd.simulate alone."""
    from pkpd.dosing import Dose
    from pkpd.model_scenario import missed_stream
    from pkpd.population import patient_rng
    from pkpd.simulate import simulate

    arms = [{"name": "a", "regimen": [{"cmt": "DEPOT", "dose": "100 mg", "every": "12 h",
                                        "missed": {"probability": 0.3}}]}]
    sc = load_scenario(scenario_text(arms=arms, population={"size": 4, "seed": 9}), base_dir=EXAMPLE.parent)
    ds = run_in_chunks(sc, 3)
    t = ds["time"].values
    given = []
    for i in range(4):
        doses = sc.arms[0].regimens[0].to_doses(sc.duration_h, patient_rng(9, i, missed_stream(0)))
        given.append(len(doses))
        params = {n: float(ds[f"param_{n}"][i]) for n in sc.model.parameter_names}
        one = simulate(sc.model, [Dose(d.time, d.amt, d.cmt) for d in doses], t, params=params, solver=sc.solver)
        np.testing.assert_allclose(ds["CENT"].values[0, i], one["CENT"].values, rtol=1e-12, atol=1e-15)
    assert len(set(given)) > 1 and max(given) < 12  # 12 planned doses in 6 d; patients miss different ones
    np.testing.assert_array_equal(run_in_chunks(sc, 1)["CENT"].values, ds["CENT"].values)


def test_infusions_and_dose_units():
    """pk1cmt: 0.1 g (= 100 mg) infused over 2 h at 0 and 24 h; closed form of a one-compartment infusion."""
    sc = load_scenario("""
name: inf
model: pk1cmt
duration: 30 h
output_every: 0.5 h
parameters: {CL: 2 L/h, V: 10 L}
solver: {rtol: 1e-10, atol: 1e-12}
arms:
  - name: a
    regimen: [{cmt: 1, dose: 0.1 g, every: 24 h, infusion: 2 h}]
summary: {window: [24 h, 30 h]}
""")
    doses = sc.arms[0].regimens[0].to_doses(sc.duration_h)
    assert [(d.time, d.amt, d.rate) for d in doses] == [(0.0, 100.0, 50.0), (24.0, 100.0, 50.0)]
    assert sc.arms[0].regimens[0].describe() == "100 mg every 24 h from 0 h as 2 h infusions into CENT"
    ds = run(sc)
    k, rate, cl = 0.2, 50.0, 2.0

    def conc(t):
        c = 0.0
        for t0 in (0.0, 24.0):
            if t > t0:
                on = min(t - t0, 2.0)  # infusion running for `on` h, then decaying for t - t0 - on h
                c += rate / cl * (1 - math.exp(-k * on)) * math.exp(-k * (t - t0 - on))
        return c

    t = ds["time"].values
    np.testing.assert_allclose(ds["CP"].values[0, 0], [conc(x) for x in t], rtol=1e-8, atol=1e-12)
    assert float(ds["CMAX_CP"][0, 0]) == pytest.approx(conc(26.0), rel=1e-8)  # end of the second infusion


def test_variability_beyond_a_parameter_bound_is_an_error():
    sc = load_scenario(scenario_text(population={"size": 50, "seed": 0, "variability": {"F1": 0.5}}),
                             base_dir=EXAMPLE.parent)
    with pytest.raises(ScenarioError, match=r"^population\.variability\.F1: gives patient \d+ the value"):
        run(sc)


# ----------------------------------------------------------------------------- CLI


def cli_scenario(tmp_path: Path, **changes) -> Path:
    d = yaml.safe_load(scenario_text())
    d["model"] = f"{EXAMPLE}:INDIRECT_RESPONSE"
    d.update(changes)
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(d, sort_keys=False))
    return path


def test_cli_run_writes_the_dataset_and_prints_the_summary(tmp_path):
    sc = cli_scenario(tmp_path)
    out = tmp_path / "out.nc"
    r = CliRunner().invoke(main, ["run", str(sc), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "median over 3 patients" in r.stdout and "CMAX_CP [mg/L]" in r.stdout and "300 mg QD" in r.stdout
    ds = read_dataset(out)
    assert ds.attrs["scenario_kind"] == "model" and ds["CP"].dims == ("arm", "patient", "time")
    assert set(tmp_path.iterdir()) == {sc, out}  # no temporary file left
    r = CliRunner().invoke(main, ["summary", str(out), "--format", "csv"])
    assert r.exit_code == 0 and r.stdout.startswith("arm,n,window_h,CMAX_CP [mg/L]")
    again = tmp_path / "again.nc"
    r = CliRunner().invoke(main, ["run", "--from", str(out), "-o", str(again), "-q"])
    assert r.exit_code == 0, r.output
    np.testing.assert_array_equal(read_dataset(again)["R"].values, ds["R"].values)
    r = CliRunner().invoke(main, ["models", f"{EXAMPLE}:INDIRECT_RESPONSE"])
    assert r.exit_code == 0 and "* IC50" in r.stdout and "mg/L" in r.stdout
    r = CliRunner().invoke(main, ["validate", str(sc)])
    assert r.exit_code == 0 and "arm 100 mg QD: 100 mg every 24 h from 0 h, until 120 h into DEPOT" in r.stdout


ARM = {"name": "a", "regimen": [{"cmt": "DEPOT", "dose": "100 mg", "every": "24 h"}]}


@pytest.mark.parametrize("changes, message", [
    ({"arms": [ARM, {"name": "b", "regimen": [{"cmt": "DEPO", "dose": "1 mg", "every": "24 h"}]}]},
     "arms[1].regimen[0].cmt: unknown compartment 'DEPO'; the model's states are DEPOT, CENT, RREL"),
    ({"arms": [{"name": "a", "regimen": [{"cmt": 4, "dose": "1 mg", "every": "24 h"}]}]},
     "arms[0].regimen[0].cmt: must be a state name or a number 1 to 3 (DEPOT, CENT, RREL), got 4"),
    ({"arms": [{"name": "a", "regimen": [{"cmt": "DEPOT", "dose": "-5 mg", "every": "24 h"}]}]},
     "arms[0].regimen[0].dose: must be > 0 mg, got -5 mg"),
    ({"arms": [{"name": "a", "regimen": [{"cmt": "DEPOT", "dose": "100 h", "every": "24 h"}]}]},
     "arms[0].regimen[0].dose: 'h' is a time unit"),
    ({"arms": [{"name": "a", "regimen": [{"amount": "1 mg", "cmt": "DEPOT", "dose": "1 mg", "every": "QD"}]}]},
     "arms[0].regimen[0].amount: unknown key; valid keys: cmt, drug, dose,"),
    ({"arms": [ARM, ARM]}, "arms[1].name: duplicates arms[0].name; arm names must be unique"),
    ({"parameters": {"CLL": 3}}, "parameters.CLL: unknown parameter of model indirect_response; valid: CL, V,"),
    ({"parameters": {"CL": "5 mg"}}, "parameters.CL: 'mg' is a mass unit, expected a clearance"),
    ({"parameters": {"F1": 1.5}}, "parameters.F1: must be within [0, 1], got 1.5"),
    ({"population": {"size": 3, "variability": {"Q": 0.3}}}, "population.variability.Q: unknown parameter"),
    ({"population": {"size": 0}}, "population.size: must be a number of patients, a whole number >= 1"),
    ({"summary": {"variables": ["CP", "AUC"]}}, "summary.variables[1]: unknown variable AUC; the model's states"),
    ({"summary": {"window": [0, "30 d"]}}, "summary.window[1]: must be <= duration (144 h)"),
    ({"solver": {"atol": [1e-9, 1e-9]}}, "solver.atol: must have 3 entries (one per state), got 2"),
    ({"sweep": {"CLL": [1, 2]}}, "sweep.CLL: unknown parameter of model indirect_response; valid: "
                                 "<compartment>.<regimen key> (DEPOT.dose...) or parameters CL, V,"),
    ({"sweep": {"CENT.dose": ["10 mg"]}}, "sweep.CENT.dose: no arm doses CENT; a regimen sweep needs an arm"),
    ({"sweep": {"DEPOT.dose": ["-10 mg"]}}, "sweep.DEPOT.dose[0]: must be > 0 mg, got -10 mg"),
    ({"sweep": {"DEPOT.missed": [1]}}, "sweep.DEPOT.missed: 'missed' cannot be swept; sweepable regimen keys:"),
    ({"sweep": {"CL": ["5 mg"]}}, "sweep.CL[0]: 'mg' is a mass unit, expected a clearance"),
    ({"biopsies": ["7 d"]}, "biopsies: unknown key; valid keys: name, description, model,"),
    ({"model": "missing.py:M"}, "model: file 'missing.py' not found"),
])
def test_cli_bad_input_is_one_line_exit_2_no_output(tmp_path, changes, message):
    sc = cli_scenario(tmp_path, **changes)
    out = tmp_path / "o.nc"
    r = CliRunner().invoke(main, ["run", str(sc), "-o", str(out)])
    assert r.exit_code == 2, r.output
    err = r.stderr.strip()
    assert err.startswith("error: " + message), err
    assert "\n" not in err and "Traceback" not in r.output
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml"]


def test_cli_plots_of_a_model_scenario_without_a_sweep(tmp_path):
    sc = cli_scenario(tmp_path)
    r = CliRunner().invoke(main, ["run", str(sc), "-o", str(tmp_path / "o.nc"), "--plots", str(tmp_path / "figs"),
                                  "-q"])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in (tmp_path / "figs").iterdir()) == ["profiles.png"]
    r = CliRunner().invoke(main, ["plot", str(tmp_path / "o.nc"), "sweep", "-o", str(tmp_path / "s.png")])
    assert r.exit_code == 2 and r.stderr.strip() == ("error: kind: sweep plots need a result swept over at least "
                                                     "one key; this one has no sweep")


# ----------------------------------------------------------------------------- benchmark


def test_user_model_benchmark_rows(tmp_path):
    """``python -m benchmarks.user_model``: every engine integrates the same problem (timings not asserted)."""
    import sys

    sys.path.insert(0, str(ROOT))  # the repository root, for `benchmarks`
    from benchmarks.user_model import main, render, run

    sc = cli_scenario(tmp_path, duration="2 d")
    rows, info = run(str(sc), patients=2, repeats=1, log=lambda s: None)
    assert [(r["engine"], r["method"], r["rhs"]) for r in rows] == [
        ("pkpd", "dopri5", "jit"), ("pkpd", "radau5", "jit"), ("pkpd", "dopri5", "jit"),
        ("scipy", "LSODA", "py"), ("scipy", "LSODA", "jit")]
    # every engine at rtol 1e-8 against scipy Radau at 1e-10: within 1e-6 of each state's scale
    assert all(r["max_err"] < 1e-6 and r["time_s"] > 0 for r in rows)
    assert info["n_doses"] == 2 and "| pkpd | dopri5 | jit |" in render(rows, info)
    assert main([str(sc), "--arm", "nope"]) == 2
