"""RECIST 1.1 response assessment and virtual-trial endpoints.

Input is, per patient, the sum of longest diameters (SLD, mm) of the target
lesions at the protocol scan times, baseline first: ``sld`` of shape
``(..., n_scans)`` (usually ``(n_patients, n_scans)``), with ``times_days`` of
shape ``(n_scans,)`` or broadcasting to ``sld``.  Scan times are in **days since
the start of treatment** (day 0), which is also the origin of progression-free
survival; the baseline scan (column 0) is normally day 0.  A NaN SLD is a scan
that did not happen (or a failed simulation): it is "not evaluable" and skipped.

This follows the virtual-trial algorithm of ``biology.md`` §3.5 (after
Eisenhauer EA et al., "New response evaluation criteria in solid tumours:
revised RECIST guideline (version 1.1)", *Eur J Cancer* 2009;45:228–247).

Per assessment (each post-baseline scan), in this order:

* **PD** if SLD >= 1.2 × nadir **and** SLD − nadir >= 5 mm, where the nadir is the
  smallest SLD of the earlier scans, baseline included; or if the caller flags a
  new lesion at that scan (``new_lesion``).
* **CR** if SLD < ``cr_threshold_mm``.  RECIST's CR is "all target lesions
  gone, every node < 10 mm short axis"; a simulated SLD never reaches exactly
  zero, so CR here means "below a detection floor", **5 mm by default** (the
  §3.5 suggestion; about the size of one residual node well under 10 mm).  Set
  it to a tiny positive value for "SLD essentially zero".
* **PR** if SLD <= 0.7 × baseline (a fall of at least 30%).
* **SD** otherwise.

All boundaries are inclusive as RECIST writes them ("at least 30%", "at least
20% and at least 5 mm"), with a slack of 1e-9 mm so that values that are on the
boundary in decimal (e.g. baseline 33.3 mm, scan 23.31 mm) are not lost to
binary rounding.  Assessments after the first PD are still classified, but no
endpoint looks past the first PD.

Best overall response (BOR), per patient, from the evaluable assessments up to
the first PD:

* With ``confirm=True`` (default) a CR or PR at scan *i* counts only if it is
  **confirmed**: the first evaluable scan at least ``confirm_days`` (28) days
  later, and every evaluable scan between, is CR or PR, all before any PD.
  BOR is CR if some confirmed run is all CR, else PR if any run is confirmed.
  With ``confirm=False`` any CR (PR) before PD makes BOR CR (PR).
* Otherwise BOR is SD if some evaluable assessment before PD (SD, or an
  unconfirmed CR/PR) is at or after ``min_sd_days`` (42 days = 6 weeks since
  day 0), else PD if a PD was recorded, else NE (not evaluable).

Time-to-event endpoints (days, per patient):

* **PFS** from day 0 to the first PD or death (``death_days``), whichever comes
  first; otherwise censored at the last evaluable assessment (day 0 if there is
  none).
* **DoR** (confirmed responders only) from the first scan of the first
  confirmed response (the first of the confirming pair; the first CR/PR scan if
  ``confirm=False``) to PD or death, censored like PFS.

Summaries are per arm: ORR and disease-control rate with exact Clopper–Pearson
intervals, and Kaplan–Meier medians of DoR and PFS with Brookmeyer–Crowley
confidence intervals (see :func:`kaplan_meier`).  Summary times are in months:
**one month = 30.4375 days** (365.25 / 12).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from pkpd.errors import InputError

__all__ = [
    "NE",
    "CR",
    "PR",
    "SD",
    "PD",
    "RESPONSE_LABELS",
    "DAYS_PER_MONTH",
    "response_labels",
    "add_measurement_noise",
    "classify_assessments",
    "RecistResult",
    "assess_recist",
    "objective_response_rate",
    "disease_control_rate",
    "KaplanMeier",
    "kaplan_meier",
    "trial_endpoints",
]

# Response codes (int8).  NE = no assessment: the baseline column, a missing
# scan, or a patient without a usable baseline.
NE, CR, PR, SD, PD = 0, 1, 2, 3, 4
RESPONSE_LABELS = ("NE", "CR", "PR", "SD", "PD")  # RESPONSE_LABELS[code]

DAYS_PER_MONTH = 30.4375  # 365.25 / 12

PR_FRACTION = 0.70  # PR: SLD <= 70% of baseline (a fall of >= 30%)
PD_FRACTION = 1.20  # PD: SLD >= 120% of the nadir ...
PD_ABS_MM = 5.0  # ... and >= 5 mm above it
_TOL_MM = 1e-9  # slack on the inclusive RECIST boundaries, mm
_TOL_DAYS = 1e-9  # slack on "at least N days", days


def response_labels(codes):
    """Map response codes (any shape, ints 0-4) to their labels ``"NE"/"CR"/"PR"/"SD"/"PD"``."""
    codes = np.asarray(codes)
    return np.asarray(RESPONSE_LABELS, dtype=object)[codes].astype(str)


def add_measurement_noise(sld, cv, sd_mm, rng):
    """Radiological measurement error on SLD: ``sld·(1 + cv·e1) + sd_mm·e2``, floored at 0 mm.

    Parameters
    ----------
    sld : array_like, shape (..., n_scans)
        True SLD, mm (NaN stays NaN).
    cv : float
        Proportional error, as a fraction (0.05–0.10 is typical, §3.5).
    sd_mm : float
        Additive error SD, mm (1–2 mm typical).
    rng : numpy.random.Generator or int
        Random generator, or a seed for ``numpy.random.default_rng``.

    Returns
    -------
    ndarray, same shape as ``sld``: observed SLD, mm.  ``e1`` and ``e2`` are
    independent standard normal draws per scan (the combined proportional +
    additive error model); the baseline scan is measured with error too.
    """
    sld = np.asarray(sld, dtype=float)
    for name, value in (("cv", cv), ("sd_mm", sd_mm)):
        if not (np.isfinite(value) and value >= 0):
            raise InputError(name, "must be a finite number >= 0", value)
    if not isinstance(rng, np.random.Generator):
        if rng is None or isinstance(rng, bool) or not isinstance(rng, (int, np.integer)):
            raise InputError("rng", "must be a numpy.random.Generator or an integer seed", rng)
        rng = np.random.default_rng(rng)
    e1 = rng.standard_normal(sld.shape)
    e2 = rng.standard_normal(sld.shape)
    return np.maximum(sld * (1.0 + cv * e1) + sd_mm * e2, 0.0)


# ------------------------------------------------------------------ classification


def _check_sld(sld):
    sld = np.asarray(sld, dtype=float)
    if sld.ndim < 1 or sld.shape[-1] < 1:
        raise InputError("sld", "must be an array (..., n_scans) of SLD in mm, baseline first", f"shape {sld.shape}")
    if np.any(sld < 0):
        raise InputError("sld", "must be >= 0 mm (NaN marks a missing scan)", f"{sld[sld < 0].flat[0]:g}")
    if np.any(np.isinf(sld)):
        raise InputError("sld", "must be finite (NaN marks a missing scan)", "inf")
    base = sld[..., 0]
    if np.any(base == 0):
        raise InputError("sld", "baseline SLD (column 0) must be > 0 mm", 0.0)
    return sld


def _check_cr_threshold(cr_threshold_mm):
    if not (np.isfinite(cr_threshold_mm) and cr_threshold_mm >= 0):
        raise InputError("cr_threshold_mm", "must be a finite SLD >= 0 mm", cr_threshold_mm)
    return float(cr_threshold_mm)


def classify_assessments(sld, *, cr_threshold_mm=5.0, new_lesion=None):
    """RECIST 1.1 response at each scan from the SLD series (see the module docstring for the rules).

    Parameters
    ----------
    sld : array_like, shape (..., n_scans)
        SLD, mm, baseline in column 0; NaN = scan missing.
    cr_threshold_mm : float
        CR when SLD is strictly below this (default 5 mm).
    new_lesion : array_like of bool, broadcasting to ``sld``, optional
        True where a new lesion appears at that scan (PD whatever the SLD).

    Returns
    -------
    ndarray of int8, shape of ``sld``: codes ``CR``, ``PR``, ``SD``, ``PD``; ``NE``
    for the baseline column, missing scans and patients without a baseline.
    """
    sld = _check_sld(sld)
    cr_threshold_mm = _check_cr_threshold(cr_threshold_mm)
    base = sld[..., :1]
    running_min = np.fmin.accumulate(sld, axis=-1)  # ignores NaN
    nadir = np.concatenate([np.full(base.shape, np.nan), running_min[..., :-1]], axis=-1)
    with np.errstate(invalid="ignore"):
        is_pd = (sld - PD_FRACTION * nadir >= -_TOL_MM) & (sld - nadir >= PD_ABS_MM - _TOL_MM)
        is_cr = sld < cr_threshold_mm
        is_pr = sld - PR_FRACTION * base <= _TOL_MM
    measured = np.isfinite(sld)
    if new_lesion is not None:
        new_lesion = np.broadcast_to(np.asarray(new_lesion, dtype=bool), sld.shape)
        is_pd = is_pd | new_lesion
        measured = measured | new_lesion
    codes = np.where(is_pd, PD, np.where(is_cr, CR, np.where(is_pr, PR, SD))).astype(np.int8)
    codes[~measured] = NE
    codes[..., 0] = NE
    codes[np.isnan(sld[..., 0])] = NE
    return codes


@dataclass(frozen=True, eq=False)
class RecistResult:
    """Per-patient RECIST outcome of :func:`assess_recist`.

    Leading shape ``L`` is ``sld.shape[:-1]`` (usually ``(n_patients,)``).

    Attributes
    ----------
    assessments : ndarray int8, shape L + (n_scans,)
        Response code at each scan (``NE`` at baseline).
    pct_change : ndarray, shape L + (n_scans,)
        Change of SLD from baseline, %.
    best_response : ndarray int8, shape L
        Best overall response code (``CR``, ``PR``, ``SD``, ``PD`` or ``NE``).
    best_pct_change : ndarray, shape L
        Smallest % change from baseline over the post-baseline scans up to and
        including the first PD (the waterfall-plot value); NaN if none.
    response_start_days : ndarray, shape L
        Day of the first scan of the first (confirmed) response; NaN for
        non-responders.
    pfs_days : ndarray, shape L; pfs_event : ndarray bool, shape L
        Progression-free survival time, days, and whether it ended in PD or
        death (False = censored at the last evaluable assessment).
    dor_days : ndarray, shape L; dor_event : ndarray bool, shape L
        Duration of response, days (NaN for non-responders), and its event flag.
    last_assessment_days : ndarray, shape L
        Day of the last evaluable assessment before PD (0 if none).
    """

    assessments: np.ndarray
    pct_change: np.ndarray
    best_response: np.ndarray
    best_pct_change: np.ndarray
    response_start_days: np.ndarray
    pfs_days: np.ndarray
    pfs_event: np.ndarray
    dor_days: np.ndarray
    dor_event: np.ndarray
    last_assessment_days: np.ndarray


def _check_times(times_days, shape):
    times = np.asarray(times_days, dtype=float)
    if times.ndim < 1 or times.shape[-1] != shape[-1]:
        raise InputError("times_days", f"last axis must match the {shape[-1]} scans of sld", f"shape {times.shape}")
    try:
        times = np.broadcast_to(times, shape)
    except ValueError:
        raise InputError("times_days", f"must broadcast to sld's shape {shape}", f"shape {times.shape}") from None
    if not np.all(np.isfinite(times)):
        raise InputError("times_days", "must be finite (days since the start of treatment)", "a non-finite value")
    if shape[-1] > 1 and np.any(np.diff(times, axis=-1) <= 0):
        raise InputError("times_days", "must be strictly increasing along the scans", "a non-increasing step")
    return times


def assess_recist(sld, times_days, *, confirm=True, confirm_days=28.0, min_sd_days=42.0, cr_threshold_mm=5.0,
                  new_lesion=None, death_days=None):
    """Classify every scan, then derive BOR, % change, PFS and DoR per patient.

    Parameters
    ----------
    sld : array_like, shape (..., n_scans)
        SLD, mm, baseline first; NaN = missing scan.
    times_days : array_like, shape (n_scans,) or broadcasting to ``sld``
        Scan days since the start of treatment, strictly increasing.
    confirm : bool
        Require confirmation of CR/PR (default True; see the module docstring).
    confirm_days : float
        Least gap, days, between a response and its confirming scan (28).
    min_sd_days : float
        Earliest day, since day 0, at which an assessment can make BOR SD (42 =
        6 weeks).
    cr_threshold_mm : float
        CR detection floor, mm (default 5).
    new_lesion : array_like of bool, broadcasting to ``sld``, optional
        New-lesion events per scan (PD).
    death_days : array_like, broadcasting to ``sld.shape[:-1]``, optional
        Day of death, NaN where none was observed; ends PFS/DoR as an event if
        it comes before PD.

    Returns
    -------
    RecistResult

    Examples
    --------
    A PR on day 56 confirmed on day 112, then progression from the nadir of 50 mm:

    >>> res = assess_recist([[80.0, 52.0, 50.0, 61.0]], [0, 56, 112, 168])
    >>> response_labels(res.assessments).tolist()
    [['NE', 'PR', 'PR', 'PD']]
    >>> response_labels(res.best_response).tolist(), res.dor_days.tolist(), res.pfs_days.tolist()
    (['PR'], [112.0], [168.0])
    """
    sld = _check_sld(sld)
    times = _check_times(times_days, sld.shape)
    for name, value in (("confirm_days", confirm_days), ("min_sd_days", min_sd_days)):
        if not (np.isfinite(value) and value >= 0):
            raise InputError(name, "must be a finite number of days >= 0", value)
    codes = classify_assessments(sld, cr_threshold_mm=cr_threshold_mm, new_lesion=new_lesion)
    lead = sld.shape[:-1]
    n_scans = sld.shape[-1]
    if death_days is None:
        death = np.full(lead, np.nan)
    else:
        try:
            death = np.broadcast_to(np.asarray(death_days, dtype=float), lead)
        except ValueError:
            raise InputError("death_days", f"must broadcast to the patients' shape {lead}",
                             f"shape {np.shape(death_days)}") from None
        if np.any(death < 0):
            raise InputError("death_days", "must be >= 0 days (NaN = no death)", f"{death[death < 0].flat[0]:g}")

    code2 = codes.reshape(-1, n_scans)
    t2 = times.reshape(-1, n_scans)
    idx = np.arange(n_scans)
    is_pd = code2 == PD
    has_pd = np.any(is_pd, axis=-1)
    first_pd = np.where(has_pd, np.argmax(is_pd, axis=-1), n_scans)
    pre = (code2 != NE) & (idx[None, :] < first_pd[:, None])  # evaluable, before PD
    is_resp = (code2 == CR) | (code2 == PR)
    resp = pre & is_resp

    if confirm:
        confirmed = np.zeros_like(resp)
        confirmed_cr = np.zeros_like(resp)
        for i in range(1, n_scans):
            later = pre & (idx[None, :] > i) & (t2 - t2[:, i:i + 1] >= confirm_days - _TOL_DAYS)
            has_j = np.any(later, axis=-1)
            j = np.argmax(later, axis=-1)
            run = pre & (idx[None, :] >= i) & (idx[None, :] <= j[:, None])
            run_resp = np.all(~run | is_resp, axis=-1)
            run_cr = np.all(~run | (code2 == CR), axis=-1)
            confirmed[:, i] = resp[:, i] & has_j & run_resp
            confirmed_cr[:, i] = confirmed[:, i] & run_cr
        any_cr = np.any(confirmed_cr, axis=-1)
        starts = confirmed
    else:
        any_cr = np.any(pre & (code2 == CR), axis=-1)
        starts = resp
    any_resp = np.any(starts, axis=-1)
    sd_ok = np.any(pre & (t2 >= min_sd_days - _TOL_DAYS), axis=-1)
    bor = np.where(any_cr, CR, np.where(any_resp, PR, np.where(sd_ok, SD, np.where(has_pd, PD, NE))))
    bor = bor.astype(np.int8)

    rows = np.arange(code2.shape[0])
    start = np.where(any_resp, t2[rows, np.argmax(starts, axis=-1)], np.nan)
    t_pd = np.where(has_pd, t2[rows, np.minimum(first_pd, n_scans - 1)], np.nan)
    last_eval = np.where(np.any(pre, axis=-1), np.max(np.where(pre, t2, -np.inf), axis=-1), 0.0)
    event_time = np.fmin(t_pd, death.reshape(-1))
    pfs_event = np.isfinite(event_time)
    pfs = np.where(pfs_event, event_time, last_eval)
    dor = np.where(any_resp, pfs - start, np.nan)
    dor_event = any_resp & pfs_event

    base = sld[..., :1]
    pct = 100.0 * (sld - base) / base
    pct2 = pct.reshape(-1, n_scans)
    upto_pd = (idx[None, :] >= 1) & (idx[None, :] <= first_pd[:, None]) & np.isfinite(pct2)
    with np.errstate(invalid="ignore"):
        best_pct = np.where(np.any(upto_pd, axis=-1), np.min(np.where(upto_pd, pct2, np.inf), axis=-1), np.nan)

    return RecistResult(
        assessments=codes,
        pct_change=pct,
        best_response=bor.reshape(lead),
        best_pct_change=best_pct.reshape(lead),
        response_start_days=start.reshape(lead),
        pfs_days=pfs.reshape(lead),
        pfs_event=pfs_event.reshape(lead),
        dor_days=dor.reshape(lead),
        dor_event=dor_event.reshape(lead),
        last_assessment_days=last_eval.reshape(lead),
    )


# ------------------------------------------------------------------------- rates


def _rate(best_response, members, confidence_level):
    bor = np.asarray(best_response)
    if bor.ndim < 1 or bor.shape[-1] < 1:
        raise InputError("best_response", "must hold at least one patient (last axis)", f"shape {bor.shape}")
    if not np.issubdtype(bor.dtype, np.integer) or np.any((bor < NE) | (bor > PD)):
        raise InputError("best_response", "must hold response codes 0-4 (NE, CR, PR, SD, PD)", bor.dtype)
    if not (0 < confidence_level < 1):
        raise InputError("confidence_level", "must be in (0, 1)", confidence_level)
    n = bor.shape[-1]
    count = np.isin(bor, members).sum(axis=-1)
    low = np.empty(count.shape)
    high = np.empty(count.shape)
    for ix in np.ndindex(count.shape):
        ci = stats.binomtest(int(count[ix]), n).proportion_ci(confidence_level=confidence_level, method="exact")
        low[ix], high[ix] = ci.low, ci.high

    def scalar(x):
        return x[()] if np.ndim(x) == 0 else x

    return {"rate": scalar(count / n), "ci_low": scalar(low), "ci_high": scalar(high),
            "count": scalar(count), "n": n}


def objective_response_rate(best_response, *, confidence_level=0.95):
    """Objective response rate (CR + PR) / N with an exact Clopper–Pearson interval.

    Parameters
    ----------
    best_response : array_like of int, shape (..., n_patients)
        BOR codes; every patient counts in N (intention to treat, NE included).
    confidence_level : float
        Two-sided level of the interval (0.95).

    Returns
    -------
    dict: ``rate``, ``ci_low``, ``ci_high`` (fractions, shape ``(...)``),
    ``count`` (responders) and ``n`` (patients).  The interval is
    ``scipy.stats.binomtest(count, n).proportion_ci(method="exact")``.

    Examples
    --------
    >>> out = objective_response_rate([PR] * 6 + [SD] * 14)
    >>> round(float(out["rate"]), 2), round(float(out["ci_low"]), 4), round(float(out["ci_high"]), 4)
    (0.3, 0.1189, 0.5428)
    """
    return _rate(best_response, (CR, PR), confidence_level)


def disease_control_rate(best_response, *, confidence_level=0.95):
    """Disease-control rate (CR + PR + SD) / N with an exact Clopper–Pearson interval.

    SD counts only if it met the minimum duration used to build the BOR (pass a
    larger ``min_sd_days`` to :func:`assess_recist` for, e.g., "SD >= 24 weeks").
    Same inputs and outputs as :func:`objective_response_rate`.
    """
    return _rate(best_response, (CR, PR, SD), confidence_level)


# -------------------------------------------------------------------- Kaplan–Meier

_CONF_TYPES = ("log-log", "log")


@dataclass(frozen=True, eq=False)
class KaplanMeier:
    """Kaplan–Meier estimate with pointwise Greenwood confidence limits (from :func:`kaplan_meier`).

    Arrays have shape ``(n_event_times,)``; times are in the unit of the input.

    Attributes
    ----------
    time : ndarray
        Distinct event times, increasing.
    n_at_risk, n_events : ndarray
        Numbers at risk just before, and events at, each time.
    survival : ndarray
        S(t) from each time until the next.
    lower, upper : ndarray
        Pointwise confidence limits of S (NaN where undefined: S = 0).
    confidence_level : float
    conf_type : str
        ``"log-log"`` or ``"log"``.
    max_time : float
        The largest observed time (event or censoring); S is not estimated beyond it.
    """

    time: np.ndarray
    n_at_risk: np.ndarray
    n_events: np.ndarray
    survival: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    confidence_level: float
    conf_type: str
    max_time: float

    def survival_at(self, t):
        """``(S, lower, upper)`` at times ``t`` (any shape); S = 1 before the first event, NaN after ``max_time``."""
        t = np.asarray(t, dtype=float)
        k = np.searchsorted(self.time, t, side="right") - 1
        kk = np.clip(k, 0, max(self.time.size - 1, 0))
        out = []
        for curve in (self.survival, self.lower, self.upper):
            vals = curve[kk] if curve.size else np.ones(t.shape)
            vals = np.where(k < 0, 1.0, vals)
            vals = np.where(t > self.max_time, np.nan, vals)
            out.append(vals[()] if vals.ndim == 0 else vals)
        return tuple(out)

    def quantile(self, p=0.5):
        """Time by which a fraction ``p`` has had the event: ``(estimate, ci_low, ci_high)``.

        The estimate is the first time S(t) <= 1 - p; where S sits exactly on
        1 - p over a stretch, the midpoint of that stretch (the usual median rule,
        as R ``survival::quantile.survfit``).  The confidence interval is
        Brookmeyer–Crowley's: the same rule applied to the lower and the upper
        pointwise confidence curves.  NaN = not reached.
        """
        if not (0 < p < 1):
            raise InputError("p", "must be in (0, 1)", p)
        target = 1.0 - p
        x = np.concatenate([[0.0], self.time])
        return tuple(_first_crossing(x, np.concatenate([[1.0], curve]), target, self.max_time)
                     for curve in (self.survival, self.lower, self.upper))

    def median(self):
        """Median time to event ``(estimate, ci_low, ci_high)``; NaN = not reached."""
        return self.quantile(0.5)


def _first_crossing(x, s, target, x_end, tol=np.sqrt(np.finfo(float).eps)):
    """First time a right-continuous step curve (value ``s[k]`` from ``x[k]``) falls to <= target."""
    ok = np.isfinite(s)
    hit = np.flatnonzero(ok & (s <= target + tol))
    if hit.size == 0:
        return np.nan
    k = hit[0]
    if abs(s[k] - target) < tol:
        below = np.flatnonzero(ok & (np.arange(s.size) > k) & (s < target - tol))
        x_next = x[below[0]] if below.size else x_end
        return float(0.5 * (x[k] + x_next))
    return float(x[k])


def kaplan_meier(time, event, *, confidence_level=0.95, conf_type="log-log"):
    """Kaplan–Meier product-limit estimate of a survival curve.

    Parameters
    ----------
    time : array_like, shape (n,)
        Event or censoring times, >= 0 (days, months ... the result keeps the unit).
    event : array_like of bool, shape (n,)
        True = event (PD, death), False = censored.  At tied times events are
        counted before censorings.
    confidence_level : float
        Level of the pointwise limits (0.95).
    conf_type : {"log-log", "log"}
        Transform of the Greenwood interval.  ``"log-log"`` (default; SAS PROC
        LIFETEST's default and ``scipy.stats.ecdf``'s ``method="log-log"``):
        ``S ** exp(±z·σ/ln S)`` with ``σ² = Σ d/(n(n − d))``.  ``"log"`` (R
        survival's default): ``S·exp(±z·σ)``, the upper limit capped at 1.

    Returns
    -------
    KaplanMeier
        Curve and limits at the distinct event times; ``.median()`` gives the
        median and its Brookmeyer–Crowley interval.

    Examples
    --------
    >>> km = kaplan_meier([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [True] * 10)
    >>> km.median()
    (5.5, 1.0, 8.0)
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event)
    if time.ndim != 1 or time.size == 0:
        raise InputError("time", "must be a non-empty 1-D array", f"shape {time.shape}")
    if event.shape != time.shape:
        raise InputError("event", f"must have the shape of time {time.shape}", f"shape {event.shape}")
    if not np.all(np.isfinite(time)) or np.any(time < 0):
        raise InputError("time", "must be finite and >= 0", "a negative or non-finite time")
    if event.dtype != bool:
        if not np.all(np.isin(event, (0, 1))):
            raise InputError("event", "must be boolean (True = event, False = censored)", event.dtype)
        event = event.astype(bool)
    if conf_type not in _CONF_TYPES:
        raise InputError("conf_type", f"must be one of {', '.join(repr(c) for c in _CONF_TYPES)}", repr(conf_type))
    if not (0 < confidence_level < 1):
        raise InputError("confidence_level", "must be in (0, 1)", confidence_level)

    ev_times = np.unique(time[event])
    sorted_t = np.sort(time)
    n_risk = (time.size - np.searchsorted(sorted_t, ev_times, side="left")).astype(float)
    n_ev = np.array([np.count_nonzero(event & (time == u)) for u in ev_times], dtype=float)
    surv = np.cumprod(1.0 - n_ev / n_risk)
    with np.errstate(divide="ignore", invalid="ignore"):
        var = np.cumsum(n_ev / (n_risk * (n_risk - n_ev)))  # Greenwood, Var(log S) / var of cum. hazard
        se = np.sqrt(var)
        z = stats.norm.ppf(0.5 + confidence_level / 2.0)
        if conf_type == "log":
            lower = surv * np.exp(-z * se)
            upper = np.minimum(1.0, surv * np.exp(z * se))
        else:
            log_s = np.log(surv)
            sigma = se / np.abs(log_s)
            lower = surv ** np.exp(z * sigma)
            upper = surv ** np.exp(-z * sigma)
            lower = np.where(surv == 1.0, 1.0, lower)
            upper = np.where(surv == 1.0, 1.0, upper)
    undefined = surv <= 0
    lower = np.where(undefined, np.nan, lower)
    upper = np.where(undefined, np.nan, upper)
    return KaplanMeier(
        time=ev_times,
        n_at_risk=n_risk,
        n_events=n_ev,
        survival=surv,
        lower=lower,
        upper=upper,
        confidence_level=float(confidence_level),
        conf_type=conf_type,
        max_time=float(time.max()),
    )


# ----------------------------------------------------------------------- summary


def trial_endpoints(result, *, confidence_level=0.95, conf_type="log-log", landmarks_months=(6.0, 12.0)):
    """Arm-level endpoints from a :class:`RecistResult` over one arm (patients on the only axis).

    Returns
    -------
    dict of str -> float (counts as int)
        ``n_patients``; ``n_cr``, ``n_pr``, ``n_sd``, ``n_pd``, ``n_ne`` (BOR
        counts); ``orr``, ``orr_ci_low``, ``orr_ci_high`` and ``dcr``,
        ``dcr_ci_low``, ``dcr_ci_high`` (fractions, exact Clopper–Pearson);
        ``n_responders``; ``median_dor_months`` with ``median_dor_months_ci_low``
        / ``_ci_high`` and ``responding_at_{m}_months`` (KM probability of still
        responding, among responders) for each landmark ``m``;
        ``median_pfs_months`` with its CI and ``pfs_at_{m}_months``;
        ``median_best_pct_change`` (%).  Medians and CIs are NaN when not
        reached (or with no responders); months are 30.4375 days.
    """
    bor = np.asarray(result.best_response)
    if bor.ndim != 1:
        raise InputError("result", "must hold one arm (patients on a single axis)", f"shape {bor.shape}")
    out = {"n_patients": int(bor.size)}
    for code in (CR, PR, SD, PD, NE):
        out[f"n_{RESPONSE_LABELS[code].lower()}"] = int(np.count_nonzero(bor == code))
    orr = objective_response_rate(bor, confidence_level=confidence_level)
    dcr = disease_control_rate(bor, confidence_level=confidence_level)
    out.update(orr=float(orr["rate"]), orr_ci_low=float(orr["ci_low"]), orr_ci_high=float(orr["ci_high"]),
               dcr=float(dcr["rate"]), dcr_ci_low=float(dcr["ci_low"]), dcr_ci_high=float(dcr["ci_high"]),
               n_responders=int(orr["count"]))
    responders = np.isfinite(result.dor_days)
    curves = {
        "dor": (result.dor_days[responders], result.dor_event[responders], "responding_at_{m:g}_months"),
        "pfs": (result.pfs_days, result.pfs_event, "pfs_at_{m:g}_months"),
    }
    for name, (days, events, landmark_key) in curves.items():
        if days.size:
            km = kaplan_meier(days, events, confidence_level=confidence_level, conf_type=conf_type)
            med = [v / DAYS_PER_MONTH for v in km.median()]
            at = [float(km.survival_at(m * DAYS_PER_MONTH)[0]) for m in landmarks_months]
        else:
            med = [np.nan] * 3
            at = [np.nan] * len(landmarks_months)
        out[f"median_{name}_months"] = float(med[0])
        out[f"median_{name}_months_ci_low"] = float(med[1])
        out[f"median_{name}_months_ci_high"] = float(med[2])
        for m, value in zip(landmarks_months, at):
            out[landmark_key.format(m=m)] = value
    best = result.best_pct_change[np.isfinite(result.best_pct_change)]
    out["median_best_pct_change"] = float(np.median(best)) if best.size else np.nan
    return out
