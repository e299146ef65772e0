"""A compiled model: the equations, their generated kernels, and everything the runners need from them.

:func:`compile_model` turns a :class:`~pkpd.model.language.Model` into a
:class:`CompiledModel`: the compiled right-hand side and analytic Jacobian (for the
solvers), and numpy functions over parameter rows for initial states (which may
depend on parameters, per patient), outputs, derived quantities and dose modifiers.
The kernel's parameter vector is the model's parameters followed by its unconnected
inputs (each with its default), in declaration order.

:attr:`CompiledModel.spec` is the same model as a :class:`pkpd.models.spec.ModelSpec`,
for the code paths that take one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from pkpd.errors import InputError, ModelError
from pkpd.model.codegen import kernel_module
from pkpd.model.language import Model
from pkpd.model.steady import solve_steady_states
from pkpd.models.spec import ModelSpec, Output, Parameter, State

__all__ = ["CompiledModel", "compile_model"]


def _input_parameter(i) -> Parameter:
    return Parameter(i.name, float(i.default), i.unit, i.description or f"input {i.name}",
                     "input: default used when the block is not connected")


@dataclass(frozen=True)
class CompiledModel:
    """A :class:`Model` with its generated kernels loaded (see the module docstring)."""

    model: Model
    module: object = field(repr=False)
    spec: ModelSpec = field(init=False, repr=False)

    def __post_init__(self):
        m = self.model
        params = tuple(m.parameters) + tuple(_input_parameter(i) for i in m.inputs)
        y0 = self.initial_states(np.array([q.value for q in params]))
        states = tuple(State(s.name, s.unit, s.description, float(y0[k])) for k, s in enumerate(m.states))
        outputs = tuple(Output(o.name, o.unit, o.description) for o in m.outputs)
        spec = ModelSpec(m.name, states, params, self.module.rhs, outputs,
                         self.module.outputs if outputs else None, m.description, m.references,
                         jac=self.module.jac)
        object.__setattr__(self, "spec", spec)

    # ------------------------------------------------------------------ kernels
    @property
    def rhs(self):
        """``rhs(t, y, p, dydt)``, compiled for :data:`pkpd.signatures.RHS_SIGNATURE`."""
        return self.module.rhs

    @property
    def jac(self):
        """``jac(t, y, p, J)``: the analytic Jacobian d(dy_i/dt)/dy_j (per h), written into J (n, n)."""
        return self.module.jac

    # ------------------------------------------------------------------ names and sizes
    @property
    def name(self) -> str:
        return self.model.name

    @property
    def parameters(self) -> tuple[Parameter, ...]:
        """Kernel parameters: the model's parameters, then its unconnected inputs."""
        return self.spec.parameters

    @property
    def state_names(self) -> tuple[str, ...]:
        return self.model.state_names

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return self.spec.parameter_names

    @property
    def n_states(self) -> int:
        return len(self.model.states)

    @property
    def n_parameters(self) -> int:
        return len(self.spec.parameters)

    def pack(self, overrides: Mapping[str, float] | None = None, path: str = "parameters") -> np.ndarray:
        """Parameter vector (n_parameters,) with ``overrides`` (name -> value in the parameter's unit)."""
        return self.spec.pack(overrides, path)

    # ------------------------------------------------------------------ array functions
    def initial_states(self, P) -> np.ndarray:
        """Initial states (..., n_states) for parameter rows ``P`` (..., n_parameters).

        States declared ``steady_state`` are solved for each row (:mod:`pkpd.model.steady`).
        Raises :class:`InputError` naming the state when an initial value is not finite
        for some row (a baseline ``kin/kout`` with ``kout = 0``) or has no steady state.
        """
        Y0 = self.module.initial(P)
        if self.model.steady_states:
            names = self.model.steady_states
            idx = [self.state_names.index(s) for s in names]
            Y0 = solve_steady_states(self.rhs, self.jac, Y0, P, idx, names)
        bad = ~np.isfinite(Y0)
        if bad.any():
            k = int(np.argwhere(bad)[0][-1])
            raise InputError(f"initial value of {self.model.states[k].name}",
                             "is not finite for these parameters", show_value=False)
        return Y0

    def outputs(self, Y, P) -> dict[str, np.ndarray]:
        """Declared outputs from states ``Y`` (..., n_states) and parameters ``P`` (..., n_parameters)."""
        return self.module.outputs(Y, P)

    def derived(self, Y, P) -> dict[str, np.ndarray]:
        """Every derived quantity from states ``Y`` (..., n_states) and parameters ``P`` (..., n_parameters)."""
        return self.module.derived(Y, P)

    def dose_modifiers(self, P) -> np.ndarray:
        """(..., n_states, 4): bioavailability, lag (h), rate (amount/h) and duration (h) of doses per state."""
        return self.module.dose_modifiers(P)

    def record_modifiers(self, rec: Mapping, p) -> dict[str, np.ndarray]:
        """NONMEM's F, ALAG, R, D of each record (``rec["cmt"]`` 1-based) for one parameter vector ``p``.

        From the model's dosing declarations; a state that declares no modelled rate or
        duration gets NaN there (a record with RATE = -1 or -2 into it is then refused by
        the event checks, as NONMEM refuses a missing R1/D1).
        """
        cmt = np.asarray(rec["cmt"], dtype=np.int64)
        mods = self.dose_modifiers(np.asarray(p, dtype=np.float64))
        k = np.clip(cmt - 1, 0, self.n_states - 1)
        out = {key: mods[k, j].astype(np.float64) for j, key in enumerate(("F", "ALAG", "R", "D"))}
        declared = {d.state: d.modifiers() for d in self.model.dosing}
        for key, word in (("R", "rate"), ("D", "duration")):
            has = np.array([word in declared.get(s, {}) for s in self.state_names])
            out[key][~has[k]] = np.nan
        return out

    @property
    def dose_parameters(self) -> frozenset[str]:
        """Parameters the dosing declarations use (directly or through derived quantities)."""
        used: set[str] = set()
        for d in self.model.dosing:
            for key in d.modifiers():
                used |= self.model.expression("dose", f"{d.state}.{key}").names
        derived = set(self.model.derived_order)
        stack = [n for n in used if n in derived]
        while stack:
            name = stack.pop()
            for n in self.model.expression("derived", name).names:
                if n not in used:
                    used.add(n)
                    if n in derived:
                        stack.append(n)
        return frozenset(n for n in used if n in self.parameter_names)


def compile_model(model: Model) -> CompiledModel:
    """Generate (or load from the kernel cache) and import the kernels of ``model``.

    The first time a model is compiled, sympy derives the Jacobian and Numba compiles
    both kernels (seconds); afterwards, in any process, the cached file and machine
    code are loaded.  Raises :class:`~pkpd.errors.ModelError` when the kernels do not
    evaluate to finite numbers at the initial state with the default parameters.
    """
    if not isinstance(model, Model):
        raise ModelError(f"compile_model: expected a pkpd.model.Model, got {type(model).__name__}")
    cm = CompiledModel(model, kernel_module(model))
    y = cm.spec.y0()
    p = cm.pack()
    dydt = np.full(cm.n_states, np.nan)
    cm.rhs(0.0, y, p, dydt)
    bad = [s for s, v in zip(cm.state_names, dydt) if not np.isfinite(v)]
    if bad:
        raise ModelError(f"{model.source or model.name}: d/dt({bad[0]}) is not finite at the initial state with "
                         "the default parameters")
    return cm
