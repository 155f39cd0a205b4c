"""Intracellular chloride, the GABA-A reversal potential and KCC2 during status epilepticus.

GABA-A channels pass Cl⁻ and HCO3⁻, so their reversal potential ``E_GABA`` depends on the chloride
gradient, which the K⁺-Cl⁻ cotransporter KCC2 maintains (sources: docs/references.md). Three ways to compute it:

- :func:`nernst` -- equilibrium potential of one ion, ``E = (RT/zF) ln(c_out / c_in)``.
- :func:`ghk` -- Goldman-Hodgkin-Katz voltage equation for Cl⁻ and HCO3⁻ with permeability ratio
  ``P = P_HCO3 / P_Cl``: ``E = (RT/F) ln((Cl_i + P HCO3_i) / (Cl_o + P HCO3_o))``.
- :func:`e_gaba` -- the parallel-conductance ("chord") form ``E = (E_Cl + r E_HCO3) / (1 + r)`` with
  ``r = g_HCO3 / g_Cl``: the toolkit default, because with r = 0.2 and [HCO3] 15/24 mM it reproduces both
  E_GABA targets, -72.9 mV (healthy, [Cl]i 5 mM) and -42.0 mV (status epilepticus, [Cl]i 20 mM); GHK with
  the same inputs gives -73.4 / -45.2 mV and cannot hit both (computed here [C]).

:class:`Chloride` is a component holding intracellular chloride and relative surface KCC2 (prefix
``CHLORIDE``). Chloride is loaded in proportion to seizure activity ``S(t)`` (read from
``SEIZURE.ACTIVITY``, 0 when nothing provides it) and extruded by KCC2; KCC2 is lost while the seizure
lasts (dephosphorylation of S940 and internalisation, Silayeva 2015 [S]; within minutes to ~1 h,
Lee 2011 [M]) and recovers over days to weeks ([M], Pathak 2007 / Li 2008)::

    dCl/dt   = KEXT * (CL0 - KCC2 * Cl) + KLOAD * S(t)
    dKCC2/dt = KREC * (1 - KCC2) - KLOSS * S(t) * (KCC2 - KCC2_MIN)

At baseline (S = 0, KCC2 = 1) chloride sits at ``CL0`` (constitutive leak ``KEXT * CL0`` balances
extrusion ``KEXT * KCC2 * Cl``). Without seizure, chloride follows ``CL0 / KCC2``; during a seizure its
quasi-steady value is ``(KEXT * CL0 + KLOAD * S) / (KEXT * KCC2)``, so chloride can never exceed
``(KEXT * CL0 + KLOAD) / (KEXT * KCC2_MIN)`` (21.6 mM with the defaults, below [Cl]o).

Defaults and why (tags: [S] read in a source, [M] from memory or a secondary source, [C] computed here):

- ``CL0`` 5 mM [M]: mature neurons 4-10 mM; 5 mM gives E_GABA = -72.9 mV (the -73 mV target) [C].
- ``CL_OUT`` 120, ``HCO3_IN`` 15, ``HCO3_OUT`` 24 mM, ``G_RATIO`` 0.2, ``TEMP`` 37 °C: the values with
  which the chord form gives both targets, -72.9 / -42.0 mV [C] (typical ranges [M]).
- ``KCC2_MIN`` 0.25 [C]: the floor of surface KCC2 during seizure, solved so that after the seizure, with
  KCC2 at its floor, chloride settles at CL0 / KCC2_MIN = 20 mM (E_GABA -42 mV, the post-SE value;
  post-SE neurons 15-30 mM [M]).
- ``KLOSS`` 6 /h [M]: KCC2 loss half-time ln 2 / 6 = 7 min at full seizure activity (loss "within minutes
  to ~1 h", Lee 2011 [M]); KCC2 is within 10 % of its floor after 30 min.
- ``KREC`` ln 2 / 168 h [M]: recovery half-time 7 days (KCC2 lowest at 1-7 d, partial recovery over
  weeks, Pathak 2007 / Li 2008 [M]). The model recovers from the end of the seizure on; it does not
  reproduce the further fall reported over the first days.
- ``KEXT`` 20 /h [M]: chloride relaxation time 3 min at full KCC2 (12 min at the floor). Extrusion after a
  chloride load takes seconds to minutes; the slower end is taken so that the component is not stiff.
- ``KLOAD`` 8 mM/h [C]: activity-dependent chloride loading, calibrated (with the values above) so that
  continuous seizure (S = 1) brings [Cl]i to 15.6 mM at 30 min, 19.0 mM at 45 min and 20.6 mM at 60 min
  (E_GABA -48.4, -43.6, -41.4 mV), plateauing at 21.6 mM: "about 20 mM after 30-60 min".

Examples
--------
>>> from pkpd.physiology.chloride import RT_F, nernst, e_gaba, ghk
>>> round(RT_F(37.0), 3)
26.727
>>> round(nernst(5.0, 120.0, z=-1), 2), round(nernst(20.0, 120.0, z=-1), 2)
(-84.94, -47.89)
>>> round(e_gaba(5.0), 2), round(e_gaba(20.0), 2)
(-72.88, -42.0)
>>> round(ghk(5.0, 15.0), 2), round(ghk(20.0, 15.0), 2)
(-73.43, -45.2)
"""

from __future__ import annotations

import math
from types import MappingProxyType

import numpy as np

from ..errors import ModelError
from ..models import Component, Parameter
from ._names import CHLORIDE_E_GABA, SEIZURE_ACTIVITY

__all__ = ["RT_F", "nernst", "ghk", "e_gaba", "Chloride"]

R = 8.314462618  # J/(mol K)
FARADAY = 96485.33212  # C/mol
ZERO_CELSIUS = 273.15  # K


def _positive(name: str, value):
    """``value`` as a float array; ModelError naming the argument and the first bad value unless all > 0."""
    arr = np.asarray(value, dtype=float)
    bad = ~(arr > 0)  # catches NaN too
    if np.any(bad):
        first = arr[bad].flat[0] if arr.ndim else float(arr)
        raise ModelError(f"{name} must be a concentration > 0 mM, got {first!r}")
    if not np.all(np.isfinite(arr)):
        raise ModelError(f"{name} must be finite, got {arr[~np.isfinite(arr)].flat[0]!r}")
    return arr


def _nonnegative(name: str, value):
    arr = np.asarray(value, dtype=float)
    bad = ~((arr >= 0) & np.isfinite(arr))
    if np.any(bad):
        raise ModelError(f"{name} must be finite and >= 0, got {arr[bad].flat[0]!r}")
    return arr


def _kelvin(temperature_c):
    arr = np.asarray(temperature_c, dtype=float)
    bad = ~((arr > -ZERO_CELSIUS) & np.isfinite(arr))
    if np.any(bad):
        raise ModelError(f"temperature_c must be above absolute zero (-273.15 °C), got {arr[bad].flat[0]!r}")
    return arr + ZERO_CELSIUS


def _out(x):
    """A float for scalar results, an array otherwise."""
    x = np.asarray(x)
    return float(x) if x.ndim == 0 else x


def _rt_f(temperature_c):
    """RT/F in mV without checks (for model evaluation)."""
    return R * (temperature_c + ZERO_CELSIUS) / FARADAY * 1e3


def _rt_f_checked(temperature_c):
    """RT/F in mV of a validated temperature (public functions)."""
    return R * _kelvin(temperature_c) / FARADAY * 1e3


def RT_F(temperature_c=37.0):  # noqa: N802 - the physical symbol
    """Thermal voltage RT/F in mV.

    Parameters
    ----------
    temperature_c : float or array_like
        Temperature in °C (default body temperature, 37 °C).

    Returns
    -------
    float or numpy.ndarray
        RT/F in mV (R = 8.314462618 J/mol/K, F = 96485.33212 C/mol): 26.727 mV at 37 °C
        (computed here [C]).

    Raises
    ------
    ModelError
        If the temperature is not above absolute zero.

    Examples
    --------
    >>> round(RT_F(), 3)
    26.727
    >>> RT_F([22.0, 32.0, 35.0]).round(2).tolist()
    [25.43, 26.3, 26.55]
    """
    return _out(_rt_f_checked(temperature_c))


def nernst(c_in, c_out, z, temperature_c=37.0):
    """Nernst equilibrium potential ``E = (RT / zF) ln(c_out / c_in)`` in mV.

    Parameters
    ----------
    c_in, c_out : float or array_like
        Intracellular and extracellular concentrations (any one unit, e.g. mM); must be > 0.
    z : int or float
        Valence of the ion (-1 for Cl⁻ and HCO3⁻, +1 for K⁺ and Na⁺); non-zero.
    temperature_c : float or array_like
        Temperature in °C.

    Returns
    -------
    float or numpy.ndarray
        Reversal potential in mV, broadcast over the inputs.

    Raises
    ------
    ModelError
        If a concentration is not > 0, ``z`` is zero or the temperature is impossible; the message names
        the argument and the value.

    Examples
    --------
    Chloride at 37 °C, [Cl]o = 120 mM (computed here [C]):

    >>> round(nernst(5.0, 120.0, z=-1), 2)
    -84.94
    >>> nernst([5.0, 10.0, 20.0], 120.0, z=-1).round(1).tolist()
    [-84.9, -66.4, -47.9]
    """
    ci = _positive("c_in", c_in)
    co = _positive("c_out", c_out)
    z = np.asarray(z, dtype=float)
    if np.any(~(np.isfinite(z) & (z != 0))):
        raise ModelError(f"z (valence) must be a non-zero number, got {z.flat[0] if z.ndim else float(z)!r}")
    return _out(_rt_f_checked(temperature_c) / z * np.log(co / ci))


def ghk(cl_in, hco3_in, cl_out=120.0, hco3_out=24.0, p_ratio=0.2, temperature_c=37.0):
    """GABA-A reversal potential by the Goldman-Hodgkin-Katz equation for Cl⁻ and HCO3⁻ (mV).

    ``E = (RT/F) ln((Cl_i + P HCO3_i) / (Cl_o + P HCO3_o))`` with ``P = P_HCO3 / P_Cl`` (both anions,
    z = -1; Bormann 1987 / Kaila 1989 [M] for P ≈ 0.18-0.25).

    Parameters
    ----------
    cl_in, hco3_in : float or array_like
        Intracellular chloride and bicarbonate (mM), > 0.
    cl_out, hco3_out : float or array_like
        Extracellular chloride and bicarbonate (mM), > 0.
    p_ratio : float or array_like
        Permeability ratio P_HCO3 / P_Cl, >= 0 (0 gives the chloride Nernst potential).
    temperature_c : float or array_like
        Temperature in °C.

    Returns
    -------
    float or numpy.ndarray
        Reversal potential in mV.

    Raises
    ------
    ModelError
        On a non-positive concentration, a negative ratio or an impossible temperature.

    Examples
    --------
    With the toolkit's bicarbonate values GHK gives -73.4 mV healthy but only -45.2 mV at [Cl]i 20 mM
    (computed here [C]):

    >>> ghk([5.0, 20.0], 15.0).round(2).tolist()
    [-73.43, -45.2]
    >>> round(ghk(5.0, 15.0, p_ratio=0.0), 2) == round(nernst(5.0, 120.0, z=-1), 2)
    True
    """
    ci = _positive("cl_in", cl_in)
    hi = _positive("hco3_in", hco3_in)
    co = _positive("cl_out", cl_out)
    ho = _positive("hco3_out", hco3_out)
    p = _nonnegative("p_ratio", p_ratio)
    return _out(_rt_f_checked(temperature_c) * np.log((ci + p * hi) / (co + p * ho)))


def _chord(cl_in, hco3_in, cl_out, hco3_out, g_ratio, temperature_c):
    """Chord-conductance E_GABA without checks (model evaluation)."""
    k = _rt_f(temperature_c)
    return k * (np.log(cl_in / cl_out) + g_ratio * np.log(hco3_in / hco3_out)) / (1.0 + g_ratio)


def e_gaba(cl_in, hco3_in=15.0, cl_out=120.0, hco3_out=24.0, g_ratio=0.2, temperature_c=37.0):
    """GABA-A reversal potential, chord-conductance form: ``(E_Cl + r E_HCO3) / (1 + r)`` (mV).

    ``E_Cl`` and ``E_HCO3`` are the Nernst potentials of the two anions and ``r = g_HCO3 / g_Cl``. This is
    the toolkit default: with r = 0.2 and [HCO3]i/o = 15/24 mM it gives -72.9 mV at [Cl]i 5 mM and
    -42.0 mV at 20 mM ([Cl]o 120 mM, 37 °C), the healthy and status-epilepticus targets
    (computed here [C]).

    Parameters
    ----------
    cl_in : float or array_like
        Intracellular chloride (mM), > 0.
    hco3_in, cl_out, hco3_out : float or array_like
        Intracellular bicarbonate, extracellular chloride and bicarbonate (mM), > 0.
    g_ratio : float or array_like
        Conductance ratio g_HCO3 / g_Cl, >= 0.
    temperature_c : float or array_like
        Temperature in °C.

    Returns
    -------
    float or numpy.ndarray
        E_GABA in mV, broadcast over the inputs.

    Raises
    ------
    ModelError
        On a non-positive concentration, a negative ratio or an impossible temperature.

    Examples
    --------
    >>> round(e_gaba(5.0), 2)
    -72.88
    >>> e_gaba([5.0, 20.0]).round(2).tolist()
    [-72.88, -42.0]
    """
    ci = _positive("cl_in", cl_in)
    hi = _positive("hco3_in", hco3_in)
    co = _positive("cl_out", cl_out)
    ho = _positive("hco3_out", hco3_out)
    r = _nonnegative("g_ratio", g_ratio)
    _kelvin(temperature_c)
    return _out(_chord(ci, hi, co, ho, r, np.asarray(temperature_c, dtype=float)))


def _with_defaults(owner: str, parameters: tuple, defaults: dict) -> tuple:
    """``parameters`` with their defaults replaced by ``defaults`` (by local name); bounds are checked."""
    names = {p.name for p in parameters}
    unknown = sorted(set(defaults) - names)
    if unknown:
        raise ModelError(f"{owner}: unknown parameter(s) {unknown}; known: {sorted(names)}")
    return tuple(
        Parameter(p.name, float(defaults[p.name]), p.unit, p.lower, p.upper, p.description)
        if p.name in defaults else p
        for p in parameters
    )


class Chloride(Component):
    """Intracellular chloride and surface KCC2 during and after seizures (prefix ``CHLORIDE``).

    States ``CL_IN`` (intracellular chloride, mM; 5 at baseline) and ``KCC2`` (surface KCC2 relative to
    baseline, 1 at start); see the module docstring for the equations and the reasoning behind every
    default. Reads ``SEIZURE.ACTIVITY`` (seizure activity 0..1; 0 when nothing provides it) and
    ``BBB.INFLAMMATION`` (the post-ictal signal of :class:`~pkpd.physiology.BloodBrainBarrier`, 0 when absent):
    with ``KLOSS_INFL`` > 0 it keeps KCC2 down for days after the seizure (KCC2 is lowest 1-7 days after SE,
    Pathak 2007, J Neurosci; Li 2008 [M]), so the loss is ``(KLOSS S + KLOSS_INFL INFL) (KCC2 - KCC2_MIN)``.

    Provides (and reports as outputs) ``CHLORIDE.E_GABA`` (chord-conductance E_GABA, mV),
    ``CHLORIDE.CL_IN`` (mM), ``CHLORIDE.KCC2`` (relative) and ``CHLORIDE.E_CL`` (chloride Nernst
    potential, mV).

    Parameters
    ----------
    **defaults : float
        Override parameter defaults by local name (``KLOSS=4.0``); they can also be set per simulation
        by qualified name (``{"CHLORIDE.KLOSS": 4.0}``).

    Examples
    --------
    One hour of continuous seizure, then recovery (see tests/validation/test_chloride_values.py):

    >>> import pkpd
    >>> from pkpd.physiology import Chloride, ImposedSeizure
    >>> model = pkpd.compose(Chloride(), ImposedSeizure())
    >>> r = model.simulate(ImposedSeizure.episode(60), [0.0, 1.0], method="ode")   # activity ~1 for 1 h
    >>> [round(float(v), 1) for v in r["CHLORIDE.CL_IN"]]
    [5.0, 20.6]
    >>> [round(float(v)) for v in r["CHLORIDE.E_GABA"]]
    [-73, -41]
    """

    prefix = "CHLORIDE"
    #: qualified names of what it provides
    E_GABA, CL_IN, KCC2, E_CL = CHLORIDE_E_GABA, "CHLORIDE.CL_IN", "CHLORIDE.KCC2", "CHLORIDE.E_CL"
    states = ("CL_IN", "KCC2")
    provides = ("E_GABA", "CL_IN", "KCC2", "E_CL")
    outputs = ("E_GABA", "CL_IN", "KCC2", "E_CL")
    reads = MappingProxyType({SEIZURE_ACTIVITY: 0.0, "BBB.INFLAMMATION": 0.0})

    _PARAMETERS = (
        Parameter("CL0", 5.0, "mM", 1e-3, 150.0,
                  "[M] baseline intracellular chloride (mature neurons 4-10 mM); E_GABA -72.9 mV [C]"),
        Parameter("CL_OUT", 120.0, "mM", 1e-3, 500.0, "[C] extracellular chloride (chord-form default; 120-130 [M])"),
        Parameter("HCO3_IN", 15.0, "mM", 1e-3, 100.0, "[C] intracellular bicarbonate (chord-form default; 10-16 [M])"),
        Parameter("HCO3_OUT", 24.0, "mM", 1e-3, 100.0, "[C] extracellular bicarbonate (chord-form default; 24-26 [M])"),
        Parameter("G_RATIO", 0.2, "1", 0.0, 10.0,
                  "[C] g_HCO3/g_Cl of GABA-A channels (chord form; solved from the -73/-42 mV targets)"),
        Parameter("TEMP", 37.0, "degC", -273.0, 100.0, "[C] temperature for RT/F (26.727 mV at 37 °C)"),
        Parameter("KEXT", 20.0, "1/h", 1e-6, math.inf,
                  "[M] chloride extrusion rate constant at baseline KCC2 (relaxation 3 min)"),
        Parameter("KLOAD", 8.0, "mM/h", 0.0, math.inf,
                  "[C] chloride loading at seizure activity 1 (calibrated: [Cl]i 20.6 mM after 60 min)"),
        Parameter("KLOSS", 6.0, "1/h", 0.0, math.inf,
                  "[M] seizure-driven KCC2 loss rate constant (half-time 7 min; Lee 2011 minutes-1 h)"),
        Parameter("KCC2_MIN", 0.25, "1", 1e-3, 1.0,
                  "[C] floor of relative KCC2 in seizure (post-SE [Cl]i = CL0/KCC2_MIN = 20 mM)"),
        Parameter("KREC", math.log(2) / 168.0, "1/h", 0.0, math.inf,
                  "[M] KCC2 recovery rate constant (half-time 7 d; recovery over days-weeks)"),
        Parameter("KLOSS_INFL", 0.0, "1/h", 0.0, math.inf,
                  "[A] KCC2 loss per unit post-ictal inflammatory signal (BBB.INFLAMMATION); 0: none"),
    )

    def __init__(self, **defaults: float):
        self.parameters = _with_defaults(type(self).__name__, self._PARAMETERS, defaults)

    def initial_state(self, p):
        return {"CL_IN": p["CL0"], "KCC2": 1.0}

    def quantities(self, y, p, q):
        cl = y["CL_IN"]
        safe = np.maximum(cl, 1e-9)  # a transiently negative integrator trial value must not give NaN
        e_cl = _rt_f(p["TEMP"]) * np.log(safe / p["CL_OUT"])
        eg = _chord(safe, p["HCO3_IN"], p["CL_OUT"], p["HCO3_OUT"], p["G_RATIO"], p["TEMP"])
        return {"E_GABA": eg, "CL_IN": cl, "KCC2": y["KCC2"], "E_CL": e_cl}

    def derivatives(self, t, y, p, q, rate):
        s = np.maximum(q[SEIZURE_ACTIVITY], 0.0)
        loss = p["KLOSS"] * s + p["KLOSS_INFL"] * np.maximum(q["BBB.INFLAMMATION"], 0.0)
        k = y["KCC2"]
        return {
            "CL_IN": p["KEXT"] * (p["CL0"] - k * y["CL_IN"]) + p["KLOAD"] * s + rate["CL_IN"],
            "KCC2": p["KREC"] * (1.0 - k) - loss * (k - p["KCC2_MIN"]) + rate["KCC2"],
        }
