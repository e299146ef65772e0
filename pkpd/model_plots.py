"""Figures of a model scenario's result (a scenario with a ``model`` key), from its Dataset alone.

Kinds (``pkpd plot OUT.nc KIND -o FILE.png``; ``pkpd run --plots DIR`` writes the ones that fit):

============  ==================================================================
``profiles``  each summary variable (or ``variables=[...]``) against time, a panel
              per variable, a line per arm: the median over patients and the
              5th-95th percentile band; with a sweep, a column per sweep point of
              the first swept key (at most :data:`MAX_COLUMNS`), the other keys
              cut at one point (``point=``)
``sweep``     summary metrics (default the ``AUC`` of each summary variable, at most
              :data:`MAX_PANELS`) against the first swept key's values (``key=``), a
              line per arm with the 5th-95th percentile band over patients: a
              dose-response (or parameter-response) curve; a logarithmic x axis
              when the values are positive and span more than a factor of 3
``waterfall``, ``swimmer``, ``spider``, ``km``, ``orr``
              the virtual-trial figures of :mod:`pkpd.plots`, for a result with
              trial endpoints (``trial:``, a population and a scan after baseline)
============  ==================================================================

Axes are labelled from each variable's ``long_name`` and ``units``; arms keep one colour
across figures (:func:`pkpd.plots.arm_colors`).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from pkpd.errors import InputError
from pkpd.plots import (_arm_legend, _days, _draw, _log_y, _point_label, _select_point, _sweep_dims, _sweep_name,
                        _titles, arm_colors, label, plot_km, plot_orr, plot_spider, plot_swimmer, plot_waterfall, save)

__all__ = ["KINDS", "plot_profiles", "plot_sweep", "standard_set", "MAX_COLUMNS"]

#: most sweep points shown side by side in the profiles figure
MAX_COLUMNS = 5
#: most metrics of a sweep figure drawn by default
MAX_PANELS = 4


def _variables(ds: xr.Dataset, variables) -> list[str]:
    """The variables to draw: ``variables``, or the summary variables, each checked to be a trajectory."""
    if variables is None:
        variables = [v for v in str(ds.attrs.get("summary_variables", "")).split(", ") if v]
    elif isinstance(variables, str):
        variables = [variables]
    valid = [k for k, v in ds.data_vars.items() if "time" in v.dims]
    for v in variables:
        if v not in valid:
            raise InputError("variables", f"unknown variable {v!r}; the result's trajectories are "
                             + ", ".join(valid), show_value=False)
    return list(variables) or valid[:4]


def _arms(ds: xr.Dataset, arm) -> list[str]:
    names = [str(a) for a in ds["arm"].values]
    if arm is None:
        return names
    chosen = [arm] if isinstance(arm, str) else list(arm)
    for a in chosen:
        if a not in names:
            raise InputError("arm", f"unknown arm {a!r}; the result's arms are " + ", ".join(names), show_value=False)
    return chosen


def _population_note(ds: xr.Dataset) -> str:
    n = int(ds.sizes.get("patient", 1))
    return f"{n} virtual patients: median and 5th–95th percentiles" if n > 1 else "one patient"


def plot_profiles(ds: xr.Dataset, *, arm=None, variables: Sequence[str] | None = None, log: bool = False,
                  point=None) -> Figure:
    """Each variable against time (d), a line per arm (median, 5th-95th percentile band)."""
    names = _variables(ds, variables)
    arms = _arms(ds, arm)
    sweep = _sweep_dims(ds)
    col_dim = sweep[0] if sweep and not (point and any(k in (sweep[0], _sweep_name(ds, sweep[0]))
                                                        for k in point)) else None
    cut, notes = _select_point(ds, keep=(col_dim,) if col_dim else (), point=point)
    n_cols = min(cut.sizes[col_dim], MAX_COLUMNS) if col_dim else 1
    if col_dim and cut.sizes[col_dim] > MAX_COLUMNS:
        notes.append(f"first {MAX_COLUMNS} of {cut.sizes[col_dim]} values of {_sweep_name(ds, col_dim)}")
    colors = arm_colors(ds)
    fig = Figure(figsize=(3.6 * n_cols + 2.4, 2.6 * len(names) + 1.2), layout="constrained")
    axes = fig.subplots(len(names), n_cols, squeeze=False, sharex=True)
    days, xlabel = _days(ds)
    for c in range(n_cols):
        sub = cut.isel({col_dim: c}) if col_dim else cut
        for r, v in enumerate(names):
            ax = axes[r, c]
            drawn: list = []
            for a in arms:
                _draw(ax, days, sub[v].sel(arm=a), color=colors[a], log=log, drawn=drawn)
            if log:
                _log_y(ax)
            if c == 0:
                ax.set_ylabel(label(ds[v], width=28))
            if r == 0 and col_dim:
                ax.set_title(f"{_sweep_name(ds, col_dim)} = {_point_label(ds, col_dim, c)}", fontsize=10)
            if r == len(names) - 1:
                ax.set_xlabel(xlabel)
            ax.grid(alpha=0.3)
    _arm_legend(fig, arms, colors)
    _titles(fig, f"model {ds.attrs.get('model', '')}", ds, [*notes, _population_note(ds)])
    return fig


def plot_sweep(ds: xr.Dataset, *, arm=None, metric: str | Sequence[str] | None = None, key: str | None = None,
               log: bool = False, point=None) -> Figure:
    """Summary metrics against a swept value (``key``, default the first), a line per arm."""
    sweep = _sweep_dims(ds)
    if not sweep:
        raise InputError("kind", "sweep plots need a result swept over at least one key; this one has no sweep",
                         show_value=False)
    dim = sweep[0]
    if key is not None:
        dim = next((d for d in sweep if key in (d, _sweep_name(ds, d))), None)
        if dim is None:
            raise InputError("key", "not a sweep key of this result (sweep keys: "
                             + ", ".join(_sweep_name(ds, d) for d in sweep) + ")", key)
    summary = [v for v in str(ds.attrs.get("summary_variables", "")).split(", ") if v]
    metrics = [metric] if isinstance(metric, str) else list(metric or [])
    if not metrics:
        metrics = [f"AUC_{v}" for v in summary[:MAX_PANELS]]
    valid = [k for k, v in ds.data_vars.items() if dim in v.dims and "patient" in v.dims and "time" not in v.dims
             and k.split("_")[0] in ("CMAX", "CMIN", "AUC")]
    for m in metrics:
        if m not in valid:
            raise InputError("metric", f"unknown metric {m!r}; valid: " + ", ".join(valid), show_value=False)
    arms = _arms(ds, arm)
    cut, notes = _select_point(ds, keep=(dim,), point=point)
    colors = arm_colors(ds)
    x = np.asarray(ds[dim].values, dtype=float)
    fig = Figure(figsize=(4.4 * len(metrics) + 2.4, 3.6), layout="constrained")
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    geometric = bool(np.all(x > 0) and x.max() / x.min() > 3)
    shown: list[str] = []
    for ax, m in zip(axes, metrics):
        for a in arms:
            v = np.asarray(cut[m].sel(arm=a).transpose(dim, "patient").values, dtype=float)
            if not np.isfinite(v).any():
                continue  # an arm without a summary window (untreated, last_interval)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                lo, med, hi = np.nanquantile(v, [0.05, 0.5, 0.95], axis=1)
            if v.shape[1] > 1:
                ax.fill_between(x, lo, hi, color=colors[a], alpha=0.18, linewidth=0)
            ax.plot(x, med, "o-", color=colors[a], lw=1.6, ms=4)
            shown += [a] * (a not in shown)
        ax.set_xlabel(label(ds[dim]))
        ax.set_ylabel(label(ds[m], width=30))
        if geometric:
            ax.set_xscale("log")
            ax.minorticks_off()
        ax.set_xticks(x, [_point_label(ds, dim, i) for i in range(x.size)], rotation=30 if x.size > 4 else 0)
        if log:
            _log_y(ax)
        ax.grid(alpha=0.3)
    window = ds.attrs.get("summary_window", "")
    left_out = [a for a in arms if a not in shown]
    if left_out:
        notes.append("no summary window: " + ", ".join(left_out))
    _arm_legend(fig, shown, colors)
    _titles(fig, f"summary against {_sweep_name(ds, dim)}", ds,
            [*notes, f"over {window}" if window else "", _population_note(ds)])
    return fig


#: the virtual-trial figures, drawn from the endpoints (the same functions as for the trial system)
TRIAL_KINDS: dict[str, Callable[..., Figure]] = {"waterfall": plot_waterfall, "swimmer": plot_swimmer,
                                                 "spider": plot_spider, "km": plot_km, "orr": plot_orr}
KINDS: dict[str, Callable[..., Figure]] = {"profiles": plot_profiles, "sweep": plot_sweep, **TRIAL_KINDS}


def standard_set(ds: xr.Dataset, folder: str | os.PathLike) -> list[Path]:
    """``profiles.png``; ``sweep.png`` for a swept result; the virtual-trial figures for a result with
    trial endpoints of a population; into ``folder``; return their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = [save(plot_profiles(ds), folder / "profiles.png")]
    if _sweep_dims(ds):
        written.append(save(plot_sweep(ds), folder / "sweep.png"))
    if "best_response" in ds and ds.sizes.get("scan", 0) > 1 and ds.sizes.get("patient", 1) > 1:
        written += [save(fn(ds), folder / f"{kind}.png") for kind, fn in TRIAL_KINDS.items()]
    return written
