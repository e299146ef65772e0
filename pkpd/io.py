"""Writing and reading results, atomically: a file appears complete or not at all.

Every writer puts its output in a temporary file beside the target and renames it
into place (``os.replace``) only when complete; on any failure (including
KeyboardInterrupt) the temporary file is removed.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import xarray as xr

from pkpd.errors import InputError

__all__ = ["atomic_path", "write_dataset", "read_dataset", "write_tidy_csv", "write_records", "FORMATS"]

FORMATS = ("netcdf", "zarr")


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, directory: bool = False):
    """Yield a temporary path beside ``target``; rename it to ``target`` if the block succeeds."""
    target = Path(target)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise InputError("output", f"folder {str(folder)!r} does not exist", show_value=False)
    prefix = f".{target.name}."
    tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=folder)) if directory else None
    if not directory:
        fd, name = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=folder)
        os.close(fd)
        tmp = Path(name)
    try:
        yield tmp
        if not directory:  # mkstemp creates 0600; give the file the usual permissions
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        if directory and target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()
        raise


def _encodable(ds: xr.Dataset) -> xr.Dataset:
    """Attributes that NetCDF can store (lists -> arrays, bools -> ints, None -> '')."""
    out = ds.copy()
    for obj in [out, *out.variables.values()]:
        for k, v in list(obj.attrs.items()):
            if isinstance(v, bool):
                obj.attrs[k] = int(v)
            elif v is None:
                obj.attrs[k] = ""
            elif isinstance(v, (list, tuple)):
                obj.attrs[k] = np.asarray(v)
            elif isinstance(v, dict):
                obj.attrs[k] = json.dumps(v)
    return out


def write_dataset(ds: xr.Dataset, path: str | os.PathLike, fmt: str = "netcdf") -> Path:
    """Write ``ds`` to NetCDF-4 (h5netcdf engine: no system library needed) or Zarr, atomically."""
    if fmt not in FORMATS:
        raise InputError("format", "must be one of " + ", ".join(FORMATS), fmt)
    ds = _encodable(ds)
    if fmt == "zarr":
        try:
            import zarr  # noqa: F401
        except ImportError:
            raise InputError("format", "zarr output needs the zarr package (pip install zarr)",
                             show_value=False) from None
        with atomic_path(path, directory=True) as tmp:
            ds.to_zarr(tmp, mode="w")
    else:
        with atomic_path(path) as tmp:
            ds.to_netcdf(tmp, engine="h5netcdf")
    return Path(path)


def read_dataset(path: str | os.PathLike) -> xr.Dataset:
    """Open a result written by :func:`write_dataset` (NetCDF file or Zarr folder), loaded into memory."""
    path = Path(path)
    if not path.exists():
        raise InputError(str(path), "file not found", show_value=False)
    try:
        if path.is_dir():
            ds = xr.open_zarr(path).load()
        else:
            with xr.open_dataset(path, engine="h5netcdf") as f:
                ds = f.load()
    except Exception as err:  # any reader failure means: not a result we can read
        raise InputError(str(path), f"cannot be read as a pkpd result ({type(err).__name__})",
                         show_value=False) from None
    if "pkpd_version" not in ds.attrs:
        raise InputError(str(path), "is not a pkpd result (no pkpd_version attribute)", show_value=False)
    return ds


def write_tidy_csv(ds: xr.Dataset, path: str | os.PathLike, variables=None) -> Path:
    """Trajectories as a tidy long table, atomically.

    One row per variable x arm x sweep point x patient x time (x drug); columns
    ``variable``, the dimensions (``drug`` empty where a variable has none, and always for a
    model scenario's result), ``value`` and ``units``.
    """
    names = variables or [k for k, v in ds.data_vars.items() if "time" in v.dims]
    # the row dimensions: those of the widest trajectory (arm, sweep keys, patient, time)
    dims = max(([d for d in ds[k].dims if d != "drug"] for k in names), key=len, default=["time"])
    columns = ["variable", *dims, "drug", "value", "units"]
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(columns)
        for name in names:
            da = ds[name]
            extra = [d for d in da.dims if d not in dims]
            da = da.transpose(*[d for d in dims if d in da.dims], *extra)
            coords = [ds[d].values if d in da.dims else [""] for d in dims] + \
                     [ds[d].values for d in extra] if extra else \
                     [ds[d].values if d in da.dims else [""] for d in dims] + [[""]]
            values = da.values.reshape(-1)
            units = da.attrs.get("units", "")
            for k, idx in enumerate(np.ndindex(*(len(c) for c in coords))):
                w.writerow([name, *(coords[a][i] for a, i in enumerate(idx)), repr(float(values[k])), units])
    return Path(path)


def write_records(records: list[dict], path: str | os.PathLike, fmt: str) -> Path:
    """Write summary records as CSV or JSON, atomically."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        if fmt == "json":
            json.dump(records, fh, indent=1)
        else:
            w = csv.DictWriter(fh, fieldnames=list(records[0]) if records else [])
            w.writeheader()
            w.writerows(records)
    return Path(path)
