"""The parts of a scenario that belong to its model: compartment dosing, the summary, loading the model.

A scenario with a top-level ``model:`` key (a model written in pkpd's language, a
shipped library model, or a Python model file, see ``docs/user_models.md``) is read
by the same reader as the trial system's (:mod:`pkpd.scenario`) and run by the same
runner (:mod:`pkpd.runner`).  What differs is what the model decides, and it lives here:

* a regimen entry doses a **compartment**: ``cmt`` (a state's name, or its 1-based
  number) plus the keys of :func:`pkpd.regimens.regimen_from_dict` except ``drug``
  and ``schedule``, and ``infusion`` (a duration: each dose as a zero-order infusion
  over that time).  Doses are amounts in the compartment's unit: a state in ``mg``
  takes ``100 mg`` or ``0.1 g``, a state in ``nmol`` takes ``5 umol``; a state in any
  other unit takes a bare number (or the number with that unit).  Parameters
  ``F<n>`` and ``ALAG<n>`` set the bioavailability and lag time of doses into
  compartment ``n`` (NONMEM style), as do a language model's ``dosing`` declarations;
* ``parameters`` and ``sweep`` name the model's parameters (``kel``; ``neratinib.CL``
  in a composed model), and a regimen sweep names a dosed compartment
  (``DEPOT.dose``, ``A.every``);
* ``population.variability`` is ``{NAME: CV}``: ``P_i = P exp(eta_i)``,
  ``eta_i ~ N(0, omega^2)``, ``omega^2 = ln(1 + CV^2)``, one eta per named parameter
  from patient ``i``'s own stream of the seed (:func:`parameter_stream`), so a
  patient's values depend neither on chunks or threads nor on which other
  parameters vary;
* ``summary`` picks the states and outputs whose ``CMAX``, ``CMIN`` and ``AUC`` are
  reported, over the run, each arm's last complete dosing interval, or a window.

Examples
--------
>>> from pkpd.scenario import load_scenario
>>> s = load_scenario('''
... name: demo
... model: pk1cmt_oral
... duration: 3 d
... arms:
...   - name: 100 mg QD
...     regimen: [{cmt: DEPOT, dose: 100 mg, every: 24 h}]
... ''')
>>> s.model.name, s.arms[0].regimens[0].cmt, len(s.arms[0].regimens[0].to_doses(s.duration_h))
('pk1cmt_oral', 1, 3)
"""

from __future__ import annotations

import math
import numbers
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from pkpd.dosing import Dose
from pkpd.errors import InputError, ScenarioError
from pkpd.models.spec import ModelSpec, State
from pkpd.regimens import REGIMEN_KEYS, TIME_TOL_H, Regimen, regimen_from_dict
from pkpd.scenario import _Checked, _mapping, _quantity, _shown
from pkpd.units import format_quantity, parse_quantity, unit_factor, unit_kind
from pkpd.usermodel import load_model, model_file

__all__ = ["Dosing", "DOSING_KEYS", "SUMMARY_KEYS", "SUMMARY_WINDOWS", "MODEL_SCENARIO_KEYS",
           "parameter_stream", "missed_stream", "dosing_from_dict", "dose_amount", "summary_from_dict",
           "variability_from_dict", "comparisons_from_dict", "trial_from_dict", "load_scenario_model",
           "COMPARISON_KEYS", "TRIAL_KEYS"]

MODEL_SCENARIO_KEYS: tuple[str, ...] = (
    "name", "description", "model", "duration", "output_every", "parameters", "population", "arms",
    "sweep", "solver", "summary", "comparisons", "trial",
)
"""Top-level keys of a scenario with a ``model``."""

DOSING_KEYS: tuple[str, ...] = ("cmt", "drug") + tuple(k for k in REGIMEN_KEYS if k not in ("drug", "schedule")) \
    + ("infusion",)
"""Keys of one regimen entry of a model scenario."""
SUMMARY_KEYS: tuple[str, ...] = ("variables", "window")
COMPARISON_KEYS: tuple[str, ...] = ("outputs", "window")
"""Keys of ``comparisons``: the outputs whose inhibition is compared, and the window of their means."""
DEFAULT_COMPARISON_WINDOW_H = 7 * 24.0
TRIAL_KEYS: tuple[str, ...] = ("tumor", "scan_every", "recist")
"""Keys of ``trial``: the tumour-size variable read at the scans, the scan interval, how scans are read."""
SUMMARY_WINDOWS: tuple[str, ...] = ("run", "last_interval")
"""Named summary windows: the whole run, or each arm's last complete dosing interval."""

# The stream keys keep the text they had when model scenarios had their own runner
# (pkpd.generic_runner), so that the same scenario and seed give the same patients.
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


@dataclass(frozen=True)
class Dosing:
    """One regimen entry of a model scenario's arm: a :class:`Regimen` given into one compartment.

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

    @property
    def target(self) -> str:
        """The dosed compartment's name: the ``<target>`` of a regimen sweep key ``<target>.dose``."""
        return self.state.name

    @property
    def path(self) -> str:
        return self.regimen.path

    def to_doses(self, end_h: float, rng: np.random.Generator | None = None) -> list[Dose]:
        """Dose records (time h, amount in the state's unit, cmt, rate amount/h) before ``end_h`` h."""
        doses = self.regimen.to_doses(self.cmt, end_h, rng)
        if self.infusion_h is None:
            return doses
        return [replace(d, rate=d.amt / self.infusion_h) for d in doses]

    def dose_times(self, end_h: float, rng: np.random.Generator | None = None) -> np.ndarray:
        """Times (h) of the doses given before ``end_h`` (h)."""
        return self.regimen.dose_times(end_h, rng)

    def planned_times(self, end_h: float) -> np.ndarray:
        """Times (h) of the doses planned before ``end_h``, random misses not drawn (all given)."""
        return replace(self.regimen, missed_probability=0.0).dose_times(end_h)

    def with_regimen(self, regimen: Regimen) -> "Dosing":
        """The same compartment and infusion with another schedule."""
        return replace(self, regimen=regimen)

    def describe(self) -> str:
        """One line, e.g. ``"100 mg every 24 h from 0 h, until 336 h, into DEPOT"``."""
        text = self.regimen.describe()
        if self.state.unit != "mg":
            text = text.replace(" mg", f" {self.state.unit}" if self.state.unit != "1" else "")
        how = f" as {format_quantity(self.infusion_h, 'time')} infusions" if self.infusion_h else ""
        return f"{text}{how} into {self.state.name}"


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


def dose_amount(value: object, state: State, path: str) -> float:
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
        out["dose"] = dose_amount(out["dose"], state, f"{path}.dose")
    if isinstance(out.get("escalation"), list):
        steps = []
        for i, s in enumerate(out["escalation"]):
            if isinstance(s, Mapping) and "dose" in s:
                s = {**s, "dose": dose_amount(s["dose"], state, f"{path}.escalation[{i}].dose")}
            steps.append(s)
        out["escalation"] = steps
    red = out.get("reduce")
    if isinstance(red, Mapping) and "dose" in red:
        out["reduce"] = {**red, "dose": dose_amount(red["dose"], state, f"{path}.reduce.dose")}
    elif isinstance(red, list):
        out["reduce"] = [{**r, "dose": dose_amount(r["dose"], state, f"{path}.reduce[{i}].dose")}
                         if isinstance(r, Mapping) and "dose" in r else r for i, r in enumerate(red)]
    return out


def drug_compartment(compiled, drug: object, path: str) -> str:
    """The state that ``drug:`` names in a composed model: the one its block declares as dosed.

    ``{drug: neratinib}`` is shorthand for ``{cmt: neratinib.DEPOT}`` when block ``neratinib``
    declares doses into its ``DEPOT`` (and into no other state).
    """
    blocks = compiled.model.blocks if compiled is not None else {}
    if not blocks:
        name = compiled.name if compiled is not None else "this model"
        raise ScenarioError(path, f"is shorthand for a block's dosing compartment, and {name} is not composed of "
                            "blocks; give cmt: (a state name or number)", show_value=False)
    if not isinstance(drug, str) or drug not in blocks:
        raise ScenarioError(path, "must name a block of the model: " + ", ".join(blocks), _shown(drug))
    dosed = [d.state for d in compiled.model.dosing if d.state in blocks[drug]["states"]]
    if len(dosed) != 1:
        what = "declares no dosed state" if not dosed else "doses several states (" + ", ".join(dosed) + ")"
        raise ScenarioError(path, f"block {drug} {what}; give cmt: instead", show_value=False)
    return dosed[0]


def dosing_from_dict(entry: object, model: ModelSpec, path: str, compiled=None) -> Dosing:
    """One regimen entry ``{cmt | drug, dose, every, ...}`` of a model scenario's arm -> :class:`Dosing`.

    ``drug: NAME`` doses block NAME's dosing compartment (:func:`drug_compartment`; ``compiled``
    is the model written in the language, None for a hand-written one).
    """
    m = _mapping(entry, path, DOSING_KEYS)
    if "drug" in m:
        if "cmt" in m:
            raise ScenarioError(path, "give cmt or drug, not both", show_value=False)
        m = {**{k: v for k, v in m.items() if k != "drug"}, "cmt": drug_compartment(compiled, m["drug"],
                                                                                      f"{path}.drug")}
    if "cmt" not in m:
        raise ScenarioError(f"{path}.cmt", "is required: the compartment dosed, a state name ("
                            + ", ".join(model.state_names) + ") or its 1-based number, or drug: a block's "
                            "dosing compartment", show_value=False)
    cmt, state = _state(model, m["cmt"], f"{path}.cmt")
    infusion = None
    if "infusion" in m:
        infusion = _quantity(m["infusion"], "time", f"{path}.infusion", require="> 0")
    rest = {k: v for k, v in _converted(m, state, path).items() if k not in ("cmt", "infusion")}
    with _Checked():
        regimen = regimen_from_dict({**rest, "drug": state.name}, path)
    return Dosing(replace(regimen, drug=None), cmt, state, infusion)


def variability_from_dict(value: object, model: ModelSpec, path: str) -> dict[str, float]:
    """``{NAME: CV}`` (CV >= 0, a number or ``"30 %"``) of the model's parameters."""
    if value is None or value is False:
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


def summary_from_dict(value: object, model: ModelSpec, duration_h: float):
    """``summary`` -> (variables, window): every output (or every state) over the run by default."""
    default = tuple(o.name for o in model.outputs) or model.state_names
    if value is None:
        return default, "run"
    m = _mapping(value, "summary", SUMMARY_KEYS)
    variables = default
    if m.get("variables") is not None:
        variables = _variables(m["variables"], model, "summary.variables",
                               "must be a non-empty list of state or output names")
    window: str | tuple[float, float] = "run"
    w = m.get("window")
    if isinstance(w, str) and w.strip() in SUMMARY_WINDOWS:
        window = w.strip()
    elif isinstance(w, list):
        window = _time_window(w, duration_h, "summary.window")
    elif w is not None:
        raise ScenarioError("summary.window", "must be " + ", ".join(SUMMARY_WINDOWS) + " or [start, end]",
                            _shown(w))
    return variables, window


def comparisons_from_dict(value: object, model: ModelSpec, duration_h: float):
    """``comparisons`` -> (outputs, window (start, end) h); ((), None) when not given.

    The window defaults to the last 7 days of the run (the whole run when it is shorter).
    """
    if value is None:
        return (), None
    m = _mapping(value, "comparisons", COMPARISON_KEYS)
    valid = model.state_names + tuple(o.name for o in model.outputs)
    outputs = _variables(m.get("outputs"), model, "comparisons.outputs",
                         "is required: a list of outputs (or states) whose inhibition the comparisons report, "
                         "e.g. [" + ", ".join(valid[:2]) + "]")
    window = (max(0.0, duration_h - DEFAULT_COMPARISON_WINDOW_H), duration_h)
    if m.get("window") is not None:
        window = _time_window(m["window"], duration_h, "comparisons.window")
    return outputs, window


def _variables(raw: object, model: ModelSpec, path: str, rule: str) -> tuple[str, ...]:
    """A non-empty list of distinct state or output names of ``model``."""
    if not isinstance(raw, list) or not raw:
        raise ScenarioError(path, rule, _shown(raw))
    valid = model.state_names + tuple(o.name for o in model.outputs)
    for i, v in enumerate(raw):
        if not isinstance(v, str) or v not in valid:
            raise ScenarioError(f"{path}[{i}]", f"unknown variable {_shown(v)!s}; the model's states and outputs "
                                "are " + ", ".join(valid), show_value=False)
    if len(set(raw)) != len(raw):
        raise ScenarioError(path, "lists a variable twice", show_value=False)
    return tuple(raw)


def _time_window(w: object, duration_h: float, path: str) -> tuple[float, float]:
    """``[start, end]`` (times) within the run -> (start, end) h."""
    if not isinstance(w, list) or len(w) != 2:
        raise ScenarioError(path, "must be [start, end] (two times)", _shown(w))
    t0 = _quantity(w[0], "time", f"{path}[0]")
    t1 = _quantity(w[1], "time", f"{path}[1]")
    if not t1 > t0:
        raise ScenarioError(f"{path}[1]", "must be later than the start", _shown(w[1]))
    if t1 > duration_h + TIME_TOL_H:
        raise ScenarioError(f"{path}[1]", f"must be <= duration ({format_quantity(duration_h, 'time')})", _shown(w[1]))
    return (t0, min(t1, duration_h))


def trial_from_dict(value: object, model: ModelSpec) -> tuple[str, dict]:
    """``trial`` -> (tumour variable, Scenario keyword arguments: scan_every_h, recist); ("", {}) when not given.

    The tumour variable is a state or output in mm: the sum of the target lesions' longest
    diameters that RECIST 1.1 reads at each scan.
    """
    from pkpd.scenario import RECIST_KEYS, Recist

    if value is None:
        return "", {}
    m = _mapping(value, "trial", TRIAL_KEYS)
    units = {s.name: s.unit for s in model.states} | {o.name: o.unit for o in model.outputs}
    mm = [k for k, u in units.items() if u == "mm"]
    v = m.get("tumor")
    if not isinstance(v, str) or v not in units:
        raise ScenarioError("trial.tumor", "is required: the state or output (in mm) that RECIST reads, the sum of "
                            "target-lesion diameters" + (f"; the model's in mm: {', '.join(mm)}" if mm else
                                                         "; the model has none in mm"), _shown(v))
    if units[v] != "mm":
        raise ScenarioError("trial.tumor", f"must be in mm (a lesion diameter), but {v} is in {units[v]}",
                            show_value=False)
    kw: dict = {}
    if m.get("scan_every") is not None:
        kw["scan_every_h"] = _quantity(m["scan_every"], "time", "trial.scan_every", require="> 0")
    if m.get("recist") is not None:
        rm = _mapping(m["recist"], "trial.recist", RECIST_KEYS)
        kw["recist"] = Recist(**{k: rm[k] for k in RECIST_KEYS if k in rm}, path="trial.recist")
    return v, kw


def load_scenario_model(ref: object, base_dir) -> tuple[ModelSpec, Path | None, object]:
    """``model:`` -> (spec, resolved file or None, CompiledModel or None).

    A model written in the language (a ``.model`` file, relative to the scenario's folder,
    or a name of :data:`pkpd.model.library.LIBRARY`) is compiled with its generated
    kernels; its initial states (expressions of parameters, ``steady_state``) and dosing
    declarations then act per patient.  A mapping composes blocks (:func:`_composed`).
    Anything else is a Python model (:func:`pkpd.usermodel.load_model`).
    """
    from pkpd.model.library import LIBRARY

    if isinstance(ref, Mapping):
        return _composed(ref, base_dir)
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


COMPOSITION_KEYS: tuple[str, ...] = ("name", "from", "blocks", "connections", "description")
"""Keys of a ``model`` mapping: blocks composed in the scenario."""


def _block(value: object, base_dir, path: str):
    """A block: a library model's name or a ``.model`` file (relative to the scenario's folder)."""
    from pkpd.model import load_model_file
    from pkpd.model.library import LIBRARY

    if not isinstance(value, str) or not value.strip():
        raise ScenarioError(path, "must be a library model's name (" + ", ".join(LIBRARY) + ") or a .model file",
                            _shown(value))
    text = value.strip()
    if text in LIBRARY:
        return LIBRARY[text]
    if not text.endswith(".model"):
        raise ScenarioError(path, f"unknown library model '{text}'; give one of " + ", ".join(LIBRARY)
                            + " or a .model file", show_value=False)
    file = Path(text) if Path(text).is_absolute() else Path(base_dir or ".") / text
    if not file.is_file():
        raise ScenarioError(path, f"no such model file {file}", show_value=False)
    return load_model_file(file)


def _composed(ref: Mapping, base_dir):
    """``model: {from, blocks, connections, name}``: blocks joined in the scenario, without code.

    ``from`` starts from a library composition's blocks and connections (``tnbc_combination``);
    ``blocks`` adds blocks or replaces them by name (a library name or a ``.model`` file);
    ``connections`` adds connections or replaces those of an input (``input: source``).
    """
    from pkpd.model import compile_model
    from pkpd.model.compose import compose
    from pkpd.model.library import composition

    m = _mapping(ref, "model", COMPOSITION_KEYS)
    blocks, connections = {}, {}
    if m.get("from") is not None:
        with _Checked():
            blocks, connections = composition(str(m["from"]).strip())
    raw = m.get("blocks") or {}
    if not isinstance(raw, Mapping) or (not raw and not blocks):
        raise ScenarioError("model.blocks", "must be a mapping name: block (a library name or a .model file)",
                            _shown(raw))
    for name, value in raw.items():
        blocks[str(name)] = _block(value, base_dir, f"model.blocks.{name}")
    raw = m.get("connections") or {}
    if not isinstance(raw, Mapping):
        raise ScenarioError("model.connections", "must be a mapping input: source, e.g. {tumor.P: signaling.P}",
                            _shown(raw))
    for target, source in raw.items():
        if not isinstance(source, str):
            raise ScenarioError(f"model.connections.{target}", "must be a source block.name", _shown(source))
        connections[str(target)] = source.strip()
    name = str(m.get("name") or ("custom_" + str(m.get("from") or "composition")))
    if not name.isidentifier():
        raise ScenarioError("model.name", "must be letters, digits and _", name)
    model = compose(name, blocks, connections, description=str(m.get("description") or
                    f"blocks {', '.join(blocks)} composed in a scenario"))
    cm = compile_model(model)
    return cm.spec, None, cm
