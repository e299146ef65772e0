"""Golden tests: every shipped scenario, run as ``pkpd run`` runs it, against stored reference numbers.

What is pinned
--------------
Each shipped scenario (``scenarios/*.yaml`` and ``examples/*.yaml``, found by glob) is run
through the command line, in process: ``pkpd run SCENARIO -o <tmp>/result.nc`` (click's
``CliRunner``; :mod:`pkpd.runner` for every scenario, whose groups are :mod:`pkpd.model_group`'s
for a scenario with a ``model`` key), then ``pkpd summary RESULT --format json``.  Compared with ``tests/golden/<folder>/<name>.json``:

* every variable of the written result file (data variables and coordinates, read back with
  :func:`pkpd.io.read_dataset`): dims, shape, dtype, the ``units`` / ``flag_meanings`` /
  ``sweep_key`` attributes, and a fingerprint of its values (below);
* the Dataset's attributes (strings exactly, numbers as below), except the ones that record
  where or when a run was made: ``elapsed_s``, ``pkpd_version``, ``scenario`` (the YAML text),
  ``scenario_source``, ``scenario_dir``, ``model_file``;
* the summary records of ``pkpd summary --format json`` (the metrics of every arm x sweep point,
  with the trial endpoints ORR, DCR, median DoR and PFS for the virtual trial);
* the tables that ``pkpd run`` prints on stdout (summary, exposure, biopsy panel), token by token.

The fingerprint of a variable (full arrays would be megabytes) is: count of NaN, +inf and -inf
and a hash of where they are; over the finite values min, max, max|x|, sum, sum|x|, sum x^2 and
the projections onto three pseudo-random weight vectors in [-1, 1); and the values at 50 fixed
pseudo-random positions (every value of an array of at most 64).  Weights and positions come
from a counter-based generator (splitmix64) with fixed seeds, computed at test time (not
stored, and independent of NumPy's random streams).  Integer and boolean variables are pinned
exactly (their min, max, sum, a SHA-256 of all values, the sampled values); strings exactly.

Tolerance
---------
Floating-point values must agree to ``RTOL = 1e-9`` relative, with an absolute floor of
``1e-9 * max|x|`` of the variable (from the golden), so that round-off on values near zero (a
concentration decayed to 1e-20, an inhibition of exactly 0 that comes out as 1e-17) does not
fail: an element ``x`` may move by ``1e-9 * (|x| + max|x|)``.  The aggregates are allowed what
that element bound implies, summed over the N finite elements: ``1e-9 * (sum|x| + N max|x|)``
for the sum, sum|x| and the projections (|w| < 1), ``2e-9 * (sum x^2 + max|x| sum|x|)`` for
the sum of squares, the element bound for min, max and max|x|.

Why 1e-9: a pure refactor (generated instead of hand-written kernels, merged scenario stacks)
evaluates the same arithmetic in another order, which changes results by ~1e-15 relative;
the adaptive solvers (dopri5, radau5, rtol 1e-4..1e-6) feed those differences through their
continuous step-size choice and amplify them to roughly 1e-12..1e-10 at the end of a run.
Anything above 1e-9 is a real change: another model, parameter, grid, event handling,
tolerance, or a different discrete decision (an accepted step rejected, a periodic-steady-state
switch made a period earlier), which moves results by about the solver tolerance, orders of
magnitude above 1e-9.  Integers (solver status, step and right-hand-side counts, RECIST
categories, patient counts) must be identical: they are discrete decisions, and a pure
refactor does not change them.

The summary records are rounded by pkpd (built-in metrics to 6 decimals), and the printed tables
show 4 significant digits: a value within 1e-9 of the golden can still round the other way, so a
number there may also differ by one unit of its last shown (stored) digit; the unrounded numbers
behind them are pinned at 1e-9 in the Dataset.

What a fingerprint can miss: a change confined to a few unsampled elements of a large array that
moves no extreme and stays below about N x 1e-9 of the variable's scale in the sums.  Any change
of a parameter, dose, grid or solver setting moves whole variables and is caught.

Regenerating
------------
After an intended change of the numbers (or for a new shipped scenario)::

    PKPD_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py     # add -k <name> for one scenario

rewrites the golden files (the tests are then reported as skipped) instead of comparing; review
``git diff tests/golden`` and commit.  Each golden file records the pkpd version, git commit
(with any uncommitted changes to ``pkpd/``, ``scenarios/``, ``examples/``), the hash of pkpd's
sources and the versions of Python, NumPy, Numba and xarray it was generated with.

Run time: about 5-10 s for all scenarios once the Numba kernels are in the cache
(``~/.cache/pkpd``); the first run after a change to ``pkpd/`` compiles them (about 30-60 s).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import re
import subprocess
import sys
import traceback
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from pkpd.cli import main
from pkpd.io import read_dataset

ROOT = Path(__file__).resolve().parents[1]
GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
SCENARIO_GLOBS = ("scenarios/*.yaml", "examples/*.yaml")
UPDATE = os.environ.get("PKPD_UPDATE_GOLDEN", "") not in ("", "0")
REGENERATE = "PKPD_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py"

RTOL = 1e-9
N_PROJECTIONS = 3
N_SAMPLES = 50
FULL_LIMIT = 64            # arrays of at most this many values are stored whole
PROJECTION_SEED = 0x5EED_2026
SAMPLE_SEED = 0xC0FF_EE01
#: result attributes that say where or when a run was made, not what it computed
VOLATILE_ATTRS = frozenset({"elapsed_s", "pkpd_version", "scenario", "scenario_source", "scenario_dir",
                            "model_file"})
#: variable attributes pinned with the values (what the numbers mean)
PINNED_VAR_ATTRS = ("units", "flag_meanings", "sweep_key")
SUMMARY_DECIMALS = 6       # pkpd.metrics rounds the summary records to this many decimals
MAX_SAMPLE_LINES = 3       # failing sampled values shown per variable (all are counted)


def shipped_scenarios() -> list[Path]:
    return sorted(p for pattern in SCENARIO_GLOBS for p in ROOT.glob(pattern))


def scenario_id(path: Path) -> str:
    """``scenarios/trial_regimen`` for ``<repo>/scenarios/trial_regimen.yaml``."""
    return path.relative_to(ROOT).with_suffix("").as_posix()


def golden_path(path: Path) -> Path:
    return GOLDEN_DIR / (scenario_id(path) + ".json")


# --------------------------------------------------------------------------------------------
# running a scenario as `pkpd run` does

def run_cli(scenario: Path, workdir: Path) -> dict:
    """``pkpd run`` + ``pkpd summary --format json`` of ``scenario``; the observed result."""
    out = workdir / "result.nc"
    runner = CliRunner()
    r = runner.invoke(main, ["run", str(scenario), "-o", str(out)])
    if r.exit_code != 0:
        tb = "".join(traceback.format_exception(*r.exc_info)) if r.exc_info and r.exception else ""
        pytest.fail(f"pkpd run {scenario} exited with {r.exit_code}\nstderr: {r.stderr}\n{tb}", pytrace=False)
    s = runner.invoke(main, ["summary", str(out), "--format", "json"])
    if s.exit_code != 0:
        pytest.fail(f"pkpd summary of {scenario}'s result exited with {s.exit_code}: {s.stderr}", pytrace=False)
    ds = read_dataset(out)
    # the printed tables with their column padding collapsed (they are compared token by token)
    stdout = [" ".join(line.split()) for line in r.stdout.splitlines()]
    return {"ds": ds, "stdout": stdout, "records": json.loads(s.stdout)}


# --------------------------------------------------------------------------------------------
# fingerprints

_M64 = (1 << 64) - 1


def _splitmix64(seed: int, n: int) -> np.ndarray:
    """The first ``n`` outputs of splitmix64 started at ``seed`` (uint64; a fixed, portable stream)."""
    i = np.arange(1, n + 1, dtype=np.uint64)
    z = np.uint64(seed & _M64) + i * np.uint64(0x9E3779B97F4A7C15)   # uint64 arrays wrap around
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def weights(k: int, n: int) -> np.ndarray:
    """Projection vector ``k`` of length ``n``: uniform in [-1, 1)."""
    u = (_splitmix64(PROJECTION_SEED + 7919 * k, n) >> np.uint64(11)).astype(np.float64) * 2.0 ** -53
    return 2.0 * u - 1.0


def sample_positions(n: int) -> np.ndarray:
    """``N_SAMPLES`` distinct flat positions in ``range(n)``, sorted (all of them when n is small)."""
    if n <= N_SAMPLES:
        return np.arange(n)
    candidates = _splitmix64(SAMPLE_SEED + n, 8 * N_SAMPLES) % np.uint64(n)
    _, first = np.unique(candidates, return_index=True)
    return np.sort(candidates[np.sort(first)[:N_SAMPLES]].astype(np.int64))


def stored_positions(n: int) -> np.ndarray:
    """The flat positions whose values a fingerprint keeps: all when ``n <= FULL_LIMIT``."""
    return np.arange(n) if n <= FULL_LIMIT else sample_positions(n)


def _enc(v):
    """A JSON value for a number: Python float/int, non-finite floats as 'nan', 'inf', '-inf'."""
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        v = float(v)
        return v if math.isfinite(v) else ("nan" if math.isnan(v) else ("inf" if v > 0 else "-inf"))
    return v


def _jsonable(v):
    """Attribute values as JSON (arrays and tuples as lists, NumPy scalars as Python ones)."""
    if isinstance(v, np.ndarray):
        return [_jsonable(x) for x in v.tolist()]
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, bytes):
        return v.decode()
    return _enc(v)


def _kind(values: np.ndarray) -> str:
    if values.dtype.kind == "b":
        return "bool"
    if values.dtype.kind in "iu":
        return "int"
    if values.dtype.kind in "fc":
        return "float"
    return "str"


def fingerprint(values: np.ndarray, dims, attrs) -> dict:
    """The fingerprint of one variable's values (see the module docstring)."""
    values = np.asarray(values)
    kind = _kind(values)
    fp = {"dims": list(dims), "shape": list(values.shape), "dtype": "str" if kind == "str" else str(values.dtype),
          "attrs": {k: _jsonable(attrs[k]) for k in PINNED_VAR_ATTRS if k in attrs}}
    n = int(values.size)
    if kind == "str":
        strings = [str(x) for x in values.ravel().tolist()]
        if n <= 4096:
            fp["values"] = strings
        else:
            fp["sha256"] = hashlib.sha256("\x00".join(strings).encode()).hexdigest()
        return fp
    pos = stored_positions(n)
    key = "values" if n <= FULL_LIMIT else "samples"
    if kind in ("int", "bool"):
        x = values.astype("<i8").ravel()
        fp.update(min=int(x.min()) if n else None, max=int(x.max()) if n else None, sum=int(x.sum(dtype=object)),
                  sha256=hashlib.sha256(x.tobytes()).hexdigest())
        fp[key] = [int(v) for v in x[pos]]
        return fp
    x = np.ascontiguousarray(values.real if kind == "float" else values, dtype=np.float64).ravel()
    finite = np.isfinite(x)
    fp.update(n_nan=int(np.isnan(x).sum()), n_posinf=int(np.isposinf(x).sum()), n_neginf=int(np.isneginf(x).sum()))
    if not finite.all():
        fp["nonfinite_sha256"] = hashlib.sha256(np.packbits(~finite).tobytes()).hexdigest()
    xf = np.where(finite, x, 0.0)
    if finite.any():
        fin = x[finite]
        fp.update(n_finite=int(fin.size), min=float(fin.min()), max=float(fin.max()),
                  absmax=float(np.abs(fin).max()), sum=float(xf.sum()), abs_sum=float(np.abs(xf).sum()),
                  sumsq=float(np.dot(xf, xf)), proj=[float(np.dot(weights(k, n), xf)) for k in range(N_PROJECTIONS)])
    else:
        fp["n_finite"] = 0
    fp[key] = [_enc(v) for v in x[pos]]
    return fp


def result_fingerprints(ds, expected: dict | None = None) -> dict:
    """Fingerprints of every data variable and coordinate of ``ds``.

    With the golden fingerprints ``expected``, a variable whose dims are a permutation of the
    golden ones is transposed to the golden order first (the changed order is reported by dims),
    so that its values can still be compared.
    """
    out = {}
    for name in sorted(ds.variables):
        da = ds.variables[name]
        dims = list(da.dims)
        exp = (expected or {}).get(name)
        if exp and dims != exp["dims"] and sorted(dims) == sorted(exp["dims"]):
            da = da.transpose(*exp["dims"])
        out[name] = fingerprint(da.values, dims, da.attrs) | {"role": "coord" if name in ds.coords else "data"}
        out[name]["dims"] = dims
    return out


def observed(result: dict) -> dict:
    """Everything that is compared, in the golden file's layout (without provenance)."""
    ds = result["ds"]
    return {
        "attrs": {k: _jsonable(v) for k, v in sorted(ds.attrs.items()) if k not in VOLATILE_ATTRS},
        "stdout": result["stdout"],
        "summary_records": [{k: _jsonable(v) for k, v in r.items()} for r in result["records"]],
    }


# --------------------------------------------------------------------------------------------
# comparison

def _is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _rel(e, g) -> float:
    d = abs(g - e)
    return d / abs(e) if e else (math.inf if d else 0.0)


def _close(e, g, tol) -> bool:
    return abs(g - e) <= tol


def _fmt_mismatch(what, e, g, tol=None) -> str:
    if _is_num(e) and _is_num(g):
        return (f"{what}: expected {e!r}, got {g!r}, rel diff {_rel(e, g):.3g}"
                + (f" (allowed abs {tol:.3g})" if tol is not None else ""))
    return f"{what}: expected {e!r}, got {g!r}"


def _index(flat: int, shape, dims) -> str:
    if not shape:
        return ""
    idx = np.unravel_index(int(flat), tuple(shape))
    return "[" + ", ".join(f"{d}={i}" for d, i in zip(dims, idx)) + "]"


def compare_variable(name: str, e: dict, g: dict) -> list[str]:
    """Mismatching statistics of one variable (empty if it agrees)."""
    bad = []
    for key in ("role", "dims", "shape", "dtype", "attrs"):
        if e.get(key) != g.get(key):
            bad.append(_fmt_mismatch(key, e.get(key), g.get(key)))
    if e["shape"] != g["shape"] or _kind_of(e) != _kind_of(g):
        return bad  # values cannot be lined up
    kind = _kind_of(e)
    exact = kind in ("int", "bool", "str")
    stats = [k for k in ("n_nan", "n_posinf", "n_neginf", "nonfinite_sha256", "n_finite", "sha256", "min", "max",
                         "absmax", "sum", "abs_sum", "sumsq", "proj") if k in e or k in g]
    A = e.get("absmax") or 0.0
    N = e.get("n_finite", 0)
    S1 = e.get("abs_sum") or 0.0
    S2 = e.get("sumsq") or 0.0
    elem = lambda v: RTOL * (abs(v) + A)  # noqa: E731  the allowed change of one element
    tol_of = {"min": elem, "max": elem, "absmax": elem,
              "sum": lambda v: RTOL * (S1 + N * A), "abs_sum": lambda v: RTOL * (S1 + N * A),
              "proj": lambda v: RTOL * (S1 + N * A), "sumsq": lambda v: 2 * RTOL * (S2 + A * S1)}
    for k in stats:
        ev, gv = e.get(k), g.get(k)
        if exact or k not in tol_of or not (_is_num(ev) or isinstance(ev, list)):
            if ev != gv:
                bad.append(_fmt_mismatch(k, ev, gv))
            continue
        if k == "proj":
            if not isinstance(gv, list) or len(gv) != len(ev):
                bad.append(_fmt_mismatch(k, ev, gv))
                continue
            for j, (a, b) in enumerate(zip(ev, gv)):
                if not _close(a, b, tol_of[k](a)):
                    bad.append(_fmt_mismatch(f"projection {j}", a, b, tol_of[k](a)))
        elif not _is_num(gv) or not _close(ev, gv, tol_of[k](ev)):
            bad.append(_fmt_mismatch(k, ev, gv, tol_of[k](ev) if _is_num(gv) else None))
    key = "values" if "values" in e else "samples"
    ev, gv = e.get(key, []), g.get(key, [])
    if len(ev) != len(gv):
        bad.append(f"{key}: expected {len(ev)} values, got {len(gv)}")
        return bad
    pos = stored_positions(int(np.prod(e["shape"], dtype=np.int64))) if kind != "str" else range(len(ev))
    failed = []
    for p, a, b in zip(pos, ev, gv):
        if exact or not (_is_num(a) and _is_num(b)):
            ok = a == b
            rel, tol = (math.inf if a != b else 0.0), None
        else:
            tol = elem(a)
            ok = _close(a, b, tol)
            rel = _rel(a, b)
        if not ok:
            failed.append((rel, p, a, b, tol))
    if failed:
        worst = sorted(failed, key=lambda f: f[0], reverse=True)[:MAX_SAMPLE_LINES]
        label = "value" if key == "values" else "sampled value"
        bad.append(f"{len(failed)} of {len(ev)} {label}s differ, e.g.:")
        for rel, p, a, b, tol in worst:
            where = _index(p, e["shape"], e["dims"]) if kind != "str" else f"[{p}]"
            bad.append("  " + _fmt_mismatch(f"{name}{where}", a, b, tol))
    return bad


def _kind_of(fp: dict) -> str:
    if fp["dtype"] == "str":
        return "str"
    if fp["dtype"] == "bool":
        return "bool"
    return "int" if "sha256" in fp else "float"


def _unit_of_last_digit(token: str) -> float:
    """One unit of the last digit shown in a number as printed (``'0.5652'`` -> 1e-4, ``'1533'`` -> 1)."""
    m = re.fullmatch(r"[-+]?(\d*)(?:\.(\d*))?(?:[eE]([-+]?\d+))?", token)
    decimals = len(m.group(2) or "")
    exponent = int(m.group(3) or 0)
    return 10.0 ** (exponent - decimals)


_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def compare_stdout(e_lines: list[str], g_lines: list[str]) -> list[str]:
    """The printed tables, token by token: words exactly, numbers to RTOL or one unit of their last digit."""
    bad = []
    if len(e_lines) != len(g_lines):
        bad.append(f"expected {len(e_lines)} lines, got {len(g_lines)}")
    for n, (el, gl) in enumerate(zip(e_lines, g_lines), 1):
        et, gt = el.split(), gl.split()
        ok = len(et) == len(gt)
        for a, b in zip(et, gt) if ok else ():
            if a == b:
                continue
            if _NUMBER.fullmatch(a) and _NUMBER.fullmatch(b):
                fa, fb = float(a), float(b)
                if abs(fa - fb) <= RTOL * abs(fa) + _unit_of_last_digit(a) * (1 + 1e-9):
                    continue
            ok = False
        if not ok:
            bad.append(f"line {n}:\n    expected: {el.strip()}\n    got:      {gl.strip()}")
    return bad


def _rounded(v: float, decimals: int = SUMMARY_DECIMALS) -> bool:
    return abs(v) < 1e12 and round(v, decimals) == v


def compare_records(e_recs: list[dict], g_recs: list[dict]) -> list[str]:
    """Summary records: keys and strings exactly, numbers to RTOL (floor RTOL x column's max |x|)."""
    bad = []
    if len(e_recs) != len(g_recs):
        bad.append(f"expected {len(e_recs)} records, got {len(g_recs)}")
    scale = {}
    for r in e_recs:
        for k, v in r.items():
            if _is_num(v):
                scale[k] = max(scale.get(k, 0.0), abs(v))
    for n, (er, gr) in enumerate(zip(e_recs, g_recs)):
        label = f"record {n} ({', '.join(str(er[k]) for k in er if isinstance(er[k], str))})"
        if list(er) != list(gr):
            missing, extra = [k for k in er if k not in gr], [k for k in gr if k not in er]
            bad.append(f"{label}: keys differ; missing {missing}, new {extra}"
                       + ("" if missing or extra else f", order {list(gr)}"))
        for k, a in er.items():
            if k not in gr:
                continue
            b = gr[k]
            if _is_num(a) and _is_num(b) and not (isinstance(a, int) and isinstance(b, int)):
                tol = RTOL * (abs(a) + scale.get(k, 0.0))
                if _rounded(a):  # rounded by pkpd: may round the other way
                    tol = max(tol, 10.0 ** -SUMMARY_DECIMALS * (1 + 1e-9))
                if not _close(a, b, tol):
                    bad.append(_fmt_mismatch(f"{label}.{k}", a, b, tol))
            elif a != b:
                bad.append(_fmt_mismatch(f"{label}.{k}", a, b))
    return bad


def compare_attrs(e: dict, g: dict) -> list[str]:
    bad = []
    for k in sorted(set(e) | set(g)):
        if k not in g:
            bad.append(f"{k}: missing (expected {e[k]!r})")
        elif k not in e:
            bad.append(f"{k}: new attribute {g[k]!r}")
        elif not _attr_equal(e[k], g[k]):
            bad.append(_fmt_mismatch(k, e[k], g[k]))
    return bad


def _attr_equal(a, b) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_attr_equal(x, y) for x, y in zip(a, b))
    if _is_num(a) and _is_num(b) and not (isinstance(a, int) and isinstance(b, int)):
        return _close(a, b, RTOL * abs(a))
    return a == b and type(a) is type(b)


def compare(golden: dict, got: dict) -> list[str]:
    """Every mismatch between a golden file and an observed result, as readable lines."""
    lines = []
    ev, gv = golden["variables"], got["variables"]
    missing = [k for k in ev if k not in gv]
    extra = [k for k in gv if k not in ev]
    if missing:
        lines.append(f"variables missing from the result: {', '.join(missing)}")
    if extra:
        lines.append(f"new variables in the result (not in the golden): {', '.join(extra)}")
    n_bad = 0
    for name in ev:
        if name in gv:
            bad = compare_variable(name, ev[name], gv[name])
            if bad:
                n_bad += 1
                lines.append(f"variable {name} {tuple(ev[name]['dims'])}:")
                lines += ["    " + b for b in bad]
    if n_bad:
        lines.insert(0, f"{n_bad} of {len(ev)} variables differ")
    for title, bad in (("dataset attributes", compare_attrs(golden["attrs"], got["attrs"])),
                       ("summary records (pkpd summary --format json)",
                        compare_records(golden["summary_records"], got["summary_records"])),
                       ("printed tables (pkpd run stdout)", compare_stdout(golden["stdout"], got["stdout"]))):
        if bad:
            lines.append(f"{title}:")
            lines += ["    " + b for b in bad]
    return lines


# --------------------------------------------------------------------------------------------
# provenance and files

def provenance() -> dict:
    import numba
    import xarray

    import pkpd
    from pkpd import _cache

    def git(*args):
        try:
            r = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=20)
            return r.stdout.strip() if r.returncode == 0 else None
        except (OSError, subprocess.SubprocessError):
            return None

    status = git("status", "--porcelain", "--", "pkpd", "scenarios", "examples")
    return {
        "pkpd_version": pkpd.__version__,
        "git_commit": git("rev-parse", "HEAD"),
        "uncommitted_changes": status.splitlines() if status else [],
        "pkpd_source_hash": _cache.source_hash(),
        "python": platform.python_version(), "numpy": np.__version__, "numba": numba.__version__,
        "xarray": xarray.__version__, "machine": platform.machine(), "numba_threads": numba.get_num_threads(),
        "regenerate": REGENERATE,
    }


def _sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def dump_golden(doc: dict) -> str:
    """JSON with one variable, one record and one printed line per line (readable diffs, small files)."""
    one = lambda v: json.dumps(v, separators=(", ", ": "), allow_nan=False)  # noqa: E731
    parts = []
    for key, value in doc.items():
        if key == "variables":
            body = ",\n".join(f"  {json.dumps(k)}: {one(v)}" for k, v in value.items())
            parts.append(f' "variables": {{\n{body}\n }}')
        elif key in ("stdout", "summary_records") and value:
            body = ",\n".join(f"  {one(v)}" for v in value)
            parts.append(f" {json.dumps(key)}: [\n{body}\n ]")
        else:
            parts.append(f" {json.dumps(key)}: {json.dumps(value, indent=1, allow_nan=False)}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


# --------------------------------------------------------------------------------------------
# the tests

SCENARIOS = shipped_scenarios()


def test_the_shipped_scenarios_are_found():
    ids = {scenario_id(p) for p in SCENARIOS}
    assert {"scenarios/trial_regimen", "scenarios/virtual_trial", "examples/user_model"} <= ids, ids


def test_every_golden_file_belongs_to_a_shipped_scenario():
    known = {golden_path(p) for p in SCENARIOS}
    stale = sorted(str(p.relative_to(ROOT)) for p in GOLDEN_DIR.rglob("*.json") if p not in known)
    assert not stale, (f"golden files without a shipped scenario (a scenario was renamed or removed): {stale}; "
                       "delete them (git rm)")


@pytest.mark.parametrize("scenario", SCENARIOS, ids=scenario_id)
def test_golden(scenario: Path, tmp_path: Path):
    gpath = golden_path(scenario)
    sid = scenario_id(scenario)
    if not UPDATE and not gpath.exists():
        pytest.fail(f"{sid}: no golden file {gpath.relative_to(ROOT)} for the shipped scenario "
                    f"{scenario.relative_to(ROOT)}; generate it with\n    {REGENERATE} -k {scenario.stem}\n"
                    "check the numbers and commit it", pytrace=False)
    golden = json.loads(gpath.read_text()) if gpath.exists() else None
    result = run_cli(scenario, tmp_path)
    got = observed(result)
    got["variables"] = result_fingerprints(result["ds"], golden["variables"] if golden else None)
    if UPDATE:
        before = compare(golden, got) if golden else []
        doc = {"scenario": scenario.relative_to(ROOT).as_posix(), "scenario_sha256": _sha256_file(scenario),
               "generated_by": provenance(), **got}
        gpath.parent.mkdir(parents=True, exist_ok=True)
        gpath.write_text(dump_golden(doc))
        if before:
            print(f"{sid}: golden rewritten; before, it differed:\n  " + "\n  ".join(before))
        state = "new" if golden is None else ("changed" if before else "unchanged within tolerance")
        pytest.skip(f"rewrote {gpath.relative_to(ROOT)} ({state})")
    lines = compare(golden, got)
    if lines:
        notes = []
        if golden.get("scenario_sha256") != _sha256_file(scenario):
            notes.append(f"note: {scenario.relative_to(ROOT)} has changed since the golden was generated")
        gen = golden.get("generated_by", {})
        notes.append(f"golden generated from pkpd {gen.get('pkpd_version')} at commit {gen.get('git_commit')}"
                     + (f" with uncommitted changes {gen['uncommitted_changes']}" if gen.get("uncommitted_changes")
                        else ""))
        pytest.fail(f"{sid}: the result differs from {gpath.relative_to(ROOT)} (rtol {RTOL:g}):\n  "
                    + "\n  ".join(lines) + "\n" + "\n".join(notes)
                    + f"\nif the change is intended: {REGENERATE} -k {scenario.stem}, review git diff, commit",
                    pytrace=False)
