"""Seizure activity as an excitation/inhibition balance, for status epilepticus (SE) scenarios.

A deliberately minimal, documented balance model (issue 4). Every parameter is a *calibration target*,
not a measured fact: the tags say which ([M] literature knowledge, [C] calibrated here, with the target).

:class:`Seizure` (prefix ``SEIZURE``) has one state, the seizure activity ``A`` (0..1; 1 at seizure onset,
t = 0). With ``N`` = ``NMDA.SURFACE``, ``S`` = ``GABAA.SURFACE``, ``E_GABA`` = ``CHLORIDE.E_GABA`` (all read,
defaults 1, 1 and E_GABA0 when nothing provides them)::

    B       = 1 - prod_k (1 - b_k (U0 + (1 - U0) A))                NMDA channel block (use-dependent)
    X       = 1 - prod_m (1 - x_m)                                   activity-independent reduction
    E       = E0 N (1 - B) (1 - X) (R0 + (1 - R0) A)                 excitation (recurrent: grows with A)
    F_DRIVE = (E_THR - E_GABA) / (E_THR - E_GABA0)                   driving force of GABA-A current
    F       = (SHUNT + F_DRIVE) / (1 + SHUNT)                        net GABA-A inhibition factor
    I       = (G0 S + sum_j G_j e_j) F                               inhibition
    DRIVE   = E - I
    dA/dt   = K_ON (1 - A) sigma(DRIVE / W) - K_OFF A (1 - sigma(DRIVE / W))

``b_k`` are NMDA channel blocks at full use (``KET.NMDA_BLOCK`` from :class:`NmdaChannelBlock`), ``x_m``
reductions of excitation that act whatever the activity (phenytoin, levetiracetam: ``FOS.EFFECT``,
``LEV.EFFECT`` from :class:`DirectEffect`), ``e_j``
the GABA-ergic drug effects (fractions of their maxima: ``BZD.EFFECT`` from
:class:`~pkpd.models.effects.OperationalEffect`, which already carries the loss of surface α2/3/5 receptors;
``VPA.EFFECT`` from :class:`DirectEffect`), ``G_j`` their weights, ``sigma`` the logistic function.

- ``F_DRIVE`` is 1 at the healthy E_GABA0 (-72.9 mV, chord form computed here [C]) and turns negative when E_GABA
  rises above the firing threshold ``E_THR`` (chloride loading in SE). ``SHUNT`` is the shunting part of
  GABA-A inhibition (an open conductance clamps the membrane toward E_GABA, which still opposes firing
  when E_GABA is slightly above threshold). The *net* GABA-A action becomes excitatory -- more
  GABA-ergic drug raises ``DRIVE`` (paradoxical) -- when ``F < 0``, i.e. E_GABA above
  ``E_THR + SHUNT (E_THR - E_GABA0)`` (-4.2 mV with the default SHUNT 2, i.e. not reached by the
  chloride model; exactly E_THR = -50 mV when ``SHUNT = 0``, the pure driving-force form).
- With ``K_ON = K_OFF = K`` the activity equation is ``dA/dt = K (sigma(DRIVE/W) - A)``: activity relaxes to
  ``sigma(DRIVE / W)``. Because excitation grows with activity (``R0`` < 1) the system is bistable: a
  seizure (A ~ 1) sustains itself while ``E0 N > I`` at A = 1, and once inhibition wins and A falls,
  excitation falls with it, so the seizure stays terminated even after a drug wears off.
- A seizure is *terminated* when A stays below 0.1 to the end of the observation window.

Defaults and why. They are *generic* (a severe, self-sustaining seizure for experiments with the component);
the status-epilepticus application sets its own -- calibrated -- values from :mod:`pkpd.se.defaults`, where each
has its source and tag. The untreated seizure: ``DRIVE(0) = E0 - G0 = 2.3``.

- ``E0`` 3.307 [M]: seizure severity (excitation at A = 1 relative to the intrinsic inhibition ``G0`` 1
  [M], the unit of the balance): a seizure that sustains itself at onset.
- ``R0`` 0.0 [M]: no excitation without ongoing seizure activity (pure recurrence): the seizure-free state is
  stable while the net GABA-A inhibition at rest is well above the switch width ``W``.
- ``E_THR`` -50 mV [M]: firing threshold. ``SHUNT`` 2.0 [M]: shunting share of GABA-A inhibition; F turns
  negative (paradoxical) only above E_GABA ``E_THR + SHUNT (E_THR - E_GABA0)``, -4.2 mV here (the SE chain uses
  0.3, i.e. -43.1 mV).
- ``W`` 0.05 [M]: width of the activity switch; ``sigma(-2.2) = 0.1``, so termination needs DRIVE
  below -0.11 (about a tenth of G0).
- ``K_ON`` = ``K_OFF`` 120 /h [M]: activity settles within a minute or two (t1/2 21 s) once inhibition
  wins; stiff with the receptor and PK time scales, hence ``stiff = True`` (LSODA by default).
- ``U0`` 0.3 [M]: ketamine is an open-channel (use-dependent) blocker: 30 % of its full-use block at rest.
- ``G_<prefix>`` 1 [M]: every drug effect's weight, in units of G0 (the application sets them).

:class:`NmdaChannelBlock` turns ketamine's concentration into ``KET.NMDA_BLOCK = IMAX C^h / (IC50^h +
C^h)``: functional NMDA current IC50 ≈ 1-5 µM (value from memory, no primary source recorded [M]);
default 2 µM = 0.475 mg/L (ketamine MW 237.73 g/mol), applied to the unbound concentration at the effect site.

:class:`DirectEffect` is a plain sigmoid Emax effect ``EMAX C^h / (EC50^h + C^h)`` provided as
``<name>.EFFECT`` (used for valproate: EC50 50 mg/L total, the lower end of the 50-100 mg/L therapeutic
range [M]).

Examples
--------
An untreated seizure sustains itself; with strong inhibition (a large GABA-ergic effect) it stops:

>>> import pkpd
>>> from pkpd.physiology.seizure import Seizure
>>> model = pkpd.compose(Seizure())
>>> r = model.simulate(pkpd.Bolus(0.0, cmt=SEIZURE_ACTIVITY), [0.0, 2.0], method="ode")
>>> r["SEIZURE.ACTIVITY"].round(3).tolist(), r["SEIZURE.DRIVE"].round(3).tolist()
([1.0, 1.0], [2.307, 2.307])
>>> r = model.simulate(pkpd.Bolus(0.0, cmt=SEIZURE_ACTIVITY), [2.0], {"SEIZURE.G0": 5.0}, method="ode")
>>> bool(r["SEIZURE.ACTIVITY"][0] < 0.1)
True
"""

from __future__ import annotations

import math

import numpy as np

from .._internal.logistic import expit
from ..dosing import Infusion
from ..errors import ModelError
from ..models import Component, Parameter
from ..models.effects import hill_fraction
from .chloride import _with_defaults
from ._names import CHLORIDE_E_GABA, GABAA_SURFACE, NMDA_SURFACE, SEIZURE_ACTIVITY, SEIZURE_DRIVE

__all__ = ["Seizure", "ImposedSeizure", "NmdaChannelBlock", "DirectEffect", "E_GABA0", "TERMINATION_THRESHOLD",
           "terminated"]

#: healthy E_GABA (mV), chord conductance at [Cl]i 5 mM (computed here [C])
E_GABA0 = -72.88
#: activity below which a seizure counts as stopped (to the end of the observation window)
TERMINATION_THRESHOLD = 0.1


def terminated(activity, axis=-1, threshold: float = TERMINATION_THRESHOLD):
    """True where ``activity`` stays below ``threshold`` from some time on to the end of the window.

    ``activity`` holds time courses along ``axis``; a time course is terminated when its last value is
    below the threshold (it has stopped and not restarted by the end of the window).

    >>> import numpy as np
    >>> terminated(np.array([[1.0, 0.5, 0.05, 0.02], [1.0, 0.05, 0.5, 0.9]])).tolist()
    [True, False]
    """
    a = np.moveaxis(np.asarray(activity, dtype=float), axis, -1)
    return a[..., -1] < threshold


def _name_of(quantity: str) -> str:
    if not isinstance(quantity, str) or quantity.count(".") != 1:
        raise ModelError(f"a read quantity must be qualified like 'BZD.EFFECT', got {quantity!r}")
    return quantity.split(".")[0]


class Seizure(Component):
    """Seizure activity from an excitation/inhibition balance (prefix ``SEIZURE``); see the module docstring.

    Parameters
    ----------
    gabaergic : sequence of str
        Qualified quantities of GABA-ergic drug effects (0..1), each weighted by a parameter
        ``G_<prefix>`` (``BZD.EFFECT`` -> ``G_BZD``); 0 when nothing provides them.
    blockers : sequence of str
        Qualified NMDA channel blocks at full use (0..1), e.g. ``KET.NMDA_BLOCK``; 0 when not provided.
    reducers : sequence of str
        Qualified fractional reductions of excitation (0..1) that do not depend on the seizure activity,
        e.g. ``FOS.EFFECT`` (phenytoin's sodium-channel block) or ``LEV.EFFECT`` (levetiracetam's
        reduction of release); 0 when not provided.
    inhibitors : sequence of str
        Qualified drug effects (0..1) that add inhibition not passing through GABA-A (so not scaled by the
        chloride factor ``F``), each weighted by ``G_<prefix>``: ``I = (G0 S + sum G_j e_j) F + sum G_k e_k``.
    **defaults : float
        Override parameter defaults by local name (``E0=2.5``, ``G_BZD=2.0``).

    Notes
    -----
    State ``ACTIVITY`` (starts at ``A0``, default 1: seizure onset at t = 0). Provides and reports
    ``ACTIVITY``, ``DRIVE`` (E - I), ``EXCITATION``, ``INHIBITION`` and ``F_GABA`` (net GABA-A factor F).
    """

    prefix = "SEIZURE"
    states = ("ACTIVITY",)
    provides = ("ACTIVITY", "DRIVE", "EXCITATION", "INHIBITION", "F_GABA")
    #: qualified names of what it provides, for other components and scripts (a rename is then a refactor)
    ACTIVITY, DRIVE, EXCITATION = SEIZURE_ACTIVITY, SEIZURE_DRIVE, "SEIZURE.EXCITATION"
    INHIBITION, F_GABA = "SEIZURE.INHIBITION", "SEIZURE.F_GABA"
    outputs = ("ACTIVITY", "DRIVE", "EXCITATION", "INHIBITION", "F_GABA")
    stiff = True

    _BASE = (
        Parameter("A0", 1.0, "1", 0.0, 1.0, "[M] seizure activity at t = 0 (1: onset of SE)"),
        Parameter("E0", 3.307, "1", 0.0, math.inf,
                  "[M] seizure severity: excitation at activity 1 (units of G0); a self-sustaining seizure"),
        Parameter("R0", 0.0, "1", 0.0, 1.0, "[M] share of excitation not driven by ongoing seizure activity"),
        Parameter("G0", 1.0, "1", 0.0, math.inf, "[M] intrinsic GABA-A inhibition at full surface receptors (unit)"),
        Parameter("E_THR", -50.0, "mV", -100.0, 0.0, "[M] firing threshold for the GABA-A driving force"),
        Parameter("E_GABA0", E_GABA0, "mV", -100.0, 0.0, "[C] healthy E_GABA (chord form at [Cl]i 5 mM: -72.9 mV)"),
        Parameter("SHUNT", 2.0, "1", 0.0, math.inf,
                  "[M] shunting share of GABA-A inhibition (F < 0 above E_THR + SHUNT (E_THR - E_GABA0))"),
        Parameter("W", 0.05, "1", 1e-6, math.inf, "[M] width of the activity switch sigma(DRIVE / W)"),
        Parameter("K_ON", 120.0, "1/h", 0.0, math.inf, "[M] activity recruitment rate constant (t1/2 21 s)"),
        Parameter("K_OFF", 120.0, "1/h", 0.0, math.inf, "[M] activity decay rate constant (t1/2 21 s)"),
        Parameter("U0", 0.3, "1", 0.0, 1.0, "[M] NMDA block at rest as a share of full-use block (use dependence)"),
    )

    def __init__(self, gabaergic=("BZD.EFFECT", "VPA.EFFECT"), blockers=("KET.NMDA_BLOCK",), reducers=(),
                 inhibitors=(), **defaults: float):
        self.gabaergic = tuple(gabaergic)
        self.blockers = tuple(blockers)
        self.reducers = tuple(reducers)
        self.inhibitors = tuple(inhibitors)
        pars = list(self._BASE)
        for qname in self.inhibitors:
            pre = _name_of(qname)
            pars.append(Parameter(f"G_{pre}", 1.0, "1", 0.0, math.inf,
                                  f"[M] weight of the inhibition {qname} that does not pass through GABA-A"))
        for qname in self.gabaergic:
            pre = _name_of(qname)
            pars.append(Parameter(f"G_{pre}", 1.0, "1", 0.0, math.inf,
                                  f"[M] weight of the GABA-ergic effect {qname} (units of G0)"))
        for qname in self.blockers + self.reducers:
            _name_of(qname)
        if len({_name_of(x) for x in self.gabaergic + self.inhibitors}) < len(self.gabaergic + self.inhibitors):
            raise ModelError("Seizure: a drug effect is listed twice among gabaergic and inhibitors")
        self.parameters = _with_defaults(type(self).__name__, tuple(pars), defaults)
        reads = {NMDA_SURFACE: 1.0, GABAA_SURFACE: 1.0, CHLORIDE_E_GABA: E_GABA0}
        reads.update({q: 0.0 for q in self.gabaergic + self.blockers + self.reducers + self.inhibitors})
        self.reads = reads
        self.quantity_reads = tuple(reads)

    def initial_state(self, p):
        return {"ACTIVITY": p["A0"]}

    def _balance(self, a, p, q):
        a = np.clip(a, 0.0, 1.0)
        use = p["U0"] + (1.0 - p["U0"]) * a
        open_frac = 1.0
        for b in self.blockers:
            open_frac = open_frac * (1.0 - np.clip(q[b], 0.0, 1.0) * use)
        for r in self.reducers:
            open_frac = open_frac * (1.0 - np.clip(q[r], 0.0, 1.0))
        exc = p["E0"] * q[NMDA_SURFACE] * open_frac * (p["R0"] + (1.0 - p["R0"]) * a)
        f_drive = (p["E_THR"] - q[CHLORIDE_E_GABA]) / (p["E_THR"] - p["E_GABA0"])
        f = (p["SHUNT"] + f_drive) / (1.0 + p["SHUNT"])
        g = p["G0"] * q[GABAA_SURFACE]
        for e in self.gabaergic:
            g = g + p[f"G_{_name_of(e)}"] * np.clip(q[e], 0.0, None)
        inh = g * f
        for e in self.inhibitors:
            inh = inh + p[f"G_{_name_of(e)}"] * np.clip(q[e], 0.0, None)
        return exc, inh, f

    def quantities(self, y, p, q):
        a = y["ACTIVITY"]
        exc, inh, f = self._balance(a, p, q)
        shape = np.broadcast_shapes(np.shape(a), np.shape(exc), np.shape(inh))
        return {"ACTIVITY": a, "DRIVE": np.broadcast_to(exc - inh, shape),
                "EXCITATION": np.broadcast_to(exc, shape), "INHIBITION": np.broadcast_to(inh, shape),
                "F_GABA": np.broadcast_to(f, np.broadcast_shapes(shape, np.shape(f)))}

    def derivatives(self, t, y, p, q, rate):
        a = y["ACTIVITY"]
        s = expit(q[SEIZURE_DRIVE] / p["W"])
        return {"ACTIVITY": p["K_ON"] * (1.0 - a) * s - p["K_OFF"] * a * (1.0 - s) + rate["ACTIVITY"]}


class ImposedSeizure(Component):
    """Seizure activity of a prescribed course (prefix ``SEIZURE``), to study what a seizure does.

    Where :class:`Seizure` lets the activity follow from excitation and inhibition, this component imposes
    it: ``dA/dt = input - KOFF A``, with the input an infusion into ``SEIZURE.ACTIVITY``. An infusion at
    rate ``level x KOFF`` holds the activity at ``level`` (reached within about a minute with the default
    KOFF 100 /h, t1/2 25 s), and the activity falls to 0 as fast once it stops. :meth:`episode` builds
    that infusion. Stiff next to receptor and PK time scales (LSODA by default).

    Examples
    --------
    One hour of seizure, then recovery, of the surface GABA-A receptors:

    >>> import pkpd
    >>> from pkpd.physiology import GabaAReceptors, ImposedSeizure
    >>> model = pkpd.compose(GabaAReceptors(), ImposedSeizure())
    >>> r = model.simulate(ImposedSeizure.episode(60), [0.0, 1.0, 2.0], method="ode")
    >>> r["GABAA.SURFACE_A235"].round(2).tolist()
    [1.0, 0.52, 0.75]
    """

    prefix = "SEIZURE"
    states = ("ACTIVITY",)
    provides = ("ACTIVITY",)
    stiff = True
    parameters = (Parameter("KOFF", 100.0, "1/h", 1e-9, math.inf, "[M] decay of imposed activity (t1/2 25 s)"),)

    @staticmethod
    def episode(minutes: float, start_min: float = 0.0, level: float = 1.0, koff: float = 100.0) -> Infusion:
        """The infusion into ``SEIZURE.ACTIVITY`` that holds the activity at ``level`` for ``minutes``
        from ``start_min`` (``koff``: the component's KOFF)."""
        rate = level * koff
        return Infusion(rate * minutes / 60.0, rate=rate, time=start_min / 60.0, cmt=SEIZURE_ACTIVITY)

    def quantities(self, y, p, q):
        return {"ACTIVITY": y["ACTIVITY"]}

    def derivatives(self, t, y, p, q, rate):
        return {"ACTIVITY": rate["ACTIVITY"] - p["KOFF"] * y["ACTIVITY"]}


class NmdaChannelBlock(Component):
    """NMDA channel block by a drug at full use: ``<drug>.NMDA_BLOCK = IMAX C^h / (IC50^h + C^h)``.

    Parameters
    ----------
    drug : str
        Drug prefix (``"KET"``); the component's prefix is ``<drug>_NMDA`` and it provides
        ``<drug>.NMDA_BLOCK`` (and reports ``BLOCK``).
    source : str
        Qualified concentration quantity in mg/L (default ``"<drug>_EFFECT.CE"``).
    ic50_um, mw : float
        Functional IC50 in µM (default 2 µM: ketamine NMDA current IC50 ≈ 1-5 µM, from memory [M])
        and molecular weight g/mol (ketamine 237.73) -> IC50 in mg/L = µM x MW / 1000.

    >>> blk = NmdaChannelBlock("KET")
    >>> [p.default for p in blk.parameters if p.name == "IC50"][0]
    0.47546
    """

    def __init__(self, drug: str = "KET", source: str | None = None, *, ic50_um: float = 2.0, mw: float = 237.73,
                 imax: float = 1.0, hill: float = 1.0):
        if not (ic50_um > 0 and mw > 0 and 0 <= imax <= 1 and hill > 0):
            raise ModelError(f"NmdaChannelBlock({drug}): need ic50_um > 0, mw > 0, 0 <= imax <= 1, hill > 0")
        self.drug = drug
        self.prefix = f"{drug}_NMDA"
        self.source = source or f"{drug}_EFFECT.CE"
        _name_of(self.source)
        self.reads = {self.source: None}
        self.quantity_reads = (self.source,)
        self.provides = ("BLOCK", f"{drug}.NMDA_BLOCK")
        self.outputs = ("BLOCK",)
        self.parameters = (
            Parameter("IC50", ic50_um * mw / 1000.0, "mg/L", 1e-12, math.inf,
                      f"[M] functional NMDA current IC50 ({ic50_um:g} µM; 1-5 µM from memory)"),
            Parameter("IMAX", imax, "1", 0.0, 1.0, "[M] maximal channel block at full use"),
            Parameter("HILL", hill, "1", 1e-3, math.inf, "[M] Hill coefficient"),
        )

    def quantities(self, y, p, q):
        b = p["IMAX"] * hill_fraction(q[self.source], p["IC50"], p["HILL"])
        return {"BLOCK": b, f"{self.drug}.NMDA_BLOCK": b}


class DirectEffect(Component):
    """Sigmoid Emax effect of a concentration, provided as ``<name>.EFFECT`` (prefix ``<name>_PD``).

    Parameters
    ----------
    name : str
        Name of the effect (``"VPA"`` provides ``VPA.EFFECT``).
    source : str
        Qualified concentration quantity (mg/L), e.g. ``"VPA_EFFECT.CE"``.
    ec50, emax, hill : float
        Parameters of ``EMAX C^h / (EC50^h + C^h)``.

    >>> DirectEffect("VPA", "VPA_EFFECT.CE", ec50=50.0).provides
    ('EFFECT', 'VPA.EFFECT')
    """

    def __init__(self, name: str, source: str, *, ec50: float, emax: float = 1.0, hill: float = 1.0):
        if not (ec50 > 0 and emax >= 0 and hill > 0):
            raise ModelError(f"DirectEffect({name}): need ec50 > 0, emax >= 0, hill > 0")
        self.name = name
        self.prefix = f"{name}_PD"
        self.source = source
        _name_of(source)
        self.reads = {source: None}
        self.quantity_reads = (source,)
        self.provides = ("EFFECT", f"{name}.EFFECT")
        self.outputs = ("EFFECT",)
        self.parameters = (
            Parameter("EC50", ec50, "mg/L", 1e-12, math.inf, "[M] concentration of half-maximal effect"),
            Parameter("EMAX", emax, "1", 0.0, math.inf, "[M] maximal effect"),
            Parameter("HILL", hill, "1", 1e-3, math.inf, "[M] Hill coefficient"),
        )

    def quantities(self, y, p, q):
        e = p["EMAX"] * hill_fraction(q[self.source], p["EC50"], p["HILL"])
        return {"EFFECT": e, f"{self.name}.EFFECT": e}
