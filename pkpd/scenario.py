"""Scenario files (YAML) -> validated, immutable :class:`Scenario` records.

A scenario says what to simulate: how long, on which output grid, which arms
(each a list of dosing regimens, see :mod:`pkpd.regimens`), which virtual
population, which parameter overrides and which sweep of doses or parameters.
Everything is checked here, once, when the records are built; the runner
trusts a :class:`Scenario` and re-checks nothing.  Every problem raises a
:class:`pkpd.errors.ScenarioError` whose one-line message names the field path,
the rule and the value received, e.g.
``arms[2].regimen[0].dose: must be > 0 mg, got -5 mg``.

The file format, every key with its unit and default, the time convention and
the sweep semantics are documented in ``scenarios/README.md``; in short:

==================  ==========  ===============================================
key                 unit        meaning (default)
==================  ==========  ===============================================
``name``            --          required; letters, digits, ``-``, ``_``, ``.``, blanks
``description``     --          free text ("")
``duration``        h           length of the run, > 0 (required)
``output_every``    h           spacing of the output grid, <= duration (1 h)
``population``      --          ``{size: 1, seed: 0, variability: size > 1}``
``parameters``      own unit    overrides ``<block>.<name>: value`` ({})
``arms``            --          required list of ``{name, regimen, description}``
``sweep``           base units  ``<drug>.<regimen key>`` or ``<block>.<name>``:
                                list of values; cartesian product ({})
``solver``          --          ``{method, rtol, atol, max_steps, first_step,
                                max_step, periodic, pk, jacobian}`` (dopri5,
                                1e-6, 1e-9, 100000, 0, inf, true, auto, auto)
``evaluation``      h           ``{window: [start, end]}`` (the last 7 d)
``biopsies``        h           times of biopsy readouts ([])
``scan_every``      h           tumour assessment interval (8 weeks)
``store``           --          ``full``, ``daily`` or ``scans`` (full)
``recist``          mm          ``{confirm, noise_cv, noise_sd_mm,
                                cr_threshold_mm}`` (true, 0, 0 mm, 5 mm)
==================  ==========  ===============================================

Internal units: time h, doses mg; parameter values in the unit of their
:class:`pkpd.models.spec.Parameter` (``L/h``, ``1/h``, ``nM`` ...).

Examples
--------
>>> s = load_scenario('''
... name: demo
... duration: 8 weeks
... arms:
...   - name: control
...   - name: neratinib
...     regimen: [{drug: neratinib, dose: 240 mg, every: 24 h}]
... sweep:
...   neratinib.dose: [120 mg, 240 mg]
... ''')
>>> s.duration_h, s.window_h, [a.name for a in s.arms]
(1344.0, (1176.0, 1344.0), ['control', 'neratinib'])
>>> s.sweep_points()
[{'neratinib.dose': 120.0}, {'neratinib.dose': 240.0}]
>>> s.arm_regimens("neratinib", {"neratinib.dose": 120.0})[0].describe()
'neratinib 120 mg every 24 h from 0 h'
"""

from __future__ import annotations

import copyreg
import functools
import json
import itertools
import math
import numbers
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NamedTuple

import numpy as np
import yaml

from pkpd.errors import InputError, ScenarioError
from pkpd.models.drugs import DRUGS, get_drug
from pkpd.models.spec import Parameter
from pkpd.models.tumor import F_R_PARAMETER, GOMPERTZ_PARAMETERS, SIMEONI_PARAMETERS
from pkpd.regimens import FREQUENCIES, TIME_TOL_H, Regimen, regimen_from_dict
from pkpd.signaling.egfr_jak_stat3 import PARAMETERS as SIGNALING_PARAMETERS
from pkpd.solvers import SolverOptions
from pkpd.units import HOURS_PER_DAY, HOURS_PER_WEEK, format_quantity, parse_quantity, unit_kind

__all__ = [
    "Scenario",
    "Arm",
    "Population",
    "Recist",
    "SweepAxis",
    "load_scenario",
    "regular_grid_h",
    "scenario_from_dict",
    "parameter_blocks",
    "SCENARIO_KEYS",
    "ARM_KEYS",
    "POPULATION_KEYS",
    "RECIST_KEYS",
    "SOLVER_KEYS",
    "EVALUATION_KEYS",
    "SWEEP_REGIMEN_KEYS",
    "STORE_OPTIONS",
    "MAX_SIMULATIONS",
    "MAX_SWEEP_POINTS",
    "MAX_OUTPUT_TIMES",
]

# --------------------------------------------------------------------------- vocabulary and limits

SCENARIO_KEYS: tuple[str, ...] = (
    "name", "description", "duration", "output_every", "population", "parameters", "arms",
    "sweep", "solver", "evaluation", "biopsies", "scan_every", "store", "recist",
)
"""Top-level keys of a scenario file."""

ARM_KEYS: tuple[str, ...] = ("name", "regimen", "description")
"""Keys of one entry of ``arms``."""

POPULATION_KEYS: tuple[str, ...] = ("size", "seed", "variability")
"""Keys of ``population``."""

RECIST_KEYS: tuple[str, ...] = ("confirm", "noise_cv", "noise_sd_mm", "cr_threshold_mm")
"""Keys of ``recist`` (the options of :func:`pkpd.trial.trial_endpoints_dataset`)."""

MAX_NOISE_CV = 0.5
"""Largest proportional measurement error (CV) of a scan, ``recist.noise_cv``."""

MAX_NOISE_SD_MM = 10.0
"""Largest additive measurement error (SD, mm) of a scan, ``recist.noise_sd_mm``."""

MAX_CR_THRESHOLD_MM = 10.0
"""Largest CR detection limit (mm), ``recist.cr_threshold_mm`` (RECIST 1.1: nodes < 10 mm are normal)."""

SOLVER_KEYS: tuple[str, ...] = ("method", "rtol", "atol", "max_steps", "first_step", "max_step", "periodic", "pk")
"""Keys of ``solver`` (the fields of :class:`pkpd.solvers.SolverOptions`)."""

EVALUATION_KEYS: tuple[str, ...] = ("window",)
"""Keys of ``evaluation``."""

SWEEP_REGIMEN_KEYS: tuple[str, ...] = ("dose", "every", "start", "count", "until", "on", "off")
"""Regimen keys that a sweep may vary (``<drug>.<key>``)."""

STORE_OPTIONS: tuple[str, ...] = ("full", "daily", "scans")
"""Values of ``store``: which output times the result keeps."""

MAX_SIMULATIONS = 10_000_000
"""Largest number of patient-simulations (arms x sweep points x patients) of one scenario."""

MAX_SWEEP_POINTS = 100_000
"""Largest number of sweep points (the product of the sweep's list lengths)."""

MAX_OUTPUT_TIMES = 1_000_000
"""Largest number of output times of one simulation (duration / output_every + 1)."""

DEFAULT_OUTPUT_EVERY_H = 1.0
DEFAULT_WINDOW_H = 7 * HOURS_PER_DAY
DEFAULT_SCAN_EVERY_H = 8 * 7 * 24.0  # every 8 weeks, as in the trial
MAX_COMBINATIONS_CHECKED = 1_000
#: A dose more than this many times the drug's highest labelled dose is refused as a likely
#: unit slip (``240 g`` for ``240 mg``); see ``DrugPK.label_max_dose_mg``.
MAX_DOSE_FACTOR = 10.0
"""Regimen sweeps with at most this many value combinations are checked combination by combination."""

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._ +-]*")

# kind of quantity (pkpd.units) of the parameter units that units.py knows
_UNIT_KINDS = {
    "h": "time",
    "1/h": "rate_constant",
    "L": "volume",
    "L/h": "clearance",
    "mg": "amount",
    "nM": "concentration",
    "mg/L": "mass_concentration",
    "1": "dimensionless",
}

_NUMBER_UNIT = re.compile(r"\s*([-+]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|inf(?:inity)?|nan))\s*(.*?)\s*",
                          re.IGNORECASE | re.DOTALL)


# --------------------------------------------------------------------------- parameter blocks


def parameter_blocks() -> dict[str, dict[str, Parameter]]:
    """Every block whose parameters a scenario may override: block -> {name: Parameter}.

    Blocks are the drug names of :data:`pkpd.models.drugs.DRUGS` (their
    :attr:`~pkpd.models.drugs.DrugPK.parameter_names`), ``signaling`` (the
    EGFR-JAK-STAT3 network) and ``tumor`` (the Simeoni and Gompertz growth laws'
    parameters together; ``alpha`` and ``Vmax`` act only with the Gompertz law,
    ``lambda0``, ``lambda1`` and ``psi`` only with the Simeoni law; ``f_R`` is the
    baseline fraction of the drug-resistant subclone, 0 = no acquired resistance).
    """
    blocks: dict[str, dict[str, Parameter]] = {}
    for name, drug in DRUGS.items():
        blocks[name] = {p.name: p for p in drug.all_parameters}
    blocks["signaling"] = {p.name: p for p in SIGNALING_PARAMETERS}
    tumor: dict[str, Parameter] = {}
    for p in SIMEONI_PARAMETERS + GOMPERTZ_PARAMETERS + (F_R_PARAMETER,):
        tumor.setdefault(p.name, p)
    blocks["tumor"] = tumor
    return blocks


_BLOCKS = parameter_blocks()


# --------------------------------------------------------------------------- small helpers


class _FrozenDict(dict):
    """A read-only, hashable and picklable dict (parameter overrides of a frozen Scenario)."""

    def _readonly(self, *args, **kwargs):
        raise TypeError("Scenario.parameters is read-only; build a new Scenario instead")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _readonly
    __ior__ = _readonly

    def __hash__(self):
        return hash(tuple(sorted(self.items())))

    def __reduce__(self):
        return (type(self), (dict(self),))

    def __repr__(self):
        return f"{dict(self)!r}"


def _fmt_time(hours: float) -> str:
    """Hours as written in messages: whole days as ``"7 d"``, else ``"36 h"``."""
    days = hours / HOURS_PER_DAY
    if hours > 0 and abs(days - round(days)) < 1e-9:
        return f"{round(days)} d"
    return format_quantity(hours, "time")


def _shown(value: object) -> str:
    """A value as shown after ``got`` in messages (strings as written, others by type)."""
    if isinstance(value, str):
        return value if value.strip() and value.isprintable() else repr(value)
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    if value is None:
        return "nothing (null)"
    return str(value)


def _as_scenario_error(err: InputError) -> ScenarioError:
    """``err`` as a :class:`ScenarioError` with the same one-line text."""
    if isinstance(err, ScenarioError):
        return err
    new = ScenarioError(err.path, err.message, show_value=False)
    new.value = err.value
    new.args = err.args
    return new


def _one_line(text: str) -> str:
    """``text`` with line breaks and other control characters escaped (``\\n``)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class _Checked:
    """Context manager turning any :class:`InputError` into a one-line :class:`ScenarioError`."""

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc is not None and isinstance(exc, InputError):
            err = _as_scenario_error(exc)
            text = str(err)
            if not text.isprintable():
                err.args = (_one_line(text),)
            if err is exc:
                return False  # re-raised as it is (now on one line)
            raise err from None
        return False


def _checked(fn):
    """Decorator: run ``fn`` under :class:`_Checked` (every user error leaves as one-line ScenarioError)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with _Checked():
            return fn(*args, **kwargs)

    return wrapper


def _quantity(value: object, kind: str, path: str, require: str | None = ">= 0") -> float:
    """:func:`pkpd.units.parse_quantity`, raising :class:`ScenarioError`."""
    with _Checked():
        return parse_quantity(value, kind, path, require=require)


def _mapping(value: object, path: str, keys: tuple[str, ...]) -> Mapping:
    """``value`` as a mapping whose keys are all in ``keys``."""
    if not isinstance(value, Mapping):
        raise ScenarioError(path, "must be a mapping with keys " + ", ".join(keys), _shown(value))
    for k in value:
        if k not in keys:
            raise ScenarioError(f"{path}.{k}" if path else str(k),
                                "unknown key; valid keys: " + ", ".join(keys))
    return value


def _text(value: object, path: str, *, what: str = "a string") -> str:
    if not isinstance(value, str):
        raise ScenarioError(path, f"must be {what}", _shown(value))
    return value


def _name(value: object, path: str) -> str:
    """A name (scenario, arm): letters, digits and ``. _ + -`` and blanks, <= 100 characters."""
    if not isinstance(value, str):
        raise ScenarioError(path, "must be a name (a string; quote numbers)", _shown(value))
    name = value.strip()
    if not name or len(name) > 100 or not _NAME_RE.fullmatch(name):
        raise ScenarioError(path, "must be 1 to 100 characters: letters, digits, '.', '_', '+', '-' "
                                  "and blanks, starting with a letter or digit", repr(value))
    return name


def _integer(value: object, path: str, minimum: int, what: str) -> int:
    """A whole number >= ``minimum`` (bools and floats are refused)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ScenarioError(path, f"must be {what}, a whole number >= {minimum}", _shown(value))
    if value < minimum:
        raise ScenarioError(path, f"must be {what}, a whole number >= {minimum}", _shown(value))
    return int(value)


def _number(value: object, path: str) -> float:
    """A real number; numeric strings such as ``"1e-6"`` are read too."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            raise ScenarioError(path, "must be a number", _shown(value)) from None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ScenarioError(path, "must be a number", _shown(value))
    return float(value)


# --------------------------------------------------------------------------- parameter values


def _bounds_text(prm: Parameter, lower: float) -> str:
    unit = "" if prm.unit == "1" else f" {prm.unit}"
    if math.isfinite(prm.upper):
        return f"must be within [{lower:g}, {prm.upper:g}]{unit}"
    return f"must be >= {lower:g}{unit}"


def _parameter_value(value: object, block: str, prm: Parameter, path: str) -> float:
    """A parameter value in the parameter's own unit, within its bounds.

    Numbers are in the parameter's unit; strings ``"<number> <unit>"`` are
    converted when the unit is of the same kind (``"4.2 L/min"`` for ``L/h``),
    or must be written in the parameter's own unit when pkpd has no conversion
    for it (``mm^3``).  Drug PK parameters must be > 0 (``tlag`` >= 0).
    """
    kind = _UNIT_KINDS.get(prm.unit)
    if isinstance(value, str):
        match = _NUMBER_UNIT.fullmatch(value)
        unit = match.group(2) if match else None
        if kind == "concentration" and unit:
            with _Checked():
                if unit_kind(unit, path) == "mass_concentration":
                    raise ScenarioError(path, "must be a molar concentration such as '2 nM' "
                                              "(a mass concentration needs a molecular weight)", value)
        if kind is None:
            if match is None or unit not in ("", prm.unit):
                raise ScenarioError(path, f"must be a number in {prm.unit}, written '1.5' or '1.5 {prm.unit}'",
                                    value)
            number = float(match.group(1))
        else:
            number = _quantity(value, kind, path, require=None)
    elif kind is None:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise ScenarioError(path, f"must be a number in {prm.unit}", _shown(value))
        number = float(value)
    else:
        number = _quantity(value, kind, path, require=None)
    if not math.isfinite(number):
        raise ScenarioError(path, "must be a finite number", _shown(value))
    lower = prm.lower
    if block in DRUGS:
        if prm.name == "tlag":
            lower = max(lower, 0.0)
        elif not number > 0:
            unit = "" if prm.unit == "1" else f" {prm.unit}"
            raise ScenarioError(path, f"must be > 0{unit}", _shown(value))
    if not (lower <= number <= prm.upper):
        raise ScenarioError(path, _bounds_text(prm, lower), _shown(value))
    return number


# --------------------------------------------------------------------------- sweep targets


class _Target(NamedTuple):
    """What a dotted path ``<block>.<name>`` (or a model's parameter name) points at."""

    kind: str  # "regimen" | "parameter"
    block: str  # drug name, "signaling" or "tumor"; a dosed compartment; "" for a model's parameter
    name: str  # regimen key or parameter name
    parameter: Parameter | None

    @property
    def key(self) -> str:
        """The canonical key: ``<block>.<name>``, or a model parameter's own name."""
        return f"{self.block}.{self.name}" if self.block else self.name


def _split(key: object, path: str) -> tuple[str, str]:
    if not isinstance(key, str) or key.count(".") != 1 or not all(key.split(".")):
        raise ScenarioError(path, "must be a dotted path <block>.<name>, e.g. neratinib.CL, "
                                  "signaling.KI or (in a sweep) neratinib.dose", show_value=False)
    block, name = key.split(".")
    return block.strip(), name.strip()


def _resolve(key: object, path: str, drugs_dosed: set[str] | None) -> _Target:
    """The target of a parameter path, or (when ``drugs_dosed`` is given) of a sweep key.

    ``drugs_dosed`` : drugs that some arm doses; None when regimen keys are not allowed
    (``parameters``).
    """
    block, name = _split(key, path)
    if block not in _BLOCKS:
        raise ScenarioError(path, f"unknown block '{block}'; valid: " + ", ".join(_BLOCKS), show_value=False)
    params = _BLOCKS[block]
    if block in DRUGS and name in SWEEP_REGIMEN_KEYS + ("drug", "escalation", "schedule", "hold",
                                                        "reduce", "missed"):
        if drugs_dosed is None:
            raise ScenarioError(path, f"'{name}' is a regimen key, not a parameter; set it in the arms' "
                                      "regimens or sweep it", show_value=False)
        if name not in SWEEP_REGIMEN_KEYS:
            raise ScenarioError(path, f"'{name}' cannot be swept; sweepable regimen keys: "
                                + ", ".join(SWEEP_REGIMEN_KEYS), show_value=False)
        if block not in drugs_dosed:
            raise ScenarioError(path, f"no arm gives {block}; a regimen sweep needs an arm with a "
                                      f"{block} regimen", show_value=False)
        return _Target("regimen", block, name, None)
    if name not in params:
        valid = ", ".join(params)
        if block in DRUGS and drugs_dosed is not None:
            valid = "regimen keys " + ", ".join(SWEEP_REGIMEN_KEYS) + "; parameters " + valid
        raise ScenarioError(path, f"unknown name '{name}' in {block}; valid: {valid}", show_value=False)
    return _Target("parameter", block, name, params[name])


def _model_target(model, key: object, path: str, dosed: set[str] | None) -> _Target:
    """The target of a model scenario's parameter key, or (``dosed`` given: the dosed
    compartments) of its sweep key: a parameter's name, or ``<compartment>.<regimen key>``."""
    if isinstance(key, str) and key.strip() in model.parameter_names:
        name = key.strip()
        return _Target("parameter", "", name, model.parameter(name))
    valid = ", ".join(model.parameter_names)
    if isinstance(key, str) and dosed is not None:
        block, _, name = key.strip().rpartition(".")
        if block in model.state_names and name in SWEEP_REGIMEN_KEYS + ("escalation", "hold", "reduce", "missed",
                                                                       "infusion"):
            if name not in SWEEP_REGIMEN_KEYS:
                raise ScenarioError(path, f"'{name}' cannot be swept; sweepable regimen keys: "
                                    + ", ".join(SWEEP_REGIMEN_KEYS), show_value=False)
            if block not in dosed:
                raise ScenarioError(path, f"no arm doses {block}; a regimen sweep needs an arm with a regimen "
                                          f"into {block}", show_value=False)
            return _Target("regimen", block, name, None)
        valid = ("<compartment>.<regimen key> (" + ", ".join(f"{c}.dose" for c in sorted(dosed)) + "...) or "
                 "parameters " + valid) if dosed else valid
    raise ScenarioError(path, f"unknown parameter of model {model.name}; valid: {valid}", show_value=False)


def _regimen_value(key: str, value: object, path: str, state=None) -> float:
    """A swept regimen value in base units (mg, h; a count as a float); a dose into ``state``
    (a model's compartment) in that state's unit."""
    if key == "dose":
        if state is not None:
            from pkpd.model_scenario import dose_amount

            return dose_amount(value, state, path)
        return _quantity(value, "amount", path, require="> 0")
    if key == "every":
        if isinstance(value, str) and value.strip().upper() in FREQUENCIES:
            return FREQUENCIES[value.strip().upper()]
        return _quantity(value, "time", path, require="> 0")
    if key in ("on", "off", "until"):
        return _quantity(value, "time", path, require="> 0")
    if key == "start":
        return _quantity(value, "time", path)
    if key == "count":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return float(_integer(value, path, 1, "a number of doses"))
    raise ValueError(f"not a sweepable regimen key: {key!r}")  # unreachable: keys are resolved first


def _target_value(target: _Target, value: object, path: str, state=None) -> float:
    if target.kind == "regimen":
        return _regimen_value(target.name, value, path, state)
    return _parameter_value(value, target.block, target.parameter, path)


def _apply(regimen: Regimen, key: str, value: float) -> Regimen:
    """``regimen`` with regimen key ``key`` set to ``value`` (base units); validation re-runs."""
    if key == "dose":
        if len(regimen.steps) != 1:
            raise ScenarioError(f"{regimen.path}", "has a dose escalation (or a named schedule); "
                                                   "a dose sweep needs a constant 'dose'", show_value=False)
        return replace(regimen, steps=(replace(regimen.steps[0], dose_mg=value),))
    field_name = {"every": "interval_h", "start": "start_h", "until": "until_h", "on": "on_h",
                  "off": "off_h", "count": "count"}[key]
    if key == "count":
        value = int(value)
    return replace(regimen, **{field_name: value})


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class Population:
    """The virtual population of every arm and sweep point.

    Parameters
    ----------
    size : int >= 1
        Number of patients.
    seed : int >= 0
        Scenario seed; patient ``i`` draws from its own stream of this seed
        (:func:`pkpd.population.patient_rng`), so results do not depend on batching.
    variability : bool or mapping, optional
        The trial system: whether patients' parameters vary between patients (IIV);
        default True when ``size > 1``, False for a single patient.  ``size: 1``
        without variability is the typical patient.  A scenario with a ``model``:
        ``{parameter name: CV}`` of log-normal variability (:mod:`pkpd.model_scenario`;
        the names are checked by :class:`Scenario`).
    path : field path in errors (``"population"``).
    """

    size: int = 1
    seed: int = 0
    variability: bool | Mapping[str, float] | None = None
    path: str = field(default="population", compare=False, repr=False)

    @_checked
    def __post_init__(self):
        set_ = object.__setattr__
        set_(self, "size", _integer(self.size, f"{self.path}.size", 1, "a number of patients"))
        set_(self, "seed", _integer(self.seed, f"{self.path}.seed", 0, "a random seed"))
        if isinstance(self.variability, Mapping):
            set_(self, "variability", _FrozenDict(
                {k: _quantity(v, "dimensionless", f"{self.path}.variability.{k}") for k, v in self.variability.items()}))
            return
        if self.variability is None:
            set_(self, "variability", self.size > 1)
        elif not isinstance(self.variability, (bool, np.bool_)):
            raise ScenarioError(f"{self.path}.variability", "must be true or false", _shown(self.variability))
        set_(self, "variability", bool(self.variability))

    @property
    def typical(self) -> bool:
        """True for the typical patient: one patient without variability."""
        return self.size == 1 and not (any(self.variability.values()) if isinstance(self.variability, Mapping)
                                       else self.variability)


def _length_mm(value: object, path: str, lo: float, hi: float, lo_open: bool = False) -> float:
    """A length in mm: a number (mm) or a string ``"5 mm"`` / ``"0.5 cm"``, within ``[lo, hi]`` (``(lo, hi]``)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, str)):
        raise ScenarioError(path, "must be a length in mm such as '5 mm'", _shown(value))
    if isinstance(value, str):
        m = _NUMBER_UNIT.fullmatch(value)
        unit = m.group(2).strip().lower() if m else None
        if m is None or unit not in ("", "mm", "cm"):
            raise ScenarioError(path, "must be a length in mm such as '5 mm' (units: mm, cm)", _shown(value))
        number = float(m.group(1)) * (10.0 if unit == "cm" else 1.0)
    else:
        number = float(value)
    inside = (number > lo if lo_open else number >= lo) and number <= hi
    if not (math.isfinite(number) and inside):
        interval = f"{'(' if lo_open else '['}{lo:g}, {hi:g}] mm"
        raise ScenarioError(path, f"must be in {interval}", _shown(value if isinstance(value, str) else f"{number:g}"))
    return number


@dataclass(frozen=True)
class Recist:
    """How RECIST 1.1 reads the scans (the options of :func:`pkpd.trial.trial_endpoints_dataset`).

    Parameters
    ----------
    confirm : bool
        CR/PR must be confirmed by a scan >= 28 days later (default True).
    noise_cv : float in [0, 0.5]
        Proportional measurement error of each scan, a CV (0 = none; 0.05-0.10 typical, biology.md §3.5).
    noise_sd_mm : float, mm, in [0, 10]
        Additive measurement error, SD (0 = none; 1-2 mm typical, biology.md §3.5).
    cr_threshold_mm : float, mm, in (0, 10]
        CR when the lesion's longest diameter is below this (default 5 mm).
    path : field path in errors (``"recist"``).

    Noise is drawn from streams of the scenario seed, per arm, sweep point and patient
    (reproducible, and independent of batching).
    """

    confirm: bool = True
    noise_cv: float = 0.0
    noise_sd_mm: float = 0.0
    cr_threshold_mm: float = 5.0
    path: str = field(default="recist", compare=False, repr=False)

    @_checked
    def __post_init__(self):
        set_ = object.__setattr__
        if not isinstance(self.confirm, (bool, np.bool_)):
            raise ScenarioError(f"{self.path}.confirm", "must be true or false", _shown(self.confirm))
        set_(self, "confirm", bool(self.confirm))
        cv = _number(self.noise_cv, f"{self.path}.noise_cv")
        if not (math.isfinite(cv) and 0.0 <= cv <= MAX_NOISE_CV):
            raise ScenarioError(f"{self.path}.noise_cv", f"must be in [0, {MAX_NOISE_CV:g}]", f"{cv:g}")
        set_(self, "noise_cv", cv)
        set_(self, "noise_sd_mm", _length_mm(self.noise_sd_mm, f"{self.path}.noise_sd_mm", 0.0, MAX_NOISE_SD_MM))
        set_(self, "cr_threshold_mm", _length_mm(self.cr_threshold_mm, f"{self.path}.cr_threshold_mm", 0.0,
                                                 MAX_CR_THRESHOLD_MM, lo_open=True))

    def options(self) -> dict:
        """Keyword arguments of :func:`pkpd.trial.trial_endpoints_dataset`."""
        return {"confirm": self.confirm, "noise_cv": self.noise_cv, "noise_sd_mm": self.noise_sd_mm,
                "cr_threshold_mm": self.cr_threshold_mm}


@dataclass(frozen=True)
class Arm:
    """One treatment arm: a name and its regimens (none for a control arm).

    Parameters
    ----------
    name : str
        Unique within the scenario; letters, digits, ``. _ + -`` and blanks.
    regimens : tuple of :class:`pkpd.regimens.Regimen` or of :class:`pkpd.model_scenario.Dosing`
        One per drug schedule, each with ``drug`` set to a registered drug (case-
        insensitive; stored in its registry spelling); in a scenario with a ``model``,
        one :class:`~pkpd.model_scenario.Dosing` (a regimen into a compartment) per
        entry.  Empty for a control arm.
    description : str
        Free text.
    path : field path in errors (``"arms[2]"``).
    """

    name: str
    regimens: tuple[Regimen, ...] = ()
    description: str = ""
    path: str = field(default="arm", compare=False, repr=False)

    @_checked
    def __post_init__(self):
        set_ = object.__setattr__
        set_(self, "name", _name(self.name, f"{self.path}.name"))
        set_(self, "description", _text(self.description, f"{self.path}.description"))
        if isinstance(self.regimens, Regimen) or not isinstance(self.regimens, Sequence):
            raise ScenarioError(f"{self.path}.regimen", "must be a list of regimens", _shown(self.regimens))
        from pkpd.model_scenario import Dosing

        regimens = []
        for i, r in enumerate(self.regimens):
            if isinstance(r, Dosing):
                regimens.append(r)
                continue
            if not isinstance(r, Regimen):
                raise ScenarioError(f"{self.path}.regimen[{i}]", "must be a Regimen", _shown(r))
            if r.drug is None:
                raise ScenarioError(f"{r.path}.drug", "is required: the drug's name, e.g. neratinib")
            with _Checked():
                drug = get_drug(r.drug, f"{r.path}.drug").name
            regimens.append(r if r.drug == drug else replace(r, drug=drug))
        set_(self, "regimens", tuple(regimens))

    @property
    def control(self) -> bool:
        """True for an arm without any regimen."""
        return not self.regimens

    @property
    def drugs(self) -> tuple[str, ...]:
        """Names of the drugs (compartments, in a model scenario) this arm doses, in order of first appearance."""
        return tuple(dict.fromkeys(r.target for r in self.regimens))


@dataclass(frozen=True)
class SweepAxis:
    """One dimension of a sweep: a dotted key and its values.

    Parameters
    ----------
    key : str
        ``<drug>.<regimen key>`` (``neratinib.dose``; kind ``"regimen"``) or a
        parameter path ``<block>.<name>`` (``neratinib.CL``; kind ``"parameter"``).
        In a scenario with a ``model``: ``<compartment>.<regimen key>`` (``DEPOT.dose``)
        or the model's parameter name (``kel``, ``neratinib.CL``).
    values : tuple of float
        In base units: mg for doses, h for times, a count as a float, parameter
        values in the parameter's own unit.  Distinct, at least one.
    labels : tuple of str
        The values as written (``"120 mg"``); default: the numbers.
    kind : ``"regimen"`` or ``"parameter"``; None lets :class:`Scenario` infer it.
    """

    key: str
    values: tuple[float, ...]
    labels: tuple[str, ...] = ()
    kind: str | None = None

    @_checked
    def __post_init__(self):
        path = f"sweep.{self.key}"
        if not isinstance(self.key, str) or not self.key.strip():
            raise ScenarioError(path, "must be a sweep key: <drug>.<regimen key> or a parameter's name",
                                show_value=False)
        if self.kind not in (None, "regimen", "parameter"):
            raise ScenarioError(f"{path}", "kind must be 'regimen' or 'parameter'", _shown(self.kind))
        if isinstance(self.values, (str, Mapping)) or not isinstance(self.values, Sequence):
            raise ScenarioError(path, "must be a list of values", _shown(self.values))
        if not self.values:
            raise ScenarioError(path, "is empty; give at least one value")
        values = []
        for i, v in enumerate(self.values):
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real) or not math.isfinite(v):
                raise ScenarioError(f"{path}[{i}]", "must be a finite number (in base units)", _shown(v))
            values.append(float(v))
        labels = tuple(self.labels) if self.labels else tuple(f"{v:g}" for v in values)
        if len(labels) != len(values) or not all(isinstance(s, str) for s in labels):
            raise ScenarioError(f"{path}", "needs one label (a string) per value", show_value=False)
        for i, v in enumerate(values):
            for j in range(i):
                if abs(values[j] - v) <= 1e-12 * max(1.0, abs(v)):
                    raise ScenarioError(f"{path}[{i}]", f"repeats sweep.{self.key}[{j}] ({labels[j]})",
                                        labels[i])
        object.__setattr__(self, "values", tuple(values))
        object.__setattr__(self, "labels", labels)

    @property
    def block(self) -> str:
        """The part before the last dot: a drug name, ``signaling``, ``tumor``, a compartment; "" if none."""
        return self.key.rpartition(".")[0]

    @property
    def name(self) -> str:
        """The part after the last dot: a regimen key or a parameter name."""
        return self.key.rpartition(".")[2]

    def __len__(self) -> int:
        return len(self.values)


@dataclass(frozen=True)
class Scenario:
    """A complete, validated scenario; see the module docstring and ``scenarios/README.md``.

    Quantities may be given as numbers in base units (h) or strings with units
    (``"8 weeks"``); they are stored as floats in h.  ``parameters`` and ``sweep``
    may be given as plain mappings (as in YAML); they are stored normalised.

    Attributes
    ----------
    name : str
    description : str
    duration_h : float, h, > 0
    output_every_h : float, h, > 0 and <= ``duration_h``
    population : :class:`Population`
    parameters : Mapping[str, float]
        Dotted path ``<block>.<name>`` -> value in the parameter's own unit (read-only).
    arms : tuple of :class:`Arm`, at least one, unique names
    sweep : tuple of :class:`SweepAxis`, in the order written (first = slowest)
    solver : :class:`pkpd.solvers.SolverOptions`
    window_h : (start, end), h, ``0 <= start < end <= duration_h``
        Evaluation window for time-averaged metrics; default the last 7 days.
    biopsies_h : tuple of float, h, increasing, within ``[0, duration_h]``
    scan_every_h : float, h, > 0
        Interval between tumour assessments (scans at ``scan_every, 2 scan_every, ...``).
    store : ``"full"``, ``"daily"`` or ``"scans"``
    recist : :class:`Recist`
        How the scans are read (confirmation, measurement noise, CR limit).
    text : the YAML source text ("" when built in Python)
    source : where it came from (a file path, ``"<string>"`` or ``"<python>"``)
    model : the :class:`pkpd.models.spec.ModelSpec` simulated, or None for pkpd's trial
        system (neratinib + ruxolitinib, the EGFR-JAK-STAT3 network, tumour growth).  With a
        model, arms hold :class:`~pkpd.model_scenario.Dosing` entries, ``parameters`` and
        ``sweep`` name the model's parameters, ``population.variability`` is ``{name: CV}``,
        and ``summary_variables`` / ``summary_window`` say what is summarised
        (:mod:`pkpd.model_scenario`); ``evaluation``, ``biopsies``, ``scan_every``, ``store``
        and ``recist`` are the trial system's.
    compiled : a model written in the language: its :class:`pkpd.model.CompiledModel`
        (per-patient initial states and dose modifiers); None otherwise.
    model_ref, model_file, base_dir : ``model`` as written, the file it resolved to (None for
        a shipped model) and the folder a relative file was resolved against.
    population_model : a model scenario's :class:`pkpd.model_population.PopulationModel`
        (random effects, covariates and their effects, a patient table); default: the CVs of
        ``population.variability`` alone.
    comparison_outputs, comparison_window_h : a model scenario's ``comparisons``: the outputs
        whose inhibition relative to the untreated arm is reported (with Bliss and HSA excess
        for combinations; the runner adds the control and monotherapy arms), and the (start,
        end) h of their time averages.
    trial_tumor : a model scenario's ``trial.tumor``: the state or output (mm) read by RECIST at the
        scans (every ``scan_every_h``, read as ``recist`` says); "" for no virtual-trial endpoints.
    """

    name: str
    duration_h: float
    arms: tuple[Arm, ...]
    description: str = ""
    output_every_h: float = DEFAULT_OUTPUT_EVERY_H
    population: Population = field(default_factory=Population)
    parameters: Mapping[str, float] = field(default_factory=dict)
    sweep: tuple[SweepAxis, ...] = ()
    solver: SolverOptions = field(default_factory=SolverOptions)
    window_h: tuple[float, float] | None = None
    biopsies_h: tuple[float, ...] = ()
    scan_every_h: float = DEFAULT_SCAN_EVERY_H
    store: str = "full"
    recist: Recist = field(default_factory=Recist)
    text: str = field(default="", repr=False)
    source: str = "<python>"
    model: object = field(default=None, repr=False, compare=False)
    compiled: object = field(default=None, repr=False, compare=False)
    model_ref: str = ""
    model_file: str | None = None
    base_dir: str = ""
    summary_variables: tuple[str, ...] = ()
    summary_window: str | tuple[float, float] = "run"
    population_model: object = None
    comparison_outputs: tuple[str, ...] = ()
    comparison_window_h: tuple[float, float] | None = None
    trial_tumor: str = ""

    @_checked
    def __post_init__(self):
        self._check_basics()
        self._check_arms()
        self._check_parameters()
        self._check_sweep()
        self._check_times()
        self._check_regimens()
        self._check_size()

    # ------------------------------------------------------------------ validation

    def _check_basics(self) -> None:
        set_ = object.__setattr__
        set_(self, "name", _name(self.name, "name"))
        set_(self, "description", _text(self.description, "description"))
        set_(self, "duration_h", _quantity(self.duration_h, "time", "duration", require="> 0"))
        every = _quantity(self.output_every_h, "time", "output_every", require="> 0")
        if every > self.duration_h + TIME_TOL_H:
            raise ScenarioError("output_every", f"must be <= duration ({_fmt_time(self.duration_h)})",
                                _shown(self.output_every_h if isinstance(self.output_every_h, str)
                                       else _fmt_time(every)))
        n_times = math.floor(self.duration_h / every + 1e-9) + 1
        if n_times > MAX_OUTPUT_TIMES:
            raise ScenarioError("output_every", f"gives {n_times} output times over "
                                f"{_fmt_time(self.duration_h)}, more than {MAX_OUTPUT_TIMES}; "
                                "use a larger output_every", _shown(self.output_every_h))
        set_(self, "output_every_h", every)
        if not isinstance(self.population, Population):
            raise ScenarioError("population", "must be a Population", _shown(self.population))
        if not isinstance(self.solver, SolverOptions):
            raise ScenarioError("solver", "must be SolverOptions", _shown(self.solver))
        if not isinstance(self.recist, Recist):
            raise ScenarioError("recist", "must be a Recist", _shown(self.recist))
        if not isinstance(self.store, str) or self.store not in STORE_OPTIONS:
            raise ScenarioError("store", "must be one of " + ", ".join(STORE_OPTIONS), _shown(self.store))
        set_(self, "scan_every_h", _quantity(self.scan_every_h, "time", "scan_every", require="> 0"))
        set_(self, "text", _text(self.text, "text"))
        set_(self, "source", _text(self.source, "source"))

    def _check_arms(self) -> None:
        arms = self.arms
        if isinstance(arms, (str, Mapping, Arm)) or not isinstance(arms, Sequence):
            raise ScenarioError("arms", "must be a list of arms", _shown(arms))
        if not arms:
            raise ScenarioError("arms", "is empty; give at least one arm (e.g. '- name: control')")
        seen: dict[str, int] = {}
        for i, arm in enumerate(arms):
            if not isinstance(arm, Arm):
                raise ScenarioError(f"arms[{i}]", "must be an Arm", _shown(arm))
            if arm.name in seen:
                raise ScenarioError(f"arms[{i}].name", f"duplicates arms[{seen[arm.name]}].name; "
                                                       "arm names must be unique", arm.name)
            seen[arm.name] = i
            for k, r in enumerate(arm.regimens):
                if (self.model is None) != isinstance(r, Regimen):
                    want = "a Regimen (the trial system)" if self.model is None else \
                        "a Dosing (a regimen into one of the model's compartments)"
                    raise ScenarioError(f"arms[{i}].regimen[{k}]", f"must be {want}", show_value=False)
        object.__setattr__(self, "arms", tuple(arms))
        self._check_population()

    def _check_population(self) -> None:
        """``population.variability``: true/false for the trial system, ``{parameter: CV}`` with a model."""
        v = self.population.variability
        path = f"{self.population.path}.variability"
        if self.model is None:
            if isinstance(v, Mapping):
                raise ScenarioError(path, "must be true or false for the trial system (CVs per parameter "
                                          "need a 'model')", show_value=False)
            return
        if isinstance(v, Mapping):
            for name in v:
                if name not in self.model.parameter_names:
                    raise ScenarioError(f"{path}.{name}", f"unknown parameter of model {self.model.name}; valid: "
                                        + ", ".join(self.model.parameter_names), show_value=False)
        elif v:  # True (also the default of a population of more than one patient)
            raise ScenarioError(path, "must be a mapping parameter: CV of its log-normal variability, "
                                      "e.g. {CL: 0.3, V: 20 %}", _shown(v))
        else:
            object.__setattr__(self, "population", replace(self.population, variability={}))
        if self.population_model is None:
            from pkpd.model_population import from_variability

            object.__setattr__(self, "population_model", from_variability(self.population.variability))

    def _check_parameters(self) -> None:
        raw = self.parameters
        if not isinstance(raw, Mapping):
            raise ScenarioError("parameters", "must be a mapping <block>.<name>: value", _shown(raw))
        flat: list[tuple[str, object, str]] = []
        for key, value in raw.items():
            # nested form {neratinib: {CL: 250 L/h}} is the same as {neratinib.CL: 250 L/h}
            if isinstance(key, str) and "." not in key and isinstance(value, Mapping):
                flat.extend((f"{key}.{sub}", v, f"parameters.{key}.{sub}") for sub, v in value.items())
            else:
                flat.append((key, value, f"parameters.{key}"))
        out: dict[str, float] = {}
        for key, value, path in flat:
            target = self._resolve(key, path, None)
            canonical = target.key
            if canonical in out:
                raise ScenarioError(path, "is given twice", show_value=False)
            out[canonical] = _parameter_value(value, target.block, target.parameter, path)
        object.__setattr__(self, "parameters", _FrozenDict(out))

    def _check_sweep(self) -> None:
        raw = self.sweep
        if isinstance(raw, Mapping):
            items = list(raw.items())
        elif isinstance(raw, Sequence) and not isinstance(raw, str):
            items = []
            for i, axis in enumerate(raw):
                if not isinstance(axis, SweepAxis):
                    raise ScenarioError(f"sweep[{i}]", "must be a SweepAxis", _shown(axis))
                items.append((axis.key, axis))
        else:
            raise ScenarioError("sweep", "must be a mapping <key>: [values]", _shown(raw))
        dosed = {d for arm in self.arms for d in arm.drugs}
        axes = []
        for key, values in items:
            path = f"sweep.{key}"
            target = self._resolve(key, path, dosed)
            canonical = target.key
            if any(a.key == canonical for a in axes):
                raise ScenarioError(path, "is swept twice", show_value=False)
            if target.kind == "parameter" and canonical in self.parameters:
                raise ScenarioError(path, f"is also set in parameters.{canonical}; remove one of them",
                                    show_value=False)
            if isinstance(values, SweepAxis):
                if values.kind not in (None, target.kind):
                    raise ScenarioError(path, f"is a {target.kind} key, not a {values.kind} key", show_value=False)
                raw_values, labels = values.values, values.labels
            else:
                if isinstance(values, (str, Mapping)) or not isinstance(values, Sequence):
                    raise ScenarioError(path, "must be a list of values, e.g. [120 mg, 240 mg]", _shown(values))
                if not values:
                    raise ScenarioError(path, "is empty; give at least one value")
                raw_values = values
                labels = tuple(v if isinstance(v, str) else _shown(v) for v in values)
            state = self._dosed_state(target.block) if target.kind == "regimen" else None
            converted = tuple(_target_value(target, v, f"{path}[{i}]", state) for i, v in enumerate(raw_values))
            axes.append(SweepAxis(canonical, converted, labels, target.kind))
        object.__setattr__(self, "sweep", tuple(axes))
        self._check_sweep_size()

    def _resolve(self, key: object, path: str, dosed: set[str] | None) -> _Target:
        if self.model is None:
            return _resolve(key, path, dosed)
        blocks = self.compiled.model.blocks if self.compiled is not None else {}
        if isinstance(key, str) and dosed is not None and key.count(".") == 1 and key.split(".")[0].strip() in blocks:
            # <drug>.<regimen key>: the block's dosing compartment, as drug: is in a regimen entry
            from pkpd.model_scenario import drug_compartment

            block, name = (x.strip() for x in key.split("."))
            if name not in self.model.parameter_names and f"{block}.{name}" not in self.model.parameter_names:
                key = f"{drug_compartment(self.compiled, block, path)}.{name}"
        return _model_target(self.model, key, path, dosed)

    def _dosed_state(self, name: str):
        """The State of compartment ``name`` of a model scenario (None for the trial system)."""
        if self.model is None:
            return None
        return self.model.states[self.model.state_names.index(name)]

    def _check_sweep_size(self) -> None:
        n = math.prod(len(a) for a in self.sweep)
        if n > MAX_SWEEP_POINTS:
            shape = " x ".join(str(len(a)) for a in self.sweep)
            raise ScenarioError("sweep", f"expands to {n} points ({shape}), more than the limit of "
                                f"{MAX_SWEEP_POINTS}; sweep fewer values", show_value=False)

    def _check_regimens(self) -> None:
        """Every regimen, as written and with every swept value, must expand within the run.

        Regimen sweeps with at most :data:`MAX_COMBINATIONS_CHECKED` value
        combinations are checked combination by combination, larger ones one axis
        at a time (the other axes at their written values).
        """
        axes = [a for a in self.sweep if a.kind == "regimen"]
        points: list[dict[str, float]] = [{}]
        if axes and math.prod(len(a) for a in axes) <= MAX_COMBINATIONS_CHECKED:
            keys = [a.key for a in axes]
            points = [dict(zip(keys, vals)) for vals in itertools.product(*(a.values for a in axes))]
        elif axes:
            points = [{a.key: v} for a in axes for v in a.values]
        for point in points:
            for arm in self.arms:
                for r in self._apply_point(arm, point):
                    self._check_in_run(r, point)

    def _check_in_run(self, r: Regimen, point: Mapping[str, float]) -> None:
        """``r`` expands to a sane number of doses within the run.

        A regimen that starts at or after the end of the run is allowed (it gives no
        dose): shortening a scenario's duration must not invalidate it.
        """
        where = f" (at sweep point {self._point_text(point)})" if point else ""
        try:
            r.dose_times(self.duration_h, rng=np.random.default_rng(0))
        except InputError as err:
            raise ScenarioError(err.path, f"{err.message}{where}", err.value) from None
        self._check_plausible_dose(r, point)

    def _check_plausible_dose(self, r: Regimen, point: Mapping[str, float]) -> None:
        """No dose step above :data:`MAX_DOSE_FACTOR` times the drug's highest labelled dose."""
        if not isinstance(r, Regimen):
            return  # a model's compartment: no label to compare with
        drug = get_drug(r.drug) if r.drug else None
        if drug is None or drug.label_max_dose_mg is None:
            return
        limit = MAX_DOSE_FACTOR * drug.label_max_dose_mg
        for k, step in enumerate(r.steps):
            if step.dose_mg > limit:
                key = f"{r.drug}.dose"
                if key in point:
                    i, label = self._label(key, point[key])
                    path, shown = f"sweep.{key}[{i}]", label
                else:
                    path, shown = f"{step.path}.dose", format_quantity(step.dose_mg, "amount")
                raise ScenarioError(path, f"must be at most {MAX_DOSE_FACTOR:g} x {r.drug}'s highest labelled dose "
                                          f"({drug.label_max_dose_mg:g} mg; {drug.label_max_dose_source}); "
                                          f"check the unit", shown)

    def _label(self, key: str, value: float) -> tuple[int, str]:
        """Index and label of ``value`` on sweep axis ``key`` (nearest value)."""
        axis = next(a for a in self.sweep if a.key == key)
        i = min(range(len(axis.values)), key=lambda j: abs(axis.values[j] - value))
        return i, axis.labels[i]

    def _point_text(self, point: Mapping[str, float]) -> str:
        return ", ".join(f"{k} = {self._label(k, v)[1]}" for k, v in point.items())

    def _apply_point(self, arm: Arm, point: Mapping[str, float]) -> tuple[Regimen, ...]:
        out = []
        for r in arm.regimens:
            for key, value in point.items():
                block, _, name = key.rpartition(".")
                if block != r.target:
                    continue
                try:
                    r = _apply(r, name, value) if isinstance(r, Regimen) else r.with_regimen(_apply(r.regimen, name, value))
                except InputError as err:
                    i, label = self._label(key, value)
                    raise ScenarioError(f"sweep.{key}[{i}]", f"with {label}, {err}", show_value=False) from None
            out.append(r)
        return tuple(out)

    def _check_times(self) -> None:
        set_ = object.__setattr__
        dur = self.duration_h
        if self.window_h is None:
            set_(self, "window_h", (max(0.0, dur - DEFAULT_WINDOW_H), dur))
        else:
            w = self.window_h
            if isinstance(w, (str, Mapping)) or not isinstance(w, Sequence) or len(w) != 2:
                raise ScenarioError("evaluation.window", "must be a list [start, end] of two times",
                                    _shown(w))
            start = _quantity(w[0], "time", "evaluation.window[0]")
            end = _quantity(w[1], "time", "evaluation.window[1]", require="> 0")
            if end > dur + TIME_TOL_H:
                raise ScenarioError("evaluation.window[1]", f"must be <= duration ({_fmt_time(dur)})",
                                    _shown(w[1] if isinstance(w[1], str) else _fmt_time(end)))
            if not start < end:
                raise ScenarioError("evaluation.window[0]", f"must be earlier than the end ({_fmt_time(end)})",
                                    _shown(w[0] if isinstance(w[0], str) else _fmt_time(start)))
            set_(self, "window_h", (start, min(end, dur)))
        b = self.biopsies_h
        if isinstance(b, (str, Mapping)) or not isinstance(b, Sequence):
            raise ScenarioError("biopsies", "must be a list of times, e.g. [7 d, 14 d]", _shown(b))
        times = []
        for i, t in enumerate(b):
            x = _quantity(t, "time", f"biopsies[{i}]")
            if x > dur + TIME_TOL_H:
                raise ScenarioError(f"biopsies[{i}]", f"must be within the run, 0 to {_fmt_time(dur)}",
                                    _shown(t if isinstance(t, str) else _fmt_time(x)))
            for j, y in enumerate(times):
                if abs(x - y) <= TIME_TOL_H:
                    raise ScenarioError(f"biopsies[{i}]", f"repeats biopsies[{j}]", _shown(t))
            times.append(min(x, dur))
        set_(self, "biopsies_h", tuple(sorted(times)))

    def _check_size(self) -> None:
        n_points = math.prod(len(a) for a in self.sweep)
        n_arms = len(self.arms)
        total = self.population.size * n_arms * n_points
        if total > MAX_SIMULATIONS:
            most = max(1, MAX_SIMULATIONS // (n_arms * n_points))
            raise ScenarioError(
                f"{self.population.path}.size",
                f"{self.population.size} patients x {n_arms} arms x {n_points} sweep points = {total} "
                f"patient-simulations, more than the limit of {MAX_SIMULATIONS}; use a smaller population "
                f"(at most {most} patients here) or fewer sweep points", show_value=False)

    # ------------------------------------------------------------------ queries

    @property
    def arm_names(self) -> tuple[str, ...]:
        """Names of the arms, in order."""
        return tuple(a.name for a in self.arms)

    @_checked
    def arm(self, name: str) -> Arm:
        """The arm called ``name``; :class:`ScenarioError` lists the valid names."""
        for a in self.arms:
            if a.name == name:
                return a
        raise ScenarioError("arm", f"unknown arm {name!r}; valid: " + ", ".join(self.arm_names), show_value=False)

    @property
    def sweep_shape(self) -> tuple[int, ...]:
        """Number of values of each sweep axis, in order; () without a sweep."""
        return tuple(len(a) for a in self.sweep)

    @property
    def n_points(self) -> int:
        """Number of sweep points (1 without a sweep)."""
        return math.prod(self.sweep_shape)

    @property
    def n_simulations(self) -> int:
        """Patient-simulations of the whole scenario: arms x sweep points x patients."""
        return len(self.arms) * self.n_points * self.population.size

    def sweep_points(self) -> list[dict[str, float]]:
        """The cartesian product of the sweep axes, as ``{key: value}`` in base units.

        The first axis varies slowest and the last fastest (``itertools.product``
        order, which is C order over :attr:`sweep_shape`).  Without a sweep: ``[{}]``.
        """
        keys = [a.key for a in self.sweep]
        return [dict(zip(keys, vals)) for vals in itertools.product(*(a.values for a in self.sweep))]

    def _check_point(self, point: Mapping[str, float]) -> None:
        if not isinstance(point, Mapping):
            raise ScenarioError("point", "must be a mapping {sweep key: value}", _shown(point))
        keys = {a.key for a in self.sweep}
        for k in point:
            if k not in keys:
                raise ScenarioError(f"sweep.{k}", "is not a sweep key of this scenario; valid: "
                                    + (", ".join(sorted(keys)) or "none"), show_value=False)

    @_checked
    def arm_regimens(self, arm: Arm | str, point: Mapping[str, float] | None = None) -> tuple[Regimen, ...]:
        """The regimens of ``arm`` (an :class:`Arm` or its name) at sweep ``point``.

        A regimen key ``<drug>.<key>`` of ``point`` (base units) replaces that field
        in every regimen of that drug in the arm; the regimens are rebuilt, so their
        validation runs again.  Keys missing from ``point`` keep the written values.
        """
        point = {} if point is None else point
        self._check_point(point)
        if isinstance(arm, str):
            arm = self.arm(arm)
        kinds = {a.key: a.kind for a in self.sweep}
        return self._apply_point(arm, {k: v for k, v in point.items() if kinds[k] == "regimen"})

    @_checked
    def parameters_at(self, point: Mapping[str, float] | None = None) -> dict[str, float]:
        """Parameter overrides at sweep ``point``: :attr:`parameters` plus swept parameter values.

        Returns ``{"<block>.<name>": value}`` with values in each parameter's own unit.
        """
        point = {} if point is None else point
        self._check_point(point)
        out = dict(self.parameters)
        for a in self.sweep:
            if a.kind == "parameter" and a.key in point:
                out[a.key] = float(point[a.key])
        return out

    def regular_times_h(self) -> np.ndarray:
        """``0, output_every, 2·output_every, ...`` up to ``duration_h``, plus ``duration_h``; h."""
        return regular_grid_h(self.duration_h, self.output_every_h)

    def scan_times_h(self) -> np.ndarray:
        """Tumour assessment times, h: baseline 0, then every ``scan_every_h`` within the run."""
        n = math.floor(self.duration_h / self.scan_every_h + 1e-9)
        return np.arange(n + 1) * self.scan_every_h

    def _daily_times_h(self) -> np.ndarray:
        n = math.floor(self.duration_h / HOURS_PER_DAY + 1e-9)
        return np.arange(n + 1) * HOURS_PER_DAY

    def times_h(self) -> np.ndarray:
        """Output times, h, sorted, from 0 to ``duration_h`` inclusive.

        The regular grid (:meth:`regular_times_h`) merged with the biopsy times,
        the scan times and, with ``store: daily``, the whole days, so that every
        time that any readout needs is an output time.  Times closer than
        :data:`pkpd.regimens.TIME_TOL_H` are merged.
        """
        if self.model is not None:  # a model scenario has no biopsies or store; scans with trial endpoints
            return _merge(np.concatenate([self.regular_times_h(), self.scan_times_h()])) if self.trial_tumor \
                else self.regular_times_h()
        parts = [self.regular_times_h(), np.asarray(self.biopsies_h, dtype=float), self.scan_times_h()]
        if self.store == "daily":
            parts.append(self._daily_times_h())
        return _merge(np.concatenate(parts))

    def stored_times_h(self) -> np.ndarray:
        """The output times (a subset of :meth:`times_h`) that results keep, per ``store``.

        ``full``: all of them; ``daily``: whole days, biopsies, scans and the end;
        ``scans``: baseline, scans, biopsies and the end.  Metrics over the
        evaluation window are meant to be computed on :meth:`times_h` before thinning.
        """
        full = self.times_h()
        if self.store == "full" or self.model is not None:
            return full
        keep = [self.scan_times_h(), np.asarray(self.biopsies_h, dtype=float), np.array([0.0, self.duration_h])]
        if self.store == "daily":
            keep.append(self._daily_times_h())
        wanted = _merge(np.concatenate(keep))
        idx = np.searchsorted(full, wanted - TIME_TOL_H)
        return full[np.unique(np.clip(idx, 0, full.size - 1))]

    def summary_window_h(self, arm: Arm | str, point: Mapping[str, float] | None = None) -> tuple[float, float] | None:
        """A model scenario's summary window of ``arm`` at sweep ``point``, (start, end) in h; None when
        ``summary.window`` is ``last_interval`` and the arm has no complete dosing interval.

        ``last_interval``: of the arm's regimen entry that gives the last planned dose of the
        run, its last dosing interval that ends within the run.
        """
        if isinstance(self.summary_window, tuple):
            return self.summary_window
        if self.summary_window == "run":
            return (0.0, self.duration_h)
        best = None
        for d in self.arm_regimens(arm, point):
            times = d.planned_times(self.duration_h)
            if times.size and (best is None or times[-1] > best[0]):
                best = (times[-1], d, times)
        if best is None:
            return None
        _, d, times = best
        tau = d.regimen.interval_h
        full = times[times + tau <= self.duration_h + TIME_TOL_H]
        if full.size == 0:
            return None
        return (float(full[-1]), float(full[-1] + tau))

    def __reduce__(self):
        # A model scenario holds compiled kernels (Numba dispatchers of generated or user modules):
        # it travels (to Dask workers) as its text, read again where it lands, with the same result.
        if self.model is not None and self.text:
            return (_reload, (self.text, self.source, self.base_dir))
        return (copyreg.__newobj__, (type(self),), dict(self.__dict__))

    def describe(self) -> str:
        """A few lines in words: arms with their regimens, sweep, population."""
        if self.model is not None:
            return self._describe_model()
        lines = [f"{self.name}: {_fmt_time(self.duration_h)}, output every {_fmt_time(self.output_every_h)}, "
                 f"{self.population.size} patient(s), seed {self.population.seed}"]
        for arm in self.arms:
            regs = "; ".join(r.describe() for r in arm.regimens) or "no treatment"
            lines.append(f"  arm {arm.name}: {regs}")
        for a in self.sweep:
            lines.append(f"  sweep {a.key}: {', '.join(a.labels)}")
        return "\n".join(lines)

    def _describe_model(self) -> str:
        """Several lines: model, arms with their dosing, sweep, population, output grid and summary."""
        m = self.model
        where = self.model_file or ("composed in the scenario" if self.model_ref.startswith("{") else "shipped")
        lines = [f"model {m.name} ({where}): {m.n_states} states "
                 f"({', '.join(m.state_names)}), {m.n_parameters} parameters"]
        for a in self.arms:
            lines.append(f"arm {a.name}: " + ("; ".join(d.describe() for d in a.regimens) or "no doses"))
        for a in self.sweep:
            lines.append(f"sweep {a.key}: {', '.join(a.labels)}")
        pop = self.population
        var = ", ".join(f"{k} CV {v:g}" for k, v in pop.variability.items()) or "none"
        lines.append(f"patients per arm: {pop.size} (seed {pop.seed}; variability: {var})")
        pm = self.population_model
        if pm is not None and (pm.covariates or pm.table or set(pm.eta_names) != set(pop.variability)
                               or any(pm.omega[i][k] for i in range(len(pm.omega)) for k in range(i))):
            lines += [f"  {x}" for x in pm.describe()]
        if self.parameters:
            lines.append("parameters: " + ", ".join(f"{k} = {v:g} {m.parameter(k).unit}"
                                                    for k, v in self.parameters.items()))
        n_t = self.regular_times_h().size
        lines.append(f"simulations: {self.n_simulations} ({n_t} output times every "
                     f"{format_quantity(self.output_every_h, 'time')} over {format_quantity(self.duration_h, 'time')}"
                     f"; solver {self.solver.method}, rtol {self.solver.rtol:g})")
        w = self.summary_window
        wtext = f"[{format_quantity(w[0], 'time')}, {format_quantity(w[1], 'time')}]" if isinstance(w, tuple) else w
        lines.append(f"summary: Cmax, Cmin, AUC of {', '.join(self.summary_variables)} over {wtext}")
        return "\n".join(lines)


def _reload(text: str, source: str, base_dir: str) -> Scenario:
    """A model scenario from its text (the inverse of :meth:`Scenario.__reduce__`)."""
    return replace(load_scenario(text if "\n" in text else text + "\n", base_dir=base_dir or None), source=source)


def _merge(times: np.ndarray) -> np.ndarray:
    """Sorted ``times`` with values closer than TIME_TOL_H merged (the first one kept)."""
    t = np.sort(times)
    if t.size == 0:
        return t
    keep = np.concatenate(([True], np.diff(t) > TIME_TOL_H))
    return t[keep]


# --------------------------------------------------------------------------- YAML reading


class _Loader(yaml.SafeLoader):
    """Safe YAML loader that refuses duplicate keys and reads ``1e-6`` as a number."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen = set()
            for key_node, _ in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=deep)
                try:
                    duplicate = key in seen
                except TypeError:
                    continue
                if duplicate:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r}", key_node.start_mark)
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


# YAML 1.1 reads on/off/yes/no as booleans, which would turn the regimen keys `on` and `off`
# into True and False: only true/false are booleans here (as in YAML 1.2).
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
# YAML 1.1 reads 1e-6 (no dot) as a string; scenario authors mean a number.
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def _yaml_error(err: yaml.YAMLError) -> ScenarioError:
    mark = getattr(err, "problem_mark", None)
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    problem = " ".join(str(problem).split())
    if mark is not None:
        return ScenarioError(f"line {mark.line + 1}", f"{problem} (column {mark.column + 1})", show_value=False)
    return ScenarioError("", f"YAML error: {problem}", show_value=False)


def _check_numbers(data: object, path: str, seen: set[int], budget: list[int]) -> None:
    """Refuse integers too large for a float, and absurdly large documents, anywhere in ``data``."""
    budget[0] -= 1
    if budget[0] < 0:
        raise ScenarioError("", "the scenario is too large (more than 1000000 values)", show_value=False)
    if isinstance(data, bool):
        return
    if isinstance(data, int):
        try:
            float(data)
        except OverflowError:
            raise ScenarioError(path or "value", "is a number too large to represent", show_value=False) from None
        return
    if isinstance(data, (dict, list)):
        if id(data) in seen:  # a YAML alias: already checked
            return
        seen.add(id(data))
        items = data.items() if isinstance(data, dict) else enumerate(data)
        for k, v in items:
            sub = (f"{path}.{k}" if path else str(k)) if isinstance(data, dict) else f"{path}[{k}]"
            if isinstance(data, dict):
                _check_numbers(k, sub, seen, budget)
            _check_numbers(v, sub, seen, budget)


def _parse_yaml(text: str) -> object:
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.YAMLError as err:
        raise _yaml_error(err) from None
    except RecursionError:
        raise ScenarioError("", "YAML nesting is too deep", show_value=False) from None


def _looks_like_path(arg: str) -> bool:
    if "\n" in arg:
        return False
    s = arg.strip()
    if s.lower().endswith((".yaml", ".yml")) or os.path.isfile(s):
        return True
    return ":" not in s and not s.startswith(("{", "[", "#")) and bool(s)


@_checked
def load_scenario(path_or_text: str | os.PathLike, base_dir: str | os.PathLike | None = None) -> Scenario:
    """Read and validate a scenario from a YAML file or from YAML text.

    Parameters
    ----------
    path_or_text : a path (``str`` or :class:`os.PathLike`) of a YAML file, or the
        YAML text itself.  A string is read as text when it has a line break, or
        a ``:`` and does not end in ``.yaml``/``.yml`` (or name an existing file).

    base_dir : the folder a relative ``model`` file is resolved against when the scenario is
        given as text (a file's own folder otherwise); default the current folder.

    Returns
    -------
    Scenario : validated, quantities in base units; ``text`` holds the YAML text and
        ``source`` the file path (``"<string>"`` for text).

    Raises
    ------
    ScenarioError : a missing, unreadable or empty file, a YAML syntax error
        (``line 7: mapping values are not allowed here (column 9)``), or any invalid
        field (``arms[2].regimen[0].dose: must be > 0 mg, got -5 mg``).
    """
    if isinstance(path_or_text, os.PathLike) or (isinstance(path_or_text, str) and _looks_like_path(path_or_text)):
        file = Path(os.fspath(path_or_text).strip() if isinstance(path_or_text, str) else path_or_text)
        if not file.exists():
            raise ScenarioError(str(file), "no such scenario file", show_value=False)
        if file.is_dir():
            raise ScenarioError(str(file), "is a directory, not a scenario file", show_value=False)
        try:
            text = file.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ScenarioError(str(file), "is not UTF-8 text", show_value=False) from None
        except OSError as err:
            raise ScenarioError(str(file), f"cannot be read ({err.strerror or err})", show_value=False) from None
        source = str(file)
        base_dir = file.resolve().parent
    elif isinstance(path_or_text, str):
        text, source = path_or_text, "<string>"
    else:
        raise ScenarioError("scenario", "must be a file path or YAML text", _shown(path_or_text))
    try:
        data = _parse_yaml(text)
    except ScenarioError as err:
        if source == "<string>":
            raise
        # a YAML syntax error says "line N": name the file too
        raise ScenarioError(f"{source}, {err.path}" if err.path else source, err.message, show_value=False) from None
    if data is None:
        where = source if source != "<string>" else "scenario"
        raise ScenarioError(where, "is empty; a scenario needs at least name, duration and arms", show_value=False)
    return scenario_from_dict(data, text=text, source=source, base_dir=base_dir)


def regular_grid_h(duration_h: float, every_h: float) -> np.ndarray:
    """The output grid ``0, every, 2·every, ...`` up to ``duration_h``, always ending at ``duration_h`` (h)."""
    n = math.floor(duration_h / every_h + 1e-9)
    t = np.arange(n + 1) * every_h
    if duration_h - t[-1] > TIME_TOL_H:
        t = np.append(t, duration_h)
    else:
        t[-1] = duration_h
    return t


def _regimen_entries(raw: object, path: str, shape: str) -> list[tuple[object, str]]:
    """An arm's ``regimen`` (None, one mapping or a list of them) as ``(entry, field path)`` pairs."""
    if raw is None:
        return []
    if isinstance(raw, Mapping):
        return [(raw, f"{path}.regimen")]
    if isinstance(raw, list):
        return [(e, f"{path}.regimen[{j}]") for j, e in enumerate(raw)]
    raise ScenarioError(f"{path}.regimen", f"must be a list of regimen entries {shape}", _shown(raw))


def _arm_from_dict(d: object, path: str) -> Arm:
    m = _mapping(d, path, ARM_KEYS)
    if "name" not in m:
        raise ScenarioError(f"{path}.name", "is required")
    name = _name(m["name"], f"{path}.name")
    entries = _regimen_entries(m.get("regimen"), path, "{drug, dose, every, ...}")
    with _Checked():
        regimens = tuple(regimen_from_dict(e, p) for e, p in entries)
    description = m.get("description")
    return Arm(name, regimens, "" if description is None else description, path=path)


def _solver_from_dict(d: object, keys: tuple[str, ...] = SOLVER_KEYS) -> SolverOptions:
    kw: dict[str, object] = {}
    # solver.jacobian (auto | analytic | numeric; SolverOptions checks it) is taken out before
    # the key check, so SOLVER_KEYS and the "valid keys" it lists in errors stay as they were
    if isinstance(d, Mapping) and "jacobian" in d:
        j = d["jacobian"]
        kw["jacobian"] = j.strip().lower() if isinstance(j, str) else j
        d = {k: v for k, v in d.items() if k != "jacobian"}
    m = _mapping(d, "solver", keys)
    if "method" in m:
        method = m["method"]
        kw["method"] = method.strip().lower() if isinstance(method, str) else method
    if "rtol" in m:
        kw["rtol"] = _number(m["rtol"], "solver.rtol")
    if "atol" in m:
        a = m["atol"]
        kw["atol"] = [_number(x, f"solver.atol[{i}]") for i, x in enumerate(a)] if isinstance(a, list) \
            else _number(a, "solver.atol")
    if "max_steps" in m:
        v = m["max_steps"]
        if isinstance(v, float) and v.is_integer() and abs(v) < 2 ** 62:
            v = int(v)
        kw["max_steps"] = v
    if "first_step" in m:
        kw["first_step"] = _quantity(m["first_step"], "time", "solver.first_step")
    if "max_step" in m:
        kw["max_step"] = _quantity(m["max_step"], "time", "solver.max_step", require="> 0") \
            if not (isinstance(m["max_step"], str) and m["max_step"].strip().lower() in ("inf", ".inf")) \
            else math.inf
    if "periodic" in m:
        kw["periodic"] = m["periodic"]
    if "pk" in m:
        kw["pk"] = m["pk"].strip().lower() if isinstance(m["pk"], str) else m["pk"]
    with _Checked():
        return SolverOptions(**kw)


@_checked
def scenario_from_dict(data: object, *, text: str = "", source: str = "<python>",
                       base_dir: str | os.PathLike | None = None) -> Scenario:
    """Validate a scenario given as a mapping (as read from YAML); see :func:`load_scenario`.

    ``text`` and ``source`` are stored in the result for provenance; ``base_dir`` is the
    folder a relative ``model`` file is resolved against (default the current folder).
    """
    if not isinstance(data, Mapping):
        raise ScenarioError("top level", "must be a mapping with keys " + ", ".join(SCENARIO_KEYS), _shown(data))
    _check_numbers(data, "", set(), [1_000_000])
    if "model" in data:
        return _model_scenario_from_dict(data, text=text, source=source, base_dir=base_dir)
    d = _mapping(data, "", SCENARIO_KEYS)
    for key in ("name", "duration", "arms"):
        if key not in d:
            raise ScenarioError(key, "is required")
    name = _name(d["name"], "name")
    if d.get("description") is not None:
        _text(d["description"], "description")
    duration = _quantity(d["duration"], "time", "duration", require="> 0")

    pop = d.get("population")
    if pop is None:
        population = Population()
    else:
        pm = _mapping(pop, "population", POPULATION_KEYS)
        population = Population(pm.get("size", 1), pm.get("seed", 0), pm.get("variability"))

    arms_raw = d["arms"]
    if not isinstance(arms_raw, list):
        raise ScenarioError("arms", "must be a list of arms, e.g. [{name: control}]", _shown(arms_raw))
    arms = tuple(_arm_from_dict(a, f"arms[{i}]") for i, a in enumerate(arms_raw))

    sweep = d.get("sweep")
    if sweep is None:
        sweep = {}
    elif not isinstance(sweep, Mapping):
        raise ScenarioError("sweep", "must be a mapping <key>: [values], e.g. {neratinib.dose: [120 mg, 240 mg]}",
                            _shown(sweep))
    parameters = d.get("parameters")
    parameters = {} if parameters is None else parameters

    solver = SolverOptions() if d.get("solver") is None else _solver_from_dict(d["solver"])

    window = None
    if d.get("evaluation") is not None:
        ev = _mapping(d["evaluation"], "evaluation", EVALUATION_KEYS)
        window = ev.get("window")
        if "window" in ev and window is None:
            raise ScenarioError("evaluation.window", "must be a list [start, end] of two times", "nothing (null)")

    recist = Recist()
    if d.get("recist") is not None:
        rm = _mapping(d["recist"], "recist", RECIST_KEYS)
        recist = Recist(**{k: rm[k] for k in RECIST_KEYS if k in rm})

    biopsies = d.get("biopsies")
    biopsies = [] if biopsies is None else biopsies
    if not isinstance(biopsies, list):
        raise ScenarioError("biopsies", "must be a list of times, e.g. [7 d, 14 d]", _shown(biopsies))

    return Scenario(
        name=name,
        description=d.get("description") or "",
        duration_h=duration,
        output_every_h=d.get("output_every", DEFAULT_OUTPUT_EVERY_H),
        population=population,
        parameters=parameters,
        arms=arms,
        sweep=sweep,
        solver=solver,
        window_h=window,
        biopsies_h=tuple(biopsies),
        scan_every_h=d.get("scan_every", DEFAULT_SCAN_EVERY_H),
        store=d.get("store", "full"),
        recist=recist,
        text=text,
        source=source,
    )


def _model_scenario_from_dict(data: Mapping, *, text: str, source: str, base_dir) -> Scenario:
    """A scenario with a ``model`` key: the model is loaded first, then the fields it decides
    (compartment dosing, parameter names, variability CVs, summary) are read against it."""
    from pkpd.model_scenario import (MODEL_SCENARIO_KEYS, comparisons_from_dict, dosing_from_dict, load_scenario_model,
                                     summary_from_dict, trial_from_dict, variability_from_dict)

    d = _mapping(data, "", MODEL_SCENARIO_KEYS)
    for key in ("name", "model", "duration", "arms"):
        if key not in d:
            raise ScenarioError(key, "is required")
    name = _name(d["name"], "name")
    if d.get("description") is not None:
        _text(d["description"], "description")
    with _Checked():
        model, resolved, compiled = load_scenario_model(d["model"], base_dir)
    duration = _quantity(d["duration"], "time", "duration", require="> 0")

    from pkpd.model_population import POPULATION_KEYS as MODEL_POPULATION_KEYS, population_model_from_dict

    pm = {} if d.get("population") is None else _mapping(d["population"], "population", MODEL_POPULATION_KEYS)
    variability = variability_from_dict(pm.get("variability"), model, "population.variability")
    if "size" in pm:
        _integer(pm["size"], "population.size", 1, "a number of patients")
    population_model, size = population_model_from_dict(pm, model, base_dir, pm.get("size"))
    population = Population(size, pm.get("seed", 0), variability)

    arms_raw = d["arms"]
    if not isinstance(arms_raw, list) or not arms_raw:
        raise ScenarioError("arms", "must be a non-empty list of arms, e.g. [{name: placebo}]", _shown(arms_raw))
    arms = []
    for i, a in enumerate(arms_raw):
        path = f"arms[{i}]"
        m = _mapping(a, path, ARM_KEYS)
        if "name" not in m:
            raise ScenarioError(f"{path}.name", "is required")
        entries = _regimen_entries(m.get("regimen"), path, "{cmt, dose, every, ...}")
        dosing = tuple(dosing_from_dict(e, model, p, compiled) for e, p in entries)
        arms.append(Arm(_name(m["name"], f"{path}.name"), dosing, m.get("description") or "", path=path))

    sweep = d.get("sweep")
    if sweep is None:
        sweep = {}
    elif not isinstance(sweep, Mapping):
        raise ScenarioError("sweep", "must be a mapping <key>: [values], e.g. {CL: [2 L/h, 4 L/h]}", _shown(sweep))
    solver = SolverOptions() if d.get("solver") is None else \
        _solver_from_dict(d["solver"], SOLVER_KEYS)
    with _Checked():
        solver.atol_array(model.n_states)
    if solver.pk == "closed_form":
        from pkpd.closed_form import closed_form

        if compiled is None or closed_form(compiled) is None:
            raise ScenarioError("solver.pk", f"closed_form: model {model.name} has no linear source states (a "
                                "linear PK block that nothing feeds back into) to take in closed form; use auto or "
                                "ode", show_value=False)
    variables, window = summary_from_dict(d.get("summary"), model, duration)
    compared, compare_window = comparisons_from_dict(d.get("comparisons"), model, duration)
    tumor, trial = trial_from_dict(d.get("trial"), model)
    return Scenario(
        name=name, description=d.get("description") or "", duration_h=duration,
        output_every_h=d.get("output_every", DEFAULT_OUTPUT_EVERY_H), population=population,
        parameters=d.get("parameters") or {}, arms=tuple(arms), sweep=sweep, solver=solver, text=text, source=source,
        model=model, compiled=compiled,
        model_ref=json.dumps(d["model"], sort_keys=True, default=str) if isinstance(d["model"], Mapping) else str(d["model"]).strip(),
        model_file=None if resolved is None else str(resolved),
        base_dir=str(Path(base_dir if base_dir is not None else ".").resolve()),
        summary_variables=variables, summary_window=window, population_model=population_model,
        comparison_outputs=compared, comparison_window_h=compare_window, trial_tumor=tumor, **trial)
