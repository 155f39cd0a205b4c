"""PD functional forms (:mod:`pkpd.models.effects`): Hill kernel, sigmoid Emax, operational model, allosteric shift.

Pure functions, vectorised with numpy. The unchecked kernels (``_clip0``, ``_operational_*``) are shared with
the components of :mod:`pkpd.models.effects._components`.
"""

from __future__ import annotations

import numpy as np

from ._checks import _finite, _nonnegative, _out, _positive


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
