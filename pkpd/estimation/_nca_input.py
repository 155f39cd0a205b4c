"""Options and input of :func:`pkpd.estimation.nca.nca`: the checks of its arguments, and the reading of a Dataset
or DataFrame into per-subject profiles and a single dose record each, with a DatasetError naming the column,
subject and value for bad times, concentrations, compartments, doses and routes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..errors import DatasetError
from .._internal.numbers import MAX_EXACT_INT, is_number
from .._internal.text import show
from ..io import Dataset, read_dataset

_ROUTES = ("iv", "infusion", "extravascular")
_AUC_METHODS = ("linear", "linear-up/log-down")
_BLQ_RULES = ("zero-before-tmax-drop-after", "drop", "zero")

#: The NOTE of a subject whose route was assumed (a bolus without compartments to compare).
_ROUTE_ASSUMED = ("route assumed extravascular: no route given and no dose compartment (CMT) to compare with the "
                  "samples' compartment; pass route='iv' for an IV bolus")


def _check_options(auc_method, lambda_z, route, blq, lloq, min_points, exclude_tmax, adj_r2_tolerance,
                   tau=None, interval_start=None) -> dict:
    if auc_method not in _AUC_METHODS:
        raise DatasetError(f"auc_method {auc_method!r} is unknown; "
                           f"expected one of {', '.join(map(repr, _AUC_METHODS))}")
    if route is not None and route not in _ROUTES:
        raise DatasetError(f"route {route!r} is unknown; "
                           f"expected one of {', '.join(map(repr, _ROUTES))} or None (inferred)")
    if blq not in _BLQ_RULES:
        raise DatasetError(f"blq {blq!r} is unknown; expected one of {', '.join(map(repr, _BLQ_RULES))}")
    if lloq is not None and not (is_number(lloq) and lloq > 0):
        raise DatasetError(f"lloq {lloq!r} is not a positive number")
    if isinstance(min_points, bool) or not isinstance(min_points, (int, np.integer)) or min_points < 2:
        raise DatasetError(f"min_points {min_points!r} is not an integer of at least 2")
    if not (is_number(adj_r2_tolerance) and adj_r2_tolerance >= 0):
        raise DatasetError(f"adj_r2_tolerance {adj_r2_tolerance!r} is not a non-negative number")
    if isinstance(lambda_z, Mapping):
        for key, spec in lambda_z.items():
            _check_lambda_spec(spec, f"lambda_z[{key!r}]")
    elif not (isinstance(lambda_z, str) and lambda_z == "auto"):
        _check_lambda_spec(lambda_z, "lambda_z")
    _check_interval_arg(tau, "tau", allow_ii=True)
    _check_interval_arg(interval_start, "interval_start", allow_ii=False)
    if interval_start is not None and tau is None:
        raise DatasetError(f"interval_start {interval_start!r} is given without tau; expected tau= (the dosing interval) "
                           "as well")
    return {"auc_method": auc_method, "lambda_z": lambda_z, "route": route, "blq": blq, "lloq": lloq,
            "min_points": int(min_points), "exclude_tmax": bool(exclude_tmax), "tol": float(adj_r2_tolerance),
            "tau": tau, "interval_start": interval_start}


def _check_interval_arg(value, name, allow_ii):
    """tau / interval_start: None, a number, a mapping {id: number} (and "II" for tau). The sign of tau is checked per
    subject, so that the message names the subject."""
    expected = ("a positive number (the dosing interval, in the time unit of TIME), 'II' (the II of the dose "
                "record) or a mapping {id: number}" if allow_ii else
                "a time of a dose record (in the time unit of TIME) or a mapping {id: time}")
    if value is None or (allow_ii and isinstance(value, str) and value == "II"):
        return
    items = value.items() if isinstance(value, Mapping) else [(None, value)]
    for key, v in items:
        if not is_number(v):
            where = f"{name}[{key!r}]" if key is not None else name
            raise DatasetError(f"{where} = {v!r} is not understood; expected {expected}")


def _check_lambda_spec(spec, name):
    expected = "'auto', an integer number of last points (at least 2) or a (tstart, tend) pair of times"
    if isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
        if spec < 2:
            raise DatasetError(f"{name} = {spec!r}: at least 2 points are needed; expected {expected}")
        return
    if isinstance(spec, (tuple, list)) and len(spec) == 2 and all(is_number(v, finite=False) for v in spec):
        if not (spec[0] <= spec[1]):
            raise DatasetError(f"{name} = {tuple(spec)!r}: tstart is after tend; expected {expected}")
        return
    raise DatasetError(f"{name} = {spec!r} is not understood; expected {expected}")


def _subjects(data, opts) -> list[dict]:
    """Per subject: id, dose records, observation arrays (time, dv, blq flag, cmt) and record labels."""
    if isinstance(data, Dataset):
        events = data.events  # a copy
        lines = data.source_lines
        src = data.source
        labels = [f"{src} line {int(n)}" if src else f"row {int(n)}" for n in lines]
        evid = events["EVID"].to_numpy()
        is_dose = (evid == 1) | (evid == 4)
        is_obs = (evid == 0) & (events["MDV"].to_numpy() == 0)
        table = events
    elif isinstance(data, pd.DataFrame):
        upper = {str(c).strip().upper(): c for c in data.columns}
        missing = [c for c in ("ID", "TIME", "DV") if c not in upper]
        if missing:
            raise DatasetError(f"the DataFrame has no column {', '.join(missing)}; nca() needs ID, TIME and DV "
                               "(and AMT on the dose row, or the dose argument)")
        # the checks of read_nonmem, as for a file (numbers and missing-value tokens, IDs kept exactly and each
        # subject's records together, AMT >= 0, known EVID codes, ...); TIME going back within a subject is
        # left to the NCA rule below, which names the observation
        ds = read_dataset(data, time_order=False)
        table = ds.events
        labels = [f"row {int(n)}" for n in ds.source_lines]
        for col in ("LLOQ", "BLQ"):
            if col in table.columns:
                table[col] = _numeric_column(table[col], col, labels)
        evid = table["EVID"].to_numpy()
        is_dose = (evid == 1) | (evid == 4)
        other = ~np.isin(evid, (0,)) & ~is_dose
        # an MDV given as 1 excludes a row; a row without DV is still an observation when flagged BLQ
        given = data[upper["MDV"]].notna().to_numpy() if "MDV" in upper else np.zeros(len(table), bool)
        mdv = given & (table["MDV"].to_numpy() == 1)
        flagged = table["BLQ"].fillna(0).to_numpy() == 1 if "BLQ" in table.columns else np.zeros(len(table), bool)
        has_dv = ~np.isnan(table["DV"].to_numpy(dtype=float))
        is_obs = ~is_dose & ~other & ~mdv & (has_dv | flagged)
    else:
        raise DatasetError(f"nca() takes a pkpd Dataset or a pandas DataFrame, not {type(data).__name__}")

    time = table["TIME"].to_numpy(dtype=float)
    bad_time = np.flatnonzero(~np.isfinite(time) & (is_obs | is_dose))
    if bad_time.size:
        i = int(bad_time[0])
        raise DatasetError(f"{labels[i]}, column TIME: value {show(table['TIME'].iloc[i])} for subject "
                           f"{_plain(table['ID'].iloc[i])!r} is not a finite time")
    # Beyond 2**53 doubles no longer hold every integer: sampling times a unit apart coincide, and the areas'
    # time differences (and lambda_z's regression on t) lose their digits or divide by zero
    huge = np.flatnonzero((np.abs(time) >= MAX_EXACT_INT) & (is_obs | is_dose))
    if huge.size:
        i = int(huge[0])
        raise DatasetError(f"{labels[i]}, column TIME: value {show(table['TIME'].iloc[i])} for subject "
                           f"{_plain(table['ID'].iloc[i])!r} is too large for NCA; expected times below 2**53 (9.0e15) "
                           "in the data's time unit")

    ids = table["ID"].to_numpy()
    codes, uniques = pd.factorize(ids)
    subjects = []
    for k, id_ in enumerate(uniques):
        rows = np.flatnonzero(codes == k)
        d_rows = rows[is_dose[rows]]
        o_rows = rows[is_obs[rows]]
        sub = {"id": id_.item() if isinstance(id_, np.generic) else id_, "labels": labels, "doses": [], "obs": o_rows}
        for i in d_rows:
            rec = {"row": int(i), "time": float(table["TIME"].iloc[i]),
                   "amt": float(table["AMT"].iloc[i]) if "AMT" in table.columns else math.nan,
                   "rate": (float(table["RATE"].iloc[i])
                            if "RATE" in table.columns and pd.notna(table["RATE"].iloc[i]) else 0.0),
                   "cmt": table["CMT"].iloc[i] if "CMT" in table.columns else 0,
                   "addl": float(table["ADDL"].iloc[i]) if "ADDL" in table.columns else 0.0,
                   "ii": float(table["II"].iloc[i]) if "II" in table.columns else 0.0,
                   "ss": float(table["SS"].iloc[i]) if "SS" in table.columns else 0.0}
            sub["doses"].append(rec)
        time = table["TIME"].to_numpy(dtype=float)[o_rows]
        dv = table["DV"].to_numpy(dtype=float)[o_rows]
        flag = np.zeros(len(o_rows), bool)
        if "BLQ" in table.columns:
            flag |= table["BLQ"].fillna(0).to_numpy(dtype=float)[o_rows] == 1
        limit = np.full(len(o_rows), math.nan)
        if opts["lloq"] is not None:
            limit[:] = opts["lloq"]
        elif "LLOQ" in table.columns:
            limit = table["LLOQ"].to_numpy(dtype=float)[o_rows]
        with np.errstate(invalid="ignore"):
            flag |= dv < limit
        cmts = table["CMT"].to_numpy()[o_rows] if "CMT" in table.columns else np.zeros(len(o_rows), int)
        sub.update(time=time, dv=dv, blq=flag, cmts=cmts)
        _validate_subject(sub)
        subjects.append(sub)
    return subjects


def _known_cmt(c) -> bool:
    """A compartment is known unless it is missing or 0."""
    if c is None or (isinstance(c, (float, np.floating)) and math.isnan(c)):
        return False
    return c not in (0, "0", "")


def _numeric_column(series: pd.Series, col: str, labels) -> pd.Series:
    values = pd.to_numeric(series, errors="coerce")
    bad = np.flatnonzero(values.isna().to_numpy() & series.notna().to_numpy())
    if bad.size:
        i = int(bad[0])
        raise DatasetError(f"{labels[i]}, column {col}: value {series.iloc[i]!r} is not a number")
    return values.astype(float)


def _validate_subject(sub):
    id_, labels, rows = sub["id"], sub["labels"], sub["obs"]
    dv, time, flag = sub["dv"], sub["time"], sub["blq"]
    neg = np.flatnonzero((dv < 0) & ~flag)
    if neg.size:
        i = int(neg[0])
        raise DatasetError(f"{labels[rows[i]]}, column DV: value {show(dv[i])} for subject {id_!r} at TIME "
                           f"{show(time[i])} is a negative concentration; expected a concentration >= 0")
    if time.size > 1:
        back = np.flatnonzero(np.diff(time) <= 0)
        if back.size:
            i = int(back[0]) + 1
            raise DatasetError(f"{labels[rows[i]]}, column TIME: value {show(time[i])} for subject {id_!r} does not "
                               f"increase (previous observation at TIME {show(time[i - 1])}); expected strictly "
                               "increasing observation times within a subject")
    known = [c for c in pd.unique(sub["cmts"]) if _known_cmt(c)]
    if len(known) > 1:
        raise DatasetError(f"subject {id_!r} has observations in several compartments (column CMT: "
                           f"{', '.join(show(c) for c in known)}); nca() analyses one concentration profile: "
                           "keep the observations of one compartment")
    sub["obs_cmt"] = known[0] if known else 0


def _dose_record(sub, dose_arg, opts):
    """(dose amount, dose time, route, duration, what was assumed about the route: "" if nothing) of a subject,
    after checking its dose records."""
    id_, labels = sub["id"], sub["labels"]
    doses = sub["doses"]
    if len(doses) > 1:
        times = ", ".join(show(d["time"]) for d in doses)
        raise DatasetError(f"subject {id_!r} has {len(doses)} dose records (TIME {times}); nca() does single-dose "
                           "analysis only without tau (pass tau=, the dosing interval, for multiple-dose NCA)")
    rec = doses[0] if doses else None
    if rec is not None and (rec["addl"] > 0 or rec["ss"] != 0):
        col = "ADDL" if rec["addl"] > 0 else "SS"
        raise DatasetError(f"{labels[rec['row']]}, column {col}: subject {id_!r} has a repeated or steady-state dose; "
                           "nca() does single-dose analysis only without tau (pass tau=, the dosing interval, for "
                           "multiple-dose NCA)")
    return _dose_of(sub, rec, dose_arg, opts)


def _dose_of(sub, rec, dose_arg, opts):
    """(dose amount, dose time, route, duration, what was assumed about the route) for the dose record ``rec``
    (None: no dose record, the dose argument given at time 0)."""
    id_, labels = sub["id"], sub["labels"]
    if isinstance(dose_arg, Mapping):
        amount = dose_arg.get(id_)
    else:
        amount = dose_arg
    if amount is None:
        if rec is None:
            raise DatasetError(f"subject {id_!r} has no dose: give a dose record (AMT > 0) or the dose argument")
        amount = rec["amt"]
        where = f"{labels[rec['row']]}, column AMT: "
    else:
        where = "dose argument: "
    if not (is_number(amount) and amount > 0):
        raise DatasetError(f"{where}value {show(amount)} for subject {id_!r} is not a positive dose amount")
    t_dose = rec["time"] if rec is not None else 0.0
    rate = rec["rate"] if rec is not None else 0.0
    dose_cmt = rec["cmt"] if rec is not None else 0
    route, assumed = opts["route"], ""
    if route is None:
        obs_cmt = sub["obs_cmt"]
        both = _known_cmt(dose_cmt) and _known_cmt(obs_cmt)
        if both and dose_cmt != obs_cmt:
            route = "extravascular"
        elif rate != 0:
            route = "infusion"
        elif both:
            route = "iv"
        else:  # a bolus with no compartment to compare: assumed oral, and the result says so (NOTE, and a warning)
            route = "extravascular"
            assumed = _ROUTE_ASSUMED
    duration = 0.0
    if route == "infusion":
        if not rate > 0:
            shown = show(rate)
            where = f"{labels[rec['row']]}, column RATE: value {shown}" if rec is not None else "no dose record"
            raise DatasetError(f"{where} for subject {id_!r}: an infusion needs a RATE > 0 on the dose record "
                               "(duration = AMT/RATE); modelled rates (-1, -2) cannot be used by NCA")
        duration = rec["amt"] / rate
    elif route == "iv" and rate != 0:
        raise DatasetError(f"{labels[rec['row']]}, column RATE: value {show(rate)} for subject {id_!r} contradicts "
                           "route='iv' (a bolus); use route='infusion' or RATE 0")
    return float(amount), float(t_dose), route, float(duration), assumed


def _plain(v):
    return v.item() if isinstance(v, np.generic) else v
