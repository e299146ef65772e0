"""NONMEM-style data sets: reading, validation and per-subject records.

Column names are case-insensitive.  Required: ``ID``, ``TIME``, ``AMT``, ``CMT``.
Optional with NONMEM defaults: ``EVID`` (1 where AMT > 0, else 0), ``RATE``, ``II``,
``ADDL``, ``SS`` (0), ``MDV`` (ignored).  ``.`` means 0 in standard columns, as in
NONMEM, and missing (NaN) in other columns.  Every other column is kept as a
per-record covariate that a model can map to bioavailability F, lag time ALAG,
modeled rate R or duration D (see :func:`pkpd.simulate.simulate_data`).

Errors name the file line (the header is line 1) and the column, e.g.
``line 7 (ID 2), AMT: must be >= 0, got -5``.
"""

from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import dataclass, field

import numpy as np

from pkpd.errors import DataError

__all__ = ["NonmemData", "read_nonmem", "STANDARD_COLUMNS"]

REQUIRED_COLUMNS = ("ID", "TIME", "AMT", "CMT")
STANDARD_COLUMNS = ("ID", "TIME", "EVID", "AMT", "CMT", "RATE", "II", "ADDL", "SS", "MDV")


@dataclass(frozen=True)
class NonmemData:
    """A validated data set: one array per column (upper-case names), in file order.

    ``columns`` holds float64 arrays for numeric columns (and object arrays for text
    columns); ``line`` is the file line of each record.
    """

    columns: dict
    line: np.ndarray
    source: str = "<data>"
    subjects: tuple = field(init=False)

    def __post_init__(self):
        ids = self.columns["ID"]
        order = []
        for value in ids:
            if not order or order[-1] != value:
                order.append(value)
        object.__setattr__(self, "subjects", tuple(dict.fromkeys(order)))

    def __len__(self) -> int:
        return self.line.shape[0]

    def rows_of(self, subject) -> np.ndarray:
        """Indices (into the columns) of the records of ``subject``, in file order."""
        return np.flatnonzero(self.columns["ID"] == subject)

    def subject_records(self, subject) -> dict:
        """The columns restricted to one subject."""
        rows = self.rows_of(subject)
        return {k: v[rows] for k, v in self.columns.items()}


def _where(line, ident):
    return f"line {line} (ID {ident:g})" if isinstance(ident, float) else f"line {line}"


def _parse_column(name: str, raw: list[str], lines: np.ndarray):
    standard = name in STANDARD_COLUMNS
    out = np.empty(len(raw))
    for i, text in enumerate(raw):
        s = text.strip()
        if s in (".", ""):
            out[i] = 0.0 if standard else math.nan
            continue
        try:
            out[i] = float(s)
        except ValueError:
            if standard:
                raise DataError(f"line {lines[i]}, {name}", "must be a number", repr(text)) from None
            return np.array(raw, dtype=object)  # a text covariate: kept as is
    return out


def read_nonmem(source) -> NonmemData:
    """Read and validate a NONMEM-style CSV data set.

    Parameters
    ----------
    source : path to a CSV file, or a file-like object / text with the CSV content.

    Raises
    ------
    DataError
        Missing required column, non-numeric standard value, decreasing TIME within an
        ID, negative AMT, non-integer CMT/EVID/ADDL/SS, EVID outside {0,1,2,3,4},
        RATE other than >= 0, -1, -2, SS outside {0,1,2}, SS on a bolus with II = 0,
        ADDL > 0 with II = 0.
    """
    if isinstance(source, (str, os.PathLike)) and os.path.exists(source):
        name = str(source)
        with open(source, newline="", encoding="utf-8-sig") as fh:
            text = fh.read()
    elif hasattr(source, "read"):
        name, text = getattr(source, "name", "<stream>"), source.read()
    elif isinstance(source, (str, os.PathLike)) and "\n" not in str(source):
        raise DataError("data", "file not found", str(source))
    else:
        name, text = "<text>", str(source)
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise DataError("data", "the data set is empty", name) from None
    header = [h.strip().upper() for h in header]
    dup = sorted({h for h in header if header.count(h) > 1})
    if dup:
        raise DataError("data", f"duplicate column names {dup}", name, show_value=False)
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise DataError(f"column {missing[0]}", "required column missing (found: " + ", ".join(header) + ")",
                        show_value=False)
    rows, lines = [], []
    for lineno, row in enumerate(reader, start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if row[0].strip().startswith(("#", "@")) or row[0].strip() == "C":
            continue  # NONMEM IGNORE=@ / IGNORE=C comment records
        if len(row) != len(header):
            raise DataError(f"line {lineno}", f"has {len(row)} fields, the header has {len(header)}",
                            show_value=False)
        rows.append(row)
        lines.append(lineno)
    if not rows:
        raise DataError("data", "the data set has no records", name)
    line = np.array(lines)
    columns = {h: _parse_column(h, [r[j] for r in rows], line) for j, h in enumerate(header)}
    n = len(rows)
    for c, default in (("RATE", 0.0), ("II", 0.0), ("ADDL", 0.0), ("SS", 0.0)):
        columns.setdefault(c, np.full(n, default))
    if "EVID" not in columns:
        columns["EVID"] = np.where(columns["AMT"] > 0, 1.0, 0.0)
    _validate(columns, line)
    return NonmemData(columns=columns, line=line, source=name)


def _validate(c: dict, line: np.ndarray) -> None:
    ident = c["ID"]
    for k in range(len(line)):
        where = _where(line[k], ident[k])

        def bad(col, msg, value):
            raise DataError(f"{where}, {col}", msg, f"{value:g}")

        if not np.isfinite(ident[k]):
            raise DataError(f"line {line[k]}, ID", "must be a finite number", f"{ident[k]:g}")
        if not np.isfinite(c["TIME"][k]) or c["TIME"][k] < 0:
            bad("TIME", "must be a finite time >= 0 h", c["TIME"][k])
        if k > 0 and ident[k] == ident[k - 1] and c["TIME"][k] < c["TIME"][k - 1]:
            raise DataError(f"{where}, TIME", f"decreases within ID (previous record at {c['TIME'][k - 1]:g} h)",
                            f"{c['TIME'][k]:g}")
        for col in ("EVID", "CMT", "ADDL", "SS"):
            if not np.isfinite(c[col][k]) or c[col][k] != int(c[col][k]):
                bad(col, "must be an integer", c[col][k])
        for col in ("RATE", "II"):
            if not np.isfinite(c[col][k]):
                bad(col, "must be a finite number", c[col][k])
        evid, amt, rate, ii, ss = c["EVID"][k], c["AMT"][k], c["RATE"][k], c["II"][k], c["SS"][k]
        if evid not in (0, 1, 2, 3, 4):
            bad("EVID", "must be 0 (observation), 1 (dose), 2 (other), 3 (reset) or 4 (reset and dose)", evid)
        if not np.isfinite(amt) or amt < 0:
            bad("AMT", "must be >= 0", amt)
        if evid in (1, 4):
            if c["CMT"][k] < 1:
                bad("CMT", "must be a compartment number >= 1 on a dose record", c["CMT"][k])
            if not (rate >= 0 or rate in (-1, -2)):
                bad("RATE", "must be >= 0, -1 (modeled rate) or -2 (modeled duration)", rate)
            if ii < 0:
                bad("II", "must be >= 0 h", ii)
            if c["ADDL"][k] < 0:
                bad("ADDL", "must be >= 0", c["ADDL"][k])
            if c["ADDL"][k] > 0 and ii <= 0:
                bad("II", "must be > 0 h when ADDL > 0", ii)
            if ss not in (0, 1, 2):
                bad("SS", "must be 0, 1 or 2", ss)
            if ss and ii <= 0 and not (amt == 0 and rate > 0):
                bad("II", "must be > 0 h for a steady-state dose (SS=1/2) unless it is a constant "
                          "infusion (AMT=0, RATE>0)", ii)
            if amt == 0 and not (ss and rate > 0):
                bad("AMT", "must be > 0 on a dose record (EVID 1/4), except a steady-state constant infusion",
                    amt)
