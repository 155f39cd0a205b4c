"""Checks of single numbers given by a caller (one home: dosing, targets, cohorts use them).

Examples
--------
>>> is_number(2.5), is_number(True), is_number(float("inf")), is_number(float("inf"), finite=False)
(True, False, False, True)
>>> from pkpd.errors import ParameterError
>>> check_number("Bolus", "amt", -1.0, error=ParameterError, minimum=0.0)
Traceback (most recent call last):
...
pkpd.errors.ParameterError: Bolus: amt=-1.0 is negative; expected amt >= 0
"""

from __future__ import annotations

import math
from numbers import Real

__all__ = ["is_number", "check_number", "MAX_EXACT_INT"]

#: Integers up to this magnitude are exact in float64.
MAX_EXACT_INT = 2.0**53


def is_number(value, *, finite: bool = True) -> bool:
    """True for a real number (Python or numpy scalar, not a bool), finite unless ``finite`` is False."""
    if isinstance(value, bool) or not isinstance(value, Real):
        return False
    return math.isfinite(float(value)) or not finite


def check_number(owner: str, name: str, value, *, error: type[Exception], minimum: float | None = None,
                 positive: bool = False, optional: bool = False) -> float | None:
    """``value`` as a float, or ``error`` (the caller's exception class, e.g. :class:`~pkpd.errors.ParameterError`)
    naming ``owner``, ``name``, the value and what was expected; None passes when ``optional``."""
    if value is None and optional:
        return None
    if not is_number(value):
        raise error(f"{owner}: {name}={value!r} is not a finite number")
    v = float(value)
    if positive and v <= 0:
        raise error(f"{owner}: {name}={value!r} is not positive; expected {name} > 0")
    if minimum is not None and v < minimum:
        below = "is negative" if minimum == 0 else f"is below {minimum:g}"
        raise error(f"{owner}: {name}={value!r} {below}; expected {name} >= {minimum:g}")
    return v
