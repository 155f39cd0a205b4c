"""Trial endpoints: one value per virtual subject, computed from its simulated time course.

Each factory returns an :class:`Endpoint` that declares the model outputs it reads and the time points it
needs; :func:`pkpd.run_trial` simulates every subject on the union of the design's output times and
every endpoint's times (the *grid*) and calls :meth:`Endpoint.evaluate` on each chunk of subjects.

========================================  =========  ==================================================
factory                                   kind       value per subject
========================================  =========  ==================================================
:func:`time_to_termination`               ``time``   time (h) from which ``output`` stays below
                                                     ``threshold`` to the end of the grid; NaN if never
:func:`terminated_by`                     ``binary`` ``output`` below ``threshold`` at ``t``
:func:`time_above`                        ``value``  time (h) with ``output`` above ``concentration``
:func:`auc`                               ``value``  area under ``output`` from ``start`` to ``end``
                                                     (linear-up / log-down trapezoids)
:func:`cmax`                              ``value``  largest value on the grid
:func:`trough`                            ``value``  value at time ``at``
:func:`minimum`                           ``value``  smallest value on the grid (e.g. the nadir of
                                                     ``GABAA.SURFACE_A235``)
========================================  =========  ==================================================

Grid-based endpoints (time to termination, time above, Cmax, minimum) are as precise as the grid:
give the design a fine enough ``times``. Crossing times are linearly interpolated between grid points.

Examples
--------
>>> import numpy as np
>>> from pkpd import endpoints
>>> t = np.array([0.0, 1.0, 2.0, 3.0])
>>> act = {"SEIZURE.ACTIVITY": np.array([[1.0, 0.5, 0.05, 0.02], [1.0, 0.05, 0.5, 0.9]])}
>>> endpoints.time_to_termination().evaluate(t, act).round(3).tolist()
[1.889, nan]
>>> endpoints.terminated_by(3.0).evaluate(t, act).tolist()
[True, False]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import partial
from typing import Callable

import numpy as np

from ..errors import ModelError, ParameterError
from ..physiology import TERMINATION_THRESHOLD, Seizure

__all__ = ["Endpoint", "time_to_termination", "terminated_by", "time_above", "auc", "cmax", "trough", "minimum"]

#: Kinds of endpoint: how :meth:`pkpd.trials.TrialResult.summarize` summarises them.
KINDS = ("binary", "time", "value")


@dataclass(frozen=True)
class Endpoint:
    """One value per subject computed from simulated outputs.

    Parameters
    ----------
    name : str
        Column name in :attr:`pkpd.trials.TrialResult.subjects`.
    kind : {"binary", "time", "value"}
        ``binary``: summarised as a fraction (Wilson CI); ``time``: a time to an event, NaN if the event
        did not happen (summarised as the fraction reached and the median time); ``value``: median.
    outputs : tuple of str
        Model outputs (or states) read.
    times : tuple of float
        Time points (h) the grid must contain.
    function : callable
        ``function(grid, values) -> array (n,)`` with ``grid`` the sorted times (m,) and ``values`` a mapping
        output -> array (n, m).
    unit : str
        Unit of the value (``"h"``, ``"mg/L"``, ``"mg*h/L"``, ``""``).

    Examples
    --------
    >>> import numpy as np
    >>> from pkpd.trials.endpoints import Endpoint
    >>> last = Endpoint("last_CP", "value", ("CP",), (), lambda t, v: v["CP"][:, -1])
    >>> last.evaluate(np.array([0.0, 1.0]), {"CP": np.array([[2.0, 1.0]])}).tolist()
    [1.0]
    """

    name: str
    kind: str
    outputs: tuple
    times: tuple = ()
    function: Callable = field(default=None, repr=False, compare=False)
    unit: str = ""

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ParameterError(f"endpoint name must be a non-empty string, got {self.name!r}")
        if self.kind not in KINDS:
            raise ParameterError(f"endpoint {self.name!r}: kind must be one of {KINDS}, got {self.kind!r}")
        outputs = (self.outputs,) if isinstance(self.outputs, str) else tuple(self.outputs)
        if not outputs or not all(isinstance(o, str) and o for o in outputs):
            raise ParameterError(f"endpoint {self.name!r}: outputs must be non-empty output names, got {self.outputs!r}")
        object.__setattr__(self, "outputs", outputs)
        times = tuple(_time(self.name, "time", t) for t in np.atleast_1d(np.asarray(self.times, dtype=float)))
        object.__setattr__(self, "times", times)
        if not callable(self.function):
            raise ParameterError(f"endpoint {self.name!r}: function must be callable")

    def check(self, available) -> None:
        """Raise :class:`~pkpd.ModelError` naming the endpoint if it reads an output not in ``available``."""
        missing = [o for o in self.outputs if o not in available]
        if missing:
            raise ModelError(f"endpoint {self.name!r} reads {missing}, which the model does not provide; its outputs "
                             f"are {sorted(available)}")

    def evaluate(self, grid, values) -> np.ndarray:
        """The endpoint of every subject: ``grid`` (m,) sorted times, ``values`` output -> (n, m)."""
        grid = np.asarray(grid, dtype=float)
        out = np.asarray(self.function(grid, values))
        if self.kind == "binary":
            return out.astype(bool)
        return out.astype(float)


# ---------------------------------------------------------------------------------------------------
def _time(owner, what, value) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"endpoint {owner!r}: {what} {value!r} is not a number") from None
    if not math.isfinite(v) or v < 0:
        raise ParameterError(f"endpoint {owner!r}: {what} {value!r} must be a finite time >= 0 (h)")
    return v


def _label(x: float) -> str:
    return f"{x:g}"


def _column(grid, t):
    j = np.searchsorted(grid, t)
    if j >= len(grid) or grid[j] != t:
        raise ModelError(f"time {t} is not on the simulation grid")
    return j


def _ttt(grid, values, output, threshold):
    v = np.asarray(values[output], dtype=float)
    n, m = v.shape
    out = np.full(n, np.nan)
    above = ~(v < threshold)
    done = ~above[:, -1]
    if not done.any():
        return out
    any_above = above.any(axis=1)
    out[done & ~any_above] = grid[0]
    rows = np.flatnonzero(done & any_above)
    k = m - 1 - np.argmax(above[rows, ::-1], axis=1)          # last grid point at or above the threshold
    a, b = v[rows, k], v[rows, k + 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(a > b, (a - threshold) / (a - b), 1.0)
    out[rows] = grid[k] + np.clip(frac, 0.0, 1.0) * (grid[k + 1] - grid[k])
    return out


def time_to_termination(output: str = Seizure.ACTIVITY, threshold: float = TERMINATION_THRESHOLD, *, name: str | None = None) -> Endpoint:
    """Time (h) from which ``output`` stays below ``threshold`` until the end of the grid; NaN if it is not
    below at the end (the event did not happen; as :func:`pkpd.physiology.seizure.terminated`).

    The crossing is linearly interpolated between the last grid point at or above the threshold and the
    next one; a subject below the threshold on the whole grid gets the first grid time.

    Examples
    --------
    >>> import numpy as np
    >>> ep = time_to_termination("A", threshold=0.5)
    >>> ep.evaluate(np.array([0.0, 1.0, 2.0]), {"A": np.array([[1.0, 0.0, 0.0], [1.0, 1.0, 1.0]])}).tolist()
    [0.5, nan]
    """
    threshold = float(threshold)
    return Endpoint(name or "time_to_termination", "time", (output,), (),
                    partial(_ttt, output=output, threshold=threshold), unit="h")


def _below_at(grid, values, output, t, threshold):
    return np.asarray(values[output], dtype=float)[:, _column(grid, t)] < threshold


def terminated_by(t: float, output: str = Seizure.ACTIVITY, threshold: float = TERMINATION_THRESHOLD, *,
                  name: str | None = None) -> Endpoint:
    """True where ``output`` is below ``threshold`` at time ``t`` (h): with ``t`` the end of the observation
    window, the seizure stopped and did not restart (:func:`pkpd.se.scenarios.cohort_termination`).

    Examples
    --------
    >>> import numpy as np
    >>> ep = terminated_by(4.0)
    >>> ep.name, ep.times
    ('terminated_by_4h', (4.0,))
    >>> ep.evaluate(np.array([0.0, 4.0]), {"SEIZURE.ACTIVITY": np.array([[1.0, 0.01], [1.0, 0.7]])}).tolist()
    [True, False]
    """
    t = _time("terminated_by", "t", t)
    return Endpoint(name or f"terminated_by_{_label(t)}h", "binary", (output,), (t,),
                    partial(_below_at, output=output, t=t, threshold=float(threshold)))


def _above(grid, values, output, level):
    v = np.asarray(values[output], dtype=float)
    a, b = v[:, :-1], v[:, 1:]
    dt = np.diff(grid)
    ua, ub = a > level, b > level
    with np.errstate(divide="ignore", invalid="ignore"):
        part = np.where(ua & ub, 1.0,
                        np.where(ua & ~ub, (a - level) / (a - b),
                                 np.where(~ua & ub, (b - level) / (b - a), 0.0)))
    return np.nan_to_num(part) @ dt


def time_above(output: str, concentration: float, *, name: str | None = None) -> Endpoint:
    """Time (h) on the grid during which ``output`` is above ``concentration`` (crossings linearly
    interpolated).

    Examples
    --------
    >>> import numpy as np
    >>> time_above("CP", 1.0).evaluate(np.array([0.0, 1.0, 2.0]), {"CP": np.array([[0.0, 2.0, 0.0]])}).tolist()
    [1.0]
    """
    level = float(concentration)
    return Endpoint(name or f"time_above_{_label(level)}_{output}", "value", (output,), (),
                    partial(_above, output=output, level=level), unit="h")


def _auc(grid, values, output, start, end):
    v = np.asarray(values[output], dtype=float)
    hi = grid[-1] if end is None else end
    sel = (grid >= start) & (grid <= hi)
    t, y = grid[sel], v[:, sel]
    a, b = y[:, :-1], y[:, 1:]
    dt = np.diff(t)
    with np.errstate(divide="ignore", invalid="ignore"):
        logdown = (b < a) & (a > 0) & (b > 0)
        area = np.where(logdown, (a - b) / np.log(a / b), 0.5 * (a + b))
    return area @ dt


def auc(output: str, start: float = 0.0, end: float | None = None, *, points: int = 97,
        name: str | None = None) -> Endpoint:
    """Area under ``output`` from ``start`` to ``end`` (h; default the end of the grid) by linear-up /
    log-down trapezoids on the grid (exact for a mono-exponential decline).

    ``points`` evenly spaced times from ``start`` to ``end`` are added to the grid (with ``end`` given).

    Examples
    --------
    >>> import numpy as np
    >>> t = np.linspace(0.0, 24.0, 5)
    >>> round(float(auc("CP", 0, 24).evaluate(t, {"CP": 10 * np.exp(-0.1 * t)[None]})[0]), 6)  # 100 (1 - e^-2.4)
    90.928205
    """
    start = _time("auc", "start", start)
    if end is not None:
        end = _time("auc", "end", end)
        if end <= start:
            raise ParameterError(f"endpoint 'auc': end {end} must be after start {start}")
        times = tuple(np.linspace(start, end, max(int(points), 2)))
        label = f"auc_{output}_{_label(start)}_{_label(end)}h"
    else:
        times, label = (start,), f"auc_{output}"
    return Endpoint(name or label, "value", (output,), times, partial(_auc, output=output, start=start, end=end),
                    unit="mg*h/L")


def _extreme(grid, values, output, how):
    v = np.asarray(values[output], dtype=float)
    return v.max(axis=1) if how == "max" else v.min(axis=1)


def cmax(output: str, *, name: str | None = None) -> Endpoint:
    """Largest value of ``output`` on the grid.

    Examples
    --------
    >>> import numpy as np
    >>> cmax("CP").evaluate(np.arange(3.0), {"CP": np.array([[0.0, 3.0, 1.0]])}).tolist()
    [3.0]
    """
    return Endpoint(name or f"cmax_{output}", "value", (output,), (), partial(_extreme, output=output, how="max"))


def minimum(output: str, *, name: str | None = None) -> Endpoint:
    """Smallest value of ``output`` on the grid (e.g. the nadir of ``GABAA.SURFACE_A235``).

    Examples
    --------
    >>> import numpy as np
    >>> minimum("GABAA.SURFACE_A235").evaluate(np.arange(3.0), {"GABAA.SURFACE_A235": np.array([[1.0, 0.4, 0.6]])})
    array([0.4])
    """
    return Endpoint(name or f"min_{output}", "value", (output,), (), partial(_extreme, output=output, how="min"))


def _at(grid, values, output, t):
    return np.asarray(values[output], dtype=float)[:, _column(grid, t)]


def trough(output: str, at: float, *, name: str | None = None) -> Endpoint:
    """Value of ``output`` at time ``at`` (h), e.g. just before the next dose.

    Examples
    --------
    >>> import numpy as np
    >>> trough("CP", 12).evaluate(np.array([0.0, 12.0]), {"CP": np.array([[5.0, 1.5]])}).tolist()
    [1.5]
    """
    at = _time("trough", "at", at)
    return Endpoint(name or f"trough_{output}_{_label(at)}h", "value", (output,), (at,),
                    partial(_at, output=output, t=at))
