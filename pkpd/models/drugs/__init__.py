"""Population-PK parameter sets of the trial's drugs, as data.

``DRUGS`` maps a registry name to its :class:`DrugPK`; :func:`get_drug` resolves a
name (case-insensitive) and lists the valid ones when it is unknown.

>>> get_drug("neratinib").parameter("CL").value
281.0
>>> round(float(get_drug("ruxolitinib").free_nM(0.0628)), 2)   # 62.8 ng/mL total -> nM free
6.15
"""

from __future__ import annotations

from types import MappingProxyType

from pkpd.errors import InputError
from pkpd.models.drugs.base import (
    IIV as IIV,
    STRUCTURES as STRUCTURES,
    CovariateEffect as CovariateEffect,
    DrugPK as DrugPK,
    TimeVaryingClearance as TimeVaryingClearance,
    omega2_from_cv as omega2_from_cv,
)
from pkpd.models.drugs.neratinib import NERATINIB as NERATINIB
from pkpd.models.drugs.ruxolitinib import RUXOLITINIB as RUXOLITINIB

__all__ = [
    # registry
    "DRUGS", "get_drug",
    # parameter sets
    "NERATINIB", "RUXOLITINIB",
    # records
    "DrugPK", "IIV", "CovariateEffect", "TimeVaryingClearance", "STRUCTURES", "omega2_from_cv",
]

DRUGS: MappingProxyType = MappingProxyType({d.name: d for d in (NERATINIB, RUXOLITINIB)})
"""Registry: drug name -> :class:`DrugPK` (read-only)."""


def get_drug(name: str, path: str = "drug") -> DrugPK:
    """The :class:`DrugPK` registered as ``name`` (case-insensitive).

    Raises :class:`pkpd.errors.InputError` ``drug: unknown drug 'x'; valid: neratinib,
    ruxolitinib`` for an unknown name; ``path`` is the field path used in the message.
    """
    if isinstance(name, DrugPK):
        return name
    key = name.strip().lower() if isinstance(name, str) else None
    if key not in DRUGS:
        raise InputError(path, f"unknown drug {name!r}; valid: " + ", ".join(sorted(DRUGS)), show_value=False)
    return DRUGS[key]
