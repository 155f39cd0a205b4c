"""PD components for :func:`pkpd.compose` (:mod:`pkpd.models.effects`): effect compartment, indirect response,
operational effect bounded by receptor loss, allosteric modulator effect; and their default parameters.
"""

from __future__ import annotations

import math

import numpy as np

from ...errors import ModelError
from .._base import Parameter
from .._compose import Component
from ._forms import _clip0, _operational_ec50, _operational_emax_fraction, _operational_fraction, hill_fraction

LN2 = math.log(2.0)

#: Default effect-site equilibration rate constants (1/h) by drug prefix, used when ``ke0`` is not given.
#: MDZ: t1/2,ke0 ~ 5 min (Buhrer 1990 4.8-5.6 min [M]; 5.0 ± 2.5 min in the flumazenil-midazolam study,
#: Clin Pharmacol Ther 1995;58:567 [S]). DZP: ~1.6 min (Buhrer 1990 [M]). PPF: Schnider ke0
#: 0.456 /min [S] (Schnider propofol model; see docs/references.md).
KE0 = {
    "MDZ": LN2 / (5.0 / 60.0),
    "DZP": LN2 / (1.6 / 60.0),
    "PPF": 0.456 * 60.0,
}

#: Default operational-model parameters of the benzodiazepine anticonvulsant effect (see the
#: :mod:`pkpd.models.effects` docstring for the sources and assumptions): KA mg/L, TAU0, N, KSHIFT.
BZD_OPERATIONAL = {"KA": 0.05, "TAU0": 1.1, "N": 3.0, "KSHIFT": 24.0}


# -- argument checks of the components ----------------------------------------------------------------------
def _name(what, name):
    if not isinstance(name, str) or not name.replace("_", "").isalnum():
        raise ModelError(f"{what} must be a name like 'MDZ' or 'MDZ_EFFECT', not {name!r}")
    return name


def _quantity(what, name):
    if not isinstance(name, str) or not all(part.replace("_", "").isalnum() for part in name.split(".")) \
            or name.count(".") != 1:
        raise ModelError(f"{what} must be a qualified quantity name like 'MDZ.CP', not {name!r}")
    return name


def _scalar(owner, name, value, *, positive=True, lower=None, upper=None):
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ModelError(f"{owner}: {name} must be a number, got {value!r}") from None
    if math.isnan(v) or (positive and not v > 0) or (lower is not None and v < lower) \
            or (upper is not None and v > upper):
        if positive and not v > 0:
            raise ModelError(f"{owner}: {name} must be > 0, got {value!r}")
        raise ModelError(f"{owner}: {name} must be within [{lower}, {upper}], got {value!r}")
    return v


# -- components ------------------------------------------------------------------------------------------
class EffectCompartment(Component):
    """Effect compartment (Sheiner 1979): ``dCe/dt = KE0 (C - Ce)``.

    Parameters
    ----------
    drug : str
        Drug prefix; the component's prefix is ``<drug>_EFFECT``.
    ke0 : float, optional
        Equilibration rate constant (1/h); ``t1/2,ke0 = ln 2 / KE0``. Default from :data:`KE0` for the
        drug (midazolam ``ln 2 / 5 min`` = 8.32 /h [M/S], diazepam ``ln 2 / 1.6 min`` [M], propofol
        Schnider 27.4 /h [S]); other drugs must give it.
    source : str, optional
        The concentration driving the effect site: a quantity of the drug (``"CP"``, ``"CU"``,
        ``"CBRAIN_U"`` from :class:`~pkpd.physiology.BrainPgp`) read as ``<drug>.<source>``, or a qualified
        name (``"MDZ_BRAIN.CU"``). Default ``"CP"``.

    Notes
    -----
    State ``CE`` (mg/L, starts at 0); provides and outputs ``CE`` (``<drug>_EFFECT.CE``). For a constant
    ``C``, ``Ce(t) = C (1 - exp(-KE0 t))`` and ``Ce -> C`` at steady state.

    Examples
    --------
    >>> import pkpd
    >>> from pkpd.models import OneCompartment
    >>> from pkpd.models.effects import EffectCompartment
    >>> model = pkpd.compose(OneCompartment(drug="MDZ"), EffectCompartment("MDZ"))
    >>> model.states
    ('MDZ.CENTRAL', 'MDZ_EFFECT.CE')
    >>> r = model.simulate(pkpd.Bolus(5, cmt="MDZ.CENTRAL"), [0.25], {"MDZ.CL": 24, "MDZ.V": 77})
    >>> bool(r["MDZ_EFFECT.CE"][0] < r["MDZ.CP"][0] * 1.1)
    True
    """

    states = ("CE",)
    provides = ("CE",)
    outputs = ("CE",)

    def __init__(self, drug: str, ke0: float | None = None, source: str = "CP"):
        self.drug = _name("drug", drug)
        self.prefix = f"{drug}_EFFECT"
        if ke0 is None:
            if drug not in KE0:
                known = ", ".join(sorted(KE0))
                raise ModelError(f"EffectCompartment({drug}): no default ke0 for {drug!r} (defaults for {known}); "
                                 "give ke0 in 1/h")
            ke0 = KE0[drug]
        ke0 = _scalar(f"EffectCompartment({drug})", "ke0", ke0)
        self.source = _quantity("source", source if "." in str(source) else f"{drug}.{_name('source', source)}")
        self.reads = {self.source: None}
        self.parameters = (Parameter("KE0", ke0, "1/h", 0.0, math.inf, "effect-site equilibration rate constant"),)

    def quantities(self, y, p, q):
        return {"CE": y["CE"]}

    def derivatives(self, t, y, p, q, rate):
        return {"CE": p["KE0"] * (q[self.source] - y["CE"]) + rate["CE"]}


class IndirectResponse(Component):
    """Indirect response model (Dayneka, Garg & Jusko 1993), types I-IV.

    ==== ===================================== ===================================
    kind equation                              steady state R_ss
    ==== ===================================== ===================================
    1    dR/dt = KIN (1 - I(C)) - KOUT R         KIN (1 - I) / KOUT
    2    dR/dt = KIN - KOUT (1 - I(C)) R         KIN / (KOUT (1 - I))
    3    dR/dt = KIN (1 + S(C)) - KOUT R         KIN (1 + S) / KOUT
    4    dR/dt = KIN - KOUT (1 + S(C)) R         KIN / (KOUT (1 + S))
    ==== ===================================== ===================================

    with ``I(C) = IMAX C^h / (IC50^h + C^h)`` (kinds 1, 2) and ``S(C) = EMAX C^h / (EC50^h + C^h)``
    (kinds 3, 4). ``R(0) = KIN / KOUT``.

    Parameters
    ----------
    name : str
        Component prefix (``"CORTISOL"``).
    drug : str
        Drug prefix; the concentration read is ``<drug>.<source>``.
    kind : {1, 2, 3, 4}
        Model type.
    kin, kout : float
        Zero-order production rate (response unit/h) and first-order loss rate constant (1/h).
    imax, ic50 : float
        Inhibition (kinds 1, 2): ``0 < imax <= 1`` (default 1), ``ic50 > 0`` (mg/L, required).
    emax, ec50 : float
        Stimulation (kinds 3, 4): ``emax > 0`` (required), ``ec50 > 0`` (mg/L, required).
    hill : float
        Hill coefficient, default 1.
    source : str
        Quantity of the drug read (default ``"CP"``), or a qualified name (``"MDZ_EFFECT.CE"``).

    Notes
    -----
    State ``R``; provides and outputs ``RESPONSE``.

    Examples
    --------
    >>> import pkpd
    >>> from pkpd.models import OneCompartment
    >>> from pkpd.models.effects import IndirectResponse
    >>> ir = IndirectResponse("R", "D", kind=3, kin=2.0, kout=0.5, emax=1.0, ec50=1.0)
    >>> model = pkpd.compose(OneCompartment(drug="D"), ir)
    >>> r = model.simulate(pkpd.Bolus(0, cmt="D.CENTRAL"), [0.0, 10.0], {"D.CL": 1, "D.V": 10})
    >>> r["R.RESPONSE"].round(6).tolist()    # no drug: stays at KIN / KOUT
    [4.0, 4.0]
    """

    states = ("R",)
    provides = ("RESPONSE",)
    outputs = ("RESPONSE",)

    def __init__(self, name: str, drug: str, kind: int = 1, *, kin: float = 1.0, kout: float = 1.0,
                 emax: float | None = None, imax: float | None = None, ec50: float | None = None,
                 ic50: float | None = None, hill: float = 1.0, source: str = "CP"):
        self.prefix = _name("name", name)
        self.drug = _name("drug", drug)
        owner = f"IndirectResponse({name})"
        if isinstance(kind, bool) or kind not in (1, 2, 3, 4):
            raise ModelError(f"{owner}: kind must be 1, 2, 3 or 4 (Dayneka types I-IV), got {kind!r}")
        self.kind = int(kind)
        kin = _scalar(owner, "kin", kin)
        kout = _scalar(owner, "kout", kout)
        hill = _scalar(owner, "hill", hill)
        pars = [
            Parameter("KIN", kin, "1/h", 0.0, math.inf, "zero-order production rate of the response"),
            Parameter("KOUT", kout, "1/h", 1e-300, math.inf, "first-order loss rate constant of the response"),
        ]
        if self.kind in (1, 2):
            if emax is not None or ec50 is not None:
                raise ModelError(f"{owner}: kind {kind} is inhibitory: give imax and ic50, not emax/ec50")
            if ic50 is None:
                raise ModelError(f"{owner}: kind {kind} needs ic50 (mg/L)")
            imax = 1.0 if imax is None else imax
            imax = _scalar(owner, "imax", imax, lower=0.0, upper=1.0)
            ic50 = _scalar(owner, "ic50", ic50)
            pars += [Parameter("IMAX", imax, "1", 0.0, 1.0, "maximal fractional inhibition"),
                     Parameter("IC50", ic50, "mg/L", 1e-300, math.inf, "concentration of half-maximal inhibition")]
        else:
            if imax is not None or ic50 is not None:
                raise ModelError(f"{owner}: kind {kind} is stimulatory: give emax and ec50, not imax/ic50")
            if emax is None or ec50 is None:
                raise ModelError(f"{owner}: kind {kind} needs emax and ec50 (mg/L)")
            emax = _scalar(owner, "emax", emax)
            ec50 = _scalar(owner, "ec50", ec50)
            pars += [Parameter("EMAX", emax, "1", 0.0, math.inf, "maximal fractional stimulation"),
                     Parameter("EC50", ec50, "mg/L", 1e-300, math.inf, "concentration of half-maximal stimulation")]
        pars.append(Parameter("HILL", hill, "1", 1e-3, math.inf, "Hill coefficient"))
        self.parameters = tuple(pars)
        self.source = _quantity("source", source if "." in str(source) else f"{drug}.{_name('source', source)}")
        self.reads = {self.source: None}

    def initial_state(self, p):
        return {"R": p["KIN"] / p["KOUT"]}

    def drug_term(self, c, p):
        """``I(C)`` (kinds 1, 2) or ``S(C)`` (kinds 3, 4)."""
        return p["IMAX" if self.kind < 3 else "EMAX"] * hill_fraction(c, p["IC50" if self.kind < 3 else "EC50"],
                                                                     p["HILL"])

    def quantities(self, y, p, q):
        return {"RESPONSE": y["R"]}

    def derivatives(self, t, y, p, q, rate):
        d = self.drug_term(q[self.source], p)
        kin, kout, r = p["KIN"], p["KOUT"], y["R"]
        if self.kind == 1:
            dr = kin * (1.0 - d) - kout * r
        elif self.kind == 2:
            dr = kin - kout * (1.0 - d) * r
        elif self.kind == 3:
            dr = kin * (1.0 + d) - kout * r
        else:
            dr = kin - kout * (1.0 + d) * r
        return {"R": dr + rate["R"]}


class OperationalEffect(Component):
    """Operational-model effect whose efficacy follows the surface receptor fraction.

    ``EFFECT = E/Em = tau^n A^n / ((A + KA,eff)^n + tau^n A^n)`` with

    - ``tau = TAU0 f`` -- Black & Leff 1983, ``tau = [R]/KE``; ``f`` is the surface receptor fraction
      read from the quantity ``receptor`` (e.g. ``"GABAA.SURFACE_A235"``), 1 when ``receptor`` is None;
    - ``KA,eff = KA (1 + KSHIFT (1 - f_potency))`` -- loss of the benzodiazepine-sensitive (gamma2)
      receptors lowers the functional affinity (Kapur & Macdonald 1997 [S/M]); ``f_potency`` is read from
      ``potency_receptor`` (default: the same quantity as ``receptor``).

    The :mod:`pkpd.models.effects` docstring derives why the second term is needed and where the defaults
    come from.

    Parameters
    ----------
    name : str
        Component prefix (``"MDZ_PD"``).
    drug : str
        Drug prefix; used for the default concentration ``<drug>_EFFECT.CE``.
    receptor : str or Component, optional
        Qualified quantity name of the surface receptor fraction (1 at baseline), or a component: its
        ``surface_quantity`` attribute if it has one, else its ``SURFACE`` quantity, else its only
        quantity whose name holds ``SURFACE``.
    concentration : str, optional
        Qualified quantity name of the modulator concentration (mg/L), e.g. ``"MDZ.CBRAIN_U"``; default
        ``"<drug>_EFFECT.CE"`` (an :class:`EffectCompartment`).
    potency_receptor : str or Component, optional
        Quantity of the surface fraction that sets ``KA,eff``; default ``receptor``.
    ka, tau0, n, kshift : float, optional
        Defaults :data:`BZD_OPERATIONAL` (KA 0.05 mg/L, TAU0 1.1, N 3, KSHIFT 24).

    Notes
    -----
    No states. Provides ``EFFECT`` (fraction of Em), ``TAU``, ``EC50_APP`` (apparent EC50, mg/L),
    ``EMAX_APP`` (apparent maximal effect as a fraction of Em) and ``OCCUPANCY`` (``A / (A + KA,eff)``), all
    reported as outputs. Named ``BZD``, it feeds ``BZD.OCCUPANCY`` to
    :class:`~pkpd.physiology.GabaAReceptors` (tolerance: slow internalisation under exposure).

    Examples
    --------
    >>> import pkpd
    >>> from pkpd.models import OneCompartment
    >>> from pkpd.models.effects import EffectCompartment, OperationalEffect
    >>> model = pkpd.compose(OneCompartment(drug="MDZ"), EffectCompartment("MDZ"), OperationalEffect("MDZ_PD", "MDZ"))
    >>> r = model.simulate(pkpd.Bolus(7, cmt="MDZ.CENTRAL"), [0.5], {"MDZ.CL": 24, "MDZ.V": 77})
    >>> round(float(r["MDZ_PD.EC50_APP"][0]), 4), round(float(r["MDZ_PD.EMAX_APP"][0]), 4)
    (0.1013, 0.571)
    >>> 0 < float(r["MDZ_PD.EFFECT"][0]) < 0.571
    True
    """

    states = ()
    provides = ("EFFECT", "TAU", "EC50_APP", "EMAX_APP", "OCCUPANCY")
    outputs = ("EFFECT", "TAU", "EC50_APP", "EMAX_APP", "OCCUPANCY")

    def __init__(self, name: str, drug: str, receptor=None, *, concentration: str | None = None,
                 potency_receptor=None, ka: float = BZD_OPERATIONAL["KA"], tau0: float = BZD_OPERATIONAL["TAU0"],
                 n: float = BZD_OPERATIONAL["N"], kshift: float = BZD_OPERATIONAL["KSHIFT"]):
        self.prefix = _name("name", name)
        self.drug = _name("drug", drug)
        owner = f"OperationalEffect({name})"
        self.concentration = _quantity("concentration", concentration or f"{drug}_EFFECT.CE")
        self.receptor = self._receptor_name("receptor", receptor)
        self.potency_receptor = self._receptor_name("potency_receptor", potency_receptor) or self.receptor
        ka = _scalar(owner, "ka", ka)
        tau0 = _scalar(owner, "tau0", tau0, positive=False, lower=0.0, upper=math.inf)
        n = _scalar(owner, "n", n)
        kshift = _scalar(owner, "kshift", kshift, positive=False, lower=0.0, upper=math.inf)
        self.parameters = (
            Parameter("KA", ka, "mg/L", 1e-300, math.inf, "functional affinity (operational model)"),
            Parameter("TAU0", tau0, "1", 0.0, math.inf, "efficacy with all receptors on the surface"),
            Parameter("N", n, "1", 1e-3, math.inf, "transducer slope"),
            Parameter("KSHIFT", kshift, "1", 0.0, math.inf, "rise of KA per unit internalised receptor fraction"),
        )
        reads = [self.concentration] + [r for r in (self.receptor, self.potency_receptor) if r]
        reads = list(dict.fromkeys(reads))
        self.reads = {r: None for r in reads}
        self.quantity_reads = tuple(reads)

    @staticmethod
    def _receptor_name(what, receptor):
        if receptor is None:
            return None
        if isinstance(receptor, str):
            return _quantity(what, receptor)
        if isinstance(receptor, Component):
            name = getattr(receptor, "surface_quantity", None)
            if name is None and "SURFACE" in receptor.provides:
                name = receptor.qualified("SURFACE")
            if name is None:
                cands = [receptor.qualified(x) for x in receptor.provides if "SURFACE" in x.upper()]
                if len(cands) != 1:
                    raise ModelError(f"{what}: cannot tell which quantity of {receptor!r} is the surface fraction "
                                     f"(candidates {cands}); give its qualified name as a string")
                name = cands[0]
            return _quantity(what, name)
        raise ModelError(f"{what} must be a quantity name like 'GABAA.SURFACE' or a component, not {receptor!r}")

    def quantities(self, y, p, q):
        a = _clip0(q[self.concentration])
        f = _clip0(q[self.receptor]) if self.receptor else 1.0
        fp = _clip0(q[self.potency_receptor]) if self.potency_receptor else 1.0
        n = p["N"]
        tau = p["TAU0"] * f
        ka = p["KA"] * (1.0 + p["KSHIFT"] * (1.0 - fp))
        ec50, emax = _operational_ec50(ka, tau, n), _operational_emax_fraction(tau, n)
        shape = np.shape(a)
        return {"EFFECT": _operational_fraction(a, ka, tau, n), "OCCUPANCY": a / (a + ka),
                "TAU": np.broadcast_to(tau, np.broadcast_shapes(shape, np.shape(tau))),
                "EC50_APP": np.broadcast_to(ec50, np.broadcast_shapes(shape, np.shape(ec50))),
                "EMAX_APP": np.broadcast_to(emax, np.broadcast_shapes(shape, np.shape(emax)))}


class ModulatorEffect(Component):
    """Effect of a positive allosteric modulator whose maximum is the surface receptor fraction.

    ``EFFECT = f * OCCUPANCY``, ``OCCUPANCY = C^n / (C^n + KA,eff^n)``, ``KA,eff = KA (1 + KSHIFT (1 - f))``:

    - a modulator (a benzodiazepine at the GABA-A alpha/gamma2 interface) can only amplify the receptors that
      are on the surface, so the *maximal* effect is ``f``, the surface fraction read from ``receptor``
      (1 at baseline); once receptors are internalised no dose restores it;
    - ``KSHIFT`` lowers the functional affinity as the benzodiazepine-sensitive receptors are lost (diazepam
      potency fell about 20-fold in dentate granule cells after status epilepticus while GABA sensitivity was
      kept: Kapur & Macdonald 1997, J Neurosci 17:7532).

    Parameters
    ----------
    name : str
        Component prefix; provides ``<name>.EFFECT`` and ``<name>.OCCUPANCY``.
    concentration : str
        Qualified concentration quantity (mg/L), e.g. ``"MDZ.CBRAIN_U"`` (unbound brain ECF).
    receptor : str, optional
        Qualified surface fraction quantity (``"GABAA.SURFACE_A235"``); None: always 1.
    ka, n, kshift : float
        Affinity (mg/L, in the units of ``concentration``), Hill slope and potency shift.

    Examples
    --------
    With half the receptors internalised, saturating occupancy still gives at most half the effect:

    >>> import pkpd
    >>> from pkpd.models import OneCompartment
    >>> m = pkpd.compose(OneCompartment(drug="MDZ"), ModulatorEffect("BZD", "MDZ.CP", kshift=0.0))
    >>> r = m.simulate(pkpd.Bolus(1000, cmt="MDZ.CENTRAL"), [0.1], {"MDZ.CL": 1, "MDZ.V": 10, "BZD.KA": 0.01})
    >>> round(float(r["BZD.EFFECT"][0]), 4)
    0.9999
    """

    states = ()
    provides = ("EFFECT", "OCCUPANCY")
    outputs = ("EFFECT", "OCCUPANCY")

    def __init__(self, name: str, concentration: str, receptor: str | None = None, *, ka: float = 0.005,
                 n: float = 1.0, kshift: float = 0.0):
        self.prefix = _name("name", name)
        owner = f"ModulatorEffect({name})"
        self.concentration = _quantity("concentration", concentration)
        self.receptor = None if receptor is None else _quantity("receptor", receptor)
        self.parameters = (
            Parameter("KA", _scalar(owner, "ka", ka), "mg/L", 1e-300, math.inf, "affinity (concentration units)"),
            Parameter("N", _scalar(owner, "n", n), "1", 1e-3, math.inf, "Hill slope of occupancy"),
            Parameter("KSHIFT", _scalar(owner, "kshift", kshift, positive=False, lower=0.0, upper=math.inf), "1",
                      0.0, math.inf, "rise of KA per unit internalised receptor fraction"),
        )
        reads = [self.concentration] + ([self.receptor] if self.receptor else [])
        self.reads = {r: None for r in reads}
        self.quantity_reads = tuple(reads)

    def quantities(self, y, p, q):
        c = _clip0(q[self.concentration])
        f = _clip0(q[self.receptor]) if self.receptor else 1.0
        ka = p["KA"] * (1.0 + p["KSHIFT"] * (1.0 - f))
        occ = hill_fraction(c, ka, p["N"])
        return {"EFFECT": f * occ, "OCCUPANCY": occ}
