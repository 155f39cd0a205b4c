"""Surface GABA-A and NMDA receptors: trafficking during status epilepticus, and benzodiazepine tolerance.

During status epilepticus synaptic GABA-A receptors are endocytosed -- 38 ± 15 -> 20 ± 6 receptors per
dentate granule cell synapse after 1 h of lithium-pilocarpine SE (Naylor 2005 [S]), about 0.53 of
baseline -- while NMDA receptors move to the surface (+38 % per synapse after 1 h SE, Naylor 2013 [S]).
Constitutive GABA-A internalisation is fast and speeds up with activity (Goodkin 2005 [S]); SE-driven
endocytosis goes through β3 dephosphorylation (Terunuma 2008 [S]) and, for α2, NMDA receptors and
calcineurin (Eckel 2015 [S]) (see docs/references.md). Less surface receptor means a smaller operational
efficacy τ for benzodiazepines (τ × 0.53: Black & Leff 1983 operational model, τ proportional to receptors).

:class:`GabaAReceptors` (prefix ``GABAA``) keeps two pools, each as surface ``S`` and internal ``I``
receptors (fractions of the pool's baseline total):

- ``A1`` -- α1-containing receptors, which carry sedation;
- ``A235`` -- α2/α3/α5-containing receptors, which carry the anticonvulsant action.

For each pool, with seizure activity ``A(t)`` (``SEIZURE.ACTIVITY``, 0..1) and benzodiazepine-site
occupancy ``O(t)`` (``BZD.OCCUPANCY``, 0..1; both 0 when nothing provides them)::

    dS/dt = -KENDO * (1 + KACT * A) * S + KRECY * I
    dI/dt =  KENDO * (1 + KACT * A) * S - KRECY * I - KDEG * (1 + TOL * O) * I / I0 + KDEG

so the pool starts at ``S0 = KRECY / (KENDO + KRECY)``, ``I0 = 1 - S0``. The provided quantities are
``S / S0`` (1 at baseline). Endocytosis/recycling sets the fast response to seizures (relaxation rate
``KENDO (1 + KACT A) + KRECY`` during a seizure, ``KENDO + KRECY`` after it). Receptors are made at rate
``KDEG`` and degraded from the internal pool; drug occupancy speeds degradation (``TOL``), a slow
down-regulation with time constant ~ 1 / (KDEG (1 + TOL O)) that lowers the pool to ``1 / (1 + TOL O)``
of baseline at steady state. ``SURFACE`` is the synaptic total ``W_A1 * SURFACE_A1 + (1 - W_A1) *
SURFACE_A235``.

:class:`NmdaReceptors` (prefix ``NMDA``) has surface and internal NMDA receptors with activity-driven
insertion::

    dS/dt = KEXO * (1 + KACT * A) * I - KEND * S,     dI/dt = -dS/dt

Defaults and why:

- ``A235`` pool: ``KENDO`` 0.14 /h, ``KRECY`` 0.56 /h [M] -- 80 % of the pool on the surface at baseline,
  recovery after the seizure with half-time ln 2 / 0.70 = 1.0 h [M] (no recovery time course was found
  in a read source; these effective in vivo rates are slower than constitutive internalisation in
  culture); ``KACT`` 7 [C] calibrated so that surface A235 is 0.52 of baseline after 60 min of continuous
  seizure (Naylor 2005: 20/38 = 0.53 [S]).
- ``A1`` pool adapts more slowly [M]: ``KENDO`` 0.07 /h, ``KRECY`` 0.28 /h (recovery half-time 2.0 h),
  ``KACT`` 10 [C] giving 0.57 of baseline at 60 min. Activity-dependent loss is documented for β2/3, γ2
  and α2 (Goodkin 2008 [M], Eckel 2015 [S]); giving the α1 (sedative) pool a slower turnover is a
  modelling choice [M].
- ``W_A1`` 0.5 [M]: share of α1 among synaptic receptors, so the synaptic total at 60 min is 0.55
  (Naylor's count, 0.53 [S], is of all synaptic β2/3-containing receptors).
- ``KDEG`` ln 2 / 48 h [M]: receptor protein turnover half-life ~2 days. Seizure-internalised receptors
  are exposed to degradation, so after a 1-h seizure the surface pools recover fast to ~0.95 and are
  still about 4 % short at 24 h; the rest comes back with this slow half-life.
- ``TOL_A1`` 1.0, ``TOL_A235`` 0.25 [M]: benzodiazepine tolerance develops first and most to sedation;
  α1-subunit down-regulation is the usual subunit argument (from memory [M], no primary source recorded).
  At full occupancy for 7 days, surface A1 falls to 0.50 and A235 to 0.81 of baseline (0.67 and 0.89 at
  occupancy 0.5).
- NMDA: ``KEXO`` = ``KEND`` = 0.35 /h [M] (half of NR1 in the reserve pool, recovery half-time 1.0 h);
  ``KACT`` 2.02 [C] calibrated to +38 % surface NMDA after 60 min of seizure (Naylor 2013 [S]).
"""

from __future__ import annotations

import math
from types import MappingProxyType

import numpy as np

from ..models import Component, Parameter
from .chloride import _with_defaults
from ._names import GABAA_SURFACE, GABAA_SURFACE_A1, GABAA_SURFACE_A235, NMDA_SURFACE, SEIZURE_ACTIVITY

__all__ = ["GabaAReceptors", "NmdaReceptors"]

_POOLS = ("A1", "A235")


def _activity(q, name):
    a = q[name]
    return np.clip(a, 0.0, None)


class GabaAReceptors(Component):
    """Surface GABA-A receptors in a sedative (α1) and an anticonvulsant (α2/3/5) pool (prefix ``GABAA``).

    States ``A1_SURF``, ``A1_INT``, ``A235_SURF``, ``A235_INT`` (fractions of each pool's baseline
    total). Reads ``SEIZURE.ACTIVITY`` (0..1) and ``BZD.OCCUPANCY`` (benzodiazepine-site occupancy,
    0..1), both 0 when nothing provides them. Provides and reports ``GABAA.SURFACE_A1``,
    ``GABAA.SURFACE_A235`` and the synaptic total ``GABAA.SURFACE``, each relative to baseline (1 at
    start). ``surface_quantity`` (``"GABAA.SURFACE_A235"``) names the fraction an anticonvulsant effect
    site reads when it is given this component. Equations, defaults and their sources are in the module
    docstring.

    Parameters
    ----------
    **defaults : float
        Override parameter defaults by local name (``KACT_A235=5.0``); per simulation use qualified
        names (``{"GABAA.KACT_A235": 5.0}``).

    Examples
    --------
    One hour of continuous seizure (activity 1), then recovery:

    >>> import pkpd
    >>> from pkpd.physiology import GabaAReceptors, ImposedSeizure
    >>> model = pkpd.compose(GabaAReceptors(), ImposedSeizure())
    >>> r = model.simulate(ImposedSeizure.episode(60), [0.0, 1.0, 2.0, 6.0], method="ode")
    >>> r["GABAA.SURFACE_A235"].round(2).tolist()
    [1.0, 0.52, 0.75, 0.94]
    >>> r["GABAA.SURFACE"].round(2).tolist()
    [1.0, 0.55, 0.72, 0.91]
    """

    prefix = "GABAA"
    #: qualified names of what it provides (surface fractions of baseline)
    SURFACE_A1, SURFACE_A235, SURFACE = GABAA_SURFACE_A1, GABAA_SURFACE_A235, GABAA_SURFACE
    #: the surface fraction a PD effect site reads when given this component (the anticonvulsant pool)
    surface_quantity = GABAA_SURFACE_A235
    states = ("A1_SURF", "A1_INT", "A235_SURF", "A235_INT")
    provides = ("SURFACE_A1", "SURFACE_A235", "SURFACE")
    outputs = ("SURFACE_A1", "SURFACE_A235", "SURFACE")
    reads = MappingProxyType({SEIZURE_ACTIVITY: 0.0, "BZD.OCCUPANCY": 0.0})

    _PARAMETERS = (
        Parameter("KENDO_A1", 0.07, "1/h", 1e-9, math.inf,
                  "[M] constitutive endocytosis of surface alpha1 receptors (slower pool)"),
        Parameter("KRECY_A1", 0.28, "1/h", 1e-9, math.inf,
                  "[M] recycling of internal alpha1 receptors (80 % surface; recovery half-time 2.0 h)"),
        Parameter("KACT_A1", 10.0, "1", 0.0, math.inf,
                  "[C] fold-increase of alpha1 endocytosis per unit seizure activity (0.57 at 60 min)"),
        Parameter("TOL_A1", 1.0, "1", 0.0, math.inf,
                  "[M] occupancy-driven degradation of alpha1 (tolerance to sedation; 0.5 after 7 d at O=1)"),
        Parameter("KENDO_A235", 0.14, "1/h", 1e-9, math.inf,
                  "[M] constitutive endocytosis of surface alpha2/3/5 receptors"),
        Parameter("KRECY_A235", 0.56, "1/h", 1e-9, math.inf,
                  "[M] recycling of internal alpha2/3/5 receptors (80 % surface; recovery half-time 1.0 h)"),
        Parameter("KACT_A235", 7.0, "1", 0.0, math.inf,
                  "[C] fold-increase of alpha2/3/5 endocytosis per unit activity (Naylor 2005: 0.53 at 60 min [S])"),
        Parameter("TOL_A235", 0.25, "1", 0.0, math.inf,
                  "[M] occupancy-driven degradation of alpha2/3/5 (weaker anticonvulsant tolerance)"),
        Parameter("KDEG", math.log(2) / 48.0, "1/h", 1e-12, math.inf,
                  "[M] GABA-A receptor protein turnover rate constant (half-life 2 d)"),
        Parameter("W_A1", 0.5, "1", 0.0, 1.0, "[M] share of alpha1 pool among synaptic GABA-A receptors"),
    )

    def __init__(self, **defaults: float):
        self.parameters = _with_defaults(type(self).__name__, self._PARAMETERS, defaults)

    @staticmethod
    def _s0(p, pool):
        return p[f"KRECY_{pool}"] / (p[f"KENDO_{pool}"] + p[f"KRECY_{pool}"])

    def initial_state(self, p):
        out = {}
        for pool in _POOLS:
            s0 = self._s0(p, pool)
            out[f"{pool}_SURF"], out[f"{pool}_INT"] = s0, 1.0 - s0
        return out

    def quantities(self, y, p, q):
        a1 = y["A1_SURF"] / self._s0(p, "A1")
        a235 = y["A235_SURF"] / self._s0(p, "A235")
        return {"SURFACE_A1": a1, "SURFACE_A235": a235, "SURFACE": p["W_A1"] * a1 + (1.0 - p["W_A1"]) * a235}

    def derivatives(self, t, y, p, q, rate):
        act = _activity(q, SEIZURE_ACTIVITY)
        occ = np.clip(q["BZD.OCCUPANCY"], 0.0, 1.0)
        d = {}
        for pool in _POOLS:
            s, i = y[f"{pool}_SURF"], y[f"{pool}_INT"]
            i0 = 1.0 - self._s0(p, pool)
            endo = p[f"KENDO_{pool}"] * (1.0 + p[f"KACT_{pool}"] * act) * s
            recy = p[f"KRECY_{pool}"] * i
            kdeg = p["KDEG"]
            degradation = kdeg * (1.0 + p[f"TOL_{pool}"] * occ) * i / i0
            d[f"{pool}_SURF"] = -endo + recy + rate[f"{pool}_SURF"]
            d[f"{pool}_INT"] = endo - recy - degradation + kdeg + rate[f"{pool}_INT"]
        return d


class NmdaReceptors(Component):
    """Surface NMDA receptors rising with seizure activity (prefix ``NMDA``).

    States ``SURF`` and ``INT`` (fractions of the baseline total); reads ``SEIZURE.ACTIVITY`` (0 when
    nothing provides it); provides and reports ``NMDA.SURFACE``, surface NMDA relative to baseline (1 at
    start): +38 % after 60 min of continuous seizure (Naylor 2013 [S]), recovering with half-time
    ln 2 / (KEXO + KEND) = 1.0 h [M] afterwards.

    Parameters
    ----------
    **defaults : float
        Override parameter defaults by local name (``KACT=1.5``).

    Examples
    --------
    >>> import pkpd
    >>> from pkpd.physiology import ImposedSeizure, NmdaReceptors
    >>> model = pkpd.compose(NmdaReceptors(), ImposedSeizure())
    >>> r = model.simulate(ImposedSeizure.episode(60), [0.0, 1.0, 2.0], method="ode")
    >>> r["NMDA.SURFACE"].round(2).tolist()
    [1.0, 1.38, 1.19]
    """

    prefix = "NMDA"
    #: qualified name of what it provides (surface fraction of baseline)
    SURFACE = NMDA_SURFACE
    states = ("SURF", "INT")
    provides = ("SURFACE",)
    outputs = ("SURFACE",)
    reads = MappingProxyType({SEIZURE_ACTIVITY: 0.0})

    _PARAMETERS = (
        Parameter("KEXO", 0.35, "1/h", 1e-9, math.inf,
                  "[M] constitutive insertion of internal NMDA receptors (half on the surface at baseline)"),
        Parameter("KEND", 0.35, "1/h", 1e-9, math.inf,
                  "[M] constitutive endocytosis of surface NMDA receptors (recovery half-time 1.0 h)"),
        Parameter("KACT", 2.02, "1", 0.0, math.inf,
                  "[C] fold-increase of insertion per unit seizure activity (Naylor 2013: +38 % at 60 min [S])"),
    )

    def __init__(self, **defaults: float):
        self.parameters = _with_defaults(type(self).__name__, self._PARAMETERS, defaults)

    @staticmethod
    def _s0(p):
        return p["KEXO"] / (p["KEXO"] + p["KEND"])

    def initial_state(self, p):
        s0 = self._s0(p)
        return {"SURF": s0, "INT": 1.0 - s0}

    def quantities(self, y, p, q):
        return {"SURFACE": y["SURF"] / self._s0(p)}

    def derivatives(self, t, y, p, q, rate):
        act = _activity(q, SEIZURE_ACTIVITY)
        net = p["KEXO"] * (1.0 + p["KACT"] * act) * y["INT"] - p["KEND"] * y["SURF"]
        return {"SURF": net + rate["SURF"], "INT": -net + rate["INT"]}
