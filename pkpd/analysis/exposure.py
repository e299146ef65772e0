"""Non-compartmental analysis (NCA) of simulated concentration–time profiles.

Every function takes a shared time grid ``t`` (h, shape ``(n_t,)``) and
concentrations ``c`` of shape ``(..., n_t)`` (any concentration unit, e.g. nM or
mg/L); leading axes (patients, arms, doses ...) are carried through, so a metric
comes back with shape ``c.shape[:-1]`` (plus the shape of the requested times
where a function takes several).  Result names follow the CDISC SDTM ``PPTESTCD``
codes where one exists (``CMAX``, ``TMAX``, ``CMIN``, ``CTROUGH``, ``CAVG``,
``AUCTAU``, ``AUCINT``, ``AUCLST``, ``AUCIFO``, ``AUCPEO``, ``TLST``, ``CLST``,
``LAMZ``, ``LAMZHL``, ``LAMZNPT``, ``LAMZLL``, ``LAMZUL``, ``R2``, ``R2ADJ``,
``RAAUC``).  Time to steady state has no CDISC code; it is ``TSS`` here.

The concentration curve between samples
---------------------------------------
NCA needs the curve between the sampled points.  Here it is the *interpolant*
of the chosen AUC method, and every metric is computed on that one curve:

* ``method="lin up/log down"`` (the default, PKNCA's and WinNonlin's
  "linear-up/log-down"): on a sample interval where the concentration falls and
  both ends are positive (``c[i] > c[i+1] > 0``) the curve is the exponential
  through the two points; everywhere else it is the straight line.
* ``method="linear"``: straight lines everywhere (the linear trapezoid rule).

AUC over a window ``[t0, t1]`` is the exact integral of this interpolant, so a
window edge that falls between samples is interpolated with the rule of the
sample interval it falls in (log-linearly on falling stretches), and AUC is
exactly additive over adjacent windows.  (PKNCA instead inserts the interpolated
edge point and re-applies the rule to the new, shorter intervals; the two agree
except on an interval that falls to zero, where PKNCA would switch the first
part to log-down.)

Discontinuities (bolus doses) are written as a *repeated time*: at a time that
appears more than once, the first value is the limit from the left (pre-dose)
and the last is the limit from the right (post-dose).  ``CTROUGH`` uses the left
limit at the end of the interval; extrema over a window use the right limit at
the window start and the left limit at the window end.  If a grid has a single
sample at a dose time, that sample is used as it is.

Conventions
-----------
* ``t`` must be finite and non-decreasing with at least 2 points.  Profiles may
  hold NaN (a failed simulation): the affected metrics are NaN for that
  profile.
* Concentrations <= 0 count as "not measurable" for ``TLST``, ``CLST`` and the
  terminal-phase regression, as in PKNCA (zeros are excluded from lambda-z).
* A profile that is nowhere positive has ``CMAX = 0``, ``AUC = 0`` and NaN for
  ``TMAX``, ``TLST``, ``CLST`` and everything derived from lambda-z.

References
----------
Gabrielsson J, Weiner D. *Pharmacokinetic and Pharmacodynamic Data Analysis*,
5th ed., 2016, ch. 2 (NCA, lambda-z selection).  Denney W, Duvvuri S, Buckeridge
C. "Simple, automatic noncompartmental analysis: the PKNCA R package." *J
Pharmacokinet Pharmacodyn* 2015;42(1):11–107 (``pk.calc.half.life`` point
selection: adjusted R² within 1e-4 of the best, most points, Tmax excluded).
CDISC SDTM Controlled Terminology, codelist PKPARMCD (C85493).
"""

from __future__ import annotations

import numpy as np

from pkpd.errors import InputError

__all__ = [
    "LIN_UP_LOG_DOWN",
    "LINEAR",
    "AUC_METHODS",
    "auc",
    "auctau",
    "cavg",
    "cmax",
    "tmax",
    "cmin",
    "ctrough",
    "tlast",
    "clast",
    "auclast",
    "lambda_z",
    "aucinf_obs",
    "accumulation_ratio",
    "time_to_steady_state",
    "nca",
]

LIN_UP_LOG_DOWN = "lin up/log down"
LINEAR = "linear"
AUC_METHODS = (LIN_UP_LOG_DOWN, LINEAR)

# Relative slack when counting complete dosing intervals in a profile, so that
# (t_end - t_first) / tau = 9.999999999 still counts as 10 intervals.
_INTERVAL_SLACK = 1e-9
# Profiles are processed in blocks of about this many samples where a metric needs
# several full-size temporaries (lambda-z), to keep memory use bounded.
_CHUNK_ELEMENTS = 1 << 18


# --------------------------------------------------------------------------- checks


def _check_profile(t, c):
    """Validate and convert ``t`` (n_t,) and ``c`` (..., n_t); return float arrays."""
    t = np.asarray(t, dtype=float)
    if t.ndim != 1:
        raise InputError("t", "must be a 1-D array of times in h", f"shape {t.shape}")
    if t.size < 2:
        raise InputError("t", "needs at least 2 time points", t.size)
    if not np.all(np.isfinite(t)):
        raise InputError("t", "must be finite", f"non-finite value at index {int(np.flatnonzero(~np.isfinite(t))[0])}")
    steps = np.diff(t)
    if np.any(steps < 0):
        i = int(np.flatnonzero(steps < 0)[0])
        raise InputError("t", "must be non-decreasing (repeat a time to mark a jump such as a bolus dose)",
                         f"t[{i}]={t[i]:g} > t[{i + 1}]={t[i + 1]:g}")
    if t[-1] == t[0]:
        raise InputError("t", "must span a positive time range", f"all times equal {t[0]:g}")
    c = np.asarray(c, dtype=float)
    if c.ndim == 0 or c.shape[-1] != t.size:
        raise InputError("c", f"last axis must match t ({t.size} points)", f"shape {c.shape}")
    return t, c


def _check_method(method):
    if method not in AUC_METHODS:
        raise InputError("method", f"must be one of {', '.join(repr(m) for m in AUC_METHODS)}", repr(method))


def _check_times_in_range(name, x, t):
    """``x`` (any shape) must lie in ``[t[0], t[-1]]``; returns it as a float array."""
    x = np.asarray(x, dtype=float)
    if not np.all(np.isfinite(x)):
        raise InputError(name, "must be finite (h)", f"{x[~np.isfinite(x)].flat[0]:g}")
    lo, hi = t[0], t[-1]
    bad = (x < lo) | (x > hi)
    if np.any(bad):
        raise InputError(name, f"must lie within the profile's time range [{lo:g}, {hi:g}] h",
                         f"{x[bad].flat[0]:g}")
    return x


def _window(t, window):
    """Return (t0, t1) floats from ``window`` (None = whole profile)."""
    if window is None:
        return float(t[0]), float(t[-1])
    try:
        t0, t1 = (float(v) for v in window)
    except (TypeError, ValueError):
        raise InputError("window", "must be a pair (t0, t1) of times in h", window) from None
    _check_times_in_range("window", np.array([t0, t1]), t)
    if not t0 < t1:
        raise InputError("window", "must have t0 < t1", f"({t0:g}, {t1:g})")
    return t0, t1


# ------------------------------------------------------------------ the interpolant


def _log_segments(c, method):
    """Boolean (..., n_t - 1): True where the interval is integrated log-linearly."""
    if method == LINEAR:
        return np.zeros(c.shape[:-1] + (c.shape[-1] - 1,), dtype=bool)
    c1, c2 = c[..., :-1], c[..., 1:]
    return (c1 > c2) & (c2 > 0)


def _segment_auc(t, c, log):
    """Exact integral of the interpolant over each sample interval, shape (..., n_t - 1)."""
    dt = np.diff(t)
    c1, c2 = c[..., :-1], c[..., 1:]
    lin = 0.5 * (c1 + c2) * dt
    with np.errstate(divide="ignore", invalid="ignore"):
        logv = (c1 - c2) * dt / np.log(c1 / c2)
    return np.where(log, logv, lin)


def _cumulative_samples(t, c, log):
    """Integral of the interpolant from ``t[0]`` to each sample time, shape (..., n_t)."""
    seg = _segment_auc(t, c, log)
    return np.concatenate([np.zeros(c.shape[:-1] + (1,)), np.cumsum(seg, axis=-1)], axis=-1)


def _on_segment(t, c, log, s, x):
    """Interpolant value and integral from the segment start, at times ``x`` (m,) on segments ``s`` (m,).

    Returns ``(value, partial)`` of shape (..., m).
    """
    a, b = t[s], t[s + 1]
    h = b - a
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(h > 0, (x - a) / np.where(h > 0, h, 1.0), 0.0)
        ca, cb, lg = c[..., s], c[..., s + 1], log[..., s]
        v_lin = ca + (cb - ca) * frac
        ratio = cb / ca
        v_log = ca * ratio ** frac
        value = np.where(lg, v_log, v_lin)
        part_lin = 0.5 * (ca + value) * (x - a)
        part_log = (ca - value) * h / np.log(ca / cb)
        partial = np.where(lg, part_log, part_lin)
    return value, partial


def _cumulative_auc_at(t, c, log, x, cum=None):
    """Integral of the interpolant from ``t[0]`` to each time in ``x`` (m,), shape (..., m).

    ``cum`` may pass in :func:`_cumulative_samples` already computed.
    """
    n = t.size
    if cum is None:
        cum = _cumulative_samples(t, c, log)
    s = np.clip(np.searchsorted(t, x, side="right") - 1, 0, n - 2)
    _, partial = _on_segment(t, c, log, s, x)
    return cum[..., s] + partial


def _value_at(t, c, log, x, side):
    """Interpolant at times ``x`` (m,): the limit from the ``side`` ('left'/'right'), shape (..., m)."""
    n = t.size
    if side == "right":
        i = np.clip(np.searchsorted(t, x, side="right") - 1, 0, n - 1)
        s = np.clip(i, 0, n - 2)
    else:
        i = np.clip(np.searchsorted(t, x, side="left"), 0, n - 1)
        s = np.clip(i - 1, 0, n - 2)
    exact = t[i] == x
    value, _ = _on_segment(t, c, log, s, x)
    return np.where(exact, c[..., i], value)


def _around(t, c, t0, t1):
    """The samples that the interpolant on ``[t0, t1]`` (h) reads: one before, those inside, one after.

    A window over a long profile reads a few of its samples; the interpolant there is unchanged.
    """
    lo = max(int(np.searchsorted(t, t0, side="right")) - 1, 0)
    hi = min(int(np.searchsorted(t, t1, side="right")) + 1, t.size)
    return (t[lo:hi], c[..., lo:hi]) if hi - lo >= 2 else (t, c)


def _scalar(x):
    """Unwrap 0-d arrays to numpy scalars so single profiles give plain numbers."""
    x = np.asarray(x)
    return x[()] if x.ndim == 0 else x


def _row_bad(c):
    """Boolean (...,): profiles holding a non-finite value."""
    return ~np.all(np.isfinite(c), axis=-1)


# ------------------------------------------------------------------------- metrics


def auc(t, c, t0=None, t1=None, *, method=LIN_UP_LOG_DOWN):
    """Area under the curve from ``t0`` to ``t1`` (CDISC ``AUCINT``), in conc·h.

    Parameters
    ----------
    t : array_like, shape (n_t,)
        Sample times, h, non-decreasing (a repeated time marks a jump).
    c : array_like, shape (..., n_t)
        Concentrations (any unit).
    t0, t1 : float or array_like, optional
        Window start and end, h, within ``[t[0], t[-1]]``; default the whole
        profile.  Arrays broadcast against each other, giving several windows.
    method : {"lin up/log down", "linear"}
        Trapezoid rule; see the module docstring.  Edges between samples are
        interpolated with the same rule.

    Returns
    -------
    ndarray, shape ``c.shape[:-1] + broadcast(t0, t1).shape``
        The exact integral of the interpolant over ``[t0, t1]`` (negative if
        ``t1 < t0``).
    """
    t, c = _check_profile(t, c)
    _check_method(method)
    t0 = _check_times_in_range("t0", t[0] if t0 is None else t0, t)
    t1 = _check_times_in_range("t1", t[-1] if t1 is None else t1, t)
    t0, t1 = np.broadcast_arrays(t0, t1)
    shape = t0.shape
    x = np.concatenate([t0.ravel(), t1.ravel()])
    t, c = _around(t, c, x.min(), x.max())
    log = _log_segments(c, method)
    cum = _cumulative_auc_at(t, c, log, x)
    m = t0.size
    out = cum[..., m:] - cum[..., :m]
    return _scalar(out.reshape(c.shape[:-1] + shape))


def auctau(t, c, tau, t_dose=None, *, method=LIN_UP_LOG_DOWN):
    """AUC over the dosing interval ``[t_dose, t_dose + tau]`` (CDISC ``AUCTAU``), conc·h.

    ``tau`` is the dosing interval in h (> 0); ``t_dose`` (h, scalar or 1-D
    array of dose times, default ``t[0]``) starts the interval.  Returns shape
    ``c.shape[:-1] + shape(t_dose)``.
    """
    t, c = _check_profile(t, c)
    tau = _check_tau(tau)
    t_dose = np.asarray(t[0] if t_dose is None else t_dose, dtype=float)
    return auc(t, c, t_dose, t_dose + tau, method=method)


def cavg(t, c, t0, t1, *, method=LIN_UP_LOG_DOWN):
    """Average concentration over ``[t0, t1]``: AUC(t0, t1) / (t1 - t0) (CDISC ``CAVG``).

    ``t0 < t1`` in h (scalars or broadcasting arrays); same unit as ``c``;
    shape ``c.shape[:-1] + broadcast(t0, t1).shape``.
    """
    t0 = np.asarray(t0, dtype=float)
    t1 = np.asarray(t1, dtype=float)
    if np.any(t1 <= t0):
        raise InputError("t1", "must be > t0 to average over the window", f"t0={t0}, t1={t1}")
    return _scalar(auc(t, c, t0, t1, method=method) / (t1 - t0))


def _check_tau(tau):
    try:
        tau = float(tau)
    except (TypeError, ValueError):
        raise InputError("tau", "must be a dosing interval in h", tau) from None
    if not (np.isfinite(tau) and tau > 0):
        raise InputError("tau", "must be > 0 h", tau)
    return tau


def _window_candidates(t, c, window, method):
    """Times (k,) and values (..., k) of the interpolant's candidate extrema on the window."""
    t0, t1 = _window(t, window)
    t, c = _around(t, c, t0, t1)
    log = _log_segments(c, method)
    v0 = _value_at(t, c, log, np.array([t0]), "right")
    v1 = _value_at(t, c, log, np.array([t1]), "left")
    inside = (t > t0) & (t < t1)
    times = np.concatenate([[t0], t[inside], [t1]])
    values = np.concatenate([v0, c[..., inside], v1], axis=-1)
    return times, values


def cmax(t, c, window=None, *, method=LIN_UP_LOG_DOWN):
    """Maximum concentration on ``window = (t0, t1)`` h (default the whole profile) (CDISC ``CMAX``).

    The maximum of the interpolant: over the samples strictly inside the window
    and the curve's limits at its edges (right limit at ``t0``, left limit at
    ``t1``; interpolated when an edge falls between samples).  Shape
    ``c.shape[:-1]``, unit of ``c``.
    """
    t, c = _check_profile(t, c)
    _check_method(method)
    _, values = _window_candidates(t, c, window, method)
    return _scalar(np.max(values, axis=-1))


def tmax(t, c, window=None, *, method=LIN_UP_LOG_DOWN):
    """Time of the first maximum on the window (CDISC ``TMAX``), h; shape ``c.shape[:-1]``.

    See :func:`cmax` for the window convention.  NaN for a profile that is not
    positive anywhere on the window, or holds NaN.
    """
    t, c = _check_profile(t, c)
    _check_method(method)
    times, values = _window_candidates(t, c, window, method)
    peak = np.max(values, axis=-1)
    out = times[np.argmax(values, axis=-1)]
    return _scalar(np.where(np.isfinite(peak) & (peak > 0), out, np.nan))


def cmin(t, c, window=None, *, method=LIN_UP_LOG_DOWN):
    """Minimum concentration on the window (CDISC ``CMIN``); shape ``c.shape[:-1]``.

    Same window convention as :func:`cmax`.
    """
    t, c = _check_profile(t, c)
    _check_method(method)
    _, values = _window_candidates(t, c, window, method)
    return _scalar(np.min(values, axis=-1))


def ctrough(t, c, t_end, *, method=LIN_UP_LOG_DOWN):
    """Trough concentration: the curve just before ``t_end`` (CDISC ``CTROUGH``).

    ``t_end`` (h, scalar or array) is the end of a dosing interval, i.e. the time
    of the next dose; the value is the limit from the left there (the pre-dose
    sample when ``t`` repeats the dose time), interpolated if ``t_end`` falls
    between samples.  Shape ``c.shape[:-1] + shape(t_end)``.
    """
    t, c = _check_profile(t, c)
    _check_method(method)
    t_end = _check_times_in_range("t_end", t_end, t)
    log = _log_segments(c, method)
    out = _value_at(t, c, log, t_end.ravel(), "left")
    return _scalar(out.reshape(c.shape[:-1] + t_end.shape))


def _last_positive_index(c):
    """Index (...,) of the last sample with c > 0, and whether there is one."""
    pos = c > 0
    has = np.any(pos, axis=-1)
    n = c.shape[-1]
    last = n - 1 - np.argmax(pos[..., ::-1], axis=-1)
    return last, has


def tlast(t, c):
    """Time of the last positive concentration (CDISC ``TLST``), h; NaN if none; shape ``c.shape[:-1]``."""
    t, c = _check_profile(t, c)
    last, has = _last_positive_index(c)
    return _scalar(np.where(has & ~_row_bad(c), t[last], np.nan))


def clast(t, c):
    """Last positive concentration (CDISC ``CLST``); NaN if none; shape ``c.shape[:-1]``."""
    t, c = _check_profile(t, c)
    last, has = _last_positive_index(c)
    val = np.take_along_axis(c, last[..., None], axis=-1)[..., 0]
    return _scalar(np.where(has & ~_row_bad(c), val, np.nan))


def auclast(t, c, *, method=LIN_UP_LOG_DOWN):
    """AUC from ``t[0]`` to ``TLST`` (CDISC ``AUCLST``), conc·h; 0 for a nowhere-positive profile.

    Shape ``c.shape[:-1]``.
    """
    t, c = _check_profile(t, c)
    _check_method(method)
    return _scalar(_auclast(t, c, _log_segments(c, method)))


def _auclast(t, c, log):
    cum = _cumulative_samples(t, c, log)
    last, has = _last_positive_index(c)
    val = np.take_along_axis(cum, last[..., None], axis=-1)[..., 0]
    out = np.where(has, val, 0.0)
    return np.where(_row_bad(c), np.nan, out)


def lambda_z(t, c, *, min_points=3, adj_r2_factor=1e-4, allow_tmax=False):
    """Terminal elimination rate by log-linear regression on the terminal phase.

    Points are chosen as PKNCA's ``pk.calc.half.life`` and WinNonlin's "best
    fit" do: only positive concentrations after Tmax (at Tmax too if
    ``allow_tmax``) are eligible; ``ln(c)`` is regressed on ``t`` over the last
    ``k`` eligible points for every ``k >= min_points``; among the fits with a
    negative slope whose adjusted R² is within ``adj_r2_factor`` of the best
    adjusted R² of all fits, the one with the most points wins.  Adjusted R² is
    ``1 - (1 - R²)(k - 1)/(k - 2)``.

    Parameters
    ----------
    t : array_like, shape (n_t,)
        Sample times, h.
    c : array_like, shape (..., n_t)
        Concentrations.
    min_points : int
        Fewest points in a fit (>= 3).
    adj_r2_factor : float
        Allowance on adjusted R² that lets a fit with more points win (>= 0).
    allow_tmax : bool
        Let the Tmax sample enter the regression.

    Returns
    -------
    dict of ndarray, each of shape ``c.shape[:-1]``
        ``LAMZ`` (1/h), ``LAMZHL`` (ln 2 / LAMZ, h), ``LAMZNPT`` (points used,
        float so it can be NaN), ``LAMZLL`` and ``LAMZUL`` (first and last time
        used, h), ``R2`` and ``R2ADJ``.  All NaN where no fit qualifies (too few
        points, no negative slope) or the profile holds NaN.
    """
    t, c = _check_profile(t, c)
    if int(min_points) != min_points or min_points < 3:
        raise InputError("min_points", "must be an integer >= 3", min_points)
    if not (np.isfinite(adj_r2_factor) and adj_r2_factor >= 0):
        raise InputError("adj_r2_factor", "must be >= 0", adj_r2_factor)
    lead = c.shape[:-1]
    n = t.size
    cc = c.reshape(-1, n)
    keys = ("LAMZ", "LAMZHL", "LAMZNPT", "LAMZLL", "LAMZUL", "R2", "R2ADJ")
    out = {key: np.empty(cc.shape[0]) for key in keys}
    step = max(1, _CHUNK_ELEMENTS // n)  # bounded temporaries for long dense profiles
    for lo in range(0, cc.shape[0], step):
        part = _lambda_z_rows(t, cc[lo:lo + step], min_points, adj_r2_factor, allow_tmax)
        for key in keys:
            out[key][lo:lo + step] = part[key]
    return {key: _scalar(val.reshape(lead)) for key, val in out.items()}


def _lambda_z_rows(t, cc, min_points, adj_r2_factor, allow_tmax):
    """:func:`lambda_z` on a 2-D block of profiles ``cc`` (rows, n_t)."""
    bad = _row_bad(cc)
    finite = np.where(np.isfinite(cc), cc, -np.inf)
    imax = np.argmax(finite, axis=-1)
    t_peak = t[imax][:, None]
    after = (t[None, :] >= t_peak) if allow_tmax else (t[None, :] > t_peak)
    elig = (cc > 0) & after
    with np.errstate(divide="ignore", invalid="ignore"):
        # Centre both axes near the last point so the sums below lose no precision.
        last, has = _last_positive_index(np.where(elig, cc, 0.0))
        c_ref = np.where(has, np.take_along_axis(cc, last[:, None], axis=-1)[:, 0], 1.0)
        x = np.where(elig, t[None, :] - t[-1], 0.0)
        y = np.where(elig, np.log(np.where(elig, cc, 1.0) / c_ref[:, None]), 0.0)

        def rsum(a):
            return np.flip(np.cumsum(np.flip(a, -1), -1), -1)

        k = rsum(elig.astype(float))
        sx, sy = rsum(x), rsum(y)
        sxx = rsum(x * x) - sx * sx / k
        sxy = rsum(x * y) - sx * sy / k
        syy = rsum(y * y) - sy * sy / k
        slope = sxy / sxx
        r2 = sxy * sxy / (sxx * syy)
        r2adj = 1.0 - (1.0 - r2) * (k - 1.0) / (k - 2.0)
    cand = elig & (k >= min_points) & (sxx > 0)
    score = np.where(cand & np.isfinite(r2adj), r2adj, -np.inf)
    best = np.max(score, axis=-1, keepdims=True)
    ok = cand & (slope < 0) & (score > best - adj_r2_factor)
    found = np.any(ok, axis=-1) & ~bad
    j = np.argmax(ok, axis=-1)  # first qualifying start = most points

    def pick(a):
        return np.where(found, np.take_along_axis(a, j[:, None], axis=-1)[:, 0], np.nan)

    lamz = -pick(slope)
    out = {
        "LAMZ": lamz,
        "LAMZHL": np.log(2.0) / lamz,
        "LAMZNPT": pick(k),
        "LAMZLL": np.where(found, t[j], np.nan),
        "LAMZUL": np.where(found, t[last], np.nan),
        "R2": pick(r2),
        "R2ADJ": pick(r2adj),
    }
    return out


def aucinf_obs(t, c, *, method=LIN_UP_LOG_DOWN, min_points=3, adj_r2_factor=1e-4, allow_tmax=False):
    """AUC from ``t[0]`` to infinity from the observed Clast (CDISC ``AUCIFO``), conc·h.

    ``AUCLST + CLST / LAMZ``; NaN where lambda-z cannot be estimated (see
    :func:`lambda_z` for the point selection options).  Shape ``c.shape[:-1]``.
    """
    t, c = _check_profile(t, c)
    _check_method(method)
    lz = lambda_z(t, c, min_points=min_points, adj_r2_factor=adj_r2_factor, allow_tmax=allow_tmax)
    return _scalar(_auclast(t, c, _log_segments(c, method)) + clast(t, c) / lz["LAMZ"])


def _n_intervals(t, first_dose, tau):
    return int(np.floor((t[-1] - first_dose) / tau * (1 + _INTERVAL_SLACK) + _INTERVAL_SLACK))


def _first_dose(t, first_dose):
    if first_dose is None:
        return float(t[0])
    return float(_check_times_in_range("first_dose", first_dose, t))


def accumulation_ratio(t, c, tau, *, first_dose=None, ss_dose=None, method=LIN_UP_LOG_DOWN):
    """Accumulation ratio AUCTAU(steady state) / AUCTAU(first interval) (CDISC ``RAAUC``).

    Parameters
    ----------
    t, c : array_like, shapes (n_t,) and (..., n_t)
        Profile over repeated doses every ``tau`` h, starting at ``first_dose``.
    tau : float
        Dosing interval, h.
    first_dose : float, optional
        Time of the first dose, h (default ``t[0]``).
    ss_dose : float, optional
        Start of the steady-state interval, h (default: the last complete
        dosing interval in the profile).  The caller is responsible for the
        profile having reached steady state there.

    Returns
    -------
    ndarray, shape ``c.shape[:-1]`` (dimensionless).  For linear 1-compartment
    kinetics with elimination rate k this is ``1 / (1 - exp(-k tau))``.
    """
    t, c = _check_profile(t, c)
    tau = _check_tau(tau)
    t_first = _first_dose(t, first_dose)
    if ss_dose is None:
        n_int = _n_intervals(t, t_first, tau)
        if n_int < 2:
            raise InputError("t", f"must cover at least 2 dosing intervals of {tau:g} h after the first dose",
                             f"{(t[-1] - t_first) / tau:.3g} intervals")
        ss_dose = t_first + (n_int - 1) * tau
    else:
        ss_dose = float(_check_times_in_range("ss_dose", ss_dose, t))
        if ss_dose + tau > t[-1] * (1 + _INTERVAL_SLACK) + _INTERVAL_SLACK:
            raise InputError("ss_dose", f"its interval must end by the last time {t[-1]:g} h", ss_dose)
    ss_end = min(ss_dose + tau, t[-1])
    first_end = min(t_first + tau, t[-1])
    both = auc(t, c, np.array([t_first, ss_dose]), np.array([first_end, ss_end]), method=method)
    with np.errstate(divide="ignore", invalid="ignore"):
        return _scalar(both[..., 1] / both[..., 0])


def time_to_steady_state(t, c, tau, *, first_dose=None, fraction=0.9, ss_trough=None, method=LIN_UP_LOG_DOWN):
    """Time to steady state (``TSS``), h after the first dose, judged on troughs.

    The troughs ``C_k = CTROUGH(first_dose + k·tau)``, k = 1 .. K (K complete
    intervals in the profile), are compared with the steady-state trough
    ``C_ss`` (``ss_trough`` if given, else the last trough ``C_K``).  The result
    is ``k·tau`` for the first k from which every later trough is within
    ``(1 - fraction)·|C_ss|`` of ``C_ss`` (with ``fraction = 0.9``: within 10%,
    i.e. at least 90% of C_ss while accumulating), so ``k`` is the number of
    doses given before the profile counts as at steady state.

    Parameters
    ----------
    t, c : array_like, shapes (n_t,) and (..., n_t)
        Profile over repeated doses every ``tau`` h.
    tau : float
        Dosing interval, h.
    first_dose : float, optional
        Time of the first dose, h (default ``t[0]``).
    fraction : float in (0, 1)
        Closeness required, as a fraction of the steady-state trough.
    ss_trough : float or array_like broadcasting to ``c.shape[:-1]``, optional
        Known steady-state trough (e.g. from a closed form).

    Returns
    -------
    ndarray, shape ``c.shape[:-1]``, h; NaN if the troughs never settle (only
    possible with ``ss_trough`` given) or the profile holds NaN.  For a
    1-compartment bolus, ``C_k / C_ss = 1 - exp(-k·ke·tau)`` so
    ``TSS = tau·ceil(ln(1/(1 - fraction)) / (ke·tau))``.
    """
    t, c = _check_profile(t, c)
    tau = _check_tau(tau)
    if not (0 < fraction < 1):
        raise InputError("fraction", "must be in (0, 1)", fraction)
    t_first = _first_dose(t, first_dose)
    n_int = _n_intervals(t, t_first, tau)
    if n_int < 1:
        raise InputError("t", f"must cover at least 1 dosing interval of {tau:g} h after the first dose",
                         f"{(t[-1] - t_first) / tau:.3g} intervals")
    ends = np.minimum(t_first + tau * np.arange(1, n_int + 1), t[-1])
    troughs = ctrough(t, c, ends, method=method)  # (..., K)
    if ss_trough is None:
        ref = troughs[..., -1:]
    else:
        ref = np.broadcast_to(np.asarray(ss_trough, dtype=float), c.shape[:-1])[..., None]
    within = np.abs(troughs - ref) <= (1.0 - fraction) * np.abs(ref)
    settled = np.flip(np.logical_and.accumulate(np.flip(within, -1), axis=-1), -1)
    has = np.any(settled, axis=-1) & ~_row_bad(c)
    k = np.argmax(settled, axis=-1) + 1
    return _scalar(np.where(has, k * tau, np.nan))


def nca(t, c, tau=None, window=None, *, method=LIN_UP_LOG_DOWN, min_points=3, adj_r2_factor=1e-4,
        allow_tmax=False):
    """All NCA metrics of a profile (or a dosing interval of it) in one dict.

    Parameters
    ----------
    t : array_like, shape (n_t,)
        Sample times, h, non-decreasing (repeat a time for a jump).
    c : array_like, shape (..., n_t)
        Concentrations (any unit; AUCs come out in that unit·h).
    tau : float, optional
        Dosing interval, h.  When given, the window is one dosing interval
        (default ``(t[0], t[0] + tau)``) and ``AUCTAU`` and ``CTROUGH`` are
        added.
    window : (float, float), optional
        ``(t0, t1)`` in h restricting every metric; default the whole profile,
        or the first dosing interval when ``tau`` is given.  With both,
        ``t1 - t0`` must equal ``tau``.
    method, min_points, adj_r2_factor, allow_tmax
        AUC rule and lambda-z options (see :func:`auc`, :func:`lambda_z`).

    Returns
    -------
    dict of str -> ndarray, each of shape ``c.shape[:-1]``
        ``CMAX``, ``TMAX`` (h), ``CMIN`` on the window; ``AUCINT`` (the whole
        window) and ``CAVG`` (= AUCINT / window length); ``TLST``, ``CLST`` (last
        positive sample in the window), ``AUCLST`` (window start to TLST);
        ``LAMZ`` (1/h), ``LAMZHL`` (h), ``LAMZNPT``, ``LAMZLL``, ``LAMZUL``, ``R2``,
        ``R2ADJ`` from the samples in the window; ``AUCIFO`` (AUCLST +
        CLST/LAMZ) and ``AUCPEO`` (% of AUCIFO extrapolated); with ``tau``
        also ``AUCTAU`` (= AUCINT) and ``CTROUGH`` (left limit at the window
        end).

    Examples
    --------
    IV bolus, C = 10·exp(-0.1·t) mg/L, sampled every 2 h over a day:

    >>> import numpy as np
    >>> t = np.arange(0.0, 25.0, 2.0)
    >>> r = nca(t, 10.0 * np.exp(-0.1 * t))
    >>> round(float(r["LAMZHL"]), 4), int(r["LAMZNPT"]), round(float(r["AUCIFO"]), 4)
    (6.9315, 12, 100.0)
    """
    t, c = _check_profile(t, c)
    _check_method(method)
    if tau is not None:
        tau = _check_tau(tau)
        if window is None:
            window = (t[0], t[0] + tau)
    t0, t1 = _window(t, window)
    if tau is not None and not np.isclose(t1 - t0, tau, rtol=1e-9, atol=0):
        raise InputError("window", f"must span one dosing interval tau = {tau:g} h", f"({t0:g}, {t1:g})")
    log = _log_segments(c, method)
    out = {}
    times, values = _window_candidates(t, c, (t0, t1), method)
    peak = np.max(values, axis=-1)
    out["CMAX"] = peak
    out["TMAX"] = np.where(np.isfinite(peak) & (peak > 0), times[np.argmax(values, axis=-1)], np.nan)
    out["CMIN"] = np.min(values, axis=-1)
    cum_samples = _cumulative_samples(t, c, log)
    cum = _cumulative_auc_at(t, c, log, np.array([t0, t1]), cum_samples)
    out["AUCINT"] = cum[..., 1] - cum[..., 0]
    out["CAVG"] = out["AUCINT"] / (t1 - t0)
    # Samples inside the closed window, for TLST/CLST/AUCLST and lambda-z.
    inside = (t >= t0) & (t <= t1)
    tw, cw = t[inside], c[..., inside]
    if tw.size >= 2 and tw[-1] > tw[0]:
        out["TLST"] = tlast(tw, cw)
        out["CLST"] = clast(tw, cw)
        last, has = _last_positive_index(cw)
        # TLST is a sample time, so AUC(t[0], TLST) is the cumulative sum up to its sample.
        idx = np.flatnonzero(inside)[last]
        to_tlast = np.take_along_axis(cum_samples, idx[..., None], axis=-1)[..., 0]
        out["AUCLST"] = np.where(has, to_tlast - cum[..., 0], 0.0)
        lz = lambda_z(tw, cw, min_points=min_points, adj_r2_factor=adj_r2_factor, allow_tmax=allow_tmax)
    else:
        nan = np.full(c.shape[:-1], np.nan)
        out["TLST"], out["CLST"], out["AUCLST"] = nan, nan.copy(), nan.copy()
        lz = {key: nan.copy() for key in ("LAMZ", "LAMZHL", "LAMZNPT", "LAMZLL", "LAMZUL", "R2", "R2ADJ")}
    out.update(lz)
    with np.errstate(divide="ignore", invalid="ignore"):
        extrap = out["CLST"] / out["LAMZ"]
        out["AUCIFO"] = out["AUCLST"] + extrap
        out["AUCPEO"] = 100.0 * extrap / out["AUCIFO"]
    if tau is not None:
        out["AUCTAU"] = out["AUCINT"].copy()
        out["CTROUGH"] = _value_at(t, c, log, np.array([t1]), "left")[..., 0]
    bad = _row_bad(c)
    if np.any(bad):
        for key in out:
            out[key] = np.where(bad, np.nan, out[key])
    return {key: _scalar(val) for key, val in out.items()}
