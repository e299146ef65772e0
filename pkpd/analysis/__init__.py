"""Analysis of simulated outputs: exposure (NCA), tumour response (RECIST 1.1) and inhibition.

Pure numpy/scipy functions on arrays with time on the last axis; leading axes
(patients, arms ...) are carried through.  Modules:

* :mod:`pkpd.analysis.exposure`: NCA metrics named by CDISC PP test codes.
* :mod:`pkpd.analysis.response`: RECIST 1.1 per scan, best overall response,
  ORR/DCR with Clopper–Pearson intervals, PFS and DoR with Kaplan–Meier.
* :mod:`pkpd.analysis.inhibition`: pathway inhibition vs control, TGI, Bliss
  and HSA excess.
"""

from pkpd.analysis.exposure import (
    accumulation_ratio as accumulation_ratio,
    auc as auc,
    aucinf_obs as aucinf_obs,
    auclast as auclast,
    auctau as auctau,
    cavg as cavg,
    clast as clast,
    cmax as cmax,
    cmin as cmin,
    ctrough as ctrough,
    lambda_z as lambda_z,
    nca as nca,
    time_to_steady_state as time_to_steady_state,
    tlast as tlast,
    tmax as tmax,
)
from pkpd.analysis.inhibition import (
    bliss_excess as bliss_excess,
    bliss_expected as bliss_expected,
    hsa_excess as hsa_excess,
    hsa_expected as hsa_expected,
    inhibition as inhibition,
    tgi as tgi,
    time_average as time_average,
)
from pkpd.analysis.response import (
    CR as CR,
    DAYS_PER_MONTH as DAYS_PER_MONTH,
    NE as NE,
    PD as PD,
    PR as PR,
    RESPONSE_LABELS as RESPONSE_LABELS,
    SD as SD,
    KaplanMeier as KaplanMeier,
    RecistResult as RecistResult,
    add_measurement_noise as add_measurement_noise,
    assess_recist as assess_recist,
    classify_assessments as classify_assessments,
    disease_control_rate as disease_control_rate,
    kaplan_meier as kaplan_meier,
    objective_response_rate as objective_response_rate,
    response_labels as response_labels,
    trial_endpoints as trial_endpoints,
)

__all__ = [
    # exposure (NCA)
    "nca", "auc", "auctau", "auclast", "aucinf_obs", "cavg", "cmax", "tmax", "cmin", "ctrough",
    "tlast", "clast", "lambda_z", "accumulation_ratio", "time_to_steady_state",
    # response (RECIST 1.1)
    "NE", "CR", "PR", "SD", "PD", "RESPONSE_LABELS", "DAYS_PER_MONTH", "response_labels",
    "add_measurement_noise", "classify_assessments", "assess_recist", "RecistResult",
    "objective_response_rate", "disease_control_rate", "kaplan_meier", "KaplanMeier", "trial_endpoints",
    # inhibition and combinations
    "time_average", "inhibition", "tgi", "bliss_expected", "bliss_excess", "hsa_expected", "hsa_excess",
]
