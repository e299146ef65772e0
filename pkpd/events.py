"""Dosing records -> the time-sorted event table the compiled driver walks.

This is where NONMEM semantics live.  For each record (in data order) with
bioavailability ``F``, lag time ``ALAG`` and, for RATE = -1/-2, the modeled rate
``R`` or duration ``D`` already resolved for that record:

* a bolus adds ``F*AMT`` to compartment CMT at ``TIME + ALAG``;
* an infusion runs at ``RATE`` (or ``R``, or ``F*AMT/D``) for ``F*AMT/rate`` hours
  from ``TIME + ALAG``; overlapping infusions add up;
* ADDL additional doses follow every II hours, each with the same F, ALAG, R, D;
* EVID 3 resets the system (state back to the model's initial state, infusions
  stopped, doses still pending from earlier records cancelled); EVID 4 resets
  and then doses;
* SS=1 resets, then puts the system at the periodic steady state of infinitely
  many doses every II before this one (their lags, overlaps and infusions that
  run on past TIME included) and gives this dose; SS=2 adds that steady state
  to the current state instead of resetting.  A constant infusion at steady
  state is AMT=0, RATE>0, II=0.

Order at equal times (documented behaviour): at a given time, doses that come
due from earlier records (ADDL doses, lagged doses, infusion ends) are applied
first; then each record at that time, in data order, applies its reset, its
steady state, its own unlagged dose and then its output.  So an output (EVID 0
row, or a dose row's own output) sees every dose given at that time up to and
including its own row, and a dose row reports the state just after its dose.
Output times are never integration stops: they are read from the solver's dense
output, so adding outputs does not change the solution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pkpd.solvers.integrate import BOLUS, OUT, RATE_OFF, RATE_ON, RESET, SS

__all__ = ["EventTable", "build_events", "concatenate", "restarts_and_outputs"]


@dataclass(frozen=True)
class EventTable:
    """Columns of the event table and the steady-state tables (see pkpd.solvers.integrate)."""

    time: np.ndarray
    kind: np.ndarray
    cmt: np.ndarray
    value: np.ndarray
    id: np.ndarray
    src: np.ndarray
    inf_rate: np.ndarray
    ss_ii: np.ndarray
    ss_r0: np.ndarray
    ss_ptr: np.ndarray
    cy_phase: np.ndarray
    cy_kind: np.ndarray
    cy_cmt: np.ndarray
    cy_value: np.ndarray
    n_out: int

    def __len__(self) -> int:
        return self.time.shape[0]

    def kernel_args(self):
        """The arrays in the order :func:`pkpd.solvers.integrate.integrate_subject` takes them."""
        return (self.time, self.kind, self.cmt, self.value, self.id, self.src)

    def ss_args(self):
        return (self.inf_rate, self.ss_ii, self.ss_r0, self.ss_ptr,
                self.cy_phase, self.cy_kind, self.cy_cmt, self.cy_value)


class _Builder:
    def __init__(self, n_states: int):
        self.n_states = n_states
        self.rows: list[tuple] = []  # (time, priority, src, sub, kind, cmt, value, id)
        self.inf_rate: list[float] = []
        self.ss_ii: list[float] = []
        self.ss_r0: list[np.ndarray] = []
        self.ss_ptr: list[int] = [0]
        self.cycle: list[tuple] = []  # (phase, kind, cmt, value)
        self.sub = 0

    def add(self, time, record_time, src, kind, cmt=0, value=0.0, id=-1):
        # Events at their record's own time keep data order (priority 1); events that
        # come due later (lags, ADDL, infusion ends) go before records at that time.
        priority = 1 if time == record_time else 0
        self.rows.append((time, priority, src, self.sub, kind, cmt, value, id))
        self.sub += 1

    def infusion(self, start, duration, rate, cmt, record_time, src):
        k = len(self.inf_rate)
        self.inf_rate.append(rate)
        self.add(start, record_time, src, RATE_ON, cmt, rate, k)
        self.add(start + duration, record_time, src, RATE_OFF, cmt, rate, k)

    def steady_state(self, T, src, ss_type, c, ii, lag, bolus_amt, rate, duration):
        """Add the SS tables of a dose and schedule the 'tail' of the doses before T."""
        s = len(self.ss_ii)
        # the SS event goes first, so tail doses landing exactly at T are applied after it
        self.add(T, T, src, SS, 0, float(ss_type), s)
        r0 = np.zeros(self.n_states)
        cycle = []
        if ii <= 0.0:  # constant infusion at steady state
            r0[c] = rate
        elif bolus_amt is not None:
            cycle.append((math.fmod(lag, ii), BOLUS, c, bolus_amt))
            # doses before T whose (lagged) bolus lands at or after T
            j = -1
            while lag + j * ii >= 0.0:
                self.add(T + lag + j * ii, T, src, BOLUS, c, bolus_amt)
                j -= 1
        else:
            j_lo = math.floor((-lag - duration) / ii) - 1
            j_hi = math.ceil((ii - lag) / ii) + 1
            for j in range(j_lo, j_hi + 1):
                s_j, e_j = lag + j * ii, lag + j * ii + duration
                if e_j > 0.0 and s_j < ii:  # overlaps the interval [0, ii)
                    if s_j <= 0.0:
                        r0[c] += rate
                    else:
                        cycle.append((s_j, RATE_ON, c, rate))
                    if e_j < ii:
                        cycle.append((e_j, RATE_ON, c, -rate))
                if j <= -1 and e_j > 0.0:  # a dose before T still running, or not started, at T
                    self.infusion(T + max(s_j, 0.0), e_j - max(s_j, 0.0), rate, c, T, src)
        cycle.sort(key=lambda e: e[0])
        self.ss_ii.append(ii)
        self.ss_r0.append(r0)
        self.cycle.extend(cycle)
        self.ss_ptr.append(len(self.cycle))
        return s

    def table(self, out_time: np.ndarray, out_src: np.ndarray, out_row: np.ndarray) -> EventTable:
        """Sort the events, with the outputs (given as arrays) merged in, into an EventTable."""
        cols = list(zip(*self.rows)) if self.rows else [()] * 8
        n_o = out_time.shape[0]
        time = np.concatenate([np.array(cols[0], np.float64), out_time.astype(np.float64)])
        priority = np.concatenate([np.array(cols[1], np.int64), np.ones(n_o, np.int64)])
        src = np.concatenate([np.array(cols[2], np.int64), out_src.astype(np.int64)])
        # an output comes after every other event of its own record
        sub = np.concatenate([np.array(cols[3], np.int64), np.full(n_o, self.sub, np.int64)])
        order = np.lexsort((sub, src, priority, time))
        kind = np.concatenate([np.array(cols[4], np.int64), np.full(n_o, OUT, np.int64)])[order]
        cmt = np.concatenate([np.array(cols[5], np.int64), np.zeros(n_o, np.int64)])[order]
        value = np.concatenate([np.array(cols[6], np.float64), np.zeros(n_o)])[order]
        ids = np.concatenate([np.array(cols[7], np.int64), out_row.astype(np.int64)])[order]
        cy = list(zip(*self.cycle)) if self.cycle else [()] * 4
        n = self.n_states
        return EventTable(
            time=time[order], kind=kind, cmt=cmt, value=value, id=ids, src=src[order],
            inf_rate=np.array(self.inf_rate, dtype=np.float64),
            ss_ii=np.array(self.ss_ii, dtype=np.float64),
            ss_r0=np.array(self.ss_r0, dtype=np.float64).reshape(len(self.ss_ii), n),
            ss_ptr=np.array(self.ss_ptr, dtype=np.int64),
            cy_phase=np.array(cy[0], dtype=np.float64),
            cy_kind=np.array(cy[1], dtype=np.int64),
            cy_cmt=np.array(cy[2], dtype=np.int64),
            cy_value=np.array(cy[3], dtype=np.float64),
            n_out=int(out_row.max()) + 1 if n_o else 0,
        )


def build_events(records, n_states: int) -> EventTable:
    """Build the event table of one subject.

    Parameters
    ----------
    records : mapping of equal-length 1-D arrays in data order (already validated):
        ``time`` (h), ``evid``, ``amt`` (mg), ``cmt`` (1-based), ``rate`` (mg/h, or -1/-2),
        ``ii`` (h), ``addl``, ``ss``, ``F``, ``ALAG`` (h), ``R`` (mg/h, used when rate = -1),
        ``D`` (h, used when rate = -2) and ``out_row`` (row of the output array that the
        record's output goes to, or -1 for none).
    n_states : number of model states.
    """
    b = _Builder(n_states)
    evid = np.asarray(records["evid"])
    # Only dose and reset records need Python; outputs are merged in as arrays.
    for r in np.flatnonzero((evid == 1) | (evid == 3) | (evid == 4)):
        r = int(r)
        T = float(records["time"][r])
        ss = int(records["ss"][r])
        if evid[r] in (3, 4) or (evid[r] in (1, 4) and ss == 1):
            b.add(T, T, r, RESET)
        amt = float(records["amt"][r])
        rate = float(records["rate"][r])
        if evid[r] in (1, 4) and (amt > 0.0 or (ss and rate > 0.0)):
            c = int(records["cmt"][r]) - 1
            F = float(records["F"][r])
            lag = float(records["ALAG"][r])
            ii = float(records["ii"][r])
            if rate == 0.0:
                bolus, inf_rate, duration = F * amt, 0.0, 0.0
            else:
                bolus = None
                if rate > 0.0:
                    inf_rate = rate
                    duration = F * amt / rate
                elif rate == -1.0:
                    inf_rate = float(records["R"][r])
                    duration = F * amt / inf_rate
                else:
                    duration = float(records["D"][r])
                    inf_rate = F * amt / duration
            if ss:
                b.steady_state(T, r, ss, c, ii, lag, bolus, inf_rate, duration)
            if ss and ii <= 0.0:
                # NONMEM: a constant infusion at steady state (AMT=0, II=0) sets the
                # steady state at TIME and is not continued past it (nmtests ID 29).
                pass
            else:
                for k in range(int(records["addl"][r]) + 1):
                    start = T + k * ii + lag
                    if bolus is not None:
                        b.add(start, T, r, BOLUS, c, bolus)
                    elif duration > 0.0:
                        b.infusion(start, duration, inf_rate, c, T, r)
    out_row = np.asarray(records["out_row"], dtype=np.int64)
    has_out = np.flatnonzero(out_row >= 0)
    return b.table(np.asarray(records["time"], dtype=np.float64)[has_out], has_out, out_row[has_out])


def restarts_and_outputs(restart_t: np.ndarray, out_t: np.ndarray, n_states: int) -> EventTable:
    """An event table of restarts at ``restart_t`` (h) and outputs at ``out_t`` (h; output rows in that order).

    A restart stops the integration and starts it again without changing the state (a
    bolus of 0): the solver never steps across it, as it never steps across a dose.
    """
    b = _Builder(n_states)
    for t in np.asarray(restart_t, dtype=np.float64):
        b.add(float(t), float(t), 0, BOLUS, 0, 0.0)
    out_t = np.asarray(out_t, dtype=np.float64)
    return b.table(out_t, np.zeros(out_t.size, np.int64), np.arange(out_t.size, dtype=np.int64))


def concatenate(tables: list[EventTable]):
    """Join per-subject tables into one, for ``integrate_population``.

    Returns ``(table, start, end)``: subject ``s`` uses events ``start[s]:end[s]``.
    Infusion and steady-state indices are shifted so that each subject's ids stay valid.
    """
    if not tables:
        raise ValueError("no event tables to concatenate")
    n_states = tables[0].ss_r0.shape[1]
    start, end = [], []
    parts = {k: [] for k in ("time", "kind", "cmt", "value", "id", "src")}
    inf, ss_ii, ss_r0, ss_ptr, cy = [], [], [], [0], {k: [] for k in ("phase", "kind", "cmt", "value")}
    n_ev = n_inf = n_ss = n_cy = 0
    for t in tables:
        start.append(n_ev)
        ids = t.id.copy()
        ids[(t.kind == RATE_ON) | (t.kind == RATE_OFF)] += n_inf
        ids[t.kind == SS] += n_ss
        for k in ("time", "kind", "cmt", "value", "src"):
            parts[k].append(getattr(t, k))
        parts["id"].append(ids)
        inf.append(t.inf_rate)
        ss_ii.append(t.ss_ii)
        ss_r0.append(t.ss_r0)
        ss_ptr.extend((t.ss_ptr[1:] + n_cy).tolist())
        for k in cy:
            cy[k].append(getattr(t, "cy_" + k))
        n_ev += len(t)
        n_inf += t.inf_rate.shape[0]
        n_ss += t.ss_ii.shape[0]
        n_cy += t.cy_phase.shape[0]
        end.append(n_ev)
    table = EventTable(
        **{k: np.concatenate(v) for k, v in parts.items()},
        inf_rate=np.concatenate(inf), ss_ii=np.concatenate(ss_ii),
        ss_r0=np.concatenate(ss_r0).reshape(-1, n_states), ss_ptr=np.array(ss_ptr, np.int64),
        cy_phase=np.concatenate(cy["phase"]), cy_kind=np.concatenate(cy["kind"]).astype(np.int64),
        cy_cmt=np.concatenate(cy["cmt"]).astype(np.int64), cy_value=np.concatenate(cy["value"]),
        n_out=max(t.n_out for t in tables),
    )
    return table, np.array(start, np.int64), np.array(end, np.int64)
