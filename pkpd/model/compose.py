"""Composition: blocks joined by name into one flat model of the same kind.

A composition takes named blocks (each a :class:`~pkpd.model.language.Model`: a
drug's PK, the signalling network, a tumour law) and connections, each mapping an
*input* of one block to an *output*, derived quantity or state of another::

    trial = compose("tnbc_combination",
                    {"neratinib": PK2_ORAL_NER, "ruxolitinib": PK1_ORAL_RUX,
                     "signaling": NETWORK_BLOCK, "tumor": SIMEONI_BLOCK},
                    {"signaling.C_ner_u": "neratinib.C_u",
                     "signaling.C_rux_u": "ruxolitinib.C_u",
                     "tumor.P": "signaling.P"})

Every name of a block is prefixed with the block's name (``neratinib.CL``,
``signaling.kinact``, ``tumor.lambda0``).  A connected input becomes a derived
quantity of the flat model equal to its source; an input that nothing connects stays
an input (a parameter with its default).  The result is one :class:`Model`, compiled
as one kernel with one Jacobian; it remembers its blocks and connections
(:attr:`Model.blocks`, :attr:`Model.connections`), from which :func:`block_graph`
gives the graph of which block drives which.

Errors are one line naming the connection: a missing block or symbol, a target that
is not an input, an input connected twice, or units that cannot match.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from pkpd.errors import ModelError
from pkpd.model.expressions import rename
from pkpd.model.language import Derived, DoseDef, Model

__all__ = ["compose", "block_graph", "reorder_parameters", "same_unit"]


def same_unit(a: str, b: str) -> bool:
    """Whether unit texts ``a`` and ``b`` are the same unit (spelling-insensitive where pkpd knows the unit)."""
    norm = lambda u: "".join(str(u).split()).replace("^", "").replace("**", "")  # noqa: E731
    if norm(a) == norm(b) or {norm(a), norm(b)} <= {"", "1"}:
        return True
    from pkpd import units

    try:
        ka, kb = units.unit_kind(a), units.unit_kind(b)
        if ka != kb:
            return False
        return abs(units.unit_factor(a, ka) - units.unit_factor(b, kb)) <= 1e-12 * abs(units.unit_factor(b, kb))
    except Exception:  # noqa: BLE001 - a unit pkpd does not know is compared by its text only
        return False


def compose(name: str, blocks: Mapping[str, Model], connections: Mapping[str, str] | Sequence[tuple[str, str]],
            description: str = "", references: Sequence[str] = ()) -> Model:
    """One flat :class:`Model` from ``blocks`` (name -> Model) joined by ``connections`` (input -> source).

    ``connections`` maps ``"block.input"`` to ``"block.name"`` where ``name`` is an output,
    derived quantity or state of that block; a list of pairs is accepted too (an input
    listed twice is an error).
    """
    pairs = list(connections.items()) if isinstance(connections, Mapping) else list(connections)
    for b in blocks:
        if "." in b or not b.isidentifier():
            raise ModelError(f"composition {name}: block name '{b}' must be a plain identifier")
    seen: dict[str, str] = {}
    for target, source in pairs:
        if target in seen:
            raise ModelError(f"composition {name}: connection {target} <- {source}: {target} is already "
                             f"connected (to {seen[target]})")
        seen[target] = source

    def split(ref: str, role: str, conn: str) -> tuple[str, str]:
        blk, dot, sym = str(ref).partition(".")
        if not dot or blk not in blocks:
            raise ModelError(f"composition {name}: connection {conn}: {role} '{ref}' must be block.name with a "
                             "block of " + ", ".join(blocks))
        return blk, sym

    connected: dict[str, str] = {}   # flat input name -> flat source expression text
    source_blocks: dict[str, str] = {}
    for target, source in pairs:
        conn = f"{target} <- {source}"
        tb, tsym = split(target, "input", conn)
        sb, ssym = split(source, "source", conn)
        tm, sm = blocks[tb], blocks[sb]
        inp = next((i for i in tm.inputs if i.name == tsym), None)
        if inp is None:
            raise ModelError(f"composition {name}: connection {conn}: {tb} has no input '{tsym}'; its inputs are "
                             + (", ".join(tm.input_names) or "none"))
        if sb == tb:
            raise ModelError(f"composition {name}: connection {conn}: a block cannot feed its own input")
        out = next((o for o in sm.outputs if o.name == ssym), None)
        der = next((d for d in sm.derived if d.name == ssym), None)
        st = next((s for s in sm.states if s.name == ssym), None)
        if out is not None:
            text, unit = sm.expression("output", ssym), out.unit
        elif der is not None:
            text, unit = sm.expression("derived", ssym), der.unit
        elif st is not None:
            text, unit = None, st.unit
        else:
            have = [o.name for o in sm.outputs] + [d.name for d in sm.derived] + list(sm.state_names)
            raise ModelError(f"composition {name}: connection {conn}: {sb} has no output, derived quantity or "
                             f"state '{ssym}'; it has " + ", ".join(have))
        if unit and inp.unit and not same_unit(unit, inp.unit):
            raise ModelError(f"composition {name}: connection {conn}: units cannot match ({source} is in {unit}, "
                             f"{target} expects {inp.unit})")
        if text is None:
            connected[target] = source
        else:
            connected[target] = rename(text, _prefix_map(sm, sb)).text
        source_blocks[target] = sb

    parameters, inputs, states, derived, outputs, dosing = [], [], [], [], [], []
    odes: dict[str, str] = {}
    locations: dict = {}
    members: dict[str, dict] = {}
    for b, m in blocks.items():
        mp = _prefix_map(m, b)
        rn = lambda text: rename(_parsed_text(text), mp).text  # noqa: E731
        parameters += [replace(q, name=mp[q.name]) for q in m.parameters]
        for q in m.parameters:
            if ("parameter", q.name) in m.locations:
                locations["parameter", mp[q.name]] = m.locations["parameter", q.name]
        for i in m.inputs:
            flat = mp[i.name]
            if flat in connected:
                derived.append(Derived(flat, connected[flat], i.unit,
                                       f"{i.description} (connected to {seen[flat]})", i.where))
            else:
                inputs.append(replace(i, name=flat))
        states += [replace(s, name=mp[s.name], initial=rn(m.expression("initial", s.name).text)) for s in m.states]
        derived += [replace(d, name=mp[d.name], expression=rn(m.expression("derived", d.name).text))
                    for d in m.derived]
        for s in m.state_names:
            odes[mp[s]] = rn(m.expression("ode", s).text)
            if ("ode", s) in m.locations:
                locations["ode", mp[s]] = m.locations["ode", s]
        outputs += [replace(o, name=mp[o.name], expression=rn(m.expression("output", o.name).text))
                    for o in m.outputs]
        dosing += [DoseDef(mp[d.state], where=d.where,
                           **{k: rename(m.expression("dose", f"{d.state}.{k}"), mp).text
                              for k in d.modifiers()}) for d in m.dosing]
        members[b] = {"model": m.name, "parameters": tuple(mp[q] for q in m.parameter_names),
                      "inputs": tuple(mp[i] for i in m.input_names), "states": tuple(mp[s] for s in m.state_names),
                      "outputs": tuple(mp[o.name] for o in m.outputs)}
    refs = list(references)
    for m in blocks.values():
        refs += [r for r in m.references if r not in refs]
    return Model(name, tuple(parameters), tuple(states), odes, tuple(inputs), tuple(derived), tuple(outputs),
                 tuple(dosing), description, tuple(refs), "", blocks=members,
                 connections={t: (seen[t], source_blocks[t]) for t in connected}, locations=locations)


def _parsed_text(text: str):
    from pkpd.model.expressions import parse_expression

    return parse_expression(text)


def _prefix_map(m: Model, block: str) -> dict[str, str]:
    names = (list(m.parameter_names) + list(m.input_names) + list(m.state_names) + [d.name for d in m.derived]
             + [o.name for o in m.outputs])
    return {n: f"{block}.{n}" for n in names}


def block_graph(model: Model) -> dict[str, set[str]]:
    """Block -> the blocks whose inputs it drives (empty for a model that is not a composition)."""
    graph = {b: set() for b in model.blocks}
    for target, (_, source_block) in model.connections.items():
        graph[source_block].add(target.split(".", 1)[0])
    return graph


def reorder_parameters(model: Model, order: Sequence[str]) -> Model:
    """``model`` with its parameters in ``order`` (a permutation of its parameter names).

    The kernel's parameter vector follows the model's declaration order; a caller with
    a fixed layout of its own (a legacy parameter matrix) reorders instead of renaming.
    """
    names = list(model.parameter_names)
    if sorted(order) != sorted(names):
        missing = sorted(set(names) - set(order))
        extra = sorted(set(order) - set(names))
        raise ModelError(f"{model.name}: parameter order must list each parameter once (missing {missing}, "
                         f"unknown {extra})")
    by_name = {q.name: q for q in model.parameters}
    return replace(model, parameters=tuple(by_name[n] for n in order))
