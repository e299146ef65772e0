"""Reaction networks as data: species, reactions with rate laws, and a reference evaluator.

A :class:`Network` lists its species (the state vector, in order), its external
inputs (drug concentrations), its parameters (:class:`pkpd.models.spec.Parameter`,
each with value, unit and source), a few *derived quantities* (named
sub-expressions such as a baseline level or a drug-effect term, like SBML
assignment rules) and its reactions.  Each reaction has reactants, products
and a rate law written as a small Python expression over the names above.

From that data this module derives

* the stoichiometry matrix ``N`` (species x reactions), so that
  ``dy/dt = N @ v(y)``;
* a *reference evaluator* (:meth:`Network.rates`, :meth:`Network.rhs`): plain
  Python ``eval`` of the rate-law strings, slow but obviously correct.  The
  hand-written Numba kernel of a network is tested against it;
* the conservation laws (left null space of ``N``);
* a Markdown page (:func:`render_markdown`) listing every species, reaction,
  rate law and parameter, so the documentation is generated from the same data
  the code runs on and cannot drift.

Rate-law expressions may use ``+ - * / **``, parentheses, numbers, the names of
species, inputs, parameters and earlier derived quantities, and the functions
``max, min, exp, log, sqrt`` (element-wise, so the evaluator also works on
arrays).  Names are checked when the network is built.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from pkpd.errors import ModelError
from pkpd.models.spec import Parameter

__all__ = ["Species", "Input", "Derived", "Reaction", "Network", "render_markdown"]

#: Functions a rate law may call, mapped to element-wise numpy versions.
FUNCTIONS = {"max": np.maximum, "min": np.minimum, "exp": np.exp, "log": np.log, "sqrt": np.sqrt}

_ALLOWED_NODES = (
    ast.Expression, ast.BinOp, ast.UnaryOp, ast.Call, ast.Name, ast.Load, ast.Constant,
    ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.USub, ast.UAdd,
)


@dataclass(frozen=True)
class Species:
    """One state of the network (a molecular species or a lumped signal), with its unit."""

    name: str
    unit: str
    description: str

    def __post_init__(self):
        if not self.name.isidentifier():
            raise ModelError(f"species name {self.name!r} is not an identifier")


@dataclass(frozen=True)
class Input:
    """An external input the network reads but does not change (e.g. a free drug concentration)."""

    name: str
    unit: str
    description: str

    def __post_init__(self):
        if not self.name.isidentifier():
            raise ModelError(f"input name {self.name!r} is not an identifier")


@dataclass(frozen=True)
class Derived:
    """A named sub-expression (assignment rule) that rate laws and later derived quantities may use."""

    name: str
    expression: str
    unit: str
    description: str

    def __post_init__(self):
        if not self.name.isidentifier():
            raise ModelError(f"derived quantity name {self.name!r} is not an identifier")


@dataclass(frozen=True)
class Reaction:
    """One reaction: ``reactants -> products`` at rate ``rate_law`` (units of species per h).

    ``reactants`` and ``products`` are tuples of species names; a name listed
    twice has stoichiometric coefficient 2.  An empty tuple is the outside world
    (synthesis or degradation).  ``parameters`` names the parameters the rate
    law uses directly; it is checked against the expression.
    """

    name: str
    reactants: tuple[str, ...]
    products: tuple[str, ...]
    rate_law: str
    parameters: tuple[str, ...]
    description: str

    def __post_init__(self):
        if not self.name.isidentifier():
            raise ModelError(f"reaction name {self.name!r} is not an identifier")
        for attr in ("reactants", "products", "parameters"):
            if isinstance(getattr(self, attr), str):
                raise ModelError(f"reaction {self.name}: {attr} must be a tuple of names, not a string")
            object.__setattr__(self, attr, tuple(getattr(self, attr)))

    def equation(self) -> str:
        """The reaction written as text, e.g. ``R -> Ra`` or ``∅ -> R``."""
        def side(names):
            if not names:
                return "∅"
            return " + ".join(f"{names.count(n)} {n}" if names.count(n) > 1 else n
                              for n in dict.fromkeys(names))
        return f"{side(self.reactants)} → {side(self.products)}"


def _names_in(expression: str, where: str) -> tuple[ast.Expression, set[str]]:
    """Parse ``expression``; return its tree and the free names it uses (functions excluded)."""
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError as exc:
        raise ModelError(f"{where}: cannot parse {expression!r}: {exc.msg}") from None
    names = set()
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            raise ModelError(f"{where}: {type(node).__name__} is not allowed in a rate law ({expression!r})")
        if isinstance(node, ast.Call):
            if not (isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS) or node.keywords:
                raise ModelError(f"{where}: only calls to {sorted(FUNCTIONS)} are allowed ({expression!r})")
        elif isinstance(node, ast.Name) and node.id not in FUNCTIONS:
            names.add(node.id)
    return tree, names


@dataclass(frozen=True)
class Network:
    """A reaction network: species (state order), inputs, parameters, derived quantities, reactions.

    Parameters
    ----------
    name : short identifier of the network.
    species : tuple of :class:`Species`; their order is the order of the state vector ``y``.
    reactions : tuple of :class:`Reaction`.
    parameters : tuple of :class:`~pkpd.models.spec.Parameter`; their order is the order of ``p``.
    inputs : tuple of :class:`Input` (external drivers, e.g. free drug concentrations in nM).
    derived : tuple of :class:`Derived`, evaluated in order (each may use the earlier ones).
    description, references : text for the generated documentation.
    """

    name: str
    species: tuple[Species, ...]
    reactions: tuple[Reaction, ...]
    parameters: tuple[Parameter, ...]
    inputs: tuple[Input, ...] = ()
    derived: tuple[Derived, ...] = ()
    description: str = ""
    references: tuple[str, ...] = ()
    _codes: dict = field(init=False, repr=False, compare=False)
    _N: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        groups = {
            "species": [s.name for s in self.species],
            "input": [i.name for i in self.inputs],
            "parameter": [p.name for p in self.parameters],
            "derived quantity": [d.name for d in self.derived],
            "reaction": [r.name for r in self.reactions],
        }
        for kind, names in groups.items():
            dup = sorted({n for n in names if names.count(n) > 1})
            if dup:
                raise ModelError(f"network {self.name}: duplicate {kind} names {dup}")
        symbols = groups["species"] + groups["input"] + groups["parameter"] + groups["derived quantity"]
        clash = sorted({n for n in symbols if symbols.count(n) > 1} | (set(symbols) & set(FUNCTIONS)))
        if clash:
            raise ModelError(f"network {self.name}: names used for two things: {clash}")

        species_set, params_set = set(groups["species"]), set(groups["parameter"])
        known = species_set | set(groups["input"]) | params_set
        used = set()
        codes = {}
        for d in self.derived:
            tree, names = _names_in(d.expression, f"derived {d.name}")
            unknown = names - known
            if unknown:
                raise ModelError(f"network {self.name}: derived {d.name} uses unknown or later-defined "
                                 f"names {sorted(unknown)}")
            codes[d.name] = compile(tree, f"<{self.name}.{d.name}>", "eval")
            known.add(d.name)
            used |= names
        for r in self.reactions:
            for s in r.reactants + r.products:
                if s not in species_set:
                    raise ModelError(f"network {self.name}: reaction {r.name} names unknown species {s!r}")
            tree, names = _names_in(r.rate_law, f"reaction {r.name}")
            unknown = names - known
            if unknown:
                raise ModelError(f"network {self.name}: reaction {r.name} uses unknown names {sorted(unknown)}")
            direct = names & params_set
            if direct != set(r.parameters):
                raise ModelError(
                    f"network {self.name}: reaction {r.name} declares parameters {sorted(r.parameters)} "
                    f"but its rate law uses {sorted(direct)}")
            codes[r.name] = compile(tree, f"<{self.name}.{r.name}>", "eval")
            used |= names
        unused = sorted((params_set | set(groups["input"]) | set(groups["derived quantity"])) - used)
        if unused:
            raise ModelError(f"network {self.name}: defined but never used: {unused}")

        N = np.zeros((len(self.species), len(self.reactions)))
        index = {s: i for i, s in enumerate(groups["species"])}
        for j, r in enumerate(self.reactions):
            for s in r.reactants:
                N[index[s], j] -= 1.0
            for s in r.products:
                N[index[s], j] += 1.0
        N.setflags(write=False)
        object.__setattr__(self, "_codes", codes)
        object.__setattr__(self, "_N", N)

    # ------------------------------------------------------------------ names and vectors
    @property
    def species_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.species)

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters)

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(i.name for i in self.inputs)

    @property
    def reaction_names(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.reactions)

    def parameter_values(self) -> np.ndarray:
        """Default parameter vector, shape (n_parameters,), in declaration order."""
        return np.array([p.value for p in self.parameters], dtype=np.float64)

    @property
    def stoichiometry(self) -> np.ndarray:
        """Stoichiometry matrix ``N``, shape (n_species, n_reactions); ``dy/dt = N @ v``."""
        return self._N

    def conservation_laws(self, tol: float = 1e-10) -> np.ndarray:
        """Orthonormal basis of the left null space of ``N``, shape (n_laws, n_species).

        Each row ``c`` gives a conserved total ``c @ y`` (whatever the rate laws).
        """
        u, s, vt = np.linalg.svd(self._N.T)
        rank = int(np.sum(s > tol * max(1.0, s.max(initial=0.0))))
        return vt[rank:].copy()

    # ------------------------------------------------------------------ reference evaluator
    def namespace(self, y, p, inputs: Mapping[str, float] | None = None) -> dict:
        """All named values at state ``y``: species, inputs, parameters, derived quantities.

        ``y`` has shape (n_species, ...) or (n_species,), ``p`` shape (n_parameters, ...);
        entries broadcast, so whole time courses can be evaluated at once.  Missing
        inputs are 0.
        """
        y = np.asarray(y, dtype=np.float64)
        p = np.asarray(p, dtype=np.float64)
        if y.shape[0] != len(self.species):
            raise ModelError(f"network {self.name}: y has {y.shape[0]} rows, expected {len(self.species)}")
        if p.shape[0] != len(self.parameters):
            raise ModelError(f"network {self.name}: p has {p.shape[0]} rows, expected {len(self.parameters)}")
        inputs = dict(inputs or {})
        unknown = set(inputs) - set(self.input_names)
        if unknown:
            raise ModelError(f"network {self.name}: unknown inputs {sorted(unknown)}")
        ns = {s.name: y[i] for i, s in enumerate(self.species)}
        ns.update({prm.name: p[i] for i, prm in enumerate(self.parameters)})
        ns.update({i.name: np.float64(inputs.get(i.name, 0.0)) for i in self.inputs})
        env = {"__builtins__": {}, **FUNCTIONS}
        for d in self.derived:
            ns[d.name] = eval(self._codes[d.name], env, ns)  # noqa: S307 (checked expression)
        return ns

    def rates(self, y, p, inputs: Mapping[str, float] | None = None) -> np.ndarray:
        """Reaction rates ``v``, shape (n_reactions, ...), in species units per h."""
        ns = self.namespace(y, p, inputs)
        env = {"__builtins__": {}, **FUNCTIONS}
        shape = np.broadcast_shapes(*[np.shape(v) for v in ns.values()])
        return np.array([np.broadcast_to(eval(self._codes[r.name], env, ns), shape)  # noqa: S307
                         for r in self.reactions], dtype=np.float64)

    def rhs(self, y, p, inputs: Mapping[str, float] | None = None) -> np.ndarray:
        """Reference right-hand side ``N @ v``, shape like ``y``, in species units per h."""
        v = self.rates(y, p, inputs)
        return np.tensordot(self._N, v, axes=(1, 0))

    def rhs_scale(self, y, p, inputs: Mapping[str, float] | None = None) -> np.ndarray:
        """``|N| @ |v|``: the size of the terms summed into each derivative.

        A natural scale for comparing two implementations of the right-hand side:
        round-off in a sum of terms is relative to the terms, not to their sum.
        """
        v = self.rates(y, p, inputs)
        return np.tensordot(np.abs(self._N), np.abs(v), axes=(1, 0))


# ---------------------------------------------------------------------- documentation
def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _fmt(value: float) -> str:
    return f"{value:.6g}"


def render_markdown(network: Network, *, title: str | None = None, notes: Sequence[str] = ()) -> str:
    """A Markdown page describing ``network`` completely, generated from its data.

    Sections: description, inputs, species (state order), derived quantities,
    reactions with rate laws, the differential equations, parameters (value,
    unit, description, source; guesses flagged) and references.  ``notes`` are
    extra paragraphs appended under "Notes".
    """
    out = [f"# {title or network.name}", "",
           "<!-- Generated by pkpd.signaling.network.render_markdown from the Network data; "
           "do not edit by hand. -->", ""]
    if network.description:
        out += [network.description.strip(), ""]

    if network.inputs:
        out += ["## Inputs", "", "| name | unit | description |", "|---|---|---|"]
        out += [f"| `{i.name}` | {_cell(i.unit)} | {_cell(i.description)} |" for i in network.inputs]
        out.append("")

    out += ["## Species (state vector order)", "", "| # | name | unit | description |", "|---|---|---|---|"]
    out += [f"| {k} | `{s.name}` | {_cell(s.unit)} | {_cell(s.description)} |"
            for k, s in enumerate(network.species)]
    out.append("")

    if network.derived:
        out += ["## Derived quantities", "", "Evaluated in this order; each may use the ones above it.", "",
                "| name | definition | unit | description |", "|---|---|---|---|"]
        out += [f"| `{d.name}` | `{_cell(d.expression)}` | {_cell(d.unit)} | {_cell(d.description)} |"
                for d in network.derived]
        out.append("")

    out += ["## Reactions", "", "| # | name | reaction | rate law (per h) | parameters | description |",
            "|---|---|---|---|---|---|"]
    for j, r in enumerate(network.reactions):
        prm = ", ".join(f"`{n}`" for n in r.parameters) or "–"
        out.append(f"| v{j} | `{r.name}` | {_cell(r.equation())} | `{_cell(r.rate_law)}` | {prm} | "
                   f"{_cell(r.description)} |")
    out.append("")

    out += ["## Differential equations", "", "Generated from the stoichiometry matrix (`v<j>` is reaction j above).",
            "", "```"]
    N = network.stoichiometry
    width = max(len(s.name) for s in network.species) + 4
    for i, s in enumerate(network.species):
        terms = []
        for j in range(N.shape[1]):
            c = N[i, j]
            if c == 0:
                continue
            sign = "+" if c > 0 else "-"
            mag = "" if abs(c) == 1 else f"{abs(c):g}*"
            terms.append(f"{sign} {mag}v{j}")
        body = " ".join(terms) if terms else "0"
        if body.startswith("+ "):
            body = body[2:]
        elif body.startswith("- "):
            body = "-" + body[2:]
        out.append(f"{'d' + s.name + '/dt':<{width}} = {body}")
    out += ["```", ""]
    laws = network.conservation_laws()
    if len(laws):
        out += ["Conserved totals (left null space of the stoichiometry matrix):", ""]
        for c in laws:
            c = c / c[np.argmax(np.abs(c))]
            terms = [f"{_fmt(ci)}·{s.name}" if abs(ci - 1) > 1e-12 else s.name
                     for ci, s in zip(c, network.species) if abs(ci) > 1e-12]
            out.append(f"- {' + '.join(terms)}")
        out.append("")

    n_assumed = sum(p.assumed for p in network.parameters)
    out += ["## Parameters", "",
            f"{len(network.parameters)} parameters; {n_assumed} are assumptions or hand calibrations "
            "(marked **assumed**), to be replaced by measured values when available.", "",
            "| name | value | unit | description | source |", "|---|---|---|---|---|"]
    for p in network.parameters:
        src = ("**assumed**: " if p.assumed else "") + p.source
        out.append(f"| `{p.name}` | {_fmt(p.value)} | {_cell(p.unit)} | {_cell(p.description)} | {_cell(src)} |")
    out.append("")

    if notes:
        out += ["## Notes", ""]
        for n in notes:
            out += [n.strip(), ""]
    if network.references:
        out += ["## References", ""]
        out += [f"- {_cell(r)}" for r in network.references]
        out.append("")
    return "\n".join(out)
