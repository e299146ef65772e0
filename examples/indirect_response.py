"""Oral one-compartment PK driving an indirect-response (turnover) model: a pkpd user model.

Run it from a scenario with ``model: indirect_response.py:INDIRECT_RESPONSE``
(see ``examples/user_model.yaml`` and ``docs/user_models.md``).

PK: first-order absorption from a gut depot (bioavailability F1) into one
compartment with linear clearance.  PD: Jusko's indirect-response model I, inhibition
of the production of a response R (Dayneka et al. 1993):

    dR/dt = kin * (1 - IMAX * C / (IC50 + C)) - KOUT * R,     kin = KOUT * R0,

written for the response relative to its baseline, RREL = R / R0 (initial value 1,
whatever R0 is), so the initial state does not depend on the parameters:

    dRREL/dt = KOUT * (1 - IMAX * C / (IC50 + C) - RREL).

States: DEPOT (mg), CENT (mg), RREL (1).  Outputs: CP = CENT / V (mg/L) and
R = R0 * RREL (the response in its own unit, here U/L).  Time is in h.

The parameter values are illustrative (a drug with a 7 h half-life inhibiting a
biomarker with a 7 h turnover half-life), not estimates for any real drug; each says so
in its source and is marked ``assumed``.

Reference
---------
Dayneka NL, Garg V, Jusko WJ. Comparison of four basic models of indirect
pharmacodynamic responses. J Pharmacokinet Biopharm 1993;21(4):457-478.
"""

from __future__ import annotations

from numba import njit

from pkpd.models import ModelSpec, Output, Parameter, State

ILLUSTRATIVE = "illustrative value for this example, not an estimate for a real drug"
REFERENCE = ("Dayneka NL, Garg V, Jusko WJ. Comparison of four basic models of indirect pharmacodynamic "
             "responses. J Pharmacokinet Biopharm 1993;21(4):457-478")

# Parameter order = the order of p in the right-hand side.
CL, V, KA, F1, IMAX, IC50, KOUT, R0 = range(8)


@njit(cache=True)
def rhs(t, y, p, dydt):
    """d/dt of [DEPOT (mg), CENT (mg), RREL (1)] per h; p = [CL, V, KA, F1, IMAX, IC50, KOUT, R0]."""
    absorption = p[KA] * y[0]
    c = y[1] / p[V]                                   # plasma concentration, mg/L
    inhibition = p[IMAX] * c / (p[IC50] + c)
    dydt[0] = -absorption
    dydt[1] = absorption - p[CL] * c
    dydt[2] = p[KOUT] * (1.0 - inhibition - y[2])


def outputs(y, p):
    """CP (mg/L) and R (U/L) from states y (..., 3) and parameters p (..., 8)."""
    return {"CP": y[..., 1] / p[..., V], "R": p[..., R0] * y[..., 2]}


INDIRECT_RESPONSE = ModelSpec(
    name="indirect_response",
    states=(
        State("DEPOT", "mg", "amount in the gut depot (doses go here: compartment 1)"),
        State("CENT", "mg", "amount in the central compartment"),
        State("RREL", "1", "response relative to its baseline, R / R0", initial=1.0),
    ),
    parameters=(
        Parameter("CL", 5.0, "L/h", "clearance", ILLUSTRATIVE, assumed=True, lower=0.0),
        Parameter("V", 50.0, "L", "volume of distribution", ILLUSTRATIVE, assumed=True, lower=1e-6),
        Parameter("KA", 1.0, "1/h", "first-order absorption rate constant", ILLUSTRATIVE, assumed=True, lower=0.0),
        Parameter("F1", 0.8, "1", "oral bioavailability (of doses into compartment 1, DEPOT)", ILLUSTRATIVE,
                  assumed=True, lower=0.0, upper=1.0),
        Parameter("IMAX", 0.9, "1", "maximal fractional inhibition of response production", ILLUSTRATIVE,
                  assumed=True, lower=0.0, upper=1.0),
        Parameter("IC50", 0.5, "mg/L", "concentration giving half of IMAX", ILLUSTRATIVE, assumed=True,
                  lower=1e-12),
        Parameter("KOUT", 0.1, "1/h", "first-order loss rate constant of the response", ILLUSTRATIVE,
                  assumed=True, lower=0.0),
        Parameter("R0", 100.0, "U/L", "baseline response (kin / KOUT)", ILLUSTRATIVE, assumed=True, lower=0.0),
    ),
    rhs=rhs,
    outputs=(
        Output("CP", "mg/L", "plasma concentration, CENT / V"),
        Output("R", "U/L", "response, R0 * RREL"),
    ),
    output_fn=outputs,
    description="Oral one-compartment PK with an indirect-response model I (inhibition of production).",
    references=(REFERENCE,),
)
