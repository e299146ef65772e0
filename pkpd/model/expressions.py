"""Expressions of the model language: parsed safely, checked by name, turned into sympy when compiling.

An expression is a small piece of arithmetic written as in Python or R:
``kin*(1 - Imax*C/(IC50 + C)) - kout*R``.  It may use

* numbers, ``+ - * / **`` (``^`` is accepted for ``**``, as in R and NONMEM), parentheses;
* the names of the model's parameters, inputs, states, derived quantities and ``t``
  (time, h);
* the functions ``exp, log, log10, sqrt, abs, max, min, pow``, and
  ``piecewise(cond1, value1, cond2, value2, ..., otherwise)``, whose conditions compare
  two expressions (``<, <=, >, >=, ==, !=``) and may be joined by ``and`` / ``or`` /
  ``not``;
* the constant ``pi``.

Nothing else parses: no attribute access, no subscripts, no calls of other functions,
no lambdas or comprehensions.  The text is read with :func:`ast.parse` and every node
is checked against that list before anything is evaluated, so a model file is data,
never code that runs.  Names are collected here (pure Python, no sympy) so that a
model can be checked, hashed and loaded from the kernel cache without importing sympy;
:func:`to_sympy` builds the symbolic expression only when kernels are generated.
"""

from __future__ import annotations

import ast
import functools
import math
from dataclasses import dataclass

from pkpd.errors import ModelError

__all__ = ["Expression", "parse_expression", "rename", "dotted_name", "FUNCTIONS", "to_sympy", "ExpressionError"]

#: function name -> (minimum, maximum) number of arguments (None: any)
FUNCTIONS = {"exp": (1, 1), "log": (1, 1), "log10": (1, 1), "sqrt": (1, 1), "abs": (1, 1),
             "max": (2, None), "min": (2, None), "pow": (2, 2), "piecewise": (3, None)}
#: names with a fixed meaning in every model
RESERVED = {"t", "pi"} | set(FUNCTIONS)

_BINOPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)
_UNARY = (ast.USub, ast.UAdd)
_COMPARE = (ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Eq, ast.NotEq)
#: longest expression accepted, characters (a guard against pathological input)
MAX_LENGTH = 20_000


class ExpressionError(ModelError):
    """An expression that does not parse or uses something the language does not have."""


@dataclass(frozen=True)
class Expression:
    """A checked expression: its normalised text and the names it uses."""

    text: str
    names: frozenset[str]

    def __str__(self) -> str:
        return self.text


def parse_expression(text: object) -> Expression:
    """Parse ``text`` (a string or a number) into an :class:`Expression`.

    Raises :class:`ExpressionError` with a one-line reason for anything outside the
    language (the caller adds the file, line and declaration).
    """
    if isinstance(text, bool):
        raise ExpressionError(f"expected an expression, got {text}")
    if isinstance(text, (int, float)):
        if not math.isfinite(text):
            raise ExpressionError(f"expected a finite number, got {text}")
        text = repr(float(text))
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("expected an expression, got nothing")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression longer than {MAX_LENGTH} characters")
    src = text.strip().replace("^", "**")
    try:
        tree = ast.parse(src, mode="eval")
    except SyntaxError as err:
        col = f" (column {err.offset})" if err.offset else ""
        raise ExpressionError(f"'{text.strip()}' is not an expression{col}") from None
    names: set[str] = set()
    _check(tree.body, names, in_condition=False)
    return Expression(ast.unparse(tree.body), frozenset(names))


def dotted_name(node: ast.AST) -> str | None:
    """The name a node reads: ``x`` for a Name, ``block.x`` for a chain of attributes of names; else None.

    A composed model's symbols are ``block.name`` (``neratinib.CENT``); in an expression
    Python parses them as attribute access, which the language reads as one name.
    """
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = dotted_name(node.value)
        return None if head is None else f"{head}.{node.attr}"
    return None


class _Renamer(ast.NodeTransformer):
    def __init__(self, mapping: dict[str, str]):
        self.mapping = mapping

    def _name(self, node):
        name = dotted_name(node)
        return ast.Name(self.mapping.get(name, name), ast.Load())

    visit_Name = _name
    visit_Attribute = _name


def rename(expr: Expression, mapping: dict[str, str]) -> Expression:
    """``expr`` with its names replaced through ``mapping`` (names not in it are kept)."""
    tree = _Renamer(mapping).visit(ast.parse(expr.text, mode="eval"))
    return Expression(ast.unparse(tree.body), frozenset(mapping.get(n, n) for n in expr.names))


def _check(node: ast.AST, names: set[str], in_condition: bool) -> None:
    """Walk ``node``, allowing only the language's constructs; collect the names it reads."""
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise ExpressionError(f"{node.value!r} is not a number")
        if not math.isfinite(node.value):
            raise ExpressionError(f"{node.value!r} is not a finite number")
        return
    if isinstance(node, ast.Name):
        if node.id in FUNCTIONS:
            raise ExpressionError(f"'{node.id}' is a function; call it as {node.id}(...)")
        names.add(node.id)
        return
    if isinstance(node, ast.Attribute) and dotted_name(node) is not None:
        names.add(dotted_name(node))   # block.name of a composed model
        return
    if isinstance(node, ast.BinOp) and isinstance(node.op, _BINOPS):
        _check(node.left, names, False)
        _check(node.right, names, False)
        return
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, _UNARY):
        _check(node.operand, names, False)
        return
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            what = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
            raise ExpressionError(f"unknown function '{what}'; the language has " + ", ".join(FUNCTIONS))
        if node.keywords:
            raise ExpressionError(f"{node.func.id}() takes no keyword arguments")
        name, args = node.func.id, node.args
        lo, hi = FUNCTIONS[name]
        if len(args) < lo or (hi is not None and len(args) > hi):
            want = str(lo) if lo == hi else (f"at least {lo}" if hi is None else f"{lo} to {hi}")
            raise ExpressionError(f"{name}() takes {want} arguments, got {len(args)}")
        if name == "piecewise":
            if len(args) % 2 == 0:
                raise ExpressionError("piecewise(cond1, value1, ..., otherwise) takes an odd number of arguments")
            for k, arg in enumerate(args):
                _check(arg, names, in_condition=(k % 2 == 0 and k < len(args) - 1))
            return
        for arg in args:
            if isinstance(arg, ast.Starred):
                raise ExpressionError(f"{name}() takes plain arguments")
            _check(arg, names, False)
        return
    if in_condition and isinstance(node, ast.Compare):
        if not all(isinstance(op, _COMPARE) for op in node.ops):
            raise ExpressionError(f"'{ast.unparse(node)}': only <, <=, >, >=, ==, != compare")
        for part in (node.left, *node.comparators):
            _check(part, names, False)
        return
    if in_condition and isinstance(node, ast.BoolOp):
        for part in node.values:
            _check(part, names, True)
        return
    if in_condition and isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        _check(node.operand, names, True)
        return
    if isinstance(node, (ast.Compare, ast.BoolOp)):
        raise ExpressionError(f"'{ast.unparse(node)}': a comparison is allowed only as a condition of piecewise()")
    raise ExpressionError(f"'{ast.unparse(node)}' is not allowed in an expression (numbers, names, "
                          "+ - * / **, and the functions " + ", ".join(FUNCTIONS) + ")")


# ---------------------------------------------------------------------------------- sympy
@functools.lru_cache(maxsize=1)
def real_pow_function():
    """The sympy function ``RealPow(x, n)`` = ``x**n`` for a symbolic exponent, with the textbook derivative.

    sympy differentiates ``x**n`` to ``n*x**n/x``, which is NaN at ``x = 0`` (a drug
    concentration before the first dose) where the derivative is finite; ``RealPow``
    differentiates to ``n*RealPow(x, n - 1)`` instead, and is printed as pkpd's
    ``real_pow`` kernel.
    """
    import sympy as sp

    class RealPow(sp.Function):
        nargs = 2

        def fdiff(self, argindex=1):
            x, n = self.args
            if argindex == 1:
                return n * RealPow(x, n - 1)
            return RealPow(x, n) * sp.log(x)

    return RealPow


def to_sympy(expr: Expression, symbols: dict):
    """The sympy form of ``expr``, with names mapped through ``symbols`` (name -> sympy object).

    Numbers are kept as floats exactly as written (``0.5`` stays the double 0.5), so the
    generated kernel computes what the text says.
    """
    import sympy as sp

    def conv(node):
        if isinstance(node, ast.Constant):
            v = node.value
            return sp.Integer(v) if isinstance(v, int) else sp.Float(v, 17)
        if isinstance(node, (ast.Name, ast.Attribute)):
            name = dotted_name(node)
            return sp.pi if name == "pi" else symbols[name]
        if isinstance(node, ast.BinOp):
            a, b = conv(node.left), conv(node.right)
            op = type(node.op)
            if op is ast.Add:
                return a + b
            if op is ast.Sub:
                return a - b
            if op is ast.Mult:
                return a * b
            if op is ast.Div:
                return a / b
            return a ** b if b.is_Number else real_pow_function()(a, b)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                return sp.Not(conv(node.operand))
            v = conv(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.Compare):
            parts = [conv(node.left)] + [conv(c) for c in node.comparators]
            rel = {ast.Lt: sp.Lt, ast.LtE: sp.Le, ast.Gt: sp.Gt, ast.GtE: sp.Ge, ast.Eq: sp.Eq, ast.NotEq: sp.Ne}
            terms = [rel[type(op)](parts[k], parts[k + 1]) for k, op in enumerate(node.ops)]
            return sp.And(*terms) if len(terms) > 1 else terms[0]
        if isinstance(node, ast.BoolOp):
            vals = [conv(v) for v in node.values]
            return sp.And(*vals) if isinstance(node.op, ast.And) else sp.Or(*vals)
        if isinstance(node, ast.Call):
            name = node.func.id
            args = [conv(a) for a in node.args]
            if name == "piecewise":
                pairs = [(args[k + 1], args[k]) for k in range(0, len(args) - 1, 2)]
                return sp.Piecewise(*pairs, (args[-1], True))
            if name == "max":
                return sp.Max(*args)
            if name == "min":
                return sp.Min(*args)
            if name == "pow":
                return args[0] ** args[1] if args[1].is_Number else real_pow_function()(args[0], args[1])
            if name == "log10":
                return sp.log(args[0], 10)
            if name == "abs":
                return sp.Abs(args[0])
            return {"exp": sp.exp, "log": sp.log, "sqrt": sp.sqrt}[name](args[0])
        raise ExpressionError(f"cannot convert {ast.unparse(node)}")  # unreachable after _check

    return conv(ast.parse(expr.text, mode="eval").body)
