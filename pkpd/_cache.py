"""Where Numba keeps pkpd's compiled kernels, keyed by a hash of pkpd's own sources.

Numba invalidates a cached function only when *its own* file changes, not when a
function it calls from another file does (documented limitation), so an edited
solver could silently keep running stale machine code.  pkpd therefore points
Numba's cache at a folder named after a hash of every ``pkpd/**/*.py`` file (and
the Python and Numba versions): any change to pkpd compiles afresh, and an
unchanged installation loads its kernels from disk in a fraction of a second.

The folder is ``$PKPD_CACHE_DIR`` or ``$XDG_CACHE_HOME/pkpd/numba-<hash>``
(``~/.cache/pkpd/numba-<hash>``).  An explicit ``NUMBA_CACHE_DIR`` in the
environment is respected as it is.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path


def source_hash() -> str:
    """A short hash of pkpd's source files and the interpreter and Numba versions."""
    import numba

    root = Path(__file__).resolve().parent
    h = hashlib.sha256(f"{sys.version_info[:2]}|{numba.__version__}".encode())
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def configure() -> str | None:
    """Point Numba's cache at pkpd's hashed folder unless the user chose one; return it."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return None
    import numba

    base = os.environ.get("PKPD_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "pkpd")
    folder = os.path.join(base, f"numba-{source_hash()}")
    numba.config.CACHE_DIR = folder
    return folder


def kernel_folder() -> Path:
    """The folder for pkpd's generated kernel sources: ``<Numba cache>/models``.

    Generated files live beside the machine code Numba caches for them, so one folder
    (keyed by pkpd's sources) holds both and a changed pkpd starts from a clean one.
    """
    import numba

    folder = numba.config.CACHE_DIR or configure()
    if not folder:   # NUMBA_CACHE_DIR set to nothing: a private temporary folder
        import tempfile

        folder = os.path.join(tempfile.gettempdir(), "pkpd-kernels")
    return Path(folder) / "models"
