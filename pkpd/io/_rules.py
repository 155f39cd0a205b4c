"""The rules of a NONMEM dataset, checked vectorised (one boolean mask per rule) on the parsed columns.

Required columns, single values, the values of one record (doses, infusions, steady state), subjects and
time order; the EVID and MDV that NM-TRAN derives when absent; a warning for a column named like a NONMEM
data item. The first rule that fails raises a :class:`~pkpd.errors.DatasetError` through :meth:`_Table.fail`.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..errors import DatasetError
from .._internal.text import show as _show
from ._cells import _integer_like
from ._table import _Table


def _check_columns(table: _Table):
    """ID and TIME are required, and at least one of AMT and DV."""
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
