"""Long tables (nlme/``groupedData`` style): one row per sample, doses in a column or given apart -> :func:`from_long`."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..errors import DatasetError
from ._dataset import Dataset
from ._formats import _Source, _assemble, _check, _covariates, _is_label, _scalar_or_column, _units, _warn_lookalikes

__all__ = ["from_long"]


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
