"""Non-compartmental analysis (NCA) of single-dose and multiple-dose (steady-state) concentration-time profiles.

:func:`nca` computes, for every subject, the exposure metrics of a single dose (Cmax, Tmax, AUC and
AUMC to the last quantified concentration, the terminal rate constant λz with automatic or user
selection of the terminal points, extrapolation to infinity, MRT, clearance and volumes) and returns
one tidy row per subject. Units are those of the data; with pkpd's internal units (time h, amount mg,
concentration mg/L) AUC is in mg·h/L, AUMC in mg·h²/L, λz in 1/h, clearances in L/h and volumes in L.

The conventions follow PKNCA (Denney et al., R package PKNCA, ``pk.calc.half.life``, ``pk.calc.auc``,
``pk.calc.c0``) and Phoenix WinNonlin ("NCA computation rules", best-fit λz); the validation tests
reproduce WinNonlin's published results on the theophylline and indometacin datasets.

With ``tau`` (the dosing interval) it also analyses one dosing interval [t0, t0 + tau] after repeated or
steady-state doses (SS records, ADDL/II repeats or one record per dose): AUC_TAU, CMAX_SS, CMIN_SS, CTAU, CAVG,
fluctuation, swing, accumulation ratios, CL_SS and VZ_SS (:data:`NCA_TAU_COLUMNS`). Without ``tau`` every subject
must have exactly one dose, and the result is the single-dose table alone.

This module holds :func:`nca`, :data:`NCA_COLUMNS` and the assembly of each subject's row (derived parameters,
overflow check); the argument and dataset checks are in ``_nca_input``, the areas and λz in ``_nca_compute``, the
dosing interval and its metrics in ``_nca_interval``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..errors import DatasetError
from .._internal.text import show
from ._nca_compute import _apply_blq, _areas, _c0, _exp, _lambda_z
from ._nca_input import _ROUTE_ASSUMED, _check_options, _dose_of, _dose_record, _subjects
from ._nca_interval import _first_interval_auc, _interval_metrics, _interval_of

__all__ = ["nca", "NCA_COLUMNS", "NCA_TAU_COLUMNS"]

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

#: Columns added by :func:`nca` with ``tau`` (multiple-dose / steady-state NCA over the dosing interval
#: [t0, t0 + tau]), placed before ``NOTE``. Times are since the interval's dose, as the other columns.
NCA_TAU_COLUMNS = {
    "INTERVAL_START": "t0, time of the dose that starts the interval (time, on the TIME axis of the data)",
    "TAU": "dosing interval tau (time)",
    "SS": "1 when the interval's dose is a steady-state dose record (SS 1 or 2, or an ADDL repeat of one), else 0",
    "AUC_TAU": "AUC over [t0, t0 + tau] by auc_method, C at t0 + tau as CTAU (conc·time)",
    "CMAX_SS": "maximum observed concentration in the interval (conc)",
    "TMAX_SS": "time of CMAX_SS since t0, first occurrence (time)",
    "CMIN_SS": "minimum observed concentration in the interval (conc)",
    "CTAU": "concentration at t0 + tau: observed, interpolated by auc_method's rule, or extrapolated with λz (conc)",
    "CAVG": "average concentration AUC_TAU/TAU (conc)",
    "FLUCTUATION_PCT": "peak-trough fluctuation 100·(CMAX_SS - CMIN_SS)/CAVG (%)",
    "SWING": "(CMAX_SS - CMIN_SS)/CMIN_SS",
    "AUC_TAU_FIRST": "AUC over the first dosing interval [t1, t1 + tau] after the subject's first dose, when the data "
                     "have it (conc·time)",
    "RACC_AUC": "observed accumulation ratio AUC_TAU/AUC_TAU_FIRST",
    "RACC_LZ": "accumulation ratio predicted from λz for linear PK: 1/(1 - exp(-λz·TAU))",
    "CL_SS": "clearance at steady state DOSE/AUC_TAU; CL/F for an extravascular dose; NaN after the first dose "
             "(amount/conc/time, L/h)",
    "VZ_SS": "terminal volume DOSE/(λz·AUC_TAU); VZ/F for an extravascular dose; NaN after the first dose "
             "(amount/conc, L)",
}


# ---------------------------------------------------------------------------------------------
# public function
# ---------------------------------------------------------------------------------------------
def nca(data, *, auc_method: str = "linear-up/log-down", lambda_z="auto", route: str | None = None,
        dose=None, blq: str = "zero-before-tmax-drop-after", lloq: float | None = None,
        min_points: int = 3, exclude_tmax: bool = True, adj_r2_tolerance: float = 1e-4, tau=None,
        interval_start=None) -> pd.DataFrame:
    """Non-compartmental analysis of a single dose, or of a dosing interval with ``tau``; one row per subject.

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
        Terminal points for λz (times since the dose; with ``tau``, since the interval's dose). ``"auto"`` (default): the best-fit rule below. An int ``n``: the last
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
    tau : float, "II" or mapping, optional
        Dosing interval (time unit of TIME, h with internal units) for multiple-dose / steady-state NCA;
        ``"II"`` takes it from the II of the dose record that starts the interval; ``{id: tau}`` per
        subject. ``None`` (default): single-dose NCA, the table is exactly that of earlier versions. See
        Notes, **Dosing interval**.
    interval_start : float or mapping, optional
        With ``tau``: the time (on the TIME axis of the data) of the dose that starts the interval, or
        ``{id: time}``; it must be a dose time of the subject. Default: the last dose at or before the
        subject's last observation.

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
        With ``tau`` the columns of :data:`NCA_TAU_COLUMNS` come before ``NOTE``: ``INTERVAL_START TAU SS
        AUC_TAU CMAX_SS TMAX_SS CMIN_SS CTAU CAVG FLUCTUATION_PCT SWING AUC_TAU_FIRST RACC_AUC RACC_LZ
        CL_SS VZ_SS`` (``SS`` a nullable integer column).

    Raises
    ------
    DatasetError
        Bad input, naming the column, subject and value: whatever :func:`pkpd.read_nonmem` rejects in a
        DataFrame, a TIME of 2**53 (9.0e15) or more (doubles no longer hold the time differences the
        areas need), a metric that overflows to infinity (values near the largest double, 1.8e308),
        a negative or non-numeric concentration,
        observation times not increasing within a subject, a subject without a dose or (without
        ``tau``) with more than one dose, a repeated (ADDL) or steady-state (SS) dose, a dose that is not
        positive, an infusion without a positive RATE, observations in several compartments, an unknown
        ``auc_method``, ``route``, ``blq`` or ``lambda_z`` value. With ``tau``, naming the subject and
        value: a ``tau`` that is not a positive number (or ``"II"`` on a dose record with II 0), longer
        than the time to the next dose, or longer than the data (more than half of the interval after
        the subject's last sample); an ``interval_start`` that is not a dose time of the subject (no
        dose starts the interval); no dose record; two doses at the same time; ADDL or SS without II.

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

    **Dosing interval** (``tau``; PKNCA intervals, WinNonlin steady-state NCA). The doses of a subject are
    its dose records, each ADDL record repeated every II. The interval [t0, t0 + tau] starts at the dose
    at ``interval_start`` (default: the last dose at or before the last observation); no other dose may
    fall inside it. The single-dose columns are computed as above on the samples from t0 up to the next
    dose (inclusive: a sample at a dose time is taken before that dose), times since t0, with two
    changes when the interval's dose follows earlier doses or is a steady-state dose (SS 1 or 2): the
    concentration at t0 when not sampled is the minimum observed in the interval, not 0 (extravascular
    and infusion; WinNonlin's rule for steady state), and for an IV bolus a sample at t0 is the pre-dose
    trough, C0 being back-extrapolated from the samples after it; and MRT, CL, VZ and VSS (single-dose
    metrics) are NaN. Then: ``AUC_TAU`` is the area over [t0, t0 + tau] by ``auc_method``; when no sample
    falls at t0 + tau, C(t0 + tau) = ``CTAU`` is interpolated between the samples around it by the same
    rule (log-linearly on a decreasing segment with linear-up/log-down, else linearly), or, past the
    last sample, extrapolated as CLAST·e^(-λz (t - TLAST)) with the area of that exponential added (NaN
    without λz). ``CMAX_SS``, ``TMAX_SS`` and ``CMIN_SS`` are the observed maximum, its time, and minimum
    over the samples in the interval; ``CAVG`` = AUC_TAU/tau; ``FLUCTUATION_PCT`` = 100 (CMAX_SS −
    CMIN_SS)/CAVG; ``SWING`` = (CMAX_SS − CMIN_SS)/CMIN_SS; ``CL_SS`` = DOSE/AUC_TAU (CL/F extravascular)
    and ``VZ_SS`` = DOSE/(λz·AUC_TAU), which take the interval to be at steady state, are NaN after the first
    dose (where CL and VZ apply). Two accumulation ratios: ``RACC_AUC`` = AUC_TAU/``AUC_TAU_FIRST``, the
    observed ratio, when the data hold the subject's first dose (not a steady-state record) with samples
    up to tau after it (``AUC_TAU_FIRST``, by the single-dose rules, never extrapolated); ``RACC_LZ`` =
    1/(1 − e^(−λz·tau)), the ratio predicted for linear one-compartment kinetics (Gibaldi & Perrier 1982,
    ch. 3), available whenever λz is. They differ for an oral dose (RACC_LZ is the ratio of the troughs).

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

    At steady state after IV boluses of 100 every 12 (SS=1, II=12), C = 10·e^(-0.2 t)/(1 - e^(-2.4)):
    AUC_TAU = D/CL = 50, CL_SS = 2, RACC_LZ = 1/(1 - e^(-2.4)); CMAX_SS and CMIN_SS are the observed extremes
    (C at 0.5 and at 12), C0 is back-extrapolated:

    >>> t = np.array([0.5, 1, 2, 4, 6, 8, 12, 16, 24])
    >>> ss = pd.DataFrame({"ID": 1, "TIME": np.r_[0, t], "AMT": np.r_[100, 0 * t], "SS": np.r_[1, 0 * t],
    ...                    "II": np.r_[12, 0 * t], "DV": np.r_[np.nan, 10 * np.exp(-0.2 * t) / (1 - np.exp(-2.4))]})
    >>> res = nca(ss, route="iv", tau="II")
    >>> res[["C0", "AUC_TAU", "CMAX_SS", "CMIN_SS", "CAVG", "CL_SS", "VZ_SS", "RACC_LZ"]].round(4)
            C0  AUC_TAU  CMAX_SS  CMIN_SS    CAVG  CL_SS  VZ_SS  RACC_LZ
    0  10.9977     50.0   9.9511   0.9977  4.1667    2.0   10.0   1.0998
    """
    opts = _check_options(auc_method, lambda_z, route, blq, lloq, min_points, exclude_tmax, adj_r2_tolerance,
                          tau, interval_start)
    subjects = _subjects(data, opts)
    if isinstance(lambda_z, Mapping):
        known = {s["id"] for s in subjects}
        for key in lambda_z:
            if key not in known:
                raise DatasetError(f"lambda_z names subject {key!r}, which is not in the data")
    for name, arg in (("dose", dose), ("tau", tau), ("interval_start", interval_start)):
        if isinstance(arg, Mapping):
            known = {s["id"] for s in subjects}
            for key in arg:
                if key not in known:
                    raise DatasetError(f"{name} names subject {key!r}, which is not in the data")
    rows = [_finite(_one_subject(s, dose, opts), s) for s in subjects]
    assumed = [row["ID"] for row in rows if row["NOTE"].startswith(_ROUTE_ASSUMED)]
    if assumed:
        shown = ", ".join(map(repr, assumed[:5])) + (" ..." if len(assumed) > 5 else "")
        warnings.warn(f"nca: route assumed extravascular for {len(assumed)} subject(s) ({shown}): no route given and "
                      "no dose compartment (CMT) in the data; pass route='iv' or route='extravascular'", stacklevel=2)
    columns = list(NCA_COLUMNS)
    if tau is not None:
        columns[-1:-1] = list(NCA_TAU_COLUMNS)
    out = pd.DataFrame(rows, columns=columns)
    if tau is not None:
        out["SS"] = out["SS"].astype("Int64")
    out["LAMBDA_Z_N"] = out["LAMBDA_Z_N"].astype("Int64")
    return out


# ---------------------------------------------------------------------------------------------
# one subject
# ---------------------------------------------------------------------------------------------
def _finite(row: dict, sub) -> dict:
    """The row, unless a metric overflowed to infinity: then a DatasetError naming the value that caused it."""
    for key, value in row.items():
        if isinstance(value, float) and math.isinf(value):
            labels, dose = sub["labels"], sub["doses"][0] if sub["doses"] else None
            if key in ("CL", "VZ", "VSS", "DOSE", "CL_SS", "VZ_SS") and dose is not None:
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


def _nan_row(id_, route, amount, duration) -> dict:
    row = {k: math.nan for k in NCA_COLUMNS}
    row.update(ID=id_, ROUTE=route, DOSE=amount, DURATION=duration, NOTE="")
    return row


def _one_subject(sub, dose_arg, opts) -> dict:
    if opts["tau"] is None:
        amount, t_dose, route, duration, assumed = _dose_record(sub, dose_arg, opts)
        return _profile_row(sub, amount, t_dose, route, duration, assumed, opts, None)[0]
    iv = _interval_of(sub, opts)
    amount, _, route, duration, assumed = _dose_of(sub, iv["dose"]["rec"], dose_arg, opts)
    row, prof = _profile_row(sub, amount, iv["t0"], route, duration, assumed, opts, iv)
    for k in NCA_TAU_COLUMNS:
        row.setdefault(k, math.nan)
    notes = [row["NOTE"]] if row["NOTE"] else []
    if prof is not None:
        prof["first"], why = _first_interval_auc(sub, iv, route, opts)
        if why:
            notes.append(why)
    notes += _interval_metrics(row, prof, iv, amount, opts)
    row["NOTE"] = "; ".join(notes)
    return row


def _profile_row(sub, amount, t_dose, route, duration, assumed, opts, iv) -> tuple[dict, dict | None]:
    """The single-dose columns of a subject's row, from the profile after the dose at ``t_dose`` (with ``iv``, the
    dosing interval, only the samples up to the next dose), and that profile (None when it has no positive
    concentration): observed times since the dose ``t``, concentrations ``c``, the profile of the areas ``pt``,
    ``pc`` (from the dose time) and ``lz`` (None when λz is not estimated)."""
    notes = [assumed] if assumed else []
    row = _nan_row(sub["id"], route, amount, duration)

    t = sub["time"] - t_dose
    c = sub["dv"]
    flag = sub["blq"]
    pre = t < 0
    if iv is not None:  # the samples of this dosing interval's profile: from the dose to the next dose
        pre |= sub["time"] > iv["t_next"]
    elif pre.any():
        notes.append(f"{int(pre.sum())} sample(s) before the dose ignored")
    if pre.any():
        t, c, flag = t[~pre], c[~pre], flag[~pre]
    t, c = _apply_blq(t, c, flag, opts["blq"])
    if t.size == 0:
        row["NOTE"] = "; ".join(notes + ["no usable observation"])
        return row, None

    cmax = float(c.max())
    row["CMAX"] = cmax
    positive = np.flatnonzero(c > 0)
    if positive.size == 0:
        row["NOTE"] = "; ".join(notes + ["no positive concentration: AUC, TLAST and λz undefined"])
        return row, None
    imax = int(np.argmax(c))
    row["TMAX"] = float(t[imax])
    ilast = int(positive[-1])
    tlast, clast = float(t[ilast]), float(c[ilast])
    row["TLAST"], row["CLAST"] = tlast, clast

    # profile for the areas: the dose time first
    if route == "iv":
        if iv is not None and iv["prior"] and t[0] == 0:  # the sample at the dose time is the pre-dose trough
            notes.append("sample at the dose time taken as the pre-dose trough (IV bolus after earlier or "
                         "steady-state doses): C0 back-extrapolated")
            if not (c[t > 0] > 0).any():
                row["NOTE"] = "; ".join(notes + ["no positive concentration after the dose: AUC and λz undefined"])
                return row, None
            c0, note = _c0(t[t > 0], c[t > 0])
        else:
            c0, note = _c0(t, c)
        if note:
            notes.append(note)
        row["C0"] = c0
        keep = t > 0
        pt = np.r_[0.0, t[keep]]
        pc = np.r_[c0, c[keep]]
    elif t[0] > 0:
        start = 0.0
        if iv is not None and iv["prior"]:  # after earlier doses: C at the dose time = the interval's minimum
            start = float(c[t <= iv["tau"]].min()) if (t <= iv["tau"]).any() else float(c.min())
            notes.append(f"concentration at the dose time (not sampled) set to the minimum in the interval, "
                         f"{show(start)} (dose after earlier or steady-state doses)")
        pt, pc = np.r_[0.0, t], np.r_[start, c]
    else:
        pt, pc = t, c
    upto = pt <= tlast
    row["AUCLAST"], row["AUMCLAST"] = _areas(pt[upto], pc[upto], opts["auc_method"])
    prof = {"t": t, "c": c, "pt": pt, "pc": pc, "lz": None}

    fit, why = _lambda_z(sub["id"], t, c, imax, ilast, opts)
    if fit is None:
        notes.append(why)
        row["NOTE"] = "; ".join(notes)
        return row, prof
    lz, intercept, n, tstart, tend, r2, adj = fit
    prof["lz"] = lz
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
    if iv is not None and iv["prior"]:
        notes.append("MRT, CL, VZ and VSS are single-dose metrics, not computed after earlier or steady-state doses "
                     "(see CL_SS, VZ_SS)")
        row["NOTE"] = "; ".join(notes)
        return row, prof
    mrt = aumc_inf / auc_inf - duration / 2.0
    row["MRT"] = mrt
    cl = amount / auc_inf
    row["CL"] = cl
    row["VZ"] = amount / (lz * auc_inf)
    if route in ("iv", "infusion"):
        row["VSS"] = mrt * cl
    row["NOTE"] = "; ".join(notes)
    return row, prof
