"""pkpd vs scipy ``solve_ivp`` on any model: ``python -m benchmarks.user_model SCENARIO [options]``.

SCENARIO is a scenario with a ``model`` key (``docs/user_models.md``), for instance
``examples/user_model.yaml``: its model, its first dosed arm (or ``--arm NAME``), its
output grid, its tolerances and its patients (``population``) define the problem.  Every
engine integrates the same applied boluses (time after any lag, amount after any
bioavailability, read from pkpd's own event table) with a restart at every dose:

* ``pkpd`` one patient: :func:`pkpd.simulate.simulate` (the public API, dataset included);
* ``pkpd`` population: :func:`pkpd.simulate.simulate_population` on ``--patients`` patients
  (compiled threads), reported per patient;
* ``scipy``: ``solve_ivp`` (LSODA; with ``--all-methods`` also BDF and RK45), with the
  model's right-hand side run by the Python interpreter (``py``, a de-jitted copy) and
  compiled (``jit``, the Numba kernel called from Python).

Each row gives the best wall time of a few runs (warm-up and compilation excluded), the
speed-up against scipy LSODA, right-hand-side evaluations, and the largest error against
a reference (scipy Radau at rtol 1e-10, atol 1e-12, restarted at every dose), scaled per
state by its largest reference value.  Ratios are measurements, never asserted.
Infusions are not benchmarked (the scipy loop handles boluses only).
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from benchmarks.engines import dejit, make_fun, scipy_subject
from benchmarks.timing import best_of

__all__ = ["problem_from_scenario", "run", "render", "main"]

REF_RTOL, REF_ATOL = 1e-10, 1e-12


def problem_from_scenario(path: str, arm: str | None = None, patients: int | None = None) -> dict:
    """The benchmark problem of a model scenario: model, doses, output times (h), P, boluses.

    ``arm`` : the arm to dose as (default the first arm with doses); ``patients`` : how many
    of the scenario's patients (default its population size).
    """
    from pkpd.errors import InputError
    from pkpd.model_group import patient_parameters
    from pkpd.scenario import load_scenario
    from pkpd.simulate import _event_table, _records_from_doses
    from pkpd.solvers.integrate import BOLUS

    sc = load_scenario(path)
    arms = [a for a in sc.arms if a.regimens] if arm is None else [a for a in sc.arms if a.name == arm]
    if not arms:
        raise InputError("--arm", "no such arm, or no arm with doses; arms: " + ", ".join(a.name for a in sc.arms),
                         show_value=False)
    a = arms[0]
    if any(d.infusion_h for d in a.regimens) or any(d.regimen.missed_probability for d in a.regimens):
        raise InputError("--arm", f"arm {a.name} has infusions or random missed doses; benchmark a bolus arm",
                         show_value=False)
    doses = [x for d in a.regimens for x in d.to_doses(sc.duration_h)]
    times = sc.regular_times_h()
    n = sc.population.size if patients is None else patients
    P = patient_parameters(sc, None, 0, n)
    rec = _records_from_doses(doses, times)
    ev = _event_table(sc.model, rec, P[0], None, lambda k: f"dose record {k}")
    on = ev.kind == BOLUS
    return dict(scenario=sc, arm=a.name, model=sc.model, doses=doses, times=times, P=P,
                y0=sc.model.y0(), bolus_time=ev.time[on].copy(), bolus_state=ev.cmt[on].astype(np.int64),
                bolus_amt=ev.value[on].copy())


def _scipy(prob, i, method, rhs, rtol, atol, count=None):
    m = prob["model"]
    fun = make_fun(rhs, prob["P"][i], m.n_states, count)
    Y, _ = scipy_subject(fun, prob["y0"], prob["bolus_time"], prob["bolus_state"], prob["bolus_amt"],
                         prob["times"], method, rtol, atol)
    return Y


def _error(Y, ref) -> float:
    scale = np.maximum(np.max(np.abs(ref), axis=-2, keepdims=True), 1e-12)
    return float(np.max(np.abs(Y - ref) / scale))


def run(path: str, arm: str | None = None, patients: int = 100, all_methods: bool = False, repeats: int = 3,
        log=print) -> tuple[list[dict], dict]:
    """Time every engine on the scenario's problem; returns ``(rows, info)`` (see the module docstring)."""
    from pkpd.simulate import simulate, simulate_population

    prob = problem_from_scenario(path, arm, patients)
    sc, m = prob["scenario"], prob["model"]
    rtol = sc.solver.rtol
    atol = sc.solver.atol_array(m.n_states)
    params0 = dict(zip(m.parameter_names, prob["P"][0]))
    states = m.state_names
    log(f"reference: scipy Radau rtol {REF_RTOL:g} ({m.name}, {len(prob['doses'])} doses, "
        f"{prob['times'].size} output times)")
    ref = _scipy(prob, 0, "Radau", m.rhs, REF_RTOL, REF_ATOL)
    rows = []

    def row(engine, method, rhs, t, n_sub, evals, err, note=""):
        rows.append(dict(engine=engine, method=method, rhs=rhs, time_s=float(t) / n_sub, n_subjects=n_sub,
                         rhs_evals=evals, max_err=err, note=note))
        log(f"  {engine} {method} {rhs}: {float(t) / n_sub * 1e3:.3f} ms per patient")

    for method in ("dopri5", "radau5"):
        solver = dict(method=method, rtol=rtol, atol=list(atol))
        t, _, ds = best_of(lambda: simulate(m, prob["doses"], prob["times"], params0, solver=solver),
                           repeats=repeats)
        Y = np.stack([ds[s].values for s in states], axis=-1)
        row("pkpd", method, "jit", t, 1, float(ds["solver_rhs_evaluations"]), _error(Y, ref))
    if patients > 1:
        t, _, ds = best_of(lambda: simulate_population(m, prob["doses"], prob["times"], prob["P"],
                                                       solver=dict(method="dopri5", rtol=rtol, atol=list(atol))),
                           repeats=repeats)
        Y = np.stack([ds[s].values[0] for s in states], axis=-1)
        row("pkpd", "dopri5", "jit", t, patients, float(ds["solver_rhs_evaluations"].mean()), _error(Y, ref),
            note=f"{patients} patients in compiled threads, time per patient")
    py_rhs = dejit(m.rhs)
    for method in ("LSODA", "BDF", "RK45") if all_methods else ("LSODA",):
        for kind, rhs in (("py", py_rhs), ("jit", m.rhs)):
            count = [0]
            t, _, Y = best_of(lambda: _scipy(prob, 0, method, rhs, rtol, atol), repeats=repeats)
            _scipy(prob, 0, method, rhs, rtol, atol, count)
            row("scipy", method, kind, t, 1, count[0], _error(Y, ref))
    for r in rows:
        for kind in ("py", "jit"):
            base = next((b for b in rows if b["engine"] == "scipy" and b["method"] == "LSODA" and b["rhs"] == kind),
                        None)
            r[f"x_vs_lsoda_{kind}"] = base["time_s"] / r["time_s"] if base else None
    info = dict(scenario=path, model=m.name, model_file=sc.model_file or "shipped", arm=prob["arm"],
                n_states=m.n_states, n_doses=len(prob["doses"]), n_times=int(prob["times"].size),
                rtol=rtol, atol=sc.solver.atol, patients=patients)
    return rows, info


def render(rows: list[dict], info: dict) -> str:
    """The rows as a markdown table with a header naming the problem."""
    def ms(v):
        return f"{v * 1e3:.3f} ms" if v < 1 else f"{v:.2f} s"

    def x(v):
        return "–" if v is None else f"{v:.1f}×"

    out = [f"# pkpd vs scipy on {info['model']} ({info['model_file']})", "",
           f"Scenario `{info['scenario']}`, arm {info['arm']}: {info['n_states']} states, {info['n_doses']} doses, "
           f"{info['n_times']} output times, rtol {info['rtol']:g}, atol {info['atol']}. Restarted at every dose. "
           f"Error: max over states of |y - ref| / max |ref|, reference scipy Radau rtol {REF_RTOL:g}.", "",
           "| engine | method | rhs | time per patient | × vs LSODA py | × vs LSODA jit | rhs evals | max err "
           "| note |",
           "|---|---|---|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        out.append(f"| {r['engine']} | {r['method']} | {r['rhs']} | {ms(r['time_s'])} | {x(r['x_vs_lsoda_py'])} "
                   f"| {x(r['x_vs_lsoda_jit'])} | {r['rhs_evals']:,.0f} | {r['max_err']:.1e} | {r['note']} |")
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.user_model", description=__doc__.split("\n")[0])
    ap.add_argument("scenario", help="a scenario with a 'model' key, e.g. examples/user_model.yaml")
    ap.add_argument("--arm", default=None, help="arm whose dosing is benchmarked (default: the first with doses)")
    ap.add_argument("--patients", type=int, default=100, help="patients of the population row (default 100)")
    ap.add_argument("--all-methods", action="store_true", help="also scipy BDF and RK45")
    ap.add_argument("--quick", action="store_true", help="one timed run per engine, 10 patients")
    args = ap.parse_args(argv)
    from pkpd.errors import PKPDError

    t0 = time.perf_counter()
    try:
        rows, info = run(args.scenario, args.arm, 10 if args.quick else args.patients, args.all_methods,
                         repeats=1 if args.quick else 3, log=lambda s: print(s, file=sys.stderr, flush=True))
    except PKPDError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(render(rows, info))
    print(f"\n({time.perf_counter() - t0:.0f} s in all)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
