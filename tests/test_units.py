"""Tests of pkpd.units: quantity parsing, its errors, and the mass/mole conversions."""

import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

from pkpd.errors import InputError
from pkpd.units import (
    DAYS_PER_MONTH,
    DAYS_PER_YEAR,
    KINDS,
    UNITS,
    amount_to_concentration_nm,
    format_quantity,
    free_to_total,
    mg_per_l_to_nm,
    mg_to_nmol,
    ng_per_ml_to_nm,
    nm_to_mg_per_l,
    nm_to_ng_per_ml,
    nmol_to_mg,
    parse_quantity,
    total_to_free,
    unit_factor,
    unit_kind,
)

MW_NERATINIB = 557.04  # g/mol, free base
MW_RUXOLITINIB = 306.37  # g/mol, free base

# --------------------------------------------------------------------------- accepted forms

ACCEPTED = [
    # amounts (mg)
    ("240 mg", "amount", 240.0),
    ("0.24 g", "amount", 240.0),
    ("240000 ug", "amount", 240.0),
    ("240000 µg", "amount", 240.0),  # micro sign U+00B5
    ("240000 μg", "amount", 240.0),  # Greek mu U+03BC
    ("240000 mcg", "amount", 240.0),
    ("240000000 ng", "amount", 240.0),
    ("0.00024 kg", "amount", 240.0),
    ("240mg", "amount", 240.0),
    ("  240   MG ", "amount", 240.0),
    ("2.4e2 mg", "amount", 240.0),
    ("240", "amount", 240.0),
    (240, "amount", 240.0),
    (240.0, "amount", 240.0),
    (np.float64(240.0), "amount", 240.0),
    (np.int64(240), "amount", 240.0),
    # times (h)
    ("12 h", "time", 12.0),
    ("12 hr", "time", 12.0),
    ("12 hrs", "time", 12.0),
    ("12 hour", "time", 12.0),
    ("12 hours", "time", 12.0),
    ("12 H", "time", 12.0),
    ("30 min", "time", 0.5),
    ("30 minutes", "time", 0.5),
    ("1800 s", "time", 0.5),
    ("1800 sec", "time", 0.5),
    ("7 d", "time", 168.0),
    ("7 day", "time", 168.0),
    ("7 days", "time", 168.0),
    ("7 Days", "time", 168.0),
    ("1 wk", "time", 168.0),
    ("8 weeks", "time", 1344.0),
    ("18 months", "time", 18 * 30.4375 * 24),
    ("1 month", "time", 730.5),
    ("1 mo", "time", 730.5),
    ("1 year", "time", 8766.0),
    ("2 yr", "time", 2 * 8766.0),
    ("1344 h", "time", 1344.0),
    ("1344", "time", 1344.0),
    (1344, "time", 1344.0),
    (".5 h", "time", 0.5),
    ("0 h", "time", 0.0),
    # volumes (L)
    ("72 L", "volume", 72.0),
    ("500 mL", "volume", 0.5),
    ("500 ml", "volume", 0.5),
    ("5 dL", "volume", 0.5),
    ("500000 uL", "volume", 0.5),
    # clearances (L/h)
    ("250 L/h", "clearance", 250.0),
    ("250 L / h", "clearance", 250.0),
    ("4.2 L/min", "clearance", 252.0),
    ("1000 mL/min", "clearance", 60.0),
    ("480 L/d", "clearance", 20.0),
    ("20 L per h", "clearance", 20.0),
    # rate constants (1/h)
    ("0.5 1/h", "rate_constant", 0.5),
    ("0.5 /h", "rate_constant", 0.5),
    ("0.5/h", "rate_constant", 0.5),
    ("0.5 h-1", "rate_constant", 0.5),
    ("0.5 h^-1", "rate_constant", 0.5),
    ("0.5 h⁻¹", "rate_constant", 0.5),
    ("0.5 per h", "rate_constant", 0.5),
    ("1/d", "rate_constant", 1 / 24),
    ("24 1/d", "rate_constant", 1.0),
    ("0.5 1/min", "rate_constant", 30.0),
    # infusion rates (mg/h)
    ("10 mg/h", "infusion_rate", 10.0),
    ("100 ug/min", "infusion_rate", 6.0),
    ("2 mg per h", "infusion_rate", 2.0),
    # molar concentrations (nM)
    ("100 nM", "concentration", 100.0),
    ("1 uM", "concentration", 1000.0),
    ("1 µM", "concentration", 1000.0),
    ("1 mM", "concentration", 1e6),
    ("1 M", "concentration", 1e9),
    ("500 pM", "concentration", 0.5),
    ("5 nmol/L", "concentration", 5.0),
    ("5 pmol/mL", "concentration", 5.0),
    ("100", "concentration", 100.0),
    # mass concentrations (mg/L)
    ("60 ng/mL", "mass_concentration", 0.06),
    ("60 ug/L", "mass_concentration", 0.06),
    ("2 mg/L", "mass_concentration", 2.0),
    # dimensionless
    ("0.03", "dimensionless", 0.03),
    (0.03, "dimensionless", 0.03),
    ("3 %", "dimensionless", 0.03),
    ("3%", "dimensionless", 0.03),
]


@pytest.mark.parametrize("value, kind, expected", ACCEPTED)
def test_accepted_forms(value, kind, expected):
    assert parse_quantity(value, kind, "x") == pytest.approx(expected, rel=1e-12)


def test_calendar_conventions():
    assert DAYS_PER_MONTH == 30.4375
    assert DAYS_PER_YEAR == 365.25
    assert parse_quantity("12 months", "time", "t") == parse_quantity("1 year", "time", "t")


def test_mass_concentration_to_nm_needs_and_uses_mw():
    c = parse_quantity("60 ng/mL", "concentration", "c", mw_g_per_mol=MW_NERATINIB)
    assert c == pytest.approx(60 * 1e3 / MW_NERATINIB)
    assert parse_quantity("1 ng/mL", "concentration", "c", mw_g_per_mol=MW_NERATINIB) == pytest.approx(1.795, abs=5e-4)
    # molar units do not need the MW even when one is given
    assert parse_quantity("100 nM", "concentration", "c", mw_g_per_mol=MW_NERATINIB) == 100.0


def test_molar_to_mass_concentration_with_mw():
    c = parse_quantity("1795.2 nM", "mass_concentration", "c", mw_g_per_mol=MW_NERATINIB)
    assert c == pytest.approx(1.0, rel=1e-4)  # mg/L


def test_require_sign():
    assert parse_quantity("-5 h", "time", "t", require=None) == -5.0
    assert parse_quantity("0 mg", "amount", "d") == 0.0
    with pytest.raises(InputError, match=r"^d: must be > 0 mg, got 0 mg$"):
        parse_quantity("0 mg", "amount", "d", require="> 0")
    with pytest.raises(InputError, match=r"^fu: must be >= 0, got -3 %$"):
        parse_quantity("-3 %", "dimensionless", "fu")


# --------------------------------------------------------------------------- errors

ERRORS = [
    # wrong kind
    ("240 h", "amount", "arms[2].regimen[0].dose",
     "arms[2].regimen[0].dose: 'h' is a time unit, expected an amount (mass) in ng, ug (µg, mcg), mg, g, kg, got 240 h"),
    ("12 mg", "time", "every",
     "every: 'mg' is a mass unit, expected a time in s, min, h, d, week, month (30.4375 d), year (365.25 d), "
     "got 12 mg"),
    ("20 L/h", "rate_constant", "ka", None),
    ("0.5 1/h", "clearance", "CL", None),
    ("10 mg/h", "amount", "dose", None),
    ("72 L", "concentration", "c", None),
    # unknown unit
    ("12 hx", "time", "every",
     "every: unknown unit 'hx'; expected a time in s, min, h, d, week, month (30.4375 d), year (365.25 d), got 12 hx"),
    ("240 mgs", "amount", "dose", None),
    ("5 nm", "concentration", "c", None),
    ("1 L/h/h", "clearance", "CL", None),
    # negative
    ("-5 mg", "amount", "arms[2].regimen[0].dose", "arms[2].regimen[0].dose: must be >= 0 mg, got -5 mg"),
    (-5, "amount", "dose", "dose: must be >= 0 mg, got -5"),
    # non-finite
    ("nan mg", "amount", "dose", "dose: must be a finite number, got nan mg"),
    ("inf h", "time", "t", "t: must be a finite number, got inf h"),
    (float("nan"), "time", "t", "t: must be a finite number, got nan"),
    (float("inf"), "time", "t", "t: must be a finite number, got inf"),
    (-math.inf, "time", "t", None),
    # bool and None
    (True, "amount", "dose", "dose: must be an amount (mass) such as '240 mg', not a boolean, got True"),
    (np.bool_(False), "time", "t", None),
    (None, "amount", "dose", "dose: is empty; expected an amount (mass) such as '240 mg'"),
    # junk
    ("abc", "amount", "dose",
     "dose: cannot read 'abc' as an amount (mass); write a number and a unit such as '240 mg'"),
    ("", "time", "t", None),
    ("mg 240", "amount", "dose", None),
    ("1,000 mg", "amount", "dose", None),
    ([240], "amount", "dose", "dose: must be an amount (mass) such as '240 mg', not a list, got [240]"),
    ({"value": 240}, "amount", "dose", None),
]


@pytest.mark.parametrize("value, kind, path, message", ERRORS)
def test_errors(value, kind, path, message):
    with pytest.raises(InputError) as info:
        parse_quantity(value, kind, path)
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith(f"{path}: ")
    assert info.value.path == path
    if message is not None:
        assert text == message


def test_wrong_kind_names_the_kind_and_lists_units():
    with pytest.raises(InputError, match=r"'L/h' is a clearance unit, expected a rate constant in 1/time"):
        parse_quantity("20 L/h", "rate_constant", "ka")


def test_lowercase_molar_unit_gets_a_hint():
    with pytest.raises(InputError, match="did you mean 'nM'"):
        parse_quantity("5 nm", "concentration", "c")


def test_mass_concentration_without_mw_is_an_error():
    with pytest.raises(InputError, match=r"^c: 'ng/mL' converts to nM only with the drug's molecular weight"):
        parse_quantity("60 ng/mL", "concentration", "c")


def test_unknown_kind_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown kind"):
        parse_quantity("1 h", "duration", "t")


@pytest.mark.parametrize("mw", [0, -1.0, float("nan"), float("inf"), True, "557"])
def test_bad_molecular_weight(mw):
    with pytest.raises(InputError, match="mw_g_per_mol"):
        ng_per_ml_to_nm(1.0, mw)


@pytest.mark.parametrize("fu", [0.0, -0.1, 1.5, float("nan"), True])
def test_bad_fraction_unbound(fu):
    with pytest.raises(InputError, match=r"^fu: must be an unbound fraction in \(0, 1\]"):
        total_to_free(100.0, fu)


# --------------------------------------------------------------------------- factors and kinds


def test_unit_factor():
    assert unit_factor("ug", "amount") == 1e-3
    assert unit_factor("L/min", "clearance") == 60.0
    assert unit_factor("d", "time") == 24.0
    assert unit_factor("ng/mL", "concentration", mw_g_per_mol=MW_NERATINIB) == pytest.approx(1.7952, rel=1e-4)
    with pytest.raises(InputError, match=r"^Vc: 'h' is a time unit, expected a volume"):
        unit_factor("h", "volume", "Vc")


@pytest.mark.parametrize("unit, kind", [
    ("h", "time"), ("min", "time"), ("mg", "amount"), ("nmol", "molar_amount"), ("L", "volume"),
    ("nM", "concentration"), ("nmol/L", "concentration"), ("ng/mL", "mass_concentration"),
    ("mg/L", "mass_concentration"), ("L/h", "clearance"), ("1/h", "rate_constant"),
    ("/d", "rate_constant"), ("mg/h", "infusion_rate"), ("", "dimensionless"), ("1", "dimensionless"),
])
def test_unit_kind(unit, kind):
    assert unit_kind(unit) == kind


def test_unit_kind_unknown():
    with pytest.raises(InputError, match=r"^unit: unknown unit 'furlong'"):
        unit_kind("furlong")


def test_units_table_and_format():
    assert set(UNITS) == set(KINDS)
    assert UNITS["time"] == "h" and UNITS["amount"] == "mg" and UNITS["concentration"] == "nM"
    assert UNITS["clearance"] == "L/h" and UNITS["rate_constant"] == "1/h" and UNITS["infusion_rate"] == "mg/h"
    for kind, unit in UNITS.items():
        # every base unit parses as its own kind with factor 1
        assert unit_factor("" if unit == "1" else unit, kind) == 1.0
    assert format_quantity(336.0, "time") == "336 h"
    assert format_quantity(240.0, "amount") == "240 mg"
    assert format_quantity(0.03, "dimensionless") == "0.03"


# --------------------------------------------------------------------------- conversions


def test_ng_per_ml_nm_neratinib_and_ruxolitinib():
    assert ng_per_ml_to_nm(1.0, MW_NERATINIB) == pytest.approx(1.795, abs=5e-4)
    assert ng_per_ml_to_nm(1.0, MW_RUXOLITINIB) == pytest.approx(3.264, abs=5e-4)
    assert nm_to_ng_per_ml(1.795, MW_NERATINIB) == pytest.approx(1.0, abs=1e-3)


def test_conversions_work_on_arrays():
    c = np.array([0.0, 1.0, 60.0])
    np.testing.assert_allclose(nm_to_ng_per_ml(ng_per_ml_to_nm(c, MW_NERATINIB), MW_NERATINIB), c)
    np.testing.assert_allclose(mg_to_nmol(c, 1e6), c)  # MW 10^6 g/mol: 1 mg = 1 nmol


def test_amount_and_concentration():
    # 1 mg of a 1000 g/mol drug = 1 umol = 1000 nmol
    assert mg_to_nmol(1.0, 1000.0) == pytest.approx(1000.0)
    assert nmol_to_mg(1000.0, 1000.0) == pytest.approx(1.0)
    # 240 mg in 100 L = 2.4 mg/L = 2.4e6/557.04 nM
    assert amount_to_concentration_nm(240.0, 100.0, MW_NERATINIB) == pytest.approx(2.4e6 / MW_NERATINIB)
    assert mg_per_l_to_nm(2.4, MW_NERATINIB) == pytest.approx(amount_to_concentration_nm(240.0, 100.0, MW_NERATINIB))
    assert nm_to_mg_per_l(mg_per_l_to_nm(2.4, MW_NERATINIB), MW_NERATINIB) == pytest.approx(2.4)
    with pytest.raises(InputError, match=r"^volume: must be > 0 L"):
        amount_to_concentration_nm(240.0, 0.0, MW_NERATINIB)


def test_free_and_total():
    assert total_to_free(272.0, 0.03) == pytest.approx(8.16)
    assert free_to_total(total_to_free(272.0, 0.03), 0.03) == pytest.approx(272.0)
    assert total_to_free(5.0, 1.0) == 5.0


# --------------------------------------------------------------------------- properties

_UNITS_BY_KIND = {
    "time": {"s": 1 / 3600, "min": 1 / 60, "h": 1.0, "d": 24.0, "weeks": 168.0, "months": 730.5, "years": 8766.0},
    "amount": {"ng": 1e-6, "ug": 1e-3, "µg": 1e-3, "mg": 1.0, "g": 1e3},
    "clearance": {"L/h": 1.0, "L/min": 60.0, "mL/min": 0.06, "L/d": 1 / 24},
    "rate_constant": {"1/h": 1.0, "/h": 1.0, "h-1": 1.0, "1/d": 1 / 24, "1/min": 60.0},
    "concentration": {"pM": 1e-3, "nM": 1.0, "uM": 1e3, "nmol/L": 1.0},
}


@given(
    x=st.floats(min_value=0, max_value=1e9, allow_nan=False),
    kind_unit=st.sampled_from([(k, u) for k, us in _UNITS_BY_KIND.items() for u in us]),
)
def test_parse_is_number_times_factor(x, kind_unit):
    kind, unit = kind_unit
    text = f"{x!r} {unit}"
    assert parse_quantity(text, kind, "q") == pytest.approx(x * _UNITS_BY_KIND[kind][unit], rel=1e-12)


@given(
    c=st.floats(min_value=0, max_value=1e6, allow_nan=False),
    mw=st.floats(min_value=50, max_value=5000, allow_nan=False),
)
def test_conversion_round_trips(c, mw):
    assert nm_to_ng_per_ml(ng_per_ml_to_nm(c, mw), mw) == pytest.approx(c, rel=1e-12, abs=1e-300)
    assert nmol_to_mg(mg_to_nmol(c, mw), mw) == pytest.approx(c, rel=1e-12, abs=1e-300)
    assert nm_to_mg_per_l(mg_per_l_to_nm(c, mw), mw) == pytest.approx(c, rel=1e-12, abs=1e-300)
    # ng/mL and mg/L differ by exactly 1000
    assert ng_per_ml_to_nm(c, mw) == pytest.approx(mg_per_l_to_nm(c / 1000.0, mw), rel=1e-12, abs=1e-300)


def test_docstring_examples():
    import doctest

    import pkpd.units

    assert doctest.testmod(pkpd.units).failed == 0
