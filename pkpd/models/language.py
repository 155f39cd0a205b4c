"""A model language: a model written as a short text block, read safely, that works like a library model.

The text has sections, as in mrgsolve (``[PARAM]`` or ``$PARAM``; names are case-insensitive), one statement
per line or several separated by ``;``, and ``#`` comments::

    [PARAM] CL = 5 L/h; V = 50 L          # NAME = number, then an optional unit and optional [lower, upper]
    [CMT]   CENTRAL; CE                   # compartments (states); the first takes doses without a cmt
    [INIT]  CE = 0                        # optional: initial values from parameters (default 0)
    [MAIN]  CP = CENTRAL / V              # optional: quantities, in order, from parameters, states, t, earlier ones
    [ODE]   dCENTRAL = -CL * CP           # one derivative dX per compartment X (doses and infusions are added)
            dCE = KE0 * (CP - CE)
    [OUTPUT] CP; CE; E = CE / (1 + CE)    # names of quantities or states, or new quantities NAME = expression

Expressions are read with :func:`ast.parse` and checked node by node (:mod:`pkpd._internal.expressions`): only
numbers, the names above, time ``t``, ``+ - * / **``, unary minus, one comparison (``<`` ``<=`` ``>`` ``>=`` ``==``
``!=``, giving 1 where true and 0 where false) and the functions :data:`FUNCTIONS` (``exp log sqrt abs min max
pow where``, elementwise) are accepted. The checked tree is then turned into nested Python closures over numpy
arrays -- nothing is evaluated or executed as code, so a text cannot import, open, call or reach anything else.
Every mistake raises :class:`~pkpd.ModelError` naming the line (counted from the first line of the text) and
the symbol.

Parameters are non-negative unless bounds say otherwise (``SLOPE = -0.2 [-inf, inf]``); the unit is free text.
A parameter declared as ``F1``, ``ALAG1``, ``R1`` or ``D1`` is the dosing parameter of compartment 1 (see
:mod:`pkpd.models._base`).

Examples
--------
>>> import pkpd
>>> model = from_text('''
... [PARAM] CL = 5 L/h; V = 50 L
... [CMT] CENTRAL
... [MAIN] CP = CENTRAL / V
... [ODE] dCENTRAL = -CL * CP
... [OUTPUT] CP
... ''', name="OneCpt")
>>> model
OneCpt(CL=5, V=50)
>>> r = model.simulate(pkpd.Bolus(100), [0, 1], rtol=1e-10, atol=1e-12)
>>> [round(float(c), 4) for c in r["CP"]]          # 100/50 * exp(-0.1 t)
[2.0, 1.8097]
"""

from __future__ import annotations

import keyword
import math
import re
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np

from .._internal.expressions import compile_expression
from ..errors import ModelError, ParameterError
from ._base import Model, Parameter
from .equations import Equations

__all__ = ["TextModel", "from_text", "FUNCTIONS", "SECTIONS"]

#: The sections of a model text, in their usual order; ``[INIT]`` and ``[MAIN]`` may be left out.
SECTIONS = ("PARAM", "CMT", "INIT", "MAIN", "ODE", "OUTPUT")
_REQUIRED = ("PARAM", "CMT", "ODE", "OUTPUT")

#: The functions an expression may call: name -> (numpy function, least and most number of arguments).
#: ``min`` and ``max`` are elementwise (numpy's ``minimum`` and ``maximum``) and take two or more arguments.
FUNCTIONS: dict[str, tuple[Callable, int, int | None]] = {
    "exp": (np.exp, 1, 1),
    "log": (np.log, 1, 1),
    "sqrt": (np.sqrt, 1, 1),
    "abs": (np.abs, 1, 1),
    "min": (np.minimum, 2, None),
    "max": (np.maximum, 2, None),
    "pow": (np.power, 2, 2),
    "where": (np.where, 3, 3),
}
TIME = "t"

_SECTION = re.compile(r"^\s*(?:\[\s*([A-Za-z_]+)\s*\]|\$([A-Za-z_]+)\b)(.*)$")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_ASSIGN = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*=(?!=)\s*(.*)$")
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_PARAM = re.compile(rf"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?P<value>{_NUMBER})(?P<rest>.*)$")
_BOUNDS = re.compile(r"^(?P<unit>[^\[\]]*?)\s*(?:\[(?P<bounds>[^\[\]]*)\])?\s*$")
_MAX_EXPRESSION = 2000          # characters of one expression (a longer one is refused before parsing)


@dataclass(frozen=True)
class _Statement:
    section: str
    line: int
    text: str
    comment: str


class _Expression:
    """A checked expression: the closure computing it from a namespace dict, and the names it reads."""

    __slots__ = ("fn", "names", "line", "text")

    def __init__(self, fn, names, line, text):
        self.fn, self.names, self.line, self.text = fn, frozenset(names), line, text


# -- reading the text -------------------------------------------------------------------------------------------
def _statements(text: str, where: str) -> list[_Statement]:
    """The statements of the text, each with its section and 1-based line number."""
    out: list[_Statement] = []
    section = None
    for number, raw in enumerate(text.splitlines(), start=1):
        body, _, comment = raw.partition("#")
        m = _SECTION.match(body)
        if m:
            section = (m.group(1) or m.group(2)).upper()
            if section not in SECTIONS:
                raise ModelError(f"{where} line {number}: unknown section [{section}]; the sections are "
                                 + ", ".join(f"[{s}]" for s in SECTIONS))
            body = m.group(3)
        parts = [p.strip() for p in body.split(";")]
        parts = [p for p in parts if p]
        if parts and section is None:
            raise ModelError(f"{where} line {number}: {parts[0]!r} comes before the first section "
                             f"(start with [PARAM])")
        for part in parts:
            out.append(_Statement(section, number, part, comment.strip() if len(parts) == 1 else ""))
    return out


def _check_name(name: str, where: str, line: int, what: str) -> str:
    if not _NAME.match(name) or keyword.iskeyword(name):
        raise ModelError(f"{where} line {line}: {name!r} cannot name a {what}: a name is a letter followed by "
                         f"letters, digits and '_' (and not a Python keyword)")
    if name in FUNCTIONS or name == TIME:
        raise ModelError(f"{where} line {line}: {name!r} cannot name a {what}: it is reserved "
                         f"({'the time' if name == TIME else 'a function'})")
    return name


def _number(text: str, where: str, line: int, what: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        raise ModelError(f"{where} line {line}: {what} {text.strip()!r} is not a number") from None
    if math.isnan(value):
        raise ModelError(f"{where} line {line}: {what} is NaN")
    return value


# -- checking and compiling expressions (pkpd._internal.expressions) ------------------------------------------
def _compile(where: str, line: int, target: str, known: Iterable[str], later: dict[str, str],
             text: str) -> _Expression:
    """Check an expression (the model language: no and/or, one comparison) and build its closure."""
    e = compile_expression(text, error=ModelError, prefix=f"{where} line {line}: ",
                           suffix=f" (in the definition of {target})", names=known, hints=later,
                           functions=FUNCTIONS, max_length=_MAX_EXPRESSION)
    return _Expression(e.fn, e.names, line, e.text)


# -- the parsed model -------------------------------------------------------------------------------------------
@dataclass
class _Spec:
    parameters: tuple
    states: tuple
    init: dict
    main: list            # [(name, _Expression)] in order
    derivatives: list     # one _Expression per state, in the order of states
    outputs: tuple
    output_only: list     # [(name, _Expression)] defined in [OUTPUT]


def _assignment(st: _Statement, where: str, what: str) -> tuple[str, str]:
    m = _ASSIGN.match(st.text)
    if not m:
        raise ModelError(f"{where} line {st.line}: cannot read {st.text!r} in [{st.section}]: expected {what}")
    return m.group(1), m.group(2).strip()


def _parse(text: str, where: str) -> _Spec:
    statements = _statements(text, where)
    by_section = {s: [st for st in statements if st.section == s] for s in SECTIONS}
    present = {st.section for st in statements}
    headers = {(m.group(1) or m.group(2)).upper() for m in map(_SECTION.match, text.splitlines()) if m}
    missing = [s for s in _REQUIRED if s not in headers]
    if missing:
        end = len(text.splitlines())
        raise ModelError(f"{where} line {end} (end of the text): section [{missing[0]}] is missing; a model needs "
                         + ", ".join(f"[{s}]" for s in _REQUIRED))
    for s in ("CMT", "ODE", "OUTPUT"):
        if s not in present:
            line = next(i for i, raw in enumerate(text.splitlines(), start=1)
                        if (m := _SECTION.match(raw)) and (m.group(1) or m.group(2)).upper() == s)
            raise ModelError(f"{where} line {line}: section [{s}] is empty")

    defined: dict[str, str] = {}        # name -> "parameter ... on line n"

    def define(name, line, what):
        _check_name(name, where, line, what)
        if name in defined:
            raise ModelError(f"{where} line {line}: duplicate definition of {name!r} (already the {defined[name]})")
        defined[name] = f"{what} defined on line {line}"

    # [PARAM]
    parameters = []
    for st in by_section["PARAM"]:
        m = _PARAM.match(st.text)
        if not m:
            name = _ASSIGN.match(st.text)
            raise ModelError(f"{where} line {st.line}: cannot read the parameter "
                             f"{name.group(1) if name else st.text!r} ({st.text!r}): expected "
                             f"NAME = number [unit] [[lower, upper]], e.g. CL = 5 L/h")
        name = m.group("name")
        define(name, st.line, "parameter")
        value = _number(m.group("value"), where, st.line, f"the value of {name}")
        b = _BOUNDS.match(m.group("rest"))
        if not b:
            raise ModelError(f"{where} line {st.line}: cannot read the unit and bounds of {name}: "
                             f"{m.group('rest').strip()!r}; expected e.g. 'L/h [0, 100]'")
        lower, upper = 0.0, math.inf
        if b.group("bounds") is not None:
            parts = b.group("bounds").split(",")
            if len(parts) != 2:
                raise ModelError(f"{where} line {st.line}: the bounds of {name} must be [lower, upper], "
                                 f"not [{b.group('bounds')}]")
            lower = _number(parts[0], where, st.line, f"the lower bound of {name}")
            upper = _number(parts[1], where, st.line, f"the upper bound of {name}")
        if not math.isfinite(value):
            raise ModelError(f"{where} line {st.line}: the value of {name} must be finite")
        try:
            parameters.append(Parameter(name, value, b.group("unit").strip(), lower, upper, st.comment))
        except ParameterError as e:
            hint = " (parameters are >= 0 unless bounds are given, e.g. [-inf, inf])" \
                if b.group("bounds") is None else ""
            raise ModelError(f"{where} line {st.line}: {e}{hint}") from None
    # [CMT]
    states = []
    for st in by_section["CMT"]:
        for name in re.split(r"[\s,]+", st.text):
            if name:
                define(name, st.line, "compartment")
                if name.upper() in {s.upper() for s in states}:
                    raise ModelError(f"{where} line {st.line}: duplicate definition of the compartment {name!r} "
                                     f"(compartment names are compared ignoring case)")
                states.append(name)
    pnames = [p.name for p in parameters]
    later = {}
    for s in ("MAIN", "OUTPUT"):
        for st in by_section[s]:
            m = _ASSIGN.match(st.text)
            if m:
                later.setdefault(m.group(1), f"it is defined on line {st.line}, in [{s}]")

    # [INIT]
    init = {}
    for st in by_section["INIT"]:
        name, expr = _assignment(st, where, "STATE = expression")
        if name not in states:
            raise ModelError(f"{where} line {st.line}: {name!r} in [INIT] is not a compartment; the compartments "
                             f"are {', '.join(states)}")
        if name in init:
            raise ModelError(f"{where} line {st.line}: duplicate definition of the initial value of {name!r}")
        hint = {s: "an initial value may use parameters only" for s in [*states, *later, TIME]}
        init[name] = _compile(where, st.line, f"the initial value of {name}", pnames, hint, expr)
    # [MAIN]
    main = []
    known = [*pnames, *states, TIME]
    for st in by_section["MAIN"]:
        name, expr = _assignment(st, where, "NAME = expression")
        compiled = _compile(where, st.line, name, known, later, expr)
        define(name, st.line, "quantity")
        main.append((name, compiled))
        known.append(name)
    # [ODE]
    derivatives: dict[str, _Expression] = {}
    for st in by_section["ODE"]:
        target, expr = _assignment(st, where, "dSTATE = expression, e.g. dCENTRAL = -CL / V * CENTRAL")
        state = target[1:]
        if not target.startswith("d"):
            raise ModelError(f"{where} line {st.line}: {target!r} in [ODE] is not a derivative: write dSTATE = ..., "
                             f"e.g. d{states[0]} = ... (quantities go in [MAIN])")
        if state not in states:
            raise ModelError(f"{where} line {st.line}: {target!r} is the derivative of an unknown compartment "
                             f"{state!r}; the compartments are {', '.join(states)}")
        if state in derivatives:
            raise ModelError(f"{where} line {st.line}: duplicate definition of {target!r} "
                             f"(first on line {derivatives[state].line})")
        derivatives[state] = _compile(where, st.line, target, known, later, expr)
    lacking = [s for s in states if s not in derivatives]
    if lacking:
        line = by_section["ODE"][-1].line
        raise ModelError(f"{where} line {line}: the compartment {lacking[0]!r} has no derivative; add "
                         f"d{lacking[0]} = ... to [ODE]")
    # [OUTPUT]
    outputs, output_only = [], []
    for st in by_section["OUTPUT"]:
        if _ASSIGN.match(st.text):
            name, expr = _assignment(st, where, "")
            compiled = _compile(where, st.line, name, known, later, expr)
            define(name, st.line, "output")
            output_only.append((name, compiled))
            known.append(name)
            names = [name]
        else:
            names = [n for n in re.split(r"[\s,]+", st.text) if n]
        for name in names:
            if not _NAME.match(name):
                raise ModelError(f"{where} line {st.line}: cannot read the output {name!r}: expected a name or "
                                 f"NAME = expression")
            if name == TIME or name not in known:
                raise ModelError(f"{where} line {st.line}: the output {name!r} is undefined; outputs are "
                                 f"compartments, parameters, quantities of [MAIN] or NAME = expression")
            if name in outputs:
                raise ModelError(f"{where} line {st.line}: duplicate output {name!r}")
            outputs.append(name)
    return _Spec(tuple(parameters), tuple(states), init, main, [derivatives[s] for s in states],
                 tuple(outputs), output_only)


def _closure(names: Iterable[str], steps: list) -> list:
    """The steps (in order) needed to compute ``names``."""
    need = set(names)
    chosen = []
    for name, expr in reversed(steps):
        if name in need:
            chosen.append((name, expr))
            need |= expr.names
    return chosen[::-1]


def _rebuild(args, kwargs):
    return TextModel(*args, **kwargs)


class TextModel(Model):
    """A model written as text in the model language (:mod:`pkpd.models.language`); see :func:`from_text`.

    It is a :class:`~pkpd.models.Model` like the library's: it simulates through the ODE engine, fits with
    :meth:`make_params`, takes a ``drug`` prefix to be composed (:func:`pkpd.compose`), pickles (by its text),
    and ``replace(drug="MDZ")`` builds a copy. Its first compartment is the default dose compartment.

    Attributes
    ----------
    text : str
        The model text.
    equations : Equations
        Its equations as checked expression texts (what :mod:`pkpd.engine._codegen` compiles).
    """

    def __init__(self, text: str, name: str | None = None, drug: str | None = None, *, stiff: bool = False,
                 clearance: Iterable[str] = ()):
        super().__init__(drug)
        if not isinstance(text, str):
            raise ModelError(f"a model text must be a str, not {type(text).__name__}")
        if name is not None and (not isinstance(name, str) or not name.isidentifier()):
            raise ModelError(f"a model name must be a name like 'MMEffect', not {name!r}")
        where = f"model {name}" if name else "model text"
        spec = _parse(text, where)
        self.text = text
        self._model_name = name or "TextModel"
        self.states = spec.states
        self.parameters = spec.parameters
        self.outputs = spec.outputs
        self.stiff = bool(stiff)
        clearance = tuple(clearance)
        unknown = [c for c in clearance if c not in {p.name for p in spec.parameters}]
        if unknown:
            raise ModelError(f"{where}: clearance parameter {unknown[0]!r} is not a parameter")
        self.clearance_parameters = clearance
        steps = spec.main + spec.output_only
        rhs_names = set().union(*(d.names for d in spec.derivatives))
        rhs_steps = _closure(rhs_names, spec.main)
        self._rhs_steps = tuple((n, e.fn) for n, e in rhs_steps)
        self.equations = Equations(tuple(p.name for p in spec.parameters), spec.states,
                                   tuple((n, e.text) for n, e in rhs_steps), tuple(d.text for d in spec.derivatives))
        self._derivatives = tuple(d.fn for d in spec.derivatives)
        out_steps = _closure(spec.outputs, steps)
        read = set(spec.outputs).union(*(e.names for _, e in out_steps))
        if TIME in read:
            culprit = next((n for n, e in out_steps if TIME in e.names), "")
            raise ModelError(f"{where} line {dict(steps)[culprit].line}: the output depends on t through "
                             f"{culprit!r}; outputs are computed from states and parameters only")
        self._output_steps = tuple((n, e.fn) for n, e in out_steps)
        self.output_states = tuple(s for s in spec.states if s in read) or None
        self._init = tuple((spec.states.index(s), e.fn) for s, e in spec.init.items())

    @property
    def name(self) -> str:
        return self._model_name

    def __reduce__(self):
        return _rebuild, self._constructor_arguments

    # -- equations ---------------------------------------------------------------------------------------------
    def rhs(self, t, y, p, rate):
        ns = dict(p)
        for i, s in enumerate(self.states):
            ns[s] = y[:, i]
        ns[TIME] = t
        for name, fn in self._rhs_steps:
            ns[name] = fn(ns)
        out = np.empty_like(y)
        for i, fn in enumerate(self._derivatives):
            out[:, i] = fn(ns)
        out += rate
        return out

    def output(self, y, p):
        shape = (-1,) + (1,) * (y.ndim - 2)
        ns = {k: np.asarray(v).reshape(shape) for k, v in p.items()}
        for i, s in enumerate(self.states):
            ns[s] = y[..., i]
        for name, fn in self._output_steps:
            ns[name] = fn(ns)
        return {name: np.broadcast_to(ns[name], y.shape[:-1]) for name in self.outputs}

    def initial_state(self, p):
        x0 = super().initial_state(p)
        if self._init:
            ns = dict(p)
            for i, fn in self._init:
                x0[:, i] = fn(ns)
        return x0


def from_text(text: str, name: str | None = None, *, drug: str | None = None, stiff: bool = False,
              clearance: Iterable[str] = ()) -> TextModel:
    """A model from its text in the model language (sections ``[PARAM] [CMT] [INIT] [MAIN] [ODE] [OUTPUT]``).

    Parameters
    ----------
    text : str
        The model (see :mod:`pkpd.models.language` for the syntax).
    name : str, optional
        The model's name (its ``repr`` and error messages); default ``"TextModel"``.
    drug : str, optional
        Prefix under which the model is composed with others (:func:`pkpd.compose`).
    stiff : bool
        Time scales far apart: ``solver="auto"`` then integrates with the implicit solver.
    clearance : iterable of str
        Parameters scaled by a clearance multiplier when composed (e.g. ``("CL",)`` or ``("VMAX",)``).

    Returns
    -------
    TextModel

    Raises
    ------
    ModelError
        Naming the line and the symbol: a section missing, an undefined name, the derivative of an unknown
        compartment, a compartment without derivative, a duplicate definition, a syntax or function that is
        not allowed.

    Examples
    --------
    >>> import pkpd
    >>> model = from_text('''
    ... [PARAM] VMAX = 10 mg/h; KM = 2 mg/L; V = 50 L; KE0 = 0.5 1/h
    ... [CMT] CENTRAL; CE
    ... [MAIN] CP = CENTRAL / V
    ... [ODE]
    ... dCENTRAL = -VMAX * CP / (KM + CP)
    ... dCE = KE0 * (CP - CE)
    ... [OUTPUT] CP; CE
    ... ''', name="MMEffect")
    >>> model.states, model.outputs
    (('CENTRAL', 'CE'), ('CP', 'CE'))
    >>> r = model.simulate(pkpd.Bolus(100), [1.0, 6.0])
    >>> bool(r["CE"][1] > r["CE"][0])
    True
    """
    return TextModel(text, name, drug, stiff=stiff, clearance=clearance)
