"""Scenario -> every arm x sweep point x patient -> a labelled :class:`xarray.Dataset`.

The runner expands a validated :class:`pkpd.scenario.Scenario`: it adds the arms
that the comparisons need (an untreated control, and the monotherapy arms that
match each combination arm, listed in ``attrs["added_arms"]``), samples the
virtual patients once per sweep point (the same patients in every arm, so
comparisons are paired), and simulates one *group* (an arm at a sweep point, all
patients in parallel compiled threads) at a time.  Under periodic dosing a long run
integrates the whole system only until each patient's PK and network repeat from one
period to the next, then the tumour alone (:mod:`pkpd.periodic`); with the stiff
methods the PK is evaluated in closed form (:mod:`pkpd.closed_form`; ``solver.pk``).

Each group is reduced as soon as it is simulated, on the full output grid: the
time averages of every readout over the evaluation window, the steady-state
exposure of each drug, the biopsy panel; only then are trajectories thinned to the
times that ``store`` keeps.  So metrics do not depend on what is stored, and memory
stays bounded by the stored grid.  Groups are independent and deterministic, so
they can be checkpointed, resumed (:mod:`pkpd.checkpoint`), or sent to other
executors, and the result is identical.

Dimensions of the result: ``arm``, one per swept key (named with ``_`` for ``.``,
e.g. ``neratinib_dose``), ``patient``, ``time`` (h; coordinate ``day`` too) and
``drug`` for concentrations.
"""

from __future__ import annotations

import math
import os
import time as _time
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np
import xarray as xr

from pkpd import __version__
from pkpd.analysis.exposure import auc, cmax, cmin
from pkpd.analysis.inhibition import time_average
from pkpd.closed_form import closed_form
from pkpd.group import Periodic, integrate_group
from pkpd.errors import ScenarioError
from pkpd.models.drugs import get_drug
from pkpd.periodic import (MAX_PERIOD_H, TABLE_SPACING_H, applies as periodic_applies, cascade_split,
                           first_attempt_periods, periodic_tail, regimen_period)
from pkpd.population import sample_parameters
from pkpd.scenario import Arm, Scenario
from pkpd.simulate import _event_table, _records_from_doses
from pkpd.solvers._common import ST_RHS, ST_STEPS
from pkpd.solvers.status import SolverStatus
from pkpd.variability import apply_variability
from pkpd.system import (DEPOT_CMT, N_STATES, OBSERVABLES, PATHS, READOUTS, SYSTEM, TRIAL_KERNELS, dose_modifiers,
                         initial_states, observables, parameter_matrix)

#: the trial system's closed-form path: both drugs' PK, found from its equations (pkpd.closed_form)
TRIAL_CLOSED = closed_form(TRIAL_KERNELS)
#: its cascade: the tumour alone once the PK and network repeat, found from its block graph (pkpd.periodic)
TRIAL_SPLIT = cascade_split(TRIAL_KERNELS)

__all__ = ["Plan", "plan", "run", "run_group", "assemble", "DRUG_NAMES", "BIOPSY_MARKERS", "ON_FAILURE"]

DRUG_NAMES = ("neratinib", "ruxolitinib")
#: the biopsy panel (RPPA-like): phospho-proteins, SOCS3, IL-6 and the proliferation signal
BIOPSY_MARKERS = ("pEGFR", "pERK", "pAKT", "pSTAT3", "SOCS3", "IL6", "P")
ON_FAILURE = ("fail", "skip")
#: spacing (h) of the extra outputs over the evaluation window and the last two days, where the
#: time-averaged readouts and steady-state exposure are read (Cmax error <= |C''| dt^2 / 8)
FINE_GRID_H = 0.05
#: patients handed to the compiled threads at once (Python checks for interrupts between chunks)
PATIENT_CHUNK = 64
_EXPOSURE = ("CMAX", "CTROUGH", "AUCTAU")


@dataclass(frozen=True)
class Plan:
    """What a run will do: arms (added ones included), sweep points, patients, sizes."""

    arms: tuple[Arm, ...]
    added_arms: tuple[str, ...]
    counterparts: dict          # combination arm name -> {drug: monotherapy arm name}
    control: str
    points: tuple[dict, ...]
    n_patients: int
    times: np.ndarray           # the full integration output grid, h
    stored: np.ndarray          # the times kept in the result, h (a subset of ``times``)
    period_rows: int = 0        # extra output rows of the periodic path's first phase (its table of P)
    model_bytes: int = 0        # a scenario with a model: its memory estimate (pkpd.model_group.memory_bytes)
    n_states: int = N_STATES    # states of the model simulated

    @property
    def n_groups(self) -> int:
        return len(self.arms) * len(self.points)

    @property
    def n_simulations(self) -> int:
        return self.n_groups * self.n_patients

    @property
    def memory_bytes(self) -> int:
        """Peak memory estimate (float64): the stored result twice (the groups' arrays, then the
        assembled Dataset) plus one chunk of patients on the full grid (states and observables, and
        temporaries: three times) and the periodic path's first phase (its table of P, twice).
        Measured: 1000 patients x 4 arms x 18 months, ``store: scans``: estimate 0.7 GiB, peak 0.67 GB."""
        if self.model_bytes:
            return self.model_bytes
        per_time = N_STATES + 2 * len(DRUG_NAMES) + 2 * len(READOUTS) + 2
        result = self.n_simulations * self.stored.size * (per_time - N_STATES) * 8 * 2
        n = min(self.n_patients, PATIENT_CHUNK)
        chunk = n * self.times.size * per_time * 8 * 3 + n * self.period_rows * N_STATES * 8 * 2
        return result + chunk

    def describe(self) -> str:
        lines = [f"arms ({len(self.arms)}): " + ", ".join(a.name for a in self.arms)]
        if self.added_arms:
            lines.append("added for the comparisons: " + ", ".join(self.added_arms))
        lines.append(f"sweep points: {len(self.points)}")
        lines.append(f"patients per arm and point: {self.n_patients}")
        lines.append(f"simulations: {self.n_simulations} ({self.n_states} states, {self.times.size} output times, "
                     f"{self.stored.size} stored)")
        lines.append(f"estimated memory: {self.memory_bytes / 2**20:.1f} MiB")
        return "\n".join(lines)


def available_memory() -> int:
    """Bytes of physical memory this process can expect to use (total RAM, or 8 GiB if unknown)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 * 2**30


def _comparison_arms(written) -> tuple[tuple[Arm, ...], tuple[str, ...], dict, str]:
    """The arms with an untreated control and each combination's monotherapies added (if missing).

    Returns ``(arms, added names, {combination: {drug: monotherapy arm}}, control name)``; a
    model scenario's "drugs" are its dosed compartments.
    """
    arms = list(written)
    added = []
    names = {a.name for a in arms}

    def add(name, regimens):
        while name in names:
            name += "'"
        arm = Arm(name=name, regimens=regimens, description="added by pkpd for the comparisons")
        arms.append(arm)
        names.add(name)
        added.append(name)
        return arm

    control = next((a for a in arms if not a.regimens), None)
    if control is None:
        control = add("control", ())
    counterparts = {}
    for arm in list(arms):
        drugs = arm.drugs
        if len(drugs) < 2:
            continue
        counterparts[arm.name] = {}
        for drug in drugs:
            mono = tuple(r for r in arm.regimens if r.target == drug)
            match = next((a for a in arms if a.regimens == mono), None)
            if match is None:
                match = add(f"{drug} as in {arm.name}", mono)
            counterparts[arm.name][drug] = match.name
    return tuple(arms), tuple(added), counterparts, control.name


def plan(scenario: Scenario) -> Plan:
    """The arms, points and patients of a run, with the control and monotherapy arms it needs added.

    A scenario with a ``model`` runs on its regular output grid, with those arms added only
    when it has ``comparisons``.
    """
    if scenario.model is not None:
        from pkpd.model_group import memory_bytes

        t = scenario.times_h()
        if scenario.comparison_outputs:
            arms, added, counterparts, control = _comparison_arms(scenario.arms)
        else:
            arms, added, counterparts, control = scenario.arms, (), {}, ""
        p = Plan(arms=arms, added_arms=added, counterparts=counterparts, control=control,
                 points=tuple(scenario.sweep_points()), n_patients=scenario.population.size, times=t, stored=t,
                 n_states=scenario.model.n_states)
        return replace(p, model_bytes=max(1, memory_bytes(scenario, p)))
    arms, added, counterparts, control = _comparison_arms(scenario.arms)
    stored = scenario.stored_times_h()
    # Integration outputs: the scenario's grid plus a fine grid over the evaluation window (time
    # averages of the readouts) and over the last two days (steady-state CMAX, CTROUGH, AUCTAU of
    # a daily or shorter interval); extra outputs never change the solution, and only the
    # ``stored`` times are kept.
    base = scenario.times_h()
    w0, w1 = scenario.window_h
    fine = np.union1d(np.arange(max(0.0, scenario.duration_h - 2 * 24.0), scenario.duration_h, FINE_GRID_H),
                      np.arange(w0, w1, FINE_GRID_H))
    i = np.clip(np.searchsorted(base, fine), 1, base.size - 1)
    near = np.minimum(np.abs(fine - base[i - 1]), np.abs(fine - base[i])) < 1e-6  # already a scenario time
    times = np.union1d(base, fine[~near])
    points = tuple(scenario.sweep_points())
    return Plan(arms=arms, added_arms=added, counterparts=counterparts, control=control,
                points=points, n_patients=scenario.population.size, times=times, stored=stored,
                period_rows=_period_rows(scenario, arms, points))


def _period_rows(scenario: Scenario, arms, points) -> int:
    """Rows of the periodic path's table of P for the longest dosing period of the run (0 if it is off).

    From the regimens' periods alone (no doses expanded); beyond 1000 arm x point pairs, the
    longest period the path looks for.
    """
    if not scenario.solver.periodic:
        return 0
    if len(arms) * len(points) > 1000:
        longest = MAX_PERIOD_H
    else:
        periods = [regimen_period(scenario.arm_regimens(a, q)) for a in arms for q in points]
        longest = max([t for t in periods if t is not None], default=0.0)
    return math.ceil(longest / TABLE_SPACING_H) + 1 if longest else 0


#: CPU seconds per simulated patient-day integrated in full, and with the tumour alone (the periodic
#: path, runner included): measured 0.12 ms (dopri5, 56 days, rtol 1e-6) to 0.19 ms (radau5, 18 months,
#: rtol 1e-4) in full, rounded up for slower machines; 1000 patients x 4 arms x 18 months with the
#: periodic path: 34 CPU-seconds, 0.015 ms per patient-day.
COST_FULL_S, COST_TUMOUR_ALONE_S = 0.3e-3, 0.01e-3


def estimated_cpu_seconds(scenario: Scenario, p: Plan) -> float:
    """A rough CPU time (s, one core, after compilation) for the run: patient-days in full and tumour alone."""
    days = scenario.duration_h / 24.0
    if scenario.model is not None:
        return days * COST_FULL_S * p.n_simulations * scenario.model.n_states / N_STATES
    total = 0.0
    for arm in p.arms:
        for point in p.points:
            regimens = scenario.arm_regimens(arm, point)
            tail = _periodic(scenario, regimens, _doses(regimens, scenario.duration_h), float(p.times[-1]))
            if tail is not None:
                # the first attempt, and a second for some patients
                full = min(days, 1.5 * (tail.start_h + first_attempt_periods(tail) * tail.period_h) / 24.0)
                total += full * COST_FULL_S + (days - full) * COST_TUMOUR_ALONE_S
            else:
                total += days * COST_FULL_S
    return total * p.n_patients


def check_memory(p: Plan, limit: int | None = None) -> None:
    """Refuse, before any work, a run whose estimated memory exceeds 80% of the machine's."""
    limit = int(0.8 * available_memory()) if limit is None else limit
    if p.memory_bytes > limit:
        need = f"the run needs about {p.memory_bytes / 2**30:.1f} GiB, more than the {limit / 2**30:.1f} GiB available"
        if p.model_bytes:
            raise ScenarioError("population.size", f"{need}; use a coarser output_every, a shorter duration, "
                                "fewer sweep points or a smaller population", show_value=False)
        raise ScenarioError("store", f"{need}; use 'store: scans' or 'store: daily', a coarser "
                            "'output_every', or a smaller population", show_value=False)


def patient_parameters(scenario: Scenario, point: dict) -> np.ndarray:
    """(n_patients, n_parameters): overrides at ``point`` times each patient's PK variability.

    Patient ``i`` draws from its own random stream of the scenario seed, so its
    parameters do not depend on how patients are split into groups or workers.
    """
    pop = scenario.population
    P = parameter_matrix(pop.size, scenario.parameters_at(point))
    for name in DRUG_NAMES:
        drug = get_drug(name)
        vp = sample_parameters(drug, pop.size, pop.seed, variability=pop.variability)
        typical = drug.typical_values()
        for j, pname in enumerate(vp.parameter_names):
            path = f"{name}.{pname}"
            if path in PATHS and typical[pname] != 0:
                P[:, PATHS[path]] *= vp.values[:, j] / typical[pname]
    # between-patient variability of tumour growth, drug sensitivity and lesion size
    apply_variability(P, pop.seed, variability=pop.variability)
    return P


def _last_interval(regimens, duration_h) -> tuple[float, float]:
    """(start, end) h of the last complete dosing interval of one drug's regimens; NaN if none."""
    if len(regimens) != 1:
        return (math.nan, math.nan)  # no drug, or several schedules of it: no single interval
    r = regimens[0]
    times = r.dose_times(duration_h + 1e-9)
    full = times[times + r.interval_h <= duration_h + 1e-9]
    if full.size == 0:
        return (math.nan, math.nan)
    return (float(full[-1]), float(full[-1] + r.interval_h))


def _periodic(scenario: Scenario, regimens, doses, end_h: float):
    """The periodic tail of an arm's dosing when the periodic path applies to it (pkpd.periodic), else None."""
    if not scenario.solver.periodic:
        return None
    period = regimen_period(regimens)
    tail = periodic_tail(doses, period, end_h) if period else None
    return tail if periodic_applies(tail, end_h) else None


def _doses(regimens, duration_h):
    doses = []
    for r in regimens:
        doses += r.to_doses(DEPOT_CMT[r.drug], duration_h + 1e-9)
    return doses


def run_group(scenario: Scenario, p: Plan, i: int, j: int, on_failure: str = "fail") -> dict:
    """Simulate arm ``i`` at sweep point ``j`` for every patient; return stored arrays and reductions.

    The patients are integrated by :func:`pkpd.group.integrate_group` (the loop every run shares:
    chunks of :data:`PATIENT_CHUNK`, the closed-form and periodic paths, the stiff retry); each
    chunk is integrated on the full output grid and reduced at once (window means of the readouts,
    steady-state exposure per drug, the biopsy panel, the stored trajectories), so memory
    is bounded by one chunk and Python regains control (Ctrl-C, SIGTERM) after every chunk.
    Deterministic: the same inputs give bitwise the same arrays.
    """
    arm, point = p.arms[i], p.points[j]
    t = p.times
    P = patient_parameters(scenario, point)
    regimens = scenario.arm_regimens(arm, point)
    doses = _doses(regimens, scenario.duration_h)
    ev = _event_table(SYSTEM, _records_from_doses(doses, t), P[0], dose_modifiers,
                      lambda q: f"arm {arm.name}, dose {q}")
    tail = _periodic(scenario, regimens, doses, float(t[-1]))
    periodic = None if tail is None else Periodic(
        tail, TRIAL_SPLIT, doses, t, lambda rec: _event_table(SYSTEM, rec, P[0], dose_modifiers, lambda q: f"dose {q}"))
    n_pat, n_drug = P.shape[0], len(DRUG_NAMES)
    keep = np.searchsorted(t, p.stored)
    windows = np.array([_last_interval([r for r in regimens if r.drug == d], scenario.duration_h)
                        for d in DRUG_NAMES])
    biopsy = np.searchsorted(t, np.asarray(scenario.biopsies_h) - 1e-9) if len(scenario.biopsies_h) else None
    out = {"ss_interval": windows}
    for k in OBSERVABLES:
        out[k] = np.empty((n_pat, keep.size, n_drug) if k.startswith("conc") else (n_pat, keep.size))
    for k in READOUTS:
        out[f"{k}_baseline"] = np.empty(n_pat)
        out[f"{k}_window_mean"] = np.empty(n_pat)
    for key in _EXPOSURE:
        out[key] = np.full((n_pat, n_drug), np.nan)
    if biopsy is not None:
        out["biopsy_log2fc"] = np.empty((n_pat, biopsy.size, len(BIOPSY_MARKERS)))
    Y0 = initial_states(P)

    def reduce(c, Y, bad):
        """Chunk ``c``: stored observables, window means, steady-state exposure, biopsy panel (failed: NaN)."""
        o = observables(Y, P[c])
        base = observables(Y0[c][:, None, :], P[c])
        for v in o.values():
            v[bad] = np.nan
        for k, v in o.items():
            out[k][c] = v[:, keep]
        for k in READOUTS:
            out[f"{k}_baseline"][c] = base[k][:, 0]
            out[f"{k}_window_mean"][c] = time_average(t, o[k], window=scenario.window_h)
        for d in range(n_drug):
            t0, t1 = windows[d]
            if np.isfinite(t0):
                conc = o["conc"][..., d]
                out["CMAX"][c, d] = cmax(t, conc, window=(t0, t1))
                out["CTROUGH"][c, d] = cmin(t, conc, window=(t0, t1))
                out["AUCTAU"][c, d] = auc(t, conc, t0, t1)
        if biopsy is not None:
            out["biopsy_log2fc"][c] = np.stack(
                [np.log2(o[m][:, biopsy] / base[m][:, 0][:, None]) for m in BIOPSY_MARKERS], axis=-1)

    def events(c):
        n_c = c.stop - c.start
        return ev, np.zeros(n_c, np.int64), np.full(n_c, len(ev), np.int64)

    at = f"arm {arm.name}" + (f", sweep point {point}" if point else "")
    g = integrate_group(SYSTEM, scenario.solver, Y0, P, t.size, events, reduce, closed_form=TRIAL_CLOSED,
                        periodic=periodic, chunk=PATIENT_CHUNK, on_failure=on_failure,
                        where=lambda s: f"{at}, patient {s}")
    out.update(status=g.status, t_fail=g.t_fail, steps=g.S[:, ST_STEPS].sum(), rhs=g.S[:, ST_RHS].sum(),
               fallback=g.fallback, periodic_from=g.periodic_from)
    return out


def run(scenario: Scenario, progress: Callable[[int, int], None] | None = None, *, on_failure: str = "fail",
        checkpoint=None, map_groups: Callable | None = None) -> xr.Dataset:
    """Simulate every arm x sweep point x patient of ``scenario``; return trajectories and metrics.

    Parameters
    ----------
    progress : ``progress(done, total)``, called after each group (arm x sweep point).
    on_failure : ``"fail"`` raises :class:`SolverError` naming the arm, sweep point and patient
        of the first failed integration; ``"skip"`` marks failed patients in the ``status``
        variable, leaves their trajectories NaN and excludes them from metrics (counted in
        ``n_failed``).
    checkpoint : a :class:`pkpd.checkpoint.Checkpoint` keeping finished groups on disk, or None.
    map_groups : ``map_groups(fn, items)`` returning results in order (e.g. a Dask executor);
        default: the groups run one after another here, each in parallel threads.
    """
    from pkpd.metrics import compute_metrics

    if on_failure not in ON_FAILURE:
        raise ScenarioError("on_failure", "must be one of " + ", ".join(ON_FAILURE), on_failure)
    if scenario.model is not None:  # a scenario with a model: its groups and Dataset (pkpd.model_group)
        from pkpd import model_group

        group, assemble_ = model_group.run_group, model_group.assemble
    else:
        group, assemble_ = run_group, assemble
    p = plan(scenario)
    check_memory(p)
    items = [(i, j) for j in range(len(p.points)) for i in range(len(p.arms))]
    results: dict = {}
    if checkpoint is not None:
        results.update(checkpoint.load(items))
    todo = [it for it in items if it not in results]
    t_start = _time.perf_counter()
    done = len(results)

    def finished(item, res):
        nonlocal done
        results[item] = res
        if checkpoint is not None:
            checkpoint.save(item, res)
        done += 1
        if progress is not None:
            progress(done, len(items))

    if map_groups is None:
        for item in todo:
            finished(item, group(scenario, p, *item, on_failure=on_failure))
    else:
        for item, res in zip(todo, map_groups(lambda it: group(scenario, p, *it, on_failure=on_failure), todo)):
            finished(item, res)
    ds = assemble_(scenario, p, results)
    ds.attrs["elapsed_s"] = round(_time.perf_counter() - t_start, 3)
    if scenario.model is not None and not scenario.trial_tumor:
        return ds
    parts = [ds] if scenario.model is not None else [ds, compute_metrics(ds)]
    scans = scenario.scan_times_h()
    if scans.size > 1 and scenario.population.size > 1:  # response needs a scan after baseline, and a population
        from pkpd.trial import trial_endpoints_dataset

        # a model scenario's tumour variable (trial.tumor) is what RECIST reads as tumor_diameter
        read = ds if scenario.model is None else ds[[scenario.trial_tumor]].rename(
            {scenario.trial_tumor: "tumor_diameter"}).assign_attrs(ds.attrs)
        endpoints = trial_endpoints_dataset(read, scans, seed=scenario.population.seed, **scenario.recist.options())
        parts.append(endpoints)
        # record how the scans were read (the scenario's recist key) with the result
        ds.attrs.update({k: v for k, v in endpoints.attrs.items()
                         if k.startswith("recist_") and k != "recist_scan_times_h"})
    return xr.merge(parts, combine_attrs="override")


def stacker(scenario: Scenario, p: Plan, results: dict) -> Callable[[str], np.ndarray]:
    """``stack(key)``: the groups' arrays ``results[(i, j)][key]`` as one array (arm, *sweep shape, ...)."""
    shape = [len(a.values) for a in scenario.sweep]
    n_arm, n_pt = len(p.arms), len(p.points)

    def stack(key):
        first = results[(0, 0)][key]
        arr = np.empty((n_arm, n_pt) + np.shape(first), dtype=np.asarray(first).dtype)
        for (i, j), res in results.items():
            arr[i, j] = res[key]
        return arr.reshape((n_arm, *shape) + arr.shape[2:])

    return stack


def solver_variables(stack, pdims, sweep_dims) -> dict:
    """The Dataset's ``status``, ``t_fail`` (per patient) and solver counts (per group) of any run."""
    status = stack("status")
    return {
        "status": (pdims, status, {"units": "1", "long_name": "solver status (0 = success)",
                                   "flag_meanings": "; ".join(f"{s.value}={s.name}" for s in SolverStatus)}),
        "t_fail": (pdims, np.where(status != 0, stack("t_fail"), np.nan),
                   {"units": "h", "long_name": "time at which a failed integration stopped"}),
        "solver_steps": (("arm", *sweep_dims), stack("steps"),
                         {"units": "1", "long_name": "accepted solver steps, all patients"}),
        "solver_rhs_evaluations": (("arm", *sweep_dims), stack("rhs"),
                                   {"units": "1", "long_name": "right-hand-side evaluations, all patients"}),
    }


def assemble(scenario: Scenario, p: Plan, results: dict) -> xr.Dataset:
    """Stack the groups' results into the labelled Dataset (without metrics)."""
    sweep_dims = [a.key.replace(".", "_") for a in scenario.sweep]
    stack = stacker(scenario, p, results)

    dims = ("arm", *sweep_dims, "patient", "time")
    coords = {
        "arm": ("arm", [a.name for a in p.arms]),
        "patient": ("patient", np.arange(p.n_patients)),
        "time": ("time", p.stored, {"units": "h", "long_name": "time since the start of treatment"}),
        "day": ("time", p.stored / 24.0, {"units": "d", "long_name": "time since the start of treatment"}),
        "drug": ("drug", list(DRUG_NAMES)),
    }
    for a, dim in zip(scenario.sweep, sweep_dims):
        unit = {"dose": "mg", "count": "1"}.get(a.name, "h" if a.kind == "regimen" else
                                                 SYSTEM.parameters[PATHS[a.key]].unit if a.key in PATHS else "1")
        coords[dim] = (dim, np.array(a.values), {"units": unit, "long_name": a.key, "sweep_key": a.key})
        coords[f"{dim}_label"] = (dim, list(a.labels))
    pdims = ("arm", *sweep_dims, "patient")
    data = {}
    for k, (units, long_name) in OBSERVABLES.items():
        data[k] = (dims + (("drug",) if k.startswith("conc") else ()), stack(k),
                   {"units": units, "long_name": long_name})
    for k in READOUTS:
        base = stack(f"{k}_baseline")
        data[f"{k}_rel"] = (dims, data[k][1] / base[..., None], {"units": "1",
                            "long_name": f"{k} relative to the untreated baseline"})
        data[f"{k}_baseline"] = (pdims, base, {"units": "1", "long_name": f"{k} at the untreated steady state"})
        data[f"{k}_window_mean"] = (pdims, stack(f"{k}_window_mean"),
                                    {"units": "1", "long_name": f"{k} time-averaged over the evaluation window"})
    for key, long_name in (("CMAX", "steady-state maximum concentration"),
                           ("CTROUGH", "steady-state trough concentration"),
                           ("AUCTAU", "steady-state AUC over one dosing interval")):
        data[f"{key}_individual"] = (pdims + ("drug",), stack(key),
                                     {"units": "nM*h" if key == "AUCTAU" else "nM", "long_name": long_name})
    data["ss_interval"] = (("arm", *sweep_dims, "drug", "bound"), stack("ss_interval"),
                           {"units": "h", "long_name": "last complete dosing interval of each drug (start, end), "
                                                       "used for steady-state exposure"})
    if len(scenario.biopsies_h):
        idx = np.searchsorted(p.times, np.asarray(scenario.biopsies_h) - 1e-9)
        coords["biopsy_time"] = ("biopsy_time", p.times[idx], {"units": "h", "long_name": "biopsy time"})
        coords["marker"] = ("marker", list(BIOPSY_MARKERS))
        data["biopsy_log2fc"] = (pdims + ("biopsy_time", "marker"), stack("biopsy_log2fc"),
                                 {"units": "1", "long_name": "biopsy readout, log2 fold change from baseline"})
    status = stack("status")
    data.update(solver_variables(stack, pdims, sweep_dims))
    data["periodic_from"] = (pdims, stack("periodic_from"),
                             {"units": "h", "long_name": "time from which the tumour was integrated alone, the PK "
                                                         "and network at their periodic steady state (NaN: the "
                                                         "whole run in full; pkpd.periodic)"})
    ds = xr.Dataset(data, coords=coords)
    ds.attrs.update(
        title=f"pkpd run of scenario {scenario.name}",
        scenario=scenario.text, scenario_name=scenario.name, scenario_source=str(scenario.source),
        seed=scenario.population.seed, variability=int(scenario.population.variability),
        pkpd_version=__version__, model=SYSTEM.name,
        solver=f"method={scenario.solver.method} rtol={scenario.solver.rtol} atol={scenario.solver.atol} "
               f"max_steps={scenario.solver.max_steps} periodic={scenario.solver.periodic} "
               f"pk={scenario.solver.pk} ({'closed form' if scenario.solver.closed_form_pk else 'ODE'})",
        control_arm=p.control, added_arms=", ".join(p.added_arms),
        combinations=repr(p.counterparts), evaluation_window_h=list(scenario.window_h),
        sweep_keys=", ".join(a.key for a in scenario.sweep), store=scenario.store,
        n_failed=int(np.count_nonzero(status)),
        n_stiff_fallback=int(stack("fallback").sum()),
    )
    return ds
