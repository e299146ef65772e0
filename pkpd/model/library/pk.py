"""Linear PK blocks in the model language: oral one- and two-compartment models with free concentration in nM.

Each block doses its depot (NONMEM compartment 1 of the block), applies the drug's
bioavailability ``F`` and lag time ``tlag`` to those doses, and gives the drug's total
and unbound plasma concentrations in nM as outputs ``conc`` and ``conc_free``; the
free concentration ``C_u`` (derived quantity) is what a pharmacodynamic block
connects to::

    C_u = fu * max(CENT, 0) / Vc * 1e6 / MW       (mg/L -> nM through the molecular weight)

``max(CENT, 0)`` keeps a solver's tiny negative undershoot of an emptied central
compartment from giving a negative concentration to a Hill term.
"""

from __future__ import annotations

from pkpd.model.language import Derived, DoseDef, Model, OutputDef, StateDef
from pkpd.models.spec import Parameter

__all__ = ["pk_block", "STRUCTURE_ODES"]

#: structure -> (states with descriptions, central volume name, ODEs)
STRUCTURE_ODES = {
    "pk1cmt_oral": (
        (("DEPOT", "amount in the absorption depot (gut)"), ("CENT", "amount in the central compartment")),
        "V",
        {"DEPOT": "-KA*DEPOT", "CENT": "KA*DEPOT - CL/V*CENT"},
    ),
    "pk2cmt_oral": (
        (("DEPOT", "amount in the absorption depot (gut)"), ("CENT", "amount in the central compartment"),
         ("PERIPH", "amount in the peripheral compartment")),
        "Vc",
        {"DEPOT": "-KA*DEPOT",
         "CENT": "KA*DEPOT - CL*(CENT/Vc) - Q*(CENT/Vc - PERIPH/Vp)",
         "PERIPH": "Q*(CENT/Vc - PERIPH/Vp)"},
    ),
}


def pk_block(name: str, structure: str, structural: tuple[Parameter, ...], mw: Parameter, fu: Parameter,
             tlag: Parameter, F: Parameter, description: str = "", references=()) -> Model:
    """An oral PK block of ``structure`` (``pk1cmt_oral`` or ``pk2cmt_oral``) with the drug's parameters.

    ``structural`` are the structure's parameters (CL, V, KA or CL, Vc, Q, Vp, KA), ``mw``
    the molecular weight (g/mol), ``fu`` the unbound fraction, ``tlag`` the absorption lag
    (h) and ``F`` the bioavailability of the oral dose; each keeps its unit and source.
    """
    states, vc, odes = STRUCTURE_ODES[structure]
    params = tuple(structural) + (_named(mw, "MW"), _named(fu, "fu"), _named(tlag, "tlag"), _named(F, "F"))
    return Model(
        name=name,
        parameters=params,
        states=tuple(StateDef(s, "mg", d) for s, d in states),
        odes=odes,
        derived=(
            Derived("C", f"CENT/{vc}", "mg/L", "total plasma concentration"),
            Derived("C_u", f"fu*max(CENT, 0)/{vc}*1e6/MW", "nM",
                    "unbound plasma concentration (never below 0)"),
        ),
        outputs=(
            OutputDef("conc", f"CENT/{vc}*1e6/MW", "nM", "total plasma concentration"),
            OutputDef("conc_free", f"CENT/{vc}*1e6/MW*fu", "nM", "unbound plasma concentration"),
        ),
        dosing=(DoseDef("DEPOT", bioavailability="F", lag="tlag"),),
        description=description or f"{structure}: oral linear PK, free concentration in nM",
        references=tuple(references),
    )


def _named(p: Parameter, name: str) -> Parameter:
    from dataclasses import replace

    return replace(p, name=name)
