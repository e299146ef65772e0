"""Figures of a pkpd result, drawn from the labelled :class:`xarray.Dataset` alone.

Every figure reads only the dataset that :func:`pkpd.runner.run` returns (or that
:func:`pkpd.io.read_dataset` loads back): never solver internals.  Axes are
labelled from each variable's ``long_name`` and ``units`` attributes, so a
figure describes itself (STYLE.md, principle 15).  Figures are
:class:`matplotlib.figure.Figure` objects built without :mod:`matplotlib.pyplot`:
no global state, no interactive backend, safe in threads and on headless machines.

Kinds (``pkpd plot OUT.nc KIND -o FILE.png``):

============  ==================================================================
``pk``        plasma concentration-time, one panel per drug, a line per arm that
              doses it; the whole run and (below) the evaluation window
``signaling`` readouts relative to the untreated baseline, a panel per readout
``tumor``     tumour volume (or diameter) per arm over time
``heatmap``   a metric over a two-key sweep for one arm, with the Bliss excess
``schedules`` metrics per arm as horizontal bars
``waterfall`` best change of the target lesion per patient of one arm, sorted,
              coloured by best overall response (RECIST 1.1), -30% / +20% lines
``swimmer``   time on study per patient of one arm (months): response onset,
              progression, an arrow for patients still on study
``spider``    change of the target lesion at each scan per patient of one arm
``km``        Kaplan–Meier curves of duration of response and progression-free
              survival per arm, censoring ticks, numbers at risk
``orr``       objective response rate per arm (or per sweep point) with its exact
              95% interval
============  ==================================================================

The last five need the virtual-trial endpoints (:mod:`pkpd.trial`), which a run
of a scenario with scans (``scan_every``) carries; the one-arm kinds default to
the combination arm and colour patients by best overall response
(:data:`RESPONSE_COLORS`).

For populations (more than one patient) lines are the median over patients and
bands (or error bars) the 5th-95th percentiles.  Arms keep their colour in every
figure of a dataset (:func:`arm_colors`).  A dataset with sweep dimensions that a
kind does not show is cut at one sweep point (the first, or ``point=``), and the
figure's subtitle says which.

>>> from pkpd.scenario import load_scenario
>>> from pkpd.runner import run
>>> ds = run(load_scenario("scenarios/trial_regimen.yaml"))    # doctest: +SKIP
>>> fig = plot(ds, "pk", log=True)                             # doctest: +SKIP
>>> save(fig, "pk.png")                                        # doctest: +SKIP
"""

from __future__ import annotations

import ast
import inspect
import math
import os
import textwrap
import warnings
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import xarray as xr
from matplotlib import colormaps
from matplotlib import colors as mcolors
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, LogLocator

from pkpd.errors import InputError

__all__ = ["KINDS", "plot", "save", "standard_set", "arm_colors", "label",
           "plot_pk", "plot_signaling", "plot_tumor", "plot_heatmap", "plot_schedules",
           "plot_waterfall", "plot_swimmer", "plot_spider", "plot_km", "plot_orr",
           "RESPONSE_COLORS", "RESPONSE_ORDER"]

#: Readouts of the signaling figure, one panel each (a panel may overlay several).
#: JAK and SOCS3 (the feedback on JAK) sit side by side: overlaid, their daily swings hide each other.
SIGNALING_PANELS: tuple[tuple[str, ...], ...] = (
    ("pEGFR",), ("pERK",), ("pAKT",), ("pSTAT3",), ("IL6",), ("JAK",), ("SOCS3",), ("P",))

#: Metrics of the schedules figure when none is asked for.
DEFAULT_SCHEDULE_METRICS = ("proliferation_inhibition", "tgi")

#: Metric of the heatmap when none is asked for.
DEFAULT_HEATMAP_METRIC = "proliferation_inhibition"

#: Colour of the untreated control arm; other arms take :data:`ARM_PALETTE` in dataset order.
CONTROL_COLOR = "#4d4d4d"
ARM_PALETTE = ("#1f77b4", "#ff7f0e", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2",
               "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5",
               "#c49c94", "#f7b6d2", "#dbdb8d", "#9edae5")

_LINESTYLES = ("-", "--", ":", "-.")
_DPI = 150


# --------------------------------------------------------------------------- labels


def _units_text(units: str) -> str:
    """Units as printed on an axis: ``mm^3`` -> ``mm³``, ``nM*h`` -> ``nM·h``, ``1`` -> ``–``."""
    u = str(units).strip()
    if u in ("", "1", "-"):
        return "–"
    return u.replace("^3", "³").replace("^2", "²").replace("^-1", "⁻¹").replace("*", "·")


def label(da: xr.DataArray, width: int | None = None) -> str:
    """Axis label of ``da`` from its attributes: ``"<long_name> [<units>]"``.

    Falls back to the variable's name when it has no ``long_name``; a dotted
    sweep key as long name (``neratinib.dose``) reads ``neratinib dose``.  With
    ``width``, the label is wrapped onto lines of at most that many characters.
    """
    name = str(da.attrs.get("long_name") or da.name or "")
    if "sweep_key" in da.attrs and name == da.attrs["sweep_key"]:
        name = name.replace(".", " ")
    units = da.attrs.get("units")
    text = f"{name} [{_units_text(units)}]" if units is not None else name
    return "\n".join(textwrap.wrap(text, width)) if width else text


_SHORT_NAMES = {"tgi": "TGI", "bliss_excess": "Bliss excess", "hsa_excess": "HSA excess"}


def _short(name: str) -> str:
    """A variable's name for a title: ``proliferation_inhibition`` -> ``proliferation inhibition``."""
    for key, text in _SHORT_NAMES.items():
        if name == key or name.startswith(key + "_"):
            return text + name[len(key):].replace("_", " ")
    return name.replace("_", " ")


# --------------------------------------------------------------------------- dataset structure


def _sweep_dims(ds: xr.Dataset) -> list[str]:
    """The dataset's sweep dimensions, in the order of the scenario's sweep."""
    return [d for d in ds.dims if d in ds.coords and "sweep_key" in ds[d].attrs]


def _point_label(ds: xr.Dataset, dim: str, i: int) -> str:
    """Label of point ``i`` of sweep dimension ``dim`` (``120 mg``), from ``<dim>_label`` when stored."""
    lab = f"{dim}_label"
    if lab in ds.coords:
        return str(ds[lab].values[i])
    v = ds[dim].values[i]
    units = ds[dim].attrs.get("units", "")
    return f"{v:g} {units}".strip() if isinstance(v, (int, float, np.number)) else str(v)


def _sweep_name(ds: xr.Dataset, dim: str) -> str:
    """The sweep key of a sweep dimension (``neratinib.dose`` for ``neratinib_dose``)."""
    return str(ds[dim].attrs.get("sweep_key", dim))


def _find_sweep_dim(ds: xr.Dataset, key: str, path: str) -> str:
    """The sweep dimension named by ``key`` (a sweep key or a dimension name)."""
    for d in _sweep_dims(ds):
        if key in (d, _sweep_name(ds, d)):
            return d
    keys = ", ".join(_sweep_name(ds, d) for d in _sweep_dims(ds)) or "none"
    raise InputError(path, f"not a sweep key of this dataset (sweep keys: {keys})", key)


def _point_index(ds: xr.Dataset, dim: str, value: object, path: str) -> int:
    """Index along ``dim`` of ``value``: a label (``240 mg``) or a number in the coordinate's units."""
    labels = [_point_label(ds, dim, i) for i in range(ds.sizes[dim])]
    if isinstance(value, str) and value.strip() in labels:
        return labels.index(value.strip())
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        x = math.nan
    hits = np.flatnonzero(np.isclose(np.asarray(ds[dim].values, dtype=float), x))
    if hits.size:
        return int(hits[0])
    raise InputError(path, f"not a value of the sweep (values: {', '.join(labels)})", value)


def _select_point(ds: xr.Dataset, keep: Sequence[str] = (),
                  point: Mapping[str, object] | None = None) -> tuple[xr.Dataset, list[str]]:
    """Cut ``ds`` at one point of every sweep dimension not in ``keep``.

    ``point`` maps sweep keys (``neratinib.dose``) or dimensions (``neratinib_dose``)
    to a label (``"240 mg"``) or a value in the coordinate's units; the others
    are cut at their first value.  Returns the cut dataset and notes such as
    ``"neratinib.dose = 120 mg"`` for the subtitle.
    """
    chosen: dict[str, int] = {}
    if point:
        if not isinstance(point, Mapping):
            raise InputError("point", "must map sweep keys to values, e.g. {'neratinib.dose': '240 mg'}",
                             point)
        for key, value in point.items():
            dim = _find_sweep_dim(ds, str(key), f"point.{key}")
            chosen[dim] = _point_index(ds, dim, value, f"point.{key}")
    notes, index = [], {}
    for dim in _sweep_dims(ds):
        if dim in keep:
            continue
        i = chosen.get(dim, 0)
        index[dim] = i
        notes.append(f"{_sweep_name(ds, dim)} = {_point_label(ds, dim, i)}")
    return ds.isel(index), notes


def _added_arms(ds: xr.Dataset) -> list[str]:
    """Arms the runner added for the comparisons (``attrs['added_arms']``, comma-separated)."""
    raw = ds.attrs.get("added_arms", "")
    if isinstance(raw, str):
        return [a.strip() for a in raw.split(",") if a.strip()]
    return [str(a) for a in np.atleast_1d(raw)]


def _combinations(ds: xr.Dataset) -> dict:
    """Combination arm -> {drug: monotherapy arm} (``attrs['combinations']``, stored as text)."""
    raw = ds.attrs.get("combinations", "")
    if isinstance(raw, Mapping):
        return dict(raw)
    try:
        value = ast.literal_eval(str(raw)) if raw else {}
    except (ValueError, SyntaxError):
        return {}
    return value if isinstance(value, dict) else {}


def _control_arm(ds: xr.Dataset) -> str | None:
    """The untreated control arm named in the attributes, if the dataset has it."""
    c = ds.attrs.get("control_arm")
    return str(c) if c is not None and str(c) in _arm_names(ds) else None


def _arm_names(ds: xr.Dataset) -> list[str]:
    """Names of the dataset's arms, in order."""
    return [str(a) for a in ds["arm"].values] if "arm" in ds.coords else []


def arm_colors(ds: xr.Dataset) -> dict[str, str]:
    """Colour of every arm of ``ds``: the control grey, the others in dataset order.

    The same dataset gives the same colours in every figure, whichever arms a
    figure shows; datasets with the same arm order share colours.
    """
    control = _control_arm(ds)
    out, k = {}, 0
    for a in _arm_names(ds):
        if a == control:
            out[a] = CONTROL_COLOR
        else:
            out[a] = ARM_PALETTE[k % len(ARM_PALETTE)]
            k += 1
    return out


def _arm_drugs(ds: xr.Dataset) -> dict[str, tuple[str, ...]]:
    """Drugs each arm doses, read from the concentrations (any patient, point or time > 0)."""
    arms = _arm_names(ds)
    if "conc" not in ds or "drug" not in ds["conc"].dims:
        return {a: () for a in arms}
    other = [d for d in ds["conc"].dims if d not in ("arm", "drug")]
    dosed = (ds["conc"].fillna(0.0) > 0).any(other)
    drugs = [str(d) for d in ds["drug"].values]
    return {a: tuple(d for d in drugs if bool(dosed.sel(arm=a, drug=d))) for a in arms}


def _select_arms(ds: xr.Dataset, arm, *, include_added: bool) -> list[str]:
    """Arms to draw: ``arm`` (a name, a comma-separated list or a sequence) or the defaults."""
    names = _arm_names(ds)
    if not names:
        raise InputError("arm", "the dataset has no 'arm' dimension", show_value=False)
    if arm is None:
        added = set(_added_arms(ds)) if not include_added else set()
        return [a for a in names if a not in added]
    if isinstance(arm, str):
        wanted = [arm] if arm in names else [a.strip() for a in arm.split(",") if a.strip()]
    else:
        wanted = [str(a) for a in arm]
    for a in wanted:
        if a not in names:
            raise InputError("arm", f"not an arm of this dataset (arms: {', '.join(names)})", a)
    return wanted


def _hidden_note(ds: xr.Dataset, arm) -> list[str]:
    """Subtitle note when the default arm selection leaves out the runner's added arms."""
    n = len(_added_arms(ds))
    return [f"{n} added monotherapy arm{'s' * (n > 1)} not shown"] if arm is None and n else []


def _n_patients(ds: xr.Dataset) -> int:
    """Number of virtual patients per arm and sweep point."""
    return int(ds.sizes.get("patient", 1))


def _population_note(ds: xr.Dataset) -> str:
    """Subtitle note saying what the lines (and bands) are."""
    n = _n_patients(ds)
    if n > 1:
        return f"{n} virtual patients: median and 5th–95th percentiles"
    return "typical patient" if not int(ds.attrs.get("variability", 0) or 0) else "one virtual patient"


def _days(ds: xr.Dataset) -> tuple[np.ndarray, str]:
    """Output times in days and the x-axis label."""
    if "day" in ds.coords:
        return np.asarray(ds["day"].values, dtype=float), label(ds["day"])
    t = np.asarray(ds["time"].values, dtype=float) / 24.0
    name = ds["time"].attrs.get("long_name", "time")
    return t, f"{name} [d]"


def _window_mask(days: np.ndarray, window) -> np.ndarray:
    """Output times inside ``window = (first day, last day)``; all of them when None."""
    if window is None:
        return np.ones(days.shape, bool)
    try:
        lo, hi = (float(w) for w in window)
    except (TypeError, ValueError):
        raise InputError("days", "must be two numbers (first and last day)", window) from None
    if not hi > lo:
        raise InputError("days", "the last day must come after the first", window)
    mask = (days >= lo) & (days <= hi)
    if not mask.any():
        raise InputError("days", f"no output time in this window (the run spans days "
                                 f"{days[0]:g}–{days[-1]:g})", window)
    return mask


def _evaluation_window_days(ds: xr.Dataset, days: np.ndarray) -> tuple[float, float, str]:
    """The evaluation window (d) from the attributes, else the last week; and its name."""
    raw = ds.attrs.get("evaluation_window_h")
    if raw is not None:
        w = np.asarray(raw, dtype=float).ravel()
        if w.size == 2 and np.all(np.isfinite(w)) and w[1] > w[0]:
            return w[0] / 24.0, w[1] / 24.0, "evaluation window"
    end = float(days[-1])
    return max(float(days[0]), end - 7.0), end, "last week"


# --------------------------------------------------------------------------- drawing helpers


def _curves(da: xr.DataArray) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Median and 5th/95th percentiles over patients of ``da`` (dims patient?, time)."""
    if "patient" in da.dims and da.sizes["patient"] > 1:
        a = np.asarray(da.transpose("patient", ...).values, dtype=float)
        with warnings.catch_warnings():           # all-NaN columns (averaging edges) stay NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            lo, med, hi = np.nanquantile(a, [0.05, 0.5, 0.95], axis=0)
        return med, lo, hi
    if "patient" in da.dims:
        da = da.isel(patient=0)
    return np.asarray(da.values, dtype=float), None, None


def _same_curve(a: np.ndarray, b: np.ndarray) -> bool:
    """True when two drawn curves coincide (to 1e-6 relative): identical arms."""
    if a.shape != b.shape:
        return False
    scale = float(np.nanmax(np.abs(a))) if np.isfinite(a).any() else 0.0
    return bool(np.allclose(a, b, rtol=1e-6, atol=1e-9 * max(scale, 1e-300), equal_nan=True))


def _draw(ax, x, da, *, color, ls="-", lw=1.6, label_text=None, log=False, mask=None,
          drawn: list | None = None) -> np.ndarray:
    """Median line (and 5th-95th percentile band for populations) of ``da`` against ``x``.

    ``drawn`` collects the curves already in the panel: a median identical to an
    earlier one is drawn dashed on top of it, so that both arms stay visible, and
    a band identical to an earlier one is not filled again.
    Returns the drawn median.
    """
    med, lo, hi = _curves(da)
    if mask is not None:
        x, med = x[mask], med[mask]
        lo = lo[mask] if lo is not None else None
        hi = hi[mask] if hi is not None else None
    if log:
        med = np.where(med > 0, med, np.nan)
        lo = np.where(lo > 0, lo, np.nan) if lo is not None else None
    earlier = drawn if drawn is not None else []
    if lo is not None:
        same_band = any(_same_curve(lo, d) for d in earlier) and any(_same_curve(hi, d) for d in earlier)
        if not same_band:       # a band drawn twice would darken into a third colour
            ax.fill_between(x, lo, hi, color=color, alpha=0.18, linewidth=0)
    k = sum(_same_curve(med, d) for d in earlier)
    if k and ls == "-":
        ls = ((k - 1) * 4.0, (4.0, 4.0 * k))
    ax.plot(x, med, color=color, ls=ls, lw=lw, label=label_text)
    if drawn is not None:
        drawn.append(med)
        if lo is not None:
            drawn.extend([lo, hi])
    return med


def _log_y(ax) -> None:
    """Logarithmic y axis with plain numbers (``20``, ``50``, ``100``), not ``2×10¹``."""
    ax.set_yscale("log")
    plain = FuncFormatter(lambda v, _: f"{v:g}")
    ax.yaxis.set_major_formatter(plain)
    ax.yaxis.set_minor_locator(LogLocator(base=10.0, subs=(2.0, 5.0)))
    ax.yaxis.set_minor_formatter(plain)


def _log_floor(ax, values: list[np.ndarray], decades: float = 4.0) -> None:
    """Log axis bottom at the smallest positive value, but at most ``decades`` below the top."""
    pos = np.concatenate([v[np.isfinite(v) & (v > 0)] for v in values]) if values else np.array([])
    if pos.size:
        top = float(pos.max())
        ax.set_ylim(max(float(pos.min()), top * 10 ** -decades) / 1.5, top * 1.6)


def _titles(fig: Figure, main: str, ds: xr.Dataset, notes: Sequence[str]) -> None:
    """Figure title: ``main`` over a subtitle naming the scenario, the sweep point and the population."""
    name = ds.attrs.get("scenario_name") or ds.attrs.get("title") or ""
    parts = [str(name)] * bool(name) + [n for n in notes if n]
    width = max(40, int(fig.get_figwidth() * 10.5))      # characters of a 12.5-pt line across the figure
    lines, line = [], ""
    for p in parts:                                      # break the subtitle between notes, not inside one
        if line and len(line) + 3 + len(p) > width:
            lines.append(line)
            line = p
        else:
            line = f"{line} · {p}" if line else p
    sub = "\n".join(lines + [line] * bool(line))
    fig.suptitle(f"{main}\n{sub}" if sub else main, fontsize=12.5)


def _arm_legend(fig: Figure, arms: Sequence[str], colors: Mapping[str, str], *, where="outside right center",
                extra: Sequence = (), title="arm") -> None:
    """One legend for the figure, a line per arm in its colour (plus ``extra`` handles)."""
    handles = [Line2D([], [], color=colors[a], lw=2.2, label=a) for a in arms] + list(extra)
    if handles:
        fig.legend(handles=handles, loc=where, title=title, frameon=False, fontsize=10, title_fontsize=10)


def _dose_times_days(ds: xr.Dataset, arm: str, drug: str) -> np.ndarray | None:
    """Dose times (d) of ``drug`` in ``arm`` when the dataset stores them (``dose_time``), else None."""
    for name in ("dose_time", "dose_times"):
        if name in ds:
            da = ds[name]
            break
    else:
        return None
    try:
        if "arm" in da.dims:
            da = da.sel(arm=arm)
        if "drug" in da.dims:
            da = da.sel(drug=drug)
        v = np.asarray(da.values, dtype=float).ravel()
    except (KeyError, ValueError, TypeError):
        return None
    v = np.unique(v[np.isfinite(v)])
    units = str(da.attrs.get("units", "h")).strip()
    return v if units in ("d", "day", "days") else v / 24.0


def _check_empty(ax, text: str) -> None:
    """Say in the middle of an empty panel why it is empty."""
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="0.4", fontsize=10)


def _require(ds: xr.Dataset, names: Sequence[str], kind: str) -> None:
    """Raise an InputError naming the variables ``kind`` needs and the dataset lacks."""
    missing = [n for n in names if n not in ds]
    if missing:
        raise InputError(kind, f"the dataset lacks {', '.join(missing)}", show_value=False)


def _metric_names(ds: xr.Dataset) -> list[str]:
    """Metric variables of the dataset: those with a ``stat`` dimension."""
    return [str(v) for v in ds.data_vars if "stat" in ds[v].dims]


def _check_metric(ds: xr.Dataset, metric: str, path: str = "metric") -> str:
    """``metric`` if the dataset has it, else an InputError listing the metrics it has."""
    if metric not in _metric_names(ds):
        valid = ", ".join(_metric_names(ds)) or "none"
        raise InputError(path, f"unknown metric {metric!r}; metrics in this dataset: {valid}",
                         show_value=False)
    return metric


def _stat(da: xr.DataArray, stat: str) -> xr.DataArray:
    """``da`` at statistic ``stat`` (median, p05, p95) when it has a ``stat`` dimension."""
    return da.sel(stat=stat) if "stat" in da.dims else da


# --------------------------------------------------------------------------- kinds


def _draw_range(ax, x, da, *, color, hours: float, log=False, mask=None, drawn: list | None = None,
                fill: bool = True) -> None:
    """Running ``hours`` maximum and minimum of the median of ``da`` (peaks and troughs), filled between.

    Shows accumulation, lead-ins and holidays over a long run, where every dosing
    interval drawn would merge into a solid block.  Only full windows count: the
    first and last half-window are not drawn.
    """
    med = _curves(da)[0]
    t = np.asarray(da["time"].values, dtype=float) if "time" in da.coords else x * 24.0
    step = float(np.median(np.diff(t))) if t.size > 1 else hours
    n = max(1, int(round(hours / step)))
    rolled = xr.DataArray(med, dims="t").rolling(t=n, center=True, min_periods=n)
    top, bottom = np.asarray(rolled.max().values), np.asarray(rolled.min().values)
    if mask is not None:
        x, top, bottom = x[mask], top[mask], bottom[mask]
    if log:
        top = np.where(top > 0, top, np.nan)
        bottom = np.where(bottom > 0, bottom, np.nan)
    k = sum(_same_curve(top, d) for d in drawn) if drawn is not None else 0
    ls = ((k - 1) * 4.0, (4.0, 4.0 * k)) if k else "-"
    if fill and not k:
        ax.fill_between(x, bottom, top, color=color, alpha=0.15, linewidth=0)
    ax.plot(x, top, color=color, lw=1.4, ls=ls)
    ax.plot(x, bottom, color=color, lw=1.4, ls=ls)
    if drawn is not None:
        drawn.extend([top, bottom] if not k else [top])


def plot_pk(ds: xr.Dataset, *, arm=None, log: bool = False, free: bool = False, zoom: bool | None = None,
            days=None, point: Mapping | None = None) -> Figure:
    """Plasma concentration-time: one panel per drug, a line per arm that doses it.

    Parameters
    ----------
    ds : result dataset with ``conc`` (and ``conc_free``), dims (arm, [sweep...], patient, time, drug)
    arm : arm name, list of names or comma-separated names; default every arm of the
        scenario (the monotherapy arms the runner added are left out)
    log : logarithmic concentration axis
    free : plot the unbound concentration ``conc_free`` instead of the total ``conc``
    zoom : add a row showing the evaluation window (the last week when the dataset
        has none); default on when the run is longer than two weeks and ``days`` is not given
    days : ``(first, last)`` day shown
    point : sweep point to show, ``{sweep key: label or value}``; default the first

    Returns
    -------
    matplotlib.figure.Figure
    """
    var = "conc_free" if free else "conc"
    _require(ds, [var], "pk")
    arms = _select_arms(ds, arm, include_added=False)
    colors = arm_colors(ds)
    dosed = _arm_drugs(ds)
    sel, notes = _select_point(ds, point=point)
    x, xlabel = _days(sel)
    mask = _window_mask(x, days)
    if zoom is None:
        zoom = days is None and (x[-1] - x[0]) > 14.0
    drugs = [str(d) for d in sel["drug"].values]
    rows = 2 if zoom else 1
    fig = Figure(figsize=(5.2 * len(drugs) + 2.2, 3.7 * rows + 1.2), layout="constrained")
    axes = np.asarray(fig.subplots(rows, len(drugs), squeeze=False))
    z0, z1, zname = _evaluation_window_days(sel, x)
    pop = _n_patients(ds) > 1
    shown: list[str] = []
    for j, drug in enumerate(drugs):
        for r in range(rows):
            ax = axes[r, j]
            m = mask if r == 0 else (x >= z0 - 1e-9) & (x <= z1 + 1e-9)
            drawn: list[np.ndarray] = []
            for a in arms:
                if drug not in dosed.get(a, ()):
                    continue
                da = sel[var].sel(arm=a, drug=drug)
                if zoom and r == 0:
                    _draw_range(ax, x, da, color=colors[a], hours=24.0, log=log, mask=m, drawn=drawn,
                                fill=sum(drug in dosed.get(b, ()) for b in arms) <= 3)
                else:
                    _draw(ax, x, da, color=colors[a], label_text=a, log=log, mask=m, drawn=drawn)
                shown.append(a)
                dt = _dose_times_days(sel, a, drug)
                if dt is not None and r == rows - 1:
                    dt = dt[(dt >= x[m][0]) & (dt <= x[m][-1])]
                    ax.plot(dt, np.full(dt.shape, 0.02), "|", color=colors[a], ms=7,
                            transform=ax.get_xaxis_transform(), clip_on=False)
            if not drawn:
                _check_empty(ax, f"no arm shown doses {drug}")
            if log:
                _log_y(ax)
                _log_floor(ax, drawn)
            else:
                ax.set_ylim(bottom=0)
            ax.set_xlabel(xlabel)
            ax.set_ylabel(label(sel[var], width=34))
            ax.grid(True, alpha=0.3, which="major")
            ax.set_title(f"{drug}: whole run, 24-h peak–trough range" + (" of the median" if pop else "")
                         if zoom and r == 0 else f"{drug}: {zname}, days {z0:g}–{z1:g}" if zoom else drug,
                         fontsize=11)
            ax.set_xlim(x[m][0], x[m][-1])
    legend_arms = [a for a in arms if a in shown]
    extra = []
    if any(_dose_times_days(sel, a, d) is not None for a in legend_arms for d in drugs):
        extra.append(Line2D([], [], color="0.3", ls="none", marker="|", ms=8, label="doses"))
    _arm_legend(fig, legend_arms, colors, extra=extra)
    what = "Unbound plasma concentration" if free else "Plasma concentration"
    _titles(fig, what, ds, notes + _hidden_note(ds, arm) + [_population_note(ds)])
    return fig


def _panel_label(ds: xr.Dataset, names: Sequence[str], var_names: Sequence[str]) -> str:
    """Y label of a panel; overlaid readouts share it (``JAK, SOCS3 relative to ... [–]``)."""
    first = ds[var_names[0]]
    if len(names) == 1:
        return label(first, width=30)
    tails = []
    for n, v in zip(names, var_names):
        ln = str(ds[v].attrs.get("long_name", v))
        tails.append(ln[len(n):] if ln.startswith(n) else None)
    if all(t is not None and t == tails[0] for t in tails):
        units = first.attrs.get("units")
        text = f"{', '.join(names)}{tails[0]}" + (f" [{_units_text(units)}]" if units is not None else "")
        return "\n".join(textwrap.wrap(text, 30))
    return "\n".join(textwrap.wrap("; ".join(label(ds[v]) for v in var_names), 30))


def _running_mean(ds: xr.Dataset, hours: float) -> tuple[xr.Dataset, bool]:
    """``ds`` with every time course averaged over a centred window of ``hours`` (uniform grids only).

    Only full windows count: the first and last half-window are NaN (not drawn).
    """
    t = np.asarray(ds["time"].values, dtype=float)
    if t.size < 3:
        return ds, False
    dt = np.diff(t)
    if not np.allclose(dt, dt[0], rtol=1e-6):
        return ds, False
    n = int(round(hours / dt[0]))
    if n < 2:
        return ds, False
    timed = [v for v in ds.data_vars if "time" in ds[v].dims]
    smooth = {v: ds[v].rolling(time=n, center=True, min_periods=n).mean().assign_attrs(ds[v].attrs)
              for v in timed}
    return ds.assign(smooth), True


def plot_signaling(ds: xr.Dataset, *, arm=None, log: bool = False, relative: bool = True,
                   average: str = "auto", days=None, point: Mapping | None = None) -> Figure:
    """Signaling readouts over time per arm, a panel per readout (:data:`SIGNALING_PANELS`).

    Parameters
    ----------
    ds : result dataset with the readouts (``<readout>_rel`` for ``relative``), dims
        (arm, [sweep...], patient, time)
    arm : arm name, list of names or comma-separated names; default the scenario's arms
    log : logarithmic y axes
    relative : relative to the untreated baseline (``<readout>_rel``, default) or absolute
    average : ``"24h"`` draws the 24-h running mean (it removes the within-day swing of
        once- and twice-daily dosing), ``"none"`` the raw output; ``"auto"`` (default)
        averages when the span shown is longer than two weeks.  The subtitle says so.
    days : ``(first, last)`` day shown
    point : sweep point to show, ``{sweep key: label or value}``; default the first

    Returns
    -------
    matplotlib.figure.Figure
    """
    if average not in ("auto", "24h", "none"):
        raise InputError("average", "must be one of auto, 24h, none", average)
    panels = []
    for names in SIGNALING_PANELS:
        var_names = [f"{n}_rel" if relative else n for n in names]
        present = [(n, v) for n, v in zip(names, var_names) if v in ds]
        if present:
            panels.append(tuple(zip(*present)))
    if not panels:
        _require(ds, ["pEGFR_rel" if relative else "pEGFR"], "signaling")
    arms = _select_arms(ds, arm, include_added=False)
    colors = arm_colors(ds)
    sel, notes = _select_point(ds, point=point)
    x, xlabel = _days(sel)
    mask = _window_mask(x, days)
    span = float(x[mask][-1] - x[mask][0])
    if average == "24h" or (average == "auto" and span > 14.0):
        sel, smoothed = _running_mean(sel, 24.0)
        if smoothed:
            notes = notes + ["24-h running mean"]
    ncols = 4
    nrows = math.ceil(len(panels) / ncols)
    fig = Figure(figsize=(17, 3.7 * nrows + 1.0), layout="constrained")
    axes = np.asarray(fig.subplots(nrows, ncols, squeeze=False, sharex=True)).ravel()
    for k, (names, var_names) in enumerate(panels):
        ax = axes[k]
        drawn: list[np.ndarray] = []
        for a in arms:
            for i, v in enumerate(var_names):
                _draw(ax, x, sel[v].sel(arm=a), color=colors[a], ls=_LINESTYLES[i % len(_LINESTYLES)],
                      log=log, mask=mask, drawn=drawn if len(var_names) == 1 else None)
        if relative:
            ax.axhline(1.0, color="0.5", lw=0.8, ls=(0, (1, 2)), zorder=0)
        if log:
            _log_y(ax)
        elif relative:
            ax.set_ylim(bottom=0)
        ax.set_title(" / ".join(names), fontsize=11)
        ax.set_ylabel(_panel_label(sel, names, var_names), fontsize=9)
        ax.grid(True, alpha=0.3)
        ax.set_xlim(x[mask][0], x[mask][-1])
        if len(names) > 1:
            ax.legend(handles=[Line2D([], [], color="0.25", ls=_LINESTYLES[i], label=n)
                               for i, n in enumerate(names)], fontsize=8, frameon=False, loc="best")
        if k + ncols >= len(panels):        # nothing drawn under this panel: it carries the x label
            ax.set_xlabel(xlabel)
            ax.xaxis.set_tick_params(labelbottom=True)
    for ax in axes[len(panels):]:
        ax.axis("off")
    baseline = Line2D([], [], color="0.5", lw=0.8, ls=(0, (1, 2)), label="untreated\nbaseline")
    extra = [baseline] if relative else []
    _arm_legend(fig, arms, colors, extra=extra)
    what = "Signaling relative to the untreated baseline" if relative else "Signaling readouts"
    _titles(fig, what, ds, notes + _hidden_note(ds, arm) + [_population_note(ds)])
    return fig


_TUMOR_VARIABLES = {"volume": "tumor_volume", "diameter": "tumor_diameter"}


def _end_labels(ax, ends: Sequence[tuple[str, float, float]], colors: Mapping[str, str], *,
                log: bool = False, gap: float = 0.045) -> None:
    """Label the right end of each curve with its % change, pushed apart so no two labels overlap."""
    if not ends:
        return
    lo, hi = ax.get_ylim()
    f = (lambda v: math.log10(v)) if log else (lambda v: v)
    pos = [((f(v) - f(lo)) / (f(hi) - f(lo)) if v > 0 or not log else 0.0) for _, v, _ in ends]
    order = np.argsort(pos)
    placed = np.array(pos, dtype=float)
    for i in range(1, len(order)):                  # push up from the bottom ...
        placed[order[i]] = max(placed[order[i]], placed[order[i - 1]] + gap)
    over = placed[order[-1]] - 1.0
    if over > 0:                                    # ... and back down if the top ran out
        placed -= over
    for (a, _, change), y in zip(ends, placed):
        ax.text(1.008, y, f"{change:+.0f}%", transform=ax.transAxes, va="center", ha="left",
                fontsize=9.5, color=colors[a], clip_on=False)


def plot_tumor(ds: xr.Dataset, *, arm=None, log: bool = False, variable: str = "volume", days=None,
               point: Mapping | None = None) -> Figure:
    """Tumour size per arm over time (days).

    Parameters
    ----------
    ds : result dataset with ``tumor_volume`` / ``tumor_diameter``, dims (arm, [sweep...], patient, time)
    arm : arm name, list of names or comma-separated names; default the scenario's arms
    log : logarithmic y axis
    variable : ``"volume"`` (default) or ``"diameter"`` (or the variable's name)
    days : ``(first, last)`` day shown
    point : sweep point to show, ``{sweep key: label or value}``; default the first

    Returns
    -------
    matplotlib.figure.Figure
    """
    var = _TUMOR_VARIABLES.get(variable, variable)
    if var not in _TUMOR_VARIABLES.values():
        raise InputError("variable", f"must be one of {', '.join(_TUMOR_VARIABLES)}", variable)
    _require(ds, [var], "tumor")
    arms = _select_arms(ds, arm, include_added=False)
    colors = arm_colors(ds)
    sel, notes = _select_point(ds, point=point)
    x, xlabel = _days(sel)
    mask = _window_mask(x, days)
    fig = Figure(figsize=(10.5, 5.6), layout="constrained")
    ax = fig.subplots()
    ends, drawn = [], []
    for a in arms:
        da = sel[var].sel(arm=a)
        med = _draw(ax, x, da, color=colors[a], label_text=a, log=log, mask=mask, lw=2.0, drawn=drawn)
        if med.size and np.isfinite(med[-1]) and med[0] > 0:
            ends.append((a, float(med[-1]), 100.0 * (med[-1] / med[0] - 1.0)))
    if log:
        _log_y(ax)
    ax.set_xlim(x[mask][0], x[mask][-1])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(label(sel[var]))
    ax.grid(True, alpha=0.3)
    _end_labels(ax, ends, colors, log=log)
    ax.set_title("labels at the right: change from the first day shown", fontsize=9, color="0.35",
                 loc="right")
    _arm_legend(fig, arms, colors)
    what = "Tumour diameter" if var == "tumor_diameter" else "Tumour volume"
    _titles(fig, what, ds, notes + _hidden_note(ds, arm) + [_population_note(ds)])
    return fig


def _default_combination_arm(ds: xr.Dataset) -> str | None:
    """The first combination arm (attributes, else the first arm dosing two drugs)."""
    names = _arm_names(ds)
    for a in _combinations(ds):
        if a in names:
            return a
    for a, drugs in _arm_drugs(ds).items():
        if len(drugs) > 1:
            return a
    return None


def _excess_metric(ds: xr.Dataset, metric: str) -> str | None:
    """The excess over Bliss that goes with ``metric``: ``bliss_excess_<readout>`` when the
    dataset has one for the metric's readout (``pSTAT3_inhibition``), else ``bliss_excess``
    (proliferation); beside a Bliss excess, the matching HSA excess."""
    if metric.startswith("bliss_excess"):
        alt = metric.replace("bliss_excess", "hsa_excess", 1)
        return alt if alt in ds else None
    if metric.endswith("_inhibition"):
        own = "bliss_excess_" + metric[: -len("_inhibition")]
        if own in ds:
            return own
    return "bliss_excess" if "bliss_excess" in ds else None


def _cell_format(values: np.ndarray, units: str, signed: bool) -> str:
    """Format of annotated values: digits from the magnitude, a sign for excesses."""
    finite = np.abs(values[np.isfinite(values)])
    top = float(finite.max()) if finite.size else 1.0
    digits = 0 if top >= 100 or units == "%" else (1 if top >= 10 else (2 if top >= 0.1 else 3))
    return ("{:+." if signed else "{:.") + f"{digits}f}}"


def _heat_panel(fig, ax, data: xr.DataArray, ydim: str, xdim: str, ds: xr.Dataset, *, diverging: bool,
                title: str) -> None:
    """One annotated heatmap of ``data`` (dims ``ydim`` x ``xdim``) with its colour bar."""
    values = np.asarray(data.transpose(ydim, xdim).values, dtype=float)
    finite = values[np.isfinite(values)]
    if diverging:
        vmax = float(np.abs(finite).max()) if finite.size else 1.0
        vmax = vmax if vmax > 0 else 1.0
        cmap, norm = colormaps["RdBu_r"], mcolors.Normalize(-vmax, vmax)
    else:
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        if hi <= lo:
            lo, hi = lo - 0.5, hi + 0.5
        cmap, norm = colormaps["viridis"], mcolors.Normalize(lo, hi)
    im = ax.imshow(values, cmap=cmap, norm=norm, origin="lower", aspect="auto")
    fmt = _cell_format(values, str(data.attrs.get("units", "")), diverging)
    for (i, j), v in np.ndenumerate(values):
        if not np.isfinite(v):
            ax.text(j, i, "n/a", ha="center", va="center", fontsize=9, color="0.4")
            continue
        r, g, b, _ = cmap(norm(v))
        ink = "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.55 else "white"
        ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=10, color=ink)
    ax.set_xticks(range(ds.sizes[xdim]), [_point_label(ds, xdim, i) for i in range(ds.sizes[xdim])])
    ax.set_yticks(range(ds.sizes[ydim]), [_point_label(ds, ydim, i) for i in range(ds.sizes[ydim])])
    ax.set_xlabel(label(ds[xdim]))
    ax.set_ylabel(label(ds[ydim]))
    ax.set_title(title, fontsize=11)
    if not finite.size:
        _check_empty(ax, "not defined for this arm")
    cb = fig.colorbar(im, ax=ax, shrink=0.9)
    cb.set_label(label(data, width=36), fontsize=9)


def plot_heatmap(ds: xr.Dataset, *, arm=None, metric: str | None = None, stat: str = "median",
                 excess: str | bool | None = None, drug: str | None = None, dims: Sequence[str] | None = None,
                 point: Mapping | None = None) -> Figure:
    """A metric over a two-key sweep for one arm, annotated, beside the Bliss excess.

    Parameters
    ----------
    ds : result dataset with at least two sweep dimensions
    arm : the arm shown; default the (first) combination arm
    metric : metric variable (with a ``stat`` dim); default ``proliferation_inhibition``
    stat : ``median`` (default), ``p05`` or ``p95``
    excess : second panel's metric; default the Bliss excess that matches ``metric``
        (``bliss_excess``, or ``bliss_excess_pSTAT3`` for ``pSTAT3_inhibition``); False for none
    drug : the drug of a per-drug metric (CMAX, CTROUGH, AUCTAU); default the first
    dims : the two sweep keys or dimensions shown as (rows, columns); default the first two
    point : point of the other sweep dimensions, ``{sweep key: label or value}``; default the first

    Returns
    -------
    matplotlib.figure.Figure
    """
    sweep = _sweep_dims(ds)
    if len(sweep) < 2:
        have = ", ".join(_sweep_name(ds, d) for d in sweep) or "no sweep"
        raise InputError("heatmap", f"needs a dataset swept over two keys (this one has {have})",
                         show_value=False)
    if dims is None:
        ydim, xdim = sweep[0], sweep[1]
    else:
        if isinstance(dims, str):
            dims = [d.strip() for d in dims.split(",")]
        if len(dims) != 2:
            raise InputError("dims", "must name two sweep keys (rows, columns)", dims)
        ydim, xdim = (_find_sweep_dim(ds, str(d), "dims") for d in dims)
        if ydim == xdim:
            raise InputError("dims", "must name two different sweep keys", dims)
    metric = _check_metric(ds, metric or DEFAULT_HEATMAP_METRIC)
    if arm is None:
        arm = _default_combination_arm(ds)
        if arm is None:
            raise InputError("arm", "no combination arm in this dataset; name the arm to show",
                             show_value=False)
    elif str(arm) not in _arm_names(ds):
        raise InputError("arm", f"not an arm of this dataset (arms: {', '.join(_arm_names(ds))})", arm)
    stats = [str(s) for s in ds["stat"].values] if "stat" in ds.coords else []
    if stat not in stats:
        raise InputError("stat", f"must be one of {', '.join(stats)}", stat)
    if excess is None:
        second = _excess_metric(ds, metric)
    elif excess is False:
        second = None
    else:
        second = _check_metric(ds, str(excess), "excess")
    sel, notes = _select_point(ds, keep=(ydim, xdim), point=point)
    sel = sel.sel(arm=str(arm))

    def pick(name: str) -> tuple[xr.DataArray, str]:
        da = _stat(sel[name], stat)
        tag = ""
        if "drug" in da.dims:
            drugs = [str(d) for d in da["drug"].values]
            d = drug or drugs[0]
            if d not in drugs:
                raise InputError("drug", f"must be one of {', '.join(drugs)}", d)
            da, tag = da.sel(drug=d), f" ({d})"
        return da, tag

    panels = [metric] + ([second] if second else [])
    fig = Figure(figsize=(6.4 * len(panels) + 0.6, 5.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    for ax, name in zip(axes, panels):
        da, tag = pick(name)
        signed = name.startswith(("bliss_excess", "hsa_excess"))
        title = _short(name) + tag + (" (> 0: synergy)" if signed else "")
        _heat_panel(fig, ax, da, ydim, xdim, sel, diverging=signed, title=title)
    pop = [f"{stat} of {_n_patients(ds)} virtual patients"] if _n_patients(ds) > 1 else []
    what = _short(metric)
    keys = " × ".join(_sweep_name(ds, d).replace(".", " ") for d in (ydim, xdim))
    if not (len(what) > 1 and what[1].isupper()):       # "pSTAT3 ..." keeps its case
        what = what[:1].upper() + what[1:]
    _titles(fig, f"{what} over the {keys} sweep, arm {arm}", ds, notes + pop)
    return fig


def plot_schedules(ds: xr.Dataset, *, arm=None, metric=None, drug: str | None = None,
                   point: Mapping | None = None) -> Figure:
    """Metrics per arm (schedule) as horizontal bars, with 5th-95th percentile error bars for populations.

    Parameters
    ----------
    ds : result dataset with metric variables (dim ``stat``)
    arm : arm name, list of names or comma-separated names; default every arm (the
        monotherapy arms the runner added are drawn lighter)
    metric : a metric, a list of metrics or comma-separated metrics, one panel each;
        default ``proliferation_inhibition`` and ``tgi``
    drug : the drug of a per-drug metric (CMAX, CTROUGH, AUCTAU); default one panel per drug
    point : sweep point to show, ``{sweep key: label or value}``; default the first

    Returns
    -------
    matplotlib.figure.Figure
    """
    if metric is None:
        metrics = [m for m in DEFAULT_SCHEDULE_METRICS if m in ds] or _metric_names(ds)[:1]
        if not metrics:
            raise InputError("schedules", "the dataset has no metrics", show_value=False)
    elif isinstance(metric, str):
        metrics = [m.strip() for m in metric.split(",") if m.strip()]
    else:
        metrics = [str(m) for m in metric]
    for m in metrics:
        _check_metric(ds, m)
    arms = _select_arms(ds, arm, include_added=True)
    added = set(_added_arms(ds))
    colors = arm_colors(ds)
    sel, notes = _select_point(ds, point=point)
    panels: list[tuple[str, str | None]] = []
    for m in metrics:
        if "drug" in sel[m].dims:
            drugs = [str(d) for d in sel["drug"].values]
            if drug is not None and drug not in drugs:
                raise InputError("drug", f"must be one of {', '.join(drugs)}", drug)
            panels += [(m, d) for d in ([drug] if drug else drugs)]
        else:
            panels.append((m, None))
    population = _n_patients(ds) > 1 and "stat" in sel.coords and {"p05", "p95"} <= set(
        str(s) for s in sel["stat"].values)
    fig = Figure(figsize=(4.6 * len(panels) + 2.6, 0.42 * len(arms) + 2.2), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(panels), sharey=True))
    y = np.arange(len(arms))
    for ax, (m, d) in zip(axes, panels):
        da = sel[m] if d is None else sel[m].sel(drug=d)
        med = np.array([float(_stat(da.sel(arm=a), "median")) for a in arms])
        bar_colors = [mcolors.to_rgba(colors[a], 0.45 if a in added else 0.95) for a in arms]
        xerr = None
        if population:
            lo = np.array([float(da.sel(arm=a, stat="p05")) for a in arms])
            hi = np.array([float(da.sel(arm=a, stat="p95")) for a in arms])
            xerr = np.vstack([np.clip(med - lo, 0, None), np.clip(hi - med, 0, None)])
            xerr = np.where(np.isfinite(xerr), xerr, 0.0)
        ax.barh(y, np.where(np.isfinite(med), med, 0.0), color=bar_colors, xerr=xerr,
                error_kw={"ecolor": "0.2", "capsize": 3, "lw": 1.0}, height=0.7)
        fmt = _cell_format(med, str(da.attrs.get("units", "")), signed=False)
        span = np.nanmax(np.abs(med)) if np.isfinite(med).any() else 1.0
        for yi, v, e in zip(y, med, (xerr[1] if xerr is not None else np.zeros_like(med))):
            if not np.isfinite(v):
                ax.text(0, yi, " n/a", va="center", fontsize=9, color="0.4")
                continue
            end = v + (e if v >= 0 else -e)
            ax.text(end + 0.015 * span * (1 if v >= 0 else -1), yi, fmt.format(v), va="center",
                    ha="left" if v >= 0 else "right", fontsize=9)
        ax.axvline(0, color="0.3", lw=0.8)
        ax.margins(x=0.14)
        ax.set_xlabel(label(da, width=40))
        ax.set_title(_short(m) + (f" ({d})" if d else ""), fontsize=11)
        ax.grid(True, axis="x", alpha=0.3)
    axes[0].set_yticks(y, arms)
    axes[0].invert_yaxis()
    axes[0].set_ylabel("arm")
    extra = []
    if added & set(arms):
        extra = [Patch(facecolor=mcolors.to_rgba("0.5", 0.45), label="lighter: monotherapy arms\n"
                                                                      "added for the comparisons")]
        fig.legend(handles=extra, loc="outside lower center", frameon=False, fontsize=9)
    pop = ["bars: median; error bars: 5th–95th percentiles of "
           f"{_n_patients(ds)} virtual patients"] if population else [_population_note(ds)]
    _titles(fig, "Schedules compared: metrics per arm", ds, notes + pop)
    return fig


# --------------------------------------------------------------------------- virtual-trial kinds

#: Best-overall-response categories in the order of the legends, and their colours.
RESPONSE_ORDER = ("CR", "PR", "SD", "PD", "NE")
RESPONSE_COLORS = {"CR": "#08306b", "PR": "#4a90d9", "SD": "#b3b3b3", "PD": "#c62828", "NE": "#ffffff"}
_RESPONSE_NAMES = {"CR": "complete response", "PR": "partial response", "SD": "stable disease",
                   "PD": "progressive disease", "NE": "not evaluable"}
_DAYS_PER_MONTH = 30.4375           # pkpd.analysis.response.DAYS_PER_MONTH (365.25 / 12)
_PR_LINE, _PD_LINE = -30.0, 20.0     # RECIST 1.1 thresholds drawn on waterfall and spider plots


def _require_trial(ds: xr.Dataset, names: Sequence[str], kind: str) -> None:
    """Raise the one-line InputError of a trial kind on a dataset without the endpoints it needs."""
    if "best_response" not in ds:
        raise InputError(kind, "needs trial endpoints (run a scenario with scans, e.g. 'scan_every: 8 weeks')",
                         show_value=False)
    missing = [n for n in names if n not in ds]
    if missing:
        raise InputError(kind, f"needs trial endpoints; the dataset lacks {', '.join(missing)}",
                         show_value=False)


def _one_arm(ds: xr.Dataset, arm, kind: str) -> str:
    """The one arm a per-patient trial figure shows: ``arm``, else the combination arm, else the
    first treated arm."""
    if arm is None:
        combo = _default_combination_arm(ds)
        if combo is not None:
            return combo
        control = _control_arm(ds)
        names = [a for a in _select_arms(ds, None, include_added=False) if a != control]
        return names[0] if names else _arm_names(ds)[0]
    arms = _select_arms(ds, arm, include_added=True)
    if len(arms) != 1:
        raise InputError("arm", f"{kind} plots show one arm; name one (arms: {', '.join(_arm_names(ds))})",
                         arm)
    return arms[0]


def _response_labels(da: xr.DataArray) -> np.ndarray:
    """Labels (``CR`` ...) of response codes, read through the variable's ``flag_meanings``."""
    codes = np.asarray(da.values)
    meanings = str(da.attrs.get("flag_meanings", " ".join(("NE", "CR", "PR", "SD", "PD")))).split()
    values = np.atleast_1d(np.asarray(da.attrs.get("flag_values", np.arange(len(meanings))))).astype(int)
    lookup = dict(zip(values.tolist(), meanings))
    flat = [lookup.get(int(c), "NE") if np.isfinite(c) else "NE" for c in codes.astype(float).ravel()]
    return np.asarray(flat, dtype=object).reshape(codes.shape)


def _response_handles(labels: np.ndarray, *, kind: str = "patch") -> list:
    """Legend entries of the response categories present, with their counts."""
    handles = []
    for r in RESPONSE_ORDER:
        n = int(np.count_nonzero(labels == r))
        if not n:
            continue
        text = f"{r}: {_RESPONSE_NAMES[r]} (n = {n})"
        if kind == "line":
            handles.append(Line2D([], [], color=_response_edge(r), lw=2.0, marker="o", ms=4, label=text))
        else:
            handles.append(Patch(facecolor=RESPONSE_COLORS[r], edgecolor=_response_edge(r), lw=0.8,
                                 hatch="////" if r == "NE" else None, label=text))
    return handles


def _response_edge(r: str) -> str:
    """Outline (and line) colour of a response category: NE, white, gets a grey outline."""
    return "0.45" if r == "NE" else RESPONSE_COLORS[r]


def _rate_text(ds: xr.Dataset, name: str = "orr") -> str:
    """``ORR 39% (95% CI 28–50%)`` from the stored rate of a dataset cut at one arm and point."""
    if not {name, f"{name}_low", f"{name}_high"} <= set(ds.data_vars):
        return ""
    r, lo, hi = (float(ds[v]) for v in (name, f"{name}_low", f"{name}_high"))
    if not np.isfinite(r):
        return ""
    return f"{name.upper()} {100 * r:.0f}% (95% CI {100 * lo:.0f}–{100 * hi:.0f}%)"


def _trial_notes(one: xr.Dataset, arm: str) -> list[str]:
    """Subtitle notes of a one-arm trial figure: the arm, N, ORR with its interval."""
    n = int(one.sizes.get("patient", 1))
    return [f"arm {arm}, N = {n}", _rate_text(one, "orr")]


def _threshold_lines(ax) -> None:
    """Dashed RECIST lines at -30% (PR) and +20% (PD), labelled at the right, and a line at 0."""
    for y, text in ((_PR_LINE, "−30% (PR)"), (_PD_LINE, "+20% (PD)")):
        ax.axhline(y, color="0.25", lw=1.0, ls="--", zorder=1)
        ax.text(1.006, y, text, transform=ax.get_yaxis_transform(), ha="left", va="center", fontsize=9,
                color="0.25", clip_on=False)
    ax.axhline(0.0, color="0.2", lw=0.8, zorder=1)


def plot_waterfall(ds: xr.Dataset, *, arm=None, cap: float | None = 100.0,
                   point: Mapping | None = None) -> Figure:
    """Waterfall plot: best change of the target lesion from baseline, a bar per patient of one arm.

    Bars are sorted from the largest growth (left) to the deepest shrinkage (right)
    and coloured by the best overall response (RECIST 1.1, confirmed); dashed lines
    mark -30% (partial response) and +20% (progression).  Patients without a
    post-baseline scan have no bar (the subtitle counts them).

    Parameters
    ----------
    ds : run dataset with the trial endpoints ``best_pct_change`` and ``best_response``
    arm : the arm shown; default the combination arm (else the first treated arm)
    cap : bars above ``cap`` % are cut there and labelled with their value (None: no cap)
    point : sweep point to show, ``{sweep key: label or value}``; default the first

    Returns
    -------
    matplotlib.figure.Figure
    """
    _require_trial(ds, ["best_pct_change", "best_response"], "waterfall")
    a = _one_arm(ds, arm, "waterfall")
    if cap is not None and not (isinstance(cap, (int, float)) and math.isfinite(cap) and cap > _PD_LINE):
        raise InputError("cap", f"must be a number > {_PD_LINE:g} (%), or None for no cap", cap)
    sel, notes = _select_point(ds, point=point)
    one = sel.sel(arm=a)
    pct = np.asarray(one["best_pct_change"].values, dtype=float)
    bor = _response_labels(one["best_response"])
    ok = np.isfinite(pct)
    rank = {r: i for i, r in enumerate(RESPONSE_ORDER)}
    idx = np.flatnonzero(ok)
    # largest growth first; ties: worse response first
    idx = idx[np.lexsort((-np.array([rank[r] for r in bor[idx]]), -pct[idx]))]
    v, lab = pct[idx], bor[idx]
    n = v.size
    shown = np.minimum(v, cap) if cap is not None else v
    fig = Figure(figsize=(min(15.0, max(9.5, 0.11 * n + 6.0)), 5.8), layout="constrained")
    ax = fig.subplots()
    x = np.arange(n)
    ax.bar(x, shown, width=0.82, color=[RESPONSE_COLORS[r] for r in lab],
           edgecolor=[_response_edge(r) for r in lab], linewidth=0.6, zorder=2)
    for xi, r in zip(x, lab):
        if r == "NE":
            ax.patches[xi].set_hatch("////")
    if cap is not None:
        for xi, vi in zip(x, v):
            if vi > cap + 0.5:
                ax.text(xi, cap + 1.5, f"+{vi:.0f}", rotation=90, ha="center", va="bottom", fontsize=7,
                        color="0.2")
    _threshold_lines(ax)
    top = float(np.max(shown)) if n else _PD_LINE
    bottom = float(np.min(shown)) if n else _PR_LINE
    headroom = 22.0 if cap is not None and top >= cap else 8.0      # room for the values of cut bars
    ax.set_ylim(min(-100.0, bottom) - 5.0, max(top, _PD_LINE) + headroom)
    ax.set_xlim(-0.8, max(n, 1) - 0.2)
    ax.set_xticks([])
    ax.set_xlabel(f"patients of arm {a} (n = {n}), from largest growth to deepest shrinkage")
    ax.set_ylabel(label(one["best_pct_change"], width=44))
    ax.grid(True, axis="y", alpha=0.3, zorder=0)
    if not n:
        _check_empty(ax, "no patient has a post-baseline scan")
    fig.legend(handles=_response_handles(lab), loc="outside right center", frameon=False, fontsize=9.5,
               title="best overall response\n(RECIST 1.1, confirmed)", title_fontsize=9.5)
    extra = []
    if cap is not None and np.any(v > cap + 0.5):
        extra.append(f"bars cut at +{cap:g}% (value written above)")
    missing = int(np.count_nonzero(~ok))
    if missing:
        extra.append(f"{missing} patient{'s' * (missing > 1)} without a post-baseline scan not shown")
    _titles(fig, "Best change of the target lesion from baseline", ds,
            notes + _trial_notes(one, a) + extra)
    return fig


#: Above this many patients, a swimmer plot shows the responders only (unless told otherwise).
SWIMMER_MAX_PATIENTS = 100


def plot_swimmer(ds: xr.Dataset, *, arm=None, responders: bool | None = None,
                 point: Mapping | None = None) -> Figure:
    """Swimmer plot: time on study per patient of one arm (months), longest at the top.

    A bar runs from the start of treatment to progression, or to the last scan
    (data cut-off) for a patient still on study, and is coloured by the best overall
    response.  Markers: the first scan of the (confirmed) response, progression;
    an arrow marks a patient still on study without progression (censored).

    Parameters
    ----------
    ds : run dataset with the trial endpoints (``pfs_days``, ``pfs_event``,
        ``response_start_days``, ``best_response``)
    arm : the arm shown; default the combination arm (else the first treated arm)
    responders : only the patients with a confirmed response (CR or PR); default (None) every
        patient up to :data:`SWIMMER_MAX_PATIENTS` patients, the responders only beyond
    point : sweep point to show, ``{sweep key: label or value}``; default the first

    Returns
    -------
    matplotlib.figure.Figure
    """
    _require_trial(ds, ["pfs_days", "pfs_event", "response_start_days", "best_response"], "swimmer")
    a = _one_arm(ds, arm, "swimmer")
    sel, notes = _select_point(ds, point=point)
    one = sel.sel(arm=a)
    months = np.asarray(one["pfs_days"].values, dtype=float) / _DAYS_PER_MONTH
    event = np.asarray(one["pfs_event"].values).astype(bool)
    onset = np.asarray(one["response_start_days"].values, dtype=float) / _DAYS_PER_MONTH
    bor = _response_labels(one["best_response"])
    pids = np.asarray(one["patient"].values) if "patient" in one.coords else np.arange(months.size)
    keep = np.isfinite(months)
    if responders is None:
        responders = int(keep.sum()) > SWIMMER_MAX_PATIENTS
    if responders:
        keep &= np.isin(bor, ("CR", "PR"))
    rank = {r: i for i, r in enumerate(RESPONSE_ORDER)}
    idx = np.flatnonzero(keep)
    # longest on study at the top; ties: better response, earlier onset, then ongoing above progressed
    order = np.lexsort((event[idx], np.nan_to_num(onset[idx], nan=np.inf),
                        np.array([rank[r] for r in bor[idx]]), -months[idx]))
    idx = idx[order]
    n = idx.size
    end = float(ds["scan_day"].values[-1]) / _DAYS_PER_MONTH if "scan_day" in ds.coords else (
        float(np.nanmax(months)) if n else 1.0)
    fig = Figure(figsize=(10.5, min(16.0, max(4.2, 0.125 * n + 2.4))), layout="constrained")
    ax = fig.subplots()
    y = np.arange(n)
    h = 0.72 if n > 1 else 0.4
    ax.barh(y, months[idx], height=h, color=[RESPONSE_COLORS[r] for r in bor[idx]],
            edgecolor=[_response_edge(r) for r in bor[idx]], linewidth=0.5, zorder=2)
    for k, r in enumerate(bor[idx]):
        if r == "NE":
            ax.patches[k].set_hatch("////")
    ms = 6.5 if n <= 40 else 5.0
    on = np.isfinite(onset[idx])
    ax.plot(onset[idx][on], y[on], ls="none", marker="^", ms=ms, mfc="#ffd21f", mec="black", mew=0.7,
            zorder=4)
    pd = event[idx]
    ax.plot(months[idx][pd], y[pd], ls="none", marker="X", ms=ms + 0.5, mfc="black", mec="white", mew=0.5,
            zorder=4)
    span = max(end, float(np.nanmax(months)) if n else end)
    arrow = 0.035 * span
    unassessed = (bor[idx] == "NE") & (months[idx] <= 0)      # no evaluable scan: no time on study to show
    for k in np.flatnonzero(unassessed):
        ax.text(0.006 * span, y[k], "not evaluable (no assessment)", va="center", ha="left",
                fontsize=7 if n > 25 else 8, color="0.4")
    for k in np.flatnonzero(~pd & ~unassessed):
        ax.annotate("", xy=(months[idx][k] + arrow, y[k]), xytext=(months[idx][k] + 0.004 * span, y[k]),
                    arrowprops={"arrowstyle": "-|>", "color": "black", "lw": 1.0,
                                "mutation_scale": 8 if n > 40 else 10, "shrinkA": 0, "shrinkB": 0},
                    zorder=4)
    ax.axvline(end, color="0.4", lw=0.9, ls=":", zorder=1)
    ax.text(end, 1.005, "last scan\n(data cut-off)", transform=ax.get_xaxis_transform(), ha="center",
            va="bottom", fontsize=8, color="0.35")
    ax.set_xlim(0, span + 1.6 * arrow)
    ax.set_ylim(n - 0.5 if n else 0.5, -0.6)
    if n <= 45:
        ax.set_yticks(y, [str(p) for p in pids[idx]], fontsize=7 if n > 25 else 8.5)
        ax.set_ylabel("patient")
    else:
        ax.set_yticks([])
        ax.set_ylabel(f"patients (n = {n})")
    step = 3 if span > 9 else (2 if span > 5 else 1)
    ax.set_xticks(np.arange(0, span + 1e-9, step))
    ax.set_xlabel("time on study: to progression, or to the last scan [month]")
    ax.grid(True, axis="x", alpha=0.3, zorder=0)
    if not n:
        _check_empty(ax, "no responders" if responders else "no patients")
    handles = _response_handles(bor[idx]) + [
        Line2D([], [], ls="none", marker="^", ms=7, mfc="#ffd21f", mec="black", label="response onset\n"
                                                                                       "(confirmed CR/PR)"),
        Line2D([], [], ls="none", marker="X", ms=7.5, mfc="black", mec="white", label="progression (PD)"),
        Line2D([], [], ls="none", marker=r"$\rightarrow$", ms=12, color="black",
               label="on study, no progression\n(censored)"),
    ]
    fig.legend(handles=handles, loc="outside right center", frameon=False, fontsize=9,
               title="best overall response", title_fontsize=9.5)
    extra = [f"the {n} responders shown"] if responders else []
    _titles(fig, "Time on study per patient (swimmer plot)", ds, notes + _trial_notes(one, a) + extra)
    return fig


def plot_spider(ds: xr.Dataset, *, arm=None, point: Mapping | None = None) -> Figure:
    """Spider plot: change of the target lesion from baseline at each scan, a line per patient of one arm.

    Lines are coloured by the best overall response and stop at the first
    progression (marked ×), when a patient would leave the study.

    Parameters
    ----------
    ds : run dataset with the trial endpoints ``scan_pct_change``, ``scan_response``
        and ``best_response`` (and the ``scan_day`` coordinate)
    arm : the arm shown; default the combination arm (else the first treated arm)
    point : sweep point to show, ``{sweep key: label or value}``; default the first

    Returns
    -------
    matplotlib.figure.Figure
    """
    _require_trial(ds, ["scan_pct_change", "scan_response", "best_response"], "spider")
    a = _one_arm(ds, arm, "spider")
    sel, notes = _select_point(ds, point=point)
    one = sel.sel(arm=a)
    pct = np.asarray(one["scan_pct_change"].transpose("patient", "scan").values, dtype=float)
    resp = _response_labels(one["scan_response"].transpose("patient", "scan"))
    bor = _response_labels(one["best_response"])
    if "scan_day" in one.coords:
        t = np.asarray(one["scan_day"].values, dtype=float) / _DAYS_PER_MONTH
    else:
        t = np.asarray(one["scan_time"].values, dtype=float) / 24.0 / _DAYS_PER_MONTH
    fig = Figure(figsize=(10.5, 6.0), layout="constrained")
    ax = fig.subplots()
    top = _PD_LINE
    drawn = 0
    for r in reversed(RESPONSE_ORDER):          # responders drawn last, on top
        for p in np.flatnonzero(bor == r):
            is_pd = resp[p] == "PD"
            last = int(np.argmax(is_pd)) if is_pd.any() else pct.shape[1] - 1
            xs, ys = t[: last + 1], pct[p, : last + 1]
            ok = np.isfinite(ys)
            if ok.sum() < 1:
                continue
            color = _response_edge(r)
            ax.plot(xs[ok], ys[ok], color=color, lw=1.3, alpha=0.8, marker="o", ms=2.8,
                    zorder=3 if r in ("CR", "PR") else 2)
            if is_pd.any() and np.isfinite(pct[p, last]):
                ax.plot(t[last], pct[p, last], ls="none", marker="X", ms=6.5, mfc=color, mec="white", mew=0.5,
                        zorder=4)
            top = max(top, float(np.nanmax(ys[ok])))
            drawn += 1
    _threshold_lines(ax)
    ax.set_ylim(-105, top + 8)
    ax.set_xlim(t[0] - 0.1, t[-1] + 0.25)
    span = t[-1] - t[0]
    step = 3 if span > 9 else (2 if span > 5 else 1)
    ax.set_xticks(np.arange(0, t[-1] + 1e-9, step))
    ax.set_xlabel("time since the start of treatment [month]")
    ax.set_ylabel(label(one["scan_pct_change"], width=44))
    ax.grid(True, alpha=0.3, zorder=0)
    if not drawn:
        _check_empty(ax, "no patient has a measured scan")
    handles = _response_handles(bor, kind="line") + [
        Line2D([], [], ls="none", marker="X", ms=7, mfc="0.3", mec="white", label="progression (PD):\n"
                                                                                   "line ends")]
    fig.legend(handles=handles, loc="outside right center", frameon=False, fontsize=9,
               title="best overall response\n(RECIST 1.1, confirmed)", title_fontsize=9.5)
    scan_every = float(np.median(np.diff(t))) * _DAYS_PER_MONTH / 7.0 if t.size > 1 else math.nan
    extra = [f"a scan every {scan_every:.0f} weeks"] if np.isfinite(scan_every) else []
    _titles(fig, "Change of the target lesion from baseline over time (spider plot)", ds,
            notes + _trial_notes(one, a) + extra)
    return fig


def _km_curve(months: np.ndarray, events: np.ndarray):
    """Kaplan–Meier estimate of (months, events) with :func:`pkpd.analysis.response.kaplan_meier`."""
    from pkpd.analysis.response import kaplan_meier

    return kaplan_meier(months, events.astype(bool))


def _km_steps(km) -> tuple[np.ndarray, np.ndarray]:
    """The KM step function as x, y for ``ax.step(where="post")``: 1 from 0, on to the last time."""
    x = np.concatenate([[0.0], km.time, [km.max_time]])
    y = np.concatenate([[1.0], km.survival, [km.survival[-1] if km.survival.size else 1.0]])
    return x, y


def _same_steps(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> bool:
    """True when two step curves (x, y; ``where="post"``) coincide wherever both are drawn."""
    end = min(a[0][-1], b[0][-1])
    grid = np.union1d(a[0], b[0])
    grid = grid[grid <= end]

    def at(c):
        return c[1][np.clip(np.searchsorted(c[0], grid, side="right") - 1, 0, c[1].size - 1)]

    return bool(grid.size) and bool(np.allclose(at(a), at(b), rtol=0, atol=1e-12))


def _median_text(km) -> str:
    """``median 7.4 mo (95% CI 3.7–NR)`` of a KM curve (NR = not reached)."""
    est, lo, hi = km.median()
    f = (lambda v: f"{v:.1f}" if np.isfinite(v) else "NR")
    if not np.isfinite(est):
        return "median NR" + (f" (95% CI {f(lo)}–NR)" if np.isfinite(lo) else "")
    return f"median {f(est)} mo (95% CI {f(lo)}–{f(hi)})"


def plot_km(ds: xr.Dataset, *, arm=None, ci: bool = False, point: Mapping | None = None) -> Figure:
    """Kaplan–Meier curves of duration of response and of progression-free survival, a line per arm.

    Two panels (months): duration of response among the confirmed responders,
    from the response onset, and progression-free survival from the start of
    treatment.  Ticks mark censored patients; the legend gives each arm's median
    with its Brookmeyer–Crowley 95% CI (NR: not reached); the numbers at risk
    are tabulated under each panel.

    Parameters
    ----------
    ds : run dataset with the trial endpoints (``dor_days``, ``dor_event``, ``pfs_days``, ``pfs_event``)
    arm : arm name, list of names or comma-separated names; default the scenario's arms
    ci : shade the pointwise 95% confidence band (log-log) of each curve
    point : sweep point to show, ``{sweep key: label or value}``; default the first

    Returns
    -------
    matplotlib.figure.Figure
    """
    _require_trial(ds, ["dor_days", "dor_event", "pfs_days", "pfs_event"], "km")
    arms = _select_arms(ds, arm, include_added=False)
    colors = arm_colors(ds)
    sel, notes = _select_point(ds, point=point)
    panels = (("dor", "Duration of response (confirmed responders)", "probability of remaining in response [%]",
               "months since the response onset [month]"),
              ("pfs", "Progression-free survival", "progression-free probability [%]",
               "months since the start of treatment [month]"))
    rows = 0.3 + 0.2 * len(arms)
    fig = Figure(figsize=(14.0, 5.4 + 2.0 * rows + 0.3), layout="constrained")
    grid = fig.add_gridspec(3, 2, height_ratios=[4.6, rows, rows + 0.25])
    end = float(sel["scan_day"].values[-1]) / _DAYS_PER_MONTH if "scan_day" in sel.coords else None
    for j, (key, title, ylabel, xlabel) in enumerate(panels):
        ax = fig.add_subplot(grid[0, j])
        table = fig.add_subplot(grid[1, j], sharex=ax)
        curves, handles, steps = [], [], []
        for a in arms:
            one = sel.sel(arm=a)
            days = np.asarray(one[f"{key}_days"].values, dtype=float)
            ev = np.asarray(one[f"{key}_event"].values).astype(bool)
            ok = np.isfinite(days)
            m, e = days[ok] / _DAYS_PER_MONTH, ev[ok]
            if not m.size:
                handles.append(Line2D([], [], color=colors[a], lw=2.0, ls=":", label=f"{a}: no responders"))
                curves.append((a, m))
                continue
            km = _km_curve(m, e)
            x, y = _km_steps(km)
            k = sum(_same_steps((x, y), other) for other in steps)   # identical curves: dashed, offset
            ls = ((k - 1) * 4.0, (4.0, 4.0 * k)) if k else "-"
            steps.append((x, y))
            ax.step(x, 100 * y, where="post", color=colors[a], lw=2.0, ls=ls, zorder=3)
            if ci and km.time.size:
                lo, hi = (np.nan_to_num(np.concatenate([[1.0], c, c[-1:]]), nan=0.0)
                          for c in (km.lower, km.upper))
                ax.fill_between(x, 100 * lo, 100 * hi, step="post", color=colors[a], alpha=0.12, lw=0)
            cens = m[~e]
            if cens.size:
                s = np.asarray(km.survival_at(cens)[0], dtype=float)
                ax.plot(cens, 100 * s, ls="none", marker="|", ms=9, mew=1.4, color=colors[a], zorder=4)
            n_ev = int(e.sum())
            events = f"{n_ev} event{'s' * (n_ev != 1)}"
            handles.append(Line2D([], [], color=colors[a], lw=2.0, ls=ls,
                                  label=f"{a} (n = {m.size}, {events}): {_median_text(km)}"))
            curves.append((a, m))
        ax.axhline(50, color="0.5", lw=0.8, ls=(0, (4, 3)), zorder=1)
        ax.set_ylim(-2, 104)
        ax.set_yticks(range(0, 101, 20))
        ax.set_ylabel(ylabel)
        ax.set_title(title, fontsize=11.5)
        ax.grid(True, alpha=0.3)
        span = max([float(c.max()) for _, c in curves if c.size] + [end or 0.0, 1.0])
        if key == "dor" and end is not None:
            span = max([float(c.max()) for _, c in curves if c.size] + [1.0])
        step = 3 if span > 9 else (2 if span > 5 else 1)
        ticks = np.arange(0, span + 1e-9, step)
        ax.set_xlim(0, span * 1.03)
        ax.set_xticks(ticks)
        ax.tick_params(labelbottom=True)
        ax.set_xlabel(xlabel)
        legend_ax = fig.add_subplot(grid[2, j])
        legend_ax.axis("off")
        legend_ax.legend(handles=handles, loc="upper left", fontsize=9, frameon=False, borderaxespad=0.0,
                         title="arm (patients, events): median, Brookmeyer–Crowley 95% CI (NR: not reached)",
                         title_fontsize=9, alignment="left")
        if not any(c.size for _, c in curves):
            _check_empty(ax, "no responders in the arms shown" if key == "dor" else "no patients")
        # numbers at risk
        table.set_ylim(len(curves) - 0.5, -0.5)
        for r, (a, m) in enumerate(curves):
            for tk in ticks:
                table.text(tk, r, str(int(np.count_nonzero(m >= tk - 1e-9))), ha="center", va="center",
                           fontsize=8.5, color=colors[a])
        table.set_yticks(range(len(curves)), [a for a, _ in curves], fontsize=8.5)
        for tl, (a, _) in zip(table.get_yticklabels(), curves):
            tl.set_color(colors[a])
        table.tick_params(left=False, bottom=False, labelbottom=False, pad=12)
        for s in table.spines.values():
            s.set_visible(False)
        table.set_title("number at risk", fontsize=9, loc="left", color="0.3")
    _titles(fig, "Kaplan–Meier estimates: duration of response and progression-free survival", ds,
            notes + _hidden_note(ds, arm) + [f"{_n_patients(ds)} virtual patients per arm",
                                             "tick marks: censored (no progression by the last scan)"])
    return fig


_RATES = {"orr": "Objective response rate (confirmed CR + PR)", "dcr": "Disease-control rate (CR + PR + SD)"}


def plot_orr(ds: xr.Dataset, *, arm=None, metric: str = "orr", over: str | None = None,
             point: Mapping | None = None) -> Figure:
    """Objective response rate (or disease-control rate) with its exact 95% interval per arm,
    or per sweep point.

    Without a sweep: a bar per arm (arm colours) with the Clopper–Pearson 95%
    interval as an error bar, annotated with the rate and the count of responders
    out of N.  With a sweep: the rate against the points of one sweep key, a
    point-range per arm.

    Parameters
    ----------
    ds : run dataset with the trial endpoints ``orr``, ``orr_low``, ``orr_high`` (or ``dcr`` ...)
    arm : arm name, list of names or comma-separated names; default the scenario's arms
    metric : ``"orr"`` (default) or ``"dcr"``
    over : sweep key (or dimension) on the x axis; default the first sweep key, ``"arm"`` for
        a bar per arm at one sweep point
    point : point of the other sweep dimensions, ``{sweep key: label or value}``; default the first

    Returns
    -------
    matplotlib.figure.Figure
    """
    if metric not in _RATES:
        raise InputError("metric", f"orr plots show one of {', '.join(_RATES)}", metric)
    names = [metric, f"{metric}_low", f"{metric}_high"]
    _require_trial(ds, names, "orr")
    arms = _select_arms(ds, arm, include_added=False)
    colors = arm_colors(ds)
    sweep = _sweep_dims(ds)
    xdim = None
    if over is None:
        xdim = sweep[0] if sweep else None
    elif str(over) != "arm":
        xdim = _find_sweep_dim(ds, str(over), "over")
    sel, notes = _select_point(ds, keep=(xdim,) if xdim else (), point=point)
    n_pat = int(ds.sizes.get("patient", 1))
    ylabel = f"{ds[metric].attrs.get('long_name', metric)} [%]"

    def rates(s: xr.Dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return tuple(100.0 * np.atleast_1d(np.asarray(s[v].values, dtype=float)) for v in names)

    if xdim is None:
        fig = Figure(figsize=(max(6.5, 1.5 * len(arms) + 3.0), 5.4), layout="constrained")
        ax = fig.subplots()
        per_arm = np.array([[float(v[0]) for v in rates(sel.sel(arm=a))] for a in arms])
        r, lo, hi = per_arm.T
        x = np.arange(len(arms))
        ax.bar(x, np.nan_to_num(r), width=0.62, color=[mcolors.to_rgba(colors[a], 0.85) for a in arms],
               edgecolor=[colors[a] for a in arms], zorder=2)
        err = np.vstack([np.clip(r - lo, 0, None), np.clip(hi - r, 0, None)])
        ax.errorbar(x, r, yerr=np.nan_to_num(err), fmt="none", ecolor="0.15", capsize=6, lw=1.3, zorder=3)
        for xi, ri, lo_i, hi_i in zip(x, r, lo, hi):
            if not np.isfinite(ri):
                ax.text(xi, 1, "n/a", ha="center", va="bottom", fontsize=9, color="0.4")
                continue
            k = int(round(ri / 100.0 * n_pat))
            ax.text(xi, hi_i + 1.5, f"{ri:.0f}% ({lo_i:.0f}–{hi_i:.0f})\n{k}/{n_pat}", ha="center",
                    va="bottom", fontsize=9.5)
        ax.set_xticks(x, arms)
        ax.set_xlabel("arm")
        top = float(np.nanmax(hi)) if np.isfinite(hi).any() else 10.0
    else:
        npts = sel.sizes[xdim]
        fig = Figure(figsize=(max(7.5, 1.1 * npts + 4.5), 5.4), layout="constrained")
        ax = fig.subplots()
        x = np.arange(npts)
        width = 0.7 / max(len(arms), 1)
        top = 10.0
        for k, a in enumerate(arms):
            r, lo, hi = rates(sel.sel(arm=a).transpose(xdim, ...))
            dx = x + (k - (len(arms) - 1) / 2) * width
            err = np.nan_to_num(np.vstack([np.clip(r - lo, 0, None), np.clip(hi - r, 0, None)]))
            ax.errorbar(dx, r, yerr=err, color=colors[a], marker="o", ms=6, capsize=3, lw=1.2, ls="none",
                        label=a, zorder=3, clip_on=False)
            ax.plot(dx, r, color=colors[a], lw=0.9, alpha=0.55, zorder=2)
            if np.isfinite(hi).any():
                top = max(top, float(np.nanmax(hi)))
        ax.set_xticks(x, [_point_label(sel, xdim, i) for i in range(npts)])
        ax.set_xlabel(label(sel[xdim]))
        _arm_legend(fig, arms, colors)
    ax.set_ylim(0, min(105.0, top + 14.0) if top < 91 else 112.0)
    ax.set_ylabel("\n".join(textwrap.wrap(ylabel, 48)))
    ax.grid(True, axis="y", alpha=0.3, zorder=0)
    _titles(fig, f"{_RATES[metric]}, exact 95% CI", ds,
            notes + _hidden_note(ds, arm) + [f"N = {n_pat} virtual patients per arm",
                                             "error bars: Clopper–Pearson interval"])
    return fig


# --------------------------------------------------------------------------- public entry points

#: Plot kinds by name (``pkpd plot OUT.nc KIND``).
KINDS: dict[str, Callable[..., Figure]] = {
    "pk": plot_pk,
    "signaling": plot_signaling,
    "tumor": plot_tumor,
    "heatmap": plot_heatmap,
    "schedules": plot_schedules,
    "waterfall": plot_waterfall,
    "swimmer": plot_swimmer,
    "spider": plot_spider,
    "km": plot_km,
    "orr": plot_orr,
}


def plot(ds: xr.Dataset, kind: str, *, arm=None, metric: str | None = None, log: bool = False,
         **options) -> Figure:
    """Draw one figure of kind ``kind`` from the result dataset ``ds``.

    Parameters
    ----------
    ds : xarray.Dataset from :func:`pkpd.runner.run` or :func:`pkpd.io.read_dataset`
    kind : one of :data:`KINDS` (``pk``, ``signaling``, ``tumor``, ``heatmap``, ``schedules``,
        ``waterfall``, ``swimmer``, ``spider``, ``km``, ``orr``); for a model scenario's result one
        of :data:`pkpd.model_plots.KINDS` (``profiles``, ``sweep``)
    arm : the arm(s) shown; see each kind's function for its default
    metric : the metric of ``heatmap`` and ``schedules`` figures; ``orr`` or ``dcr`` for ``orr``
    log : logarithmic y axis for the time courses (``pk``, ``signaling``, ``tumor``)
    **options : options of the kind's function (e.g. ``free=True`` for pk,
        ``variable="diameter"`` for tumor, ``point={"neratinib.dose": "240 mg"}``)

    Returns
    -------
    matplotlib.figure.Figure, not shown; write it with :func:`save`.

    Raises
    ------
    pkpd.errors.InputError
        unknown kind (listing the valid ones), unknown option, arm or metric, or a
        kind that the dataset cannot support (a heatmap without a two-key sweep, a
        waterfall without trial endpoints).
    """
    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"plot needs an xarray.Dataset, got {type(ds).__name__}")
    kinds = KINDS
    if ds.attrs.get("scenario_kind") == "model":   # a model scenario's result: pkpd.model_plots
        from pkpd.model_plots import KINDS as kinds
    if kind not in kinds:
        raise InputError("kind", f"unknown plot kind {kind!r}; valid kinds: {', '.join(kinds)}",
                         show_value=False)
    fn = kinds[kind]
    accepted = inspect.signature(fn).parameters
    unknown = sorted(k for k in options if k not in accepted or k in ("ds",))
    if unknown:
        valid = ", ".join(k for k in accepted if k not in ("ds", "arm", "metric", "log")) or "none"
        raise InputError("options", f"{kind} plots take no option {', '.join(unknown)} "
                                    f"(options: {valid})", show_value=False)
    kwargs = dict(options, arm=arm)
    if metric is not None:
        if "metric" not in accepted:
            raise InputError("metric", f"{kind} plots take no metric (metrics apply to heatmap, "
                                       "schedules and orr)", show_value=False)
        kwargs["metric"] = metric
    if log:
        if "log" not in accepted:
            raise InputError("log", f"{kind} plots have no logarithmic axis (log applies to pk, "
                                    "signaling and tumor)", show_value=False)
        kwargs["log"] = True
    return fn(ds, **kwargs)


def save(fig: Figure, path: str | os.PathLike, *, dpi: int = _DPI) -> Path:
    """Write ``fig`` to ``path`` atomically: a complete file appears, or none.

    The figure goes to a temporary file in the same folder, renamed onto
    ``path`` (``os.replace``) once written.  The format follows the suffix
    (``.png`` by default, also ``.pdf``, ``.svg``).  Returns the path.
    """
    from pkpd.io import atomic_path

    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or "png"
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt, dpi=dpi, facecolor="white")
    return path


def standard_set(ds: xr.Dataset, folder: str | os.PathLike) -> list[Path]:
    """Write the standard figures that make sense for ``ds`` into ``folder`` as PNG; return their paths.

    A model scenario's result gets :func:`pkpd.model_plots.standard_set`'s figures.  For the
    trial system: always ``pk.png``, ``signaling.png`` and ``tumor.png``; ``heatmap.png`` when the
    dataset is swept over two or more keys and has a combination arm;
    ``schedules.png`` when it has more than two arms; with the virtual-trial
    endpoints (``best_response``) of a population (more than one patient) with at least one scan after the baseline,
    ``waterfall.png``, ``swimmer.png`` and ``spider.png`` of the combination arm (else the first
    treated arm), ``km.png`` and ``orr.png``, and ``tumor.png`` shows the lesion diameter (mm)
    on a log axis.
    """
    if ds.attrs.get("scenario_kind") == "model":
        from pkpd.model_plots import standard_set as model_set

        return model_set(ds, folder)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    # concentration and signaling time courses need the full output grid (store: full)
    full = ds.attrs.get("store", "full") == "full"
    trial = "best_response" in ds and ds.sizes.get("scan", 0) > 1 and ds.sizes.get("patient", 1) > 1
    # over a virtual trial's months the volume spans orders of magnitude: show what RECIST reads,
    # the diameter, on a log axis
    tumor_opts = {"variable": "diameter", "log": True} if trial else {}
    jobs: list[tuple[str, dict]] = ([("pk", {}), ("signaling", {})] if full else []) + [("tumor", tumor_opts)]
    if len(_sweep_dims(ds)) >= 2 and _default_combination_arm(ds) is not None:
        jobs.append(("heatmap", {}))
    if ds.sizes.get("arm", 0) > 2:
        jobs.append(("schedules", {}))
    if trial:
        jobs += [("waterfall", {}), ("swimmer", {}), ("spider", {}), ("km", {}), ("orr", {})]
    written = []
    for kind, opts in jobs:
        written.append(save(plot(ds, kind, **opts), folder / f"{kind}.png"))
    return written
