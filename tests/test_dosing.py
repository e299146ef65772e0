"""One test per dosing behaviour, each against a closed form of the one-compartment model.

Model ``pk1cmt``: dA/dt = -k A + input, k = CL/V.  Closed forms (amounts, mg):
bolus D at t0:           A = D exp(-k (t - t0))
infusion R on [t0, t1]:  A = R/k (1 - exp(-k (t - t0)))                during,
                         A(t1) exp(-k (t - t1))                         after.
Solver rtol 1e-10, atol 1e-12 mg; checked to 1e-8 relative (the global error of an
adaptive solver is a modest multiple of its local tolerance, so 100x rtol is ample).
"""

from __future__ import annotations

import io

import numpy as np
import pytest

from pkpd.data import read_nonmem
from pkpd.dosing import Dose
from pkpd.errors import DataError
from pkpd.models import get_model
from pkpd.simulate import simulate, simulate_data

CL, V = 2.0, 10.0
K = CL / V
TOL = dict(rtol=1e-8, atol=1e-10)
SOLVER = dict(rtol=1e-10, atol=1e-12)
M = get_model("pk1cmt")


def sim(doses, t, **kw):
    return simulate(M, doses, t, params=dict(CL=CL, V=V), solver=SOLVER, **kw)["CENT"].values


def bolus(D, t0, t):
    return np.where(t >= t0, D * np.exp(-K * np.clip(t - t0, 0, None)), 0.0)


def infusion(R, t0, dur, t):
    t1 = t0 + dur
    during = R / K * (1 - np.exp(-K * np.clip(t - t0, 0, None)))
    a1 = R / K * (1 - np.exp(-K * dur))
    return np.where(t < t0, 0.0, np.where(t <= t1, during, a1 * np.exp(-K * (t - t1))))


T = np.linspace(0, 72, 289)


def test_bolus():
    np.testing.assert_allclose(sim([Dose(0, 100, 1)], T), bolus(100, 0, T), **TOL)


def test_infusion_ends_on_time():
    # 100 mg at 25 mg/h: 4 h long; the amount peaks exactly at 4 h and then decays.
    a = sim([Dose(0, 100, 1, rate=25)], T)
    np.testing.assert_allclose(a, infusion(25, 0, 4, T), **TOL)
    assert T[np.argmax(a)] == 4.0


def test_infusion_longer_than_interval_overlaps():
    # 3 infusions of 12 h every 8 h: the rates add where they overlap.
    a = sim([Dose(0, 120, 1, rate=10, ii=8, addl=2)], T)
    expected = sum(infusion(10, 8 * k, 12, T) for k in range(3))
    np.testing.assert_allclose(a, expected, **TOL)


def test_addl_equals_explicit_doses():
    a = sim([Dose(0, 50, 1, ii=12, addl=4)], T)
    b = sim([Dose(12 * k, 50, 1) for k in range(5)], T)
    np.testing.assert_allclose(a, b, **TOL)
    np.testing.assert_allclose(a, sum(bolus(50, 12 * k, T) for k in range(5)), **TOL)


def test_steady_state_bolus():
    # SS=1: infinitely many 100 mg doses every 12 h; trough before the next dose
    # is D exp(-k tau) / (1 - exp(-k tau)); the dose record reports the peak.
    tau = 12.0
    t = np.array([0.0, 6.0, 12.0])
    a = sim([Dose(0, 100, 1, ii=tau, ss=1)], t)
    peak = 100 / (1 - np.exp(-K * tau))
    np.testing.assert_allclose(a, [peak, peak * np.exp(-K * 6), peak * np.exp(-K * 12)], **TOL)


def test_steady_state_infusion_overlapping():
    # SS infusion of 20 h every 8 h: at steady state the rate averages to R*dur/tau;
    # the mean amount over an interval is (R*dur/tau)/k.
    t = np.linspace(0, 8, 801)
    a = sim([Dose(0, 200, 1, rate=10, ii=8, ss=1)], t)
    mean = np.trapezoid(a, t) / 8
    np.testing.assert_allclose(mean, 10 * 20 / 8 / K, rtol=1e-6)  # trapezoid on 0.01 h grid
    np.testing.assert_allclose(a[0], a[-1], rtol=1e-8)  # periodic


def test_lag_time_shifts_the_dose():
    t = np.linspace(0, 48, 193)
    a = simulate(M, [Dose(0, 100, 1)], t, params=dict(CL=CL, V=V), solver=SOLVER,
                 dose_modifiers=lambda rec, p: dict(ALAG=np.full(len(rec["time"]), 2.5)))["CENT"].values
    np.testing.assert_allclose(a, bolus(100, 2.5, t), **TOL)


def test_bioavailability_scales_amount_and_infusion_duration():
    t = np.linspace(0, 48, 193)
    F = lambda rec, p: dict(F=np.full(len(rec["time"]), 0.6))  # noqa: E731
    a = simulate(M, [Dose(0, 100, 1)], t, params=dict(CL=CL, V=V), solver=SOLVER, dose_modifiers=F)["CENT"].values
    np.testing.assert_allclose(a, bolus(60, 0, t), **TOL)
    # an infusion keeps its rate and shortens: 60 mg at 20 mg/h lasts 3 h
    b = simulate(M, [Dose(0, 100, 1, rate=20)], t, params=dict(CL=CL, V=V), solver=SOLVER,
                 dose_modifiers=F)["CENT"].values
    np.testing.assert_allclose(b, infusion(20, 0, 3, t), **TOL)


def test_modeled_duration_and_rate():
    t = np.linspace(0, 24, 97)
    mods = lambda rec, p: dict(D=np.full(len(rec["time"]), 5.0), R=np.full(len(rec["time"]), 8.0))  # noqa: E731
    a = simulate(M, [Dose(0, 100, 1, rate=-2)], t, params=dict(CL=CL, V=V), solver=SOLVER,
                 dose_modifiers=mods)["CENT"].values
    np.testing.assert_allclose(a, infusion(20, 0, 5, t), **TOL)
    b = simulate(M, [Dose(0, 100, 1, rate=-1)], t, params=dict(CL=CL, V=V), solver=SOLVER,
                 dose_modifiers=mods)["CENT"].values
    np.testing.assert_allclose(b, infusion(8, 0, 12.5, t), **TOL)


def test_reset_clears_state_infusions_and_pending_doses():
    # a 10 h infusion and ADDL doses every 12 h from t=0; reset at 5 h stops all of it,
    # then a bolus of 30 mg at 20 h is the only input left.
    doses = [Dose(0, 100, 1, rate=10, ii=12, addl=3), Dose(5, 0, 1, evid=3), Dose(20, 30, 1)]
    t = np.array([4.0, 5.0, 6.0, 12.0, 19.0, 20.0, 30.0])
    a = sim(doses, t)
    expected = np.where(t < 5, infusion(10, 0, 10, t), 0.0) + bolus(30, 20, t)
    np.testing.assert_allclose(a, expected, **TOL)


def test_output_at_dose_time_sees_the_dose():
    a = sim([Dose(10, 100, 1)], np.array([10.0]))
    np.testing.assert_allclose(a, [100.0], rtol=1e-12)


def test_output_times_do_not_change_the_solution():
    doses = [Dose(0, 100, 1, rate=7, ii=24, addl=2), Dose(3, 40, 1, ii=11, addl=5)]
    coarse = sim(doses, np.array([71.0]))
    fine = sim(doses, np.linspace(0, 71, 7101))
    assert coarse[-1] == fine[-1]  # bitwise: outputs are read from the dense output


DATA_OK = "ID,TIME,EVID,AMT,CMT,RATE,II,ADDL,SS\n1,0,1,100,1,0,12,1,0\n1,1,0,0,1,0,0,0,0\n"


@pytest.mark.parametrize("text, message", [
    ("ID,TIME,AMT\n1,0,100\n", "column CMT: required column missing"),
    ("ID,TIME,AMT,CMT\n1,5,100,1\n1,2,0,1\n", "line 3 (ID 1), TIME: decreases within ID"),
    ("ID,TIME,AMT,CMT\n1,0,-5,1\n", "line 2 (ID 1), AMT: must be >= 0, got -5"),
    ("ID,TIME,AMT,CMT,SS,II\n1,0,100,1,1,0\n", "line 2 (ID 1), II: must be > 0 h for a steady-state dose"),
    ("ID,TIME,AMT,CMT,EVID\n1,0,100,1,7\n", "line 2 (ID 1), EVID: must be 0"),
    ("ID,TIME,AMT,CMT\n1,0,abc,1\n", "line 2, AMT: must be a number"),
])
def test_bad_data_sets_name_line_and_column(text, message):
    with pytest.raises(DataError) as err:
        read_nonmem(io.StringIO(text))
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_unknown_compartment_is_an_error_before_simulating():
    data = read_nonmem(io.StringIO("ID,TIME,AMT,CMT\n1,0,100,3\n1,1,0,1\n"))
    with pytest.raises(DataError, match=r"line 2 \(ID 1\), CMT: must be 1..1 for model pk1cmt"):
        simulate_data(M, data)


def test_data_set_round_trip():
    ds = simulate_data(M, read_nonmem(io.StringIO(DATA_OK)), params=dict(CL=CL, V=V), solver=SOLVER)
    np.testing.assert_allclose(ds["CENT"].values, [100.0, 100 * np.exp(-K)], rtol=1e-8)
