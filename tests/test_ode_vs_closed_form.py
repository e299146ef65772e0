"""Every library model through pkpd's ODE path against its closed form, for every dosing kind.

pkpd.simulate (event-driven driver, solver at rtol 1e-10, atol 1e-12 mg) versus the
superposition closed forms of pkpd.solvers.linear (which are verified on their own against
40-digit matrix exponentials): central concentrations must agree to 1e-8 relative.  The
global error of an adaptive solver is a modest multiple of its local tolerance; 100x rtol
is ample and still far below anything a user would notice.
"""

from __future__ import annotations

import numpy as np
import pytest

from pkpd.dosing import Dose
from pkpd.models import LINEAR_MODELS, get_model, micro_constants
from pkpd.simulate import simulate
from pkpd.solvers.linear import superposition

PARAMS = {
    "pk1cmt": dict(CL=2.0, V=15.0),
    "pk1cmt_oral": dict(CL=2.0, V=15.0, KA=0.9),
    "pk2cmt": dict(CL=2.0, Vc=15.0, Q=3.0, Vp=40.0),
    "pk2cmt_oral": dict(CL=2.0, Vc=15.0, Q=3.0, Vp=40.0, KA=0.9),
}


def _regimens(dose_cmts):
    """(name, doses) for bolus, short infusion, infusion longer than the interval, ADDL, into each cmt."""
    out = []
    for cmt in dose_cmts:
        out += [
            (f"bolus cmt{cmt}", [Dose(0, 100, cmt), Dose(30, 50, cmt)]),
            (f"infusion cmt{cmt}", [Dose(2, 120, cmt, rate=40)]),
            (f"overlapping infusions cmt{cmt}", [Dose(0, 100, cmt, rate=5, ii=12, addl=3)]),
            (f"ADDL bolus cmt{cmt}", [Dose(0, 80, cmt, ii=24, addl=3)]),
        ]
    return out


def _explicit(doses):
    """Doses as rows (time, cmt, amount, duration) with ADDL written out."""
    rows = []
    for d in doses:
        for k in range(d.addl + 1):
            rows.append((d.time + k * d.ii, d.cmt, d.amt, d.amt / d.rate if d.rate > 0 else 0.0))
    return np.array(rows, float)


CASES = [(name, label, doses) for name in PARAMS
         for label, doses in _regimens([1, 2] if name.endswith("oral") else [1])]


@pytest.mark.parametrize("model, label, doses", CASES, ids=[f"{m}-{lab}" for m, lab, _ in CASES])
def test_ode_path_matches_closed_form(model, label, doses):
    spec = get_model(model)
    lin = LINEAR_MODELS[model]
    p = spec.pack(PARAMS[model])
    t = np.linspace(0, 96, 385)
    ds = simulate(spec, doses, t, params=PARAMS[model], solver=dict(rtol=1e-10, atol=1e-12))
    cp = ds["CP"].values
    ref = superposition(lin.structure, micro_constants(model, p), p[lin.volume], _explicit(doses), t)
    np.testing.assert_allclose(cp, ref, rtol=1e-8, atol=1e-12)
