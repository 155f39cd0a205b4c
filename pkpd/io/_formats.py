"""What the readers of other table layouts share: the caller's table with where each cell came from, and the
NONMEM records built from it read through :func:`~pkpd.io.read_nonmem` with errors naming the caller's rows."""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..errors import DatasetError
from .._internal.text import show, where
from ._dataset import Dataset
from ._nonmem import read_nonmem
from ._read import _na_option
from ._rules import _LOOKALIKES
from ._table import _DECIMAL_COMMA, _NUMBER, MISSING_TEXT, STANDARD


# ---------------------------------------------------------------------------------------------
# the caller's table: columns, cells and where they came from
# ---------------------------------------------------------------------------------------------
class _Source:
    """The caller's table: its columns by name, the row (or file line) of each row, the missing-value options."""

    def __init__(self, frame: pd.DataFrame, lines, source, na_values=(), decimal_comma=False, what="DataFrame"):
        self.frame = frame
        self.lines = np.asarray(lines, dtype=np.int64)
        self.source = source
        self.missing, self.missing_numbers = _na_option(na_values)
        self.missing = self.missing | MISSING_TEXT
        self.decimal_comma = decimal_comma
        self.what = what if source is None else source

    @property
    def names(self) -> list:
        return list(self.frame.columns)

    def where(self, i: int) -> str:
        return where(self.source, self.lines[i])

    def fail(self, i: int, column, value, problem: str, expected: str):
        raise DatasetError(f"{self.where(i)}, column {column}: value {show(value)} {problem}; expected {expected}")

    def column(self, name, option: str) -> pd.Series:
        if not _is_label(name) or name not in self.frame.columns:
            shown = ", ".join(str(c) for c in self.frame.columns)
            raise DatasetError(f"{self.what}: {option}={name!r} is not a column (the columns are {shown}); "
                               f"expected the name of the column holding {_HOLDS.get(option, option)}")
        return self.frame[name]

    def numbers(self, name, expected: str, series=None) -> np.ndarray:
        """The column as float64, NaN where missing; a cell that is not a number raises, naming row and column."""
        s = self.frame[name] if series is None else series
        if pd.api.types.is_bool_dtype(s.dtype):
            self.fail(0, name, s.iloc[0], "is a boolean", expected)
        if pd.api.types.is_numeric_dtype(s.dtype):
            x = s.to_numpy(dtype=float, na_value=np.nan)
        else:
            codes, uniques = pd.factorize(s.to_numpy(dtype=object), use_na_sentinel=True)
            parsed = np.empty(len(uniques) + 1)
            parsed[-1] = np.nan
            for k, v in enumerate(uniques):
                p = self._cell(v)
                if p is None:
                    self.fail(int(np.argmax(codes == k)), name, v, "is not a number", expected)
                parsed[k] = p
            x = parsed[codes]
        if self.missing_numbers:
            x = np.where(np.isin(x, list(self.missing_numbers)), np.nan, x)
        inf = np.isinf(x)
        if inf.any():
            self.fail(int(np.argmax(inf)), name, x[int(np.argmax(inf))], "is not finite", expected)
        return x

    def _cell(self, v):
        if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
            return math.nan
        if isinstance(v, (bool, np.bool_)):
            return None
        if isinstance(v, (int, float, np.integer, np.floating)):
            return float(v)
        if isinstance(v, str):
            t = v.strip()
            if t in self.missing:
                return math.nan
            if _NUMBER.fullmatch(t):
                return float(t)
            if self.decimal_comma and _DECIMAL_COMMA.fullmatch(t):
                return float(t.replace(",", "."))
        return None


_HOLDS = {"id": "the subject IDs", "time": "the times", "conc": "the concentrations", "dose": "the doses",
          "interval": "the dosing intervals", "doses": "the number of doses", "duration": "the infusion durations",
          "route": "the route of each dose", "covariates": "a covariate"}


def _is_label(x) -> bool:
    return isinstance(x, (str, int, np.integer)) and not isinstance(x, bool)


def _scalar_or_column(src: _Source, value, option: str, expected: str, n: int):
    """(float array of length n, column name or None): a column of the caller's table, or one number for every row."""
    if value is None:
        return np.full(n, np.nan), None
    if isinstance(value, str) or (_is_label(value) and value in src.frame.columns):
        src.column(value, option)
        return src.numbers(value, expected), value
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_)):
        if not math.isfinite(float(value)):
            raise DatasetError(f"{src.what}: {option}={value!r} is not finite; expected {expected}, or a column name")
        return np.full(n, float(value)), None
    raise DatasetError(f"{src.what}: {option}={value!r}: expected a column name or a number ({expected})")


def _check(src: _Source, bad: np.ndarray, column, values, problem: str, expected: str):
    if bad.any():
        i = int(np.argmax(bad))
        src.fail(i, column, values[i], problem, expected)


# ---------------------------------------------------------------------------------------------
# the records: built per row of the caller's table, read by read_nonmem, errors put back on the caller's rows
# ---------------------------------------------------------------------------------------------
_ROW = re.compile(r"\brow (\d+)\b")
_RECORD = re.compile(r" on record \d+ \(ID [^)]*\): ")


def _read(records: dict, rows: np.ndarray, src: _Source, labels: dict, units, mw) -> Dataset:
    """read_nonmem of the built records; a DatasetError names the caller's row (file line) and column."""
    frame = pd.DataFrame(records)
    try:
        ds = read_nonmem(frame, units=units, mw=mw)
    except DatasetError as err:
        message = str(err)

        def relocate(match):
            k = int(match.group(1)) - 1
            return src.where(rows[k]) if 0 <= k < len(rows) else match.group(0)

        message = _RECORD.sub(": ", _ROW.sub(relocate, message))  # record numbers of the built table mean nothing here
        for canonical, label in labels.items():
            if str(label) == canonical:
                continue
            message = message.replace(f"column {canonical}:", f"column {label} (read as {canonical}):")
        raise type(err)(message) from None
    return Dataset(ds._events, src.lines[rows], src.source)


def _units(units, translate: Mapping) -> dict:
    """``units=`` with the caller's column names translated to the NONMEM ones."""
    if units is None:
        return {}
    if not isinstance(units, Mapping):
        raise DatasetError(f"units must be a mapping such as {{'time': 'min'}}, not {type(units).__name__}")
    out = {}
    for key, unit in units.items():
        name = translate.get(key, str(key).strip().upper())
        if name in out:
            raise DatasetError(f"units: {key!r} and another key both give the unit of {name}; expected one")
        out[name] = unit
    return out


def _covariates(src: _Source, covariates, used: set, option_hint: str) -> list:
    if covariates is None:
        names = [c for c in src.names if c not in used]
    else:
        names = [covariates] if _is_label(covariates) else list(covariates)
        for name in names:
            src.column(name, "covariates")
            if name in used:
                raise DatasetError(f"{src.what}: covariates= names {name!r}, which is read as a data item (ID, TIME, "
                                   "DV, AMT, ...) by another argument; expected other columns")
    for name in names:
        key = str(name).strip().upper()
        if key in STANDARD:
            raise DatasetError(
                f"{src.what}, column {name}: the name is NONMEM's {key}, which {option_hint} makes from its own "
                f"arguments; expected it passed as an argument, dropped, or listed without it in covariates=")
    return names


#: The argument of from_long that reads each NONMEM data item.
_ARGUMENT = {"II": "interval", "AMT": "dose", "CMT": "route", "DV": "conc", "ID": "id", "SS": "steady_state",
             "RATE": "duration", "EVID": None}


def _warn_lookalikes(src: _Source, covs, labels: dict, who: str):
    """A covariate named like a data item that no argument read from a column (``tau`` without ``interval=``)."""
    for name in covs:
        item = _LOOKALIKES.get(str(name).strip().upper())
        if item is None or item in labels:
            continue
        argument = _ARGUMENT.get(item)
        hint = f"pass {argument}={name!r} if it holds {item}" if argument else f"it is not read as {item}"
        warnings.warn(f"{who}: column {name!r} is kept as a covariate, and no argument reads {item} from a column: "
                      f"{hint}", UserWarning, stacklevel=4)


def _assemble(src, parts, covs, units, mw, labels):
    """parts: list of (caller row per record, {NONMEM column: values per record}); records in the given order."""
    rows = np.concatenate([r for r, _ in parts]).astype(np.int64)
    order = np.argsort(np.concatenate([cols["_order"] for _, cols in parts]), kind="stable")
    records = {}
    names = [n for n in ("ID", "TIME", "AMT", "RATE", "CMT", "II", "ADDL", "SS", "EVID", "MDV", "DV")
             if any(n in p[1] for p in parts)]
    for name in names:
        pieces = []
        for r, cols in parts:
            if name in cols:
                pieces.append(np.asarray(cols[name], dtype=object))
            else:
                default = np.nan if name in ("DV", "EVID", "MDV") else 0
                pieces.append(np.full(len(r), default, dtype=object))
        records[name] = _typed(np.concatenate(pieces)[order])
    # IDs as the caller gave them (text IDs such as "01" stay text)
    records["ID"] = np.concatenate([np.asarray(cols["ID"]) for _, cols in parts])[order]
    for extra in [k for p in parts for k in p[1] if k not in names and k != "_order"]:
        if extra not in records:
            pieces = [np.asarray(cols.get(extra, np.full(len(r), np.nan)), dtype=object) for r, cols in parts]
            records[extra] = _typed(np.concatenate(pieces)[order])
    for name in covs:
        values = src.frame[name].to_numpy()
        records[name] = values[rows[order]]
    return _read(records, rows[order], src, labels, units, mw)


def _typed(values: np.ndarray) -> np.ndarray:
    """An object array as float64 when every value is a number (missing as NaN), else as it is."""
    try:
        return values.astype(float)
    except (TypeError, ValueError):
        return values
