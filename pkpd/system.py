"""The coupled system: PK of both drugs -> free concentrations (nM) -> network -> tumour.

The system is the composition of blocks :data:`pkpd.model.library.trial.TRIAL`, written
as equations; its kernels (right-hand side, Jacobian, the closed-form and periodic-tail
kernels) are generated from them.  This module gives the runner of the built-in
scenarios its names for that composition: the layout below is read from the composed
model's state and parameter names, not laid out by hand::

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

from dataclasses import replace

import numpy as np

from pkpd.model.compiled import compile_model
from pkpd.model.library.trial import TRIAL
from pkpd.models.drugs import NERATINIB, RUXOLITINIB
from pkpd.models.spec import ModelSpec, Output, State
from pkpd.models.tumor import STATES as TUMOR_STATES, initial_state, sphere_diameter
from pkpd.signaling import egfr_jak_stat3 as net

__all__ = ["SYSTEM", "TRIAL_KERNELS", "DRUGS", "PATHS", "DEPOT_CMT", "initial_states", "dose_modifiers",
           "observables", "OBSERVABLES", "parameter_matrix"]

DRUGS = (NERATINIB, RUXOLITINIB)

#: the coupled trial system written as equations and composed from blocks (pkpd.model.library.trial): the
#: kernels the solvers run; benchmarks/handwritten.py keeps the kernel it replaced, laid out by hand, as an
#: independent check (tests/test_model_trial.py: equal to ~1e-15)
TRIAL_KERNELS = compile_model(TRIAL)
_STATE_NAMES = TRIAL_KERNELS.state_names
_PARAMETER_NAMES = TRIAL_KERNELS.parameter_names


def _first(names, prefix: str) -> int:
    return next(i for i, n in enumerate(names) if n.startswith(prefix))


# ---- state layout (from the composition) -----------------------------------------------------------
S_NER = _first(_STATE_NAMES, "neratinib.")
S_RUX = _first(_STATE_NAMES, "ruxolitinib.")
S_NET = _first(_STATE_NAMES, "signaling.")
S_TUM = _first(_STATE_NAMES, "tumor.")
N_STATES = TRIAL_KERNELS.n_states
S_P = _STATE_NAMES.index("signaling.P")  # the proliferation signal
assert S_NER < S_RUX < S_NET < S_TUM and N_STATES == S_TUM + len(TUMOR_STATES), "blocks in the order PK, network, tumour"
#: 1-based dosing compartment (the depot) of each drug, as in NONMEM CMT: the state its block declares as dosed
DEPOT_CMT = {d.state.split(".")[0]: _STATE_NAMES.index(d.state) + 1 for d in TRIAL.dosing}

# ---- parameter layout: kernel parameters first, then those that act on doses only -----------------
P_NER = _PARAMETER_NAMES.index("neratinib.CL")
P_RUX = _PARAMETER_NAMES.index("ruxolitinib.CL")
P_CONV = _PARAMETER_NAMES.index("neratinib.MW")   # ner MW, ner fu, rux MW, rux fu
P_NET = _first(_PARAMETER_NAMES, "signaling.")
P_TUM = _first(_PARAMETER_NAMES, "tumor.")
P_DOSE = _PARAMETER_NAMES.index("neratinib.tlag")  # ner tlag, ner F, rux tlag, rux F, tumour D0, tumour f_R
assert _PARAMETER_NAMES[P_DOSE:] == ("neratinib.tlag", "neratinib.F", "ruxolitinib.tlag", "ruxolitinib.F",
                                     "tumor.D0", "tumor.f_R"), "dose parameters last (pkpd.model.library.trial)"
I_NER_VC = _PARAMETER_NAMES.index("neratinib.Vc")
I_RUX_V = _PARAMETER_NAMES.index("ruxolitinib.V")

#: parameters named ``<block>_<name>`` (``neratinib_CL``), the composition's own (values, units, sources)
_PARAMETERS = tuple(replace(q, name=q.name.replace(".", "_", 1)) for q in TRIAL_KERNELS.parameters)

#: scenario path (``neratinib.CL``) -> parameter index
PATHS = {q.name.replace("_", ".", 1): i for i, q in enumerate(_PARAMETERS)}


def _state(s: State) -> State:
    block, name = s.name.split(".", 1)
    if block == "signaling":
        return State(name, s.unit, s.description, s.initial)     # the network's species by their own names
    described = f"{block}: {s.description}" if block != "tumor" else s.description
    return State(f"{block}_{name}", s.unit, described, s.initial)


_STATES = tuple(_state(s) for s in TRIAL_KERNELS.spec.states)


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
