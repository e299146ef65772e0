"""The benchmark suite: every comparison, as plain records (dicts) ready for the report and JSON.

Entry points (also used by ``tests/test_benchmarks.py`` on tiny sizes):

* :func:`engine_rows` -- one problem, one subject: pkpd and scipy (and optional peers);
* :func:`population_rows` -- one problem, many subjects: pkpd for all of them, scipy on
  a subset, extrapolated linearly to the whole population;
* :func:`thread_scaling` -- the compiled population driver on 1 and 2 threads;
* :func:`overhead` -- where the time of one ``simulate`` call goes (Python vs kernel);
* :func:`radau_diagnostics` -- pkpd radau5 vs scipy Radau step/Jacobian/LU counts;
* :func:`run` -- all of it for a :class:`Config`.
"""

from __future__ import annotations

import platform
import subprocess
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from benchmarks import engines as E
from benchmarks import problems as PR
from benchmarks.timing import best_of, compile_times, load_average


@dataclass
class Config:
    """Sizes and tolerances of one benchmark run."""

    quick: bool = False
    rtol: float = 1e-6
    atol: float = 1e-8
    ref_rtol: float = 1e-10
    ref_atol: float = 1e-12
    repeats: int = 3
    budget_s: float = 20.0          # stop repeating a measurement after this much timed time
    pk_doses: int = 57              # pk2cmt: doses q24h ...
    pk_end_h: float = 1344.0        # ... and hourly output to this time
    pk_pop: int = 2000
    pk_subset: int = 20             # scipy subjects timed for the pk2cmt population
    system_days: float = 56.0
    system_pop: int = 1000
    system_subset: int = 3          # scipy patients timed (and reference-solved) for the system population
    scaling_pk: int = 2000
    scaling_system: int = 200
    scipy_methods: tuple = ("LSODA", "BDF", "RK45", "Radau")
    rhs_kinds: tuple = ("py", "jit")
    pop_scipy: tuple = (("LSODA", "py"), ("LSODA", "jit"), ("RK45", "jit"))
    cold_compile: bool = True
    compile: bool = True            # measure start-up in fresh processes at all
    peers: bool = True
    horizon_days: float = 548.0     # long-horizon section: the virtual trial's 18 months ...
    horizon_rtol: float = 1e-4      # ... at its tolerances
    horizon_atol: float = 1e-4
    horizon_methods: tuple = ("dopri5", "radau5", "rodas3")
    trial_patients: int = 1000      # virtual-trial section: patients per arm (periodic path) ...
    trial_full_subset: int = 100    # ... and on how many the full integration is timed (scaled up)
    kernels: str = "full"           # generated vs hand-written kernels, Jacobians: full | quick | tiny sizes

    @classmethod
    def quick_config(cls) -> "Config":
        return cls(quick=True, repeats=2, budget_s=2.0, pk_pop=200, pk_subset=2, system_days=7.0,
                   system_pop=40, system_subset=1, scaling_pk=200, scaling_system=20,
                   scipy_methods=("LSODA", "RK45"), pop_scipy=(("LSODA", "py"), ("LSODA", "jit")),
                   cold_compile=False, horizon_days=56.0, trial_patients=40, trial_full_subset=10,
                   kernels="quick")

    @classmethod
    def tiny_config(cls) -> "Config":
        """For the tests: seconds, not minutes; numbers are not meaningful as timings."""
        return cls(quick=True, repeats=1, budget_s=0.5, pk_doses=8, pk_end_h=168.0, pk_pop=6, pk_subset=2,
                   system_days=2.0, system_pop=4, system_subset=1, scaling_pk=6, scaling_system=2,
                   scipy_methods=("LSODA",), pop_scipy=(("LSODA", "py"), ("LSODA", "jit")),
                   cold_compile=False, compile=False, peers=False, horizon_days=7.0, horizon_methods=("dopri5",),
                   trial_patients=3, trial_full_subset=2, kernels="tiny")


# ----------------------------------------------------------------------------- errors
def scaled_error(Y, ref) -> float:
    """max over states of  max_t |Y - ref| / max_t |ref|  (per subject, then the max over subjects).

    Y, ref : (..., n_times, n_states).  A state whose reference never exceeds 1e-12 in
    magnitude is compared in absolute terms.  The result is dimensionless: 1e-6 means
    "one millionth of that state's largest value over the run".
    """
    Y, ref = np.asarray(Y), np.asarray(ref)
    scale = np.maximum(np.max(np.abs(ref), axis=-2, keepdims=True), 1e-12)
    return float(np.max(np.abs(Y - ref) / scale))


_REF_CACHE: dict = {}


def _reference(problem, idx, cfg):
    """Reference states of subjects ``idx`` (memoised: the tight scipy solve is the slowest step)."""
    idx = list(idx)
    key = (problem.name, cfg.ref_rtol, cfg.ref_atol,
           hash((problem.P[idx].tobytes(), problem.Y0[idx].tobytes(), problem.times.tobytes(),
                 problem.bolus_time.tobytes(), problem.bolus_amt.tobytes())))
    if key not in _REF_CACHE:
        if problem.name == "pk2cmt":
            _REF_CACHE[key] = E.exact_pk2cmt(problem, idx)
        else:
            _REF_CACHE[key] = E.reference(problem, idx, cfg.ref_rtol, cfg.ref_atol)
    return _REF_CACHE[key]


def reference_note(problem, cfg) -> str:
    if problem.name == "pk2cmt":
        return ("exact closed-form solution (pkpd.solvers.linear.propagate_2cmt_oral between output/dose "
                "times; no ODE solver involved)")
    return (f"scipy Radau, rtol {cfg.ref_rtol:g}, atol {cfg.ref_atol:g}, compiled rhs, restarted at every "
            "dose")


# ----------------------------------------------------------------------------- single subject
def _row(**kw):
    base = dict(problem=None, n_subjects=1, engine=None, method=None, rhs=None, time_s=None, cpu_s=None,
                timing="", steps=None, rhs_evals=None, max_err=None, x_vs_lsoda_py=None, x_vs_lsoda_jit=None,
                subjects_per_s=None, load=None, note="")
    base.update(kw)
    if base["time_s"] is not None:
        base["time_s"] = float(base["time_s"])
        if base["cpu_s"] is None:
            base["cpu_s"] = float(getattr(kw["time_s"], "cpu", float("nan")))
        base["load"] = load_average()
    return base


def _add_ratios(rows):
    """Speed-ups against scipy LSODA (py and jit rhs) of the same problem and size, by wall and CPU time.

    ``x_vs_lsoda_*`` divide wall-clock times; ``x_cpu_vs_lsoda_*`` divide CPU times (all
    threads of the process), which other processes on a shared machine barely disturb,
    and which for multi-threaded pkpd rows compare total work rather than elapsed time.
    """
    base = {}
    for r in rows:
        if r["engine"] == "scipy" and r["method"] == "LSODA" and r["time_s"]:
            base[(r["problem"], r["n_subjects"], r["rhs"])] = (r["time_s"], r["cpu_s"])
    for r in rows:
        if r["time_s"]:
            for kind in ("py", "jit"):
                b = base.get((r["problem"], r["n_subjects"], kind))
                r[f"x_vs_lsoda_{kind}"] = None if b is None else b[0] / r["time_s"]
                r[f"x_cpu_vs_lsoda_{kind}"] = (None if b is None or not r["cpu_s"] or r["cpu_s"] != r["cpu_s"]
                                               else b[1] / r["cpu_s"])
            r["subjects_per_s"] = r["n_subjects"] / r["time_s"]
    return rows


def _closed_form_rows(problem, cfg: Config, idx, ref, subset=1, log=print):
    """pkpd with the PK in closed form (the full model only), dopri5 and radau5; error on the first ``subset``."""
    if problem.name != "system":
        return []
    rows = []
    for method in ("dopri5", "radau5"):
        sec, n, (Y, c) = best_of(lambda m=method: E.pkpd_closed_form(problem, idx, m, cfg.rtol, cfg.atol),
                                 cfg.repeats, cfg.budget_s)
        rows.append(_row(problem=problem.name, n_subjects=len(idx), engine="pkpd", method=method,
                         rhs="compiled, PK in closed form", time_s=sec, timing=f"best of {n}", steps=c["steps"],
                         rhs_evals=c["rhs"], max_err=scaled_error(Y[:subset] if Y.shape[0] > 1 else Y[0], ref),
                         note="pkpd.closed_form.ClosedForm.integrate (dose tables, kernel, PK amounts; "
                              "no Dataset)"))
        log(f"  pkpd {method:7s} closed-form PK x{len(idx)} {sec * 1e3:9.2f} ms")
    return rows


def engine_rows(problem, cfg: Config, log=print):
    """pkpd (dopri5, radau5), scipy (methods x rhs kinds) and optional peers on subject 0."""
    ref = _reference(problem, [0], cfg)[0]
    rows = []
    for method in ("dopri5", "radau5"):
        sec, n, (Y, c) = best_of(lambda m=method: E.pkpd_subject(problem, 0, m, cfg.rtol, cfg.atol),
                                 cfg.repeats, cfg.budget_s)
        rows.append(_row(problem=problem.name, engine="pkpd", method=method, rhs="compiled", time_s=sec,
                         timing=f"best of {n}", steps=c["steps"], rhs_evals=c["rhs"],
                         max_err=scaled_error(Y, ref), note="pkpd.simulate (xarray Dataset included)"))
        log(f"  pkpd {method:7s} {sec * 1e3:9.2f} ms")
    rows += _closed_form_rows(problem, cfg, [0], ref)
    for method in cfg.scipy_methods:
        for kind in cfg.rhs_kinds:
            _, counts = E.scipy_run(problem, [0], method, kind, cfg.rtol, cfg.atol, count=True)  # = warm-up
            sec, n, (Y, _) = best_of(lambda m=method, k=kind: E.scipy_run(problem, [0], m, k, cfg.rtol, cfg.atol),
                                     cfg.repeats, cfg.budget_s, warmup=False)
            rows.append(_row(problem=problem.name, engine="scipy", method=method, rhs=kind, time_s=sec,
                             timing=f"best of {n}", steps=counts["steps"], rhs_evals=counts["rhs"],
                             max_err=scaled_error(Y[0], ref)))
            log(f"  scipy {method:6s} {kind:3s} {sec * 1e3:9.2f} ms")
    if cfg.peers:
        rows += peer_rows(problem, cfg, ref, log)
    return _add_ratios(rows)


def peer_rows(problem, cfg, ref, log=print):
    """numbalsoda / diffrax / libroadrunner rows: run when installed, otherwise a skipped row."""
    rows = []
    peers = [("numbalsoda", "numbalsoda", "LSODA", "cfunc",
              lambda: E.numbalsoda_run(problem, [0], cfg.rtol, cfg.atol))]
    if problem.name == "pk2cmt":
        peers += [("diffrax", "diffrax", "Tsit5", "jax",
                   lambda: E.diffrax_run(problem, [0], cfg.rtol, cfg.atol, "Tsit5")),
                  ("diffrax", "diffrax", "Kvaerno5", "jax",
                   lambda: E.diffrax_run(problem, [0], cfg.rtol, cfg.atol, "Kvaerno5"))]
    if problem.name == "system":
        peers += [("roadrunner", "libroadrunner", "CVODE BDF", "SBML (LLVM)",
                   lambda: E.roadrunner_run(problem, [0], cfg.rtol, cfg.atol, stiff=True)),
                  ("roadrunner", "libroadrunner", "CVODE Adams", "SBML (LLVM)",
                   lambda: E.roadrunner_run(problem, [0], cfg.rtol, cfg.atol, stiff=False))]
    else:
        peers += [("roadrunner", "libroadrunner", "CVODE", "SBML", None)]
    for module, engine, method, kind, fn in peers:
        if not E.available(module):
            rows.append(_row(problem=problem.name, engine=engine, method=method, rhs=kind,
                             note=f"skipped: `{module}` is not installed"))
            continue
        if fn is None:
            rows.append(_row(problem=problem.name, engine=engine, method=method, rhs=kind,
                             note="installed, but no adapter yet (needs an SBML/Antimony model of this problem)"))
            continue
        try:
            sec, n, (Y, _) = best_of(fn, cfg.repeats, cfg.budget_s)
            rows.append(_row(problem=problem.name, engine=engine, method=method, rhs=kind, time_s=sec,
                             timing=f"best of {n}", max_err=scaled_error(Y[0], ref)))
            log(f"  {engine} {method} {sec * 1e3:9.2f} ms")
        except Exception as exc:  # an optional peer must never break the benchmark
            rows.append(_row(problem=problem.name, engine=engine, method=method, rhs=kind,
                             note=f"failed: {type(exc).__name__}: {exc}"[:200]))
    return rows


# ----------------------------------------------------------------------------- populations
def population_rows(problem, cfg: Config, subset: int, log=print):
    """pkpd on every subject; scipy on the first ``subset`` subjects, extrapolated to all."""
    n = problem.n
    subset = min(subset, n)
    sub = list(range(subset))
    ref = _reference(problem, sub, cfg)
    rows = []
    small = list(range(min(n, 4)))
    for method in ("dopri5", "radau5"):
        E.pkpd_population(problem, small, method, cfg.rtol, cfg.atol)  # warm-up on a few subjects
        sec, k, (Y, c) = best_of(lambda m=method: E.pkpd_population(problem, range(n), m, cfg.rtol, cfg.atol),
                                 cfg.repeats, cfg.budget_s, warmup=False)
        api = ("pkpd.simulate_population" if problem.dose_modifiers is None
               else "pkpd integrate_population (as pkpd.runner)")
        rows.append(_row(problem=problem.name, n_subjects=n, engine="pkpd", method=method, rhs="compiled",
                         time_s=sec, timing=f"best of {k}", steps=c["steps"], rhs_evals=c["rhs"],
                         max_err=scaled_error(Y[:subset], ref),
                         note=f"{api}; error on " + ("subject 0" if subset == 1 else f"subjects 0-{subset - 1}")))
        log(f"  pkpd {method:7s} x{n} {sec:8.3f} s")
    rows += _closed_form_rows(problem, cfg, range(n), ref, subset)
    for method, kind in cfg.pop_scipy:
        _, counts = E.scipy_run(problem, sub[:1], method, kind, cfg.rtol, cfg.atol, count=True)
        c0, t0 = time.process_time(), time.perf_counter()
        Y, _ = E.scipy_run(problem, sub, method, kind, cfg.rtol, cfg.atol)
        sec_sub, cpu_sub = time.perf_counter() - t0, time.process_time() - c0
        rows.append(_row(problem=problem.name, n_subjects=n, engine="scipy", method=method, rhs=kind,
                         time_s=sec_sub * n / subset, cpu_s=cpu_sub * n / subset,
                         timing=f"{subset} subjects x {n / subset:g} (extrapolated)",
                         steps=counts["steps"], rhs_evals=counts["rhs"], max_err=scaled_error(Y, ref),
                         note="sequential, one process; counts of subject 0"))
        log(f"  scipy {method} {kind} {subset} subjects {sec_sub:8.3f} s -> x{n} {sec_sub * n / subset:8.1f} s")
    return _add_ratios(rows)


def thread_scaling(problem, cfg: Config, method="dopri5", log=print):
    """Compiled population driver (event table prebuilt) on 1 thread and on all threads (max 2 .. nproc).

    The thread counts are interleaved (1, 2, 1, 2, ...) and the best time of each is kept,
    so a burst of load from other processes does not land on one thread count only.
    """
    import numba

    ev = problem.event_table()
    idx = np.arange(problem.n)
    E.pkpd_population_kernel(problem, idx[:2], method, cfg.rtol, cfg.atol, ev)
    max_threads = numba.config.NUMBA_NUM_THREADS
    counts = sorted({1, 2, max_threads} & set(range(1, max_threads + 1)))
    old = numba.get_num_threads()
    best = {k: (float("inf"), float("inf"), 0) for k in counts}
    spent = 0.0
    try:
        for _rep in range(max(1, cfg.repeats)):
            for k in counts:
                numba.set_num_threads(k)
                c0, t0 = time.process_time(), time.perf_counter()
                E.pkpd_population_kernel(problem, idx, method, cfg.rtol, cfg.atol, ev)
                dt, dc = time.perf_counter() - t0, time.process_time() - c0
                spent += dt
                w, c, n = best[k]
                best[k] = (dt, dc, n + 1) if dt < w else (w, c, n + 1)
            if spent > cfg.budget_s:
                break
    finally:
        numba.set_num_threads(old)
    res = []
    for k in counts:
        w, c, n = best[k]
        res.append(dict(problem=problem.name, method=method, n_subjects=problem.n, threads=k, time_s=w, cpu_s=c,
                        timing=f"best of {n}", subjects_per_s=problem.n / w, load=load_average()))
        log(f"  threads {k}: {w:8.3f} s ({problem.n / w:9.1f} subjects/s)")
    for r in res:
        r["speedup_vs_1"] = res[0]["time_s"] / r["time_s"]
    return res


def overhead(problem, cfg: Config, method="dopri5"):
    """Split one ``simulate`` call: event table (Python), kernel (compiled), Dataset (Python)."""
    from pkpd.simulate import _dataset, _event_table, _jacobian, _records_from_doses, _solver
    from pkpd.solvers._common import N_STATS
    from pkpd.solvers.integrate import integrate_subject

    model, t = problem.model, problem.times
    p = problem.P[0]
    y0 = problem.Y0[0]

    def events():
        rec = _records_from_doses(problem.doses, t)
        return _event_table(model, rec, p, problem.dose_modifiers, lambda k: "")

    ev = events()
    opts, segment, opts_arr, atol = _solver(dict(method=method, rtol=cfg.rtol, atol=cfg.atol), model.n_states)
    jac = _jacobian(model, opts, opts_arr)

    def kernel():
        y_out = np.zeros((t.size, model.n_states))
        stats = np.zeros(N_STATS, np.int64)
        integrate_subject(model.rhs, segment, y0, p, *ev.kernel_args(), 0, len(ev), *ev.ss_args(),
                          y_out, atol, opts_arr, stats, jac)
        return y_out, stats

    y_out, stats = kernel()

    def dataset():
        return _dataset(model, y_out, p, ("time",), {"time": ("time", t)}, opts, stats)

    out = {"problem": problem.name, "method": method}
    for name, fn in (("events_s", events), ("kernel_s", kernel), ("dataset_s", dataset),
                     ("simulate_s", lambda: E.pkpd_subject(problem, 0, method, cfg.rtol, cfg.atol))):
        out[name] = float(best_of(fn, max(cfg.repeats, 3), cfg.budget_s)[0])
    out["python_share"] = 1.0 - out["kernel_s"] / out["simulate_s"]
    return out


def population_overhead(problem, cfg: Config, method="dopri5"):
    """``simulate_population`` as a whole vs its compiled driver alone (event table prebuilt)."""
    idx = np.arange(problem.n)
    ev = problem.event_table()
    E.pkpd_population_kernel(problem, idx[:2], method, cfg.rtol, cfg.atol, ev)
    kernel = whole = float("inf")
    for _rep in range(max(2, cfg.repeats)):  # interleaved, best of each
        t0 = time.perf_counter()
        E.pkpd_population_kernel(problem, idx, method, cfg.rtol, cfg.atol, ev)
        t1 = time.perf_counter()
        E.pkpd_population(problem, idx, method, cfg.rtol, cfg.atol)
        t2 = time.perf_counter()
        kernel, whole = min(kernel, t1 - t0), min(whole, t2 - t1)
    return {"problem": f"{problem.name} x{problem.n} (simulate_population)", "method": method,
            "events_s": None, "kernel_s": kernel, "dataset_s": None, "simulate_s": whole,
            "python_share": 1.0 - kernel / whole}


def radau_diagnostics(problem, cfg: Config, atols=(1e-8, 1e-9), log=print):
    """pkpd radau5 / dopri5 vs scipy Radau (compiled rhs) counts on subject 0, and the stiffness.

    For each atol: accepted/rejected steps, rhs evaluations, Jacobians and LU
    factorisations of pkpd radau5 (kernel counters) and scipy Radau (sums of its
    per-segment counters; scipy's nfev excludes Jacobian columns, so columns are
    added as n * njev), and dopri5's steps.  Also: the largest |eigenvalue| of the
    Jacobian at 25 times along the trajectory, and the step it allows dopri5
    (stability limit ~3.3/|lambda| for a real negative eigenvalue).
    """
    from scipy.integrate import solve_ivp

    from pkpd.solvers import SolverOptions
    from pkpd.solvers._common import N_STATS
    from pkpd.solvers.integrate import integrate_subject

    out = {"problem": problem.name, "rtol": cfg.rtol, "cases": []}
    n = problem.n_states
    p = problem.P[0]
    ev = problem.event_table()
    for atol in atols:
        case = {"atol": atol}
        for method in ("radau5", "dopri5"):
            opts = SolverOptions(method=method, rtol=cfg.rtol, atol=atol)
            stats = np.zeros(N_STATS, np.int64)
            jac, analytic = problem.model.jacobian(opts.jacobian)
            integrate_subject(problem.model.rhs, opts.solver.segment, problem.Y0[0].copy(), p, *ev.kernel_args(),
                              0, len(ev), *ev.ss_args(), np.zeros((problem.times.size, n)),
                              opts.atol_array(n), opts.opts_array(analytic), stats, jac)
            case[f"pkpd_{method}"] = dict(zip(("steps", "rejected", "rhs", "jac", "lu", "segments"),
                                              map(int, stats)))
        # scipy Radau, same restarts
        fun = E.make_fun(problem.model.rhs, p, n)
        y = problem.Y0[0].copy()
        t = 0.0
        tot = dict(steps=0, rhs=0, jac=0, lu=0, segments=0)
        stops = np.unique(np.concatenate([problem.bolus_time, [0.0, problem.times[-1]]]))
        hs = []
        for stop in stops:
            if stop > t:
                sol = solve_ivp(fun, (t, stop), y, method="Radau", rtol=cfg.rtol, atol=atol)
                tot["steps"] += sol.t.size - 1
                tot["rhs"] += sol.nfev + n * sol.njev
                tot["jac"] += sol.njev
                tot["lu"] += sol.nlu
                tot["segments"] += 1
                hs.append(np.diff(sol.t))
                y = sol.y[:, -1].copy()
                t = stop
            on = problem.bolus_time == stop
            for s, a in zip(problem.bolus_state[on], problem.bolus_amt[on]):
                y[s] += a
        h = np.concatenate(hs)
        tot["median_step_h"] = float(np.median(h))
        case["scipy_Radau"] = tot
        out["cases"].append(case)
        log(f"  atol {atol:g}: pkpd radau5 {case['pkpd_radau5']['steps']} steps, scipy Radau {tot['steps']}, "
            f"pkpd dopri5 {case['pkpd_dopri5']['steps']}")
    # what drives the step counts: loosen atol on the PK amounts only (the other states keep cfg.atol)
    if problem.name == "system":
        from pkpd.system import S_NET

        out["pk_atol_sweep"] = []
        for pk_atol in (cfg.atol, 1e-6, 1e-4):
            a = np.full(n, cfg.atol)
            a[:S_NET] = pk_atol
            rec = {"pk_atol": pk_atol}
            for method in ("radau5", "dopri5"):
                opts = SolverOptions(method=method, rtol=cfg.rtol, atol=tuple(a))
                stats = np.zeros(N_STATS, np.int64)
                Y = np.zeros((problem.times.size, n))
                jac, analytic = problem.model.jacobian(opts.jacobian)
                integrate_subject(problem.model.rhs, opts.solver.segment, problem.Y0[0].copy(), p,
                                  *ev.kernel_args(), 0, len(ev), *ev.ss_args(), Y, opts.atol_array(n),
                                  opts.opts_array(analytic), stats, jac)
                rec[method] = {"steps": int(stats[0]), "rhs": int(stats[2]),
                               "max_err": scaled_error(Y, _reference(problem, [0], cfg)[0])}
            out["pk_atol_sweep"].append(rec)
    # stiffness: eigenvalues of the Jacobian along an accurate trajectory (25 times)
    J = np.empty((n, n))
    lam = []
    Ys = _reference(problem, [0], cfg)[0]
    for ti in np.linspace(0, problem.times.size - 1, 25).astype(int):
        y = Ys[ti]
        f0 = fun(problem.times[ti], y)
        for j in range(n):
            dy = 1e-7 * max(abs(y[j]), 1e-6)
            yp = y.copy()
            yp[j] += dy
            J[:, j] = (fun(problem.times[ti], yp) - f0) / dy
        lam.append(np.max(np.abs(np.linalg.eigvals(J))))
    out["max_abs_eigenvalue_per_h"] = float(max(lam))
    out["dopri5_stability_step_h"] = 3.3 / float(max(lam))
    out["dopri5_steps_if_stability_limited"] = problem.times[-1] / out["dopri5_stability_step_h"]
    return out


# ----------------------------------------------------------------------------- machine
def machine() -> dict:
    import numba
    import scipy

    info = {"python": platform.python_version(), "numba": numba.__version__, "numpy": np.__version__,
            "scipy": scipy.__version__, "platform": platform.platform(),
            "numba_threads": numba.config.NUMBA_NUM_THREADS}
    try:
        import pkpd

        info["pkpd"] = pkpd.__version__
    except Exception:  # pragma: no cover
        pass
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in lscpu.splitlines():
            key, _, val = line.partition(":")
            if key.strip() in ("Model name", "CPU(s)", "Thread(s) per core", "Core(s) per socket", "L3 cache"):
                info[key.strip()] = val.strip()
    except OSError:
        pass
    try:
        info["nproc"] = int(subprocess.run(["nproc"], capture_output=True, text=True).stdout)
    except (OSError, ValueError):
        pass
    return info


# ----------------------------------------------------------------------------- long horizon
#: arm -> (neratinib dosed, ruxolitinib dosed), at the trial doses of :func:`benchmarks.problems.system`
HORIZON_ARMS = {"control": (False, False), "neratinib": (True, False), "ruxolitinib": (False, True),
                "combination": (True, True)}


def long_horizon(cfg: Config, log=print) -> dict:
    """Each arm of the virtual trial for one typical patient over ``horizon_days`` at the trial's
    tolerances, with every method: time, steps, rhs calls and the largest relative error of the
    tumour diameter at the 8-weekly scans against radau5 at rtol 1e-10 (what RECIST reads).

    Which method is cheapest depends on the arm: an untreated arm is a long quiet stretch that an
    implicit method crosses in a few steps and an explicit one only at its stability limit; with
    doses every 12 h the network needs ~1 h steps after each dose whatever the method, and then
    the cheap explicit step wins.
    """
    from pkpd.models.tumor import sphere_diameter
    from pkpd.simulate import simulate
    from pkpd.system import DEPOT_CMT, SYSTEM, dose_modifiers

    end_h = cfg.horizon_days * 24.0
    # the 8-weekly scans and the end of the run (the solver stops at the last output time)
    scans = np.unique(np.r_[np.arange(0.0, end_h, 56 * 24.0), end_h])
    out = {"days": cfg.horizon_days, "rtol": cfg.horizon_rtol, "atol": cfg.horizon_atol, "rows": []}
    prob = PR.system(1, days=cfg.horizon_days, dt_h=24.0)   # the typical patient, both drugs
    kw = dict(y0=prob.Y0[0], dose_modifiers=dose_modifiers)
    params = dict(zip(SYSTEM.parameter_names, prob.P[0]))
    for arm, (ner, rux) in HORIZON_ARMS.items():
        given = {DEPOT_CMT["neratinib"]: ner, DEPOT_CMT["ruxolitinib"]: rux}
        doses = [d for d in prob.doses if given[d.cmt]]

        def diam(method, rtol, atol, max_steps=10**8):
            ds = simulate(SYSTEM, doses, scans, params, solver=dict(method=method, rtol=rtol, atol=atol,
                                                                   max_steps=max_steps), **kw)
            return sphere_diameter(ds["tumor_volume"].values), ds

        ref, _ = diam("radau5", cfg.ref_rtol, cfg.ref_atol)
        for method in cfg.horizon_methods:
            sec, n, (d, ds) = best_of(lambda m=method: diam(m, cfg.horizon_rtol, cfg.horizon_atol),
                                      cfg.repeats, cfg.budget_s)
            out["rows"].append(dict(arm=arm, method=method, time_s=sec, timing=f"best of {n}",
                                    steps=int(ds["solver_steps"]), rhs=int(ds["solver_rhs_evaluations"]),
                                    max_rel_err_diameter=float(np.max(np.abs(d - ref) / ref))))
            log(f"  {arm:12s} {method:7s} {sec * 1e3:9.2f} ms")
    return out


# ----------------------------------------------------------------------------- virtual trial
TRIAL_SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "virtual_trial.yaml"


def virtual_trial(cfg: Config, log=print) -> dict:
    """``pkpd.runner.run`` of ``scenarios/virtual_trial.yaml`` (4 arms, 18 months, radau5 at rtol 1e-4)
    with ``store: scans`` (endpoints only), the whole runner timed (sampling, integration, metrics,
    RECIST endpoints; no file written).

    With the periodic path (:mod:`pkpd.periodic`, the default) on ``trial_patients`` patients; with
    the full integration (``solver.periodic: false``) on the first ``trial_full_subset`` of them,
    scaled linearly to the whole population (time and steps).  *diff*: the largest difference of the
    lesion diameter at the scans between the two, on the subset (mm), and the best responses that differ.
    """
    from pkpd.runner import run as run_scenario
    from pkpd.scenario import load_scenario

    base = load_scenario(TRIAL_SCENARIO)

    def scenario(n, periodic):
        return replace(base, population=replace(base.population, size=n), store="scans",
                       solver=replace(base.solver, periodic=periodic))

    out = {"scenario": "scenarios/virtual_trial.yaml", "arms": len(base.arms), "rows": []}
    for periodic in (True, False):  # warm-up: first calls and cached kernels
        run_scenario(scenario(2, periodic))
    results = {}
    for periodic, n in ((True, cfg.trial_patients), (False, cfg.trial_full_subset)):
        sec, _, ds = best_of(lambda: run_scenario(scenario(n, periodic)), 1, cfg.budget_s, warmup=False)
        results[(periodic, n)] = ds
        scale = cfg.trial_patients / n
        out["rows"].append(dict(
            path="periodic" if periodic else "full", patients=cfg.trial_patients, timed_patients=n,
            time_s=sec * scale, cpu_s=sec.cpu * scale, steps=int(ds["solver_steps"].sum() * scale),
            # an ORR of the whole population only (a subset's says little)
            orr_combination=float(ds["orr"].sel(arm="combination")) if scale == 1 else None,
            timing="measured" if scale == 1 else f"{n} patients x {scale:g} (extrapolated)"))
        log(f"  {'periodic' if periodic else 'full':8s} x{n} {sec:8.2f} s"
            + ("" if scale == 1 else f" -> x{cfg.trial_patients} {sec * scale:8.1f} s"))
    if (True, cfg.trial_full_subset) not in results:
        results[(True, cfg.trial_full_subset)] = run_scenario(scenario(cfg.trial_full_subset, True))
    a, b = results[(True, cfg.trial_full_subset)], results[(False, cfg.trial_full_subset)]
    out["diff_diameter_mm"] = float(np.abs(a["tumor_diameter"] - b["tumor_diameter"]).max())
    out["diff_best_response"] = int((a["best_response"] != b["best_response"]).sum())
    out["subset"] = cfg.trial_full_subset
    return out


# ----------------------------------------------------------------------------- everything
def run(cfg: Config, log=print) -> dict:
    t_start = time.perf_counter()
    res = {"config": asdict(cfg), "machine": machine(), "rows": [], "notes": {}, "load_start": load_average()}
    log("pkpd benchmarks" + (" (quick)" if cfg.quick else ""))

    pk1 = PR.pk2cmt(1, n_doses=cfg.pk_doses, end_h=cfg.pk_end_h)
    log(f"[a] {pk1.description}, 1 subject")
    res["rows"] += engine_rows(pk1, cfg, log)
    pkN = PR.pk2cmt(cfg.pk_pop, n_doses=cfg.pk_doses, end_h=cfg.pk_end_h)
    log(f"[a] {cfg.pk_pop} subjects")
    res["rows"] += population_rows(pkN, cfg, cfg.pk_subset, log)

    sy1 = PR.system(1, days=cfg.system_days)
    log(f"[b] {sy1.description}, 1 patient")
    res["rows"] += engine_rows(sy1, cfg, log)
    syN = PR.system(cfg.system_pop, days=cfg.system_days)
    log(f"[b] {cfg.system_pop} patients")
    res["rows"] += population_rows(syN, cfg, cfg.system_subset, log)

    res["problems"] = {p.name: dict(description=p.description, reference=reference_note(p, cfg), **p.info)
                       for p in (pk1, sy1)}
    # how good the references are
    res["notes"]["reference_check"] = {
        "pk2cmt: scipy Radau 1e-10/1e-12 vs exact": scaled_error(E.reference(pk1, [0], cfg.ref_rtol, cfg.ref_atol),
                                                                 E.exact_pk2cmt(pk1, [0])),
        "system: pkpd radau5 1e-10/1e-12 vs scipy Radau reference": scaled_error(
            E.pkpd_subject(sy1, 0, "radau5", cfg.ref_rtol, cfg.ref_atol, max_steps=10**7)[0],
            _reference(sy1, [0], cfg)[0]),
    }

    log("thread scaling")
    pk_s = PR.pk2cmt(cfg.scaling_pk, n_doses=cfg.pk_doses, end_h=cfg.pk_end_h)
    res["threads"] = (thread_scaling(pk_s, cfg, log=log)
                      + thread_scaling(PR.system(cfg.scaling_system, days=cfg.system_days), cfg, log=log))
    log("overhead of one simulate()")
    res["overhead"] = [overhead(pk1, cfg, "dopri5"), overhead(sy1, cfg, "dopri5"),
                       population_overhead(pkN, cfg, "dopri5")]
    log("radau5 diagnostics (full model)")
    res["radau"] = radau_diagnostics(sy1, cfg, log=log)
    log(f"long horizon: {cfg.horizon_days:g} days per arm, rtol {cfg.horizon_rtol:g}")
    res["horizon"] = long_horizon(cfg, log=log)
    log(f"virtual trial: {cfg.trial_patients} patients x 4 arms, 18 months, endpoints only")
    res["trial"] = virtual_trial(cfg, log=log)
    log("generated kernels and analytic Jacobians")
    from benchmarks import kernels as K

    res["kernels"] = K.run(K.KernelConfig.sized(cfg.kernels), log=log)
    if cfg.compile:
        log("compile / cache-load time (fresh processes)")
        res["compile"] = compile_times(cold=cfg.cold_compile)
    else:
        res["compile"] = {}
    res["load_end"] = load_average()
    res["elapsed_s"] = time.perf_counter() - t_start
    return res
