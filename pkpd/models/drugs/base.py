"""Records that hold a drug's population-PK parameter set as data.

A :class:`DrugPK` is what a popPK publication (or, failing that, a documented
calibration) says about one drug: the structural model and its typical values,
absorption lag and bioavailability, molecular weight and unbound fraction, the
between-patient variability (IIV) and covariate effects.  Every number is a
:class:`pkpd.models.spec.Parameter` (value, unit, description, source,
``assumed``), so documentation and ``pkpd models`` can show where it comes from,
and every value that is recalled, derived or calibrated rather than published is
flagged ``assumed=True`` with the reason in ``source``.

Nothing here integrates anything: :mod:`pkpd.population` turns a ``DrugPK`` into
a matrix of individual parameters, and the PK model blocks (``pkpd.models.pk``)
integrate them.  A ``DrugPK`` hands the engine (:mod:`pkpd.simulate`) what it
needs in two ways:

* :meth:`DrugPK.drug_model`: a :class:`~pkpd.models.spec.ModelSpec` of the drug
  itself (the structure's compiled right-hand side and CP output, the drug's
  typical values as defaults, plus ``F1`` and ``ALAG1``, which the engine applies
  to depot doses as NONMEM does).  ``simulate(drug.drug_model(), doses, times)``
  needs nothing else, and ``simulate_population`` takes
  ``drug.parameter_vector(patients.as_dict(), dose_parameters=True)`` as ``P``.
* :meth:`DrugPK.model` (the bare structure from :data:`pkpd.models.MODELS`),
  :meth:`DrugPK.parameter_vector` and :meth:`DrugPK.dose_modifiers` for models
  that embed the drug's PK elsewhere, e.g. a coupled PK -> signaling model in which
  each drug's depot is another compartment: ``dose_modifiers(depot_cmt=k)``
  applies F and the lag to the records dosing compartment ``k`` only, and
  :func:`merge_dose_modifiers` joins those of several drugs into the one callable
  the engine takes.

Conventions
-----------
* Units: time h, dose mg, volumes L, clearances L/h, rate constants 1/h,
  concentrations mg/L (= µg/mL; 1 ng/mL = 1e-3 mg/L) in the PK model and nM at the
  PD interface.
* Clearances and volumes are **apparent** (CL/F, V/F), as estimated from oral
  data.  The bioavailability ``F`` applied to the oral dose is therefore 1 unless
  a module says otherwise; the absolute bioavailability, when known, is kept
  separately for information (``F_absolute``) and must not be applied on top of
  apparent parameters.
* Log-normal IIV: P_i = TV · Π(covariate effects) · exp(eta_i), eta ~ N(0, Ω),
  with ω² = ln(1 + CV²) so that CV is the coefficient of variation of the
  log-normal parameter itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Callable, Mapping

import numpy as np

from pkpd.errors import InputError, ModelError
from pkpd.models.spec import ModelSpec, Parameter
from pkpd.units import mg_per_l_to_nm, total_to_free

__all__ = [
    "STRUCTURES",
    "IIV",
    "CovariateEffect",
    "TimeVaryingClearance",
    "DrugPK",
    "omega2_from_cv",
    "check_correlation",
    "DEPOT_CMT",
    "DoseModifiers",
    "DepotModifiers",
    "merge_dose_modifiers",
]

DEPOT_CMT = 1
"""1-based compartment (NONMEM CMT) of the oral depot in every structure of :data:`STRUCTURES`."""

DoseModifiers = Callable[[Mapping[str, np.ndarray], np.ndarray], dict]
"""``f(records, p) -> {"F": array, "ALAG": array}``, one value per record, as
:func:`pkpd.simulate.simulate` and :func:`pkpd.simulate.simulate_data` accept it."""

STRUCTURES: dict[str, tuple[str, ...]] = {
    # one-compartment, first-order absorption: depot -> central
    "pk1cmt_oral": ("CL", "V", "KA"),
    # two-compartment, first-order absorption: depot (cmt 1) -> central (cmt 2) <-> peripheral (cmt 3)
    "pk2cmt_oral": ("CL", "Vc", "Q", "Vp", "KA"),
}
"""Structural models a :class:`DrugPK` may name, with the parameter names (in order) each needs."""


def omega2_from_cv(cv: float) -> float:
    """Variance of eta for a log-normal parameter with coefficient of variation ``cv``.

    ω² = ln(1 + CV²); e.g. CV 40 % -> ω² = 0.1484 (ω = 0.385).  For small CV
    ω ≈ CV, the approximation NONMEM users often make.
    """
    return math.log1p(cv * cv)


@dataclass(frozen=True)
class IIV:
    """One random effect (eta) of the between-patient variability.

    Parameters
    ----------
    name : str
        Name of the eta (``"CL"``, ``"V"``, ``"KA"``); column name in the eta table.
    parameters : tuple of str
        Parameters multiplied by ``exp(eta)``.  More than one name means one eta is
        shared, e.g. ``("Vc", "Vp")`` scales the whole distribution volume so that
        Vss has exactly the given CV.
    cv : float
        Coefficient of variation of the log-normal parameter (0.40 = 40 %), > 0.
    source, assumed : provenance, as in :class:`~pkpd.models.spec.Parameter`.
    """

    name: str
    parameters: tuple[str, ...]
    cv: float
    source: str
    assumed: bool = False

    def __post_init__(self):
        if isinstance(self.parameters, str):
            object.__setattr__(self, "parameters", (self.parameters,))
        object.__setattr__(self, "parameters", tuple(self.parameters))
        if not self.name.isidentifier():
            raise ModelError(f"IIV name {self.name!r} is not an identifier")
        if not self.parameters:
            raise ModelError(f"IIV {self.name}: names no parameter")
        if not (np.isfinite(self.cv) and self.cv > 0):
            raise ModelError(f"IIV {self.name}: cv must be finite and > 0, got {self.cv}")
        if not self.source:
            raise ModelError(f"IIV {self.name}: a source is required (say 'assumed' if guessed)")

    @property
    def omega2(self) -> float:
        """Variance of eta, ω² = ln(1 + CV²) (dimensionless)."""
        return omega2_from_cv(self.cv)

    @property
    def omega(self) -> float:
        """Standard deviation of eta, ω = sqrt(ln(1 + CV²))."""
        return math.sqrt(self.omega2)


@dataclass(frozen=True)
class CovariateEffect:
    """The effect of one patient covariate on one or more parameters.

    Parameters
    ----------
    covariate : str
        Covariate name as supplied per patient (``"WT"`` body weight in kg,
        ``"SEX"`` 0 = female, 1 = male).
    parameters : tuple of str
        Parameters whose typical value is multiplied by the effect.
    model : {"power", "factor"}
        ``"power"``: TV · (cov / reference) ** effect (allometric scaling);
        ``"factor"``: TV · effect ** cov for a 0/1 covariate (effect = ratio of
        level 1 to level 0).
    reference : float
        Covariate value at which the effect is 1 (kg for WT; level 0 for SEX).
    effect : Parameter
        Exponent (``power``) or ratio (``factor``), with unit ``"1"`` and its source.
    unit : str
        Unit of the covariate itself (``"kg"``, ``"1"``).
    """

    covariate: str
    parameters: tuple[str, ...]
    model: str
    reference: float
    effect: Parameter
    unit: str

    def __post_init__(self):
        if isinstance(self.parameters, str):
            object.__setattr__(self, "parameters", (self.parameters,))
        object.__setattr__(self, "parameters", tuple(self.parameters))
        if self.model not in ("power", "factor"):
            raise ModelError(f"covariate {self.covariate}: model must be 'power' or 'factor', got {self.model!r}")
        if self.model == "power" and not self.reference > 0:
            raise ModelError(f"covariate {self.covariate}: reference must be > 0 for a power model")
        if self.model == "factor" and not self.effect.value > 0:
            raise ModelError(f"covariate {self.covariate}: a factor effect must be > 0")

    def multiplier(self, values: np.ndarray, path: str = "covariates") -> np.ndarray:
        """Multiplicative effect for covariate ``values`` (shape (n,)); validates them."""
        v = np.asarray(values, dtype=np.float64)
        where = f"{path}.{self.covariate}"
        if not np.all(np.isfinite(v)):
            raise InputError(where, "must be finite", values, show_value=v.size == 1)
        if self.model == "power":
            if np.any(v <= 0):
                raise InputError(where, f"must be > 0 {self.unit}", v[v <= 0][0])
            return (v / self.reference) ** self.effect.value
        if np.any((v != 0) & (v != 1)):
            raise InputError(where, "must be 0 or 1", v[(v != 0) & (v != 1)][0])
        return self.effect.value ** v


@dataclass(frozen=True)
class TimeVaryingClearance:
    """Clearance that changes from a first-dose value to the steady-state value.

    CL(t) = CL − (CL − CL1) · exp(−kCL · t), with ``t`` the time in h since the
    first dose of the drug and ``CL`` the drug's (steady-state) clearance.  At
    t = 0 CL(t) = CL1; CL(t) -> CL as t -> ∞; the change is 1 − exp(−kCL·t)
    complete at time t.

    The model is empirical: it interpolates between the two clearances the label
    reports and carries no mechanism (auto-induction is one candidate).  It makes
    the PK model time-variant, so it needs the ODE path (closed-form
    superposition does not apply).  Individual CL1 shares the CL eta (so every
    patient's CL1/CL ratio equals the typical one).
    """

    CL1: Parameter
    kCL: Parameter

    def __post_init__(self):
        if self.CL1.name != "CL1" or self.kCL.name != "kCL":
            raise ModelError("TimeVaryingClearance needs parameters named CL1 and kCL")
        if not (self.CL1.value > 0 and self.kCL.value > 0):
            raise ModelError("TimeVaryingClearance: CL1 and kCL must be > 0")

    def clearance(self, t_h, CL: float, CL1: float | None = None, kCL: float | None = None):
        """CL(t) in L/h at times ``t_h`` (h since the first dose; scalar or array)."""
        CL1 = self.CL1.value if CL1 is None else CL1
        kCL = self.kCL.value if kCL is None else kCL
        return CL - (CL - CL1) * np.exp(-kCL * np.asarray(t_h, dtype=np.float64))


@dataclass(frozen=True)
class DrugPK:
    """A drug's population-PK parameter set (data only).

    Parameters
    ----------
    name : str
        Registry name (lower case).
    structure : str
        Structural model, a key of :data:`STRUCTURES` (``"pk2cmt_oral"``: depot =
        compartment 1, central = 2, peripheral = 3).
    parameters : tuple of Parameter
        Typical values of the structural parameters, named and ordered as
        ``STRUCTURES[structure]`` (CL, Vc, Q, Vp, KA for ``pk2cmt_oral``).
    tlag : Parameter
        Absorption lag time, h (dose enters the depot ``tlag`` after the nominal time).
    F : Parameter
        Bioavailability applied to the oral dose (dimensionless); 1 with apparent
        CL/F and V/F.
    mw : Parameter
        Molecular weight of the free base, g/mol (for mg/L <-> nM).
    fu : Parameter
        Unbound fraction in plasma (dimensionless).
    iiv : tuple of IIV
        Random effects, in eta-table column order.
    correlation : tuple of tuples, optional
        Correlation matrix of the etas (n_eta x n_eta, unit diagonal, positive
        definite); ``None`` = independent etas.
    covariates : tuple of CovariateEffect
        Optional covariate effects (used only when covariate values are supplied).
    time_varying_cl : TimeVaryingClearance, optional
        Optional time course of clearance (see there); its parameters CL1, kCL are
        part of :attr:`all_parameters`.
    use_time_varying_cl : bool
        Whether simulations should use ``time_varying_cl`` by default.
    F_absolute : Parameter, optional
        Absolute oral bioavailability, for information only (never applied on top
        of apparent parameters).
    description : str
        What the parameter set is and how it was obtained.
    references : tuple of str
        Literature behind the values.
    label_max_dose_mg : float or None
        The highest single dose in the label (mg), with its source in
        ``label_max_dose_source``.  Scenarios reject doses more than
        :data:`pkpd.scenario.MAX_DOSE_FACTOR` times above it (a unit typo such as
        ``240 g``), so it is a plausibility bound, not a safety limit.
    """

    name: str
    structure: str
    parameters: tuple[Parameter, ...]
    tlag: Parameter
    F: Parameter
    mw: Parameter
    fu: Parameter
    iiv: tuple[IIV, ...] = ()
    correlation: tuple[tuple[float, ...], ...] | None = None
    covariates: tuple[CovariateEffect, ...] = ()
    time_varying_cl: TimeVaryingClearance | None = None
    use_time_varying_cl: bool = False
    F_absolute: Parameter | None = None
    description: str = ""
    references: tuple[str, ...] = ()
    label_max_dose_mg: float | None = None
    label_max_dose_source: str = ""
    _index: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        where = f"drug {self.name}"
        if self.structure not in STRUCTURES:
            raise ModelError(f"{where}: unknown structure {self.structure!r}; valid: " + ", ".join(STRUCTURES))
        names = tuple(p.name for p in self.parameters)
        if names != STRUCTURES[self.structure]:
            raise ModelError(f"{where}: structure {self.structure} needs parameters "
                             f"{STRUCTURES[self.structure]}, got {names}")
        for p in self.parameters:
            if not p.value > 0:
                raise ModelError(f"{where}: parameter {p.name} must be > 0, got {p.value}")
        if self.tlag.name != "tlag" or self.tlag.value < 0:
            raise ModelError(f"{where}: tlag must be a Parameter named 'tlag' with value >= 0 h")
        if self.F.name != "F" or not (0 < self.F.value <= 1):
            raise ModelError(f"{where}: F must be a Parameter named 'F' with value in (0, 1]")
        if self.fu.name != "fu" or not (0 < self.fu.value <= 1):
            raise ModelError(f"{where}: fu must be a Parameter named 'fu' with value in (0, 1]")
        if self.mw.name != "MW" or not self.mw.value > 0:
            raise ModelError(f"{where}: mw must be a Parameter named 'MW' with value > 0 g/mol")
        if self.use_time_varying_cl and self.time_varying_cl is None:
            raise ModelError(f"{where}: use_time_varying_cl is set but no time_varying_cl given")
        all_names = self.parameter_names
        index = {n: i for i, n in enumerate(all_names)}
        if len(index) != len(all_names):
            raise ModelError(f"{where}: duplicate parameter names {all_names}")
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "iiv", tuple(self.iiv))
        object.__setattr__(self, "covariates", tuple(self.covariates))
        eta_names = [e.name for e in self.iiv]
        if len(set(eta_names)) != len(eta_names):
            raise ModelError(f"{where}: duplicate IIV names {eta_names}")
        seen: set[str] = set()
        for e in self.iiv:
            for p in e.parameters:
                if p not in index:
                    raise ModelError(f"{where}: IIV {e.name} names unknown parameter {p!r}")
                if p in seen:
                    raise ModelError(f"{where}: parameter {p} carries more than one eta")
                seen.add(p)
        for c in self.covariates:
            for p in c.parameters:
                if p not in index:
                    raise ModelError(f"{where}: covariate {c.covariate} names unknown parameter {p!r}")
        if self.correlation is not None:
            corr = tuple(tuple(float(x) for x in row) for row in self.correlation)
            object.__setattr__(self, "correlation", corr)
            try:
                check_correlation(np.array(corr, dtype=np.float64), len(self.iiv), "correlation")
            except InputError as err:
                raise ModelError(f"{where}: {err}") from None

    # ------------------------------------------------------------------ parameters
    @property
    def all_parameters(self) -> tuple[Parameter, ...]:
        """Every individual parameter, in the column order of :mod:`pkpd.population` output.

        Structural parameters, then CL1 and kCL (if a time course is defined),
        then tlag and F.
        """
        extra = ()
        if self.time_varying_cl is not None:
            extra = (self.time_varying_cl.CL1, self.time_varying_cl.kCL)
        return tuple(self.parameters) + extra + (self.tlag, self.F)

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """Names of :attr:`all_parameters`, in order."""
        return tuple(p.name for p in self.all_parameters)

    @property
    def structural_names(self) -> tuple[str, ...]:
        """Names of the structural parameters (the PK model's parameter vector)."""
        return STRUCTURES[self.structure]

    def parameter(self, name: str) -> Parameter:
        """The :class:`Parameter` called ``name``; :class:`InputError` lists the valid names."""
        try:
            return self.all_parameters[self._index[name]]
        except KeyError:
            raise InputError("parameters", f"unknown parameter {name!r} of drug {self.name}; valid: "
                             + ", ".join(self.parameter_names), show_value=False) from None

    def typical_values(self) -> dict[str, float]:
        """Typical values of :attr:`all_parameters` as ``{name: value}`` (units as in each Parameter)."""
        return {p.name: float(p.value) for p in self.all_parameters}

    def provenance(self) -> tuple[Parameter, ...]:
        """Every Parameter the set rests on: model parameters, MW, fu, F_absolute, covariate effects."""
        extra = (self.mw, self.fu) + ((self.F_absolute,) if self.F_absolute is not None else ())
        return self.all_parameters + extra + tuple(c.effect for c in self.covariates)

    def table(self) -> list[dict]:
        """Parameter table as records (name, value, unit, description, source, assumed)."""
        rows = [dict(name=p.name, value=p.value, unit=p.unit, description=p.description,
                     source=p.source, assumed=p.assumed) for p in self.provenance()]
        rows += [dict(name=f"IIV_{e.name}", value=e.cv, unit="CV",
                      description="between-patient CV of " + ", ".join(e.parameters) + " (log-normal)",
                      source=e.source, assumed=e.assumed) for e in self.iiv]
        return rows

    # ------------------------------------------------------------------ random effects
    @property
    def eta_names(self) -> tuple[str, ...]:
        return tuple(e.name for e in self.iiv)

    @property
    def correlation_matrix(self) -> np.ndarray:
        """Eta correlation matrix, shape (n_eta, n_eta); identity when none is given."""
        if self.correlation is None:
            return np.eye(len(self.iiv))
        return np.array(self.correlation, dtype=np.float64)

    def omega_matrix(self, correlation=None) -> np.ndarray:
        """Eta covariance matrix Ω = D·R·D with D = diag(ω), shape (n_eta, n_eta)."""
        R = self.correlation_matrix if correlation is None else np.asarray(correlation, dtype=np.float64)
        d = np.array([e.omega for e in self.iiv])
        return d[:, None] * R * d[None, :]

    # ------------------------------------------------------------------ simulation
    @property
    def depot_cmt(self) -> int:
        """1-based compartment (NONMEM CMT) of the oral depot in :meth:`model` and :meth:`drug_model` (1)."""
        return DEPOT_CMT

    @property
    def central_state(self) -> str:
        """Name of the central-compartment state (amount, mg) whose concentration is the output CP."""
        return "CENT"

    def _check_simulable(self) -> None:
        if self.use_time_varying_cl:
            raise ModelError(f"drug {self.name}: use_time_varying_cl is set, but the model library has no "
                             "time-varying clearance model; switch it off (DrugPK(..., use_time_varying_cl="
                             "False)) or write a model with CL(t)")

    def model(self) -> ModelSpec:
        """The structural model (``pkpd.models.MODELS[self.structure]``), generic defaults included.

        Its parameter vector, in order, is :attr:`structural_names`; use
        :meth:`parameter_vector` for the drug's values and :meth:`dose_modifiers`
        for F and the lag.  Raises :class:`ModelError` when the drug is set to use
        its time-varying clearance (no library model has one).
        """
        self._check_simulable()
        from pkpd.models import get_model  # lazy: pkpd.models is the parent package

        return get_model(self.structure)

    def drug_model(self) -> ModelSpec:
        """A :class:`ModelSpec` of this drug: structure + typical values + F1 and ALAG1.

        States, outputs (CP, mg/L), right-hand side and output function are those
        of :meth:`model` (the kernel reads only the leading structural parameters,
        so the appended ones cost nothing).  Parameters, in order:
        :attr:`structural_names` with the drug's typical values, units and
        sources, then ``F1`` (bioavailability of depot doses, 1) and ``ALAG1``
        (lag of depot doses, h), which :func:`pkpd.simulate.simulate`,
        ``simulate_population`` and ``simulate_data`` apply to doses into
        compartment 1 (NONMEM's F1/ALAG1).  The model is named after the drug.
        """
        base = self.model()
        params = tuple(
            replace(bp, value=float(dp.value), unit=dp.unit, description=dp.description,
                    source=dp.source, assumed=dp.assumed)
            for bp, dp in zip(base.parameters, self.parameters)
        )
        params += (
            Parameter("F1", float(self.F.value), "1", "bioavailability of doses into the depot (cmt 1): "
                      + self.F.description, self.F.source, self.F.assumed, lower=0.0),
            Parameter("ALAG1", float(self.tlag.value), "h", "lag time of doses into the depot (cmt 1): "
                      + self.tlag.description, self.tlag.source, self.tlag.assumed, lower=0.0),
        )
        return ModelSpec(
            name=self.name,
            states=base.states,
            parameters=params,
            rhs=base.rhs,
            outputs=base.outputs,
            output_fn=base.output_fn,
            description=f"{self.description} Structure {base.name}: {base.description}",
            references=tuple(self.references) + tuple(base.references),
        )

    def parameter_vector(self, values: Mapping[str, object] | None = None, *,
                         dose_parameters: bool = False) -> np.ndarray:
        """The drug's parameter vector in the order of :meth:`model` (or :meth:`drug_model`).

        Parameters
        ----------
        values : mapping, optional
            Values by name of :attr:`parameter_names` (``CL``, ``Vc`` ... ``tlag``,
            ``F``; units as in :meth:`parameter`), each a number or an array; the
            rest keep their typical values.  ``VirtualPatients.as_dict()`` from
            :mod:`pkpd.population` fits here, giving one row per patient.
        dose_parameters : bool
            False: the structural parameters only (:attr:`structural_names`, the
            :meth:`model` order).  True: also ``F1 = F`` and ``ALAG1 = tlag``
            (the :meth:`drug_model` order).

        Returns
        -------
        ndarray, float64, shape ``broadcast(values) + (n_parameters,)``.

        Raises
        ------
        InputError
            Unknown name, values that do not broadcast, a non-finite value, a
            structural parameter <= 0, a negative tlag or F.
        """
        self._check_simulable()
        values = dict(values or {})
        for name in values:
            if name not in self._index:
                raise InputError(f"parameters.{name}", f"unknown parameter of drug {self.name}; valid: "
                                 + ", ".join(self.parameter_names), show_value=False)
        names = self.structural_names + (("F", "tlag") if dose_parameters else ())
        cols = []
        for name in names:
            v = np.asarray(values.get(name, self.parameter(name).value), dtype=np.float64)
            ok = np.isfinite(v) & ((v >= 0) if name in ("F", "tlag") else (v > 0))
            if not np.all(ok):
                need = ">= 0" if name in ("F", "tlag") else "> 0"
                unit = self.parameter(name).unit
                raise InputError(f"parameters.{name}", f"must be finite and {need}" + ("" if unit == "1" else
                                 f" {unit}"), float(np.atleast_1d(v)[~np.atleast_1d(ok)][0]))
            cols.append(v)
        try:
            cols = np.broadcast_arrays(*cols)
        except ValueError:
            raise InputError("parameters", "values must be numbers or arrays of one common shape",
                             {k: np.shape(v) for k, v in values.items()}) from None
        return np.stack(cols, axis=-1).astype(np.float64)

    def dose_modifiers(self, depot_cmt: int = DEPOT_CMT,
                       values: Mapping[str, float] | None = None) -> "DepotModifiers":
        """F and lag of this drug's oral doses, for the engine's ``dose_modifiers`` argument.

        Parameters
        ----------
        depot_cmt : int
            1-based compartment (CMT) that is this drug's depot in the model being
            simulated (1 in :meth:`model`; another number in a coupled model).
        values : mapping, optional
            Overrides of ``F`` (dimensionless) and/or ``tlag`` (h).

        Returns
        -------
        DepotModifiers
            A callable ``f(records, p) -> {"F": (n,), "ALAG": (n,)}`` giving records
            with ``cmt == depot_cmt`` the drug's F and lag (h) and every other
            record F = 1, ALAG = 0 h.  Join several drugs' callables with
            :func:`merge_dose_modifiers`.
        """
        values = dict(values or {})
        unknown = set(values) - {"F", "tlag"}
        if unknown:
            raise InputError(f"values.{sorted(unknown)[0]}", "dose modifiers take only F and tlag",
                             show_value=False)
        return DepotModifiers(cmt=depot_cmt, F=values.get("F", self.F.value),
                              ALAG=values.get("tlag", self.tlag.value), drug=self.name)

    # ------------------------------------------------------------------ concentrations
    def total_nM(self, conc_mg_per_l):
        """Total plasma concentration in nM from mg/L (1 mg/L = 10⁶/MW nM)."""
        return mg_per_l_to_nm(conc_mg_per_l, self.mw.value)

    def free_nM(self, conc_mg_per_l):
        """Unbound plasma concentration in nM from a total concentration in mg/L (fu · total)."""
        return total_to_free(self.total_nM(conc_mg_per_l), self.fu.value)


@dataclass(frozen=True)
class DepotModifiers:
    """Bioavailability and lag of the doses into one depot compartment (a dose-modifier callable).

    Calling it as ``f(records, p)`` (the engine's ``dose_modifiers`` protocol,
    ``records["cmt"]`` 1-based) returns ``{"F": (n,), "ALAG": (n,)}``: ``F`` and
    ``ALAG`` (h) for records with ``cmt == self.cmt``, 1 and 0 h for the others.
    ``p`` is not used: F and the lag carry no between-patient variability here.

    Attributes
    ----------
    cmt : int
        1-based depot compartment, >= 1.
    F : float
        Bioavailability, dimensionless, >= 0.
    ALAG : float
        Lag time, h, >= 0.
    drug : str
        Name of the drug, for messages.
    """

    cmt: int
    F: float
    ALAG: float
    drug: str = ""

    def __post_init__(self):
        if isinstance(self.cmt, bool) or not isinstance(self.cmt, (int, np.integer)) or self.cmt < 1:
            raise InputError("depot_cmt", "must be a 1-based compartment number >= 1", self.cmt)
        for name, need in (("F", "finite and >= 0"), ("ALAG", "finite and >= 0 h")):
            v = getattr(self, name)
            if isinstance(v, bool) or not (np.isfinite(float(v)) and float(v) >= 0):
                raise InputError(name, f"must be {need}", v)
            object.__setattr__(self, name, float(v))
        object.__setattr__(self, "cmt", int(self.cmt))

    def __call__(self, records: Mapping[str, np.ndarray], p: np.ndarray | None = None) -> dict:
        on = np.asarray(records["cmt"]) == self.cmt
        return {"F": np.where(on, self.F, 1.0), "ALAG": np.where(on, self.ALAG, 0.0)}


def merge_dose_modifiers(*modifiers: DepotModifiers) -> DoseModifiers:
    """One dose-modifier callable from those of several depots (e.g. one per drug).

    Each :class:`DepotModifiers` is the identity (F = 1, ALAG = 0 h) outside its
    own compartment, so the merged F is the product and ALAG the sum of theirs:
    every record gets exactly the values of the depot it doses.  Two modifiers of
    the same compartment are refused (:class:`InputError`).
    """
    mods = tuple(modifiers)
    if not mods:
        raise InputError("dose_modifiers", "give at least one", show_value=False)
    seen: dict[int, str] = {}
    for m in mods:
        if not isinstance(m, DepotModifiers):
            raise InputError("dose_modifiers", "must be DepotModifiers (from DrugPK.dose_modifiers)", repr(m))
        if m.cmt in seen:
            raise InputError("dose_modifiers", f"compartment {m.cmt} is the depot of both "
                             f"{seen[m.cmt] or '?'} and {m.drug or '?'}", m.cmt)
        seen[m.cmt] = m.drug

    def merged(records, p=None):
        n = len(records["cmt"])
        F, lag = np.ones(n), np.zeros(n)
        for m in mods:
            out = m(records, p)
            F *= out["F"]
            lag += out["ALAG"]
        return {"F": F, "ALAG": lag}

    merged.modifiers = mods
    return merged


def check_correlation(R: np.ndarray, n: int, path: str) -> np.ndarray:
    """Validate a correlation matrix (shape (n, n), symmetric, unit diagonal, positive definite).

    Returns its lower Cholesky factor.  Raises :class:`InputError` naming ``path``.
    """
    R = np.asarray(R, dtype=np.float64)
    if R.shape != (n, n):
        raise InputError(path, f"must be a {n} x {n} matrix (one row per eta)", R.shape)
    if not np.all(np.isfinite(R)):
        raise InputError(path, "must be finite", show_value=False)
    if not np.allclose(R, R.T, rtol=0, atol=1e-12):
        raise InputError(path, "must be symmetric", show_value=False)
    if not np.allclose(np.diag(R), 1.0, rtol=0, atol=1e-12):
        raise InputError(path, "must have a unit diagonal", np.diag(R).tolist())
    if np.any(np.abs(R) > 1):
        raise InputError(path, "entries must lie in [-1, 1]", show_value=False)
    try:
        return np.linalg.cholesky(R)
    except np.linalg.LinAlgError:
        raise InputError(path, "must be positive definite (Cholesky failed); "
                         "use |r| < 1 and a consistent set of correlations", show_value=False) from None
