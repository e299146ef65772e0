"""Model library: specs (states, parameters, outputs) with their compiled right-hand sides.

:data:`MODELS` maps every shipped model's name to its :class:`ModelSpec`;
:func:`get_model` looks one up by name with an error that lists the valid names.
"""

from __future__ import annotations

from collections.abc import Mapping

from pkpd.errors import InputError
from pkpd.models.pk import (
    LINEAR_MODELS as LINEAR_MODELS,
    LinearModel as LinearModel,
    PK_MODELS,
    linear_model as linear_model,
    micro_constants as micro_constants,
    system_matrix as system_matrix,
)
from pkpd.models.spec import ModelSpec, Output, Parameter, State

__all__ = [
    # registry
    "MODELS", "get_model",
    # spec records
    "ModelSpec", "Parameter", "State", "Output",
    # linear models
    "LINEAR_MODELS", "LinearModel", "linear_model", "micro_constants", "system_matrix",
]

def _pd_models() -> dict[str, ModelSpec]:
    from pkpd.models.tumor import TUMOR_GOMPERTZ, TUMOR_SIMEONI
    from pkpd.signaling.egfr_jak_stat3 import EGFR_JAK_STAT3

    return {"egfr_jak_stat3": EGFR_JAK_STAT3, "tumor_simeoni": TUMOR_SIMEONI, "tumor_gompertz": TUMOR_GOMPERTZ}


class _Registry(Mapping):
    """Name -> ModelSpec; the signaling and tumour models are added on first use.

    They import :mod:`pkpd.models.spec` themselves, so importing them here at module
    load would be circular.
    """

    def __init__(self):
        self._items = dict(PK_MODELS)
        self._complete = False

    def _load(self):
        if not self._complete:
            self._complete = True
            self._items.update(_pd_models())

    def __getitem__(self, name):
        self._load()
        return self._items[name]

    def __iter__(self):
        self._load()
        return iter(self._items)

    def __len__(self):
        self._load()
        return len(self._items)


MODELS: Mapping[str, ModelSpec] = _Registry()
"""Model name -> :class:`ModelSpec` for every shipped model."""


def get_model(name: str) -> ModelSpec:
    """The shipped model called ``name``.

    Raises
    ------
    InputError
        ``model: unknown model 'x'; valid: pk1cmt, ...`` for an unknown name.

    Examples
    --------
    >>> get_model("pk2cmt_oral").parameter_names
    ('CL', 'Vc', 'Q', 'Vp', 'KA')
    """
    try:
        return MODELS[name]
    except (KeyError, TypeError):
        raise InputError("model", f"unknown model {name!r}; valid: " + ", ".join(MODELS),
                         show_value=False) from None
