"""Safe arithmetic expressions over numpy arrays: parsed with :mod:`ast`, checked node by node, built as closures.

The one reader behind the model language (:mod:`pkpd.models.language`) and covariate expressions
(:mod:`pkpd.population.covariates`). :func:`compile_expression` parses the text with ``ast.parse(mode="eval")``,
refuses every node outside a whitelist -- numbers, the names the caller allows, ``+ - * / **``, unary ``+ -``,
comparisons ``< <= > >= == !=`` (chained if allowed), ``and``/``or``/``not`` if allowed, and calls of the
caller's functions with their number of arguments -- and turns the checked tree into nested Python closures
over numpy. Nothing is evaluated or executed as code: a text cannot import, open, call or reach anything else.
Comparisons and logic give 1.0 where true and 0.0 where false.

Each refusal raises the caller's exception class (``error=``) with the caller's ``prefix`` and ``suffix``
around a message naming the offending part of the text.

Examples
--------
>>> import numpy as np
>>> e = compile_expression("log(WT / 70) + (1 <= AGE < 18)", error=ValueError, functions={"log": (np.log, 1, 1)},
...                        chained=True)
>>> e.names
('WT', 'AGE')
>>> e({"WT": np.array([70.0, 140.0]), "AGE": np.array([10.0, 40.0])}).round(4)
array([1.    , 0.6931])
>>> compile_expression("WT.__class__", error=ValueError, prefix="covariate: ")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ValueError: covariate: attribute access 'WT.__class__' is not allowed; an expression may use names, numbers, ...
"""

from __future__ import annotations

import ast
import functools
import math
import operator
from collections.abc import Callable, Iterable, Mapping

import numpy as np

__all__ = ["Expression", "compile_expression", "MAX_LENGTH"]

#: Default longest expression (characters); a longer one is refused before parsing.
MAX_LENGTH = 2000

#: A function an expression may call: (numpy function, least and most number of arguments; most None: any).
#: A function taking any number of arguments is folded pairwise (``min(a, b, c)`` = ``minimum(minimum(a, b), c)``).
Function = tuple[Callable, int, "int | None"]

_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.Pow: operator.pow}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_COMPARE = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
            ast.Eq: operator.eq, ast.NotEq: operator.ne}
_OPERATOR_TEXT = {ast.BitXor: "^ (write powers as **)", ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@",
                  ast.BitAnd: "&", ast.BitOr: "|", ast.LShift: "<<", ast.RShift: ">>", ast.Invert: "~",
                  ast.Not: "not", ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in"}
_BOOLEAN_TEXT = {ast.BitAnd: "& (write 'and')", ast.BitOr: "| (write 'or')", ast.Invert: "~ (write 'not')"}
_REFUSED = {ast.Attribute: "attribute access", ast.Subscript: "subscripting", ast.Lambda: "the lambda",
            ast.NamedExpr: "the assignment", ast.JoinedStr: "the string", ast.Starred: "the starred expression",
            ast.ListComp: "the comprehension", ast.SetComp: "the comprehension", ast.DictComp: "the comprehension",
            ast.GeneratorExp: "the generator", ast.Await: "await", ast.Yield: "yield", ast.YieldFrom: "yield"}


class Expression:
    """A checked expression: call it with a mapping of names to numbers or numpy arrays.

    Attributes
    ----------
    text : str
        The expression (stripped).
    names : tuple of str
        The names it reads, each once, in the order they first appear.
    fn : callable
        ``fn(namespace) -> value``; the same as calling the expression.
    """

    __slots__ = ("text", "names", "fn")

    def __init__(self, text: str, names: Iterable[str], fn: Callable):
        self.text, self.names, self.fn = text, tuple(names), fn

    def __call__(self, namespace: Mapping):
        return self.fn(namespace)

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"


def compile_expression(text: str, *, error: type[Exception], prefix: str = "", suffix: str = "",
                       names: Iterable[str] | None = None, hints: Mapping[str, str] | None = None,
                       functions: Mapping[str, Function] | None = None, booleans: bool = False,
                       chained: bool = False, max_length: int = MAX_LENGTH,
                       names_are: str = "names") -> Expression:
    """Parse and check ``text``; the :class:`Expression` computing it.

    Parameters
    ----------
    text : str
        The expression.
    error : type
        The exception raised for a refused text, with the message ``prefix + what is wrong + suffix``.
    prefix, suffix : str
        Where the expression is (``"model M line 3: "``, ``" (in the definition of CP)"``).
    names : iterable of str, optional
        The names it may read (default: any name not starting with ``__``).
    hints : mapping, optional
        Name -> text added to the refusal of that (undefined) name, e.g. ``"it is defined on line 5"``.
    functions : mapping, optional
        Name -> (function, least, most number of arguments) it may call.
    booleans : bool
        Allow ``and``, ``or`` and ``not`` (a value is true where it is not 0).
    chained : bool
        Allow chained comparisons ``1 <= AGE < 18`` (otherwise a comparison compares two values).
    max_length : int
        Longest text accepted (characters).
    names_are : str
        What names are, in the list of what an expression may use (``"column names"``).
    """
    return _Builder(text, error, prefix, suffix, names, hints or {}, dict(functions or {}), booleans, chained,
                    max_length, names_are).build()


class _Builder:
    def __init__(self, text, error, prefix, suffix, names, hints, functions, booleans, chained, max_length,
                 names_are):
        self.text = text.strip() if isinstance(text, str) else text
        self.error, self.prefix, self.suffix = error, prefix, suffix
        self.known = None if names is None else set(names)
        self.hints, self.functions = hints, functions
        self.booleans, self.chained, self.max_length = booleans, chained, max_length
        self.allowed = (f"an expression may use {names_are}, numbers, + - * / **, comparisons (< <= > >= == !=)"
                        f"{', and/or/not' if booleans else ''} and the functions {', '.join(functions)}")
        self.names: dict[str, None] = {}
        self.operators = {**_OPERATOR_TEXT, **(_BOOLEAN_TEXT if booleans else {})}

    # -- refusals ------------------------------------------------------------------------------------------------
    def fail(self, message: str):
        raise self.error(f"{self.prefix}{message}{self.suffix}")

    def segment(self, node: ast.AST) -> str:
        part = ast.get_source_segment(self.text, node) or ast.unparse(node)
        return part if len(part) <= 60 else part[:57] + "..."

    def refuse(self, what: str, node: ast.AST, part: str | None = None):
        self.fail(f"{what} {part if part is not None else self.segment(node)!r} is not allowed; {self.allowed}")

    # -- building ------------------------------------------------------------------------------------------------
    def build(self) -> Expression:
        text = self.text
        if not isinstance(text, str) or not text:
            self.fail("the expression is empty")
        if len(text) > self.max_length:
            self.fail(f"the expression is longer than {self.max_length} characters")
        try:
            tree = ast.parse(text, mode="eval")
        except SyntaxError as err:
            at = f" at character {err.offset}" if err.offset else ""
            self.fail(f"{text!r} is not a valid expression ({err.msg}{at})")
        except (ValueError, RecursionError, MemoryError) as err:
            self.fail(f"{text!r} is not a valid expression ({type(err).__name__})")
        try:
            fn = self.node(tree.body)
        except RecursionError:
            self.fail(f"{text!r} is nested too deeply")
        return Expression(text, self.names, fn)

    def node(self, node: ast.AST) -> Callable:
        kind = type(node)
        if kind is ast.Constant:
            return self.constant(node)
        if kind is ast.Name:
            return self.name(node)
        if kind is ast.BinOp:
            op = _BINARY.get(type(node.op))
            if op is None:
                self.refuse(f"the operator {self.operators.get(type(node.op), type(node.op).__name__)} in", node)
            left, right = self.node(node.left), self.node(node.right)
            return lambda ns: op(left(ns), right(ns))
        if kind is ast.UnaryOp:
            return self.unary(node)
        if kind is ast.Compare:
            return self.compare(node)
        if kind is ast.BoolOp and self.booleans:
            parts = [self.node(v) for v in node.values]
            combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
            return lambda ns: functools.reduce(combine, (np.asarray(p(ns)) != 0 for p in parts)) * 1.0
        if kind is ast.Call:
            return self.call(node)
        if kind is ast.BoolOp:
            what = "and/or (use where(...)) in" if "where" in self.functions else "and/or in"
        elif kind is ast.IfExp:
            what = ("the conditional (use where(cond, a, b))" if "where" in self.functions
                    else "the conditional (use a comparison, which gives 0/1)")
        else:
            what = _REFUSED.get(kind, f"the {kind.__name__} part")
        self.refuse(what, node)

    def constant(self, node: ast.Constant) -> Callable:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.refuse("the constant (only numbers)", node)
        try:
            c = np.float64(float(value))
            if not math.isfinite(c):
                raise OverflowError
        except OverflowError:
            self.refuse("the number (too large)", node)
        return lambda ns: c

    def name(self, node: ast.Name) -> Callable:
        name = node.id
        if name.startswith("__"):
            self.refuse("the name", node)
        if self.known is not None and name not in self.known:
            if name in self.functions:
                self.fail(f"the function {name!r} is used without arguments, e.g. {name}(x)")
            hint = f"; {self.hints[name]}" if name in self.hints else ""
            self.fail(f"undefined name {name!r}{hint}")
        self.names.setdefault(name, None)
        return operator.itemgetter(name)

    def unary(self, node: ast.UnaryOp) -> Callable:
        if type(node.op) not in _UNARY and not (self.booleans and isinstance(node.op, ast.Not)):
            self.refuse(f"the operator {self.operators.get(type(node.op), type(node.op).__name__)} in", node)
        operand = self.node(node.operand)
        if isinstance(node.op, ast.Not):
            return lambda ns: (np.asarray(operand(ns)) == 0) * 1.0
        op = _UNARY[type(node.op)]
        return lambda ns: op(operand(ns))

    def compare(self, node: ast.Compare) -> Callable:
        for op in node.ops:
            if type(op) not in _COMPARE:
                self.refuse(f"the comparison {self.operators.get(type(op), type(op).__name__)} in", node)
        if len(node.ops) > 1 and not self.chained:
            self.fail(f"the chained comparison {self.segment(node)!r} is not allowed; compare two values")
        ops = [_COMPARE[type(op)] for op in node.ops]
        parts = [self.node(p) for p in (node.left, *node.comparators)]
        if len(ops) == 1:
            (op,), (left, right) = ops, parts
            return lambda ns: op(left(ns), right(ns)) * 1.0

        def chain(ns):
            values = [p(ns) for p in parts]
            return functools.reduce(np.logical_and, (op(a, b) for op, a, b in zip(ops, values, values[1:]))) * 1.0
        return chain

    def call(self, node: ast.Call) -> Callable:
        func = node.func
        if not isinstance(func, ast.Name):
            self.refuse("the call", node)
        if func.id not in self.functions:
            self.refuse(f"the call {self.segment(node)!r}: the function", node, func.id)
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            self.refuse("keyword or starred arguments in", node)
        f, least, most = self.functions[func.id]
        n = len(node.args)
        if n < least or (most is not None and n > most):
            wanted = (f"{least}" if least == most else f"{least} or more" if most is None
                      else f"{least} to {most}")
            self.fail(f"{func.id}() takes {wanted} argument{'' if wanted == '1' else 's'}, got {n} "
                      f"in {self.segment(node)!r}")
        args = [self.node(a) for a in node.args]
        if len(args) == 1:
            (a,) = args
            return lambda ns: f(a(ns))
        if len(args) == 2:
            a, b = args
            return lambda ns: f(a(ns), b(ns))
        if most is None:
            return lambda ns: functools.reduce(f, (a(ns) for a in args))
        return lambda ns: f(*(a(ns) for a in args))
