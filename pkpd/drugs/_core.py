"""The :class:`Drug` value, the :class:`Metabolite` component and helpers building enzyme components."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from ..dosing import Bolus, Infusion
from ..errors import ModelError
from ..models import Component, Model, Parameter
from ..physiology import BrainPgp, EnzymeTurnover, Inactivation, Induction, PgpInhibition, WellStirredLiver

__all__ = ["Drug", "Metabolite", "enzyme", "cyp3a4"]

#: Routes whose doses go into the model's ``DEPOT`` (first-order absorption, ``F1``, ``ALAG1``, ``KA``).
DEPOT_ROUTES = ("oral", "im", "intranasal", "buccal", "rectal")
#: Depot routes absorbed through the gut wall and the liver (first pass); a route's ``first_pass`` entry
#: overrides this.
FIRST_PASS_ROUTES = ("oral",)


def _frozen(mapping: Mapping | None) -> Mapping:
    return MappingProxyType(dict(mapping or {}))


class Metabolite(Component):
    """A metabolite formed from a parent drug in the same composed model (one compartment).

    ::

        dA_m/dt = CLF * CL_MULT_parent * CP_parent - CL * CL_MULT_m * A_m / V - OUTFLOW_m

    Parameters
    ----------
    prefix : str
        The metabolite's prefix (``"NCLB"``); states, parameters and outputs are qualified with it.
    parent : str
        Prefix of the parent drug (reads ``<parent>.CP`` and ``<parent>.CL_MULT``).
    clf : float
        Formation clearance (L/h), in metabolite mass per parent mass: fraction of the parent's
        clearance forming the metabolite x parent CL x molecular-weight ratio. It follows the parent's
        clearance multiplier (induction, inhibition, genotype of the parent's enzymes).
    cl, v : float
        Metabolite clearance (L/h) and volume (L). ``CL`` is multiplied by ``<prefix>.CL_MULT``, which a
        :class:`~pkpd.physiology.WellStirredLiver` for the metabolite provides (e.g. CYP2C19 genotype).
    fu : float
        Unbound fraction in plasma (``CU = FU * CP``).

    Notes
    -----
    Presystemic (first-pass) formation after oral parent doses is not represented: drug lost to
    first-pass extraction (``F1 < 1``, ``FA_MULT``) leaves the system, so metabolite exposure after
    oral doses of high-extraction parents (midazolam, ketamine) is under-predicted.
    """

    states = ("CENTRAL",)
    provides = ("CP", "CU")
    outputs = ("CP", "CU")

    def __init__(self, prefix: str, parent: str, *, clf: float, cl: float, v: float, fu: float = 1.0):
        if not (prefix.isidentifier() and parent.isidentifier()):
            raise ModelError(f"Metabolite needs name-like prefixes, got {prefix!r} and {parent!r}")
        if not (clf >= 0 and cl > 0 and v > 0 and 0 < fu <= 1):
            raise ModelError(f"Metabolite {prefix}: need clf >= 0, cl > 0, v > 0, 0 < fu <= 1 "
                             f"(got clf={clf}, cl={cl}, v={v}, fu={fu})")
        self.prefix = prefix
        self.parent = parent
        self.parameters = (
            Parameter("CLF", clf, "L/h", 0.0, math.inf, f"formation clearance of {prefix} from {parent}"),
            Parameter("CL", cl, "L/h", 0.0, math.inf, f"clearance of {prefix}"),
            Parameter("V", v, "L", 1e-12, math.inf, f"volume of distribution of {prefix}"),
            Parameter("FU", fu, "1", 0.0, 1.0, f"unbound fraction of {prefix} in plasma"),
        )
        self.reads = {f"{parent}.CP": None, f"{parent}.CL_MULT": 1.0, f"{prefix}.CL_MULT": 1.0,
                      f"{prefix}.OUTFLOW": 0.0}

    def quantities(self, y, p, q):
        cp = y["CENTRAL"] / p["V"]
        return {"CP": cp, "CU": p["FU"] * cp}

    def derivatives(self, t, y, p, q, rate):
        formed = p["CLF"] * q[f"{self.parent}.CL_MULT"] * q[f"{self.parent}.CP"]
        cl = p["CL"] * q[f"{self.prefix}.CL_MULT"]
        return {"CENTRAL": rate["CENTRAL"] + formed - cl * y["CENTRAL"] / p["V"] - q[f"{self.prefix}.OUTFLOW"]}


@dataclass(frozen=True)
class Drug:
    """A documented parameter set of one drug, ready to compose (:func:`pkpd.compose`).

    Attributes
    ----------
    name : str
        Drug name (``"midazolam"``).
    prefix : str
        Prefix of its states, parameters and outputs in a composed model (``"MDZ"``).
    model : Model
        A library model with ``drug=prefix``.
    params : mapping
        *Qualified* parameter values for the components (``{"MDZ.CL": ..., "MDZ_LIVER.FG": ...}``), for a
        70 kg adult unless the constructor was given another ``weight``. Pass them (merged with the
        other drugs') to ``model.simulate``.
    fm, fm_gut : mapping
        Fraction of hepatic / gut-wall intrinsic clearance by each enzyme.
    liver : WellStirredLiver or None
        Turns enzyme activities (``<ENZYME>.LIVER_ACT``, ``ACT_<ENZYME>`` genotype parameters) into
        ``<prefix>.CL_MULT`` and ``<prefix>.FA_MULT``; None when clearance is not modelled as enzyme-bound.
    routes : mapping
        Route -> ``{"cmt": ..., "F": ..., "ALAG": ..., "KA": ...}``. ``"iv"`` doses go into the central
        compartment; depot routes (oral, IM, intranasal, buccal, rectal) into ``DEPOT``, whose ``F1``,
        ``ALAG1`` and ``KA`` are set by :meth:`with_route`.
    route : str or None
        The depot route ``params`` are currently set for (``F1``/``ALAG1``/``KA``).
    doses : mapping
        Named clinical doses (mg, or mg phenytoin equivalents for fosphenytoin).
    sources : str
        Where every value comes from, tagged [S] source read, [M] literature knowledge not checked,
        [C] computed or calibrated (full references in docs/references.md).
    mw : float
        Molecular weight, g/mol.
    metabolite, metabolite_liver : Component or None
        Metabolite formed in the model and its liver (genotype / enzyme effects on its clearance).
    induction, inactivation : mapping
        Enzyme -> :class:`~pkpd.physiology.Induction` / :class:`~pkpd.physiology.Inactivation` this drug
        exerts (used by :func:`enzyme` and :func:`cyp3a4`).
    gut_induction_scale : float
        Gut Emax relative to liver Emax for this inducer.
    pgp_inhibition : PgpInhibition or None
        Inhibition of P-gp by this drug's total plasma concentration.
    brain : BrainPgp or None
        Brain distribution behind P-gp (P-gp probe).

    Notes
    -----
    Route-specific bioavailability: a model has a single ``DEPOT``, whose ``F1`` (and ``ALAG1``, ``KA``)
    are parameters, so ``params`` hold the values of one depot route at a time (:attr:`route`, oral by
    default). ``drug.with_route("im")`` returns a new Drug whose params carry the IM values;
    :meth:`dose` refuses a depot route other than :attr:`route`, so an IM dose is never given with the
    oral F. For drugs with a ``liver``, ``F1`` is the *baseline* availability and ``FA_MULT`` scales it
    with the first-pass gut/liver extraction of the moment -- for oral doses only: :meth:`with_route`
    sets the liver's ``FIRST_PASS`` to 1 for oral and 0 for parenteral depots (IM, intranasal, buccal,
    rectal), so an IM dose's availability does not change under induction or inhibition.
    """

    def __hash__(self) -> int:
        # usable as a mapping key (cyp3a4(inhibitors={clarithromycin: Ki})): its fields hold read-only mappings,
        # which do not hash; equal drugs share name, prefix and route, so the hash agrees with ==
        return hash((type(self), self.name, self.prefix, self.route))

    name: str
    prefix: str
    model: Model
    params: Mapping[str, float]
    fm: Mapping[str, float] = field(default_factory=dict)
    fm_gut: Mapping[str, float] = field(default_factory=dict)
    liver: WellStirredLiver | None = None
    routes: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    route: str | None = None
    doses: Mapping[str, float] = field(default_factory=dict)
    sources: str = ""
    mw: float = float("nan")
    metabolite: Metabolite | None = None
    metabolite_liver: WellStirredLiver | None = None
    induction: Mapping[str, Induction] = field(default_factory=dict)
    inactivation: Mapping[str, Inactivation] = field(default_factory=dict)
    gut_induction_scale: float = 1.0
    pgp_inhibition: PgpInhibition | None = None
    brain: BrainPgp | None = None

    def __post_init__(self):
        for name in ("params", "fm", "fm_gut", "doses", "induction", "inactivation"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))
        object.__setattr__(self, "routes", _frozen({k: _frozen(v) for k, v in self.routes.items()}))
        if getattr(self.model, "drug", None) != self.prefix:
            raise ModelError(f"{self.name}: the model's drug prefix must be {self.prefix!r}")
        if self.route is not None and self.route not in self.routes:
            raise ModelError(f"{self.name}: route {self.route!r} is not one of {sorted(self.routes)}")

    # -- composition -------------------------------------------------------------------------------
    def components(self) -> tuple:
        """The model, its liver, metabolite (+ its liver) and brain component, for :func:`pkpd.compose`.

        Examples
        --------
        >>> import pkpd
        >>> from pkpd import drugs
        >>> mdz = drugs.midazolam()
        >>> [getattr(c, "prefix", None) or c.drug for c in mdz.components()]
        ['MDZ', 'MDZ_LIVER', 'OHMDZ']
        """
        items = [self.model, self.liver, self.metabolite, self.metabolite_liver, self.brain]
        return tuple(c for c in items if c is not None)

    # -- dosing ------------------------------------------------------------------------------------
    def dose(self, amount: float, route: str = "iv", time: float = 0.0, **kw):
        """A dose of ``amount`` mg by ``route`` into the right qualified compartment.

        ``kw`` are :class:`~pkpd.Bolus` / :class:`~pkpd.Infusion` fields (``ii``, ``addl``, ``ss``;
        ``duration`` or ``rate`` make an infusion). Bioavailability, lag and absorption rate of depot
        routes are the parameters ``<prefix>.F1``, ``ALAG1``, ``KA`` in :attr:`params`, which must be set
        for this route (:meth:`with_route`).

        Examples
        --------
        >>> from pkpd import drugs
        >>> drugs.midazolam().dose(10, "iv", duration=5 / 60).cmt
        'MDZ.CENTRAL'
        >>> drugs.midazolam().with_route("im").dose(10, "im").cmt
        'MDZ.DEPOT'
        """
        if route not in self.routes:
            raise ModelError(f"{self.name}: no route {route!r}; known routes: {', '.join(self.routes)}")
        if route in DEPOT_ROUTES and route != self.route:
            raise ModelError(
                f"{self.name}: params are set for the {self.route!r} route; for a {route!r} dose use "
                f"drug.with_route({route!r}) (its F1/ALAG1/KA differ)"
            )
        cmt = self.routes[route]["cmt"]
        if "duration" in kw or "rate" in kw:
            return Infusion(amount, time=time, cmt=cmt, **kw)
        return Bolus(amount, time=time, cmt=cmt, **kw)

    def with_route(self, route: str) -> "Drug":
        """A new Drug whose ``F1``, ``ALAG1`` and ``KA`` are those of the depot route ``route``."""
        if route not in self.routes:
            raise ModelError(f"{self.name}: no route {route!r}; known routes: {', '.join(self.routes)}")
        if route not in DEPOT_ROUTES:
            return self
        info = self.routes[route]
        changes = {f"{self.prefix}.F1": info["F"], f"{self.prefix}.ALAG1": info.get("ALAG", 0.0)}
        if "KA" in info:
            changes[f"{self.prefix}.KA"] = info["KA"]
        if self.liver is not None:
            first_pass = info.get("first_pass", route in FIRST_PASS_ROUTES)
            changes[f"{self.liver.prefix}.FIRST_PASS"] = 1.0 if first_pass else 0.0
        return replace(self, params={**self.params, **changes}, route=route)

    # -- parameters --------------------------------------------------------------------------------
    def with_params(self, changes: Mapping[str, float] | None = None, **local: float) -> "Drug":
        """A new Drug with some parameters changed.

        ``changes`` holds qualified names (``{"MDZ_LIVER.ACT_CYP3A4": 0.5}``); keyword names are local to
        the drug's model (``CL=20`` means ``MDZ.CL``). Changing the parent ``CL`` rescales a metabolite's
        formation clearance ``CLF`` in proportion (unless it is given too).

        Examples
        --------
        >>> from pkpd import drugs
        >>> lzp = drugs.lorazepam().with_params(CL=5.0)
        >>> lzp.params["LZP.CL"]
        5.0
        """
        new = dict(changes or {})
        new.update({f"{self.prefix}.{k}": v for k, v in local.items()})
        known = set(self.params)
        unknown = sorted(set(new) - known)
        if unknown:
            raise ModelError(f"{self.name}: unknown parameters {unknown}; known: {sorted(known)}")
        cl = f"{self.prefix}.CL"
        if self.metabolite is not None and cl in new:
            clf = f"{self.metabolite.prefix}.CLF"
            if clf not in new:
                new[clf] = self.params[clf] * new[cl] / self.params[cl]
        return replace(self, params={**self.params, **new})

    def with_activity(self, enzyme_name: str, activity: float) -> "Drug":
        """Set the static activity multiplier ``ACT_<enzyme>`` (e.g. genotype) in the drug's livers."""
        keys = [k for k in self.params if k.endswith(f"_LIVER.ACT_{enzyme_name}")]
        if not keys:
            raise ModelError(f"{self.name}: no liver uses {enzyme_name} (fm {dict(self.fm)})")
        return self.with_params({k: float(activity) for k in keys})

    def with_genotype(self, gene: str, diplotype: str) -> "Drug":
        """Set ``ACT_<gene>`` from :func:`pkpd.physiology.genetics.phenotype` (``activity`` of the diplotype).

        Examples
        --------
        >>> from pkpd import drugs
        >>> drugs.clobazam().with_genotype("CYP2C19", "*2/*2").params["NCLB_LIVER.ACT_CYP2C19"]
        0.0
        """
        from ..physiology.genetics import phenotype

        return self.with_activity(gene.upper(), phenotype(gene, diplotype).activity)

    def __repr__(self) -> str:
        return f"Drug({self.name!r}, prefix={self.prefix!r}, model={type(self.model).__name__})"

    def _repr_html_(self) -> str:
        """Notebook view: the drug's parameters (qualified names and values), its routes and its sources."""
        import pandas as pd

        params = pd.Series(dict(self.params), name="value", dtype=float).to_frame()
        params.index.name = "parameter"
        routes = ", ".join(sorted(self.routes))
        return (f"<p><b>{self.name}</b> (prefix {self.prefix}, {type(self.model).__name__}; routes: {routes})</p>"
                + params.to_html(float_format=lambda v: f"{v:.4g}")
                + (f"<p><small>{self.sources}</small></p>" if self.sources else ""))


def enzyme(name: str = "CYP3A4", *, inducers: Iterable[Drug] = (), inactivators: Iterable[Drug] = (),
           inhibitors: Mapping[Drug, float] | None = None, **kw) -> EnzymeTurnover:
    """An :class:`~pkpd.physiology.EnzymeTurnover` for ``name`` with the library parameters of drugs.

    Parameters
    ----------
    name : str
        Enzyme, e.g. ``"CYP3A4"``.
    inducers, inactivators : iterable of Drug
        Drugs whose ``induction[name]`` / ``inactivation[name]`` act on the enzyme.
    inhibitors : mapping of Drug to float, optional
        Competitive inhibitors and their unbound Ki (mg/L).
    **kw
        Passed to EnzymeTurnover (``kdeg_liver``, ``kdeg_gut``, ``gut_induction_scale``). The default
        ``gut_induction_scale`` is the largest of the inducers' :attr:`Drug.gut_induction_scale` (one
        scale per enzyme in the component).
    """
    inducers, inactivators = list(inducers), list(inactivators)
    for d in inducers:
        if name not in d.induction:
            raise ModelError(f"{d.name} has no induction parameters for {name}")
    for d in inactivators:
        if name not in d.inactivation:
            raise ModelError(f"{d.name} has no inactivation parameters for {name}")
    if inducers and "gut_induction_scale" not in kw:
        kw["gut_induction_scale"] = max(d.gut_induction_scale for d in inducers)
    return EnzymeTurnover(
        name,
        inducers={d.prefix: d.induction[name] for d in inducers},
        inactivators={d.prefix: d.inactivation[name] for d in inactivators},
        inhibitors={d.prefix: float(ki) for d, ki in (inhibitors or {}).items()},
        **kw,
    )


def cyp3a4(*, inducers: Iterable[Drug] = (), inactivators: Iterable[Drug] = (),
           inhibitors: Mapping[Drug, float] | None = None, **kw) -> EnzymeTurnover:
    """Hepatic and intestinal CYP3A4 (kdeg 0.0158 / 0.0288 1/h, Asaumi 2018 [S]) acted on by drugs.

    Examples
    --------
    >>> import pkpd
    >>> from pkpd import drugs
    >>> mdz, rif = drugs.midazolam(), drugs.rifampicin()
    >>> model = pkpd.compose(*mdz.components(), *rif.components(), drugs.cyp3a4(inducers=[rif]))
    >>> params = {**mdz.params, **rif.params}
    >>> model.parameter("CYP3A4.EMAX_RIF").default
    12.3
    """
    return enzyme("CYP3A4", inducers=inducers, inactivators=inactivators, inhibitors=inhibitors, **kw)
