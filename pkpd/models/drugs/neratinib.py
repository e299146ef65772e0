"""Neratinib (NERLYNX, HKI-272): population-PK parameter set.

Structure: two compartments, first-order absorption with a lag, linear
elimination (``pk2cmt_oral``: depot = cmt 1, central = cmt 2, peripheral =
cmt 3).  All clearances and volumes are apparent (CL/F, V/F); F = 1.

Where the numbers come from
---------------------------
* **Published** (label, patients at 240 mg QD): CL/F = 281 L/h at steady state
  (day 21; CV 40 %) and 216 L/h after the first dose (CV 34 %); Vss/F = 6433 L
  (CV 19 %); t1/2 7-17 h (patients, single dose), 14.6 h (HV, 7 days); Tmax 2-8 h;
  > 99 % protein bound.
* **Not published** (the sponsor's PPK table in the FDA review of NDA 208051 could
  not be retrieved): the Vc/Vp split, Q, ka and tlag.  They are **calibrated**
  by ``scripts/calibrate_neratinib.py`` (scipy ``least_squares``, 40 seeded
  starts) so that 240 mg QD reproduces at steady state

  ===========  =========  ==========  ==================================================
  metric       target     achieved    basis
  ===========  =========  ==========  ==================================================
  Cmax,ss      67.1 ng/mL 67.1 ng/mL  loperamide-DDI near-SS Cmax 61.2 ng/mL (HV, CL/F
                                      308 L/h) scaled to CL/F 281 L/h; range 61-85
  Tmax,ss      5.0 h      5.00 h      middle of the label 2-8 h (pk.md 4-6 h)
  t1/2         16.5 h     16.50 h     middle of 15-18 h; ln 2 / beta
  Vss/F        6433 L     6433 L      label
  AUCtau,ss    854        854.1       = 240 mg / 281 L/h, exact (linear model)
  ===========  =========  ==========  ==================================================

  Four targets and five unknowns leave a one-parameter family of exact fits; a
  weak ridge (weight 0.01 on log-parameters) towards the earlier helper values
  (Vc 2000, Q 900, Vp 4400, ka 0.25, tlag 1.5; Cmax,ss only 50 ng/mL) picks one.
  The fitted values are rounded to 4 significant digits.  Steady-state Ctrough
  (pre-dose) is 24.2 ng/mL.

  The lag is long (4.2 h) and ka fast (1.9 1/h): with a single first-order input
  the only way to put the peak at 5 h and keep Cmax/Cavg ≈ 1.9 with t1/2 16.5 h
  is a delayed, sharp input.  A transit-compartment absorption would give the
  same peak with a smoother onset; it is not used because the brief fixes the
  structure (first-order with lag) and no data constrain the transit count.

Known limitation (day 1).  The calibrated model, with constant CL = 281 L/h,
gives a day-1 AUC0-24 of 489 ng·h/mL and Cmax of 47.5 ng/mL; published day-1
AUC0-24 values at 240 mg are 823 (patients, Wong 2009) and 891 ng·h/mL (HV,
Abbas 2012).  The time-varying clearance below raises the model's day-1 AUC0-24
only to 533 ng·h/mL.  Day-1 and early-escalation exposure (CONTROL regimen, days
1-14) is therefore likely under-predicted; steady-state exposure, which drives
the trial's response endpoints, is what the set reproduces.

Time-varying clearance.  CL(t) = CL − (CL − CL1)·exp(−kCL·t), t in h since the
first neratinib dose, CL1 = 216 L/h [label], kCL = ln 20 / 504 h = 0.005944 1/h
(assumed: 95 % of the change complete by day 21, the label's steady-state day).
**Default off** (``use_time_varying_cl=False``), because (i) its time course is a
guess (mechanism unknown, kCL unpublished); (ii) it changes steady-state exposure
not at all and day-1 AUC by only +9 % in this model; (iii) a constant CL keeps the
model linear and time-invariant, so the closed-form superposition path applies;
(iv) the day-1 literature is itself inconsistent (single-dose CL/F 154 L/h in HV
with lansoprazole vs 216 L/h in patients).  Scenarios about the first weeks (e.g.
the CONTROL escalation) may switch it on; the individual CL1 shares the CL eta.

Variability.  Log-normal: CL (and CL1) CV 40 %, Vc and Vp one shared eta with
CV 19 % (so Vss has the label's CV), ka CV 50 %.  The label CVs are NCA
between-subject CVs, not popPK omegas, and the ka CV is a guess: all flagged
``assumed``.  No correlation is published: etas independent.

Covariates (optional): body weight on CL, CL1, Q (exponent 0.75) and Vc, Vp
(exponent 1), reference 70 kg (the FDA E-R "typical patient").  The sponsor's PPK
model had body weight as a covariate, but its form and size are unknown: the
exponents are the allometric defaults, assumed.

References
----------
NERLYNX (neratinib) US prescribing information, Clinical Pharmacology 12.3.
FDA multidisciplinary review, NDA 208051 (2017).
Wong KK et al., Clin Cancer Res 2009;15:2552 (PMID 19318484).
Loperamide DDI study, Cancer Chemother Pharmacol 2019;84(5):1125-1132.
Keyvanjah K et al., Br J Clin Pharmacol 2017 (lansoprazole DDI).
pkpd research notes: shared/reference/pk.md, section 1.
"""

from __future__ import annotations

from pkpd.models.drugs.base import IIV, CovariateEffect, DrugPK, TimeVaryingClearance
from pkpd.models.spec import Parameter

__all__ = ["NERATINIB"]

_CALIB = ("calibrated [D] by scripts/calibrate_neratinib.py to 240 mg QD steady-state "
          "Cmax 67.1 ng/mL, Tmax 5 h, t1/2 16.5 h, Vss/F 6433 L (not published; "
          "sponsor PPK table not retrieved)")

NERATINIB = DrugPK(
    name="neratinib",
    structure="pk2cmt_oral",
    parameters=(
        Parameter("CL", 281.0, "L/h", "apparent clearance CL/F at steady state (day 21)",
                  source="[V] NERLYNX USPI 12.3: CL/F 281 L/h (CV 40%) in patients at day 21, 240 mg QD"),
        Parameter("Vc", 2544.0, "L", "apparent central volume Vc/F", source=_CALIB, assumed=True),
        Parameter("Q", 2639.0, "L/h", "apparent inter-compartmental clearance Q/F", source=_CALIB, assumed=True),
        Parameter("Vp", 3889.0, "L", "apparent peripheral volume Vp/F",
                  source=_CALIB + "; Vc + Vp = 6433 L = label Vss/F [V]", assumed=True),
        Parameter("KA", 1.938, "1/h", "first-order absorption rate constant", source=_CALIB, assumed=True),
    ),
    tlag=Parameter("tlag", 4.21, "h", "absorption lag time",
                   source=_CALIB + "; long lag + fast KA = delayed sharp input (see module docstring)",
                   assumed=True),
    F=Parameter("F", 1.0, "1", "bioavailability applied to the dose (parameters are apparent, CL/F, V/F)",
                source="convention: CL and V are apparent (CL/F, V/F) so F = 1; absolute F unknown "
                       "(no IV formulation). Relative F changes (food, PPIs, antidiarrheals) are scenario inputs",
                assumed=True),
    mw=Parameter("MW", 557.04, "g/mol", "molecular weight of the free base C30H29ClN6O3",
                 source="formula C30H29ClN6O3 [V drugs.com]; maleate 673.11 g/mol [V label] minus maleic "
                        "acid 116.07 = 557.04; 1 ng/mL = 1.795 nM"),
    fu=Parameter("fu", 0.01, "1", "unbound fraction in plasma",
                 source="assumed [D]: label says >99% bound (albumin, AAG), concentration-independent; "
                        "0.01 is the upper bound, no exact value published",
                 assumed=True),
    iiv=(
        IIV("CL", ("CL", "CL1"), 0.40,
            source="label CV of CL/F at day 21 (40%) [V]; an NCA between-subject CV, not a popPK omega",
            assumed=True),
        IIV("V", ("Vc", "Vp"), 0.19,
            source="label CV of Vss/F (19%) [V], one shared eta on Vc and Vp; NCA CV, not a popPK omega",
            assumed=True),
        IIV("KA", ("KA",), 0.50,
            source="guess: ka IIV not published; 50% is typical of oral popPK models", assumed=True),
    ),
    correlation=None,
    covariates=(
        CovariateEffect("WT", ("CL", "CL1", "Q"), "power", 70.0,
                        Parameter("WT_on_CL", 0.75, "1", "allometric exponent of body weight on CL, CL1, Q",
                                  source="assumed: allometric default; WT was a covariate of the sponsor PPK "
                                         "model [V FDA review] but its form was not retrieved; "
                                         "reference 70 kg = FDA E-R typical patient [V]",
                                  assumed=True),
                        "kg"),
        CovariateEffect("WT", ("Vc", "Vp"), "power", 70.0,
                        Parameter("WT_on_V", 1.0, "1", "allometric exponent of body weight on Vc, Vp",
                                  source="assumed: allometric default (see WT_on_CL)", assumed=True),
                        "kg"),
    ),
    time_varying_cl=TimeVaryingClearance(
        CL1=Parameter("CL1", 216.0, "L/h", "apparent clearance CL/F after the first dose",
                      source="[V] NERLYNX USPI 12.3: CL/F 216 L/h (CV 34%) after the first 240 mg dose"),
        kCL=Parameter("kCL", 0.005944, "1/h", "rate constant of the change from CL1 to CL",
                      source="assumed: ln(20)/504 h, i.e. 95% of the change by day 21 (label steady-state "
                             "day); time course not published",
                      assumed=True),
    ),
    use_time_varying_cl=False,
    F_absolute=None,
    description="Neratinib 2-cmt oral PK with lag; CL/F, Vss/F from the label, Vc/Q/Vp/ka/tlag "
                "calibrated to steady-state exposure at 240 mg QD.",
    label_max_dose_mg=240.0,
    label_max_dose_source="NERLYNX USPI: 240 mg once daily (pk.md §1.2)",
    references=(
        "NERLYNX (neratinib) USPI, section 12.3",
        "FDA multidisciplinary review NDA 208051 (2017)",
        "Wong KK et al. Clin Cancer Res 2009 (PMID 19318484)",
        "Cancer Chemother Pharmacol 2019;84(5):1125-1132 (loperamide DDI)",
    ),
)
