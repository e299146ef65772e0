"""A user's model file loaded by pkpd and imported by hand share no Numba cache entries.

pkpd imports a model file under a private module name (``pkpd_user_<stem>_<hash>``).
Numba finds cache files by source file but stores references to the module by name,
so entries written under one name crashed loads under the other
(``ModuleNotFoundError: No module named 'pkpd_user_model_<hash>'``).  These tests run
each load in a fresh process against a temporary cache folder (``NUMBA_CACHE_DIR``,
so the user's cache is untouched) and check both orders, that ``cache=True`` still
loads from disk the second time, and that same-named files in two folders stay apart.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# A model file as docs/user_models.md describes it; RATE tells two files apart.  Besides the
# rhs (compiled by ModelSpec, or on the first call after a plain import) it holds a function
# compiled eagerly for its signature, i.e. while the module runs.
MODEL_SOURCE = '''\
from numba import njit

from pkpd.models import ModelSpec, Parameter, State
from pkpd.signatures import RHS_SIGNATURE

RATE = {rate}


@njit(cache=True)
def rhs(t, y, p, dydt):
    dydt[0] = -RATE * p[0] * y[0]


@njit(RHS_SIGNATURE, cache=True)
def eager(t, y, p, dydt):
    dydt[0] = -RATE * p[0] * y[0]


MODEL = ModelSpec(
    name="decay",
    states=(State("A", "mg", "amount", initial=1.0),),
    parameters=(Parameter("K", 1.0, "1/h", "rate constant", "assumed", assumed=True, lower=0.0),),
    rhs=rhs,
)
'''

# Each script prints one JSON line: per function, its module name, dydt at y = p = 1 and its
# cache stats (hits and misses: loads from and compilations written to the disk cache).
_REPORT = '''
import json
import sys

import numpy as np


def report(module):
    out = {}
    for f in (module.rhs, module.eager):
        d = np.zeros(1)
        f(0.0, np.ones(1), np.ones(1), d)
        out[f.__name__] = {"module": f.__module__, "dydt": float(d[0]), "cache_path": f.stats.cache_path,
                           "hits": sum(f.stats.cache_hits.values()),
                           "misses": sum(f.stats.cache_misses.values())}
    return out
'''
PKPD_LOAD = _REPORT + '''
from pkpd.usermodel import load_model
print(json.dumps(report(sys.modules[load_model("model.py:MODEL").rhs.__module__])))
'''
PLAIN_IMPORT = _REPORT + '''
import model
print(json.dumps(report(model)))
'''
# Two files named model.py, in folders a/ and b/, loaded by pkpd in one process.
PKPD_LOAD_TWO = _REPORT + '''
from pkpd.usermodel import load_model
print(json.dumps({key: report(sys.modules[load_model(key + "/model.py:MODEL").rhs.__module__])
                  for key in "ab"}))
'''


def write_model(folder: Path, rate: float = 1.0) -> Path:
    """``folder/model.py``, a one-state decay model whose rhs is ``dA/dt = -RATE * K * A``."""
    folder.mkdir(parents=True, exist_ok=True)
    file = folder / "model.py"
    file.write_text(MODEL_SOURCE.format(rate=rate))
    return file


def run_python(code: str, cwd: Path, cache: Path) -> dict:
    """Run ``code`` in a fresh interpreter in ``cwd`` with Numba's cache in ``cache``; its JSON report."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache), PKPD_CACHE_DIR=str(cache))
    env.pop("NUMBA_CACHE_LOCATOR_CLASSES", None)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(cwd), env.get("PYTHONPATH", "")) if p)
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"subprocess failed:\n{proc.stderr[-3000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def via_pkpd(folder: Path, cache: Path) -> dict:
    return run_python(PKPD_LOAD, folder, cache)


def plain(folder: Path, cache: Path) -> dict:
    return run_python(PLAIN_IMPORT, folder, cache)


def counts(report: dict) -> dict:
    """``{function: (cache hits, cache misses)}`` of a report."""
    return {name: (r["hits"], r["misses"]) for name, r in report.items()}


COMPILED = {"rhs": (0, 1), "eager": (0, 1)}   # compiled, and written to the cache
CACHED = {"rhs": (1, 0), "eager": (1, 0)}     # loaded from the cache


def test_plain_import_after_pkpd_loads_the_file(tmp_path):
    folder, cache = tmp_path / "models", tmp_path / "cache"
    write_model(folder)

    first = via_pkpd(folder, cache)
    assert first["rhs"]["module"].startswith("pkpd_user_model_")
    assert counts(first) == COMPILED

    after = plain(folder, cache)                                 # crashed before the fix
    assert after["rhs"]["module"] == "model"
    assert (after["rhs"]["dydt"], after["eager"]["dydt"]) == (-1.0, -1.0)
    assert counts(after) == COMPILED                             # never reads pkpd's entries
    assert counts(plain(folder, cache)) == CACHED                # its own entries are cached

    again = via_pkpd(folder, cache)                              # cache=True still works for pkpd
    assert counts(again) == CACHED
    assert (again["rhs"]["dydt"], again["eager"]["dydt"]) == (-1.0, -1.0)


def test_pkpd_loads_a_file_after_a_plain_import(tmp_path):
    folder, cache = tmp_path / "models", tmp_path / "cache"
    write_model(folder)

    assert counts(plain(folder, cache)) == COMPILED
    loaded = via_pkpd(folder, cache)                             # crashed before the fix
    assert (loaded["rhs"]["dydt"], loaded["eager"]["dydt"]) == (-1.0, -1.0)
    assert counts(loaded) == COMPILED
    assert counts(via_pkpd(folder, cache)) == CACHED
    assert counts(plain(folder, cache)) == CACHED


def test_pkpd_cache_folder_is_its_own(tmp_path):
    folder, cache = tmp_path / "models", tmp_path / "cache"
    write_model(folder)
    mine = Path(via_pkpd(folder, cache)["rhs"]["cache_path"])
    theirs = Path(plain(folder, cache)["rhs"]["cache_path"])
    assert mine != theirs and mine.parent == theirs.parent == cache   # two folders of the configured cache
    assert mine.name.startswith("pkpd_user_model_")             # pkpd's is named after its module name
    index = sorted(p.name for p in mine.glob("*.nbi"))
    assert [name.split("-")[0] for name in index] == ["model.eager", "model.rhs"]
    assert sorted(p.name for p in theirs.glob("*.nbi")) == index   # same file names, separate folders


def test_same_stem_in_two_folders_stays_apart(tmp_path):
    cache = tmp_path / "cache"
    write_model(tmp_path / "a", rate=1.0)
    write_model(tmp_path / "b", rate=2.0)
    first = run_python(PKPD_LOAD_TWO, tmp_path, cache)
    assert first["a"]["rhs"]["module"] != first["b"]["rhs"]["module"]
    assert first["a"]["rhs"]["cache_path"] != first["b"]["rhs"]["cache_path"]
    assert (first["a"]["rhs"]["dydt"], first["b"]["rhs"]["dydt"]) == (-1.0, -2.0)
    assert counts(first["a"]) == counts(first["b"]) == COMPILED
    second = run_python(PKPD_LOAD_TWO, tmp_path, cache)                  # each from its own cache entries
    assert counts(second["a"]) == counts(second["b"]) == CACHED
    assert (second["a"]["eager"]["dydt"], second["b"]["eager"]["dydt"]) == (-1.0, -2.0)
    for key, rate in (("a", 1.0), ("b", 2.0)):                  # and a plain import of each still works
        report = plain(tmp_path / key, cache)
        assert (report["rhs"]["dydt"], report["eager"]["dydt"]) == (-rate, -rate)


def test_import_path_is_a_link_named_after_the_module(tmp_path, monkeypatch):
    from pkpd import usermodel

    monkeypatch.setattr(usermodel._cache, "kernel_folder", lambda: tmp_path / "cache" / "models")
    file = write_model(tmp_path / "models").resolve()
    name = usermodel._module_name(file)
    link = usermodel._import_path(file, name)
    assert link == tmp_path / "cache" / "user-models" / name / "model.py"
    assert link.resolve() == file                                # Numba's source stamp follows the link
    assert usermodel._import_path(file, name) == link            # reused, not rewritten
    assert usermodel._module_name(Path("/x/a/model.py")) != usermodel._module_name(Path("/x/b/model.py"))
    assert usermodel._module_name(Path("/x/my-model.py")).startswith("pkpd_user_my_model_")
