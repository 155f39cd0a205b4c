"""Doses and regimens: :class:`Bolus`, :class:`Infusion`, :class:`Regimen`.

Doses are immutable values in internal units (amount mg, time h, rate mg/h). Adding doses gives a
:class:`Regimen`; every regimen compiles to the canonical NONMEM event table
(:meth:`Regimen.to_events`) that the engine consumes and :func:`pkpd.io.read_nonmem` produces.

A dose without a compartment (``cmt=None``, the default) goes to the model's default dose compartment, its
first: DEPOT for absorption models, CENTRAL for IV models -- as a NONMEM record without CMT (CMT 0) and
mrgsolve's ``ev()``. Name the compartment to choose another: an IV bolus into an absorption model is
``cmt="CENTRAL"``; oral, intramuscular and intranasal doses are boluses into ``"DEPOT"``. Bioavailability and
lag time are model parameters (``F1``, ``ALAG1``), not properties of the dose. A compartment may also be given
by its 1-based number, as in a NONMEM dataset.

Examples
--------
>>> from pkpd.dosing import Bolus, Infusion
>>> loading = Infusion(1000, duration=0.5, cmt="CENTRAL")
>>> maintenance = Bolus(500, time=12, cmt="DEPOT", ii=12, addl=5)
>>> regimen = loading + maintenance
>>> regimen.total_amount
4000.0
>>> regimen.to_events()[["TIME", "EVID", "AMT", "RATE", "CMT", "II", "ADDL"]]
   TIME  EVID     AMT    RATE      CMT    II  ADDL
0   0.0     1  1000.0  2000.0  CENTRAL   0.0     0
1  12.0     1   500.0     0.0    DEPOT  12.0     5
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import Union

import numpy as np
import pandas as pd

from ._internal.numbers import check_number
from ._internal.html import fields_table
from .errors import DatasetError

__all__ = ["Bolus", "Infusion", "Regimen"]

_EVENT_COLUMNS = ("ID", "TIME", "EVID", "AMT", "RATE", "CMT", "II", "ADDL", "SS", "MDV", "DV")


# ---------------------------------------------------------------------------------------------
# validation helpers
# ---------------------------------------------------------------------------------------------
def _number(owner: str, name: str, value, *, minimum: float | None = 0.0, positive: bool = False) -> float:
    return check_number(owner, name, value, error=DatasetError, minimum=minimum, positive=positive)


def _count(owner: str, name: str, value, allowed=None) -> int:
    ok = not isinstance(value, bool) and isinstance(value, Real) and math.isfinite(float(value)) and float(value) == int(value)
    if not ok or int(value) < 0 or (allowed is not None and int(value) not in allowed):
        expected = f"one of {', '.join(map(str, allowed))}" if allowed else "an integer >= 0"
        raise DatasetError(f"{owner}: {name}={value!r} is not valid; expected {expected}")
    return int(value)


def _compartment(owner: str, value):
    if value is None:  # the model's default dose compartment (the first, as in NONMEM and mrgsolve)
        return None
    if isinstance(value, str):
        if not value.strip():
            raise DatasetError(f"{owner}: cmt={value!r} is empty; expected a compartment name such as 'CENTRAL' or a number >= 1")
        return value.strip()
    if isinstance(value, Integral) and not isinstance(value, bool) and int(value) >= 1:
        return int(value)
    raise DatasetError(
        f"{owner}: cmt={value!r} is not a compartment; expected a name such as 'CENTRAL' or 'DEPOT', or a 1-based number"
    )


class Dose:
    """Shared behaviour of doses: addition into a Regimen and compilation to events."""

    def _repr_html_(self) -> str:
        return fields_table(self)

    def __add__(self, other):
        if isinstance(other, (Dose, Regimen)):
            return Regimen((self,)) + other
        return NotImplemented

    def __radd__(self, other):
        if isinstance(other, Integral) and other == 0:  # sum([dose, dose, ...])
            return Regimen((self,))
        return NotImplemented

    def to_events(self, id=1) -> pd.DataFrame:
        """This dose as a one-record canonical event table (see :meth:`Regimen.to_events`)."""
        return Regimen((self,)).to_events(id)

    def _check_schedule(self, owner: str, constant_infusion: bool = False):
        object.__setattr__(self, "time", _number(owner, "time", self.time, minimum=None))
        object.__setattr__(self, "cmt", _compartment(owner, self.cmt))
        object.__setattr__(self, "ii", _number(owner, "ii", self.ii))
        object.__setattr__(self, "addl", _count(owner, "addl", self.addl))
        object.__setattr__(self, "ss", _count(owner, "ss", self.ss, allowed=(0, 1, 2)))
        if self.addl > 0 and self.ii == 0:
            raise DatasetError(f"{owner}: addl={self.addl} needs a dosing interval; expected ii > 0, got ii=0")
        if self.ss > 0 and self.ii == 0 and not constant_infusion:
            raise DatasetError(
                f"{owner}: ss={self.ss} with ii=0; expected ii > 0 (the dosing interval of the steady state); "
                "ii=0 is only allowed for a steady-state constant infusion (Infusion(0, rate=..., ss=1))"
            )


# ---------------------------------------------------------------------------------------------
# doses
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Bolus(Dose):
    """An instantaneous dose (a state jump).

    Parameters
    ----------
    amt : float
        Amount (mg), >= 0.
    time : float
        Time of the (first) dose (h).
    cmt : str, int or None
        Compartment receiving the dose: a name (``"CENTRAL"`` for IV, ``"DEPOT"`` for oral, IM or
        intranasal doses) or a 1-based number. None (the default): the model's default dose compartment,
        its first (DEPOT for absorption models, CENTRAL for IV models), as a NONMEM record without CMT and
        mrgsolve's ``ev()``; written as CMT 0 in event tables.
    ii : float
        Interval between repeated doses (h); needed when ``addl > 0`` or ``ss > 0``.
    addl : int
        Number of additional doses after the first, every ``ii``.
    ss : {0, 1, 2}
        Steady state: 1 resets the system to the steady state of this dose repeated every ``ii``
        before giving it; 2 adds that steady state to the current state (as in NONMEM).

    Raises
    ------
    DatasetError
        A field is invalid (the message names the field and the value).

    Examples
    --------
    >>> from pkpd.dosing import Bolus
    >>> Bolus(100)                      # cmt None: the model's default dose compartment
    Bolus(amt=100.0, time=0.0, cmt=None, ii=0.0, addl=0, ss=0)
    >>> Bolus(250, cmt="DEPOT", ii=8, addl=2).to_events()[["TIME", "AMT", "CMT", "II", "ADDL"]]
       TIME    AMT    CMT   II  ADDL
    0   0.0  250.0  DEPOT  8.0     2
    >>> Bolus(-5)
    Traceback (most recent call last):
    ...
    pkpd.errors.DatasetError: Bolus: amt=-5 is negative; expected amt >= 0
    """

    amt: float
    time: float = 0.0
    cmt: Union[str, int, None] = None
    ii: float = 0.0
    addl: int = 0
    ss: int = 0

    def __post_init__(self):
        object.__setattr__(self, "amt", _number("Bolus", "amt", self.amt))
        self._check_schedule("Bolus")

    @property
    def infusion_rate(self) -> float:
        """RATE of the event record: 0 for a bolus."""
        return 0.0


@dataclass(frozen=True)
class Infusion(Dose):
    """A zero-order input: ``amt`` given at a constant rate, from ``time`` for ``duration``.

    Give exactly one of ``duration`` and ``rate`` (mg/h). A steady-state constant infusion (an
    infusion that has been running forever) is ``Infusion(0, rate=r, ss=1)``: ``amt=0``, ``ii=0``.

    Parameters
    ----------
    amt : float
        Amount (mg), > 0 (0 only for a steady-state constant infusion).
    time : float
        Start time (h).
    cmt : str, int or None
        Compartment receiving the infusion (name or 1-based number); None (the default): the model's
        default dose compartment, as for :class:`Bolus` (give ``cmt="CENTRAL"`` for an IV infusion into an
        absorption model).
    duration : float, optional
        Duration (h), > 0.
    rate : float, optional
        Rate (mg/h), > 0.
    ii, addl, ss
        Repetition and steady state, as for :class:`Bolus`.

    Raises
    ------
    DatasetError
        A field is invalid, or not exactly one of ``duration`` and ``rate`` is given.

    Examples
    --------
    >>> from pkpd.dosing import Infusion
    >>> inf = Infusion(600, duration=2)
    >>> inf.infusion_rate, inf.infusion_duration
    (300.0, 2.0)
    >>> Infusion(0, rate=5, ss=1).infusion_duration   # constant infusion at steady state
    inf
    >>> Infusion(100, duration=1, rate=100)
    Traceback (most recent call last):
    ...
    pkpd.errors.DatasetError: Infusion: give exactly one of duration and rate; got duration=1, rate=100
    """

    amt: float
    time: float = 0.0
    cmt: Union[str, int, None] = None
    duration: float | None = None
    rate: float | None = None
    ii: float = 0.0
    addl: int = 0
    ss: int = 0

    def __post_init__(self):
        owner = "Infusion"
        if (self.duration is None) == (self.rate is None):
            raise DatasetError(f"{owner}: give exactly one of duration and rate; got duration={self.duration!r}, rate={self.rate!r}")
        object.__setattr__(self, "amt", _number(owner, "amt", self.amt))
        if self.duration is not None:
            object.__setattr__(self, "duration", _number(owner, "duration", self.duration, positive=True))
        else:
            object.__setattr__(self, "rate", _number(owner, "rate", self.rate, positive=True))
        constant = self.rate is not None and self.amt == 0 and self.ss > 0 and self.ii == 0
        self._check_schedule(owner, constant_infusion=constant)
        if self.amt == 0 and not constant:
            raise DatasetError(
                f"{owner}: amt=0 gives nothing; expected amt > 0 (amt=0 only for a steady-state constant "
                "infusion: Infusion(0, rate=..., ss=1) with ii=0)"
            )

    @property
    def infusion_rate(self) -> float:
        """Rate (mg/h): ``rate`` if given, else ``amt / duration``."""
        return self.rate if self.rate is not None else self.amt / self.duration

    @property
    def infusion_duration(self) -> float:
        """Duration (h): ``duration`` if given, else ``amt / rate`` (inf for a constant infusion)."""
        if self.duration is not None:
            return self.duration
        return self.amt / self.rate if self.amt > 0 else math.inf


Dose = Union[Bolus, Infusion]


# ---------------------------------------------------------------------------------------------
# regimen
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Regimen:
    """An immutable collection of doses, kept sorted (stably) by time.

    Build one with ``Regimen([dose, ...])`` or by adding doses and regimens; ``sum(doses)`` works too.

    Parameters
    ----------
    doses : iterable of Bolus or Infusion
        The doses (any order; doses at equal times keep their given order).

    Examples
    --------
    >>> from pkpd.dosing import Bolus, Infusion, Regimen
    >>> r = Regimen([Bolus(100, time=24), Bolus(100)]) + Infusion(50, duration=1, time=6)
    >>> len(r), [d.time for d in r]
    (3, [0.0, 6.0, 24.0])
    >>> r.total_amount
    250.0
    >>> Regimen.from_events(r.to_events(id=7))[1]
    Infusion(amt=50.0, time=6.0, cmt=None, duration=None, rate=50.0, ii=0.0, addl=0, ss=0)
    """

    doses: tuple = field(default=())

    def __post_init__(self):
        doses = (self.doses,) if isinstance(self.doses, Dose) else tuple(self.doses)
        for k, dose in enumerate(doses):
            if not isinstance(dose, Dose):
                raise DatasetError(f"Regimen: dose {k + 1} is {dose!r}; expected a Bolus or an Infusion")
        order = sorted(range(len(doses)), key=lambda k: doses[k].time)  # stable
        object.__setattr__(self, "doses", tuple(doses[k] for k in order))

    def __add__(self, other):
        if isinstance(other, Regimen):
            return Regimen(self.doses + other.doses)
        if isinstance(other, Dose):
            return Regimen(self.doses + (other,))
        return NotImplemented

    def __radd__(self, other):
        if isinstance(other, Integral) and other == 0:
            return self
        if isinstance(other, Dose):
            return Regimen((other,) + self.doses)
        return NotImplemented

    def __len__(self) -> int:
        return len(self.doses)

    def __iter__(self):
        return iter(self.doses)

    def __getitem__(self, k):
        return self.doses[k]

    def __repr__(self) -> str:
        return f"Regimen([{', '.join(map(repr, self.doses))}])"

    def _repr_html_(self) -> str:
        """Notebook view: one row per dose (its event record) and the total amount."""
        table = self.to_events(id=1).drop(columns=["ID", "EVID", "MDV", "DV"])
        return f"<p><b>Regimen</b>: {len(self)} dose(s), {self.total_amount:g} mg in total</p>" + table.to_html(index=False)

    @property
    def total_amount(self) -> float:
        """Total amount given (mg): ``amt * (1 + addl)`` summed over the doses.

        The earlier doses implied by a steady-state dose are not counted; a steady-state constant
        infusion (never ending) makes the total ``inf``.

        Examples
        --------
        >>> from pkpd.dosing import Bolus
        >>> (Bolus(100, ii=12, addl=3) + Bolus(50)).total_amount
        450.0
        """
        total = 0.0
        for d in self.doses:
            if isinstance(d, Infusion) and d.infusion_duration == math.inf:
                return math.inf
            total += d.amt * (1 + d.addl)
        return total

    # -- event tables ----------------------------------------------------------------------------
    def to_events(self, id=1) -> pd.DataFrame:
        """The canonical NONMEM event table of this regimen, one dose record per dose.

        Parameters
        ----------
        id : int or str
            Subject ID written in the ID column.

        Returns
        -------
        DataFrame
            Columns ``ID TIME EVID AMT RATE CMT II ADDL SS MDV DV``: EVID 1, RATE 0 for a bolus and
            the infusion rate (mg/h) for an infusion, CMT as given (names, or numbers if every dose
            uses a number), MDV 1, DV NaN.

        Examples
        --------
        >>> from pkpd.dosing import Bolus, Infusion
        >>> (Bolus(100, cmt=1) + Infusion(20, rate=10, time=4, cmt=2)).to_events(id=3)
           ID  TIME  EVID    AMT  RATE  CMT   II  ADDL  SS  MDV  DV
        0   3   0.0     1  100.0   0.0    1  0.0     0   0    1 NaN
        1   3   4.0     1   20.0  10.0    2  0.0     0   0    1 NaN
        """
        d = self.doses
        cmts = [0 if x.cmt is None else x.cmt for x in d]  # CMT 0: the default dose compartment (NONMEM)
        if all(isinstance(c, int) for c in cmts):
            cmt = np.array(cmts, dtype=np.int64)
        else:
            cmt = pd.Series([str(c) for c in cmts], dtype=object).infer_objects().to_numpy()
        ids = np.full(len(d), id, dtype=np.int64) if isinstance(id, Integral) else np.array([id] * len(d), dtype=object)
        table = {
            "ID": ids,
            "TIME": np.array([x.time for x in d], dtype=float),
            "EVID": np.ones(len(d), dtype=np.int64),
            "AMT": np.array([x.amt for x in d], dtype=float),
            "RATE": np.array([x.infusion_rate for x in d], dtype=float),
            "CMT": cmt,
            "II": np.array([x.ii for x in d], dtype=float),
            "ADDL": np.array([x.addl for x in d], dtype=np.int64),
            "SS": np.array([x.ss for x in d], dtype=np.int64),
            "MDV": np.ones(len(d), dtype=np.int64),
            "DV": np.full(len(d), np.nan),
        }
        return pd.DataFrame(table, columns=list(_EVENT_COLUMNS))

    @classmethod
    def from_events(cls, events) -> "Regimen":
        """Read the doses of one subject's event table back into a Regimen.

        Parameters
        ----------
        events : DataFrame or Dataset
            A NONMEM-style table of one subject (validated with :func:`pkpd.io.read_nonmem`).
            Observation and other-event records (EVID 0, 2) are ignored.

        Returns
        -------
        Regimen
            RATE 0 gives a :class:`Bolus`, RATE > 0 an :class:`Infusion` given by ``rate``: an
            infusion made with ``duration`` comes back as one made with the same rate, so
            ``Regimen.from_events(r.to_events()) == r`` holds when infusions were given by rate.
            CMT 0 (the default dose compartment) becomes compartment 1; numeric CMT strings
            become numbers.

        Raises
        ------
        DatasetError
            Several IDs, a reset record (EVID 3 or 4), or a modelled rate (RATE -1 or -2).

        Examples
        --------
        >>> import pandas as pd
        >>> from pkpd.dosing import Regimen
        >>> table = pd.DataFrame({"ID": 1, "TIME": [0, 1, 12], "AMT": [100, 0, 100], "DV": [None, 4.2, None],
        ...                       "CMT": ["DEPOT", "CENTRAL", "DEPOT"]})
        >>> Regimen.from_events(table)
        Regimen([Bolus(amt=100.0, time=0.0, cmt='DEPOT', ii=0.0, addl=0, ss=0), Bolus(amt=100.0, time=12.0, cmt='DEPOT', ii=0.0, addl=0, ss=0)])
        """
        from .io import as_dataset  # io sits above dosing in the layer order

        ds = as_dataset(events)
        if len(ds) > 1:
            raise DatasetError(f"Regimen.from_events: the table has {len(ds)} subjects ({', '.join(map(repr, ds.ids[:5]))}...); expected one (use Dataset.subject(id))")
        e = ds._events
        evid = e["EVID"].to_numpy()
        lines = ds.source_lines
        where = (lambda i: f"{ds.source} line {lines[i]}") if ds.source else (lambda i: f"row {lines[i]}")
        reset = np.isin(evid, (3, 4))
        if reset.any():
            i = int(np.argmax(reset))
            raise DatasetError(f"Regimen.from_events: {where(i)}, column EVID: value {evid[i]} is a reset; expected dose records (EVID 1) and observations only")
        rate = e["RATE"].to_numpy()
        modelled = (evid == 1) & (rate < 0)
        if modelled.any():
            i = int(np.argmax(modelled))
            raise DatasetError(f"Regimen.from_events: {where(i)}, column RATE: value {rate[i]:g} is a modelled rate; expected RATE >= 0 (a Regimen has no modelled rates)")
        doses = []
        for row in e.loc[evid == 1].itertuples(index=False):
            cmt = _cmt_from_event(row.CMT)
            common = dict(time=float(row.TIME), cmt=cmt, ii=float(row.II), addl=int(row.ADDL), ss=int(row.SS))
            if row.RATE > 0:
                doses.append(Infusion(float(row.AMT), rate=float(row.RATE), **common))
            else:
                doses.append(Bolus(float(row.AMT), **common))
        return cls(doses)


def _cmt_from_event(value):
    """A dose's ``cmt`` from its CMT value: 0 (or "0") is the default dose compartment (None)."""
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return int(text) or None
        return text
    return int(value) or None
