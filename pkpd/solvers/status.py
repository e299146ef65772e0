"""Solver status codes shared by every kernel, with messages and fixes.

Kernels return the integer value; the Python boundary turns a non-zero code into
:class:`pkpd.errors.SolverError` (single runs) or a per-subject status flag
(populations).
"""

from __future__ import annotations

from enum import IntEnum


class SolverStatus(IntEnum):
    SUCCESS = 0
    MAX_STEPS = 1
    STEP_TOO_SMALL = 2
    NON_FINITE = 3
    NEWTON_FAILED = 4
    SS_NOT_CONVERGED = 5

    @property
    def message(self) -> str:
        return _MESSAGES[self]


_MESSAGES = {
    SolverStatus.SUCCESS: "integration successful",
    SolverStatus.MAX_STEPS: "the maximum number of steps was reached; raise max_steps or loosen rtol",
    SolverStatus.STEP_TOO_SMALL: "the step size fell below the smallest step that changes t; "
    "the problem may be stiff (use method='radau5') or singular",
    SolverStatus.NON_FINITE: "the right-hand side returned NaN or infinity; check parameters and initial state",
    SolverStatus.NEWTON_FAILED: "Newton iterations of the implicit method failed repeatedly; "
    "check the Jacobian and parameters",
    SolverStatus.SS_NOT_CONVERGED: "steady-state dosing (SS=1/2) did not converge within the allowed dosing cycles",
}

# Plain integers for use inside Numba kernels (IntEnum members are not constants there).
SUCCESS = 0
MAX_STEPS = 1
STEP_TOO_SMALL = 2
NON_FINITE = 3
NEWTON_FAILED = 4
SS_NOT_CONVERGED = 5
