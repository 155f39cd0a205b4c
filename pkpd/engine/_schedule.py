"""Compile a canonical event table into dose inputs, resets and output requests (vectorised).

The canonical event table is what :class:`pkpd.Dataset` and :meth:`pkpd.Regimen.to_events` produce:
columns ``ID TIME EVID AMT RATE CMT II ADDL SS`` in record order (numeric, no missing values, CMT a
compartment number or name). This module knows the *semantics* of those records (NONMEM/PREDPP), not
the file format; both the closed form and the ODE engine consume its :class:`Schedule`.

Ordering at equal times. Every record gets an order key equal to its position within its subject.
Things a record implies at a later time -- additional (ADDL) doses, lagged arrivals, infusion ends --
get the key of the last record at or before that time plus 0.5: as in NONMEM, they happen after the
records at the same time. An item (dose input or reset) is seen by an output at ``(t, key)`` when
``(item_time, item_key) < (t, key)``. Outputs take the key of their record plus 0.1, so that the
prediction on a dose record includes that dose.

Time-varying parameters. Parameters given per record (``record_params``) are piecewise constant
between records, as when NONMEM evaluates $PK at every record. With ``carry="nocb"`` (next observation
carried backward, NONMEM's default) the value on record ``r`` is in force over ``(t_{r-1}, t_r]``: the
switch to it happens at the previous record's time, after that record, its output and the implied
events at that time (key ``key_r - 0.4``). With ``carry="locf"`` the value on record ``r`` is in force
from ``t_r`` until the next record: the switch happens at ``t_r`` just before the record and its reset
(key ``key_r - 0.3``). Either way, at a record's own time (its reset, dose and output) the record's own
value is in force, and a unit starts with its first record's values. Only actual changes are kept.

Resets. EVID 3 and 4 and SS=1 dose records reset the system just before the record (key - 0.25). An
item is cut by the first reset that follows its source record: contributions stop there, and doses it
implies after the reset are cancelled. A subject whose TIME goes back after a reset is split into
independent *units* (integration episodes).

Steady state. An SS dose record at time ``T`` (arrival ``a = T + ALAG``) with ``II > 0`` yields, besides
its own dose, a *train* item standing for the earlier copies of that dose at ``a - j*II`` for
``j = 1, 2, ...`` (item ``time`` is the most recent copy, ``a - II``; ``period`` is ``II``), valid from
``(T, key)``. An SS infusion with ``II = 0`` yields a constant infusion that started at ``-inf``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from ..errors import DatasetError, ModelError, ParameterError, SimulationError
from ..models import no_compartment

__all__ = ["Schedule", "compile_schedule", "grouped_searchsorted", "MEMORY_LIMIT",
           "memory_limit", "dose_copies", "schedule_bytes", "check_memory"]


#: Memory (bytes) a simulation may plan for; ``None``: half of the physical memory (4 GiB where unknown).
#: :func:`compile_schedule` and :func:`pkpd.simulate` estimate what they need before allocating and raise
#: instead of exhausting the machine (a dataset row with ``ADDL=1e9`` would otherwise ask for terabytes).
MEMORY_LIMIT: int | None = None
# Bytes per dose input (incl. ADDL copies) and per output request, as (fixed, per state) counts of 8-byte
# words, measured with tracemalloc (peak) on one- and two-compartment models. The closed form keeps ~20
# arrays per input (schedule, sort, modal weights); the ODE engine's steps, and their dense-output
# coefficients, grow with the breakpoints the inputs make (a few steps per dose).
_WORDS_PER_INPUT = {"analytic": (44, 6), "ode": (340, 180)}
_WORDS_PER_OUTPUT = (24, 8)

IMPLIED = 0.5  # key offset of implied events (after the records at the same time)
RESET_KEY = -0.25  # key offset of a reset relative to its record
OUTPUT = 0.1  # key offset of an output relative to its record (after the record's own dose)


@dataclass(frozen=True)
class Schedule:
    """Dose inputs, resets and output requests for a batch of integration units.

    All arrays are flat; ``inp_*`` rows are sorted by (unit, time, key). Times are in the model's time
    unit. ``inp_period > 0`` marks a steady-state train (see module docstring); ``inp_time = -inf`` with
    ``inp_duration = inf`` marks a steady-state constant infusion.
    """

    n_units: int
    unit_subject: np.ndarray  # (n_units,) row of the parameter arrays for each unit
    unit_start: np.ndarray  # (n_units,) time of the unit's first record
    # dose inputs
    inp_unit: np.ndarray
    inp_cmt: np.ndarray
    inp_time: np.ndarray
    inp_key: np.ndarray
    inp_amount: np.ndarray
    inp_rate: np.ndarray
    inp_duration: np.ndarray
    inp_period: np.ndarray
    inp_from_time: np.ndarray  # contributions start at (from_time, from_key) (SS trains; else -inf)
    inp_from_key: np.ndarray
    inp_until_time: np.ndarray  # ... and stop at the first following reset (inf if none)
    inp_until_key: np.ndarray
    # resets
    reset_unit: np.ndarray
    reset_time: np.ndarray
    reset_key: np.ndarray
    # outputs
    out_unit: np.ndarray
    out_time: np.ndarray
    out_key: np.ndarray
    out_row: np.ndarray  # position of the output in the caller's request
    # time-varying parameters (``record_params``; None without them): values at each unit's start, and the
    # changes, sorted by (unit, time, key), each setting every time-varying parameter to ``chg_values``
    unit_params: dict | None = None
    chg_unit: np.ndarray | None = None
    chg_time: np.ndarray | None = None
    chg_key: np.ndarray | None = None
    chg_values: dict | None = None


def memory_limit() -> int:
    """The memory (bytes) a simulation may plan for: :data:`MEMORY_LIMIT`, or half of the physical memory.

    Set ``pkpd.engine._schedule.MEMORY_LIMIT`` (bytes) to lower or raise it:

    >>> import pkpd.engine._schedule as schedule
    >>> schedule.MEMORY_LIMIT = 2**30
    >>> schedule.memory_limit()
    1073741824
    >>> schedule.MEMORY_LIMIT = None  # back to half of the physical memory
    """
    if MEMORY_LIMIT is not None:
        return int(MEMORY_LIMIT)
    try:
        import os

        return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")) // 2
    except (AttributeError, ValueError, OSError):
        return 4 << 30


def schedule_bytes(n_inputs, n_outputs, n_states, ode: bool = False):
    """Estimated peak memory (bytes) of compiling and solving ``n_inputs`` dose inputs at ``n_outputs`` outputs.

    Counts may be arrays (one estimate per chunk of subjects).

    >>> round(schedule_bytes(1_000_000, 1_000, 2) / 2**20)  # a million doses, closed form, 2 states (MiB)
    428
    """
    a, b = _WORDS_PER_INPUT["ode" if ode else "analytic"]
    c, d = _WORDS_PER_OUTPUT
    return 8.0 * (np.asarray(n_inputs, float) * (a + b * n_states) + np.asarray(n_outputs, float) * (c + d * n_states))


def check_memory(n_inputs, n_outputs, n_states, ode: bool = False, worst=None, extra_bytes: float = 0.0) -> None:
    """Raise before allocating when a simulation would need more than :func:`memory_limit`.

    ``worst`` = (where, ADDL value, copies, last time) names the dose record with the most ADDL copies; it
    is blamed (a :class:`DatasetError` on column ADDL) when its copies are at least half of the inputs.
    ``extra_bytes`` is what the caller holds besides the schedule (its result arrays)."""
    need, limit = float(schedule_bytes(n_inputs, n_outputs, n_states, ode)) + extra_bytes, memory_limit()
    if need <= limit:
        return
    gb = f"about {need / 2**30:.3g} GiB, more than the {limit / 2**30:.3g} GiB allowed (pkpd.engine._schedule.MEMORY_LIMIT)"
    if worst is not None and 2 * worst[2] >= n_inputs:
        where, addl, copies, last = worst
        raise DatasetError(
            f"{where}, column ADDL: value {addl} implies {copies - 1} additional doses up to the last output at TIME "
            f"{last!r}; simulating them would need {gb}; expected fewer additional doses (SS=1 stands for all earlier "
            "ones) or an earlier last record")
    raise SimulationError(f"simulating {n_inputs} dose inputs at {n_outputs} outputs of {n_states} states would need "
                          f"{gb}; expected fewer subjects or records per call (chunk_size)")


def dose_copies(time, ii, addl, last_time, lag=0.0) -> np.ndarray:
    """How many of a dose record's ADDL copies can affect an output: those given by ``last_time``.

    Copy ``j`` of a dose at ``time`` is given at ``time + j*II`` and arrives ``lag`` later; one given after
    the last output of its unit (``last_time``) changes no prediction, so it is not expanded (as in NONMEM,
    whose implied doses after a subject's last record are never reached). ADDL = 1e8 with outputs over a
    day is a handful of copies, not a hundred million. One copy past the bound is kept against rounding.
    Where the bound is undefined (II 0, a non-finite lag) every copy is kept.

    >>> dose_copies(np.array([0.0]), np.array([12.0]), np.array([100_000_000]), np.array([48.0]))
    array([5])
    """
    time, ii, addl = np.asarray(time, float), np.asarray(ii, float), np.asarray(addl, np.int64)
    addl = np.maximum(addl, 0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        span = (np.asarray(last_time, float) - time - lag) / ii
    known = np.isfinite(span) & (ii > 0)
    upto = np.where(known, np.floor(np.clip(np.where(known, span, 0.0), -1.0, 2.0**62)) + 1, addl)
    return np.clip(upto, 0, addl).astype(np.int64)


def grouped_searchsorted(group, k1, k2, q_group, q_k1, q_k2, side="left"):
    """``searchsorted`` within groups on lexicographic keys.

    ``(group, k1, k2)`` must be sorted lexicographically. For each query returns the global index of
    the first element of the query's group whose key ``(k1, k2)`` is ``>= (q_k1, q_k2)`` (``side="left"``)
    or ``> (q_k1, q_k2)`` (``side="right"``); the index equals the end of the group when there is none.
    Exact (no arithmetic on the keys).
    """
    n, m = len(group), len(q_group)
    if m == 0:
        return np.zeros(0, dtype=np.int64)
    if n == 0:
        return np.zeros(m, dtype=np.int64)
    if not (np.any(k2) or np.any(q_k2)):
        # one key: replace times by their rank among the elements' distinct times, then search one
        # exact integer key group * (U + 1) + rank
        uniq = np.unique(k1)
        U = len(uniq) + 1
        e_key = np.asarray(group, np.int64) * U + np.searchsorted(uniq, k1)
        q_key = np.asarray(q_group, np.int64) * U + np.searchsorted(uniq, q_k1, side=side)
        return np.searchsorted(e_key, q_key, side="left")
    # elements before queries on ties for side="right", after them for side="left"
    tie = np.concatenate([np.zeros(n), np.ones(m)]) if side == "right" else np.concatenate([np.ones(n), np.zeros(m)])
    is_query = np.concatenate([np.zeros(n, bool), np.ones(m, bool)])
    order = np.lexsort(
        (tie, np.concatenate([k2, q_k2]), np.concatenate([k1, q_k1]), np.concatenate([group, q_group]))
    )
    elements_before = np.cumsum(~is_query[order])  # elements at or before each sorted position
    result = np.empty(m, dtype=np.int64)
    q_positions = np.nonzero(is_query[order])[0]
    result[order[q_positions] - n] = elements_before[q_positions]
    return result


def _next_in_group(group, k1, k2, q_group, q_k1, q_k2, side):
    """Keys of the first grouped element after each query (inf when none)."""
    idx = grouped_searchsorted(group, k1, k2, q_group, q_k1, q_k2, side=side)
    found = idx < len(group)
    safe = np.minimum(idx, max(len(group) - 1, 0))
    if len(group):
        found &= group[safe] == q_group
    t = np.where(found, k1[safe] if len(group) else np.inf, np.inf)
    k = np.where(found, k2[safe] if len(group) else np.inf, np.inf)
    return t, k


def compile_schedule(
    events: pd.DataFrame,
    model,
    subject_index: np.ndarray,
    dosing: dict[str, np.ndarray],
    output_mask: np.ndarray | None = None,
    extra_outputs: tuple[np.ndarray, np.ndarray] | None = None,
    *,
    dosing_row: np.ndarray | None = None,
    record_params: dict[str, np.ndarray] | None = None,
    carry: str = "nocb",
    ode: bool = False,
) -> Schedule:
    """Compile a canonical event table for ``model``.

    Parameters
    ----------
    events : DataFrame
        Canonical event table (see module docstring), records of one subject contiguous, in record order.
    model : Model
        Resolves compartment names/numbers.
    subject_index : ndarray of int, shape (n_records,)
        Row of the parameter arrays for each record's subject.
    dosing : dict
        ``F``, ``ALAG``, ``R``, ``D`` arrays of shape ``(n_subjects, n_states)`` (:meth:`Model.dosing_matrices`).
    output_mask : ndarray of bool, optional
        Records at which outputs are requested (default: every record).
    extra_outputs : (subject, time) arrays, optional
        Outputs that are not records: ``subject`` indexes the subjects in order of appearance in
        ``events`` (0, 1, ...), each of which must be a single unit (no reset going back in time).
        They come after every record and implied event at their time, and after the record outputs in
        the schedule's output arrays (``out_row`` continues the numbering).
    dosing_row : ndarray of int, shape (n_records,), optional
        Row of the ``dosing`` arrays for each record (default ``subject_index``); dosing parameters that
        vary within a subject are read at the dose record (for the dose and all its ADDL copies).
    record_params : dict of ndarray (n_records,), optional
        Parameters that vary within a subject, one value per record (see the module docstring).
    carry : {"nocb", "locf"}
        How a record's value of ``record_params`` extends to the times between records.
    ode : bool
        The schedule is for the ODE engine (it needs more memory per dose than the closed form).

    Raises
    ------
    DatasetError, SimulationError
        Before allocating, when the schedule and its solution would need more than :func:`memory_limit`
        (a DatasetError naming the record when one record's ADDL copies are the bulk of it). ADDL copies
        given after the last output of their unit are not expanded (:func:`dose_copies`).
    """
    n_rec = len(events)
    ids = events["ID"].to_numpy()
    time = events["TIME"].to_numpy(dtype=float)
    evid = events["EVID"].to_numpy(dtype=np.int64)
    amt = events["AMT"].to_numpy(dtype=float)
    rate = events["RATE"].to_numpy(dtype=float)
    ii = events["II"].to_numpy(dtype=float)
    addl = events["ADDL"].to_numpy(dtype=np.int64)
    ss = events["SS"].to_numpy(dtype=np.int64)
    cmt = _resolve_cmt(events["CMT"], evid, model, events)

    boundary, unit, starts, key = _units(events, ids, time, evid)
    n_units = int(unit[-1]) + 1 if n_rec else 0
    unit_subject = subject_index[starts]
    unit_start = time[starts]

    # ---- the last output of each unit: ADDL copies given after it are not expanded
    if output_mask is None:
        output_mask = np.ones(n_rec, dtype=bool)
    o = np.nonzero(output_mask)[0]
    last_out = np.full(n_units, -np.inf)
    np.maximum.at(last_out, unit[o], time[o])
    first_unit_of_subject = None
    if extra_outputs is not None:
        x_subject, x_time = extra_outputs
        first_unit_of_subject = unit[starts][np.r_[True, ids[starts][1:] != ids[starts][:-1]]]
        if len(first_unit_of_subject) != n_units:
            raise DatasetError("outputs given apart from the records need subjects without resets back in time")
        np.maximum.at(last_out, first_unit_of_subject[np.asarray(x_subject, np.int64)], np.asarray(x_time, float))

    # ---- dose records and their ADDL copies
    is_dose = ((evid == 1) | (evid == 4)) & ((amt != 0) | (rate != 0) | (ss > 0))
    d = np.nonzero(is_dose)[0]
    d_ss_inf = d[(ss[d] > 0) & (ii[d] == 0)]  # steady-state constant infusions: no copies of their own
    d_reg = d[~((ss[d] > 0) & (ii[d] == 0))]
    lag_reg = dosing["ALAG"][subject_index[d_reg] if dosing_row is None else dosing_row[d_reg], cmt[d_reg]]
    n_copies = 1 + dose_copies(time[d_reg], ii[d_reg], addl[d_reg], last_out[unit[d_reg]], lag_reg)
    worst = None
    if len(d_reg):
        i = int(np.argmax(n_copies))
        worst = (_where(events, int(d_reg[i])).rstrip(": "), repr(_plain(events["ADDL"].iloc[int(d_reg[i])])),
                 int(n_copies[i]), float(last_out[unit[d_reg[i]]]))
    check_memory(int(n_copies.sum()) + 2 * len(d_ss_inf), len(o) + (0 if extra_outputs is None else len(extra_outputs[1])),
                 len(model.states), ode, worst)
    src = np.repeat(d_reg, n_copies)
    j = np.arange(len(src)) - np.repeat(np.cumsum(n_copies) - n_copies, n_copies)
    subj = subject_index[src]
    c = cmt[src]
    drow = subj if dosing_row is None else dosing_row[src]
    F = dosing["F"][drow, c]
    lag = dosing["ALAG"][drow, c]
    t_given = time[src] + j * ii[src]
    arrival = t_given + lag
    amount = F * amt[src]
    r = rate[src]
    inf_rate = np.where(r > 0, r, 0.0)
    dur = np.zeros(len(src))
    pos = r > 0
    dur[pos] = amount[pos] / r[pos]
    m1, m2 = r == -1, r == -2
    if m1.any():
        R = dosing["R"][drow[m1], c[m1]]
        _require_dosing(R, "R", c[m1], events, src[m1])
        inf_rate[m1] = R
        dur[m1] = amount[m1] / R
    if m2.any():
        D = dosing["D"][drow[m2], c[m2]]
        _require_dosing(D, "D", c[m2], events, src[m2])
        dur[m2] = D
        inf_rate[m2] = amount[m2] / D
    is_own = (j == 0) & (lag == 0)
    a_unit = unit[src]

    # implied keys: last record of the unit at or before the implied time, plus 0.5
    rec_unit, rec_time = unit, time
    implied_key = _implied_key(rec_unit, rec_time, key, a_unit, arrival, starts)
    inp_key = np.where(is_own, key[src], implied_key)

    # ---- steady-state trains
    t_mask = (j == 0) & (ss[src] > 0)
    tr = np.nonzero(t_mask)[0]
    # ---- steady-state constant infusions (SS>0, II=0, RATE>0 or RATE=-1 with a modelled rate R<k>)
    si_unit = unit[d_ss_inf]
    si_rate = rate[d_ss_inf].copy()
    modelled = si_rate == -1
    if modelled.any():
        si_row = subject_index[d_ss_inf] if dosing_row is None else dosing_row[d_ss_inf]
        R = dosing["R"][si_row[modelled], cmt[d_ss_inf][modelled]]
        _require_dosing(R, "R", cmt[d_ss_inf][modelled], events, d_ss_inf[modelled])
        si_rate[modelled] = R

    inp = {
        "unit": np.concatenate([a_unit, a_unit[tr], si_unit]),
        "cmt": np.concatenate([c, c[tr], cmt[d_ss_inf]]),
        "time": np.concatenate([arrival, arrival[tr] - ii[src][tr], np.full(len(d_ss_inf), -np.inf)]),
        "key": np.concatenate([inp_key, np.full(len(tr), -np.inf), np.full(len(d_ss_inf), -np.inf)]),
        "amount": np.concatenate([amount, amount[tr], np.full(len(d_ss_inf), np.inf)]),
        "rate": np.concatenate([inf_rate, inf_rate[tr], si_rate]),
        "duration": np.concatenate([dur, dur[tr], np.full(len(d_ss_inf), np.inf)]),
        "period": np.concatenate([np.zeros(len(src)), ii[src][tr], np.zeros(len(d_ss_inf))]),
        "from_time": np.concatenate([np.full(len(src), -np.inf), time[src][tr], time[d_ss_inf]]),
        "from_key": np.concatenate([np.full(len(src), -np.inf), key[src][tr], key[d_ss_inf]]),
        "src_time": np.concatenate([time[src], time[src][tr], time[d_ss_inf]]),
        "src_key": np.concatenate([key[src], key[src][tr], key[d_ss_inf]]),
    }
    if (inp["rate"][len(src) + len(tr):] <= 0).any():
        bad = d_ss_inf[inp["rate"][len(src) + len(tr):] <= 0][0]
        raise DatasetError(_where(events, bad) + "a steady-state dose with II=0 must be an infusion (RATE>0, or RATE=-1 with a modelled rate)")

    # ---- resets: EVID 3/4 and SS=1 doses, just before their record
    is_reset = (evid == 3) | (evid == 4) | (is_dose & (ss == 1))
    rr = np.nonzero(is_reset)[0]
    reset_unit, reset_time, reset_key = unit[rr], time[rr], key[rr] + RESET_KEY

    # each input is cut by the first reset after its source record
    until_t, until_k = _next_in_group(
        reset_unit, reset_time, reset_key, inp["unit"], inp["src_time"], inp["src_key"], side="right"
    )

    order = np.lexsort((inp["key"], inp["time"], inp["unit"]))
    pick = {k: v[order] for k, v in inp.items()}
    until_t, until_k = until_t[order], until_k[order]

    # ---- outputs
    out_unit, out_time, out_key = unit[o], time[o], key[o] + OUTPUT
    if extra_outputs is not None:
        out_unit = np.concatenate([out_unit, first_unit_of_subject[x_subject]])
        out_time = np.concatenate([out_time, np.asarray(x_time, float)])
        out_key = np.concatenate([out_key, np.full(len(x_time), np.inf)])
        o = np.concatenate([o, n_rec + np.arange(len(x_time))])
        # a unit starts at its first record or its first output, whichever is earlier
        unit_start = unit_start.astype(float).copy()
        np.minimum.at(unit_start, out_unit, out_time)

    changes = {}
    if record_params is not None:
        changes = _parameter_changes(unit, time, key, starts, record_params, carry)

    return Schedule(
        n_units=n_units,
        unit_subject=unit_subject,
        unit_start=unit_start,
        inp_unit=pick["unit"],
        inp_cmt=pick["cmt"],
        inp_time=pick["time"],
        inp_key=pick["key"],
        inp_amount=pick["amount"],
        inp_rate=pick["rate"],
        inp_duration=pick["duration"],
        inp_period=pick["period"],
        inp_from_time=pick["from_time"],
        inp_from_key=pick["from_key"],
        inp_until_time=until_t,
        inp_until_key=until_k,
        reset_unit=reset_unit,
        reset_time=reset_time,
        reset_key=reset_key,
        out_unit=out_unit,
        out_time=out_time,
        out_key=out_key,
        out_row=o,
        **changes,
    )


def _units(events, ids, time, evid):
    """Integration units: a new one at each new ID and wherever TIME goes back (allowed after a reset only).
    Returns the boundary mask, each record's unit, the units' first records and each record's key (its order
    within its unit)."""
    n_rec = len(ids)
    boundary = np.ones(n_rec, dtype=bool)
    if n_rec > 1:
        back = (ids[1:] == ids[:-1]) & (time[1:] < time[:-1])
        not_reset = back & (evid[1:] != 3) & (evid[1:] != 4)
        if not_reset.any():
            i = int(np.argmax(not_reset)) + 1
            raise DatasetError(_where(events, i) + f"TIME goes back from {float(time[i - 1])!r} without a reset "
                               "(only an EVID 3 or 4 record may start over at an earlier time)")
        boundary[1:] = (ids[1:] != ids[:-1]) | back
    unit = np.cumsum(boundary) - 1
    starts = np.nonzero(boundary)[0]
    return boundary, unit, starts, (np.arange(n_rec) - starts[unit]).astype(float)


def with_record_params(schedule: Schedule, events: pd.DataFrame, record_params, carry: str = "nocb") -> Schedule:
    """``schedule`` (compiled from ``events`` with the same dosing) with other values of its time-varying
    parameters: only the changes are recomputed, the doses, resets and outputs are kept. The estimation hot path
    calls it at every parameter set instead of compiling the schedule again."""
    time = events["TIME"].to_numpy(dtype=float)
    _, unit, starts, key = _units(events, events["ID"].to_numpy(), time, events["EVID"].to_numpy(dtype=np.int64))
    return replace(schedule, **_parameter_changes(unit, time, key, starts, record_params, carry))


def _parameter_changes(unit, time, key, starts, record_params, carry):
    """Schedule fields of time-varying parameters: the values at each unit's start and the changes."""
    if carry not in ("nocb", "locf"):
        raise ParameterError(f"carry must be 'nocb' or 'locf', not {carry!r}")
    values = {k: np.asarray(v, dtype=float) for k, v in record_params.items()}
    n_rec = len(unit)
    # record r (not the first of its unit) changes the values in force when they differ from record r-1's
    later = np.ones(n_rec, dtype=bool)
    later[starts] = False
    differs = np.zeros(n_rec, dtype=bool)
    for v in values.values():
        differs[1:] |= v[1:] != v[:-1]
    r = np.nonzero(later & differs)[0]
    if carry == "nocb":  # in force over (t_{r-1}, t_r]: switch after everything at the previous record's time
        c_time, c_key = time[r - 1], key[r] - 0.4
    else:  # in force from t_r: switch just before the record (and its reset)
        c_time, c_key = time[r], key[r] - 0.3
    return {
        "unit_params": {k: v[starts] for k, v in values.items()},
        "chg_unit": unit[r],
        "chg_time": c_time.astype(float),
        "chg_key": c_key.astype(float),
        "chg_values": {k: v[r] for k, v in values.items()},
    }


def _implied_key(rec_unit, rec_time, rec_key, q_unit, q_time, starts):
    """Key of the last record of ``q_unit`` at or before ``q_time``, plus 0.5 (-0.5 if none)."""
    idx = grouped_searchsorted(rec_unit, rec_time, np.zeros(len(rec_time)), q_unit, q_time, np.zeros(len(q_time)),
                               side="right")
    # idx = first record after q_time within (or after) the unit; the one before it is the last at or before
    last = idx - 1
    inside = (last >= 0)
    inside &= rec_unit[np.maximum(last, 0)] == q_unit
    return np.where(inside, rec_key[np.maximum(last, 0)], -1.0) + IMPLIED


def _resolve_cmt(cmt_col: pd.Series, evid: np.ndarray, model, events: pd.DataFrame) -> np.ndarray:
    """0-based state index per record (-1 where the record doses nothing).

    An unknown compartment on a dose record raises a DatasetError naming the record."""
    out = np.full(len(cmt_col), -1, dtype=np.int64)
    values = cmt_col.to_numpy()
    dosing = (evid == 1) | (evid == 4)

    def unknown(i):
        names = ", ".join(f"{k + 1}={s}" for k, s in enumerate(model.states))
        return DatasetError(_where(events, i) + f"column CMT: value {_plain(values[i])!r} is not a compartment of "
                            f"{model.name}; expected one of {names}")

    def default(i):
        # NONMEM: CMT missing/0 on a dose record means the default dose compartment (the first; a composed model
        # has none and must be told)
        try:
            return model.dose_index(None)
        except ModelError as err:
            raise DatasetError(_where(events, i) + f"column CMT: no compartment; {err}") from None

    if np.issubdtype(values.dtype, np.number):
        num = values.astype(float)
        unset = dosing & ((num == 0) | np.isnan(num))
        if unset.any():
            num = np.where(unset, default(int(np.argmax(unset))) + 1, num)
        bad = dosing & ((num < 1) | (num > len(model.states)) | (num != np.round(num)))
        if bad.any():
            raise unknown(int(np.argmax(bad)))
        out[dosing] = num[dosing].astype(np.int64) - 1
        return out
    cache: dict = {}
    for i in np.nonzero(dosing)[0]:
        v = values[i]
        if v not in cache:
            if no_compartment(v):
                cache[v] = default(i)
            else:
                try:
                    cache[v] = model.state_index(v)
                except ModelError:
                    raise unknown(i) from None
        out[i] = cache[v]
    return out


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def _where(events: pd.DataFrame, i: int) -> str:
    """'record N (ID .., TIME ..): ' -- N counts the records of the event table (its row label + 1)."""
    label = events.index[i]
    n = label + 1 if isinstance(label, (int, np.integer)) else i + 1
    return f"record {n} (ID {_plain(events['ID'].iloc[i])!r}, TIME {_plain(events['TIME'].iloc[i])!r}): "


def _require_dosing(values, kind, c, events, rows):
    bad = np.isnan(values)
    if bad.any():
        k = int(np.argmax(bad))
        rate = -1 if kind == "R" else -2
        raise ParameterError(
            _where(events, int(rows[k]))
            + f"RATE={rate} needs the modelled {'rate' if kind == 'R' else 'duration'} parameter {kind}{c[k] + 1}"
        )
