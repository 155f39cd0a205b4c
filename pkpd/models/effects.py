"""Pharmacodynamics: concentration-effect functions and PD components (sources in docs/references.md).

Pure functions, vectorised with numpy (every argument broadcasts against the others):

- :func:`emax` -- sigmoid Emax, ``E = E0 + Emax C^h / (EC50^h + C^h)``.
- :func:`operational` -- Black & Leff (1983) operational model of agonism,
  ``E = Em tau^n A^n / ((A + KA)^n + tau^n A^n)``, with its apparent potency and efficacy
  :func:`operational_ec50` and :func:`operational_emax`.
- :func:`allosteric_shift` -- fold increase of GABA potency by a benzodiazepine (allosteric ternary complex).
- :func:`bliss`, :func:`loewe_combination_index`, :func:`greco_effect` -- drug combinations.

Components (subclasses of :class:`pkpd.models.Component`, to :func:`pkpd.compose` with PK models):

- :class:`EffectCompartment` -- Sheiner (1979) effect site, ``dCe/dt = KE0 (C - Ce)``.
- :class:`IndirectResponse` -- Dayneka (1993) indirect response models, types I-IV.
- :class:`OperationalEffect` -- operational model whose efficacy ``tau`` is proportional to the surface
  receptor fraction (GABA-A receptor internalisation in status epilepticus).

Units are the package's: concentrations mg/L (1 ng/mL = 0.001 mg/L), time h, rate constants 1/h.

Why receptor loss alone cannot explain benzodiazepine resistance
-----------------------------------------------------------------
In the operational model the efficacy is ``tau = [R0]/KE``; internalisation scales it,
``tau = tau0 f`` with ``f`` the surface receptor fraction (Naylor 2005: 38 -> 20 receptors per synapse
after 1 h of SE, ``f = 0.53`` [S]). With the transducer slope ``n = 1``::

    EC50,obs = KA / (1 + tau)            Emax,obs = Em tau / (1 + tau)

so the fold changes caused by ``f`` are

    EC50 fold  = (1 + tau0) / (1 + f tau0)            (rises from 1 at tau0 -> 0 to 1/f at tau0 -> inf)
    Emax ratio = f (1 + tau0) / (1 + f tau0) = f * EC50 fold.

Hence, for *any* tau0, the EC50 rises at most ``1/f``-fold (<= 2-fold for ``f >= 0.5``) and the maximal
effect keeps at least the fraction ``f`` (falls by at most ``1 - f``, i.e. 35 % at ``f = 0.65``); and the two
cannot both be large, since ``Emax ratio / EC50 fold = f``. A 10-fold shift together with a 40 % loss would
need ``f <= 0.06``. For a general slope ``n`` (closed forms below) the bound loosens only slowly: at
``f = 0.65`` the largest EC50 fold compatible with a >= 40 % loss of Emax is 1.1 (n = 1.5), 1.3 (n = 2),
1.7 (n = 3), 2.1 (n = 4) and reaches 10 only at n ~ 20 (computed by scanning tau0 over 1e-3..1e4).
Operational-model algebra alone therefore cannot give a >= 10-fold EC50 shift with a >= 40 % fall of
Emax at a receptor fraction >= 0.5.

:class:`OperationalEffect` therefore has one explicit extra term: the benzodiazepine's functional
affinity falls with the internalised fraction (loss of the gamma2-containing, benzodiazepine-sensitive
synaptic receptors, Goodkin 2008 [M]; Kapur & Macdonald 1997: dentate granule cell GABA-A currents
become less sensitive to diazepam while GABA sensitivity is kept [S], with a ~20-fold loss of diazepam
potency [M])::

    KA,eff = KA (1 + KSHIFT (1 - f_potency))

where ``f_potency`` is the surface fraction of the receptors that carry the benzodiazepine site (by
default the same quantity that scales ``tau``).

Default benzodiazepine anticonvulsant parameters (:data:`BZD_OPERATIONAL`) -- assumptions stated:

- ``N = 3`` (steep transduction from receptor activation to seizure termination, a network threshold;
  [assumed]) and ``TAU0 = 1.1`` (limited receptor reserve: the benzodiazepine reaches
  ``Emax,obs = 0.571 Em`` with all receptors on the surface; [assumed]). With ``n = 3`` the maximal
  effect falls to ``f^3 (1 + tau0^3) / (1 + f^3 tau0^3)`` of baseline.
- ``KA = 0.05 mg/L`` gives an apparent baseline EC50 of 0.101 mg/L = 101 ng/mL, the lower end of the
  midazolam EEG EC50s (104-120 ng/mL, van Steveninck 1993 [S] PMC1364573; 290 ± 98 ng/mL, Mandema 1990
  [S] PubMed 2323155). Human anticonvulsant EC50s are not established: this is the EEG value.
- ``KSHIFT = 24`` is calibrated so that the total EC50 shift is 20-fold (Kapur & Macdonald ~20-fold
  [M]) at ``f = 0.53`` (Naylor 2005, 1 h SE [S]).
- The surface fraction after 30 min of seizure is taken as 0.6-0.7 of baseline ([assumed]; the
  trafficking model is calibrated to 0.53 at 60 min). Over that range the defaults give an EC50 rise of
  11.6- to 16.5-fold (20.2-fold at 0.53) and a fall of Emax by 45-61 % (71 % at 0.53); the
  operational term alone contributes only 1.41- to 1.55-fold of the EC50 rise (``tests/validation/test_pd_identities.py``).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import expit

from ..errors import ModelError
from ._base import Parameter
from ._compose import Component

__all__ = [
    "emax",
    "operational",
    "operational_ec50",
    "operational_emax",
    "allosteric_shift",
    "bliss",
    "loewe_combination_index",
    "greco_effect",
    "EffectCompartment",
    "IndirectResponse",
    "OperationalEffect",
    "ModulatorEffect",
    "KE0",
    "BZD_OPERATIONAL",
]

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

#: Default operational-model parameters of the benzodiazepine anticonvulsant effect (see the module
#: docstring for the sources and assumptions): KA mg/L, TAU0, N, KSHIFT.
BZD_OPERATIONAL = {"KA": 0.05, "TAU0": 1.1, "N": 3.0, "KSHIFT": 24.0}


# -- input checks ----------------------------------------------------------------------------------------
def _array(name, x):
    try:
        a = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise ModelError(f"{name} must be numeric, got {x!r}") from None
    if np.isnan(a).any():
        raise ModelError(f"{name} must not be NaN, got {x!r}")
    return a


def _first_bad(a, bad):
    return float(a[bad].flat[0] if a.ndim else a)


def _nonnegative(name, x, func):
    a = _array(name, x)
    bad = a < 0
    if bad.any():
        raise ModelError(f"{func}: {name} must be >= 0, got {_first_bad(a, bad)!r}")
    return a


def _positive(name, x, func):
    a = _array(name, x)
    bad = ~(a > 0)
    if bad.any():
        raise ModelError(f"{func}: {name} must be > 0, got {_first_bad(a, bad)!r}")
    return a


def _finite(name, x, func):
    a = _array(name, x)
    bad = ~np.isfinite(a)
    if bad.any():
        raise ModelError(f"{func}: {name} must be finite, got {_first_bad(a, bad)!r}")
    return a


def _fraction(name, x, func):
    a = _array(name, x)
    bad = (a < 0) | (a > 1)
    if bad.any():
        raise ModelError(f"{func}: {name} must be within [0, 1], got {_first_bad(a, bad)!r}")
    return a


def _out(x):
    return float(x) if np.ndim(x) == 0 else x


# -- pure functions --------------------------------------------------------------------------------------
def hill_fraction(c, c50, hill=1.0):
    """Fractional Hill response ``C^h / (C50^h + C^h)``, with negative C (ODE undershoot) read as 0.

    The unvalidated kernel shared by the components' right-hand sides (induction, inhibition, channel
    block, effects); :func:`emax` is the validated user-facing form.

    Examples
    --------
    >>> from pkpd.models.effects import hill_fraction
    >>> [float(v) for v in (hill_fraction(2.0, 2.0), hill_fraction(-1e-12, 2.0), hill_fraction(4.0, 2.0, hill=2))]
    [0.5, 0.0, 0.8]
    """
    x = (_clip0(c) / c50) ** hill
    return x / (1.0 + x)


def _clip0(c):
    return np.maximum(c, 0.0)  # tiny negative ODE undershoot reads as zero


def emax(c, e0, emax, ec50, hill=1.0):
    """Sigmoid Emax model: ``E = E0 + Emax C^h / (EC50^h + C^h)`` (standard form [M]).

    Parameters
    ----------
    c : array_like
        Concentration (mg/L), >= 0.
    e0 : array_like
        Baseline effect.
    emax : array_like
        Maximal change from baseline (negative for an inhibitory effect).
    ec50 : array_like
        Concentration giving half the maximal change (mg/L), > 0.
    hill : array_like, optional
        Hill coefficient (> 0), default 1.

    Returns
    -------
    ndarray or float
        The effect, broadcast over all arguments.

    Raises
    ------
    ModelError
        Negative concentration, ``ec50 <= 0`` or ``hill <= 0`` (the message names the argument and value).

    Examples
    --------
    >>> from pkpd.models.effects import emax
    >>> emax(0.29, e0=10.0, emax=30.0, ec50=0.29)     # half-maximal at EC50
    25.0
    >>> emax([0.0, 0.1, 1.0], 0.0, 1.0, 0.1, hill=2).round(4)
    array([0.    , 0.5   , 0.9901])
    """
    c = _nonnegative("c", c, "emax")
    ec50 = _positive("ec50", ec50, "emax")
    hill = _positive("hill", hill, "emax")
    e0 = _finite("e0", e0, "emax")
    em = _finite("emax", emax, "emax")
    return _out(e0 + em * hill_fraction(c, ec50, hill))


def operational(a, ka, tau, em, n=1.0):
    """Operational model of agonism (Black & Leff 1983).

    ``E = Em tau^n A^n / ((A + KA)^n + tau^n A^n)``, with ``tau = [R0]/KE`` the efficacy (proportional to
    the receptor density) and ``KA`` the functional equilibrium dissociation constant.

    Parameters
    ----------
    a : array_like
        Agonist (or modulator) concentration (mg/L), >= 0.
    ka : array_like
        Functional affinity constant (mg/L), > 0.
    tau : array_like
        Efficacy (transducer ratio), >= 0.
    em : array_like
        Maximal effect of the system.
    n : array_like, optional
        Slope of the transducer function (> 0), default 1.

    Returns
    -------
    ndarray or float

    See Also
    --------
    operational_ec50, operational_emax : the apparent potency and efficacy.

    Examples
    --------
    >>> from pkpd.models.effects import operational, operational_ec50, operational_emax
    >>> round(operational(1e12, ka=1.0, tau=3.0, em=100.0), 9)   # Emax,obs = Em tau/(1 + tau)
    75.0
    >>> round(operational(operational_ec50(1.0, 3.0), 1.0, 3.0, 100.0), 12)   # half of it at EC50,obs
    37.5
    """
    a = _nonnegative("a", a, "operational")
    ka = _positive("ka", ka, "operational")
    tau = _nonnegative("tau", tau, "operational")
    em = _finite("em", em, "operational")
    n = _positive("n", n, "operational")
    return _out(em * _operational_fraction(a, ka, tau, n))


def _operational_fraction(a, ka, tau, n):
    """``E / Em`` of the operational model, without checks (model evaluation)."""
    stim = (tau * a) ** n
    return stim / ((a + ka) ** n + stim)


def _operational_ec50(ka, tau, n):
    """Apparent EC50 without checks: ``KA / ((2 + tau^n)^(1/n) - 1)`` (expm1 form, accurate for large n)."""
    return ka / np.expm1(np.log(2.0 + tau**n) / n)


def _operational_emax_fraction(tau, n):
    """Apparent maximal effect as a fraction of Em, without checks: ``tau^n / (1 + tau^n)``."""
    x = tau**n
    return x / (1.0 + x)


def operational_ec50(ka, tau, n=1.0):
    """Apparent EC50 of the operational model: ``KA / ((2 + tau^n)^(1/n) - 1)``.

    Derivation: ``Emax,obs = Em tau^n / (1 + tau^n)`` (the limit ``A -> inf``). Setting
    ``E(A) = Emax,obs / 2`` gives ``2 (1 + tau^n) A^n = (A + KA)^n + tau^n A^n``, i.e.
    ``((A + KA)/A)^n = 2 + tau^n``, so ``A50 = KA / ((2 + tau^n)^(1/n) - 1)``. For ``n = 1`` this is
    ``KA / (1 + tau)``. At ``tau = 0`` it is ``KA / (2^(1/n) - 1)`` although ``Emax,obs = 0``.

    Parameters
    ----------
    ka : array_like
        Functional affinity constant (mg/L), > 0.
    tau : array_like
        Efficacy, >= 0.
    n : array_like, optional
        Transducer slope (> 0), default 1.

    Returns
    -------
    ndarray or float
        Apparent EC50 (same unit as ``ka``).

    Examples
    --------
    >>> from pkpd.models.effects import operational_ec50
    >>> operational_ec50(1.0, 3.0)              # KA / (1 + tau)
    0.25
    >>> round(operational_ec50(1.0, 1.0, n=2), 6)   # KA / (sqrt(3) - 1)
    1.366025
    """
    ka = _positive("ka", ka, "operational_ec50")
    tau = _nonnegative("tau", tau, "operational_ec50")
    n = _positive("n", n, "operational_ec50")
    # n = 1 exactly KA / (1 + tau), without the rounding of the expm1 form
    return _out(np.where(n == 1.0, ka / (1.0 + tau), _operational_ec50(ka, tau, n)))


def operational_emax(em, tau, n=1.0):
    """Apparent maximal effect of the operational model: ``Em tau^n / (1 + tau^n)``.

    Parameters
    ----------
    em : array_like
        System maximum.
    tau : array_like
        Efficacy, >= 0.
    n : array_like, optional
        Transducer slope (> 0), default 1.

    Returns
    -------
    ndarray or float

    Examples
    --------
    >>> from pkpd.models.effects import operational_emax
    >>> operational_emax(100.0, 3.0)            # Em tau / (1 + tau)
    75.0
    >>> operational_emax(1.0, [1.0, 0.53])      # receptor loss lowers efficacy
    array([0.5       , 0.34640523])
    """
    em = _finite("em", em, "operational_emax")
    tau = _nonnegative("tau", tau, "operational_emax")
    n = _positive("n", n, "operational_emax")
    return _out(em * _operational_emax_fraction(tau, n))


def allosteric_shift(b, kb, alpha):
    """Fold increase of the agonist's (GABA's) potency by an allosteric modulator (benzodiazepine).

    Allosteric ternary complex model: ``EC50,GABA(B) = EC50,GABA / shift`` with

    ``shift = (1 + alpha [B]/KB) / (1 + [B]/KB)``,

    which is 1 without modulator and tends to ``alpha`` (the cooperativity, ≈ 2-3 for diazepam at
    α1/2/3/5βγ2 receptors [M]) at saturating ``[B]``; half of the maximal shift is reached at
    ``[B] = KB``. The form ``alpha ([B]/KB + 1)/(1 + [B]/KB)``, as sometimes printed, equals
    ``alpha`` for every ``[B]`` (a misplaced factor); the form above is the one whose limits match the
    intended behaviour (no shift at ``[B] = 0``, maximal fold shift ``alpha``).

    Parameters
    ----------
    b : array_like
        Modulator concentration, >= 0.
    kb : array_like
        Modulator dissociation constant (same unit as ``b``), > 0.
    alpha : array_like
        Cooperativity factor, > 0 (> 1 positive modulator, < 1 negative modulator).

    Returns
    -------
    ndarray or float

    Examples
    --------
    >>> from pkpd.models.effects import allosteric_shift
    >>> allosteric_shift([0.0, 1.0, 1e9], kb=1.0, alpha=3.0)
    array([1., 2., 3.])
    """
    b = _nonnegative("b", b, "allosteric_shift")
    kb = _positive("kb", kb, "allosteric_shift")
    alpha = _positive("alpha", alpha, "allosteric_shift")
    x = b / kb
    return _out((1.0 + alpha * x) / (1.0 + x))


def bliss(ea, eb):
    """Bliss independence: ``E_ab = Ea + Eb - Ea Eb`` for fractional effects in [0, 1] (Bliss 1939).

    Examples
    --------
    >>> from pkpd.models.effects import bliss
    >>> bliss(0.5, 0.5)
    0.75
    >>> bliss([0.0, 0.2], 1.0)
    array([1., 1.])
    """
    ea = _fraction("ea", ea, "bliss")
    eb = _fraction("eb", eb, "bliss")
    return _out(ea + eb - ea * eb)


def loewe_combination_index(a, b, a_alone, b_alone):
    """Loewe combination index ``a/A + b/B`` (1: additive, < 1 synergy, > 1 antagonism).

    ``A`` and ``B`` are the concentrations of each drug alone that give the effect of the combination
    (``a``, ``b``) (Loewe 1926).

    Examples
    --------
    >>> from pkpd.models.effects import loewe_combination_index
    >>> loewe_combination_index(1.0, 2.0, a_alone=2.0, b_alone=4.0)
    1.0
    """
    a = _nonnegative("a", a, "loewe_combination_index")
    b = _nonnegative("b", b, "loewe_combination_index")
    a_alone = _positive("a_alone", a_alone, "loewe_combination_index")
    b_alone = _positive("b_alone", b_alone, "loewe_combination_index")
    return _out(a / a_alone + b / b_alone)


def greco_effect(a, b, ic50a, ic50b, ma, mb, alpha, econ=1.0, *, iterations=120):
    """Effect of a two-drug combination by Greco's (1990) universal response surface.

    Solves, for ``E`` in ``(0, Econ)`` with ``X = E / (Econ - E)``::

        1 = a / (IC50a X^(1/ma)) + b / (IC50b X^(1/mb))
            + alpha a b / (IC50a IC50b X^(1/(2 ma) + 1/(2 mb)))

    (Greco 1990). ``alpha > 0`` is synergy, ``alpha < 0`` antagonism, ``alpha = 0`` Loewe additivity;
    with one drug absent the effect is that drug's Hill curve ``Econ (c/IC50)^m / (1 + (c/IC50)^m)``.

    The root is found by vectorised bisection on ``z = log X`` over ``[-750, 750]`` (``iterations``
    halvings; 120 reach the float resolution of ``z``). For ``alpha >= 0`` the right-hand side falls
    strictly with ``X`` and the root is unique. For strongly negative ``alpha`` the equation can have no
    root (the interaction term outweighs the others); those elements are NaN.

    Parameters
    ----------
    a, b : array_like
        Concentrations of the two drugs, >= 0.
    ic50a, ic50b : array_like
        Concentrations of each drug alone giving ``Econ / 2``, > 0.
    ma, mb : array_like
        Hill slopes, > 0.
    alpha : array_like
        Interaction parameter.
    econ : array_like, optional
        Effect at infinite concentration (control), > 0; default 1.

    Returns
    -------
    ndarray or float
        The effect, broadcast over all arguments (0 where ``a = b = 0``).

    Examples
    --------
    >>> from pkpd.models.effects import greco_effect
    >>> round(greco_effect(1.0, 0.0, ic50a=1.0, ic50b=2.0, ma=1.0, mb=1.0, alpha=0.0), 12)   # Hill: 1/2
    0.5
    >>> round(greco_effect(0.5, 1.0, 1.0, 2.0, 1.0, 1.0, alpha=0.0), 12)   # Loewe: 0.5/1 + 1/2 = 1
    0.5
    >>> bool(greco_effect(0.5, 1.0, 1.0, 2.0, 1.0, 1.0, alpha=2.0) > 0.5)   # synergy
    True
    """
    f = "greco_effect"
    a = _nonnegative("a", a, f)
    b = _nonnegative("b", b, f)
    ic50a = _positive("ic50a", ic50a, f)
    ic50b = _positive("ic50b", ic50b, f)
    ma = _positive("ma", ma, f)
    mb = _positive("mb", mb, f)
    alpha = _finite("alpha", alpha, f)
    econ = _positive("econ", econ, f)
    a, b, ic50a, ic50b, ma, mb, alpha, econ = np.broadcast_arrays(a, b, ic50a, ic50b, ma, mb, alpha, econ)
    with np.errstate(divide="ignore"):
        la, lb = np.log(a / ic50a), np.log(b / ic50b)  # -inf for an absent drug: its terms vanish

    def g(z):  # sum of the terms minus 1; strictly decreasing in z for alpha >= 0
        # exponents capped at 700 (terms <= 1e304): no overflow, and the sign of g is kept there
        return (np.exp(np.minimum(la - z / ma, 700.0)) + np.exp(np.minimum(lb - z / mb, 700.0))
                + alpha * np.exp(np.minimum(la + lb - z * (0.5 / ma + 0.5 / mb), 700.0)) - 1.0)

    lo = np.full(a.shape, -750.0)
    hi = np.full(a.shape, 750.0)
    g_lo, g_hi = g(lo), g(hi)
    ok = (g_lo > 0) & (g_hi < 0)
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        pos = g(mid) > 0
        lo = np.where(pos, mid, lo)
        hi = np.where(pos, hi, mid)
    z = 0.5 * (lo + hi)
    e = econ * expit(z)
    e = np.where(ok, e, np.nan)
    e = np.where((a == 0) & (b == 0), 0.0, e)
    return _out(e)


# -- components ------------------------------------------------------------------------------------------
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

    The module docstring derives why the second term is needed and where the defaults come from.

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
