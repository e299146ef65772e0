"""The periodic path (pkpd.periodic): when it applies, its table interpolation, and its results
against the full integration and against a tight reference.

Tolerances: the periodic path makes two controlled approximations (the PK and network taken as
periodic once within a hundredth of the tolerance of their orbit; P between table points by cubic
Hermite interpolation), and integrates the tumour alone at the run's own tolerances.  So against a
reference at rtol 1e-10 its error must be of the order of the run's rtol, like the full
integration's; and it must agree with the full integration at the same tolerances to a few rtol
(relative lesion diameter over months).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

import pkpd.periodic as periodic
from pkpd.periodic import cascade_split
from pkpd.dosing import Dose
from pkpd.errors import InputError, ScenarioError
from pkpd.models.tumor import tumor_rhs
from pkpd.regimens import Regimen
from pkpd.runner import run
from pkpd.scenario import load_scenario
from pkpd.solvers import SolverOptions
from pkpd.solvers.hermite import periodic_value
from pkpd.system import P_TUM, TRIAL_KERNELS

DAY = 24.0


def _doses(*regimens_and_cmt, end_h=60 * DAY):
    out = []
    for r, cmt in regimens_and_cmt:
        out += r.to_doses(cmt, end_h)
    return out


# ------------------------------------------------------------------------------ when it applies
def test_regimen_period_is_the_least_common_multiple_of_repeat_lengths():
    assert periodic.regimen_period([Regimen.every(240, 24), Regimen.every(15, 12)]) == 24
    assert periodic.regimen_period([Regimen.every(1, 8), Regimen.every(1, 12)]) == 24
    assert periodic.regimen_period([Regimen.every(1, 36)]) == 36
    assert periodic.regimen_period([Regimen.every(1, 24).with_holiday(21 * DAY, 7 * DAY),
                                    Regimen.every(1, 12)]) == 28 * DAY
    assert periodic.regimen_period([]) == 24  # untreated: any period
    # incommensurate or too long: no period
    assert periodic.regimen_period([Regimen.every(1, 24), Regimen.every(1, 24.0000013)]) is None
    assert periodic.regimen_period([Regimen.every(1, 24).with_holiday(10 * 7 * DAY, 3 * 7 * DAY)]) is None


def test_periodic_tail_from_the_first_dose_and_after_a_lead_in():
    both = _doses((Regimen.every(240, 24), 1), (Regimen.every(15, 12), 4))
    tail = periodic.periodic_tail(both, 24.0, 60 * DAY)
    assert tail.start_h == 0 and tail.period_h == 24
    # ruxolitinib joins on day 14: periodic from just after day 13.5 (a period before its second dose,
    # the last without a twin one period earlier)
    lead_in = _doses((Regimen.every(240, 24), 1), (Regimen.every(15, 12, start_h=14 * DAY), 4))
    tail = periodic.periodic_tail(lead_in, 24.0, 60 * DAY)
    assert 13.5 * DAY < tail.start_h < 13.5 * DAY + 1e-3
    assert periodic.tumour_max_step(24.0) == 3.0 and periodic.tumour_max_step(28 * DAY) == 3.0
    assert periodic.tumour_max_step(8.0) == 1.0


def test_periodic_tail_after_a_missed_dose_an_escalation_and_with_none_at_the_end():
    missed = _doses((Regimen.every(240, 24).with_missed(times_h=[96.0]), 1))
    assert 96.0 < periodic.periodic_tail(missed, 24.0, 60 * DAY).start_h < 96.01
    up = _doses((Regimen.escalation([(120, "7 d"), (240, None)], 24), 1))
    assert 6 * DAY < periodic.periodic_tail(up, 24.0, 60 * DAY).start_h < 6 * DAY + 0.01
    # doses that stop on day 20: periodic (no doses) from just after the last one
    stop = _doses((Regimen.every(240, 24, until_h=20 * DAY), 1))
    assert 19 * DAY < periodic.periodic_tail(stop, 24.0, 60 * DAY).start_h < 19 * DAY + 0.01
    # not plain boluses: never
    assert periodic.periodic_tail([Dose(0.0, 10.0, 1, rate=5.0)], 24.0, 100.0) is None
    assert periodic.periodic_tail([Dose(0.0, 10.0, 1, ii=24.0, addl=3)], 24.0, 100.0) is None


def test_applies_only_when_the_first_attempt_is_at_most_half_the_run_and_periods_are_left():
    tail = periodic.PeriodicTail(0.0, 24.0)
    first = periodic.first_attempt_periods(tail) * 24.0  # 21 days
    assert periodic.applies(tail, 2 * first)
    assert not periodic.applies(tail, 2 * first - 1.0)
    cycles = periodic.PeriodicTail(0.0, 28 * DAY)  # 4-week cycles: the periods-left rule binds
    first = periodic.first_attempt_periods(cycles) * 28 * DAY  # 3 cycles
    assert periodic.applies(cycles, first + periodic.MIN_SAVED_PERIODS * 28 * DAY)
    assert not periodic.applies(cycles, first + periodic.MIN_SAVED_PERIODS * 28 * DAY - 1.0)
    assert not periodic.applies(None, 1e6)


# ------------------------------------------------------------------------------ the table of P
def _table(T, M, values, slopes, base=0):
    """A parameter row with one tabulated state at ``base`` (layout of pkpd.solvers.hermite)."""
    return np.concatenate([np.zeros(base), [T, M, 1.0], values, slopes])


def test_periodic_value_is_exact_for_cubics_and_repeats_with_the_period():
    T, M = 24.0, 8
    knots = np.linspace(0.0, T, M + 1)
    cubic = lambda t: 0.5 + 0.01 * t - 2e-3 * t ** 2 + 7e-5 * t ** 3  # noqa: E731
    slope = lambda t: 0.01 - 4e-3 * t + 2.1e-4 * t ** 2  # noqa: E731
    p = _table(T, M, cubic(knots), slope(knots), base=5)
    for t in (0.0, 0.3, 3.0, 7.77, 12.0, 23.99):
        assert periodic_value(t, p, 5, 0) == pytest.approx(cubic(t), rel=1e-13, abs=1e-14)
        assert periodic_value(t + 5 * T, p, 5, 0) == pytest.approx(cubic(t), rel=1e-11, abs=1e-12)


def test_periodic_value_converges_at_fourth_order_on_a_smooth_periodic_signal():
    T = 24.0
    f = lambda t: 0.6 + 0.3 * np.sin(2 * np.pi * t / T)  # noqa: E731
    df = lambda t: 0.3 * 2 * np.pi / T * np.cos(2 * np.pi * t / T)  # noqa: E731
    t = np.linspace(0.0, 3 * T, 997)
    errors = []
    for M in (24, 48):
        knots = np.linspace(0.0, T, M + 1)
        p = _table(T, M, f(knots), df(knots))
        errors.append(max(abs(periodic_value(x, p, 0, 0) - f(x)) for x in t))
    assert errors[1] < errors[0] / 12  # h**4: 16x (12x allows for where the maxima fall)
    assert errors[1] < 1e-6


def test_the_trial_systems_cascade_is_found_from_its_block_graph():
    split = cascade_split(TRIAL_KERNELS)
    names = TRIAL_KERNELS.state_names
    assert split.blocks == ("tumor",)
    assert [names[i] for i in split.slow] == ["tumor.X1", "tumor.X2", "tumor.X3", "tumor.X4", "tumor.XR"]
    assert [names[i] for i in split.needed] == ["signaling.P"]
    assert len(split.fast) == 18


def test_the_tail_kernel_is_the_simeoni_block_at_the_interpolated_signal():
    split = cascade_split(TRIAL_KERNELS)
    T, M = 24.0, 4
    knots = np.linspace(0.0, T, M + 1)
    p = TRIAL_KERNELS.pack()
    n_par = p.size
    row = np.concatenate([p, [n_par + 1.0], _table(T, M, 0.5 + 0.01 * knots, np.full(M + 1, 0.01))])
    y = np.array([3000.0, 200.0, 100.0, 50.0, 40.0])
    got, want = np.zeros(5), np.zeros(5)
    split.rhs(30.0, y, row, got)
    tumor_rhs(30.0, y, p[P_TUM:], 0.5 + 0.01 * 6.0, want)   # the hand-written Simeoni block kernel
    np.testing.assert_allclose(got, want, rtol=1e-14)


# ------------------------------------------------------------------------------ runs
TRIAL = """
name: periodic-check
duration: {days} d
output_every: 6 h
scan_every: 4 weeks
population: {{size: {size}, seed: 7, variability: true}}
solver: {{method: {method}, rtol: {rtol}, atol: {atol}, periodic: {periodic}, max_steps: 10000000}}
parameters: {parameters}
arms:
  - name: combination
    regimen: {regimen}
"""
COMBINATION = ("[{drug: neratinib, dose: 240 mg, every: 24 h}, {drug: ruxolitinib, dose: 15 mg, every: 12 h}]")


def _run(days=120, size=3, method="radau5", rtol=1e-6, atol=1e-8, periodic_on=True, regimen=COMBINATION,
         parameters="{}"):
    text = TRIAL.format(days=days, size=size, method=method, rtol=rtol, atol=atol, regimen=regimen,
                        periodic=str(periodic_on).lower(), parameters=parameters)
    return run(load_scenario(text))


@pytest.fixture(scope="module")
def paths():
    return _run(), _run(periodic_on=False)


def _rel_diameter_diff(a, b):
    return float((abs(a["tumor_diameter"] - b["tumor_diameter"]) / b["tumor_diameter"]).max())


def test_the_periodic_path_is_taken_and_recorded(paths):
    per, full = paths
    # 120 days: attempts at 21 and 42 days (no attempt beyond half the run); a slow patient may be
    # integrated in full (NaN)
    taken = per["periodic_from"].values
    assert np.isfinite(taken).sum() >= 9
    assert np.isin(taken[np.isfinite(taken)] / DAY, (21.0, 42.0)).all()
    assert np.isnan(full["periodic_from"]).all()
    assert "periodic=True" in per.attrs["solver"] and "periodic=False" in full.attrs["solver"]
    # the tumour alone needs far fewer steps than the whole system to the end
    assert int(per["solver_steps"].sum()) < 0.7 * int(full["solver_steps"].sum())


def test_the_periodic_path_agrees_with_the_full_integration(paths):
    per, full = paths
    # rtol 1e-6: diameters over 4 months to a few rtol; every response the same
    assert _rel_diameter_diff(per, full) < 1e-5
    assert (per["best_response"] == full["best_response"]).all()
    # PK and network after the hand-over come from the recorded period: within the run's tolerances
    late = per["time"] > float(per["periodic_from"].max())
    for name in ("conc", "pEGFR", "pSTAT3", "P"):
        a, b = per[name].sel(time=late), full[name].sel(time=late)
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-7 * float(abs(b).max()), err_msg=name)
    for name in ("pSTAT3_window_mean", "CMAX_individual", "AUCTAU_individual"):
        np.testing.assert_allclose(per[name], full[name], rtol=1e-5, err_msg=name)


def test_the_periodic_path_is_as_accurate_as_the_full_integration_against_a_tight_reference(paths):
    per, full = paths
    ref = _run(size=3, rtol=1e-10, atol=1e-12, periodic_on=False)
    err_per, err_full = _rel_diameter_diff(per, ref), _rel_diameter_diff(full, ref)
    assert err_per < 1e-5  # rtol 1e-6 over 4 months
    assert err_per < 10 * max(err_full, 1e-7)


def test_holiday_cycles_and_a_lag_time_take_the_periodic_path_and_agree():
    regimen = ("[{drug: neratinib, dose: 240 mg, every: 24 h, on: 21 d, off: 7 d}, "
               "{drug: ruxolitinib, dose: 15 mg, every: 12 h}]")
    kw = dict(days=280, size=1, method="dopri5", regimen=regimen, parameters="{neratinib.tlag: 1.5}")
    per, full = _run(**kw), _run(periodic_on=False, **kw)
    assert np.isfinite(per["periodic_from"].sel(arm="combination")).all()
    assert _rel_diameter_diff(per, full) < 2e-5


def test_doses_minutes_apart_cost_no_more_steps_and_a_failed_tumour_phase_falls_back_to_the_full_run():
    # ruxolitinib 15 min after neratinib: the tumour's step cap does not depend on the gap (it once was a
    # quarter of it, and 18 months then needed more steps than the solver allows)
    regimen = ("[{drug: neratinib, dose: 240 mg, every: 24 h}, "
               "{drug: ruxolitinib, dose: 15 mg, every: 12 h, start: 15 min}]")
    kw = dict(days=150, size=1, regimen=regimen, rtol=1e-6)
    per, full = _run(**kw), _run(periodic_on=False, **kw)
    assert np.isfinite(per["periodic_from"]).all()
    assert int(per["solver_steps"].sum()) < int(full["solver_steps"].sum())
    assert _rel_diameter_diff(per, full) < 1e-5
    # too few steps allowed for the tumour phase of an untreated patient (5 months at 3 h steps: > 1000):
    # integrated in full instead, where radau5 needs a few dozen steps
    untreated = ("name: untreated\nduration: 180 d\noutput_every: 1 d\n"
                 "solver: {method: radau5, rtol: 1e-6, atol: 1e-8, max_steps: 1000}\narms: [{name: control}]\n")
    ds = run(load_scenario(untreated))
    assert np.isnan(ds["periodic_from"]).all() and (ds["status"] == 0).all()
    reference = run(load_scenario(untreated.replace("max_steps: 1000", "max_steps: 1000, periodic: false")))
    np.testing.assert_array_equal(ds["tumor_diameter"], reference["tumor_diameter"])


def test_patients_that_never_converge_are_integrated_in_full(monkeypatch):
    monkeypatch.setattr(periodic, "CONVERGED_TAIL", -1.0)  # nothing is ever converged ...
    monkeypatch.setattr(periodic, "NO_PROGRESS", math.inf)  # ... nor at a noise floor: the attempts run out
    per, full = _run(days=90, size=2), _run(days=90, size=2, periodic_on=False)
    assert np.isnan(per["periodic_from"]).all()
    for name in ("tumor_diameter", "conc", "pSTAT3"):
        np.testing.assert_array_equal(per[name], full[name])


def test_a_change_at_the_noise_floor_within_the_tolerance_is_accepted(monkeypatch, paths):
    # never converged by the geometric test: accepted once an attempt twice as long stops halving the
    # change over a period (radau5: round-off level, so whether it halves is chance), at the second or
    # third attempt; the others are integrated in full
    monkeypatch.setattr(periodic, "CONVERGED_TAIL", -1.0)
    per = _run()
    taken = per["periodic_from"].values[np.isfinite(per["periodic_from"].values)] / DAY
    assert taken.size >= 4 and np.isin(taken, (42.0, 84.0)).all()
    assert _rel_diameter_diff(per, paths[1]) < 1e-5


def _change(d1, d2, n=18):
    """States at three period starts whose PK and network change by d1 then d2 tolerance units."""
    Yc = np.ones((1, 3, 23))
    Yc[0, 1, :n] += d1 * (1e-8 + 1e-6)
    Yc[0, 2, :n] = Yc[0, 1, :n] + d2 * (1e-8 + 1e-6 * Yc[0, 1, :n])
    return Yc


@pytest.mark.parametrize("d1, d2, left, converged", [
    (0.0, 0.0, 100, True),
    (1.0, 0.005, 100, True),     # geometric tail 0.005 * 0.005 / 0.995
    (1.0, 0.5, 100, False),      # tail 0.5
    (0.1, 0.2, 100, False),      # growing
    (1e-9, 1e-9, 100, True),     # round-off drift: 1e-9 x 100 periods
    (2.0, 1.5, 100, False),      # above the tolerance
])
def test_convergence_test(d1, d2, left, converged):
    ok, change = periodic._convergence(_change(d1, d2), np.full(23, 1e-8), 1e-6, left, range(18))
    assert bool(ok[0]) is converged
    assert change[0] == pytest.approx(d2, rel=0.2, abs=1e-12)


def test_the_result_does_not_depend_on_the_patient_chunks(monkeypatch):
    import pkpd.runner as runner

    whole = _run(days=90, size=3)
    monkeypatch.setattr(runner, "PATIENT_CHUNK", 1)
    np.testing.assert_array_equal(whole["tumor_diameter"], _run(days=90, size=3)["tumor_diameter"])


def test_solver_periodic_must_be_a_boolean_and_pk_a_known_path():
    with pytest.raises(InputError, match="solver.periodic: must be true or false"):
        SolverOptions(periodic="yes")
    with pytest.raises(InputError, match=r"solver.periodic: must be true or false, got nothing \(null\)"):
        SolverOptions(periodic=None)
    with pytest.raises(InputError, match="solver.pk: must be one of auto, ode, closed_form, got 'fast'"):
        SolverOptions(pk="fast")
    assert SolverOptions(method="radau5").closed_form_pk and not SolverOptions(method="dopri5").closed_form_pk
    assert SolverOptions(method="dopri5", pk="closed_form").closed_form_pk
    assert not SolverOptions(method="rodas3", pk="ode").closed_form_pk
    assert dataclasses.replace(SolverOptions(), periodic=False).periodic is False
    with pytest.raises(ScenarioError, match="solver.periodic"):
        load_scenario(TRIAL.format(days=10, size=1, method="dopri5", rtol=1e-6, atol=1e-8, regimen=COMBINATION,
                                   periodic="maybe", parameters="{}"))
