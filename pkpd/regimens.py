"""Dosing regimens as users write them, expanded to explicit dose records.

A :class:`Regimen` is a frozen record of one drug's schedule (dose, interval,
start, escalation steps, holiday cycles, holds, reductions, missed doses),
checked when it is built.  :meth:`Regimen.to_doses` expands it into explicit,
time-sorted :class:`pkpd.dosing.Dose` records (one record per dose, no ADDL).
:func:`regimen_from_dict` reads one regimen entry of a scenario file.

Clock and boundaries
--------------------
All *times* (``start``, ``until``, ``hold.from``/``hold.to``, ``reduce.from``,
missed-dose times) are on the scenario clock, in h from time 0.  *Durations*
(``every``, ``on``, ``off``, escalation ``days``) are lengths of time.  Clinical
day N (day 1 = the first day) starts at ``(N - 1) d``: "day 15" is ``14 d``
(336 h).  Every interval is half-open, [from, to): a dose exactly at ``until``,
at a hold's ``to`` or at the simulation end is *not* given, a dose exactly at
``hold.from``, ``reduce.from`` or an escalation step's start is affected.
Times are compared with a tolerance of :data:`TIME_TOL_H` (10⁻⁶ h).

The planned schedule and its modifiers
--------------------------------------
The *planned* doses are ``start + j·every`` (j = 0, 1, ...), or, with holiday
cycles, ``start + k·(on + off) + j·every`` for every cycle k and every j with
``j·every < on`` (each cycle restarts on its first day).  They are numbered
1, 2, ... in time order; ``count`` and ``until`` end the planned schedule.
The amount of each dose comes from the escalation step (or ``dose``) in force
at its time, then from the latest ``reduce`` at or before it.  Held and missed
doses are removed from the planned schedule: skipped, not postponed, and the
numbering of the other doses does not change.

Keys of one regimen entry (YAML)
--------------------------------
Quantities are strings with a unit (``"240 mg"``, ``"12 h"``, ``"7 d"``,
``"8 weeks"``) or bare numbers in mg (doses) and h (times); see
:mod:`pkpd.units`.

==============  ===========  ==================================================
key             unit         meaning
==============  ===========  ==================================================
``drug``        --           required; the drug's name, e.g. ``neratinib``
                             (checked by the caller against the drug registry).
``dose``        mg           amount of every dose, > 0 (``240 mg``, ``0.24 g``).
``escalation``  list         instead of ``dose``: steps
                             ``[{dose: 120 mg, days: 7}, {dose: 160 mg, days: 7},
                             {dose: 240 mg}]``; each step but the last lasts
                             ``days`` (a number of days, or a time such as
                             ``1 week``), counted from ``start``; the last step
                             lasts until the regimen ends and has no ``days``.
``schedule``    name         instead of ``dose``/``escalation``: a named
                             schedule from :data:`SCHEDULES`.
                             ``control_escalation``: 120 mg on days 1-7,
                             160 mg on days 8-14, 240 mg from day 15, every
                             24 h (neratinib, CONTROL trial; Barcenas CH et al.,
                             Ann Oncol 2020;31(9):1223-1230).
``every``       h            dosing interval, > 0 (``24 h``, ``12 h``,
                             ``1 week``), or ``QD`` (24 h), ``BID`` (12 h),
                             ``TID`` (8 h), ``QID`` (6 h), ``QW`` (168 h).
                             Required, except with ``schedule`` (which sets it).
``start``       h            time of the first dose, >= 0; default 0.  A
                             lead-in of another drug is a later ``start`` here.
``count``       --           number of planned doses, a whole number >= 1;
                             default unlimited.  Not together with ``until``.
``until``       h            end of the planned schedule, exclusive (no dose at
                             or after it), > ``start``.  Not with ``count``.
``on``, ``off`` h            holiday cycles: dose for ``on``, pause for ``off``,
                             repeat from ``start`` (``on: 21 d, off: 7 d``;
                             ``on: 5 d, off: 2 d``).  Both or neither, each > 0.
``hold``        h            ``{from: 14 d, to: 21 d}``: no dose at times
                             ``from <= t < to`` (``to > from``); a mapping or a
                             list of them (they may overlap).
``reduce``      h, mg        ``{from: 28 d, dose: 160 mg}``: every dose at or
                             after ``from`` is ``dose`` (this overrides the
                             escalation); a mapping or a list of them with
                             increasing ``from``.
``missed``      --, h        doses not taken: a list of dose numbers (1-based,
                             counting every planned dose, held ones included)
                             and/or times of planned doses (``[3, 7, 60 h]``);
                             or a mapping ``{doses: [3, 7], times: [60 h],
                             probability: 0.1}``, where ``probability`` (in
                             [0, 1)) also drops each planned dose at random,
                             independently, with the random generator given to
                             :meth:`Regimen.to_doses`.
==============  ===========  ==================================================

Examples
--------
>>> r = regimen_from_dict({"drug": "ruxolitinib", "dose": "15 mg", "every": "12 h",
...                        "on": "21 d", "off": "7 d"})
>>> [d.time for d in r.to_doses(cmt=1, end_h=24.0)]
[0.0, 12.0]
>>> len(r.to_doses(cmt=1, end_h=28 * 24.0))  # 42 doses in 21 d, none in the 7 d off
42
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from pkpd.dosing import Dose
from pkpd.errors import InputError
from pkpd.units import HOURS_PER_DAY, format_quantity, parse_quantity

__all__ = [
    "DoseStep",
    "Hold",
    "Reduction",
    "Regimen",
    "regimen_from_dict",
    "FREQUENCIES",
    "SCHEDULES",
    "REGIMEN_KEYS",
    "TIME_TOL_H",
    "MAX_DOSES",
]

TIME_TOL_H = 1e-6
"""Two times closer than this (h) are the same time (dose at a boundary, missed-dose times)."""

MAX_DOSES = 1_000_000
"""Largest number of planned doses one expansion may produce; more is surely a typo."""

FREQUENCIES: dict[str, float] = {"QD": 24.0, "BID": 12.0, "TID": 8.0, "QID": 6.0, "QW": 168.0}
"""Dosing-frequency abbreviations accepted by ``every``, as intervals in h."""

REGIMEN_KEYS: tuple[str, ...] = (
    "drug", "dose", "escalation", "schedule", "every", "start", "count", "until",
    "on", "off", "hold", "reduce", "missed",
)
"""Keys of one regimen entry accepted by :func:`regimen_from_dict`."""


# --------------------------------------------------------------------------- small validators


def _time(value: object, path: str, *, positive: bool = False) -> float:
    """A time or duration in h (number or quantity string), >= 0 (or > 0)."""
    return parse_quantity(value, "time", path, require="> 0" if positive else ">= 0")


def _dose(value: object, path: str) -> float:
    """A dose in mg (number or quantity string), > 0."""
    return parse_quantity(value, "amount", path, require="> 0")


def _whole(value: object, path: str, what: str) -> int:
    """A whole number >= 1 (bools and floats are refused)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise InputError(path, f"must be {what}, a whole number >= 1", value)
    if value < 1:
        raise InputError(path, f"must be {what}, a whole number >= 1", value)
    return int(value)


def _fmt_h(hours: float) -> str:
    """Hours written in days when they are whole days ("7 d"), else in h."""
    days = hours / HOURS_PER_DAY
    if hours > 0 and abs(days - round(days)) < 1e-9:
        return f"{round(days)} d"
    return format_quantity(hours, "time")


# --------------------------------------------------------------------------- parts of a regimen


@dataclass(frozen=True)
class DoseStep:
    """One step of a dose escalation: ``dose_mg`` per dose for ``duration_h``.

    Parameters
    ----------
    dose_mg : dose, mg, > 0 (a number in mg or a string such as ``"120 mg"``).
    duration_h : how long the step lasts, h, > 0; None for the last step, which
        lasts until the regimen ends.
    path : field path of this step in errors (``"regimen.escalation[0]"``); its
        fields are reported as ``<path>.dose`` and ``<path>.days``.
    """

    dose_mg: float
    duration_h: float | None = None
    path: str = field(default="regimen", compare=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "dose_mg", _dose(self.dose_mg, f"{self.path}.dose"))
        if self.duration_h is not None:
            object.__setattr__(self, "duration_h", _time(self.duration_h, f"{self.path}.days", positive=True))


@dataclass(frozen=True)
class Hold:
    """A dose hold: no dose at times ``from_h <= t < to_h`` (h, scenario clock).

    ``path`` names the hold in errors (``"regimen.hold"``, ``"regimen.hold[1]"``).
    """

    from_h: float
    to_h: float
    path: str = field(default="regimen.hold", compare=False, repr=False)

    def __post_init__(self):
        raw_to = self.to_h
        object.__setattr__(self, "from_h", _time(self.from_h, f"{self.path}.from"))
        object.__setattr__(self, "to_h", _time(self.to_h, f"{self.path}.to"))
        if not self.to_h > self.from_h:
            raise InputError(f"{self.path}.to", f"must be later than from ({_fmt_h(self.from_h)})", raw_to)


@dataclass(frozen=True)
class Reduction:
    """A dose change: every dose at or after ``from_h`` (h, scenario clock) is ``dose_mg`` (mg).

    ``path`` names the reduction in errors (``"regimen.reduce"``, ``"regimen.reduce[1]"``).
    """

    from_h: float
    dose_mg: float
    path: str = field(default="regimen.reduce", compare=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "from_h", _time(self.from_h, f"{self.path}.from"))
        object.__setattr__(self, "dose_mg", _dose(self.dose_mg, f"{self.path}.dose"))


# --------------------------------------------------------------------------- the regimen


@dataclass(frozen=True)
class Regimen:
    """One drug's dosing schedule, validated when built; see the module docstring.

    Build it with :meth:`every`, :meth:`once_daily`, :meth:`twice_daily`,
    :meth:`escalation` or :meth:`control_escalation`, modify it with the
    ``with_*`` methods and :meth:`starting_at`, and expand it with
    :meth:`to_doses`.  Quantities may be given as numbers in base units (h, mg)
    or as strings with units; they are stored as floats in h and mg.

    Parameters
    ----------
    steps : the dose steps, in order; one :class:`DoseStep` without duration for a
        constant dose.  Every step but the last has a duration.
    interval_h : dosing interval, h, > 0.
    start_h : time of the first dose, h, >= 0.
    count : number of planned doses (>= 1), or None for no limit.
    until_h : end of the planned schedule, h, exclusive, > ``start_h``; or None.
        At most one of ``count`` and ``until_h``.
    on_h, off_h : holiday cycles (h, each > 0), or both None for continuous dosing.
    holds : :class:`Hold` records.
    reductions : :class:`Reduction` records with increasing ``from_h``.
    missed_doses : 1-based numbers of planned doses not taken.
    missed_times_h : times (h) of planned doses not taken.
    missed_probability : probability in [0, 1) that any planned dose is missed
        (drawn in :meth:`to_doses`).
    drug : the drug's name, or None.
    path : field-path prefix of this regimen in errors (``"arms[0].regimen[1]"``).
    """

    steps: tuple[DoseStep, ...]
    interval_h: float
    start_h: float = 0.0
    count: int | None = None
    until_h: float | None = None
    on_h: float | None = None
    off_h: float | None = None
    holds: tuple[Hold, ...] = ()
    reductions: tuple[Reduction, ...] = ()
    missed_doses: tuple[int, ...] = ()
    missed_times_h: tuple[float, ...] = ()
    missed_probability: float = 0.0
    drug: str | None = None
    path: str = field(default="regimen", compare=False, repr=False)

    def __post_init__(self):
        self._check_schedule()
        self._check_steps()
        self._check_modifiers()

    @property
    def target(self) -> str | None:
        """What the regimen doses: the drug's name (the ``<target>`` of a sweep key ``<target>.dose``)."""
        return self.drug

    def _check_schedule(self) -> None:
        """Drug, interval, start, count/until and holiday cycles; normalise to floats in h."""
        p = self.path
        set_ = object.__setattr__
        if self.drug is not None and (not isinstance(self.drug, str) or not self.drug.strip()):
            raise InputError(f"{p}.drug", "must be a drug name (a non-empty string)", repr(self.drug))
        set_(self, "interval_h", _time(self.interval_h, f"{p}.every", positive=True))
        set_(self, "start_h", _time(self.start_h, f"{p}.start"))
        if self.count is not None and self.until_h is not None:
            raise InputError(p, "'count' and 'until' cannot both be given; keep one of them")
        if self.count is not None:
            set_(self, "count", _whole(self.count, f"{p}.count", "a number of doses"))
        if self.until_h is not None:
            until = _time(self.until_h, f"{p}.until")
            if not until > self.start_h:
                raise InputError(f"{p}.until", f"must be later than start ({_fmt_h(self.start_h)})",
                                 self.until_h)
            set_(self, "until_h", until)
        if (self.on_h is None) != (self.off_h is None):
            given, missing = ("on", "off") if self.off_h is None else ("off", "on")
            raise InputError(f"{p}.{missing}", f"must be given together with '{given}' (holiday cycles)")
        if self.on_h is not None:
            set_(self, "on_h", _time(self.on_h, f"{p}.on", positive=True))
            set_(self, "off_h", _time(self.off_h, f"{p}.off", positive=True))

    def _check_steps(self) -> None:
        """At least one dose step; every step but the last has a duration, the last none."""
        p = self.path
        steps = tuple(self.steps)
        if not steps or not all(isinstance(s, DoseStep) for s in steps):
            raise InputError(f"{p}.escalation", "must hold at least one DoseStep", self.steps)
        for s in steps[:-1]:
            if s.duration_h is None:
                raise InputError(f"{s.path}.days", "is required for every escalation step but the last")
        if steps[-1].duration_h is not None:
            raise InputError(f"{steps[-1].path}.days",
                             "the last escalation step lasts until the regimen ends; remove 'days' "
                             "(use 'until' or 'count' to end the regimen)", show_value=False)
        object.__setattr__(self, "steps", steps)

    def _check_modifiers(self) -> None:
        """Holds, reductions (increasing in time) and missed doses (against the planned schedule)."""
        p = self.path
        set_ = object.__setattr__
        holds = tuple(self.holds)
        if not all(isinstance(h, Hold) for h in holds):
            raise InputError(f"{p}.hold", "must be Hold records", self.holds)
        set_(self, "holds", holds)
        reductions = tuple(self.reductions)
        if not all(isinstance(r, Reduction) for r in reductions):
            raise InputError(f"{p}.reduce", "must be Reduction records", self.reductions)
        for prev, r in zip(reductions, reductions[1:]):
            if not r.from_h > prev.from_h:
                raise InputError(f"{r.path}.from", f"must be later than the previous reduction "
                                 f"({_fmt_h(prev.from_h)})", _fmt_h(r.from_h))
        set_(self, "reductions", reductions)

        q = self.missed_probability
        if isinstance(q, (bool, np.bool_)) or not isinstance(q, numbers.Real) or not (0.0 <= q < 1.0):
            raise InputError(f"{p}.missed.probability", "must be a probability in [0, 1)", q)
        set_(self, "missed_probability", float(q))
        numbers_ = [(n, f"{p}.missed.doses[{i}]") for i, n in enumerate(self.missed_doses)]
        times_ = [(t, f"{p}.missed.times[{i}]") for i, t in enumerate(self.missed_times_h)]
        nums, times = _check_missed(self, numbers_, times_)
        set_(self, "missed_doses", nums)
        set_(self, "missed_times_h", times)

    # ------------------------------------------------------------------ builders

    @classmethod
    def every(cls, dose_mg, interval_h, *, start_h=0.0, count: int | None = None, until_h=None,
              drug: str | None = None, path: str = "regimen") -> "Regimen":
        """Constant dose ``dose_mg`` (mg) every ``interval_h`` (h) from ``start_h`` (h).

        ``count`` limits the number of doses, ``until_h`` (h, exclusive) the time of the
        last; with neither, dosing goes on until the end of the simulation.  Numbers are
        in mg and h; strings with units (``"240 mg"``, ``"7 d"``) are accepted too.

        >>> [d.time for d in Regimen.every("240 mg", "24 h", count=3).to_doses(1, 1000.0)]
        [0.0, 24.0, 48.0]
        """
        return cls(steps=(DoseStep(dose_mg, None, path=path),), interval_h=interval_h,
                   start_h=start_h, count=count, until_h=until_h, drug=drug, path=path)

    @classmethod
    def once_daily(cls, dose_mg, **kwargs) -> "Regimen":
        """``dose_mg`` (mg) every 24 h (QD); keyword arguments as in :meth:`every`."""
        return cls.every(dose_mg, FREQUENCIES["QD"], **kwargs)

    @classmethod
    def twice_daily(cls, dose_mg, **kwargs) -> "Regimen":
        """``dose_mg`` (mg) every 12 h (BID); keyword arguments as in :meth:`every`."""
        return cls.every(dose_mg, FREQUENCIES["BID"], **kwargs)

    @classmethod
    def escalation(cls, steps: Sequence[tuple], interval_h, *, start_h=0.0, count: int | None = None,
                   until_h=None, drug: str | None = None, path: str = "regimen") -> "Regimen":
        """Stepwise dose escalation every ``interval_h`` (h).

        ``steps`` is a sequence of ``(dose_mg, duration_h)`` pairs counted from
        ``start_h``; the last pair's duration is None (it lasts until the regimen ends).

        >>> r = Regimen.escalation([(100, "2 d"), (200, None)], "24 h")
        >>> [d.amt for d in r.to_doses(1, 4 * 24.0)]
        [100.0, 100.0, 200.0, 200.0]
        """
        if isinstance(steps, (str, bytes)) or not isinstance(steps, Sequence):
            raise InputError(f"{path}.escalation", "must be a list of (dose, duration) steps", steps)
        built = []
        for i, step in enumerate(steps):
            if isinstance(step, DoseStep):
                built.append(step)
                continue
            if not isinstance(step, Sequence) or isinstance(step, str) or len(step) != 2:
                raise InputError(f"{path}.escalation[{i}]", "must be a (dose, duration) pair", step)
            built.append(DoseStep(step[0], step[1], path=f"{path}.escalation[{i}]"))
        return cls(steps=tuple(built), interval_h=interval_h, start_h=start_h, count=count,
                   until_h=until_h, drug=drug, path=path)

    @classmethod
    def control_escalation(cls, *, start_h=0.0, count: int | None = None, until_h=None,
                           drug: str | None = "neratinib", path: str = "regimen") -> "Regimen":
        """Neratinib dose escalation of the CONTROL trial, once daily.

        120 mg QD on days 1-7, 160 mg QD on days 8-14, 240 mg QD from day 15
        (days counted from ``start_h``).

        References
        ----------
        Barcenas CH et al. Improved tolerability of neratinib in patients with
        HER2-positive early-stage breast cancer: the CONTROL trial. Ann Oncol
        2020;31(9):1223-1230.

        >>> [d.amt for d in Regimen.control_escalation().to_doses(1, 16 * 24.0)][5:9]
        [120.0, 120.0, 160.0, 160.0]
        """
        steps, interval = SCHEDULES["control_escalation"]
        return cls.escalation(steps, interval, start_h=start_h, count=count, until_h=until_h,
                              drug=drug, path=path)

    # ------------------------------------------------------------------ modifiers

    def starting_at(self, start_h) -> "Regimen":
        """The same regimen with its first dose at ``start_h`` (h): a lead-in delay."""
        return replace(self, start_h=start_h)

    def with_holiday(self, on_h, off_h) -> "Regimen":
        """The same regimen in cycles of ``on_h`` (h) dosing then ``off_h`` (h) pause."""
        return replace(self, on_h=on_h, off_h=off_h)

    def with_hold(self, from_h, to_h) -> "Regimen":
        """The same regimen with no dose at times ``from_h <= t < to_h`` (h)."""
        hold = Hold(from_h, to_h, path=f"{self.path}.hold[{len(self.holds)}]")
        return replace(self, holds=self.holds + (hold,))

    def with_reduction(self, from_h, dose_mg) -> "Regimen":
        """The same regimen with every dose at or after ``from_h`` (h) changed to ``dose_mg`` (mg)."""
        red = Reduction(from_h, dose_mg, path=f"{self.path}.reduce[{len(self.reductions)}]")
        return replace(self, reductions=self.reductions + (red,))

    def with_missed(self, doses: Sequence[int] = (), times_h: Sequence = (),
                    probability: float | None = None) -> "Regimen":
        """The same regimen with more missed doses.

        ``doses`` are 1-based numbers of planned doses, ``times_h`` times (h) of planned
        doses, ``probability`` (in [0, 1)) replaces the random missed-dose probability.
        """
        return replace(
            self,
            missed_doses=self.missed_doses + tuple(doses),
            missed_times_h=self.missed_times_h + tuple(times_h),
            missed_probability=self.missed_probability if probability is None else probability,
        )

    # ------------------------------------------------------------------ expansion

    def to_doses(self, cmt: int, end_h, rng: np.random.Generator | None = None) -> list[Dose]:
        """Explicit dose records of this regimen before ``end_h``, sorted by time.

        Parameters
        ----------
        cmt : 1-based compartment that receives the doses (the depot for oral drugs).
        end_h : end of the simulation, h, > 0; doses at or after it are left out.
        rng : random generator for ``missed_probability`` (required when it is > 0).
            One uniform number is drawn per planned dose before ``end_h``, so the
            draws do not depend on holds or other missed doses.

        Returns
        -------
        list of :class:`pkpd.dosing.Dose`, one bolus per dose given: time in h,
        amt in mg, ``cmt``; no ADDL.
        """
        if isinstance(cmt, (bool, np.bool_)) or not isinstance(cmt, numbers.Integral) or cmt < 1:
            raise InputError("cmt", "must be a 1-based compartment number >= 1", cmt)
        end = _time(end_h, "end", positive=True)
        times = self._planned_times(end)
        keep = self._given(times, rng)
        amounts = self._amounts(times)
        return [Dose(time=float(t), amt=float(a), cmt=int(cmt)) for t, a in zip(times[keep], amounts[keep])]

    def dose_times(self, end_h, rng: np.random.Generator | None = None) -> np.ndarray:
        """Times (h) of the doses given before ``end_h`` (h), shape (n_doses,), sorted."""
        end = _time(end_h, "end", positive=True)
        times = self._planned_times(end)
        return times[self._given(times, rng)]

    def describe(self) -> str:
        """One line in words, e.g. ``"neratinib 240 mg every 24 h from 0 h"``."""
        steps = [format_quantity(s.dose_mg, "amount") for s in self.steps]
        for i, s in enumerate(self.steps[:-1]):
            steps[i] += f" for {_fmt_h(s.duration_h)}"
        dose = ", then ".join(steps)
        parts = [f"{self.drug} {dose}" if self.drug else dose,
                 f"every {format_quantity(self.interval_h, 'time')}",
                 f"from {format_quantity(self.start_h, 'time')}"]
        text = " ".join(parts)
        if self.on_h is not None:
            text += f", cycles of {_fmt_h(self.on_h)} on / {_fmt_h(self.off_h)} off"
        if self.count is not None:
            text += f", {self.count} doses"
        if self.until_h is not None:
            text += f", until {format_quantity(self.until_h, 'time')}"
        for h in self.holds:
            text += f", held {format_quantity(h.from_h, 'time')}-{format_quantity(h.to_h, 'time')}"
        for r in self.reductions:
            text += f", {format_quantity(r.dose_mg, 'amount')} from {format_quantity(r.from_h, 'time')}"
        n_missed = len(self.missed_doses) + len(self.missed_times_h)
        if n_missed:
            text += f", {n_missed} missed"
        if self.missed_probability:
            text += f", each dose missed with probability {self.missed_probability:g}"
        return text

    # ------------------------------------------------------------------ internals

    def _planned_times(self, limit_h: float) -> np.ndarray:
        """Times (h) of the planned doses before ``limit_h`` (and ``until``), sorted, capped at ``count``."""
        stop = limit_h if self.until_h is None else min(limit_h, self.until_h)
        span = stop - self.start_h - TIME_TOL_H  # a dose is planned if start + offset < stop - tol
        if span <= 0:
            return np.empty(0)
        interval = self.interval_h
        # Number of intervals (or cycles) that start before `stop`; `count` caps it, and
        # is the only cap when `stop` is infinite (internal calls with limit_h = inf).
        if self.on_h is None:
            n = self.count if math.isinf(span) else math.ceil(span / interval)
            if self.count is not None:
                n = min(n, self.count)
            self._check_size(n, stop)
            offsets = np.arange(n) * interval
        else:
            period = self.on_h + self.off_h
            # Doses of one cycle: j·interval < on; the first (j = 0) always.
            per_cycle = np.arange(max(1, math.ceil((self.on_h - TIME_TOL_H) / interval))) * interval
            per_cycle = per_cycle[(per_cycle == 0) | (per_cycle < self.on_h - TIME_TOL_H)]
            by_count = None if self.count is None else math.ceil(self.count / per_cycle.size)
            n_cycles = by_count if math.isinf(span) else math.ceil(span / period)
            if by_count is not None:
                n_cycles = min(n_cycles, by_count)
            self._check_size(n_cycles * per_cycle.size, stop)
            offsets = (np.arange(n_cycles)[:, None] * period + per_cycle[None, :]).ravel()
        times = self.start_h + offsets[offsets < span]
        return times if self.count is None else times[: self.count]

    def _check_size(self, n: int, stop: float) -> None:
        if n > MAX_DOSES:
            before = format_quantity(stop, "time")
            raise InputError(f"{self.path}.every",
                             f"expands to more than {MAX_DOSES} doses before {before}; "
                             "check the interval's unit, or set 'count' or 'until'",
                             format_quantity(self.interval_h, "time"))

    def _amounts(self, times: np.ndarray) -> np.ndarray:
        """Dose (mg) of each planned dose at ``times`` (h): escalation step, then reductions."""
        ends = self.start_h + np.cumsum([s.duration_h for s in self.steps[:-1]])
        step = np.searchsorted(ends - TIME_TOL_H, times, side="right")
        amounts = np.array([s.dose_mg for s in self.steps])[step]
        for r in self.reductions:  # in increasing from_h, so the latest one wins
            amounts[times >= r.from_h - TIME_TOL_H] = r.dose_mg
        return amounts

    def _given(self, times: np.ndarray, rng) -> np.ndarray:
        """Boolean mask over the planned doses at ``times``: True where the dose is taken."""
        keep = np.ones(times.shape, dtype=bool)
        for h in self.holds:
            keep &= ~((times >= h.from_h - TIME_TOL_H) & (times < h.to_h - TIME_TOL_H))
        if self.missed_doses:
            numbers_ = np.arange(1, times.size + 1)
            keep &= ~np.isin(numbers_, self.missed_doses)
        for t in self.missed_times_h:
            keep &= ~(np.abs(times - t) <= TIME_TOL_H)
        if self.missed_probability > 0:
            if rng is None:
                raise InputError(f"{self.path}.missed.probability",
                                 "needs a random generator: pass rng=numpy.random.default_rng(seed)",
                                 show_value=False)
            keep &= ~(rng.random(times.size) < self.missed_probability)
        return keep


# --------------------------------------------------------------------------- missed doses


def _check_missed(regimen: Regimen, numbers_: list[tuple[object, str]],
                  times_: list[tuple[object, str]]) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """Validate missed dose numbers and times against ``regimen``'s planned schedule.

    Each item comes with its field path.  A number must be a whole number >= 1 and,
    when the schedule is finite, at most its number of doses; a time must be the time
    of a planned dose.  Returns the normalised (numbers, times).
    """
    finite = regimen.count is not None or regimen.until_h is not None
    n_planned = regimen._planned_times(math.inf).size if finite else None
    out_n = []
    for n, path in numbers_:
        k = _whole(n, path, "a dose number")
        if n_planned is not None and k > n_planned:
            raise InputError(path, f"must be a planned dose number, 1 to {n_planned}", k)
        out_n.append(k)
    out_t = []
    for t, path in times_:
        x = _time(t, path)
        planned = regimen._planned_times(x + regimen.interval_h + 1.0)
        if planned.size == 0 or np.min(np.abs(planned - x)) > TIME_TOL_H:
            near = sorted(planned[np.argsort(np.abs(planned - x))[:2]])
            hint = f" (nearest: {', '.join(format_quantity(v, 'time') for v in near)})" if near else ""
            raise InputError(path, f"no dose is planned at this time{hint}", t)
        out_t.append(x)
    return tuple(out_n), tuple(out_t)


# --------------------------------------------------------------------------- named schedules

SCHEDULES: dict[str, tuple[tuple[tuple[float, float | None], ...], float]] = {
    # Barcenas CH et al., Ann Oncol 2020;31(9):1223-1230 (CONTROL): 120 mg QD days 1-7,
    # 160 mg QD days 8-14, 240 mg QD from day 15.
    "control_escalation": (((120.0, 7 * HOURS_PER_DAY), (160.0, 7 * HOURS_PER_DAY), (240.0, None)),
                           FREQUENCIES["QD"]),
}
"""Named schedules for the ``schedule`` key: name -> ((dose mg, duration h or None) steps, interval h)."""


# --------------------------------------------------------------------------- YAML entries


def _every(value: object, path: str) -> float:
    """A dosing interval in h: a time > 0, or a frequency abbreviation (QD, BID, ...)."""
    if isinstance(value, str) and value.strip().upper() in FREQUENCIES:
        return FREQUENCIES[value.strip().upper()]
    try:
        return _time(value, path, positive=True)
    except InputError as err:
        raise InputError(path, err.message + "; or one of " + ", ".join(FREQUENCIES), err.value) from None


def _days(value: object, path: str) -> float:
    """An escalation step length: a bare number of days, or a time string (``"1 week"``), in h."""
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)):
        if not (math.isfinite(value) and value > 0):
            raise InputError(path, "must be a number of days > 0", value)
        return float(value) * HOURS_PER_DAY
    return _time(value, path, positive=True)


def _mapping(value: object, path: str, keys: tuple[str, ...], required: tuple[str, ...]) -> Mapping:
    """``value`` as a mapping with only ``keys`` and all of ``required``."""
    if not isinstance(value, Mapping):
        raise InputError(path, "must be a mapping with keys " + ", ".join(keys), value)
    for k in value:
        if k not in keys:
            raise InputError(f"{path}.{k}", "unknown key; valid keys: " + ", ".join(keys), show_value=False)
    for k in required:
        if k not in value:
            raise InputError(f"{path}.{k}", "is required", show_value=False)
    return value


def _one_or_many(value: object, path: str) -> list[tuple[object, str]]:
    """A mapping, or a non-empty list of them, each paired with its field path."""
    if isinstance(value, Mapping):
        return [(value, path)]
    if isinstance(value, list) and value:
        return [(v, f"{path}[{i}]") for i, v in enumerate(value)]
    raise InputError(path, "must be a mapping or a non-empty list of mappings", value)


def _missed(value: object, path: str) -> tuple[list, list, float]:
    """Missed-dose entry -> ([(number, path)], [(time, path)], probability)."""
    if isinstance(value, Mapping):
        m = _mapping(value, path, ("doses", "times", "probability"), ())
        out = []
        for key in ("doses", "times"):
            items = m.get(key, [])
            if not isinstance(items, list):
                raise InputError(f"{path}.{key}", "must be a list", items)
            out.append([(v, f"{path}.{key}[{i}]") for i, v in enumerate(items)])
        prob = m.get("probability", 0.0)
        if isinstance(prob, (bool, np.bool_)) or not isinstance(prob, numbers.Real) or not 0 <= prob < 1:
            raise InputError(f"{path}.probability", "must be a probability in [0, 1)", prob)
        return out[0], out[1], float(prob)
    if not isinstance(value, list):
        raise InputError(path, "must be a list of dose numbers and times, or a mapping "
                               "{doses, times, probability}", value)
    nums, times = [], []
    for i, v in enumerate(value):
        item = f"{path}[{i}]"
        if isinstance(v, str):
            times.append((v, item))
        elif isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_)):
            nums.append((v, item))
        else:
            raise InputError(item, "must be a dose number (1, 2, ...) or a time such as '36 h'", v)
    return nums, times, 0.0


def regimen_from_dict(d: Mapping, path: str = "regimen") -> Regimen:
    """Read one regimen entry of a scenario file (keys in the module docstring).

    Parameters
    ----------
    d : the entry, e.g. ``{"drug": "neratinib", "dose": "240 mg", "every": "24 h"}``.
    path : field path of the entry, used as the prefix of every error
        (``"arms[1].regimen[0]"``).

    Returns
    -------
    Regimen : validated, with quantities in h and mg.  The drug name is kept as
    written; the caller checks it against the drug registry.

    Raises
    ------
    InputError : an unknown or missing key, conflicting keys, or a bad value; the
        message names the field, e.g. ``regimen.dose: must be > 0 mg, got -5 mg``.

    Examples
    --------
    >>> r = regimen_from_dict({"drug": "neratinib", "dose": "240 mg", "every": "24 h",
    ...                        "start": "7 d", "count": 10})
    >>> r.describe()
    'neratinib 240 mg every 24 h from 168 h, 10 doses'
    """
    d = _mapping(d, path, REGIMEN_KEYS, ())
    if "drug" not in d:
        raise InputError(f"{path}.drug", "is required: the drug's name, e.g. neratinib")
    drug = d["drug"]
    if not isinstance(drug, str) or not drug.strip():
        raise InputError(f"{path}.drug", "must be a drug name (a non-empty string)", repr(drug))

    kinds = [k for k in ("dose", "escalation", "schedule") if k in d]
    if not kinds:
        raise InputError(path, "needs one of 'dose', 'escalation' or 'schedule'")
    if len(kinds) > 1:
        raise InputError(path, f"'{kinds[0]}' and '{kinds[1]}' cannot be combined; give one of "
                               "'dose', 'escalation' or 'schedule'")

    if "schedule" in d:
        name = d["schedule"]
        if not isinstance(name, str) or name not in SCHEDULES:
            raise InputError(f"{path}.schedule", "unknown schedule; valid: " + ", ".join(SCHEDULES), name)
        raw_steps, interval = SCHEDULES[name]
        steps = tuple(DoseStep(dose, duration, path=f"{path}.escalation[{i}]")
                      for i, (dose, duration) in enumerate(raw_steps))
        if "every" in d and abs(_every(d["every"], f"{path}.every") - interval) > TIME_TOL_H:
            every = format_quantity(interval, "time")
            raise InputError(f"{path}.every", f"schedule {name} doses every {every}; remove 'every'", d["every"])
    else:
        if "every" not in d:
            raise InputError(f"{path}.every", "is required: the dosing interval, e.g. 24 h or QD")
        interval = _every(d["every"], f"{path}.every")
        if "dose" in d:
            steps = (DoseStep(d["dose"], None, path=path),)
        else:
            esc = d["escalation"]
            if not isinstance(esc, list) or not esc:
                raise InputError(f"{path}.escalation", "must be a non-empty list of steps {dose, days}", esc)
            built = []
            for i, step in enumerate(esc):
                sp = f"{path}.escalation[{i}]"
                last = i == len(esc) - 1
                step = _mapping(step, sp, ("dose", "days"), ("dose",) if last else ("dose", "days"))
                days = _days(step["days"], f"{sp}.days") if "days" in step else None
                built.append(DoseStep(step["dose"], days, path=sp))
            steps = tuple(built)

    holds = tuple(
        Hold(_mapping(h, hp, ("from", "to"), ("from", "to"))["from"], h["to"], path=hp)
        for h, hp in (_one_or_many(d["hold"], f"{path}.hold") if "hold" in d else [])
    )
    reductions = tuple(
        Reduction(_mapping(r, rp, ("from", "dose"), ("from", "dose"))["from"], r["dose"], path=rp)
        for r, rp in (_one_or_many(d["reduce"], f"{path}.reduce") if "reduce" in d else [])
    )

    base = Regimen(
        steps=steps,
        interval_h=interval,
        start_h=d.get("start", 0.0),
        count=d.get("count"),
        until_h=d.get("until"),
        on_h=d.get("on"),
        off_h=d.get("off"),
        holds=holds,
        reductions=reductions,
        drug=drug,
        path=path,
    )
    if "missed" not in d:
        return base
    nums, times, prob = _missed(d["missed"], f"{path}.missed")
    missed_doses, missed_times = _check_missed(base, nums, times)
    return replace(base, missed_doses=missed_doses, missed_times_h=missed_times, missed_probability=prob)
