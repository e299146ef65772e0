"""Tumour growth in the model language: the Simeoni law with a drug-resistant subclone.

The same equations as the hand-written kernel :func:`pkpd.models.tumor.tumor_rhs`
(Simeoni et al. 2004, with the resistant subclone of pkpd; see :mod:`pkpd.models.tumor`
for the biology, the sources and which values are guesses), written as equations::

    W      = X1 + X2 + X3 + X4 + XR                      total volume (mm³)
    z      = lambda0/lambda1 * max(W, 0)
    denom  = (1 + z**psi)**(1/psi)                        exponential -> linear switch
    G      = max(P, 0)**gamma                             cytostatic effect of the signal P
    K      = K_max d**n_K / (IC50_K**n_K + d**n_K),  d = max(1 - P, 0)   (cytotoxic)
    dX1/dt = G lambda0 X1 / denom - K X1
    dX2/dt = K X1 - k1 X2,  dX3/dt = k1 (X2 - X3),  dX4/dt = k1 (X3 - X4)
    dXR/dt = lambda0 XR / denom

``denom`` is written in the overflow-safe form of the kernel: exactly 1 where
``z**psi`` is below float64 resolution (``z < 1/8`` and ``psi >= 18``), and
``z (1 + z**-psi)**(1/psi)`` for ``z > 1``.  The lesion starts untreated as a sphere of
diameter ``D0`` (mm), a fraction ``f_R`` of it the resistant subclone: both are
parameters here (they set the initial state per patient).  The input ``P`` is the
proliferation signal (1 = untreated); unconnected, the block grows untreated.
"""

from __future__ import annotations

from dataclasses import replace

from pkpd.model.language import Derived, Input, Model, OutputDef, StateDef
from pkpd.models.spec import Parameter
from pkpd.models.tumor import F_R_PARAMETER, SIMEONI_PARAMETERS, STATES

__all__ = ["simeoni_block", "SIMEONI", "D0_PARAMETER"]

#: baseline longest diameter of the target lesion (the coupled system's ``tumor.D0``)
D0_PARAMETER = Parameter(
    "D0", 30.0, "mm", "baseline longest diameter of the (chest-wall) target lesion",
    "GUESS (pkpd): a typical measurable superficial lesion (RECIST: >= 10 mm); biology.md §6.4 suggests SLD0 "
    "50 mm for all target lesions together", assumed=True, lower=1.0)

_DERIVED = (
    ("W", "X1 + X2 + X3 + X4 + XR", "mm^3", "total tumour volume"),
    ("z", "lambda0/lambda1*max(W, 0.0)", "1", "volume relative to the switch to linear growth"),
    ("denom", "piecewise(z < 0.125 and psi >= 18, 1, z <= 1, (1 + z**psi)**(1/psi), "
              "z*(1 + z**(-psi))**(1/psi))", "1", "Simeoni switch (1 while growth is exponential)"),
    ("G", "max(P, 0.0)**gamma", "1", "cytostatic factor of growth"),
    ("d_P", "max(1 - P, 0.0)", "1", "signal deficit"),
    # 0 without a signal deficit (untreated, or P at or above baseline): no kill, and no powers to pay for
    ("kill", "piecewise(d_P > 0, K_max*d_P**n_K/(IC50_K**n_K + d_P**n_K), 0)", "1/h",
     "damage rate of proliferating cells"),
    ("growth", "G*lambda0*X1/denom", "mm^3/h", "growth of the signal-dependent cells"),
)

_ODES = {
    "X1": "growth - kill*X1",
    "X2": "kill*X1 - k1*X2",
    "X3": "k1*(X2 - X3)",
    "X4": "k1*(X3 - X4)",
    "XR": "lambda0*XR/denom",
}

_INITIAL = {"X1": "(1 - f_R)*(pi/6*D0**3)", "XR": "f_R*(pi/6*D0**3)"}


def simeoni_block(name: str = "tumor", parameters: tuple[Parameter, ...] = SIMEONI_PARAMETERS,
                  D0: Parameter = D0_PARAMETER, f_R: Parameter = F_R_PARAMETER) -> Model:
    """The Simeoni tumour block (states X1..X4, XR in mm³; input P; outputs volume mm³, diameter mm).

    ``parameters`` are the 8 Simeoni parameters (lambda0, lambda1, psi, k1, gamma, K_max,
    IC50_K, n_K) of :data:`pkpd.models.tumor.SIMEONI_PARAMETERS`, replaceable by
    name-compatible ones (another growth rate, say); ``D0`` and ``f_R`` set the untreated
    lesion.
    """
    return Model(
        name=name,
        parameters=tuple(parameters) + (replace(D0, name="D0"), replace(f_R, name="f_R")),
        inputs=(Input("P", "relative to pre-treatment", "proliferation/survival signal (1 = untreated)", 1.0),),
        states=tuple(StateDef(s.name, s.unit, s.description, _INITIAL.get(s.name, 0.0)) for s in STATES),
        derived=tuple(Derived(n, e, u, d) for n, e, u, d in _DERIVED),
        odes=dict(_ODES),
        outputs=(OutputDef("volume", "W", "mm^3", "tumour volume"),
                 OutputDef("diameter", "(6*W/pi)**(1/3)", "mm", "longest diameter of a sphere of volume W")),
        description="Simeoni tumour growth (exponential -> linear) driven by the signal P, three damaged-cell "
                    "transit compartments, and a drug-resistant subclone",
        references=("Simeoni M, Magni P, Cammia C et al. Predictive pharmacokinetic-pharmacodynamic modeling of "
                    "tumor growth kinetics in xenograft models after administration of anticancer agents. Cancer "
                    "Res 2004;64:1094-1101.",),
    )


SIMEONI = simeoni_block()
