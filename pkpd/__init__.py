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
