"""Tests of pkpd.regimens: one behaviour per test, then every error, then a property test."""

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from pkpd.dosing import Dose
from pkpd.errors import InputError
from pkpd.regimens import (
    MAX_DOSES,
    TIME_TOL_H,
    DoseStep,
    Hold,
    Reduction,
    Regimen,
    regimen_from_dict,
)

DAY = 24.0
WEEK = 7 * DAY


def times(regimen, end_h, **kw):
    return [d.time for d in regimen.to_doses(cmt=1, end_h=end_h, **kw)]


def amounts(regimen, end_h, **kw):
    return [d.amt for d in regimen.to_doses(cmt=1, end_h=end_h, **kw)]


# --------------------------------------------------------------------------- basic schedules


def test_once_daily_for_8_weeks_is_56_doses():
    doses = Regimen.once_daily(240.0).to_doses(cmt=1, end_h=8 * WEEK)
    assert len(doses) == 56
    assert [d.time for d in doses] == [24.0 * k for k in range(56)]
    assert all(d.amt == 240.0 for d in doses)


def test_dose_records_are_plain_boluses():
    d = Regimen.once_daily(240.0).to_doses(cmt=2, end_h=1.0)[0]
    assert d == Dose(time=0.0, amt=240.0, cmt=2, rate=0.0, ii=0.0, addl=0, ss=0, evid=1)


def test_twice_daily():
    assert times(Regimen.twice_daily("15 mg"), DAY * 2) == [0.0, 12.0, 24.0, 36.0]


def test_every_accepts_quantities_and_frequencies():
    a = Regimen.every("0.24 g", "1 d", start_h="7 d", count=3)
    b = regimen_from_dict({"drug": "x", "dose": 240, "every": "QD", "start": 168, "count": 3})
    assert times(a, 1e4) == times(b, 1e4) == [168.0, 192.0, 216.0]
    assert regimen_from_dict({"drug": "x", "dose": 1, "every": "bid"}).interval_h == 12.0
    assert regimen_from_dict({"drug": "x", "dose": 1, "every": "QW"}).interval_h == 168.0


def test_end_of_simulation_is_exclusive():
    r = Regimen.once_daily(240.0)
    assert times(r, 48.0) == [0.0, 24.0]
    assert times(r, 48.0 + 1e-3) == [0.0, 24.0, 48.0]


def test_until_is_exclusive():
    r = Regimen.once_daily(240.0, until_h="8 weeks")
    assert len(r.to_doses(1, 1e5)) == 56
    assert times(Regimen.once_daily(1.0, until_h=49.0), 1e3) == [0.0, 24.0, 48.0]
    assert times(Regimen.once_daily(1.0, until_h=48.0), 1e3) == [0.0, 24.0]


def test_count():
    r = Regimen.twice_daily(15.0, count=5)
    assert times(r, 1e3) == [0.0, 12.0, 24.0, 36.0, 48.0]
    assert times(r, 30.0) == [0.0, 12.0, 24.0]  # the simulation ends first


def test_lead_in_start():
    r = regimen_from_dict({"drug": "neratinib", "dose": "240 mg", "every": "24 h", "start": "7 d", "count": 10})
    assert times(r, 1e4) == [168.0 + 24.0 * k for k in range(10)]
    assert times(Regimen.once_daily(1.0).starting_at("2 d"), 4 * DAY) == [48.0, 72.0]
    assert times(Regimen.once_daily(1.0, start_h=100.0), 50.0) == []


def test_doses_sorted_and_times_exact_multiples():
    # computed as start + j * interval, so no drift accumulates over a year of BID dosing
    t = times(Regimen.every(1.0, 0.1), 1000.0)
    assert t == sorted(t)
    assert len(t) == 10000
    assert t[-1] == 9999 * 0.1


# --------------------------------------------------------------------------- holiday cycles


def test_holidays_21_on_7_off_bid():
    r = regimen_from_dict({"drug": "ruxolitinib", "dose": "15 mg", "every": "12 h", "on": "21 d", "off": "7 d"})
    t = times(r, 8 * WEEK)
    assert len(t) == 84  # 42 per 28-day cycle
    assert t[:42] == [12.0 * k for k in range(42)]
    assert t[41] == 21 * DAY - 12.0
    assert t[42] == 28 * DAY  # second cycle starts on day 29
    assert not any(21 * DAY <= x < 28 * DAY for x in t)


def test_holidays_5_on_2_off():
    r = Regimen.once_daily(240.0).with_holiday("5 d", "2 d")
    days = [x / DAY for x in times(r, 4 * WEEK)]
    assert len(days) == 20
    assert days[:7] == [0, 1, 2, 3, 4, 7, 8]


def test_each_cycle_restarts_on_its_first_day():
    # 10 h interval, 1 d on / 1 d off: doses at 0, 10, 20 then 48, 58, 68 (not 50, 60, 70)
    r = Regimen.every(1.0, 10.0).with_holiday(24.0, 24.0)
    assert times(r, 96.0) == [0.0, 10.0, 20.0, 48.0, 58.0, 68.0]


def test_holiday_cycles_start_at_start():
    r = Regimen.once_daily(1.0, start_h=WEEK).with_holiday("2 d", "1 d")
    assert [x / DAY for x in times(r, 14 * DAY)] == [7, 8, 10, 11, 13]


def test_count_with_holidays_counts_given_doses_of_the_cycles():
    r = Regimen.once_daily(1.0, count=7).with_holiday("5 d", "2 d")
    assert [x / DAY for x in times(r, 1e4)] == [0, 1, 2, 3, 4, 7, 8]


# --------------------------------------------------------------------------- escalation


def test_control_escalation_by_day():
    r = Regimen.control_escalation()
    doses = r.to_doses(1, 8 * WEEK)
    by_day = {round(d.time / DAY): d.amt for d in doses}
    assert len(doses) == 56
    # clinical days 1-7 (elapsed 0-6): 120 mg; days 8-14: 160 mg; from day 15: 240 mg
    assert all(by_day[k] == 120.0 for k in range(0, 7))
    assert all(by_day[k] == 160.0 for k in range(7, 14))
    assert all(by_day[k] == 240.0 for k in range(14, 56))
    assert r.drug == "neratinib"


def test_control_escalation_shorthand_equals_explicit_steps():
    explicit = regimen_from_dict({
        "drug": "neratinib",
        "escalation": [{"dose": "120 mg", "days": 7}, {"dose": "160 mg", "days": 7}, {"dose": "240 mg"}],
        "every": "24 h",
    })
    shorthand = regimen_from_dict({"drug": "neratinib", "schedule": "control_escalation"})
    assert explicit == shorthand == Regimen.control_escalation()
    with_every = regimen_from_dict({"drug": "neratinib", "schedule": "control_escalation", "every": "QD"})
    assert with_every == shorthand


def test_escalation_counts_from_start():
    r = Regimen.control_escalation(start_h="7 d")
    doses = r.to_doses(1, 5 * WEEK)
    assert doses[0].time == WEEK
    assert [d.amt for d in doses[:15]] == [120.0] * 7 + [160.0] * 7 + [240.0]


def test_escalation_days_as_time_and_bid():
    r = regimen_from_dict({"drug": "x", "every": "12 h",
                           "escalation": [{"dose": "5 mg", "days": "1 week"}, {"dose": "10 mg"}]})
    a = amounts(r, 2 * WEEK)
    assert a == [5.0] * 14 + [10.0] * 14


# --------------------------------------------------------------------------- holds, reductions, missed


def test_hold_skips_doses_half_open():
    r = regimen_from_dict({"drug": "x", "dose": "240 mg", "every": "24 h", "hold": {"from": "14 d", "to": "21 d"}})
    days = [round(x / DAY) for x in times(r, 4 * WEEK)]
    assert days == list(range(0, 14)) + list(range(21, 28))  # day 14 held, day 21 given


def test_several_holds_may_overlap():
    r = Regimen.once_daily(1.0).with_hold("1 d", "3 d").with_hold("2 d", "4 d").with_hold("6 d", "7 d")
    assert [x / DAY for x in times(r, 8 * DAY)] == [0, 4, 5, 7]


def test_hold_does_not_postpone_or_renumber():
    r = regimen_from_dict({"drug": "x", "dose": 1, "every": 24, "count": 6,
                           "hold": {"from": 24, "to": 72}, "missed": [4]})
    # planned 1..6 at 0..120 h; 2 and 3 held, 4 missed: given 1, 5, 6
    assert times(r, 1e4) == [0.0, 96.0, 120.0]


def test_reduction_from_a_day():
    r = regimen_from_dict({"drug": "neratinib", "dose": "240 mg", "every": "24 h",
                           "reduce": {"from": "28 d", "dose": "160 mg"}})
    by_day = {round(d.time / DAY): d.amt for d in r.to_doses(1, 6 * WEEK)}
    assert all(by_day[k] == 240.0 for k in range(28))
    assert all(by_day[k] == 160.0 for k in range(28, 42))


def test_reductions_in_sequence_override_escalation():
    r = (Regimen.control_escalation()
         .with_reduction("10 d", 200.0)
         .with_reduction("20 d", 120.0))
    by_day = {round(d.time / DAY): d.amt for d in r.to_doses(1, 4 * WEEK)}
    assert by_day[6] == 120.0 and by_day[9] == 160.0
    assert by_day[10] == by_day[19] == 200.0  # 200 mg even during the 240 mg step
    assert by_day[20] == by_day[27] == 120.0


def test_missed_dose_numbers_and_times():
    r = regimen_from_dict({"drug": "x", "dose": "15 mg", "every": "12 h", "missed": [3, 7, "60 h"]})
    assert times(r, 96.0) == [0.0, 12.0, 36.0, 48.0, 84.0]
    m = regimen_from_dict({"drug": "x", "dose": "15 mg", "every": "12 h",
                           "missed": {"doses": [3, 7], "times": ["60 h"]}})
    assert m == r


def test_missed_numbers_count_planned_doses_across_cycles():
    # numbers follow the planned schedule after holiday cycles: dose 6 is the first of cycle 2
    r = Regimen.once_daily(1.0).with_holiday("5 d", "2 d").with_missed(doses=[6])
    assert [x / DAY for x in times(r, 2 * WEEK)] == [0, 1, 2, 3, 4, 8, 9, 10, 11]


def test_random_missed_doses_are_reproducible():
    r = regimen_from_dict({"drug": "x", "dose": 1, "every": 24, "missed": {"probability": 0.3}})
    a = times(r, 1000 * DAY, rng=np.random.default_rng(7))
    b = times(r, 1000 * DAY, rng=np.random.default_rng(7))
    assert a == b
    assert 600 < len(a) < 800  # binomial(1000, 0.7): mean 700, sd 14.5


def test_random_draws_do_not_depend_on_holds():
    r = Regimen.once_daily(1.0).with_missed(probability=0.5)
    free = set(times(r, 60 * DAY, rng=np.random.default_rng(1)))
    held = set(times(r.with_hold("10 d", "20 d"), 60 * DAY, rng=np.random.default_rng(1)))
    assert held == {t for t in free if not 240.0 <= t < 480.0}


def test_random_missed_needs_rng():
    r = Regimen.once_daily(1.0).with_missed(probability=0.1)
    with pytest.raises(InputError, match=r"^regimen.missed.probability: needs a random generator"):
        r.to_doses(1, 100.0)


# --------------------------------------------------------------------------- records


def test_regimen_is_frozen_and_normalised():
    r = Regimen.every("240 mg", "1 d", start_h="2 d", until_h="4 weeks")
    assert (r.steps[0].dose_mg, r.interval_h, r.start_h, r.until_h) == (240.0, 24.0, 48.0, 672.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.interval_h = 12.0
    assert hash(r) == hash(Regimen.every(240, 24, start_h=48, until_h=672))


def test_direct_construction_with_records():
    r = Regimen(steps=[DoseStep(100.0, "2 d"), DoseStep(200.0)], interval_h=24.0,
                holds=[Hold(24.0, 48.0)], reductions=[Reduction("3 d", 50.0)])
    assert amounts(r, 4 * DAY) == [100.0, 200.0, 50.0]


def test_describe():
    r = regimen_from_dict({"drug": "ruxolitinib", "dose": "15 mg", "every": "12 h", "on": "21 d", "off": "7 d"})
    assert r.describe() == "ruxolitinib 15 mg every 12 h from 0 h, cycles of 21 d on / 7 d off"
    assert Regimen.control_escalation().describe() == (
        "neratinib 120 mg for 7 d, then 160 mg for 7 d, then 240 mg every 24 h from 0 h")


def test_dose_times_matches_to_doses():
    r = Regimen.control_escalation().with_hold("3 d", "5 d")
    np.testing.assert_array_equal(r.dose_times(20 * DAY), times(r, 20 * DAY))


# --------------------------------------------------------------------------- errors (one line, exact)

P = "arms[2].regimen[0]"
NER = {"drug": "neratinib", "dose": "240 mg", "every": "24 h"}

YAML_ERRORS = [
    ({**NER, "dose": "-5 mg"}, f"{P}.dose: must be > 0 mg, got -5 mg"),
    ({**NER, "dose": 0}, f"{P}.dose: must be > 0 mg, got 0"),
    ({**NER, "dose": "240 h"},
     f"{P}.dose: 'h' is a time unit, expected an amount (mass) in ng, ug (µg, mcg), mg, g, kg, got 240 h"),
    ({**NER, "dose": None}, f"{P}.dose: is empty; expected an amount (mass) such as '240 mg'"),
    ({**NER, "dose": True}, f"{P}.dose: must be an amount (mass) such as '240 mg', not a boolean, got True"),
    ({**NER, "dose": "nan mg"}, f"{P}.dose: must be a finite number, got nan mg"),
    ({**NER, "every": "12 mg"},
     f"{P}.every: 'mg' is a mass unit, expected a time in s, min, h, d, week, month (30.4375 d), "
     "year (365.25 d); or one of QD, BID, TID, QID, QW, got 12 mg"),
    ({**NER, "every": "0 h"}, f"{P}.every: must be > 0 h; or one of QD, BID, TID, QID, QW, got 0 h"),
    ({**NER, "start": "-1 d"}, f"{P}.start: must be >= 0 h, got -1 d"),
    ({**NER, "count": 0}, f"{P}.count: must be a number of doses, a whole number >= 1, got 0"),
    ({**NER, "count": 2.5}, f"{P}.count: must be a number of doses, a whole number >= 1, got 2.5"),
    ({**NER, "count": True}, f"{P}.count: must be a number of doses, a whole number >= 1, got True"),
    ({**NER, "start": "1 d", "until": "1 d"}, f"{P}.until: must be later than start (1 d), got 1 d"),
    ({**NER, "until": "3 d", "count": 3}, f"{P}: 'count' and 'until' cannot both be given; keep one of them"),
    ({**NER, "on": "21 d"}, f"{P}.off: must be given together with 'on' (holiday cycles)"),
    ({**NER, "off": "7 d"}, f"{P}.on: must be given together with 'off' (holiday cycles)"),
    ({**NER, "on": "0 d", "off": "7 d"}, f"{P}.on: must be > 0 h, got 0 d"),
    ({**NER, "on": "21 d", "off": "7 mg"},
     f"{P}.off: 'mg' is a mass unit, expected a time in s, min, h, d, week, month (30.4375 d), "
     "year (365.25 d), got 7 mg"),
    ({"drug": "neratinib", "dose": "240 mg", "escalation": [{"dose": "1 mg"}], "every": "24 h"},
     f"{P}: 'dose' and 'escalation' cannot be combined; give one of 'dose', 'escalation' or 'schedule'"),
    ({"drug": "neratinib", "every": "24 h"}, f"{P}: needs one of 'dose', 'escalation' or 'schedule'"),
    ({"drug": "neratinib", "dose": "240 mg"}, f"{P}.every: is required: the dosing interval, e.g. 24 h or QD"),
    ({"dose": "240 mg", "every": "24 h"}, f"{P}.drug: is required: the drug's name, e.g. neratinib"),
    ({**NER, "drug": ""}, f"{P}.drug: must be a drug name (a non-empty string), got ''"),
    ({**NER, "drug": 5}, f"{P}.drug: must be a drug name (a non-empty string), got 5"),
    ({**NER, "dosis": "240 mg"},
     f"{P}.dosis: unknown key; valid keys: drug, dose, escalation, schedule, every, start, count, until, "
     "on, off, hold, reduce, missed"),
    ({"drug": "x", "every": "24 h", "escalation": []},
     f"{P}.escalation: must be a non-empty list of steps {{dose, days}}, got []"),
    ({"drug": "x", "every": "24 h", "escalation": [{"dose": "1 mg"}, {"dose": "2 mg"}]},
     f"{P}.escalation[0].days: is required"),
    ({"drug": "x", "every": "24 h", "escalation": [{"dose": "1 mg", "days": 7}, {"dose": "2 mg", "days": 7}]},
     f"{P}.escalation[1].days: the last escalation step lasts until the regimen ends; remove 'days' "
     "(use 'until' or 'count' to end the regimen)"),
    ({"drug": "x", "every": "24 h", "escalation": [{"dose": "1 mg", "days": 0}, {"dose": "2 mg"}]},
     f"{P}.escalation[0].days: must be a number of days > 0, got 0"),
    ({"drug": "x", "every": "24 h", "escalation": [{"dose": "-1 mg", "days": 1}, {"dose": "2 mg"}]},
     f"{P}.escalation[0].dose: must be > 0 mg, got -1 mg"),
    ({"drug": "x", "every": "24 h", "escalation": [{"dose": "1 mg", "weeks": 1}, {"dose": "2 mg"}]},
     f"{P}.escalation[0].weeks: unknown key; valid keys: dose, days"),
    ({"drug": "x", "schedule": "fast"}, f"{P}.schedule: unknown schedule; valid: control_escalation, got fast"),
    ({"drug": "x", "schedule": "control_escalation", "every": "12 h"},
     f"{P}.every: schedule control_escalation doses every 24 h; remove 'every', got 12 h"),
    ({**NER, "hold": {"from": "21 d", "to": "14 d"}}, f"{P}.hold.to: must be later than from (21 d), got 14 d"),
    ({**NER, "hold": {"from": "21 d"}}, f"{P}.hold.to: is required"),
    ({**NER, "hold": [{"from": "1 d", "to": "2 d"}, {"from": "3 d", "until": "4 d"}]},
     f"{P}.hold[1].until: unknown key; valid keys: from, to"),
    ({**NER, "hold": "day 3"}, f"{P}.hold: must be a mapping or a non-empty list of mappings, got day 3"),
    ({**NER, "reduce": {"from": "28 d", "dose": "0 mg"}}, f"{P}.reduce.dose: must be > 0 mg, got 0 mg"),
    ({**NER, "reduce": [{"from": "28 d", "dose": "160 mg"}, {"from": "14 d", "dose": "120 mg"}]},
     f"{P}.reduce[1].from: must be later than the previous reduction (28 d), got 14 d"),
    ({**NER, "missed": [0]}, f"{P}.missed[0]: must be a dose number, a whole number >= 1, got 0"),
    ({**NER, "missed": [2.0]}, f"{P}.missed[0]: must be a dose number (1, 2, ...) or a time such as '36 h', got 2.0"),
    ({**NER, "count": 5, "missed": [1, 6]}, f"{P}.missed[1]: must be a planned dose number, 1 to 5, got 6"),
    ({**NER, "until": "5 d", "missed": [6]}, f"{P}.missed[0]: must be a planned dose number, 1 to 5, got 6"),
    ({**NER, "missed": ["37 h"]}, f"{P}.missed[0]: no dose is planned at this time (nearest: 24 h, 48 h), got 37 h"),
    ({**NER, "on": "2 d", "off": "1 d", "missed": ["48 h"]},
     f"{P}.missed[0]: no dose is planned at this time (nearest: 24 h, 72 h), got 48 h"),
    ({**NER, "missed": {"times": ["1 mg"]}},
     f"{P}.missed.times[0]: 'mg' is a mass unit, expected a time in s, min, h, d, week, month (30.4375 d), "
     "year (365.25 d), got 1 mg"),
    ({**NER, "missed": {"probability": 1.0}}, f"{P}.missed.probability: must be a probability in [0, 1), got 1.0"),
    ({**NER, "missed": {"chance": 0.1}}, f"{P}.missed.chance: unknown key; valid keys: doses, times, probability"),
    ({**NER, "missed": 3}, f"{P}.missed: must be a list of dose numbers and times, or a mapping "
                           "{doses, times, probability}, got 3"),
    ("neratinib 240 mg QD", f"{P}: must be a mapping with keys drug, dose, escalation, schedule, every, start, "
                            "count, until, on, off, hold, reduce, missed, got neratinib 240 mg QD"),
]


@pytest.mark.parametrize("entry, message", YAML_ERRORS)
def test_yaml_errors(entry, message):
    with pytest.raises(InputError) as info:
        regimen_from_dict(entry, P)
    assert str(info.value) == message


def test_default_path_prefix():
    with pytest.raises(InputError, match=r"^regimen\.dose: must be > 0 mg, got -5$"):
        Regimen.once_daily(-5)


@pytest.mark.parametrize("call, message", [
    (lambda: Regimen.every(240, 0), "regimen.every: must be > 0 h, got 0"),
    (lambda: Regimen.every(240, 24, count=3, until_h=100),
     "regimen: 'count' and 'until' cannot both be given; keep one of them"),
    (lambda: Regimen.escalation([(1, None), (2, None)], 24), "regimen.escalation[0].days: is required for "
                                                            "every escalation step but the last"),
    (lambda: Regimen.escalation([], 24), "regimen.escalation: must hold at least one DoseStep, got ()"),
    (lambda: Regimen.once_daily(1.0).with_hold(48, 24), "regimen.hold[0].to: must be later than from (2 d), got 24"),
    (lambda: Regimen.once_daily(1.0).with_reduction(100, 2).with_reduction(50, 1),
     "regimen.reduce[1].from: must be later than the previous reduction (100 h), got 50 h"),
    (lambda: Regimen.once_daily(1.0).with_missed(doses=[0]),
     "regimen.missed.doses[0]: must be a dose number, a whole number >= 1, got 0"),
    (lambda: Regimen.once_daily(1.0).with_missed(times_h=[1.0]),
     "regimen.missed.times[0]: no dose is planned at this time (nearest: 0 h, 24 h), got 1.0"),
    (lambda: Regimen.once_daily(1.0).with_missed(probability=-0.1),
     "regimen.missed.probability: must be a probability in [0, 1), got -0.1"),
    (lambda: Regimen.once_daily(1.0, drug=""), "regimen.drug: must be a drug name (a non-empty string), got ''"),
    (lambda: Regimen.once_daily(1.0).to_doses(0, 10.0), "cmt: must be a 1-based compartment number >= 1, got 0"),
    (lambda: Regimen.once_daily(1.0).to_doses(1, 0.0), "end: must be > 0 h, got 0.0"),
    (lambda: Regimen.once_daily(1.0).to_doses(1, "1 mg"), None),
])
def test_python_api_errors(call, message):
    with pytest.raises(InputError) as info:
        call()
    if message is not None:
        assert str(info.value) == message


def test_too_many_doses_is_an_error():
    r = regimen_from_dict({"drug": "x", "dose": 1, "every": "1 s"})
    with pytest.raises(InputError, match=rf"^regimen.every: expands to more than {MAX_DOSES} doses"):
        r.to_doses(1, "1 year")


# --------------------------------------------------------------------------- property test


def reference_times(start, interval, on, off, count, until, end, holds):
    """Brute-force expansion with explicit loops, independent of Regimen's vectorised one."""
    stop = min(end, math.inf if until is None else until)
    planned = []
    if on is None:
        j = 0
        while start + j * interval < stop - TIME_TOL_H:
            planned.append(start + j * interval)
            j += 1
    else:
        k = 0
        while start + k * (on + off) < stop - TIME_TOL_H:
            j = 0
            while j == 0 or j * interval < on - TIME_TOL_H:
                t = start + (k * (on + off) + j * interval)
                if t < stop - TIME_TOL_H:
                    planned.append(t)
                j += 1
            k += 1
    if count is not None:
        planned = planned[:count]
    return [t for t in planned if not any(a - TIME_TOL_H <= t < b - TIME_TOL_H for a, b in holds)]


half_hours = st.integers(min_value=1, max_value=96).map(lambda k: k / 2)


@st.composite
def regimens(draw):
    start = draw(st.integers(0, 200)) / 2
    interval = draw(st.one_of(st.sampled_from([6.0, 8.0, 12.0, 24.0, 168.0]), half_hours))
    cycles = draw(st.one_of(st.none(), st.tuples(half_hours.map(lambda h: 4 * h), half_hours.map(lambda h: 4 * h))))
    end_kind = draw(st.sampled_from(["none", "count", "until"]))
    count = draw(st.integers(1, 200)) if end_kind == "count" else None
    until = start + draw(st.integers(1, 4000)) / 2 if end_kind == "until" else None
    holds = []
    for _ in range(draw(st.integers(0, 3))):
        a = draw(st.integers(0, 3000)) / 2
        holds.append((a, a + draw(st.integers(1, 500)) / 2))
    end = draw(st.integers(1, 4000)) / 2
    return start, interval, cycles, count, until, holds, end


@settings(max_examples=300, deadline=None)
@given(regimens())
def test_expansion_matches_brute_force(params):
    start, interval, cycles, count, until, holds, end = params
    on, off = cycles if cycles else (None, None)
    r = Regimen.every(10.0, interval, start_h=start, count=count, until_h=until)
    if cycles:
        r = r.with_holiday(on, off)
    for a, b in holds:
        r = r.with_hold(a, b)
    t = times(r, end)

    assert t == reference_times(start, interval, on, off, count, until, end, holds)
    assert t == sorted(t) and len(set(t)) == len(t)
    limit = min(end, until if until is not None else math.inf)
    assert all(start <= x < limit for x in t)
    assert not any(a <= x < b for x in t for a, b in holds)
    # doses sit on the grid of their cycle: start + k (on + off) + j * interval, j * interval < on
    for x in t:
        offset = x - start
        if cycles:
            offset -= math.floor(offset / (on + off) + 1e-9) * (on + off)
            assert offset < on
        assert abs(offset / interval - round(offset / interval)) < 1e-9


def test_docstring_examples():
    import doctest

    import pkpd.regimens

    assert doctest.testmod(pkpd.regimens).failed == 0
