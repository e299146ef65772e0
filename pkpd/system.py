"""The coupled system: PK of both drugs -> free concentrations (nM) -> network -> tumour.

One compiled right-hand side composed from the block kernels on slices of one
state vector.  The layout (which states and parameters belong to which block) is
computed here from the block specs and frozen into the kernel as constants::

    states      0-2   neratinib DEPOT, CENT, PERIPH (mg)        pk2cmt_oral
                3-4   ruxolitinib DEPOT, CENT (mg)              pk1cmt_oral
                5-17  EGFR-JAK-STAT3 network (13 species)       pkpd.signaling.egfr_jak_stat3
                18-22 tumour X1..X4, XR (mm^3)                  pkpd.models.tumor (Simeoni + resistant subclone)

The free concentration that drives the network is
``C_u = fu * (CENT / Vc) [mg/L] * 1e6 / MW [g/mol]`` in nM (tumour exposure =
free plasma concentration, partition coefficient 1, assumed), and the network's
proliferation signal ``P`` drives the tumour block.  Neratinib's time-dependent
clearance (``CL1``, ``kCL``) is not part of this composition: the steady-state
``CL`` is used throughout (the default of :mod:`pkpd.models.drugs.neratinib`).

Parameters are named ``<block>_<name>`` (``neratinib_CL``, ``signaling_kinact``,
``tumor_lambda0``) and addressed in scenarios by the dotted path
``<block>.<name>``; see :data:`PATHS`.  Dosing parameters (``<drug>_tlag``,
``<drug>_F``) act on dose records, not in the kernel (see :func:`dose_modifiers`).

Which solver: the network's fastest relaxation (about 30 /h, the ERK cycle) makes the
system mildly stiff.  Dormand-Prince's steps are stability-limited at about 0.11 h
(some 11,000 steps over 56 days), but each costs only 6 right-hand-side evaluations
(~70 ns each); an implicit method is not stability-limited, yet after every dose the
network still needs short steps to follow the absorption, and each implicit step costs
a Jacobian, LU factorisations and (Radau IIA) Newton iterations.  Measured at rtol 1e-6
over 56 days (``benchmarks/``), Dopri5 is the fastest, so it is the default; the runner
retries any patient on whom Dopri5 stalls with Radau IIA.  Over long horizons at loose
tolerances the balance turns: an untreated arm over 18 months takes Dopri5 ~120,000
stability-limited steps and Radau IIA or Rodas3 a few dozen, so the 18-month virtual
trial (``scenarios/virtual_trial.yaml``, rtol 1e-4) runs with Radau IIA.

Long runs: the system is a one-way cascade (PK -> network -> P -> tumour; nothing feeds
back), so under periodic dosing the runner integrates all 23 states only until the PK and
network repeat from one period to the next, then the tumour alone (:mod:`pkpd.periodic`:
the split into the fast PK and network and the slow tumour is found from the composed
model's block graph, and the tumour alone is a generated kernel).  The 80-patient virtual trial takes 4.5 s
with Radau IIA that way (10 s with Dopri5, which at rtol 1e-4 is noisy at its stability
limit and sends more patients to the full integration), against 20 s integrating
everything to the end.  With the stiff methods the runner also takes both drugs' PK in
closed form (:mod:`pkpd.closed_form`: the two PK blocks are found linear from the
composed model's equations, the solver carries the 18 network and tumour states with the
generated reduced kernel, and the PK no longer sets its steps: half as many).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from pkpd.model.compiled import compile_model
from pkpd.model.library.trial import TRIAL
from pkpd.models.drugs import NERATINIB, RUXOLITINIB
from pkpd.models.pk import PK_MODELS, rhs_pk1cmt_oral, rhs_pk2cmt_oral
from pkpd.models.spec import ModelSpec, Output, Parameter, State
from pkpd.models.tumor import (F_R_PARAMETER, SIMEONI_PARAMETERS, STATES as TUMOR_STATES, initial_state,
                               sphere_diameter, tumor_rhs)
from pkpd.signaling import egfr_jak_stat3 as net
from pkpd.signaling.egfr_jak_stat3 import network_rhs

__all__ = ["SYSTEM", "DRUGS", "PATHS", "DEPOT_CMT", "coupled_rhs", "initial_states", "dose_modifiers",
           "observables", "OBSERVABLES", "parameter_matrix"]

DRUGS = (NERATINIB, RUXOLITINIB)
assert NERATINIB.structure == "pk2cmt_oral" and RUXOLITINIB.structure == "pk1cmt_oral", \
    "the kernel below is written for these PK structures"
_NER_MODEL, _RUX_MODEL = PK_MODELS["pk2cmt_oral"], PK_MODELS["pk1cmt_oral"]

# ---- state layout ---------------------------------------------------------------------------------
S_NER = 0
S_RUX = S_NER + _NER_MODEL.n_states        # 3
S_NET = S_RUX + _RUX_MODEL.n_states        # 5
S_TUM = S_NET + net.N_SPECIES              # 18
N_STATES = S_TUM + len(TUMOR_STATES)       # 23
S_P = S_NET + [s.name for s in net.SPECIES].index("P")  # the proliferation signal
#: 1-based dosing compartment (the depot) of each drug, as in NONMEM CMT
DEPOT_CMT = {"neratinib": S_NER + 1, "ruxolitinib": S_RUX + 1}

# ---- parameter layout: kernel parameters first, then those that act on doses only -----------------
P_NER = 0
P_RUX = P_NER + _NER_MODEL.n_parameters    # 5
P_CONV = P_RUX + _RUX_MODEL.n_parameters   # 8: ner MW, ner fu, rux MW, rux fu
P_NET = P_CONV + 4                         # 12
P_TUM = P_NET + net.N_PARAMS               # 49
P_DOSE = P_TUM + len(SIMEONI_PARAMETERS)   # 57: ner tlag, ner F, rux tlag, rux F, tumour D0, tumour f_R
I_NER_VC = P_NER + _NER_MODEL.parameter_index("Vc")
I_RUX_V = P_RUX + _RUX_MODEL.parameter_index("V")


def _renamed(prm: Parameter, block: str) -> Parameter:
    return Parameter(f"{block}_{prm.name}", prm.value, prm.unit, prm.description, prm.source, prm.assumed,
                     prm.lower, prm.upper)


def _drug_structural(drug):
    return tuple(drug.parameter(n) for n in drug.structural_names)


_PARAMETERS = (
    tuple(_renamed(q, "neratinib") for q in _drug_structural(NERATINIB))
    + tuple(_renamed(q, "ruxolitinib") for q in _drug_structural(RUXOLITINIB))
    + (_renamed(NERATINIB.mw, "neratinib"), _renamed(NERATINIB.fu, "neratinib"),
       _renamed(RUXOLITINIB.mw, "ruxolitinib"), _renamed(RUXOLITINIB.fu, "ruxolitinib"))
    + tuple(_renamed(q, "signaling") for q in net.PARAMETERS)
    + tuple(_renamed(q, "tumor") for q in SIMEONI_PARAMETERS)
    + (_renamed(NERATINIB.tlag, "neratinib"), _renamed(NERATINIB.F, "neratinib"),
       _renamed(RUXOLITINIB.tlag, "ruxolitinib"), _renamed(RUXOLITINIB.F, "ruxolitinib"),
       Parameter("tumor_D0", 30.0, "mm", "baseline longest diameter of the (chest-wall) target lesion",
                 "GUESS (pkpd): a typical measurable superficial lesion (RECIST: >= 10 mm); biology.md §6.4 "
                 "suggests SLD0 50 mm for all target lesions together", assumed=True, lower=1.0),
       _renamed(F_R_PARAMETER, "tumor"))
)
assert len(_PARAMETERS) == P_DOSE + 6

#: scenario path (``neratinib.CL``) -> parameter index
PATHS = {q.name.replace("_", ".", 1): i for i, q in enumerate(_PARAMETERS)}

_STATES = (
    tuple(State(f"neratinib_{s.name}", s.unit, f"neratinib: {s.description}") for s in _NER_MODEL.states)
    + tuple(State(f"ruxolitinib_{s.name}", s.unit, f"ruxolitinib: {s.description}") for s in _RUX_MODEL.states)
    + tuple(State(s.name, s.unit, s.description) for s in net.SPECIES)
    + tuple(State(f"tumor_{s.name}", s.unit, s.description, s.initial) for s in TUMOR_STATES)
)
assert len(_STATES) == N_STATES


@njit(cache=True, inline="always")  # inlined into composed right-hand sides
def _free_nM(amount_mg, volume_l, mw, fu):
    """Free concentration, nM, from an amount (mg) in a volume (L); never below 0."""
    return fu * max(amount_mg, 0.0) / volume_l * 1.0e6 / mw


@njit(cache=True)
def coupled_rhs(t, y, p, dydt):
    """d(y)/dt of the coupled system (23 states, see the module docstring); t in h."""
    rhs_pk2cmt_oral(t, y[S_NER:S_RUX], p[P_NER:P_RUX], dydt[S_NER:S_RUX])
    rhs_pk1cmt_oral(t, y[S_RUX:S_NET], p[P_RUX:P_CONV], dydt[S_RUX:S_NET])
    c_ner_u = _free_nM(y[S_NER + 1], p[I_NER_VC], p[P_CONV], p[P_CONV + 1])
    c_rux_u = _free_nM(y[S_RUX + 1], p[I_RUX_V], p[P_CONV + 2], p[P_CONV + 3])
    network_rhs(t, y[S_NET:S_TUM], p[P_NET:P_TUM], c_ner_u, c_rux_u, dydt[S_NET:S_TUM])
    tumor_rhs(t, y[S_TUM:N_STATES], p[P_TUM:P_DOSE], y[S_P], dydt[S_TUM:N_STATES])


def initial_states(P: np.ndarray) -> np.ndarray:
    """Untreated starting states (n, 23) for parameter rows ``P`` (n, n_parameters).

    No drug, the network at its computed steady state for each row's network
    parameters, the tumour an untreated lesion of diameter ``tumor_D0`` of which the
    fraction ``tumor_f_R`` is the drug-resistant subclone.
    """
    P = np.atleast_2d(P)
    y0 = np.zeros((P.shape[0], N_STATES))
    y0[:, S_NET:S_TUM] = net.baseline_state(P[:, P_NET:P_TUM])
    for i in range(P.shape[0]):
        y0[i, S_TUM:N_STATES] = initial_state(P[i, P_DOSE + 4], P[i, P_DOSE + 5])
    return y0


def dose_modifiers(records: dict, p: np.ndarray) -> dict:
    """Lag time (h) and bioavailability of each dose record, from the dosed drug's parameters."""
    cmt = np.asarray(records["cmt"])
    F, ALAG = np.ones(cmt.shape), np.zeros(cmt.shape)
    for k, drug in enumerate(("neratinib", "ruxolitinib")):
        on = cmt == DEPOT_CMT[drug]
        ALAG[on] = p[P_DOSE + 2 * k]
        F[on] = p[P_DOSE + 2 * k + 1]
    return {"F": F, "ALAG": ALAG}


#: name -> (units, long_name) of every observable the runner stores
OBSERVABLES = {
    "conc": ("nM", "total plasma concentration"),
    "conc_free": ("nM", "unbound plasma concentration"),
    **{f"{k}": ("1" if k != "pEGFR" else "1", f"{k} ({u})") for k, u in
       (("pEGFR", "active phosphorylated EGFR, fraction of pre-treatment total"),
        ("pERK", "active ERK, fraction"), ("pAKT", "active AKT, fraction"),
        ("pSTAT3", "pY705-STAT3 (cytoplasmic + nuclear), fraction of total STAT3"),
        ("JAK", "active gp130-JAK complex, fraction"), ("IL6", "IL-6 relative to baseline"),
        ("SOCS3", "SOCS3 protein relative to baseline"), ("P", "proliferation/survival signal, relative"))},
    "tumor_volume": ("mm^3", "tumour volume"),
    "tumor_diameter": ("mm", "tumour longest diameter (sphere)"),
}
READOUTS = ("pEGFR", "pERK", "pAKT", "pSTAT3", "JAK", "IL6", "SOCS3", "P")


def observables(Y: np.ndarray, P: np.ndarray) -> dict[str, np.ndarray]:
    """Observables from states ``Y`` (..., n_time, 23) and parameters ``P`` (..., n_parameters).

    ``conc`` and ``conc_free`` have a trailing drug axis (neratinib, ruxolitinib), in nM;
    signaling readouts are absolute (their baselines are ``observables(initial)``); tumour
    volume in mm^3 and diameter in mm.
    """
    Pt = P[..., None, :]  # broadcast over time
    conc = np.stack([
        Y[..., S_NER + 1] / Pt[..., I_NER_VC] * 1e6 / Pt[..., P_CONV],
        Y[..., S_RUX + 1] / Pt[..., I_RUX_V] * 1e6 / Pt[..., P_CONV + 2],
    ], axis=-1)
    fu = np.stack([Pt[..., P_CONV + 1], Pt[..., P_CONV + 3]], axis=-1)
    out = {"conc": conc, "conc_free": conc * fu}
    r = net.readouts(Y[..., S_NET:S_TUM])
    for k in READOUTS:
        out[k] = r[k]
    volume = Y[..., S_TUM:N_STATES].sum(axis=-1)
    out["tumor_volume"] = volume
    out["tumor_diameter"] = sphere_diameter(volume)
    return out


def _output_fn(y, p):
    o = observables(y[..., None, :], p)
    return {"CP_neratinib": o["conc"][..., 0, 0], "CP_ruxolitinib": o["conc"][..., 0, 1],
            "tumor_volume": o["tumor_volume"][..., 0]}


#: the coupled system written as equations and composed from blocks (pkpd.model.library.trial): its generated
#: right-hand side is the kernel the solvers run; :func:`coupled_rhs` above, laid out by hand, is its
#: independent check (tests/test_model_trial.py: equal to ~1e-15)
TRIAL_KERNELS = compile_model(TRIAL)
assert tuple(n.replace(".", "_", 1) for n in TRIAL_KERNELS.parameter_names) == tuple(q.name for q in _PARAMETERS), \
    "the composed trial model's parameters must follow the layout of this module"

SYSTEM = ModelSpec(
    name="tnbc_combination",
    states=_STATES,
    parameters=_PARAMETERS,
    rhs=TRIAL_KERNELS.rhs,
    jac=TRIAL_KERNELS.jac,
    outputs=(Output("CP_neratinib", "nM", "neratinib total plasma concentration"),
             Output("CP_ruxolitinib", "nM", "ruxolitinib total plasma concentration"),
             Output("tumor_volume", "mm^3", "tumour volume")),
    output_fn=_output_fn,
    description="Neratinib (2-cmt oral) + ruxolitinib (1-cmt oral) PK -> free nM -> EGFR-JAK-STAT3 network "
                "-> Simeoni tumour growth with a drug-resistant subclone",
    references=net.REFERENCES,
)


def parameter_matrix(n: int, overrides: dict | None = None) -> np.ndarray:
    """Parameter rows (n, n_parameters): typical values with scenario ``overrides`` applied.

    ``overrides`` maps scenario paths (``neratinib.CL``) to values in the parameter's unit.
    """
    names = {path: _PARAMETERS[i].name for path, i in PATHS.items()}
    base = SYSTEM.pack({names[k]: v for k, v in (overrides or {}).items()}, path="parameters")
    return np.repeat(base[None, :], n, axis=0)
