"""What the fast paths may do with a model, found once from its equations when its kernels are generated.

Linear sources (the closed-form path, :mod:`pkpd.closed_form`)
    A set ``L`` of states is a *linear source* when the ODE of every state in ``L`` is
    linear and homogeneous in the states of ``L`` alone, with coefficients that are
    functions of parameters only (no ``t``, no other state): ``dx_L/dt = K(p) x_L``, plus
    the doses.  Every linear compartmental PK model is one (depot, central and peripheral
    amounts; an effect compartment fed by the central one joins it), whatever the
    rest of the model does with its concentrations, because nothing feeds back into it.
    Between two events such a set is a sum of exponentials of the eigenvalues of
    ``K``, so the solver need not carry it: the other states' right-hand side reads it
    from a table of modal coefficients (:mod:`pkpd.solvers.modal`).

    :func:`linear_sources` finds the largest such set and splits it into its connected
    parts (one per drug: each part is decomposed on its own, so the eigen-problems stay
    small and a coincidence of two drugs' rates does no harm).  The test is symbolic
    (sympy): each ODE, with the derived quantities that depend on states substituted, is
    a polynomial of degree at most 1 in the states it uses, with no constant term and
    coefficients free of ``t``; a ``max(CENT, 0)`` or a Hill term is not linear, so a
    state whose ODE has one stays with the solver.  States that depend on a state
    outside the set are removed until none does.  Nothing is assumed from block names:
    a flat model written as one block gets the same analysis.

The cascade split (the periodic-tail path, :mod:`pkpd.periodic`)
    Under dosing that repeats with a period, a model whose states split into a *fast*
    part that nothing of a *slow* part feeds back into reaches, in its fast part, a
    periodic orbit; the slow part (a tumour, over months) can then be integrated alone,
    driven by the fast states it reads, tabulated over one period.  :func:`periodic_split`
    finds the split from the block graph: the slow part is every block that is driven by
    another (it has a connected input) and drives none (a sink of the graph).  A model that is not a
    composition has no split.  The split is refused when a fast state reads a slow one,
    or when either part's ODEs use ``t`` (a fast part with explicit time is not
    periodic; the slow part is integrated on a clock that restarts each period).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LinearSource", "linear_sources", "CascadeSplit", "periodic_split"]


@dataclass(frozen=True)
class LinearSource:
    """A connected linear source: its states and the ones the rest of the model reads (0-based indices)."""

    states: tuple[int, ...]
    needed: tuple[int, ...]   # a subset of ``states``; may be empty (a part only outputs read)


def _substituted_odes(model, symbols: dict):
    """Each state's ODE as a sympy expression, with the state-dependent derived quantities substituted."""
    from pkpd.model.expressions import to_sympy

    states = set(model.state_names)
    state_dependent: set[str] = set()
    for d in model.derived_order:
        names = model.expression("derived", d).names
        if names & states or "t" in names or names & state_dependent:
            state_dependent.add(d)
    subs: dict = {}
    for d in model.derived_order:  # dependency order: each substitution is already expanded
        if d in state_dependent:
            subs[symbols[d]] = to_sympy(model.expression("derived", d), symbols).xreplace(subs)
    return [to_sympy(model.expression("ode", s), symbols).xreplace(subs) for s in model.state_names]


def linear_sources(model, symbols: dict, reads) -> tuple[LinearSource, ...]:
    """The connected linear sources of ``model`` (see the module docstring); () when there are none.

    ``symbols`` maps every model name (and ``t``) to its sympy symbol; ``reads(names)``
    gives the names that the right-hand side of the states ``names`` reads, derived
    quantities followed (the generated kernel's own rule, so ``needed`` is what the
    reduced kernel will read).  A model whose every state is a linear source has
    nothing left for the solver and gets () too: pkpd's closed forms of linear PK
    (:mod:`pkpd.solvers.linear`) are the tool for that.
    """
    import sympy as sp

    names = model.state_names
    ys = [symbols[s] for s in names]
    t = symbols["t"]
    deps: list[set[int]] = []
    linear: set[int] = set()
    for i, f in enumerate(_substituted_odes(model, symbols)):
        free = f.free_symbols
        uses = {j for j, y in enumerate(ys) if y in free}
        deps.append(uses)
        if not uses or t in free:
            continue
        try:
            poly = sp.Poly(f, *[ys[j] for j in sorted(uses)])
        except sp.PolynomialError:
            continue
        if poly.total_degree() <= 1 and poly.coeff_monomial(1) == 0 \
                and not any(c.free_symbols & (set(ys) | {t}) for c in poly.coeffs()):
            linear.add(i)
    changed = True
    while changed:  # a state driven by one outside the set is not a source
        changed = False
        for i in sorted(linear):
            if deps[i] - linear:
                linear.discard(i)
                changed = True
    if not linear or len(linear) == len(names):
        return ()
    rest = [s for i, s in enumerate(names) if i not in linear]
    read = set(reads(rest))
    parts, seen = [], set()
    for i in sorted(linear):
        if i in seen:
            continue
        part, stack = set(), [i]
        while stack:  # connected through the ODEs' dependencies, either way
            k = stack.pop()
            if k in part:
                continue
            part.add(k)
            stack += [j for j in deps[k] if j in linear]
            stack += [j for j in linear if k in deps[j]]
        seen |= part
        states = tuple(sorted(part))
        parts.append(LinearSource(states, tuple(k for k in states if names[k] in read)))
    return tuple(parts)


@dataclass(frozen=True)
class CascadeSplit:
    """A cascade: the slow states, and the fast states they read (0-based indices)."""

    slow: tuple[int, ...]
    needed: tuple[int, ...]
    blocks: tuple[str, ...]   # the slow blocks


def periodic_split(model, symbols: dict, reads) -> CascadeSplit | None:
    """The cascade split of ``model`` (module docstring), or None; ``symbols``, ``reads`` as for :func:`linear_sources`."""
    if not model.blocks or not model.connections:
        return None
    driven = {target.split(".", 1)[0] for target in model.connections}
    drives = {source_block for _, source_block in model.connections.values()}
    sinks = tuple(b for b in model.blocks if b in driven and b not in drives)
    if not sinks:
        return None
    names = model.state_names
    slow_names = {s for b in sinks for s in model.blocks[b]["states"]}
    if not slow_names or len(slow_names) == len(names):
        return None
    ys = {s: symbols[s] for s in names}
    t = symbols["t"]
    for s, f in zip(names, _substituted_odes(model, symbols)):
        free = f.free_symbols
        if t in free:
            return None
        if s not in slow_names and any(ys[q] in free for q in slow_names):
            return None
    slow = tuple(i for i, s in enumerate(names) if s in slow_names)
    read = set(reads([names[i] for i in slow]))
    needed = tuple(i for i, s in enumerate(names) if s not in slow_names and s in read)
    return CascadeSplit(slow, needed, sinks)
