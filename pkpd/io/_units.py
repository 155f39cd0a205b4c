"""Units of a dataset's columns: the ``units=`` option of :func:`read_nonmem`, checked and applied.

TIME and II are converted to h, AMT to mg, RATE to mg/h (the codes -1 and -2 kept) and DV to mg/L.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from ..errors import DatasetError
from ..units import UnitError, to_internal
from ._table import _Table

#: Columns whose values may be given in other units, and the kind of quantity they hold.
UNIT_KINDS = {"TIME": "time", "II": "time", "AMT": "amount", "RATE": "rate", "DV": "concentration"}


class _DatasetUnitError(DatasetError, UnitError):
    """A unit declared for a dataset column is unknown or of the wrong kind (both a DatasetError and a UnitError)."""


def _check_units(units, table: _Table) -> dict[str, str]:
    if units is None:
        return {}
    if not isinstance(units, Mapping):
        raise DatasetError(f"units must be a mapping such as {{'TIME': 'min'}}, not {type(units).__name__}")
    declared = {}
    for column, unit in units.items():
        key = str(column).strip().upper()
        if key not in UNIT_KINDS:
            raise _DatasetUnitError(
                f"{table.header}, column {column}: value {unit!r}: no unit conversion is defined for this column; "
                f"expected units for {', '.join(UNIT_KINDS)} only"
            )
        try:
            to_internal([1.0], unit, UNIT_KINDS[key], mw=1.0)
        except UnitError as err:
            raise _DatasetUnitError(f"{table.header}, column {key}: unit {unit!r} is not usable: {err}") from None
        declared[key] = unit
    return declared


def _convert_units(events: pd.DataFrame, declared, mw, table: _Table) -> pd.DataFrame:
    if not declared:
        return events
    events = events.copy()
    for column, unit in declared.items():
        values = events[column].to_numpy(dtype=float)
        try:
            if column == "RATE":
                given = values > 0  # -1/-2 are codes, not rates
                values = values.copy()
                values[given] = to_internal(values[given], unit, "rate", mw=mw)
            else:
                values = to_internal(values, unit, UNIT_KINDS[column], mw=mw)
        except UnitError as err:
            raise _DatasetUnitError(f"{table.header}, column {column}: unit {unit!r}: {err}") from None
        events[column] = values
    return events
