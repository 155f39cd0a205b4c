"""Composition: building a model from components that provide and read named quantities.

A :class:`Component` declares its states, parameters, the quantities it *provides* and the quantities
it *reads* (by qualified name, ``"PREFIX.NAME"``). :func:`compose` wires components into one
:class:`ComposedModel` with one right-hand side that runs through the batched engine like any library
model. States and parameters of the composed model are qualified by their component's prefix
(``MDZ.CENTRAL``, ``CYP3A4.KDEG_LIVER``); doses address compartments by those names.

Any library :class:`~pkpd.models.Model` given a ``drug`` prefix (``TwoCompartment(drug="MDZ")``) is a
component too: it provides its outputs (``MDZ.CP``) and the unbound concentration ``MDZ.CU = FU * CP``
and reads ``MDZ.CL_MULT`` (a multiplier of its clearance, e.g. from enzyme induction or genotype) and,
for oral models, ``MDZ.FA_MULT`` (a multiplier of the absorbed fraction reaching the central
compartment, e.g. gut-wall extraction) -- both 1 when nothing provides them.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Iterable

import numpy as np

from .._internal.html import rows_table
from ..errors import ModelError
from ._base import DOSING_PARAMETER, Immutable, Model, Parameter, no_compartment

__all__ = ["Component", "ComposedModel", "compose"]

REQUIRED = None  # marker: a read quantity without default must be provided by some component


class Component(Immutable):
    """A building block of a composed model.

    Subclasses set the class attributes and implement :meth:`quantities` and :meth:`derivatives`.
    A component is an immutable value (:class:`~pkpd.models._base.Immutable`): class-level dicts and lists
    are made read-only when the class is created, ``__init__`` sets the instance's attributes, after which
    assigning one raises :class:`dataclasses.FrozenInstanceError`; :meth:`replace` builds a modified copy.
    States and parameters are named locally (``"LIVER"``); the composed model qualifies them with the
    component's ``prefix`` (``"CYP3A4.LIVER"``). Quantities are exchanged by qualified name.

    Attributes
    ----------
    prefix : str
        Name of the component in the composed model.
    states : tuple of str
        Local state names.
    parameters : tuple of Parameter
        Local parameters.
    provides : tuple of str
        Local names of the quantities :meth:`quantities` returns (qualified with ``prefix``).
    reads : mapping of str to float or None
        Qualified names of the quantities read, with the value used when no component provides them
        (``None``: required).
    quantity_reads : tuple of str
        The subset of ``reads`` that :meth:`quantities` itself needs (orders the evaluation).
    outputs : tuple of str
        Local names of provided quantities reported as outputs of the composed model.
    dosing : mapping of str to mapping of str to str
        Local dosing parameters by kind and state, e.g. ``{"F": {"DEPOT": "F1"}, "ALAG": {"DEPOT": "ALAG1"}}``.
    """

    prefix: str = ""
    states: tuple[str, ...] = ()
    parameters: tuple[Parameter, ...] = ()
    provides: tuple[str, ...] = ()
    reads: Mapping[str, float | None] = MappingProxyType({})     # read-only: shared by every subclass
    quantity_reads: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    dosing: Mapping[str, Mapping[str, str]] = MappingProxyType({})

    def quantities(self, y: dict, p: dict, q: dict) -> dict:
        """Provided quantities from local states ``y`` and parameters ``p`` (arrays broadcasting over
        subjects, and over time for outputs) and the quantities ``q`` read so far."""
        return {}

    def derivatives(self, t, y: dict, p: dict, q: dict, rate: dict) -> dict:
        """Time derivatives of the local states; ``rate`` holds the zero-order inputs into each state."""
        return {s: rate[s] for s in self.states}

    def initial_state(self, p: dict) -> dict:
        """Local states at the start and after a reset (default zero)."""
        return {}

    def qualified(self, name: str) -> str:
        """``PREFIX.name``; a name that already holds a '.' is taken as qualified (``"MDZ.CL_MULT"``)."""
        return name if "." in name else f"{self.prefix}.{name}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(prefix={self.prefix!r})"

    def _repr_html_(self) -> str:
        title = (f"{type(self).__name__} {self.prefix}: states {', '.join(self.states) or 'none'}; "
                 f"provides {', '.join(self.provides) or 'nothing'}")
        rows = [(p.name, p.default, p.unit, f"[{p.lower:g}, {p.upper:g}]", p.description) for p in self.parameters]
        return rows_table(title, ("parameter", "default", "unit", "bounds", "description"), rows)


class ModelComponent(Component):
    """A library :class:`~pkpd.models.Model` used as a component under a drug prefix."""

    def __init__(self, model: Model, prefix: str, track_elimination: bool = False):
        self.model = model
        self.prefix = prefix
        self._n = len(model.states)
        self.track = track_elimination
        # with mass balance, a last state accumulates the amount eliminated (incl. first-pass loss)
        self.states = tuple(model.states) + (("ELIMINATED",) if track_elimination else ())
        fu = Parameter("FU", 1.0, "1", 0.0, 1.0, "unbound fraction in plasma")
        names = set(model.parameter_names)
        self.parameters = tuple(model.parameters) + (() if "FU" in names else (fu,))
        self.provides = tuple(model.outputs) + ("CU",)
        self.outputs = tuple(model.outputs) + ("CU",)
        self.reads = {f"{prefix}.CL_MULT": 1.0, f"{prefix}.OUTFLOW": 0.0}
        self._absorption = getattr(model, "absorption", None)
        if self._absorption:
            self.reads[f"{prefix}.FA_MULT"] = 1.0
        self._cl = tuple(getattr(model, "clearance_parameters", ()))
        self._central = self.states.index("CENTRAL") if "CENTRAL" in self.states else len(self.states) - 1
        self._depot = self.states.index(self._absorption[0]) if self._absorption else None
        # the model's own dosing parameters F1, ALAG2, ... act on its own compartments
        dosing: dict = {}
        for par in model.parameters:
            m = DOSING_PARAMETER.match(par.name)
            if m:
                kind, number = m.groups()
                dosing.setdefault(kind, {})[model.states[int(number) - 1]] = par.name
        self.dosing = dosing

    # The composed model calls the *_array methods with the component's contiguous slice of the state
    # array (no per-state dictionaries); the dict methods serve callers of the generic interface.
    def quantities_array(self, y, p, q):
        out = self.model.output(y[..., : self._n], p)
        # unbound concentration of the parent in the central compartment: CP where the model has it (a prodrug's
        # first output is the prodrug's concentration, CPRO)
        out["CU"] = p["FU"] * out["CP" if "CP" in out else self.model.outputs[0]]
        return out

    def derivatives_array(self, t, y, p, q, rate):
        if self._cl:
            mult = q[f"{self.prefix}.CL_MULT"]
            p = dict(p)
            for name in self._cl:
                p[name] = p[name] * mult
        ym, rm = y[:, : self._n], rate[:, : self._n]
        d = self.model.rhs(t, ym, p, rm)
        if self.track:  # what leaves the model's states other than by transfer is eliminated
            eliminated = rm.sum(axis=1) - d.sum(axis=1)
        d[:, self._central] -= q[f"{self.prefix}.OUTFLOW"]  # e.g. net uptake into the brain
        if self._absorption:
            depot, central, ka = self._absorption
            # first-pass loss of absorbed drug (gut wall and liver)
            lost = (1.0 - q[f"{self.prefix}.FA_MULT"]) * p[ka] * ym[:, self._depot]
            d[:, self._central] -= lost
            if self.track:
                eliminated = eliminated + lost
        if self.track:
            return np.column_stack([d, eliminated + rate[:, self._n]])
        return d

    def quantities(self, y, p, q):
        return self.quantities_array(np.stack([y[s] for s in self.states], axis=-1), p, q)

    def derivatives(self, t, y, p, q, rate):
        arr = np.stack([y[s] for s in self.states], axis=-1)
        r = np.stack([rate[s] for s in self.states], axis=-1)
        d = self.derivatives_array(t, arr, p, q, r)
        return {s: d[:, i] for i, s in enumerate(self.states)}

    def initial_state(self, p):
        arr = self.model.initial_state(p)
        return {s: arr[:, i] for i, s in enumerate(self.model.states)}


def _as_component(item, mass_balance: bool = False) -> Component:
    if isinstance(item, ModelComponent):
        return ModelComponent(item.model, item.prefix, mass_balance) if mass_balance else item
    if isinstance(item, Component):
        return item
    if isinstance(item, Model):
        prefix = getattr(item, "drug", None)
        if not prefix:
            raise ModelError(f"{item.name} needs a drug prefix to be composed, e.g. {item.name}(drug='MDZ')")
        return ModelComponent(item, prefix, mass_balance)
    raise ModelError(f"compose() takes components or models with a drug prefix, not {type(item).__name__}")


def _owners(comps, attribute, problem):
    """Qualified name -> component for the names listed in each component's ``attribute``; a name listed
    twice raises ``ModelError(f"{problem} {name!r} ...")``."""
    owner: dict[str, Component] = {}
    for c in comps:
        for local in getattr(c, attribute):
            name = c.qualified(local)
            if name in owner:
                raise ModelError(f"{problem} {name!r} (from {owner[name]!r} and {c!r})")
            owner[name] = c
    return owner


class ComposedModel(Model):
    """One model made of components; see :func:`compose`."""

    def __init__(self, components: Iterable, mass_balance: bool = False):
        comps = [_as_component(c, mass_balance) for c in components]
        if not comps:
            raise ModelError("compose() needs at least one component")
        prefixes = [c.prefix for c in comps]
        for c in comps:
            if not c.prefix or "." in c.prefix:
                raise ModelError(f"{c!r}: a component prefix must be a non-empty name without '.'")
        _owners(comps, "states", "duplicate state")
        provided = _owners(comps, "provides", "quantity provided twice:")
        defaults: dict[str, float] = {}
        for c in comps:
            for name, default in c.reads.items():
                if name not in provided:
                    if default is REQUIRED:
                        known = ", ".join(sorted(provided)) or "none"
                        raise ModelError(
                            f"{c!r} reads {name!r}, which no component provides (provided quantities: {known})"
                        )
                    defaults[name] = float(default)
        par_seen: set[str] = set()
        parameters = []
        for c in comps:
            for par in c.parameters:
                qname = c.qualified(par.name)
                if qname in par_seen:
                    raise ModelError(f"duplicate parameter {qname!r}")
                par_seen.add(qname)
                parameters.append(Parameter(qname, par.default, par.unit, par.lower, par.upper, par.description))

        self.components = tuple(comps)
        self.stiff = any(getattr(c, "stiff", False) for c in comps)
        self.states = tuple(name for c in comps for name in map(c.qualified, c.states))
        self.parameters = tuple(parameters)
        self.outputs = tuple(c.qualified(o) for c in comps for o in c.outputs)
        self._defaults = defaults
        self._order = self._evaluation_order(comps, provided)
        index = {name: i for i, name in enumerate(self.states)}
        self._slots = [[index[c.qualified(s)] for s in c.states] for c in comps]
        starts = np.cumsum([0] + [len(c.states) for c in comps])
        self._ranges = [slice(int(a), int(b)) for a, b in zip(starts[:-1], starts[1:])]  # states are contiguous
        self._order_idx = [comps.index(c) for c in self._order]
        self._fast = [hasattr(c, "derivatives_array") for c in comps]
        self._pnames = [[(par.name, c.qualified(par.name)) for par in c.parameters] for c in comps]
        self._dosing_slots = {
            kind: [(index[c.qualified(state)], c.qualified(local)) for c in comps
                   for state, local in c.dosing.get(kind, {}).items()]
            for kind in ("F", "ALAG", "R", "D")
        }
        if len(set(prefixes)) != len(prefixes):
            dup = next(p for p in prefixes if prefixes.count(p) > 1)
            raise ModelError(f"two components share the prefix {dup!r}")

    @staticmethod
    def _evaluation_order(comps, provided):
        """Components sorted so that each one's quantity_reads are provided earlier."""
        order, done, pending = [], set(), list(comps)
        while pending:
            progress = False
            for c in list(pending):
                needs = {provided[n] for n in c.quantity_reads if n in provided and provided[n] is not c}
                if needs <= done:
                    order.append(c)
                    done.add(c)
                    pending.remove(c)
                    progress = True
            if not progress:
                raise ModelError(f"circular quantity dependencies among {pending!r}")
        return order

    @property
    def name(self) -> str:
        return "compose(" + ", ".join(c.prefix for c in self.components) + ")"

    def dose_index(self, cmt) -> int:
        """As :meth:`Model.dose_index`, except that a composed model has no default dose compartment (its first
        state is whatever component comes first, e.g. the seizure's activity): a dose must name one."""
        if no_compartment(cmt):
            depots = [s for s in self.states if s.endswith((".DEPOT", ".CENTRAL"))]
            raise ModelError(f"{self.name} has no default dose compartment; give the dose a cmt, one of "
                             f"{', '.join(depots) or ', '.join(self.states)}")
        return self.state_index(cmt)

    # -- evaluation --------------------------------------------------------------------------------
    def _local(self, i, y, p):
        ps = {local: p[q] for local, q in self._pnames[i]}
        if self._fast[i]:
            return y[..., self._ranges[i]], ps
        ys = {s: y[..., k] for s, k in zip(self.components[i].states, self._slots[i])}
        return ys, ps

    def _quantities(self, y, p):
        q = dict(self._defaults)  # unprovided reads: plain floats, broadcast by the arithmetic
        for i in self._order_idx:
            c = self.components[i]
            ys, ps = self._local(i, y, p)
            values = c.quantities_array(ys, ps, q) if self._fast[i] else c.quantities(ys, ps, q)
            for local, value in values.items():
                q[c.qualified(local)] = value
        return q

    def rhs(self, t, y, p, rate):
        q = self._quantities(y, p)
        out = np.empty_like(y)
        for i, c in enumerate(self.components):
            ys, ps = self._local(i, y, p)
            if self._fast[i]:
                out[:, self._ranges[i]] = c.derivatives_array(t, ys, ps, q, rate[:, self._ranges[i]])
                continue
            rs = {s: rate[:, k] for s, k in zip(c.states, self._slots[i])}
            d = c.derivatives(t, ys, ps, q, rs)
            for s, k in zip(c.states, self._slots[i]):
                out[:, k] = d[s]
        return out

    def output(self, y, p):
        pb = {k: np.asarray(v).reshape((-1,) + (1,) * (y.ndim - 2)) for k, v in p.items()}
        q = self._quantities(y, pb)
        return {name: np.broadcast_to(q[name], y.shape[:-1]) for name in self.outputs}

    def initial_state(self, p):
        n = len(next(iter(p.values()))) if p else 1
        x0 = np.zeros((n, len(self.states)))
        for i, c in enumerate(self.components):
            ps = {local: p[q] for local, q in self._pnames[i]}
            for s, value in c.initial_state(ps).items():
                x0[:, self._slots[i][c.states.index(s)]] = value
        return x0

    def dosing_matrices(self, p, n):
        mats = super().dosing_matrices(p, n)
        for kind, slots in self._dosing_slots.items():
            for k, qname in slots:
                if qname in p:
                    mats[kind][:, k] = p[qname]
        return mats


def compose(*components, mass_balance: bool = False) -> ComposedModel:
    """Wire components (and library models with a drug prefix) into one model.

    Parameters
    ----------
    *components : Component or Model
        Building blocks. Each quantity read must be provided by exactly one component, unless the
        reader declares a default (e.g. a clearance multiplier of 1).
    mass_balance : bool
        Give every drug an extra state ``<drug>.ELIMINATED`` accumulating the amount eliminated
        (clearance and first-pass loss), so that dosed = eliminated + remaining can be checked.

    Returns
    -------
    ComposedModel
        A model with qualified states, parameters and outputs that simulates like any other.

    Raises
    ------
    ModelError
        On duplicate states, parameters, prefixes or provided quantities, a required quantity nobody
        provides, or circular quantity dependencies.

    Examples
    --------
    Two drugs in one model, each under its own prefix:

    >>> import pkpd
    >>> from pkpd.models import OneCompartment, OneCompartmentOral
    >>> model = pkpd.compose(OneCompartment(drug="LZP"), OneCompartmentOral(drug="CBZ"))
    >>> model.states
    ('LZP.CENTRAL', 'CBZ.DEPOT', 'CBZ.CENTRAL')
    >>> dose = pkpd.Bolus(4, cmt="LZP.CENTRAL") + pkpd.Bolus(400, cmt="CBZ.DEPOT")
    >>> r = model.simulate(dose, [1.0], {"LZP.CL": 4.4, "LZP.V": 91, "CBZ.CL": 1.75, "CBZ.V": 98, "CBZ.KA": 0.5})
    >>> round(float(r["LZP.CP"][0]), 5)      # 4/91 * exp(-4.4/91)
    0.04188
    """
    return ComposedModel(components, mass_balance=mass_balance)
