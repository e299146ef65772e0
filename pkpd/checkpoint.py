"""Checkpoints of a run: each finished group (arm x sweep point) kept on disk, so a run can resume.

``pkpd run SCENARIO -o OUT.nc --resume`` keeps groups in ``OUT.nc.checkpoint/`` as
they finish and, when started again after an interruption, loads them instead of
simulating them again.  Groups are deterministic, so a resumed run gives a result
identical to an uninterrupted one.  The folder is removed once the output is written.
A checkpoint made by another scenario text, seed, pkpd version or failure policy is
refused rather than mixed in.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from pkpd import __version__
from pkpd.errors import ScenarioError

__all__ = ["Checkpoint"]


class Checkpoint:
    """Finished groups of one run, one ``.npz`` file each, in ``folder``."""

    def __init__(self, folder: str | os.PathLike, scenario_text: str, on_failure: str = "fail"):
        self.folder = Path(folder)
        self.key = hashlib.sha256(f"{__version__}\0{on_failure}\0{scenario_text}".encode()).hexdigest()
        manifest = self.folder / "manifest.json"
        if manifest.exists():
            found = json.loads(manifest.read_text()).get("key")
            if found != self.key:
                raise ScenarioError("--resume", f"checkpoint {str(self.folder)!r} belongs to a different scenario, "
                                    "pkpd version or --on-failure; remove it or write to another output",
                                    show_value=False)
        else:
            self.folder.mkdir(parents=True, exist_ok=True)
            manifest.write_text(json.dumps({"key": self.key, "pkpd_version": __version__}))

    def _path(self, item) -> Path:
        return self.folder / f"group_{item[0]}_{item[1]}.npz"

    def save(self, item, result: dict) -> None:
        """Store one group's result atomically (a partly written file is never loaded)."""
        fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        os.close(fd)
        try:
            with open(tmp, "wb") as fh:
                np.savez(fh, **{k: np.asarray(v) for k, v in result.items()})
            os.replace(tmp, self._path(item))
        except BaseException:
            os.unlink(tmp)
            raise

    def load(self, items) -> dict:
        """The stored results of those ``items`` that have one."""
        out = {}
        for item in items:
            path = self._path(item)
            if path.exists():
                with np.load(path) as z:
                    out[item] = {k: (z[k][()] if z[k].ndim == 0 else z[k]) for k in z.files}
        return out

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
