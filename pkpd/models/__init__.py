"""Model library: specs (states, parameters, outputs) with their compiled right-hand sides.

:data:`MODELS` maps every shipped model's name to its :class:`ModelSpec`;
:func:`get_model` looks one up by name with an error that lists the valid names.
"""

from __future__ import annotations

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

MODELS: dict[str, ModelSpec] = {**PK_MODELS}
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
