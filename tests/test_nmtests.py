"""NONMEM equivalence: the mrgsolve project's dosing acceptance suite (nmtests 1001).

``1001.csv`` holds 29 dosing scenarios (bolus, infusion, modeled rate and duration,
lag, bioavailability, SS=1/2, resets EVID 3/4); ``1001-nm.csv`` the CP that NONMEM 7
simulated for every record with ADVAN2 TRANS2 (CL 1.1 L/h, V 20 L, KA 1.5 /h;
ALAG2 = LAGT, F2 = BIOAV, R2 = RAT2 when MODE = 1, D2 = DUR2 when MODE = 2;
CP = A(2)/(V/1000)).  The files are read from ../shared, never copied here.

Tolerance: NONMEM printed five significant digits, so a correct simulation can
differ from the printed value by half a unit in the fifth digit, i.e. up to
5e-5 relative; we demand 1e-4 relative or 1e-6 absolute (for zeros), with the
solver at rtol 1e-10 so its own error is negligible against that.
"""

from __future__ import annotations

import csv

import numpy as np
import pytest

from pkpd.data import read_nonmem
from pkpd.models import get_model
from pkpd.simulate import simulate_data

V = 20.0


def nmtest_modifiers(rec, p):
    """The $PK of the NONMEM run: F2, ALAG2, R2 and D2 from data columns (compartment 2 only)."""
    two = rec["cmt"] == 2
    return dict(
        F=np.where(two, rec["BIOAV"], 1.0),
        ALAG=np.where(two, rec["LAGT"], 0.0),
        R=np.where(two & (rec["MODE"] == 1), rec["RAT2"], np.nan),
        D=np.where(two & (rec["MODE"] == 2), rec["DUR2"], np.nan),
    )


@pytest.fixture(scope="module")
def nm(shared_dir):
    folder = shared_dir / "reference" / "nmtests"
    data = read_nonmem(folder / "1001.csv")
    with open(folder / "1001-nm.csv") as fh:
        ref = list(csv.DictReader(fh))
    with open(folder / "1001-run-key.csv") as fh:
        key = {int(r["ID"]): r["descr"] for r in csv.DictReader(fh)}
    cp_ref = np.array([float(r["CP"]) for r in ref])
    assert np.array_equal(np.array([float(r["ID"]) for r in ref]), data.columns["ID"])
    return data, cp_ref, key


# rodas3 is of order 3: rtol 1e-10 would take millions of steps; at 1e-8 its error is still
# two orders of magnitude below the comparison tolerance (1e-4 relative, 1e-6 absolute).
SOLVER = {"dopri5": dict(rtol=1e-10, atol=1e-12), "radau5": dict(rtol=1e-10, atol=1e-12),
          "rodas3": dict(rtol=1e-8, atol=1e-10, max_steps=1_000_000)}


@pytest.mark.parametrize("method", ["dopri5", "radau5", "rodas3"])
def test_every_scenario_matches_nonmem(nm, method):
    data, cp_ref, key = nm
    ds = simulate_data(get_model("pk1cmt_oral"), data, params=dict(CL=1.1, V=V, KA=1.5),
                       dose_modifiers=nmtest_modifiers, solver=dict(method=method, **SOLVER[method]))
    cp = ds["CENT"].values / (V / 1000.0)
    ok = (np.abs(cp - cp_ref) <= 1e-6) | (np.abs(cp - cp_ref) <= 1e-4 * np.abs(cp_ref))
    failures = []
    for ident in np.unique(data.columns["ID"][~ok]):
        rows = np.flatnonzero((data.columns["ID"] == ident) & ~ok)
        failures.append(f"ID {ident:g} ({key[int(ident)]}): {rows.size} rows, first at TIME "
                        f"{data.columns['TIME'][rows[0]]:g}: {cp[rows[0]]:.6g} vs NONMEM {cp_ref[rows[0]]:.6g}")
    assert not failures, "\n".join(failures)
    assert len(np.unique(data.columns["ID"])) == 29
