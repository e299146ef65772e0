"""The model language: models written as equations, composed from blocks, compiled with their Jacobians.

* :mod:`pkpd.model.expressions`: the expressions (checked by name, never executed);
* :mod:`pkpd.model.language`: :class:`Model` and its declarations, the text form
  (:func:`parse_model`, :func:`load_model_file`);
* :mod:`pkpd.model.compose`: blocks joined by name into one flat model;
* :mod:`pkpd.model.codegen`: the Numba source of the right-hand side and of its
  analytic Jacobian, written to a real file in the kernel cache and imported;
* :mod:`pkpd.model.compiled`: :class:`CompiledModel` and :func:`compile_model`.

``docs/user_models.md`` describes the language for users.
"""

from pkpd.model.compiled import CompiledModel as CompiledModel, compile_model as compile_model
from pkpd.model.compose import block_graph as block_graph, compose as compose
from pkpd.model.language import (
    Derived as Derived,
    DoseDef as DoseDef,
    Input as Input,
    Model as Model,
    OutputDef as OutputDef,
    StateDef as StateDef,
    load_model_file as load_model_file,
    parse_model as parse_model,
)
from pkpd.models.spec import Parameter as Parameter

__all__ = ["Model", "Parameter", "Input", "StateDef", "Derived", "OutputDef", "DoseDef", "parse_model",
           "load_model_file", "compose", "block_graph", "compile_model", "CompiledModel"]
