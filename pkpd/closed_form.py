"""Any model with linear sources, integrated with those states in closed form: the solver carries the rest.

A *linear source* (:mod:`pkpd.model.fastpaths`: found from the equations when the
kernels are generated) is a set of states whose ODEs are ``dx/dt = K(p) x`` plus the
doses, with nothing feeding back into them: every linear PK block (the trial's two
drugs: neratinib's depot, central and peripheral amounts, ruxolitinib's depot and
central).  Between two events its states are sums of exponentials of the eigenvalues
``-lambda`` of ``K``; the superposition of the doses, and of the infusions running, is
exact (:mod:`pkpd.solvers.modal`).  So, per patient, this module

1. reads ``K`` from the model's analytic Jacobian at the initial state (it is constant);
2. decomposes it, ``K = V diag(-lambda) V^-1``;
3. walks the patient's events (boluses, infusions starting and ending) into a table
   of modal coefficients, appended to the patient's parameter row;
4. integrates the other states with the generated reduced kernel ``closed_rhs`` (and
   ``closed_jac``), which reads the linear states from the table, through the same
   event-driven driver: the solver still restarts at every event of a linear state
   (its value is continuous there but its slope jumps, which an error estimate
   stepping across would misjudge);
5. writes the linear states at the output times from the same table: exact.

So the linear states no longer set the steps (half as many on the trial system with
the stiff methods), and each right-hand side costs a few exponentials instead of
their ODEs.

Where it does not apply, the patient or the group is integrated in full, which is
always exact to the solver's tolerance, and :func:`supports` says why:

* a reset (EVID 3/4) or a steady-state record (SS=1/2) in the event table: the group;
* a rate matrix whose eigenvalues are complex, not all negative, or coincident within
  :data:`SEPARATION` relative (``V`` ill-conditioned): the patient.  One case is
  repaired instead, as it is common under IIV: the rate of a depot (a state with no
  inflow from the others, whose own eigenvalue is its outflow rate) within
  :data:`SEPARATION` of another eigenvalue is moved to ``(1 + 2 SEPARATION)`` times
  that eigenvalue, which changes concentrations by about 1e-6 relative (stated, and
  far below any tolerance used).

Verified against the full ODE path and the classic superposition formulas in
``tests/test_closed_form.py``; timed in ``benchmarks/``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from pkpd.events import EventTable
from pkpd.solvers._common import N_STATS
from pkpd.solvers.integrate import BOLUS, OUT, RATE_OFF, RATE_ON, RESET, SS, integrate_population
from pkpd.solvers.modal import HEADER, modal_coefficients

__all__ = ["ClosedForm", "closed_form", "SEPARATION"]

#: smallest relative separation of two eigenvalues of a linear source (below it, see the module docstring)
SEPARATION = 1e-6
#: largest condition number of the eigenvector matrix accepted
MAX_CONDITION = 1e10


@dataclass(frozen=True)
class _Modes:
    """One linear source's modes for rows of patients."""

    lam: np.ndarray    # (n, m) 1/h
    V: np.ndarray      # (n, nb, m)
    Vinv: np.ndarray   # (n, m, nb)
    ok: np.ndarray     # (n,) the decomposition is usable


@dataclass(frozen=True)
class ClosedForm:
    """The closed-form path of a compiled model (:class:`pkpd.model.compiled.CompiledModel`)."""

    model: object
    sources: tuple[tuple[int, ...], ...]   # states of each linear source, 0-based
    needed: tuple[tuple[int, ...], ...]    # the ones the reduced kernel reads
    ode: tuple[int, ...]                   # the states the solver carries

    @property
    def rhs(self):
        """The reduced right-hand side ``closed_rhs(t, y, p, dydt)`` (compiled at first use)."""
        return _compiled(self.model.module.closed_rhs, "RHS_SIGNATURE")

    @property
    def jac(self):
        """Its analytic Jacobian ``closed_jac(t, y, p, J)`` over the carried states."""
        return _compiled(self.model.module.closed_jac, "JAC_SIGNATURE")

    @property
    def closed_states(self) -> tuple[str, ...]:
        """Names of the states in closed form."""
        names = self.model.state_names
        return tuple(names[i] for src in self.sources for i in src)

    def describe(self) -> str:
        """One line: which states are in closed form and how many the solver carries."""
        names = self.model.state_names
        parts = [", ".join(names[i] for i in src) for src in self.sources]
        return (f"closed form: {'; '.join(parts)} ({len(self.closed_states)} states); the solver carries "
                f"{len(self.ode)}")

    # ------------------------------------------------------------------ applicability
    def supports(self, ev: EventTable) -> str | None:
        """Why the event table ``ev`` cannot take this path (None: it can)."""
        if np.any(ev.kind == RESET):
            return "a reset record (EVID 3 or 4)"
        if np.any(ev.kind == SS):
            return "a steady-state dosing record (SS)"
        return None

    # ------------------------------------------------------------------ modes
    def rate_matrices(self, Y0: np.ndarray, P: np.ndarray) -> list[np.ndarray]:
        """``K`` (n, nb, nb; 1/h) of each linear source, from the model's Jacobian at ``Y0`` (n, n_states), ``P``."""
        n, ns = Y0.shape
        J = np.zeros((n, ns, ns))
        jac = self.model.jac
        for i in range(n):
            jac(0.0, np.ascontiguousarray(Y0[i], dtype=np.float64), np.array(P[i], dtype=np.float64), J[i])
        return [J[:, src][:, :, src] for src in self.sources]

    @staticmethod
    def modes(K: np.ndarray) -> _Modes:
        """Eigen-decomposition of rate matrices ``K`` (n, nb, nb), depots separated (module docstring)."""
        K = np.array(K, dtype=np.float64)
        n, nb, _ = K.shape
        for i in range(nb if nb > 1 else 0):
            others = [j for j in range(nb) if j != i]
            depot = np.all(K[:, i, others] == 0.0, axis=1) & (K[:, i, i] < 0.0)
            if not depot.any():
                continue
            rate = -K[:, i, i]
            rest = -np.linalg.eigvals(K[:, others][:, :, others]).real
            new = rate.copy()
            for j in range(rest.shape[1]):
                close = depot & (np.abs(new - rest[:, j]) < SEPARATION * np.abs(rest[:, j]))
                new = np.where(close, rest[:, j] * (1 + 2 * SEPARATION), new)
            moved = new != rate
            if moved.any():
                factor = new[moved] / rate[moved]
                K[moved, :, i] *= factor[:, None]
                K[moved, i, i] = -new[moved]
        w, V = np.linalg.eig(K)
        lam = -w.real
        ok = np.all(np.abs(w.imag) <= 1e-12 * np.abs(w.real), axis=1) & np.all(lam > 0.0, axis=1)
        if lam.shape[1] > 1:
            gap = np.where(np.eye(lam.shape[1], dtype=bool), np.inf, np.abs(lam[:, :, None] - lam[:, None, :]))
            ok &= np.all(gap > 0.5 * SEPARATION * lam.min(axis=1)[:, None, None], axis=(1, 2))
        V = V.real
        ok &= np.linalg.cond(np.where(ok[:, None, None], V, np.eye(nb))) < MAX_CONDITION
        Vinv = np.linalg.inv(np.where(ok[:, None, None], V, np.eye(nb)))
        return _Modes(lam, V, Vinv, ok)

    # ------------------------------------------------------------------ tables
    def _inputs(self, ev: EventTable, s0: int, s1: int, src: tuple[int, ...]):
        """Segment starts (h), doses (amounts) and rate changes (amount/h) of one patient into source ``src``."""
        kind, cmt, value, time = (a[s0:s1] for a in (ev.kind, ev.cmt, ev.value, ev.time))
        local = np.full(max(int(cmt.max(initial=0)), max(src)) + 1, -1)
        local[list(src)] = np.arange(len(src))
        into = local[cmt] >= 0
        bolus = into & (kind == BOLUS) & (value != 0.0)
        on, off = into & (kind == RATE_ON), into & (kind == RATE_OFF)
        t_start = min(0.0, float(time[0])) if time.size else 0.0   # where the driver starts
        seg_t = np.unique(np.concatenate([[t_start], time[bolus | on | off]]))
        dose = np.zeros((seg_t.size, len(src)))
        rate = np.zeros((seg_t.size, len(src)))
        np.add.at(dose, (np.searchsorted(seg_t, time[bolus]), local[cmt[bolus]]), value[bolus])
        np.add.at(rate, (np.searchsorted(seg_t, time[on]), local[cmt[on]]), value[on])
        np.add.at(rate, (np.searchsorted(seg_t, time[off]), local[cmt[off]]), -value[off])
        return seg_t, dose, rate

    def tables(self, Y0, P, ev, start, end, modes=None):
        """Per patient: the parameter row with its tables appended, and the full coefficient tables.

        Returns ``(P_ext (n, width), coefficients, ok)``: ``coefficients[s][i]`` is
        ``(seg_t, out (n_seg, nb, 1 + m), lam)`` for source ``s`` and patient ``i``;
        ``ok`` (n,) marks the patients the path can take.
        """
        n, n_par = P.shape
        modes = [self.modes(K) for K in self.rate_matrices(Y0, P)] if modes is None else modes
        ok = np.all([md.ok for md in modes], axis=0) if modes else np.ones(n, bool)
        shared = bool(np.all(start == start[0]) and np.all(end == end[0])) if n else True
        rows, coefficients = [], [[None] * n for _ in self.sources]
        cache = {}
        for i in range(n):
            parts = [np.asarray(P[i], dtype=np.float64), np.zeros(len(self.sources))]
            width = n_par + len(self.sources)
            for s, (src, need, md) in enumerate(zip(self.sources, self.needed, modes)):
                key = (s,) if shared else (s, i)
                if key not in cache:
                    cache[key] = self._inputs(ev, int(start[i]), int(end[i]), src)
                seg_t, dose, rate = cache[key]
                out = np.zeros((seg_t.size, len(src), 1 + md.lam.shape[1]))
                if ok[i]:
                    modal_coefficients(md.lam[i], md.V[i], md.Vinv[i], seg_t, dose, rate,
                                       np.ascontiguousarray(Y0[i, list(src)]), out)
                coefficients[s][i] = (seg_t, out, md.lam[i])
                parts[1][s] = width
                m = md.lam.shape[1]
                table = np.concatenate([[seg_t.size, 0.0, m, len(need)], md.lam[i], seg_t,
                                        out[:, [src.index(k) for k in need], :].ravel()])
                parts.append(table)
                width += table.size
            rows.append(np.concatenate(parts))
        P_ext = np.zeros((n, max((r.size for r in rows), default=n_par + len(self.sources))))
        for i, r in enumerate(rows):
            P_ext[i, :r.size] = r
        return P_ext, coefficients, ok

    @staticmethod
    def states_at(coefficients, times: np.ndarray) -> np.ndarray:
        """A source's states (n_times, nb) at ``times`` (h) from one patient's ``(seg_t, out, lam)``."""
        seg_t, out, lam = coefficients
        k = np.clip(np.searchsorted(seg_t, times, side="right") - 1, 0, seg_t.size - 1)
        e = np.exp(-lam[None, :] * (times - seg_t[k])[:, None])          # (n_times, m)
        return out[k, :, 0] + np.einsum("tim,tm->ti", out[k, :, 1:], e)

    # ------------------------------------------------------------------ integration
    def reduced_events(self, ev: EventTable, start, end):
        """``ev`` for the carried states, and each patient's new ``start``, ``end``.

        Events into a linear source become restarts (boluses of 0); those at or after a
        patient's last output are dropped (nothing after it is needed, and a solver
        that stops at the last output lands its last step there, as the full path does
        when no dose comes later).
        """
        n_states = self.model.n_states
        closed = np.zeros(n_states, bool)
        closed[list(self.closed_indices)] = True
        new = np.full(n_states, -1)
        new[list(self.ode)] = np.arange(len(self.ode))
        kind, cmt, value = ev.kind.copy(), ev.cmt.copy(), ev.value.copy()
        dosing = (kind == BOLUS) | (kind == RATE_ON) | (kind == RATE_OFF)
        into = dosing & closed[cmt]
        kind[into], cmt[into], value[into] = BOLUS, 0, 0.0
        cmt[dosing & ~into] = new[cmt[dosing & ~into]]
        keep = np.ones(len(ev), bool)
        for s0, s1 in set(zip(start.tolist(), end.tolist())):
            out = ev.kind[s0:s1] == OUT
            last = ev.time[s0:s1][out].max() if out.any() else -np.inf
            keep[s0:s1] &= ~(into[s0:s1] & (ev.time[s0:s1] >= last))
        before = np.concatenate([[0], np.cumsum(keep)])
        cols = {k: getattr(ev, k)[keep] for k in ("time", "id", "src")}
        table = replace(ev, kind=kind[keep], cmt=cmt[keep], value=value[keep], **cols,
                        ss_r0=np.zeros((0, len(self.ode))))
        return table, before[start], before[end]

    @property
    def closed_indices(self) -> tuple[int, ...]:
        return tuple(i for src in self.sources for i in src)

    def integrate(self, full_rhs, segment, Y0, P, ev: EventTable, start, end, n_out: int, atol, opts, jac=None,
                  full_jac=None, taken=None):
        """Integrate patients (rows of ``Y0`` (n, n_states), ``P``) through ``ev`` (rows ``start:end`` each).

        Returns ``(Y, stats, status, t_reached)`` as
        :func:`pkpd.solvers.integrate.integrate_population` fills them, ``Y`` (n, n_out,
        n_states) with the linear states written from their tables.  ``jac``: use the
        reduced kernel's analytic Jacobian (``opts`` then says so); patients the path
        cannot take go through ``full_rhs`` (and ``full_jac``) instead; ``taken`` (n,) bool,
        if given, is set to which patients took the closed form.
        """
        Y0 = np.ascontiguousarray(Y0, dtype=np.float64)
        n = Y0.shape[0]
        start, end = np.asarray(start, np.int64), np.asarray(end, np.int64)
        Y = np.zeros((n, n_out, Y0.shape[1]))
        S = np.zeros((n, N_STATS), np.int64)
        status, t_reached = np.zeros(n, np.int64), np.zeros(n)
        P_ext, coefficients, ok = self.tables(Y0, P, ev, start, end)
        if taken is not None:
            taken[:] = ok
        rows = np.flatnonzero(ok)
        if rows.size:
            red, r_start, r_end = self.reduced_events(ev, start[rows], end[rows])
            ode = list(self.ode)
            Yr = np.zeros((rows.size, n_out, len(ode)))
            Sr = np.zeros((rows.size, N_STATS), np.int64)
            st, tr = np.zeros(rows.size, np.int64), np.zeros(rows.size)
            o, j = _opts_for(opts, self.jac if jac is not None else None)
            integrate_population(self.rhs, segment, np.ascontiguousarray(Y0[rows][:, ode]),
                                 np.ascontiguousarray(P_ext[rows]), *red.kernel_args(), r_start, r_end,
                                 *red.ss_args(), Yr, np.ascontiguousarray(atol[ode]), o, Sr, st, tr, j)
            Yo = Y[rows]
            Yo[:, :, ode] = Yr
            Y[rows] = Yo
            S[rows], status[rows], t_reached[rows] = Sr, st, tr
            for k, i in enumerate(rows):
                sl = slice(int(start[i]), int(end[i]))
                out_rows = ev.kind[sl] == OUT
                t_out, r_out = ev.time[sl][out_rows], ev.id[sl][out_rows]
                for s, src in enumerate(self.sources):
                    Y[i, r_out[:, None], list(src)] = self.states_at(coefficients[s][i], t_out)
        rest = np.flatnonzero(~ok)
        if rest.size:
            Sf = np.zeros((rest.size, N_STATS), np.int64)
            st, tr = np.zeros(rest.size, np.int64), np.zeros(rest.size)
            Yf = np.zeros((rest.size, n_out, Y0.shape[1]))
            o, j = _opts_for(opts, full_jac)
            integrate_population(full_rhs, segment, np.ascontiguousarray(Y0[rest]),
                                 np.ascontiguousarray(P[rest], dtype=np.float64), *ev.kernel_args(), start[rest],
                                 end[rest], *ev.ss_args(), Yf, atol, o, Sf, st, tr, j)
            Y[rest], S[rest], status[rest], t_reached[rest] = Yf, Sf, st, tr
        return Y, S, status, t_reached


def _opts_for(opts: np.ndarray, jac):
    """``opts`` and the ``jac`` argument for a kernel that has ``jac`` (None: finite differences)."""
    from pkpd.solvers._common import OPT_JACOBIAN, no_jacobian

    if jac is not None:
        return opts, jac
    if opts[OPT_JACOBIAN] == 0.0:
        return opts, no_jacobian
    opts = opts.copy()
    opts[OPT_JACOBIAN] = 0.0
    return opts, no_jacobian


def _compiled(fn, signature_name: str):
    from pkpd import signatures
    from pkpd.models.spec import _compile_for

    _compile_for(fn, getattr(signatures, signature_name))
    return fn


def closed_form(compiled) -> ClosedForm | None:
    """The closed-form path of ``compiled`` (a :class:`~pkpd.model.compiled.CompiledModel`), or None without one."""
    module = compiled.module
    if not getattr(module, "CLOSED_SOURCES", ()):
        return None
    return ClosedForm(compiled, tuple(map(tuple, module.CLOSED_SOURCES)), tuple(map(tuple, module.CLOSED_NEEDED)),
                      tuple(module.ODE_STATES))
