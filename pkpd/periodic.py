"""Long runs under periodic dosing: the PK and network to their periodic steady state, then the tumour alone.

Why
    The coupled system is a one-way cascade: PK -> free concentrations -> network ->
    proliferation signal P -> tumour, and the tumour feeds nothing back.  Under dosing
    that repeats with a period T from some time s on (every arm of a virtual trial:
    240 mg every 24 h and 15 mg every 12 h repeat every 24 h), the drugs and the
    network settle within days onto a periodic orbit, while the tumour changes over
    months.  Integrating all 23 states over 18 months recomputes the same day some 500
    times, at the cost of the network's fast, mildly stiff dynamics.  So, once the PK
    and network have converged, a run goes on with the 5 tumour states alone, driven by
    P(t) read from one recorded period (the generated ``tail_rhs``; :mod:`pkpd.solvers.hermite`).
    Nothing here is specific to the trial system: the split of any composed model into a
    fast part and the sink blocks it drives is found from its block graph
    (:func:`pkpd.model.fastpaths.periodic_split`, :class:`CascadeSplit`), and the tumour
    below stands for those sink blocks.
    On the 18-month virtual trial this is the difference between minutes and seconds.

What it approximates, and how well
    Nothing is dropped from the model.  Two numerical approximations are made, both
    controlled:

    * the PK and network states after convergence are those of the last period
      integrated in full.  Convergence is judged as for steady-state dosing records
      (:mod:`pkpd.solvers.integrate`): with ``d_k`` the largest change of a PK or network
      state over one period in tolerance units (``atol_i + rtol |y_i|``) and
      ``rho = d_2 / d_1`` the observed contraction, the geometric remaining distance
      ``d_2 rho / (1 - rho)`` (or, if smaller, ``d_2`` times the periods left in the run,
      which bounds a drift at round-off level) must be below a hundredth of the tolerance,
      and ``d_2`` below 1.  An explicit method at loose tolerances never gets there: at its
      stability limit its solution changes by up to a few tolerance units from one period
      to the next however long it runs (Dormand-Prince at rtol 1e-4 on the fast ERK cycle).
      So when an attempt twice as long does not halve ``d_2``, a ``d_2`` below 1 is
      accepted (the recorded period is then as good as any period of the full
      integration), and a larger one sends the patient to the full integration;
    * between the table points (spacing at most :data:`TABLE_SPACING_H`), P(t) is a cubic
      Hermite interpolant of the recorded values and their exact slopes (from the
      right-hand side), error about ``h**4/384 |P''''|``.

    The tumour alone is not stiff (its rates, growth, kill and the transit of damaged
    cells, are of the order of 0.01-1 /day), so it is integrated with Dormand-Prince
    whatever the run's method, at a hundredth of the run's rtol
    (:data:`TUMOUR_RTOL_FACTOR`) and its atol, restarted wherever a dose falls in the
    period (as the full integration restarts at every dose), with steps of at most an
    eighth of the period and 3 h (:func:`tumour_max_step`), so that every step samples
    the within-period shape of P.  A patient whose tumour phase fails (e.g. runs out of
    steps) is integrated in full instead.  ``tests/test_periodic.py`` checks the result against the
    full integration and against a reference at rtol 1e-10.

When it applies
    When the dose records are periodic with period ``T`` from a time ``s`` until the end
    of the run (:func:`periodic_tail`), ``T`` being the least common multiple of the
    regimens' repeat lengths (the interval, or the on + off cycle), and the run is long
    enough to gain (at least :data:`MIN_SAVED_PERIODS` periods left after convergence, and
    the first attempt, below, at most half the run: :data:`MAX_ATTEMPT_FRACTION`).
    Missed doses drawn at random, resets and steady-state records make dosing aperiodic:
    such runs are integrated in full, as are runs with ``solver.periodic: false``.
    Patients whose PK and network have not converged by the end of the first attempt
    (``s`` plus :data:`FIRST_ATTEMPT_H`, rounded up to whole periods) try again with
    twice as long, up to :data:`MAX_ATTEMPTS` attempts, and are integrated in full when
    the next attempt would integrate more than half the run, the last made no progress
    (above), or the attempts run out.  So the path costs at most 1.5 full integrations
    (a failed first attempt, then the full one), and most patients converge at the first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Sequence

import numpy as np

from pkpd.dosing import EVID_DOSE, Dose
from pkpd.events import EventTable, restarts_and_outputs
from pkpd.simulate import _records_from_doses, integrate_rows
from pkpd.solvers import MIN_RTOL
from pkpd.solvers._common import OPT_MAX_STEP, OPT_RTOL
from pkpd.solvers.dopri5 import dopri5_segment
from pkpd.solvers.hermite import state_slopes
from pkpd.solvers.integrate import BOLUS, RATE_OFF, RATE_ON
from pkpd.solvers.status import SUCCESS

__all__ = ["CascadeSplit", "cascade_split", "PeriodicTail", "periodic_tail", "regimen_period", "applies", "first_attempt_periods", "tumour_max_step",
           "integrate_periodic", "TABLE_SPACING_H", "FIRST_ATTEMPT_H", "MIN_SAVED_PERIODS"]

#: largest spacing (h) of the table of P over one period
TABLE_SPACING_H = 0.1
#: length of the first attempt to reach the periodic steady state, from the start of periodic dosing (h)
FIRST_ATTEMPT_H = 21 * 24.0
#: periods that must remain after convergence for the periodic path to be used
MIN_SAVED_PERIODS = 4
#: the longest attempt, as a fraction of the run: an attempt that fails costs its length on top of the
#: full integration, so none may integrate more than half the run
MAX_ATTEMPT_FRACTION = 0.5
#: rtol of the tumour alone, relative to the run's: in the full integration the network sets the steps
#: (about 0.1 h), far shorter than the tumour needs, so its error stays well below rtol; alone at the
#: run's rtol it would reach a few rtol over months (measured: 4e-6 against 1.5e-7 at rtol 1e-6)
TUMOUR_RTOL_FACTOR = 1e-2
#: remaining distance to the periodic orbit accepted, in tolerance units
CONVERGED_TAIL = 1e-2
#: an attempt twice as long that does not shrink the change over a period below this fraction of the
#: previous attempt's has made no progress (the method's noise floor at this tolerance)
NO_PROGRESS = 0.5
#: attempts (each twice as long as the one before) before a patient is integrated in full
MAX_ATTEMPTS = 3
#: time tolerance (h) of the periodicity check of the dose records
TIME_TOL_H = 1e-6
#: longest period (h) looked for: 12 weeks
MAX_PERIOD_H = 12 * 7 * 24.0


@dataclass(frozen=True)
class CascadeSplit:
    """A compiled model's cascade: the fast states, the slow states and the fast ones they read (0-based).

    Found from the block graph when the kernels are generated (:func:`pkpd.model.fastpaths.periodic_split`);
    :attr:`rhs` is the generated kernel of the slow states alone, driven by a table of one period.
    """

    model: object
    fast: tuple[int, ...]
    slow: tuple[int, ...]
    needed: tuple[int, ...]
    blocks: tuple[str, ...]

    @property
    def rhs(self):
        """``tail_rhs(t, y, p, dydt)`` of the slow states (compiled at first use)."""
        from pkpd.models.spec import _compile_for
        from pkpd.signatures import RHS_SIGNATURE

        _compile_for(self.model.module.tail_rhs, RHS_SIGNATURE)
        return self.model.module.tail_rhs

    def describe(self) -> str:
        names = self.model.state_names
        return (f"periodic tail: {', '.join(self.blocks)} ({len(self.slow)} states) alone once the other "
                f"{len(self.fast)} repeat, driven by " + ", ".join(names[i] for i in self.needed))

    def doses_into_slow(self, ev: EventTable) -> bool:
        """Whether ``ev`` doses a slow state (the slow part alone could not take the dose)."""
        dosing = (ev.kind == BOLUS) | (ev.kind == RATE_ON) | (ev.kind == RATE_OFF)
        return bool(np.isin(ev.cmt[dosing], self.slow).any())


def cascade_split(compiled) -> CascadeSplit | None:
    """The cascade split of ``compiled`` (a :class:`~pkpd.model.compiled.CompiledModel`), or None without one."""
    module = compiled.module
    slow = tuple(getattr(module, "PERIODIC_SLOW", ()))
    if not slow:
        return None
    fast = tuple(i for i in range(compiled.n_states) if i not in slow)
    return CascadeSplit(compiled, fast, slow, tuple(module.PERIODIC_NEEDED), tuple(module.PERIODIC_BLOCKS))


@dataclass(frozen=True)
class PeriodicTail:
    """Dosing that repeats with ``period_h`` (h) from ``start_h`` (h) to the end of the run."""

    start_h: float
    period_h: float


def tumour_max_step(period_h: float) -> float:
    """Largest step (h) of the tumour alone: an eighth of the period, at most 3 h.

    The tumour phase restarts at every dose, so no step crosses one; the cap makes every
    step sample the shape of P between doses, which changes over hours (without it, a
    long step over a smooth stretch missed that shape: up to 0.02 mm on the lesion,
    measured).  It does not depend on how close two doses are, so doses a few minutes
    apart cost no more steps.
    """
    return min(period_h, 24.0) / 8.0


def regimen_period(regimens: Sequence) -> float | None:
    """Least common multiple (h) of the regimens' repeat lengths (interval, or on + off cycle).

    ``None`` when it is longer than :data:`MAX_PERIOD_H` or the lengths are not commensurate
    to 1e-6 h.  No regimen (an untreated arm): 24 h, any period will do.
    """
    period = Fraction(24)
    for i, r in enumerate(regimens):
        length = r.interval_h if r.on_h is None else r.on_h + r.off_h
        f = Fraction(length).limit_denominator(10**6)
        if abs(float(f) - length) > TIME_TOL_H:
            return None
        if i == 0:
            period = f
        else:
            period = Fraction(math.lcm(period.numerator * f.denominator, f.numerator * period.denominator),
                              period.denominator * f.denominator)
        if period > MAX_PERIOD_H:
            return None
    return float(period)


def periodic_tail(doses: Sequence[Dose], period_h: float, end_h: float) -> PeriodicTail | None:
    """Where the dose records become periodic with ``period_h`` (h) until ``end_h`` (h); None if never.

    Every record at or after the returned start has a twin (same compartment and amount)
    one period later unless that falls at or after ``end_h``, and every record a period or
    more after the start has a twin one period earlier.  Only plain bolus records
    (EVID 1, no RATE, ADDL or SS) qualify.
    """
    T = float(period_h)
    if not T > 0:
        return None
    if any(d.evid != EVID_DOSE or d.rate != 0 or d.addl or d.ss for d in doses):
        return None
    t = np.array([d.time for d in doses], dtype=np.float64)
    key = [(d.cmt, d.amt) for d in doses]
    by_key: dict = {}
    for ti, k in zip(t, key):
        by_key.setdefault(k, []).append(ti)
    by_key = {k: np.sort(np.array(v)) for k, v in by_key.items()}

    def has(k, when):
        v = by_key[k]
        i = np.searchsorted(v, when - TIME_TOL_H)
        return i < v.size and abs(v[i] - when) <= TIME_TOL_H

    fwd = [ti for ti, k in zip(t, key) if ti + T < end_h - TIME_TOL_H and not has(k, ti + T)]
    bwd = [ti for ti, k in zip(t, key) if not has(k, ti - T)]
    start = max([0.0] + [f + 2 * TIME_TOL_H for f in fwd] + [b - T + 2 * TIME_TOL_H for b in bwd])
    return PeriodicTail(start_h=start, period_h=T)


def _attempt_end(tail: PeriodicTail, n_periods: int) -> float:
    return tail.start_h + n_periods * tail.period_h


def first_attempt_periods(tail: PeriodicTail) -> int:
    """Periods of the first attempt: :data:`FIRST_ATTEMPT_H` rounded up, and at least 3."""
    return max(3, math.ceil(FIRST_ATTEMPT_H / tail.period_h - 1e-9))


def _worth_trying(tail: PeriodicTail, t1: float, end_h: float) -> bool:
    """Whether an attempt ending at ``t1`` (h) is worth its cost in a run ending at ``end_h`` (h)."""
    return t1 + MIN_SAVED_PERIODS * tail.period_h <= end_h and t1 <= MAX_ATTEMPT_FRACTION * end_h


def applies(tail: PeriodicTail | None, end_h: float) -> bool:
    """Whether the periodic path can gain on a run ending at ``end_h`` (h)."""
    return tail is not None and _worth_trying(tail, _attempt_end(tail, first_attempt_periods(tail)), end_h)


def _convergence(Yc: np.ndarray, atol: np.ndarray, rtol: float, periods_left: float, fast):
    """Per patient, whether the fast states (indices ``fast``) at three period starts (n, 3, n_states) have converged.

    ``d1``, ``d2``: the largest change of a fast state (PK, network) over each of the two
    periods, in tolerance units; ``rho = d2 / d1``.  The distance still to go is at most
    ``d2 rho / (1 - rho)`` for a geometric approach, and at most ``d2`` per period for the
    ``periods_left`` periods of the run (which bounds a drift at round-off level, where
    ``rho`` is noise); converged when ``d2 <= 1`` and that distance is at most
    :data:`CONVERGED_TAIL`.  Returns ``(converged, d2)``.
    """
    fast = list(fast)
    a, b, c = Yc[:, 0, fast], Yc[:, 1, fast], Yc[:, 2, fast]
    scale = lambda u, v: atol[fast] + rtol * np.maximum(np.abs(u), np.abs(v))  # noqa: E731
    d1 = np.max(np.abs(b - a) / scale(a, b), axis=1)
    d2 = np.max(np.abs(c - b) / scale(b, c), axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = np.where(d1 > 0, d2 / d1, np.inf)
        geometric = np.where(rho < 1, d2 * rho / (1 - rho), np.inf)
    remaining = np.minimum(geometric, d2 * periods_left)
    return (d2 <= 1.0) & (remaining <= CONVERGED_TAIL), d2


@dataclass(frozen=True)
class _Attempt:
    """The outputs of the full integration up to ``t1`` (h), where the tumour is handed over.

    Rows of its output array: the run's times up to ``t1`` (the first ``n_early``), then
    ``t1 - 2T``, the ``M + 1`` table times ``t1 - T + k T / M`` (the last is ``t1``), then
    one row per distinct phase of the later output times (``which`` maps each to its row).
    """

    t1: float
    n_early: int
    which: np.ndarray
    out_t: np.ndarray
    M: int
    out_pre: np.ndarray | None = None   # pre-dose rows of ``out_t`` (None: none)

    @property
    def r_conv(self) -> int:
        return self.n_early

    @property
    def r_table(self) -> int:
        return self.n_early + 1

    @property
    def r_phase(self) -> int:
        return self.n_early + self.M + 2


def _attempt(tail: PeriodicTail, n_periods: int, times: np.ndarray, pre: np.ndarray | None = None) -> _Attempt:
    """The attempt ending ``n_periods`` after the start of the tail; ``pre`` marks pre-dose output rows.

    A late pre-dose row (the state just before the doses at its time) reads the pre-dose row
    at its phase in the last full period, so the phases are distinct (phase, pre) pairs.
    """
    T = tail.period_h
    t1 = _attempt_end(tail, n_periods)
    M = max(1, math.ceil(T / TABLE_SPACING_H - 1e-9))
    n_early = int(np.searchsorted(times, t1, side="right"))
    phase = np.round((times[n_early:] - t1) % T, 9)
    if pre is None:
        phases, which = np.unique(phase, return_inverse=True)
        phase_pre = None
    else:
        keys, which = np.unique(np.stack([phase, pre[n_early:].astype(float)]), axis=1, return_inverse=True)
        phases, phase_pre = keys[0], keys[1] > 0
        which = which.ravel()
    out_t = np.concatenate([times[:n_early], [t1 - 2 * T], t1 - T + np.arange(M + 1) * (T / M), t1 - T + phases])
    out_pre = None if pre is None else np.concatenate([pre[:n_early], np.zeros(M + 2, bool), phase_pre])
    return _Attempt(t1=t1, n_early=n_early, which=which, out_t=out_t, M=M, out_pre=out_pre)


def _slow_alone(split: CascadeSplit, a: _Attempt, tail: PeriodicTail, Y1: np.ndarray, P: np.ndarray,
                ev1: EventTable, times: np.ndarray, atol: np.ndarray, opts: np.ndarray):
    """Integrate the slow states from ``a.t1`` to the end of ``times`` (h), driven by the last period of ``Y1``.

    Returns ``(Y, stats, status, t_reached)`` of :func:`pkpd.simulate.integrate_rows`: the slow states
    at the late output times; ``t_reached`` counts from ``a.t1``.
    """
    T, M = tail.period_h, a.M
    n, need, slow = Y1.shape[0], list(split.needed), list(split.slow)
    table = np.ascontiguousarray(Y1[:, a.r_table:a.r_table + M + 1])
    slopes = np.empty((n, M + 1, len(need)))
    state_slopes(split.model.rhs, table, np.ascontiguousarray(P), np.asarray(need, np.int64), slopes)
    column = np.ones((n, 1))
    head = np.column_stack([np.full(n, P.shape[1] + 1.0), T * column, M * column, np.full(n, float(len(need)))])
    values = table[:, :, need].transpose(0, 2, 1).reshape(n, -1)    # state by state
    P2 = np.concatenate([P, head, values, slopes.transpose(0, 2, 1).reshape(n, -1)], axis=1)
    # restart wherever a dose falls in the period, as the full integration restarts at every dose
    doses = ev1.time[(ev1.kind == BOLUS) & (ev1.time >= a.t1 - T) & (ev1.time < a.t1)]
    span = times[-1] - a.t1
    restarts = (np.unique(doses - (a.t1 - T))[None, :] + T * np.arange(math.ceil(span / T) + 1)[:, None]).ravel()
    ev2 = restarts_and_outputs(restarts[(restarts > 0) & (restarts < span)], times[a.n_early:] - a.t1, len(slow))
    opts2 = opts.copy()
    opts2[OPT_RTOL] = max(TUMOUR_RTOL_FACTOR * opts[OPT_RTOL], MIN_RTOL)
    opts2[OPT_MAX_STEP] = min(opts[OPT_MAX_STEP], tumour_max_step(T))
    return integrate_rows(split.rhs, dopri5_segment, np.ascontiguousarray(Y1[:, a.r_table + M][:, slow]), P2, ev2,
                          times.size - a.n_early, np.ascontiguousarray(atol[slow]), opts2)


def integrate_periodic(tail: PeriodicTail, split: CascadeSplit, run_system: Callable, make_events: Callable,
                       Y0: np.ndarray, P: np.ndarray, doses: Sequence[Dose], times: np.ndarray, ev_full: EventTable,
                       Y: np.ndarray, S: np.ndarray, status: np.ndarray, t_fail: np.ndarray, atol: np.ndarray,
                       opts: np.ndarray, pre: np.ndarray | None = None, make_records: Callable | None = None
                       ) -> np.ndarray:
    """Integrate patients (rows of ``Y0``, ``P``) of a cascade ``split`` through ``doses``, output at ``times`` (h).

    Fills ``Y`` (n, n_times, n_states) as :func:`pkpd.solvers.integrate.integrate_population`
    would, adds the step counts to ``S`` (n, N_STATS) and sets ``status`` and ``t_fail``
    (h).  ``run_system(Y0, P, ev, out_t)`` integrates the whole system for some patients
    and returns ``(Y, stats, status, t_reached)`` (:func:`pkpd.simulate.integrate_rows`
    with the run's method, or :meth:`pkpd.closed_form.ClosedForm.integrate`); ``atol``
    and ``opts`` are the run's, for the slow part alone.  ``make_events(records)`` is the
    event table of dose records (with the lag times and bioavailabilities the run's
    event table has); ``ev_full`` is the event table of the full integration, for patients that do
    not converge in time.  ``pre`` marks the rows of ``times`` that are pre-dose outputs (the
    state just before the doses at that time), and ``make_records(doses, out_t, out_pre)``
    writes the dose and output records of an attempt (default: no pre-dose rows,
    :func:`pkpd.simulate._records_from_doses`).  Returns, per patient, the time (h) from which
    the slow part was integrated alone (NaN: the whole run in full).
    """
    T = tail.period_h
    end = float(times[-1])
    rtol = float(opts[OPT_RTOL])
    converged_h = np.full(Y0.shape[0], np.nan)
    last_change = np.full(Y0.shape[0], np.inf)  # d2 of the previous attempt
    todo, full = np.arange(Y0.shape[0]), []
    n_periods = first_attempt_periods(tail)
    for _ in range(MAX_ATTEMPTS):
        a = _attempt(tail, n_periods, times, pre)
        if not todo.size or not _worth_trying(tail, a.t1, end):
            break
        given = [d for d in doses if d.time <= a.t1 + TIME_TOL_H]
        rec = (_records_from_doses(given, a.out_t) if make_records is None
               else make_records(given, a.out_t, a.out_pre))
        ev1 = make_events(rec)
        Y1, S1, st1, tf1 = run_system(Y0[todo], P[todo], ev1, a.out_t)
        S[todo] += S1
        failed = st1 != SUCCESS
        status[todo[failed]], t_fail[todo[failed]] = st1[failed], tf1[failed]
        converged, change = _convergence(Y1[:, [a.r_conv, a.r_table, a.r_table + a.M]], atol, rtol,
                                         (end - a.t1) / T, split.fast)
        # No progress from an attempt twice as long: the change from period to period is the method's
        # own error at this tolerance (e.g. Dormand-Prince at its stability limit).  Within the
        # tolerance, the recorded period is as good as any other of the full integration; beyond it,
        # the full integration it is.
        stalled = ~converged & (change > NO_PROGRESS * last_change[todo])
        ok = ~failed & (converged | (stalled & (change <= 1.0)))
        last_change[todo] = change
        if ok.any():
            idx, Y1 = todo[ok], Y1[ok]
            Y2, S2, st2, _ = _slow_alone(split, a, tail, Y1, P[idx], ev1, times, atol, opts)
            S[idx] += S2
            done = st2 == SUCCESS  # the others: the full integration, below
            full.append(idx[~done])
            n_early = a.n_early  # the output times up to t1 come first
            fast, slow = list(split.fast), list(split.slow)
            for k in np.flatnonzero(done):
                i = idx[k]
                Y[i, :n_early] = Y1[k, :n_early]
                Y[i][n_early:, fast] = Y1[k, a.r_phase + a.which][:, fast]
                Y[i][n_early:, slow] = Y2[k]
            converged_h[idx[done]] = a.t1
            status[idx[done]], t_fail[idx[done]] = SUCCESS, end
        full.append(todo[~failed & ~ok & stalled])
        todo = todo[~failed & ~ok & ~stalled]
        n_periods *= 2
    full = np.concatenate(full + [todo])
    if full.size:
        Yf, Sf, st, tf = run_system(Y0[full], P[full], ev_full, times)
        Y[full] = Yf
        S[full] += Sf
        status[full], t_fail[full] = st, tf
    return converged_h
