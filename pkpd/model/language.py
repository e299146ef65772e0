"""The model language: a model written as equations, checked by name before anything is compiled.

A :class:`Model` declares

* **parameters** (:class:`pkpd.models.spec.Parameter`: value, unit, meaning, source,
  whether the value is assumed, bounds);
* **inputs** (:class:`Input`): quantities another block supplies through a connection
  (a free drug concentration, a signal).  An input that nothing connects is a
  parameter with its default value, so every block also runs on its own;
* **states** (:class:`StateDef`): unit and an initial value, a number or an expression
  of parameters and parameter-only derived quantities (a turnover baseline
  ``R0 = kin/kout``), or ``steady_state`` (``steady_state(start)``): the value at which
  the state settles drug-free from 0 (from ``start``), solved for each patient
  (:mod:`pkpd.model.steady`);
* **derived quantities** (:class:`Derived`): named expressions (concentrations, free
  fractions, drug effects), in any order: they are sorted by what they use, and a
  quantity that refers to itself, directly or through others, is an error;
* one **ODE** per state (``d/dt(R) = kin*(1 - INH) - kout*R``), and
* **outputs** (:class:`OutputDef`): named expressions reported to users, with units;
* **dosing** (:class:`DoseDef`): for a dosed state, its bioavailability, lag time,
  or modelled infusion rate or duration as expressions of parameters (NONMEM's
  ``F1``, ``ALAG1``, ``R1``, ``D1``).

Expressions are those of :mod:`pkpd.model.expressions`.  Every declaration keeps the
place it was written (file and line), so each error names the file, the line and the
symbol: ``irm.model:14: d/dt(R): unknown symbol 'kot' (did you mean 'kout'?)``.

A model is written in Python (build the dataclasses) or as text (:func:`parse_model`),
in sections::

    [model]
    name = irm
    description = Oral one-compartment PK inhibiting the production of a response R

    [parameters]
    # NAME [unit] = value [in [lower, upper]] ; description ; source
    CL   [L/h]  = 5     ; clearance              ; Smith 2010 Table 2
    IC50 [mg/L] = 2     ; half-inhibiting conc.  ; assumed
    Imax [1]    = 0.9 in [0, 1] ; maximal inhibition ; assumed

    [states]
    # NAME [unit] = initial ; description
    DEPOT [mg] = 0 ; absorption depot
    R     [1]  = kin/kout ; response, starts at its baseline

    [derived]
    C [mg/L] = CENT/V ; plasma concentration

    [odes]
    d/dt(DEPOT) = -KA*DEPOT

    [outputs]
    CP [mg/L] = C ; plasma concentration

    [dosing]
    DEPOT: bioavailability = F1, lag = ALAG

A source that starts with ``assumed`` or ``GUESS`` marks the value as assumed.  The
whole grammar is in ``docs/user_models.md``.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from pkpd.errors import ModelError
from pkpd.model.expressions import RESERVED, Expression, ExpressionError, parse_expression
from pkpd.models.spec import Parameter

__all__ = ["Model", "Input", "StateDef", "Derived", "OutputDef", "DoseDef", "Where", "parse_model",
           "load_model_file", "DOSE_MODIFIERS", "STEADY_STATE", "is_steady_state",
           "steady_state_start"]

#: dosing modifiers a dosed state may set: keyword -> (NONMEM name, default)
DOSE_MODIFIERS = {"bioavailability": ("F", 1.0), "lag": ("ALAG", 0.0), "rate": ("R", 0.0),
                  "duration": ("D", 0.0)}

_NAME = r"[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)*"


@dataclass(frozen=True)
class Where:
    """Where a declaration was written: a file (or a model name) and a line (0: not from text)."""

    file: str = ""
    line: int = 0

    def __str__(self) -> str:
        if self.file and self.line:
            return f"{self.file}:{self.line}"
        return self.file


@dataclass(frozen=True)
class Input:
    """A quantity supplied by another block; its ``default`` is used when nothing is connected."""

    name: str
    unit: str
    description: str = ""
    default: float = 0.0
    where: Where = field(default=Where(), compare=False)


@dataclass(frozen=True)
class StateDef:
    """A state: unit, meaning and initial value (a number or an expression of parameters)."""

    name: str
    unit: str
    description: str = ""
    initial: str | float = 0.0
    where: Where = field(default=Where(), compare=False)


@dataclass(frozen=True)
class Derived:
    """A named expression (SBML: an assignment rule) that ODEs, outputs and other derived quantities use."""

    name: str
    expression: str
    unit: str = ""
    description: str = ""
    where: Where = field(default=Where(), compare=False)


@dataclass(frozen=True)
class OutputDef:
    """A quantity reported to users, with its unit."""

    name: str
    expression: str
    unit: str
    description: str = ""
    where: Where = field(default=Where(), compare=False)


@dataclass(frozen=True)
class DoseDef:
    """How doses into ``state`` are modified: expressions of parameters for F, lag, rate, duration."""

    state: str
    bioavailability: str | None = None
    lag: str | None = None
    rate: str | None = None
    duration: str | None = None
    where: Where = field(default=Where(), compare=False)

    def modifiers(self) -> dict[str, str]:
        """keyword -> expression of every modifier this entry sets."""
        return {k: getattr(self, k) for k in DOSE_MODIFIERS if getattr(self, k) is not None}


#: the initial value that starts a state at the model's drug-free steady state (see :mod:`pkpd.model.steady`)
STEADY_STATE = "steady_state"


_STEADY_RE = re.compile(r"\s*steady_state\s*(?:\((?P<start>.*)\))?\s*", re.DOTALL)


def is_steady_state(initial) -> bool:
    """Whether a state's initial value is ``steady_state`` or ``steady_state(start)`` (solved per patient)."""
    return isinstance(initial, str) and _STEADY_RE.fullmatch(initial) is not None


def steady_state_start(initial) -> str:
    """Where the search of a ``steady_state`` starts: the ``start`` of ``steady_state(start)``, else 0.

    The start matters when the model conserves a total (free + bound + phosphorylated
    STAT3): the steady state keeps the totals of the starting values.
    """
    start = _STEADY_RE.fullmatch(initial).group("start")
    return start.strip() if start and start.strip() else "0"


def _expr_text(value) -> str:
    return value if isinstance(value, str) else repr(float(value))


@dataclass(frozen=True)
class Model:
    """A model written as equations; checked when built (every error names file, line and symbol).

    Parameters
    ----------
    name : the model's name (letters, digits, ``_``).
    parameters, inputs, states, derived, outputs, dosing : tuples of the declarations.
    odes : state name -> right-hand side expression (units of the state per h).
    description, references : documentation text.
    source : the file the model was read from ("" when written in Python).
    locations : where declarations without a ``where`` of their own were written:
        ``("ode", state)`` and ``("parameter", name)`` -> :class:`Where`.
    blocks : for a composition, block name -> tuple of the names (parameters, states ...) it
        contributed, and ``connections`` the input -> output map that joined them.
    """

    name: str
    parameters: tuple[Parameter, ...]
    states: tuple[StateDef, ...]
    odes: dict
    inputs: tuple[Input, ...] = ()
    derived: tuple[Derived, ...] = ()
    outputs: tuple[OutputDef, ...] = ()
    dosing: tuple[DoseDef, ...] = ()
    description: str = ""
    references: tuple[str, ...] = ()
    source: str = ""
    blocks: dict = field(default_factory=dict, compare=False)
    connections: dict = field(default_factory=dict, compare=False)
    locations: dict = field(default_factory=dict, compare=False)
    _parsed: dict = field(init=False, repr=False, compare=False)
    _order: tuple = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        for attr in ("parameters", "states", "inputs", "derived", "outputs", "dosing", "references"):
            object.__setattr__(self, attr, tuple(getattr(self, attr)))
        object.__setattr__(self, "odes", dict(self.odes))
        _check_model(self)

    # ------------------------------------------------------------------ names
    @property
    def state_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.states)

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters)

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(i.name for i in self.inputs)

    @property
    def steady_states(self) -> tuple[str, ...]:
        """States whose initial value is ``steady_state``: solved per patient, drug-free."""
        return tuple(s.name for s in self.states if is_steady_state(s.initial))

    @property
    def derived_order(self) -> tuple[str, ...]:
        """Derived quantities in an order in which each comes after everything it uses."""
        return self._order

    def expression(self, kind: str, name: str) -> Expression:
        """The parsed expression of ``kind`` (ode, derived, output, initial, dose:<modifier>) ``name``."""
        return self._parsed[kind, name]

    def where(self, name: str) -> Where:
        """Where the declaration called ``name`` was written."""
        if ("parameter", name) in self.locations:
            return self.locations["parameter", name]
        for group in (self.inputs, self.states, self.derived, self.outputs):
            for d in group:
                if d.name == name and str(d.where):
                    return d.where
        return Where(self.source or self.name)

    # ------------------------------------------------------------------ identity
    def canonical(self) -> dict:
        """Everything that determines the generated code, as plain data (for hashing)."""
        return {
            "name": self.name,
            "parameters": list(self.parameter_names),
            "inputs": list(self.input_names),
            "states": [[s.name, _expr_text(s.initial)] for s in self.states],
            "derived": [[d.name, self._parsed["derived", d.name].text] for d in self.derived],
            "odes": [[s, self._parsed["ode", s].text] for s in self.state_names],
            "outputs": [[o.name, self._parsed["output", o.name].text] for o in self.outputs],
            "dosing": [[d.state, sorted(d.modifiers().items())] for d in self.dosing],
        }

    def digest(self) -> str:
        """A short hash of :meth:`canonical`: the name of this model's generated kernels."""
        text = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    # ------------------------------------------------------------------ documentation
    def equations(self) -> str:
        """The model as text in the language (parameters with units and sources, ODEs, outputs)."""
        return render_model(self)


# ---------------------------------------------------------------------------------- checking
def _fail(where: Where, what: str, message: str) -> ModelError:
    loc = f"{where}: " if str(where) else ""
    return ModelError(f"{loc}{what}: {message}")


def _suggest(name: str, known) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _check_model(m: Model) -> None:
    """Check names, expressions, ODEs and the order of derived quantities; errors name file, line, symbol."""
    src = Where(m.source or m.name)
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", m.name or ""):
        raise _fail(src, "model name", f"'{m.name}' must be letters, digits and _ (starting with a letter)")
    seen: dict[str, tuple[str, Where]] = {}
    groups = (("parameter", m.parameters), ("input", m.inputs), ("state", m.states),
              ("derived quantity", m.derived))
    for kind, items in groups:
        for d in items:
            where = getattr(d, "where", None) or m.locations.get(("parameter", d.name))
            where = where if where and str(where) else src
            if not re.fullmatch(_NAME, d.name) or "__" in d.name:
                raise _fail(where, d.name, f"{kind} name '{d.name}' must be letters, digits and _ "
                                           "(block prefixes joined by '.')")
            if d.name in RESERVED:
                raise _fail(where, d.name, f"'{d.name}' is reserved in the language ({', '.join(sorted(RESERVED))})")
            if d.name in seen:
                other_kind, other_where = seen[d.name]
                at = f" at {other_where}" if str(other_where) else ""
                raise _fail(where, d.name, f"declared twice: as a {other_kind}{at} and as a {kind}")
            seen[d.name] = (kind, where)
    out_names = [o.name for o in m.outputs]
    for o in m.outputs:
        if out_names.count(o.name) > 1:
            raise _fail(o.where if str(o.where) else src, o.name, "output declared twice")
        if not re.fullmatch(_NAME, o.name) or "__" in o.name:
            raise _fail(o.where if str(o.where) else src, o.name, "output name must be letters, digits and _")

    params = set(m.parameter_names) | set(m.input_names)
    states = set(m.state_names)
    derived = {d.name: d for d in m.derived}
    parsed: dict = {}

    def parse(kind, name, text, where, allowed, what):
        where = where if str(where) else src
        try:
            e = parse_expression(text)
        except ExpressionError as err:
            raise _fail(where, what, str(err)) from None
        unknown = sorted(e.names - allowed)
        if unknown:
            bad = unknown[0]
            if bad in states and kind in ("initial", "dose"):
                raise _fail(where, what, f"'{bad}' is a state; an initial value or dosing expression may use "
                                         "parameters only")
            if bad in derived and kind in ("initial", "dose"):
                raise _fail(where, what, f"'{bad}' depends on the states; an initial value or dosing expression "
                                         "may use parameters and parameter-only derived quantities")
            if bad == "t" and kind in ("initial", "dose"):
                raise _fail(where, what, "'t' (time) cannot appear in an initial value or dosing expression")
            known = params | states | set(derived) | {"t"}
            raise _fail(where, what, f"unknown symbol '{bad}'{_suggest(bad, known)}")
        parsed[kind, name] = e
        return e

    everything = params | states | set(derived) | {"t", "pi"}
    for d in m.derived:
        parse("derived", d.name, d.expression, d.where, everything, d.name)
    order = _topological(m, parsed, src)
    # parameter-only derived quantities: those whose closure uses no state and no t
    param_only: set[str] = set()
    for name in order:
        used = parsed["derived", name].names
        if not (used & states) and "t" not in used and all(u in params or u in param_only or u == "pi"
                                                            for u in used):
            param_only.add(name)

    for s in m.states:
        # steady_state(start): solved per patient from ``start`` (an expression of parameters, default 0)
        text = steady_state_start(s.initial) if is_steady_state(s.initial) else _expr_text(s.initial)
        parse("initial", s.name, text, s.where, params | param_only | {"pi"}, f"initial value of {s.name}")
    odes = dict(m.odes)
    for name in odes:   # an ODE of an unknown state first: usually the typo behind a state without one
        if name not in states:
            where = m.locations.get(("ode", name)) or src
            raise _fail(where if str(where) else src, f"d/dt({name})",
                        f"'{name}' is not a state{_suggest(name, states)}")
    for s in m.states:
        if s.name not in odes:
            raise _fail(s.where if str(s.where) else src, s.name,
                        f"state without an ODE; write d/dt({s.name}) = ...")
    for name, text in odes.items():
        where = m.locations.get(("ode", name)) or next((s.where for s in m.states if s.name == name), src)
        parse("ode", name, str(text), where, everything, f"d/dt({name})")
    for o in m.outputs:
        parse("output", o.name, o.expression, o.where, everything, o.name)
    for d in m.dosing:
        where = d.where if str(d.where) else src
        if d.state not in states:
            raise _fail(where, f"dosing {d.state}", f"'{d.state}' is not a state{_suggest(d.state, states)}")
        if [x.state for x in m.dosing].count(d.state) > 1:
            raise _fail(where, f"dosing {d.state}", "dosing of this state declared twice")
        for key, text in d.modifiers().items():
            parse("dose", f"{d.state}.{key}", text, where, params | param_only | {"pi"}, f"dosing {d.state}: {key}")
    object.__setattr__(m, "_parsed", parsed)
    object.__setattr__(m, "_order", tuple(order))


def _topological(m: Model, parsed: dict, src: Where) -> list[str]:
    """Derived quantities sorted so each follows what it uses; a cycle is an error naming it."""
    deps = {d.name: sorted(parsed["derived", d.name].names & {x.name for x in m.derived}) for d in m.derived}
    order: list[str] = []
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(name, path):
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = path[path.index(name):] + [name]
            d = next(x for x in m.derived if x.name == name)
            where = d.where if str(d.where) else src
            if len(cycle) == 2:
                raise _fail(where, name, "refers to itself")
            raise _fail(where, name, "circular definition: " + " -> ".join(cycle))
        state[name] = 1
        for dep in deps[name]:
            visit(dep, path + [name])
        state[name] = 2
        order.append(name)

    for d in m.derived:  # declaration order where it is already valid
        visit(d.name, [])
    return order


# ---------------------------------------------------------------------------------- text
_SECTIONS = ("model", "parameters", "inputs", "states", "derived", "odes", "outputs", "dosing")
_DECL = re.compile(rf"^(?P<name>{_NAME})\s*(?:\[(?P<unit>[^\]]*)\])?\s*=\s*(?P<rhs>.*)$")
_ODE = re.compile(rf"^(?:d/dt\(\s*(?P<a>{_NAME})\s*\)|dxdt_(?P<b>{_NAME}))\s*=\s*(?P<rhs>.*)$")
_BOUNDS = re.compile(r"^(?P<value>.*?)\s+in\s*\[(?P<lo>[^,\]]*),(?P<hi>[^\]]*)\]\s*$")


def _number(text: str, where: Where, what: str) -> float:
    t = text.strip().lower()
    if t in ("inf", "+inf", "infinity"):
        return math.inf
    if t in ("-inf", "-infinity"):
        return -math.inf
    try:
        v = float(t)
    except ValueError:
        raise _fail(where, what, f"'{text.strip()}' is not a number") from None
    if math.isnan(v):
        raise _fail(where, what, "NaN is not a number here")
    return v


def _fields(rest: str) -> list[str]:
    return [f.strip() for f in rest.split(";")]


def _is_assumed(source: str) -> bool:
    s = source.strip().lower()
    return s.startswith("assumed") or s.startswith("guess")


def parse_model(text: str, source: str = "<model>") -> Model:
    """Read a model written in the text form of the language (see the module docstring).

    ``source`` names the file in errors (``irm.model:12: ...``).  Raises
    :class:`~pkpd.errors.ModelError` with one line naming the file, line and symbol.
    """
    if not isinstance(text, str):
        raise ModelError(f"{source}: a model text must be a string")
    meta: dict[str, str] = {}
    refs: list[str] = []
    parameters, inputs, states, derived, outputs, dosing = [], [], [], [], [], []
    odes: dict[str, str] = {}
    locations: dict = {}
    section = None
    for lineno, raw in enumerate(text.splitlines(), start=1):
        where = Where(source, lineno)
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"\[\s*([A-Za-z_]+)\s*\]", line)
        if m:
            section = m.group(1).lower()
            if section not in _SECTIONS:
                raise _fail(where, f"[{m.group(1)}]", "unknown section; the sections are "
                            + ", ".join(f"[{s}]" for s in _SECTIONS))
            continue
        if section is None:
            raise _fail(where, line[:40], "text before the first section; start with [model] or [parameters]")
        if section == "model":
            key, sep, value = line.partition("=")
            key = key.strip().lower()
            if not sep or key not in ("name", "description", "reference"):
                raise _fail(where, key or line[:40], "in [model] write name = ..., description = ... or "
                                                     "reference = ...")
            if key == "reference":
                refs.append(value.strip())
            else:
                meta[key] = (meta.get(key, "") + " " + value.strip()).strip()
            continue
        if section == "odes":
            mo = _ODE.fullmatch(line)
            if not mo:
                raise _fail(where, line[:40], "an ODE is written d/dt(STATE) = expression")
            name = mo.group("a") or mo.group("b")
            if name in odes:
                raise _fail(where, f"d/dt({name})",
                            f"second ODE for {name} (first at line {locations['ode', name].line})")
            odes[name] = mo.group("rhs").strip()
            locations["ode", name] = where
            continue
        if section == "dosing":
            state, sep, rest = line.partition(":")
            state = state.strip()
            if not sep or not re.fullmatch(_NAME, state):
                raise _fail(where, line[:40], "write STATE: bioavailability = EXPR, lag = EXPR")
            mods = {}
            for part in _split_commas(rest):
                key, sep2, value = part.partition("=")
                key = key.strip().lower()
                if not sep2 or key not in DOSE_MODIFIERS:
                    raise _fail(where, f"dosing {state}", f"'{part.strip()}': the modifiers are "
                                + ", ".join(f"{k} = EXPR" for k in DOSE_MODIFIERS))
                mods[key] = value.strip()
            dosing.append(DoseDef(state, where=where, **mods))
            continue
        if section == "states" and "=" not in line.split(";", 1)[0]:
            head, sep, tail = line.partition(";")
            line = f"{head} = 0{sep}{tail}"  # a state without an initial value starts at 0
        md = _DECL.fullmatch(line)
        if not md:
            raise _fail(where, line[:40], "a declaration is written NAME [unit] = value ; description")
        name, unit, rest = md.group("name"), (md.group("unit") or "").strip(), md.group("rhs")
        f = _fields(rest)
        value_text, description = f[0], (f[1] if len(f) > 1 else "")
        if section == "parameters":
            source_text = "; ".join(f[2:]).strip() if len(f) > 2 else ""
            if not source_text:
                raise _fail(where, name, "a parameter needs a source after its description "
                            "(NAME [unit] = value ; description ; source), or 'assumed'")
            lo, hi = -math.inf, math.inf
            mb = _BOUNDS.fullmatch(value_text)
            if mb:
                value_text = mb.group("value")
                lo = _number(mb.group("lo"), where, f"{name} lower bound")
                hi = _number(mb.group("hi"), where, f"{name} upper bound")
            value = _number(value_text, where, name)
            if not math.isfinite(value):
                raise _fail(where, name, "a parameter value must be finite")
            if not lo <= value <= hi:
                raise _fail(where, name, f"value {value:g} outside its bounds [{lo:g}, {hi:g}]")
            try:
                parameters.append(Parameter(name, value, unit or "1", description, source_text,
                                            _is_assumed(source_text), lo, hi))
                locations["parameter", name] = where
            except ModelError as err:
                raise _fail(where, name, str(err)) from None
        elif section == "inputs":
            inputs.append(Input(name, unit or "1", description, _number(value_text or "0", where, name), where))
        elif section == "states":
            states.append(StateDef(name, unit or "1", description, value_text or 0.0, where))
        elif section == "derived":
            derived.append(Derived(name, value_text, unit, description, where))
        elif section == "outputs":
            outputs.append(OutputDef(name, value_text, unit or "1", description, where))
    if "name" not in meta:
        raise _fail(Where(source), "[model]", "the model needs a name (name = ... in [model])")
    return Model(meta["name"], tuple(parameters), tuple(states), odes, tuple(inputs), tuple(derived),
                 tuple(outputs), tuple(dosing), meta.get("description", ""), tuple(refs), source,
                 locations=locations)


def _split_commas(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return parts


def load_model_file(path) -> Model:
    """Read a model file (the text form of the language); errors name the file and line."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ModelError(f"{p}: cannot read the model file ({type(err).__name__}: {err})") from None
    return parse_model(text, source=str(p))


# ---------------------------------------------------------------------------------- rendering
def _fmt(v: float) -> str:
    return "inf" if v == math.inf else "-inf" if v == -math.inf else f"{v:.17g}"


def render_model(m: Model) -> str:
    """``m`` written in the text form of the language; :func:`parse_model` reads it back to an equal model."""
    out = ["[model]", f"name = {m.name}"]
    if m.description:
        out.append(f"description = {m.description}")
    out += [f"reference = {r}" for r in m.references]
    out += ["", "[parameters]"]
    for p in m.parameters:
        bounds = "" if (p.lower == -math.inf and p.upper == math.inf) else f" in [{_fmt(p.lower)}, {_fmt(p.upper)}]"
        src = p.source if (not p.assumed or _is_assumed(p.source)) else f"assumed: {p.source}"
        out.append(f"{p.name} [{p.unit}] = {_fmt(p.value)}{bounds} ; {_clean(p.description)} ; {_clean(src)}")
    if m.inputs:
        out += ["", "[inputs]"]
        out += [f"{i.name} [{i.unit}] = {_fmt(i.default)} ; {_clean(i.description)}" for i in m.inputs]
    out += ["", "[states]"]
    out += [f"{s.name} [{s.unit}] = {_expr_text(s.initial)} ; {_clean(s.description)}" for s in m.states]
    if m.derived:
        out += ["", "[derived]"]
        out += [f"{d.name} [{d.unit}] = {m.expression('derived', d.name)} ; {_clean(d.description)}"
                for d in m.derived]
    out += ["", "[odes]"]
    out += [f"d/dt({s}) = {m.expression('ode', s)}" for s in m.state_names]
    if m.outputs:
        out += ["", "[outputs]"]
        out += [f"{o.name} [{o.unit}] = {m.expression('output', o.name)} ; {_clean(o.description)}"
                for o in m.outputs]
    if m.dosing:
        out += ["", "[dosing]"]
        out += [f"{d.state}: " + ", ".join(f"{k} = {v}" for k, v in d.modifiers().items()) for d in m.dosing]
    return "\n".join(out) + "\n"


def _clean(text: str) -> str:
    """Free text made safe for one field of a line (no ';', no '#', one line)."""
    return " ".join(str(text).replace(";", ",").replace("#", "no.").split())
