"""Tumour growth driven by the proliferation/survival signal P of the signalling network.

Two growth laws share one drug-effect structure (Simeoni et al. 2004):

* **Simeoni** (default): exponential growth at rate ``lambda0`` that switches
  to linear growth at ``lambda1`` (mm³/h) once the tumour is large,
  with the switch sharpness ``psi = 20``::

      growth = G(P) * lambda0 * X1 / (1 + (lambda0/lambda1 * W)**psi)**(1/psi)

* **Gompertz** (alternative): ``growth = G(P) * alpha * X1 * log(Vmax/W)``.

Drug effect, through the signal ``P`` (1 = untreated, from
:mod:`pkpd.signaling.egfr_jak_stat3`):

* cytostatic: growth is scaled by ``G(P) = max(P, 0)**gamma``;
* cytotoxic: when P falls below 1, proliferating cells are damaged at rate
  ``K(P) = K_max * d**n_K / (IC50_K**n_K + d**n_K)`` with ``d = max(0, 1 - P)``
  and pass through three damaged compartments at rate ``k1`` before dying
  (mean time from damage to death ``3/k1``)::

      dX1/dt = growth - K(P)*X1
      dX2/dt = K(P)*X1 - k1*X2
      dX3/dt = k1*(X2 - X3)
      dX4/dt = k1*(X3 - X4)          (X4 dies and leaves at rate k1)
      dXR/dt = growth_R               (drug-resistant subclone, below)
      W      = X1 + X2 + X3 + X4 + XR (measured volume, mm³)

Acquired resistance: a drug-resistant subclone
----------------------------------------------
A fraction ``f_R`` of the baseline lesion (``XR(0) = f_R * W(0)``, ``X1(0) = (1 - f_R) * W(0)``)
is a subclone whose proliferation and survival no longer depend on the
EGFR/JAK-STAT3 signal P (e.g. a clone with a bypass pathway, or one that never
depended on EGFR).  The adaptive IL-6/JAK/STAT3 feedback (biology.md §2, Lee
2014) is already in the network; this *pre-existing, signal-independent*
subclone is an assumption of pkpd (GUESS: no TNBC measurement of its size).
It grows with the same growth law and rate as the untreated tumour, in the
same space (the Simeoni switch and the Gompertz plateau read the total volume
W), and is not damaged::

      growth_R = lambda0 * XR / (1 + (lambda0/lambda1 * W)**psi)**(1/psi)   (Simeoni)
      growth_R = alpha * XR * log(Vmax/W)                                   (Gompertz)

Under treatment the sensitive cells shrink and the subclone keeps growing
exponentially, so a responding lesion reaches a nadir and regrows: RECIST
progression after a response (a finite duration of response).  Being a state,
the subclone behaves consistently under treatment holidays, lead-ins and dose
changes (it neither decays with time on treatment, as a Claret ``exp(-lambda t)``
term would even during a holiday, nor depends on when dosing started).  ``f_R``
is not a kernel parameter: it only sets the initial state (:func:`initial_state`;
in the coupled system the parameter ``tumor.f_R``, with a between-patient
distribution in :mod:`pkpd.variability`).

Volumes are in mm³ and time in h.  The lesion is a sphere for RECIST: longest
diameter ``d = (6 W / pi)**(1/3)`` mm (:func:`sphere_diameter`).

Kernels (Numba): :func:`tumor_rhs` and :func:`gompertz_rhs` are block kernels
``(t, y, p, P_signal, dydt)`` for composition with the signalling block;
:data:`TUMOR_SIMEONI` and :data:`TUMOR_GOMPERTZ` are standalone
:class:`~pkpd.models.spec.ModelSpec` objects with ``P`` as their last parameter.  The
tumour alone under a periodic ``P(t)`` (:mod:`pkpd.periodic`) is a kernel generated from the
composed model (``tail_rhs``), no longer written here.

References
----------
Simeoni M, Magni P, Cammia C et al. Predictive pharmacokinetic-pharmacodynamic modeling of tumor growth
kinetics in xenograft models after administration of anticancer agents. Cancer Res 2004;64:1094–1101.
Ryu EB et al. Tumour volume doubling time of molecular breast cancer subtypes assessed by serial breast
ultrasound. Eur Radiol 2014;24:2227 (TNBC TVDT 103 d).
Lee SH et al. Growth rate of breast cancer during the wait for surgery (2016) (TNBC 1.003 %/day, TVDT 69 d).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from pkpd.models._math import real_pow
from pkpd.models.spec import ModelSpec, Output, Parameter, State

__all__ = [
    "TUMOR_SIMEONI", "TUMOR_GOMPERTZ", "SIMEONI_PARAMETERS", "GOMPERTZ_PARAMETERS", "STATES",
    "tumor_rhs", "gompertz_rhs", "kill_rate", "sphere_diameter", "sphere_volume", "initial_state",
    "LAMBDA0_PER_DAY", "TVDT_DAYS", "V_REF_MM3", "F_R_TYPICAL", "F_R_PARAMETER", "N_STATES",
]

DAY = 24.0  # h

#: TNBC growth rate (per day): middle of the published TVDT range 69–103 days (biology.md §3.4).
LAMBDA0_PER_DAY = 0.008
TVDT_DAYS = np.log(2.0) / LAMBDA0_PER_DAY  # 86.6 days
#: Reference lesion: a sphere of 20 mm diameter (a typical measurable target lesion; GUESS).
V_REF_MM3 = np.pi / 6.0 * 20.0 ** 3
#: Gompertz plateau volume (GUESS): 1e6 mm³ = 1 L, a 124 mm sphere.
VMAX_MM3 = 1.0e6
#: Typical fraction of the baseline lesion that is the drug-resistant subclone (GUESS, see F_R_PARAMETER).
F_R_TYPICAL = 0.01


# Below z = 1/8 with psi >= 18, z**psi <= 2**-54 and 1 + z**psi == 1.0 in float64 (exactly).
_Z_EXPONENTIAL = 0.125
_PSI_MIN_EXPONENTIAL = 18.0


def sphere_diameter(volume_mm3):
    """Longest diameter (mm) of a sphere of volume ``volume_mm3`` (mm³): ``(6 V / pi)**(1/3)``."""
    return np.cbrt(6.0 * np.asarray(volume_mm3, dtype=np.float64) / np.pi)


def sphere_volume(diameter_mm):
    """Volume (mm³) of a sphere of diameter ``diameter_mm`` (mm): ``pi d³ / 6``."""
    return np.pi / 6.0 * np.asarray(diameter_mm, dtype=np.float64) ** 3


def initial_state(diameter_mm: float = 20.0, f_R: float = F_R_TYPICAL) -> np.ndarray:
    """Untreated lesion of the given diameter (mm), a fraction ``f_R`` of it resistant: shape (5,), mm³.

    ``[(1 - f_R) V, 0, 0, 0, f_R V]`` with ``V = pi d³ / 6``; ``f_R`` in [0, 1].
    """
    f_R = float(f_R)
    if not 0.0 <= f_R <= 1.0:
        raise ValueError(f"f_R must be in [0, 1], got {f_R}")
    v = float(sphere_volume(diameter_mm))
    return np.array([(1.0 - f_R) * v, 0.0, 0.0, 0.0, f_R * v])


STATES = (
    State("X1", "mm^3", "proliferating tumour cells, signal-dependent (volume)",
          initial=float((1.0 - F_R_TYPICAL) * V_REF_MM3)),
    State("X2", "mm^3", "damaged cells, first transit compartment", initial=0.0),
    State("X3", "mm^3", "damaged cells, second transit compartment", initial=0.0),
    State("X4", "mm^3", "damaged cells, third transit compartment (die at rate k1)", initial=0.0),
    State("XR", "mm^3", "drug-resistant subclone: grows like the untreated tumour whatever the signal P",
          initial=float(F_R_TYPICAL * V_REF_MM3)),
)
N_STATES = len(STATES)  # 5

#: The resistant fraction at baseline.  Not a kernel parameter (it sets the initial state); the coupled
#: system carries it as ``tumor.f_R`` next to ``tumor.D0``.
F_R_PARAMETER = Parameter(
    "f_R", F_R_TYPICAL, "1", "fraction of the baseline lesion volume that is a drug-resistant subclone "
    "(insensitive to the proliferation signal P); sets XR(0) = f_R W(0)",
    "GUESS (pkpd): no measurement in TNBC; 1% is a round typical value, the population median and spread are "
    "set in pkpd.variability (median calibrated to an assumed duration of response, docs/virtual_trial.md)",
    assumed=True, lower=0.0, upper=1.0)

_TVDT = (f"TNBC tumour volume doubling time 69–103 d (Lee 2016: 1.003 %/day; Ryu 2014: 103 d) [retrieved via "
         f"secondary summary, biology.md §3.4] gives 0.0067–0.010 /day; {LAMBDA0_PER_DAY}/day "
         f"(TVDT {TVDT_DAYS:.1f} d) is the middle of that range (biology.md §6.4)")

_EFFECT_PARAMETERS = (
    Parameter("k1", 0.2 / DAY, "1/h", "transit rate through the damaged-cell compartments (mean time to death 3/k1 "
              "= 15 d)", "GUESS (biology.md §6.4); Simeoni 2004 xenograft value 0.968/day [retrieved] is for fast "
              "mouse tumours", assumed=True, lower=0.0),
    Parameter("gamma", 1.0, "1", "cytostatic exponent: growth scales with P**gamma",
              "GUESS (biology.md §6.4)", assumed=True, lower=0.0),
    Parameter("K_max", 0.05 / DAY, "1/h", "maximal kill (damage) rate when the proliferation signal is lost",
              "GUESS (biology.md §6.4); calibrate to single-agent ORR ≈ 0–5% and the trial",
              assumed=True, lower=0.0),
    Parameter("IC50_K", 0.5, "1", "signal deficit 1 - P giving half-maximal kill",
              "GUESS (biology.md §6.4)", assumed=True, lower=0.0),
    Parameter("n_K", 3.0, "1", "Hill exponent of kill versus signal deficit (>= 1 keeps the right-hand side "
              "Lipschitz at P = 1)", "GUESS (biology.md §6.4)", assumed=True, lower=1.0),
)

SIMEONI_PARAMETERS = (
    Parameter("lambda0", LAMBDA0_PER_DAY / DAY, "1/h", "exponential growth rate of the untreated tumour", _TVDT,
              lower=0.0),
    Parameter("lambda1", 1.0e4 / DAY, "mm^3/h", "linear growth rate of a large tumour",
              "GUESS (pkpd): growth turns linear at W = lambda1/lambda0 ≈ 1.25e6 mm³ (a 13 cm sphere), so measured "
              "lesions grow exponentially as assumed by the TVDT studies; Simeoni 2004 xenograft 0.814 g/day "
              "[retrieved]", assumed=True, lower=0.0),
    Parameter("psi", 20.0, "1", "sharpness of the exponential-to-linear switch", "Simeoni 2004 (fixed) [retrieved]",
              lower=1.0),
) + _EFFECT_PARAMETERS

GOMPERTZ_PARAMETERS = (
    Parameter("alpha", LAMBDA0_PER_DAY / DAY / np.log(VMAX_MM3 / V_REF_MM3), "1/h",
              "Gompertz rate constant: specific growth rate is alpha*log(Vmax/W)",
              f"set so that the specific growth rate at a 20 mm lesion ({V_REF_MM3:.1f} mm³) equals lambda0 of the "
              f"Simeoni model ({_TVDT}); inherits the Vmax GUESS", assumed=True, lower=0.0),
    Parameter("Vmax", VMAX_MM3, "mm^3", "Gompertz plateau volume",
              "GUESS (pkpd): 1 L (a 124 mm sphere) for a single lesion", assumed=True, lower=0.0),
) + _EFFECT_PARAMETERS

N_SIMEONI = len(SIMEONI_PARAMETERS)    # 8
N_GOMPERTZ = len(GOMPERTZ_PARAMETERS)  # 7


# ---------------------------------------------------------------------------------- kernels
@njit(cache=True, inline="always")  # inlined into composed right-hand sides
def kill_rate(P, K_max, IC50_K, n_K):
    """Damage rate K(P) (per h): ``K_max * d**n_K / (IC50_K**n_K + d**n_K)``, ``d = max(0, 1 - P)``."""
    d = max(1.0 - P, 0.0)
    if d == 0.0:  # no signal deficit (untreated, or P above baseline): no kill, and no pow to pay for
        return 0.0
    dn = real_pow(d, n_K)
    return K_max * dn / (real_pow(IC50_K, n_K) + dn)


@njit(cache=True, inline="always")  # inlined into composed right-hand sides
def _damage_chain(y, growth, kill, k1, growth_R, dydt):
    """Shared transit chain: X1 grows and is damaged; X2 -> X3 -> X4 -> death at rate k1; XR grows."""
    dydt[0] = growth - kill * y[0]
    dydt[1] = kill * y[0] - k1 * y[1]
    dydt[2] = k1 * (y[1] - y[2])
    dydt[3] = k1 * (y[2] - y[3])
    dydt[4] = growth_R


@njit(cache=True, inline="always")  # inlined into composed right-hand sides
def tumor_rhs(t, y, p, P_signal, dydt):
    """Simeoni block kernel: d(X1..X4, XR)/dt (mm³/h) at proliferation signal ``P_signal`` (1 = untreated).

    ``y`` shape (5,) mm³; ``p`` shape (>= 8,) in :data:`SIMEONI_PARAMETERS` order
    (lambda0, lambda1, psi, k1, gamma, K_max, IC50_K, n_K).
    """
    lambda0 = p[0]
    lambda1 = p[1]
    psi = p[2]
    k1 = p[3]
    gamma = p[4]
    W = y[0] + y[1] + y[2] + y[3] + y[4]
    G = real_pow(max(P_signal, 0.0), gamma)
    # (1 + (lambda0/lambda1*W)**psi)**(1/psi), written to avoid overflow of z**psi for large z.
    z = lambda0 / lambda1 * max(W, 0.0)
    if z < _Z_EXPONENTIAL and psi >= _PSI_MIN_EXPONENTIAL:
        # z**psi <= 2**-54: 1 + z**psi rounds to exactly 1, so the denominator is exactly 1
        # (the exponential phase, where every measured lesion is); two pow calls saved.
        denom = 1.0
    elif z <= 1.0:
        denom = (1.0 + z ** psi) ** (1.0 / psi)
    else:
        denom = z * (1.0 + z ** (-psi)) ** (1.0 / psi)
    growth = G * lambda0 * y[0] / denom
    _damage_chain(y, growth, kill_rate(P_signal, p[5], p[6], p[7]), k1, lambda0 * y[4] / denom, dydt)


@njit(cache=True)
def gompertz_rhs(t, y, p, P_signal, dydt):
    """Gompertz block kernel: d(X1..X4, XR)/dt (mm³/h) at proliferation signal ``P_signal``.

    ``p`` shape (>= 7,) in :data:`GOMPERTZ_PARAMETERS` order
    (alpha, Vmax, k1, gamma, K_max, IC50_K, n_K).  Growth is ``G(P)*alpha*X1*log(Vmax/W)``,
    the resistant subclone's ``alpha*XR*log(Vmax/W)``.
    """
    alpha = p[0]
    Vmax = p[1]
    k1 = p[2]
    gamma = p[3]
    W = y[0] + y[1] + y[2] + y[3] + y[4]
    G = max(P_signal, 0.0) ** gamma
    specific = alpha * np.log(Vmax / W) if W > 0.0 else 0.0
    _damage_chain(y, G * specific * y[0], kill_rate(P_signal, p[4], p[5], p[6]), k1, specific * y[4], dydt)


@njit(cache=True)
def tumor_simeoni_rhs(t, y, p, dydt):
    """Standalone Simeoni kernel: ``P`` is the last parameter (index 8)."""
    tumor_rhs(t, y, p, p[8], dydt)


@njit(cache=True)
def tumor_gompertz_rhs(t, y, p, dydt):
    """Standalone Gompertz kernel: ``P`` is the last parameter (index 7)."""
    gompertz_rhs(t, y, p, p[7], dydt)


# ---------------------------------------------------------------------------------- specs
def _outputs(y, p):
    W = np.asarray(y, dtype=np.float64).sum(axis=-1)
    return {"volume": W, "diameter": sphere_diameter(W)}


_OUTPUTS = (
    Output("volume", "mm^3", "tumour volume W = X1 + X2 + X3 + X4 + XR"),
    Output("diameter", "mm", "longest diameter of the equivalent sphere, (6 W / pi)^(1/3)"),
)
_P_PARAMETER = Parameter("P", 1.0, "1", "proliferation/survival signal, relative to untreated (constant, "
                         "standalone use)", "input: set by the caller (1 = untreated)", lower=0.0)

TUMOR_SIMEONI = ModelSpec(
    name="tumor_simeoni",
    states=STATES,
    parameters=SIMEONI_PARAMETERS + (_P_PARAMETER,),
    rhs=tumor_simeoni_rhs,
    outputs=_OUTPUTS,
    output_fn=_outputs,
    description="Simeoni exponential-then-linear tumour growth with a 3-compartment damaged-cell chain; "
                "cytostatic (growth × P**gamma) and cytotoxic (kill K(P) when P < 1) effects of the "
                "proliferation signal P; a drug-resistant subclone XR (1% of the lesion at baseline) grows "
                "regardless of P. Volumes in mm³, time in h.",
    references=("Simeoni M et al. Cancer Res 2004;64:1094–1101.", "Ryu EB et al. Eur Radiol 2014.",
                "Lee SH et al. 2016 (TNBC growth during the wait for surgery)."),
)

TUMOR_GOMPERTZ = ModelSpec(
    name="tumor_gompertz",
    states=STATES,
    parameters=GOMPERTZ_PARAMETERS + (_P_PARAMETER,),
    rhs=tumor_gompertz_rhs,
    outputs=_OUTPUTS,
    output_fn=_outputs,
    description="Gompertz tumour growth (alpha*X1*log(Vmax/W)) with the same damaged-cell chain, "
                "signal-driven cytostatic/cytotoxic effects and drug-resistant subclone as the Simeoni model. "
                "Volumes in mm³, time in h.",
    references=("Simeoni M et al. Cancer Res 2004;64:1094–1101.", "Ryu EB et al. Eur Radiol 2014."),
)
