"""User-supplied models: a Python file with a :class:`~pkpd.models.spec.ModelSpec`, named from a scenario.

A scenario (or a Python caller) names a model as ``path/to/my_model.py:NAME``:
the file is imported as a module and its attribute ``NAME`` must be a
:class:`ModelSpec` whose right-hand side is an ``@njit`` function
``rhs(t, y, p, dydt)`` that compiles for :data:`pkpd.signatures.RHS_SIGNATURE`
(``t`` in h; ``y``, ``p`` and ``dydt`` C-contiguous float64 arrays).  A shipped
model is named by its registry name instead (``pk2cmt_oral``, see
:data:`pkpd.models.MODELS`).  ``docs/user_models.md`` explains how to write the
file.

Every problem is one line, an :class:`~pkpd.errors.InputError` on the field
``model`` (the CLI prints it and exits with code 2): a missing file, a syntax or
import error in the module (with the file and line), a missing attribute, an
attribute that is not a ModelSpec, a right-hand side that does not compile for
the signature, or one that leaves a derivative unwritten or non-finite at the
initial state with the default parameters.

A file is imported once per process (keyed by its resolved path and modification
time); a changed file is imported afresh.

Module name and Numba's cache
-----------------------------
The file is imported under a private name, ``pkpd_user_<stem>_<hash of its path>``, so
that two files with the same name in different folders (``a/model.py``, ``b/model.py``)
are two modules, and loading one never replaces a module of the user's own
(``import model``) or of the standard library in :data:`sys.modules`.

Numba's on-disk cache (``cache=True``) does not allow that name to share cache files
with a plain ``import``: it finds a function's cache files by its *source file* alone
(a hash of the file's folder, the file's stem, the function's name and line:
``<folder>_<sha1>/model.rhs-12.py311.nbi``), while the machine code it stores refers to
the function's globals by *module name*: loading an entry re-imports that module
(``importlib.import_module`` in ``numba.core.environment._rebuild_env``).  An entry
written while pkpd had the file loaded as ``pkpd_user_model_<hash>`` therefore crashed
a later ``import model`` (``ModuleNotFoundError: No module named
'pkpd_user_model_<hash>'``), and an entry written by ``import model`` crashed a later
``pkpd run`` (``No module named 'model'``).

pkpd therefore gives its import a source path of its own: it imports the file through
a symbolic link ``<Numba cache>/user-models/<module name>/<file name>`` (a copy where
links are not allowed, refreshed whenever the file changes).  Numba keys the cache on
that path, so entries written under pkpd's module name live in a folder of their own
and are only ever read back under that name: a second ``pkpd run`` loads the model's
machine code from disk, a plain import keeps using Numba's usual files, and neither
reads the other's.  Numba's source stamp follows the link to the user's file, so an
edited file still recompiles.  A file both imported by hand and run by pkpd is compiled
once for each (each then cached).  Errors still name the user's file and line.

Importing the file under its plain name (its stem) instead was rejected: which name
a plain import gives depends on ``sys.path`` and packages (``model``,
``examples.model``, pytest's rootdir names), so entries written under another name
would still share the folder and crash; and registering a bare stem in
``sys.modules`` collides with the user's and the standard library's modules and with
a second file of the same stem.  A cache locator keyed by module name would work too,
but needs Numba's private locator classes in this plain-Python module.
"""

from __future__ import annotations

import importlib.util
import hashlib
import os
import re
import shutil
import sys
import traceback
from pathlib import Path

import numpy as np

from pkpd import _cache
from pkpd.errors import InputError, ModelError
from pkpd.models import MODELS, ModelSpec

__all__ = ["load_model", "parse_model_ref", "model_file"]

#: (resolved path, mtime_ns) -> imported module
_MODULES: dict[tuple[str, int], object] = {}

_SIGNATURE_TEXT = "rhs(t, y, p, dydt) with t a float64 (h) and y, p, dydt C-contiguous float64 arrays"


def _one_line(text: str, limit: int = 300) -> str:
    """``text`` collapsed onto one line (whitespace runs -> one blank), at most ``limit`` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def parse_model_ref(ref: object, path: str = "model") -> tuple[str | None, str]:
    """Split a model reference into ``(file, attribute)``; ``(None, name)`` for a shipped model.

    ``"models/irm.py:IRM"`` gives ``("models/irm.py", "IRM")``; ``"pk1cmt_oral"`` gives
    ``(None, "pk1cmt_oral")``.  Raises :class:`InputError` on ``path`` for anything else.
    """
    if not isinstance(ref, str) or not ref.strip():
        raise InputError(path, "must name a model: a shipped model (" + ", ".join(MODELS)
                         + ") or a Python file and a name, path/to/my_model.py:MODEL", show_value=False)
    ref = ref.strip()
    if ":" in ref:
        file, attr = ref.rsplit(":", 1)
        file, attr = file.strip(), attr.strip()
        if not file.endswith(".py"):
            raise InputError(path, f"'{file}' is not a Python file (.py); write path/to/my_model.py:MODEL",
                             show_value=False)
        if not attr.isidentifier():
            raise InputError(path, f"'{attr}' after ':' is not a Python name; write path/to/my_model.py:MODEL",
                             show_value=False)
        return file, attr
    if ref.endswith(".py"):
        raise InputError(path, f"name the model inside the file: {ref}:MODEL (the ModelSpec's variable name)",
                         show_value=False)
    if ref not in MODELS:
        raise InputError(path, f"unknown model '{ref}'; give a shipped model (" + ", ".join(MODELS)
                         + ") or a Python file and a name, path/to/my_model.py:MODEL", show_value=False)
    return None, ref


def model_file(ref: str, base_dir: str | os.PathLike | None = None, path: str = "model") -> Path | None:
    """The resolved path of the file a model reference names (None for a shipped model).

    A relative file is taken relative to ``base_dir`` (a scenario's folder), or to the
    current folder when ``base_dir`` is None.
    """
    file, _ = parse_model_ref(ref, path)
    if file is None:
        return None
    p = Path(file).expanduser()
    if not p.is_absolute():
        p = Path(base_dir if base_dir is not None else ".") / p
    return p.resolve()


def _user_line(tb, file: Path, imported: Path) -> int | None:
    """The last line of ``file`` in traceback ``tb`` (where the user's code failed), or None."""
    line = None
    for frame in traceback.extract_tb(tb):
        if _in_file(frame.filename, file, imported):
            line = frame.lineno
    return line


def _numba_reason(err: BaseException, file: Path, imported: Path) -> str:
    """The informative part of a Numba compilation error, with the user's line when it names one."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(err))  # Numba highlights with ANSI colour codes
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    # Numba's first line says which pipeline step failed; the next one says why.
    skip = ("Failed in ", "During: ", "- Resolution failure", "Resolution failure")
    reason = next((ln for ln in lines if not ln.startswith(skip)), lines[0] if lines else type(err).__name__)
    where = ""
    for m in re.finditer(r'File "([^"]+)", line (\d+)', text):
        if _in_file(m.group(1), file, imported):
            where = f"line {m.group(2)}: "
    return _one_line(where + reason, 240)


def _module_name(file: Path) -> str:
    """The module name ``file`` (a resolved path) is imported under: stem plus a hash of the path."""
    digest = hashlib.sha256(str(file).encode()).hexdigest()[:12]
    return f"pkpd_user_{re.sub(r'[^0-9A-Za-z_]', '_', file.stem)}_{digest}"


def _import_path(file: Path, name: str) -> Path:
    """The path ``file`` is imported from: a link to it in a folder named ``name`` in pkpd's cache.

    Numba keys its cache on this path (see the module docstring).  Where a link cannot be
    made, a copy of the file (rewritten when its contents differ); where neither can be
    written, ``file`` itself.
    """
    folder = _cache.kernel_folder().parent / "user-models" / name
    link = folder / file.name
    try:
        if link.is_symlink() and link.resolve() == file:
            return link
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{file.name}.{os.getpid()}.tmp"
        tmp.unlink(missing_ok=True)
        try:
            tmp.symlink_to(file)
        except (OSError, NotImplementedError):   # no symbolic links here (Windows without the right)
            if link.is_file() and not link.is_symlink() and link.read_bytes() == file.read_bytes():
                return link
            shutil.copyfile(file, tmp)
        os.replace(tmp, link)                    # atomic: a concurrent pkpd sees the old or the new one
        return link
    except OSError:
        return file


def _in_file(filename: str, file: Path, imported: Path) -> bool:
    """Whether a traceback's ``filename`` is the user's ``file`` (or the path it was imported from)."""
    try:
        return filename == str(imported) or Path(filename).resolve() == file
    except (OSError, ValueError):
        return False


def _import(file: Path, path: str):
    """Import ``file`` as a fresh module (cached by path and mtime); errors as one-line InputErrors."""
    key = (str(file), file.stat().st_mtime_ns)
    if key in _MODULES:
        return _MODULES[key]
    name = _module_name(file)
    imported = _import_path(file, name)
    spec = importlib.util.spec_from_file_location(name, imported)
    if spec is None or spec.loader is None:
        raise InputError(path, f"cannot import {file} as a Python module", show_value=False)
    module = importlib.util.module_from_spec(spec)
    # Registered before running it: dataclasses and Numba's cache look the module up by name.
    previous = sys.modules.get(name)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as err:
        _restore(name, previous)
        raise InputError(path, f"syntax error in {file}, line {err.lineno}: {err.msg}", show_value=False) from None
    except Exception as err:  # noqa: BLE001 - any failure of the user's module is reported, not raised
        _restore(name, previous)
        line = _user_line(err.__traceback__, file, imported)
        at = f", line {line}" if line else ""
        if type(err).__module__.startswith("numba"):
            raise InputError(path, f"the right-hand side in {file} does not compile as {_SIGNATURE_TEXT} "
                                   f"({_numba_reason(err, file, imported)})", show_value=False) from None
        if isinstance(err, ModelError):
            raise InputError(path, f"invalid model in {file}{at}: {_one_line(err)}", show_value=False) from None
        raise InputError(path, f"importing {file} failed{at}: {type(err).__name__}: {_one_line(err)}",
                         show_value=False) from None
    _MODULES[key] = module
    return module


def _restore(name: str, previous) -> None:
    if previous is None:
        sys.modules.pop(name, None)
    else:
        sys.modules[name] = previous


def _check_kernels(spec: ModelSpec, where: str, path: str) -> None:
    """Call rhs once (and output_fn) at the initial state with the default parameters.

    Catches what compilation cannot: derivatives the rhs never writes (a forgotten
    ``dydt[i]``), non-finite derivatives, and outputs that are missing or fail.
    """
    y = spec.y0()
    p = spec.pack()
    dydt = np.full(spec.n_states, np.nan)
    try:
        spec.rhs(0.0, y, p, dydt)
    except Exception as err:  # noqa: BLE001
        raise InputError(path, f"the right-hand side of {where} fails at the initial state with the default "
                               f"parameters: {type(err).__name__}: {_one_line(err)}", show_value=False) from None
    bad = np.flatnonzero(~np.isfinite(dydt))
    if bad.size:
        names = ", ".join(spec.state_names[i] for i in bad)
        raise InputError(path, f"the right-hand side of {where} leaves dydt unwritten or not finite for {names} "
                               "at the initial state with the default parameters; it must write every dydt[i]",
                         show_value=False)
    if not spec.outputs:
        return
    try:
        out = spec.evaluate_outputs(y[None, None, :], p[None, None, :])
    except Exception as err:  # noqa: BLE001
        raise InputError(path, f"output_fn of {where} fails on arrays y (..., n_states), p (..., n_parameters): "
                               f"{type(err).__name__}: {_one_line(err)}", show_value=False) from None
    missing = [o.name for o in spec.outputs if not isinstance(out, dict) or o.name not in out]
    if missing:
        raise InputError(path, f"output_fn of {where} does not return the declared outputs "
                               + ", ".join(missing) + " (it must return a dict name -> array)", show_value=False)
    for o in spec.outputs:
        try:
            np.broadcast_to(np.asarray(out[o.name], dtype=np.float64), (1, 1))
        except (ValueError, TypeError):
            raise InputError(path, f"output_fn of {where}: output {o.name} has shape "
                                   f"{np.shape(out[o.name])}, expected the shape of y without its last axis",
                             show_value=False) from None


def load_model(ref: str, base_dir: str | os.PathLike | None = None, path: str = "model") -> ModelSpec:
    """The :class:`ModelSpec` named by ``ref``: ``"path/to/file.py:NAME"`` or a shipped model's name.

    Parameters
    ----------
    ref : ``"file.py:NAME"`` (``NAME`` a module-level ModelSpec of that file) or a key of
        :data:`pkpd.models.MODELS` such as ``"pk1cmt_oral"``.
    base_dir : folder a relative file is resolved against (the scenario's folder); default
        the current folder.
    path : field path named in errors.

    Returns
    -------
    ModelSpec : its rhs compiled for :data:`pkpd.signatures.RHS_SIGNATURE` and checked once
        at the initial state (every derivative written and finite; outputs evaluate).

    Raises
    ------
    InputError : one line naming ``path``, e.g.
        ``model: file 'irm.py' not found (looked for /work/scenarios/irm.py)``.

    Examples
    --------
    >>> load_model("pk1cmt_oral").state_names
    ('DEPOT', 'CENT')
    """
    file, attr = parse_model_ref(ref, path)
    if file is None:
        return MODELS[attr]
    resolved = model_file(ref, base_dir, path)
    if not resolved.exists():
        raise InputError(path, f"file '{file}' not found (looked for {resolved})", show_value=False)
    if not resolved.is_file():
        raise InputError(path, f"'{file}' is not a file ({resolved})", show_value=False)
    module = _import(resolved, path)
    where = f"{file}:{attr}"
    if not hasattr(module, attr):
        specs = sorted(k for k, v in vars(module).items() if isinstance(v, ModelSpec) and not k.startswith("_"))
        found = ("; ModelSpecs in it: " + ", ".join(specs)) if specs else "; it defines no ModelSpec"
        raise InputError(path, f"{file} has no attribute '{attr}'{found}", show_value=False)
    spec = getattr(module, attr)
    if not isinstance(spec, ModelSpec):
        raise InputError(path, f"{where} is a {type(spec).__name__}, not a pkpd.models.ModelSpec",
                         show_value=False)
    _check_kernels(spec, where, path)
    return spec
