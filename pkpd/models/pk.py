"""Linear compartment PK models: the generic library (like mrgsolve's ``modlib``).

Four models, each a :class:`~pkpd.models.spec.ModelSpec` with a compiled
right-hand side over amounts (mg) and one output, the central concentration CP
(mg/L):

================  =====================  ========================  =====================
model             states (index order)   parameters (p order)      like
================  =====================  ========================  =====================
``pk1cmt``        CENT                   CL, V                     NONMEM ADVAN1
``pk1cmt_oral``   DEPOT, CENT            CL, V, KA                 ADVAN2, mrgsolve pk1
``pk2cmt``        CENT, PERIPH           CL, Vc, Q, Vp             ADVAN3
``pk2cmt_oral``   DEPOT, CENT, PERIPH    CL, Vc, Q, Vp, KA         ADVAN4, mrgsolve pk2
================  =====================  ========================  =====================

In the oral models the depot is compartment 1 and the central compartment 2, as
in NONMEM ADVAN2/ADVAN4, so the CMT of a NONMEM data set is the state index plus
one.  Doses never appear in a right-hand side: the engine adds boluses to the
state and infusion rates to dy/dt.

Parameter names follow the field (NONMEM TRANS2/TRANS4 with mrgsolve's KA):
CL clearance (L/h), V or Vc central volume (L), Q inter-compartmental clearance
(L/h), Vp peripheral volume (L), KA first-order absorption rate constant (1/h).
The default values are mrgsolve's generic library defaults, not estimates for any
drug; drug modules supply real values.

Every model is linear, ``dy/dt = K y``, and :data:`LINEAR_MODELS` says how its
parameters map onto the closed-form structures of :mod:`pkpd.solvers.linear`: a
compiled ``micro(p, out)`` writing the micro rate constants ``[ka, k10, k12, k21]``
(1/h, the layout of ``pkpd.solvers.linear.MICRO_*``), the structure name, and the
indices of the central state and volume.  :func:`system_matrix` gives K itself.

References
----------
M. Gibaldi, D. Perrier, *Pharmacokinetics*, 2nd ed., Marcel Dekker, 1982, ch. 1-2.
R. J. Bauer, *NONMEM Users Guide, Introduction to NONMEM 7*, ICON, 2019 (ADVAN1-4, TRANS2/4).
mrgsolve model library, ``inst/models/pk1.cpp`` and ``pk2.cpp``
(https://github.com/metrumresearchgroup/mrgsolve).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from numba import njit

from pkpd.errors import InputError
from pkpd.models.spec import ModelSpec, Output, Parameter, State

__all__ = [
    "pk1cmt", "pk1cmt_oral", "pk2cmt", "pk2cmt_oral", "PK_MODELS",
    "LinearModel", "LINEAR_MODELS", "MICRO_NAMES", "linear_model", "micro_constants", "system_matrix",
]

MICRO_NAMES = ("ka", "k10", "k12", "k21")
"""Order of the micro rate constants written by every ``micro`` kernel (1/h)."""

_SRC_PK1 = ("generic default, not a drug estimate: mrgsolve modlib pk1 "
            "(metrumresearchgroup/mrgsolve inst/models/pk1.cpp: CL 1, V 20, KA 1)")
_SRC_PK2 = ("generic default, not a drug estimate: mrgsolve modlib pk2 "
            "(metrumresearchgroup/mrgsolve inst/models/pk2.cpp: CL 1, V2 20, Q 2, V3 10, KA 1)")
# Volumes must be > 0 (concentration = amount / volume); 1 uL is far below any
# real distribution volume, even a mouse's plasma (about 1 mL).
_V_MIN = 1e-6

_REFS = (
    "M. Gibaldi, D. Perrier, Pharmacokinetics, 2nd ed., Marcel Dekker, 1982, ch. 1-2",
    "mrgsolve model library (modlib), inst/models/pk1.cpp, pk2.cpp",
)


def _cl(source):
    return Parameter("CL", 1.0, "L/h", "clearance from the central compartment", source, lower=0.0)


def _ka(source):
    return Parameter("KA", 1.0, "1/h", "first-order absorption rate constant, depot -> central",
                     source, lower=0.0)


_DEPOT = State("DEPOT", "mg", "amount in the absorption depot (gut), NONMEM compartment 1")
_CP = (Output("CP", "mg/L", "central (plasma) concentration, central amount / central volume"),)


# =============================================================================
# pk1cmt: one compartment, IV
# =============================================================================
@njit(cache=True)
def rhs_pk1cmt(t, y, p, dydt):
    """dA/dt of ``pk1cmt``: y = [CENT] mg, p = [CL, V]; writes mg/h into ``dydt``."""
    dydt[0] = -p[0] / p[1] * y[0]


@njit(cache=True)
def micro_pk1cmt(p, out):
    """Micro rate constants [ka, k10, k12, k21] (1/h) of ``pk1cmt`` from p = [CL, V]."""
    out[0] = 0.0
    out[1] = p[0] / p[1]
    out[2] = 0.0
    out[3] = 0.0


def _cp_pk1cmt(y, p):
    """CP (mg/L) = CENT / V; y (..., 1), p (..., 2)."""
    return {"CP": y[..., 0] / p[..., 1]}


pk1cmt = ModelSpec(
    name="pk1cmt",
    states=(State("CENT", "mg", "amount in the central compartment"),),
    parameters=(
        _cl(_SRC_PK1),
        Parameter("V", 20.0, "L", "volume of distribution", _SRC_PK1, lower=_V_MIN),
    ),
    rhs=rhs_pk1cmt,
    outputs=_CP,
    output_fn=_cp_pk1cmt,
    description="One-compartment model with linear elimination; doses IV into CENT (NONMEM ADVAN1).",
    references=_REFS,
)


# =============================================================================
# pk1cmt_oral: one compartment, first-order absorption
# =============================================================================
@njit(cache=True, inline="always")  # inlined into composed right-hand sides
def rhs_pk1cmt_oral(t, y, p, dydt):
    """dA/dt of ``pk1cmt_oral``: y = [DEPOT, CENT] mg, p = [CL, V, KA]; writes mg/h."""
    absorption = p[2] * y[0]
    dydt[0] = -absorption
    dydt[1] = absorption - p[0] / p[1] * y[1]


@njit(cache=True)
def micro_pk1cmt_oral(p, out):
    """Micro rate constants [ka, k10, k12, k21] (1/h) of ``pk1cmt_oral`` from p = [CL, V, KA]."""
    out[0] = p[2]
    out[1] = p[0] / p[1]
    out[2] = 0.0
    out[3] = 0.0


def _cp_pk1cmt_oral(y, p):
    """CP (mg/L) = CENT / V; y (..., 2), p (..., 3)."""
    return {"CP": y[..., 1] / p[..., 1]}


pk1cmt_oral = ModelSpec(
    name="pk1cmt_oral",
    states=(_DEPOT, State("CENT", "mg", "amount in the central compartment, NONMEM compartment 2")),
    parameters=(
        _cl(_SRC_PK1),
        Parameter("V", 20.0, "L", "volume of distribution", _SRC_PK1, lower=_V_MIN),
        _ka(_SRC_PK1),
    ),
    rhs=rhs_pk1cmt_oral,
    outputs=_CP,
    output_fn=_cp_pk1cmt_oral,
    description="One-compartment model with first-order absorption from a depot and linear "
                "elimination (NONMEM ADVAN2 TRANS2, mrgsolve pk1).",
    references=_REFS,
)


# =============================================================================
# pk2cmt: two compartments, IV
# =============================================================================
@njit(cache=True)
def rhs_pk2cmt(t, y, p, dydt):
    """dA/dt of ``pk2cmt``: y = [CENT, PERIPH] mg, p = [CL, Vc, Q, Vp]; writes mg/h."""
    cc = y[0] / p[1]
    cp = y[1] / p[3]
    distribution = p[2] * (cc - cp)
    dydt[0] = -p[0] * cc - distribution
    dydt[1] = distribution


@njit(cache=True)
def micro_pk2cmt(p, out):
    """Micro rate constants [ka, k10, k12, k21] (1/h) of ``pk2cmt`` from p = [CL, Vc, Q, Vp]."""
    out[0] = 0.0
    out[1] = p[0] / p[1]
    out[2] = p[2] / p[1]
    out[3] = p[2] / p[3]


def _cp_pk2cmt(y, p):
    """CP (mg/L) = CENT / Vc; y (..., 2), p (..., 4)."""
    return {"CP": y[..., 0] / p[..., 1]}


def _two_cmt_parameters(source):
    return (
        _cl(source),
        Parameter("Vc", 20.0, "L", "central volume of distribution", source, lower=_V_MIN),
        Parameter("Q", 2.0, "L/h", "inter-compartmental clearance", source, lower=0.0),
        Parameter("Vp", 10.0, "L", "peripheral volume of distribution", source, lower=_V_MIN),
    )


_PERIPH = State("PERIPH", "mg", "amount in the peripheral compartment")

pk2cmt = ModelSpec(
    name="pk2cmt",
    states=(State("CENT", "mg", "amount in the central compartment"), _PERIPH),
    parameters=_two_cmt_parameters(_SRC_PK2),
    rhs=rhs_pk2cmt,
    outputs=_CP,
    output_fn=_cp_pk2cmt,
    description="Two-compartment model with linear elimination from the central compartment; "
                "doses IV into CENT (NONMEM ADVAN3 TRANS4).",
    references=_REFS,
)


# =============================================================================
# pk2cmt_oral: two compartments, first-order absorption
# =============================================================================
@njit(cache=True, inline="always")  # inlined into composed right-hand sides
def rhs_pk2cmt_oral(t, y, p, dydt):
    """dA/dt of ``pk2cmt_oral``: y = [DEPOT, CENT, PERIPH] mg, p = [CL, Vc, Q, Vp, KA]; writes mg/h."""
    absorption = p[4] * y[0]
    cc = y[1] / p[1]
    cp = y[2] / p[3]
    distribution = p[2] * (cc - cp)
    dydt[0] = -absorption
    dydt[1] = absorption - p[0] * cc - distribution
    dydt[2] = distribution


@njit(cache=True)
def micro_pk2cmt_oral(p, out):
    """Micro rate constants [ka, k10, k12, k21] (1/h) of ``pk2cmt_oral`` from p = [CL, Vc, Q, Vp, KA]."""
    out[0] = p[4]
    out[1] = p[0] / p[1]
    out[2] = p[2] / p[1]
    out[3] = p[2] / p[3]


def _cp_pk2cmt_oral(y, p):
    """CP (mg/L) = CENT / Vc; y (..., 3), p (..., 5)."""
    return {"CP": y[..., 1] / p[..., 1]}


pk2cmt_oral = ModelSpec(
    name="pk2cmt_oral",
    states=(_DEPOT, State("CENT", "mg", "amount in the central compartment, NONMEM compartment 2"),
            State("PERIPH", "mg", "amount in the peripheral compartment, NONMEM compartment 3")),
    parameters=_two_cmt_parameters(_SRC_PK2) + (_ka(_SRC_PK2),),
    rhs=rhs_pk2cmt_oral,
    outputs=_CP,
    output_fn=_cp_pk2cmt_oral,
    description="Two-compartment model with first-order absorption from a depot and linear "
                "elimination (NONMEM ADVAN4 TRANS4, mrgsolve pk2).",
    references=_REFS,
)

PK_MODELS: dict[str, ModelSpec] = {m.name: m for m in (pk1cmt, pk1cmt_oral, pk2cmt, pk2cmt_oral)}
"""The linear PK models of this module, by name."""


# =============================================================================
# Linear structure: micro constants and the system matrix K
# =============================================================================
@njit(cache=True)
def _micro_rows(micro, P, out):
    """Apply a ``micro`` kernel to each row of P (n, n_params), writing out (n, 4)."""
    for i in range(P.shape[0]):
        micro(P[i], out[i])


@dataclass(frozen=True)
class LinearModel:
    """How a linear model's parameters map onto a closed-form structure.

    Attributes
    ----------
    spec : ModelSpec
        The model.
    structure : str
        Name of its structure in :data:`pkpd.solvers.linear.STRUCTURES`
        (``"1cmt"``, ``"1cmt_oral"``, ``"2cmt"``, ``"2cmt_oral"``); the model's states
        are in the structure's order.
    micro : callable
        ``@njit`` ``micro(p, out)``: p shape (n_parameters,) -> out shape (4,),
        ``[ka, k10, k12, k21]`` in 1/h (unused entries 0).
    central : int
        Index of the central compartment in y.
    volume : int
        Index of the central volume in p.
    """

    spec: ModelSpec
    structure: str
    micro: Callable
    central: int
    volume: int

    def micro_constants(self, p) -> np.ndarray:
        """Micro rate constants ``[ka, k10, k12, k21]`` (1/h), shape (..., 4), from p (..., n_parameters)."""
        p = np.asarray(p, dtype=np.float64)
        if p.shape[-1:] != (self.spec.n_parameters,):
            raise InputError("parameters", f"model {self.spec.name} needs {self.spec.n_parameters} "
                             f"parameters ({', '.join(self.spec.parameter_names)}) on the last axis, "
                             f"got shape {p.shape}", show_value=False)
        rows = np.ascontiguousarray(p.reshape(-1, p.shape[-1]))
        out = np.empty((rows.shape[0], len(MICRO_NAMES)))
        _micro_rows(self.micro, rows, out)
        return out.reshape(p.shape[:-1] + (len(MICRO_NAMES),))

    def system_matrix(self, p) -> np.ndarray:
        """The matrix K (1/h) of ``dy/dt = K y``, shape (..., n_states, n_states), from p (..., n_parameters)."""
        m = self.micro_constants(p)
        ka, k10, k12, k21 = (m[..., i] for i in range(4))
        n = self.spec.n_states
        K = np.zeros(m.shape[:-1] + (n, n))
        c = self.central
        if self.structure.endswith("_oral"):
            K[..., 0, 0] = -ka
            K[..., c, 0] = ka
        K[..., c, c] = -(k10 + k12)
        if self.structure.startswith("2cmt"):
            K[..., c, c + 1] = k21
            K[..., c + 1, c] = k12
            K[..., c + 1, c + 1] = -k21
        return K


LINEAR_MODELS: dict[str, LinearModel] = {
    "pk1cmt": LinearModel(pk1cmt, "1cmt", micro_pk1cmt, central=0, volume=1),
    "pk1cmt_oral": LinearModel(pk1cmt_oral, "1cmt_oral", micro_pk1cmt_oral, central=1, volume=1),
    "pk2cmt": LinearModel(pk2cmt, "2cmt", micro_pk2cmt, central=0, volume=1),
    "pk2cmt_oral": LinearModel(pk2cmt_oral, "2cmt_oral", micro_pk2cmt_oral, central=1, volume=1),
}
"""Model name -> :class:`LinearModel`, for every model with a closed-form solution."""


def linear_model(model) -> LinearModel:
    """The :class:`LinearModel` of ``model`` (a name or a ModelSpec); InputError if it has none."""
    name = model.name if isinstance(model, ModelSpec) else str(model)
    try:
        return LINEAR_MODELS[name]
    except KeyError:
        raise InputError("model", f"model {name!r} is not a linear model with a closed form; valid: "
                         + ", ".join(LINEAR_MODELS), show_value=False) from None


def micro_constants(model, p) -> np.ndarray:
    """Micro rate constants ``[ka, k10, k12, k21]`` (1/h), shape (..., 4), of a linear model.

    Parameters
    ----------
    model : str or ModelSpec
        A key of :data:`LINEAR_MODELS`.
    p : array_like, shape (..., n_parameters)
        Parameter vectors in the model's order.

    Examples
    --------
    >>> micro_constants("pk2cmt_oral", pk2cmt_oral.pack()).tolist()
    [1.0, 0.05, 0.1, 0.2]
    """
    return linear_model(model).micro_constants(p)


def system_matrix(model, p) -> np.ndarray:
    """The matrix K (1/h) with ``dy/dt = K y`` for a linear model, shape (..., n_states, n_states).

    Parameters
    ----------
    model : str or ModelSpec
        A key of :data:`LINEAR_MODELS`.
    p : array_like, shape (..., n_parameters)
        Parameter vectors in the model's order.

    Examples
    --------
    >>> system_matrix("pk1cmt_oral", pk1cmt_oral.pack({"CL": 2.0})).tolist()
    [[-1.0, 0.0], [1.0, -0.1]]
    """
    return linear_model(model).system_matrix(p)
