"""Units: pkpd's internal base units, quantity parsing and the few conversions.

Everything inside pkpd is a plain float in one base unit per kind of quantity:

=====================  =========  ===========================================
kind                   base unit  accepted units (case-insensitive unless noted)
=====================  =========  ===========================================
``time``               h          s, min, h, d, week, month, year (and
                                  spellings such as ``sec``, ``hr``, ``hours``,
                                  ``day``, ``days``, ``wk``, ``weeks``, ``mo``,
                                  ``months``, ``yr``, ``years``)
``amount``             mg         ng, ug (µg, μg, mcg), mg, g, kg
``molar_amount``       nmol       pmol, nmol, umol (µmol), mmol, mol
``volume``             L          uL (µL), mL, dL, L
``concentration``      nM         pM, nM, uM (µM), mM, M (case-sensitive);
                                  molar amount / volume (``nmol/L``);
                                  mass / volume (``ng/mL``, ``mg/L``) only
                                  with a molecular weight
``mass_concentration`` mg/L       mass / volume (``ng/mL``, ``ug/L``);
                                  molar units only with a molecular weight
``clearance``          L/h        volume / time (``L/h``, ``mL/min``, ``L/d``)
``rate_constant``      1/h        1/time, written ``1/h``, ``/h``, ``h-1``,
                                  ``h^-1``, ``h⁻¹`` or ``per h``
``infusion_rate``      mg/h       amount / time (``mg/h``, ``ug/min``)
``dimensionless``      1          a bare number, or ``%`` (3 % = 0.03)
=====================  =========  ===========================================

Calendar lengths are fixed conventions: 1 d = 24 h, 1 week = 7 d,
1 month = 30.4375 d (= 365.25 d / 12, the mean Julian month) and
1 year = 365.25 d (the Julian year).

A quantity is written as a number followed by a unit, ``"240 mg"``,
``"0.24 g"``, ``"30 min"``, ``"4.2 L/min"``; a bare number (int, float or a
numeric string) is already in the base unit, so ``12`` as a time means 12 h.

The conversions between mass and moles go through the molecular weight (MW,
g/mol) of the free base: 1 mg = 10⁶ / MW nmol, and 1 ng/mL = 10³ / MW nM
(1.795 nM for neratinib, MW 557.04 g/mol).  They live here and nowhere else.

This module imports nothing from pkpd except :mod:`pkpd.errors`.
"""

from __future__ import annotations

import math
import numbers
import re

import numpy as np

from pkpd.errors import InputError

__all__ = [
    "UNITS",
    "KINDS",
    "HOURS_PER_DAY",
    "HOURS_PER_WEEK",
    "DAYS_PER_MONTH",
    "DAYS_PER_YEAR",
    "parse_quantity",
    "unit_factor",
    "unit_kind",
    "format_quantity",
    "mg_to_nmol",
    "nmol_to_mg",
    "mg_per_l_to_nm",
    "nm_to_mg_per_l",
    "ng_per_ml_to_nm",
    "nm_to_ng_per_ml",
    "amount_to_concentration_nm",
    "total_to_free",
    "free_to_total",
]

# --------------------------------------------------------------------------- base units

UNITS: dict[str, str] = {
    "time": "h",
    "amount": "mg",
    "molar_amount": "nmol",
    "volume": "L",
    "concentration": "nM",
    "mass_concentration": "mg/L",
    "clearance": "L/h",
    "rate_constant": "1/h",
    "infusion_rate": "mg/h",
    "dimensionless": "1",
}
"""Base unit of each kind of quantity, as written in ``units`` attributes of outputs."""

KINDS: tuple[str, ...] = tuple(UNITS)
"""The kinds of quantity :func:`parse_quantity` understands."""

HOURS_PER_DAY = 24.0
HOURS_PER_WEEK = 7.0 * HOURS_PER_DAY
DAYS_PER_YEAR = 365.25  # Julian year
DAYS_PER_MONTH = DAYS_PER_YEAR / 12.0  # 30.4375 d, the mean Julian month

# What a kind is called in messages ("expected an amount (mass)").
_KIND_NAMES = {
    "time": "a time",
    "amount": "an amount (mass)",
    "molar_amount": "a molar amount",
    "volume": "a volume",
    "concentration": "a concentration",
    "mass_concentration": "a mass concentration",
    "clearance": "a clearance",
    "rate_constant": "a rate constant",
    "infusion_rate": "an infusion rate",
    "dimensionless": "a dimensionless number",
}

# What a unit of that kind is called ("'h' is a time unit").
_UNIT_NOUNS = {
    "time": "time",
    "amount": "mass",
    "molar_amount": "molar amount",
    "volume": "volume",
    "concentration": "molar concentration",
    "mass_concentration": "mass concentration",
    "clearance": "clearance",
    "rate_constant": "rate constant",
    "infusion_rate": "infusion rate",
    "dimensionless": "dimensionless",
}

# An example of each kind, for "write it as ..." hints.
_EXAMPLES = {
    "time": "12 h",
    "amount": "240 mg",
    "molar_amount": "500 nmol",
    "volume": "72 L",
    "concentration": "100 nM",
    "mass_concentration": "60 ng/mL",
    "clearance": "20 L/h",
    "rate_constant": "0.5 1/h",
    "infusion_rate": "10 mg/h",
    "dimensionless": "0.03",
}

# The accepted units of each kind, as listed in messages.
_ACCEPTED = {
    "time": "s, min, h, d, week, month (30.4375 d), year (365.25 d)",
    "amount": "ng, ug (µg, mcg), mg, g, kg",
    "molar_amount": "pmol, nmol, umol, mmol, mol",
    "volume": "uL, mL, dL, L",
    "concentration": "pM, nM, uM, mM, M, molar amount/volume such as nmol/L, "
                     "or mass/volume such as ng/mL given a molecular weight",
    "mass_concentration": "mass/volume such as ng/mL, ug/L, mg/L",
    "clearance": "volume/time such as L/h, mL/min, L/d",
    "rate_constant": "1/time such as 1/h, /h, h-1, 1/d",
    "infusion_rate": "amount/time such as mg/h, ug/min",
    "dimensionless": "a bare number or %",
}

# Simple units, keyed in lower case (matched case-insensitively), value = size in base units.
_TIME = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1.0 / 3600.0),
    **dict.fromkeys(("min", "mins", "minute", "minutes"), 1.0 / 60.0),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 1.0),
    **dict.fromkeys(("d", "day", "days"), HOURS_PER_DAY),
    **dict.fromkeys(("wk", "wks", "week", "weeks"), HOURS_PER_WEEK),
    **dict.fromkeys(("mo", "month", "months"), DAYS_PER_MONTH * HOURS_PER_DAY),
    **dict.fromkeys(("y", "yr", "yrs", "year", "years"), DAYS_PER_YEAR * HOURS_PER_DAY),
}
_MASS = {"ng": 1e-6, "ug": 1e-3, "mcg": 1e-3, "mg": 1.0, "g": 1e3, "kg": 1e6}
_MOLES = {"pmol": 1e-3, "nmol": 1.0, "umol": 1e3, "mmol": 1e6, "mol": 1e9}
_VOLUME = {"ul": 1e-6, "ml": 1e-3, "dl": 1e-1, "l": 1.0}
# Molar shorthands are case-sensitive: "mM" is millimolar, "nm" would be a length.
_MOLAR = {"pM": 1e-3, "nM": 1.0, "uM": 1e3, "mM": 1e6, "M": 1e9}

# mg/L -> nM is a factor 10^6 / MW (1 mg/L = 10^-3 g/L = 10^-3 / MW mol/L = 10^6 / MW nmol/L).
_MG_PER_L_TO_NM_TIMES_MW = 1e6


class _NeedsMW(Exception):
    """A mass unit where moles are expected (or the reverse) and no MW was given."""


# --------------------------------------------------------------------------- unit strings


def _normalise(unit: str) -> str:
    """Canonical spelling of a unit string: micro signs as ``u``, no blanks around ``/``."""
    u = unit.strip().replace("\u00b5", "u").replace("\u03bc", "u")
    u = u.replace("\u207b\u00b9", "-1").replace("^-1", "-1")
    u = re.sub(r"(?:^|\s+)per\s+", "/", u)
    u = re.sub(r"\s*/\s*", "/", u)
    return re.sub(r"\s+", " ", u)


def _simple(unit: str, table: dict[str, float]) -> float | None:
    return table.get(unit.lower())


def _ratio(unit: str) -> tuple[str, str] | None:
    """Split ``"num/den"`` into its two parts; None when there is no single ``/``."""
    if unit.count("/") != 1:
        return None
    num, den = unit.split("/")
    return num, den


def _mass_per_volume(num: str, den: str) -> float | None:
    """Size of ``num/den`` in mg/L when it is a mass over a volume, else None."""
    m, v = _simple(num, _MASS), _simple(den, _VOLUME)
    return None if m is None or v is None else m / v


def _moles_per_volume(unit: str) -> float | None:
    """Size of ``unit`` in nM when it is molar (``nM``, ``nmol/L``), else None."""
    if unit in _MOLAR:
        return _MOLAR[unit]
    parts = _ratio(unit)
    if parts is None:
        return None
    n, v = _simple(parts[0], _MOLES), _simple(parts[1], _VOLUME)
    return None if n is None or v is None else n / v


def _factor(unit: str, kind: str, mw: float | None) -> float | None:
    """Size of one ``unit`` in the base unit of ``kind``; None if ``unit`` is not of that kind.

    Raises :class:`_NeedsMW` for a mass concentration where a molar one is wanted (or
    the reverse) and ``mw`` is None.
    """
    if kind == "time":
        return _simple(unit, _TIME)
    if kind == "amount":
        return _simple(unit, _MASS)
    if kind == "molar_amount":
        return _simple(unit, _MOLES)
    if kind == "volume":
        return _simple(unit, _VOLUME)
    if kind == "dimensionless":
        return {"": 1.0, "1": 1.0, "%": 0.01}.get(unit)
    if kind == "rate_constant":
        m = re.fullmatch(r"(?:1?/(.+)|(.+?) ?-1)", unit)
        t = _simple(m.group(1) or m.group(2), _TIME) if m else None
        return None if t is None else 1.0 / t
    parts = _ratio(unit)
    if kind == "clearance":
        if parts is None:
            return None
        v, t = _simple(parts[0], _VOLUME), _simple(parts[1], _TIME)
        return None if v is None or t is None else v / t
    if kind == "infusion_rate":
        if parts is None:
            return None
        a, t = _simple(parts[0], _MASS), _simple(parts[1], _TIME)
        return None if a is None or t is None else a / t
    if kind == "concentration":
        molar = _moles_per_volume(unit)
        if molar is not None:
            return molar
        mass = _mass_per_volume(*parts) if parts else None
        if mass is None:
            return None
        if mw is None:
            raise _NeedsMW
        return mass * _MG_PER_L_TO_NM_TIMES_MW / mw
    if kind == "mass_concentration":
        mass = _mass_per_volume(*parts) if parts else None
        if mass is not None:
            return mass
        molar = _moles_per_volume(unit)
        if molar is None:
            return None
        if mw is None:
            raise _NeedsMW
        return molar * mw / _MG_PER_L_TO_NM_TIMES_MW
    raise ValueError(f"unknown kind of quantity {kind!r}; valid: {', '.join(KINDS)}")


def _kinds_of(unit: str) -> list[str]:
    """Every kind that ``unit`` (normalised) belongs to, in :data:`KINDS` order."""
    found = []
    for kind in KINDS:
        try:
            if _factor(unit, kind, None) is not None:
                found.append(kind)
        except _NeedsMW:
            found.append(kind)
    return found


def _check_kind(kind: str) -> None:
    if kind not in UNITS:
        # A programming error, not user input: plain ValueError.
        raise ValueError(f"unknown kind of quantity {kind!r}; valid: {', '.join(KINDS)}")


def _check_mw(mw_g_per_mol: float, path: str = "mw_g_per_mol") -> float:
    if isinstance(mw_g_per_mol, (bool, np.bool_)) or not isinstance(mw_g_per_mol, numbers.Real):
        raise InputError(path, "must be a molecular weight in g/mol (a number > 0)", mw_g_per_mol)
    mw = float(mw_g_per_mol)
    if not (math.isfinite(mw) and mw > 0):
        raise InputError(path, "must be a finite molecular weight > 0 g/mol", mw_g_per_mol)
    return mw


def unit_factor(unit: str, kind: str, path: str = "unit", *, mw_g_per_mol: float | None = None) -> float:
    """Size of one ``unit`` in pkpd's base unit of ``kind``.

    Parameters
    ----------
    unit : unit string, e.g. ``"mg"``, ``"L/min"``, ``"ng/mL"``; ``""`` is the
        dimensionless unit.
    kind : one of :data:`KINDS`.
    path : field path named in errors.
    mw_g_per_mol : molecular weight, g/mol; needed only to turn mass
        concentrations into molar ones (``kind="concentration"``) or the reverse.

    Returns
    -------
    float : the factor f such that ``x unit`` = ``x * f`` base units (e.g. 0.001 for
        ``unit_factor("ug", "amount")``, 60 for ``unit_factor("L/min", "clearance")``).

    Raises
    ------
    InputError : unknown unit, a unit of another kind, or a missing molecular weight.
    """
    _check_kind(kind)
    return _unit_factor(unit, kind, path, mw_g_per_mol, None)


def _unit_factor(unit: str, kind: str, path: str, mw_g_per_mol: float | None, shown: object) -> float:
    """:func:`unit_factor`, with ``shown`` (the user's whole value) appended to errors."""
    mw = None if mw_g_per_mol is None else _check_mw(mw_g_per_mol)
    norm = _normalise(unit)
    try:
        factor = _factor(norm, kind, mw)
    except _NeedsMW:
        raise InputError(
            path,
            f"'{unit}' converts to {UNITS[kind]} only with the drug's molecular weight; "
            f"give mw_g_per_mol or write the value in {UNITS[kind]}",
            shown,
        ) from None
    if factor is not None:
        return factor
    other = _kinds_of(norm)
    expected = f"expected {_KIND_NAMES[kind]} in {_ACCEPTED[kind]}"
    if other:
        raise InputError(path, f"'{unit}' is a {_UNIT_NOUNS[other[0]]} unit, {expected}", shown)
    hint = ""
    if kind in ("concentration", "mass_concentration"):
        cased = [k for k in _MOLAR if k.lower() == norm.lower()]
        if cased:
            hint = f" (molar units are case-sensitive: did you mean '{cased[0]}'?)"
    raise InputError(path, f"unknown unit '{unit}'{hint}; {expected}", shown)


def unit_kind(unit: str, path: str = "unit") -> str:
    """The kind of quantity ``unit`` measures, e.g. ``"clearance"`` for ``"L/h"``.

    Mass concentrations (``"ng/mL"``) are reported as ``"mass_concentration"``
    and molar ones (``"nM"``) as ``"concentration"``.  ``""`` and ``"1"`` are
    ``"dimensionless"``.  Raises :class:`InputError` for an unknown unit.
    """
    norm = _normalise(unit)
    kinds = _kinds_of(norm)
    if not kinds:
        raise InputError(path, f"unknown unit '{unit}'; known base units: " + ", ".join(UNITS.values()),
                         show_value=False)
    if kinds[0] == "concentration":
        # Either concentration converts to the other through a MW: report what the unit measures.
        return "concentration" if _moles_per_volume(norm) is not None else "mass_concentration"
    return kinds[0]


# --------------------------------------------------------------------------- quantities

_NUMBER = re.compile(
    r"\s*([-+]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|inf(?:inity)?|nan))(.*)",
    re.IGNORECASE | re.DOTALL,
)


def parse_quantity(
    value: object,
    kind: str,
    path: str,
    *,
    require: str | None = ">= 0",
    mw_g_per_mol: float | None = None,
) -> float:
    """Read a quantity written by a user and return it as a float in pkpd's base unit.

    Parameters
    ----------
    value : a number (already in the base unit of ``kind``: h, mg, L, nM, ...) or a
        string ``"<number> <unit>"`` such as ``"240 mg"``, ``"30 min"``, ``"4.2 L/min"``,
        ``"60 ng/mL"``; a numeric string (``"12"``) is in the base unit too.
    kind : one of :data:`KINDS` (``"time"``, ``"amount"``, ``"concentration"`` ...).
    path : field path named in errors, e.g. ``"arms[2].regimen[0].dose"``.
    require : ``">= 0"`` (default), ``"> 0"``, or None for no sign constraint.
    mw_g_per_mol : molecular weight, g/mol, needed to read ``"60 ng/mL"`` as a
        concentration in nM (or ``"100 nM"`` as a mass concentration).

    Returns
    -------
    float : the value in base units (``UNITS[kind]``).

    Raises
    ------
    InputError : a bool or None, junk, an unknown unit, a unit of another kind, a
        non-finite number, or a value that breaks ``require``.

    Examples
    --------
    >>> parse_quantity("0.24 g", "amount", "dose")
    240.0
    >>> parse_quantity("30 min", "time", "every")
    0.5
    >>> round(parse_quantity("60 ng/mL", "concentration", "c", mw_g_per_mol=557.04), 2)
    107.71
    >>> parse_quantity("240 h", "amount", "dose")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    pkpd.errors.InputError: dose: 'h' is a time unit, expected an amount (mass) in ng, ..., got 240 h
    """
    _check_kind(kind)
    if require not in (">= 0", "> 0", None):
        raise ValueError(f"require must be '>= 0', '> 0' or None, got {require!r}")
    example = f"such as '{_EXAMPLES[kind]}'"
    if value is None:
        raise InputError(path, f"is empty; expected {_KIND_NAMES[kind]} {example}")
    if isinstance(value, (bool, np.bool_)):
        raise InputError(path, f"must be {_KIND_NAMES[kind]} {example}, not a boolean", value)
    if isinstance(value, numbers.Real):
        number, factor = float(value), 1.0
    elif isinstance(value, str):
        match = _NUMBER.fullmatch(value)
        if match is None:
            raise InputError(path, f"cannot read {value!r} as {_KIND_NAMES[kind]}; "
                                   f"write a number and a unit {example}", show_value=False)
        number = float(match.group(1))
        unit = match.group(2).strip()
        factor = _unit_factor(unit, kind, path, mw_g_per_mol, value) if unit else 1.0
    else:
        raise InputError(path, f"must be {_KIND_NAMES[kind]} {example}, not a {type(value).__name__}", value)
    if not math.isfinite(number):
        raise InputError(path, "must be a finite number", value)
    base = number * factor
    if require == "> 0" and not base > 0:
        raise InputError(path, f"must be > {format_quantity(0, kind)}", value)
    if require == ">= 0" and not base >= 0:
        raise InputError(path, f"must be >= {format_quantity(0, kind)}", value)
    return base


def format_quantity(value: float, kind: str) -> str:
    """``value`` (in base units) written with its base unit, e.g. ``"336 h"``, ``"240 mg"``."""
    _check_kind(kind)
    unit = UNITS[kind]
    return f"{value:g}" if unit == "1" else f"{value:g} {unit}"


# --------------------------------------------------------------------------- conversions


def mg_to_nmol(amount_mg, mw_g_per_mol: float):
    """Amount in mg -> nmol for a drug of molecular weight ``mw_g_per_mol`` (g/mol).

    Works elementwise on floats or numpy arrays: nmol = mg · 10⁶ / MW.
    """
    return amount_mg * (1e6 / _check_mw(mw_g_per_mol))


def nmol_to_mg(amount_nmol, mw_g_per_mol: float):
    """Amount in nmol -> mg (inverse of :func:`mg_to_nmol`): mg = nmol · MW / 10⁶."""
    return amount_nmol * (_check_mw(mw_g_per_mol) / 1e6)


def mg_per_l_to_nm(conc_mg_per_l, mw_g_per_mol: float):
    """Concentration in mg/L -> nM: nM = mg/L · 10⁶ / MW (MW in g/mol)."""
    return conc_mg_per_l * (_MG_PER_L_TO_NM_TIMES_MW / _check_mw(mw_g_per_mol))


def nm_to_mg_per_l(conc_nm, mw_g_per_mol: float):
    """Concentration in nM -> mg/L (inverse of :func:`mg_per_l_to_nm`)."""
    return conc_nm * (_check_mw(mw_g_per_mol) / _MG_PER_L_TO_NM_TIMES_MW)


def ng_per_ml_to_nm(conc_ng_per_ml, mw_g_per_mol: float):
    """Concentration in ng/mL -> nM: nM = ng/mL · 10³ / MW (MW in g/mol).

    >>> round(ng_per_ml_to_nm(1.0, 557.04), 3)  # neratinib
    1.795
    """
    return conc_ng_per_ml * (1e3 / _check_mw(mw_g_per_mol))


def nm_to_ng_per_ml(conc_nm, mw_g_per_mol: float):
    """Concentration in nM -> ng/mL (inverse of :func:`ng_per_ml_to_nm`): ng/mL = nM · MW / 10³."""
    return conc_nm * (_check_mw(mw_g_per_mol) / 1e3)


def amount_to_concentration_nm(amount_mg, volume_l, mw_g_per_mol: float):
    """Molar concentration (nM) of ``amount_mg`` (mg) dissolved in ``volume_l`` (L).

    nM = (mg / L) · 10⁶ / MW.  ``volume_l`` must be > 0 (checked when it is a scalar).
    """
    if np.ndim(volume_l) == 0 and not float(volume_l) > 0:
        raise InputError("volume", "must be > 0 L", volume_l)
    return mg_per_l_to_nm(amount_mg / volume_l, mw_g_per_mol)


def _check_fu(fu: float) -> float:
    if isinstance(fu, (bool, np.bool_)) or not isinstance(fu, numbers.Real) or not (0.0 < float(fu) <= 1.0):
        raise InputError("fu", "must be an unbound fraction in (0, 1]", fu)
    return float(fu)


def total_to_free(conc_total, fu: float):
    """Unbound (free) concentration from a total one: C_free = fu · C_total (same unit)."""
    return conc_total * _check_fu(fu)


def free_to_total(conc_free, fu: float):
    """Total concentration from an unbound one: C_total = C_free / fu (same unit)."""
    return conc_free / _check_fu(fu)
