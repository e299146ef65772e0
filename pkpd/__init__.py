"""pkpd: mechanistic PK/PD simulation with Numba-compiled ODE solvers.

Public API is re-exported here; implementation modules are private to the package.
"""

from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("pkpd")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

from pkpd import _cache  # noqa: E402

#: folder of Numba's cache for pkpd's kernels (None when NUMBA_CACHE_DIR is set)
NUMBA_CACHE = _cache.configure()

from pkpd.errors import (  # noqa: E402
    DataError as DataError,
    InputError as InputError,
    ModelError as ModelError,
    PKPDError as PKPDError,
    ScenarioError as ScenarioError,
    SolverError as SolverError,
)

# Public API, imported on first use so that ``import pkpd`` (and ``pkpd --help``) stay fast.
_LAZY = {
    # simulation (single models: ``from pkpd.simulate import simulate, simulate_data``)
    "run": "pkpd.runner", "plan": "pkpd.runner",
    # inputs
    "load_scenario": "pkpd.scenario", "Scenario": "pkpd.scenario", "Dose": "pkpd.dosing",
    "Regimen": "pkpd.regimens", "read_nonmem": "pkpd.data", "SolverOptions": "pkpd.solvers",
    # registries
    "MODELS": "pkpd.models", "get_model": "pkpd.models", "DRUGS": "pkpd.models.drugs",
    "get_drug": "pkpd.models.drugs", "SOLVERS": "pkpd.solvers", "SYSTEM": "pkpd.system",
    # results
    "read_dataset": "pkpd.io", "write_dataset": "pkpd.io", "summary_records": "pkpd.metrics",
}

__all__ = [
    "__version__",
    # functions
    "run", "plan", "load_scenario", "read_nonmem",
    "read_dataset", "write_dataset", "summary_records", "get_model", "get_drug",
    # classes and registries
    "Scenario", "Dose", "Regimen", "SolverOptions", "MODELS", "DRUGS", "SOLVERS", "SYSTEM",
    # exceptions
    "PKPDError", "InputError", "ScenarioError", "DataError", "ModelError", "SolverError",
]


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'pkpd' has no attribute {name!r}")
