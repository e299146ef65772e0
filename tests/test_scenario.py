"""Scenario files: parsing with units, sweeps, overrides, and one-line errors for bad input."""

from __future__ import annotations

import math
import pickle
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pkpd.errors import ScenarioError
from pkpd.regimens import REGIMEN_KEYS, Regimen
from pkpd.scenario import (
    ARM_KEYS,
    MAX_SIMULATIONS,
    SCENARIO_KEYS,
    Arm,
    Population,
    Recist,
    Scenario,
    SweepAxis,
    load_scenario,
    scenario_from_dict,
)
from pkpd.solvers import SolverOptions

EXAMPLE = """\
name: combination-vs-monotherapy
description: optional text
duration: 8 weeks            # also "56 d", "1344 h", "18 months"; bare numbers are hours
output_every: 1 h
population: {size: 1, seed: 2026, variability: false}
parameters: {neratinib.CL: 250 L/h}
arms:
  - name: control
  - name: neratinib
    regimen:
      - {drug: neratinib, dose: 240 mg, every: 24 h}
  - name: ruxolitinib
    regimen:
      - {drug: ruxolitinib, dose: 15 mg, every: 12 h}
  - name: combination
    regimen:
      - {drug: neratinib, dose: 240 mg, every: 24 h}
      - {drug: ruxolitinib, dose: 15 mg, every: 12 h, start: 7 d}   # lead-in
sweep:
  neratinib.dose: [120 mg, 160 mg, 240 mg]
  ruxolitinib.dose: [5 mg, 10 mg, 15 mg, 20 mg, 25 mg]
"""

# A small valid scenario that the bad-input cases below modify.
BASE = """\
name: t
duration: 8 weeks
arms:
  - name: control
  - name: ner
    regimen:
      - {drug: neratinib, dose: 240 mg, every: 24 h}
  - name: combo
    regimen:
      - {drug: neratinib, dose: 240 mg, every: 24 h}
      - {drug: ruxolitinib, dose: 15 mg, every: 12 h, start: 7 d}
"""

TOP_KEYS = ", ".join(SCENARIO_KEYS)


# --------------------------------------------------------------------------- good scenarios


def test_example_parses_with_units_converted():
    s = load_scenario(EXAMPLE)
    assert s.name == "combination-vs-monotherapy"
    assert s.description == "optional text"
    assert s.duration_h == 8 * 7 * 24.0
    assert s.output_every_h == 1.0
    assert s.population == Population(1, 2026, False) and s.population.typical
    assert dict(s.parameters) == {"neratinib.CL": 250.0}
    assert s.arm_names == ("control", "neratinib", "ruxolitinib", "combination")
    assert s.arms[0].control and s.arms[0].regimens == ()
    combo = s.arm("combination")
    assert combo.drugs == ("neratinib", "ruxolitinib")
    rux = combo.regimens[1]
    assert (rux.drug, rux.steps[0].dose_mg, rux.interval_h, rux.start_h) == ("ruxolitinib", 15.0, 12.0, 168.0)
    assert [a.key for a in s.sweep] == ["neratinib.dose", "ruxolitinib.dose"]
    assert s.sweep[0].values == (120.0, 160.0, 240.0)
    assert s.sweep[0].labels == ("120 mg", "160 mg", "240 mg")
    assert {a.kind for a in s.sweep} == {"regimen"}
    assert s.sweep_shape == (3, 5) and s.n_points == 15 and s.n_simulations == 4 * 15
    assert s.solver == SolverOptions()
    assert s.window_h == (49 * 24.0, 56 * 24.0)  # default: the last 7 days
    assert s.biopsies_h == () and s.store == "full"
    assert s.text == EXAMPLE and s.source == "<string>"


@pytest.mark.parametrize("written, hours", [
    ("8 weeks", 1344.0), ("56 d", 1344.0), ("1344 h", 1344.0), (1344, 1344.0),
    ("18 months", 18 * 30.4375 * 24.0), ("2.5 d", 60.0),
])
def test_duration_units(written, hours):
    s = scenario_from_dict({"name": "d", "duration": written, "arms": [{"name": "c"}],
                            "output_every": "12 h"})
    assert math.isclose(s.duration_h, hours)


def test_load_from_file_path_and_pathlike(tmp_path: Path):
    f = tmp_path / "example.yaml"
    f.write_text(EXAMPLE, encoding="utf-8")
    for arg in (str(f), f):
        s = load_scenario(arg)
        assert s.source == str(f) and s.text == EXAMPLE and s.n_points == 15


def test_optional_keys_and_conversions():
    s = load_scenario("""
name: options
duration: 10 d
output_every: 5 h
store: daily
biopsies: [1 d, 7.5 h]
scan_every: 4 d
evaluation: {window: [2 d, 9 d]}
population: {size: 20, seed: 7}
solver: {method: radau5, rtol: 1e-8, atol: 1e-10, max_steps: 5000, max_step: 2 h}
parameters:
  neratinib: {CL: 4.2 L/min}       # nested form, converted to L/h
  signaling.w_EI: 30 %
  signaling.KI: 0.002 uM
  tumor.Vmax: 2e6 mm^3
  signaling.K_SJ: 0.7              # unit 'relative SOCS3': a bare number
  ruxolitinib.tlag: 30 min
arms:
  - {name: a, description: one drug, regimen: {drug: Neratinib, dose: 0.24 g, every: QD}}
""")
    assert s.solver == SolverOptions(method="radau5", rtol=1e-8, atol=1e-10, max_steps=5000, max_step=2.0)
    assert dict(s.parameters) == pytest.approx({"neratinib.CL": 252.0, "signaling.w_EI": 0.3, "signaling.KI": 2.0,
                                                "tumor.Vmax": 2e6, "signaling.K_SJ": 0.7, "ruxolitinib.tlag": 0.5})
    assert s.population.size == 20 and s.population.variability  # default: variability when size > 1
    assert s.window_h == (48.0, 216.0)
    assert s.biopsies_h == (7.5, 24.0)  # sorted
    r = s.arms[0].regimens[0]
    assert (r.drug, r.steps[0].dose_mg, r.interval_h) == ("neratinib", 240.0, 24.0)
    assert s.arms[0].description == "one drug"


def test_yaml_on_off_are_keys_not_booleans():
    s = load_scenario(BASE.replace("start: 7 d}", "on: 21 d, off: 7 d}"))
    rux = s.arm("combo").regimens[1]
    assert (rux.on_h, rux.off_h) == (504.0, 168.0)
    with pytest.raises(ScenarioError, match=r"^population.variability: must be true or false, got yes$"):
        load_scenario(BASE + "population: {variability: yes}\n")
    assert load_scenario(BASE + "population: {size: 3, variability: False}\n").population.variability is False


def test_times_grid_and_stored_times():
    s = load_scenario("name: g\nduration: 50 h\noutput_every: 12 h\nbiopsies: [30 h]\nscan_every: 1 d\n"
                      "arms: [{name: c}]\n")
    assert s.regular_times_h().tolist() == [0, 12, 24, 36, 48, 50]  # end included
    assert s.times_h().tolist() == [0, 12, 24, 30, 36, 48, 50]  # biopsy and scans merged in
    assert s.stored_times_h().tolist() == s.times_h().tolist()
    s2 = load_scenario("name: g\nduration: 3 d\noutput_every: 5 h\nstore: daily\nscan_every: 2 d\n"
                       "arms: [{name: c}]\n")
    times = s2.times_h()
    assert times[0] == 0 and times[-1] == 72 and np.all(np.diff(times) > 0)
    assert s2.stored_times_h().tolist() == [0, 24, 48, 72]
    s3 = load_scenario("name: g\nduration: 10 weeks\nstore: scans\nbiopsies: [14 d]\narms: [{name: c}]\n")
    assert s3.stored_times_h().tolist() == [0, 336, 1344, 1680]  # baseline, biopsy, scan at 8 weeks (default), end
    assert s3.times_h().size == 1681


# --------------------------------------------------------------------------- sweeps and overrides


def test_sweep_points_order_and_arm_regimens():
    s = load_scenario(EXAMPLE)
    points = s.sweep_points()
    assert len(points) == 15
    assert points[0] == {"neratinib.dose": 120.0, "ruxolitinib.dose": 5.0}
    assert points[1] == {"neratinib.dose": 120.0, "ruxolitinib.dose": 10.0}  # last axis fastest
    assert points[-1] == {"neratinib.dose": 240.0, "ruxolitinib.dose": 25.0}
    p = {"neratinib.dose": 160.0, "ruxolitinib.dose": 20.0}
    ner, rux = s.arm_regimens("combination", p)
    assert ner.steps[0].dose_mg == 160.0 and rux.steps[0].dose_mg == 20.0
    assert rux.start_h == 168.0 and rux.interval_h == 12.0  # other fields kept
    assert rux.path == "arms[3].regimen[1]"
    (only,) = s.arm_regimens(s.arm("ruxolitinib"), p)
    assert only.drug == "ruxolitinib" and only.steps[0].dose_mg == 20.0
    assert s.arm_regimens("control", p) == ()
    assert s.arm_regimens("neratinib") == s.arm("neratinib").regimens  # no point: as written
    assert s.parameters_at(p) == {"neratinib.CL": 250.0}


def test_sweep_of_interval_start_count_and_parameters():
    s = load_scenario(BASE + """\
sweep:
  ruxolitinib.every: [BID, 24 h]
  ruxolitinib.start: [0, 14 d]
  neratinib.count: [10, 20]
  neratinib.KA: [0.5 1/h, 1 /d]
""")
    assert s.sweep[0].values == (12.0, 24.0) and s.sweep[0].labels == ("BID", "24 h")
    assert s.sweep[1].values == (0.0, 336.0)
    assert s.sweep[2].values == (10.0, 20.0)
    assert s.sweep[3].kind == "parameter" and s.sweep[3].values == pytest.approx((0.5, 1 / 24))
    assert s.n_points == 16
    point = s.sweep_points()[-1]
    ner, rux = s.arm_regimens("combo", point)
    assert (rux.interval_h, rux.start_h) == (24.0, 336.0)
    assert ner.count == 20 and isinstance(ner.count, int)
    assert s.parameters_at(point) == pytest.approx({"neratinib.KA": 1 / 24})
    assert s.parameters_at({}) == {}


def test_regimen_starting_after_the_end_is_allowed():
    # shortening a scenario must not make it invalid: the lead-in simply gives no dose
    s = load_scenario(BASE.replace("duration: 8 weeks", "duration: 4 d"))
    rux = s.arm("combo").regimens[1]
    assert rux.start_h == 168.0 and rux.dose_times(s.duration_h).size == 0


def test_no_sweep_has_one_empty_point():
    s = load_scenario(BASE)
    assert s.sweep == () and s.sweep_points() == [{}] and s.n_points == 1 and s.sweep_shape == ()


def test_point_with_unknown_key_is_an_error():
    s = load_scenario(EXAMPLE)
    with pytest.raises(ScenarioError, match=r"^sweep.neratinib.CL: is not a sweep key of this scenario; valid: "
                                            r"neratinib.dose, ruxolitinib.dose$"):
        s.parameters_at({"neratinib.CL": 1.0})
    with pytest.raises(ScenarioError, match=r"^arm: unknown arm 'x'; valid: control, "):
        s.arm_regimens("x")


def test_scenario_is_immutable_picklable_and_hashable():
    s = load_scenario(EXAMPLE)
    with pytest.raises(TypeError):
        s.parameters["neratinib.CL"] = 1.0
    with pytest.raises(AttributeError):
        s.duration_h = 1.0
    t = pickle.loads(pickle.dumps(s))  # sent to worker processes by the runner
    assert t == s and hash(t) == hash(s) and dict(t.parameters) == {"neratinib.CL": 250.0}


def test_python_construction():
    arms = [Arm("control"), Arm("ner", (Regimen.once_daily("240 mg", drug="NERATINIB"),))]
    s = Scenario(name="py", duration_h="4 weeks", arms=arms, sweep={"neratinib.dose": ["120 mg", 240]},
                 parameters={"tumor.K_max": 0.01})
    assert s.arms[1].regimens[0].drug == "neratinib"
    assert s.sweep[0].labels == ("120 mg", "240") and s.sweep[0].values == (120.0, 240.0)
    assert s.source == "<python>" and s.text == ""
    s2 = Scenario(name="py", duration_h=672, arms=arms, sweep=(SweepAxis("neratinib.dose", (80, 160)),))
    assert s2.sweep[0].kind == "regimen" and s2.sweep[0].labels == ("80", "160")
    assert Population().typical and not Population(3).typical and Population(3, variability=False).size == 3


# --------------------------------------------------------------------------- bad input: exact messages

BAD = [
    ("syntax", "name: t\nduration: 8 weeks\narms:\n  - name: a\n  b: c: d\n",
     "line 5: expected <block end>, but found '?' (column 3)"),
    ("duplicate key", "name: t\nname: u\n", "line 2: duplicate key 'name' (column 1)"),
    ("top level list", "- a\n- b\n", f"top level: must be a mapping with keys {TOP_KEYS}, got a list"),
    ("unknown top key", BASE + "durration: 3\n", f"durration: unknown key; valid keys: {TOP_KEYS}"),
    ("unknown arm key", BASE.replace("  - name: control", "  - name: control\n    regimens: []"),
     "arms[0].regimens: unknown key; valid keys: name, regimen, description"),
    ("unknown regimen key", BASE.replace("every: 24 h}", "every: 24 h, dosis: 3}", 1),
     "arms[1].regimen[0].dosis: unknown key; valid keys: " + ", ".join(REGIMEN_KEYS)),
    ("unknown drug", BASE.replace("drug: ruxolitinib", "drug: lapatinib"),
     "arms[2].regimen[1].drug: unknown drug 'lapatinib'; valid: neratinib, ruxolitinib"),
    ("negative dose", BASE.replace("dose: 15 mg", "dose: -5 mg"),
     "arms[2].regimen[1].dose: must be > 0 mg, got -5 mg"),
    ("zero dose", BASE.replace("dose: 15 mg", "dose: 0 mg"), "arms[2].regimen[1].dose: must be > 0 mg, got 0 mg"),
    ("dose in grams", BASE.replace("dose: 240 mg", "dose: 240 g", 1),
     "arms[1].regimen[0].dose: must be at most 10 x neratinib's highest labelled dose (240 mg; NERLYNX USPI: "
     "240 mg once daily (pk.md §1.2)); check the unit, got 240000 mg"),
    ("swept dose in kg", BASE + "sweep:\n  ruxolitinib.dose: [15 mg, 15 kg]\n",
     "sweep.ruxolitinib.dose[1]: must be at most 10 x ruxolitinib's highest labelled dose (25 mg; JAKAFI USPI: "
     "at most 25 mg twice daily (pk.md §2.2)); check the unit, got 15 kg"),
    ("dose in hours", BASE.replace("dose: 240 mg", "dose: 240 h", 1),
     "arms[1].regimen[0].dose: 'h' is a time unit, expected an amount (mass) in ng, ug (µg, mcg), mg, g, kg, "
     "got 240 h"),
    ("interval in mg", BASE.replace("every: 12 h", "every: 12 mg"),
     "arms[2].regimen[1].every: 'mg' is a mass unit, expected a time in s, min, h, d, week, month (30.4375 d), "
     "year (365.25 d); or one of QD, BID, TID, QID, QW, got 12 mg"),
    ("zero interval", BASE.replace("every: 12 h", "every: 0 h"),
     "arms[2].regimen[1].every: must be > 0 h; or one of QD, BID, TID, QID, QW, got 0 h"),
    ("negative duration", BASE.replace("duration: 8 weeks", "duration: -3 d"), "duration: must be > 0 h, got -3 d"),
    ("zero duration", BASE.replace("duration: 8 weeks", "duration: 0"), "duration: must be > 0 h, got 0"),
    ("sweep unknown name", BASE + "sweep:\n  neratinib.foo: [1, 2]\n",
     "sweep.neratinib.foo: unknown name 'foo' in neratinib; valid: regimen keys dose, every, start, count, "
     "until, on, off; parameters CL, Vc, Q, Vp, KA, CL1, kCL, tlag, F"),
    ("sweep unknown block", BASE + "sweep:\n  lapatinib.dose: [1, 2]\n",
     "sweep.lapatinib.dose: unknown block 'lapatinib'; valid: neratinib, ruxolitinib, signaling, tumor"),
    ("sweep unknown signaling name", BASE + "sweep:\n  signaling.KJ: [1, 2]\n",
     "sweep.signaling.KJ: unknown name 'KJ' in signaling; valid: L, k_act, "),
    ("sweep without dot", BASE + "sweep:\n  dose: [1, 2]\n",
     "sweep.dose: must be a dotted path <block>.<name>, e.g. neratinib.CL, signaling.KI or (in a sweep) "
     "neratinib.dose"),
    ("sweep empty list", BASE + "sweep:\n  neratinib.dose: []\n",
     "sweep.neratinib.dose: is empty; give at least one value"),
    ("sweep not a list", BASE + "sweep:\n  neratinib.dose: 120 mg\n",
     "sweep.neratinib.dose: must be a list of values, e.g. [120 mg, 240 mg], got 120 mg"),
    ("sweep drug not dosed", BASE.replace("drug: ruxolitinib", "drug: neratinib")
     + "sweep:\n  ruxolitinib.dose: [1, 2]\n",
     "sweep.ruxolitinib.dose: no arm gives ruxolitinib; a regimen sweep needs an arm with a ruxolitinib regimen"),
    ("sweep a hold", BASE + "sweep:\n  neratinib.hold: [1, 2]\n",
     "sweep.neratinib.hold: 'hold' cannot be swept; sweepable regimen keys: dose, every, start, count, until, on, "
     "off"),
    ("sweep negative dose", BASE + "sweep:\n  neratinib.dose: [120 mg, -5 mg]\n",
     "sweep.neratinib.dose[1]: must be > 0 mg, got -5 mg"),
    ("sweep repeated value", BASE + "sweep:\n  neratinib.dose: [120 mg, 0.12 g]\n",
     "sweep.neratinib.dose[1]: repeats sweep.neratinib.dose[0] (120 mg), got 0.12 g"),
    ("sweep parameter out of bounds", BASE + "sweep:\n  signaling.b_E: [0.5, 1.5]\n",
     "sweep.signaling.b_E[1]: must be within [0, 1], got 1.5"),
    ("sweep and override", BASE + "parameters: {neratinib.CL: 250 L/h}\nsweep:\n  neratinib.CL: [200, 300]\n",
     "sweep.neratinib.CL: is also set in parameters.neratinib.CL; remove one of them"),
    ("sweep interval explodes", BASE + "sweep:\n  ruxolitinib.every: [12 h, 1 s]\n",
     "arms[2].regimen[1].every: expands to more than 1000000 doses before 1344 h; check the interval's unit, or set "
     "'count' or 'until' (at sweep point ruxolitinib.every = 1 s), got 0.000277778 h"),
    ("sweep holiday without off", BASE + "sweep:\n  ruxolitinib.on: [7 d]\n",
     "sweep.ruxolitinib.on[0]: with 7 d, arms[2].regimen[1].off: must be given together with 'on' "
     "(holiday cycles)"),
    ("sweep dose of an escalation", BASE.replace("dose: 15 mg", "escalation: [{dose: 5 mg, days: 7}, {dose: 15 mg}]")
     + "sweep:\n  ruxolitinib.dose: [10 mg]\n",
     "sweep.ruxolitinib.dose[0]: with 10 mg, arms[2].regimen[1]: has a dose escalation (or a named schedule); "
     "a dose sweep needs a constant 'dose'"),
    ("population size 0", BASE + "population: {size: 0}\n",
     "population.size: must be a number of patients, a whole number >= 1, got 0"),
    ("population size 2.5", BASE + "population: {size: 2.5}\n",
     "population.size: must be a number of patients, a whole number >= 1, got 2.5"),
    ("population size text", BASE + "population: {size: ten}\n",
     "population.size: must be a number of patients, a whole number >= 1, got ten"),
    ("population unknown key", BASE + "population: {n: 10}\n",
     "population.n: unknown key; valid keys: size, seed, variability"),
    ("negative seed", BASE + "population: {seed: -1}\n",
     "population.seed: must be a random seed, a whole number >= 0, got -1"),
    ("non-integer seed", BASE + "population: {seed: 1.5}\n",
     "population.seed: must be a random seed, a whole number >= 0, got 1.5"),
    ("variability text", BASE + "population: {variability: maybe}\n",
     "population.variability: must be true or false, got maybe"),
    ("duplicate arm names", BASE.replace("name: combo", "name: ner"),
     "arms[2].name: duplicates arms[1].name; arm names must be unique, got ner"),
    ("arms a mapping", "name: t\nduration: 3 d\narms: {name: a}\n",
     "arms: must be a list of arms, e.g. [{name: control}], got a mapping"),
    ("arm not a mapping", "name: t\nduration: 3 d\narms: [a, b]\n",
     "arms[0]: must be a mapping with keys name, regimen, description, got a"),
    ("arm without name", "name: t\nduration: 3 d\narms: [{regimen: []}]\n", "arms[0].name: is required"),
    ("no arms", "name: t\nduration: 3 d\narms: []\n",
     "arms: is empty; give at least one arm (e.g. '- name: control')"),
    ("output_every > duration", BASE + "output_every: 60 d\n", "output_every: must be <= duration (56 d), got 60 d"),
    ("too many output times", BASE + "output_every: 1 s\n",
     "output_every: gives 4838401 output times over 56 d, more than 1000000; use a larger output_every, got 1 s"),
    ("window past the end", BASE + "evaluation: {window: [50 d, 60 d]}\n",
     "evaluation.window[1]: must be <= duration (56 d), got 60 d"),
    ("window before 0", BASE + "evaluation: {window: [-1 d, 6 d]}\n",
     "evaluation.window[0]: must be >= 0 h, got -1 d"),
    ("window reversed", BASE + "evaluation: {window: [20 d, 10 d]}\n",
     "evaluation.window[0]: must be earlier than the end (10 d), got 20 d"),
    ("window of three", BASE + "evaluation: {window: [1 d, 2 d, 3 d]}\n",
     "evaluation.window: must be a list [start, end] of two times, got a list"),
    ("biopsy after the end", BASE + "biopsies: [7 d, 100 d]\n",
     "biopsies[1]: must be within the run, 0 to 56 d, got 100 d"),
    ("too many simulations", BASE + "population: {size: 5000000}\nsweep:\n  neratinib.dose: [120 mg, 240 mg]\n",
     f"population.size: 5000000 patients x 3 arms x 2 sweep points = 30000000 patient-simulations, more than "
     f"the limit of {MAX_SIMULATIONS}; use a smaller population (at most 1666666 patients here) or fewer sweep "
     f"points"),
    ("too many sweep points", BASE + "sweep:\n  neratinib.CL: [" + ", ".join(str(i) for i in range(1, 501))
     + "]\n  neratinib.Vc: [" + ", ".join(str(i) for i in range(1, 301)) + "]\n",
     "sweep: expands to 150000 points (500 x 300), more than the limit of 100000; sweep fewer values"),
    ("unknown parameter", BASE + "parameters: {neratinib.XX: 3}\n",
     "parameters.neratinib.XX: unknown name 'XX' in neratinib; valid: CL, Vc, Q, Vp, KA, CL1, kCL, tlag, F"),
    ("parameter given twice", BASE + "parameters: {neratinib.CL: 250 L/h, neratinib: {CL: 200}}\n",
     "parameters.neratinib.CL: is given twice"),
    ("regimen key as parameter", BASE + "parameters: {neratinib.dose: 3}\n",
     "parameters.neratinib.dose: 'dose' is a regimen key, not a parameter; set it in the arms' regimens or sweep it"),
    ("parameter unit of wrong kind", BASE + "parameters: {neratinib.CL: 250 mg}\n",
     "parameters.neratinib.CL: 'mg' is a mass unit, expected a clearance in volume/time such as L/h, mL/min, L/d, "
     "got 250 mg"),
    ("negative clearance", BASE + "parameters: {neratinib.CL: -2}\n",
     "parameters.neratinib.CL: must be > 0 L/h, got -2"),
    ("NaN parameter", BASE + "parameters: {neratinib.CL: .nan}\n",
     "parameters.neratinib.CL: must be a finite number, got nan"),
    ("parameter below its bound", BASE + "parameters: {tumor.n_K: 0.5}\n",
     "parameters.tumor.n_K: must be >= 1, got 0.5"),
    ("unconvertible unit", BASE + "parameters: {tumor.Vmax: 3 cm^3}\n",
     "parameters.tumor.Vmax: must be a number in mm^3, written '1.5' or '1.5 mm^3', got 3 cm^3"),
    ("mass concentration for nM", BASE + "parameters: {signaling.KI: 3 ng/mL}\n",
     "parameters.signaling.KI: must be a molar concentration such as '2 nM' (a mass concentration needs a "
     "molecular weight), got 3 ng/mL"),
    ("unknown solver", BASE + "solver: {method: euler}\n",
     "solver.method: unknown method 'euler'; valid: dopri5, radau5, rodas3"),
    ("zero rtol", BASE + "solver: {rtol: 0}\n", "solver.rtol: must be > 0, got 0.0"),
    ("unknown solver key", BASE + "solver: {tol: 0}\n",
     "solver.tol: unknown key; valid keys: method, rtol, atol, max_steps, first_step, max_step, periodic, pk"),
    ("unknown store", BASE + "store: some\n", "store: must be one of full, daily, scans, got some"),
    ("missing name", "duration: 3 d\narms: [{name: a}]\n", "name: is required"),
    ("missing duration", "name: a\narms: [{name: a}]\n", "duration: is required"),
    ("huge integer", BASE.replace("dose: 15 mg", "dose: " + "9" * 400),
     "arms[2].regimen[1].dose: is a number too large to represent"),
    ("dose count explodes", BASE.replace("every: 12 h", "every: 1 s"),
     "arms[2].regimen[1].every: expands to more than 1000000 doses before 1344 h; check the interval's unit, "
     "or set 'count' or 'until', got 0.000277778 h"),
    ("control key with newline", BASE + '"a\\nb": 1\n', f"a\\nb: unknown key; valid keys: {TOP_KEYS}"),
    ("recist noise_cv too large", BASE + "recist: {noise_cv: 0.9}\n", "recist.noise_cv: must be in [0, 0.5], got 0.9"),
    ("recist noise_cv negative", BASE + "recist: {noise_cv: -0.1}\n", "recist.noise_cv: must be in [0, 0.5], got -0.1"),
    ("recist noise_cv text", BASE + "recist: {noise_cv: lots}\n", "recist.noise_cv: must be a number, got lots"),
    ("recist confirm not bool", BASE + "recist: {confirm: sometimes}\n",
     "recist.confirm: must be true or false, got sometimes"),
    ("recist unknown key", BASE + "recist: {noise: 0.1}\n",
     "recist.noise: unknown key; valid keys: confirm, noise_cv, noise_sd_mm, cr_threshold_mm"),
    ("recist not a mapping", BASE + "recist: true\n",
     "recist: must be a mapping with keys confirm, noise_cv, noise_sd_mm, cr_threshold_mm, got True"),
    ("recist sd wrong unit", BASE + "recist: {noise_sd_mm: 2 h}\n",
     "recist.noise_sd_mm: must be a length in mm such as '5 mm' (units: mm, cm), got 2 h"),
    ("recist sd too large", BASE + "recist: {noise_sd_mm: 2 cm}\n",
     "recist.noise_sd_mm: must be in [0, 10] mm, got 2 cm"),
    ("recist sd negative", BASE + "recist: {noise_sd_mm: -1}\n", "recist.noise_sd_mm: must be in [0, 10] mm, got -1"),
    ("recist cr threshold zero", BASE + "recist: {cr_threshold_mm: 0 mm}\n",
     "recist.cr_threshold_mm: must be in (0, 10] mm, got 0 mm"),
    ("recist cr threshold null", BASE + "recist: {cr_threshold_mm: null}\n",
     "recist.cr_threshold_mm: must be a length in mm such as '5 mm', got nothing (null)"),
]


@pytest.mark.parametrize("text, message", [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_input_message(text, message):
    with pytest.raises(ScenarioError) as info:
        load_scenario(text)
    got = str(info.value)
    assert "\n" not in got
    if message.endswith(", "):  # long lists of valid names: compare the start only
        assert got.startswith(message)
    else:
        assert got == message


def test_file_errors(tmp_path: Path):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ScenarioError) as info:
        load_scenario(str(missing))
    assert str(info.value) == f"{missing}: no such scenario file"
    empty = tmp_path / "empty.yaml"
    empty.write_text("# only a comment\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(empty)
    assert str(info.value) == f"{empty}: is empty; a scenario needs at least name, duration and arms"
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path)
    assert str(info.value) == f"{tmp_path}: is a directory, not a scenario file"
    with pytest.raises(ScenarioError) as info:
        load_scenario("")
    assert str(info.value) == "scenario: is empty; a scenario needs at least name, duration and arms"
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: t\nduration: 8 weeks\narms:\n  - name: a\n  b: c: d\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(broken)
    assert str(info.value) == f"{broken}, line 5: expected <block end>, but found '?' (column 3)"


def test_python_construction_errors():
    with pytest.raises(ScenarioError, match=r"^sweep.neratinib.dose: is empty; give at least one value$"):
        SweepAxis("neratinib.dose", ())
    with pytest.raises(ScenarioError, match=r"^sweep.neratinib.dose\[0\]: must be a finite number \(in base units\), "
                                            r"got inf$"):
        SweepAxis("neratinib.dose", (math.inf,))
    with pytest.raises(ScenarioError, match=r"^arm.name: must be 1 to 100 characters"):
        Arm("")
    with pytest.raises(ScenarioError, match=r"^regimen.drug: unknown drug 'x'; valid: neratinib, ruxolitinib$"):
        Arm("a", (Regimen.once_daily(240, drug="x"),))
    with pytest.raises(ScenarioError, match=r"^population.size: must be a number of patients"):
        Population(True)


# --------------------------------------------------------------------------- junk never escapes as another type

_UNITS = ["mg", "h", "d", "weeks", "L/h", "1/h", "nM", "ng/mL", "%", "mm^3", "QD", "BID", "", "g", "months"]
_scalars = st.one_of(
    st.none(), st.booleans(),
    st.integers(-10**6, 10**6), st.integers(-10**400, 10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=10),
    st.builds(lambda x, u: f"{x} {u}", st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(_UNITS)),
    st.builds(lambda x, u: f"{x} {u}", st.integers(-1000, 10**7), st.sampled_from(_UNITS)),
    st.sampled_from(["neratinib", "ruxolitinib", "control", "dopri5", "radau5", "full", "control_escalation"]),
)
_KEYS = list(SCENARIO_KEYS) + list(ARM_KEYS) + list(REGIMEN_KEYS) + [
    "size", "seed", "variability", "window", "method", "rtol", "atol", "max_steps", "neratinib.dose",
    "ruxolitinib.every", "neratinib.CL", "signaling.KI", "tumor.Vmax", "neratinib", "from", "to", "days", "x.y"]
_junk = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.one_of(st.sampled_from(_KEYS), st.text(max_size=4), st.integers(-3, 3)), inner, max_size=4)),
    max_leaves=20)

# paths into a valid scenario where junk is planted
_SPOTS = [
    ("duration",), ("output_every",), ("population",), ("population", "size"), ("population", "seed"),
    ("parameters",), ("parameters", "neratinib.CL"), ("parameters", "tumor.Vmax"), ("arms",), ("arms", 0),
    ("arms", 1, "regimen"), ("arms", 1, "regimen", 0, "dose"), ("arms", 1, "regimen", 0, "every"),
    ("arms", 1, "regimen", 0, "start"), ("arms", 1, "regimen", 0, "missed"), ("arms", 1, "regimen", 0, "hold"),
    ("arms", 1, "regimen", 0, "count"), ("arms", 1, "name"), ("sweep",), ("sweep", "neratinib.dose"),
    ("sweep", "neratinib.dose", 0), ("sweep", "signaling.KI"), ("solver",), ("solver", "rtol"),
    ("evaluation",), ("evaluation", "window"), ("biopsies",), ("store",), ("name",), ("junk",),
]


def _valid() -> dict:
    return {"name": "fuzz", "duration": "4 weeks", "population": {"size": 2, "seed": 1},
            "parameters": {"neratinib.CL": "250 L/h", "tumor.Vmax": 1e6},
            "arms": [{"name": "c"},
                     {"name": "n", "regimen": [{"drug": "neratinib", "dose": "240 mg", "every": "24 h"}]}],
            "sweep": {"neratinib.dose": ["120 mg", "240 mg"], "signaling.KI": [1, 2]},
            "solver": {"rtol": 1e-6}, "evaluation": {"window": ["7 d", "14 d"]}, "biopsies": ["7 d"], "store": "full"}


def _plant(data: dict, spot: tuple, value: object) -> dict:
    node = data
    for step in spot[:-1]:
        node = node[step]
    node[spot[-1]] = value
    return data


def _run(data: object, via_yaml: bool) -> None:
    if via_yaml:
        try:
            text = yaml.safe_dump(data, allow_unicode=True)
        except (yaml.YAMLError, ValueError, TypeError):
            return
        load_scenario(text)
    else:
        scenario_from_dict(data)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(junk=st.dictionaries(st.one_of(st.sampled_from(_KEYS), st.text(max_size=4)), _junk, max_size=6),
       via_yaml=st.booleans())
def test_junk_mappings_raise_only_scenario_error(junk, via_yaml):
    try:
        _run(junk, via_yaml)
    except ScenarioError as err:
        assert "\n" not in str(err)


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(spot=st.sampled_from(_SPOTS), value=_junk, via_yaml=st.booleans())
def test_junk_planted_in_a_valid_scenario_raises_only_scenario_error(spot, value, via_yaml):
    data = _plant(_valid(), spot, value)
    try:
        _run(data, via_yaml)
    except ScenarioError as err:
        assert "\n" not in str(err)


def test_valid_fuzz_base_is_valid():
    s = scenario_from_dict(_valid())
    assert s.n_points == 4 and s.window_h == (168.0, 336.0)


# --------------------------------------------------------------------------- the documentation

README = Path(__file__).resolve().parents[1] / "scenarios" / "README.md"


def _yaml_blocks(text: str) -> list[str]:
    return [b.split("```", 1)[0] for b in text.split("```yaml\n")[1:]]


def test_readme_examples_are_valid():
    blocks = _yaml_blocks(README.read_text(encoding="utf-8"))
    full = [b for b in blocks if b.startswith("name:")]
    assert len(full) == 2
    example = load_scenario(full[0])
    assert example.n_points == 15 and example.biopsies_h == (0.0, 336.0) and example.window_h == (1176.0, 1344.0)
    assert load_scenario(full[1]).arms[0].regimens[0].interval_h == 24.0
    for b in blocks:  # every fragment is valid inside a minimal scenario
        if b.startswith("name:"):
            continue
        base = "name: doc\nduration: 8 weeks\n"
        if not b.startswith("arms:"):
            base += "arms:\n  - {name: a, regimen: [{drug: neratinib, dose: 240 mg, every: 24 h}, " \
                    "{drug: ruxolitinib, dose: 15 mg, every: 12 h}]}\n"
        load_scenario(base + b)


def test_readme_lists_every_parameter_path():
    from pkpd.scenario import parameter_blocks

    text = README.read_text(encoding="utf-8")
    missing = [f"{block}.{name}" for block, params in parameter_blocks().items() for name in params
               if f"`{name}`" not in text]
    assert not missing, f"scenarios/README.md does not document {missing}"


# --------------------------------------------------------------------------- recist


def test_recist_key_defaults_and_values_with_units():
    s = load_scenario(BASE)
    assert s.recist == Recist() and s.recist.options() == {"confirm": True, "noise_cv": 0.0, "noise_sd_mm": 0.0,
                                                           "cr_threshold_mm": 5.0}
    s = load_scenario(BASE + "recist: {confirm: false, noise_cv: 0.05, noise_sd_mm: 1.5 mm, cr_threshold_mm: 0.4 cm}\n")
    assert s.recist.options() == {"confirm": False, "noise_cv": 0.05, "noise_sd_mm": 1.5, "cr_threshold_mm": 4.0}
    s = load_scenario(BASE + "recist: {noise_sd_mm: 2, cr_threshold_mm: '10 mm'}\n")   # bare numbers are mm
    assert (s.recist.noise_sd_mm, s.recist.cr_threshold_mm, s.recist.confirm) == (2.0, 10.0, True)
    assert load_scenario(BASE + "recist: {noise_cv: 0.5}\n").recist.noise_cv == 0.5     # the bound is allowed
    assert pickle.loads(pickle.dumps(s)) == s


def test_resistant_fraction_is_a_tumour_parameter_in_0_1():
    """tumor.f_R (the drug-resistant subclone's share of the baseline lesion) can be overridden; 0 = none."""
    assert load_scenario(BASE + "parameters: {tumor.f_R: 0}\n").parameters == {"tumor.f_R": 0.0}
    with pytest.raises(ScenarioError, match=r"^parameters.tumor.f_R: must be within \[0, 1\], got 1.5$"):
        load_scenario(BASE + "parameters: {tumor.f_R: 1.5}\n")


def test_doses_up_to_ten_times_the_label_are_accepted():
    """The plausibility bound catches unit slips (g for mg), not high-dose explorations."""
    s = load_scenario(BASE.replace("dose: 240 mg", "dose: 2400 mg", 1).replace("dose: 15 mg", "dose: 250 mg"))
    assert s.arms[1].regimens[0].steps[0].dose_mg == 2400.0
