"""Model specifications: a model is data plus one compiled right-hand side.

A :class:`ModelSpec` lists the model's states, parameters and outputs with their
units, meanings and sources, and holds one module-level ``@njit(cache=True)``
right-hand side ``rhs(t, y, p, dydt)`` that works on flat float64 arrays in the
order given here, and optionally its analytic Jacobian ``jac(t, y, p, J)`` for the
implicit solvers.  Everything in Python (names, units, defaults, validation,
labels of outputs) is derived from the spec; the kernel only sees arrays.

Internal units: time in h, doses and amounts in mg (or model-specific amount
units for signaling species), volumes in L, concentrations in nM or mg/L as the
output says.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np

from pkpd.errors import InputError, ModelError
from pkpd.signatures import JAC_SIGNATURE, RHS_SIGNATURE

__all__ = ["Parameter", "State", "Output", "ModelSpec"]


@dataclass(frozen=True)
class Parameter:
    """One model parameter: value, unit, meaning and where the value comes from.

    ``assumed=True`` marks a value that is a guess or a calibration made for
    pkpd rather than a published estimate; documentation and ``pkpd models``
    flag it.
    """

    name: str
    value: float
    unit: str
    description: str
    source: str
    assumed: bool = False
    lower: float = -np.inf
    upper: float = np.inf

    def __post_init__(self):
        # a composed model's parameters are block.name (neratinib.CL): each part an identifier
        if not all(part.isidentifier() for part in self.name.split(".")):
            raise ModelError(f"parameter name {self.name!r} is not an identifier (or block.identifier)")
        if not np.isfinite(self.value):
            raise ModelError(f"parameter {self.name}: value must be finite, got {self.value}")
        if not (self.lower <= self.value <= self.upper):
            raise ModelError(
                f"parameter {self.name}: value {self.value} outside [{self.lower}, {self.upper}]"
            )
        if not self.source:
            raise ModelError(f"parameter {self.name}: a source is required (say 'assumed' if guessed)")


@dataclass(frozen=True)
class State:
    """One state variable (compartment amount or species level) with its unit and initial value."""

    name: str
    unit: str
    description: str
    initial: float = 0.0

    def __post_init__(self):
        if not all(part.isidentifier() for part in self.name.split(".")):
            raise ModelError(f"state name {self.name!r} is not an identifier (or block.identifier)")


@dataclass(frozen=True)
class Output:
    """A derived quantity reported to users (e.g. plasma concentration), with its unit."""

    name: str
    unit: str
    description: str


def _compile_for(fn, signature) -> None:
    """Compile the Numba dispatcher ``fn`` for ``signature`` unless it already is.

    A dispatcher decorated with explicit signatures (``@njit(JAC_SIGNATURE)``) refuses
    ``compile`` even for a signature it has, so that case is checked first.
    """
    if tuple(signature.args) not in [tuple(s) for s in fn.signatures]:
        fn.compile(signature)


@dataclass(frozen=True)
class ModelSpec:
    """A complete model: states, parameters, outputs and the compiled right-hand side.

    Parameters
    ----------
    name : registry name of the model.
    states, parameters, outputs : tuples of :class:`State`, :class:`Parameter`, :class:`Output`.
    rhs : ``@njit`` function ``rhs(t, y, p, dydt)``; ``t`` in h, ``y`` shape (n_states,),
        ``p`` shape (n_parameters,), writes d(y)/dt (units of state per h) into ``dydt``.
    output_fn : plain-Python function ``output_fn(y, p) -> dict[name, ndarray]`` evaluated on
        arrays ``y`` of shape (..., n_states) and ``p`` of shape (..., n_parameters)
        broadcastable against it; returns one array per declared output.
    description, references : text for documentation.
    jac : optional ``@njit`` function ``jac(t, y, p, J)``, the analytic Jacobian: writes
        ``J[i, j] = d(dy_i/dt)/dy_j`` (per h) into ``J`` (n_states, n_states), which the
        solvers zero before each call (only non-zero entries need writing).  Compiled here
        for :data:`pkpd.signatures.JAC_SIGNATURE`; radau5 and rodas3 call it instead of
        differencing ``rhs`` (``solver.jacobian``, see :meth:`jacobian`).  None (the
        default): no analytic Jacobian, finite differences.
    """

    name: str
    states: tuple[State, ...]
    parameters: tuple[Parameter, ...]
    rhs: Callable
    outputs: tuple[Output, ...] = ()
    output_fn: Callable | None = None
    description: str = ""
    references: tuple[str, ...] = ()
    jac: Callable | None = None
    _state_index: dict = field(init=False, repr=False, compare=False)
    _param_index: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        for kind, items in (("state", self.states), ("parameter", self.parameters), ("output", self.outputs)):
            names = [it.name for it in items]
            dup = sorted({n for n in names if names.count(n) > 1})
            if dup:
                raise ModelError(f"model {self.name}: duplicate {kind} names {dup}")
        if self.outputs and self.output_fn is None:
            raise ModelError(f"model {self.name}: outputs declared but no output_fn given")
        if not hasattr(self.rhs, "compile"):
            raise ModelError(f"model {self.name}: rhs must be a Numba @njit function")
        # The solvers receive rhs (and jac) as function pointers of these exact signatures.
        _compile_for(self.rhs, RHS_SIGNATURE)
        if self.jac is not None:
            if not hasattr(self.jac, "compile"):
                raise ModelError(f"model {self.name}: jac must be a Numba @njit function")
            _compile_for(self.jac, JAC_SIGNATURE)
        object.__setattr__(self, "_state_index", {s.name: i for i, s in enumerate(self.states)})
        object.__setattr__(self, "_param_index", {p.name: i for i, p in enumerate(self.parameters)})

    # ------------------------------------------------------------------ sizes and lookup
    @property
    def n_states(self) -> int:
        return len(self.states)

    @property
    def n_parameters(self) -> int:
        return len(self.parameters)

    @property
    def state_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.states)

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters)

    def state_index(self, name: str) -> int:
        """Index of state ``name`` in ``y``; raises :class:`InputError` listing the valid names."""
        try:
            return self._state_index[name]
        except KeyError:
            raise InputError("state", f"unknown state {name!r} of model {self.name}; valid: "
                             + ", ".join(self.state_names), show_value=False) from None

    def parameter_index(self, name: str) -> int:
        """Index of parameter ``name`` in ``p``; raises :class:`InputError` listing the valid names."""
        try:
            return self._param_index[name]
        except KeyError:
            raise InputError("parameters", f"unknown parameter {name!r} of model {self.name}; valid: "
                             + ", ".join(self.parameter_names), show_value=False) from None

    def parameter(self, name: str) -> Parameter:
        return self.parameters[self.parameter_index(name)]

    # ------------------------------------------------------------------ Jacobian
    @property
    def has_jacobian(self) -> bool:
        """Whether the model comes with an analytic Jacobian (``jac``)."""
        return self.jac is not None

    def jacobian(self, mode: str = "auto") -> tuple[Callable, bool]:
        """``(jac kernel, analytic)`` for the driver's ``jac`` argument and ``opts[OPT_JACOBIAN]``.

        ``mode`` is ``solver.jacobian``: ``"auto"`` the analytic Jacobian when the model
        has one, else finite differences; ``"analytic"`` the model's (InputError when it has
        none); ``"numeric"`` finite differences.  With ``analytic`` False the kernel is the
        placeholder :func:`pkpd.solvers._common.no_jacobian` (never called).  Pass the
        flag to :meth:`pkpd.solvers.SolverOptions.opts_array`.

        Raises
        ------
        InputError
            ``solver.jacobian: analytic, but model NAME has no analytic Jacobian ...``, or a
            mode that is not one of auto, analytic, numeric.
        """
        from pkpd.solvers import JACOBIAN_MODES
        from pkpd.solvers._common import no_jacobian

        if not isinstance(mode, str) or mode not in JACOBIAN_MODES:
            raise InputError("solver.jacobian", f"must be one of {', '.join(JACOBIAN_MODES)}", repr(mode))
        if mode == "analytic" and self.jac is None:
            raise InputError("solver.jacobian", f"analytic, but model {self.name} has no analytic Jacobian "
                             "(use auto or numeric)", show_value=False)
        if mode != "numeric" and self.jac is not None:
            return self.jac, True
        return no_jacobian, False

    # ------------------------------------------------------------------ arrays for kernels
    def y0(self) -> np.ndarray:
        """Initial state vector, shape (n_states,)."""
        return np.array([s.initial for s in self.states], dtype=np.float64)

    def pack(self, overrides: Mapping[str, float] | None = None, path: str = "parameters") -> np.ndarray:
        """Parameter vector in kernel order, shape (n_parameters,), with ``overrides`` applied.

        Unknown names and non-finite or out-of-bounds values raise :class:`InputError`
        naming ``path.name``.
        """
        p = np.array([prm.value for prm in self.parameters], dtype=np.float64)
        for name, value in (overrides or {}).items():
            if name not in self._param_index:
                raise InputError(f"{path}.{name}", f"unknown parameter of model {self.name}; valid: "
                                 + ", ".join(self.parameter_names), show_value=False)
            prm = self.parameters[self._param_index[name]]
            try:
                v = float(value)
            except (TypeError, ValueError):
                raise InputError(f"{path}.{name}", "must be a number", value) from None
            if not np.isfinite(v):
                raise InputError(f"{path}.{name}", "must be finite", value)
            if not (prm.lower <= v <= prm.upper):
                raise InputError(f"{path}.{name}", f"must be within [{prm.lower}, {prm.upper}] {prm.unit}", value)
            p[self._param_index[name]] = v
        return p

    def evaluate_outputs(self, y: np.ndarray, p: np.ndarray) -> dict[str, np.ndarray]:
        """Outputs (e.g. concentrations) from states ``y`` (..., n_states) and parameters ``p``."""
        if self.output_fn is None:
            return {}
        return self.output_fn(np.asarray(y), np.asarray(p))

    def table(self) -> list[dict]:
        """Parameters as records (name, value, unit, description, source, assumed) for docs and CLI."""
        return [
            dict(name=p.name, value=p.value, unit=p.unit, description=p.description,
                 source=p.source, assumed=p.assumed)
            for p in self.parameters
        ]
