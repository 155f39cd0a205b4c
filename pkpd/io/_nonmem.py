"""Read, validate and write NONMEM-style datasets (the only place that knows the file format).

Reading turns a CSV file or a DataFrame into the canonical event table of a :class:`Dataset`:
columns ``ID TIME EVID AMT RATE CMT II ADDL SS MDV DV`` then the other columns (covariates) as given.
Validation is vectorised (one boolean mask per rule); the first rule that fails raises a
:class:`~pkpd.errors.DatasetError` naming the file line (or DataFrame row), the column, the value and
what was expected.
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
from ._dataset import CANONICAL_COLUMNS, MAX_EXACT_INT, Dataset, show as _show, where

__all__ = ["read_nonmem", "write_nonmem", "as_dataset"]

STANDARD = frozenset(CANONICAL_COLUMNS)
#: Columns whose values may be given in other units, and the kind of quantity they hold.
UNIT_KINDS = {"TIME": "time", "II": "time", "AMT": "amount", "RATE": "rate", "DV": "concentration"}
NUMERIC = ("TIME", "EVID", "AMT", "RATE", "II", "ADDL", "SS", "MDV", "DV")
MISSING_TEXT = frozenset({"", "."})
NAME = re.compile(r"^[^\W\d]\w*(\.\w+)*$")  # a compartment name: CENTRAL, DEPOT, MDZ.CENTRAL
_BLANK_LINE = re.compile(r"\n[ \t\r]*\n|\n[ \t\r]+\Z")
_PANDAS_MAJOR = int(pd.__version__.split(".")[0])


class _DatasetUnitError(DatasetError, UnitError):
    """A unit declared for a dataset column is unknown or of the wrong kind (both a DatasetError and a UnitError)."""


class _Table:
    """Columns of the table being read, with the source of each record for messages."""

    def __init__(self, columns: dict[str, pd.Series], lines: np.ndarray, source: str | None, header: str):
        self.columns = columns
        self.lines = lines
        self.source = source
        self.header = header  # "x.csv line 1 (header)" or "DataFrame columns"
        self.n = len(lines)

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
                mw: float | None = None) -> Dataset:
    """Read a NONMEM-style dataset from a CSV file or a DataFrame, validate it and return a Dataset.

    Parameters
    ----------
    data : str, Path or DataFrame
        A CSV file (comma- or whitespace-separated, with a header line; ``.`` or an empty field is a
        missing value; lines starting with ``#`` are comments) or a DataFrame, which is never modified.
    units : mapping of str to str, optional
        Units of columns given in other than the internal units, e.g.
        ``{"TIME": "min", "AMT": "ug", "RATE": "ug/min", "II": "min", "DV": "ng/mL"}``. TIME and II
        are converted to h, AMT to mg, RATE to mg/h (the codes -1 and -2 are kept) and DV to mg/L.
    id_column : str, optional
        Name of the column holding the subject ID when it is not called ``ID`` (e.g. ``"Subject"``).
    mw : float, optional
        Molecular weight (g/mol) for a molar DV unit such as ``"nM"``.

    Returns
    -------
    Dataset
        The canonical event table ``ID TIME EVID AMT RATE CMT II ADDL SS MDV DV`` + covariates.

    Notes
    -----
    Standard column names are matched case-insensitively and upper-cased; other columns keep their
    names. ID and TIME are required, and at least one of AMT and DV. Missing AMT, RATE, II, ADDL, SS
    and CMT values are 0. EVID, when absent (or missing on a record), is derived as NM-TRAN does: 1
    where AMT or RATE is non-zero, else 2 where MDV is 1, else 0. MDV, when absent or missing, is 1
    on non-observation records and where DV is missing, else 0. CMT is an integer column (0 where
    missing) unless some value is a compartment name, then a column of strings.

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
    """
    table = _load(data, id_column)
    declared = _check_units(units, table)
    events = _canonical(table)
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
# loading: file or DataFrame -> named columns + source lines
# ---------------------------------------------------------------------------------------------
def _load(data, id_column) -> _Table:
    if isinstance(data, pd.DataFrame):
        names = [str(c) for c in data.columns]
        if len(data) == 0:
            raise DatasetError(f"the DataFrame has no rows; expected records with columns {', '.join(names) or 'ID, TIME, ...'}")
        columns = [data.iloc[:, j] for j in range(data.shape[1])]  # views: never modified
        lines, source, header = np.arange(1, len(data) + 1), None, "DataFrame columns"
    elif isinstance(data, (str, Path)):
        names, columns, lines, source, header = _read_file(Path(data))
    else:
        raise DatasetError(f"read_nonmem takes a CSV file path or a DataFrame, not {type(data).__name__}")
    names = _normalise_names(names, id_column, header)
    return _Table(dict(zip(names, columns)), lines, source, header)


def _read_file(path: Path):
    """-> (names, columns, file line of each record, file name, header location)."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    source = path.name
    head, body, line_index, lines = _split_records(text, source)
    header = f"{source} line {line_index[0] + 1} (header)"
    comma = "," in head
    names = _header_names(head, comma, header, has_records=len(line_index) > 1)
    body_idx = line_index[1:]
    file_lines = np.asarray(body_idx, dtype=np.int64) + 1
    options = dict(header=None, names=names, index_col=False, na_values=["."], skip_blank_lines=False, low_memory=False)
    if _PANDAS_MAJOR < 3:
        options["float_precision"] = "round_trip"
    options.update(dict(sep=",", skipinitialspace=True) if comma else dict(sep=r"\s+"))
    try:
        with warnings.catch_warnings():
            # extra fields on the first record only warn ("loss of data"): make that an error too
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(io.StringIO(body), **options)
    except (pd.errors.ParserError, pd.errors.ParserWarning, csv.Error, ValueError) as err:
        _raise_field_count(lines or text.split("\n"), body_idx, len(names), comma, source, err)
    if len(frame) != len(file_lines):
        raise DatasetError(
            f"{source}: read {len(frame)} records from {len(file_lines)} data lines; expected one record per line "
            "(no line breaks inside quoted fields)"
        )
    return names, [frame.iloc[:, j] for j in range(len(names))], file_lines, source, header


def _split_records(text: str, source: str):
    """Header line, body text, 0-based line index of the header and of each record, and the lines (or None).

    Blank lines and lines starting with ``#`` are skipped; line numbers count them.
    """
    first_nl = text.find("\n")
    if "#" not in text and text[:1].strip() and first_nl > 0 and not _BLANK_LINE.search(text):
        # fast path: no comments, no blank lines: every line after the header is a record
        body = text[first_nl + 1:]
        n_body = body.count("\n") + (0 if body.endswith("\n") or not body else 1)
        return text[:first_nl].rstrip("\r"), body, range(0, n_body + 1), None
    lines = text.split("\n")
    keep = [i for i, line in enumerate(lines) if line.strip() and not line.lstrip().startswith("#")]
    if not keep:
        raise DatasetError(f"{source} line 1: the file is empty; expected a header line naming the columns (ID, TIME, AMT, DV, ...)")
    body = "\n".join(lines[i] for i in keep[1:])
    return lines[keep[0]].rstrip("\r"), body, keep, lines


def _header_names(head: str, comma: bool, header: str, has_records: bool) -> list[str]:
    names = next(csv.reader([head], skipinitialspace=True)) if comma else head.split()
    names = [n.strip() for n in names]
    if not has_records:
        raise DatasetError(f"{header}: the file has a header ({', '.join(names)}) but no records; expected data lines after it")
    empty = [j for j, n in enumerate(names) if not n]
    if empty:
        raise DatasetError(f"{header}, column {empty[0] + 1}: value '' is an empty column name; expected a name for every column")
    return names


def _raise_field_count(lines, body_idx, n_names, comma, source, err):
    """Find the first data line with more fields than the header (slow path, on a parse error only)."""
    for i in body_idx:
        line = lines[i].rstrip("\r")
        try:
            fields = next(csv.reader([line], skipinitialspace=True)) if comma else line.split()
        except csv.Error:
            fields = None
        if fields is None or len(fields) > n_names:
            got = "unparseable" if fields is None else f"{len(fields)} fields"
            raise DatasetError(
                f"{source} line {i + 1}, column {n_names + 1}: value {line[:60]!r} has {got}; expected at most {n_names} fields as in the header"
            ) from None
    raise DatasetError(f"{source}: the file could not be parsed as CSV ({err}); expected a header line and one record per line") from None


def _first_duplicate(names):
    seen = {}
    for name in names:
        key = name.strip().upper()
        if key in seen:
            return seen[key], name
        seen[key] = name
    return None


def _normalise_names(names, id_column, header):
    dup = _first_duplicate(names)
    if dup:
        raise DatasetError(
            f"{header}, column {dup[1]}: duplicate column name ({dup[0]!r} and {dup[1]!r} are the same after case-folding); expected unique names"
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
def _unique_map(series: pd.Series, convert):
    """Apply ``convert`` to each distinct value (fast when values repeat); returns (codes, results, uniques)."""
    values = series.to_numpy(dtype=object)
    try:
        codes, uniques = pd.factorize(values)
    except TypeError:  # unhashable cells: fall back to their text
        codes, uniques = pd.factorize(np.array([str(v) for v in values], dtype=object))
    return codes, [convert(u) for u in uniques], uniques


def _parse_number(value) -> float | None:
    """A cell as a float (NaN when missing), or None when it is not a number."""
    if isinstance(value, str):
        text = value.strip()
        if text in MISSING_TEXT:
            return math.nan
        if "_" in text:
            return None
        value = text
    if isinstance(value, (bool, np.bool_)):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return None


def _numbers(table: _Table, name: str) -> np.ndarray:
    """A standard numeric column as floats (NaN where missing); text raises a DatasetError."""
    series = table.columns[name]
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_complex_dtype(series.dtype):
        return series.to_numpy(dtype=float, na_value=np.nan)
    codes, parsed, uniques = _unique_map(series, _parse_number)
    bad_unique = np.array([p is None for p in parsed], dtype=bool)
    if bad_unique.any():
        bad = np.zeros(len(codes), dtype=bool)
        bad[codes >= 0] = bad_unique[codes[codes >= 0]]
        table.fail(bad, name, series.to_numpy(dtype=object), "is not a number", f"a number (or '.' for missing) in {name}")
    lookup = np.array([np.nan if p is None else p for p in parsed] + [np.nan], dtype=float)
    return lookup[codes]  # code -1 (missing) picks the trailing NaN


def _integer_like(x: np.ndarray) -> np.ndarray:
    return np.isfinite(x) & (x == np.round(x)) & (np.abs(x) < MAX_EXACT_INT)


def _ids(table: _Table):
    """The ID column: int64 when every ID is an integer, else strings."""
    series = table.columns["ID"]
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_complex_dtype(series.dtype):
        x = series.to_numpy(dtype=float, na_value=np.nan)
        missing = np.isnan(x)
        if missing.any():
            table.fail(missing, "ID", x, "", "a subject identifier on every record")
        if _integer_like(x).all():
            return x.astype(np.int64)
        return pd.Series([repr(v) if not float(v).is_integer() else str(int(v)) for v in x]).to_numpy()

    def text(v):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return None
        s = v.strip() if isinstance(v, str) else str(v)
        return None if s in MISSING_TEXT else s

    codes, texts, _ = _unique_map(series, text)
    missing = np.array([t is None for t in texts] + [True], dtype=bool)[codes]  # code -1: missing
    if missing.any():
        table.fail(missing, "ID", series.to_numpy(dtype=object), "", "a subject identifier on every record")
    nums = np.array([_parse_number(t) if t is not None else math.nan for t in texts], dtype=object)
    numeric = np.array([n is not None for n in nums], dtype=bool)
    if numeric.all():
        as_float = np.array(nums, dtype=float)
        if _integer_like(as_float).all():
            return as_float.astype(np.int64)[codes]
    return pd.Series(np.array(texts, dtype=object)[codes]).to_numpy()


def _cmt(table: _Table):
    """The CMT column: int64 (0 where missing) unless some value is a name, then strings ("0" where missing)."""
    if "CMT" not in table.columns:
        return np.zeros(table.n, dtype=np.int64)
    series = table.columns["CMT"]
    expected = "a compartment number (1, 2, ...; 0 or '.' for none) or a compartment name such as CENTRAL"
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_complex_dtype(series.dtype):
        x = series.to_numpy(dtype=float, na_value=np.nan)
        x = np.where(np.isnan(x), 0.0, x)
        bad = ~_integer_like(x) | (x < 0)
        if bad.any():
            table.fail(bad, "CMT", x, "is not a compartment number or name", expected)
        return x.astype(np.int64)

    def classify(v):
        """-> ('num', int) | ('name', str) | ('bad', None)"""
        number = _parse_number(v)
        if number is not None:
            if math.isnan(number):
                return "num", 0
            if math.isfinite(number) and number == round(number) and 0 <= number < MAX_EXACT_INT:
                return "num", int(number)
            return "bad", None
        s = v.strip() if isinstance(v, str) else str(v)
        return ("name", s) if NAME.match(s) else ("bad", None)

    codes, kinds, _ = _unique_map(series, classify)
    kind = np.array([k for k, _ in kinds] + ["num"], dtype=object)
    bad = kind[codes] == "bad"
    if bad.any():
        table.fail(bad, "CMT", series.to_numpy(dtype=object), "is not a compartment number or name", expected)
    vals = [v for _, v in kinds]
    if all(k == "num" for k, _ in kinds):
        return np.array(vals + [0], dtype=np.int64)[codes]
    return pd.Series(np.array([str(v) for v in vals] + ["0"], dtype=object)[codes]).to_numpy()


# ---------------------------------------------------------------------------------------------
# the canonical table and its rules
# ---------------------------------------------------------------------------------------------
def _canonical(table: _Table) -> pd.DataFrame:
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
    _check_records(table, x)
    _check_order(table, ids, x["TIME"], x["EVID"])

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
    if others:
        extra = pd.DataFrame({name: _covariate(cols[name]) for name in others})
        frame = pd.concat([frame, extra], axis=1)
    return frame


def _covariate(series: pd.Series) -> pd.Series:
    s = series.reset_index(drop=True)
    return s.infer_objects() if s.dtype == object else s.copy()


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


def _check_records(t: _Table, x):
    """Rules relating the values of one record."""
    evid, amt, rate, ii, addl, ss, mdv, dv = (x[k] for k in ("EVID", "AMT", "RATE", "II", "ADDL", "SS", "MDV", "DV"))
    dose = (evid == 1) | (evid == 4)
    rules = [
        (~dose & (amt != 0), "AMT", amt, "is a dose on a record that is not a dose event (EVID 0, 2 or 3)",
         "AMT 0 (or '.') unless EVID is 1 or 4"),
        ((evid != 0) & (mdv == 0), "MDV", mdv, "marks an observation on a record that is not an observation (EVID 1-4)",
         "MDV 1 on dose and other-event records"),
        ((evid == 0) & (mdv == 0) & np.isnan(dv), "DV", dv, "is missing on an observation record (EVID 0, MDV 0)",
         "an observed value, or MDV 1 for a record without observation"),
        (dose & (amt == 0) & (rate == 0), "AMT", amt, "gives nothing on a dose record (AMT 0 and RATE 0)",
         "AMT > 0 on a dose record (EVID 1 or 4), or RATE > 0 with SS 1/2 and II 0 for a constant infusion"),
        (dose & (ss == 0) & (amt == 0) & (rate != 0), "RATE", rate, "is given with AMT 0 on a dose record that is not steady state",
         "AMT > 0 for an infusion (a rate without an amount is only allowed for a steady-state infusion: SS 1/2, II 0)"),
        ((addl > 0) & (ii == 0), "ADDL", addl, "asks for additional doses without an interval (II 0)",
         "II > 0 when ADDL > 0"),
        (dose & (ss > 0) & (ii == 0) & (rate == 0), "II", ii, "leaves a steady-state bolus (SS > 0, RATE 0) without a dosing interval",
         "II > 0 (the dosing interval); II 0 is only allowed for a steady-state infusion with AMT 0 and RATE > 0"),
        (dose & (ss > 0) & (ii == 0) & (rate < 0), "RATE", rate, "is a modelled rate/duration on a steady-state dose without interval (II 0)",
         "II > 0, or RATE > 0 with AMT 0 for a constant infusion"),
        (dose & (ss > 0) & (ii == 0) & (rate > 0) & (amt != 0), "AMT", amt,
         "is given on a steady-state constant infusion (SS > 0, II 0)", "AMT 0 with II 0 (a constant infusion at RATE), or II > 0"),
        (dose & (ss > 0) & (ii > 0) & (amt == 0), "AMT", amt, "is 0 on a steady-state dose with an interval (II > 0)",
         "AMT > 0 (or II 0 with RATE > 0 for a constant infusion)"),
    ]
    for bad, column, values, problem, expected in rules:
        if bad.any():
            t.fail(bad, column, values, problem, expected)


def _check_order(t: _Table, ids, time, evid):
    """Subjects contiguous; TIME non-decreasing within a subject except after a reset (EVID 3/4)."""
    codes = pd.factorize(ids)[0]
    same = np.r_[False, codes[1:] == codes[:-1]]
    starts = np.flatnonzero(~same)
    seen_before = pd.Index(codes[starts]).duplicated()
    if seen_before.any():
        bad = np.zeros(t.n, dtype=bool)
        bad[starts[seen_before]] = True
        t.fail(bad, "ID", ids, "appears again after records of other subjects",
               "the records of each subject together (sort by ID, keeping each subject's record order)")
    back = same & np.r_[False, time[1:] < time[:-1]] & ~np.isin(evid, (3, 4))
    if back.any():
        i = int(np.argmax(back))
        t.fail(back, "TIME", time, f"is earlier than the previous record's TIME {_show(time[i - 1])} of the same ID",
               "non-decreasing TIME within a subject (TIME may go back only on a reset record, EVID 3 or 4)")


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
