"""Unit conversion at the boundaries (pkpd.units)."""

import numpy as np
import pytest

from pkpd.errors import PkpdError
from pkpd.units import INTERNAL_UNITS, UnitError, convert, conversion_factor, to_internal, ureg


@pytest.mark.parametrize(
    "unit, value_in_h",
    [("h", 1.0), ("hr", 1.0), ("min", 1 / 60), ("d", 24.0), ("day", 24.0), ("week", 168.0)],
)
def test_time_spellings(unit, value_in_h):
    assert to_internal([1.0], unit, "time")[0] == pytest.approx(value_in_h, rel=1e-15)


@pytest.mark.parametrize(
    "unit, mg", [("mg", 1.0), ("g", 1000.0), ("ug", 1e-3), ("µg", 1e-3), ("μg", 1e-3), ("mcg", 1e-3), ("ng", 1e-6)]
)
def test_amount_spellings(unit, mg):
    assert to_internal([1.0], unit, "amount")[0] == pytest.approx(mg, rel=1e-15)


@pytest.mark.parametrize(
    "unit, mg_per_l",
    [
        ("mg/L", 1.0),
        ("ng/mL", 1e-3),
        ("ug/mL", 1.0),
        ("mcg/mL", 1.0),
        ("µg/mL", 1.0),
        ("mg/mL", 1000.0),
        ("ug/L", 1e-3),
    ],
)
def test_concentration_spellings(unit, mg_per_l):
    assert to_internal([1.0], unit, "concentration")[0] == pytest.approx(mg_per_l, rel=1e-15)


@pytest.mark.parametrize("unit, mg_per_h", [("mg/h", 1.0), ("mg/min", 60.0), ("ug/min", 0.06)])
def test_rate_spellings(unit, mg_per_h):
    assert to_internal([1.0], unit, "rate")[0] == pytest.approx(mg_per_h, rel=1e-15)


def test_volume():
    assert to_internal([250.0], "mL", "volume")[0] == pytest.approx(0.25)
    assert INTERNAL_UNITS["volume"] == "L"


def test_exact_decimal_conversions():
    # dividing by 1000 or 60 is exact, so common data values convert without float noise
    assert convert([250.0], "ng/mL", "mg/L")[0] == 0.25
    assert convert([30.0, 45.0], "min", "h").tolist() == [0.5, 0.75]
    assert convert([123.0], "ug", "mg")[0] == 0.123


def test_shape_and_scalar():
    out = convert(np.ones((2, 3)), "g", "mg")
    assert out.shape == (2, 3) and np.all(out == 1000.0)
    scalar = convert(2.0, "h", "min")
    assert isinstance(scalar, np.ndarray) and scalar.shape == () and float(scalar) == 120.0


def test_input_not_modified():
    values = np.array([1.0, 2.0])
    convert(values, "g", "mg")
    assert values.tolist() == [1.0, 2.0]


def test_molar_needs_molecular_weight():
    with pytest.raises(UnitError, match="molecular weight"):
        convert([1.0], "uM", "mg/L")
    # midazolam-like: 1 µM of 325.8 g/mol = 0.3258 mg/L
    assert convert([1.0], "uM", "mg/L", mw=325.8)[0] == pytest.approx(0.3258)
    assert convert([1.0], "µM", "mg/L", mw=822.9)[0] == pytest.approx(0.8229)
    assert convert([0.3258], "mg/L", "nM", mw=325.8)[0] == pytest.approx(1000.0)
    assert to_internal([500.0], "nM", "concentration", mw=200.0)[0] == pytest.approx(0.1)
    # molar to molar needs no mw
    assert convert([1.0], "uM", "nM")[0] == pytest.approx(1000.0)


@pytest.mark.parametrize("mw", [0.0, -1.0, float("nan")])
def test_bad_molecular_weight(mw):
    with pytest.raises(UnitError, match="molecular weight"):
        convert([1.0], "uM", "mg/L", mw=mw)


@pytest.mark.parametrize("src, dst", [("mg", "h"), ("mg/L", "mg"), ("h", "mg/h"), ("L", "mg/L")])
def test_mismatched_dimensions_raise(src, dst):
    with pytest.raises(UnitError, match="dimensions differ") as info:
        convert([1.0], src, dst)
    assert isinstance(info.value, PkpdError) and isinstance(info.value, ValueError)


def test_wrong_kind_raises():
    with pytest.raises(UnitError, match="not a unit of time"):
        to_internal([1.0], "mg", "time")
    with pytest.raises(UnitError, match="unknown kind"):
        to_internal([1.0], "mg", "weight")


@pytest.mark.parametrize("unit", ["furlong_per_mg", "", "   ", "mg/", None, 3])
def test_unknown_unit(unit):
    with pytest.raises(UnitError):
        convert([1.0], unit, "mg")


def test_non_numeric_values():
    with pytest.raises(UnitError, match="must be numbers"):
        convert(["abc"], "mg", "g")


def test_single_registry():
    assert conversion_factor("min", "h") == pytest.approx(1 / 60)
    assert ureg.Quantity(1, "h").to("min").magnitude == 60
