"""Compiled ODE solvers, their registry and their options.

Every method lives in its own module and exposes one *segment* function, compiled
for :data:`pkpd.signatures.SEGMENT_SIGNATURE` (so the driver takes it as a
first-class function and caches once, whatever the model)::

    status, t_reached = segment(rhs, t0, t1, y, p, rate, out_t, out_row, m0, m1,
                                y_out, atol, opts, stats, jac)

It integrates ``dy/dt = rhs(t, y, p, dydt) + rate`` over one stretch without
discontinuities, ``t0 < t1`` (h); ``rhs`` is compiled for
:data:`pkpd.signatures.RHS_SIGNATURE`:

* ``y`` : float64 (n,), the state at ``t0`` on entry, at ``t_reached`` on exit;
* ``p`` : float64 (n_params,), handed to ``rhs`` untouched;
* ``rate`` : float64 (n,), infusion rates running over the segment (amount/h);
* ``out_t[m]`` for ``m0 <= m < m1`` : sorted output times strictly inside (t0, t1);
  the dense output there is written into ``y_out[out_row[m], :]``; output times
  never shorten a step, so they never change the solution;
* ``atol`` : float64 (n,); ``opts`` : float64 (N_OPTS,), see
  :func:`pkpd.solvers._common.make_opts`; ``stats`` : int64 (N_STATS,) counters,
  incremented (steps, rejections, rhs calls, Jacobians, LU factorisations, segments);
* ``jac`` : the model's analytic Jacobian ``jac(t, y, p, J)``
  (:data:`pkpd.signatures.JAC_SIGNATURE`, ``J[i, j] = d(dy_i/dt)/dy_j`` per h), called
  by radau5 and rodas3 instead of finite differences when ``opts[OPT_JACOBIAN]`` is 1;
  otherwise :func:`pkpd.solvers._common.no_jacobian` (never called).  It may be left
  out (the segments are also compiled for the 14 arguments before it): finite
  differences.  dopri5 ignores it;
* ``status`` : a :class:`pkpd.solvers.status.SolverStatus` value (0 = success).

:data:`SOLVERS` maps the names used in scenarios to :class:`Method` records;
:class:`SolverOptions` is the validated, immutable set of user options.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Callable

import numpy as np

from pkpd.errors import InputError
from pkpd.solvers import dopri5 as _dopri5
from pkpd.solvers import radau5 as _radau5
from pkpd.solvers import rodas3 as _rodas3
from pkpd.solvers._common import make_opts
from pkpd.solvers.status import SolverStatus


@dataclass(frozen=True)
class Method:
    """One integration method: its compiled segment function and what it is good for.

    Attributes
    ----------
    name : str
        Registry key, as written in scenarios (``solver.method``).
    segment : numba dispatcher
        The compiled segment function (see the module docstring for its contract).
    order : int
        Classical order of the solution at step ends.
    stiff : bool
        Whether the method is meant for stiff systems (implicit, L-stable).
    description : str
        One line for listings (``pkpd models``/docs).
    """

    name: str
    segment: Callable
    order: int
    stiff: bool
    description: str


SOLVERS: dict[str, Method] = {
    "dopri5": Method(
        "dopri5", _dopri5.dopri5_segment, _dopri5.ORDER, _dopri5.STIFF,
        "Dormand-Prince 5(4), explicit, for non-stiff systems (the default)"),
    "radau5": Method(
        "radau5", _radau5.radau5_segment, _radau5.ORDER, _radau5.STIFF,
        "Radau IIA order 5, implicit, for stiff systems (analytic or finite-difference Jacobian)"),
    "rodas3": Method(
        "rodas3", _rodas3.rodas3_segment, _rodas3.ORDER, _rodas3.STIFF,
        "Rodas3 Rosenbrock order 3, linearly implicit, for stiff systems at loose tolerances "
        "(one LU per step; analytic or finite-difference Jacobian)"),
}


def get_method(name: str) -> Method:
    """Return the registered :class:`Method` called ``name``.

    Raises
    ------
    InputError
        ``solver.method: unknown method 'x'; valid: dopri5, radau5``.
    """
    try:
        return SOLVERS[name]
    except (KeyError, TypeError):
        raise InputError("solver.method",
                         f"unknown method {name!r}; valid: {', '.join(SOLVERS)}") from None


def _real(path: str, value: object) -> float:
    """``value`` as a float, or InputError if it is not a real number (bools refused)."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise InputError(path, "must be a number", repr(value))
    v = float(value)
    if math.isnan(v):
        raise InputError(path, "must be a number", "nan")
    return v


#: values of ``SolverOptions.pk``
PK_PATHS = ("auto", "ode", "closed_form")

#: values of ``SolverOptions.jacobian``
JACOBIAN_MODES = ("auto", "analytic", "numeric")

# The smallest rtol a float64 solver can honour (scipy's validate_tol uses the same floor).
MIN_RTOL = 100 * float(np.finfo(np.float64).eps)


@dataclass(frozen=True)
class SolverOptions:
    """Integration settings, validated when built.

    Attributes
    ----------
    method : str
        A key of :data:`SOLVERS` (``"dopri5"`` or ``"radau5"``).
    rtol : float
        Relative tolerance, ``MIN_RTOL <= rtol < 1``.
    atol : float or tuple of float
        Absolute tolerance (state units), > 0; one value for all states or one per
        state (a sequence is stored as a tuple).
    max_steps : int
        Steps (accepted plus rejected) a solver may take, >= 1.
    first_step : float
        Initial step in h, >= 0; 0 chooses it automatically at every restart.
    max_step : float
        Largest step in h, > 0 (``inf`` for no limit).
    periodic : bool
        Whether a run of a composition (the trial system, or any model with blocks) may,
        under periodic dosing, continue with its slow sink blocks (the tumour) alone once
        the rest reaches its periodic steady state (:mod:`pkpd.periodic`; the split is found
        from the block graph); ignored for models without one.
    pk : str
        How a run gets the states of its linear sources (linear PK blocks that nothing feeds
        back into, found from the equations: :mod:`pkpd.model.fastpaths`): ``"ode"`` (integrated
        with the rest), ``"closed_form"`` (:mod:`pkpd.closed_form`: exact sums of exponentials,
        the solver carries the other states; refused for a model without a linear source) or
        ``"auto"`` (closed form for the stiff methods, which it makes about twice as fast, ODE
        for dopri5, which it makes slower).  The trial system and every model written in the
        language have it; a hand-written Python model does not.
    jacobian : str
        Where radau5 and rodas3 get the Jacobian ``df/dy``: ``"analytic"`` the model's
        own (an error for a model without one), ``"numeric"`` forward differences of the
        right-hand side (n evaluations per Jacobian), ``"auto"`` analytic when the model
        has one (:meth:`pkpd.models.spec.ModelSpec.jacobian`); ignored by dopri5.

    Examples
    --------
    >>> opts = SolverOptions(method="radau5", rtol=1e-8, atol=[1e-9, 1e-12])
    >>> opts.solver.order, opts.atol_array(2).tolist()
    (5, [1e-09, 1e-12])
    """

    method: str = "dopri5"
    rtol: float = 1e-6
    atol: float | tuple[float, ...] = 1e-9
    max_steps: int = 100_000
    first_step: float = 0.0
    max_step: float = math.inf
    periodic: bool = True
    pk: str = "auto"
    jacobian: str = "auto"

    def __post_init__(self) -> None:
        get_method(self.method)
        rtol = _real("solver.rtol", self.rtol)
        if not rtol > 0:
            raise InputError("solver.rtol", "must be > 0", self.rtol)
        if not (MIN_RTOL <= rtol < 1.0):
            raise InputError("solver.rtol", f"must be >= {MIN_RTOL:.3g} and < 1", self.rtol)
        object.__setattr__(self, "rtol", rtol)

        if isinstance(self.atol, Real):
            atol: float | tuple[float, ...] = _real("solver.atol", self.atol)
            if not (atol > 0 and math.isfinite(atol)):
                raise InputError("solver.atol", "must be > 0 and finite", self.atol)
        elif isinstance(self.atol, (Sequence, np.ndarray)) and not isinstance(self.atol, str):
            atol = tuple(_real(f"solver.atol[{i}]", a) for i, a in enumerate(self.atol))
            if not atol:
                raise InputError("solver.atol", "must not be empty")
            for i, a in enumerate(atol):
                if not (a > 0 and math.isfinite(a)):
                    raise InputError(f"solver.atol[{i}]", "must be > 0 and finite", a)
        else:
            raise InputError("solver.atol", "must be a number or a list of numbers",
                             repr(self.atol))
        object.__setattr__(self, "atol", atol)

        if isinstance(self.max_steps, bool) or not isinstance(self.max_steps, Integral):
            raise InputError("solver.max_steps", "must be an integer", repr(self.max_steps))
        if self.max_steps < 1:
            raise InputError("solver.max_steps", "must be >= 1", self.max_steps)
        object.__setattr__(self, "max_steps", int(self.max_steps))

        first_step = _real("solver.first_step", self.first_step)
        if not (first_step >= 0 and math.isfinite(first_step)):
            raise InputError("solver.first_step", "must be >= 0 h and finite (0 = automatic)",
                             self.first_step)
        object.__setattr__(self, "first_step", first_step)

        max_step = _real("solver.max_step", self.max_step)
        if not max_step > 0:
            raise InputError("solver.max_step", "must be > 0 h", self.max_step)
        object.__setattr__(self, "max_step", max_step)

        if not isinstance(self.periodic, (bool, np.bool_)):
            raise InputError("solver.periodic", "must be true or false",
                             "nothing (null)" if self.periodic is None else repr(self.periodic))
        object.__setattr__(self, "periodic", bool(self.periodic))

        if self.pk not in PK_PATHS:
            raise InputError("solver.pk", f"must be one of {', '.join(PK_PATHS)}",
                             "nothing (null)" if self.pk is None else repr(self.pk))

        if not isinstance(self.jacobian, str) or self.jacobian not in JACOBIAN_MODES:
            raise InputError("solver.jacobian", f"must be one of {', '.join(JACOBIAN_MODES)}",
                             "nothing (null)" if self.jacobian is None else repr(self.jacobian))

    @property
    def closed_form_pk(self) -> bool:
        """Whether the coupled system's PK is evaluated in closed form (``pk``, and for ``auto`` the method)."""
        return self.pk == "closed_form" or (self.pk == "auto" and self.solver.stiff)

    @property
    def solver(self) -> Method:
        """The registered :class:`Method` named by ``method``."""
        return SOLVERS[self.method]

    def opts_array(self, analytic_jacobian: bool = False) -> np.ndarray:
        """The float64 ``opts`` array, shape (N_OPTS,), that segment functions read.

        ``analytic_jacobian`` sets ``OPT_JACOBIAN``: the implicit solvers then call the
        ``jac`` passed to the driver (pass the model's; see :meth:`pkpd.models.spec.ModelSpec.jacobian`).
        """
        return make_opts(self.rtol, self.max_steps, self.first_step, self.max_step,
                         analytic_jacobian=analytic_jacobian)

    def atol_array(self, n_states: int) -> np.ndarray:
        """Absolute tolerances as a float64 array of shape (n_states,).

        Raises
        ------
        InputError
            If ``atol`` was given per state with a length other than ``n_states``.
        """
        if isinstance(self.atol, float):
            return np.full(n_states, self.atol)
        if len(self.atol) != n_states:
            raise InputError("solver.atol", f"must have {n_states} entries (one per state)",
                             f"{len(self.atol)}")
        return np.array(self.atol, dtype=np.float64)


__all__ = ["SOLVERS", "Method", "SolverOptions", "SolverStatus", "get_method", "MIN_RTOL", "PK_PATHS",
           "JACOBIAN_MODES"]
