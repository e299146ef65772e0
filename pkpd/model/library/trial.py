"""The trial's coupled system as a composition of blocks: PK of both drugs -> network -> tumour.

::

    TRIAL = compose("tnbc_combination",
                    {"neratinib": pk2cmt_oral, "ruxolitinib": pk1cmt_oral,
                     "signaling": EGFR-JAK-STAT3 network, "tumor": Simeoni + resistant subclone},
                    {"signaling.C_ner_u": "neratinib.C_u",      # free nM
                     "signaling.C_rux_u": "ruxolitinib.C_u",
                     "tumor.P": "signaling.P"})

The same equations as the hand-laid kernel :func:`pkpd.system.coupled_rhs` (its
module docstring has the biology and the sources), generated with their analytic
Jacobian.  States are in block order (neratinib DEPOT, CENT, PERIPH; ruxolitinib
DEPOT, CENT; the 13 network species; tumour X1..X4, XR) and the parameters are
reordered to the layout of :data:`pkpd.system.SYSTEM` (``neratinib.CL`` there is
``neratinib_CL``), so either kernel runs on the other's parameter rows.
"""

from __future__ import annotations

from pkpd.model.compose import compose, reorder_parameters
from pkpd.model.library.network import SIGNALING
from pkpd.model.library.pk import pk_block
from pkpd.model.library.tumor import simeoni_block
from pkpd.models.drugs import NERATINIB, RUXOLITINIB

__all__ = ["drug_block", "trial_blocks", "TRIAL_CONNECTIONS", "TRIAL"]

#: how the trial's blocks are joined: input <- source (free concentrations in nM; the proliferation signal)
TRIAL_CONNECTIONS = {"signaling.C_ner_u": "neratinib.C_u", "signaling.C_rux_u": "ruxolitinib.C_u",
                     "tumor.P": "signaling.P"}


def drug_block(drug):
    """The PK block of a :class:`pkpd.models.drugs.base.DrugPK` (its structure, parameters, MW, fu, tlag, F)."""
    return pk_block(drug.name, drug.structure, tuple(drug.parameter(n) for n in drug.structural_names),
                    drug.mw, drug.fu, drug.tlag, drug.F, references=getattr(drug, "references", ()))


def _legacy_order(model) -> tuple[str, ...]:
    """Parameter names in the layout of :data:`pkpd.system.SYSTEM`: kernel parameters first, then dosing ones."""
    ner, rux = NERATINIB, RUXOLITINIB
    order = [f"neratinib.{n}" for n in ner.structural_names] + [f"ruxolitinib.{n}" for n in rux.structural_names]
    order += ["neratinib.MW", "neratinib.fu", "ruxolitinib.MW", "ruxolitinib.fu"]
    order += list(model.blocks["signaling"]["parameters"])
    order += [q for q in model.blocks["tumor"]["parameters"] if q not in ("tumor.D0", "tumor.f_R")]
    order += ["neratinib.tlag", "neratinib.F", "ruxolitinib.tlag", "ruxolitinib.F", "tumor.D0", "tumor.f_R"]
    return tuple(order)


def trial_blocks() -> dict:
    """The trial's blocks by name: each drug's PK, the network, the tumour."""
    return {"neratinib": drug_block(NERATINIB), "ruxolitinib": drug_block(RUXOLITINIB), "signaling": SIGNALING,
            "tumor": simeoni_block()}


def _trial():
    flat = compose(
        "tnbc_combination", trial_blocks(), TRIAL_CONNECTIONS,
        description="Neratinib (2-cmt oral) + ruxolitinib (1-cmt oral) PK -> free nM -> EGFR-JAK-STAT3 network "
                    "-> Simeoni tumour growth with a drug-resistant subclone")
    return reorder_parameters(flat, _legacy_order(flat))


#: the coupled trial system, written as equations (parameters in the layout of pkpd.system.SYSTEM)
TRIAL = _trial()
LEGACY_ORDER = TRIAL.parameter_names
