"""Kernels generated from a :class:`~pkpd.model.language.Model`: source written to a real file, then imported.

For a model, this module writes one Python file into the kernel cache folder
(``<numba cache>/models/<name>_<digest>.py``, the digest a hash of everything that
determines the code and of pkpd's own sources) holding

* ``rhs(t, y, p, dydt)``: ``@njit(cache=True)``, compiled for ``RHS_SIGNATURE`` when loaded,
  the right-hand side,
  transcribed from the equations as written (derived quantities in dependency order,
  each ODE as soon as what it uses is computed, each state and parameter read where
  first used), so the kernel computes what the text says, operation by operation;
* ``jac(t, y, p, J)``: ``@njit(cache=True)``, compiled for ``JAC_SIGNATURE``, the analytic Jacobian
  ``J[i, j] = d(dy_i/dt)/dy_j``, by symbolic differentiation (sympy) of the
  right-hand side with the state-dependent derived quantities substituted, simplified
  by common-subexpression elimination; only the nonzero entries are written after
  zeroing ``J``;
* plain numpy functions over arrays of patients and times: ``initial(P)`` (initial
  states, which may depend on parameters), ``outputs(Y, P)`` (the declared outputs),
  ``derived(Y, P, names)`` and ``dose_modifiers(P)`` (bioavailability, lag, rate and
  duration of doses into each state).

Because the file is real and its module name is fixed by the digest, Numba's
``cache=True`` holds across processes: the second process imports the file and
loads the machine code, without sympy and without compiling.  Nothing is ``exec``'d,
and nothing in the file comes from the model text except checked expressions
(:mod:`pkpd.model.expressions`) and names.  Generated files are cache artefacts:
never edited, never committed; delete the cache folder to regenerate them.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.util
import keyword
import os
import sys
import tempfile
from pathlib import Path

from pkpd import _cache
from pkpd.errors import ModelError
from pkpd.model.expressions import dotted_name
from pkpd.model.language import DOSE_MODIFIERS, Model

__all__ = ["generate_source", "kernel_module", "kernel_file", "code_name", "GENERATOR_VERSION"]

#: bump when the shape of the generated code changes (also part of every digest)
GENERATOR_VERSION = 4

_RESERVED_CODE = {"t", "y", "p", "dydt", "J", "math", "np", "real_pow", "njit", "Y", "P", "out", "names",
                  "modal_segment", "modal_state", "periodic_value",
                  "shape", "max", "min", "abs", "float", "int", "range", "len", "_z"} | set(keyword.kwlist)


def code_name(name: str) -> str:
    """The Python identifier of model symbol ``name`` in generated code (``neratinib.CL`` -> ``neratinib__CL``)."""
    ident = name.replace(".", "__")
    return f"m_{ident}" if ident in _RESERVED_CODE or ident.startswith("_") or ident.startswith("m_") else ident


# ---------------------------------------------------------------------------------- transcription
class _Transcriber(ast.NodeTransformer):
    """Rewrites a checked expression into Numba code (``numpy=False``) or array code (``numpy=True``)."""

    def __init__(self, numpy: bool, symbols: dict[str, str]):
        self.numpy = numpy
        self.symbols = symbols

    def visit_Name(self, node):
        name = dotted_name(node)
        if name == "pi":
            return ast.parse("np.pi" if self.numpy else "math.pi", mode="eval").body
        return ast.Name(self.symbols[name], ast.Load())

    visit_Attribute = visit_Name   # block.name of a composed model

    def visit_Constant(self, node):
        return ast.Constant(float(node.value))

    def visit_BinOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, ast.Pow) and not self.numpy and not isinstance(node.right, ast.Constant):
            # exponents that are parameters (Hill coefficients) are usually small integers
            return _call("real_pow", [node.left, node.right])
        return node

    def visit_BoolOp(self, node):
        self.generic_visit(node)
        if not self.numpy:
            return node
        fn = "np.logical_and" if isinstance(node.op, ast.And) else "np.logical_or"
        out = node.values[0]
        for v in node.values[1:]:
            out = _call(fn, [out, v])
        return out

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if self.numpy and isinstance(node.op, ast.Not):
            return _call("np.logical_not", [node.operand])
        return node

    def visit_Call(self, node):
        args = [self.visit(a) for a in node.args]
        name = node.func.id
        if name == "piecewise":
            out = args[-1]
            for k in range(len(args) - 3, -1, -2):
                cond, value = args[k], args[k + 1]
                out = (_call("np.where", [cond, value, out]) if self.numpy
                       else ast.IfExp(cond, value, out))
            return out
        if name == "pow":
            return self.visit(ast.BinOp(node.args[0], ast.Pow(), node.args[1]))
        if self.numpy:
            fn = {"max": "np.maximum", "min": "np.minimum", "abs": "np.abs", "exp": "np.exp", "log": "np.log",
                  "log10": "np.log10", "sqrt": "np.sqrt"}[name]
            out = args[0]
            for a in args[1:] if name in ("max", "min") else ():
                out = _call(fn, [out, a])
            return out if name in ("max", "min") else _call(fn, args)
        fn = {"max": "max", "min": "min", "abs": "abs", "exp": "math.exp", "log": "math.log",
              "log10": "math.log10", "sqrt": "math.sqrt"}[name]
        return _call(fn, args)


def _call(fn: str, args) -> ast.Call:
    return ast.Call(ast.parse(fn, mode="eval").body, list(args), [])


def _code(expr_text: str, symbols: dict[str, str], numpy: bool = False) -> str:
    tree = ast.parse(expr_text, mode="eval")
    return ast.unparse(ast.fix_missing_locations(_Transcriber(numpy, symbols).visit(tree.body)))


# ---------------------------------------------------------------------------------- layout
class _Layout:
    """Indices of a model's states and kernel parameters (parameters, then inputs) and code names."""

    def __init__(self, model: Model):
        self.model = model
        self.states = model.state_names
        self.params = model.parameter_names + model.input_names
        self.derived = model.derived_order
        names = self.states + self.params + self.derived
        self.symbols = {n: code_name(n) for n in names}
        self.symbols["t"] = "t"
        codes = list(self.symbols.values())
        dup = {c for c in codes if codes.count(c) > 1}
        if dup:
            raise ModelError(f"{model.source or model.name}: names {sorted(dup)} collide in generated code")

    def closure(self, names: set[str]) -> list[str]:
        """The derived quantities needed (directly or not) by expressions using ``names``, in order."""
        need = set(n for n in names if n in self.derived)
        for d in reversed(self.derived):
            if d in need:
                need |= self.model.expression("derived", d).names & set(self.derived)
        return [d for d in self.derived if d in need]


def _uses(model: Model, kind: str, names) -> set[str]:
    used: set[str] = set()
    for n in names:
        used |= model.expression(kind, n).names
    return used


# ---------------------------------------------------------------------------------- generation
def generate_source(model: Model, digest: str) -> str:
    """The Python source of the kernels of ``model`` (see the module docstring)."""
    lay = _Layout(model)
    n, m = len(lay.states), len(lay.params)
    lines = [
        f'"""Kernels of model {model.name!r}, generated by pkpd (generator {GENERATOR_VERSION}, digest {digest}).',
        "",
        "A cache artefact: do not edit.  Regenerated from the model when missing.",
        '"""',
        "import math",
        "",
        "import numpy as np",
        "from numba import njit, types",
        "",
        "from pkpd.models._math import real_pow",
        "from pkpd.solvers.hermite import periodic_value",
        "from pkpd.solvers.modal import modal_segment, modal_state",
        "from pkpd.signatures import F1, F2, RHS_SIGNATURE",
        "",
        "JAC_SIGNATURE = types.void(types.float64, F1, F1, F2)",
        f"DIGEST = {digest!r}",
        f"N_STATES = {n}",
        f"N_PARAMETERS = {m}",
        f"STATES = {lay.states!r}",
        f"PARAMETERS = {lay.params!r}",
        f"DERIVED = {lay.derived!r}",
        "",
    ]
    lines += _rhs_source(model, lay)
    lines += _jac_source(model, lay)
    sources = _closed_sources(model, lay)
    if sources:
        red = _Reduced(lay, sources)
        lines += red.constants()
        lines += _rhs_source(model, lay, red)
        lines += _jac_source(model, lay, red)
    else:
        lines += ["CLOSED_SOURCES = ()", "closed_rhs = closed_jac = None", ""]
    split = _cascade_split(model, lay)
    if split is not None:
        tail = _Tail(lay, split)
        lines += tail.constants()
        lines += _rhs_source(model, lay, tail)
    else:
        lines += ["PERIODIC_SLOW = ()", "tail_rhs = None", ""]
    lines += _initial_source(model, lay)
    lines += _outputs_source(model, lay)
    lines += _derived_source(model, lay)
    lines += _modifiers_source(model, lay)
    src = "\n".join(lines) + "\n"
    compile(src, f"<generated {model.name}>", "exec")  # a generator bug must fail here, not at import
    return src


def _unpack(lay: _Layout, used: set[str], y="y", p="p", numpy=False) -> list[str]:
    out = []
    for i, s in enumerate(lay.states):
        if s in used:
            out.append(f"    {lay.symbols[s]} = {y}[..., {i}]" if numpy else f"    {lay.symbols[s]} = {y}[{i}]")
    for j, q in enumerate(lay.params):
        if q in used:
            out.append(f"    {lay.symbols[q]} = {p}[..., {j}]" if numpy else f"    {lay.symbols[q]} = {p}[{j}]")
    return out


def _derived_lines(model: Model, lay: _Layout, names, numpy=False) -> list[str]:
    return [f"    {lay.symbols[d]} = {_code(model.expression('derived', d).text, lay.symbols, numpy)}"
            for d in names]


class _Reduced:
    """The closed-form layout: which states the solver carries, and how the tabulated ones are read.

    ``sources`` are the model's linear sources (:func:`pkpd.model.fastpaths.linear_sources`).
    The reduced kernels take ``y`` with the other states (in model order) and ``p`` with
    the kernel parameters, then at ``p[n_parameters + b]`` the offset of source ``b``'s
    table (:mod:`pkpd.solvers.modal`), then the tables.
    """

    def __init__(self, lay: _Layout, sources):
        self.sources = sources
        closed = {i for src in sources for i in src.states}
        self.ode = [i for i in range(len(lay.states)) if i not in closed]
        self.index = {lay.states[i]: f"y[{k}]" for k, i in enumerate(self.ode)}
        self.prologue = []
        for b, src in enumerate(sources):
            if src.needed:
                self.prologue += [f"    _b{b} = int(p[{len(lay.params) + b}])",
                                  f"    _k{b} = modal_segment(t, p, _b{b})"]
            for q, i in enumerate(src.needed):
                self.index[lay.states[i]] = f"modal_state(t, p, _b{b}, _k{b}, {q})"

    kernel = "closed_rhs"
    what = ", the linear sources read from their tables (pkpd.solvers.modal)"

    def constants(self) -> list[str]:
        return [f"CLOSED_SOURCES = {tuple(src.states for src in self.sources)!r}",
                f"CLOSED_NEEDED = {tuple(src.needed for src in self.sources)!r}",
                f"ODE_STATES = {tuple(self.ode)!r}"]


class _Tail:
    """The periodic-tail layout: the slow states of a cascade, the fast ones they read from a table.

    ``tail_rhs`` takes ``y`` with the slow states (in model order) and ``p`` with the
    kernel parameters, then at ``p[n_parameters]`` the offset of the table of one period
    (:mod:`pkpd.solvers.hermite`), then the table.
    """

    kernel = "tail_rhs"
    what = ", the fast states it reads interpolated over one period (pkpd.solvers.hermite)"

    def __init__(self, lay: _Layout, split):
        self.split = split
        self.ode = list(split.slow)
        self.index = {lay.states[i]: f"y[{k}]" for k, i in enumerate(self.ode)}
        self.prologue = [f"    _pb = int(p[{len(lay.params)}])"] if split.needed else []
        for q, i in enumerate(split.needed):
            self.index[lay.states[i]] = f"periodic_value(t, p, _pb, {q})"

    def constants(self) -> list[str]:
        return [f"PERIODIC_SLOW = {tuple(self.split.slow)!r}", f"PERIODIC_NEEDED = {tuple(self.split.needed)!r}",
                f"PERIODIC_BLOCKS = {tuple(self.split.blocks)!r}"]


def _rhs_source(model: Model, lay: _Layout, red: _Reduced | _Tail | None = None) -> list[str]:
    """The lines of ``rhs``: each state and parameter read where it is first used, each ODE written early.

    Statements are the needed derived quantities in dependency order; each ODE follows
    the last derived quantity it uses.  A state or parameter is read from ``y`` or ``p``
    just before the first statement that uses it.  The arithmetic is the same in any
    order; reading late keeps few values alive at once, which matters to the compiler:
    with all 63 parameters of the trial system read at the top, it spilled about 300
    values to the stack, and the kernel ran about 5 % slower inside the solvers than
    the hand-written one it replaced.

    With ``red``, a reduced kernel: ``closed_rhs`` of the closed-form path (the ODEs of
    the states the solver carries, the linear sources read from their tables) or
    ``tail_rhs`` of the periodic-tail path (the slow states' ODEs, the fast states they
    read interpolated over one period).
    """
    rows = list(enumerate(lay.states)) if red is None else [(k, lay.states[i]) for k, i in enumerate(red.ode)]
    used = _uses(model, "ode", [s for _, s in rows])
    need = lay.closure(used)
    states = {s: f"y[{i}]" for i, s in enumerate(lay.states)} if red is None else red.index
    index = states | {q: f"p[{j}]" for j, q in enumerate(lay.params)}
    loaded: set[str] = set()
    body: list[str] = [] if red is None else list(red.prologue)

    def emit(names: set[str], line: str) -> None:
        for n in sorted(names - loaded, key=lambda n: index.get(n, "")):
            if n in index:
                body.append(f"    {lay.symbols[n]} = {index[n]}")
                loaded.add(n)
        body.append(line)

    odes = [(i, s, model.expression("ode", s)) for i, s in rows]
    ready: set[str] = set()

    def emit_ready_odes() -> None:
        for item in list(odes):
            i, s, expr = item
            if not (expr.names & set(lay.derived)) - ready:
                emit(expr.names, f"    dydt[{i}] = {_code(expr.text, lay.symbols)}")
                odes.remove(item)

    emit_ready_odes()
    for d in need:
        expr = model.expression("derived", d)
        emit(expr.names, f"    {lay.symbols[d]} = {_code(expr.text, lay.symbols)}")
        ready.add(d)
        emit_ready_odes()
    assert not odes, "every ODE is emitted once its derived quantities are"
    name = "rhs" if red is None else red.kernel
    what = "" if red is None else red.what
    return ["", "@njit(cache=True)  # compiled for RHS_SIGNATURE when the model is loaded", f"def {name}(t, y, p, dydt):",
            f'    """d(y)/dt of {model.name} (per h): y ({len(rows)},){what}."""',
            *body, ""]


def _jac_source(model: Model, lay: _Layout, red: _Reduced | None = None) -> list[str]:
    """The analytic Jacobian: sympy derivatives of the rhs, state-dependent derived quantities substituted.

    With ``red``, ``closed_jac``: the derivatives of the carried states' ODEs by the
    carried states (the tabulated states are functions of time only).
    """
    import sympy as sp
    from pkpd.model.expressions import to_sympy

    symbols = {name: sp.Symbol(code, real=True) for name, code in lay.symbols.items()}
    states = set(lay.states)
    # Derived quantities that depend on no state (and not on t) stay symbols: constants for d/dy.
    state_dependent: set[str] = set()
    for d in lay.derived:
        names = model.expression("derived", d).names
        if names & states or "t" in names or names & state_dependent:
            state_dependent.add(d)
    subs: dict = {}
    for d in lay.derived:  # in dependency order, so each substitution is already expanded
        e = to_sympy(model.expression("derived", d), symbols)
        if d in state_dependent:
            subs[symbols[d]] = e.xreplace(subs)
    entries = []
    carried = list(range(len(lay.states))) if red is None else red.ode
    ys = [symbols[lay.states[i]] for i in carried]
    for i, si in enumerate(carried):
        f = to_sympy(model.expression("ode", lay.states[si]), symbols).xreplace(subs)
        free = f.free_symbols
        for j, yj in enumerate(ys):
            if yj in free:
                dfdy = sp.diff(f, yj)
                if dfdy != 0:
                    entries.append((i, j, dfdy))
    if any(e.has(sp.Derivative, sp.Subs) for _, _, e in entries):
        raise ModelError(f"{model.source or model.name}: the Jacobian has a term sympy cannot differentiate")
    replacements, reduced = sp.cse([e for _, _, e in entries], symbols=sp.numbered_symbols("_z"),
                                   optimizations="basic")
    printer = _JacobianPrinter()
    used = set()
    for e in [r for _, r in replacements] + list(reduced):
        used |= {str(x) for x in e.free_symbols}
    code_to_name = {code: name for name, code in lay.symbols.items()}
    used_names = {code_to_name[c] for c in used if c in code_to_name}
    const_derived = [d for d in lay.closure(used_names) if d not in state_dependent]
    used_names |= _uses(model, "derived", const_derived)
    if red is None:
        body = _unpack(lay, used_names)
    else:
        body = list(red.prologue)
        body += [f"    {lay.symbols[s]} = {red.index[s]}" for s in lay.states if s in used_names]
        body += [f"    {lay.symbols[q]} = p[{j}]" for j, q in enumerate(lay.params) if q in used_names]
    body += _derived_lines(model, lay, const_derived)
    body += [f"    {printer.doprint(a)} = {printer.doprint(b)}" for a, b in replacements]
    n = len(carried)
    body += [f"    for _i in range({n}):", f"        for _j in range({n}):", "            J[_i, _j] = 0.0"]
    body += [f"    J[{i}, {j}] = {printer.doprint(e)}" for (i, j, _), e in zip(entries, reduced)]
    name = "jac" if red is None else "closed_jac"
    return ["", "@njit(cache=True)  # compiled for JAC_SIGNATURE when the model is loaded", f"def {name}(t, y, p, J):",
            f'    """Jacobian d(dy_i/dt)/dy_j of {model.name} (per h), {len(entries)} nonzero entries."""',
            *body, ""]


def _analysis_args(model: Model, lay: _Layout):
    """The sympy symbols of every name, and the rule of what a kernel of some states reads."""
    import sympy as sp

    symbols = {name: sp.Symbol(code, real=True) for name, code in lay.symbols.items()}

    def reads(states):
        used = _uses(model, "ode", states)
        return used | _uses(model, "derived", lay.closure(used)) | set(lay.closure(used))

    return symbols, reads


def _closed_sources(model: Model, lay: _Layout):
    """The model's linear sources (:mod:`pkpd.model.fastpaths`), for the closed-form kernels."""
    from pkpd.model.fastpaths import linear_sources

    return linear_sources(model, *_analysis_args(model, lay))


def _cascade_split(model: Model, lay: _Layout):
    """The model's cascade split (:mod:`pkpd.model.fastpaths`), for the periodic-tail kernel."""
    from pkpd.model.fastpaths import periodic_split

    return periodic_split(model, *_analysis_args(model, lay))


def _JacobianPrinter():
    from sympy.printing.pycode import PythonCodePrinter

    class Printer(PythonCodePrinter):
        """Numba-friendly printing: math functions, real_pow for symbolic exponents, ternaries."""

        def _print_Pow(self, expr, rational=False):
            b, e = expr.as_base_exp()
            # every form is parenthesised as a whole: sympy places a Pow in a product or
            # quotient without parentheses (a/z**2 prints as "a/" + this), as Pow binds tighter
            if e.is_Number:
                if e == -1:
                    return f"(1.0/({self._print(b)}))"
                if e.is_Integer and 2 <= e <= 4:
                    x = f"({self._print(b)})"
                    return "(" + "*".join([x] * int(e)) + ")"
                if e == 0.5:
                    return f"math.sqrt({self._print(b)})"
                return f"(({self._print(b)})**({self._print(sp_float(e))}))"
            return f"real_pow({self._print(b)}, {self._print(e)})"

        def _print_RealPow(self, expr):
            return f"real_pow({self._print(expr.args[0])}, {self._print(expr.args[1])})"

        def _print_Heaviside(self, expr):
            x = self._print(expr.args[0])
            return f"(1.0 if ({x}) > 0 else (0.5 if ({x}) == 0 else 0.0))"

        def _print_Max(self, expr):
            out = self._print(expr.args[0])
            for a in expr.args[1:]:
                out = f"max({out}, {self._print(a)})"
            return out

        def _print_Min(self, expr):
            out = self._print(expr.args[0])
            for a in expr.args[1:]:
                out = f"min({out}, {self._print(a)})"
            return out

        def _print_Float(self, expr):
            return repr(float(expr))

        def _print_Integer(self, expr):
            return repr(float(expr))

        def _print_Rational(self, expr):
            return repr(float(expr))

        def _print_Symbol(self, expr):
            return expr.name

    return Printer({"fully_qualified_modules": True, "standard": "python3"})


def sp_float(e):
    import sympy as sp

    return sp.Float(float(e))


def _initial_source(model: Model, lay: _Layout) -> list[str]:
    used = _uses(model, "initial", lay.states)
    need = lay.closure(used)
    used |= _uses(model, "derived", need)
    body = ["    P = np.asarray(P, dtype=np.float64)", "    out = np.zeros(P.shape[:-1] + (N_STATES,))"]
    body += _unpack(lay, used, p="P", numpy=True) + _derived_lines(model, lay, need, numpy=True)
    for i, s in enumerate(lay.states):
        body.append(f"    out[..., {i}] = {_code(model.expression('initial', s).text, lay.symbols, True)}")
    return ["", "def initial(P):",
            '    """Initial states (..., N_STATES) for parameter rows P (..., N_PARAMETERS)."""',
            *body, "    return out", ""]


def _outputs_source(model: Model, lay: _Layout) -> list[str]:
    names = [o.name for o in model.outputs]
    used = _uses(model, "output", names)
    need = lay.closure(used)
    used |= _uses(model, "derived", need)
    body = ["    Y = np.asarray(Y, dtype=np.float64)", "    P = np.asarray(P, dtype=np.float64)",
            "    shape = np.broadcast_shapes(Y.shape[:-1], P.shape[:-1])"]
    body += _unpack(lay, used, "Y", "P", numpy=True) + _derived_lines(model, lay, need, numpy=True)
    body.append("    out = {}")
    for o in model.outputs:
        body.append(f"    out[{o.name!r}] = np.array(np.broadcast_to("
                    f"{_code(model.expression('output', o.name).text, lay.symbols, True)}, shape), dtype=np.float64)")
    return ["", "def outputs(Y, P):",
            '    """Declared outputs: name -> array of the broadcast shape of Y[..., 0] and P[..., 0]."""',
            "    with np.errstate(divide='ignore', invalid='ignore'):",
            *["    " + b for b in body], "        return out", ""]


def _derived_source(model: Model, lay: _Layout) -> list[str]:
    used = _uses(model, "derived", lay.derived) | set(lay.derived)
    body = ["    Y = np.asarray(Y, dtype=np.float64)", "    P = np.asarray(P, dtype=np.float64)",
            "    shape = np.broadcast_shapes(Y.shape[:-1], P.shape[:-1])"]
    body += _unpack(lay, used, "Y", "P", numpy=True) + _derived_lines(model, lay, lay.derived, numpy=True)
    body.append("    out = {}")
    for d in lay.derived:
        body.append(f"    out[{d!r}] = np.array(np.broadcast_to({lay.symbols[d]}, shape), dtype=np.float64)")
    return ["", "def derived(Y, P):",
            '    """Every derived quantity: name -> array of the broadcast shape of Y[..., 0] and P[..., 0]."""',
            "    with np.errstate(divide='ignore', invalid='ignore'):",
            *["    " + b for b in body], "        return out", ""]


def _modifiers_source(model: Model, lay: _Layout) -> list[str]:
    entries = [(lay.states.index(d.state), k, t) for d in model.dosing for k, t in d.modifiers().items()]
    used: set[str] = set()
    for d in model.dosing:
        for k in d.modifiers():
            used |= model.expression("dose", f"{d.state}.{k}").names
    need = lay.closure(used)
    used |= _uses(model, "derived", need)
    keys = list(DOSE_MODIFIERS)
    body = ["    P = np.asarray(P, dtype=np.float64)",
            "    out = np.zeros(P.shape[:-1] + (N_STATES, 4))", "    out[..., 0] = 1.0  # F = 1 for every state"]
    body += _unpack(lay, used, p="P", numpy=True) + _derived_lines(model, lay, need, numpy=True)
    for i, key, _ in entries:
        d = model.dosing[[x.state for x in model.dosing].index(lay.states[i])]
        text = model.expression("dose", f"{d.state}.{key}").text
        body.append(f"    out[..., {i}, {keys.index(key)}] = {_code(text, lay.symbols, True)}")
    return ["", "def dose_modifiers(P):",
            '    """Per state: (bioavailability, lag h, rate amount/h, duration h) of its doses; (..., N_STATES, 4)."""',
            *body, "    return out", ""]


# ---------------------------------------------------------------------------------- files
def kernel_digest(model: Model) -> str:
    """The digest naming ``model``'s generated file: its code-relevant content, pkpd's sources, the generator."""
    h = hashlib.sha256(f"{GENERATOR_VERSION}|{_pkpd_source_hash()}|{model.digest()}".encode())
    return h.hexdigest()[:16]


@functools.lru_cache(maxsize=1)
def _pkpd_source_hash() -> str:
    return _cache.source_hash()


def kernel_file(model: Model) -> Path:
    """Where the generated kernels of ``model`` live (the file may not exist yet)."""
    return _cache.kernel_folder() / f"{model.name}_{kernel_digest(model)}.py"


def kernel_module(model: Model):
    """The imported module of ``model``'s generated kernels, writing the file first if it is missing.

    Writing is atomic (a temporary file renamed into place), so two processes that
    generate the same model at once both end with the same complete file.
    """
    path = kernel_file(model)
    digest = path.stem.rsplit("_", 1)[1]
    modname = f"pkpd_generated_{model.name}_{digest}"
    if modname in sys.modules:
        return sys.modules[modname]
    if not path.exists():
        source = generate_source(model, digest)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(source)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
    spec = importlib.util.spec_from_file_location(modname, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[modname] = module  # registered first: Numba's cache looks the module up by name
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(modname, None)
        raise
    return module
