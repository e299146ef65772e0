"""Exceptions raised at pkpd's user-facing boundary.

Kernels never raise: they return status codes (see :mod:`pkpd.solvers.status`).
The Python layer turns those codes, and every problem found in user input, into
one of the exceptions below.  The CLI prints ``str(error)`` as a single line and
exits with code 2.
"""

from __future__ import annotations


class PKPDError(Exception):
    """Base class of every error pkpd raises on purpose."""


class InputError(PKPDError, ValueError):
    """Bad user input, located by a field path.

    ``InputError("arms[2].dose", "must be > 0 mg", "-5 mg")`` reads
    ``arms[2].dose: must be > 0 mg, got -5 mg``.
    """

    def __init__(self, path: str, message: str, value: object = None, *, show_value: bool = True):
        self.path = path
        self.message = message
        self.value = value
        text = f"{path}: {message}" if path else message
        if show_value and value is not None:
            text += f", got {value!s}" if not isinstance(value, str) else f", got {value}"
        super().__init__(text)


class ScenarioError(InputError):
    """A scenario file (YAML) that cannot be run as written."""


class DataError(InputError):
    """A NONMEM-style data set or dosing record that cannot be simulated."""


class ModelError(PKPDError, ValueError):
    """A model specification that is inconsistent (duplicate names, unknown units ...)."""


class SolverError(PKPDError, RuntimeError):
    """An integration that failed; carries the status code, time and subject."""

    def __init__(self, status: int, message: str, t: float = float("nan"), subject: object = None):
        self.status = int(status)
        self.t = t
        self.subject = subject
        if subject is None:
            where = ""
        else:
            where = f" ({subject})" if isinstance(subject, str) else f" (subject {subject})"
        super().__init__(f"solver failed{where} at t={t:.6g} h: {message}")
