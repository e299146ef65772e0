#!/usr/bin/env python
"""Calibrate the virtual trial's between-patient distributions on monotherapy, then predict the combination.

What is calibrated (the rest of :data:`pkpd.variability.DISTRIBUTIONS` is assumed)
------------------------------------------------------------------------------------
* ``tumor.lambda0`` median (x typical 0.008/d): so that the monotherapy arms'
  median time to progression is ~2 months.  Target: in the EGFR-targeted
  (neratinib) arm, 45% of patients are progression-free at the first scan
  (week 8 = 1.84 months).  The TBCRC 001 median TTP was 2.1 months (95% CI
  1.8-5.5; clinical.md, for cetuximab + carboplatin, so an upper figure for
  monotherapy); with 8-weekly scans a Kaplan-Meier median can only be 1.84 or
  3.68 months, and "a little under half progression-free at the first scan"
  puts it at the first scan, the nearest attainable value.
* ``tumor.K_max`` median (x typical 0.05/d): so that the EGFR-targeted arm's
  ORR is 6% (TBCRC 001, cetuximab alone: 2/31).
* ``tumor.f_R`` median (x typical 0.01): the baseline fraction of the
  drug-resistant subclone (acquired resistance, :mod:`pkpd.models.tumor`), so that
  the EGFR-targeted arm's Kaplan-Meier median duration of response is 7.36
  months (4 scan intervals).  ASSUMED target: neither clinical.md nor
  biology.md has a DoR figure for TNBC; responses to single agents in pretreated
  metastatic TNBC last some months.  With 8-weekly scans the KM median DoR is a
  multiple of 1.84 months, so the median factor is the geometric middle of the
  range of factors that give 7.36 months, lambda0 and K_max being refitted for
  every candidate (:func:`choose_f_r`); then lambda0 and K_max are refitted at
  the rounded f_R median.
* Checked, not fitted: ruxolitinib arm ORR ~0% (Stover 2018: no objective
  responses).  ``tumor.K_max``'s CV is not identified by these two ORRs (every
  CV in 0.5-1.5 fits both once the median is refitted), so it is fixed at 100%
  and the combination's prediction is reported for CV 50% and 150% too, and for the
  DoR target at 5.52 and 9.20 months (the neighbouring attainable medians).

How (fast, and checked against the full model)
----------------------------------------------
The tumour does not feed back on PK or the network, and after about two weeks the
proliferation signal P(t) of every patient is periodic with the 24-h dosing
period (QD neratinib, BID ruxolitinib; checked: |P(day 27) - P(day 500)| < 1e-5).
So each patient's P(t) is simulated once per arm with the full coupled system
(:data:`pkpd.system.SYSTEM`, same solver and parameters as ``pkpd run``) for the
first 28 days, hourly, and extended periodically (the last 24 h repeated) to 18
months; the Simeoni tumour block with its resistant subclone (the same equations as
:func:`pkpd.models.tumor.tumor_rhs`) is then integrated on that signal (classical RK4, 2-h steps on the hourly signal)
for any candidate tumour distribution in about 0.03 s for 500 patients (each patient is
integrated only up to the first scan that is certainly RECIST progression, as RECIST
reads nothing after it; the script checks that this changes no endpoint).  At the end the surrogate is
checked against full coupled 18-month runs (``pkpd.runner.run``) of the first
patients: the lesion sizes at the scans and every best overall response must agree.

Then, at the calibrated distributions, the script reports each arm's ORR (exact
95% CI), DCR, median PFS and median DoR, for the combination as predictions with
their uncertainty: the Clopper-Pearson and Brookmeyer-Crowley intervals of the
virtual population, a second independent population (seed + 1), the K_max CV range,
the calibration refitted to the ends of the 95% CI of the 2/31 EGFR-targeted
ORR (0.8%-21.4%), and the assumed DoR target one scan interval shorter or longer.

Usage:  python scripts/calibrate_virtual_trial.py [--n 500] [--seed 1] [--check] [--json FILE] [--validate 12]
    --check   exit 1 if the calibrated medians (lambda0, K_max, f_R) differ from pkpd.variability.DISTRIBUTIONS,
              a target is missed at the shipped values, or the surrogate disagrees with the full model.
Runs in about 4.5 minutes on 2 cores (8.6 CPU-minutes; --validate 0 saves a few seconds).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import sys
import time

import numpy as np
from numba import njit, prange
from scipy import stats

import pkpd.runner as runner
from pkpd.analysis.response import PD, assess_recist, trial_endpoints
from pkpd.population import patient_rng
from pkpd.scenario import load_scenario
from pkpd.simulate import _event_table, _records_from_doses
from pkpd.solvers import get_method
from pkpd.solvers._common import N_STATS, no_jacobian
from pkpd.solvers.integrate import integrate_population
from pkpd.system import N_STATES, PATHS, S_P, SYSTEM, dose_modifiers, initial_states
from pkpd.trial import scan_times
from pkpd.variability import DISTRIBUTIONS, apply_variability, sample_tumor_parameters, stream_of

# ------------------------------------------------------------------------------ targets
TARGET_ORR_EGFR = 0.06        # TBCRC 001, cetuximab alone, 2/31 PR (clinical.md) [V]
TARGET_ORR_EGFR_CI = (stats.binomtest(2, 31).proportion_ci(method="exact").low,
                      stats.binomtest(2, 31).proportion_ci(method="exact").high)
TARGET_PF_FIRST_SCAN = 0.45   # -> median TTP at the first scan (1.84 mo) ~ 2.1 mo (TBCRC 001) [V, derived]
TARGET_DOR_SCANS = 4          # EGFR-targeted arm KM median DoR = 4 scan intervals = 7.36 mo: ASSUMED (no TNBC figure)
MAX_ORR_RUX = 0.02            # Stover 2018: no objective responses (check, not fitted) [M]

DURATION = "18 months"
SCAN_EVERY_H = 8 * 7 * 24.0
SIGNAL_DAYS = 28              # simulated with the full system; periodic afterwards
PERIOD_H = 24                 # common period of QD neratinib and BID ruxolitinib
SOLVER = "{method: radau5, rtol: 1e-4, atol: 1e-6, max_steps: 1000000}"

ARMS = {
    "control": "[]",
    "neratinib": "[{drug: neratinib, dose: 240 mg, every: 24 h}]",
    "ruxolitinib": "[{drug: ruxolitinib, dose: 15 mg, every: 12 h}]",
    "combination": "[{drug: neratinib, dose: 240 mg, every: 24 h}, {drug: ruxolitinib, dose: 15 mg, every: 12 h}]",
}


def scenario_text(n: int, seed: int, arms=tuple(ARMS), duration: str = DURATION, output_every: str = "12 h") -> str:
    lines = ["name: calibration", f"duration: {duration}", f"output_every: {output_every}",
             f"population: {{size: {n}, seed: {seed}, variability: true}}", "scan_every: 8 weeks",
             f"solver: {SOLVER}", "arms:"]
    for a in arms:
        lines.append(f"  - name: {a}")
        if ARMS[a] != "[]":
            lines.append(f"    regimen: {ARMS[a]}")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------ population
_RUNNER_PARAMETERS = "patient_parameters" if hasattr(runner, "patient_parameters") else "_patient_parameters"


def runner_applies_variability() -> bool:
    """Whether ``pkpd.runner`` already multiplies in :mod:`pkpd.variability` (then nothing is patched)."""
    P = getattr(runner, _RUNNER_PARAMETERS)(load_scenario(scenario_text(3, 0)), {})
    return bool(np.ptp(P[:, PATHS["tumor.K_max"]]) > 0)


def _pk_only(scenario, point):
    """The runner's parameter rows with PK variability only (this script applies pkpd.variability itself).

    If the runner already applies :mod:`pkpd.variability`, its columns are put back to their typical
    values (the calibration scenario has no parameter overrides, so these are the SYSTEM values).
    """
    P = getattr(runner, _RUNNER_PARAMETERS)(scenario, point)
    if runner_applies_variability():
        for d in DISTRIBUTIONS:
            P[:, PATHS[d.path]] = SYSTEM.parameters[PATHS[d.path]].value
    return P


def population(n: int, seed: int, distributions=DISTRIBUTIONS) -> np.ndarray:
    """Parameter rows exactly as ``pkpd run`` builds them: typical x PK variability x these distributions."""
    s = load_scenario(scenario_text(n, seed))
    P = _pk_only(s, {})
    return apply_variability(P, seed, variability=True, distributions=distributions)


def with_tumour(P: np.ndarray, seed: int, distributions, z: dict | None = None) -> np.ndarray:
    """A copy of ``P`` whose tumour columns are redrawn from ``distributions`` (network columns kept).

    ``z`` may hold each patient's standard normal draw per path (as :func:`sample_tumor_parameters`
    draws it); untruncated factors are then computed with the package's formula, bitwise the same.
    """
    Q = P.copy()
    tumour = tuple(d for d in distributions if d.path.startswith("tumor."))
    typical = {d.path: float(SYSTEM.parameters[PATHS[d.path]].value) for d in tumour}
    slow = tuple(d for d in tumour if z is None or d.lower is not None or d.path not in z)
    f = {d.path: _factors(P.shape[0], seed, d, typical[d.path]) for d in slow}
    for d in tumour:
        if d not in slow:
            f[d.path] = np.exp(np.log(d.median_factor) + d.omega * z[d.path])
    for path, x in f.items():
        Q[:, PATHS[path]] = typical[path] * x
    return Q


@functools.lru_cache(maxsize=64)
def _factors(n, seed, d, typical):
    return sample_tumor_parameters(n, seed, typical={d.path: typical}, distributions=(d,))[d.path]


def normal_draws(n: int, seed: int, paths) -> dict:
    """Each patient's standard normal draw of each path, as pkpd.variability draws it."""
    return {path: np.array([patient_rng(seed, i, stream_of(path)).standard_normal() for i in range(n)])
            for path in paths}


# ------------------------------------------------------------------------------ signal
def simulate_signal(P: np.ndarray, arm: str, days: int = SIGNAL_DAYS) -> np.ndarray:
    """Proliferation signal P (state, 1 = untreated) of every patient, hourly over ``days`` days: (n, 24 days + 1)."""
    s = load_scenario(scenario_text(1, 0, arms=(arm,), duration=f"{days} d", output_every="1 h"))
    t = s.regular_times_h()
    n = P.shape[0]
    opts = s.solver
    rec = _records_from_doses(runner._doses(s.arms[0].regimens, s.duration_h), t)
    ev = _event_table(SYSTEM, rec, P[0], dose_modifiers, lambda q: f"{arm} dose {q}")
    Y0 = initial_states(P)
    Y = np.zeros((n, t.size, N_STATES))
    S = np.zeros((n, N_STATS), np.int64)
    status, t_fail = np.zeros(n, np.int64), np.zeros(n)
    integrate_population(SYSTEM.rhs, get_method(opts.method).segment, Y0, P, *ev.kernel_args(),
                         np.zeros(n, np.int64), np.full(n, len(ev), np.int64), *ev.ss_args(), Y,
                         opts.atol_array(N_STATES), opts.opts_array(), S, status, t_fail, no_jacobian)
    if status.any():
        raise RuntimeError(f"signal simulation failed for {arm}, patient {int(np.flatnonzero(status)[0])}")
    return Y[:, :, S_P].copy()


# ------------------------------------------------------------------------------ tumour surrogate
def drive(sig: np.ndarray, P: np.ndarray):
    """Cytostatic factor G = max(P, 0)**gamma and kill shape H = d**n_K / (IC50_K**n_K + d**n_K), d = max(1 - P, 0).

    The same functions of the signal as :func:`pkpd.models.tumor.tumor_rhs` (whose kill rate is K_max * H);
    each (n, n_hours).
    """
    col = lambda name: P[:, PATHS[f"tumor.{name}"]][:, None]  # noqa: E731
    G = np.maximum(sig, 0.0) ** col("gamma")
    dn = np.maximum(1.0 - sig, 0.0) ** col("n_K")
    return G, dn / (col("IC50_K") ** col("n_K") + dn)


@njit(cache=False, inline="always")
def _rhs(x1, x2, x3, x4, x5, g, kill_shape, lam0, lam1, psi, k1, kmax):
    W = x1 + x2 + x3 + x4 + x5
    z = lam0 / lam1 * max(W, 0.0)
    if z <= 0.1:
        denom = 1.0                     # (1 + z**psi)**(1/psi) rounds to 1 exactly for z**20 < 1e-20
    elif z <= 1.0:
        denom = (1.0 + z ** psi) ** (1.0 / psi)
    else:
        denom = z * (1.0 + z ** (-psi)) ** (1.0 / psi)
    kill = kmax * kill_shape
    return (g * lam0 * x1 / denom - kill * x1, kill * x1 - k1 * x2, k1 * (x2 - x3), k1 * (x3 - x4),
            lam0 * x5 / denom)


@njit(cache=False, parallel=True)
def _tumour_scans(G, H, h0, period, lam0, lam1, psi, k1, kmax, v0, f_r, scan_h, stop_at_pd, out):
    """Lesion volume (mm^3) at the scan hours ``scan_h`` (even integers) for every patient: RK4, 2-h steps.

    ``v0`` baseline volume (mm^3), ``f_r`` its resistant fraction (the subclone XR of pkpd.models.tumor).
    ``stop_at_pd``: stop a patient at the first scan that is certainly RECIST progression (>= 20% and
    >= 5 mm above the nadir of the earlier scans, with a 1e-6 mm margin) and repeat that volume at the
    later scans; RECIST ignores every scan after the first PD (pkpd.analysis.response), so all
    endpoints are unchanged, and most non-responders are integrated over 8 weeks instead of 18 months.

    ``G``, ``H``: (n, n_hours) drives; after the last simulated hour they repeat with ``period`` from ``h0``.
    Patients are independent (threads change nothing in the result).
    """
    n, n_hours = G.shape
    for i in prange(n):
        x1, x2, x3, x4, x5 = (1.0 - f_r[i]) * v0[i], 0.0, 0.0, 0.0, f_r[i] * v0[i]
        l0, l1, ps, kk, km = lam0[i], lam1[i], psi[i], k1[i], kmax[i]
        k = 0
        h = 0
        nadir = np.inf
        while k < scan_h.size:
            if h == scan_h[k]:
                out[i, k] = x1 + x2 + x3 + x4 + x5
                d = np.cbrt(6.0 * out[i, k] / np.pi)
                k += 1
                if stop_at_pd and d >= 1.2 * nadir + 1e-6 and d - nadir >= 5.0 + 1e-6:
                    for kk in range(k, scan_h.size):
                        out[i, kk] = out[i, k - 1]
                    break
                nadir = min(nadir, d)
                continue
            j0 = h if h < n_hours else h0 + (h - h0) % period
            jm = h + 1 if h + 1 < n_hours else h0 + (h + 1 - h0) % period
            j1 = h + 2 if h + 2 < n_hours else h0 + (h + 2 - h0) % period
            a1 = _rhs(x1, x2, x3, x4, x5, G[i, j0], H[i, j0], l0, l1, ps, kk, km)
            a2 = _rhs(x1 + a1[0], x2 + a1[1], x3 + a1[2], x4 + a1[3], x5 + a1[4], G[i, jm], H[i, jm],
                      l0, l1, ps, kk, km)
            a3 = _rhs(x1 + a2[0], x2 + a2[1], x3 + a2[2], x4 + a2[3], x5 + a2[4], G[i, jm], H[i, jm],
                      l0, l1, ps, kk, km)
            a4 = _rhs(x1 + 2 * a3[0], x2 + 2 * a3[1], x3 + 2 * a3[2], x4 + 2 * a3[3], x5 + 2 * a3[4],
                      G[i, j1], H[i, j1], l0, l1, ps, kk, km)
            # dt = 2 h: x += dt/6 (a1 + 2 a2 + 2 a3 + a4), the half step (1 h) being built into a2, a3
            x1 += (a1[0] + 2 * a2[0] + 2 * a3[0] + a4[0]) / 3.0
            x2 += (a1[1] + 2 * a2[1] + 2 * a3[1] + a4[1]) / 3.0
            x3 += (a1[2] + 2 * a2[2] + 2 * a3[2] + a4[2]) / 3.0
            x4 += (a1[3] + 2 * a2[3] + 2 * a3[3] + a4[3]) / 3.0
            x5 += (a1[4] + 2 * a2[4] + 2 * a3[4] + a4[4]) / 3.0
            h += 2
    return out


def lesion_at_scans(sig: np.ndarray, P: np.ndarray, scan_h: np.ndarray, drives=None,
                    stop_at_pd: bool = False) -> np.ndarray:
    """Longest diameter (mm) at the scans, (n, n_scans), from each patient's signal and tumour parameters.

    ``drives``: ``drive(sig, P)`` computed beforehand (it depends on gamma, IC50_K, n_K only).
    ``stop_at_pd``: after a patient's first certain RECIST progression, repeat that scan's diameter
    instead of integrating on (the RECIST endpoints are the same; see ``_tumour_scans``).
    """
    col = lambda name: np.ascontiguousarray(P[:, PATHS[f"tumor.{name}"]])  # noqa: E731
    G, H = drive(sig, P) if drives is None else drives
    v0 = np.pi / 6.0 * col("D0") ** 3
    out = np.empty((P.shape[0], scan_h.size))
    h0 = sig.shape[1] - 1 - PERIOD_H
    _tumour_scans(G, H, h0, PERIOD_H, col("lambda0"), col("lambda1"), col("psi"), col("k1"), col("K_max"), v0,
                  col("f_R"), scan_h.astype(np.int64), stop_at_pd, out)
    return np.cbrt(6.0 * out / np.pi)


# ------------------------------------------------------------------------------ endpoints
def endpoints(diam: np.ndarray, scan_days: np.ndarray, full: bool = True) -> dict:
    """Trial endpoints of one arm (``full``) or just its ORR and the fraction progression-free at the first scan."""
    res = assess_recist(diam, scan_days)
    out = trial_endpoints(res) if full else {"orr": float(np.mean((res.best_response == 1) | (res.best_response == 2)))}
    out["pf_first_scan"] = float(np.mean(res.assessments[:, 1] != PD))
    return out


class Trial:
    """The signals of one virtual population (n, seed) in every arm; tumours evaluated on demand."""

    def __init__(self, n: int, seed: int, arms=tuple(ARMS)):
        self.n, self.seed = n, seed
        self.P = population(n, seed)
        self.scan_h = scan_times(load_scenario(scenario_text(1, 0)).duration_h, SCAN_EVERY_H)
        self.scan_days = self.scan_h / 24.0
        self.signal = {a: simulate_signal(self.P, a) for a in arms}
        self.z = normal_draws(n, seed, ("tumor.lambda0", "tumor.K_max"))
        self.drives = {a: drive(s, self.P) for a, s in self.signal.items()}

    def lesions(self, arm: str, distributions=DISTRIBUTIONS, n_scans: int | None = None) -> np.ndarray:
        Q = with_tumour(self.P, self.seed, distributions, self.z)
        for name in ("gamma", "IC50_K", "n_K"):   # the precomputed drives assume these are not redrawn
            assert np.array_equal(Q[:, PATHS[f"tumor.{name}"]], self.P[:, PATHS[f"tumor.{name}"]])
        return lesion_at_scans(self.signal[arm], Q, self.scan_h[:n_scans], self.drives[arm], stop_at_pd=True)

    def evaluate(self, arm: str, distributions=DISTRIBUTIONS, full: bool = True) -> dict:
        return endpoints(self.lesions(arm, distributions), self.scan_days, full)

    def progression_free_at_first_scan(self, arm: str, distributions) -> float:
        d = self.lesions(arm, distributions, n_scans=2)
        return float(np.mean(assess_recist(d, self.scan_days[:2]).assessments[:, 1] != PD))


def replace(distributions, path, **changes):
    return tuple(dataclasses.replace(d, **changes) if d.path == path else d for d in distributions)


# ------------------------------------------------------------------------------ calibration
def _bisect(f, lo, hi, target, increasing=True, iters=30, rtol=0.004):
    """Smallest (increasing f) / largest x in [lo, hi] (log scale) with f(x) >= target (or <= for decreasing)."""
    ok = (lambda v: v >= target) if increasing else (lambda v: v <= target)
    if not ok(f(hi)):
        return hi
    if ok(f(lo)):
        return lo
    for _ in range(iters):
        mid = np.sqrt(lo * hi)
        if ok(f(mid)):
            hi = mid
        else:
            lo = mid
        if hi / lo < 1.0 + rtol:   # 0.4%: finer than the two-digit rounding of the shipped values
            break
    return hi


def _dor_scans(trial: Trial, distributions) -> float:
    """Kaplan-Meier median DoR of the EGFR-targeted arm in scan intervals (inf when not reached)."""
    m = trial.evaluate("neratinib", distributions)["median_dor_months"]
    return m / (trial.scan_days[1] / 30.4375) if np.isfinite(m) else np.inf


def with_medians(distributions, lam=None, k=None, r=None):
    """``distributions`` with the median factors of lambda0, K_max and f_R replaced (None: kept)."""
    for path, m in (("tumor.lambda0", lam), ("tumor.K_max", k), ("tumor.f_R", r)):
        if m is not None:
            distributions = replace(distributions, path, median_factor=m)
    return distributions


def calibrate(trial: Trial, orr_target=TARGET_ORR_EGFR, pf_target=TARGET_PF_FIRST_SCAN, kmax_cv=None,
              distributions=DISTRIBUTIONS, fix_lambda=None, start=None):
    """(median factor of lambda0, median factor of K_max, the distributions) at the f_R median of ``distributions``.

    Alternate 1-D searches (K_max on the EGFR-targeted ORR, lambda0 on the fraction progression-free at
    the first scan) until both stop moving.  ``start``: (lambda0, K_max) factors to search around first;
    default (1, 1) with the whole ranges searched, so that the result never depends on the shipped values
    (step functions of a finite population leave a few % of path dependence; ``--check`` needs none).
    """
    dist = distributions
    if kmax_cv is not None:
        dist = replace(dist, "tumor.K_max", cv=kmax_cv)
    m_lam, m_k = start or (1.0, 1.0)
    m_lam = fix_lambda or m_lam

    def bracket(m, lo, hi, wide):
        """The whole range, or a factor 3 either side of the last value."""
        return (lo, hi) if wide else (max(lo, m / 3), min(hi, m * 3))

    for rnd in range(10):
        old = (m_lam, m_k)
        wide = rnd == 0 and start is None
        m_k = _bisect(lambda m: trial.evaluate("neratinib", with_medians(dist, m_lam, m), False)["orr"],
                      *bracket(m_k, 0.1, 30.0, wide), orr_target - 1e-9)
        if fix_lambda is None:
            m_lam = _bisect(lambda m: trial.progression_free_at_first_scan("neratinib", with_medians(dist, m, m_k)),
                            *bracket(m_lam, 0.3, 10.0, wide), pf_target + 1e-9, increasing=False)
        if abs(np.log(m_lam / old[0])) < 0.005 and abs(np.log(m_k / old[1])) < 0.005:
            break
    return m_lam, m_k, with_medians(dist, m_lam, m_k)


def choose_f_r(trial: Trial, distributions=DISTRIBUTIONS, dor_scans=TARGET_DOR_SCANS, fix_lambda=None):
    """(f_R median factor, lambda0 factor, K_max factor): the EGFR-targeted median DoR is ``dor_scans`` intervals.

    For each candidate f_R median, lambda0 and K_max are recalibrated (:func:`calibrate`) and the arm's KM
    median DoR read.  It falls in steps of one scan interval as f_R grows; the chosen median is the
    geometric middle of the step at ``dor_scans`` (bisection of both edges to 5%).  Where the EGFR-targeted
    ORR can no longer be fitted (a large resistant fraction leaves too few tumours that can shrink by 30%,
    even at the largest K_max searched), the step ends: such f_R medians count as too large.  Every
    candidate is calibrated from the same start (no warm start from the previous candidate: growth and
    kill trade off along a ridge, and a warm start could follow it to implausible values).
    """
    def dor_at(m):
        ml, mk, d = calibrate(trial, distributions=with_medians(distributions, r=m), fix_lambda=fix_lambda)
        if abs(trial.evaluate("neratinib", d, False)["orr"] - TARGET_ORR_EGFR) > 0.01:
            return 0.0      # ORR target missed: infeasible, treated as "DoR too short"
        return _dor_scans(trial, d)

    lo = _bisect(lambda m: -dor_at(m), 0.03, 30.0, -(dor_scans + 0.5), rtol=0.05)
    hi = _bisect(lambda m: -dor_at(m), 0.03, 30.0, -(dor_scans - 0.5), rtol=0.05)
    m_r = float(np.sqrt(lo * hi))
    ml, mk, _ = calibrate(trial, distributions=with_medians(distributions, r=m_r), fix_lambda=fix_lambda)
    return m_r, ml, mk, (lo, hi)


def rounded(x: float) -> float:
    """Two significant digits."""
    return float(f"{x:.2g}")


# ------------------------------------------------------------------------------ report
def arm_line(name, e):
    f = lambda x: "NR" if not np.isfinite(x) else f"{x:.2f}"  # noqa: E731
    return (f"  {name:<12} ORR {100 * e['orr']:5.1f}% ({100 * e['orr_ci_low']:.1f}-{100 * e['orr_ci_high']:.1f})"
            f"  DCR {100 * e['dcr']:5.1f}%  PF at wk 8 {100 * e['pf_first_scan']:5.1f}%"
            f"  mPFS {f(e['median_pfs_months'])} mo ({f(e['median_pfs_months_ci_low'])}-"
            f"{f(e['median_pfs_months_ci_high'])})  mDoR {f(e['median_dor_months'])} mo "
            f"({f(e['median_dor_months_ci_low'])}-{f(e['median_dor_months_ci_high'])})  "
            f"responders {e['n_responders']}/{e['n_patients']}")


def validate(trial: Trial, n_val: int) -> dict:
    """Full coupled 18-month runs (pkpd.runner.run) of the first n_val patients against the surrogate."""
    from pkpd.trial import trial_endpoints_dataset

    original = getattr(runner, _RUNNER_PARAMETERS)

    def patched(scenario, point):
        P = original(scenario, point)
        return apply_variability(P, scenario.population.seed, variability=scenario.population.variability)

    if not runner_applies_variability():
        setattr(runner, _RUNNER_PARAMETERS, patched)
    try:
        ds = runner.run(load_scenario(scenario_text(n_val, trial.seed)))
    finally:
        setattr(runner, _RUNNER_PARAMETERS, original)
    ep = trial_endpoints_dataset(ds, trial.scan_h)
    worst, same = 0.0, True
    for arm in ARMS:
        full = ep["scan_sld"].sel(arm=arm).values
        sur = lesion_at_scans(trial.signal[arm][:n_val], trial.P[:n_val], trial.scan_h)
        worst = max(worst, float(np.max(np.abs(full - sur))))
        same &= bool(np.array_equal(ep["best_response"].sel(arm=arm).values,
                                    assess_recist(sur, trial.scan_days).best_response))
    return {"patients": n_val, "max_abs_diameter_difference_mm": worst, "best_responses_identical": same,
            "elapsed_s": ds.attrs["elapsed_s"]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=500, help="virtual patients (500)")
    ap.add_argument("--seed", type=int, default=1, help="population seed (1)")
    ap.add_argument("--validate", type=int, default=12, help="patients re-run with the full model (12; 0: skip)")
    ap.add_argument("--check", action="store_true", help="exit 1 unless the shipped medians are the calibrated ones")
    ap.add_argument("--json", help="write the results to this JSON file")
    args = ap.parse_args(argv)
    t_start = time.perf_counter()
    report = {"targets": {"orr_egfr": TARGET_ORR_EGFR, "pf_first_scan_egfr": TARGET_PF_FIRST_SCAN,
                          "max_orr_ruxolitinib": MAX_ORR_RUX, "median_dor_egfr_scan_intervals": TARGET_DOR_SCANS}}

    print(f"simulating the signal of {args.n} patients (seed {args.seed}) in {len(ARMS)} arms ...", flush=True)
    trial = Trial(args.n, args.seed)
    print(f"  {time.perf_counter() - t_start:.0f} s")

    m_r, _, _, plateau = choose_f_r(trial)
    m_r_r = rounded(m_r)
    m_lam, m_k, dist = calibrate(trial, distributions=with_medians(DISTRIBUTIONS, r=m_r_r))
    m_lam_r, m_k_r = rounded(m_lam), rounded(m_k)
    shipped = {d.path: d.median_factor for d in DISTRIBUTIONS}
    print(f"\nf_R median x {m_r:.3f} (shipped {shipped['tumor.f_R']}): the middle of "
          f"x {plateau[0]:.3f}-{plateau[1]:.3f}, "
          f"which give the target median DoR; rounded {m_r_r}")
    print(f"calibrated medians at f_R x {m_r_r}: lambda0 x {m_lam:.3f} (shipped {shipped['tumor.lambda0']}), "
          f"K_max x {m_k:.3f} (shipped {shipped['tumor.K_max']}); rounded: {m_lam_r}, {m_k_r}")
    cal = with_medians(dist, m_lam_r, m_k_r, m_r_r)
    report["calibrated"] = {"lambda0_median_factor": m_lam, "K_max_median_factor": m_k, "f_R_median_factor": m_r,
                            "f_R_plateau": plateau, "rounded": {"lambda0": m_lam_r, "K_max": m_k_r, "f_R": m_r_r}}
    typ = {k: SYSTEM.parameters[PATHS[f"tumor.{k}"]].value for k in ("lambda0", "K_max", "f_R")}
    print(f"  lambda0 median {m_lam_r * typ['lambda0'] * 24:.4f}/d (volume doubling time "
          f"{np.log(2) / (m_lam_r * typ['lambda0'] * 24):.0f} d); K_max median {m_k_r * typ['K_max'] * 24:.3f}/d; "
          f"f_R median {m_r_r * typ['f_R']:.3g}")

    for arm in ARMS:   # stopping each patient at the first PD changes no RECIST endpoint (checked, all arms)
        Q = with_tumour(trial.P, trial.seed, DISTRIBUTIONS, trial.z)
        a, b = (assess_recist(lesion_at_scans(trial.signal[arm], Q, trial.scan_h, trial.drives[arm], stop_at_pd=x),
                              trial.scan_days) for x in (True, False))
        for name in ("best_response", "best_pct_change", "pfs_days", "pfs_event", "dor_days", "dor_event"):
            assert np.array_equal(getattr(a, name), getattr(b, name), equal_nan=name in ("best_pct_change",
                                  "pfs_days", "dor_days")), (arm, name)

    print(f"\nendpoints at the shipped distributions (pkpd.variability.DISTRIBUTIONS), n = {args.n}, seed {args.seed}:")
    results = {}
    for arm in ARMS:
        results[arm] = trial.evaluate(arm, DISTRIBUTIONS)
        print(arm_line(arm, results[arm]))
    report["shipped"] = results

    dor_target = TARGET_DOR_SCANS * trial.scan_days[1] / 30.4375
    ok = (abs(results["neratinib"]["orr"] - TARGET_ORR_EGFR) <= 0.01 and results["ruxolitinib"]["orr"] <= MAX_ORR_RUX
          and abs(results["neratinib"]["pf_first_scan"] - TARGET_PF_FIRST_SCAN) <= 0.05
          and abs(results["neratinib"]["median_dor_months"] - dor_target) < 0.01)
    print(f"  targets met (EGFR ORR 6% +- 1, ruxolitinib ORR <= {100 * MAX_ORR_RUX:.0f}%, "
          f"PF at week 8 45% +- 5, EGFR median DoR {dor_target:.2f} months): {ok}")

    print("\nuncertainty of the combination's prediction:")
    unc = {}
    shown = ("neratinib", "ruxolitinib", "combination")
    trial2 = Trial(args.n, args.seed + 1, arms=shown)
    e2 = {a: trial2.evaluate(a, DISTRIBUTIONS) for a in shown}
    print(f"  independent population (seed {args.seed + 1}), same distributions:")
    for a, e in e2.items():
        print("  " + arm_line(a, e))
    unc["seed_2"] = e2

    def variant(key, label, d):
        e = {a: trial.evaluate(a, d) for a in shown}
        med = {x.path: x.median_factor for x in d}
        print(f"  {label} (lambda0 x {med['tumor.lambda0']:.2f}, K_max x {med['tumor.K_max']:.2f}, "
              f"f_R x {med['tumor.f_R']:.2f}):")
        for a, x in e.items():
            print("  " + arm_line(a, x))
        unc[key] = e

    for cv in (0.5, 1.5):
        variant(f"kmax_cv_{cv}", f"K_max CV {100 * cv:.0f}%, refitted",
                calibrate(trial, kmax_cv=cv, distributions=cal, start=(m_lam_r, m_k_r))[2])
    for label, target in (("low", TARGET_ORR_EGFR_CI[0]), ("high", TARGET_ORR_EGFR_CI[1])):
        variant(f"orr_egfr_{label}", f"EGFR-targeted ORR at the {label} end of its 95% CI ({100 * target:.1f}%)",
                calibrate(trial, orr_target=target, distributions=cal, fix_lambda=m_lam_r, start=(m_lam_r, m_k_r))[2])
    for k in (TARGET_DOR_SCANS - 1, TARGET_DOR_SCANS + 1):
        mr, ml, mk, _ = choose_f_r(trial, cal, dor_scans=k)
        variant(f"dor_scans_{k}", f"EGFR-targeted median DoR {k * trial.scan_days[1] / 30.4375:.2f} months "
                f"(assumed target), refitted", with_medians(cal, ml, mk, mr))
    report["uncertainty"] = unc

    if args.validate:
        print(f"\nchecking the surrogate against full coupled runs of {args.validate} patients x {len(ARMS)} arms ...",
              flush=True)
        v = validate(trial, args.validate)
        print(f"  max |diameter difference| at the scans {v['max_abs_diameter_difference_mm']:.2e} mm; "
              f"best overall responses identical: {v['best_responses_identical']} ({v['elapsed_s']:.0f} s)")
        report["validation"] = v
        ok &= v["best_responses_identical"]

    elapsed = time.perf_counter() - t_start
    print(f"\ndone in {elapsed:.0f} s")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=1, default=float)
    if args.check and not (m_lam_r == shipped["tumor.lambda0"] and m_k_r == shipped["tumor.K_max"]
                           and m_r_r == shipped["tumor.f_R"] and ok):
        print("CHECK FAILED: the shipped medians are not the calibrated ones, or a target is missed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
