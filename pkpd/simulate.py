"""The boundary between user-facing Python and the compiled kernels.

Turns a model spec plus dosing (a list of :class:`pkpd.dosing.Dose`, or a NONMEM
data set) into kernel inputs, runs the compiled driver, maps solver status codes
to :class:`pkpd.errors.SolverError` (or per-subject flags for populations), and
returns labelled :class:`xarray.Dataset` objects whose variables carry ``units``
and ``long_name``.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Callable, Mapping, Sequence

import numpy as np
import xarray as xr

from pkpd import __version__
from pkpd.data import NonmemData
from pkpd.dosing import Dose
from pkpd.errors import DataError, InputError, SolverError
from pkpd.events import EventTable, build_events, concatenate
from pkpd.models.spec import ModelSpec
from pkpd.solvers import SolverOptions, get_method
from pkpd.solvers._common import (
    N_STATS, OPT_JACOBIAN, ST_JAC, ST_LU, ST_REJECTED, ST_RHS, ST_SEGMENTS, ST_STEPS, no_jacobian,
)
from pkpd.solvers.integrate import integrate_population, integrate_subject
from pkpd.solvers.status import SolverStatus

__all__ = ["simulate", "simulate_population", "simulate_data", "dose_modifiers_from_parameters"]

STAT_NAMES = {ST_STEPS: "steps", ST_REJECTED: "rejected_steps", ST_RHS: "rhs_evaluations",
              ST_JAC: "jacobians", ST_LU: "lu_decompositions", ST_SEGMENTS: "segments"}


# ----------------------------------------------------------------------------- dose modifiers
def dose_modifiers_from_parameters(model: ModelSpec, p: np.ndarray, cmt: np.ndarray) -> dict:
    """F, ALAG, R and D per record from model parameters named ``F<n>``, ``ALAG<n>``, ``R<n>``, ``D<n>``.

    ``n`` is the 1-based compartment (mrgsolve/NONMEM style).  Compartments without
    such a parameter get F = 1, ALAG = 0 h and no modeled rate or duration (NaN).
    """
    out = {"F": np.ones(len(cmt)), "ALAG": np.zeros(len(cmt)),
           "R": np.full(len(cmt), np.nan), "D": np.full(len(cmt), np.nan)}
    names = set(model.parameter_names)
    for key in out:
        for c in np.unique(cmt):
            name = f"{key}{int(c)}"
            if name in names:
                out[key][cmt == c] = p[model.parameter_index(name)]
    return out


def _check_modifiers(mod: dict, rec: dict, where: Callable[[int], str]) -> None:
    """Every dose record's F >= 0, ALAG >= 0 h, and its modeled R or D > 0 where RATE asks for one."""
    dose = np.isin(rec["evid"], (1, 4))
    F, lag, R, D, rate = (np.asarray(x, float) for x in (mod["F"], mod["ALAG"], mod["R"], mod["D"], rec["rate"]))
    with np.errstate(invalid="ignore"):
        checks = (
            (dose & ~(np.isfinite(F) & (F >= 0)), "F", "bioavailability must be finite and >= 0", F, "{:g}"),
            (dose & ~(np.isfinite(lag) & (lag >= 0)), "ALAG", "lag time must be finite and >= 0 h", lag, "{:g}"),
            (dose & (rate == -1) & ~(np.isfinite(R) & (R > 0)), "RATE",
             "is -1 (modeled rate) but the modeled rate R is not > 0", R, "R={:g}"),
            (dose & (rate == -2) & ~(np.isfinite(D) & (D > 0)), "RATE",
             "is -2 (modeled duration) but the modeled duration D is not > 0", D, "D={:g}"),
        )
    for bad, column, message, value, fmt in checks:
        if bad.any():
            k = int(np.argmax(bad))
            raise DataError(f"{where(k)}, {column}", message, fmt.format(value[k]))


# ----------------------------------------------------------------------------- records
def _records_from_doses(doses: Sequence[Dose], times: np.ndarray) -> dict:
    """Dose records followed by output records; at equal times the doses come first."""
    doses = sorted(doses, key=lambda d: d.time)
    n_d, n_t = len(doses), len(times)
    key = np.concatenate([[d.time for d in doses], times])
    order = np.lexsort((np.r_[np.zeros(n_d), np.ones(n_t)], key))
    col = lambda attr, obs: np.concatenate([[getattr(d, attr) for d in doses], np.full(n_t, obs)])  # noqa: E731
    rec = dict(time=key.astype(float), evid=col("evid", 0).astype(np.int64), amt=col("amt", 0.0),
               cmt=col("cmt", 0).astype(np.int64), rate=col("rate", 0.0), ii=col("ii", 0.0),
               addl=col("addl", 0).astype(np.int64), ss=col("ss", 0).astype(np.int64),
               out_row=np.r_[np.full(n_d, -1), np.arange(n_t)].astype(np.int64))
    return {k: v[order] for k, v in rec.items()}


def _check_cmt(model: ModelSpec, rec: dict, where: Callable[[int], str]) -> None:
    bad = np.isin(rec["evid"], (1, 4)) & ~((rec["cmt"] >= 1) & (rec["cmt"] <= model.n_states))
    if bad.any():
        k = int(np.argmax(bad))
        raise DataError(f"{where(k)}, CMT", f"must be 1..{model.n_states} for model {model.name} "
                        f"({', '.join(model.state_names)})", int(rec["cmt"][k]))


def _event_table(model, rec, p, dose_modifiers, where) -> EventTable:
    _check_cmt(model, rec, where)
    mod = dose_modifiers_from_parameters(model, p, rec["cmt"])
    if dose_modifiers is not None:
        mod.update({k: np.asarray(v, float) for k, v in dose_modifiers(rec, p).items()})
    _check_modifiers(mod, rec, where)
    return build_events({**rec, **mod}, model.n_states)


def _times(times, path="times") -> np.ndarray:
    t = np.asarray(times, dtype=np.float64).ravel()
    if t.size == 0:
        raise InputError(path, "at least one output time is needed", show_value=False)
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise InputError(path, "output times must be finite and >= 0 h", show_value=False)
    if np.any(np.diff(t) < 0):
        raise InputError(path, "output times must be non-decreasing", show_value=False)
    return t


def _solver(solver, n_states):
    opts = solver if isinstance(solver, SolverOptions) else SolverOptions(**(solver or {}))
    return opts, get_method(opts.method).segment, opts.opts_array(), opts.atol_array(n_states)


def _jacobian(model: ModelSpec, opts: SolverOptions, opts_arr: np.ndarray):
    """The ``jac`` argument of the driver for ``model`` under ``opts.jacobian``; sets ``opts_arr[OPT_JACOBIAN]``.

    The model's analytic Jacobian (flag 1) or the placeholder ``no_jacobian`` (flag 0,
    finite differences): :meth:`pkpd.models.spec.ModelSpec.jacobian`, which raises
    InputError for ``analytic`` on a model without one.
    """
    jac, analytic = model.jacobian(opts.jacobian)
    opts_arr[OPT_JACOBIAN] = 1.0 if analytic else 0.0
    return jac


# ----------------------------------------------------------------------------- datasets
def _dataset(model: ModelSpec, y: np.ndarray, p: np.ndarray, dims: tuple, coords: dict,
             opts: SolverOptions, stats: np.ndarray) -> xr.Dataset:
    data_vars = {}
    for i, s in enumerate(model.states):
        data_vars[s.name] = (dims, y[..., i], {"units": s.unit, "long_name": s.description})
    p_b = p.reshape(p.shape[:-1] + (1,) * (y.ndim - p.ndim) + p.shape[-1:]) if p.ndim > 1 else p
    outputs = model.evaluate_outputs(y, p_b)
    for o in model.outputs:
        data_vars[o.name] = (dims, np.broadcast_to(outputs[o.name], y.shape[:-1]).copy(),
                             {"units": o.unit, "long_name": o.description})
    stat_dims = dims[:-1]
    for k, name in STAT_NAMES.items():
        data_vars[f"solver_{name}"] = (stat_dims, stats[..., k], {"units": "1", "long_name": f"solver {name}"})
    ds = xr.Dataset(data_vars, coords=coords)
    ds.attrs.update(model=model.name, pkpd_version=__version__,
                    solver=repr({k: (v if not isinstance(v, tuple) else list(v)) for k, v in asdict(opts).items()}))
    return ds


def integrate_rows(rhs, segment, Y0: np.ndarray, P: np.ndarray, ev: EventTable, n_out: int, atol: np.ndarray,
                   opts: np.ndarray, jac=None):
    """Integrate subjects (rows of ``Y0`` and ``P``) through one shared event table in the compiled threads.

    ``jac`` is the analytic Jacobian of ``rhs`` (:data:`pkpd.signatures.JAC_SIGNATURE`), used
    when ``opts[OPT_JACOBIAN]`` is 1; None: ``rhs`` has none, finite differences whatever
    the flag (a run's options may serve several right-hand sides: the closed-form and
    periodic paths call this with their own).
    Returns ``(Y, stats, status, t_reached)``: outputs (n, n_out, n_states), step counters
    (n, N_STATS), status codes (0 = success) and the time each reached (h).
    """
    if jac is None:
        jac = no_jacobian
        if opts[OPT_JACOBIAN] != 0.0:
            opts = opts.copy()
            opts[OPT_JACOBIAN] = 0.0
    n = Y0.shape[0]
    Y = np.zeros((n, n_out, Y0.shape[1]))
    S = np.zeros((n, N_STATS), np.int64)
    status, t_reached = np.zeros(n, np.int64), np.zeros(n)
    integrate_population(rhs, segment, np.ascontiguousarray(Y0), np.ascontiguousarray(P), *ev.kernel_args(),
                         np.zeros(n, np.int64), np.full(n, len(ev), np.int64), *ev.ss_args(),
                         Y, atol, opts, S, status, t_reached, jac)
    return Y, S, status, t_reached


def _raise_on_failure(status: int, t: float, subject=None) -> None:
    if status != SolverStatus.SUCCESS:
        raise SolverError(status, SolverStatus(status).message, t, subject)


def simulate(model: ModelSpec, doses: Sequence[Dose], times, params: Mapping[str, float] | None = None,
             y0=None, solver: SolverOptions | Mapping | None = None,
             dose_modifiers: Callable | None = None) -> xr.Dataset:
    """Simulate one subject: states and outputs of ``model`` at ``times`` (h).

    Parameters
    ----------
    model : the model spec.
    doses : dosing records (times in h, amounts in mg, 1-based compartments).
    times : output times, h, non-decreasing; an output at a dose time sees that dose.
    params : parameter overrides by name (model units).
    y0 : initial state (n_states,); default the spec's initial values.
    solver : :class:`pkpd.solvers.SolverOptions` or a dict of its fields.
    dose_modifiers : optional ``f(records, p) -> {"F"|"ALAG"|"R"|"D": array per record}``.

    Returns
    -------
    xarray.Dataset with dimension ``time`` and one variable per state and output.

    Raises
    ------
    SolverError if the integration fails; InputError/DataError for bad input.
    """
    t = _times(times)
    p = model.pack(params)
    y_init = model.y0() if y0 is None else np.ascontiguousarray(y0, dtype=np.float64)
    rec = _records_from_doses(doses, t)
    ev = _event_table(model, rec, p, dose_modifiers, lambda k: f"doses (t={rec['time'][k]:g} h)")
    opts, segment, opts_arr, atol = _solver(solver, model.n_states)
    jac = _jacobian(model, opts, opts_arr)
    y_out = np.zeros((len(t), model.n_states))
    stats = np.zeros(N_STATS, np.int64)
    status, t_reached = integrate_subject(model.rhs, segment, y_init, p, *ev.kernel_args(), 0, len(ev),
                                          *ev.ss_args(), y_out, atol, opts_arr, stats, jac)
    _raise_on_failure(status, t_reached)
    return _dataset(model, y_out, p, ("time",), {"time": ("time", t, {"units": "h", "long_name": "time"})},
                    opts, stats)


def simulate_population(model: ModelSpec, doses: Sequence[Dose], times, P: np.ndarray, Y0: np.ndarray | None = None,
                        solver: SolverOptions | Mapping | None = None, raise_on_failure: bool = True,
                        dose_modifiers: Callable | None = None) -> xr.Dataset:
    """Simulate many subjects sharing one dosing regimen, in parallel compiled threads.

    ``P`` is the (n_subjects, n_parameters) matrix of individual parameters in the
    spec's order; ``Y0`` optional (n_subjects, n_states).  Returns a Dataset with
    dimensions ``(subject, time)`` and a ``status`` variable (0 = success); with
    ``raise_on_failure`` a failed subject raises :class:`SolverError` naming it.
    F, ALAG, R, D (model parameters ``F<n>``... or ``dose_modifiers(records, p)``) are
    evaluated once, with the *first* subject's parameters, and shared: when they vary
    between subjects, simulate them as a data set (``simulate_data``), one table each.
    """
    t = _times(times)
    P = np.array(np.atleast_2d(P), dtype=np.float64, order="C")
    if P.shape[1] != model.n_parameters:
        raise InputError("P", f"must have {model.n_parameters} columns ({', '.join(model.parameter_names)})",
                         P.shape)
    n_sub = P.shape[0]
    Y0 = np.array(np.broadcast_to(model.y0() if Y0 is None else Y0, (n_sub, model.n_states)),
                  dtype=np.float64, order="C")  # a writeable copy
    rec = _records_from_doses(doses, t)
    ev = _event_table(model, rec, P[0], dose_modifiers, lambda k: f"doses (t={rec['time'][k]:g} h)")
    opts, segment, opts_arr, atol = _solver(solver, model.n_states)
    jac = _jacobian(model, opts, opts_arr)
    Y_out = np.zeros((n_sub, len(t), model.n_states))
    STATS = np.zeros((n_sub, N_STATS), np.int64)
    status = np.zeros(n_sub, np.int64)
    t_fail = np.zeros(n_sub)
    start = np.zeros(n_sub, np.int64)
    end = np.full(n_sub, len(ev), np.int64)
    integrate_population(model.rhs, segment, Y0, P, *ev.kernel_args(), start, end, *ev.ss_args(),
                         Y_out, atol, opts_arr, STATS, status, t_fail, jac)
    if raise_on_failure:
        bad = np.flatnonzero(status)
        if bad.size:
            _raise_on_failure(status[bad[0]], t_fail[bad[0]], subject=int(bad[0]))
    ds = _dataset(model, Y_out, P, ("subject", "time"),
                  {"time": ("time", t, {"units": "h", "long_name": "time"}), "subject": np.arange(n_sub)},
                  opts, STATS)
    ds["status"] = ("subject", status, {"units": "1", "long_name": "solver status (0 = success)"})
    return ds


def simulate_data(model: ModelSpec, data: NonmemData, params: Mapping[str, float] | None = None,
                  dose_modifiers: Callable | None = None,
                  solver: SolverOptions | Mapping | None = None) -> xr.Dataset:
    """Simulate a NONMEM-style data set: the state and outputs on every record.

    Each record gets an output (as NONMEM does): observation records see every
    dose at their time up to their row; a dose record reports the state just
    after its own dose.  ``dose_modifiers(records, p)`` receives the subject's
    records (lower-case standard columns ``time, evid, amt, cmt, rate, ii, addl, ss``
    plus every data column by its upper-case name) and returns per-record arrays for
    any of ``F``, ``ALAG`` (h), ``R`` (amount/h) and ``D`` (h).

    Returns a Dataset with dimension ``record`` (file order) and coordinates ``ID``,
    ``TIME`` and ``EVID``; subjects are integrated in parallel threads.
    """
    p = model.pack(params)
    opts, segment, opts_arr, atol = _solver(solver, model.n_states)
    jac = _jacobian(model, opts, opts_arr)
    c = data.columns
    tables, rows_of = [], []
    for subject in data.subjects:
        rows = data.rows_of(subject)
        rec = {k: v[rows] for k, v in c.items()}
        rec.update(time=c["TIME"][rows], evid=c["EVID"][rows].astype(np.int64), amt=c["AMT"][rows],
                   cmt=c["CMT"][rows].astype(np.int64), rate=c["RATE"][rows], ii=c["II"][rows],
                   addl=c["ADDL"][rows].astype(np.int64), ss=c["SS"][rows].astype(np.int64),
                   out_row=np.arange(len(rows), dtype=np.int64))
        lines = data.line[rows]
        tables.append(_event_table(model, rec, p, dose_modifiers,
                                   lambda k, lines=lines, s=subject: f"line {lines[k]} (ID {s:g})"))
        rows_of.append(rows)
    ev, start, end = concatenate(tables)
    n_sub = len(tables)
    n_max = max(len(r) for r in rows_of)
    Y_out = np.zeros((n_sub, n_max, model.n_states))
    STATS = np.zeros((n_sub, N_STATS), np.int64)
    status = np.zeros(n_sub, np.int64)
    t_fail = np.zeros(n_sub)
    P = np.repeat(p[None, :], n_sub, axis=0)
    Y0 = np.repeat(model.y0()[None, :], n_sub, axis=0)
    integrate_population(model.rhs, segment, Y0, P, *ev.kernel_args(), start, end, *ev.ss_args(),
                         Y_out, atol, opts_arr, STATS, status, t_fail, jac)
    for s in np.flatnonzero(status):
        _raise_on_failure(status[s], t_fail[s], subject=f"ID {data.subjects[s]:g}")
    y = np.zeros((len(data), model.n_states))
    for s, rows in enumerate(rows_of):
        y[rows] = Y_out[s, : len(rows)]
    coords = {"ID": ("record", c["ID"]), "TIME": ("record", c["TIME"], {"units": "h"}),
              "EVID": ("record", c["EVID"].astype(np.int64))}
    ds = _dataset(model, y, p, ("record",), coords, opts, STATS.sum(axis=0))
    ds.attrs["data_source"] = data.source
    return ds
