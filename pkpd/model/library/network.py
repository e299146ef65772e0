"""Reaction networks as blocks of the model language, and the EGFR–JAK–STAT3 network block.

:func:`network_block` turns a :class:`pkpd.signaling.network.Network` (species,
reactions with rate laws, derived quantities, inputs) into a :class:`Model`: each
reaction's rate becomes a derived quantity ``v_<reaction>``, and each species' ODE
is its stoichiometric sum of rates (``dy/dt = N v``), written in reaction order.

:data:`SIGNALING` is the trial's network (:mod:`pkpd.signaling.egfr_jak_stat3`) as a
block, starting at its untreated steady state, which the network's structure gives
in closed form (expressions of the parameters, see
:func:`pkpd.signaling.egfr_jak_stat3.baseline_state`).
"""

from __future__ import annotations

from pkpd.model.language import Derived, Input, Model, OutputDef, StateDef
from pkpd.signaling import egfr_jak_stat3 as net
from pkpd.signaling.network import Network

__all__ = ["network_block", "stoichiometric_odes", "SIGNALING", "BASELINE", "FACTORED_ODES"]


def _ode(network: Network, i: int) -> str:
    N = network.stoichiometry
    terms = []
    for k, rxn in enumerate(network.reactions):
        c = N[i, k]
        if c == 0:
            continue
        coef = "" if abs(c) == 1 else f"{abs(c):g}*"
        terms.append((c > 0, f"{coef}v_{rxn.name}"))
    if not terms:
        return "0"
    text = ("" if terms[0][0] else "-") + terms[0][1]
    for positive, term in terms[1:]:
        text += (" + " if positive else " - ") + term
    return text


def stoichiometric_odes(network: Network) -> dict[str, str]:
    """Species -> its ODE as the stoichiometric sum of the reaction rates ``v_<reaction>`` (``dy/dt = N v``)."""
    return {s.name: _ode(network, i) for i, s in enumerate(network.species)}


def network_block(network: Network, initial: dict[str, str] | None = None, outputs=(), name: str | None = None,
                  odes: dict[str, str] | None = None, derived=()) -> Model:
    """The block of ``network``: its species as states, reaction rates as derived ``v_<reaction>``.

    ``initial`` maps species to initial-value expressions of the parameters (default 0);
    ``outputs`` are :class:`OutputDef` records (readouts).  ``odes`` may give a species'
    ODE in a factored form instead of its stoichiometric sum (the same function, fewer
    operations; :func:`stoichiometric_odes` is the sum to check it against), using the
    extra ``derived`` quantities (:class:`Derived`).
    """
    initial = initial or {}
    rates = tuple(Derived(f"v_{r.name}", r.rate_law, "species unit per h",
                          f"rate of {r.name}: {r.description}") for r in network.reactions)
    return Model(
        name=name or network.name,
        parameters=network.parameters,
        inputs=tuple(Input(i.name, i.unit, i.description, 0.0) for i in network.inputs),
        states=tuple(StateDef(s.name, s.unit, s.description, initial.get(s.name, 0.0)) for s in network.species),
        derived=tuple(Derived(d.name, d.expression, d.unit, d.description) for d in network.derived) + rates
        + tuple(derived),
        odes={**stoichiometric_odes(network), **(odes or {})},
        outputs=tuple(outputs),
        description=network.description,
        references=network.references,
    )


#: the untreated steady state of the EGFR–JAK–STAT3 network, species -> expression of the parameters
BASELINE = {
    "R": "1 - Ra0", "Ra": "Ra0", "Rx": "0", "ERKp": "ERKp0", "AKTp": "AKTp0", "IL6": "1", "J": "J0",
    "S": "1 - pSn0*k_ndp/k_imp - pSn0", "pSc": "pSn0*k_ndp/k_imp", "pSn": "pSn0", "mS3": "1", "SOCS3": "1",
    "P": "1",
}

_READOUTS = {"pEGFR": "Ra", "pERK": "ERKp", "pAKT": "AKTp", "pSTAT3": "pSc + pSn", "pSTAT3_nuclear": "pSn",
             "JAK": "J", "IL6": "IL6", "SOCS3": "SOCS3", "P": "P"}

#: the network's ODEs factored as in the hand-written kernel (pkpd.signaling.egfr_jak_stat3.network_rhs):
#: the same functions as the stoichiometric sums (tests check both ways), in the same floating-point order
FACTORED_ODES = {
    "R": "ks - v_R_activation + v_Ra_deactivation - kdeg_R*R - k_N*R",
    "Ra": "v_R_activation - v_Ra_deactivation - kdeg_Ra*Ra - k_N*Ra",
    "Rx": "k_N*(R + Ra) - kdeg_R*Rx",
    "ERKp": "kE_on*(b_E + (1 - b_E)*e)*(1 - ERKp) - kE_off*ERKp",
    "AKTp": "kA_on*(b_A + (1 - b_A)*e)*(1 - AKTp) - kA_off*AKTp",
    "IL6": "k_IL6*(il6_drive - IL6)",
    "J": "kJ_on*IL6*(1 - J)/(1 + SOCS3/K_SJ) - kJ_off*J",
    "S": "-v_phos + v_pSTAT3c_dephos + v_pSTAT3n_dephos",
    "pSc": "v_phos - v_pSTAT3_import - v_pSTAT3c_dephos",
    "pSn": "v_pSTAT3_import - v_pSTAT3n_dephos",
    "mS3": "k_mdeg*(b_m + (1 - b_m)*pSn/pSn0 - mS3)",
    "SOCS3": "k_sdeg*(mS3 - SOCS3)",
    "P": "k_P*(D - P)",
}

SIGNALING = network_block(
    net.NETWORK, BASELINE,
    outputs=tuple(OutputDef(k, _READOUTS[k], unit, desc) for k, (desc, unit) in net.READOUTS.items()),
    name="egfr_jak_stat3", odes=FACTORED_ODES,
    derived=(Derived("v_phos", "(kS_J*J*(1 - I_R) + kS_E*e*(1 - phi_EJ*I_R))*S", "fraction of total STAT3 per h",
                     "STAT3 phosphorylation by JAK and by EGFR together"),))
