"""Python source of a model's right-hand side and Jacobian, for compilation by numba.

:func:`kernel_source` turns :class:`~pkpd.models.Equations` into scalar functions for one integration unit,
compiled by numba's ``njit`` with the signatures ``RHS`` and ``JAC`` of :mod:`pkpd.engine._kernel` (which the
model's module imports), so that the integrator takes them as function pointers::

    def rhs(t, y, p, rate, dy):      # dy[i] = derivative of state i, inputs included
    def jac(t, y, p, rate, J, dfdt): # J[i, j] = d rhs_i / d y_j, dfdt[i] = d rhs_i / dt (given its Equations)

The expressions were checked when the model was read (:func:`pkpd._internal.expressions.compile_expression`);
they are parsed again here and emitted node by node from the same whitelist (numbers, names, ``+ - * / **``,
unary ``+ -``, one comparison, the language's functions), so no text is copied into the source: every name
becomes a local ``v_<name>`` read from the arrays, every number a float literal, and anything else raises.
The semantics are the numpy closures': a comparison gives 1.0 or 0.0, ``where(c, a, b)`` is ``a`` where
``c != 0``, ``min``/``max`` take two or more values; division by zero gives inf or nan (numba's
``error_model="numpy"``), not an exception.

Examples
--------
>>> from pkpd.models import Equations
>>> print(kernel_source(Equations(("CL", "V"), ("A",), (("C", "A / V"),), ("-CL * C",))))
@njit(RHS, cache=True, nogil=True, error_model="numpy")
def rhs(t, y, p, rate, dy):
    v_CL = p[0]
    v_V = p[1]
    v_A = y[0]
    v_C = (v_A / v_V)
    dy[0] = ((-v_CL) * v_C) + rate[0]
<BLANKLINE>
"""

from __future__ import annotations

import ast
import math

from ..errors import ModelError

__all__ = ["kernel_source"]

_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_UNARY = {ast.USub: "-", ast.UAdd: "+"}
_COMPARE = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}
_JIT = '@njit({}, cache=True, nogil=True, error_model="numpy")'     # numba's, imported by the model's module
_MATH = {"exp": "math.exp", "log": "math.log", "sqrt": "math.sqrt", "abs": "abs", "expm1": "math.expm1",
         "log1p": "math.log1p"}      # (expm1, log1p: traced right-hand sides only; the language has neither)


def kernel_source(eq, jacobian=None) -> str:
    """The source of ``rhs`` for ``eq`` (:class:`~pkpd.models.Equations`), and of ``jac`` when ``jacobian`` is given
    (Equations whose derivatives are ``df_i/dy_j`` row by row, then ``df_i/dt``; :func:`pkpd.engine._trace.trace`).
    """
    lines = [_JIT.format("RHS"), "def rhs(t, y, p, rate, dy):"] + _prelude(eq)
    added = "" if eq.rates else " + rate[{i}]"
    lines += [f"    dy[{i}] = {_emit(text)}{added.format(i=i)}" for i, text in enumerate(eq.derivatives)]
    if jacobian is not None:
        S = len(jacobian.states)
        lines += ["", "", _JIT.format("JAC"), "def jac(t, y, p, rate, J, dfdt):", "    J[:, :] = 0.0",
                  "    dfdt[:] = 0.0"]
        lines += _prelude(jacobian)
        for k, text in enumerate(jacobian.derivatives):
            if text != "0.0":
                target = f"J[{k // S}, {k % S}]" if k < S * S else f"dfdt[{k - S * S}]"
                lines.append(f"    {target} = {_emit(text)}")
    return "\n".join(lines) + "\n"


def _prelude(eq) -> list[str]:
    """Read parameters, states and rates into locals, then compute the quantities."""
    lines = [f"    v_{name} = p[{i}]" for i, name in enumerate(eq.parameters)]
    lines += [f"    v_{name} = y[{i}]" for i, name in enumerate(eq.states)]
    lines += [f"    v_{name} = rate[{i}]" for i, name in enumerate(eq.rates)]
    lines += [f"    v_{name} = {_emit(text)}" for name, text in eq.quantities]
    return lines


def _emit(text: str) -> str:
    return _Emitter(text).node(ast.parse(text, mode="eval").body)


class _Emitter:
    def __init__(self, text):
        self.text = text

    def node(self, node) -> str:
        kind = type(node)
        if kind is ast.Constant and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            value = float(node.value)
            return repr(value) if math.isfinite(value) else "math.inf"     # 1e999: the only non-finite literal
        if kind is ast.Name and node.id.isidentifier():
            return "t" if node.id == "t" else f"v_{node.id}"
        if kind is ast.BinOp and type(node.op) in _BINARY:
            return f"({self.node(node.left)} {_BINARY[type(node.op)]} {self.node(node.right)})"
        if kind is ast.UnaryOp and type(node.op) in _UNARY:
            return f"({_UNARY[type(node.op)]}{self.node(node.operand)})"
        if kind is ast.Compare and len(node.ops) == 1 and type(node.ops[0]) in _COMPARE:
            left, right = self.node(node.left), self.node(node.comparators[0])
            return f"(1.0 if {left} {_COMPARE[type(node.ops[0])]} {right} else 0.0)"
        if kind is ast.Call and isinstance(node.func, ast.Name) and not node.keywords:
            return self.call(node.func.id, [self.node(a) for a in node.args])
        raise ModelError(f"cannot compile {ast.unparse(node)!r} in {self.text!r}")

    def call(self, name, args) -> str:
        if name in _MATH and len(args) == 1:
            return f"{_MATH[name]}({args[0]})"
        if name in ("min", "max") and len(args) >= 2:
            return f"{name}({', '.join(args)})"
        if name == "pow" and len(args) == 2:
            return f"({args[0]} ** {args[1]})"
        if name == "where" and len(args) == 3:
            return f"({args[1]} if {args[0]} != 0.0 else {args[2]})"
        raise ModelError(f"cannot compile the call {name}({', '.join(args)}) in {self.text!r}")
