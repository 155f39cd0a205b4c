"""Parsing cells: the columns of a :class:`_Table` -> typed values (numbers, IDs, compartments, covariates).

Vectorised over the distinct values of a column; a cell that is not what its column holds raises a
:class:`~pkpd.errors.DatasetError` naming the record, the column and the value.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from .._internal.numbers import MAX_EXACT_INT
from ._table import _DECIMAL_COMMA, _INTEGER, _NUMBER, _TOKENS, _factorize, _Table

NAME = re.compile(r"^[^\W\d]\w*(\.\w+)*$")  # a compartment name: CENTRAL, DEPOT, MDZ.CENTRAL
_TRUE, _FALSE = frozenset({"True", "TRUE", "true"}), frozenset({"False", "FALSE", "false"})
_INT64_MAX = np.iinfo(np.int64).max


def _unique_map(series: pd.Series, convert):
    """Apply ``convert`` to each distinct value (fast when values repeat); returns (codes, results, uniques)."""
    codes, uniques = _factorize(series)
    return codes, [convert(u) for u in uniques], uniques


def _is_numeric(series: pd.Series) -> bool:
    dtype = series.dtype
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype)


def _parse_cell(value, table: _Table) -> float | None:
    """A cell as a float (NaN when missing), or None when it is not a number."""
    if value is None or value is pd.NA or value is pd.NaT:
        return math.nan
    if isinstance(value, str):
        text = value.strip()
        if text in table.missing:
            return math.nan
        if table.decimal_comma:
            if not _DECIMAL_COMMA.fullmatch(text) and not _INTEGER.fullmatch(text) and text.lower().lstrip("+-") not in ("inf", "infinity"):
                return None  # "1.000" may be one thousand, written with a thousands separator: not guessed
            text = text.replace(",", ".")
        if not _NUMBER.fullmatch(text):
            return None
        number = float(text)
    elif isinstance(value, (bool, np.bool_, int, float, np.integer, np.floating)):
        number = float(value)
    else:
        try:
            number = float(value)
        except (TypeError, ValueError, OverflowError):
            return None
    return math.nan if number in table.missing_numbers else number


def _parse_many(uniques, table: _Table) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_parse_cell` of each value as (floats, NaN where missing or not a number; not-a-number mask).

    Vectorised for a file's columns (all text), one by one for the cells of a DataFrame's text columns."""
    n = len(uniques)
    values, bad = np.full(n, np.nan), np.zeros(n, dtype=bool)
    if table.from_text and not table.decimal_comma and n:
        # to_numeric takes exactly the finite numbers _parse_cell takes and rounds them as float() does; what
        # it leaves NaN or infinite (".", "NA", "nan", "abc", "1e400", "inf") is settled one by one below
        values = np.array(pd.to_numeric(pd.Series(uniques, dtype=object), errors="coerce"), dtype=float)
        odd = np.flatnonzero(~np.isfinite(values))
    else:
        odd = range(n)
    for j in odd:
        number = _parse_cell(uniques[j], table)
        values[j] = math.nan if number is None else number
        bad[j] = number is None
    if table.missing_numbers:
        values[np.isin(values, list(table.missing_numbers))] = np.nan
    return values, bad


def _numbers(table: _Table, name: str) -> np.ndarray:
    """A standard numeric column as floats (NaN where missing); text raises a DatasetError."""
    series = table.columns[name]
    if _is_numeric(series):
        x = series.to_numpy(dtype=float, na_value=np.nan)
        if table.missing_numbers:
            x = np.where(np.isin(x, list(table.missing_numbers)), np.nan, x)
        return x
    codes, uniques = _factorize(series)
    parsed, bad_unique = _parse_many(uniques, table)
    if bad_unique.any():
        bad = np.zeros(len(codes), dtype=bool)
        bad[codes >= 0] = bad_unique[codes[codes >= 0]]
        table.fail_number(bad, name, series.to_numpy(dtype=object), f"a number (or '.' for missing) in {name}")
    return np.append(parsed, np.nan)[codes]  # code -1 (missing) picks the trailing NaN


def _integer_like(x: np.ndarray) -> np.ndarray:
    return np.isfinite(x) & (x == np.round(x)) & (np.abs(x) < MAX_EXACT_INT)


def _exact_int(value, table: _Table):
    """An ID cell as an exact Python int, None if it is missing, or False if it is not an integer."""
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text in table.missing:
            return None
        if _INTEGER.fullmatch(text):  # exactly, not through float64: 17-digit IDs stay themselves
            return int(text)
    number = _parse_cell(value, table)
    if number is None:
        return False
    if math.isnan(number):
        return None
    return int(number) if math.isfinite(number) and number.is_integer() and abs(number) < MAX_EXACT_INT else False


def _ids(table: _Table):
    """The ID column: int64 (exact) when every ID is an integer, else strings."""
    series = table.columns["ID"]
    if _is_numeric(series) and not pd.api.types.is_bool_dtype(series.dtype):
        if pd.api.types.is_integer_dtype(series.dtype):
            missing = series.isna().to_numpy()
            if missing.any():
                table.fail(missing, "ID", series.to_numpy(dtype=object), "", "a subject identifier on every record")
            if pd.api.types.is_unsigned_integer_dtype(series.dtype) and (series > _INT64_MAX).any():
                return series.astype(str).to_numpy(dtype=object)
            return series.to_numpy(dtype=np.int64)  # exact: no float64 round trip
        x = series.to_numpy(dtype=float, na_value=np.nan)
        missing = np.isnan(x) | np.isin(x, list(table.missing_numbers))
        if missing.any():
            table.fail(missing, "ID", x, "", "a subject identifier on every record")
        if _integer_like(x).all():
            return x.astype(np.int64)
        big = np.isfinite(x) & (x == np.round(x)) & ~_integer_like(x)
        if big.any():
            # a float this large stands for 2 or more integers: distinct IDs may already have merged
            table.fail(big, "ID", x, "is a floating-point ID beyond 2**53, where distinct integers share a float",
                       "integer IDs as an integer (int64) or text column, not float64")
        return pd.Series([repr(v) if not float(v).is_integer() else str(int(v)) for v in x]).to_numpy()

    def text(v):
        if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
            return None
        s = v.strip() if isinstance(v, str) else str(v)
        return None if s in table.missing else s

    codes, texts, uniques = _unique_map(series, text)
    missing = np.array([t is None for t in texts] + [True], dtype=bool)[codes]  # code -1: missing
    values = series.to_numpy(dtype=object)
    if missing.any():
        table.fail(missing, "ID", values, "", "a subject identifier on every record")
    token = np.array([t in _TOKENS for t in texts] + [False], dtype=bool)[codes]
    if token.any():
        table.fail_number(token, "ID", values, "a subject identifier on every record")
    if table.from_text and len(uniques):
        as_int = pd.to_numeric(pd.Series(uniques, dtype=object), errors="coerce")
        if as_int.dtype == np.int64:  # all integer text: parsed exactly (to_numeric does not go through float)
            return as_int.to_numpy(dtype=np.int64)[codes]
    ints = [_exact_int(u, table) for u in uniques]
    if all(isinstance(i, int) and not isinstance(i, bool) and -_INT64_MAX - 1 <= i <= _INT64_MAX for i in ints):
        return np.array(ints, dtype=np.int64)[codes]
    return pd.Series(np.array(texts, dtype=object)[codes]).to_numpy()


def _cmt(table: _Table):
    """The CMT column: int64 (0 where missing) unless some value is a name, then strings ("0" where missing)."""
    if "CMT" not in table.columns:
        return np.zeros(table.n, dtype=np.int64)
    series = table.columns["CMT"]
    expected = "a compartment number (1, 2, ...; 0 or '.' for none) or a compartment name such as CENTRAL"
    negative = ("is a negative compartment number, which NONMEM reads as 'turn the compartment off': "
                "pkpd cannot switch compartments off")
    if _is_numeric(series):
        x = series.to_numpy(dtype=float, na_value=np.nan)
        x = np.where(np.isnan(x) | np.isin(x, list(table.missing_numbers)), 0.0, x)
        if (x < 0).any():
            table.fail(x < 0, "CMT", x, negative, expected)
        bad = ~_integer_like(x)
        if bad.any():
            table.fail(bad, "CMT", x, "is not a compartment number or name", expected)
        return x.astype(np.int64)

    def classify(v):
        """-> ('num', int) | ('name', str) | ('neg', None) | ('bad', None)"""
        number = _parse_cell(v, table)
        if number is not None:
            if math.isnan(number):
                return "num", 0
            if math.isfinite(number) and number == round(number) and 0 <= number < MAX_EXACT_INT:
                return "num", int(number)
            return ("neg" if number < 0 else "bad"), None
        s = v.strip() if isinstance(v, str) else str(v)
        return ("name", s) if NAME.match(s) and s not in _TOKENS else ("bad", None)

    codes, kinds, uniques = _unique_map(series, classify)
    kind = np.array([k for k, _ in kinds] + ["num"], dtype=object)
    values = series.to_numpy(dtype=object)
    # a number is shown as the number it is (-1, 2.5), text as text ('two words')
    parsed = [_parse_cell(u, table) for u in uniques]
    shown = np.array([u if p is None else p for u, p in zip(uniques, parsed)] + [math.nan], dtype=object)[codes]
    if (kind[codes] == "neg").any():
        table.fail(kind[codes] == "neg", "CMT", shown, negative, expected)
    bad = kind[codes] == "bad"
    if bad.any():
        first = values[int(np.argmax(bad))]
        if isinstance(first, str) and first.strip() in _TOKENS:
            table.fail_number(bad, "CMT", values, expected)
        table.fail(bad, "CMT", shown, "is not a compartment number or name", expected)
    vals = [v for _, v in kinds]
    if all(k == "num" for k, _ in kinds):
        return np.array(vals + [0], dtype=np.int64)[codes]
    return pd.Series(np.array([str(v) for v in vals] + ["0"], dtype=object)[codes]).to_numpy()


def _covariate(table: _Table, name: str) -> pd.Series:
    """A column that is not a standard one: numbers or text as given (a file's text typed as pandas would).

    Non-finite numbers, and missing-value tokens among numbers, are errors: a weight of ``inf`` or ``NA``
    is a fault in the data, not a value to carry into a model."""
    series = table.columns[name].reset_index(drop=True)
    if _is_numeric(series):
        if pd.api.types.is_float_dtype(series.dtype):
            x = series.to_numpy(dtype=float, na_value=np.nan)
            if np.isinf(x).any():
                table.fail(np.isinf(x), name, x, "is not finite", "a finite number or '.' for missing")
        if table.missing_numbers and not pd.api.types.is_bool_dtype(series.dtype):
            x = series.to_numpy(dtype=float, na_value=np.nan)
            gone = np.isin(x, list(table.missing_numbers))
            if gone.any():
                return pd.Series(np.where(gone, np.nan, x), name=name)
        return series.copy()
    codes, uniques = _factorize(series)
    parsed, not_number = _parse_many(uniques, table)
    values = series.to_numpy(dtype=object)
    is_missing = np.append(np.isnan(parsed) & ~not_number, True)
    is_number = np.append(~np.isnan(parsed), False)
    text_of = [u.strip() if isinstance(u, str) else u for u in uniques]
    is_token = np.array([isinstance(t, str) and t in _TOKENS for t in text_of] + [False], dtype=bool)
    others = ~is_missing & ~is_number
    if is_number[:-1].any() and others[:-1].any() and not (others & ~is_token)[:-1].any():
        table.fail_number(is_token[codes], name, values, f"a number (or '.' for missing) in {name}")
    if not others[:-1].any():  # every value a number (or missing)
        x = np.append(parsed, np.nan)[codes]
        if np.isinf(x).any():
            table.fail(np.isinf(x), name, x, "is not finite", "a finite number or '.' for missing")
        if not table.from_text:
            return series.infer_objects() if series.dtype == object else series.copy()
        ints = [isinstance(u, str) and bool(_INTEGER.fullmatch(u.strip())) for u in uniques]
        has_missing = bool(is_missing[codes].any())
        if all(i or m for i, m in zip(ints, is_missing[:-1])) and any(ints):
            exact = [int(u) if i else None for u, i in zip(uniques, ints)]
            if all(e is None or abs(e) <= _INT64_MAX for e in exact):
                if not has_missing:
                    return pd.Series(np.array(exact + [0], dtype=np.int64)[codes], name=name)
                if any(e is not None and abs(e) >= MAX_EXACT_INT for e in exact):
                    return pd.Series(pd.array([exact[c] if c >= 0 else None for c in codes], dtype="Int64"), name=name)
        return pd.Series(x, name=name)
    if not table.from_text:
        return series.infer_objects() if series.dtype == object else series.copy()
    texts = [t if isinstance(t, str) else str(t) for t in text_of]
    if not is_missing[codes].any() and all(t in _TRUE or t in _FALSE for t in texts):
        return pd.Series(np.array([t in _TRUE for t in texts], dtype=bool)[codes], name=name)
    out = np.array([math.nan if m else t for t, m in zip(texts, is_missing[:-1])] + [math.nan], dtype=object)[codes]
    return pd.Series(list(out), name=name)
