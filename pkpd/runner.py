"""Scenario -> every arm x sweep point x patient -> a labelled :class:`xarray.Dataset`.

The runner expands a validated :class:`pkpd.scenario.Scenario`: it adds the arms
that the comparisons need (an untreated control, and the monotherapy arms that
match each combination arm, said in ``attrs["added_arms"]``), samples the virtual
patients once (the same patients in every arm, so comparisons are paired), builds
one event table per arm and sweep point, and integrates all patients of it in
parallel compiled threads.  It then computes the observables (concentrations in
nM, signaling readouts, tumour size) and the metrics of :mod:`pkpd.metrics`.

Dimensions of the result: ``arm``, one per swept key (named with ``_`` for ``.``,
e.g. ``neratinib_dose``), ``patient``, ``time`` (h; coordinate ``day`` too) and
``drug`` for concentrations.
"""

from __future__ import annotations

import math
import time as _time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import xarray as xr

from pkpd import __version__
from pkpd.errors import SolverError
from pkpd.events import build_events
from pkpd.models.drugs import get_drug
from pkpd.population import sample_parameters
from pkpd.scenario import Arm, Scenario
from pkpd.simulate import _event_table, _records_from_doses
from pkpd.solvers import get_method
from pkpd.solvers._common import N_STATS, ST_RHS, ST_STEPS
from pkpd.solvers.integrate import integrate_population
from pkpd.solvers.status import SolverStatus
from pkpd.system import (DEPOT_CMT, N_STATES, OBSERVABLES, PATHS, READOUTS, SYSTEM, dose_modifiers,
                         initial_states, observables, parameter_matrix)

__all__ = ["Plan", "plan", "run", "DRUG_NAMES", "BIOPSY_MARKERS"]

DRUG_NAMES = ("neratinib", "ruxolitinib")
#: the biopsy panel (RPPA-like): phospho-proteins, SOCS3, IL-6 and the proliferation signal
BIOPSY_MARKERS = ("pEGFR", "pERK", "pAKT", "pSTAT3", "SOCS3", "IL6", "P")


@dataclass(frozen=True)
class Plan:
    """What a run will do: arms (added ones included), sweep points, patients, sizes."""

    arms: tuple[Arm, ...]
    added_arms: tuple[str, ...]
    counterparts: dict          # combination arm name -> {drug: monotherapy arm name}
    control: str
    points: tuple[dict, ...]
    n_patients: int
    times: np.ndarray

    @property
    def n_simulations(self) -> int:
        return len(self.arms) * len(self.points) * self.n_patients

    @property
    def memory_bytes(self) -> int:
        """Memory of the stored trajectories (float64): states during integration + observables."""
        per_sim = self.times.size * (N_STATES + 2 * len(DRUG_NAMES) + 2 * len(READOUTS) + 2) * 8
        return self.n_simulations * per_sim

    def describe(self) -> str:
        lines = [f"arms ({len(self.arms)}): " + ", ".join(a.name for a in self.arms)]
        if self.added_arms:
            lines.append("added for the comparisons: " + ", ".join(self.added_arms))
        lines.append(f"sweep points: {len(self.points)}")
        lines.append(f"patients per arm and point: {self.n_patients}")
        lines.append(f"simulations: {self.n_simulations} ({N_STATES} states, {self.times.size} output times)")
        lines.append(f"estimated memory: {self.memory_bytes / 2**20:.1f} MiB")
        return "\n".join(lines)


def _arm_drugs(arm: Arm) -> tuple[str, ...]:
    return tuple(dict.fromkeys(r.drug for r in arm.regimens))


def plan(scenario: Scenario) -> Plan:
    """The arms, points and patients of a run, with the control and monotherapy arms it needs added."""
    arms = list(scenario.arms)
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
        drugs = _arm_drugs(arm)
        if len(drugs) < 2:
            continue
        counterparts[arm.name] = {}
        for drug in drugs:
            mono = tuple(r for r in arm.regimens if r.drug == drug)
            match = next((a for a in arms if a.regimens == mono), None)
            if match is None:
                match = add(f"{drug} as in {arm.name}", mono)
            counterparts[arm.name][drug] = match.name
    return Plan(arms=tuple(arms), added_arms=tuple(added), counterparts=counterparts, control=control.name,
                points=tuple(scenario.sweep_points()), n_patients=scenario.population.size,
                times=scenario.times_h())


def _patient_parameters(scenario: Scenario, point: dict) -> np.ndarray:
    """(n_patients, n_parameters): overrides at ``point`` times each patient's PK variability."""
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


def _doses(regimens, duration_h):
    doses = []
    for r in regimens:
        doses += r.to_doses(DEPOT_CMT[r.drug], duration_h + 1e-9)
    return doses


def run(scenario: Scenario, progress: Callable[[int, int], None] | None = None) -> xr.Dataset:
    """Simulate every arm x sweep point x patient of ``scenario``; return trajectories and metrics.

    ``progress(done, total)`` is called after each arm x sweep point.
    Raises :class:`pkpd.errors.SolverError` naming the arm, sweep point and patient of a failure.
    """
    from pkpd.metrics import compute_metrics

    p = plan(scenario)
    t = p.times
    opts = scenario.solver
    segment = get_method(opts.method).segment
    opts_arr, atol = opts.opts_array(), opts.atol_array(N_STATES)
    n_arm, n_pt, n_pat, n_t = len(p.arms), len(p.points), p.n_patients, t.size
    obs = {k: np.zeros((n_arm, n_pt, n_pat, n_t, len(DRUG_NAMES)) if k.startswith("conc")
                       else (n_arm, n_pt, n_pat, n_t)) for k in OBSERVABLES}
    baseline = {k: np.zeros((n_pt, n_pat)) for k in READOUTS}
    stats = np.zeros((n_arm, n_pt, N_STATS), np.int64)
    ss_window = np.full((n_arm, n_pt, len(DRUG_NAMES), 2), np.nan)
    total, done = n_arm * n_pt, 0
    t_start = _time.perf_counter()
    for j, point in enumerate(p.points):
        P = _patient_parameters(scenario, point)
        Y0 = initial_states(P)
        base = observables(Y0[:, None, :], P)
        for k in READOUTS:
            baseline[k][j] = base[k][:, 0]
        for i, arm in enumerate(p.arms):
            regimens = scenario.arm_regimens(arm, point)
            for d, drug in enumerate(DRUG_NAMES):
                ss_window[i, j, d] = _last_interval([r for r in regimens if r.drug == drug], scenario.duration_h)
            rec = _records_from_doses(_doses(regimens, scenario.duration_h), t)
            ev = _event_table(SYSTEM, rec, P[0], dose_modifiers, lambda q: f"arms[{arm.name}] dose {q}")
            Y = np.zeros((n_pat, n_t, N_STATES))
            S = np.zeros((n_pat, N_STATS), np.int64)
            status = np.zeros(n_pat, np.int64)
            t_fail = np.zeros(n_pat)
            start = np.zeros(n_pat, np.int64)
            end = np.full(n_pat, len(ev), np.int64)
            integrate_population(SYSTEM.rhs, segment, Y0, P, *ev.kernel_args(), start, end, *ev.ss_args(),
                                 Y, atol, opts_arr, S, status, t_fail)
            bad = np.flatnonzero(status)
            if bad.size:
                s = int(bad[0])
                where = f"arm {arm.name}" + (f", sweep point {point}" if point else "") + f", patient {s}"
                raise SolverError(status[s], SolverStatus(status[s]).message, t_fail[s], where)
            stats[i, j] = S.sum(axis=0)
            o = observables(Y, P)
            for k in OBSERVABLES:
                obs[k][i, j] = o[k]
            done += 1
            if progress is not None:
                progress(done, total)
    elapsed = _time.perf_counter() - t_start
    ds = _dataset(scenario, p, obs, baseline, stats, ss_window)
    ds.attrs["elapsed_s"] = round(elapsed, 3)
    return xr.merge([ds, compute_metrics(ds)], combine_attrs="override")


def _dataset(scenario: Scenario, p: Plan, obs: dict, baseline: dict, stats: np.ndarray,
             ss_window: np.ndarray) -> xr.Dataset:
    sweep_dims = [a.key.replace(".", "_") for a in scenario.sweep]
    shape = [len(a.values) for a in scenario.sweep]
    n_arm, n_pat, n_t = len(p.arms), p.n_patients, p.times.size

    def unflat(x, trailing):
        return x.reshape((n_arm, *shape) + x.shape[2:]) if trailing else x.reshape((*shape,) + x.shape[1:])

    dims = ("arm", *sweep_dims, "patient", "time")
    coords = {
        "arm": ("arm", [a.name for a in p.arms]),
        "patient": ("patient", np.arange(n_pat)),
        "time": ("time", p.times, {"units": "h", "long_name": "time since the start of treatment"}),
        "day": ("time", p.times / 24.0, {"units": "d", "long_name": "time since the start of treatment"}),
        "drug": ("drug", list(DRUG_NAMES)),
    }
    for a, dim in zip(scenario.sweep, sweep_dims):
        unit = {"dose": "mg"}.get(a.name, "h" if a.kind == "regimen" else SYSTEM.parameters[PATHS[a.key]].unit
                                  if a.key in PATHS else "1")
        coords[dim] = (dim, np.array(a.values), {"units": unit, "long_name": a.key, "sweep_key": a.key})
        coords[f"{dim}_label"] = (dim, list(a.labels))
    data = {}
    for k, (units, long_name) in OBSERVABLES.items():
        x = unflat(obs[k], True)
        data[k] = (dims + (("drug",) if k.startswith("conc") else ()), x, {"units": units, "long_name": long_name})
    for k in READOUTS:
        base = unflat(baseline[k], False)  # (*sweep, patient)
        rel = unflat(obs[k], True) / base[None, ..., None]
        data[f"{k}_rel"] = (dims, rel, {"units": "1", "long_name": f"{k} relative to the untreated baseline"})
        data[f"{k}_baseline"] = ((*sweep_dims, "patient"), base,
                                 {"units": "1", "long_name": f"{k} at the untreated steady state"})
    if len(scenario.biopsies_h):
        # reverse-phase protein array-like panel: log2 fold change from the untreated baseline
        idx = np.searchsorted(p.times, np.asarray(scenario.biopsies_h) - 1e-9)
        panel = np.stack([np.log2(data[f"{m}_rel"][1][..., idx]) for m in BIOPSY_MARKERS], axis=-1)
        coords["biopsy_time"] = ("biopsy_time", p.times[idx], {"units": "h", "long_name": "biopsy time"})
        coords["marker"] = ("marker", list(BIOPSY_MARKERS))
        data["biopsy_log2fc"] = ((*dims[:-1], "biopsy_time", "marker"), panel,
                                 {"units": "1", "long_name": "biopsy readout, log2 fold change from baseline"})
    data["ss_interval"] = (("arm", *sweep_dims, "drug", "bound"), unflat(ss_window, True),
                           {"units": "h", "long_name": "last complete dosing interval of each drug (start, end), "
                                                       "used for steady-state exposure"})
    data["solver_steps"] = (("arm", *sweep_dims), unflat(stats[..., ST_STEPS], True),
                            {"units": "1", "long_name": "accepted solver steps, all patients"})
    data["solver_rhs_evaluations"] = (("arm", *sweep_dims), unflat(stats[..., ST_RHS], True),
                                      {"units": "1", "long_name": "right-hand-side evaluations, all patients"})
    ds = xr.Dataset(data, coords=coords)
    ds.attrs.update(
        title=f"pkpd run of scenario {scenario.name}",
        scenario=scenario.text, scenario_name=scenario.name, scenario_source=str(scenario.source),
        seed=scenario.population.seed, variability=int(scenario.population.variability),
        pkpd_version=__version__, model=SYSTEM.name,
        solver=f"method={scenario.solver.method} rtol={scenario.solver.rtol} atol={scenario.solver.atol} "
               f"max_steps={scenario.solver.max_steps}",
        control_arm=p.control, added_arms=", ".join(p.added_arms),
        combinations=repr(p.counterparts), evaluation_window_h=list(scenario.window_h),
        sweep_keys=", ".join(a.key for a in scenario.sweep),
    )
    return ds
