"""Read NONMEM-style datasets: :func:`read_nonmem`, :func:`read_dataset`, :func:`as_dataset` (the orchestrator).

Reading turns a text file or a DataFrame into the canonical event table of a :class:`Dataset`:
columns ``ID TIME EVID AMT RATE CMT II ADDL SS MDV DV`` then the other columns (covariates) as given.

One routine serves both kinds of input. A file is first turned into named columns of text, one row per
record (:mod:`._read`: encoding, line endings, comment and header lines, separator); a DataFrame gives its
columns as they are. From there on both take the same path: the cells are parsed (:mod:`._cells`), the
rules are checked, vectorised (:mod:`._rules`), the units converted (:mod:`._units`). The first rule that
fails raises a :class:`~pkpd.errors.DatasetError` naming the file line (or DataFrame row), the column, the
value and what was expected, on one line (:class:`._table._Table`). Writing is in :mod:`._write`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ._cells import _cmt, _covariate, _ids, _numbers
from ._dataset import Dataset
from ._read import _ignore_option, _load, _na_option
from ._rules import (_check_columns, _check_order, _check_records, _check_values, _derive_evid, _derive_mdv,
                     _warn_lookalikes)
from ._table import STANDARD, _Table
from ._units import _check_units, _convert_units

__all__ = ["read_nonmem", "read_dataset", "as_dataset"]

NUMERIC = ("TIME", "EVID", "AMT", "RATE", "II", "ADDL", "SS", "MDV", "DV")


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


# ---------------------------------------------------------------------------------------------
# the canonical table: the parsed columns, checked by the rules
# ---------------------------------------------------------------------------------------------
def _canonical(table: _Table, time_order: bool = True, simulation: bool = False) -> pd.DataFrame:
    _check_columns(table)
    cols = table.columns
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
