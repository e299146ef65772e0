"""Between-patient variability of tumour growth, drug sensitivity and baseline lesion size.

The PK variability of each drug lives with its population model
(:mod:`pkpd.population`).  This module adds what a virtual *trial* needs on top of it:
patients' tumours grow at different rates, respond differently to the same
signal deficit, their pathways are inhibited to different extents by the same
free concentrations, and their target lesions have different sizes.

Every distribution is log-normal around the parameter's typical value (the
SYSTEM value, or the scenario's override of it), i.e. a **multiplicative factor**::

    value_i = typical * f_i,   f_i = m * exp(omega * z_i),   omega**2 = ln(1 + CV**2),

with ``m`` the median of the factor (1 unless the calibration moved it, see
``median_factor``), ``CV`` the coefficient of variation of the log-normal and
``z_i`` a standard normal of patient ``i``.  A distribution may be truncated
below and/or above at absolute values (the baseline lesion must be measurable,
>= 10 mm; a fraction cannot exceed 1): then ``z_i`` is drawn from the standard
normal truncated at the matching points ``a < b`` by inverting the CDF
(``z = Phi^-1(Phi(a) + u (Phi(b) - Phi(a)))`` with ``u = Phi(z_i)``), so every
patient still uses exactly one normal draw.

The factors are independent between parameters (no correlation is known).
``tumor.f_R`` is a fraction of the baseline lesion (the drug-resistant subclone
of :mod:`pkpd.models.tumor`); its log-normal is truncated at 1.

Reproducibility
---------------
Patient ``i`` draws the factor of parameter ``path`` from its own stream,
``pkpd.population.patient_rng(seed, i, stream=crc32("variability:" + path))``, one
standard normal per parameter.  Nothing depends on which other patients are
drawn in the same call, nor on the order or number of parameters: sampling
patients ``0..N-1`` at once gives bitwise the same factors as any split of them
into blocks (``start``), on any number of workers.

The distributions (:data:`DISTRIBUTIONS`; ``python -m pkpd.variability`` prints them)
----------------------------------------------------------------------------------
=====================  ==========  =====  ==============================================================
path                   median      CV     source
=====================  ==========  =====  ==============================================================
``tumor.lambda0``      x 2.7       70%    growth: median calibrated so that the EGFR-targeted arm's median
                       (0.0216/d)         time to progression is ~2 months (TBCRC 001, clinical.md); volume
                                          doubling time 32 d, faster than primary TNBC (69-103 d); CV
                                          within the 50-80% of biology.md §3.4 (assumed)
``tumor.K_max``        x 2.7       100%   kill per signal deficit: median calibrated to the EGFR-targeted
                       (0.135/d)          ORR of 6% (TBCRC 001, 2/31); CV assumed (not identified: any CV
                                          of 50-150% fits once the median is refitted); ruxolitinib ORR
                                          ~0% (Stover 2018) checked
``tumor.f_R``          x 1.6       300%   baseline fraction of the drug-resistant subclone (acquired
                       (0.016)            resistance): median calibrated to an ASSUMED median duration of
                                          response of 7.4 months in the EGFR-targeted arm (no TNBC DoR
                                          figure in clinical.md or biology.md); CV a GUESS (subclone
                                          sizes vary over orders of magnitude); truncated at 1
``signaling.KI``       x 1         100%   neratinib potency in the tumour: assumed; wide, as EGFR-pathway
                       (2 nM)             inhibition was heterogeneous in TBCRC 001 biopsies (5/16)
``signaling.IC50_rux`` x 1         50%    ruxolitinib potency in the tumour: assumed
                       (8.46 nM)
``signaling.F_fb``     x 1 (4)     50%    strength of the compensatory IL-6 loop: assumed
``tumor.D0``           x 1 (30 mm) 40%    baseline longest diameter of the chest-wall target lesion:
                                          assumed; truncated at 10 mm (RECIST measurable by caliper)
=====================  ==========  =====  ==============================================================

(The table is the documentation; :data:`DISTRIBUTIONS` holds the numbers and is
checked against it by the tests.)  ``scripts/calibrate_virtual_trial.py``
reproduces the calibrated medians; ``docs/virtual_trial.md`` says which
clinical figures were used and which were not.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri

from pkpd.errors import InputError
from pkpd.population import patient_rng

__all__ = ["Distribution", "DISTRIBUTIONS", "sample_tumor_parameters", "apply_variability", "stream_of",
           "describe"]


@dataclass(frozen=True)
class Distribution:
    """Log-normal between-patient distribution of one SYSTEM parameter (a multiplicative factor).

    Attributes
    ----------
    path : str
        Scenario path of the parameter (``tumor.lambda0``).
    cv : float
        Coefficient of variation of the log-normal, fraction (``omega² = ln(1 + cv²)``).
    median_factor : float
        Median of the factor: the population median is ``median_factor`` x the typical value.
    lower, upper : float or None
        Absolute lower / upper bound of the value, in the parameter's unit (truncation); None = none.
    role : str
        ``growth``, ``sensitivity``, ``resistance`` or ``baseline size``.
    description, source : str
    assumed : bool
        True where the number is a guess rather than a measured or fitted figure.
    calibrated : bool
        True where ``median_factor`` / ``cv`` were chosen by the virtual-trial calibration.
    """

    path: str
    cv: float
    median_factor: float = 1.0
    lower: float | None = None
    upper: float | None = None
    role: str = ""
    description: str = ""
    source: str = ""
    assumed: bool = True
    calibrated: bool = False

    @property
    def omega(self) -> float:
        """SD of log(factor)."""
        return float(np.sqrt(np.log1p(self.cv ** 2)))


#: The distributions, in the order of the table in the module docstring.
DISTRIBUTIONS: tuple[Distribution, ...] = (
    Distribution(
        "tumor.lambda0", cv=0.70, median_factor=2.7, role="growth",
        description="exponential growth rate of the untreated lesion",
        source="median calibrated (scripts/calibrate_virtual_trial.py) so that 45% of the EGFR-targeted "
               "(neratinib) arm is progression-free at the first 8-weekly scan, i.e. a median time to progression "
               "at the first scan (1.84 months) for TBCRC 001's 2.1 months (95% CI 1.8-5.5; clinical.md); gives a "
               "median volume doubling time of 32 d, faster than primary TNBC (69-103 d, biology.md §3.4), as "
               "the clinical figure demands of refractory metastatic disease; CV 70% from the 50-80% range of "
               "biology.md §3.4 (GUESS)",
        assumed=True, calibrated=True),
    Distribution(
        "tumor.K_max", cv=1.00, median_factor=2.7, role="sensitivity",
        description="maximal damage (kill) rate per signal deficit: how strongly a tumour dies when the "
                    "proliferation/survival signal falls (apoptotic priming)",
        source="median calibrated (scripts/calibrate_virtual_trial.py) to the EGFR-targeted monotherapy ORR "
               "of 6% (TBCRC 001, cetuximab, 2/31; clinical.md); ruxolitinib monotherapy ORR ~0% (Stover 2018) "
               "is met, not fitted; CV 100% assumed: the two ORRs do not identify it (CV 50-150% all fit once "
               "the median is refitted, and change the combination's predicted ORR, docs/virtual_trial.md)",
        assumed=True, calibrated=True),
    Distribution(
        "tumor.f_R", cv=3.00, median_factor=1.6, upper=1.0, role="resistance",
        description="fraction of the baseline lesion that is a drug-resistant subclone (grows whatever the "
                    "signal; sets when a responding lesion regrows)",
        source="median calibrated (scripts/calibrate_virtual_trial.py) so that the EGFR-targeted (neratinib) "
               "arm's Kaplan-Meier median duration of response is 7.36 months (4 scan intervals): an ASSUMED "
               "target, as clinical.md and biology.md give no DoR for TNBC (responses to single agents in "
               "pretreated metastatic TNBC last some months); typical value 0.01 x 1.6 = 0.016; CV 300% a GUESS (a "
               "subclone's share varies over orders of magnitude between tumours); truncated at 1 (a fraction)",
        assumed=True, calibrated=True),
    Distribution(
        "signaling.KI", cv=1.00, role="sensitivity",
        description="neratinib potency in the tumour (Kitz-Wilson KI): EGFR dependence, expression and drug "
                    "penetration differ between tumours",
        source="GUESS: wide, as EGFR-pathway inhibition after EGFR-targeted therapy was heterogeneous in "
               "TBCRC 001 biopsies (inhibited in 5 of 16); not fitted", assumed=True),
    Distribution(
        "signaling.IC50_rux", cv=0.50, role="sensitivity",
        description="ruxolitinib potency in the tumour (free IC50 of JAK output)",
        source="GUESS (pkpd): moderate, as for an in-vitro potency transferred between tumours", assumed=True),
    Distribution(
        "signaling.F_fb", cv=0.50, role="sensitivity",
        description="strength of the compensatory IL-6/JAK/STAT3 loop that EGFR inhibition releases",
        source="GUESS (pkpd); the loop's strength is the model's key uncertainty (biology.md §6.4-6.6), and "
               "TBCRC 039 saw IL-6/JAK/STAT3 up-regulation vary between tumours", assumed=True),
    Distribution(
        "tumor.D0", cv=0.40, lower=10.0, role="baseline size",
        description="baseline longest diameter of the single target lesion (chest wall), mm",
        source="GUESS: median = the typical 30 mm of pkpd.system; CV 40%; truncated at 10 mm, the smallest "
               "measurable superficial lesion by caliper (RECIST 1.1)", assumed=True),
)


def stream_of(path: str) -> int:
    """Random-stream key of parameter ``path``: CRC-32 of ``"variability:" + path``."""
    return zlib.crc32(("variability:" + path).encode("utf-8"))


def _typical(path: str) -> float:
    from pkpd.system import PATHS, SYSTEM
    return float(SYSTEM.parameters[PATHS[path]].value)


def _check_int(value, name, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InputError(name, f"must be an integer >= {minimum}", repr(value))
    return int(value)


def sample_tumor_parameters(n: int, seed: int, start: int = 0, *, typical: dict | None = None,
                            distributions: tuple[Distribution, ...] = DISTRIBUTIONS) -> dict[str, np.ndarray]:
    """Multiplicative factors of patients ``start .. start+n-1`` for every distributed parameter.

    Parameters
    ----------
    n : int >= 1
        Number of patients.
    seed : int >= 0
        Scenario seed.
    start : int >= 0
        Global index of the first patient (blocks of a population give bitwise the same factors).
    typical : dict, optional
        ``{path: typical value}`` used to turn absolute lower bounds into bounds on the factor;
        default the SYSTEM typical values.
    distributions : tuple of Distribution
        Default :data:`DISTRIBUTIONS` (the calibration script passes variants).

    Returns
    -------
    dict ``{path: ndarray (n,)}``: the factor each patient's typical value is multiplied by
    (dimensionless, > 0).  The median factor is ``Distribution.median_factor``.

    Examples
    --------
    >>> f = sample_tumor_parameters(4, seed=1)
    >>> sorted(f)[:2], f["tumor.lambda0"].shape
    (['signaling.F_fb', 'signaling.IC50_rux'], (4,))
    >>> bool((sample_tumor_parameters(2, 1, start=2)["tumor.K_max"] == f["tumor.K_max"][2:]).all())
    True
    """
    n = _check_int(n, "n", 1)
    seed = _check_int(seed, "seed", 0)
    start = _check_int(start, "start", 0)
    out = {}
    for d in distributions:
        z = np.empty(n)
        for r in range(n):
            z[r] = patient_rng(seed, start + r, stream_of(d.path)).standard_normal()
        log_m = np.log(d.median_factor)
        if d.lower is not None or d.upper is not None:
            tv = (typical or {}).get(d.path, None)
            tv = _typical(d.path) if tv is None else float(tv)
            # truncation points a < b of z: tv * m * exp(omega a) = lower, tv * m * exp(omega b) = upper
            pa, pb = 0.0, 1.0
            if d.omega > 0 and d.lower is not None:
                pa = float(ndtr((np.log(d.lower / tv) - log_m) / d.omega))
            if d.omega > 0 and d.upper is not None:
                pb = float(ndtr((np.log(d.upper / tv) - log_m) / d.omega))
            if not pb > pa:
                raise InputError(d.path, f"typical value {tv:g} x median {d.median_factor:g} leaves no room "
                                 f"between the bounds {d.lower} and {d.upper}", show_value=False)
            z = ndtri(pa + ndtr(z) * (pb - pa))
        out[d.path] = np.exp(log_m + d.omega * z)
    return out


def apply_variability(P: np.ndarray, seed: int, *, start: int = 0, variability: bool = True,
                      distributions: tuple[Distribution, ...] = DISTRIBUTIONS) -> np.ndarray:
    """Multiply the columns of the parameter matrix ``P`` (n_patients, n_parameters) by each patient's factors.

    ``P`` holds typical values (with scenario overrides) times the PK variability, as
    :func:`pkpd.runner._patient_parameters` builds it; row ``r`` is patient ``start + r``.
    Modified in place and returned.  ``variability=False`` leaves ``P`` unchanged (typical patients).
    """
    from pkpd.system import PATHS

    P = np.asarray(P)
    if P.ndim != 2:
        raise InputError("P", "must be a (n_patients, n_parameters) matrix", f"shape {P.shape}")
    if not variability:
        return P
    typical = {d.path: float(P[0, PATHS[d.path]]) for d in distributions}
    # the typical value of a truncated parameter must be the same in every row (no PK eta acts on it)
    factors = sample_tumor_parameters(P.shape[0], seed, start, typical=typical, distributions=distributions)
    for path, f in factors.items():
        P[:, PATHS[path]] *= f
    return P


def describe(distributions: tuple[Distribution, ...] = DISTRIBUTIONS) -> str:
    """A plain-text table of the distributions: path, median, CV, bound, source."""
    lines = []
    for d in distributions:
        tv = _typical(d.path)
        bound = (f", >= {d.lower:g}" if d.lower is not None else "") + (f", <= {d.upper:g}" if d.upper is not None
                                                                        else "")
        tag = "calibrated" if d.calibrated else ("assumed" if d.assumed else "")
        lines.append(f"{d.path}: median {d.median_factor:g} x {tv:.4g} = {d.median_factor * tv:.4g}, "
                     f"CV {100 * d.cv:.0f}%{bound} [{tag}] - {d.source}")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    print(describe())
