"""Models written in the language and shipped with pkpd: blocks and the trial system composed from them.

:data:`LIBRARY` maps a name to its :class:`~pkpd.model.language.Model` (imported on
first use: building the trial composition checks a few hundred expressions):

* ``tnbc_combination``: the trial system (:mod:`pkpd.model.library.trial`);
* ``neratinib_pk``, ``ruxolitinib_pk``: each drug's oral PK block (:mod:`.pk`);
* ``egfr_jak_stat3``: the signalling network block (:mod:`.network`);
* ``tumor_simeoni_block``: the Simeoni tumour block with its resistant subclone (:mod:`.tumor`).
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["LIBRARY", "COMPOSITIONS", "get_library_model", "composition"]

#: library models that are compositions, whose blocks a scenario may replace (``model: {from: ...}``)
COMPOSITIONS = ("tnbc_combination",)


def _build() -> dict:
    from pkpd.model.library.network import SIGNALING
    from pkpd.model.library.trial import TRIAL, drug_block
    from pkpd.model.library.tumor import SIMEONI
    from pkpd.models.drugs import NERATINIB, RUXOLITINIB

    from dataclasses import replace

    return {
        "tnbc_combination": TRIAL,
        "neratinib_pk": replace(drug_block(NERATINIB), name="neratinib_pk"),
        "ruxolitinib_pk": replace(drug_block(RUXOLITINIB), name="ruxolitinib_pk"),
        "egfr_jak_stat3": SIGNALING,
        "tumor_simeoni_block": replace(SIMEONI, name="tumor_simeoni_block"),
    }


class _Library(Mapping):
    """Name -> Model, built on first use."""

    def __init__(self):
        self._items: dict | None = None

    def _all(self) -> dict:
        if self._items is None:
            self._items = _build()
        return self._items

    def __getitem__(self, name):
        return self._all()[name]

    def __iter__(self):
        return iter(self._all())

    def __len__(self):
        return len(self._all())


LIBRARY: Mapping = _Library()


def get_library_model(name: str):
    """The library model ``name``; :class:`~pkpd.errors.InputError` listing the names if unknown."""
    from pkpd.errors import InputError

    if name not in LIBRARY:
        raise InputError("model", f"unknown library model {name!r}; valid: " + ", ".join(LIBRARY), show_value=False)
    return LIBRARY[name]


def composition(name: str) -> tuple[dict, dict]:
    """(blocks, connections) of the library composition ``name`` (one of :data:`COMPOSITIONS`)."""
    from pkpd.errors import InputError

    if name != "tnbc_combination":
        raise InputError("model.from", f"{name!r} is not a library composition; valid: " + ", ".join(COMPOSITIONS),
                         show_value=False)
    from pkpd.model.library.trial import TRIAL_CONNECTIONS, trial_blocks

    return trial_blocks(), dict(TRIAL_CONNECTIONS)
