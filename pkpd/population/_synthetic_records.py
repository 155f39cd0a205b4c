"""The records of a synthetic dataset: dose records of each subject, sampling times (rich, sparse or fixed),
the NONMEM-style event table, and DV rounded to significant digits."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..dosing import Bolus, Infusion, Regimen
from ..errors import DatasetError, ModelError
from ..io import CANONICAL_COLUMNS

#: Nominal rich sampling times (h) after a dose, for a 24-h interval (scaled to other intervals).
RICH_TIMES = (0.25, 0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 24.0)
#: Sparse sampling windows (h after the last dose, for a 24-h interval): absorption, peak,
#: distribution/elimination, trough. Each subject is sampled in 2-4 of them.
SPARSE_WINDOWS = ((0.25, 1.0), (1.0, 4.0), (4.0, 12.0), (12.0, 24.0))


def _as_regimen(value, where: str) -> Regimen:
    if isinstance(value, Regimen):
        return value
    if isinstance(value, (Bolus, Infusion)):
        return Regimen((value,))
    raise DatasetError(f"{where} is {value!r}; expected a Bolus, Infusion or Regimen")


def _doses(model, regimen, cov: pd.DataFrame, ids) -> list[pd.DataFrame]:
    """Each subject's dose records (canonical columns, CMT as numbers); with one regimen for all, the
    same table (with ID 1) for every subject."""
    if callable(regimen) and not isinstance(regimen, (Regimen, Bolus, Infusion)):
        tables = []
        for i, id_ in enumerate(ids):
            row = cov.iloc[i] if len(cov.columns) else pd.Series(dtype=float)
            reg = _as_regimen(regimen(int(id_), row), f"regimen({int(id_)}, row)")
            tables.append(_dose_table(model, reg, int(id_)))
        return tables
    one = _dose_table(model, _as_regimen(regimen, "regimen"), 1)
    return [one] * len(ids)  # the same table (ID 1) for everyone: _records sets the IDs


def _dose_table(model, reg: Regimen, id_: int) -> pd.DataFrame:
    if len(reg) == 0:
        raise DatasetError(f"regimen of ID {id_} has no doses")
    events = reg.to_events(id=id_)
    numbers = []
    for cmt in events["CMT"]:
        try:
            numbers.append(model.dose_index(cmt) + 1)
        except (ModelError, ValueError, TypeError) as err:
            raise DatasetError(f"regimen of ID {id_}: dose compartment {cmt!r} is not a compartment of "
                               f"{model.name} ({', '.join(model.states)})") from err
    return events.assign(CMT=np.array(numbers, dtype=np.int64))


def _administrations(doses: pd.DataFrame):
    """(sorted administration times, dosing interval of the last one or 24)."""
    t = doses["TIME"].to_numpy(float)
    ii = doses["II"].to_numpy(float)
    addl = doses["ADDL"].to_numpy()
    last = t + ii * addl
    k = int(np.argmax(last))
    tau = float(ii[k]) if ii[k] > 0 else 24.0
    every = np.unique(np.concatenate([t[j] + ii[j] * np.arange(addl[j] + 1) for j in range(len(t))]))
    return every, tau


def _times(doses: list[pd.DataFrame], fixed, design, rng) -> list[np.ndarray]:
    if fixed is not None:
        return [fixed] * len(doses)
    grid = np.array(RICH_TIMES) / 24.0
    out = []
    cache: dict = {}
    seen: dict = {}
    for table in doses:
        if id(table) not in seen:
            seen[id(table)] = _administrations(table)
        every, tau = seen[id(table)]
        if design == "rich":
            key = (tuple(every), tau)
            if key not in cache:
                times = every[-1] + grid * tau
                if len(every) > 1:
                    times = np.concatenate([every[0] + grid * min(24.0, every[1] - every[0]), times])
                cache[key] = np.unique(np.round(times, 10))
            out.append(cache[key])
        else:
            k = int(rng.integers(2, len(SPARSE_WINDOWS) + 1))
            chosen = np.sort(rng.choice(len(SPARSE_WINDOWS), size=k, replace=False))
            u = rng.random(k)
            # times on a 0.01-h grid, uniform over the grid points in [lo, hi): windows never share a time
            lo = np.ceil(np.array([SPARSE_WINDOWS[w][0] for w in chosen]) * tau / 24.0 * 100 - 1e-9)
            hi = np.ceil(np.array([SPARSE_WINDOWS[w][1] for w in chosen]) * tau / 24.0 * 100 - 1e-9)
            steps = np.floor(lo + u * np.maximum(hi - lo, 1.0))
            out.append(np.unique(np.round(every[-1] + steps / 100.0, 10)))
    return out


def _observation_cmt(model, output: str) -> int:
    prefix, _, local = output.rpartition(".")
    if local not in ("CP", "CU"):
        return 0
    central = f"{prefix}.CENTRAL" if prefix else "CENTRAL"
    return model.states.index(central) + 1 if central in model.states else 0


def _records(model, doses, times, outputs, n):
    """The event table (dose and observation records, per subject in time order; DV missing), the row
    of each observation and the index of its output."""
    cmt = np.array([_observation_cmt(model, out) for out in outputs], dtype=np.int64)
    k = len(outputs)
    counts = np.array([len(t) for t in times])
    obs_id = np.repeat(np.arange(1, n + 1), counts * k)
    obs_time = np.repeat(np.concatenate(times), k)
    obs_out = np.tile(np.arange(k), int(counts.sum()))
    m = len(obs_id)
    obs = pd.DataFrame({
        "ID": obs_id, "TIME": obs_time, "EVID": np.zeros(m, np.int64), "AMT": np.zeros(m), "RATE": np.zeros(m),
        "CMT": cmt[obs_out], "II": np.zeros(m), "ADDL": np.zeros(m, np.int64), "SS": np.zeros(m, np.int64),
        "MDV": np.zeros(m, np.int64), "DV": np.full(m, np.nan),
    })
    if all(table is doses[0] for table in doses):
        one = doses[0][list(CANONICAL_COLUMNS)]
        dose_frame = pd.DataFrame({c: np.tile(one[c].to_numpy(), n) for c in CANONICAL_COLUMNS})
        dose_frame["ID"] = np.repeat(np.arange(1, n + 1), len(one))
    else:
        dose_frame = pd.concat(doses, ignore_index=True)[list(CANONICAL_COLUMNS)]
    dose_frame = dose_frame.astype({"ID": np.int64, "EVID": np.int64, "CMT": np.int64, "ADDL": np.int64,
                                    "SS": np.int64, "MDV": np.int64})
    frame = pd.concat([obs, dose_frame], ignore_index=True)
    kind = np.r_[np.zeros(m, np.int64), np.ones(len(dose_frame), np.int64)]  # observations first at equal times
    seq = np.arange(len(frame))
    order = np.lexsort((seq, kind, frame["TIME"].to_numpy(), frame["ID"].to_numpy()))
    frame = frame.iloc[order].reset_index(drop=True)
    position = np.empty(len(order), np.int64)
    position[order] = np.arange(len(order))
    return frame, position[:m], obs_out


def _significant(values: np.ndarray, digits: int) -> np.ndarray:
    out = values.copy()
    finite = np.isfinite(values)
    out[finite] = [float(f"{v:.{digits}g}") for v in values[finite]]
    return out
