"""Ruxolitinib (JAKAFI / JAKAVI, INCB018424): population-PK parameter set.

Structure: **one** compartment, first-order absorption, no lag, linear
elimination (``pk1cmt_oral``: depot = cmt 1, central = cmt 2).  Clearance and
volume are apparent (CL/F, V/F); F = 1.

Why one compartment.  The published popPK model (Chen et al. 2013) is
two-compartment, but its Vc/F, Q/F and Vp/F could not be retrieved.  What is
available (CL/F 17.7 L/h in women, Vss 72 L, t1/2 ≈ 3 h, Tmax ≈ 1 h, single-dose
Cmax 205 nM at 5 mg) is all consistent with one compartment: t1/2 = ln 2 · V/CL =
2.82 h (label ≈ 3 h), and V = Vss keeps the steady-state average and the
accumulation right.  A 2-cmt split would add two parameters no datum constrains.
What is lost: the early distribution phase, so the peak is somewhat lower and the
12-h trough somewhat higher than in the 2-cmt model.

Bioavailability.  Oral absorption is >= 95 % (label).  Because CL/F and V/F are
apparent (estimated from oral data), F = 1 is applied to the dose; applying 0.95
on top would double-count it.  The absolute value is kept in ``F_absolute`` for
information (true CL = 0.95 · 17.7 = 16.8 L/h).

Checks (typical female patient, ``tests/test_drugs.py``): single-dose 5 mg
Cmax = 181 nM at Tmax 0.91 h vs the label mean 205 nM (−12 %); exposure is
exactly dose-proportional over 5-200 mg (linear model; label: dose-proportional).

Variability.  Log-normal: CL/F CV 39 %, V/F CV 29 % (label % CV values, recalled
[M], and NCA/label CVs rather than popPK omegas), ka CV 50 % (guess).  All
flagged ``assumed``.  No correlation published: etas independent.

Covariates (optional).  Sex on CL/F: men 22.1 L/h vs women 17.7 L/h (label), a
factor 1.2486 for SEX = 1 (male) over the female typical value (the mTNBC
population is female, so the typical value is the female one).  Body weight on
V/F (Chen 2013 [M]), exponent 1 assumed, reference 72.9 kg (median weight in the
popPK data set [V]).  No weight effect is put on CL, because the sex effect
already carries part of it.

References
----------
JAKAFI (ruxolitinib) US prescribing information, section 12.3.
Chen X, Williams WV, Sandor V, Yeleswaram S. J Clin Pharmacol 2013;53(7):721-730.
Appeldoorn TYJ et al. Clin Pharmacokinet 2023 (PMC10064968).
Shi JG et al. J Clin Pharmacol 2011;51:1644-1654.
pkpd research notes: shared/reference/pk.md, section 2.
"""

from __future__ import annotations

from pkpd.models.drugs.base import IIV, CovariateEffect, DrugPK
from pkpd.models.spec import Parameter

__all__ = ["RUXOLITINIB"]

RUXOLITINIB = DrugPK(
    name="ruxolitinib",
    structure="pk1cmt_oral",
    parameters=(
        Parameter("CL", 17.7, "L/h", "apparent clearance CL/F, typical woman",
                  source="[V] JAKAFI USPI 12.3 / Chen 2013: CL/F 17.7 L/h in women, 22.1 L/h in men (MF)"),
        Parameter("V", 72.0, "L", "apparent volume of distribution V/F (= Vss of the 1-cmt model)",
                  source="[V] JAKAFI USPI 12.3: mean Vss 72 L in MF; used as the 1-cmt V (Vc/Vp split of "
                         "the 2-cmt popPK model not retrieved)"),
        Parameter("KA", 3.0, "1/h", "first-order absorption rate constant",
                  source="assumed [M]: not retrieved; 'fast, of order 2-6 1/h' (pk.md); 3 1/h gives "
                         "Tmax 0.91 h (label: peak within ~1 h; HV Japanese 0.5 h)",
                  assumed=True),
    ),
    tlag=Parameter("tlag", 0.0, "h", "absorption lag time",
                   source="assumed: no lag reported; peak within ~1 h (label)", assumed=True),
    F=Parameter("F", 1.0, "1", "bioavailability applied to the dose (parameters are apparent, CL/F, V/F)",
                source="convention: CL and V are apparent (CL/F, V/F) so F = 1; absolute F >= 0.95 [V label] "
                       "is already inside CL/F and V/F"),
    mw=Parameter("MW", 306.37, "g/mol", "molecular weight of the free base C17H18N6",
                 source="[V] MW 306.4 (ligand table); C17H18N6 by standard atomic weights = 306.37; "
                        "1 ng/mL = 3.264 nM; tablet strengths are free base"),
    fu=Parameter("fu", 0.03, "1", "unbound fraction in plasma",
                 source="[V] JAKAFI USPI 12.3: 97% bound, mostly to albumin; fu = 1 - 0.97"),
    iiv=(
        IIV("CL", ("CL",), 0.39,
            source="[M] label %CV of CL/F (recalled as 39%, not verified); a label CV, not a popPK omega",
            assumed=True),
        IIV("V", ("V",), 0.29,
            source="[M] label %CV of Vss in MF (recalled as 29%, not verified); a label CV, not a popPK omega",
            assumed=True),
        IIV("KA", ("KA",), 0.50,
            source="guess: ka IIV not published; 50% is typical of oral popPK models", assumed=True),
    ),
    correlation=None,
    covariates=(
        CovariateEffect("SEX", ("CL",), "factor", 0.0,
                        Parameter("SEX_on_CL", 22.1 / 17.7, "1", "CL/F ratio men/women (SEX = 1 male, 0 female)",
                                  source="[V] ratio of label CL/F 22.1 L/h (men) / 17.7 L/h (women)"),
                        "1"),
        CovariateEffect("WT", ("V",), "power", 72.9,
                        Parameter("WT_on_V", 1.0, "1", "exponent of body weight on V/F",
                                  source="assumed: weight affects V/F in Chen 2013 [M]; exponent 1 is the "
                                         "allometric default; reference 72.9 kg = median weight [V]",
                                  assumed=True),
                        "kg"),
    ),
    F_absolute=Parameter("F_absolute", 0.95, "1", "absolute oral bioavailability (information only)",
                         source="[V] JAKAFI USPI 12.3: oral absorption >= 95%; not applied (CL, V apparent)"),
    description="Ruxolitinib 1-cmt oral PK; CL/F (female) and Vss from the label, ka assumed.",
    label_max_dose_mg=25.0,
    label_max_dose_source="JAKAFI USPI: at most 25 mg twice daily (pk.md §2.2)",
    references=(
        "JAKAFI (ruxolitinib) USPI, section 12.3",
        "Chen X et al. J Clin Pharmacol 2013;53(7):721-730",
        "Appeldoorn TYJ et al. Clin Pharmacokinet 2023 (PMC10064968)",
        "Shi JG et al. J Clin Pharmacol 2011;51:1644-1654",
    ),
)
