"""Non-compartmental analysis (NCA) of single-dose concentration-time profiles.

:func:`nca` computes, for every subject, the exposure metrics of a single dose (Cmax, Tmax, AUC and
AUMC to the last quantified concentration, the terminal rate constant λz with automatic or user
selection of the terminal points, extrapolation to infinity, MRT, clearance and volumes) and returns
one tidy row per subject. Units are those of the data; with pkpd's internal units (time h, amount mg,
concentration mg/L) AUC is in mg·h/L, AUMC in mg·h²/L, λz in 1/h, clearances in L/h and volumes in L.

The conventions follow PKNCA (Denney et al., R package PKNCA, ``pk.calc.half.life``, ``pk.calc.auc``,
``pk.calc.c0``) and Phoenix WinNonlin ("NCA computation rules", best-fit λz); the validation tests
reproduce WinNonlin's published results on the theophylline and indometacin datasets.

Multiple-dose / steady-state NCA (dosing interval ``tau``: AUCtau, Cavg, Cmin, accumulation) is not
covered: every subject must have exactly one dose.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..errors import DatasetError
from .._internal.numbers import MAX_EXACT_INT, is_number
from .._internal.text import show
from ..io import Dataset, read_dataset

__all__ = ["nca", "NCA_COLUMNS"]

#: Output columns of :func:`nca`, in order, with their units (``conc`` = concentration unit of DV,
#: ``time`` = time unit of TIME, ``amount`` = unit of the dose).
NCA_COLUMNS = {
    "ID": "subject identifier",
    "ROUTE": "route used: 'iv' (bolus), 'infusion' or 'extravascular'",
    "DOSE": "dose (amount)",
    "DURATION": "infusion duration AMT/RATE (time); 0 for a bolus or extravascular dose",
    "C0": "IV bolus only: concentration at the dose time, observed or back-extrapolated (conc)",
    "CMAX": "maximum observed concentration (conc)",
    "TMAX": "time of CMAX since the dose, first occurrence (time)",
    "TLAST": "time of the last positive (quantified) concentration since the dose (time)",
    "CLAST": "last positive observed concentration (conc)",
    "AUCLAST": "AUC from the dose to TLAST by auc_method (conc·time)",
    "AUMCLAST": "area under the first-moment curve t·C from the dose to TLAST (conc·time²)",
    "LAMBDA_Z": "terminal elimination rate constant, minus the slope of ln(C) on t (1/time)",
    "LAMBDA_Z_N": "number of points in the λz regression",
    "LAMBDA_Z_TSTART": "time of the first point of the λz regression (time)",
    "LAMBDA_Z_TEND": "time of the last point of the λz regression (time)",
    "R2": "coefficient of determination of the λz regression",
    "ADJ_R2": "adjusted R²: 1 - (1 - R²)(n - 1)/(n - 2)",
    "HALF_LIFE": "terminal half-life ln 2 / λz (time)",
    "CLAST_PRED": "concentration at TLAST predicted by the λz regression (conc)",
    "AUCINF_OBS": "AUCLAST + CLAST/λz (conc·time)",
    "AUCINF_PRED": "AUCLAST + CLAST_PRED/λz (conc·time)",
    "AUC_PCT_EXTRAP_OBS": "100·(AUCINF_OBS - AUCLAST)/AUCINF_OBS (%)",
    "AUMCINF_OBS": "AUMCLAST + CLAST·TLAST/λz + CLAST/λz² (conc·time²)",
    "MRT": "mean residence time AUMCINF_OBS/AUCINF_OBS, minus DURATION/2 for an infusion (time)",
    "CL": "clearance DOSE/AUCINF_OBS; CL/F for an extravascular dose (amount/conc/time, L/h)",
    "VZ": "terminal volume DOSE/(λz·AUCINF_OBS); VZ/F for an extravascular dose (amount/conc, L)",
    "VSS": "iv and infusion only: steady-state volume MRT·CL (amount/conc, L)",
    "NOTE": "why a metric is missing (NaN), or what was assumed; empty when nothing to say",
}

_ROUTES = ("iv", "infusion", "extravascular")
_AUC_METHODS = ("linear", "linear-up/log-down")
_BLQ_RULES = ("zero-before-tmax-drop-after", "drop", "zero")


# ---------------------------------------------------------------------------------------------
# public function
# ---------------------------------------------------------------------------------------------
#: The NOTE of a subject whose route was assumed (a bolus without compartments to compare).
_ROUTE_ASSUMED = ("route assumed extravascular: no route given and no dose compartment (CMT) to compare with the "
                  "samples' compartment; pass route='iv' for an IV bolus")


def nca(data, *, auc_method: str = "linear-up/log-down", lambda_z="auto", route: str | None = None,
        dose=None, blq: str = "zero-before-tmax-drop-after", lloq: float | None = None,
        min_points: int = 3, exclude_tmax: bool = True, adj_r2_tolerance: float = 1e-4) -> pd.DataFrame:
    """Non-compartmental analysis of a single dose, one row per subject.

    Parameters
    ----------
    data : Dataset or DataFrame
        A :class:`pkpd.Dataset` (doses are its dose records, EVID 1 or 4: AMT, RATE, CMT;
        observations are its EVID 0, MDV 0 records), or a tidy DataFrame with columns ``ID``,
        ``TIME``, ``DV`` and optionally ``AMT`` (a row with AMT > 0 is the dose record; with an
        ``EVID`` column, EVID 1 or 4 marks it), ``RATE``, ``CMT``, ``MDV`` (1 = not an observation),
        ``LLOQ`` and ``BLQ``. Rows of a DataFrame with a missing DV (and no BLQ flag) are ignored.
        A DataFrame is read as :func:`pkpd.read_nonmem` reads it (column names in any case, IDs kept
        exactly, missing-value tokens such as ``NA`` an error, AMT >= 0, known EVID codes, each
        subject's records together ...). Neither is modified.
    auc_method : {"linear-up/log-down", "linear"}
        Trapezoid rule for AUC and AUMC. ``"linear-up/log-down"`` (default, as PKNCA and WinNonlin)
        integrates a segment log-linearly when the concentration decreases and both ends are
        positive, linearly otherwise; ``"linear"`` always linearly.
    lambda_z : "auto", int or mapping
        Terminal points for λz. ``"auto"`` (default): the best-fit rule below. An int ``n``: the last
        ``n`` positive concentrations after Cmax. A mapping ``{id: (tstart, tend)}`` (or
        ``{id: n}``): for the subjects named, the positive concentrations with
        ``tstart <= t <= tend`` (any points, Cmax included if inside), or the last ``n`` points;
        the other subjects use ``"auto"``.
    route : {"iv", "infusion", "extravascular"}, optional
        Route of the dose; inferred when ``None`` (see Notes). ``"iv"`` is an IV bolus.
    dose : float or mapping, optional
        Dose amount for all subjects, or ``{id: amount}``; overrides the AMT of the dose records. With
        a DataFrame without dose rows it is the dose, given at time 0.
    blq : {"zero-before-tmax-drop-after", "drop", "zero"}
        Handling of concentrations below the limit of quantification (see Notes).
    lloq : float, optional
        Lower limit of quantification; overrides an ``LLOQ`` column. A DV strictly below it is BLQ.
    min_points : int
        Minimum number of terminal points for the automatic λz (default 3, at least 2).
    exclude_tmax : bool
        Leave the Cmax point out of the automatic λz candidates (default True, as PKNCA's
        ``allow.tmax.in.half.life = FALSE``).
    adj_r2_tolerance : float
        Allowance on the adjusted R² in the best-fit rule (default 1e-4, PKNCA's
        ``adj.r.squared.factor``, WinNonlin's 0.0001).

    Returns
    -------
    DataFrame
        One row per subject in order of first appearance, with the columns of :data:`NCA_COLUMNS`:
        ``ID ROUTE DOSE DURATION C0 CMAX TMAX TLAST CLAST AUCLAST AUMCLAST LAMBDA_Z LAMBDA_Z_N
        LAMBDA_Z_TSTART LAMBDA_Z_TEND R2 ADJ_R2 HALF_LIFE CLAST_PRED AUCINF_OBS AUCINF_PRED
        AUC_PCT_EXTRAP_OBS AUMCINF_OBS MRT CL VZ VSS NOTE``. All times are since the dose. Metrics
        that need λz are NaN when λz cannot be estimated (too few terminal points, or no fit with a
        negative slope; ``LAMBDA_Z_N``, a nullable integer column, is then ``<NA>``), and ``NOTE``
        says why. With internal units (h, mg, mg/L): AUC mg·h/L, AUMC
        mg·h²/L, λz 1/h, CL L/h (CL/F after an extravascular dose), VZ and VSS L (VZ/F likewise).

    Raises
    ------
    DatasetError
        Bad input, naming the column, subject and value: whatever :func:`pkpd.read_nonmem` rejects in a
        DataFrame, a TIME of 2**53 (9.0e15) or more (doubles no longer hold the time differences the
        areas need), a metric that overflows to infinity (values near the largest double, 1.8e308),
        a negative or non-numeric concentration,
        observation times not increasing within a subject, a subject without a dose or with more
        than one dose (multiple-dose NCA is not supported), a dose that is not positive, an infusion
        without a positive RATE, observations in several compartments, an unknown ``auc_method``,
        ``route``, ``blq`` or ``lambda_z`` value.

    Notes
    -----
    **Route.** ``route`` wins when given. Otherwise, from the dose record: when the dose compartment
    (CMT) and the observation compartment are both known (non-zero), the same compartment means the
    drug went straight into the sampled compartment -- an infusion if RATE > 0, else an IV bolus --
    and different compartments mean ``"extravascular"`` (a RATE > 0 there is a zero-order input into
    a depot). When CMT is unknown (absent or 0): RATE > 0 gives ``"infusion"``; a bolus cannot be told
    IV from oral, is analysed as ``"extravascular"``, and the subject's ``NOTE`` says so, with a warning
    naming the subjects (pass ``route`` to choose). The route used is the ``ROUTE`` column of the result. So ``load_dataset("indometacin")`` (dose and samples in CMT 1) is analysed as
    an IV bolus and ``load_dataset("theophylline")`` (dose in CMT 1, samples in CMT 2) as oral.
    The infusion duration is AMT/RATE.

    **Concentration at the dose time.** Extravascular and infusion: C(0) = 0 unless a sample was taken
    at the dose time (its value is used). IV bolus: C0 is the sample at the dose time if it is
    positive; otherwise it is back-extrapolated by the log-linear regression through the first two
    samples after the dose, C0 = C1·(C1/C2)^(t1/(t2 - t1)) (WinNonlin, PKNCA ``"logslope"``); when
    they do not decrease or one of them is 0, C0 is the first positive concentration (NOTE says so).
    AUC and AUMC include the segment from the dose to the first sample; Cmax and λz use observed
    samples only. Samples before the dose are ignored.

    **AUC.** Over each segment [t1, t2] linear: (C1 + C2)(t2 - t1)/2, AUMC (t1 C1 + t2 C2)(t2 - t1)/2;
    logarithmic (k = ln(C1/C2)/(t2 - t1)): (C1 - C2)/k, AUMC (t1 C1 - t2 C2)/k + (C1 - C2)/k², computed
    in an equivalent form that does not divide by k, which vanishes when C1/C2 is near 1.

    **Automatic λz** (PKNCA ``pk.calc.half.life``; WinNonlin "Best Fit"). Candidates are the positive
    concentrations after Tmax (at or after when ``exclude_tmax=False``) up to TLAST. For
    n = ``min_points`` ... all candidates, ln C is regressed on t over the last n points by least
    squares, giving λz = -slope, R² and the adjusted R² = 1 - (1 - R²)(n - 1)/(n - 2). Let
    ``best`` be the largest adjusted R² among all these fits (whatever their slope). The fits that
    qualify have λz > 0 and an adjusted R² >= ``best - adj_r2_tolerance``; of these the one with the
    most points is chosen. If there are fewer candidates than ``min_points``, or no fit qualifies
    (e.g. the best-fitting terminal points rise), λz is NaN. This is PKNCA's rule with
    ``min.hl.points = 3``, ``adj.r.squared.factor = 1e-4`` and ``allow.tmax.in.half.life = FALSE``
    (https://github.com/billdenney/pknca, ``R/half.life.R``; PKNCA compares with a strict ``>``,
    which differs only at exact ties and makes a zero tolerance select nothing), and WinNonlin's
    "Best Fit" (largest adjusted R²; within 0.0001 of it, the fit with more points). WinNonlin
    differs in one respect: for an IV bolus it lets the Cmax point into the candidates, which is
    ``exclude_tmax=False`` here. With ``min_points=2`` a 2-point fit (adjusted R² undefined) is used
    only when it is the only candidate.

    **BLQ.** A concentration is below the limit of quantification when a ``BLQ`` column is 1 or DV is
    below ``lloq`` (argument, else an ``LLOQ`` column). ``"zero-before-tmax-drop-after"`` (default):
    BLQ samples before the first quantified concentration (the lag before absorption, necessarily
    before Tmax) become 0, later ones are dropped; ``"zero"``: all become 0; ``"drop"``: all are
    dropped. Zeros take part in Cmax and AUC (linear segments) but never in λz; TLAST is the time of
    the last positive concentration.

    Examples
    --------
    A mono-exponential IV bolus (C = 10·e^(-0.2 t), dose 100): λz = 0.2, AUCinf = 10/0.2 = 50,
    CL = 100/50 = 2, V = 10.

    >>> import numpy as np, pandas as pd
    >>> from pkpd.estimation.nca import nca
    >>> t = np.array([0.5, 1, 2, 4, 6, 8, 12, 24])
    >>> df = pd.DataFrame({"ID": 1, "TIME": t, "DV": 10 * np.exp(-0.2 * t)})
    >>> res = nca(df, route="iv", dose=100)
    >>> res[["ID", "C0", "LAMBDA_Z", "LAMBDA_Z_N", "AUCINF_OBS", "CL", "VZ", "VSS"]].round(6)
       ID    C0  LAMBDA_Z  LAMBDA_Z_N  AUCINF_OBS   CL    VZ   VSS
    0   1  10.0       0.2           7        50.0  2.0  10.0  10.0

    The theophylline dataset (oral, inferred from the compartments):

    >>> from pkpd.io import load_dataset
    >>> res = nca(load_dataset("theophylline"))
    >>> res[["ID", "ROUTE", "CMAX", "TMAX", "AUCLAST", "LAMBDA_Z_N", "HALF_LIFE", "CL"]].head(3).round(4)
       ID          ROUTE   CMAX  TMAX   AUCLAST  LAMBDA_Z_N  HALF_LIFE      CL
    0   1  extravascular  10.50  1.12  147.2347           3    14.3044  1.4889
    1   2  extravascular   8.33  1.92   88.7313           4     6.6593  3.2714
    2   3  extravascular   8.20  1.02   95.8782           3     6.7661  3.0093
    """
    opts = _check_options(auc_method, lambda_z, route, blq, lloq, min_points, exclude_tmax, adj_r2_tolerance)
    subjects = _subjects(data, opts)
    if isinstance(lambda_z, Mapping):
        known = {s["id"] for s in subjects}
        for key in lambda_z:
            if key not in known:
                raise DatasetError(f"lambda_z names subject {key!r}, which is not in the data")
    if isinstance(dose, Mapping):
        known = {s["id"] for s in subjects}
        for key in dose:
            if key not in known:
                raise DatasetError(f"dose names subject {key!r}, which is not in the data")
    rows = [_finite(_one_subject(s, dose, opts), s) for s in subjects]
    assumed = [row["ID"] for row in rows if row["NOTE"].startswith(_ROUTE_ASSUMED)]
    if assumed:
        shown = ", ".join(map(repr, assumed[:5])) + (" ..." if len(assumed) > 5 else "")
        warnings.warn(f"nca: route assumed extravascular for {len(assumed)} subject(s) ({shown}): no route given and "
                      "no dose compartment (CMT) in the data; pass route='iv' or route='extravascular'", stacklevel=2)
    out = pd.DataFrame(rows, columns=list(NCA_COLUMNS))
    out["LAMBDA_Z_N"] = out["LAMBDA_Z_N"].astype("Int64")
    return out


# ---------------------------------------------------------------------------------------------
# options and input
# ---------------------------------------------------------------------------------------------
def _check_options(auc_method, lambda_z, route, blq, lloq, min_points, exclude_tmax, adj_r2_tolerance) -> dict:
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
    return {"auc_method": auc_method, "lambda_z": lambda_z, "route": route, "blq": blq, "lloq": lloq,
            "min_points": int(min_points), "exclude_tmax": bool(exclude_tmax), "tol": float(adj_r2_tolerance)}


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


# ---------------------------------------------------------------------------------------------
# one subject
# ---------------------------------------------------------------------------------------------
def _dose_record(sub, dose_arg, opts):
    """(dose amount, dose time, route, duration, what was assumed about the route: "" if nothing) of a subject,
    after checking its dose records."""
    id_, labels = sub["id"], sub["labels"]
    doses = sub["doses"]
    if len(doses) > 1:
        times = ", ".join(show(d["time"]) for d in doses)
        raise DatasetError(f"subject {id_!r} has {len(doses)} dose records (TIME {times}); nca() does single-dose "
                           "analysis only (multiple-dose / steady-state NCA is not supported)")
    rec = doses[0] if doses else None
    if rec is not None and (rec["addl"] > 0 or rec["ss"] != 0):
        col = "ADDL" if rec["addl"] > 0 else "SS"
        raise DatasetError(f"{labels[rec['row']]}, column {col}: subject {id_!r} has a repeated or steady-state dose; "
                           "nca() does single-dose analysis only")
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


def _finite(row: dict, sub) -> dict:
    """The row, unless a metric overflowed to infinity: then a DatasetError naming the value that caused it."""
    for key, value in row.items():
        if isinstance(value, float) and math.isinf(value):
            labels, dose = sub["labels"], sub["doses"][0] if sub["doses"] else None
            if key in ("CL", "VZ", "VSS", "DOSE") and dose is not None:
                where, col, shown = labels[dose["row"]], "AMT", show(dose["amt"])
            elif len(sub["dv"]):
                i = int(np.nanargmax(np.where(np.isnan(sub["dv"]), -np.inf, np.abs(sub["dv"]))))
                where, col, shown = labels[sub["obs"][i]], "DV", show(sub["dv"][i])
            else:
                where, col, shown = f"subject {sub['id']!r}", "DV", "-"
            raise DatasetError(f"{where}, column {col}: value {shown} for subject {sub['id']!r} makes {key} overflow "
                               "to infinity; expected values (and times) small enough for double precision: use "
                               "larger units")
    return row


def _apply_blq(t, c, flag, rule):
    """Times and concentrations after the BLQ rule (BLQ values replaced by 0 or dropped)."""
    if not flag.any():
        return t, c
    c = c.copy()
    if rule == "zero":
        c[flag] = 0.0
        return t, c
    if rule == "drop":
        keep = ~flag
        return t[keep], c[keep]
    quantified = np.flatnonzero(~flag)
    first = quantified[0] if quantified.size else len(c)
    idx = np.arange(len(c))
    zero = flag & (idx < first)
    c[zero] = 0.0
    keep = ~(flag & (idx > first))
    return t[keep], c[keep]


def _nan_row(id_, route, amount, duration) -> dict:
    row = {k: math.nan for k in NCA_COLUMNS}
    row.update(ID=id_, ROUTE=route, DOSE=amount, DURATION=duration, NOTE="")
    return row


def _one_subject(sub, dose_arg, opts) -> dict:
    amount, t_dose, route, duration, assumed = _dose_record(sub, dose_arg, opts)
    notes = [assumed] if assumed else []
    row = _nan_row(sub["id"], route, amount, duration)

    t = sub["time"] - t_dose
    c = sub["dv"]
    flag = sub["blq"]
    pre = t < 0
    if pre.any():
        notes.append(f"{int(pre.sum())} sample(s) before the dose ignored")
        t, c, flag = t[~pre], c[~pre], flag[~pre]
    t, c = _apply_blq(t, c, flag, opts["blq"])
    if t.size == 0:
        row["NOTE"] = "; ".join(notes + ["no usable observation"])
        return row

    cmax = float(c.max())
    row["CMAX"] = cmax
    positive = np.flatnonzero(c > 0)
    if positive.size == 0:
        row["NOTE"] = "; ".join(notes + ["no positive concentration: AUC, TLAST and λz undefined"])
        return row
    imax = int(np.argmax(c))
    row["TMAX"] = float(t[imax])
    ilast = int(positive[-1])
    tlast, clast = float(t[ilast]), float(c[ilast])
    row["TLAST"], row["CLAST"] = tlast, clast

    # profile for the areas: the dose time first
    if route == "iv":
        c0, note = _c0(t, c)
        if note:
            notes.append(note)
        row["C0"] = c0
        keep = t > 0
        pt = np.r_[0.0, t[keep]]
        pc = np.r_[c0, c[keep]]
    elif t[0] > 0:
        pt, pc = np.r_[0.0, t], np.r_[0.0, c]
    else:
        pt, pc = t, c
    upto = pt <= tlast
    row["AUCLAST"], row["AUMCLAST"] = _areas(pt[upto], pc[upto], opts["auc_method"])

    fit, why = _lambda_z(sub["id"], t, c, imax, ilast, opts)
    if fit is None:
        notes.append(why)
        row["NOTE"] = "; ".join(notes)
        return row
    lz, intercept, n, tstart, tend, r2, adj = fit
    row.update(LAMBDA_Z=lz, LAMBDA_Z_N=n, LAMBDA_Z_TSTART=tstart, LAMBDA_Z_TEND=tend, R2=r2, ADJ_R2=adj)
    row["HALF_LIFE"] = math.log(2) / lz
    clast_pred = _exp(intercept - lz * tlast)
    row["CLAST_PRED"] = clast_pred
    auc_inf = row["AUCLAST"] + clast / lz
    row["AUCINF_OBS"] = auc_inf
    row["AUCINF_PRED"] = row["AUCLAST"] + clast_pred / lz
    row["AUC_PCT_EXTRAP_OBS"] = 100.0 * (auc_inf - row["AUCLAST"]) / auc_inf
    aumc_inf = row["AUMCLAST"] + clast * tlast / lz + clast / lz**2
    row["AUMCINF_OBS"] = aumc_inf
    mrt = aumc_inf / auc_inf - duration / 2.0
    row["MRT"] = mrt
    cl = amount / auc_inf
    row["CL"] = cl
    row["VZ"] = amount / (lz * auc_inf)
    if route in ("iv", "infusion"):
        row["VSS"] = mrt * cl
    row["NOTE"] = "; ".join(notes)
    return row


def _c0(t, c):
    """IV bolus concentration at the dose time, and a note when it is not back-extrapolated."""
    if t[0] == 0 and c[0] > 0:
        return float(c[0]), ""
    after = np.flatnonzero(t > 0)
    if after.size >= 2:
        (t1, t2), (c1, c2) = t[after[:2]], c[after[:2]]
        if c1 > c2 > 0:
            return float(_exp(math.log(c1) - (math.log(c2) - math.log(c1)) / (t2 - t1) * t1)), ""
    pos = after[c[after] > 0]
    return float(c[pos[0]]), ("C0 set to the first positive concentration (the first two samples after the "
                              "dose do not decrease)")


def _plain(v):
    return v.item() if isinstance(v, np.generic) else v


def _exp(x: float) -> float:
    """math.exp, with inf for an overflow (found by the finiteness check of the results) instead of OverflowError."""
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def _areas(t, c, method):
    """AUC and AUMC over the profile (t, c) by the linear or linear-up/log-down trapezoid rule."""
    auc = aumc = 0.0
    for i in range(len(t) - 1):
        t1, t2, c1, c2 = float(t[i]), float(t[i + 1]), float(c[i]), float(c[i + 1])
        dt = t2 - t1
        if method == "linear-up/log-down" and c2 < c1 and c2 > 0:
            auc_i, aumc_i = _log_segment(t1, dt, c1, c2)
            auc += auc_i
            aumc += aumc_i
        else:
            auc += (c1 + c2) * dt / 2.0
            aumc += (t1 * c1 + t2 * c2) * dt / 2.0
    return auc, aumc


def _log_segment(t1, dt, c1, c2):
    """AUC and AUMC of a decreasing segment by the log rule, in a form without division by a vanishing k.

    With L = ln(C1/C2) = k dt: AUC = (C1 - C2) dt / L, and AUMC = (t1 C1 - t2 C2)/k + (C1 - C2)/k² rewritten as
    t1 AUC + dt² C2 (e^L - 1 - L)/L². The textbook form divides by k and k² and subtracts terms that grow as
    1/L: for C1/C2 near 1 (adjacent doubles give k = 0) it divided by zero or lost every digit (an AUMC of
    -2e15 for 1.5000000000000002 then 1.5). L is taken as log1p((C1 - C2)/C2), exact where C1/C2 rounds."""
    L = math.log1p((c1 - c2) / c2)
    auc = (c1 - c2) * dt / L
    if L < 0.1:  # (e^L - 1 - L)/L² = sum L^n/(n+2)!, 11 terms: the rest is below 0.1^11/13! = 1.6e-21
        g = 0.0
        for n in range(10, -1, -1):
            g = g * L + 1.0 / math.factorial(n + 2)
        tail = c2 * g
    else:  # the two terms cancel by a factor of at most ~2/L = 20 here

        tail = (c1 - c2) / (L * L) - c2 / L
    return auc, t1 * auc + dt * dt * tail


def _regress(t, c):
    """Least squares of ln c on t: (lambda_z, intercept, r2, adj_r2)."""
    y = np.log(c)
    n = len(t)
    tm, ym = t.mean(), y.mean()
    sxx = float(((t - tm) ** 2).sum())
    sxy = float(((t - tm) * (y - ym)).sum())
    syy = float(((y - ym) ** 2).sum())
    if not sxx > 0:  # times so close together that their spread squares to 0: no slope to fit
        return math.nan, math.nan, math.nan, math.nan
    slope = sxy / sxx
    intercept = ym - slope * tm
    sse = float(((y - intercept - slope * t) ** 2).sum())
    r2 = 1.0 - sse / syy if syy > 0 else (1.0 if sse == 0 else math.nan)
    adj = 1.0 - (1.0 - r2) * (n - 1) / (n - 2) if n > 2 else math.nan
    return -slope, float(intercept), r2, adj


def _lambda_z(id_, t, c, imax, ilast, opts):
    """(λz, intercept, n, tstart, tend, R², adjusted R²) or (None, reason)."""
    spec = opts["lambda_z"]
    if isinstance(spec, Mapping):
        spec = spec.get(id_, "auto")
    idx = np.arange(len(t))
    if isinstance(spec, (tuple, list)):
        tstart, tend = float(spec[0]), float(spec[1])
        use = np.flatnonzero((t >= tstart) & (t <= tend) & (c > 0))
        if use.size < 2:
            return None, (f"λz not estimated: {use.size} positive concentration(s) in the chosen interval "
                          f"[{show(tstart)}, {show(tend)}] (at least 2 needed)")
        return _fit_or_reason(t[use], c[use], "the chosen interval")
    after = (idx > imax) if opts["exclude_tmax"] else (idx >= imax)
    cand = np.flatnonzero(after & (idx <= ilast) & (c > 0))
    where = "after Tmax" if opts["exclude_tmax"] else "from Tmax on"
    if not isinstance(spec, str):  # last n points
        n = int(spec)
        if cand.size < n:
            return None, (f"λz not estimated: {n} terminal points requested but only {cand.size} positive "
                          f"concentration(s) {where}")
        use = cand[-n:]
        return _fit_or_reason(t[use], c[use], f"the last {n} points")
    m = opts["min_points"]
    if cand.size < m:
        return None, (f"λz not estimated: {cand.size} positive concentration(s) {where}, fewer than "
                      f"min_points={m}")
    fits = []
    for n in range(m, cand.size + 1):
        use = cand[-n:]
        lz, a, r2, adj = _regress(t[use], c[use])
        fits.append((n, lz, a, r2, adj, use))
    adjs = [f[4] for f in fits if math.isfinite(f[4])]
    if not adjs:  # only a 2-point fit (min_points=2): PKNCA accepts it when its slope is negative
        qualifying = [f for f in fits if f[1] > 0]
    else:
        best = max(adjs)
        qualifying = [f for f in fits if f[1] > 0 and math.isfinite(f[4]) and f[4] >= best - opts["tol"]]
    if not qualifying:
        return None, (f"λz not estimated: no terminal regression {where} with a negative slope has an adjusted R² "
                      f"within {opts['tol']:g} of the best ({max(adjs) if adjs else math.nan:.6g})")
    n, lz, a, r2, adj, use = max(qualifying, key=lambda f: f[0])
    return (lz, a, n, float(t[use[0]]), float(t[use[-1]]), r2, adj), ""


def _fit_or_reason(t, c, what):
    lz, a, r2, adj = _regress(t, c)
    if not lz > 0:
        return None, f"λz not estimated: the regression over {what} has a non-negative slope (λz = {lz:.6g})"
    return (lz, a, len(t), float(t[0]), float(t[-1]), r2, adj), ""
