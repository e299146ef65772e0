"""The import rules of the package layout (see ../shared/design/STYLE.md, section c).

Compiled kernels live in the solver, model, network and system modules only; user-facing
modules stay plain Python. xarray is used only where Datasets are built or read,
matplotlib only by the plots, click only by the CLI, yaml only by the scenario reader, and
the solvers never import the models.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "pkpd"

ALLOWED = {
    "numba": {"_cache.py", "signatures.py", "system.py", "solvers/*", "models/_math.py", "models/pk.py", "models/tumor.py",
              "signaling/egfr_jak_stat3.py"},
    "xarray": {"simulate.py", "runner.py", "model_group.py", "model_plots.py", "metrics.py", "io.py", "plots.py", "trial.py",
               "exposure.py"},
    "matplotlib": {"plots.py", "model_plots.py"},
    "click": {"cli.py"},
    "yaml": {"scenario.py"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _allowed(rel: str, patterns: set[str]) -> bool:
    return any(rel == p or (p.endswith("/*") and rel.startswith(p[:-1])) for p in patterns)


FILES = sorted(PKG.rglob("*.py"))


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(PKG)) for p in FILES])
def test_import_rules(path):
    rel = str(path.relative_to(PKG))
    imported = _imports(path)
    for lib, patterns in ALLOWED.items():
        uses = any(name == lib or name.startswith(lib + ".") for name in imported)
        assert not uses or _allowed(rel, patterns), f"{rel} imports {lib}"
    if rel.startswith("solvers/"):
        assert not any(n.startswith("pkpd.models") or n.startswith("pkpd.system") for n in imported), \
            f"{rel}: solvers must not import models"
