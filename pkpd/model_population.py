"""The virtual population of a scenario with a ``model``: log-normal random effects (CVs or an OMEGA
matrix, correlated), covariates (drawn, or read from a patient table) and their effects.

A patient's parameter ``j`` is, in NONMEM's terms (``TVP`` the typical value, with the
scenario's ``parameters`` and the swept values)::

    P_ij = TVP_j * prod_k f_jk(COV_ik) * exp(eta_ij),   eta_i ~ N(0, OMEGA)

``OMEGA`` is built from ``population.variability`` (``{NAME: CV}``: a diagonal entry
``omega^2 = ln(1 + CV^2)``, so the CV of ``P`` is ``CV``) and ``population.omega`` (the
variances of the etas themselves: ``{NAME: variance}``, or a block
``{parameters: [CL, V], matrix: [[0.09, 0.03], [0.03, 0.04]]}``, the matrix full or as its
lower triangle ``[[0.09], [0.03, 0.04]]``, as in NONMEM's ``$OMEGA BLOCK(2)``).  The etas are
``eta_i = L z_i`` with ``L`` the Cholesky factor of ``OMEGA`` and ``z_ik`` the first standard
normal of patient ``i``'s stream for parameter ``k`` (:func:`pkpd.model_scenario.parameter_stream`):
a diagonal OMEGA gives each parameter the eta it would get alone, and no patient's values
depend on how patients are chunked, threaded or distributed.

Covariates (``population.covariates``, each with a ``unit``) are drawn per patient from
their own stream (:func:`covariate_stream`): ``lognormal`` (``median``, ``cv``), ``normal``
(``mean``, ``sd``), both redrawn until within ``bounds`` (the published range of the trial
population, say), or ``categorical`` (``values``, ``probabilities``); or they are columns of
``population.table`` (a CSV file, one row per patient, relative to the scenario's folder),
which may also give individual parameter values directly (a column named as a parameter:
the patient's value, with no effects and no eta).  Effects (``population.effects``,
``{PARAMETER: {COVARIATE: effect}}``) are the usual ones:

* ``{power: 0.75, reference: 70}``: ``f = (COV / reference)^0.75`` (allometry);
* ``{linear: -0.01, reference: 55}``: ``f = 1 + slope (COV - reference)``;
* ``{exponential: 0.02, reference: 55}``: ``f = exp(slope (COV - reference))``;
* ``{categories: {1: 0.8}}``: ``f = 0.8`` when ``COV == 1``, 1 otherwise.
"""

from __future__ import annotations

import csv
import math
import numbers
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pkpd.errors import ScenarioError
from pkpd.model_scenario import parameter_stream
from pkpd.population import patient_rng
from pkpd.scenario import _FrozenDict, _mapping, _number, _shown

__all__ = ["Covariate", "Effect", "PopulationModel", "population_model_from_dict", "from_variability",
           "covariate_stream", "POPULATION_KEYS",
           "COVARIATE_KEYS", "EFFECT_KINDS"]

POPULATION_KEYS = ("size", "seed", "variability", "omega", "covariates", "effects", "table")
"""Keys of ``population`` in a scenario with a ``model``."""
COVARIATE_KEYS = ("unit", "distribution", "median", "cv", "mean", "sd", "bounds", "values", "probabilities",
                  "description")
DISTRIBUTIONS = ("lognormal", "normal", "categorical")
EFFECT_KINDS = ("power", "linear", "exponential", "categories")
#: redraws of a bounded covariate before the bounds are called implausible for its distribution
MAX_REDRAWS = 1000
_COVARIATE_STREAM = "pkpd.model covariate {}"


def covariate_stream(name: str) -> int:
    """Random-stream key (CRC-32) of covariate ``name``'s draws."""
    return zlib.crc32(_COVARIATE_STREAM.format(name).encode())


@dataclass(frozen=True)
class Covariate:
    """One covariate: its unit and how patients get it (a distribution, or the patient table)."""

    name: str
    unit: str
    distribution: str                      # lognormal | normal | categorical | table
    center: float = math.nan               # median (lognormal) or mean (normal)
    spread: float = math.nan               # CV (lognormal) or SD (normal)
    bounds: tuple[float, float] = (-math.inf, math.inf)
    values: tuple[float, ...] = ()         # categorical
    probabilities: tuple[float, ...] = ()  # categorical
    description: str = ""

    def draw(self, seed: int, patient: int) -> float:
        """Patient ``patient``'s value (not for ``table`` covariates)."""
        rng = patient_rng(seed, patient, covariate_stream(self.name))
        if self.distribution == "categorical":
            k = int(np.searchsorted(np.cumsum(self.probabilities), rng.random(), side="right"))
            return self.values[min(k, len(self.values) - 1)]
        lo, hi = self.bounds
        for _ in range(MAX_REDRAWS):
            z = rng.standard_normal()
            if self.distribution == "lognormal":
                x = self.center * math.exp(math.sqrt(math.log1p(self.spread ** 2)) * z)
            else:
                x = self.center + self.spread * z
            if lo <= x <= hi:
                return x
        raise ScenarioError(f"population.covariates.{self.name}.bounds",  # pragma: no cover - checked when read
                            "leave almost none of the distribution", show_value=False)


@dataclass(frozen=True)
class Effect:
    """The effect of covariate ``covariate`` on parameter ``parameter`` (a factor on its typical value)."""

    parameter: str
    covariate: str
    kind: str                                   # power | linear | exponential | categories
    coefficient: float = 0.0                    # exponent or slope
    reference: float = 0.0
    factors: tuple[tuple[float, float], ...] = ()  # categories: (value, factor)

    def factor(self, x: np.ndarray) -> np.ndarray:
        """The factor at covariate values ``x`` (an array over patients)."""
        if self.kind == "power":
            return (x / self.reference) ** self.coefficient
        if self.kind == "linear":
            return 1.0 + self.coefficient * (x - self.reference)
        if self.kind == "exponential":
            return np.exp(self.coefficient * (x - self.reference))
        out = np.ones_like(x)
        for value, f in self.factors:
            out[x == value] = f
        return out

    def describe(self) -> str:
        if self.kind == "power":
            return f"{self.parameter} x ({self.covariate}/{self.reference:g})^{self.coefficient:g}"
        if self.kind == "linear":
            return f"{self.parameter} x (1 + {self.coefficient:g} ({self.covariate} - {self.reference:g}))"
        if self.kind == "exponential":
            return f"{self.parameter} x exp({self.coefficient:g} ({self.covariate} - {self.reference:g}))"
        return f"{self.parameter} x " + ", ".join(f"{f:g} if {self.covariate} = {v:g}" for v, f in self.factors)


@dataclass(frozen=True)
class PopulationModel:
    """Random effects, covariates and effects of a model scenario's population (see the module docstring).

    ``eta_names`` and ``omega`` (a tuple of rows): the parameters with a random effect and the
    covariance matrix of their etas.  ``table``: column -> per-patient values (rows in order),
    with ``table_source`` the file.
    """

    eta_names: tuple[str, ...] = ()
    omega: tuple[tuple[float, ...], ...] = ()
    covariates: tuple[Covariate, ...] = ()
    effects: tuple[Effect, ...] = ()
    table: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    table_source: str = ""

    @property
    def n_table_rows(self) -> int:
        return len(next(iter(self.table.values()))) if self.table else 0

    def describe(self) -> list[str]:
        """Lines in words: the OMEGA matrix, covariates, effects, the table."""
        lines = []
        if self.eta_names:
            om = np.array(self.omega)
            offdiag = np.count_nonzero(om - np.diag(np.diag(om)))
            lines.append("random effects: " + ", ".join(f"{n} omega^2 {om[k, k]:.4g}" for k, n in
                                                        enumerate(self.eta_names))
                         + (f" ({offdiag // 2} correlation(s))" if offdiag else ""))
        for c in self.covariates:
            how = {"lognormal": f"log-normal, median {c.center:g}, CV {c.spread:g}",
                   "normal": f"normal, mean {c.center:g}, SD {c.spread:g}",
                   "categorical": "categorical " + ", ".join(f"{v:g} ({q:g})" for v, q in
                                                            zip(c.values, c.probabilities)),
                   "table": f"from {self.table_source}"}[c.distribution]
            lines.append(f"covariate {c.name} [{c.unit}]: {how}")
        for e in self.effects:
            lines.append(f"effect: {e.describe()}")
        return lines

    def covariate_values(self, seed: int, start: int, n: int) -> dict[str, np.ndarray]:
        """Covariates of patients ``start .. start+n-1``: name -> values (n,)."""
        out = {}
        for c in self.covariates:
            if c.distribution == "table":
                out[c.name] = np.asarray(self.table[c.name][start:start + n], float)
            else:
                out[c.name] = np.array([c.draw(seed, start + i) for i in range(n)])
        return out

    def individual(self, model, typical: np.ndarray, seed: int, start: int, n: int):
        """Parameters (n, n_parameters) and covariates {name: (n,)} of patients ``start .. start+n-1``."""
        cov = self.covariate_values(seed, start, n)
        P = np.repeat(typical[None, :], n, axis=0)
        for e in self.effects:
            j = model.parameter_index(e.parameter)
            P[:, j] = P[:, j] * e.factor(cov[e.covariate])
        if self.eta_names:
            L = np.linalg.cholesky(np.array(self.omega))
            Z = np.array([[patient_rng(seed, start + i, parameter_stream(name)).standard_normal()
                           for name in self.eta_names] for i in range(n)])
            diagonal = not np.count_nonzero(L - np.diag(np.diag(L)))
            eta = Z * np.diag(L) if diagonal else Z @ L.T
            for k, name in enumerate(self.eta_names):
                j = model.parameter_index(name)
                P[:, j] = P[:, j] * np.exp(eta[:, k])
        for name, column in self.table.items():
            if name in model.parameter_names:
                P[:, model.parameter_index(name)] = np.asarray(column[start:start + n], float)
        return P, cov


# --------------------------------------------------------------------------- reading


def _omega(value: object, model, path: str) -> tuple[list[str], np.ndarray]:
    """``population.omega`` -> (names, covariance matrix)."""
    if not isinstance(value, Mapping):
        raise ScenarioError(path, "must be {NAME: variance} or {parameters: [...], matrix: [[...]]}", _shown(value))
    if "matrix" in value or "parameters" in value:
        m = _mapping(value, path, ("parameters", "matrix"))
        names = m.get("parameters")
        if not isinstance(names, list) or not names or not all(isinstance(x, str) for x in names):
            raise ScenarioError(f"{path}.parameters", "must be a list of parameter names", _shown(names))
        rows = m.get("matrix")
        k = len(names)
        if not isinstance(rows, list) or len(rows) != k or not all(isinstance(r, list) for r in rows):
            raise ScenarioError(f"{path}.matrix", f"must be {k} rows (a {k} x {k} matrix, or its lower triangle)",
                                _shown(rows))
        full = all(len(r) == k for r in rows)
        if not full and not all(len(r) == i + 1 for i, r in enumerate(rows)):
            raise ScenarioError(f"{path}.matrix", f"must be a {k} x {k} matrix or its lower triangle "
                                                  f"(row i has i+1 entries)", show_value=False)
        om = np.zeros((k, k))
        for i, r in enumerate(rows):
            for c, x in enumerate(r):
                om[i, c] = _number(x, f"{path}.matrix[{i}][{c}]")
        if full:
            if not np.allclose(om, om.T, rtol=1e-12, atol=0):
                raise ScenarioError(f"{path}.matrix", "must be symmetric", show_value=False)
        else:
            om = np.tril(om) + np.tril(om, -1).T
    else:
        names = list(value)
        om = np.diag([_number(v, f"{path}.{n}") for n, v in value.items()])
    for n in names:
        if n not in model.parameter_names:
            raise ScenarioError(f"{path}.{n}" if "matrix" not in value else f"{path}.parameters",
                                f"unknown parameter {n!r} of model {model.name}; valid: "
                                + ", ".join(model.parameter_names), show_value=False)
    if len(set(names)) != len(names):
        raise ScenarioError(path, "names a parameter twice", show_value=False)
    if not np.all(np.isfinite(om)) or np.any(np.diag(om) < 0):
        raise ScenarioError(path, "variances must be finite and >= 0", show_value=False)
    return names, om


def _covariate(name: str, value: object, path: str, in_table: bool) -> Covariate:
    m = _mapping(value, path, COVARIATE_KEYS)
    unit = m.get("unit", "1")
    if not isinstance(unit, str) or not unit.strip():
        raise ScenarioError(f"{path}.unit", "must be a unit (text, e.g. kg)", _shown(unit))
    description = str(m.get("description") or "")
    dist = m.get("distribution")
    if dist is None:
        if not in_table:
            raise ScenarioError(f"{path}.distribution", "is required (" + ", ".join(DISTRIBUTIONS)
                                + ") unless population.table has a column " + name, show_value=False)
        return Covariate(name, unit.strip(), "table", description=description)
    if in_table:
        raise ScenarioError(f"{path}.distribution", f"is given, but population.table has a column {name} too; "
                                                    "keep one of them", show_value=False)
    if dist not in DISTRIBUTIONS:
        raise ScenarioError(f"{path}.distribution", "must be one of " + ", ".join(DISTRIBUTIONS), _shown(dist))
    needs = {"lognormal": ("median", "cv"), "normal": ("mean", "sd"), "categorical": ("values", "probabilities")}
    for key in needs[dist]:
        if key not in m:
            raise ScenarioError(f"{path}.{key}", f"is required for a {dist} covariate", show_value=False)
    others = [k for k in ("median", "cv", "mean", "sd", "values", "probabilities") if k in m and k not in needs[dist]]
    if others:
        raise ScenarioError(f"{path}.{others[0]}", f"is not a key of a {dist} covariate (it takes "
                            + ", ".join(needs[dist]) + ")", show_value=False)
    if dist == "categorical":
        values, probs = m["values"], m["probabilities"]
        if not isinstance(values, list) or not values or not isinstance(probs, list) or len(probs) != len(values):
            raise ScenarioError(f"{path}.probabilities", "must be lists of equal length: values and their "
                                                         "probabilities", show_value=False)
        vals = tuple(_number(v, f"{path}.values[{i}]") for i, v in enumerate(values))
        ps = tuple(_number(q, f"{path}.probabilities[{i}]") for i, q in enumerate(probs))
        if any(q < 0 for q in ps) or abs(sum(ps) - 1.0) > 1e-9:
            raise ScenarioError(f"{path}.probabilities", "must be >= 0 and add up to 1", _shown(probs))
        if len(set(vals)) != len(vals):
            raise ScenarioError(f"{path}.values", "lists a value twice", _shown(values))
        return Covariate(name, unit.strip(), dist, values=vals, probabilities=ps, description=description)
    center = _number(m[needs[dist][0]], f"{path}.{needs[dist][0]}")
    spread = _number(m[needs[dist][1]], f"{path}.{needs[dist][1]}")
    if dist == "lognormal" and not center > 0:
        raise ScenarioError(f"{path}.median", "must be > 0 (a log-normal covariate)", _shown(m["median"]))
    if not (math.isfinite(center) and math.isfinite(spread) and spread >= 0):
        raise ScenarioError(f"{path}.{needs[dist][1]}", "must be a finite number >= 0", _shown(m[needs[dist][1]]))
    bounds = (-math.inf, math.inf)
    if "bounds" in m:
        b = m["bounds"]
        if not isinstance(b, list) or len(b) != 2:
            raise ScenarioError(f"{path}.bounds", "must be [lower, upper]", _shown(b))
        bounds = (_number(b[0], f"{path}.bounds[0]"), _number(b[1], f"{path}.bounds[1]"))
        if not bounds[0] < bounds[1]:
            raise ScenarioError(f"{path}.bounds", "must be [lower, upper] with lower < upper", _shown(b))
        # the share of the distribution within the bounds must not be tiny (redraws stay few)
        if dist == "lognormal":
            s = math.sqrt(math.log1p(spread ** 2))
            lo = math.log(bounds[0] / center) / s if bounds[0] > 0 and s > 0 else -math.inf
            hi = math.log(bounds[1] / center) / s if bounds[1] > 0 and s > 0 else -math.inf
        else:
            lo = (bounds[0] - center) / spread if spread > 0 else math.copysign(math.inf, bounds[0] - center)
            hi = (bounds[1] - center) / spread if spread > 0 else math.copysign(math.inf, bounds[1] - center)
        share = 0.5 * (math.erf(hi / math.sqrt(2)) - math.erf(lo / math.sqrt(2)))
        if not share > 0.01:
            raise ScenarioError(f"{path}.bounds", f"leave {share:.2%} of the distribution; the bounds must hold "
                                                  "the bulk of it", _shown(b))
    return Covariate(name, unit.strip(), dist, center, spread, bounds, description=description)


def _effect(parameter: str, covariate: Covariate, value: object, path: str) -> Effect:
    m = _mapping(value, path, EFFECT_KINDS + ("reference",))
    kinds = [k for k in EFFECT_KINDS if k in m]
    if len(kinds) != 1:
        raise ScenarioError(path, "must give exactly one of " + ", ".join(EFFECT_KINDS), show_value=False)
    kind = kinds[0]
    if kind == "categories":
        if "reference" in m:
            raise ScenarioError(f"{path}.reference", "is not used by a categorical effect", show_value=False)
        cats = m["categories"]
        if not isinstance(cats, Mapping) or not cats:
            raise ScenarioError(f"{path}.categories", "must be {covariate value: factor}, e.g. {1: 0.8}",
                                _shown(cats))
        factors = []
        for v, f in cats.items():
            x, fx = _number(v, f"{path}.categories"), _number(f, f"{path}.categories.{v}")
            if covariate.distribution == "categorical" and x not in covariate.values:
                raise ScenarioError(f"{path}.categories.{v}", f"is not a value of covariate {covariate.name} ("
                                    + ", ".join(f"{y:g}" for y in covariate.values) + ")", show_value=False)
            if not (math.isfinite(fx) and fx > 0):
                raise ScenarioError(f"{path}.categories.{v}", "must be a factor > 0", _shown(f))
            factors.append((x, fx))
        return Effect(parameter, covariate.name, kind, factors=tuple(factors))
    if "reference" not in m:
        raise ScenarioError(f"{path}.reference", f"is required for a {kind} effect (the covariate value at "
                                                 "which the factor is 1)", show_value=False)
    coefficient = _number(m[kind], f"{path}.{kind}")
    reference = _number(m["reference"], f"{path}.reference")
    if not (math.isfinite(coefficient) and math.isfinite(reference)):
        raise ScenarioError(path, "must have finite numbers", show_value=False)
    if kind == "power" and not reference > 0:
        raise ScenarioError(f"{path}.reference", "must be > 0 for a power effect", _shown(m["reference"]))
    return Effect(parameter, covariate.name, kind, coefficient, reference)


def _table(value: object, base_dir, path: str) -> tuple[dict[str, tuple[float, ...]], str]:
    """``population.table``: a CSV file (header row; an optional ID column) -> columns of numbers."""
    if not isinstance(value, str) or not value.strip():
        raise ScenarioError(path, "must be a CSV file name", _shown(value))
    file = Path(value.strip())
    if not file.is_absolute():
        file = Path(base_dir or ".") / file
    try:
        with open(file, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except OSError:
        raise ScenarioError(path, f"no such file {file}", show_value=False) from None
    except UnicodeDecodeError:
        raise ScenarioError(path, f"{file} is not UTF-8 text", show_value=False) from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    if len(rows) < 2:
        raise ScenarioError(path, f"{file} needs a header row and at least one patient row", show_value=False)
    header = [h.strip() for h in rows[0]]
    if len(set(header)) != len(header) or not all(header):
        raise ScenarioError(path, f"{file}: the header must name every column once", show_value=False)
    columns: dict[str, list[float]] = {h: [] for h in header}
    for r, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise ScenarioError(path, f"{file}, row {r}: {len(row)} values for {len(header)} columns",
                                show_value=False)
        for h, cell in zip(header, row):
            try:
                x = float(cell)
            except ValueError:
                raise ScenarioError(path, f"{file}, row {r}, column {h}: not a number", cell) from None
            if not math.isfinite(x):
                raise ScenarioError(path, f"{file}, row {r}, column {h}: must be finite", cell)
            columns[h].append(x)
    columns.pop("ID", None)
    return {k: tuple(v) for k, v in columns.items()}, str(file)


def from_variability(cvs: Mapping[str, float]) -> PopulationModel:
    """The population of CVs alone: a diagonal OMEGA, ``omega^2 = ln(1 + CV^2)`` (a CV of 0: no random effect)."""
    names = [n for n, cv in cvs.items() if cv > 0]
    om = np.diag([math.log1p(cvs[n] ** 2) for n in names]) if names else np.zeros((0, 0))
    return PopulationModel(tuple(names), tuple(tuple(float(x) for x in r) for r in om))


def population_model_from_dict(pm: Mapping, model, base_dir, size: int | None) -> tuple[PopulationModel, int]:
    """``population`` of a model scenario -> (PopulationModel, size).

    ``size`` is ``population.size`` (None when not given: 1, or the table's rows).
    ``variability`` CVs and ``omega`` variances are merged into one OMEGA (a parameter in both
    is an error).
    """
    from pkpd.model_scenario import variability_from_dict

    cvs = variability_from_dict(pm.get("variability"), model, "population.variability")
    names = [n for n, cv in cvs.items()]
    om = np.diag([math.log1p(cv * cv) for cv in cvs.values()]) if cvs else np.zeros((0, 0))
    if pm.get("omega") is not None:
        more, block = _omega(pm["omega"], model, "population.omega")
        for n in more:
            if n in cvs:
                raise ScenarioError(f"population.omega", f"gives {n} a random effect that population.variability "
                                                         "gives too; keep one of them", show_value=False)
        k = len(names)
        full = np.zeros((k + len(more),) * 2)
        full[:k, :k], full[k:, k:] = om, block
        names, om = names + more, full
    keep = [i for i in range(len(names)) if om[i, i] > 0]   # a zero variance is no random effect
    if any(np.any(om[i] != 0) for i in range(len(names)) if i not in keep):
        raise ScenarioError("population.omega", "a parameter with variance 0 cannot be correlated", show_value=False)
    names, om = [names[i] for i in keep], om[np.ix_(keep, keep)]
    if names:
        try:
            np.linalg.cholesky(om)
        except np.linalg.LinAlgError:
            raise ScenarioError("population.omega", "the OMEGA matrix is not positive definite (a correlation "
                                                    "beyond +-1?)", show_value=False) from None

    table, source = {}, ""
    if pm.get("table") is not None:
        table, source = _table(pm["table"], base_dir, "population.table")
    raw = pm.get("covariates") or {}
    if not isinstance(raw, Mapping):
        raise ScenarioError("population.covariates", "must be a mapping NAME: {unit, distribution, ...}", _shown(raw))
    covariates = {n: _covariate(n, v, f"population.covariates.{n}", n in table) for n, v in raw.items()}
    for n in covariates:
        if n in model.parameter_names:
            raise ScenarioError(f"population.covariates.{n}", "is a parameter's name; name the covariate otherwise",
                                show_value=False)
    for h in table:
        if h not in covariates and h not in model.parameter_names:
            raise ScenarioError("population.table", f"{source}: column {h} is neither a declared covariate "
                                f"(population.covariates) nor a parameter of model {model.name}", show_value=False)
        if h in model.parameter_names:
            prm = model.parameter(h)
            bad = [x for x in table[h] if not prm.lower <= x <= prm.upper]
            if bad:
                raise ScenarioError("population.table", f"{source}: column {h} has {bad[0]:g}, outside the "
                                    f"parameter's bounds [{prm.lower:g}, {prm.upper:g}]", show_value=False)
    effects = []
    raw_effects = pm.get("effects") or {}
    if not isinstance(raw_effects, Mapping):
        raise ScenarioError("population.effects", "must be a mapping PARAMETER: {COVARIATE: effect}",
                            _shown(raw_effects))
    for p, per in raw_effects.items():
        path = f"population.effects.{p}"
        if p not in model.parameter_names:
            raise ScenarioError(path, f"unknown parameter of model {model.name}; valid: "
                                + ", ".join(model.parameter_names), show_value=False)
        if p in table:
            raise ScenarioError(path, f"{p} is read from population.table (its individual values); it takes no "
                                      "covariate effects", show_value=False)
        if not isinstance(per, Mapping) or not per:
            raise ScenarioError(path, "must be a mapping COVARIATE: effect, e.g. {WT: {power: 0.75, reference: 70}}",
                                _shown(per))
        for c, e in per.items():
            if c not in covariates:
                raise ScenarioError(f"{path}.{c}", "is not a covariate of population.covariates"
                                    + (f" ({', '.join(covariates)})" if covariates else ""), show_value=False)
            effects.append(_effect(p, covariates[c], e, f"{path}.{c}"))
    for n in names:
        if n in table:
            raise ScenarioError("population.variability" if n in cvs else "population.omega",
                                f"gives {n} a random effect, but population.table gives its individual values",
                                show_value=False)
    rows = len(next(iter(table.values()))) if table else 0
    if table and size is not None and size != rows:
        raise ScenarioError("population.size", f"is {size}, but population.table ({source}) has {rows} patient "
                                               "rows; leave size out or make them agree", show_value=False)
    size = rows if table else (1 if size is None else size)
    pop = PopulationModel(tuple(names), tuple(tuple(float(x) for x in r) for r in om), tuple(covariates.values()),
                          tuple(effects), _FrozenDict(table), source)
    return pop, size
