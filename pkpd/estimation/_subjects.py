"""Subjects a fit can use: those with at least one dose record and at least one observation.

A subject without doses has nothing to predict from, one without observations nothing to fit: the fits
(:func:`pkpd.fit_each`, :func:`pkpd.fit_pooled`, :func:`pkpd.fit_population`) skip them and say so by ID
(``SUBJECTS_SKIPPED``) instead of failing on the whole dataset.
"""

from __future__ import annotations

import numpy as np

from ..io import Dataset

__all__ = ["usable_subjects", "skipped_message", "subject_problem"]


def _flags(data: Dataset):
    ev = data.events
    evid = ev["EVID"].to_numpy()
    ids = ev["ID"]
    dosed = ids[(evid == 1) | (evid == 4)].unique()
    observed = ids[data.is_observation].unique()
    return set(dosed.tolist()), set(observed.tolist())


def usable_subjects(data: Dataset) -> tuple[Dataset, dict]:
    """``data`` without the subjects that have no dose record or no observation, and the IDs skipped:
    ``{"no dose records": [...], "no observations": [...]}`` (empty lists when none).

    >>> import pandas as pd, pkpd
    >>> data = pkpd.read_nonmem(pd.DataFrame({"ID": [1, 1, 2, 3], "TIME": [0, 1, 1, 0], "AMT": [10, 0, 0, 10],
    ...                                       "DV": [None, 2.0, 1.0, None]}))
    >>> kept, skipped = usable_subjects(data)
    >>> kept.ids.tolist(), skipped
    ([1], {'no dose records': [2], 'no observations': [3]})
    """
    dosed, observed = _flags(data)
    ids = data.ids.tolist()
    skipped = {"no dose records": [i for i in ids if i not in dosed],
               "no observations": [i for i in ids if i in dosed and i not in observed]}
    drop = set(skipped["no dose records"]) | set(skipped["no observations"])
    if not drop:
        return data, skipped
    keep = ~data.events["ID"].isin(drop).to_numpy()
    kept = Dataset(data.events.loc[keep].reset_index(drop=True), np.asarray(data.source_lines)[keep], data.source)
    return kept, skipped


def skipped_message(skipped: dict) -> str:
    """``SUBJECTS_SKIPPED: ...`` naming the IDs of :func:`usable_subjects`, or '' when none was skipped."""
    parts = [f"{', '.join(str(i) for i in ids)} ({why})" for why, ids in skipped.items() if ids]
    if not parts:
        return ""
    n = sum(len(ids) for ids in skipped.values())
    return (f"SUBJECTS_SKIPPED: {n} subject{'s' if n > 1 else ''} skipped, IDs {'; '.join(parts)}: "
            "a subject needs a dose record (EVID 1 or 4) and an observation (EVID 0, MDV 0) to be fitted")


def subject_problem(data: Dataset) -> str:
    """Why the single-subject ``data`` cannot be fitted ('' when it can)."""
    sid = data.ids[0] if len(data) else None
    dosed, observed = _flags(data)
    if sid not in dosed:
        return f"subject {sid} has no dose records (EVID 1 or 4): there is nothing to predict its observations from"
    if sid not in observed:
        return f"subject {sid} has no observations (EVID 0, MDV 0 with a DV) to fit"
    return ""
