"""Compact EGFR–JAK–STAT3 network with IL-6 and SOCS3 feedback, driven by free drug concentrations.

The model follows the recommended compact model of ``biology.md`` §6 (13 species),
with the changes listed in :data:`NOTES` (each says why).  In short:

* **EGFR** is made at a constant rate, activated by autocrine ligand, turned
  over, and covalently inactivated by free neratinib at rate
  ``k_N = kinact*C/(KI + C)`` (Kitz–Wilson).  The adduct ``Rx`` is dead:
  activity returns only through synthesis of new receptor.
* **ERK and AKT** follow EGFR activity ``e = Ra/Ra0`` above an
  EGFR-independent floor (``b_E``, ``b_A``).
* **IL-6** production depends partly on EGFR (Gao 2007) and rises when ERK
  output falls (compensatory loop, Lee 2014).
* **JAK** (the active gp130–JAK complex) is switched on by IL-6 and held back by
  SOCS3.
* **STAT3** is phosphorylated by JAK (blocked reversibly by free ruxolitinib,
  ``I_R = Imax*C^n/(IC50^n + C^n)``, acting on the catalytic flux) and by EGFR
  (a fraction ``phi_EJ`` of that route needs JAK, so ruxolitinib blocks it too;
  SOCS3 does not act on it).  pSTAT3 enters the nucleus, induces SOCS3 mRNA and
  protein, and is dephosphorylated in both compartments (total STAT3 = 1).
* **P**, the proliferation/survival signal, follows a weighted mean of relative
  pERK, pAKT and nuclear pSTAT3 with a delay of ``1/k_P``.

Units: time in h; drug inputs are FREE (unbound) plasma concentrations in nM,
taken as the tumour exposure (tumour/plasma unbound ratio 1, an assumption);
EGFR species are fractions of the pre-treatment total receptor; ERKp, AKTp, J
and the STAT3 species are fractions of their totals; IL6, mS3, SOCS3 and P are
relative to their pre-treatment levels (= 1).

Python API (plain numpy, for users): :data:`NETWORK` (the data, reference
evaluator), :data:`EGFR_JAK_STAT3` (a :class:`~pkpd.models.spec.ModelSpec` with
the two concentrations as parameters), :func:`steady_state`, :func:`baseline_state`,
:func:`jacobian`, :func:`readouts`, :func:`stat3_fluxes`, :func:`documentation`.
Kernels (Numba): :func:`network_rhs` (block kernel for composition) and
:func:`egfr_jak_stat3_rhs` (standalone, ``rhs(t, y, p, dydt)``).

References
----------
See :data:`REFERENCES`; parameter sources are on each parameter.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from pkpd.errors import ModelError
from pkpd.models._math import real_pow
from pkpd.models.spec import ModelSpec, Output, Parameter, State
from pkpd.signaling.network import Derived, Input, Network, Reaction, Species, render_markdown

__all__ = [
    "NETWORK", "EGFR_JAK_STAT3", "SPECIES", "PARAMETERS", "N_SPECIES", "N_PARAMS", "READOUTS",
    "network_rhs", "egfr_jak_stat3_rhs", "baseline_state", "steady_state", "jacobian", "reduced_eigenvalues",
    "readouts", "stat3_fluxes", "documentation", "write_documentation",
]

# ---------------------------------------------------------------------------------- species
FRACTION_EGFR = "fraction of pre-treatment total EGFR"
SPECIES = (
    Species("R", FRACTION_EGFR, "inactive (unliganded, unphosphorylated) EGFR"),
    Species("Ra", FRACTION_EGFR, "active, ligand-bound, phosphorylated EGFR (readout pEGFR)"),
    Species("Rx", FRACTION_EGFR, "neratinib-adducted (covalently inactivated) EGFR; kinase-dead"),
    Species("ERKp", "fraction of total ERK", "phosphorylated (active) ERK (readout pERK)"),
    Species("AKTp", "fraction of total AKT", "phosphorylated (active) AKT (readout pAKT)"),
    Species("IL6", "relative to pre-treatment", "autocrine/paracrine IL-6 in the tumour"),
    Species("J", "fraction of gp130–JAK complexes", "active gp130–JAK1/2 complex (pJAK-like; ruxolitinib does "
            "not lower it, it blocks its catalytic output)"),
    Species("S", "fraction of total STAT3", "unphosphorylated STAT3"),
    Species("pSc", "fraction of total STAT3", "cytoplasmic pY705-STAT3"),
    Species("pSn", "fraction of total STAT3", "nuclear pY705-STAT3 (transcriptionally active)"),
    Species("mS3", "relative to pre-treatment", "SOCS3 mRNA"),
    Species("SOCS3", "relative to pre-treatment", "SOCS3 protein"),
    Species("P", "relative to pre-treatment", "proliferation/survival signal (cyclin D1/MYC/MCL-1 proxy)"),
)
N_SPECIES = len(SPECIES)

INPUTS = (
    Input("C_ner_u", "nM", "free (unbound) neratinib concentration seen by the tumour (= free plasma, "
          "tumour/plasma ratio 1 assumed)"),
    Input("C_rux_u", "nM", "free (unbound) ruxolitinib concentration seen by the tumour (= free plasma, "
          "tumour/plasma ratio 1 assumed)"),
)


# ---------------------------------------------------------------------------------- parameters
def _prm(name, value, unit, description, source, assumed=False, lower=0.0, upper=np.inf):
    return Parameter(name, value, unit, description, source, assumed=assumed, lower=lower, upper=upper)


_GUESS6 = "GUESS (biology.md §6.4)"
PARAMETERS = (
    # EGFR ------------------------------------------------------------------------------
    _prm("L", 1.0, "1", "autocrine EGFR ligand drive (TGFα/AREG) relative to pre-treatment",
         "normalisation: the pre-treatment ligand drive is 1 (biology.md §6.4)"),
    _prm("k_act", 2.0, "1/h", "lumped EGFR activation (ligand binding, dimerisation, autophosphorylation) "
         "per unit ligand drive",
         f"{_GUESS6}; fast next to receptor turnover, cf. second-scale steps in Kholodenko 1999", True),
    _prm("k_deact", 4.0, "1/h", "EGFR deactivation (dephosphorylation, ligand dissociation)",
         f"{_GUESS6}; with k_act gives Ra0 ≈ 0.32 of total EGFR", True),
    _prm("kdeg_R", 0.05, "1/h", "turnover of inactive and of neratinib-adducted EGFR",
         "GUESS within the literature range: t½ ≈ 14 h; Zhou 2024 kd1 = 0.0018/min = 0.108/h (t½ 6.4 h, "
         "SKBR3) [retrieved, biology.md §1.1]; EGFR/HER2 t½ 10–30 h in cells [memory, pk.md §3.1]", True),
    _prm("kdeg_Ra", 0.3, "1/h", "ligand-induced internalisation and degradation of active EGFR",
         f"{_GUESS6}; t½ ≈ 2.3 h", True),
    _prm("kinact", 1.0, "1/h", "neratinib: maximal rate of covalent EGFR inactivation (Kitz–Wilson kinact)",
         "GUESS: no measured kinact for neratinib was found (pk.md §3.1, §5 item 4); calibrate to biopsy pEGFR",
         True),
    _prm("KI", 2.0, "nM", "neratinib: free concentration giving half of kinact (Kitz–Wilson KI)",
         "GUESS (biology.md §6.4), chosen so that 0.6 nM free (240 mg QD average) lowers steady-state pEGFR "
         "by ≈ 65%; kinact/KI = 0.5 /(nM·h) = 1.4e5 /(M·s), an order expected in cells where ATP competes "
         "(cell-free values of covalent EGFR inhibitors are higher); calibrate", True),
    # ERK / AKT ---------------------------------------------------------------------------
    _prm("kE_on", 10.0, "1/h", "ERK phosphorylation rate at pre-treatment input",
         f"{_GUESS6}; gives ERKp0 = 1/3 (Zhou 2024 ERK cycle 50/8 per min is faster [retrieved])", True),
    _prm("kE_off", 20.0, "1/h", "ERK dephosphorylation (phosphatases)", _GUESS6, True),
    _prm("b_E", 0.3, "1", "EGFR-independent share of the ERK input", _GUESS6, True, upper=1.0),
    _prm("kA_on", 5.0, "1/h", "AKT phosphorylation rate at pre-treatment input", _GUESS6, True),
    _prm("kA_off", 10.0, "1/h", "AKT dephosphorylation", _GUESS6, True),
    _prm("b_A", 0.5, "1", "EGFR-independent share of the AKT input (PI3K/PTEN alterations common in TNBC)",
         _GUESS6, True, upper=1.0),
    # IL-6 ------------------------------------------------------------------------------
    _prm("k_IL6", 0.5, "1/h", "local IL-6 turnover (production and clearance) rate",
         f"{_GUESS6}; t½ ≈ 1.4 h", True),
    _prm("w_EI", 0.3, "1", "EGFR-dependent share of IL-6 production",
         f"{_GUESS6}; Gao 2007: EGFR inhibition 'partially blocked transcription of IL-6' [retrieved abstract]",
         True, upper=1.0),
    _prm("F_fb", 4.0, "1", "compensatory IL-6 loop: fold rise of IL-6 production at complete ERK loss is 1+F_fb",
         "GUESS (biology.md §6.4 uses the same maximal 5-fold rise); Lee 2014 feedback activation of STAT3 "
         "via autocrine IL-6 [memory]; key sensitivity parameter", True),
    _prm("n_fb", 2.0, "1", "steepness (Hill exponent) of IL-6 de-repression as ERK output falls",
         "GUESS (pkpd): smooth replacement of the max(0, ·) term of biology.md §6.3, see NOTES", True),
    _prm("F_S3", 0.0, "1", "optional STAT3 → IL-6 positive loop strength (0 = off)",
         "GUESS (biology.md §6.4: off by default; can make the system bistable)", True),
    # JAK -------------------------------------------------------------------------------
    _prm("kJ_on", 2.0, "1/h", "JAK activation per unit IL-6 (without SOCS3)", _GUESS6, True),
    _prm("kJ_off", 4.0, "1/h", "JAK deactivation (SHP/PTP, receptor turnover)", _GUESS6, True),
    _prm("K_SJ", 0.5, "relative SOCS3", "SOCS3 level that halves JAK activation (pre-treatment SOCS3 = 1 cuts it "
         "3-fold)", f"{_GUESS6}; form of Bachmann 2011 (division by 1 + SOCS3Inh·SOCS3/SOCS3Eqc) [retrieved]",
         True),
    # STAT3 -----------------------------------------------------------------------------
    _prm("kS_J", 2.0, "1/h", "STAT3 phosphorylation by fully active JAK",
         f"{_GUESS6}; order of Bachmann 2011 STAT5ActJAK2 0.078/min = 4.7/h [retrieved]; the JAK route "
         "carries ≈ 59% of pre-treatment pSTAT3 flux", True),
    _prm("kS_E", 0.2, "1/h", "STAT3 phosphorylation by EGFR/Src at pre-treatment EGFR activity",
         f"{_GUESS6}; EGFR route ≈ 41% of pre-treatment flux", True),
    _prm("phi_EJ", 0.5, "1", "share of the EGFR → STAT3 route that needs JAK catalytic activity",
         _GUESS6, True, upper=1.0),
    _prm("k_imp", 0.0269 * 60, "1/h", "nuclear import of pSTAT3",
         "Bachmann 2011 STAT5Imp 0.0269/min [retrieved, biology.md §1.2]; STAT5 value used for STAT3"),
    _prm("k_ndp", 0.0745 * 60, "1/h", "nuclear dephosphorylation/export of pSTAT3",
         "Bachmann 2011 STAT5Exp 0.0745/min [retrieved, biology.md §1.2]; STAT5 value used for STAT3"),
    _prm("k_cdp", 1.0, "1/h", "cytoplasmic dephosphorylation of pSTAT3 (PTPs)", _GUESS6, True),
    # SOCS3 -----------------------------------------------------------------------------
    _prm("k_mdeg", 0.0083 * 60, "1/h", "SOCS3 mRNA turnover (t½ ≈ 83 min)",
         "Bachmann 2011 SOCS3RNATurn 0.0083/min [retrieved, biology.md §1.2]"),
    _prm("b_m", 0.1, "1", "pSTAT3-independent share of SOCS3 transcription", _GUESS6, True, upper=1.0),
    _prm("k_sdeg", 0.0429 * 60, "1/h", "SOCS3 protein turnover (t½ ≈ 16 min)",
         "Raia 2011 SOCS3_degradation 0.0429/min [retrieved, biology.md §1.2]"),
    # Ruxolitinib -----------------------------------------------------------------------
    _prm("IC50_rux", 282.0 * 0.03, "nM", "free ruxolitinib concentration halving JAK catalytic output",
         "derived: whole-blood IL-6-stimulated pSTAT3 IC50 282 nM (Quintás-Cardama 2010 [retrieved]) × fu 0.03 "
         "(label, 97% bound [retrieved]) = 8.46 nM; assumes the unbound IC50 carries over to tumour cells"),
    _prm("Imax_rux", 1.0, "1", "maximal fractional inhibition of JAK catalytic output by ruxolitinib",
         "GUESS (biology.md §6.4); near-complete pSTAT3 inhibition at high doses (pk.md §3.2 [memory])",
         True, upper=1.0),
    _prm("n_rux", 1.0, "1", "Hill exponent of ruxolitinib inhibition",
         "GUESS (biology.md §6.4); pk.md §3.2 recommends a direct Hill = 1 model", True),
    # Proliferation signal --------------------------------------------------------------
    _prm("k_P", 0.1, "1/h", "rate at which the proliferation signal follows its drive (delay ≈ 10 h)",
         f"{_GUESS6}; cyclin D1/MCL-1 turnover plus commitment", True),
    _prm("w_E", 0.35, "1", "weight of relative pERK in the proliferation drive", _GUESS6, True),
    _prm("w_A", 0.25, "1", "weight of relative pAKT in the proliferation drive", _GUESS6, True),
    _prm("w_S", 0.40, "1", "weight of relative nuclear pSTAT3 in the proliferation drive",
         f"{_GUESS6}; TNBC STAT3 dependence (Song 2020, Marotta 2011)", True),
)
N_PARAMS = len(PARAMETERS)
if N_PARAMS != 37:  # network_rhs unpacks p[0..36] by position; keep the two in step
    raise ModelError(f"egfr_jak_stat3: network_rhs expects 37 parameters, PARAMETERS has {N_PARAMS}")

# ---------------------------------------------------------------------------------- derived
DERIVED = (
    Derived("Ra0", "k_act*L/(k_act*L + k_deact + kdeg_Ra)", FRACTION_EGFR,
            "pre-treatment active EGFR (R0 + Ra0 = 1, Ra0/R0 = k_act·L/(k_deact + kdeg_Ra))"),
    Derived("ks", "kdeg_R*(1 - Ra0) + kdeg_Ra*Ra0", f"{FRACTION_EGFR} per h",
            "EGFR synthesis rate that keeps the pre-treatment total at 1"),
    Derived("e", "Ra/Ra0", "1", "EGFR activity relative to pre-treatment"),
    Derived("k_N", "kinact*C_ner_u/(KI + C_ner_u)", "1/h", "neratinib covalent inactivation rate (Kitz–Wilson)"),
    Derived("I_R", "Imax_rux*C_rux_u**n_rux/(IC50_rux**n_rux + C_rux_u**n_rux)", "1",
            "fractional inhibition of JAK catalytic output by ruxolitinib (rapid equilibrium)"),
    Derived("ERKp0", "kE_on/(kE_on + kE_off)", "fraction of total ERK", "pre-treatment pERK (input = 1)"),
    Derived("AKTp0", "kA_on/(kA_on + kA_off)", "fraction of total AKT", "pre-treatment pAKT (input = 1)"),
    Derived("J0", "kJ_on/(1 + 1/K_SJ)/(kJ_on/(1 + 1/K_SJ) + kJ_off)", "fraction",
            "pre-treatment active JAK (IL6 = SOCS3 = 1)"),
    Derived("rc0", "(kS_J*J0 + kS_E)/(k_imp + k_cdp)", "1", "pre-treatment pSc/S ratio"),
    Derived("pSn0", "rc0*k_imp/k_ndp/(1 + rc0 + rc0*k_imp/k_ndp)", "fraction of total STAT3",
            "pre-treatment nuclear pSTAT3 (S + pSc + pSn = 1)"),
    Derived("x_ERK", "max(ERKp/ERKp0, 0.0)", "1",
            "relative pERK, clamped at 0 so the Hill term stays real if a solver undershoots"),
    Derived("il6_drive", "((1 - w_EI) + w_EI*e)*(1 + F_fb)/(1 + F_fb*x_ERK**n_fb)*(1 + F_S3*pSn/pSn0)/(1 + F_S3)",
            "1", "IL-6 production relative to pre-treatment: EGFR-dependent share × ERK de-repression × "
            "optional STAT3 loop (each factor = 1 before treatment)"),
    Derived("D", "(w_E*ERKp/ERKp0 + w_A*AKTp/AKTp0 + w_S*pSn/pSn0)/(w_E + w_A + w_S)", "1",
            "proliferation drive: weighted mean of relative pERK, pAKT and nuclear pSTAT3"),
)


# ---------------------------------------------------------------------------------- reactions
def _rxn(name, reactants, products, rate_law, parameters, description):
    return Reaction(name, tuple(reactants), tuple(products), rate_law, tuple(parameters), description)


REACTIONS = (
    # EGFR
    _rxn("R_synthesis", (), ("R",), "ks", (), "EGFR synthesis (constant)"),
    _rxn("R_activation", ("R",), ("Ra",), "k_act*L*R", ("k_act", "L"), "ligand-driven activation"),
    _rxn("Ra_deactivation", ("Ra",), ("R",), "k_deact*Ra", ("k_deact",), "deactivation"),
    _rxn("R_degradation", ("R",), (), "kdeg_R*R", ("kdeg_R",), "basal turnover of inactive EGFR"),
    _rxn("Ra_degradation", ("Ra",), (), "kdeg_Ra*Ra", ("kdeg_Ra",), "ligand-induced downregulation"),
    _rxn("R_inactivation", ("R",), ("Rx",), "k_N*R", (), "covalent inactivation by neratinib (irreversible)"),
    _rxn("Ra_inactivation", ("Ra",), ("Rx",), "k_N*Ra", (), "covalent inactivation by neratinib (irreversible)"),
    _rxn("Rx_degradation", ("Rx",), (), "kdeg_R*Rx", ("kdeg_R",), "turnover of adducted EGFR"),
    # ERK / AKT (the unphosphorylated pools 1 - ERKp and 1 - AKTp are implicit)
    _rxn("ERK_phosphorylation", (), ("ERKp",), "kE_on*(b_E + (1 - b_E)*e)*(1 - ERKp)", ("kE_on", "b_E"),
         "ERK activation by EGFR activity above an EGFR-independent floor (1 - ERKp is unphosphorylated ERK)"),
    _rxn("ERK_dephosphorylation", ("ERKp",), (), "kE_off*ERKp", ("kE_off",), "ERK phosphatases"),
    _rxn("AKT_phosphorylation", (), ("AKTp",), "kA_on*(b_A + (1 - b_A)*e)*(1 - AKTp)", ("kA_on", "b_A"),
         "AKT activation by EGFR activity above an EGFR-independent floor (1 - AKTp is unphosphorylated AKT)"),
    _rxn("AKT_dephosphorylation", ("AKTp",), (), "kA_off*AKTp", ("kA_off",), "AKT phosphatases"),
    # IL-6
    _rxn("IL6_production", (), ("IL6",), "k_IL6*il6_drive", ("k_IL6",),
         "autocrine IL-6 production: partly EGFR-driven (Gao 2007), de-repressed when ERK output falls (Lee 2014)"),
    _rxn("IL6_clearance", ("IL6",), (), "k_IL6*IL6", ("k_IL6",), "IL-6 clearance and receptor uptake"),
    # JAK
    _rxn("JAK_activation", (), ("J",), "kJ_on*IL6*(1 - J)/(1 + SOCS3/K_SJ)", ("kJ_on", "K_SJ"),
         "IL-6/gp130 activates JAK; SOCS3 inhibits this arm only (1 - J is inactive JAK)"),
    _rxn("JAK_deactivation", ("J",), (), "kJ_off*J", ("kJ_off",), "JAK deactivation"),
    # STAT3
    _rxn("STAT3_phos_JAK", ("S",), ("pSc",), "kS_J*J*(1 - I_R)*S", ("kS_J",),
         "STAT3 Y705 phosphorylation by JAK; ruxolitinib blocks the catalytic flux"),
    _rxn("STAT3_phos_EGFR", ("S",), ("pSc",), "kS_E*e*(1 - phi_EJ*I_R)*S", ("kS_E", "phi_EJ"),
         "STAT3 phosphorylation by EGFR/Src, partly JAK-dependent, not restrained by SOCS3"),
    _rxn("pSTAT3_import", ("pSc",), ("pSn",), "k_imp*pSc", ("k_imp",), "nuclear import of pSTAT3"),
    _rxn("pSTAT3c_dephos", ("pSc",), ("S",), "k_cdp*pSc", ("k_cdp",), "cytoplasmic dephosphorylation"),
    _rxn("pSTAT3n_dephos", ("pSn",), ("S",), "k_ndp*pSn", ("k_ndp",),
         "nuclear dephosphorylation and export (returns unphosphorylated STAT3)"),
    # SOCS3
    _rxn("SOCS3_transcription", (), ("mS3",), "k_mdeg*(b_m + (1 - b_m)*pSn/pSn0)", ("k_mdeg", "b_m"),
         "SOCS3 transcription induced by nuclear pSTAT3"),
    _rxn("SOCS3_mRNA_decay", ("mS3",), (), "k_mdeg*mS3", ("k_mdeg",), "SOCS3 mRNA decay"),
    _rxn("SOCS3_translation", (), ("SOCS3",), "k_sdeg*mS3", ("k_sdeg",), "SOCS3 translation (tracks mRNA)"),
    _rxn("SOCS3_degradation", ("SOCS3",), (), "k_sdeg*SOCS3", ("k_sdeg",), "SOCS3 protein degradation"),
    # Proliferation signal
    _rxn("P_production", (), ("P",), "k_P*D", ("k_P",), "proliferation/survival signal follows its drive D"),
    _rxn("P_decay", ("P",), (), "k_P*P", ("k_P",), "loss of the proliferation/survival signal"),
)

NOTES = (
    "**Changes from biology.md §6 (and why).** "
    "(1) IL-6 de-repression by ERK loss is the smooth `(1 + F_fb)/(1 + F_fb*(ERKp/ERKp0)**n_fb)` instead of "
    "`1 + F_fb*max(0, 1 - ERKp/ERKp0)`. The `max` kink sits exactly at the untreated equilibrium, so the "
    "Jacobian is undefined there (stiff solvers' Newton iterations and the stability check need it), and the "
    "linear form turns negative when pERK rises above (1 + 1/F_fb)·ERKp0. Both forms give 1 before treatment "
    "and a (1 + F_fb)-fold maximum at complete ERK loss; at the neratinib operating point (pERK ≈ 0.64 of "
    "baseline) the ERK factor is 1.9-fold in the new form and 2.4-fold in the old one. "
    "(2) The optional STAT3 → IL-6 loop is `(1 + F_S3*pSn/pSn0)/(1 + F_S3)` (never negative) instead of "
    "`1 + F_S3*(pSn/pSn0 - 1)`. "
    "(3) The proliferation drive divides by `w_E + w_A + w_S`, so the untreated P is 1 for any weights "
    "(e.g. sampled between patients). "
    "(4) Baseline levels (`Ra0`, `ERKp0`, `AKTp0`, `J0`, `pSn0`) and the EGFR synthesis rate `ks` are "
    "computed from the parameters inside the kernel, so for *every* parameter set the untreated steady state "
    "has IL6 = mS3 = SOCS3 = P = 1 and R + Ra = 1; no baseline is typed in by hand. "
    "(5) Rates taken from Bachmann 2011 and Raia 2011 are converted exactly (per min × 60) rather than rounded.",
    "**Readouts.** pEGFR = `Ra`; pERK = `ERKp`; pAKT = `AKTp`; JAK = `J` (activation state, like pJAK: "
    "type-I inhibitors such as ruxolitinib do not lower it, Andraos 2012); IL-6 = `IL6`; SOCS3 = `SOCS3`; "
    "P = `P`. **pSTAT3 = `pSc + pSn`, total pY705-STAT3**, because biopsy assays (RPPA, western blot) measure "
    "phospho-STAT3 in whole-cell lysates; the nuclear form `pSn` (what IHC nuclear scoring sees) drives "
    "transcription (SOCS3, P) and is also reported (`pSTAT3_nuclear`). Their ratio relaxes to "
    "`k_imp/k_ndp` within about 20 min, so relative changes of the two agree except during faster transients. "
    "Each readout is also given relative to the untreated steady state of the same parameters.",
    "**Drug inputs.** `C_ner_u` and `C_rux_u` are free plasma concentrations in nM, used as tumour exposure "
    "(tumour/plasma unbound ratio 1, assumed). Neratinib acts only through covalent EGFR inactivation "
    "(HER2 is not modelled in TNBC); ruxolitinib reduces the JAK catalytic flux to STAT3 (all of the JAK route, "
    "a share `phi_EJ` of the EGFR route).",
    "**What decides the combination's pSTAT3 effect.** Neratinib removes the EGFR route to STAT3 but raises "
    "IL-6 and so the JAK route (the compensatory loop); ruxolitinib then blocks only part of the larger JAK "
    "flux. Whether the combination lowers pSTAT3 below ruxolitinib alone therefore depends on how strongly "
    "neratinib raises tumour IL-6 (`F_fb`, `n_fb`, both assumptions): with the defaults it does, with a "
    "stronger loop it does not (see `tests/test_signaling.py`). The combination's lower proliferation signal "
    "does not depend on this, because only neratinib lowers pERK and pAKT.",
)

REFERENCES = (
    "Bachmann J, Raue A, Schilling M et al. Division of labor by dual feedback regulators controls JAK2/STAT5 "
    "signaling over broad ligand range. Mol Syst Biol 2011;7:516 (BIOMD0000000347).",
    "Raia V, Schilling M, Böhm M et al. Dynamic mathematical modeling of IL13-induced signaling in Hodgkin and "
    "primary mediastinal B-cell lymphoma allows prediction of therapeutic targets. Cancer Res 2011;71:693 "
    "(BIOMD0000000313).",
    "Gao SP, Mark KG, Leslie K et al. Mutations in the EGFR kinase domain mediate STAT3 activation via IL-6 "
    "production in human lung adenocarcinomas. J Clin Invest 2007;117:3846.",
    "Lee HJ, Zhuang G, Cao Y et al. Drug resistance via feedback activation of Stat3 in oncogene-addicted "
    "cancer cells. Cancer Cell 2014;26:207–221.",
    "Quintás-Cardama A, Vaddi K, Liu P et al. Preclinical characterization of the selective JAK1/2 inhibitor "
    "INCB018424. Blood 2010;115:3109–3117.",
    "Zhou YT et al. Acta Pharmacol Sin 2024;45:1287 (HER2-positive breast cancer QSP model; equations in "
    "nlmixr2lib Zhou_2024_HER2breastCancer_qsp.R).",
    "Kholodenko BN, Demin OV, Moehren G, Hoek JB. Quantification of short term signaling by the epidermal "
    "growth factor receptor. J Biol Chem 1999;274:30169.",
    "Rabindran SK et al. Antitumor activity of HKI-272, an orally active, irreversible inhibitor of the HER-2 "
    "tyrosine kinase. Cancer Res 2004;64:3958–3965.",
    "Andraos R et al. Modulation of activation-loop phosphorylation by JAK inhibitors is binding mode "
    "dependent. Cancer Discov 2012;2:512.",
)

NETWORK = Network(
    name="egfr_jak_stat3",
    species=SPECIES,
    reactions=REACTIONS,
    parameters=PARAMETERS,
    inputs=INPUTS,
    derived=DERIVED,
    description=(
        "Compact EGFR–JAK–STAT3 signalling network of a triple-negative breast cancer cell with the compensatory "
        "IL-6 loop and SOCS3 negative feedback, driven by free neratinib (irreversible EGFR inhibitor) and free "
        "ruxolitinib (reversible JAK1/2 inhibitor) concentrations. Time in h, concentrations in nM. "
        "Structure from biology.md §6 with the changes listed under Notes. Most rate constants are assumptions "
        "(marked below) chosen for plausible time scales; they are to be calibrated."
    ),
    references=REFERENCES,
)


# ---------------------------------------------------------------------------------- kernels
@njit(cache=True, inline="always")  # inlined into composed right-hand sides
def network_rhs(t, y, p, c_ner_u, c_rux_u, dydt):
    """Block kernel: d(y)/dt of the network (per h) at free concentrations ``c_ner_u``, ``c_rux_u`` (nM).

    ``y`` shape (13,) in :data:`SPECIES` order, ``p`` shape (>= 37,) in :data:`PARAMETERS`
    order (entries beyond the first 37 are ignored), ``dydt`` shape (13,) is written.
    Hand-written from :data:`NETWORK`; ``tests/test_signaling.py`` checks it against the
    reference evaluator.
    """
    R = y[0]
    Ra = y[1]
    Rx = y[2]
    ERKp = y[3]
    AKTp = y[4]
    IL6 = y[5]
    J = y[6]
    S = y[7]
    pSc = y[8]
    pSn = y[9]
    mS3 = y[10]
    SOCS3 = y[11]
    P = y[12]

    L = p[0]
    k_act = p[1]
    k_deact = p[2]
    kdeg_R = p[3]
    kdeg_Ra = p[4]
    kinact = p[5]
    KI = p[6]
    kE_on = p[7]
    kE_off = p[8]
    b_E = p[9]
    kA_on = p[10]
    kA_off = p[11]
    b_A = p[12]
    k_IL6 = p[13]
    w_EI = p[14]
    F_fb = p[15]
    n_fb = p[16]
    F_S3 = p[17]
    kJ_on = p[18]
    kJ_off = p[19]
    K_SJ = p[20]
    kS_J = p[21]
    kS_E = p[22]
    phi_EJ = p[23]
    k_imp = p[24]
    k_ndp = p[25]
    k_cdp = p[26]
    k_mdeg = p[27]
    b_m = p[28]
    k_sdeg = p[29]
    IC50_rux = p[30]
    Imax_rux = p[31]
    n_rux = p[32]
    k_P = p[33]
    w_E = p[34]
    w_A = p[35]
    w_S = p[36]

    # Pre-treatment levels, computed from the parameters (see DERIVED).
    Ra0 = k_act * L / (k_act * L + k_deact + kdeg_Ra)
    ks = kdeg_R * (1.0 - Ra0) + kdeg_Ra * Ra0
    ERKp0 = kE_on / (kE_on + kE_off)
    AKTp0 = kA_on / (kA_on + kA_off)
    aJ0 = kJ_on / (1.0 + 1.0 / K_SJ)
    J0 = aJ0 / (aJ0 + kJ_off)
    rc0 = (kS_J * J0 + kS_E) / (k_imp + k_cdp)
    rn0 = rc0 * k_imp / k_ndp
    pSn0 = rn0 / (1.0 + rc0 + rn0)

    # Drug effects.
    k_N = kinact * c_ner_u / (KI + c_ner_u)
    cr = real_pow(c_rux_u, n_rux)
    I_R = Imax_rux * cr / (real_pow(IC50_rux, n_rux) + cr)

    # Signals.
    e = Ra / Ra0
    x_ERK = max(ERKp / ERKp0, 0.0)
    il6_drive = (((1.0 - w_EI) + w_EI * e) * (1.0 + F_fb) / (1.0 + F_fb * real_pow(x_ERK, n_fb))
                 * (1.0 + F_S3 * pSn / pSn0) / (1.0 + F_S3))
    D = (w_E * ERKp / ERKp0 + w_A * AKTp / AKTp0 + w_S * pSn / pSn0) / (w_E + w_A + w_S)

    # Fluxes that appear in more than one equation.
    v_act = k_act * L * R
    v_deact = k_deact * Ra
    v_phos = (kS_J * J * (1.0 - I_R) + kS_E * e * (1.0 - phi_EJ * I_R)) * S
    v_imp = k_imp * pSc
    v_cdp = k_cdp * pSc
    v_ndp = k_ndp * pSn

    dydt[0] = ks - v_act + v_deact - kdeg_R * R - k_N * R
    dydt[1] = v_act - v_deact - kdeg_Ra * Ra - k_N * Ra
    dydt[2] = k_N * (R + Ra) - kdeg_R * Rx
    dydt[3] = kE_on * (b_E + (1.0 - b_E) * e) * (1.0 - ERKp) - kE_off * ERKp
    dydt[4] = kA_on * (b_A + (1.0 - b_A) * e) * (1.0 - AKTp) - kA_off * AKTp
    dydt[5] = k_IL6 * (il6_drive - IL6)
    dydt[6] = kJ_on * IL6 * (1.0 - J) / (1.0 + SOCS3 / K_SJ) - kJ_off * J
    dydt[7] = -v_phos + v_cdp + v_ndp
    dydt[8] = v_phos - v_imp - v_cdp
    dydt[9] = v_imp - v_ndp
    dydt[10] = k_mdeg * (b_m + (1.0 - b_m) * pSn / pSn0 - mS3)
    dydt[11] = k_sdeg * (mS3 - SOCS3)
    dydt[12] = k_P * (D - P)


@njit(cache=True)
def egfr_jak_stat3_rhs(t, y, p, dydt):
    """Standalone kernel ``rhs(t, y, p, dydt)``: the network at constant free concentrations.

    ``p`` is the :data:`EGFR_JAK_STAT3` parameter vector: the 37 network parameters
    followed by ``C_ner_u`` and ``C_rux_u`` (nM).
    """
    network_rhs(t, y, p, p[37], p[38], dydt)


# ---------------------------------------------------------------------------------- baseline
def _as_network_params(p) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    if p.shape[-1] not in (N_PARAMS, N_PARAMS + 2):
        raise ModelError(f"egfr_jak_stat3: parameter vector has length {p.shape[-1]}, expected {N_PARAMS} "
                         f"(network) or {N_PARAMS + 2} (EGFR_JAK_STAT3 spec)")
    return p[..., :N_PARAMS]


def baseline_state(p=None) -> np.ndarray:
    """Untreated steady state in closed form, shape (..., 13), for parameters ``p`` (..., 37 or 39).

    The structure allows it: before treatment e = 1, so ERK, AKT and IL-6 sit at
    their normalisation points; IL6 = mS3 = SOCS3 = 1 fixes J; the STAT3 cycle
    is then linear.  The formulas are the parameter-only derived quantities of
    :data:`NETWORK` (evaluated by the reference evaluator).  :func:`steady_state`
    checks the result against the kernel and its stability.
    """
    p = _as_network_params(NETWORK.parameter_values() if p is None else p)
    ns = NETWORK.namespace(np.zeros((N_SPECIES,) + p.shape[:-1]), np.moveaxis(p, -1, 0))
    Ra0, pSn0 = ns["Ra0"], ns["pSn0"]
    pSc0 = pSn0 * ns["k_ndp"] / ns["k_imp"]
    one = np.ones_like(Ra0)
    y = [1.0 - Ra0, Ra0, 0.0 * one, ns["ERKp0"] * one, ns["AKTp0"] * one, one, ns["J0"] * one,
         1.0 - pSc0 - pSn0, pSc0, pSn0, one, one, one]
    return np.stack(np.broadcast_arrays(*y), axis=-1)


def _f(y, p, c_ner_u, c_rux_u):
    dydt = np.empty(N_SPECIES)
    network_rhs(0.0, y, p, c_ner_u, c_rux_u, dydt)
    return dydt


def jacobian(y, p, c_ner_u: float = 0.0, c_rux_u: float = 0.0) -> np.ndarray:
    """Jacobian d(dy/dt)/dy (per h), shape (13, 13), by central differences on the compiled kernel.

    Step ``h_i = 1e-6 * max(|y_i|, 1e-3)``; truncation error O(h²) and round-off
    O(1e-16/h) give about 1e-9 relative accuracy, ample for eigenvalue signs.
    """
    y = np.asarray(y, dtype=np.float64)
    p = _as_network_params(p)
    jac = np.empty((N_SPECIES, N_SPECIES))
    for i in range(N_SPECIES):
        h = 1e-6 * max(abs(y[i]), 1e-3)
        yp, ym = y.copy(), y.copy()
        yp[i] += h
        ym[i] -= h
        jac[:, i] = (_f(yp, p, c_ner_u, c_rux_u) - _f(ym, p, c_ner_u, c_rux_u)) / (2 * h)
    return jac


def reduced_eigenvalues(y, p, c_ner_u: float = 0.0, c_rux_u: float = 0.0) -> np.ndarray:
    """Eigenvalues (per h) of the Jacobian on the stoichiometric subspace, shape (12,).

    Total STAT3 (S + pSc + pSn) is conserved, so the full Jacobian always has one
    zero eigenvalue whose eigenvector changes the total; it says nothing about
    stability.  Trajectories stay in ``y0 + range(N)`` (N the stoichiometry
    matrix), which the Jacobian maps into itself, so stability is judged on
    ``Q.T @ J @ Q`` with ``Q`` an orthonormal basis of ``range(N)``.
    """
    Q = _stoichiometric_basis()
    return np.linalg.eigvals(Q.T @ jacobian(y, p, c_ner_u, c_rux_u) @ Q)


def _stoichiometric_basis() -> np.ndarray:
    """Orthonormal basis of range(N), shape (13, 12)."""
    u, s, _ = np.linalg.svd(NETWORK.stoichiometry)
    return u[:, : int(np.sum(s > 1e-10 * s.max()))]


def steady_state(p=None, c_ner_u: float = 0.0, c_rux_u: float = 0.0, *, check_stability: bool = True,
                 tol: float = 1e-12) -> np.ndarray:
    """Steady state, shape (13,), at constant free concentrations (nM); untreated by default.

    Untreated: the closed form of :func:`baseline_state`, polished by Newton's
    method on the compiled kernel.  Treated: Newton (``scipy.optimize.root``)
    from the untreated state, falling back to 20 000 h of LSODA integration first
    if Newton does not converge.  The result must satisfy
    ``max|dy/dt| <= tol`` (per h) and, with ``check_stability``, every eigenvalue of
    the Jacobian on the stoichiometric subspace (:func:`reduced_eigenvalues`) must have a
    negative real part; otherwise :class:`ModelError`.

    ``p`` is a network (37) or spec (39) parameter vector; for a spec vector the two
    trailing concentrations are ignored (pass them as ``c_ner_u``, ``c_rux_u``).
    """
    from scipy.integrate import solve_ivp
    from scipy.optimize import root

    p = _as_network_params(NETWORK.parameter_values() if p is None else p)
    if p.ndim != 1:
        raise ModelError("steady_state: p must be one parameter vector (1-D)")
    if not (c_ner_u >= 0 and c_rux_u >= 0):
        raise ModelError(f"steady_state: concentrations must be >= 0 nM, got {c_ner_u}, {c_rux_u}")
    y0 = baseline_state(p)

    # The Jacobian is singular along the conserved total STAT3, so Newton solves the
    # projected equations Q.T f(y) = 0 together with C (y - y0) = 0 (totals kept at 1).
    Q, C = _stoichiometric_basis(), NETWORK.conservation_laws()

    def solve(start):
        sol = root(lambda y: np.concatenate([Q.T @ _f(y, p, c_ner_u, c_rux_u), C @ (y - y0)]), start,
                   method="hybr", jac=lambda y: np.vstack([Q.T @ jacobian(y, p, c_ner_u, c_rux_u), C]),
                   options={"xtol": 1e-14})
        return sol.x, np.max(np.abs(_f(sol.x, p, c_ner_u, c_rux_u)))

    y, resid = solve(y0)
    if not (resid <= tol and np.all(y > -1e-12)):
        run = solve_ivp(lambda t, y: _f(y, p, c_ner_u, c_rux_u), (0.0, 20000.0), y0, method="LSODA",
                        rtol=1e-8, atol=1e-12)
        y, resid = solve(run.y[:, -1])
    if not (resid <= tol and np.all(y > -1e-12)):
        raise ModelError(f"egfr_jak_stat3: no steady state found (max |dy/dt| = {resid:.3g} per h) at "
                         f"C_ner_u = {c_ner_u} nM, C_rux_u = {c_rux_u} nM")
    if check_stability:
        lam = reduced_eigenvalues(y, p, c_ner_u, c_rux_u)
        if np.max(lam.real) >= 0:
            raise ModelError(f"egfr_jak_stat3: steady state is not stable (largest eigenvalue real part "
                             f"{np.max(lam.real):.3g} per h)")
    return y


# ---------------------------------------------------------------------------------- readouts
READOUTS = {
    "pEGFR": ("active phosphorylated EGFR, Ra", FRACTION_EGFR),
    "pERK": ("phosphorylated ERK", "fraction of total ERK"),
    "pAKT": ("phosphorylated AKT", "fraction of total AKT"),
    "pSTAT3": ("total pY705-STAT3, pSc + pSn (lysate assays: RPPA, western)", "fraction of total STAT3"),
    "pSTAT3_nuclear": ("nuclear pY705-STAT3, pSn", "fraction of total STAT3"),
    "JAK": ("active gp130–JAK complex, J", "fraction"),
    "IL6": ("tumour IL-6", "relative to pre-treatment"),
    "SOCS3": ("SOCS3 protein", "relative to pre-treatment"),
    "P": ("proliferation/survival signal", "relative to pre-treatment"),
}


def _readouts_abs(y) -> dict[str, np.ndarray]:
    return {"pEGFR": y[..., 1], "pERK": y[..., 3], "pAKT": y[..., 4], "pSTAT3": y[..., 8] + y[..., 9],
            "pSTAT3_nuclear": y[..., 9], "JAK": y[..., 6], "IL6": y[..., 5], "SOCS3": y[..., 11],
            "P": y[..., 12]}


def readouts(y, p=None, relative: bool = False) -> dict[str, np.ndarray]:
    """Biomarker readouts from states ``y`` (..., 13); see :data:`READOUTS` for names and units.

    With ``relative=True`` each readout is divided by its value at the untreated
    steady state of the same parameters ``p`` (..., 37 or 39; default parameters if None).
    """
    y = np.asarray(y, dtype=np.float64)
    out = _readouts_abs(y)
    if not relative:
        return out
    base = _readouts_abs(baseline_state(p))
    return {k: v / base[k] for k, v in out.items()}


def stat3_fluxes(y, p=None, c_rux_u=0.0) -> dict[str, np.ndarray]:
    """STAT3 phosphorylation fluxes (fraction of total STAT3 per h) through the JAK and EGFR routes.

    Evaluated with the reference evaluator; ``y`` (..., 13), ``p`` (37 or 39), ``c_rux_u`` in nM
    (scalar or broadcastable to ``y[..., 0]``).
    """
    p = _as_network_params(NETWORK.parameter_values() if p is None else p)
    y = np.asarray(y, dtype=np.float64)
    v = NETWORK.rates(np.moveaxis(y, -1, 0), np.moveaxis(p, -1, 0), {"C_rux_u": c_rux_u})
    names = NETWORK.reaction_names
    return {"JAK": v[names.index("STAT3_phos_JAK")], "EGFR": v[names.index("STAT3_phos_EGFR")]}


# ---------------------------------------------------------------------------------- model spec
def _output_fn(y, p):
    y = np.asarray(y, dtype=np.float64)
    out = readouts(y)
    rel = readouts(y, p, relative=True)
    out.update({f"{k}_rel": v for k, v in rel.items()})
    return out


_Y0 = baseline_state()
EGFR_JAK_STAT3 = ModelSpec(
    name="egfr_jak_stat3",
    states=tuple(State(s.name, s.unit, s.description, initial=float(_Y0[i])) for i, s in enumerate(SPECIES)),
    parameters=PARAMETERS + (
        Parameter("C_ner_u", 0.0, "nM", "constant free neratinib concentration (standalone use)",
                  "input: set by the caller (0 = no drug)", lower=0.0),
        Parameter("C_rux_u", 0.0, "nM", "constant free ruxolitinib concentration (standalone use)",
                  "input: set by the caller (0 = no drug)", lower=0.0),
    ),
    rhs=egfr_jak_stat3_rhs,
    outputs=tuple(Output(name, unit, desc) for name, (desc, unit) in READOUTS.items())
    + tuple(Output(f"{name}_rel", "1", f"{desc}, relative to the untreated steady state")
            for name, (desc, _) in READOUTS.items()),
    output_fn=_output_fn,
    description=NETWORK.description,
    references=REFERENCES,
)


# ---------------------------------------------------------------------------------- documentation
def documentation() -> str:
    """The Markdown page ``docs/signaling.md``, generated from :data:`NETWORK`."""
    return render_markdown(NETWORK, title="EGFR–JAK–STAT3 signalling network (`egfr_jak_stat3`)", notes=NOTES)


def write_documentation(path: str = "docs/signaling.md") -> None:
    """Write :func:`documentation` to ``path`` (regenerate the committed page after editing the network)."""
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(documentation())
