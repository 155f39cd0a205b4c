"""Model base: parameters, states, outputs and the right-hand side, vectorised over subjects.

A model is an immutable value. Its equations are written once with numpy over arrays whose leading
axis is the subject (``y`` has shape ``(n_subjects, n_states)``; each parameter is an array of shape
``(n_subjects,)``). The engine integrates a whole batch of subjects in one call.

Dosing parameters follow NONMEM: ``F<k>`` (bioavailability), ``ALAG<k>`` (lag time), ``R<k>`` and
``D<k>`` (modelled infusion rate and duration, used by ``RATE=-1`` and ``RATE=-2``) apply to doses into
compartment number ``k`` (1-based, in the order of :attr:`Model.states`). A model declares those it
uses; the others may still be given in ``params`` (``F`` defaults to 1 and ``ALAG`` to 0).
"""

from __future__ import annotations

import copy
import functools
import inspect
import math
import re
from collections.abc import Iterator
from dataclasses import FrozenInstanceError, dataclass
from types import MappingProxyType
from typing import Mapping

import numpy as np
import pandas as pd

from ..errors import ModelError, ParameterError
from .._internal.html import fields_table

__all__ = ["Parameter", "Model", "Immutable", "DOSING_PARAMETER", "set_cached"]

#: Names of the per-compartment dosing parameters: F1, ALAG2, R1, D3, ...
DOSING_PARAMETER = re.compile(r"^(F|ALAG|R|D)([1-9][0-9]*)$")


def _plain(value):
    """A numpy scalar as the Python value it holds (for messages)."""
    return value.item() if isinstance(value, np.generic) else value


@dataclass(frozen=True)
class Parameter:
    """A model parameter: name, default value, unit, bounds and a one-line description.

    Examples
    --------
    >>> Parameter("CL", 5.0, "L/h", lower=0.0, description="clearance")
    Parameter(name='CL', default=5.0, unit='L/h', lower=0.0, upper=inf, description='clearance')
    """

    name: str
    default: float
    unit: str
    lower: float = -math.inf
    upper: float = math.inf
    description: str = ""

    def _repr_html_(self) -> str:
        return fields_table(self)

    def __post_init__(self):
        if not (self.lower <= self.default <= self.upper):
            raise ParameterError(
                f"parameter {self.name}: default {self.default} outside its bounds [{self.lower}, {self.upper}]"
            )



# -- immutable values --------------------------------------------------------------------------------
def _read_only(value):
    """A class-level container as its read-only counterpart (dict -> MappingProxyType, list -> tuple,
    set -> frozenset, recursively); anything else unchanged (the same object)."""
    if isinstance(value, dict):
        return MappingProxyType({k: _read_only(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_read_only(v) for v in value)
    if isinstance(value, set):
        return frozenset(value)
    return value


def _own_copy(value):
    """A constructor argument as the object keeps it: iterators (generators, ``map``, ...) as tuples, so that
    :meth:`Immutable.replace` can pass them again; mutable containers copied, so that changing the caller's dict
    or list afterwards changes neither the object nor its copies."""
    if isinstance(value, Iterator):
        return tuple(value)
    if isinstance(value, (dict, list, set)):
        return copy.copy(value)
    return value


def _freezing(init):
    """``init`` wrapped so that the object is frozen when the outermost ``__init__`` returns (a subclass's
    ``__init__`` may set attributes before and after calling ``super().__init__``)."""

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        outermost = type(self).__init__ is __init__
        if outermost:
            args = tuple(_own_copy(a) for a in args)
            kwargs = {k: _own_copy(v) for k, v in kwargs.items()}
        init(self, *args, **kwargs)
        if outermost:
            object.__setattr__(self, "_constructor_arguments", (args, kwargs))
            object.__setattr__(self, "_frozen", True)

    __init__._freezes = True
    return __init__


def set_cached(obj, name: str, value):
    """Store a lazily computed, derived value on an immutable model or component and return it.

    The one sanctioned escape from the immutability of :class:`Immutable` objects, for caches only: values that
    follow from the constructor arguments and never change what the object computes (e.g. a compiled right-hand
    side). ``functools.cached_property`` works too (it writes the instance dictionary directly).
    """
    object.__setattr__(obj, name, value)
    return value


class Immutable:
    """Base of the objects that are values: models (:class:`Model`) and components
    (:class:`~pkpd.models.Component`).

    * Class-level containers are read-only: a subclass's ``reads = {"MDZ.CP": None}`` becomes a
      ``MappingProxyType`` (lists become tuples, sets frozensets) when the class is created, so no instance or
      subclass can change state shared by all instances.
    * Instances are frozen when construction ends: ``__init__`` (of the class and of its bases, through
      ``super().__init__``) sets attributes as usual; afterwards assigning or deleting an attribute raises
      :class:`dataclasses.FrozenInstanceError` (an ``AttributeError``). Build a modified copy with
      :meth:`replace`; store caches with :func:`set_cached`.

    A subclass needs nothing special: every ``__init__`` a subclass defines is wrapped when the class is created.
    """

    #: True once construction has ended (set on the instance, bypassing the guard)
    _frozen = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name, value in list(vars(cls).items()):
            if not (name.startswith("__") and name.endswith("__")):
                frozen = _read_only(value)
                if frozen is not value:
                    setattr(cls, name, frozen)
        init = vars(cls).get("__init__")
        if init is not None and not getattr(init, "_freezes", False):
            cls.__init__ = _freezing(init)

    def __init__(self):
        pass

    def __setattr__(self, name, value):
        if self._frozen:
            raise FrozenInstanceError(
                f"{type(self).__name__} is immutable: cannot assign to {name!r} after construction; "
                f"use .replace(...) to build a modified copy"
            )
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        if self._frozen:
            raise FrozenInstanceError(
                f"{type(self).__name__} is immutable: cannot delete {name!r}; use .replace(...) to build a modified copy"
            )
        object.__delattr__(self, name)

    def replace(self, **changes):
        """A new object built as this one was, with some constructor arguments changed; this one is unchanged.

        ``changes`` are arguments of the class's constructor (``drug`` for the library models; ``ke0``,
        ``source`` ... for components). Derived attributes are recomputed by the constructor, which validates
        the new arguments as it did the old.

        >>> from pkpd.models import OneCompartment
        >>> m = OneCompartment(drug="MDZ")
        >>> m.replace(drug="LZP").drug, m.drug
        ('LZP', 'MDZ')
        """
        cls = type(self)
        if "_constructor_arguments" not in vars(self):
            raise TypeError(f"{cls.__name__}.replace(): this object was not built by its constructor")
        args, kwargs = self._constructor_arguments
        signature = inspect.signature(cls.__init__)
        params = list(signature.parameters.values())
        first, params = params[0].name, params[1:]          # self
        bound = signature.bind(None, *args, **kwargs)
        named = {p.name: p for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
        var_keyword = next((p.name for p in params if p.kind is p.VAR_KEYWORD), None)
        for name, value in changes.items():
            if name in named and name != first:
                bound.arguments[name] = value
            elif var_keyword is not None and name not in named:
                bound.arguments[var_keyword] = {**bound.arguments.get(var_keyword, {}), name: value}
            else:
                takes = ", ".join(named) + (f", **{var_keyword}" if var_keyword else "") or "none"
                raise TypeError(f"{cls.__name__}.replace() got an unexpected argument {name!r}; it takes the "
                                f"constructor's arguments ({takes})")
        return cls(*bound.args[1:], **bound.kwargs)


Immutable.__init__ = _freezing(Immutable.__init__)


def no_compartment(cmt) -> bool:
    """Whether a dose's ``cmt`` names no compartment (None, NaN, ``""``, 0 or ``"0"``: NONMEM's CMT 0), so that the
    dose goes to the model's default dose compartment (:meth:`Model.dose_index`)."""
    if cmt is None:
        return True
    if isinstance(cmt, str):
        return cmt.strip() in ("", "0")
    return bool(cmt == 0 or cmt != cmt)  # 0, or NaN (not equal to itself)

class Model(Immutable):
    """Base class of every pkpd model.

    Subclasses set :attr:`states`, :attr:`parameters` and :attr:`outputs` and implement :meth:`rhs`
    and :meth:`output`. Linear models also implement :meth:`system_matrix`, which gives them an exact
    closed-form solution (:mod:`pkpd.engine._closed_form`).

    A model is an immutable value (:class:`Immutable`): ``__init__`` sets its attributes, after which assigning
    one raises :class:`dataclasses.FrozenInstanceError`; ``model.replace(drug="LZP")`` builds a modified copy.

    Attributes
    ----------
    states : tuple of str
        State (compartment) names; compartment number ``k`` of a NONMEM dataset is ``states[k-1]``.
    parameters : tuple of Parameter
        Declared parameters with units, defaults and bounds.
    outputs : tuple of str
        Names of the derived outputs (e.g. ``"CP"``).
    """

    states: tuple[str, ...] = ()
    parameters: tuple[Parameter, ...] = ()
    outputs: tuple[str, ...] = ()
    #: a linear model has ``dy/dt = A(p) @ y + inputs`` (see :meth:`system_matrix`)
    linear: bool = False
    #: the states :meth:`output` reads (None: all); simulations that report outputs only compute these
    output_states: tuple[str, ...] | None = None
    #: states are amounts that cannot be negative (compartmental models): the closed form's roundoff
    #: (about 1e-16 of the dose, e.g. -2e-15 mg just after an oral dose) is clipped at zero
    nonnegative: bool = False
    #: parameters scaled by a clearance multiplier when composed (e.g. ``("CL",)``)
    clearance_parameters: tuple[str, ...] = ()
    #: first-order absorption as (depot state, central state, rate constant), if any
    absorption: tuple[str, str, str] | None = None
    #: prefix under which the model is composed with others (:func:`pkpd.compose`)
    drug: str | None = None
    #: time scales far apart (e.g. a brain compartment equilibrating in minutes in a model run for days):
    #: ``solver="auto"`` then integrates with the implicit BDF path instead of the explicit engine
    stiff: bool = False
    #: the right-hand side as :class:`~pkpd.models.Equations` (library and model-language models), from which
    #: ``solver="compiled"`` generates a compiled kernel; None: the model has only its Python :meth:`rhs`
    equations = None

    def __init__(self, drug: str | None = None):
        if drug is not None:
            if not isinstance(drug, str) or not drug.isidentifier():
                raise ModelError(f"drug prefix must be a name like 'MDZ', not {drug!r}")
            self.drug = drug

    # -- equations -------------------------------------------------------------------------------
    def rhs(self, t: np.ndarray, y: np.ndarray, p: Mapping[str, np.ndarray], rate: np.ndarray) -> np.ndarray:
        """Time derivative of the states.

        Parameters
        ----------
        t : ndarray, shape (n,)
            Each subject's current time.
        y : ndarray, shape (n, n_states)
            States.
        p : mapping of str to ndarray of shape (n,)
            Parameter values per subject.
        rate : ndarray, shape (n, n_states)
            Zero-order input (infusions) into each state, amount per time.
        """
        if not self.linear:
            raise NotImplementedError(f"{type(self).__name__} must implement rhs()")
        return np.einsum("nij,nj->ni", self.system_matrix(p), y) + rate

    def output(self, y: np.ndarray, p: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Derived outputs (e.g. concentrations) from states ``y`` of shape ``(n, ..., n_states)``.

        Parameter arrays have shape ``(n,)`` and must be broadcast against the extra axes of ``y``.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement output()")

    def system_matrix(self, p: Mapping[str, np.ndarray]) -> np.ndarray:
        """For linear models: the matrix ``A`` of shape ``(n, n_states, n_states)`` with ``dy/dt = A y + input``."""
        raise ModelError(f"{type(self).__name__} is not linear: it has no system matrix")

    def initial_state(self, p: Mapping[str, np.ndarray]) -> np.ndarray:
        """States at the start and after a reset (EVID 3/4); zeros unless a model says otherwise."""
        n = len(next(iter(p.values()))) if p else 1
        return np.zeros((n, len(self.states)))

    # -- structure -------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return type(self).__name__

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(par.name for par in self.parameters)

    @property
    def defaults(self) -> dict[str, float]:
        """Default parameter values, by name."""
        return {par.name: par.default for par in self.parameters}

    def make_params(self, values=None, **kw):
        """lmfit parameters for fitting this model; see :func:`pkpd.estimation.make_params`."""
        from .params import make_params

        return make_params(self, values, **kw)

    def parameter(self, name: str) -> Parameter:
        for par in self.parameters:
            if par.name == name:
                return par
        raise ParameterError(f"{self.name} has no parameter {name!r}; it has {', '.join(self.parameter_names)}")

    def dose_index(self, cmt) -> int:
        """0-based index of the compartment a dose with this ``cmt`` goes to: a compartment as
        :meth:`state_index`, or None, 0 or ``"0"`` -- no compartment given -- the default dose compartment, the
        first (DEPOT for absorption models, CENTRAL for IV models), as NONMEM and mrgsolve dose.

        >>> from pkpd.models import OneCompartmentOral
        >>> OneCompartmentOral().dose_index(None), OneCompartmentOral().dose_index("CENTRAL")
        (0, 1)
        """
        return 0 if no_compartment(cmt) else self.state_index(cmt)

    def state_index(self, cmt) -> int:
        """0-based index of a compartment given by name (``"CENTRAL"``) or 1-based number (``2``)."""
        if isinstance(cmt, str):
            key = cmt.strip().upper()
            if key.lstrip("-").isdigit():
                return self.state_index(int(key))
            names = [s.upper() for s in self.states]
            if key in names:
                return names.index(key)
            raise ModelError(f"{self.name} has no compartment {cmt!r}; its compartments are {', '.join(self.states)}")
        number = int(cmt)
        if number != cmt or not 1 <= number <= len(self.states):
            raise ModelError(
                f"{self.name} has no compartment number {cmt!r}; expected 1..{len(self.states)} ({', '.join(self.states)})"
            )
        return number - 1

    # -- parameters ------------------------------------------------------------------------------
    def resolve_params(self, params=None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Validate parameter values and return ``(ids, {name: array})``, one entry per subject.

        ``params`` is ``None`` (defaults), a mapping (one subject; values may be scalars, or equal-length
        arrays for a batch) or a DataFrame with one row per subject and an ``ID`` column. Missing declared
        parameters take their default; unknown names raise unless they are dosing parameters (``F2``,
        ``ALAG1``, ``D1`` ...). Values outside declared bounds raise :class:`~pkpd.ParameterError`.
        """
        if params is None:
            params = {}
        if isinstance(params, pd.DataFrame):
            if "ID" not in params.columns:
                raise ParameterError("a parameter DataFrame needs an 'ID' column (one row per subject)")
            ids = params["ID"].to_numpy()
            if pd.Index(ids).has_duplicates:
                dup = pd.Index(ids)[pd.Index(ids).duplicated()][0]
                raise ParameterError(f"parameter DataFrame: ID {_plain(dup)!r} appears on more than one row")
            given = {c: params[c].to_numpy() for c in params.columns if c != "ID"}
        elif isinstance(params, Mapping):
            given = {k: np.atleast_1d(np.asarray(v)) for k, v in params.items()}
            sizes = {len(v) for v in given.values()} - {1}
            if len(sizes) > 1:
                raise ParameterError(f"parameter arrays have different lengths {sorted(sizes)}")
            n = sizes.pop() if sizes else 1
            ids = np.arange(1, n + 1)
        else:
            raise ParameterError(
                f"params must be a mapping or a DataFrame with an ID column, not {type(params).__name__}"
            )
        n = len(ids)
        declared = set(self.parameter_names)
        resolved: dict[str, np.ndarray] = {}
        for key, value in given.items():
            if key not in declared and not DOSING_PARAMETER.match(key):
                raise ParameterError(
                    f"{self.name} has no parameter {key!r}; its parameters are {', '.join(self.parameter_names)}"
                )
            try:
                arr = np.asarray(value, dtype=float)
            except (TypeError, ValueError):
                raise ParameterError(f"parameter {key}: values must be numbers, got {value!r}") from None
            arr = np.broadcast_to(arr, (n,)).copy() if arr.size == 1 else arr.reshape(n)
            bad = ~np.isfinite(arr)
            if bad.any():
                i = int(np.argmax(bad))
                raise ParameterError(f"parameter {key} for ID {_plain(ids[i])!r}: value {float(arr[i])!r} is not finite")
            resolved[key] = arr
        for par in self.parameters:
            arr = resolved.setdefault(par.name, np.full(n, float(par.default)))
            out = (arr < par.lower) | (arr > par.upper)
            if out.any():
                i = int(np.argmax(out))
                raise ParameterError(
                    f"parameter {par.name} for ID {_plain(ids[i])!r}: value {float(arr[i])!r} outside [{par.lower}, {par.upper}] ({par.unit})"
                )
        for key, arr in resolved.items():
            m = DOSING_PARAMETER.match(key)
            if m and key not in declared:
                kind, number = m.groups()
                if int(number) > len(self.states):
                    raise ParameterError(
                        f"dosing parameter {key} refers to compartment {number}, but {self.name} has {len(self.states)}"
                    )
                if kind in ("R", "D") and (arr <= 0).any():
                    raise ParameterError(f"dosing parameter {key} must be > 0")
                if kind == "ALAG" and (arr < 0).any():
                    raise ParameterError(f"dosing parameter {key} must be >= 0")
                if kind == "F" and (arr < 0).any():
                    raise ParameterError(f"dosing parameter {key} must be >= 0")
        return ids, resolved

    def dosing_matrices(self, p: Mapping[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
        """Per-subject, per-compartment dosing parameters ``F``, ``ALAG``, ``R``, ``D`` as ``(n, n_states)`` arrays.

        ``R`` and ``D`` are NaN where the model does not define them.
        """
        S = len(self.states)
        mats = {
            "F": np.ones((n, S)),
            "ALAG": np.zeros((n, S)),
            "R": np.full((n, S), np.nan),
            "D": np.full((n, S), np.nan),
        }
        for key, arr in p.items():
            m = DOSING_PARAMETER.match(key)
            if m:
                kind, number = m.groups()
                k = int(number) - 1
                if k < S:
                    mats[kind][:, k] = arr
        return mats

    # -- simulation ------------------------------------------------------------------------------
    def simulate(self, regimen, times, params=None, method: str = "auto", **options):
        """Simulate ``regimen`` and report states and outputs at ``times``.

        Parameters
        ----------
        regimen : Bolus, Infusion, Regimen or DataFrame
            The doses (a NONMEM event table is accepted too).
        times : array_like
            Output times (h). An output at the time of a dose reports the value just after it.
        params : mapping or DataFrame, optional
            One subject's parameters (mapping) or one row per subject with an ``ID`` column.
        method : {"auto", "analytic", "ode"}
            ``"auto"`` uses the closed form when the model is linear, the ODE engine otherwise.
        **options
            ``states`` (bool, default True: report the states too), ``rtol`` and ``atol`` (ODE tolerances,
            default 1e-6 and 1e-9), ``solver`` (``"auto"``: ``"lsoda"`` for models marked stiff, else
            ``"dp5"``, the explicit per-subject engine; from 30 doses, compiled: ``"rodas"`` and ``"compiled"``;
            or one named as in :func:`pkpd.simulate`) and ``chunk_size`` (subjects solved together).

        Returns
        -------
        SimulationResult
            One row per subject and time, in the order of ``params`` and ``times``.

        Examples
        --------
        >>> from pkpd import Infusion
        >>> from pkpd.models import OneCompartment
        >>> r = OneCompartment().simulate(Infusion(100, duration=2), [1, 2, 4], {"CL": 5, "V": 50})
        >>> r["CP"].round(4)          # 50 mg/h for 2 h: 50/5 (1 - exp(-0.1 t)), then first-order decline
        array([0.9516, 1.8127, 1.4841])
        """
        from ..engine.simulation import simulate_regimen

        return simulate_regimen(self, regimen, times, params, method=method, **options)

    def __repr__(self) -> str:
        pars = ", ".join(f"{p.name}={p.default:g}" for p in self.parameters)
        drug = f"drug={self.drug!r}, " if self.drug else ""
        return f"{self.name}({drug}{pars})"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{p.name}</td><td>{p.default:g}</td><td>{p.unit}</td><td>[{p.lower:g}, {p.upper:g}]</td>"
            f"<td>{p.description}</td></tr>"
            for p in self.parameters
        )
        return (
            f"<b>{self.name}</b> — states: {', '.join(self.states)}; outputs: {', '.join(self.outputs)}"
            f"<table><tr><th>parameter</th><th>default</th><th>unit</th><th>bounds</th><th>description</th></tr>{rows}</table>"
        )
