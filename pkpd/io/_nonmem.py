"""Read, validate and write NONMEM-style datasets (the only place that knows the file format).

Reading turns a text file or a DataFrame into the canonical event table of a :class:`Dataset`:
columns ``ID TIME EVID AMT RATE CMT II ADDL SS MDV DV`` then the other columns (covariates) as given.

One routine serves both kinds of input. A file is first turned into named columns of text, one row per
record (:func:`_read_file`: encoding, line endings, comment and header lines, separator); a DataFrame
gives its columns as they are. From there on both take the same path: the cells are parsed (numbers,
missing-value tokens, IDs, compartments) and the rules are checked, vectorised (one boolean mask per
rule). The first rule that fails raises a :class:`~pkpd.errors.DatasetError` naming the file line (or
DataFrame row), the column, the value and what was expected, on one line.
"""

from __future__ import annotations

import csv
import io
import math
import re
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DatasetError
from ..units import UnitError, to_internal
from .._internal.columns import CANONICAL_COLUMNS
from .._internal.numbers import MAX_EXACT_INT
from .._internal.text import show as _show, where
from ._dataset import Dataset

__all__ = ["read_nonmem", "read_dataset", "write_nonmem", "as_dataset"]

STANDARD = frozenset(CANONICAL_COLUMNS)
#: Columns whose values may be given in other units, and the kind of quantity they hold.
UNIT_KINDS = {"TIME": "time", "II": "time", "AMT": "amount", "RATE": "rate", "DV": "concentration"}
NUMERIC = ("TIME", "EVID", "AMT", "RATE", "II", "ADDL", "SS", "MDV", "DV")
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
NAME = re.compile(r"^[^\W\d]\w*(\.\w+)*$")  # a compartment name: CENTRAL, DEPOT, MDZ.CENTRAL
# a number as NONMEM (and C's strtod) writes it, ASCII digits only: "nan", "1_000", "0x1A" and full-width
# digits, which Python's float() would take, are not numbers in a data file
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?inf(?:inity)?", re.IGNORECASE)
_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL_COMMA = re.compile(r"[+-]?(?:[0-9]+,[0-9]*|,[0-9]+)(?:[eE][+-]?[0-9]+)?")
_TRUE, _FALSE = frozenset({"True", "TRUE", "true"}), frozenset({"False", "FALSE", "false"})
_INT64_MAX = np.iinfo(np.int64).max
# characters that make up a line without content: whitespace and the separators (",,,," is a blank
# spreadsheet row, not a record)
_NOT_CONTENT = " \t,;\x0b\x0c"
_BLANKS = " \t\x0b\x0c"  # what may precede a comment mark (as in the pattern of _skipped_line)
_BLANK_RUN = re.compile(r"[ \t]+")
#: The first bytes of binary files often renamed ``.csv``, what they are, and what to do instead.
_SIGNATURES = (
    (b"PK\x03\x04", "a ZIP archive, as an Excel .xlsx or OpenDocument .ods workbook",
     "save the sheet as CSV in the spreadsheet program, or read it with pandas.read_excel and pass the DataFrame"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an OLE2 compound document, as a legacy Excel .xls workbook",
     "save the sheet as CSV in the spreadsheet program, or read it with pandas.read_excel and pass the DataFrame"),
    (b"HEADER RECORD*******LIBRARY HEADER RECORD", "a SAS transport (XPORT) file",
     "read it with pandas.read_sas and pass the DataFrame"),
    (b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xc2\xea\x81\x60\xb3\x14\x11\xcf", "a SAS dataset (.sas7bdat)",
     "read it with pandas.read_sas and pass the DataFrame"),
    (b"\x1f\x8b", "a gzip-compressed file", "decompress it first"),
    (b"%PDF", "a PDF document", "export the table as CSV"),
    (b"PAR1", "a Parquet file", "read it with pandas.read_parquet and pass the DataFrame"),
    (b"SQLite format 3\x00", "an SQLite database", "export the table as CSV"),
    (b"{\\rtf", "an RTF document", "export the table as CSV"),
)
_PANDAS_MAJOR = int(pd.__version__.split(".")[0])


class _DatasetUnitError(DatasetError, UnitError):
    """A unit declared for a dataset column is unknown or of the wrong kind (both a DatasetError and a UnitError)."""


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


# ---------------------------------------------------------------------------------------------
# public functions
# ---------------------------------------------------------------------------------------------
def as_dataset(data) -> Dataset:
    """``data`` itself if it is a :class:`Dataset`, else :func:`read_nonmem` of it (a DataFrame or a file).

    >>> import pandas as pd
    >>> ds = as_dataset(pd.DataFrame({"ID": [1, 1], "TIME": [0, 1], "AMT": [100, 0], "DV": [None, 2.0]}))
    >>> as_dataset(ds) is ds
    True
    """
    return data if isinstance(data, Dataset) else read_nonmem(data)


def read_nonmem(data, units: Mapping[str, str] | None = None, *, id_column: str | None = None,
                mw: float | None = None, ignore="#", na_values=()) -> Dataset:
    """Read a NONMEM-style dataset from a text file or a DataFrame, validate it and return a Dataset.

    Parameters
    ----------
    data : str, Path or DataFrame
        A text file with a header line naming the columns, or a DataFrame (never modified; its rows are
        the records). See Notes for what a file may look like.
    units : mapping of str to str, optional
        Units of columns given in other than the internal units, e.g.
        ``{"TIME": "min", "AMT": "ug", "RATE": "ug/min", "II": "min", "DV": "ng/mL"}``. TIME and II
        are converted to h, AMT to mg, RATE to mg/h (the codes -1 and -2 are kept) and DV to mg/L.
    id_column : str, optional
        Name of the column holding the subject ID when it is not called ``ID`` (e.g. ``"Subject"``).
    mw : float, optional
        Molecular weight (g/mol) for a molar DV unit such as ``"nM"``.
    ignore : str or sequence of str
        NONMEM's ``IGNORE=`` for the lines of a file: characters that mark a line as a comment, matched
        against the line's first non-blank character. ``"#"`` (the default, as NONMEM's) skips lines
        starting with ``#``; ``"@"`` skips lines starting with a letter or ``@`` (NONMEM's ``IGNORE=@``,
        for NONMEM table files with their ``TABLE NO.`` and header lines); ``"C"`` skips lines starting
        with ``C`` (NONMEM's ``IGNORE=C``, for datasets whose first column ``C`` holds ``C`` on the
        records to leave out). As in NONMEM, the option replaces the default: ``ignore="#C"`` (or
        ``("#", "C")``) skips both; ``ignore=""`` skips nothing. It does not apply to a DataFrame, whose
        rows are all records (a row marked ``C`` or ``@`` there is an error: drop it first).
    na_values : str or sequence of str or float
        Values read as missing in every column, besides ``.`` and an empty field (NONMEM's two), e.g.
        ``("NA",)`` for a file written by R, ``("#N/A",)`` for one from Excel or ``(-99,)``. A
        number matches by value (``-99`` matches ``-99.0``), text after stripping blanks, case-sensitive.
        Without it such tokens (``NA``, ``#N/A``, ``NULL``, ``NaN``, ...) are an error wherever a number
        is expected: never silently dropped.

    Returns
    -------
    Dataset
        The canonical event table ``ID TIME EVID AMT RATE CMT II ADDL SS MDV DV`` + covariates.

    Notes
    -----
    **Files.** Bytes are decoded as UTF-8 (with or without a byte-order mark), UTF-16 or UTF-32 (with a
    byte-order mark, or UTF-16 recognised by its zero bytes), else as Windows-1252 / Latin-1; a
    spreadsheet or other binary file (an ``.xlsx`` or ``.xls`` workbook renamed ``.csv``, ...) is an
    error saying what the file looks like. Line endings may be LF, CRLF or CR. Blank lines, lines of
    separators only (``,,,,``: an empty spreadsheet row) and comment lines (``ignore``) are skipped; line
    numbers in messages count every line. The header is the first other line; a header commented out for
    NONMEM (``#ID,TIME,AMT,DV`` or ``C,ID,TIME,...`` ahead of the first record) is recognised: when the
    first line that is not skipped is a record, the nearest skipped line before it that names the
    columns is the header. The header's separator is that of the whole file: comma (with ``"``
    quotes), tab (each tab separates: an empty field between two tabs is a missing value, as Excel
    writes it), semicolon (then a decimal comma, ``2,5``, is read as 2.5, as European spreadsheets write
    it) or, with none of those, runs of blanks (NONMEM's classic format). A record with fewer fields
    than the header has missing values at the end; one with more is an error. A record whose first field
    is ``C`` (alone, or followed by blanks and text) or starts with ``@``, while that mark is not in
    ``ignore``, is an error: NONMEM would skip it only with ``IGNORE=C`` (``IGNORE=@``), and reading it
    as data would keep a record meant to be left out.

    **Values.** Standard column names are matched case-insensitively and upper-cased; other columns keep
    their names; two columns with the same name (after case-folding) are an error. ID and TIME are
    required, and at least one of AMT and DV. Numbers are written with ASCII digits (``1e308`` is a
    number, ``1e309``, ``inf`` and ``nan`` are not finite, or not numbers), ``.`` or an empty field is
    missing, and ``na_values`` add missing-value tokens. Integer IDs are kept exactly, as int64 (a
    17-digit ID neither changes nor merges with its neighbour; beyond int64 they are kept as text); IDs
    that are not all integers are kept as text (stripped). A DataFrame's float ID beyond 2**53 is an
    error: there distinct integers share one float, so subjects may already have merged. Missing AMT, RATE, II, ADDL, SS and CMT values are 0. EVID, when absent (or
    missing on a record), is derived as NM-TRAN does: 1 where AMT or RATE is non-zero, else 2 where MDV
    is 1, else 0. MDV, when absent or missing, is 1 on non-observation records and where DV is missing,
    else 0. CMT is an integer column (0 where missing) unless some value is a compartment name, then a
    column of strings; a negative CMT (NONMEM's "turn compartment off") is an error, since the
    simulation engine cannot switch compartments off. Covariate columns read from a file are numbers
    when every value is one (int64 when all are integers and none is missing), else text; a
    non-finite covariate is an error, and so is a missing-value token in an otherwise numeric one. A column
    named like a NONMEM data item under another name (``interval``/``tau``, ``dose``, ``route``, ``conc``,
    ``subject``, ...) is kept as a covariate and warns when that item (II, AMT, CMT, DV, ID, ...) is absent.

    **Subjects.** NONMEM starts a new individual wherever ID changes from one record to the next, so
    ID 1, 1, 2, 2, 1, 1 is three individuals. pkpd identifies a subject by its ID (``Dataset.subject``,
    parameters per ID, results per ID), so it cannot hold two individuals with the same ID: a subject
    whose records come back after another subject's is an error naming the record, and the records of
    each individual must be together (give the third individual its own ID).

    Raises
    ------
    DatasetError
        For every malformed input; the message names the file line (header = line 1) or the
        DataFrame row (1-based), the column, the value and what was expected.

    Examples
    --------
    >>> import pandas as pd
    >>> from pkpd.io import read_nonmem
    >>> frame = pd.DataFrame({"id": [1, 1, 1], "time": [0, 30, 60], "amt": [500, 0, 0],
    ...                       "dv": [None, 2100, 1500], "WT": [70, 70, 70]})
    >>> ds = read_nonmem(frame, units={"TIME": "min", "AMT": "ug", "DV": "ng/mL"})
    >>> ds.to_frame()
       ID  TIME  EVID  AMT  RATE  CMT   II  ADDL  SS  MDV   DV  WT
    0   1   0.0     1  0.5   0.0    0  0.0     0   0    1  NaN  70
    1   1   0.5     0  0.0   0.0    0  0.0     0   0    0  2.1  70
    2   1   1.0     0  0.0   0.0    0  0.0     0   0    0  1.5  70
    >>> read_nonmem(pd.DataFrame({"ID": [1, 1], "TIME": [0, -1], "DV": [1.0, 2.0]}))
    Traceback (most recent call last):
    ...
    pkpd.errors.DatasetError: row 2, column TIME: value -1 is negative; expected a time >= 0

    A file exported by R (``NA`` for missing) with NONMEM's commented-out header, and one from a
    European spreadsheet (semicolons, decimal commas):

    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "r.csv").write_text("#ID,TIME,AMT,DV\\n1,0,100,NA\\n1,1,.,2.5\\n")
    >>> read_nonmem(folder / "r.csv")
    Traceback (most recent call last):
    ...
    pkpd.errors.DatasetError: r.csv line 2, column DV: value 'NA' is a missing-value token, read as missing only when listed in na_values; expected a number (or '.' for missing) in DV, or na_values=('NA',) to read 'NA' as missing
    >>> read_nonmem(folder / "r.csv", na_values=("NA",)).events[["ID", "TIME", "AMT", "DV"]]
       ID  TIME    AMT   DV
    0   1   0.0  100.0  NaN
    1   1   1.0    0.0  2.5
    >>> _ = (folder / "eu.csv").write_bytes("ID;TIME;AMT;DV\\n1;0;100;\\n1;1,5;;2,25\\n".encode("utf-16"))
    >>> read_nonmem(folder / "eu.csv").events["DV"].tolist()
    [nan, 2.25]

    A NONMEM dataset whose first column ``C`` marks the records to leave out:

    >>> _ = (folder / "c.csv").write_text("C,ID,TIME,AMT,DV\\n.,1,0,100,.\\nC,1,0.5,0,99\\n.,1,1,0,2.5\\n")
    >>> read_nonmem(folder / "c.csv", ignore="#C").events["DV"].tolist()
    [nan, 2.5]
    """
    return read_dataset(data, units, id_column, mw, ignore, na_values)


def read_dataset(data, units=None, id_column=None, mw=None, ignore="#", na_values=(), *, time_order: bool = True,
                 simulation: bool = False) -> Dataset:
    """:func:`read_nonmem`, with rules that a caller may take over or drop.

    ``time_order=False`` leaves TIME going back within a subject to the caller (nca names it its own way).
    ``simulation=True`` (simulate's table) drops the rules on what a record observed, which no prediction
    depends on: a missing DV on a record with MDV 0 (a table of times to predict at), MDV 0 on a dose record,
    and a dose record without amount or rate (EVID 1, AMT 0, RATE 0: run as the nothing it doses). In a
    data file for a fit each is likely a mistake; every rule on doses, times, IDs and compartments stays."""
    ignore_chars = _ignore_option(ignore)
    missing, missing_numbers = _na_option(na_values)
    table = _load(data, id_column, ignore_chars, missing, missing_numbers)
    declared = _check_units(units, table)
    events = _canonical(table, time_order, simulation)
    events = _convert_units(events, declared, mw, table)
    return Dataset(events, table.lines, table.source)


def write_nonmem(data, path, missing: str = ".") -> None:
    """Write a dataset as a NONMEM-style CSV file that :func:`read_nonmem` reads back unchanged.

    Parameters
    ----------
    data : Dataset or DataFrame
        A Dataset, or a table that :func:`read_nonmem` accepts (it is validated first).
    path : str or Path
        The file to write (comma-separated, with a header line; floats written with full precision).
    missing : str
        How missing values are written: ``"."`` (NONMEM's convention) or ``""``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from pkpd.io import load_dataset, read_nonmem, write_nonmem
    >>> ds = load_dataset("indometacin")
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "indometacin.csv"
    >>> write_nonmem(ds, path)
    >>> print(path.read_text().splitlines()[0])
    ID,TIME,EVID,AMT,RATE,CMT,II,ADDL,SS,MDV,DV
    >>> read_nonmem(path) == ds
    True
    """
    if missing not in MISSING_TEXT:
        raise DatasetError(f"missing={missing!r}: expected '.' or '' (the values read_nonmem reads as missing)")
    ds = as_dataset(data)
    ds._events.to_csv(path, index=False, na_rep=missing, lineterminator="\n")


# ---------------------------------------------------------------------------------------------
# options
# ---------------------------------------------------------------------------------------------
def _ignore_option(ignore) -> frozenset[str]:
    if ignore is None:
        return frozenset()
    items = list(ignore) if isinstance(ignore, str) else ignore
    try:
        chars = list(items)
    except TypeError:
        chars = None
    if chars is None or not all(isinstance(c, str) and len(c) == 1 and not c.isspace() for c in chars):
        raise DatasetError(f"ignore={ignore!r}: expected comment characters such as '#' (the default), '@' or 'C', "
                           "as a string ('#C') or a sequence of one-character strings")
    return frozenset(chars)


def _na_option(na_values) -> tuple[frozenset[str], frozenset[float]]:
    if na_values is None:
        na_values = ()
    items = [na_values] if isinstance(na_values, (str, int, float)) else na_values
    try:
        items = list(items)
    except TypeError:
        items = None
    ok = items is not None and all(
        (isinstance(v, str) and v.strip() == v and v) or (isinstance(v, (int, float, np.integer, np.floating))
                                                          and not isinstance(v, bool) and math.isfinite(v))
        for v in items)
    if not ok:
        raise DatasetError(f"na_values={na_values!r}: expected missing-value tokens such as ('NA',) or ('#N/A', -99): "
                           "non-empty strings without surrounding blanks, or finite numbers")
    texts = {str(v) for v in items if isinstance(v, str)}
    numbers = {float(v) for v in items if not isinstance(v, str)}
    numbers |= {float(t) for t in texts if _NUMBER.fullmatch(t) and math.isfinite(float(t))}
    texts |= {repr(int(v)) if float(v).is_integer() else repr(float(v)) for v in items if not isinstance(v, str)}
    return MISSING_TEXT | texts, frozenset(numbers)


# ---------------------------------------------------------------------------------------------
# loading: file or DataFrame -> named columns + source lines
# ---------------------------------------------------------------------------------------------
def _load(data, id_column, ignore_chars, missing, missing_numbers) -> _Table:
    decimal_comma = from_text = False
    if isinstance(data, pd.DataFrame):
        names = [str(c) for c in data.columns]
        if len(data) == 0:
            raise DatasetError(f"the DataFrame has no rows; expected records with columns {', '.join(names) or 'ID, TIME, ...'}")
        columns = [column for _, column in data.items()]  # views: never modified
        lines, source, header = np.arange(1, len(data) + 1), None, "DataFrame columns"
    elif isinstance(data, (str, Path)):
        names, columns, lines, source, header, decimal_comma = _read_file(Path(data), ignore_chars, id_column, missing)
        from_text = True
    else:
        raise DatasetError(f"read_nonmem takes a CSV file path or a DataFrame, not {type(data).__name__}")
    original = names
    names = _normalise_names(names, id_column, header)
    table = _Table(dict(zip(names, columns)), lines, source, header, missing, missing_numbers, decimal_comma, from_text)
    # a DataFrame's rows are never skipped: a C (or @) row there is always an error
    _check_c_records(table, original[0], ignore_chars if from_text else frozenset())
    return table


def _comment_mark(field) -> str:
    """'C' or '@' when a record's first field marks it as a comment under NONMEM's IGNORE=C or IGNORE=@, else ''.

    ``C`` alone or followed by blanks and text (a comment line of a comma-separated file is one field), or
    anything starting with ``@``; a text ID such as ``CTL-01`` is no mark."""
    if not isinstance(field, str):
        return ""
    text = field.lstrip()
    if text == "C" or text[:2] in ("C ", "C\t"):
        return "C"
    return "@" if text[:1] == "@" else ""


def _check_c_records(table: _Table, first: str, ignore_chars):
    """NONMEM's IGNORE=C and IGNORE=@: a record marked so is left out by NONMEM only with that option, so
    without it the record is an error here (reading it as data would keep what was meant to be left out)."""
    if not table.columns:
        return
    series = next(iter(table.columns.values()))
    if pd.api.types.is_numeric_dtype(series.dtype):
        return
    codes, uniques = _factorize(series)
    marks = [_comment_mark(v) for v in uniques]
    bad = np.array([bool(m) and m not in ignore_chars for m in marks] + [False], dtype=bool)[codes]
    if bad.any():
        values = series.to_numpy(dtype=object)
        mark = marks[codes[int(np.argmax(bad))]]
        how = (f"ignore='#{mark}' to skip the records starting with {mark}, as NONMEM's IGNORE={mark}" if table.source
               else f"the rows marked {mark} dropped before reading (NONMEM's IGNORE={mark})")
        table.fail(bad, first, values, f"marks a record that NONMEM skips only with IGNORE={mark}", how)


def _decode(raw: bytes, source: str) -> str:
    """The text of a file: UTF-8/16/32 by byte-order mark, BOM-less UTF-16 by its zeros, else UTF-8 or Windows-1252."""
    for magic, what, advice in _SIGNATURES:
        if raw.startswith(magic):
            raise DatasetError(f"{source} line 1, column 1: value {raw[:len(magic)][:8]!r} begins {what}, not text; "
                               f"expected a text file of values separated by commas, tabs, semicolons or blanks: {advice}")
    encoding = None
    if raw.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        encoding = "utf-32"
    elif raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    elif len(raw) >= 4 and b"\x00" in raw[:200]:
        head = raw[:200 - 200 % 2]
        even, odd = head[0::2], head[1::2]
        if odd.count(0) >= 0.9 * len(odd) and even.count(0) <= 0.1 * len(even):
            encoding = "utf-16-le"  # ASCII text written as UTF-16 without a byte-order mark
        elif even.count(0) >= 0.9 * len(even) and odd.count(0) <= 0.1 * len(odd):
            encoding = "utf-16-be"
    if encoding:
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError as err:
            line = raw[:err.start].decode(encoding, errors="replace").count("\n") + 1
            raise DatasetError(f"{source} line {line}: bytes {raw[err.start:err.start + 4]!r} are not valid {encoding.upper()} "
                               f"({err.reason}); expected a text file in one encoding") from None
    else:
        body = raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            try:  # what Excel and older tools on Windows write ("latin-1" headers: Größe, µg/mL)
                text = body.decode("cp1252")
            except UnicodeDecodeError:
                text = body.decode("latin-1")
    text = text.lstrip("\ufeff")
    nul = text.find("\x00")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        at = nul - text.rfind("\n", 0, nul)
        raise DatasetError(f"{source} line {line}: character {at} of the line is a NUL byte, as in binary files, "
                           "not text; expected a text file of values separated by commas, tabs, semicolons or blanks")
    return text


def _read_file(path: Path, ignore_chars, id_column, missing):
    """-> (names, columns, file line of each record, file name, header location, decimal comma)."""
    source = path.name
    text = _decode(path.read_bytes(), source)
    # CRLF (Windows) and lone CR (classic Mac OS, some Excel exports) both end a line
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    header_i, head, records = _locate(lines, ignore_chars, id_column, source)
    header = f"{source} line {header_i + 1} (header)"
    sep = _separator(head)
    names = _header_names(head, sep, header, has_records=bool(records))
    id_j = _normalise_names(names, id_column, header).index("ID") if _has_id(names, id_column) else None
    contiguous = bool(records) and records[-1] - records[0] == len(records) - 1
    body = "\n".join(lines[records[0]:records[-1] + 1] if contiguous else [lines[i] for i in records])
    file_lines = np.asarray(records, dtype=np.int64) + 1
    # A semicolon-separated file with a comma between digits anywhere is from a decimal-comma locale: every
    # number is then parsed here (a "." in it is ambiguous). Otherwise pandas parses the numbers, with only
    # NONMEM's missing values (and na_values) as missing: "NA", "NaN", "nan" stay text, for an error here.
    decimal_comma = sep == ";" and re.search(r"[0-9],[0-9]", body) is not None
    options = dict(header=None, names=list(range(len(names))), index_col=False, keep_default_na=False,
                   na_values=sorted(missing), skip_blank_lines=False, low_memory=False)
    # IDs as text, parsed here: through float64 two 17-digit IDs could merge
    options["dtype"] = str if decimal_comma else ({id_j: str} if id_j is not None else None)
    if _PANDAS_MAJOR < 3:
        options["float_precision"] = "round_trip"
    if sep is None:
        options.update(sep=r"\s+")
    else:  # a tab always separates: two tabs hold an empty (missing) field, as spreadsheets write them
        options.update(sep=sep, skipinitialspace=sep != "\t")
    try:
        with warnings.catch_warnings():
            # extra fields on the first record only warn ("loss of data"): make that an error too
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(io.StringIO(body), **options)
    except (pd.errors.ParserError, pd.errors.ParserWarning, csv.Error, ValueError) as err:
        _raise_field_count(lines, records, len(names), sep, source, err)
    if len(frame) != len(file_lines):
        raise DatasetError(
            f"{source}: read {len(frame)} records from {len(file_lines)} data lines; expected one record per line "
            "(no line breaks inside quoted fields)"
        )
    return names, [frame.iloc[:, j] for j in range(len(names))], file_lines, source, header, decimal_comma


def _has_id(names, id_column) -> bool:
    keys = {n.strip().upper() for n in names}
    return "ID" in keys or (id_column is not None and (id_column in names or str(id_column).strip().upper() in keys))


def _skipped_line(ignore_chars) -> re.Pattern:
    """Finds a blank or comment line (the same lines as :func:`_is_blank` and :func:`_is_comment`)."""
    # searched in "\n" + text + "\n": every alternative starts with a newline, which the engine finds fast
    marks = "".join(re.escape(c) for c in sorted(ignore_chars))
    first = "|".join(([f"[{marks}]"] if marks else []) + (["[^\\W\\d_]"] if "@" in ignore_chars else []))
    return re.compile(r"\n[ \t\x0b\x0c,;]*\n" + (rf"|\n[ \t\x0b\x0c]*(?:{first})" if first else ""))


def _is_blank(line: str) -> bool:
    return not line.strip(_NOT_CONTENT)


def _is_comment(line: str, chars) -> bool:
    s = line.lstrip(_BLANKS)
    return bool(s) and (s[0] in chars or ("@" in chars and s[0].isalpha()))


def _separator(line: str):
    """The field separator of a line: the most frequent of comma, tab and semicolon; None (blanks) if none."""
    counts = {sep: line.count(sep) for sep in (",", "\t", ";")}
    best = max(counts, key=counts.get)
    return best if counts[best] else None


def _split(line: str, sep) -> list[str]:
    if sep is None:  # blanks as pandas' whitespace separator sees them: spaces and tabs only
        return _BLANK_RUN.split(line.strip(" \t")) if line.strip(" \t") else []
    return [f.strip() for f in next(csv.reader([line], delimiter=sep, skipinitialspace=True), [])]


def _is_number_text(text: str, decimal_comma: bool = True) -> bool:
    return bool(_NUMBER.fullmatch(text) or (decimal_comma and _DECIMAL_COMMA.fullmatch(text)))


def _known_name(name: str, id_column) -> bool:
    key = name.strip().upper()
    return key in STANDARD or (id_column is not None and key == str(id_column).strip().upper())


def _looks_like_record(line: str, id_column) -> bool:
    """A line with a number (or '.') among its fields and no column name: data, not a header."""
    try:
        fields = _split(line, _separator(line))
    except csv.Error:
        return False
    return (not any(_known_name(f, id_column) for f in fields)
            and any(f == "." or _is_number_text(f) for f in fields))


def _header_forms(line: str, ignore_chars) -> list[str]:
    """Ways a skipped line may hold the header: '#ID,TIME' -> 'ID,TIME'; 'C,ID,TIME' as is; 'C ID TIME' -> 'ID TIME'."""
    s = line.strip()
    forms = [s.lstrip("#@").strip(), s]
    first = _split(s, _separator(s))[:1] if s else []
    if first and first[0] in ignore_chars:
        rest = s[s.index(first[0]) + len(first[0]):].lstrip().lstrip(",;\t").strip()
        forms.append(rest)
    return [f for f in dict.fromkeys(forms) if f]


def _header_names_of(form: str, id_column):
    try:
        names = _split(form, _separator(form))
    except csv.Error:
        return None
    if (not names or not all(names) or not any(_known_name(n, id_column) for n in names)
            or any(_is_number_text(n) for n in names)):
        return None
    return names


def _locate(lines, ignore_chars, id_column, source):
    """0-based index of the header line, its text, and the 0-based indexes of the record lines.

    The header is the first line that is neither blank nor a comment, unless that line is a record: then it
    is the nearest comment line before it that names the columns (a header commented out for NONMEM)."""
    comments = []
    first = None
    for i, line in enumerate(lines):
        if _is_blank(line):
            continue
        if _is_comment(line, ignore_chars):
            comments.append(i)
            continue
        first = i
        break
    if first is None:
        raise DatasetError(f"{source} line 1: the file is empty (no line besides blank and comment lines); "
                           "expected a header line naming the columns (ID, TIME, AMT, DV, ...)")
    if _looks_like_record(lines[first], id_column):
        n_fields = len(_split(lines[first], _separator(lines[first])))
        found = None
        for i in reversed(comments):
            candidates = [(form, names) for form in _header_forms(lines[i], ignore_chars)
                          if (names := _header_names_of(form, id_column))]
            exact = [c for c in candidates if len(c[1]) == n_fields]
            if exact or candidates:
                found = (i, (exact or candidates)[0][0])
                break
        if found is None and lines[first].strip().upper().startswith("TABLE NO."):
            raise DatasetError(
                f"{source} line {first + 1}, column 1: value {lines[first].strip()[:60]!r} starts a NONMEM table file; "
                "expected ignore='@' to skip its 'TABLE NO.' and header lines (NONMEM's IGNORE=@), or a plain header line")
        if found is None:
            raise DatasetError(
                f"{source} line {first + 1}, column 1: value {lines[first].strip()[:60]!r} is a record, but no header "
                "line comes before it; expected a header line naming the columns (ID, TIME, AMT, DV, ...) first, "
                "plain or commented out as '#ID,TIME,AMT,DV'")
        header_i, head = found
    else:
        header_i = first
        head = lines[first].strip()
        if head[:1] in ("#", "@"):  # '#ID TIME ...' read with ignore='' (or '@ID'): the mark is no part of a name
            head = head.lstrip("#@").strip()
    last = len(lines)
    while last > header_i + 1 and not lines[last - 1].strip(_NOT_CONTENT):
        last -= 1
    if not _skipped_line(ignore_chars).search("\n" + "\n".join(lines[header_i + 1:last]) + "\n"):
        return header_i, head, list(range(header_i + 1, last))  # fast path: every line a record
    letters = "@" in ignore_chars
    records = []
    for i in range(header_i + 1, len(lines)):  # inline: this loop runs once per line of a large file
        line = lines[i]
        if line.strip(_NOT_CONTENT):
            c = line.lstrip(_BLANKS)[0]
            if not (c in ignore_chars or (letters and c.isalpha())):
                records.append(i)
    return header_i, head, records


def _header_names(head: str, sep, header: str, has_records: bool) -> list[str]:
    try:
        names = _split(head, sep)
    except csv.Error as err:
        raise DatasetError(f"{header}, column 1: value {head[:60]!r} cannot be split into column names ({err}); "
                           "expected names separated by commas, tabs, semicolons or blanks") from None
    if not has_records:
        raise DatasetError(f"{header}: the file has a header ({', '.join(names)}) but no records; expected data lines after it")
    empty = [j for j, n in enumerate(names) if not n]
    if empty:
        raise DatasetError(f"{header}, column {empty[0] + 1}: value '' is an empty column name; expected a name for every column")
    return names


def _raise_field_count(lines, records, n_names, sep, source, err):
    """Find the first data line with more fields than the header (slow path, on a parse error only)."""
    for i in records:
        line = lines[i]
        try:
            fields = _split(line, None) if sep is None else next(csv.reader([line], delimiter=sep, skipinitialspace=sep != "\t"), [])
        except csv.Error:
            fields = None
        if fields is None or len(fields) > n_names:
            got = "unparseable" if fields is None else f"{len(fields)} fields"
            mark = _comment_mark(fields[0] if fields else line)
            hint = f", or ignore='#{mark}' if it is a comment (NONMEM's IGNORE={mark})" if mark else ""
            raise DatasetError(
                f"{source} line {i + 1}, column {n_names + 1}: value {line[:60]!r} has {got}; expected at most {n_names} fields as in the header{hint}"
            ) from None
    reason = " ".join(str(err).split())  # one line
    raise DatasetError(f"{source}: the file could not be parsed as CSV ({reason}); expected a header line and one record per line") from None


def _first_duplicate(names):
    seen = {}
    for j, name in enumerate(names):
        key = name.strip().upper()
        if key in seen:
            return seen[key], (j, name)
        seen[key] = (j, name)
    return None


def _normalise_names(names, id_column, header):
    dup = _first_duplicate(names)
    if dup:
        (j0, a), (j1, b) = dup
        if a == b:
            raise DatasetError(f"{header}, column {b}: duplicate column name ({a!r} is both column {j0 + 1} and "
                               f"column {j1 + 1}); expected unique names")
        raise DatasetError(
            f"{header}, column {b}: duplicate column name ({a!r} and {b!r} are the same after case-folding); expected unique names"
        )
    out = [n.strip().upper() if n.strip().upper() in STANDARD else n for n in names]
    if id_column is not None:
        matches = [j for j, n in enumerate(names) if n == id_column] or [
            j for j, n in enumerate(names) if n.strip().upper() == str(id_column).strip().upper()
        ]
        if not matches:
            raise DatasetError(f"{header}: id_column {id_column!r} is not a column; the columns are {', '.join(names)}")
        j = matches[0]
        if "ID" in out and out.index("ID") != j:
            raise DatasetError(
                f"{header}, column ID: both {names[out.index('ID')]!r} and id_column {id_column!r} would be the ID column; expected one"
            )
        out[j] = "ID"
    return out


# ---------------------------------------------------------------------------------------------
# parsing values
# ---------------------------------------------------------------------------------------------
def _factorize(series: pd.Series):
    """(codes, distinct values) of a column; code -1 marks a missing cell (None, NaN)."""
    values = series.to_numpy(dtype=object)
    try:
        return pd.factorize(values)
    except TypeError:  # unhashable cells: fall back to their text
        return pd.factorize(np.array([str(v) for v in values], dtype=object))


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


# ---------------------------------------------------------------------------------------------
# the canonical table and its rules
# ---------------------------------------------------------------------------------------------
def _canonical(table: _Table, time_order: bool = True, simulation: bool = False) -> pd.DataFrame:
    cols = table.columns
    for required in ("ID", "TIME"):
        if required not in cols:
            hint = " (or pass id_column=...)" if required == "ID" else ""
            raise DatasetError(
                f"{table.header}: column {required} is missing (the columns are {', '.join(cols)}); "
                f"expected a column named {required}{hint}"
            )
    if "AMT" not in cols and "DV" not in cols:
        raise DatasetError(
            f"{table.header}: columns AMT and DV are both missing (the columns are {', '.join(cols)}); "
            "expected an AMT column (doses), a DV column (observations) or both"
        )
    ids = _ids(table)
    x = {name: (_numbers(table, name) if name in cols else np.full(table.n, np.nan)) for name in NUMERIC}
    cmt = _cmt(table)
    for name in ("AMT", "RATE", "II", "ADDL", "SS"):
        x[name] = np.where(np.isnan(x[name]), 0.0, x[name])
    _check_values(table, x)
    x["EVID"] = _derive_evid(x)
    x["MDV"] = _derive_mdv(x)
    _check_records(table, x, simulation)
    _check_order(table, ids, x["TIME"], x["EVID"], time_order)

    out = {
        "ID": ids,
        "TIME": x["TIME"],
        "EVID": x["EVID"].astype(np.int64),
        "AMT": x["AMT"],
        "RATE": x["RATE"],
        "CMT": cmt,
        "II": x["II"],
        "ADDL": x["ADDL"].astype(np.int64),
        "SS": x["SS"].astype(np.int64),
        "MDV": x["MDV"].astype(np.int64),
        "DV": x["DV"],
    }
    frame = pd.DataFrame(out)
    others = [name for name in cols if name not in STANDARD]
    _warn_lookalikes(table, others)
    if others:
        extra = pd.DataFrame({name: _covariate(table, name) for name in others})
        frame = pd.concat([frame, extra], axis=1)
    return frame


#: Names under which other tools and spreadsheets often hold a NONMEM data item: such a column is kept as a
#: covariate, and when the NONMEM column it stands for is absent, reading it warns (``interval`` is not ``II``).
_LOOKALIKES = {"INTERVAL": "II", "TAU": "II", "DOSING_INTERVAL": "II", "DOSE": "AMT", "AMOUNT": "AMT",
               "ROUTE": "CMT", "COMPARTMENT": "CMT", "CONC": "DV", "CONCENTRATION": "DV", "OBS": "DV",
               "SUBJECT": "ID", "PATIENT": "ID", "EVENT": "EVID", "STEADY_STATE": "SS", "INFUSION_RATE": "RATE"}
_LOOKALIKE_HINT = {"II": "the dosing interval is II (with SS=1 for a steady state, or ADDL for repeated doses)",
                   "AMT": "the dose amount is AMT", "CMT": "the dosed or observed compartment is CMT",
                   "DV": "the observed value is DV", "ID": "the subject is ID", "EVID": "the event type is EVID",
                   "SS": "steady state is SS", "RATE": "the infusion rate is RATE"}


def _warn_lookalikes(table: _Table, others):
    for name in others:
        standard = _LOOKALIKES.get(str(name).strip().upper())
        if standard is not None and standard not in table.columns:
            warnings.warn(f"{table.header}: column {name!r} is kept as a covariate, and there is no {standard} column: "
                          f"in a NONMEM dataset {_LOOKALIKE_HINT[standard]}; rename the column if that is what it "
                          "holds", UserWarning, stacklevel=2)


def _check_values(t: _Table, x):
    """Rules on single values (before EVID/MDV are derived)."""
    time, rate, addl, ss = x["TIME"], x["RATE"], x["ADDL"], x["SS"]
    if np.isnan(time).any():
        t.fail(np.isnan(time), "TIME", time, "", "a time (h) on every record")
    finite = np.isfinite(time)
    if not finite.all():
        t.fail(~finite, "TIME", time, "is not finite", "a finite time >= 0")
    if (time < 0).any():
        t.fail(time < 0, "TIME", time, "is negative", "a time >= 0")
    for name in ("AMT", "II"):
        v = x[name]
        if not np.isfinite(v).all():
            t.fail(~np.isfinite(v), name, v, "is not finite", f"a finite {name} >= 0")
        if (v < 0).any():
            t.fail(v < 0, name, v, "is negative", f"{'an amount' if name == 'AMT' else 'a dosing interval'} >= 0")
    bad_rate = ~(np.isfinite(rate) & ((rate >= 0) | (rate == -1) | (rate == -2)))
    if bad_rate.any():
        t.fail(bad_rate, "RATE", rate, "is not a valid rate", "a rate >= 0, or -1 (modelled rate) or -2 (modelled duration)")
    bad_addl = ~_integer_like(addl) | (addl < 0)
    if bad_addl.any():
        t.fail(bad_addl, "ADDL", addl, "is not a count of additional doses", "an integer >= 0")
    bad_ss = ~np.isin(ss, (0, 1, 2))
    if bad_ss.any():
        t.fail(bad_ss, "SS", ss, "is not a steady-state code", "0 (none), 1 (reset to steady state) or 2 (add steady state)")
    evid = x["EVID"]
    bad_evid = ~(np.isnan(evid) | np.isin(evid, (0, 1, 2, 3, 4)))
    if bad_evid.any():
        t.fail(bad_evid, "EVID", evid, "is not a known event type", "0 (observation), 1 (dose), 2 (other), 3 (reset) or 4 (reset and dose)")
    mdv = x["MDV"]
    bad_mdv = ~(np.isnan(mdv) | np.isin(mdv, (0, 1)))
    if bad_mdv.any():
        t.fail(bad_mdv, "MDV", mdv, "is not a missing-DV flag", "0 (DV is an observation) or 1 (no observation)")
    dv = x["DV"]
    inf_dv = np.isinf(dv)
    if inf_dv.any():
        t.fail(inf_dv, "DV", dv, "is not finite", "a finite observation or '.' for missing")


def _derive_evid(x) -> np.ndarray:
    evid = x["EVID"]
    missing = np.isnan(evid)
    if not missing.any():
        return evid
    dose = (x["AMT"] != 0) | (x["RATE"] != 0)
    derived = np.where(dose, 1.0, np.where(x["MDV"] == 1, 2.0, 0.0))
    return np.where(missing, derived, evid)


def _derive_mdv(x) -> np.ndarray:
    mdv = x["MDV"]
    missing = np.isnan(mdv)
    if not missing.any():
        return mdv
    derived = np.where((x["EVID"] != 0) | np.isnan(x["DV"]), 1.0, 0.0)
    return np.where(missing, derived, mdv)


def _check_records(t: _Table, x, simulation: bool = False):
    """Rules relating the values of one record (``simulation``: without those on observed values, see read_dataset)."""
    evid, amt, rate, ii, addl, ss, mdv, dv = (x[k] for k in ("EVID", "AMT", "RATE", "II", "ADDL", "SS", "MDV", "DV"))
    dose = (evid == 1) | (evid == 4)
    observed = not simulation
    rules = [
        (~dose & (amt != 0), "AMT", amt, "is a dose on a record that is not a dose event (EVID 0, 2 or 3)",
         "AMT 0 (or '.') unless EVID is 1 or 4"),
        ((evid != 0) & (mdv == 0) & observed, "MDV", mdv, "marks an observation on a record that is not an observation (EVID 1-4)",
         "MDV 1 on dose and other-event records"),
        ((evid == 0) & (mdv == 0) & np.isnan(dv) & observed, "DV", dv, "is missing on an observation record (EVID 0, MDV 0)",
         "an observed value, or MDV 1 for a record without observation"),
        (dose & (amt == 0) & (rate == 0) & ((ss != 0) | observed), "AMT", amt,
         "gives nothing on a dose record (AMT 0 and RATE 0)",
         "AMT > 0 on a dose record (EVID 1 or 4), or RATE > 0 with SS 1/2 and II 0 for a constant infusion"),
        (dose & (ss == 0) & (amt == 0) & (rate != 0), "RATE", rate, "is given with AMT 0 on a dose record that is not steady state",
         "AMT > 0 for an infusion (a rate without an amount is only allowed for a steady-state infusion: SS 1/2, II 0)"),
        ((addl > 0) & (ii == 0), "ADDL", addl, "asks for additional doses without an interval (II 0)",
         "II > 0 when ADDL > 0"),
        (dose & (ss > 0) & (ii == 0) & (rate == 0), "II", ii, "leaves a steady-state bolus (SS > 0, RATE 0) without a dosing interval",
         "II > 0 (the dosing interval); II 0 is only allowed for a steady-state infusion with AMT 0 and RATE > 0"),
        # a steady-state constant infusion (SS > 0, II 0, AMT 0) runs at RATE, or at the modelled rate R<n>
        # (RATE -1) as NONMEM allows; a modelled duration (RATE -2) has no meaning without an amount
        (dose & (ss > 0) & (ii == 0) & (rate == -2), "RATE", rate, "is a modelled duration on a steady-state dose without interval (II 0)",
         "II > 0, or RATE > 0 (or -1, a modelled rate) with AMT 0 for a constant infusion"),
        (dose & (ss > 0) & (ii == 0) & ((rate > 0) | (rate == -1)) & (amt != 0), "AMT", amt,
         "is given on a steady-state constant infusion (SS > 0, II 0)", "AMT 0 with II 0 (a constant infusion at RATE), or II > 0"),
        (dose & (ss > 0) & (ii > 0) & (amt == 0), "AMT", amt, "is 0 on a steady-state dose with an interval (II > 0)",
         "AMT > 0 (or II 0 with RATE > 0 for a constant infusion)"),
    ]
    for bad, column, values, problem, expected in rules:
        if bad.any():
            t.fail(bad, column, values, problem, expected)


def _check_order(t: _Table, ids, time, evid, time_order: bool = True):
    """Subjects contiguous; TIME non-decreasing within a subject except after a reset (EVID 3/4)."""
    codes = pd.factorize(ids)[0]
    same = np.r_[False, codes[1:] == codes[:-1]]
    starts = np.flatnonzero(~same)
    seen_before = pd.Index(codes[starts]).duplicated()
    if seen_before.any():
        bad = np.zeros(t.n, dtype=bool)
        bad[starts[seen_before]] = True
        # NONMEM would start another individual here; pkpd names subjects by ID, so two cannot share one
        t.fail(bad, "ID", ids, "appears again after records of other subjects (NONMEM would start a new individual "
               "here, but pkpd identifies a subject by its ID)",
               "the records of each subject together (sort by ID, keeping each subject's record order), or a new ID "
               "for another individual")
    if not time_order:
        return
    back = same & np.r_[False, time[1:] < time[:-1]] & ~np.isin(evid, (3, 4))
    if back.any():
        i = int(np.argmax(back))
        t.fail(back, "TIME", time, f"on record {i + 1} (ID {_show(ids[i])}): TIME goes back from {float(time[i - 1])!r} "
               "without a reset", "non-decreasing TIME within a subject (TIME may go back only on a reset record, EVID 3 or 4)")


# ---------------------------------------------------------------------------------------------
# units
# ---------------------------------------------------------------------------------------------
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
