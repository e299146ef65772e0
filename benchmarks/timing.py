"""Wall-clock timing (best of N, warm-up excluded) and compile/cache-load timing in fresh processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class Timing(float):
    """Best wall-clock seconds (a float) that also carries the CPU seconds of this process.

    ``cpu`` is the smallest ``time.process_time()`` difference over the timed runs
    (all threads of the process together).  On a shared machine, a single-threaded
    run with ``wall`` well above ``cpu`` was slowed down by other processes.
    """

    cpu: float = float("nan")

    def __new__(cls, wall, cpu=float("nan")):
        obj = super().__new__(cls, wall)
        obj.cpu = cpu
        return obj


def best_of(fn, repeats: int = 3, budget_s: float = 20.0, warmup: bool = True):
    """Run ``fn`` once untimed (unless ``warmup`` is False), then time it up to ``repeats`` times.

    Stops repeating once the timed runs together exceed ``budget_s`` (at least one
    timed run always happens).  Returns ``(best, n_timed, last_result)`` with ``best`` a
    :class:`Timing` (best wall seconds, ``.cpu`` the smallest CPU seconds).
    """
    if warmup:
        fn()
    best, best_cpu, n, total, result = float("inf"), float("inf"), 0, 0.0, None
    while n < max(1, repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        result = fn()
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        best, best_cpu, n, total = min(best, dt), min(best_cpu, dc), n + 1, total + dt
        if total > budget_s:
            break
    return Timing(best, best_cpu), n, result


def load_average() -> float:
    """1-minute load average (runnable processes; on an otherwise idle machine ~ our own threads)."""
    try:
        return os.getloadavg()[0]
    except OSError:  # pragma: no cover
        return float("nan")


# What a fresh process runs: import pkpd (simulate + the PK library), import the full model,
# then the first and second simulate of each problem (the system over 2 days only).
_PROBE = r"""
import json, sys, time
t0 = time.perf_counter()
import numpy as np
import pkpd
from pkpd.simulate import simulate
import pkpd.models.pk
t_import = time.perf_counter() - t0
t0 = time.perf_counter()
import pkpd.system
t_system = time.perf_counter() - t0
from benchmarks.problems import pk2cmt, system
pk = pk2cmt(1); sy = system(1, days=2)
res = {"import_s": t_import, "import_system_s": t_system, "cache_dir": pkpd.NUMBA_CACHE}
for key, prob, method in (("pk2cmt_dopri5", pk, "dopri5"), ("pk2cmt_radau5", pk, "radau5"),
                          ("system_dopri5", sy, "dopri5"), ("system_radau5", sy, "radau5")):
    t0 = time.perf_counter()
    simulate(prob.model, prob.doses, prob.times, prob.params(0), y0=prob.Y0[0],
             solver=dict(method=method, rtol=1e-6, atol=1e-8), dose_modifiers=prob.dose_modifiers)
    res[key + "_first_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    simulate(prob.model, prob.doses, prob.times, prob.params(0), y0=prob.Y0[0],
             solver=dict(method=method, rtol=1e-6, atol=1e-8), dose_modifiers=prob.dose_modifiers)
    res[key + "_second_s"] = time.perf_counter() - t0
from pkpd.solvers.integrate import integrate_population
import numba
res["integrate_population_signatures"] = len(integrate_population.signatures)
print("@@RESULT@@" + json.dumps(res))
"""


def _probe(cache_dir: str | None) -> dict:
    """Run the probe in a new interpreter; ``cache_dir`` None keeps the caller's cache settings."""
    env = dict(os.environ)
    if cache_dir is not None:
        env.pop("NUMBA_CACHE_DIR", None)
        env["PKPD_CACHE_DIR"] = cache_dir
    env.update(NUMBA_DEBUG_CACHE="1", PYTHONPATH=str(ROOT))
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _PROBE], cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"compile probe failed:\n{proc.stderr[-3000:]}")
    text = proc.stdout + proc.stderr
    line = next(ln for ln in text.splitlines() if ln.startswith("@@RESULT@@"))
    res = json.loads(line[len("@@RESULT@@"):])
    res["process_wall_s"] = wall
    # NUMBA_DEBUG_CACHE prints one line per cache index/data file loaded or saved
    res["cache_data_loaded"] = sum("data loaded from" in ln for ln in text.splitlines())
    res["cache_data_saved"] = sum("data saved to" in ln for ln in text.splitlines())
    return res


def compile_times(cold: bool = True) -> dict:
    """Start-up costs of a new process: import pkpd, then the first and second simulate per problem.

    ``cold``: a fresh, empty ``PKPD_CACHE_DIR`` (everything compiles), then a second
    process on the same folder (``cached``: must load, not compile).  Without ``cold``
    only the cached case is measured, on the caller's own cache folder (which this
    process has just filled or loaded).
    """
    if not cold:
        return {"cached": _probe(None)}
    for _attempt in range(3):
        with tempfile.TemporaryDirectory(prefix="pkpd-bench-cache-") as d:
            out = {"cold": _probe(d), "cached": _probe(d)}
        # pkpd keys its cache folder by a hash of its sources: if they changed between the two
        # processes (someone editing pkpd meanwhile), the second one compiled too; measure again.
        if out["cold"]["cache_dir"] == out["cached"]["cache_dir"]:
            return out
    out["note"] = "pkpd's sources changed while measuring: the 'cached' process could not reuse the cache"
    return out
