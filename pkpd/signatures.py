"""Numba type signatures of the functions that are passed to other compiled functions.

A model right-hand side and a solver's segment function are handed to the driver
as *first-class functions* (function pointers with a fixed signature) rather than
as Numba dispatchers.  A dispatcher passed as a value is embedded in the compiled
code by its memory address, which makes the caller uncacheable (it would
recompile in every new process); a function pointer is an ordinary argument, so
the solvers and the driver compile once per installation, whatever the model.

Every right-hand side must therefore be compiled for :data:`RHS_SIGNATURE`
(``@njit(RHS_SIGNATURE, cache=True)``), with C-contiguous float64 arrays:
``rhs(t, y, p, dydt)``.  An analytic Jacobian, where a model has one, is passed the
same way, compiled for :data:`JAC_SIGNATURE`: ``jac(t, y, p, J)``.  A model without
one passes the placeholder :func:`pkpd.solvers._common.no_jacobian`, and the
``OPT_JACOBIAN`` entry of the solver options (:mod:`pkpd.solvers._common`) says
which of the two the implicit solvers use: 0 finite differences (the jac argument
is never called), 1 the analytic ``jac``.

The analytic Jacobian is the last argument of the segment functions and of the
driver.  The segment functions are also compiled for :data:`SEGMENT_SIGNATURE_NO_JAC`
(the same arguments without it; the solvers then use finite differences), so they
can be called directly, as before, with 14 arguments.
"""

from __future__ import annotations

from numba import types

f8 = types.float64
i8 = types.int64
F1 = types.Array(types.float64, 1, "C")
F2 = types.Array(types.float64, 2, "C")
F3 = types.Array(types.float64, 3, "C")
I1 = types.Array(types.int64, 1, "C")
I2 = types.Array(types.int64, 2, "C")

#: ``rhs(t, y, p, dydt) -> None``: t in h, y (n_states,), p (n_parameters,), dydt written in place.
RHS_SIGNATURE = types.void(f8, F1, F1, F1)
RHS = types.FunctionType(RHS_SIGNATURE)

#: ``jac(t, y, p, J) -> None``: t in h, y (n_states,), p (n_parameters,); writes
#: ``J[i, j] = d(dy_i/dt)/dy_j`` (per h), J (n_states, n_states) C-contiguous, in place.
JAC_SIGNATURE = types.void(f8, F1, F1, F2)
JAC = types.FunctionType(JAC_SIGNATURE)

_SEGMENT_ARGS = (RHS, f8, f8, F1, F1, F1, F1, I1, i8, i8, F2, F1, F1, I1)
#: ``segment(rhs, t0, t1, y, p, rate, out_t, out_row, m0, m1, y_out, atol, opts, stats, jac) -> (status, t)``
SEGMENT_SIGNATURE = types.Tuple((i8, f8))(*_SEGMENT_ARGS, JAC)
SEGMENT = types.FunctionType(SEGMENT_SIGNATURE)
#: the same call without ``jac`` (a direct call with 14 arguments: finite differences)
SEGMENT_SIGNATURE_NO_JAC = types.Tuple((i8, f8))(*_SEGMENT_ARGS, types.Omitted(None))

#: the event-table and steady-state arrays, in the order the driver takes them
EVENT_ARGS = (F1, I1, I1, F1, I1, I1)          # time, kind, cmt, value, id, src
SS_ARGS = (F1, F1, F2, I1, F1, I1, I1, F1)      # inf_rate, ss_ii, ss_r0, ss_ptr, cy_phase, cy_kind, cy_cmt, cy_value

SUBJECT_SIGNATURE = types.Tuple((i8, f8))(
    RHS, SEGMENT, F1, F1, *EVENT_ARGS, i8, i8, *SS_ARGS, F2, F1, F1, I1, JAC)
POPULATION_SIGNATURE = types.void(
    RHS, SEGMENT, F2, F2, *EVENT_ARGS, I1, I1, *SS_ARGS, F3, F1, F1, I2, I1, F1, JAC)
