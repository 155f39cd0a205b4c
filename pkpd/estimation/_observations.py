"""Which records of a dataset are fitted observations, their values and their BLQ status (shared by the
individual fits and the population estimation).

A record is BLQ when the dataset has a ``BLQ`` column equal to 1, or when its ``DV`` is below the ``LLOQ``
column (or the ``lloq`` argument). BLQ methods: ``"M3"`` (likelihood of being below the limit), ``"M1"``
(dropped), ``"M5"`` (DV = LLOQ/2), ``"M7"`` (DV = 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import DatasetError, ParameterError
from ..io import Dataset

__all__ = ["BLQ_METHODS", "Observations", "observation_records"]

#: BLQ handling: likelihood (M3), drop (M1), impute LLOQ/2 (M5), impute 0 (M7).
BLQ_METHODS = ("M3", "M1", "M5", "M7")


@dataclass(frozen=True)
class Observations:
    """``rows`` (positions in ``data.events``), values ``y``, ``blq`` (True where M3 applies), ``lloq`` and
    the number of BLQ records in the data (``n_blq``)."""

    rows: np.ndarray
    y: np.ndarray
    blq: np.ndarray
    lloq: np.ndarray
    n_blq: int


def observation_records(data: Dataset, blq: str = "M3", lloq=None) -> Observations:
    """The fitted observations of ``data`` under the BLQ method ``blq``."""
    if blq not in BLQ_METHODS:
        raise ParameterError(f"blq must be one of {BLQ_METHODS}, got {blq!r}")
    ev = data.events
    obs = data.is_observation
    if not obs.any():
        raise DatasetError("the dataset has no observation records (EVID 0, MDV 0) to fit")
    if not (ev["EVID"].to_numpy() == 1).any() and not (ev["EVID"].to_numpy() == 4).any():
        raise DatasetError("the dataset has no dose records (EVID 1 or 4)")
    dv = ev["DV"].to_numpy(dtype=float)
    limit = ev["LLOQ"].to_numpy(dtype=float) if "LLOQ" in ev else np.full(len(ev), np.nan)
    if lloq is not None:
        limit = np.where(np.isnan(limit), float(lloq), limit)
    if "BLQ" in ev:
        flag = ev["BLQ"].to_numpy(dtype=float) == 1
        if np.any(flag & obs & np.isnan(limit)):
            row = int(np.flatnonzero(flag & obs & np.isnan(limit))[0])
            raise DatasetError(f"record {row + 1} (ID {ev['ID'].iloc[row]}, TIME {ev['TIME'].iloc[row]}): BLQ = 1 "
                               "but no LLOQ (give an LLOQ column or the lloq argument)")
    else:
        flag = obs & ~np.isnan(limit) & (dv < limit)
    is_blq = flag & obs
    bad = obs & ~is_blq & ~np.isfinite(dv)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DatasetError(f"record {row + 1} (ID {ev['ID'].iloc[row]}, TIME {ev['TIME'].iloc[row]}): observation "
                           f"DV {dv[row]!r} is not a finite number")
    y = dv.copy()
    if blq == "M1":
        obs = obs & ~is_blq
    elif blq == "M5":
        y[is_blq] = limit[is_blq] / 2.0
    elif blq == "M7":
        y[is_blq] = 0.0
    rows = np.flatnonzero(obs)
    if not len(rows):
        raise DatasetError("no observations left to fit after dropping BLQ records (M1)")
    return Observations(rows, y[rows], is_blq[rows] & (blq == "M3"), limit[rows], int(is_blq.sum()))
