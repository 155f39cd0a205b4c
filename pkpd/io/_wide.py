"""Wide tables: one row per subject, one column per sampling time -> :func:`from_wide`."""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..errors import DatasetError
from ..units import UnitError, to_internal
from ._dataset import Dataset
from ._formats import _Source, _covariates, _is_label, _units
from ._long import _from_long, _source

__all__ = ["from_wide"]


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
    n_rows, n_cols = cells.shape
    sampled = ~np.isnan(cells)
    s_row, s_col = np.nonzero(sampled)                      # row-major: each subject's samples in time order
    after = sampled & (when > dose_time)[None, :]
    dose_key = np.where(after.any(axis=1), np.argmax(after, axis=1) - 0.5, n_cols)   # before its first later sample
    rows = np.concatenate([s_row, np.arange(n_rows)])
    keys = np.concatenate([s_col.astype(float), dose_key])
    is_dose = np.concatenate([np.zeros(len(s_row), dtype=bool), np.ones(n_rows, dtype=bool)])
    times_ = np.concatenate([when[s_col], np.full(n_rows, float(dose_time))])
    concs = np.concatenate([cells[s_row, s_col], np.full(n_rows, np.nan)])
    order = np.lexsort((keys, rows))
    rows, is_dose, times_, concs = rows[order], is_dose[order], times_[order], concs[order]
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
