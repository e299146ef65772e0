"""Pathway inhibition relative to control, tumour growth inhibition and combination metrics.

Conventions (``biology.md`` §4): an *effect* ``E`` is a fractional inhibition
(0 = no effect, 1 = complete inhibition; values outside [0, 1] are allowed and
pass through, e.g. a readout that rises above control gives E < 0).  All
functions broadcast over leading axes (patients, arms, doses ...) with numpy
rules; time series put time on the last axis.

References
----------
Bliss CI. "The toxicity of poisons applied jointly." *Ann Appl Biol*
1939;26:585–615.  Gaddum JH. *Pharmacology*, 1940 (highest single agent).
Greco WR, Bravo G, Parsons JC. "The search for synergy." *Pharmacol Rev*
1995;47:331–385.
"""

from __future__ import annotations

import numpy as np

from pkpd.analysis.exposure import LINEAR, _check_profile, _value_at, auc
from pkpd.errors import InputError

__all__ = [
    "time_average",
    "inhibition",
    "tgi",
    "bliss_expected",
    "bliss_excess",
    "hsa_expected",
    "hsa_excess",
]


def _scalar(x):
    x = np.asarray(x)
    return x[()] if x.ndim == 0 else x


def _window(window):
    if window is None:
        return None, None
    try:
        t0, t1 = (float(v) for v in window)
    except (TypeError, ValueError):
        raise InputError("window", "must be a pair (t0, t1) of times", window) from None
    if not t0 < t1:
        raise InputError("window", "must have t0 < t1", f"({t0:g}, {t1:g})")
    return t0, t1


def time_average(t, y, window=None):
    """Time average of ``y`` over ``window = (t0, t1)`` by the linear trapezoid rule.

    Parameters
    ----------
    t : array_like, shape (n_t,)
        Times (h, or any unit), non-decreasing, any spacing; a repeated time
        marks a jump (left value first).
    y : array_like, shape (..., n_t)
        Readout (any unit).
    window : (float, float), optional
        Averaging window within ``[t[0], t[-1]]``; default the whole grid.  Edges
        between samples are interpolated linearly.

    Returns
    -------
    ndarray, shape ``y.shape[:-1]``: ``∫ y dt / (t1 - t0)``, unit of ``y``.
    """
    t0, t1 = _window(window)
    area = auc(t, y, t0, t1, method=LINEAR)  # validates t, y and the window
    t = np.asarray(t, dtype=float)
    span = (t[-1] - t[0]) if t0 is None else (t1 - t0)
    return _scalar(area / span)


def inhibition(t, readout, control_readout, window=None):
    """Pathway inhibition relative to control: ``1 - mean(readout) / mean(control)`` over a window.

    Parameters
    ----------
    t : array_like, shape (n_t,)
        Shared time grid, h.
    readout : array_like, shape (..., n_t)
        Treated readout (e.g. pSTAT3), any unit.
    control_readout : array_like, shape broadcasting with ``readout``
        Untreated readout on the same grid and unit.
    window : (float, float), optional
        Window (h) for the time averages (trapezoid rule, see
        :func:`time_average`); default the whole grid.

    Returns
    -------
    ndarray, shape ``broadcast(readout, control).shape[:-1]``: fractional
    inhibition (0.6 = 60% lower time-averaged readout than control); NaN where
    the control average is 0.
    """
    num = np.asarray(time_average(t, readout, window))
    den = np.asarray(time_average(t, control_readout, window))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 1.0 - num / np.where(den == 0, np.nan, den)
    return _scalar(out)


def tgi(t, treated, control, t_end, t_start=None):
    """Tumour growth inhibition ``TGI = (1 - ΔT/ΔC) × 100`` %, Δ = size(t_end) − size(t_start).

    Parameters
    ----------
    t : array_like, shape (n_t,)
        Shared time grid (h or days, as ``t_end``).
    treated, control : array_like, shapes (..., n_t) broadcasting together
        Tumour size (volume, mm³, or SLD, mm), e.g. group means or per-animal
        curves.
    t_end : float
        Time of the comparison, within the grid.
    t_start : float, optional
        Reference time (default ``t[0]``, the start of treatment).  Sizes at
        both times are interpolated linearly.

    Returns
    -------
    ndarray, shape ``broadcast(treated, control).shape[:-1]``, %: 100 = no net
    growth under treatment, > 100 = regression, 0 = growth as control; NaN where
    the control did not change size.
    """
    t, treated = _check_profile(t, treated)
    _, control = _check_profile(t, control)
    t_start = float(t[0]) if t_start is None else float(t_start)
    t_end = float(t_end)
    for name, value in (("t_start", t_start), ("t_end", t_end)):
        if not (t[0] <= value <= t[-1]):
            raise InputError(name, f"must lie within the grid [{t[0]:g}, {t[-1]:g}]", value)
    if not t_start < t_end:
        raise InputError("t_end", "must be later than t_start", f"t_start={t_start:g}, t_end={t_end:g}")

    def delta(y):
        # Linear interpolation; the right limit at t_start and the left limit at t_end.
        flat = np.zeros(y.shape[:-1] + (t.size - 1,), dtype=bool)
        start = _value_at(t, y, flat, np.array([t_start]), "right")[..., 0]
        end = _value_at(t, y, flat, np.array([t_end]), "left")[..., 0]
        return end - start

    d_treated, d_control = np.broadcast_arrays(delta(treated), delta(control))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 100.0 * (1.0 - d_treated / np.where(d_control == 0, np.nan, d_control))
    return _scalar(out)


def bliss_expected(e_a, e_b):
    """Bliss-independence expected effect ``E_a + E_b − E_a·E_b`` (fractional inhibitions; broadcasts)."""
    e_a = np.asarray(e_a, dtype=float)
    e_b = np.asarray(e_b, dtype=float)
    return _scalar(e_a + e_b - e_a * e_b)


def bliss_excess(e_ab, e_a, e_b):
    """Excess over Bliss independence, ``E_ab − (E_a + E_b − E_a·E_b)``; > 0 = synergy.

    ``e_ab``, ``e_a``, ``e_b`` are fractional inhibitions of the combination and
    the single agents at the same doses (any broadcasting shapes).

    Examples
    --------
    >>> round(float(bliss_excess(0.8, 0.5, 0.4)), 12)  # expected 0.5 + 0.4 - 0.2 = 0.7
    0.1
    """
    return _scalar(np.asarray(e_ab, dtype=float) - bliss_expected(e_a, e_b))


def hsa_expected(e_a, e_b):
    """Highest-single-agent (Gaddum) expected effect ``max(E_a, E_b)`` (broadcasts; NaN propagates)."""
    return _scalar(np.maximum(np.asarray(e_a, dtype=float), np.asarray(e_b, dtype=float)))


def hsa_excess(e_ab, e_a, e_b):
    """Excess over the highest single agent, ``E_ab − max(E_a, E_b)``; > 0 = combination beats both."""
    return _scalar(np.asarray(e_ab, dtype=float) - hsa_expected(e_a, e_b))
