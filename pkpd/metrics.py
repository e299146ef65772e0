"""Per-arm metrics of a run: exposure, pathway inhibition, tumour change, synergy.

Reads only the Dataset that :func:`pkpd.runner.run` writes (so ``pkpd summary``
and later analyses see the same numbers).  Per-patient values are computed first
(patients are paired across arms: patient ``i`` has the same parameters in every
arm), then summarised over patients as the median and the 5th and 95th
percentiles (dimension ``stat``).

Metrics (all per arm and sweep point):

=========================  ====  ==========================================================
``CMAX``, ``CTROUGH``       nM    steady-state peak and trough of each drug (dimension ``drug``),
                                  over the drug's last complete dosing interval
``AUCTAU``                  nM*h  area under the curve over that interval (linear-up/log-down)
``pEGFR_inhibition``        1     1 - mean pEGFR / mean pEGFR of the control arm, over the
                                  evaluation window (default: the last 7 days)
``pSTAT3_inhibition``       1     the same for total pSTAT3
``proliferation_inhibition`` 1    the same for the proliferation signal P
``tumor_change``            1     tumour volume at the end / at baseline - 1
``tgi``                     %     tumour growth inhibition (1 - dT/dC) x 100 versus control
``bliss_excess``            1     combination rows: observed proliferation inhibition minus
                                  Bliss independence a + b - ab of the matching monotherapy arms
``hsa_excess``              1     observed minus max(a, b) (highest single agent)
``bliss_excess_pSTAT3``,    1     the same two on pSTAT3 inhibition
``hsa_excess_pSTAT3``
=========================  ====  ==========================================================
"""

from __future__ import annotations

import ast
import warnings

import numpy as np
import xarray as xr

from pkpd.analysis.inhibition import bliss_excess, hsa_excess, tgi

__all__ = ["compute_metrics", "METRICS", "summary_records"]

METRICS = {
    "CMAX": ("nM", "steady-state maximum plasma concentration"),
    "CTROUGH": ("nM", "steady-state trough plasma concentration"),
    "AUCTAU": ("nM*h", "steady-state AUC over one dosing interval"),
    "pEGFR_inhibition": ("1", "time-averaged pEGFR inhibition versus control"),
    "pSTAT3_inhibition": ("1", "time-averaged pSTAT3 inhibition versus control"),
    "proliferation_inhibition": ("1", "time-averaged proliferation-signal inhibition versus control"),
    "tumor_change": ("1", "tumour volume change from baseline at the end of the run"),
    "tgi": ("%", "tumour growth inhibition versus control, (1 - dT/dC) x 100"),
    "bliss_excess": ("1", "proliferation inhibition above Bliss independence of the monotherapies"),
    "hsa_excess": ("1", "proliferation inhibition above the best monotherapy"),
    "bliss_excess_pSTAT3": ("1", "pSTAT3 inhibition above Bliss independence of the monotherapies"),
    "hsa_excess_pSTAT3": ("1", "pSTAT3 inhibition above the best monotherapy"),
}
STATS = ("median", "p05", "p95")
#: virtual-trial endpoints (pkpd.trial) reported by ``pkpd summary`` when present
TRIAL_ENDPOINTS = ("orr", "orr_low", "orr_high", "dcr", "median_dor_months", "median_pfs_months")


def _summarise(x: np.ndarray) -> np.ndarray:
    """(..., patient) -> (..., 3): median, 5th and 95th percentile, ignoring NaN."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows (e.g. a drug an arm lacks) stay NaN
        q = np.nanpercentile(x, [50, 5, 95], axis=-1)
    return np.moveaxis(q, 0, -1)


def compute_metrics(ds: xr.Dataset) -> xr.Dataset:
    """The metrics Dataset (dims ``arm``, sweep dims, [``drug``], ``stat``) of a run Dataset.

    Uses the per-patient reductions the runner stores (window means of the readouts,
    ``<metric>_individual`` exposure) and the tumour volume at the first and last stored
    times; failed patients (NaN) are left out of the percentiles.
    """
    arms = list(ds["arm"].values)
    control = arms.index(ds.attrs["control_arm"])
    per_patient = {}
    for key in ("CMAX", "CTROUGH", "AUCTAU"):
        per_patient[key] = ds[f"{key}_individual"].values              # arm, *sweep, patient, drug
    for name, readout in (("pEGFR_inhibition", "pEGFR"), ("pSTAT3_inhibition", "pSTAT3"),
                          ("proliferation_inhibition", "P")):
        m = ds[f"{readout}_window_mean"].values                       # arm, *sweep, patient
        with np.errstate(divide="ignore", invalid="ignore"):
            per_patient[name] = 1.0 - m / m[control:control + 1]
    vol = ds["tumor_volume"].values
    t = ds["time"].values
    per_patient["tumor_change"] = vol[..., -1] / vol[..., 0] - 1.0
    per_patient["tgi"] = tgi(t, vol, vol[control:control + 1], t_end=float(t[-1]))
    combos = ast.literal_eval(ds.attrs.get("combinations", "{}") or "{}")
    for name in ("bliss_excess", "hsa_excess", "bliss_excess_pSTAT3", "hsa_excess_pSTAT3"):
        per_patient[name] = np.full(vol.shape[:-1], np.nan)
    for arm, mono in combos.items():
        if len(mono) != 2:
            continue  # Bliss and HSA are defined here for two-drug combinations
        i = arms.index(arm)
        a, b = (arms.index(m) for m in mono.values())
        for suffix, base in (("", "proliferation_inhibition"), ("_pSTAT3", "pSTAT3_inhibition")):
            e = per_patient[base]
            per_patient["bliss_excess" + suffix][i] = bliss_excess(e[i], e[a], e[b])
            per_patient["hsa_excess" + suffix][i] = hsa_excess(e[i], e[a], e[b])
    summary_dims = [d for d in ds["status"].dims if d != "patient"]
    out = {}
    for name, x in per_patient.items():
        units, long_name = METRICS[name]
        if name in ("CMAX", "CTROUGH", "AUCTAU"):
            out[name] = ((*summary_dims, "drug", "stat"), _summarise(np.moveaxis(x, -2, -1)),
                         {"units": units, "long_name": long_name})
        else:
            out[name] = ((*summary_dims, "stat"), _summarise(x), {"units": units, "long_name": long_name})
    out["n_evaluable"] = (tuple(summary_dims), (ds["status"].values == 0).sum(axis=-1),
                          {"units": "1", "long_name": "patients whose integration succeeded"})
    return xr.Dataset(out, coords={"stat": ("stat", list(STATS))})


def summary_records(ds: xr.Dataset) -> list[dict]:
    """One record per arm x sweep point: ``arm``, each swept key, and every metric's median.

    Exposure metrics get the drug as a suffix (``CMAX_neratinib``); with more than one
    patient, ``<metric>_p05`` and ``<metric>_p95`` are added.
    """
    sweep_dims = [d for d in ds["tumor_change"].dims if d not in ("arm", "stat")]
    keys = {d: ds[d].attrs.get("sweep_key", d) for d in sweep_dims}
    many = ds.sizes.get("patient", 1) > 1
    records = []
    for idx in np.ndindex(*(ds.sizes[d] for d in ["arm", *sweep_dims])):
        sel = dict(zip(["arm", *sweep_dims], idx))
        rec = {"arm": str(ds["arm"].values[idx[0]])}
        for d in sweep_dims:
            rec[keys[d]] = str(ds[f"{d}_label"].values[sel[d]]) if f"{d}_label" in ds else float(ds[d].values[sel[d]])
        for name in METRICS:
            if name not in ds:
                continue
            v = ds[name].isel(sel)
            if "drug" in v.dims:
                for drug in ds["drug"].values:
                    vv = v.sel(drug=drug)
                    rec[f"{name}_{drug}"] = _num(vv.sel(stat="median"))
                    if many:
                        rec[f"{name}_{drug}_p05"] = _num(vv.sel(stat="p05"))
                        rec[f"{name}_{drug}_p95"] = _num(vv.sel(stat="p95"))
            else:
                rec[name] = _num(v.sel(stat="median"))
                if many:
                    rec[f"{name}_p05"] = _num(v.sel(stat="p05"))
                    rec[f"{name}_p95"] = _num(v.sel(stat="p95"))
        for name in TRIAL_ENDPOINTS:
            if name in ds:
                rec[name] = _num(ds[name].isel(sel))
        records.append(rec)
    return records


def _num(x) -> float | None:
    v = float(x)
    return None if np.isnan(v) else round(v, 6) + 0.0  # + 0.0: a round-off -1e-16 is 0, not -0
