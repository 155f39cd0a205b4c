"""The table being read: its columns, where each record came from, and how a failed rule is reported.

Also the vocabulary shared by the reading modules: the standard column names, the missing-value tokens and
the grammar of a number in a data file.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..errors import DatasetError
from .._internal.columns import CANONICAL_COLUMNS
from .._internal.text import show as _show, where

STANDARD = frozenset(CANONICAL_COLUMNS)
MISSING_TEXT = frozenset({"", "."})
#: What spreadsheets, R, SAS exports and databases write for a missing or failed value. These are read as
#: missing only when listed in ``na_values``: otherwise a value that should be a number is an error naming
#: the token (a DV of "NA" silently read as "no observation" would drop data without a trace).
NA_LIKE = frozenset({
    "NA", "N/A", "n/a", "na", "#N/A", "#N/A N/A", "#NA", "<NA>", "NULL", "null", "Null", "NaN", "nan", "NAN",
    "-NaN", "-nan", "None", "none", "1.#IND", "-1.#IND", "1.#QNAN", "-1.#QNAN",
})
#: A spreadsheet formula's error values: as the tokens above, errors where a number is expected.
SPREADSHEET_ERRORS = frozenset({"#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!", "#CALC!"})
_TOKENS = NA_LIKE | SPREADSHEET_ERRORS
# a number as NONMEM (and C's strtod) writes it, ASCII digits only: "nan", "1_000", "0x1A" and full-width
# digits, which Python's float() would take, are not numbers in a data file
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?inf(?:inity)?", re.IGNORECASE)
_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL_COMMA = re.compile(r"[+-]?(?:[0-9]+,[0-9]*|,[0-9]+)(?:[eE][+-]?[0-9]+)?")


class _Table:
    """Columns of the table being read, with the source of each record and the reading options, for messages."""

    def __init__(self, columns: dict[str, pd.Series], lines: np.ndarray, source: str | None, header: str,
                 missing=MISSING_TEXT, missing_numbers=frozenset(), decimal_comma: bool = False,
                 from_text: bool = False):
        self.columns = columns
        self.lines = lines
        self.source = source
        self.header = header  # "x.csv line 1 (header)" or "DataFrame columns"
        self.n = len(lines)
        self.missing = missing  # text read as missing: "", "." and the na_values
        self.missing_numbers = missing_numbers  # na_values that are numbers (-99): matched by value
        self.decimal_comma = decimal_comma  # a semicolon-separated file with decimal commas: "2,5" is 2.5
        self.from_text = from_text  # read from a file: its text columns are typed here, as pandas would

    def fail(self, bad: np.ndarray, column: str, values, problem: str, expected: str):
        """Raise a DatasetError for the first record where ``bad`` is true."""
        idx = np.flatnonzero(bad)
        i = int(idx[0])
        value = values[i] if values is not None else None
        problem = f" {problem}" if problem else ""
        msg = f"{where(self.source, self.lines[i])}, column {column}: value {_show(value)}{problem}; expected {expected}"
        if len(idx) > 1:
            msg += f" ({len(idx) - 1} more record{'s' if len(idx) > 2 else ''} with this problem, the next at {where(self.source, self.lines[idx[1]])})"
        raise DatasetError(msg)

    def fail_number(self, bad: np.ndarray, column: str, values, expected: str):
        """Raise the DatasetError for cells of ``column`` that are not numbers, naming a missing-value token."""
        first = values[int(np.argmax(bad))]
        token = first.strip() if isinstance(first, str) else None
        if token in NA_LIKE:
            self.fail(bad, column, values, "is a missing-value token, read as missing only when listed in na_values",
                      f"{expected}, or na_values=({token!r},) to read {token!r} as missing")
        if self.decimal_comma and token is not None and _NUMBER.fullmatch(token) and "." in token:
            self.fail(bad, column, values, "is ambiguous in a file with decimal commas ('.' may separate thousands)",
                      f"{expected}: a decimal comma (2,5) or no separator (1000)")
        if token in SPREADSHEET_ERRORS:
            self.fail(bad, column, values, "is a spreadsheet formula's error value",
                      f"{expected} (fix the formula in the sheet, or na_values=({token!r},) to read it as missing)")
        self.fail(bad, column, values, "is not a number", expected)


def _factorize(series: pd.Series):
    """(codes, distinct values) of a column; code -1 marks a missing cell (None, NaN)."""
    values = series.to_numpy(dtype=object)
    try:
        return pd.factorize(values)
    except TypeError:  # unhashable cells: fall back to their text
        return pd.factorize(np.array([str(v) for v in values], dtype=object))
