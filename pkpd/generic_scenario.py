"""Scenarios for any model: a YAML file with a top-level ``model:`` key -> a validated :class:`ModelScenario`.

The built-in scenarios (:mod:`pkpd.scenario`) simulate pkpd's neratinib +
ruxolitinib system.  A scenario that names a model, a shipped one
(``model: pk2cmt_oral``) or the user's own (``model: my_model.py:MODEL``, see
:mod:`pkpd.usermodel` and ``docs/user_models.md``), is read here instead and run
by :mod:`pkpd.generic_runner`: its arms dose into the model's compartments, its
``parameters`` override the model's parameters by name, and its population varies
named parameters log-normally.

==================  ==========  ===============================================
key                 unit        meaning (default)
==================  ==========  ===============================================
``name``            --          required; letters, digits, ``-``, ``_``, ``.``, blanks
``description``     --          free text ("")
``model``           --          required; ``file.py:NAME`` (relative to the
                                scenario's folder) or a shipped model's name
``duration``        h           length of the run, > 0 (required)
``output_every``    h           spacing of the output grid, <= duration (1 h)
``parameters``      own unit    ``NAME: value`` overrides of model parameters ({})
``population``      --          ``{size: 1, seed: 0, variability: {NAME: CV}}``
``arms``            --          required list of ``{name, regimen, description}``
``solver``          --          ``{method, rtol, atol, max_steps, first_step,
                                max_step}`` (dopri5, 1e-6, 1e-9, 100000, 0, inf)
``summary``         --          ``{variables: [...], window: run | last_interval
                                | [start, end]}`` (every output, or every state
                                of a model without outputs; run)
==================  ==========  ===============================================

A regimen entry doses one compartment: ``cmt`` (the state's name, or its 1-based
number) plus the keys of :func:`pkpd.regimens.regimen_from_dict` except ``drug``
and ``schedule`` (``dose``, ``escalation``, ``every``, ``start``, ``count``,
``until``, ``on``, ``off``, ``hold``, ``reduce``, ``missed``), and ``infusion``
(a duration: a zero-order infusion of each dose over that time instead of a
bolus).  Doses are amounts in the compartment's unit: a state in ``mg`` (or ``ug``,
``g`` ...) takes ``100 mg`` or ``0.1 g``, a state in ``nmol`` takes ``5 umol``,
and a state in any other unit takes a bare number (or the number with that
unit).  Model parameters ``F<n>``, ``ALAG<n>`` set the bioavailability and lag
time of doses into compartment ``n`` (NONMEM style).

Variability: ``P_i = P * exp(eta_i)``, ``eta_i ~ N(0, omega^2)``,
``omega^2 = ln(1 + CV^2)``, one independent eta per named parameter, drawn from
patient ``i``'s own stream of the seed (:func:`pkpd.population.patient_rng`, with
one stream per parameter name), so a patient's values depend neither on how
patients are chunked or threaded nor on which other parameters vary.

Every problem raises a one-line :class:`~pkpd.errors.ScenarioError` naming the
field, e.g. ``arms[1].regimen[0].cmt: unknown compartment 'DEPO'; the model's
states are DEPOT, CENT``.

Examples
--------
>>> s = load_model_scenario('''
... name: demo
... model: pk1cmt_oral
... duration: 3 d
... arms:
...   - name: 100 mg QD
...     regimen: [{cmt: DEPOT, dose: 100 mg, every: 24 h}]
... ''')
>>> s.model.name, s.arms[0].dosing[0].cmt, len(s.arms[0].dosing[0].to_doses(s.duration_h))
('pk1cmt_oral', 1, 3)
"""

from __future__ import annotations

import math
import numbers
import os
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from pkpd.dosing import Dose
from pkpd.errors import InputError, ScenarioError
from pkpd.models.spec import ModelSpec, State
from pkpd.regimens import REGIMEN_KEYS, TIME_TOL_H, Regimen, regimen_from_dict
from pkpd.scenario import (
    DEFAULT_OUTPUT_EVERY_H,
    MAX_OUTPUT_TIMES,
    MAX_SIMULATIONS,
    SOLVER_KEYS,
    _Checked,
    _check_numbers,
    _checked,
    _integer,
    _looks_like_path,
    _mapping,
    _name,
    _parameter_value,
    _parse_yaml,
    _quantity,
    _regimen_entries,
    regular_grid_h,
    _shown,
    _solver_from_dict,
    _text,
)
from pkpd.solvers import SolverOptions
from pkpd.units import format_quantity, parse_quantity, unit_factor, unit_kind
from pkpd.usermodel import load_model, model_file

__all__ = [
    "ModelScenario", "ModelArm", "Dosing", "load_model_scenario", "model_scenario_from_dict",
    "is_model_scenario", "parameter_stream", "missed_stream", "MODEL_SCENARIO_KEYS", "DOSING_KEYS", "SUMMARY_KEYS", "SUMMARY_WINDOWS",
]

MODEL_SCENARIO_KEYS: tuple[str, ...] = (
    "name", "description", "model", "duration", "output_every", "parameters", "population", "arms",
    "solver", "summary",
)
"""Top-level keys of a scenario with a ``model``."""

ARM_KEYS: tuple[str, ...] = ("name", "regimen", "description")
POPULATION_KEYS: tuple[str, ...] = ("size", "seed", "variability")
DOSING_KEYS: tuple[str, ...] = ("cmt",) + tuple(k for k in REGIMEN_KEYS if k not in ("drug", "schedule")) \
    + ("infusion",)
"""Keys of one regimen entry of a model scenario."""
SUMMARY_KEYS: tuple[str, ...] = ("variables", "window")
SUMMARY_WINDOWS: tuple[str, ...] = ("run", "last_interval")
"""Named summary windows: the whole run, or each arm's last complete dosing interval."""

#: random-stream key of the log-normal eta of parameter NAME (see module docstring)
_PARAMETER_STREAM = "pkpd.generic parameter {}"
#: random-stream key of the random missed doses of an arm's regimen entry k
_MISSED_STREAM = "pkpd.generic missed doses {}"


def parameter_stream(name: str) -> int:
    """Random-stream key (CRC-32) of the between-patient eta of parameter ``name``."""
    return zlib.crc32(_PARAMETER_STREAM.format(name).encode())


def missed_stream(k: int) -> int:
    """Random-stream key (CRC-32) of the random missed doses of regimen entry ``k`` of an arm."""
    return zlib.crc32(_MISSED_STREAM.format(k).encode())


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class Dosing:
    """One regimen entry of an arm: a :class:`Regimen` given into one compartment.

    Attributes
    ----------
    regimen : the schedule; its dose amounts are in the compartment's unit.
    cmt : 1-based compartment (state) number.
    state : the compartment's :class:`State`.
    infusion_h : zero-order infusion duration of each dose, h, or None for boluses.
    """

    regimen: Regimen
    cmt: int
    state: State
    infusion_h: float | None = None

    def to_doses(self, end_h: float, rng: np.random.Generator | None = None) -> list[Dose]:
        """Dose records (time h, amount in the state's unit, cmt, rate amount/h) before ``end_h`` h."""
        doses = self.regimen.to_doses(self.cmt, end_h, rng)
        if self.infusion_h is None:
            return doses
        return [replace(d, rate=d.amt / self.infusion_h) for d in doses]

    def planned_times(self, end_h: float) -> np.ndarray:
        """Times (h) of the doses planned before ``end_h``, random misses not drawn (all given)."""
        return replace(self.regimen, missed_probability=0.0).dose_times(end_h)

    def describe(self) -> str:
        """One line, e.g. ``"100 mg every 24 h from 0 h, until 336 h, into DEPOT"``."""
        text = self.regimen.describe()
        if self.state.unit != "mg":
            text = text.replace(" mg", f" {self.state.unit}" if self.state.unit != "1" else "")
        how = f" as {format_quantity(self.infusion_h, 'time')} infusions" if self.infusion_h else ""
        return f"{text}{how} into {self.state.name}"


@dataclass(frozen=True)
class ModelArm:
    """One arm: a name and its dosing (none for an untreated arm)."""

    name: str
    dosing: tuple[Dosing, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class ModelScenario:
    """A validated scenario of any model (built by :func:`model_scenario_from_dict`).

    Attributes
    ----------
    name, description : text.
    model_ref : the ``model`` value as written; ``model`` the loaded :class:`ModelSpec`;
        ``model_file`` the resolved file (None for a shipped model).
    duration_h, output_every_h : h.
    parameters : overrides by parameter name, in the parameter's unit.
    size, seed : population size (>= 1) and seed (>= 0).
    variability : parameter name -> CV (>= 0) of its log-normal between-patient variability.
    arms : :class:`ModelArm` records.
    solver : :class:`pkpd.solvers.SolverOptions`.
    summary_variables : states and outputs summarised (Cmax, Cmin, AUC) per arm.
    summary_window : ``"run"``, ``"last_interval"`` or a (start, end) pair in h.
    text, source : the YAML text and where it came from (a file path or ``"<string>"``).
    base_dir : the folder a relative ``model`` file was resolved against (absolute).
    compiled : for a model written in the language, its :class:`pkpd.model.CompiledModel`
        (per-patient initial states and dose modifiers); None for a Python model.
    """

    name: str
    model_ref: str
    model: ModelSpec
    model_file: str | None
    duration_h: float
    arms: tuple[ModelArm, ...]
    description: str = ""
    output_every_h: float = DEFAULT_OUTPUT_EVERY_H
    parameters: Mapping[str, float] = field(default_factory=dict)
    size: int = 1
    seed: int = 0
    variability: Mapping[str, float] = field(default_factory=dict)
    solver: SolverOptions = field(default_factory=SolverOptions)
    summary_variables: tuple[str, ...] = ()
    summary_window: str | tuple[float, float] = "run"
    text: str = field(default="", repr=False)
    source: str = "<python>"
    base_dir: str = ""
    compiled: object = field(default=None, repr=False, compare=False)

    @property
    def n_simulations(self) -> int:
        """Arms x patients."""
        return len(self.arms) * self.size

    def regular_times_h(self) -> np.ndarray:
        """The stored output grid, h: ``0, output_every, ...`` up to ``duration_h``, plus ``duration_h``."""
        return regular_grid_h(self.duration_h, self.output_every_h)

    def typical_parameters(self) -> np.ndarray:
        """The parameter vector (n_parameters,) with the scenario's overrides, model units."""
        return self.model.pack(dict(self.parameters))

    def window(self, arm: ModelArm) -> tuple[float, float] | None:
        """The summary window of ``arm``, (start, end) in h; None when the arm has no complete dosing interval.

        ``last_interval``: of the arm's regimen entry that gives the last planned dose of
        the run, its last dosing interval that ends within the run.
        """
        if isinstance(self.summary_window, tuple):
            return self.summary_window
        if self.summary_window == "run":
            return (0.0, self.duration_h)
        best = None
        for d in arm.dosing:
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

    def describe(self) -> str:
        """Several lines: model, arms with their dosing, population, output grid and summary."""
        m = self.model
        lines = [f"model {m.name} ({self.model_file or 'shipped'}): {m.n_states} states "
                 f"({', '.join(m.state_names)}), {m.n_parameters} parameters"]
        for a in self.arms:
            lines.append(f"arm {a.name}: " + ("; ".join(d.describe() for d in a.dosing) or "no doses"))
        var = ", ".join(f"{k} CV {v:g}" for k, v in self.variability.items()) or "none"
        lines.append(f"patients per arm: {self.size} (seed {self.seed}; variability: {var})")
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


# --------------------------------------------------------------------------- reading


def _state(model: ModelSpec, value: object, path: str) -> tuple[int, State]:
    """A compartment given by state name or 1-based number -> (1-based number, State)."""
    names = ", ".join(model.state_names)
    if isinstance(value, str):
        name = value.strip()
        if name in model.state_names:
            i = model.state_names.index(name)
            return i + 1, model.states[i]
        raise ScenarioError(path, f"unknown compartment '{name}'; the model's states are {names}", show_value=False)
    if isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)):
        if 1 <= value <= model.n_states:
            return int(value), model.states[int(value) - 1]
        raise ScenarioError(path, f"must be a state name or a number 1 to {model.n_states} ({names})", _shown(value))
    raise ScenarioError(path, f"must be a compartment: a state name ({names}) or its 1-based number", _shown(value))


def _amount_kind(unit: str) -> str | None:
    try:
        kind = unit_kind(unit)
    except InputError:
        return None
    return kind if kind in ("amount", "molar_amount") else None


def _dose_amount(value: object, state: State, path: str) -> float:
    """A dose in the unit of ``state`` (> 0): converted from any mass (or molar) unit when the state has one."""
    kind = _amount_kind(state.unit)
    if kind is not None:
        with _Checked():
            return parse_quantity(value, kind, path, require="> 0") / unit_factor(state.unit, kind, path)
    number = None
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)):
        number = float(value)
    elif isinstance(value, str):
        parts = value.split(None, 1)
        try:
            number = float(parts[0]) if parts and (len(parts) == 1 or parts[1].strip() == state.unit) else None
        except ValueError:
            number = None
    if number is None:
        raise ScenarioError(path, f"must be an amount in {state.unit} (the unit of {state.name}), written "
                                  f"'10' or '10 {state.unit}'", _shown(value))
    if not (math.isfinite(number) and number > 0):
        raise ScenarioError(path, f"must be > 0 {state.unit}", _shown(value))
    return number


def _converted(entry: Mapping, state: State, path: str) -> dict:
    """``entry`` with its dose amounts (``dose``, escalation and reduction doses) in the state's unit."""
    out = dict(entry)
    if "dose" in out:
        out["dose"] = _dose_amount(out["dose"], state, f"{path}.dose")
    if isinstance(out.get("escalation"), list):
        steps = []
        for i, s in enumerate(out["escalation"]):
            if isinstance(s, Mapping) and "dose" in s:
                s = {**s, "dose": _dose_amount(s["dose"], state, f"{path}.escalation[{i}].dose")}
            steps.append(s)
        out["escalation"] = steps
    red = out.get("reduce")
    if isinstance(red, Mapping) and "dose" in red:
        out["reduce"] = {**red, "dose": _dose_amount(red["dose"], state, f"{path}.reduce.dose")}
    elif isinstance(red, list):
        out["reduce"] = [{**r, "dose": _dose_amount(r["dose"], state, f"{path}.reduce[{i}].dose")}
                         if isinstance(r, Mapping) and "dose" in r else r for i, r in enumerate(red)]
    return out


def _dosing(entry: object, model: ModelSpec, path: str) -> Dosing:
    m = _mapping(entry, path, DOSING_KEYS)
    if "cmt" not in m:
        raise ScenarioError(f"{path}.cmt", "is required: the compartment dosed, a state name ("
                            + ", ".join(model.state_names) + ") or its 1-based number", show_value=False)
    cmt, state = _state(model, m["cmt"], f"{path}.cmt")
    infusion = None
    if "infusion" in m:
        infusion = _quantity(m["infusion"], "time", f"{path}.infusion", require="> 0")
    rest = {k: v for k, v in _converted(m, state, path).items() if k not in ("cmt", "infusion")}
    with _Checked():
        regimen = regimen_from_dict({**rest, "drug": state.name}, path)
    return Dosing(replace(regimen, drug=None), cmt, state, infusion)


def _arm(d: object, model: ModelSpec, path: str) -> ModelArm:
    m = _mapping(d, path, ARM_KEYS)
    if "name" not in m:
        raise ScenarioError(f"{path}.name", "is required")
    name = _name(m["name"], f"{path}.name")
    entries = _regimen_entries(m.get("regimen"), path, "{cmt, dose, every, ...}")
    description = m.get("description")
    if description is not None:
        _text(description, f"{path}.description")
    return ModelArm(name, tuple(_dosing(e, model, p) for e, p in entries), description or "")


def _variability(value: object, model: ModelSpec, path: str) -> dict[str, float]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ScenarioError(path, "must be a mapping parameter: CV of its log-normal variability, "
                                  "e.g. {CL: 0.3, V: 20 %}", _shown(value))
    out = {}
    for name, cv in value.items():
        p = f"{path}.{name}"
        if name not in model.parameter_names:
            raise ScenarioError(p, f"unknown parameter of model {model.name}; valid: "
                                + ", ".join(model.parameter_names), show_value=False)
        out[name] = _quantity(cv, "dimensionless", p, require=">= 0")
    return out


def _summary(value: object, model: ModelSpec, duration_h: float):
    default = tuple(o.name for o in model.outputs) or model.state_names
    if value is None:
        return default, "run"
    m = _mapping(value, "summary", SUMMARY_KEYS)
    variables = default
    if m.get("variables") is not None:
        raw = m["variables"]
        if not isinstance(raw, list) or not raw:
            raise ScenarioError("summary.variables", "must be a non-empty list of state or output names",
                                _shown(raw))
        valid = model.state_names + tuple(o.name for o in model.outputs)
        for i, v in enumerate(raw):
            if not isinstance(v, str) or v not in valid:
                raise ScenarioError(f"summary.variables[{i}]", f"unknown variable {_shown(v)!s}; the model's "
                                    "states and outputs are " + ", ".join(valid), show_value=False)
        if len(set(raw)) != len(raw):
            raise ScenarioError("summary.variables", "lists a variable twice", show_value=False)
        variables = tuple(raw)
    window: str | tuple[float, float] = "run"
    w = m.get("window")
    if isinstance(w, str) and w.strip() in SUMMARY_WINDOWS:
        window = w.strip()
    elif isinstance(w, list):
        if len(w) != 2:
            raise ScenarioError("summary.window", "must be [start, end] (two times)", _shown(w))
        t0 = _quantity(w[0], "time", "summary.window[0]")
        t1 = _quantity(w[1], "time", "summary.window[1]")
        if not t1 > t0:
            raise ScenarioError("summary.window[1]", "must be later than the start", _shown(w[1]))
        if t1 > duration_h + TIME_TOL_H:
            raise ScenarioError("summary.window[1]", f"must be <= duration ({format_quantity(duration_h, 'time')})",
                                _shown(w[1]))
        window = (t0, min(t1, duration_h))
    elif w is not None:
        raise ScenarioError("summary.window", "must be " + ", ".join(SUMMARY_WINDOWS) + " or [start, end]",
                            _shown(w))
    return variables, window


@_checked
def model_scenario_from_dict(data: object, *, text: str = "", source: str = "<python>",
                             base_dir: str | os.PathLike | None = None) -> ModelScenario:
    """Validate a model scenario given as a mapping (as read from YAML); see :func:`load_model_scenario`.

    ``base_dir`` is the folder a relative ``model`` file is resolved against (the
    scenario file's folder; default the current folder).
    """
    if not isinstance(data, Mapping):
        raise ScenarioError("top level", "must be a mapping with keys " + ", ".join(MODEL_SCENARIO_KEYS),
                            _shown(data))
    _check_numbers(data, "", set(), [1_000_000])
    d = _mapping(data, "", MODEL_SCENARIO_KEYS)
    for key in ("name", "model", "duration", "arms"):
        if key not in d:
            raise ScenarioError(key, "is required")
    name = _name(d["name"], "name")
    description = "" if d.get("description") is None else _text(d["description"], "description")
    with _Checked():
        model, resolved, compiled = _load_model(d["model"], base_dir)
    duration = _quantity(d["duration"], "time", "duration", require="> 0")
    every = _quantity(d.get("output_every", DEFAULT_OUTPUT_EVERY_H), "time", "output_every", require="> 0")
    if every > duration + TIME_TOL_H:
        raise ScenarioError("output_every", f"must be <= duration ({format_quantity(duration, 'time')})",
                            _shown(d.get("output_every")))
    n_times = math.floor(duration / every + 1e-9) + 1
    if n_times > MAX_OUTPUT_TIMES:
        raise ScenarioError("output_every", f"gives {n_times} output times, more than {MAX_OUTPUT_TIMES}; "
                                            "use a larger output_every", _shown(d.get("output_every")))

    raw = d.get("parameters")
    parameters = {}
    if raw is not None:
        if not isinstance(raw, Mapping):
            raise ScenarioError("parameters", "must be a mapping NAME: value, e.g. {CL: 4 L/h}", _shown(raw))
        for pname, value in raw.items():
            path = f"parameters.{pname}"
            if pname not in model.parameter_names:
                raise ScenarioError(path, f"unknown parameter of model {model.name}; valid: "
                                    + ", ".join(model.parameter_names), show_value=False)
            parameters[pname] = _parameter_value(value, "model", model.parameter(pname), path)

    pop = d.get("population")
    pm = {} if pop is None else _mapping(pop, "population", POPULATION_KEYS)
    size = _integer(pm.get("size", 1), "population.size", 1, "a number of patients")
    seed = _integer(pm.get("seed", 0), "population.seed", 0, "a random seed")
    variability = _variability(pm.get("variability"), model, "population.variability")

    arms_raw = d["arms"]
    if not isinstance(arms_raw, list) or not arms_raw:
        raise ScenarioError("arms", "must be a non-empty list of arms, e.g. [{name: placebo}]", _shown(arms_raw))
    arms = tuple(_arm(a, model, f"arms[{i}]") for i, a in enumerate(arms_raw))
    seen = set()
    for i, a in enumerate(arms):
        if a.name in seen:
            raise ScenarioError(f"arms[{i}].name", "is used by an earlier arm; arm names must be unique", a.name)
        seen.add(a.name)
    if len(arms) * size > MAX_SIMULATIONS:
        raise ScenarioError("population.size", f"gives {len(arms) * size} simulations, more than "
                                               f"{MAX_SIMULATIONS}", size)

    solver = SolverOptions() if d.get("solver") is None else \
        _solver_from_dict(d["solver"], tuple(k for k in SOLVER_KEYS if k not in ("periodic", "pk")))
    with _Checked():
        solver.atol_array(model.n_states)
    variables, window = _summary(d.get("summary"), model, duration)
    return ModelScenario(
        name=name, model_ref=str(d["model"]).strip(), model=model, compiled=compiled,
        model_file=None if resolved is None else str(resolved), duration_h=duration, arms=arms,
        description=description, output_every_h=every, parameters=parameters, size=size, seed=seed,
        variability=variability, solver=solver, summary_variables=variables, summary_window=window,
        text=text, source=source, base_dir=str(Path(base_dir if base_dir is not None else ".").resolve()))


def _load_model(ref: object, base_dir) -> tuple[ModelSpec, Path | None, object]:
    """``model:`` -> (spec, resolved file or None, CompiledModel or None).

    A model written in the language (a ``.model`` file, relative to the scenario's folder,
    or a name of :data:`pkpd.model.library.LIBRARY`) is compiled with its generated
    kernels; its initial states (expressions of parameters, ``steady_state``) and dosing
    declarations then act per patient.  Anything else is a Python model
    (:func:`pkpd.usermodel.load_model`).
    """
    from pkpd.model.library import LIBRARY

    text = ref.strip() if isinstance(ref, str) else ref
    if isinstance(text, str) and (text.endswith(".model") or text in LIBRARY):
        from pkpd.model import compile_model, load_model_file

        if text in LIBRARY:
            cm, resolved = compile_model(LIBRARY[text]), None
        else:
            file = Path(text) if Path(text).is_absolute() else Path(base_dir or ".") / text
            if not file.is_file():
                raise ScenarioError("model", f"no such model file {file}", show_value=False)
            cm, resolved = compile_model(load_model_file(file)), file.resolve()
        return cm.spec, resolved, cm
    return load_model(ref, base_dir, "model"), model_file(ref, base_dir, "model"), None


def _read(path_or_text: str | os.PathLike) -> tuple[str, str, Path | None]:
    """(text, source, folder) of a scenario file or YAML text."""
    if isinstance(path_or_text, os.PathLike) or (isinstance(path_or_text, str) and _looks_like_path(path_or_text)):
        file = Path(os.fspath(path_or_text).strip() if isinstance(path_or_text, str) else path_or_text)
        if not file.is_file():
            raise ScenarioError(str(file), "no such scenario file", show_value=False)
        try:
            return file.read_text(encoding="utf-8"), str(file), file.resolve().parent
        except (OSError, UnicodeDecodeError) as err:
            raise ScenarioError(str(file), f"cannot be read ({type(err).__name__})", show_value=False) from None
    if isinstance(path_or_text, str):
        return path_or_text, "<string>", None
    raise ScenarioError("scenario", "must be a file path or YAML text", _shown(path_or_text))


@_checked
def load_model_scenario(path_or_text: str | os.PathLike, base_dir: str | os.PathLike | None = None) -> ModelScenario:
    """Read and validate a model scenario from a YAML file or YAML text.

    A relative ``model`` file is resolved against the scenario file's folder (for
    text: ``base_dir``, default the current folder).  Raises a one-line
    :class:`ScenarioError` naming the field for any problem.
    """
    text, source, folder = _read(path_or_text)
    data = _parse_yaml(text)
    if data is None:
        raise ScenarioError(source if source != "<string>" else "scenario", "is empty", show_value=False)
    return model_scenario_from_dict(data, text=text, source=source,
                                    base_dir=folder if folder is not None else base_dir)


def is_model_scenario(path_or_text: str | os.PathLike) -> bool:
    """Whether a scenario file (or YAML text) has a top-level ``model`` key.

    False for anything that cannot be read or parsed: the built-in reader reports that.
    """
    try:
        text, _, _ = _read(path_or_text)
        data = _parse_yaml(text)
    except InputError:
        return False
    return isinstance(data, Mapping) and "model" in data
