"""Argument checks of the pure PD functions (:mod:`pkpd.models.effects`): numeric, not NaN, in range.

Each check returns the argument as a float ndarray or raises :class:`~pkpd.errors.ModelError` naming the
function, the argument and the first offending value; :func:`_out` turns a 0-d result back into a float.
"""

from __future__ import annotations

import numpy as np

from ...errors import ModelError


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
