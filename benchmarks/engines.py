"""The engines under comparison, all run on a :class:`benchmarks.problems.Problem`.

Every engine returns ``(Y, counts)``: ``Y`` the states at the output times,
shape (n_times, n_states) for one subject or (n_subjects, n_times, n_states),
and ``counts`` a dict with ``steps`` (accepted) and ``rhs`` (right-hand-side
evaluations, finite-difference Jacobian columns included) when the engine
reports them.

* ``pkpd``: :func:`pkpd.simulate.simulate` for one subject,
  :func:`pkpd.simulate.simulate_population` (pk2cmt) or the compiled
  :func:`pkpd.solvers.integrate.integrate_population` (the full model, as
  :mod:`pkpd.runner` calls it) for populations.
* ``scipy``: :func:`scipy.integrate.solve_ivp`, restarted at every dose exactly as
  pkpd does (integrate to the dose time, add the bolus, start a new solve), outputs
  from the solver's dense output (``t_eval``); an output at a dose time sees the
  dose.  The right-hand side is either the model's own source run by the Python
  interpreter (``py``: :func:`dejit`) or the Numba-compiled kernel ``spec.rhs``
  called from Python (``jit``).  scipy's implicit methods (LSODA, BDF, Radau) use
  finite-difference Jacobians, as pkpd's radau5 does.
* optional peers (rows skipped with a note when the package is absent):
  ``numbalsoda`` (LSODA, compiled C++, rhs as a Numba ``cfunc``), ``diffrax``
  (JAX; Tsit5 and Kvaerno5) and libroadrunner (CVODE on the full model's SBML, from
  :mod:`benchmarks.sbml`).  All are restarted at every dose the same way.
"""

from __future__ import annotations

import importlib.util
import types

import numpy as np
from numba.core.dispatcher import Dispatcher
from scipy.integrate import solve_ivp

from pkpd.simulate import simulate, simulate_population
from pkpd.solvers import SolverOptions
from pkpd.solvers._common import N_STATS, ST_RHS, ST_STEPS
from pkpd.solvers.integrate import integrate_population


# ----------------------------------------------------------------------------- right-hand sides
def dejit(fn, _memo=None):
    """A pure-Python copy of a Numba-compiled function (and of every compiled function it calls).

    The copy runs the same source in the interpreter: ``fn.py_func``'s code with a
    globals dict in which every Numba dispatcher is replaced by its own de-jitted copy.
    """
    memo = {} if _memo is None else _memo
    if id(fn) in memo:
        return memo[id(fn)]
    py = fn.py_func
    g = dict(py.__globals__)
    new = types.FunctionType(py.__code__, g, py.__name__, py.__defaults__, py.__closure__)
    memo[id(fn)] = new
    for k, v in list(g.items()):
        if isinstance(v, Dispatcher):
            g[k] = dejit(v, memo)
    return new


def make_fun(rhs, p, n, counter=None):
    """``f(t, y) -> dy/dt`` for solve_ivp from ``rhs(t, y, p, dydt)``; ``counter[0]`` counts calls."""
    p = np.ascontiguousarray(p, dtype=np.float64)
    if counter is None:
        def fun(t, y):
            dy = np.empty(n)
            rhs(t, y, p, dy)
            return dy
    else:
        def fun(t, y):
            counter[0] += 1
            dy = np.empty(n)
            rhs(t, y, p, dy)
            return dy
    return fun


# ----------------------------------------------------------------------------- scipy
def scipy_subject(fun, y0, bolus_time, bolus_state, bolus_amt, times, method, rtol, atol,
                  count_steps=False):
    """One subject with ``solve_ivp``, restarted at every bolus time.

    With ``count_steps`` no ``t_eval`` is passed (so ``sol.t`` lists every accepted
    step) and only the step count is meaningful in the returned ``Y``'s place
    (``Y`` is then None).  Returns ``(Y, steps)``.
    """
    y = np.array(y0, dtype=np.float64)
    t = float(min(0.0, times[0]))
    out = None if count_steps else np.empty((times.size, y.size))
    stops = np.unique(np.concatenate([bolus_time, [t, times[-1]]]))
    k = 0
    n_b = bolus_time.size
    order = np.argsort(bolus_time, kind="stable")
    bt, bs, ba = bolus_time[order], bolus_state[order], bolus_amt[order]
    steps = 0
    for stop in stops:
        if stop > t:
            if count_steps:
                sol = solve_ivp(fun, (t, stop), y, method=method, rtol=rtol, atol=atol)
                steps += sol.t.size - 1
                y = sol.y[:, -1].copy()
            else:
                lo, hi = np.searchsorted(times, [t, stop], side="right")
                hi_incl = hi
                t_eval = times[lo:hi_incl]
                if t_eval.size == 0 or t_eval[-1] != stop:
                    t_eval = np.append(t_eval, stop)
                sol = solve_ivp(fun, (t, stop), y, method=method, rtol=rtol, atol=atol, t_eval=t_eval)
                inside = sol.t < stop
                out[lo:lo + int(inside.sum())] = sol.y[:, inside].T
                y = sol.y[:, -1].copy()
            if not sol.success:
                raise RuntimeError(f"scipy {method} failed at t={t}: {sol.message}")
            t = stop
        while k < n_b and bt[k] == stop:
            y[bs[k]] += ba[k]
            k += 1
        if out is not None:
            out[times == stop] = y  # an output at a dose time sees the dose (pkpd's convention)
    return out, steps


def scipy_run(problem, idx, method, rhs_kind, rtol, atol, count=False):
    """Subjects ``idx`` (a list) with scipy; returns (Y (len(idx), n_t, n), counts or None)."""
    rhs = problem.model.rhs if rhs_kind == "jit" else _py_rhs(problem.model)
    Ys, steps, calls = [], 0, [0]
    for i in idx:
        fun = make_fun(rhs, problem.P[i], problem.n_states, calls if count else None)
        Y, s = scipy_subject(fun, problem.Y0[i], problem.bolus_time, problem.bolus_state, problem.bolus_amt,
                             problem.times, method, rtol, atol, count_steps=count)
        Ys.append(Y)
        steps += s
    if count:
        return None, {"steps": steps / len(idx), "rhs": calls[0] / len(idx)}
    return np.stack(Ys), None


_PY_RHS = {}


def _py_rhs(model):
    if model.name not in _PY_RHS:
        _PY_RHS[model.name] = dejit(model.rhs)
    return _PY_RHS[model.name]


# ----------------------------------------------------------------------------- reference
def reference(problem, idx, rtol=1e-10, atol=1e-12):
    """scipy Radau at tight tolerances, restarted at every dose, compiled rhs: (len(idx), n_t, n)."""
    return scipy_run(problem, idx, "Radau", "jit", rtol, atol)[0]


def exact_pk2cmt(problem, idx):
    """Exact states of pk2cmt_oral at the output times (closed-form propagation between times).

    Uses :func:`pkpd.solvers.linear.propagate_2cmt_oral` (divided differences of the
    matrix exponential, accurate to a few ulps); it shares no code with any ODE solver.
    """
    from pkpd.models.pk import micro_constants
    from pkpd.solvers.linear import propagate_2cmt_oral

    times = problem.times
    stops = np.unique(np.concatenate([times, problem.bolus_time]))
    out = np.empty((len(idx), times.size, problem.n_states))
    zero = np.zeros(problem.n_states)
    for r, i in enumerate(idx):
        ka, k10, k12, k21 = micro_constants(problem.model, problem.P[i])
        y = problem.Y0[i].copy()
        t = 0.0
        for stop in stops:
            if stop > t:
                nxt = np.empty_like(y)
                propagate_2cmt_oral(ka, k10, k12, k21, stop - t, y, zero, nxt)
                y = nxt
                t = stop
            on = problem.bolus_time == stop
            for s, a in zip(problem.bolus_state[on], problem.bolus_amt[on]):
                y[s] += a
            out[r, times == stop] = y
    return out


# ----------------------------------------------------------------------------- pkpd
def _stats(ds_or_array):
    return {"steps": float(ds_or_array[..., ST_STEPS].mean()), "rhs": float(ds_or_array[..., ST_RHS].mean())}


def pkpd_subject(problem, i, method, rtol, atol, max_steps=100_000):
    """One subject through the public :func:`pkpd.simulate.simulate`."""
    ds = simulate(problem.model, problem.doses, problem.times, problem.params(i), y0=problem.Y0[i],
                  solver=dict(method=method, rtol=rtol, atol=atol, max_steps=max_steps),
                  dose_modifiers=problem.dose_modifiers)
    Y = np.stack([ds[s].values for s in problem.model.state_names], axis=-1)
    return Y, {"steps": float(ds["solver_steps"]), "rhs": float(ds["solver_rhs_evaluations"])}


def pkpd_population(problem, idx, method, rtol, atol):
    """Subjects ``idx`` in parallel compiled threads.

    pk2cmt (no dose modifiers): the public :func:`pkpd.simulate.simulate_population`.
    The full model: :func:`pkpd.solvers.integrate.integrate_population` on one event
    table, exactly as :func:`pkpd.runner.run` does (``simulate_population`` takes no
    ``dose_modifiers``, so it cannot apply the drugs' lag times).
    """
    idx = np.asarray(idx)
    if problem.dose_modifiers is None:
        ds = simulate_population(problem.model, problem.doses, problem.times, problem.P[idx], problem.Y0[idx],
                                 solver=dict(method=method, rtol=rtol, atol=atol))
        Y = np.stack([ds[s].values for s in problem.model.state_names], axis=-1)
        st = np.stack([ds["solver_steps"].values, ds["solver_rejected_steps"].values,
                       ds["solver_rhs_evaluations"].values], axis=-1)
        return Y, {"steps": float(st[:, 0].mean()), "rhs": float(st[:, 2].mean())}
    return pkpd_population_kernel(problem, idx, method, rtol, atol, ev=None)


def pkpd_population_kernel(problem, idx, method, rtol, atol, ev=None):
    """The compiled population driver alone (event table built unless given)."""
    idx = np.asarray(idx)
    opts = SolverOptions(method=method, rtol=rtol, atol=atol)
    if ev is None:
        ev = problem.event_table()
    n = idx.size
    Y0 = np.ascontiguousarray(problem.Y0[idx])
    P = np.ascontiguousarray(problem.P[idx])
    Y = np.zeros((n, problem.times.size, problem.n_states))
    S = np.zeros((n, N_STATS), np.int64)
    status = np.zeros(n, np.int64)
    t_fail = np.zeros(n)
    jac, analytic = problem.model.jacobian(opts.jacobian)
    integrate_population(problem.model.rhs, opts.solver.segment, Y0, P, *ev.kernel_args(),
                         np.zeros(n, np.int64), np.full(n, len(ev), np.int64), *ev.ss_args(),
                         Y, opts.atol_array(problem.n_states), opts.opts_array(analytic), S, status, t_fail, jac)
    if status.any():
        raise RuntimeError(f"pkpd {method}: {int((status != 0).sum())} subjects failed (status {status.max()})")
    return Y, _stats(S)


def pkpd_closed_form(problem, idx, method, rtol, atol):
    """The full model with the PK in closed form (:meth:`pkpd.closed_form.ClosedForm.integrate`, the
    linear sources found from the trial system's equations): per-patient modal tables, the compiled
    population driver on the 18 network and tumour states, and the PK amounts reconstructed at the
    output times."""
    from pkpd.closed_form import closed_form
    from pkpd.system import SYSTEM, TRIAL_KERNELS

    idx = np.asarray(idx)
    opts = SolverOptions(method=method, rtol=rtol, atol=atol)
    ev = problem.event_table()
    Y, S, status, _ = closed_form(TRIAL_KERNELS).integrate(
        SYSTEM.rhs, opts.solver.segment, problem.Y0[idx], problem.P[idx], ev, np.zeros(idx.size, np.int64),
        np.full(idx.size, len(ev), np.int64), problem.times.size, opts.atol_array(problem.n_states),
        opts.opts_array())
    if status.any():
        raise RuntimeError(f"pkpd {method} closed-form PK: {int((status != 0).sum())} subjects failed")
    return Y, _stats(S)


# ----------------------------------------------------------------------------- optional peers
def available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


_ROADRUNNER = {}


def roadrunner_model(problem, i):
    """libroadrunner's model of the full system for subject ``i`` (Antimony -> SBML -> LLVM), built once."""
    key = (id(problem), i)
    if key not in _ROADRUNNER:
        import antimony
        import roadrunner

        from benchmarks.sbml import STATE_IDS, antimony_text

        if antimony.loadAntimonyString(antimony_text(problem.P[i], problem.Y0[i])) < 0:
            raise RuntimeError(f"antimony: {antimony.getLastError()}")
        rr = roadrunner.RoadRunner(antimony.getSBMLString(antimony.getMainModuleName()))
        rr.timeCourseSelections = ["time"] + list(STATE_IDS)
        _ROADRUNNER[key] = (rr, STATE_IDS)
    return _ROADRUNNER[key]


def roadrunner_run(problem, idx, rtol, atol, stiff=True):
    """libroadrunner (CVODE: BDF if ``stiff``, else Adams) on the full model, restarted at every dose.

    Between two doses ``simulate(times=...)`` integrates and reports the outputs; at a dose the
    depot amount is raised with ``setValue``, which restarts CVODE.  An output at a dose time
    sees the dose, as in pkpd.  The model is compiled once per subject, outside the timing.
    """
    Ys = []
    for i in idx:
        rr, ids = roadrunner_model(problem, i)
        integ = rr.getIntegrator()
        integ.setValue("relative_tolerance", rtol)
        integ.setValue("absolute_tolerance", atol)
        integ.setValue("stiff", stiff)
        integ.setValue("maximum_num_steps", 10**6)
        for name, v in zip(ids, problem.Y0[i]):
            rr.setValue(name, float(v))
        times = problem.times
        out = np.empty((times.size, len(ids)))
        t = float(min(0.0, times[0]))
        order = np.argsort(problem.bolus_time, kind="stable")
        bt, bs, ba = problem.bolus_time[order], problem.bolus_state[order], problem.bolus_amt[order]
        k = 0
        for stop in np.unique(np.concatenate([bt, [t, times[-1]]])):
            if stop > t:
                inside = times[(times > t) & (times < stop)]
                res = np.asarray(rr.simulate(times=np.concatenate([[t], inside, [stop]])))
                lo = np.searchsorted(times, t, side="right")
                out[lo:lo + inside.size] = res[1:-1, 1:]
                t = stop
            while k < bt.size and bt[k] == stop:
                rr.setValue(ids[bs[k]], rr.getValue(ids[bs[k]]) + float(ba[k]))
                k += 1
            at = times == stop
            if at.any():
                out[at] = [rr.getValue(name) for name in ids]
        Ys.append(out)
    return np.stack(Ys), None


_NUMBALSODA = {}


def numbalsoda_run(problem, idx, rtol, atol):
    """numbalsoda's LSODA (C++), rhs compiled as a Numba cfunc, restarted at every dose.

    Not exercised where numbalsoda is not installed; see README.md.
    """
    import numba as nb
    from numbalsoda import lsoda, lsoda_sig

    key = problem.model.name
    if key not in _NUMBALSODA:
        rhs = problem.model.rhs
        n, m = problem.n_states, problem.model.n_parameters

        @nb.cfunc(lsoda_sig)
        def f(t, u, du, p):
            rhs(t, nb.carray(u, (n,)), nb.carray(p, (m,)), nb.carray(du, (n,)))

        _NUMBALSODA[key] = f
    addr = _NUMBALSODA[key].address
    times = problem.times
    stops = np.unique(np.concatenate([problem.bolus_time, [0.0, times[-1]]]))
    Ys = []
    for i in idx:
        y = problem.Y0[i].copy()
        p = np.ascontiguousarray(problem.P[i])
        out = np.empty((times.size, y.size))
        t = 0.0
        for stop in stops:
            if stop > t:
                lo, hi = np.searchsorted(times, [t, stop], side="right")
                t_eval = np.concatenate([[t], times[lo:hi][times[lo:hi] < stop], [stop]])
                usol, ok = lsoda(addr, y, t_eval, data=p, rtol=rtol, atol=atol)
                if not ok:
                    raise RuntimeError("numbalsoda failed")
                inner = usol[1:-1]
                out[lo:lo + inner.shape[0]] = inner
                y = usol[-1].copy()
                t = stop
            on = problem.bolus_time == stop
            for s, a in zip(problem.bolus_state[on], problem.bolus_amt[on]):
                y[s] += a
            out[times == stop] = y
        Ys.append(out)
    return np.stack(Ys), {}


def diffrax_run(problem, idx, rtol, atol, solver_name="Tsit5"):
    """diffrax (JAX, float64) restarted at every dose; only for pk2cmt (its rhs is written in jax.numpy).

    Not exercised where diffrax is not installed; see README.md.
    """
    import jax

    jax.config.update("jax_enable_x64", True)
    import diffrax
    import jax.numpy as jnp

    def vf(t, y, p):
        cl, vc, q, vp, ka = p[0], p[1], p[2], p[3], p[4]
        a = ka * y[0]
        return jnp.stack([-a, a - cl / vc * y[1] - q / vc * y[1] + q / vp * y[2], q / vc * y[1] - q / vp * y[2]])

    term = diffrax.ODETerm(vf)
    solver = getattr(diffrax, solver_name)()
    ctrl = diffrax.PIDController(rtol=rtol, atol=atol)
    times = problem.times
    stops = np.unique(np.concatenate([problem.bolus_time, [0.0, times[-1]]]))
    Ys = []
    for i in idx:
        y = jnp.asarray(problem.Y0[i])
        p = jnp.asarray(problem.P[i])
        out = np.empty((times.size, problem.n_states))
        t = 0.0
        for stop in stops:
            if stop > t:
                lo, hi = np.searchsorted(times, [t, stop], side="right")
                ts = np.append(times[lo:hi][times[lo:hi] < stop], stop)
                # times as arrays, not Python floats: equinox would treat floats as static and
                # recompile for every segment
                sol = diffrax.diffeqsolve(term, solver, jnp.asarray(t), jnp.asarray(stop), None, y, args=p,
                                          saveat=diffrax.SaveAt(ts=jnp.asarray(ts)),
                                          stepsize_controller=ctrl, max_steps=100_000)
                ys = np.asarray(sol.ys)
                out[lo:lo + ts.size - 1] = ys[:-1]
                y = sol.ys[-1]
                t = stop
            on = problem.bolus_time == stop
            yy = np.asarray(y).copy()
            for s, a in zip(problem.bolus_state[on], problem.bolus_amt[on]):
                yy[s] += a
            y = jnp.asarray(yy)
            out[times == stop] = yy
        Ys.append(out)
    return np.stack(Ys), {}
