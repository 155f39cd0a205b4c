"""Equations of any numpy right-hand side, by running it once on symbols.

A model without declared :class:`~pkpd.models.Equations` -- a composition (:func:`pkpd.compose`), a component
written in numpy -- is traced: its ``rhs`` is called for one unit with :class:`Traced` arrays, which record every
ufunc (``+ * / ** exp log maximum ...``, comparisons, ``scipy.special.expit``) and a few array functions (``where``, ``clip``) as nodes of
a graph instead of computing, while indexing, slicing, ``empty_like`` and assignment work as on arrays. The
graph's nodes are shared (the same operation on the same arguments is one node), constants are folded, and
every node used twice becomes a named quantity: :func:`trace_equations` returns the right-hand side as
:class:`~pkpd.models.Equations` over ``P<i>`` (parameter ``i`` of ``model.parameter_names``), ``Y<i>`` (state),
``R<i>`` (its input rate) and ``t``, ready for :mod:`pkpd.engine._codegen`.

Tracing follows what the code does for *these* symbols: a branch on a value (``if x > 0``, ``np.any``), a
conversion to a number or a numpy function outside the list raises :class:`NotTraceable` naming it, and the
model is then not compiled. The result is checked against the model's own ``rhs`` at random states before use
(:mod:`pkpd.engine._compiled`).

Examples
--------
>>> from pkpd.models import TwoCompartment
>>> eq = trace_equations(TwoCompartment())
>>> eq.quantities[1], eq.derivatives[1]       # the inter-compartment flow, used twice, is a quantity
(('Q1', '(P2 * (Q0 - (Y1 / P3)))'), '(R1 + Q1)')
"""

from __future__ import annotations

import functools

import math
import numbers

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

from .._internal.expressions import compile_expression
from ..errors import ModelError
from ..models.equations import Equations
from ..models.language import FUNCTIONS

__all__ = ["NotTraceable", "Traced", "Trace", "trace", "trace_equations", "evaluate"]


class NotTraceable(Exception):
    """The right-hand side does something tracing cannot follow (named in the message)."""


class _Node:
    """One operation of the graph (``op`` and its argument nodes), or a leaf: a constant or a named input."""

    __slots__ = ("op", "args", "value", "name", "__weakref__")

    def __init__(self, op, args=(), value=None, name=None):
        self.op, self.args, self.value, self.name = op, args, value, name

    def __bool__(self):
        raise NotTraceable("a branch on a value (if/while on a state or parameter, or bool())")

    def __float__(self):
        raise NotTraceable("a conversion of a state or parameter to a Python number")

    __int__ = __index__ = __float__


class _Graph:
    """Interns nodes (one node per operation and arguments) and folds constants."""

    def __init__(self):
        self.nodes: dict = {}

    def const(self, value) -> _Node:
        value = float(value)
        key = ("const", value if not math.isnan(value) else "nan", math.copysign(1.0, value))
        if key not in self.nodes:
            self.nodes[key] = _Node("const", value=value)
        return self.nodes[key]

    def leaf(self, name) -> _Node:
        key = ("leaf", name)
        if key not in self.nodes:
            self.nodes[key] = _Node("leaf", name=name)
        return self.nodes[key]

    def op(self, op, *args) -> _Node:
        args = tuple(a if isinstance(a, _Node) else self.const(a) for a in args)
        if all(a.op == "const" for a in args):
            with np.errstate(all="ignore"):
                return self.const(_FOLD[op](*(np.float64(a.value) for a in args)))
        identity = _IDENTITY.get(op)         # x * 1, 1 * x, x + 0, 0 + x, x - 0, x / 1, x ** 1: exactly x
        if identity is not None:
            for keep, drop in ((0, 1), (1, 0)) if op in ("mul", "add") else ((0, 1),):
                if args[drop].op == "const" and args[drop].value == identity:
                    return args[keep]
        key = (op, tuple(id(a) for a in args))
        if key not in self.nodes:
            self.nodes[key] = _Node(op, args)
        return self.nodes[key]


_UFUNCS = {          # numpy (and scipy.special) ufunc name -> node operation
    "add": "add", "subtract": "sub", "multiply": "mul", "divide": "div", "true_divide": "div", "power": "pow",
    "float_power": "pow", "negative": "neg", "positive": "pos", "absolute": "abs", "exp": "exp", "log": "log",
    "sqrt": "sqrt", "expm1": "expm1", "log1p": "log1p", "maximum": "max", "minimum": "min", "fmax": "max",
    "fmin": "min", "less": "lt", "less_equal": "le", "greater": "gt", "greater_equal": "ge", "equal": "eq",
    "not_equal": "ne", "logical_and": "and", "logical_or": "or", "logical_not": "not", "square": "square",
    "reciprocal": "recip", "expit": "expit",
}
_IDENTITY = {"mul": 1.0, "add": 0.0, "sub": 0.0, "div": 1.0, "pow": 1.0}
_FOLD = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.true_divide, "pow": np.power,
    "neg": np.negative, "pos": np.positive, "abs": np.absolute, "exp": np.exp, "log": np.log, "sqrt": np.sqrt,
    "expm1": np.expm1, "log1p": np.log1p, "max": np.maximum, "min": np.minimum, "square": np.square,
    "recip": np.reciprocal, "expit": lambda x: 1.0 / (1.0 + np.exp(-x)),
    "lt": lambda a, b: float(a < b), "le": lambda a, b: float(a <= b), "gt": lambda a, b: float(a > b),
    "ge": lambda a, b: float(a >= b), "eq": lambda a, b: float(a == b), "ne": lambda a, b: float(a != b),
    "and": lambda a, b: float(a != 0 and b != 0), "or": lambda a, b: float(a != 0 or b != 0),
    "not": lambda a: float(a == 0), "where": lambda c, a, b: a if c != 0 else b,
}


class Traced(NDArrayOperatorsMixin):
    """An array of graph nodes that records the numpy operations applied to it (see the module docstring)."""

    __array_priority__ = 1000

    def __init__(self, graph: _Graph, nodes: np.ndarray):
        self.graph, self.nodes = graph, nodes

    # -- array protocol ----------------------------------------------------------------------------------------
    shape = property(lambda self: self.nodes.shape)
    ndim = property(lambda self: self.nodes.ndim)
    size = property(lambda self: self.nodes.size)
    dtype = np.dtype(float)

    def __len__(self):
        return len(self.nodes)

    def __bool__(self):
        raise NotTraceable("a branch on a value (if/while on a state or parameter, or bool())")

    def __array__(self, dtype=None, copy=None):
        raise NotTraceable("a conversion of a traced array to a numpy array (np.asarray/np.array)")

    def _wrap(self, nodes):
        return Traced(self.graph, np.asarray(nodes, dtype=object))

    def _objects(self, x):
        if isinstance(x, Traced):
            return x.nodes
        if isinstance(x, (numbers.Number, np.ndarray, np.generic)):
            arr = np.asarray(x, dtype=float)
            out = np.empty(arr.shape, dtype=object)
            for idx in np.ndindex(arr.shape):
                out[idx] = self.graph.const(arr[idx])
            return out
        raise NotTraceable(f"an operand of type {type(x).__name__}")

    def _map(self, op, *operands):
        arrays = np.broadcast_arrays(*(self._objects(x) for x in operands))
        out = np.empty(arrays[0].shape, dtype=object)
        for idx in np.ndindex(out.shape):
            out[idx] = self.graph.op(op, *(a[idx] for a in arrays))
        return self._wrap(out)

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        op = _UFUNCS.get(ufunc.__name__)
        if method != "__call__" or op is None or kwargs.get("where", True) is not True:
            raise NotTraceable(f"numpy's {ufunc.__name__}{'' if method == '__call__' else '.' + method}")
        result = self._map(op, *inputs)
        if out is not None:
            target = out[0]
            if not isinstance(target, Traced):
                raise NotTraceable("a ufunc writing into a numpy array (out=)")
            target.nodes[...] = result.nodes
            return target
        return result

    def __array_function__(self, func, types, args, kwargs):
        handler = _FUNCTIONS.get(func)
        if handler is None:
            raise NotTraceable(f"numpy's {func.__name__}")
        return handler(self.graph, *args, **kwargs)

    # -- indexing and shape ------------------------------------------------------------------------------------
    def __getitem__(self, key):
        return self._wrap(self.nodes[key])

    def __setitem__(self, key, value):
        self.nodes[key] = self._objects(value)

    def expit(self):
        """The logistic function (:func:`pkpd._internal.logistic.expit`), recorded as ``scipy.special.expit`` is."""
        return self._map("expit", self)

    def reshape(self, *shape):
        return self._wrap(self.nodes.reshape(*shape))

    def copy(self):
        return self._wrap(self.nodes.copy())

    @property
    def T(self):
        return self._wrap(self.nodes.T)

    def sum(self, axis=None):
        if axis is None:
            return _reduce_add(self.graph, self.nodes.ravel())
        moved = np.moveaxis(self.nodes, axis, -1)
        out = np.empty(moved.shape[:-1], dtype=object)
        for idx in np.ndindex(out.shape):
            out[idx] = _reduce_add(self.graph, moved[idx])
        return self._wrap(out)


def _reduce_add(graph, nodes):
    total = nodes[0]
    for node in nodes[1:]:
        total = graph.op("add", total, node)
    return total


def _traced(graph, x):
    return x if isinstance(x, Traced) else Traced(graph, Traced(graph, np.empty(0, object))._objects(x))


def _where(graph, cond, a, b):
    c, x, y = (_traced(graph, v) for v in (cond, a, b))
    return c._map("where", c, x, y)


def _clip(graph, a, a_min=None, a_max=None, **kwargs):
    x = _traced(graph, a)
    if a_min is not None:
        x = x._map("max", x, a_min)
    if a_max is not None:
        x = x._map("min", x, a_max)
    return x


def _like(fill):
    def like(graph, a, dtype=None, **kwargs):
        nodes = np.empty(np.shape(a.nodes if isinstance(a, Traced) else a), dtype=object)
        nodes[...] = graph.const(0.0 if fill is None else fill)
        return Traced(graph, nodes)
    return like


def _stack_with(numpy_function):
    def stack(graph, arrays, *args, **kwargs):
        return Traced(graph, numpy_function([_traced(graph, a).nodes for a in arrays], *args, **kwargs))
    return stack


def _shape(graph, a):
    return np.shape(a.nodes if isinstance(a, Traced) else a)


def _broadcast_to(graph, a, shape, **kwargs):
    return Traced(graph, np.broadcast_to(_traced(graph, a).nodes, shape).copy())


_FUNCTIONS = {
    np.where: _where, np.clip: _clip, np.empty_like: _like(None), np.zeros_like: _like(0.0),
    np.ones_like: _like(1.0), np.column_stack: _stack_with(np.column_stack), np.stack: _stack_with(np.stack),
    np.concatenate: _stack_with(np.concatenate), np.hstack: _stack_with(np.hstack), np.shape: _shape,
    np.broadcast_to: _broadcast_to,
}


# -- from the graph to equations -------------------------------------------------------------------------------
_INFIX = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**"}
_COMPARE = {"lt": "<", "le": "<=", "gt": ">", "ge": ">=", "eq": "==", "ne": "!="}
_CALL = {"abs": "abs", "exp": "exp", "log": "log", "sqrt": "sqrt", "max": "max", "min": "min", "where": "where",
         "expm1": "expm1", "log1p": "log1p"}
#: the model language's functions and the two more a trace may call (the compiled kernel has them too)
_TRACE_FUNCTIONS = {**FUNCTIONS, "expm1": (np.expm1, 1, 1), "log1p": (np.log1p, 1, 1)}


def _expression(node, names) -> str:
    """The expression text of ``node`` (in the model language's syntax), naming the nodes in ``names``."""
    if node.op == "const":
        if math.isnan(node.value):
            return "(1e999 - 1e999)"
        return repr(node.value) if math.isfinite(node.value) else "1e999" if node.value > 0 else "(-1e999)"
    if node.op == "leaf":
        return node.name
    if id(node) in names:
        return names[id(node)]
    a = [_expression(x, names) for x in node.args]
    op = node.op
    if op in _INFIX:
        return f"({a[0]} {_INFIX[op]} {a[1]})"
    if op in _COMPARE:
        return f"({a[0]} {_COMPARE[op]} {a[1]})"
    if op in _CALL:
        return f"{_CALL[op]}({', '.join(a)})"
    return {
        "neg": lambda: f"(-{a[0]})", "pos": lambda: a[0], "square": lambda: f"({a[0]} * {a[0]})",
        "recip": lambda: f"(1.0 / {a[0]})",
        "expit": lambda: f"(1.0 / (1.0 + exp(-{a[0]})))",
        "and": lambda: f"(({a[0]} != 0) * ({a[1]} != 0))", "or": lambda: f"(max(({a[0]} != 0), ({a[1]} != 0)))",
        "not": lambda: f"({a[0]} == 0)",
    }[op]()


class Trace:
    """A model's right-hand side and its Jacobian as :class:`~pkpd.models.Equations` over ``P<i> Y<i> R<i> t``.

    ``rhs`` is built with the trace; ``jacobian`` on first use (differentiating costs as much as tracing, and only
    stiff methods need it): its ``derivatives`` hold ``S * S + S`` expressions, ``df_i/dy_j`` row by row, then
    ``df_i/dt`` (``"0.0"`` where zero); its quantities are its own (``G<k>``)."""

    def __init__(self, graph, roots, leaves):
        self._graph, self._roots, self._leaves = graph, roots, leaves
        self.rhs: Equations = _as_equations(roots, "Q", *leaves)

    @functools.cached_property
    def jacobian(self) -> Equations:
        graph, roots = self._graph, self._roots
        S = len(roots)
        variables = [graph.leaf(f"Y{j}") for j in range(S)] + [graph.leaf("t")]
        partial = [_derivatives(graph, roots, v) for v in variables]
        zero = graph.const(0.0)
        entries = [partial[j].get(id(r), zero) for r in roots for j in range(S)]
        entries += [partial[S].get(id(r), zero) for r in roots]
        return _as_equations(entries, "G", *self._leaves)


def trace(model, equations: Equations | None = None) -> Trace:
    """Trace the right-hand side of ``model`` -- its numpy ``rhs``, or its declared ``equations`` evaluated on
    symbols -- for symbolic differentiation (:attr:`Trace.jacobian`).

    Raises
    ------
    NotTraceable
        Naming what the right-hand side does that tracing cannot follow.
    """
    graph = _Graph()
    names, S = model.parameter_names, len(model.states)
    p = [Traced(graph, np.array([graph.leaf(f"P{i}")], dtype=object)) for i in range(len(names))]
    y = Traced(graph, np.array([[graph.leaf(f"Y{i}") for i in range(S)]], dtype=object))
    rate = Traced(graph, np.array([[graph.leaf(f"R{i}") for i in range(S)]], dtype=object))
    t = Traced(graph, np.array([graph.leaf("t")], dtype=object))
    try:
        if equations is None:
            dy = model.rhs(t, y, dict(zip(names, p)), rate)
        else:
            dy = _evaluate(equations, t, y, p, rate, lambda columns: _stack_with(np.column_stack)(graph, columns))
    except NotTraceable:
        raise
    except Exception as err:      # the model's code met something a traced array does not do
        raise NotTraceable(f"{type(err).__name__}: {err}") from None
    if not isinstance(dy, Traced) or dy.shape != (1, S):
        raise NotTraceable(f"the right-hand side returned {type(dy).__name__} of shape {np.shape(dy)}, not (1, {S})")
    roots = [n if isinstance(n, _Node) else graph.const(n) for n in dy.nodes[0]]
    leaves = (tuple(f"P{i}" for i in range(len(names))), tuple(f"Y{i}" for i in range(S)),
              tuple(f"R{i}" for i in range(S)))
    return Trace(graph, roots, leaves)


def trace_equations(model) -> Equations:
    """The right-hand side of ``model`` as :class:`~pkpd.models.Equations` over ``P<i> Y<i> R<i> t`` (see
    :func:`trace`)."""
    return trace(model).rhs


def _as_equations(roots, prefix, parameters, states, rates) -> Equations:
    """Equations computing ``roots``: each operation used twice becomes a quantity ``<prefix><k>``."""
    order, uses = _topological(roots)
    names_of: dict[int, str] = {}
    quantities = []
    for node in order:
        if uses[id(node)] > 1 and node.op not in ("const", "leaf"):
            text = _expression(node, names_of)
            names_of[id(node)] = f"{prefix}{len(quantities)}"
            quantities.append((names_of[id(node)], text))
    return Equations(parameters, states, tuple(quantities), tuple(_expression(r, names_of) for r in roots), rates)


def _derivatives(graph, roots, variable) -> dict:
    """Symbolic derivatives of every node reachable from ``roots`` in ``variable`` (a leaf), by forward
    propagation in topological order: node id -> derivative node, absent where it is zero."""
    order, _ = _topological(roots)
    d: dict[int, _Node] = {id(variable): graph.const(1.0)}
    op = graph.op
    for node in order:
        if node.op in ("const", "leaf"):
            continue
        args = node.args
        da = [d.get(id(a)) for a in args]
        if all(x is None for x in da):
            continue
        zero = graph.const(0.0)
        a0, a1 = args[0], (args[1] if len(args) > 1 else None)
        d0, d1 = (da + [None])[:2]

        def plus(x, y):                       # None is an exact zero: no "0.0 * x" terms are built
            return y if x is None else x if y is None else op("add", x, y)

        def times(x, y):
            return None if x is None or y is None else op("mul", x, y)

        kind = node.op
        if kind == "add":
            out = plus(d0, d1)
        elif kind == "sub":
            out = d0 if d1 is None else op("neg", d1) if d0 is None else op("sub", d0, d1)
        elif kind == "mul":
            out = plus(times(d0, a1), times(a0, d1))
        elif kind == "div":
            numerator = d0 if d1 is None else op("neg", times(node, d1)) if d0 is None else \
                op("sub", d0, times(node, d1))
            out = op("div", numerator, a1)
        elif kind == "pow":
            out = plus(times(op("mul", a1, op("pow", a0, op("sub", a1, 1.0))), d0),
                       times(op("mul", node, op("log", a0)), d1))
        elif kind == "neg":
            out = op("neg", d0)
        elif kind == "pos":
            out = d0
        elif kind == "abs":
            out = op("where", op("lt", a0, 0.0), op("neg", d0), d0)
        elif kind == "exp":
            out = op("mul", node, d0)
        elif kind == "expm1":
            out = op("mul", op("exp", a0), d0)
        elif kind == "log":
            out = op("div", d0, a0)
        elif kind == "log1p":
            out = op("div", d0, op("add", 1.0, a0))
        elif kind == "sqrt":
            out = op("div", op("mul", 0.5, d0), node)
        elif kind in ("max", "min"):
            out = op("where", op("ge" if kind == "max" else "le", a0, a1), zero if d0 is None else d0,
                     zero if d1 is None else d1)
        elif kind == "where":
            out = op("where", a0, zero if d1 is None else d1, zero if da[2] is None else da[2])
        elif kind == "square":
            out = op("mul", op("mul", 2.0, a0), d0)
        elif kind == "recip":
            out = op("neg", op("mul", op("mul", node, node), d0))
        elif kind == "expit":
            out = op("mul", op("mul", node, op("sub", 1.0, node)), d0)
        else:                                 # comparisons and logic: piecewise constant
            continue
        if out is not None:
            d[id(node)] = out
    return d


def _topological(roots):
    """Nodes reachable from ``roots``, each after its arguments, and how many times each is used."""
    uses: dict[int, int] = {}
    order, seen = [], set()
    stack = [(r, False) for r in reversed(roots)]
    for r in roots:
        uses[id(r)] = uses.get(id(r), 0) + 1
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for a in node.args:
            uses[id(a)] = uses.get(id(a), 0) + 1
            if id(a) not in seen:
                stack.append((a, False))
    return order, uses


def evaluate(eq: Equations, t, y, p, rate) -> np.ndarray:
    """The derivatives of ``eq`` computed by numpy (the checked expressions as closures): ``(n, S)`` for ``t``
    ``(n,)``, states and rates ``(n, S)`` and the parameter columns ``p`` (a list of ``(n,)`` arrays)."""
    n = len(y)
    return _evaluate(eq, np.asarray(t, float), y, [np.asarray(v, float) for v in p], rate,
                     lambda columns: np.column_stack([np.broadcast_to(c, (n,)) for c in columns]))


def _evaluate(eq, t, y, p, rate, stack):
    ns = dict(zip(eq.parameters, p))
    ns.update({name: y[:, i] for i, name in enumerate(eq.states)})
    ns.update({name: rate[:, i] for i, name in enumerate(eq.rates)})
    ns["t"] = t

    def closure(text):
        return compile_expression(text, error=ModelError, functions=_TRACE_FUNCTIONS, max_length=10**9).fn

    for name, text in eq.quantities:
        ns[name] = closure(text)(ns)
    out = stack([closure(text)(ns) for text in eq.derivatives])
    return out if eq.rates else out + rate
