"""Drug-combination models (:mod:`pkpd.models.effects`): Bliss independence, Loewe additivity, Greco surface."""

from __future__ import annotations

import numpy as np

from ..._internal.lazy import special
from ._checks import _finite, _fraction, _nonnegative, _out, _positive


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
    e = econ * special.expit(z)
    e = np.where(ok, e, np.nan)
    e = np.where((a == 0) & (b == 0), 0.0, e)
    return _out(e)
