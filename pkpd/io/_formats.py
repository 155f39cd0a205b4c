"""Tables that are not NONMEM datasets: :func:`from_long`, :func:`from_wide`, :func:`from_monolix`.

Each turns a table as pharmacologists keep it into a NONMEM-style table and reads that with
:func:`~pkpd.io.read_nonmem`, so every rule of a dataset still applies; a rule that fails raises a
:class:`~pkpd.errors.DatasetError` naming the row of the caller's table (or the line of the file) and the
caller's column. The caller's DataFrame is never modified.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DatasetError
from ..units import UnitError, to_internal
from .._internal.text import show, where
from ._dataset import Dataset
from ._nonmem import read_nonmem
from ._read import _na_option, _read_file
from ._rules import _LOOKALIKES
from ._table import _DECIMAL_COMMA, _NUMBER, MISSING_TEXT, STANDARD

__all__ = ["from_long", "from_wide", "from_monolix"]


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


# ---------------------------------------------------------------------------------------------
# from_long
# ---------------------------------------------------------------------------------------------
def from_long(frame: pd.DataFrame, *, id="ID", time="TIME", conc=None, dose=None, dose_time: float | None = None,
              interval=None, doses=None, steady_state: bool = False, duration=None, cmt=0, route=None,
              routes: Mapping | None = None, obs_cmt=0, covariates=None, units: Mapping | None = None,
              mw: float | None = None, na_values=()) -> Dataset:
    """Read a long table, one row per sample (nlme's ``groupedData``, R's ``Theoph``/``Indometh``/``Phenobarb``).

    Parameters
    ----------
    frame : DataFrame
        One row per sample or dose (never modified). Rows of a subject must be together and in time order.
    id, time : str
        Columns holding the subject and the time (e.g. ``id="Subject", time="time"``).
    conc : str, optional
        Column of concentrations; a missing value (NaN, ``.`` or an ``na_values`` token) means no sample on
        that row (a row with neither a sample nor a dose is kept as a record without observation, MDV 1).
    dose : str or float, optional
        A column of doses: a row whose dose is non-zero (and not missing) is a dose. A row with both a dose and
        a concentration is read as the sample, then the dose (a sample at a dosing time is taken before the
        dose, a trough). Or a number: one dose of that amount per subject at ``dose_time`` (default 0;
        Indometh: ``25``), after the rows at or before ``dose_time`` (a sample at the dosing time is a pre-dose
        sample). Or, with ``dose_time`` given, a column holding each subject's one dose on its rows (R's
        ``Theoph``, after converting its mg/kg to an amount): given once at ``dose_time``.
    dose_time : float, optional
        Time of the one dose per subject (a number ``dose``, or a ``dose`` column of per-subject doses).
    interval : str or float, optional
        The dosing interval (a column, its value on the dose rows, or one value): a dose row with an interval
        > 0 is a regimen, written as NONMEM's ``II`` with either ``ADDL`` or ``SS``, as said by ``doses`` and
        ``steady_state`` (one of them is required). A missing or 0 interval on a dose row is a single dose.
    doses : int, str or "until_last", optional
        Number of doses of the regimen counting the first (a number, or a column read on the dose rows):
        ``ADDL = doses - 1``. ``"until_last"``: the doses continue while they come before the subject's last
        record (``ADDL`` = the number of further doses strictly before its time).
    steady_state : bool
        The dose rows with an interval are at steady state (``SS=1``: the regimen has been given long enough
        for the levels to repeat each interval; the dose at that row is the last steady-state dose, and
        ``doses`` may add more).
    duration : str or float, optional
        Infusion duration (column or value, in the unit of time); ``RATE = AMT / duration``; 0 or missing: a bolus.
    cmt : int or str
        Compartment of every dose (number or name, e.g. ``"DEPOT"``) when there is no ``route`` column;
        0 (the default) is the model's default dose compartment.
    route : str, optional
        A column saying how each dose was given (e.g. ``"oral"``/``"iv"``, or compartment numbers), mapped to
        the compartment by ``routes`` (e.g. ``{"oral": "DEPOT", "iv": "CENTRAL"}``); without ``routes``
        its values are the compartments.
    obs_cmt : int or str
        Compartment observed by the samples (0: the model's default output).
    covariates : str or sequence of str, optional
        Columns to keep as covariates (default: every column not used above; one named like a data item
        that no argument reads, such as ``tau`` without ``interval=``, warns), repeated on every record of
        the row they come from; the one dose per subject (``dose`` a number, or ``dose_time`` given) takes
        the covariates, interval and number of doses of its subject's first row.
    units : mapping, optional
        Units of the caller's columns (by their names, or by NONMEM's: ``TIME``, ``AMT``, ``DV``, ``II``),
        e.g. ``{"time": "min", "dose": "ug", "conc": "ng/mL"}``. A dose, interval or duration given as a
        number is in the unit of its column (AMT, II, TIME); the interval defaults to the unit of time.
    mw : float, optional
        Molecular weight for a molar concentration unit.
    na_values : str or sequence
        Further values read as missing (e.g. ``("NA",)``), as :func:`read_nonmem`'s.

    Returns
    -------
    Dataset
        Through :func:`read_nonmem` (every rule applies); its ``source_lines`` are the rows of ``frame``
        (1-based), which messages name.

    Raises
    ------
    DatasetError
        A missing column, a cell that is not a number, a negative dose or interval, an interval without
        ``doses``/``steady_state``, or any rule of :func:`read_nonmem`: naming the row and the column of
        ``frame``, the value and what was expected.

    Examples
    --------
    Phenobarbital in neonates (nlme's ``Phenobarb``): doses and samples on separate rows.

    >>> import pandas as pd
    >>> from pkpd.io import from_long
    >>> pheno = pd.DataFrame({"Subject": [1, 1, 1, 1], "Wt": [1.4] * 4, "Apgar": [7] * 4,
    ...                       "time": [0.0, 2.0, 12.5, 24.5], "dose": [25.0, None, 3.5, 3.5],
    ...                       "conc": [None, 17.3, None, None]})
    >>> from_long(pheno, id="Subject", time="time", conc="conc", dose="dose").to_frame()
       ID  TIME  EVID   AMT  RATE  CMT   II  ADDL  SS  MDV    DV   Wt  Apgar
    0   1   0.0     1  25.0   0.0    0  0.0     0   0    1   NaN  1.4      7
    1   1   2.0     0   0.0   0.0    0  0.0     0   0    0  17.3  1.4      7
    2   1  12.5     1   3.5   0.0    0  0.0     0   0    1   NaN  1.4      7
    3   1  24.5     1   3.5   0.0    0  0.0     0   0    1   NaN  1.4      7

    One IV dose given aside (R's ``Indometh``: 25 mg at time 0):

    >>> indo = pd.DataFrame({"Subject": [1, 1], "time": [0.25, 0.5], "conc": [1.5, 0.94]})
    >>> from_long(indo, id="Subject", time="time", conc="conc", dose=25, cmt=1, obs_cmt=1).events[["TIME", "AMT", "CMT", "DV"]]
       TIME   AMT  CMT    DV
    0  0.00  25.0    1   NaN
    1  0.25   0.0    1  1.50
    2  0.50   0.0    1  0.94
    """
    src = _source(frame, na_values, "from_long")
    return _from_long(src, id=id, time=time, conc=conc, dose=dose, dose_time=dose_time, interval=interval,
                      doses=doses, steady_state=steady_state, duration=duration, cmt=cmt, route=route, routes=routes,
                      obs_cmt=obs_cmt, covariates=covariates, units=units, mw=mw)


def _source(frame, na_values, who) -> _Source:
    if not isinstance(frame, pd.DataFrame):
        raise DatasetError(f"{who} takes a DataFrame, not {type(frame).__name__}")
    if len(frame) == 0:
        raise DatasetError(f"{who}: the DataFrame has no rows")
    if frame.columns.duplicated().any():
        name = frame.columns[frame.columns.duplicated()][0]
        raise DatasetError(f"DataFrame columns, column {name}: duplicate column name; expected unique names")
    return _Source(frame, np.arange(1, len(frame) + 1), None, na_values)


def _from_long(src: _Source, *, id, time, conc, dose, dose_time, interval, doses, steady_state, duration, cmt,
               route, routes, obs_cmt, covariates, units, mw) -> Dataset:
    n = len(src.frame)
    ids = src.column(id, "id").to_numpy()
    src.column(time, "time")
    t = src.numbers(time, "a time")
    used = {id, time}
    labels = {"ID": id, "TIME": time}
    translate = {time: "TIME"}
    if conc is not None:
        src.column(conc, "conc")
        c = src.numbers(conc, "a concentration (or missing for no sample)")
        used.add(conc)
        labels["DV"] = conc
        translate[conc] = "DV"
    else:
        c = np.full(n, np.nan)

    # doses: a column of dose rows, a column of each subject's one dose (with dose_time), or one number for all
    dose_column = dose is not None and (isinstance(dose, str) or (_is_label(dose) and dose in src.frame.columns))
    scalar_dose = dose is not None and (not dose_column or dose_time is not None)
    if dose_time is not None and not (isinstance(dose_time, (int, float, np.integer, np.floating))
                                      and not isinstance(dose_time, bool) and math.isfinite(dose_time) and dose_time >= 0):
        raise DatasetError(f"{src.what}: dose_time={dose_time!r}; expected a time >= 0 (or None)")
    if dose_time is None:
        dose_time = 0.0
    if scalar_dose and not dose_column:
        amount, _ = _scalar_or_column(src, dose, "dose", "a dose amount > 0", n)
        if not amount[0] > 0:
            raise DatasetError(f"{src.what}: dose={dose!r} is not a dose; expected an amount > 0 or a column name")
        is_dose = np.zeros(n, dtype=bool)
    elif scalar_dose:
        # one dose per subject (R's Theoph): the column's value, the same on each of its rows that has one
        amount, _ = _scalar_or_column(src, dose, "dose", "the subject's dose amount > 0", n)
        is_dose = np.zeros(n, dtype=bool)
        subject_dose = pd.Series(amount).groupby(pd.factorize(ids)[0]).transform("first").to_numpy()
        _check(src, ~np.isnan(amount) & (amount != subject_dose), dose, amount,
               "differs from the dose on the subject's first row with a dose",
               "one dose per subject when dose_time= is given (dose_time=None reads each non-zero dose as a dose row)")
        _check(src, ~(subject_dose > 0), dose, amount, "leaves the subject without a dose",
               "the subject's dose amount > 0 when dose_time= is given")
        amount = subject_dose
        used.add(dose)
        labels["AMT"] = dose
        translate[dose] = "AMT"
    elif dose is not None:
        amount, _ = _scalar_or_column(src, dose, "dose", "a dose amount >= 0 (or missing on rows without a dose)", n)
        _check(src, amount < 0, dose, amount, "is negative", "a dose amount >= 0 (or missing on rows without a dose)")
        is_dose = ~np.isnan(amount) & (amount != 0)
        used.add(dose)
        labels["AMT"] = dose
        translate[dose] = "AMT"
    else:
        amount, is_dose = np.full(n, np.nan), np.zeros(n, dtype=bool)
    if dose is None and conc is None:
        raise DatasetError(f"{src.what}: neither conc= nor dose= is given; expected a column of concentrations, doses or both")

    ii, ii_col = _scalar_or_column(src, interval, "interval", "a dosing interval >= 0 (or missing)", n)
    if ii_col is not None:
        used.add(ii_col)
        labels["II"] = ii_col
        translate[ii_col] = "II"
    _check(src, ii < 0, ii_col, ii, "is negative", "a dosing interval >= 0 (or missing for a single dose)")
    ii = np.where(np.isnan(ii), 0.0, ii)
    if interval is not None and doses is None and not steady_state:
        raise DatasetError(f"{src.what}: interval={interval!r} is given without doses= or steady_state=True; expected "
                           "doses= (the number of doses, a column of it, or 'until_last') or steady_state=True, "
                           "which say how the regimen continues (NONMEM's ADDL or SS)")
    if doses is not None and interval is None:
        raise DatasetError(f"{src.what}: doses={doses!r} is given without interval=; expected the dosing interval too")
    until_last = isinstance(doses, str) and doses == "until_last" and doses not in src.frame.columns
    if doses is not None and not until_last:
        count, count_col = _scalar_or_column(src, doses, "doses", "a number of doses >= 1 (an integer)", n)
        if count_col is not None:
            used.add(count_col)
        regimen = is_dose & (ii > 0) if not scalar_dose else (ii > 0)
        bad = regimen & ~(np.isnan(count) & steady_state) & ~((count >= 1) & (count == np.round(count)))
        _check(src, bad, count_col if count_col is not None else "doses", count, "is not a number of doses",
               "an integer >= 1 (the doses of the regimen, counting the first)")
        count = np.where(np.isnan(count), 1.0, count)
    else:
        count = np.ones(n)

    rate_time, dur_col = _scalar_or_column(src, duration, "duration", "an infusion duration >= 0 (or missing)", n)
    if dur_col is not None:
        used.add(dur_col)
    _check(src, rate_time < 0, dur_col, rate_time, "is negative", "an infusion duration >= 0 (or missing for a bolus)")

    if route is not None:
        route_values = src.column(route, "route").to_numpy(dtype=object)
        used.add(route)
        dose_cmt = np.empty(n, dtype=object)
        for i in np.flatnonzero(is_dose):
            v = route_values[i]
            if routes is not None:
                key = v.strip() if isinstance(v, str) else v
                if key not in routes:
                    src.fail(i, route, v, "is not a route in routes=",
                             f"one of {', '.join(repr(k) for k in routes)}")
                dose_cmt[i] = routes[key]
            else:
                dose_cmt[i] = v
        if scalar_dose:
            raise DatasetError(f"{src.what}: route={route!r} is a column but the dose is one number; expected cmt= for it")
    else:
        if routes is not None:
            raise DatasetError(f"{src.what}: routes= is given without route=; expected the column of routes too")
        dose_cmt = np.full(n, cmt, dtype=object)

    covs = _covariates(src, covariates, used, "from_long")
    _warn_lookalikes(src, covs, labels, src.what if src.what != "DataFrame" else "from_long")
    declared = _units(units, translate)
    if "II" not in declared and "TIME" in declared and interval is not None:
        declared["II"] = declared["TIME"]
    if duration is not None and "RATE" not in declared and ("AMT" in declared or "TIME" in declared):
        declared["RATE"] = f"{declared.get('AMT', 'mg')}/{declared.get('TIME', 'h')}"

    # the records: per row an observation (conc given, or neither conc nor dose) then a dose
    pos = np.arange(n, dtype=float)
    obs = ~np.isnan(c) | ~is_dose
    k_obs, k_dose = np.flatnonzero(obs), np.flatnonzero(is_dose)
    observations = {"_order": pos[k_obs], "ID": ids[k_obs], "TIME": t[k_obs], "DV": c[k_obs],
                    "CMT": np.full(len(k_obs), obs_cmt, dtype=object)}
    parts = [(k_obs, observations)]
    if scalar_dose:
        first = {}
        insert = {}
        for i, subject in enumerate(ids):
            first.setdefault(subject, i)
            if subject not in insert and t[i] > dose_time:
                insert[subject] = i - 0.5
        k_dose = np.array([first[s] for s in first], dtype=np.int64)
        last = {s: i for i, s in enumerate(ids)}
        order = np.array([insert.get(s, last[s] + 0.5) for s in first])
        amt = amount[k_dose]
        dose_times = np.full(len(k_dose), float(dose_time))
        dose_rows = {"_order": order, "ID": ids[k_dose], "TIME": dose_times}
    else:
        amt = amount[k_dose]
        dose_times = t[k_dose]
        dose_rows = {"_order": pos[k_dose] + 0.5, "ID": ids[k_dose], "TIME": dose_times}
    d_ii = ii[k_dose]
    d_count = count[k_dose]
    if until_last:
        t_last = pd.Series(t).groupby(pd.Series(ids)).transform("max").to_numpy()
        span = t_last[k_dose] - dose_times
        with np.errstate(divide="ignore", invalid="ignore"):
            more = np.where(d_ii > 0, np.ceil(span / np.where(d_ii > 0, d_ii, 1.0) - 1e-9) - 1, 0)
        addl = np.maximum(more, 0)
    else:
        addl = np.where(d_ii > 0, d_count - 1, 0)
    dur = rate_time[k_dose]
    rate = np.where(~np.isnan(dur) & (dur > 0), amt / np.where(dur > 0, dur, 1.0), 0.0)
    dose_rows.update({"AMT": amt, "RATE": rate, "CMT": dose_cmt[k_dose], "II": d_ii,
                      "ADDL": addl.astype(np.int64), "SS": np.where((d_ii > 0) & steady_state, 1, 0),
                      "EVID": np.ones(len(k_dose)), "MDV": np.ones(len(k_dose))})
    parts.append((k_dose, dose_rows))
    return _assemble(src, parts, covs, declared, mw, labels)


# ---------------------------------------------------------------------------------------------
# from_wide
# ---------------------------------------------------------------------------------------------
_TIME_NAME = re.compile(r"\s*(?:[tT]\s*=?\s*)?([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([A-Za-z]*)\s*")


def _time_of(name, time_unit: str):
    """The time (h) a column name stands for ("0.5h", "30 min", "t=2", 1.5), or None."""
    if isinstance(name, (int, float, np.integer, np.floating)) and not isinstance(name, (bool, np.bool_)):
        value, unit = float(name), ""
    elif isinstance(name, str) and (m := _TIME_NAME.fullmatch(name)):
        value, unit = float(m.group(1)), m.group(2)
    else:
        return None
    try:
        return float(to_internal([value], unit or time_unit, "time")[0])
    except UnitError:
        return None


def from_wide(frame: pd.DataFrame, *, id="ID", times=None, dose=None, dose_time: float = 0.0, cmt=0, obs_cmt=0,
              interval=None, doses=None, steady_state: bool = False, duration=None, covariates=None,
              units: Mapping | None = None, mw: float | None = None, na_values=()) -> Dataset:
    """Read a wide table of concentrations: one row per subject, one column per sampling time.

    Parameters
    ----------
    frame : DataFrame
        One row per subject (never modified).
    id : str
        Column of subject IDs (each once).
    times : mapping or sequence, optional
        The sampling-time columns: a mapping ``{column: time}``, or a list of columns whose names are times
        (``0.5``, ``"0.5"``, ``"0.5h"``, ``"30 min"``, ``"t=2"``: a number with an optional unit of time).
        Default: every column whose name is such a time. A name without a unit is in the unit of
        ``units["TIME"]`` (default h); a name with a unit is converted.
    dose : str or float
        The dose of each subject: a column, or one number for all, given at ``dose_time``.
    dose_time, cmt, obs_cmt, interval, doses, steady_state, duration, mw, na_values
        As in :func:`from_long` (``interval``, ``doses`` and ``duration``: a column or one value).
    covariates : sequence of str, optional
        Columns kept as covariates (default: every column other than ``id``, ``dose`` and the times).
    units : mapping, optional
        As in :func:`from_long`; ``TIME`` is the unit of the time column names (and of numbers in ``times``).

    Returns
    -------
    Dataset
        Per subject: the dose, then one observation per non-missing concentration in time order (a sample at
        the dose time comes before the dose). ``source_lines`` are the rows of ``frame``.

    Raises
    ------
    DatasetError
        Naming the row and the column (e.g. ``row 3, column 2h: value 'abc' is not a number``).

    Examples
    --------
    >>> import pandas as pd
    >>> from pkpd.io import from_wide
    >>> wide = pd.DataFrame({"patient": ["A", "B"], "mg": [100, 150], "1h": [4.1, 5.0], "4h": [2.2, None]})
    >>> from_wide(wide, id="patient", dose="mg").events[["ID", "TIME", "AMT", "DV"]]
      ID  TIME    AMT   DV
    0  A   0.0  100.0  NaN
    1  A   1.0    0.0  4.1
    2  A   4.0    0.0  2.2
    3  B   0.0  150.0  NaN
    4  B   1.0    0.0  5.0
    """
    src = _source(frame, na_values, "from_wide")
    ids = src.column(id, "id")
    dup = ids.duplicated().to_numpy()
    if dup.any():
        i = int(np.argmax(dup))
        src.fail(i, id, ids.iloc[i], "appears on an earlier row too", "one row per subject in a wide table")
    if dose is None:
        raise DatasetError("from_wide: dose= is required; expected a column of doses or one dose for every subject")
    declared = _units(units, {})
    time_unit = declared.pop("TIME", "h")
    if interval is not None and "II" not in declared:
        declared["II"] = time_unit
    if duration is not None and "RATE" not in declared:
        declared["RATE"] = f"{declared.get('AMT', 'mg')}/{time_unit}"
    options = [o for o in (dose, interval, doses, duration)
               if isinstance(o, str) and o != "until_last" or (_is_label(o) and o in src.frame.columns)]
    for o in options:
        src.column(o, "dose" if o == dose else "interval" if o == interval else "doses" if o == doses else "duration")
    used = {id, *options}
    columns, when = _time_columns(src, times, used, covariates, time_unit)
    cells = np.column_stack([src.numbers(col, "a concentration (or missing for no sample)") for col in columns])
    others = _covariates(src, covariates, used | set(columns), "from_wide")
    if isinstance(dose, str) or (_is_label(dose) and dose in src.frame.columns):
        amount = src.numbers(dose, "a dose amount > 0")
        dose_col = dose
    elif isinstance(dose, (int, float, np.integer, np.floating)) and not isinstance(dose, (bool, np.bool_)):
        amount = np.full(len(src.frame), float(dose))
        dose_col = "dose"
        while dose_col in src.frame.columns:
            dose_col += "_"
    else:
        raise DatasetError(f"from_wide: dose={dose!r}: expected a column name or an amount > 0")
    bad = ~(amount > 0)
    if bad.any():
        i = int(np.argmax(bad))
        src.fail(i, dose_col if dose_col in src.frame.columns else "dose", amount[i], "is not a dose",
                 "an amount > 0 for every subject")

    # the long table: per subject its samples in time order and a dose row at dose_time, after the samples
    # taken at or before dose_time (a sample at the dose time is a pre-dose sample)
    when = np.asarray(when, dtype=float)
    rows, times_, concs, is_dose = [], [], [], []
    for i in range(len(src.frame)):
        placed = False
        for k in np.flatnonzero(~np.isnan(cells[i])):
            if not placed and when[k] > dose_time:
                rows.append(i), times_.append(float(dose_time)), concs.append(np.nan), is_dose.append(True)
                placed = True
            rows.append(i), times_.append(when[k]), concs.append(cells[i, k]), is_dose.append(False)
        if not placed:
            rows.append(i), times_.append(float(dose_time)), concs.append(np.nan), is_dose.append(True)
    rows, is_dose = np.asarray(rows, dtype=np.int64), np.asarray(is_dose)
    time_col, conc_col = "time (from the column names)", "concentration"
    while time_col in src.frame.columns or conc_col in src.frame.columns:
        time_col, conc_col = time_col + "_", conc_col + "_"
    long = {id: src.frame[id].to_numpy()[rows], time_col: np.asarray(times_), conc_col: np.asarray(concs),
            dose_col: np.where(is_dose, amount[rows], np.nan)}
    for name in [o for o in options if o != dose] + others:
        long[name] = src.frame[name].to_numpy()[rows]
    long_src = _Source(pd.DataFrame(long), src.lines[rows], src.source, na_values)
    long_src.what = "from_wide"
    return _from_long(long_src, id=id, time=time_col, conc=conc_col, dose=dose_col, dose_time=None,
                      interval=interval, doses=doses, steady_state=steady_state, duration=duration, cmt=cmt,
                      route=None, routes=None, obs_cmt=obs_cmt, covariates=others, units=declared, mw=mw)


def _time_columns(src: _Source, times, used, covariates, time_unit):
    """The sampling-time columns of a wide table and their times (h), in time order."""
    if isinstance(times, Mapping):
        columns = list(times)
        when = []
        for col in columns:
            src.column(col, "times")
            v = times[col]
            if not isinstance(v, (int, float, np.integer, np.floating)) or isinstance(v, bool) or not v >= 0:
                raise DatasetError(f"from_wide: times[{col!r}] = {v!r}; expected a time >= 0 (in {time_unit})")
            when.append(float(to_internal([float(v)], time_unit, "time")[0]))
    elif times is None:
        skip = set(used) | set([covariates] if _is_label(covariates) else covariates or [])
        columns = [c for c in src.names if c not in skip and _time_of(c, time_unit) is not None]
        if not columns:
            raise DatasetError(f"from_wide: no column name is a time (the columns are {', '.join(map(str, src.names))}); "
                               "expected columns named like 0.5, '1h' or '30 min', or times={column: time}")
        when = [_time_of(c, time_unit) for c in columns]
    else:
        columns = [times] if _is_label(times) else list(times)
        when = []
        for col in columns:
            src.column(col, "times")
            value = _time_of(col, time_unit)
            if value is None:
                raise DatasetError(f"from_wide: column {col!r} in times= is not named like a time; expected a name "
                                   "such as 0.5, '1h' or '30 min', or times={column: time}")
            when.append(value)
    clash = [c for c in columns if c in used]
    if clash:
        raise DatasetError(f"from_wide: column {clash[0]!r} is both a sampling time and another argument; expected one")
    order = np.argsort(when, kind="stable")
    return [columns[k] for k in order], [when[k] for k in order]


# ---------------------------------------------------------------------------------------------
# from_monolix
# ---------------------------------------------------------------------------------------------
#: Monolix column names (case-insensitive) and what they hold.
MONOLIX = {"ID": "ID", "TIME": "TIME", "AMT": "AMT", "Y": "DV", "DV": "DV", "YTYPE": "YTYPE", "DVID": "YTYPE",
           "ADM": "ADM", "EVID": "EVID", "MDV": "MDV", "II": "II", "ADDL": "ADDL", "SS": "SS", "RATE": "RATE",
           "TINF": "TINF", "CENS": "CENS", "LIMIT": "LIMIT", "CMT": "CMT"}


def from_monolix(data, *, adm: Mapping | None = None, ytype: Mapping | None = None, units: Mapping | None = None,
                 mw: float | None = None, na_values=()) -> Dataset:
    """Read a Monolix-style dataset (a file or a DataFrame) as a NONMEM-style :class:`Dataset`.

    Parameters
    ----------
    data : str, Path or DataFrame
        Columns named as Monolix's column types (case-insensitive): ``ID``, ``TIME``, ``AMT``, ``Y`` (or
        ``DV``), and as present ``YTYPE`` (or ``DVID``), ``ADM``, ``EVID``, ``MDV``, ``II``, ``ADDL``, ``SS``,
        ``RATE`` or ``TINF``, ``CENS``, ``LIMIT``; any other column is a covariate (``OCC`` too). ``.`` and
        an empty cell are missing, as in Monolix. A file is read as :func:`read_nonmem` reads one (encodings,
        separators, ``#`` comment lines); a DataFrame is never modified.
    adm : mapping, optional
        Monolix's administration type (``ADM``) to the dose compartment, e.g. ``{1: "DEPOT", 2: "CENTRAL"}``;
        default: the ADM value is the compartment number. Without an ADM (or CMT) column doses go to CMT 0.
    ytype : mapping, optional
        The observation type (``YTYPE``) to the observed compartment; default: observations keep CMT 0 and
        ``YTYPE`` becomes the ``DVID`` column (which output each observation is).
    units, mw, na_values
        As in :func:`read_nonmem` (``units`` by Monolix names or NONMEM's: ``Y`` is ``DV``).

    Returns
    -------
    Dataset
        Without an ``EVID`` column, a row with a dose (``AMT`` > 0) and an observation (``Y`` not missing,
        ``MDV`` not 1) becomes two records, the observation first; ``TINF`` becomes ``RATE = AMT / TINF``;
        ``CENS = 1`` (left-censored: ``Y`` is the limit of quantification) becomes ``BLQ = 1`` with
        ``LLOQ = DV = Y`` (the columns the M3 method reads). ``source_lines`` are the file lines (rows).

    Raises
    ------
    DatasetError
        Naming the file line (or row), the column and the value: e.g. right-censored data (``CENS = -1``), an
        ADM value missing from ``adm``, or any rule of :func:`read_nonmem`.

    Examples
    --------
    >>> import pandas as pd
    >>> from pkpd.io import from_monolix
    >>> mlx = pd.DataFrame({"ID": [1, 1, 1], "TIME": [0, 1, 4], "AMT": [100, ".", "."], "ADM": [1, ".", "."],
    ...                     "Y": [".", 3.2, 1.1], "YTYPE": [".", 1, 1]})
    >>> from_monolix(mlx, adm={1: "DEPOT"}, ytype={1: "CENTRAL"}).events[["TIME", "EVID", "AMT", "CMT", "DV"]]
       TIME  EVID    AMT      CMT   DV
    0   0.0     1  100.0    DEPOT  NaN
    1   1.0     0    0.0  CENTRAL  3.2
    2   4.0     0    0.0  CENTRAL  1.1
    """
    if isinstance(data, pd.DataFrame):
        src = _source(data, na_values, "from_monolix")
    elif isinstance(data, (str, Path)):
        missing, _ = _na_option(na_values)
        names, columns, lines, source, _, decimal_comma = _read_file(Path(data), frozenset("#"), None,
                                                                     missing | MISSING_TEXT)
        src = _Source(pd.DataFrame(dict(zip(names, columns))), lines, source, na_values, decimal_comma)
    else:
        raise DatasetError(f"from_monolix takes a file path or a DataFrame, not {type(data).__name__}")
    n = len(src.frame)
    found = {}
    for name in src.names:
        key = MONOLIX.get(str(name).strip().upper())
        if key is None:
            continue
        if key in found:
            raise DatasetError(f"{src.what}, column {name}: it holds the same data item as column {found[key]!r} "
                               f"({key}); expected one of them")
        found[key] = name
    for required in ("ID", "TIME"):
        if required not in found:
            raise DatasetError(f"{src.what}: column {required} is missing (the columns are "
                               f"{', '.join(map(str, src.names))}); expected a Monolix column {required}")
    if "AMT" not in found and "DV" not in found:
        raise DatasetError(f"{src.what}: columns AMT and Y are both missing; expected doses (AMT), observations (Y) or both")
    if "RATE" in found and "TINF" in found:
        raise DatasetError(f"{src.what}, column {found['TINF']}: both RATE and TINF are given; expected one of them")
    if "CMT" in found and "ADM" in found:
        raise DatasetError(f"{src.what}, column {found['ADM']}: both CMT and ADM are given; expected one of them")

    def num(key, expected):
        return src.numbers(found[key], expected) if key in found else np.full(n, np.nan)

    t = num("TIME", "a time")
    amt = num("AMT", "a dose amount (or '.')")
    y = num("DV", "an observation (or '.')")
    evid = num("EVID", "an event type 0-4")
    mdv = num("MDV", "0 or 1")
    tinf = num("TINF", "an infusion duration (or '.')")
    cens = num("CENS", "0, 1 (left-censored) or -1 (right-censored)")
    _check(src, cens == -1, found.get("CENS"), cens, "marks a right-censored observation (above a limit)",
           "0 or 1: pkpd handles values below a limit of quantification (BLQ), not above one")
    _check(src, ~np.isnan(cens) & ~np.isin(cens, (0, 1, -1)), found.get("CENS"), cens, "is not a censoring code",
           "0 (observed) or 1 (below the limit of quantification)")
    ids = src.frame[found["ID"]].to_numpy()
    amount = np.where(np.isnan(amt), 0.0, amt)
    if "EVID" in found:
        is_dose = np.isin(evid, (1, 4)) | (np.isnan(evid) & (amount != 0))
        is_obs = ~is_dose
    else:
        is_dose = amount != 0
        is_obs = ~is_dose | (~np.isnan(y) & (np.isnan(mdv) | (mdv == 0)))

    # the dose compartment: ADM through adm=, or CMT
    dose_cmt = np.zeros(n, dtype=object)
    if "ADM" in found:
        values = src.frame[found["ADM"]].to_numpy(dtype=object)
        codes = src.numbers(found["ADM"], "an administration type (a number)")
        for i in np.flatnonzero(is_dose):
            v = codes[i]
            key = int(v) if not np.isnan(v) and v == int(v) else v
            if adm is not None:
                if key not in adm:
                    src.fail(i, found["ADM"], values[i], "is not an administration type in adm=",
                             f"one of {', '.join(repr(k) for k in adm)}")
                dose_cmt[i] = adm[key]
            else:
                dose_cmt[i] = 0 if np.isnan(v) else key
    elif "CMT" in found:
        dose_cmt = src.frame[found["CMT"]].to_numpy(dtype=object)
    obs_cmt = np.zeros(n, dtype=object)
    dvid = None
    if "YTYPE" in found:
        values = src.frame[found["YTYPE"]].to_numpy(dtype=object)
        codes = src.numbers(found["YTYPE"], "an observation type (a number)")
        if ytype is not None:
            for i in np.flatnonzero(is_obs & ~np.isnan(y)):
                v = codes[i]
                key = int(v) if not np.isnan(v) and v == int(v) else v
                if key not in ytype:
                    src.fail(i, found["YTYPE"], values[i], "is not an observation type in ytype=",
                             f"one of {', '.join(repr(k) for k in ytype)}")
                obs_cmt[i] = ytype[key]
        else:
            dvid = codes
    elif "CMT" in found:
        obs_cmt = src.frame[found["CMT"]].to_numpy(dtype=object)
    elif ytype is not None:
        raise DatasetError(f"{src.what}: ytype= is given but there is no YTYPE column; expected one")
    if adm is not None and "ADM" not in found:
        raise DatasetError(f"{src.what}: adm= is given but there is no ADM column; expected one")

    rate = num("RATE", "an infusion rate (or '.')")
    if "TINF" in found:
        rate = np.where(~np.isnan(tinf) & (tinf > 0), amount / np.where(tinf > 0, tinf, 1.0), np.nan)
    used = set(found.values())
    covs = _covariates(src, None, used, "from_monolix")
    for clash in ("BLQ", "LLOQ", "DVID"):
        if clash in covs and ((clash != "DVID" and "CENS" in found) or (clash == "DVID" and dvid is not None)):
            raise DatasetError(f"{src.what}, column {clash}: from_monolix makes this column from "
                               f"{'CENS' if clash != 'DVID' else 'YTYPE'}; expected only one of them")

    pos = np.arange(n, dtype=float)
    k_obs, k_dose = np.flatnonzero(is_obs), np.flatnonzero(is_dose)
    passed = {}
    for key in ("II", "ADDL", "SS"):
        if key in found:
            passed[key] = num(key, f"a value of {key} (or '.')")
    observations = {"_order": pos[k_obs], "ID": ids[k_obs], "TIME": t[k_obs], "DV": y[k_obs], "CMT": obs_cmt[k_obs]}
    if "EVID" in found:
        observations["EVID"] = evid[k_obs]
        observations["AMT"] = amount[k_obs]
    if "MDV" in found:
        observations["MDV"] = np.where(np.isnan(mdv[k_obs]) & ~np.isnan(y[k_obs]), 0, mdv[k_obs])
    if dvid is not None:
        observations["DVID"] = dvid[k_obs]
    if "CENS" in found:
        blq = np.where(np.isnan(cens), 0, cens)[k_obs]
        observations["BLQ"] = blq
        observations["LLOQ"] = np.where(blq == 1, y[k_obs], np.nan)
    doses = {"_order": pos[k_dose] + 0.5, "ID": ids[k_dose], "TIME": t[k_dose], "AMT": amount[k_dose],
             "CMT": dose_cmt[k_dose], "EVID": evid[k_dose] if "EVID" in found else np.ones(len(k_dose)),
             "MDV": np.ones(len(k_dose))}
    if "RATE" in found or "TINF" in found:
        doses["RATE"] = rate[k_dose]
    for key, values in passed.items():
        doses[key] = values[k_dose]
    if "CENS" in found:
        doses["BLQ"] = np.zeros(len(k_dose))
    labels = {canonical: found[key] for key, canonical in (("ID", "ID"), ("TIME", "TIME"), ("AMT", "AMT"), ("DV", "DV"),
                                                            ("EVID", "EVID"), ("MDV", "MDV"), ("II", "II"),
                                                            ("ADDL", "ADDL"), ("SS", "SS"), ("RATE", "RATE"))
              if key in found and found[key] != canonical}
    translate = {found[k]: ("DV" if k == "DV" else k) for k in found}
    declared = _units(units, translate)
    if "TINF" in found and ("AMT" in declared or "TIME" in declared):
        declared["RATE"] = f"{declared.get('AMT', 'mg')}/{declared.get('TIME', 'h')}"
    return _assemble(src, [(k_obs, observations), (k_dose, doses)], covs, declared, mw, labels)
