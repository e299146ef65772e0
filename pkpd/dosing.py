"""Dosing records with NONMEM semantics.

A :class:`Dose` is one NONMEM-style event record (TIME, EVID, AMT, CMT, RATE, II,
ADDL, SS).  Times are in h, amounts in mg (or the model's amount unit), rates in
mg/h, compartments are 1-based as in NONMEM data sets.
"""

from __future__ import annotations

from dataclasses import dataclass

from pkpd.errors import DataError

__all__ = ["Dose"]

EVID_OBS, EVID_DOSE, EVID_OTHER, EVID_RESET, EVID_RESET_DOSE = 0, 1, 2, 3, 4


@dataclass(frozen=True)
class Dose:
    """One dosing (or reset) record.

    time : h; amt : mg; cmt : 1-based compartment; rate : mg/h for a zero-order
    infusion (0 = bolus, -1 = rate modeled by the model's R, -2 = duration
    modeled by D); ii : dosing interval, h; addl : number of additional doses
    every ``ii``; ss : 0, 1 (steady state, reset first) or 2 (steady state added
    to the current state); evid : 1 dose, 3 reset, 4 reset and dose.
    """

    time: float
    amt: float
    cmt: int
    rate: float = 0.0
    ii: float = 0.0
    addl: int = 0
    ss: int = 0
    evid: int = EVID_DOSE

    def __post_init__(self):
        if self.evid not in (EVID_DOSE, EVID_RESET, EVID_RESET_DOSE):
            raise DataError("evid", "a Dose must have evid 1, 3 or 4", self.evid)
        if self.time < 0 or self.time != self.time:
            raise DataError("time", "must be >= 0 h", self.time)
        if self.amt < 0 or self.amt != self.amt:
            raise DataError("amt", "must be >= 0", self.amt)
        if self.cmt < 1:
            raise DataError("cmt", "must be a 1-based compartment number >= 1", self.cmt)
        if not (self.rate >= 0 or self.rate in (-1.0, -2.0)):
            raise DataError("rate", "must be >= 0, -1 (modeled rate) or -2 (modeled duration)", self.rate)
        if self.ii < 0 or self.addl < 0:
            raise DataError("ii" if self.ii < 0 else "addl", "must be >= 0", self.ii if self.ii < 0 else self.addl)
        if self.addl > 0 and self.ii <= 0:
            raise DataError("ii", "must be > 0 h when addl > 0", self.ii)
        if self.ss not in (0, 1, 2):
            raise DataError("ss", "must be 0, 1 or 2", self.ss)
        if self.ss and self.ii <= 0 and not (self.rate > 0 and self.amt == 0):
            raise DataError("ii", "must be > 0 h for a steady-state dose (SS=1/2), "
                            "unless it is a constant infusion (AMT=0, RATE>0)", self.ii)
