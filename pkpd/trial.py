"""Virtual-trial endpoints of a run: RECIST 1.1 at the scan times, ORR, DCR, DoR, PFS per arm.

:func:`trial_endpoints_dataset` reads the ``tumor_diameter`` of a run Dataset
(:func:`pkpd.runner.run`; dims ``arm``, sweep dims, ``patient``, ``time`` in h) and
returns a Dataset with

* per scan (dims ``arm``, sweep dims, ``patient``, ``scan``): the measured lesion
  size ``scan_sld`` (mm), its change from baseline ``scan_pct_change`` (%) and the
  RECIST response ``scan_response`` (codes, see below);
* per patient (dims ``arm``, sweep dims, ``patient``): ``best_response`` (best
  overall response, with confirmation), ``best_pct_change`` (%; the waterfall
  value), ``response_start_days``, ``dor_days`` / ``dor_event``, ``pfs_days`` /
  ``pfs_event``, ``last_assessment_days``;
* per arm and sweep point (dims ``arm``, sweep dims): ``orr``, ``orr_low``,
  ``orr_high`` (exact Clopper–Pearson), ``dcr`` (+ ``dcr_low``, ``dcr_high``),
  ``median_dor_months`` and ``median_pfs_months`` (Kaplan–Meier, with
  Brookmeyer–Crowley limits ``_low`` / ``_high``; NaN = not reached),
  ``responding_at_{6,12}_months``, ``pfs_at_{6,12}_months``, the BOR counts
  ``n_cr`` .. ``n_ne``, ``n_responders``, ``n_patients`` and
  ``median_best_pct_change``.

The lesion
    The trial's target lesion is one measurable superficial (chest-wall) lesion,
    so the SLD is the longest diameter of the simulated tumour (a sphere of the
    simulated volume).  Its size at a scan is ``tumor_diameter`` at that time,
    linearly interpolated between stored times (exact when the scan is an output
    time, which :meth:`pkpd.scenario.Scenario.times_h` ensures).  The first scan
    time is the baseline (normally 0 h).

RECIST
    :func:`pkpd.analysis.response.assess_recist`: PD at >= 20% and >= 5 mm above
    the nadir, CR below ``cr_threshold_mm`` (5 mm), PR at <= 70% of baseline; CR/PR
    confirmed by the next scan >= 28 days later (``confirm``); SD counts from day
    42.  No new lesions and no deaths are simulated, so PFS is time to target-lesion
    progression, censored at the last scan without PD.

Measurement noise
    ``noise_cv`` (and ``noise_sd_mm``): each measured size is
    ``true * (1 + noise_cv * e1) + noise_sd_mm * e2`` (``e1``, ``e2`` standard
    normal, floored at 0; the baseline too).  Patient ``p`` of arm ``a`` at sweep
    point ``j`` draws from its own stream,
    ``patient_rng(seed, p, crc32("recist-noise:<a>:<j>"))`` (``p`` the value of the
    ``patient`` coordinate), so the noise does not depend on how patients were split
    between workers, on the order of the arms, or on which other patients are in ``ds``.

Failed simulations (NaN diameters, ``pkpd run --on-failure skip``) are not evaluable (NE) and count
in N (intention to treat).

Codes (int8): 0 NE, 1 CR, 2 PR, 3 SD, 4 PD (``flag_values`` / ``flag_meanings`` on the variables).
Months are 30.4375 days.
"""

from __future__ import annotations

import zlib

import numpy as np
import xarray as xr

from pkpd.analysis.response import (
    DAYS_PER_MONTH, RESPONSE_LABELS, add_measurement_noise, assess_recist, trial_endpoints,
)
from pkpd.errors import InputError
from pkpd.population import patient_rng

__all__ = ["trial_endpoints_dataset", "scan_times", "sld_at_scans", "ENDPOINTS", "PER_PATIENT", "PER_SCAN",
           "DEFAULT_SCAN_EVERY_H"]

HOURS_PER_DAY = 24.0
#: Default interval of the scans: every 8 weeks from the start of treatment (h).
DEFAULT_SCAN_EVERY_H = 8 * 7 * HOURS_PER_DAY

_FLAGS = {"flag_values": np.arange(len(RESPONSE_LABELS), dtype=np.int8),
          "flag_meanings": " ".join(RESPONSE_LABELS)}

#: per arm x sweep point: name -> (units, long_name)
ENDPOINTS = {
    "n_patients": ("1", "patients"),
    "n_cr": ("1", "patients with best overall response CR"),
    "n_pr": ("1", "patients with best overall response PR"),
    "n_sd": ("1", "patients with best overall response SD"),
    "n_pd": ("1", "patients with best overall response PD"),
    "n_ne": ("1", "patients not evaluable"),
    "n_responders": ("1", "patients with a confirmed objective response (CR or PR)"),
    "orr": ("1", "objective response rate, (CR + PR) / N"),
    "orr_low": ("1", "objective response rate, lower limit of the exact (Clopper-Pearson) interval"),
    "orr_high": ("1", "objective response rate, upper limit of the exact (Clopper-Pearson) interval"),
    "dcr": ("1", "disease-control rate, (CR + PR + SD) / N"),
    "dcr_low": ("1", "disease-control rate, lower limit of the exact (Clopper-Pearson) interval"),
    "dcr_high": ("1", "disease-control rate, upper limit of the exact (Clopper-Pearson) interval"),
    "median_dor_months": ("month", "median duration of response (Kaplan-Meier; NaN = not reached)"),
    "median_dor_months_low": ("month", "median duration of response, lower confidence limit (Brookmeyer-Crowley)"),
    "median_dor_months_high": ("month", "median duration of response, upper confidence limit "
                                        "(Brookmeyer-Crowley; NaN = not reached)"),
    "responding_at_6_months": ("1", "probability of still responding 6 months after the response (Kaplan-Meier)"),
    "responding_at_12_months": ("1", "probability of still responding 12 months after the response (Kaplan-Meier)"),
    "median_pfs_months": ("month", "median progression-free survival (Kaplan-Meier; NaN = not reached)"),
    "median_pfs_months_low": ("month", "median progression-free survival, lower confidence limit "
                                       "(Brookmeyer-Crowley)"),
    "median_pfs_months_high": ("month", "median progression-free survival, upper confidence limit "
                                        "(Brookmeyer-Crowley; NaN = not reached)"),
    "pfs_at_6_months": ("1", "probability of being progression-free at 6 months (Kaplan-Meier)"),
    "pfs_at_12_months": ("1", "probability of being progression-free at 12 months (Kaplan-Meier)"),
    "median_best_pct_change": ("%", "median over patients of the best change of the lesion from baseline"),
}
# names in pkpd.analysis.response.trial_endpoints -> names here
_RENAME = {"orr_ci_low": "orr_low", "orr_ci_high": "orr_high", "dcr_ci_low": "dcr_low", "dcr_ci_high": "dcr_high",
           "median_dor_months_ci_low": "median_dor_months_low", "median_dor_months_ci_high": "median_dor_months_high",
           "median_pfs_months_ci_low": "median_pfs_months_low", "median_pfs_months_ci_high": "median_pfs_months_high"}
_INTEGER = ("n_patients", "n_cr", "n_pr", "n_sd", "n_pd", "n_ne", "n_responders")

#: per patient: name -> (units, long_name)
PER_PATIENT = {
    "best_response": ("1", "best overall response (RECIST 1.1; 0 NE, 1 CR, 2 PR, 3 SD, 4 PD)"),
    "best_pct_change": ("%", "best (smallest) change of the lesion from baseline up to the first PD"),
    "response_start_days": ("d", "day of the first scan of the first confirmed response (NaN: no response)"),
    "dor_days": ("d", "duration of response: first response scan to PD, or to the last scan if censored"),
    "dor_event": ("1", "duration of response ended in PD (false: censored; responders only)"),
    "pfs_days": ("d", "progression-free survival: day 0 to PD, or to the last scan if censored"),
    "pfs_event": ("1", "progression-free survival ended in PD (false: censored)"),
    "last_assessment_days": ("d", "day of the last evaluable scan before PD"),
}
#: per scan: name -> (units, long_name)
PER_SCAN = {
    "scan_sld": ("mm", "measured longest diameter of the target lesion (= SLD) at each scan"),
    "scan_pct_change": ("%", "change of the measured lesion from baseline at each scan"),
    "scan_response": ("1", "RECIST 1.1 response at each scan (0 NE, 1 CR, 2 PR, 3 SD, 4 PD)"),
}


def scan_times(duration_h: float, every_h: float = DEFAULT_SCAN_EVERY_H) -> np.ndarray:
    """Scan times, h: baseline 0, then every ``every_h`` up to ``duration_h`` (inclusive)."""
    if not (np.isfinite(duration_h) and duration_h >= 0):
        raise InputError("duration_h", "must be a finite time >= 0 h", duration_h)
    if not (np.isfinite(every_h) and every_h > 0):
        raise InputError("scan_every", "must be a finite time > 0 h", every_h)
    n = int(np.floor(duration_h / every_h + 1e-9))
    return np.arange(n + 1) * float(every_h)


def _check_scan_times(scan_times_h, t) -> np.ndarray:
    s = np.asarray(scan_times_h, dtype=float)
    if s.ndim != 1 or s.size < 1:
        raise InputError("scan_times_h", "must be a 1-D list of scan times (h), baseline first", f"shape {s.shape}")
    if not np.all(np.isfinite(s)):
        raise InputError("scan_times_h", "must be finite", "a non-finite time")
    if s.size > 1 and np.any(np.diff(s) <= 0):
        raise InputError("scan_times_h", "must be strictly increasing", "a non-increasing step")
    tol = 1e-6 * max(1.0, abs(float(t[-1])))
    if s[0] < t[0] - tol or s[-1] > t[-1] + tol:
        raise InputError("scan_times_h", f"must lie within the run, {t[0]:g} h to {t[-1]:g} h",
                         f"{s[0]:g} h to {s[-1]:g} h")
    return s


def sld_at_scans(t: np.ndarray, diameter: np.ndarray, scan_times_h) -> np.ndarray:
    """Diameter (..., n_time) at the scan times, by linear interpolation in time; shape (..., n_scans).

    A scan within 1e-6 h of an output time takes that time's value exactly.
    """
    t = np.asarray(t, dtype=float)
    s = _check_scan_times(scan_times_h, t)
    diameter = np.asarray(diameter, dtype=float)
    if t.size == 1:
        return np.repeat(diameter[..., :1], s.size, axis=-1)
    j = np.searchsorted(t, s)
    j_hi = np.clip(j, 0, t.size - 1)
    j_lo = np.clip(j - 1, 0, t.size - 1)
    nearest = np.where(np.abs(t[j_hi] - s) <= np.abs(t[j_lo] - s), j_hi, j_lo)
    exact = np.abs(t[nearest] - s) <= 1e-6
    lo = np.clip(np.searchsorted(t, s, side="right") - 1, 0, t.size - 2)
    hi = lo + 1
    w = np.clip((s - t[lo]) / (t[hi] - t[lo]), 0.0, 1.0)
    interp = diameter[..., lo] * (1.0 - w) + diameter[..., hi] * w
    return np.where(exact, diameter[..., nearest], interp)


def _noise_stream(arm: str, point: int) -> int:
    return zlib.crc32(f"recist-noise:{arm}:{point}".encode("utf-8"))


def trial_endpoints_dataset(ds: xr.Dataset, scan_times_h=None, *, confirm: bool = True, noise_cv: float = 0.0,
                            noise_sd_mm: float = 0.0, seed: int | None = None, cr_threshold_mm: float = 5.0,
                            confirm_days: float = 28.0, min_sd_days: float = 42.0, confidence_level: float = 0.95,
                            conf_type: str = "log-log") -> xr.Dataset:
    """RECIST 1.1 per scan and patient, and the trial endpoints per arm x sweep point, of a run Dataset.

    Parameters
    ----------
    ds : xarray.Dataset
        A run (:func:`pkpd.runner.run`) with ``tumor_diameter`` (mm; dims ``arm``, sweep
        dims, ``patient``, ``time``) and the ``time`` coordinate in h.  Only
        ``tumor_diameter`` at the scan times is read (a run that kept only scan times is enough).
    scan_times_h : array_like, optional
        Scan times, h since the start of treatment, strictly increasing, the first
        being the baseline; default every 8 weeks from 0 up to the end of the run.
    confirm : bool
        Require confirmation of CR/PR by a scan >= ``confirm_days`` later (default True).
    noise_cv : float in [0, 0.5]
        Proportional measurement error of each scan, a CV (0 = none; 0.05-0.10 is typical).
    noise_sd_mm : float >= 0
        Additive measurement error, SD in mm (0 = none).
    seed : int >= 0, optional
        Seed of the measurement noise; default the run's ``attrs["seed"]`` (else 0).
    cr_threshold_mm : float
        CR when the lesion is below this (default 5 mm: a simulated lesion never reaches 0).
    confirm_days, min_sd_days : float
        RECIST confirmation gap (28 d) and minimum time for SD (42 d), days.
    confidence_level : float
        Level of the Clopper-Pearson and Kaplan-Meier intervals (0.95).
    conf_type : ``"log-log"`` or ``"log"``
        Transform of the Kaplan-Meier pointwise band used for the median's limits.

    Returns
    -------
    xarray.Dataset with the variables listed in the module docstring (each with
    ``units`` and ``long_name``), coordinates ``arm``, sweep dims (and their labels),
    ``patient``, ``scan``, ``scan_time`` (h) and ``scan_day`` (d), and attributes
    recording the settings.
    """
    if "tumor_diameter" not in ds:
        raise InputError("ds", "needs the variable tumor_diameter (mm) of a pkpd run", show_value=False)
    da = ds["tumor_diameter"]
    if da.dims[0] != "arm" or da.dims[-2:] != ("patient", "time"):
        raise InputError("ds.tumor_diameter", "must have dims (arm, *sweep, patient, time)", str(da.dims))
    for name, value, hi in (("noise_cv", noise_cv, 0.5), ("noise_sd_mm", noise_sd_mm, np.inf)):
        if not (np.isfinite(value) and 0 <= value <= hi):
            raise InputError(name, f"must be a number in [0, {hi:g}]", value)
    if seed is None:
        seed = int(ds.attrs.get("seed", 0))
    t = np.asarray(ds["time"].values, dtype=float)
    if scan_times_h is None:
        scan_times_h = scan_times(float(t[-1] - t[0])) + t[0]
    s = _check_scan_times(scan_times_h, t)

    sweep_dims = list(da.dims[1:-2])
    lead_shape = da.shape[:-1]                    # arm, *sweep, patient
    sld = sld_at_scans(t, da.values, s)           # arm, *sweep, patient, scan
    if noise_cv > 0 or noise_sd_mm > 0:
        sld = _add_noise(sld, ds, noise_cv, noise_sd_mm, seed)
    days = s / HOURS_PER_DAY
    res = assess_recist(sld, days, confirm=confirm, confirm_days=confirm_days, min_sd_days=min_sd_days,
                        cr_threshold_mm=cr_threshold_mm)

    pdims = ("arm", *sweep_dims, "patient")
    sdims = pdims + ("scan",)
    data = {
        "scan_sld": (sdims, sld),
        "scan_pct_change": (sdims, res.pct_change),
        "scan_response": (sdims, res.assessments.astype(np.int8)),
        "best_response": (pdims, res.best_response.astype(np.int8)),
        "best_pct_change": (pdims, res.best_pct_change),
        "response_start_days": (pdims, res.response_start_days),
        "dor_days": (pdims, res.dor_days),
        "dor_event": (pdims, res.dor_event.astype(bool)),
        "pfs_days": (pdims, res.pfs_days),
        "pfs_event": (pdims, res.pfs_event.astype(bool)),
        "last_assessment_days": (pdims, res.last_assessment_days),
    }
    # endpoints per arm x sweep point
    arm_shape = lead_shape[:-1]
    ep = {k: np.full(arm_shape, np.nan) for k in ENDPOINTS}
    for idx in np.ndindex(*arm_shape):
        one = _Slice(res, idx)
        out = trial_endpoints(one, confidence_level=confidence_level, conf_type=conf_type,
                              landmarks_months=(6.0, 12.0))
        for k, v in out.items():
            ep[_RENAME.get(k, k)][idx] = v
    adims = ("arm", *sweep_dims)
    for k in ENDPOINTS:
        x = ep[k].astype(np.int64) if k in _INTEGER else ep[k]
        data[k] = (adims, x)

    out = xr.Dataset({k: (dims, v) for k, (dims, v) in data.items()})
    for k, (units, long_name) in {**PER_SCAN, **PER_PATIENT, **ENDPOINTS}.items():
        out[k].attrs.update(units=units, long_name=long_name)
    for k in ("scan_response", "best_response"):
        out[k].attrs.update(_FLAGS)
    for k in ("median_dor_months", "median_dor_months_low", "median_dor_months_high", "median_pfs_months",
              "median_pfs_months_low", "median_pfs_months_high"):
        out[k].attrs["month"] = f"{DAYS_PER_MONTH} d (365.25 / 12)"
    coords = {"arm": da["arm"].values, "patient": da["patient"].values}
    for d in sweep_dims:
        coords[d] = da[d]
        if f"{d}_label" in ds.coords:
            coords[f"{d}_label"] = ds.coords[f"{d}_label"]
    out = out.assign_coords(coords)
    out = out.assign_coords(
        scan=("scan", np.arange(s.size)),
        scan_time=("scan", s, {"units": "h", "long_name": "scan time since the start of treatment "
                                                          "(the first scan is the baseline)"}),
        scan_day=("scan", days, {"units": "d", "long_name": "scan time since the start of treatment"}),
    )
    out.attrs.update(
        recist="RECIST 1.1 on one target lesion (SLD = its longest diameter); pkpd.analysis.response",
        recist_confirm=int(bool(confirm)), recist_confirm_days=float(confirm_days),
        recist_min_sd_days=float(min_sd_days), recist_cr_threshold_mm=float(cr_threshold_mm),
        recist_noise_cv=float(noise_cv), recist_noise_sd_mm=float(noise_sd_mm), recist_noise_seed=int(seed),
        recist_scan_times_h=s.tolist(), endpoint_confidence_level=float(confidence_level),
        endpoint_km_conf_type=conf_type,
    )
    return out


class _Slice:
    """The RecistResult fields of one arm x sweep point (patients on the only axis)."""

    def __init__(self, res, idx):
        for name in ("best_response", "best_pct_change", "response_start_days", "pfs_days", "pfs_event",
                     "dor_days", "dor_event", "last_assessment_days"):
            setattr(self, name, getattr(res, name)[idx])


def _add_noise(sld, ds, cv, sd_mm, seed):
    """Measurement noise from per-(arm, sweep point, patient) streams; baseline kept > 0."""
    out = np.empty_like(sld)
    arms = [str(a) for a in ds["arm"].values]
    patients = np.asarray(ds["patient"].values)
    n_arm = sld.shape[0]
    point_shape = sld.shape[1:-2]
    for a in range(n_arm):
        for j, pidx in enumerate(np.ndindex(*point_shape)):
            stream = _noise_stream(arms[a], j)
            for r, p in enumerate(patients):
                rng = patient_rng(seed, int(p), stream)
                row = (a, *pidx, r)
                out[row] = add_measurement_noise(sld[row], cv, sd_mm, rng)
    base = out[..., 0]
    # a baseline measured at 0 mm would be no lesion: keep it tiny (NaN, a failed simulation, stays NaN)
    out[..., 0] = np.where(np.isnan(base) | (base > 0), base, 0.1)
    return out
