"""One group (arm x sweep point) of a scenario with a ``model``: every patient simulated and summarised.

:func:`pkpd.runner.run` plans, checkpoints, distributes and assembles the groups of every
scenario; this module is what it does for a group of a model scenario (the trial system's
groups are :func:`pkpd.runner.run_group`); both integrate their patients through
:func:`pkpd.group.integrate_group` (pkpd's compiled driver, patients in parallel threads, in
chunks of :data:`PATIENT_CHUNK`), with NONMEM dosing semantics (:mod:`pkpd.events`).
Patients share one event table unless their doses differ (random missed doses, or
between-patient variability of a dose-modifier parameter ``F<n>``, ``ALAG<n>``, ``R<n>``,
``D<n>`` or of a parameter in a language model's ``dosing`` declarations), in which case each
gets its own.  Every patient draws from its own random streams, so the result is bitwise
the same whatever the chunk size, the number of threads or the executor.

When the explicit method fails for a patient (stiffness, steps too small), that patient is
retried with ``radau5`` at the same tolerances; a patient that still fails stops the run
(``on_failure="fail"``, naming arm, sweep point, patient and time) or is marked in
``status`` and left out of the summary (``"skip"``).

Summary metrics
---------------
For every summary variable (a state or an output) and patient: ``CMAX``, ``CMIN`` (its
maximum and minimum) and ``AUC`` (its integral, unit x h) over the arm's summary window,
computed by :mod:`pkpd.analysis.exposure` (linear-up/log-down) on the output grid plus the
window's edges plus both sides of every planned dose inside the window (the pre-dose and
post-dose values), so troughs and peaks at dose times are exact and the rest is as
accurate as ``output_every`` allows (a maximum between grid points is missed by at most
about ``|x''| dt^2 / 8``).

Dimensions of the result: ``arm``, one per swept key (``.`` written ``_``), ``patient``,
``time`` (h; coordinate ``day`` too).  Every variable has ``units`` and ``long_name``; the
attributes record the scenario text, the model, the seed, the pkpd version and the solver
settings.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from pkpd import __version__
from pkpd.analysis.exposure import auc, cmax, cmin
from pkpd.analysis.inhibition import bliss_excess, hsa_excess, time_average
from pkpd.closed_form import closed_form
from pkpd.periodic import applies as periodic_applies, cascade_split, periodic_tail, regimen_period
from pkpd.errors import ScenarioError
from pkpd.events import concatenate
from pkpd.group import Periodic, integrate_group
from pkpd.model_scenario import missed_stream
from pkpd.population import patient_rng
from pkpd.regimens import TIME_TOL_H
from pkpd.simulate import _event_table
from pkpd.solvers._common import ST_RHS, ST_STEPS
from pkpd.solvers.integrate import BOLUS, RATE_OFF, RATE_ON

__all__ = ["patient_parameters", "run_group", "assemble", "summary_records", "output_rows", "METRICS",
           "PATIENT_CHUNK"]

#: patients handed to the compiled threads at once (Python checks for interrupts between chunks)
PATIENT_CHUNK = 64
#: summary metrics per variable: name -> (long name, unit suffix)
METRICS = {"CMAX": ("maximum", ""), "CMIN": ("minimum", ""), "AUC": ("area under the curve", "*h")}
_MODIFIER_PREFIXES = ("F", "ALAG", "R", "D")


def _is_modifier(name: str) -> bool:
    """Whether parameter ``name`` is a dose modifier ``F<n>``, ``ALAG<n>``, ``R<n>`` or ``D<n>``."""
    return any(name.startswith(k) and name[len(k):].isdigit() for k in _MODIFIER_PREFIXES)


def patient_parameters(sc, point: dict | None = None, start: int = 0, n: int | None = None) -> np.ndarray:
    """Individual parameters of patients ``start .. start+n-1`` at sweep ``point``, shape (n, n_parameters).

    In the model's units: the typical values with the scenario's overrides and the swept values
    of ``point``, times the covariate effects and ``exp(eta)`` of the scenario's population
    model (:class:`pkpd.model_population.PopulationModel`); with ``population.variability``
    alone, ``P_ij = P_j exp(omega_j z_ij)``, ``omega_j^2 = ln(1 + CV_j^2)``, ``z_ij`` the first
    standard normal of patient ``i``'s stream :func:`pkpd.model_scenario.parameter_stream`.
    Raises :class:`ScenarioError` naming the population field when a value leaves the
    parameter's bounds.
    """
    pop, model = sc.population, sc.model
    n = pop.size - start if n is None else n
    P, _ = sc.population_model.individual(model, model.pack(sc.parameters_at(point)), pop.seed, start, n)
    for j, prm in enumerate(model.parameters):
        bad = np.flatnonzero(~((P[:, j] >= prm.lower) & (P[:, j] <= prm.upper)))
        if bad.size:
            i = int(bad[0])
            name = prm.name
            field = (f"population.variability.{name}" if name in pop.variability else
                     "population.omega" if name in sc.population_model.eta_names else "population.effects")
            raise ScenarioError(field, f"gives patient {start + i} the value {P[i, j]:g} {prm.unit} of {name}, "
                                f"outside the parameter's bounds [{prm.lower:g}, {prm.upper:g}]; use a smaller "
                                "variability", show_value=False)
    return P


def _snap(times: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """``times`` with every value within TIME_TOL_H of a value of ``targets`` set to that value."""
    if targets.size == 0 or times.size == 0:
        return times
    targets = np.sort(targets)
    k = np.clip(np.searchsorted(targets, times), 1, targets.size) - 1
    out = times.copy()
    for kk in (k, np.minimum(k + 1, targets.size - 1)):
        near = np.abs(targets[kk] - times) <= TIME_TOL_H
        out[near] = targets[kk][near]
    return out


def output_rows(sc, dosing, window, *more_windows):
    """Output rows of one group: times (h), which rows are pre-dose rows, and which are stored.

    Post-dose rows: the regular grid, the edges of each window (the summary window, and the
    comparison window) and the planned dose times inside them; pre-dose rows (the state just
    before the doses at that time): the planned dose times inside the windows.  Returns
    ``(row_time, is_pre, keep)``, rows sorted by time with a pre-dose row before the post-dose
    row at the same time, and ``keep`` the indices of the stored grid's rows.
    """
    regular = sc.times_h()          # the regular grid (and the scans of trial endpoints)
    dose_t = np.unique(np.concatenate([d.planned_times(sc.duration_h) for d in dosing] or [np.empty(0)]))
    regular = _snap(regular, dose_t)
    extra = np.empty(0)
    pre = np.empty(0)
    for w in (window, *more_windows):
        if w is None:
            continue
        inside = dose_t[(dose_t >= w[0] - TIME_TOL_H) & (dose_t <= w[1] + TIME_TOL_H)]
        extra = np.concatenate([extra, _snap(_snap(np.concatenate([np.asarray(w, float), inside]), dose_t), regular)])
        pre = np.union1d(pre, inside)
    post = np.unique(np.concatenate([regular, extra]))
    times = np.concatenate([pre, post])
    is_pre = np.concatenate([np.ones(pre.size, bool), np.zeros(post.size, bool)])
    order = np.lexsort((~is_pre, times))
    row_time, is_pre = times[order], is_pre[order]
    keep = np.flatnonzero(~is_pre & np.isin(row_time, regular))
    return row_time, is_pre, keep


def dose_records(doses, row_time: np.ndarray, is_pre: np.ndarray) -> dict:
    """NONMEM records in data order: at equal times pre-dose outputs, then doses, then post-dose outputs."""
    n_d, n_r = len(doses), row_time.size
    time = np.concatenate([[d.time for d in doses], row_time]).astype(float)
    rank = np.concatenate([np.ones(n_d, np.int64), np.where(is_pre, 0, 2)])
    order = np.lexsort((rank, time))
    col = lambda attr, obs: np.concatenate([[getattr(d, attr) for d in doses], np.full(n_r, obs)])  # noqa: E731
    rec = dict(time=time, evid=col("evid", 0).astype(np.int64), amt=col("amt", 0.0),
               cmt=col("cmt", 0).astype(np.int64), rate=col("rate", 0.0), ii=col("ii", 0.0),
               addl=col("addl", 0).astype(np.int64), ss=col("ss", 0).astype(np.int64),
               out_row=np.r_[np.full(n_d, -1), np.arange(n_r)].astype(np.int64))
    return {k: v[order] for k, v in rec.items()}


def group_doses(sc, dosing, patient: int | None):
    """The dose records of an arm's ``dosing``; ``patient`` draws its random missed doses (None: none)."""
    doses = []
    for k, d in enumerate(dosing):
        rng = None
        if patient is not None and d.regimen.missed_probability > 0:
            rng = patient_rng(sc.population.seed, patient, missed_stream(k))
        doses += d.to_doses(sc.duration_h, rng)
    return doses


def run_group(sc, p, i: int, j: int, on_failure: str = "fail", chunk: int | None = None) -> dict:
    """Simulate arm ``i`` at sweep point ``j`` of model scenario ``sc`` (plan ``p``) for every patient.

    Returns the stored trajectories of every state and output, the summary metrics, the
    individual parameters, status and solver counts.  ``chunk``: patients per call of the
    compiled driver (default :data:`PATIENT_CHUNK`).  Deterministic: the same inputs give
    bitwise the same arrays, whatever ``chunk``.
    """
    chunk = PATIENT_CHUNK if chunk is None else chunk
    model, arm, point = sc.model, p.arms[i], p.points[j]
    dosing = sc.arm_regimens(arm, point)
    window = sc.summary_window_h(arm, point)
    compare = sc.comparison_window_h if sc.comparison_outputs else None
    row_time, is_pre, keep = output_rows(sc, dosing, window, compare)
    cf = closed_form(sc.compiled) if sc.compiled is not None else None
    P = patient_parameters(sc, point)
    n_pat = P.shape[0]
    cm = sc.compiled   # a model written in the language: its own initial states and dose modifiers
    modifiers = cm.record_modifiers if cm is not None else None
    varies_doses = (lambda k: _is_modifier(k) or k in cm.dose_parameters) if cm is not None else _is_modifier
    per_patient = (any(d.regimen.missed_probability > 0 for d in dosing)
                   or any(varies_doses(k) and v > 0 for k, v in sc.population.variability.items()))
    at = f" at sweep point {sc._point_text(point)}" if point else ""

    def where(q):
        return f"arms[{i}] ({arm.name}){at}, dose record {q}"

    shared = None
    if not per_patient:
        shared = _event_table(model, dose_records(group_doses(sc, dosing, None), row_time, is_pre), P[0],
                              modifiers, where)
    split, tail, doses = _periodic_tail(sc, dosing, shared, row_time)
    periodic = None if tail is None else Periodic(
        tail, split, doses, row_time, lambda rec: _event_table(model, rec, P[0], modifiers, where), pre=is_pre,
        make_records=dose_records)

    def events(c):
        """The event table of chunk ``c``: the shared one, or one per patient (each its own doses)."""
        n_c = c.stop - c.start
        if shared is not None:
            return shared, np.zeros(n_c, np.int64), np.full(n_c, len(shared), np.int64)
        return concatenate([_event_table(model, dose_records(group_doses(sc, dosing, s), row_time, is_pre), P[s],
                                         modifiers, where) for s in range(c.start, c.stop)])

    outputs = [o.name for o in model.outputs]
    names = list(model.state_names) + outputs
    out = {k: np.full((n_pat, keep.size), np.nan) for k in names}
    for v in sc.summary_variables:
        for key in METRICS:
            out[f"{key}_{v}"] = np.full(n_pat, np.nan)
    for v in sc.comparison_outputs:
        out[f"MEAN_{v}"] = np.full(n_pat, np.nan)

    def reduce(c, Y, bad):
        """Store chunk ``c``'s trajectories on the stored grid and its summary metrics (failed patients: NaN)."""
        values = {sn: Y[..., k] for k, sn in enumerate(model.state_names)}
        if outputs:
            o = model.evaluate_outputs(Y, P[c][:, None, :])
            values.update({k: np.broadcast_to(np.asarray(o[k], float), Y.shape[:-1]) for k in outputs})
        ok = np.ones(Y.shape[0], bool)
        ok[bad] = False
        for k in names:
            out[k][c][ok] = values[k][ok][:, keep]
        if window is not None:
            for v in sc.summary_variables:
                x = values[v][ok]
                if x.shape[0]:
                    out[f"CMAX_{v}"][c][ok] = cmax(row_time, x, window=window)
                    out[f"CMIN_{v}"][c][ok] = cmin(row_time, x, window=window)
                    out[f"AUC_{v}"][c][ok] = auc(row_time, x, window[0], window[1])
        for v in sc.comparison_outputs:
            x = values[v][ok]
            if x.shape[0]:
                out[f"MEAN_{v}"][c][ok] = time_average(row_time, x, window=compare)

    Y0 = np.repeat(model.y0()[None, :], n_pat, axis=0) if cm is None else cm.initial_states(P)
    g = integrate_group(model, sc.solver, Y0, P, row_time.size, events, reduce, closed_form=cf, periodic=periodic,
                        chunk=chunk, on_failure=on_failure, where=lambda s: f"arm {arm.name}{at}, patient {s}")
    out.update(status=g.status, t_fail=g.t_fail, steps=int(g.S[:, ST_STEPS].sum()), rhs=int(g.S[:, ST_RHS].sum()),
               fallback=g.fallback, closed_form=int(g.in_closed.sum()), periodic_from=g.periodic_from,
               window=np.array(window if window is not None else (np.nan, np.nan)), parameters=P)
    return out


def assemble(sc, p, results: dict) -> xr.Dataset:
    """Stack the groups' results of a model scenario into the labelled Dataset."""
    from pkpd.runner import solver_variables, stacker

    model = sc.model
    sweep_dims = [a.key.replace(".", "_") for a in sc.sweep]
    stack = stacker(sc, p, results)

    t = p.stored
    dims = ("arm", *sweep_dims, "patient", "time")
    pdims = ("arm", *sweep_dims, "patient")
    coords = {
        "arm": ("arm", [a.name for a in p.arms]),
        "patient": ("patient", np.arange(p.n_patients)),
        "time": ("time", t, {"units": "h", "long_name": "time since the start of the run"}),
        "day": ("time", t / 24.0, {"units": "d", "long_name": "time since the start of the run"}),
        "bound": ("bound", ["start", "end"]),
    }
    for a, dim in zip(sc.sweep, sweep_dims):
        if a.kind == "parameter":
            unit = model.parameter(a.key).unit
        else:
            unit = {"dose": sc._dosed_state(a.block).unit, "count": "1"}.get(a.name, "h")
        coords[dim] = (dim, np.array(a.values), {"units": unit, "long_name": a.key, "sweep_key": a.key})
        coords[f"{dim}_label"] = (dim, list(a.labels))
    data = {}
    unit_of = {s.name: s.unit for s in model.states} | {o.name: o.unit for o in model.outputs}
    for s in model.states:
        data[s.name] = (dims, stack(s.name), {"units": s.unit, "long_name": s.description})
    for o in model.outputs:
        data[o.name] = (dims, stack(o.name), {"units": o.unit, "long_name": o.description})
    for v in sc.summary_variables:
        for key, (what, suffix) in METRICS.items():
            unit = unit_of[v]
            unit = ("h" if unit in ("1", "") else f"{unit}*h") if suffix else unit
            data[f"{key}_{v}"] = (pdims, stack(f"{key}_{v}"),
                                  {"units": unit, "long_name": f"{what} of {v} over the summary window"})
    data["summary_window"] = (("arm", *sweep_dims, "bound"), stack("window"),
                              {"units": "h", "long_name": "summary window (start, end) of each arm; NaN when the "
                                                          "arm has no complete dosing interval"})
    if sc.comparison_outputs:
        data.update(_comparisons(sc, p, stack, pdims, unit_of))
    # individual parameters do not depend on the arm: those of the first arm, per sweep point
    P = stack("parameters")[0]
    for j, prm in enumerate(model.parameters):
        data[f"param_{prm.name}"] = ((*sweep_dims, "patient"), P[..., j].copy(),
                                     {"units": prm.unit, "long_name": f"{prm.description} (individual value)"})
    pm = sc.population_model
    for name, values in pm.covariate_values(sc.population.seed, 0, p.n_patients).items():
        c = next(c for c in pm.covariates if c.name == name)
        data[f"cov_{name}"] = ("patient", values, {"units": c.unit, "long_name": c.description or f"covariate {name}"})
    status = stack("status")
    split = cascade_split(sc.compiled) if sc.compiled is not None else None
    if split is not None and sc.solver.periodic:
        data["periodic_from"] = (pdims, stack("periodic_from"), {
            "units": "h", "long_name": "time from which " + ", ".join(split.blocks) + " ran alone, the rest "
            "periodic (pkpd.periodic; NaN: the whole run in full)"})
    data.update(solver_variables(stack, pdims, sweep_dims))
    ds = xr.Dataset(data, coords=coords)
    w = sc.summary_window
    opts = sc.solver
    pop = sc.population
    ds.attrs.update(
        title=f"pkpd run of scenario {sc.name} (model {model.name})",
        scenario_kind="model", scenario=sc.text, scenario_name=sc.name, scenario_source=str(sc.source),
        scenario_dir=sc.base_dir,
        model=model.name, model_ref=sc.model_ref, model_file=sc.model_file or "",
        seed=pop.seed, population_size=pop.size,
        variability=", ".join(f"{k}={v:g}" for k, v in pop.variability.items()),
        pkpd_version=__version__,
        solver=f"method={opts.method} rtol={opts.rtol} atol={opts.atol} max_steps={opts.max_steps}",
        summary_variables=", ".join(sc.summary_variables),
        summary_window=w if isinstance(w, str) else f"{w[0]:g} h to {w[1]:g} h",
        n_failed=int(np.count_nonzero(status)), n_stiff_fallback=int(stack("fallback").sum()),
        solver_pk=opts.pk, closed_form=_closed_form_attr(sc, int(stack("closed_form").sum()), p.n_simulations),
        solver_periodic=str(opts.periodic).lower(),
    )
    if split is not None:
        ds.attrs["cascade"] = split.describe()
    if sc.sweep:
        ds.attrs["sweep_keys"] = ", ".join(a.key for a in sc.sweep)
    if sc.comparison_outputs:
        w0, w1 = sc.comparison_window_h
        ds.attrs.update(control_arm=p.control, added_arms=", ".join(p.added_arms), combinations=repr(p.counterparts),
                        comparison_outputs=", ".join(sc.comparison_outputs), comparison_window=f"{w0:g} h to {w1:g} h")
    if pm.covariates or pm.table or any(pm.omega[i][k] for i in range(len(pm.omega)) for k in range(i)):
        ds.attrs["population_model"] = "; ".join(pm.describe())
    return ds


def _periodic_tail(sc, dosing, shared, row_time):
    """``(split, tail, doses)`` when a group takes the periodic-tail path (pkpd.periodic), else ``(split, None, None)``.

    It does when the model is a cascade (:func:`pkpd.periodic.cascade_split`), ``solver.periodic``
    is on, the patients share their doses (no random missed doses, no variability of a dose
    parameter), the doses repeat to the end of the run (:func:`pkpd.periodic.periodic_tail`) and the
    run is long enough to gain; and no dose goes into a slow state or a fast state the slow ones read
    (their table would jump).
    """
    split = cascade_split(sc.compiled) if sc.compiled is not None else None
    if split is None or not sc.solver.periodic or shared is None:
        return split, None, None
    doses = group_doses(sc, dosing, None)
    period = regimen_period([d.regimen for d in dosing])
    end = float(row_time[-1])
    tail = periodic_tail(doses, period, end) if period else None
    if not periodic_applies(tail, end):
        return split, None, None
    dosed = np.unique(shared.cmt[np.isin(shared.kind, (BOLUS, RATE_ON, RATE_OFF))])
    if np.isin(dosed, split.slow + split.needed).any():
        return split, None, None
    return split, tail, doses


def _closed_form_attr(sc, n_closed: int, n_total: int) -> str:
    """Which states ran in closed form (pkpd.closed_form), for how many patient-simulations; or 'none'."""
    cf = closed_form(sc.compiled) if sc.compiled is not None and n_closed else None
    if cf is None:
        return "none"
    return f"{', '.join(cf.closed_states)} ({n_closed} of {n_total} patient-simulations)"


def _comparisons(sc, p, stack, pdims, unit_of) -> dict:
    """Per patient, for each compared output v: its window mean, its inhibition relative to the control
    arm (the same patient untreated), and for each two-drug combination arm the Bliss and HSA excess."""
    arms = [a.name for a in p.arms]
    control = arms.index(p.control)
    data = {}
    window = "the comparison window"
    for v in sc.comparison_outputs:
        m = stack(f"MEAN_{v}")
        data[f"MEAN_{v}"] = (pdims, m, {"units": unit_of[v], "long_name": f"{v} time-averaged over {window}"})
        with np.errstate(divide="ignore", invalid="ignore"):
            inh = 1.0 - m / m[control:control + 1]
        data[f"inhibition_{v}"] = (pdims, inh, {"units": "1", "long_name": f"inhibition of {v}: 1 - its mean over "
                                                f"{window} relative to the same patient untreated"})
        bliss, hsa = np.full(m.shape, np.nan), np.full(m.shape, np.nan)
        for arm, mono in p.counterparts.items():
            if len(mono) != 2:
                continue  # Bliss and HSA are defined here for two-drug combinations
            i = arms.index(arm)
            a, b = (arms.index(x) for x in mono.values())
            bliss[i] = bliss_excess(inh[i], inh[a], inh[b])
            hsa[i] = hsa_excess(inh[i], inh[a], inh[b])
        data[f"bliss_excess_{v}"] = (pdims, bliss, {"units": "1", "long_name": f"excess inhibition of {v} over Bliss "
                                                    "independence of the combination's two monotherapies"})
        data[f"hsa_excess_{v}"] = (pdims, hsa, {"units": "1", "long_name": f"excess inhibition of {v} over the "
                                                "highest single agent"})
    return data


def summary_records(ds: xr.Dataset) -> list[dict]:
    """One record per arm (x sweep point): evaluable patients, summary window, median of each metric.

    Keys: ``arm``, one per swept key (its label, e.g. ``"100 mg"``), ``n`` (patients with a
    successful integration), ``window_h`` and ``<METRIC>_<variable> [<unit>]``, and with
    comparisons ``inhibition_<v> [1]``, ``bliss_excess_<v> [1]``, ``hsa_excess_<v> [1]``; a
    metric without a value (no window; not a combination) is None.
    """
    variables = [v for v in str(ds.attrs.get("summary_variables", "")).split(", ") if v]
    compared = [v for v in str(ds.attrs.get("comparison_outputs", "")).split(", ") if v]
    sweep_dims = [d for d in ds["status"].dims if d not in ("arm", "patient")]
    records = []
    for k, arm in enumerate(ds["arm"].values):
        for idx in np.ndindex(*(ds.sizes[d] for d in sweep_dims)):
            sel = {"arm": k, **dict(zip(sweep_dims, idx))}
            ok = ds["status"].isel(sel).values == 0
            w = ds["summary_window"].isel(sel).values
            rec = {"arm": str(arm)}
            for d, q in zip(sweep_dims, idx):
                rec[ds[d].attrs.get("sweep_key", d)] = str(ds[f"{d}_label"].values[q])
            rec.update(n=int(ok.sum()), window_h="-" if not np.all(np.isfinite(w)) else f"{w[0]:g}-{w[1]:g}")
            for v in variables:
                for key in METRICS:
                    da = ds[f"{key}_{v}"]
                    x = da.isel(sel).values[ok]
                    x = x[np.isfinite(x)]
                    rec[f"{key}_{v} [{da.attrs['units']}]"] = float(np.median(x)) if x.size else None
            for v in compared:
                for key in ("inhibition", "bliss_excess", "hsa_excess"):
                    x = ds[f"{key}_{v}"].isel(sel).values[ok]
                    x = x[np.isfinite(x)]
                    rec[f"{key}_{v} [1]"] = float(np.median(x)) if x.size else None
            if "orr" in ds:
                for key, name, unit in (("orr", "ORR", "1"), ("dcr", "DCR", "1"),
                                        ("median_dor_months", "median DoR", "months"),
                                        ("median_pfs_months", "median PFS", "months")):
                    x = float(ds[key].isel(sel).values)
                    rec[f"{name} [{unit}]"] = x if np.isfinite(x) else None
            records.append(rec)
    return records


def memory_bytes(sc, p) -> int:
    """Peak memory estimate (float64) of a model scenario's run: the stored result twice (groups,
    then the Dataset) and one chunk of patients on the longest group's output rows, twice."""
    m = sc.model
    per_time = m.n_states + len(m.outputs)
    compare = sc.comparison_window_h if sc.comparison_outputs else None
    rows = max(output_rows(sc, sc.arm_regimens(a, q), sc.summary_window_h(a, q), compare)[0].size
               for a in p.arms for q in p.points[:1])
    return 8 * (2 * p.n_simulations * p.stored.size * per_time
                + 2 * min(PATIENT_CHUNK, p.n_patients) * rows * per_time)
