"""Integrate the patients of one group (an arm at a sweep point): the one integration loop of every run.

:func:`integrate_group` takes a compiled model, the patients' initial states and parameters,
their event tables and the fast paths that apply (the closed-form PK of
:mod:`pkpd.closed_form`, the periodic tail of :mod:`pkpd.periodic`), and integrates the
patients in chunks in pkpd's compiled threads.  After each chunk it hands the outputs to a
``reduce`` callback, so that the caller keeps only what it stores (trajectories on the stored
grid, summary metrics) and memory stays bounded by one chunk; Python regains control (Ctrl-C,
SIGTERM) between chunks.

When the explicit method fails for a patient (stiffness, steps too small), that patient is
retried with ``radau5`` at the same tolerances; a patient that still fails stops the run
(``on_failure="fail"``: :class:`pkpd.errors.SolverError` naming the group, the patient and the
time) or is left to the caller, marked in ``status`` (``"skip"``).  Deterministic: every patient
is integrated on its own, so the arrays are bitwise the same whatever the chunk size.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from pkpd.errors import ScenarioError, SolverError
from pkpd.events import EventTable
from pkpd.periodic import integrate_periodic
from pkpd.simulate import _jacobian
from pkpd.solvers import SolverOptions, get_method
from pkpd.solvers._common import N_STATS, OPT_JACOBIAN
from pkpd.solvers.integrate import integrate_population
from pkpd.solvers.status import SolverStatus

__all__ = ["Periodic", "GroupStats", "integrate_group"]


@dataclass(frozen=True)
class Periodic:
    """The periodic-tail path of a group (:func:`pkpd.periodic.integrate_periodic`).

    ``tail`` and ``split`` are the dosing's periodic tail and the model's cascade; ``doses`` the
    group's dose list; ``times`` the output times (h); ``make_events(records)`` the event table of dose records; ``pre`` the
    pre-dose output rows and ``make_records`` how an attempt's records are written (None: no
    pre-dose rows, :func:`pkpd.simulate._records_from_doses`).
    """

    tail: object
    split: object
    doses: list
    times: np.ndarray
    make_events: Callable
    pre: np.ndarray | None = None
    make_records: Callable | None = None


@dataclass
class GroupStats:
    """Per patient: solver ``status`` (0 = success), ``t_fail`` (h), step counters ``S`` (n, N_STATS),
    whether the closed form was taken (``in_closed``) and where the periodic path handed over to
    the slow blocks (``periodic_from``, h; NaN: the whole run in full); ``fallback``: patients
    retried with ``radau5``."""

    status: np.ndarray
    t_fail: np.ndarray
    S: np.ndarray
    in_closed: np.ndarray
    periodic_from: np.ndarray
    fallback: int = 0


def _closed_path(cf, opts: SolverOptions, ev: EventTable):
    """The closed-form path for event table ``ev``, or None (``solver.pk``; the model; the events)."""
    if cf is None or opts.pk == "ode":
        return None
    why = cf.supports(ev)
    if why is not None and opts.pk == "closed_form":
        raise ScenarioError("solver.pk", f"closed_form cannot take {why}; use auto or ode")
    return None if why is not None else cf


def integrate_group(model, opts: SolverOptions, Y0: np.ndarray, P: np.ndarray, n_out: int,
                    events: Callable[[slice], tuple[EventTable, np.ndarray, np.ndarray]],
                    reduce: Callable[[slice, np.ndarray, np.ndarray], None], *, closed_form=None,
                    periodic: Periodic | None = None, chunk: int = 64, on_failure: str = "fail",
                    where: Callable[[int], str] = lambda s: f"patient {s}") -> GroupStats:
    """Integrate every patient (rows of ``Y0`` (n, n_states) and ``P`` (n, n_parameters)) of one group.

    ``events(c)`` gives, for the patients of chunk ``c`` (a slice), an event table and each
    patient's first and last row in it (:meth:`pkpd.events.EventTable.kernel_args`); its output
    rows number ``n_out``.  ``reduce(c, Y, bad)`` receives each chunk's outputs ``Y`` (n_c, n_out,
    n_states) and the indices (within the chunk) of the patients that failed.  ``closed_form``: the
    model's :class:`pkpd.closed_form.ClosedForm`, taken where ``solver.pk`` and the events allow;
    ``periodic``: the periodic-tail path, or None.  ``where(s)`` names patient ``s`` in a failure.
    """
    n_pat = P.shape[0]
    atol, opts_arr = opts.atol_array(model.n_states), opts.opts_array()
    jac = _jacobian(model, opts, opts_arr)   # solver.jacobian: the model's analytic Jacobian or finite differences
    analytic = bool(opts_arr[OPT_JACOBIAN])
    stats = GroupStats(status=np.zeros(n_pat, np.int64), t_fail=np.zeros(n_pat),
                       S=np.zeros((n_pat, N_STATS), np.int64), in_closed=np.zeros(n_pat, bool),
                       periodic_from=np.full(n_pat, np.nan))

    for c0 in range(0, n_pat, chunk):
        c = slice(c0, min(c0 + chunk, n_pat))
        n_c = c.stop - c.start
        ev, start, end = events(c)
        closed = _closed_path(closed_form, opts, ev)
        Y = np.zeros((n_c, n_out, model.n_states))

        def run_system(Y0s, Ps, ev_, n_o, name, s0, s1, taken, Yr=None):
            """Integrate the whole model for rows ``Y0s``, ``Ps`` through ``ev_`` (rows ``s0:s1`` each)."""
            n_r = Y0s.shape[0]
            segment = get_method(name).segment
            if closed is not None and replace(opts, method=name).closed_form_pk:
                return closed.integrate(model.rhs, segment, Y0s, Ps, ev_, s0, s1, n_o, atol, opts_arr,
                                        jac=closed.jac if analytic else None, full_jac=jac if analytic else None,
                                        taken=taken)
            Yr = np.zeros((n_r, n_o, model.n_states)) if Yr is None else Yr
            Sr = np.zeros((n_r, N_STATS), np.int64)
            st, tf = np.zeros(n_r, np.int64), np.zeros(n_r)
            integrate_population(model.rhs, segment, np.ascontiguousarray(Y0s), np.ascontiguousarray(Ps),
                                 *ev_.kernel_args(), s0, s1, *ev_.ss_args(), Yr, atol, opts_arr, Sr, st, tf, jac)
            return Yr, Sr, st, tf

        def integrate(rows, name):
            """Integrate chunk rows ``rows`` with method ``name``; results into Y and ``stats``."""
            n_r = len(rows)
            taken = np.zeros(n_r, bool)
            s = c.start + rows
            if periodic is None:
                whole_chunk = n_r == n_c   # in place: no copy of the outputs
                Yr, Sr, st, tf = run_system(Y0[s], P[s], ev, n_out, name, start[rows], end[rows], taken,
                                            Yr=Y if whole_chunk else None)
            else:  # the slow blocks alone once the rest repeats (pkpd.periodic)
                Yr = np.zeros((n_r, n_out, model.n_states))
                Sr = np.zeros((n_r, N_STATS), np.int64)
                st, tf = np.zeros(n_r, np.int64), np.zeros(n_r)

                def whole(Y0s, Ps, ev_, out_t):
                    n_s = Y0s.shape[0]
                    return run_system(Y0s, Ps, ev_, out_t.size, name, np.zeros(n_s, np.int64),
                                      np.full(n_s, len(ev_), np.int64), np.zeros(n_s, bool))

                stats.periodic_from[s] = integrate_periodic(
                    periodic.tail, periodic.split, whole, periodic.make_events, np.ascontiguousarray(Y0[s]),
                    np.ascontiguousarray(P[s]), periodic.doses, periodic.times, ev, Yr, Sr, st, tf, atol, opts_arr,
                    pre=periodic.pre, make_records=periodic.make_records)
                taken[:] = closed is not None and replace(opts, method=name).closed_form_pk
            stats.in_closed[s] = taken
            if Yr is not Y:
                Y[rows] = Yr
            stats.S[s], stats.status[s], stats.t_fail[s] = Sr, st, tf

        integrate(np.arange(n_c), opts.method)
        bad = np.flatnonzero(stats.status[c])
        if bad.size and not get_method(opts.method).stiff:
            # The explicit method stalled: retry those patients with the stiff method, same tolerances.
            integrate(bad, "radau5")
            stats.fallback += int(bad.size)
            bad = np.flatnonzero(stats.status[c])
        if bad.size and on_failure == "fail":
            s = c0 + int(bad[0])
            st = stats.status[s]
            raise SolverError(st, SolverStatus(st).message, stats.t_fail[s], where(s))
        reduce(c, Y, bad)
    return stats
