"""The Dataset value: a validated canonical NONMEM-style event table plus where each record came from."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from .._internal.columns import CANONICAL_COLUMNS
from .._internal.text import show, where
from ..errors import DatasetError, PkpdError

__all__ = ["Dataset", "CANONICAL_COLUMNS"]

class Dataset:
    """A validated NONMEM-style dataset: the canonical event table of one or more subjects.

    A Dataset is an immutable value made by :func:`read_nonmem` or :func:`load_dataset`. Its event
    table has the columns ``ID TIME EVID AMT RATE CMT II ADDL SS MDV DV`` (in that order, internal
    units: h, mg, mg/L, mg/h) followed by covariates; the records of a subject are contiguous and in
    file order. ``len(dataset)`` is the number of subjects, and iterating yields ``(id, Dataset)``
    pairs, one per subject.

    Parameters
    ----------
    events : DataFrame
        A canonical event table, as produced by :func:`read_nonmem` (it is not validated again; use
        :func:`read_nonmem` for any other table).
    source_lines : array_like of int, optional
        For each record, its 1-based line in the source file (or row in the source DataFrame);
        defaults to the row numbers ``1..n``.
    source : str, optional
        Name of the source file, used in error messages (``None`` for a DataFrame).

    Examples
    --------
    >>> import pandas as pd
    >>> from pkpd.io import read_nonmem
    >>> ds = read_nonmem(pd.DataFrame({"ID": [1, 1, 2, 2], "TIME": [0, 1, 0, 1],
    ...                                "AMT": [100, 0, 50, 0], "DV": [None, 2.5, None, 1.2]}))
    >>> ds
    Dataset(2 subjects, 4 records: 2 doses, 2 observations)
    >>> ds.ids
    array([1, 2])
    >>> ds.subject(2).observations
       ID  TIME   DV  CMT
    0   2   1.0  1.2    0
    >>> [(i, len(sub.events)) for i, sub in ds]
    [(1, 2), (2, 2)]
    """

    __slots__ = ("_events", "_source_lines", "_source", "_bounds")

    def __init__(self, events: pd.DataFrame, source_lines=None, source: str | None = None):
        if not isinstance(events, pd.DataFrame) or tuple(events.columns[: len(CANONICAL_COLUMNS)]) != CANONICAL_COLUMNS:
            raise DatasetError(
                "Dataset() takes a canonical event table with columns "
                f"{' '.join(CANONICAL_COLUMNS)}; use pkpd.io.read_nonmem() to read any other table"
            )
        n = len(events)
        lines = np.arange(1, n + 1) if source_lines is None else np.array(source_lines, dtype=np.int64)
        if lines.shape != (n,):
            raise DatasetError(f"source_lines has {lines.size} entries for {n} records")
        lines.setflags(write=False)
        ids = events["ID"].to_numpy()
        codes = pd.factorize(ids)[0]
        starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]]) if n else np.zeros(0, np.int64)
        ends = np.r_[starts[1:], n].astype(np.int64)
        bounds = dict(zip(ids[starts].tolist(), zip(starts.tolist(), ends.tolist())))
        object.__setattr__(self, "_events", events.reset_index(drop=True))
        object.__setattr__(self, "_source_lines", lines)
        object.__setattr__(self, "_source", source)
        object.__setattr__(self, "_bounds", bounds)

    def __setattr__(self, name, value):
        raise AttributeError(f"Dataset is immutable: cannot set {name!r}")

    def __delattr__(self, name):
        raise AttributeError(f"Dataset is immutable: cannot delete {name!r}")

    # -- tables ----------------------------------------------------------------------------------
    @property
    def events(self) -> pd.DataFrame:
        """The canonical event table (a copy: changing it does not change the Dataset)."""
        return self._events.copy()

    def to_frame(self) -> pd.DataFrame:
        """The canonical event table as a new DataFrame.

        Examples
        --------
        >>> import pandas as pd
        >>> from pkpd.io import read_nonmem
        >>> read_nonmem(pd.DataFrame({"ID": [1, 1], "TIME": [0, 2], "AMT": [10, 0], "DV": [None, 3.0]})).to_frame()
           ID  TIME  EVID   AMT  RATE  CMT   II  ADDL  SS  MDV   DV
        0   1   0.0     1  10.0   0.0    0  0.0     0   0    1  NaN
        1   1   2.0     0   0.0   0.0    0  0.0     0   0    0  3.0
        """
        return self._events.copy()

    @property
    def ids(self) -> np.ndarray:
        """The subject IDs, in order of first appearance."""
        return pd.unique(self._events["ID"].to_numpy())

    @property
    def covariates(self) -> list[str]:
        """Names of the columns after the canonical ones (covariates and other data items)."""
        return [str(c) for c in self._events.columns[len(CANONICAL_COLUMNS):]]

    @property
    def is_observation(self) -> np.ndarray:
        """Boolean per record: an observation (EVID 0, MDV 0)."""
        e = self._events
        return (e["EVID"].to_numpy() == 0) & (e["MDV"].to_numpy() == 0)

    @property
    def observations(self) -> pd.DataFrame:
        """Observation records (EVID 0, MDV 0): columns ``ID TIME DV CMT`` and the covariates."""
        columns = ["ID", "TIME", "DV", "CMT", *self.covariates]
        return self._events.loc[self.is_observation, columns].reset_index(drop=True)

    @property
    def doses(self) -> pd.DataFrame:
        """Dose records (EVID 1 or 4), all columns."""
        e = self._events
        evid = e["EVID"].to_numpy()
        return e.loc[(evid == 1) | (evid == 4)].reset_index(drop=True)

    @property
    def source_lines(self) -> np.ndarray:
        """For each record, its 1-based line in the source file (row in the source DataFrame); read-only."""
        return self._source_lines

    @property
    def source(self) -> str | None:
        """Name of the file the dataset was read from (``None`` if it came from a DataFrame)."""
        return self._source

    # -- subjects --------------------------------------------------------------------------------
    def subject(self, id) -> "Dataset":
        """The records of one subject, as a Dataset.

        Raises
        ------
        DatasetError
            No subject has this ID.

        Examples
        --------
        >>> from pkpd.io import load_dataset
        >>> load_dataset("theophylline").subject(3)
        Dataset(1 subject, 12 records: 1 dose, 11 observations; covariates: WT, DOSE_MGKG; source: theophylline.csv)
        """
        try:
            start, end = self._bounds[id]
        except (KeyError, TypeError):
            shown = ", ".join(repr(i) for i in list(self._bounds)[:10])
            more = ", ..." if len(self._bounds) > 10 else ""
            raise DatasetError(f"no subject with ID {id!r}; the IDs are {shown}{more}") from None
        return self._slice(start, end, id)

    def _slice(self, start: int, end: int, id) -> "Dataset":
        """One subject's records (fast path: no re-scan of IDs)."""
        sub = object.__new__(Dataset)
        events = self._events.iloc[start:end]
        if start:
            events = events.set_axis(pd.RangeIndex(end - start), axis=0)
        object.__setattr__(sub, "_events", events)
        object.__setattr__(sub, "_source_lines", self._source_lines[start:end])
        object.__setattr__(sub, "_source", self._source)
        object.__setattr__(sub, "_bounds", {id: (0, end - start)})
        return sub

    def __len__(self) -> int:
        return len(self._bounds)

    def __iter__(self):
        for id_, (start, end) in self._bounds.items():
            yield id_, self._slice(start, end, id_)

    # -- checks ----------------------------------------------------------------------------------
    def check(self, model) -> None:
        """Check that every compartment in the CMT column is a compartment of ``model``.

        CMT 0 (missing; the default dose compartment on dose records) is always accepted.

        Parameters
        ----------
        model : Model
            Anything with ``states`` and ``state_index(cmt)`` (a :class:`pkpd.models.Model`).

        Raises
        ------
        DatasetError
            Naming the line (or row), the CMT value and the model's compartments.

        Examples
        --------
        >>> from pkpd.io import load_dataset
        >>> class Oral:  # a stand-in for a model with two compartments
        ...     name, states = "Oral", ("DEPOT", "CENTRAL")
        ...     def state_index(self, cmt):
        ...         if int(cmt) not in (1, 2):
        ...             raise ValueError(cmt)
        ...         return int(cmt) - 1
        >>> load_dataset("theophylline").check(Oral())  # passes silently
        """
        values = self._events["CMT"].to_numpy()
        codes, uniques = pd.factorize(values)
        for k, value in enumerate(uniques):
            if value in (0, "0"):
                continue
            try:
                model.state_index(value)
            except (PkpdError, ValueError, TypeError, IndexError) as err:
                i = int(np.argmax(codes == k))
                states = ", ".join(f"{j + 1}={s}" for j, s in enumerate(model.states))
                name = getattr(model, "name", type(model).__name__)
                raise DatasetError(
                    f"{where(self._source, self._source_lines[i])}, column CMT: value {show(value)} is not a "
                    f"compartment of {name}; expected a number or name among {states}"
                ) from err

    # -- value semantics -------------------------------------------------------------------------
    def __eq__(self, other) -> bool:
        if not isinstance(other, Dataset):
            return NotImplemented
        return self._events.equals(other._events) and list(self._events.columns) == list(other._events.columns)

    __hash__ = None  # type: ignore[assignment]

    def _summary(self) -> str:
        e = self._events
        evid = e["EVID"].to_numpy()
        n_dose = int(((evid == 1) | (evid == 4)).sum())
        n_obs = int(((evid == 0) & (e["MDV"].to_numpy() == 0)).sum())
        s = "subject" if len(self) == 1 else "subjects"
        text = f"{len(self)} {s}, {len(e)} record{'' if len(e) == 1 else 's'}: {n_dose} dose{'' if n_dose == 1 else 's'}, {n_obs} observation{'' if n_obs == 1 else 's'}"
        if self.covariates:
            text += f"; covariates: {', '.join(self.covariates)}"
        if self._source:
            text += f"; source: {self._source}"
        return text

    def __repr__(self) -> str:
        return f"Dataset({self._summary()})"

    def _repr_html_(self) -> str:
        table = self._events.head(20).to_html(index=False, na_rep=".")
        more = f"<p>... {len(self._events) - 20} more records</p>" if len(self._events) > 20 else ""
        return f"<p><b>Dataset</b>: {html.escape(self._summary())} (units: h, mg, mg/L, mg/h)</p>{table}{more}"
