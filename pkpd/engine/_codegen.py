"""Python source of a model's right-hand side and Jacobian, for compilation by numba.

:func:`kernel_source` turns :class:`~pkpd.models.Equations` into scalar functions for one integration unit,
compiled by numba's ``njit`` with the signatures ``DERIVE``, ``RHS``, ``JAC``, ``FACTOR`` and ``SOLVE`` of
:mod:`pkpd.engine._kernel` (which the model's module imports), so that the integrator takes them as function pointers::

    def derive(p):                   # p[P:] = what depends on the parameters p[:P] alone (once per parameter set)
    def rhs(t, y, p, rate, dy):      # dy[i] = derivative of state i, inputs included
    def jac(t, y, p, rate, J, dfdt): # J[i, j] = d rhs_i / d y_j, dfdt[i] = d rhs_i / dt (given its Equations)
    def factor(W) / solve(W, b):     # LU of I / (gamma h) - J over J's pattern (pkpd.engine._sparse_lu)

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
>>> print(kernel_source(Equations(("CL", "V"), ("A",), (("C", "A / V"),), ("-CL / V * A",))))
N_DERIVED = 1
<BLANKLINE>
<BLANKLINE>
@njit(DERIVE, cache=True, nogil=True, error_model="numpy")
def derive(p):
    v_CL = p[0]
    v_V = p[1]
    p[2] = ((-v_CL) / v_V)
    return
<BLANKLINE>
<BLANKLINE>
@njit(RHS, cache=True, nogil=True, error_model="numpy")
def rhs(t, y, p, rate, dy):
    v_V = p[1]
    v_A = y[0]
    d_0 = p[2]
    v_C = (v_A / v_V)
    dy[0] = (d_0 * v_A) + rate[0]
<BLANKLINE>
"""

from __future__ import annotations

import ast
import collections
import math
import re

import numpy as np

from ..errors import ModelError
from ._sparse_lu import lu_source

__all__ = ["kernel_source"]

_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_UNARY = {ast.USub: "-", ast.UAdd: "+"}
_COMPARE = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}
_JIT = '@njit({}, cache=True, nogil=True, error_model="numpy")'     # numba's, imported by the model's module
_MATH = {"exp": "math.exp", "log": "math.log", "sqrt": "math.sqrt", "abs": "abs", "expm1": "math.expm1",
         "log1p": "math.log1p"}      # (expm1, log1p: traced right-hand sides only; the language has neither)


def kernel_source(eq, jacobian=None) -> str:
    """The source of ``derive`` and ``rhs`` for ``eq`` (:class:`~pkpd.models.Equations`), and of ``jac`` when
    ``jacobian`` is given (Equations whose derivatives are ``df_i/dy_j`` row by row, then ``df_i/dt``;
    :func:`pkpd.engine._trace.trace`), and ``N_DERIVED``.

    What depends on the parameters alone -- a quantity, or a part of an expression such as ``V2 / (V1 + V2)`` or
    ``log(KM / C0)`` -- is computed once per parameter set by ``derive(p)`` into ``p[len(parameters):]`` (the
    caller sizes ``p`` with ``N_DERIVED`` more entries and calls it again whenever the parameters change), and
    read there by ``rhs`` and ``jac``, which run at every stage of every step.
    """
    P = len(eq.parameters)
    if jacobian is not None and len(jacobian.parameters) != P:
        raise ModelError("kernel_source: the Jacobian has other parameters than the right-hand side")
    slots: dict[tuple, int] = {}         # (body, emitted parameter-only expression) -> its slot in p[P:]
    derive: list[str] = []
    rhs = _Body("rhs", eq, slots, derive, P)
    derivatives = [f"    dy[{i}] = {rhs.emit(text)}{'' if eq.rates else f' + rate[{i}]'}"
                   for i, text in enumerate(eq.derivatives)]
    rhs_lines = _drop_unread(rhs.prelude() + derivatives)    # (after the derivatives: they tell which slots it reads)
    jac_lines = []
    if jacobian is not None:
        S = len(jacobian.states)
        if tuple(jacobian.parameters) != tuple(eq.parameters):      # traced names (P0, ...) at the same positions
            derive += [f"    v_{name} = p[{i}]" for i, name in enumerate(jacobian.parameters)]
        jac = _Body("jac", jacobian, slots, derive, P)
        entries = []
        for k, text in enumerate(jacobian.derivatives):
            if text != "0.0":
                target = f"J[{k // S}, {k % S}]" if k < S * S else f"dfdt[{k - S * S}]"
                entries.append(f"    {target} = {jac.emit(text)}")
        jac_lines = _drop_unread(jac.prelude() + entries)
    lines = ["N_DERIVED = " + str(len(slots)), "", "", _JIT.format("DERIVE"), "def derive(p):"]
    lines += _drop_unread([f"    v_{name} = p[{i}]" for i, name in enumerate(eq.parameters)] + derive)
    lines += ["    return", "", ""]
    lines += [_JIT.format("RHS"), "def rhs(t, y, p, rate, dy):"] + rhs_lines
    if jacobian is not None:
        lines += ["", "", _JIT.format("JAC"), "def jac(t, y, p, rate, J, dfdt):", "    J[:, :] = 0.0",
                  "    dfdt[:] = 0.0"] + jac_lines
        pattern = np.array([text != "0.0" for text in jacobian.derivatives[:S * S]], dtype=bool).reshape(S, S)
        lines += ["", "", lu_source(pattern, _JIT).rstrip("\n")]
    return "\n".join(lines) + "\n"


def _drop_unread(lines: list[str]) -> list[str]:
    """One function's statements without the loads (``v_X = p[3]``, ``y``, ``rate``) of locals it never reads: a
    model reads a few of its parameters in each function, and numba compiles every statement it is given (about a
    quarter less compile time for the status-epilepticus model's right-hand side)."""
    reads = collections.Counter(re.findall(r"\b[vd]_\w+\b", "\n".join(lines)))
    return [line for line in lines if not ((load := _LOAD.match(line)) and reads[load.group(1)] == 1)]


_LOAD = re.compile(r"    ([vd]_\w+) = (?:p|y|rate)\[\d+\]$")


class _Body:
    """The statements of ``rhs`` or ``jac`` for one Equations: parameter-only parts moved to ``derive``."""

    def __init__(self, tag, eq, slots, derive, P):
        # slots are shared by text within a body only: the Jacobian's quantities (G<k>) may reuse a name of the
        # right-hand side's (a declared model's own names) with another meaning
        self.tag, self.eq, self.slots, self.derive, self.P = tag, eq, slots, derive, P
        self.fixed = set(eq.parameters)          # names whose value depends on the parameters alone
        self.used: dict[int, None] = {}          # slots this body reads, in first-use order
        self.quantities = []
        for name, text in eq.quantities:
            node = _parse(text)
            if id(node) in _parameter_only(node, self.fixed)[0]:
                self.fixed.add(name)
                self.derive.append(f"    v_{name} = {_emit(text)}")    # derive needs it for later expressions
                self.quantities.append(f"    v_{name} = {self.slot(f'v_{name}')}")
            else:
                self.quantities.append(f"    v_{name} = {self.emit(text)}")

    def prelude(self) -> list[str]:
        """Read parameters, states, rates and derived values into locals, then compute the quantities."""
        eq = self.eq
        lines = [f"    v_{name} = p[{i}]" for i, name in enumerate(eq.parameters)]
        lines += [f"    v_{name} = y[{i}]" for i, name in enumerate(eq.states)]
        lines += [f"    v_{name} = rate[{i}]" for i, name in enumerate(eq.rates)]
        lines += [f"    d_{k} = p[{self.P + k}]" for k in self.used]
        return lines + self.quantities

    def emit(self, text: str) -> str:
        tree = _parse(text)
        return _Emitter(text, self, *_parameter_only(tree, self.fixed)).node(tree)

    def slot(self, emitted: str) -> str:
        """The local that reads ``emitted`` from the slot ``derive`` computes it into."""
        key = (self.tag, emitted)
        if key not in self.slots:
            k = self.slots[key] = len(self.slots)
            self.derive.append(f"    p[{self.P + k}] = {emitted}")
        k = self.slots[key]
        self.used[k] = None
        return f"d_{k}"


def _parse(text: str):
    return ast.parse(text, mode="eval").body


def _parameter_only(tree, names) -> tuple[set, set]:
    """In one pass over ``tree``: the ids of its nodes that read nothing but ``names``, and of those that read at
    least one name (a function called is not read). Valid while ``tree`` is alive."""
    only, reads = set(), set()

    def visit(node):
        if isinstance(node, ast.Name):
            ok, some = node.id in names, True
        else:
            parts = [visit(c) for c in (node.args if isinstance(node, ast.Call) else ast.iter_child_nodes(node))]
            ok, some = all(p[0] for p in parts), any(p[1] for p in parts)
        if ok:
            only.add(id(node))
        if some:
            reads.add(id(node))
        return ok, some

    visit(tree)
    return only, reads


def _emit(text: str) -> str:
    return _Emitter(text).node(_parse(text))


class _Emitter:
    def __init__(self, text, body=None, fixed=frozenset(), reads=frozenset()):
        self.text = text
        self.body = body                     # a _Body: parameter-only parts are read from derive's slots
        self.fixed, self.reads = fixed, reads    # (:func:`_parameter_only` of the tree being emitted)

    def node(self, node) -> str:
        # the largest part that reads parameters alone and computes something is derived once
        if self.body is not None and id(node) in self.fixed and id(node) in self.reads and \
                not isinstance(node, (ast.Name, ast.Constant)):
            return self.body.slot(_Emitter(self.text).node(node))
        return self._node(node)

    def _node(self, node) -> str:
        kind = type(node)
        if kind is ast.Constant and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            value = float(node.value)
            return repr(value) if math.isfinite(value) else "math.inf"     # 1e999: the only non-finite literal
        if kind is ast.Name and node.id.isidentifier():
            return "t" if node.id == "t" else f"v_{node.id}"
        if kind is ast.BinOp and type(node.op) in _BINARY:
            left, right = self.node(node.left), self.node(node.right)
            if type(node.op) is ast.Pow and not isinstance(node.right, ast.Constant) and id(node.right) in self.fixed \
                    and id(node) not in self.fixed:
                # a parameter exponent (a Hill slope) is often 1: x ** 1.0 is x exactly, without a call to pow
                return f"({left} if {right} == 1.0 else ({left} ** {right}))"
            return f"({left} {_BINARY[type(node.op)]} {right})"
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
