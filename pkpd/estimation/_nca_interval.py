"""Multiple-dose and steady-state NCA of :func:`pkpd.estimation.nca.nca` (``tau=``): a subject's dosing schedule
(dose records, ADDL/II repeats, SS records), the choice of the dosing interval [t0, t0 + tau] and its dose, with a
DatasetError naming the subject and value when they do not fit, and the metrics of the interval (AUC_TAU, CMAX_SS,
TMAX_SS, CMIN_SS, CTAU, CAVG, fluctuation, swing, the two accumulation ratios, CL_SS, VZ_SS).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from ..errors import DatasetError
from .._internal.text import show
from ._nca_compute import _apply_blq, _areas, _c0, _exp


def _close(a: float, b: float) -> bool:
    """Two times equal up to the rounding of t + k·II (ADDL repeats)."""
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def _schedule(sub) -> list[dict]:
    """The doses of a subject in time order, ADDL repeats expanded: ``{"time", "rec", "ss"}`` each."""
    id_, labels = sub["id"], sub["labels"]
    out = []
    for rec in sub["doses"]:
        addl = int(rec["addl"]) if rec["addl"] > 0 else 0
        if (addl or rec["ss"] != 0) and not rec["ii"] > 0:
            col, value = ("ADDL", addl) if addl else ("SS", rec["ss"])
            raise DatasetError(f"{labels[rec['row']]}, column II: value {show(rec['ii'])} for subject {id_!r}: a dose "
                               f"with {col} {show(value)} needs an interdose interval II > 0 for NCA")
        for k in range(addl + 1):
            out.append({"time": rec["time"] + k * rec["ii"], "rec": rec, "ss": rec["ss"] != 0})
    out.sort(key=lambda d: d["time"])
    for a, b in zip(out[:-1], out[1:]):
        if _close(a["time"], b["time"]):
            raise DatasetError(f"{labels[b['rec']['row']]}: subject {id_!r} has two doses at TIME {show(b['time'])}; "
                               "expected one dose record per dose time for multiple-dose NCA")
    return out


def _interval_of(sub, opts) -> dict:
    """The dosing interval analysed for a subject: ``t0``, ``tau``, its ``dose`` (a schedule entry), ``prior``
    (steady-state dose or earlier doses: the profile does not start from 0), ``ss``, ``t_next`` (the next dose
    time, inf if none) and ``first`` (the first dose, when its interval can give the accumulation ratio)."""
    id_, labels = sub["id"], sub["labels"]
    sched = _schedule(sub)
    if not sched:
        raise DatasetError(f"subject {id_!r} has no dose record: multiple-dose NCA (tau) needs the dose records (AMT; "
                           "SS=1 for a steady-state dose, ADDL/II or one record per dose for repeated doses)")
    times = np.array([d["time"] for d in sched])
    shown_times = ", ".join(show(v) for v in times[:10]) + (" ..." if len(times) > 10 else "")
    start = opts["interval_start"]
    if isinstance(start, Mapping):
        start = start.get(id_)
    if start is None:  # the last dose at or before the last observation
        last = float(sub["time"].max()) if sub["time"].size else -math.inf
        before = np.flatnonzero(times <= last)
        i = int(before[-1]) if before.size else 0
    else:
        match = [k for k, v in enumerate(times) if _close(float(v), float(start))]
        if not match:
            raise DatasetError(f"interval_start {show(start)} for subject {id_!r}: the subject has no dose at that "
                               f"time (doses at TIME {shown_times}); expected the time of the dose that starts the "
                               "interval")
        i = match[0]
    dose = sched[i]
    t0 = float(dose["time"])
    tau = opts["tau"]
    if isinstance(tau, Mapping):
        if id_ not in tau:
            raise DatasetError(f"tau gives no dosing interval for subject {id_!r}; expected a mapping with every "
                               "subject, a number or 'II'")
        tau = tau[id_]
    elif isinstance(tau, str):  # "II"
        rec = dose["rec"]
        if not rec["ii"] > 0:
            raise DatasetError(f"{labels[rec['row']]}, column II: value {show(rec['ii'])} for subject {id_!r}: "
                               f"tau='II' needs II > 0 on the dose record that starts the interval (TIME {show(t0)})")
        tau = rec["ii"]
    tau = float(tau)
    if not tau > 0:
        raise DatasetError(f"tau {show(tau)} for subject {id_!r} is not a positive dosing interval; expected tau > 0 "
                           "in the time unit of TIME")
    t_next = float(times[i + 1]) if i + 1 < len(times) else math.inf
    if t_next < t0 + tau and not _close(t_next, t0 + tau):
        raise DatasetError(f"tau {show(tau)} for subject {id_!r}: the next dose, at TIME {show(t_next)}, falls inside "
                           f"the interval [{show(t0)}, {show(t0 + tau)}]; expected tau no longer than the time to the "
                           "next dose")
    after = sub["time"][(sub["time"] >= t0) & (sub["time"] <= t_next)]
    t_obs = float(after.max()) if after.size else t0
    if tau > 2.0 * (t_obs - t0):
        raise DatasetError(f"tau {show(tau)} for subject {id_!r} is longer than the data: the last observation after "
                           f"the dose at TIME {show(t0)} is at TIME {show(t_obs)}; at most half of the interval may lie "
                           "after the last sample (extrapolated with λz)")
    first = None
    if i > 0 and not sched[0]["ss"]:
        tf = float(sched[0]["time"])
        if times[1] >= tf + tau or _close(float(times[1]), tf + tau):
            first = {"time": tf, "t_next": float(times[1])}
    return {"t0": t0, "tau": tau, "dose": dose, "ss": bool(dose["ss"]), "prior": bool(dose["ss"]) or i > 0,
            "t_next": t_next, "first": first}


def _end_conc(pt, pc, tau, lz, method):
    """(C at tau, how it was obtained) on the profile (pt, pc) (time since the dose, increasing, from 0): observed,
    interpolated by the AUC method's rule (log when ``method`` is linear-up/log-down and C decreases to a positive
    value, else linear), or extrapolated from the last point with λz (0 if the last point is 0)."""
    j = int(np.searchsorted(pt, tau))
    if j < len(pt) and pt[j] == tau:
        return float(pc[j]), "observed"
    if j < len(pt):
        t1, t2, c1, c2 = float(pt[j - 1]), float(pt[j]), float(pc[j - 1]), float(pc[j])
        f = (tau - t1) / (t2 - t1)
        if method == "linear-up/log-down" and c2 < c1 and c2 > 0:
            return c1 * math.exp(f * math.log(c2 / c1)), "interpolated"
        return c1 + f * (c2 - c1), "interpolated"
    if pc[-1] == 0:
        return 0.0, "zero after the last sample"
    if lz is None:
        return math.nan, "not extrapolated"
    return float(pc[-1]) * _exp(-lz * (tau - float(pt[-1]))), "extrapolated"


def _auc_tau(pt, pc, tau, lz, method):
    """(AUC over [0, tau], C at tau, how C at tau was obtained) on the profile (pt, pc) from the dose time 0. Beyond
    the last point the area is that of the λz exponential, C_last (1 - e^(-λz (tau - t_last)))/λz, for either
    method (as the extrapolation in AUCINF_OBS)."""
    ctau, how = _end_conc(pt, pc, tau, lz, method)
    inside = pt <= tau
    t_in, c_in = pt[inside], pc[inside]
    if how == "observed":
        return _areas(t_in, c_in, method)[0], ctau, how
    if how == "extrapolated":
        dt = tau - float(t_in[-1])
        return _areas(t_in, c_in, method)[0] + float(c_in[-1]) * -math.expm1(-lz * dt) / lz, ctau, how
    if math.isnan(ctau):
        return math.nan, ctau, how
    return _areas(np.r_[t_in, tau], np.r_[c_in, ctau], method)[0], ctau, how


def _interval_metrics(row, prof, iv, amount, opts) -> list[str]:
    """Fill the interval columns of ``row`` from the profile of the interval's dose; the notes to add."""
    tau = iv["tau"]
    row.update(INTERVAL_START=iv["t0"], TAU=tau, SS=int(iv["ss"]))
    notes = []
    if prof is None:
        return notes
    t, c, pt, pc, lz = prof["t"], prof["c"], prof["pt"], prof["pc"], prof["lz"]
    inside = t <= tau
    if inside.any():
        ti, ci = t[inside], c[inside]
        k = int(np.argmax(ci))
        row.update(CMAX_SS=float(ci[k]), TMAX_SS=float(ti[k]), CMIN_SS=float(ci.min()))
    auc, ctau, how = _auc_tau(pt, pc, tau, lz, opts["auc_method"])
    row["CTAU"] = ctau
    if how == "not extrapolated":
        notes.append(f"AUC_TAU and CTAU not computed: the interval ends after the last sample (TIME since the dose "
                     f"{show(float(pt[-1]))}) and λz is not estimated")
    elif how in ("interpolated", "extrapolated"):
        notes.append(f"CTAU {how} at tau = {show(tau)}" + (" with λz" if how == "extrapolated" else ""))
    row["AUC_TAU"] = auc
    if math.isfinite(auc) and auc > 0:
        cavg = auc / tau
        row["CAVG"] = cavg
        spread = row["CMAX_SS"] - row["CMIN_SS"]
        row["FLUCTUATION_PCT"] = 100.0 * spread / cavg
        if row["CMIN_SS"] > 0:
            row["SWING"] = spread / row["CMIN_SS"]
        elif not math.isnan(row["CMIN_SS"]):
            notes.append("SWING undefined: CMIN_SS is 0")
        if iv["prior"]:
            row["CL_SS"] = amount / auc
            if lz is not None:
                row["VZ_SS"] = amount / (lz * auc)
        else:
            notes.append("CL_SS and VZ_SS not computed: the interval follows the subject's first dose (see CL, VZ)")
    if lz is not None:
        row["RACC_LZ"] = 1.0 / -math.expm1(-lz * tau)
    first = prof.get("first")
    if first is not None:
        row["AUC_TAU_FIRST"] = first
        if math.isfinite(auc) and first > 0:
            row["RACC_AUC"] = auc / first
    return notes


def _first_interval_auc(sub, iv, route, opts) -> tuple[float, str]:
    """AUC over [tf, tf + tau] after the subject's first dose (time tf), by the single-dose rules (C at tf 0 unless
    sampled; IV bolus C0 back-extrapolated), the end interpolated (never extrapolated: no λz of the first dose)."""
    first = iv["first"]
    if first is None:
        return math.nan, ""
    tau, tf = iv["tau"], first["time"]
    t = sub["time"] - tf
    keep = (t >= 0) & (sub["time"] <= first["t_next"])
    t, c = _apply_blq(t[keep], sub["dv"][keep], sub["blq"][keep], opts["blq"])
    if t.size == 0 or not (c > 0).any():
        return math.nan, "AUC_TAU_FIRST not computed: no positive concentration after the first dose"
    if route == "iv":
        if not ((t > 0) & (c > 0)).any():
            return math.nan, "AUC_TAU_FIRST not computed: no positive concentration after the first dose"
        c0, _ = _c0(t, c)
        pt, pc = np.r_[0.0, t[t > 0]], np.r_[c0, c[t > 0]]
    elif t[0] > 0:
        pt, pc = np.r_[0.0, t], np.r_[0.0, c]
    else:
        pt, pc = t, c
    if pt[-1] < tau:
        return math.nan, (f"AUC_TAU_FIRST not computed: the samples after the first dose (TIME {show(tf)}) end before "
                          "tau")
    auc, _, _ = _auc_tau(pt, pc, tau, None, opts["auc_method"])
    return auc, ""
