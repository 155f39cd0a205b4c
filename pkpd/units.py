"""Unit conversion at the boundaries of pkpd (pint-based).

pkpd computes in one internal unit system: time in h, amount in mg, volume in L, concentration in
mg/L, rate in mg/h (see :data:`INTERNAL_UNITS`). Values entering (dataset columns, user input) or
leaving (reports, plots) in other units are converted here, with one module-level
:class:`pint.UnitRegistry` (:func:`registry`, also ``pkpd.units.ureg``), built on first use.

Common spellings are accepted: ``h``, ``hr``, ``min``, ``d``, ``day``, ``week``; ``mg``, ``g``,
``ug``, ``µg``, ``mcg``, ``ng``; ``L``, ``mL``; ``mg/L``, ``ng/mL``, ``ug/mL``, ``mcg/mL``, ``µg/mL``,
``mg/mL``, ``ug/L``; ``mg/h``, ``mg/min``, ``ug/min``; and molar units (``nM``, ``uM``, ``µM``,
``mmol/L``), which need a molecular weight ``mw`` in g/mol to be converted to or from mass units.
Units of different dimensions raise :class:`UnitError`.
"""

from __future__ import annotations

from functools import lru_cache

from typing import TYPE_CHECKING

import numpy as np

from .errors import PkpdError

if TYPE_CHECKING:
    import pint

__all__ = ["UnitError", "INTERNAL_UNITS", "registry", "convert", "to_internal", "conversion_factor"]

@lru_cache(maxsize=1)
def registry() -> "pint.UnitRegistry":
    """The one :class:`pint.UnitRegistry` every conversion in pkpd uses, built on first use (building it and
    importing pint cost about 0.4 s, which ``import pkpd`` need not pay)."""
    import pint

    return pint.UnitRegistry()


def __getattr__(name):
    # ``pkpd.units.ureg`` (the registry) stays available, built when first asked for
    if name == "ureg":
        return registry()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

#: Internal unit of each kind of quantity.
INTERNAL_UNITS: dict[str, str] = {
    "time": "h",
    "amount": "mg",
    "concentration": "mg/L",
    "volume": "L",
    "rate": "mg/h",
    "clearance": "L/h",
    "rate_constant": "1/h",
}

_SUBSTANCE = "[substance]"


class UnitError(PkpdError, ValueError):
    """A unit is unknown, or two units cannot be converted into each other.

    Examples
    --------
    >>> from pkpd.units import convert, UnitError
    >>> try:
    ...     convert(1.0, "mg", "h")
    ... except UnitError as err:
    ...     print(err)
    cannot convert 'mg' ([mass]) to 'h' ([time]): the dimensions differ
    """


def _parse(unit: str) -> pint.Unit:
    if not isinstance(unit, str) or not unit.strip():
        raise UnitError(f"a unit must be a non-empty string such as 'mg' or 'ng/mL', not {unit!r}")
    try:
        return registry().parse_units(unit.strip())
    except Exception:  # pint raises many kinds (UndefinedUnitError, AssertionError, TokenError ...)
        raise UnitError(f"unknown unit {unit!r}; expected a unit such as h, min, mg, ug, ng/mL, mg/L or uM") from None


def _dim(unit: pint.Unit) -> str:
    return str(unit.dimensionality) if unit.dimensionality else "dimensionless"


@lru_cache(maxsize=256)
def conversion_factor(from_unit: str, to_unit: str, mw: float | None = None) -> float:
    """The factor that converts values in ``from_unit`` into ``to_unit``.

    Parameters
    ----------
    from_unit, to_unit : str
        Unit expressions understood by :func:`registry` (e.g. ``"ng/mL"``, ``"min"``).
    mw : float, optional
        Molecular weight in g/mol; needed when exactly one of the units is molar.

    Returns
    -------
    float
        ``values_in_to_unit = values_in_from_unit * factor``.

    Raises
    ------
    UnitError
        Unknown unit, different dimensions, or a molar conversion without ``mw``.

    Examples
    --------
    >>> from pkpd.units import conversion_factor
    >>> conversion_factor("ng/mL", "mg/L")
    0.001
    >>> conversion_factor("min", "h") * 60
    1.0
    """
    import pint

    ureg = registry()
    src, dst = _parse(from_unit), _parse(to_unit)
    q = ureg.Quantity(1.0, src)
    n_src = src.dimensionality.get(_SUBSTANCE, 0)
    n_dst = dst.dimensionality.get(_SUBSTANCE, 0)
    if n_src != n_dst:
        if mw is None:
            raise UnitError(
                f"converting {from_unit!r} to {to_unit!r} needs a molecular weight: pass mw=<g/mol>"
            )
        mw = float(mw)
        if not (np.isfinite(mw) and mw > 0):
            raise UnitError(f"molecular weight mw must be a positive number of g/mol, not {mw!r}")
        n = n_src - n_dst
        q = q * ureg.Quantity(mw, "g/mol") ** n if n > 0 else q / ureg.Quantity(mw, "g/mol") ** -n
    try:
        return float(q.to(dst).magnitude)
    except pint.DimensionalityError:
        raise UnitError(
            f"cannot convert {from_unit!r} ({_dim(src)}) to {to_unit!r} ({_dim(dst)}): the dimensions differ"
        ) from None


def convert(values, from_unit: str, to_unit: str, *, mw: float | None = None) -> np.ndarray:
    """Convert numbers from one unit to another.

    Parameters
    ----------
    values : array_like
        Numbers in ``from_unit`` (a scalar gives a 0-d array).
    from_unit, to_unit : str
        Unit expressions, e.g. ``"ug"``, ``"ng/mL"``, ``"min"``, ``"uM"``.
    mw : float, optional
        Molecular weight in g/mol, for conversions between molar and mass units.

    Returns
    -------
    ndarray of float
        The values in ``to_unit``; same shape as ``values``.

    Raises
    ------
    UnitError
        Unknown unit, mismatched dimensions, or a molar conversion without ``mw``.

    Examples
    --------
    >>> from pkpd.units import convert
    >>> convert([30, 90], "min", "h")
    array([0.5, 1.5])
    >>> convert([250.0], "ng/mL", "mg/L")
    array([0.25])
    >>> convert([1.0], "uM", "mg/L", mw=822.9).round(4)   # 1 µM of a drug of 822.9 g/mol
    array([0.8229])
    """
    factor = conversion_factor(from_unit, to_unit, mw)
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise UnitError(f"values to convert must be numbers, got {values!r}") from None
    divisor = round(1.0 / factor) if factor < 1.0 else 0
    if divisor > 1 and abs(divisor * factor - 1.0) < 1e-12:
        # dividing by an exact integer (60, 1000, ...) is correctly rounded: 250 ng/mL -> 0.25 mg/L exactly
        return np.array(arr / divisor, dtype=float)
    return np.array(arr * factor, dtype=float)


def to_internal(values, unit: str, kind: str, *, mw: float | None = None) -> np.ndarray:
    """Convert numbers given in ``unit`` to pkpd's internal unit for ``kind``.

    Parameters
    ----------
    values : array_like
        Numbers in ``unit``.
    unit : str
        Their unit, e.g. ``"ug"`` for an amount.
    kind : {"time", "amount", "concentration", "volume", "rate", "clearance", "rate_constant"}
        What the numbers are; the target unit is ``INTERNAL_UNITS[kind]`` (h, mg, mg/L, L, mg/h, L/h, 1/h).
    mw : float, optional
        Molecular weight in g/mol, for molar concentrations or amounts.

    Returns
    -------
    ndarray of float

    Raises
    ------
    UnitError
        Unknown kind or unit, or ``unit`` is not a unit of ``kind``.

    Examples
    --------
    >>> from pkpd.units import to_internal
    >>> to_internal([500.0], "ug", "amount")
    array([0.5])
    >>> to_internal([2.0], "d", "time")
    array([48.])
    >>> to_internal([10.0], "ug/min", "rate")
    array([0.6])
    """
    if kind not in INTERNAL_UNITS:
        raise UnitError(f"unknown kind of quantity {kind!r}; expected one of {', '.join(INTERNAL_UNITS)}")
    try:
        return convert(values, unit, INTERNAL_UNITS[kind], mw=mw)
    except UnitError as err:
        raise UnitError(f"{unit!r} is not a unit of {kind} ({INTERNAL_UNITS[kind]}): {err}") from None
