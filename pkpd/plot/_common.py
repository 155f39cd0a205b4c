"""Shared helpers of the plot functions: reading simulation results and frames, units, dose marks."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..errors import ParameterError

#: Local output names that hold a concentration (as :func:`pkpd.engine.simulation._units` knows them).
CONCENTRATION_UNITS = ("mg/L", "ng/mL", "ug/mL", "µg/mL", "ug/L", "mg/mL", "nM", "uM", "µM", "mmol/L")

#: Local names of concentration outputs (pkpd computes them in mg/L).
_CONCENTRATION_NAMES = {"CP", "CU", "CM", "CPRO", "CBRAIN_U"}


class Table:
    """Uniform read access to a :class:`~pkpd.results.SimulationResult` or a tidy DataFrame.

    A DataFrame needs ``TIME`` (h; ``time_min`` in minutes is accepted instead) and may have ``ID`` (one
    subject when absent); units come from ``frame.attrs["units"]`` when present, else concentration columns
    (``CP``, ``<drug>.CU``, ...) are taken to be in pkpd's internal mg/L.
    """

    def __init__(self, source, owner: str):
        self.owner = owner
        if isinstance(source, pd.DataFrame):
            if "TIME" in source:
                time = source["TIME"].to_numpy(dtype=float)
            elif "time_min" in source:
                time = source["time_min"].to_numpy(dtype=float) / 60.0
            else:
                raise ParameterError(f"{owner}: the DataFrame has no TIME column (h); columns: {list(source.columns)}")
            self.time = time
            self.id = source["ID"].to_numpy() if "ID" in source else np.ones(len(source), dtype=np.int64)
            skip = {"ID", "TIME", "time_min"}
            self._values = {c: source[c] for c in source.columns if c not in skip}
            # pkpd's internal concentration unit for the concentration outputs (the rule of SimulationResult)
            guessed = {c: "mg/L" for c in self._values if c.rsplit(".", 1)[-1] in _CONCENTRATION_NAMES}
            self.units = {**guessed, **dict(source.attrs.get("units", {}))}
            self.name = "DataFrame"
        elif all(hasattr(source, a) for a in ("time", "id", "values", "units")):
            self.time = np.asarray(source.time, dtype=float)
            self.id = np.asarray(source.id)
            self._values = source.values
            self.units = dict(source.units)
            self.name = getattr(source, "model", type(source).__name__)
        else:
            raise ParameterError(f"{owner}: expected a SimulationResult or a DataFrame, not {type(source).__name__}")

    @property
    def columns(self) -> list:
        return list(self._values)

    def __contains__(self, name) -> bool:
        return name in self._values

    def require(self, names) -> None:
        missing = [n for n in names if n not in self._values]
        if missing:
            raise ParameterError(f"{self.owner}: no output {', '.join(map(repr, missing))} in the result; "
                                 f"available: {self.columns}")

    def values(self, name) -> np.ndarray:
        self.require([name])
        return np.asarray(self._values[name], dtype=float)

    def unit(self, name) -> str:
        return self.units.get(name, "")

    @property
    def ids(self) -> list:
        return list(pd.unique(self.id))


def time_factor(time_unit: str) -> float:
    """Factor from hours to ``time_unit`` (``"h"``, ``"min"``, ``"d"``, ``"week"``, ... any pint time unit)."""
    from ..units import conversion_factor

    return 1.0 if time_unit == "h" else conversion_factor("h", time_unit)


def value_factor(unit_from: str, unit_to: str | None, name: str, owner: str) -> tuple[float, str]:
    """Factor converting ``name``'s values from ``unit_from`` to ``unit_to``, and the unit shown."""
    from ..units import conversion_factor

    if unit_to is None or unit_to == unit_from:
        return 1.0, unit_from
    if not unit_from:
        raise ParameterError(f"{owner}: the unit of {name!r} is unknown, it cannot be shown in {unit_to!r}")
    return conversion_factor(unit_from, unit_to), unit_to


def with_unit(name: str, unit: str) -> str:
    return f"{name} ({unit})" if unit else name


def time_label(time_unit: str, what: str = "Time") -> str:
    return f"{what} ({time_unit})"


def artist_kw(defaults: dict, given: dict, kind: str = "line") -> dict:
    """Keywords of one artist: the plotting function's ``defaults`` overridden by the caller's ``given``.

    matplotlib's aliases are normalised first (``lw`` -> ``linewidth``, ``c`` -> ``color`` for lines,
    ``ms`` -> ``markersize``, ``ec``/``fc`` for collections and patches), so that ``lw=3`` replaces a default
    ``linewidth`` instead of raising. ``kind``: ``"line"`` (``Axes.plot``), ``"collection"``
    (``Axes.scatter``, ``Axes.fill_between``) or ``"patch"`` (``Axes.hist``). For collections and patches a
    given ``c`` or ``facecolor`` replaces the default ``color``.
    """
    from matplotlib import cbook
    from matplotlib.collections import Collection
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    cls = {"line": Line2D, "collection": Collection, "patch": Patch}[kind]
    out = cbook.normalize_kwargs(dict(defaults), cls)
    given = cbook.normalize_kwargs(dict(given), cls)
    if kind != "line" and ("c" in given or "facecolor" in given):
        out.pop("color", None)
    if kind != "line" and "color" in given:
        out.pop("c", None)
    out.update(given)
    return out


def new_axes(nrows=1, ncols=1, **kw):
    import matplotlib.pyplot as plt

    kw.setdefault("layout", "constrained")
    return plt.subplots(nrows, ncols, **kw)


def dose_events(doses) -> list[tuple[float, float]]:
    """``(time h, duration h)`` of every dose with an amount in ``doses``, ADDL copies expanded.

    ``doses``: a Regimen, a Bolus / Infusion, an event table (DataFrame or Dataset; EVID 1 and 4 records),
    or a sequence of dose times (h). Zero-amount records (markers such as seizure onset) are left out.
    """
    from ..dosing import Regimen, Dose

    if doses is None:
        return []
    if isinstance(doses, (Regimen, Dose)):
        doses = doses.to_events()
    if hasattr(doses, "events") and not isinstance(doses, pd.DataFrame):     # a Dataset
        doses = doses.events
    if isinstance(doses, pd.DataFrame):
        if "TIME" not in doses:
            raise ParameterError(f"doses: the event table has no TIME column; columns: {list(doses.columns)}")
        e = doses
        amt = e["AMT"].to_numpy(dtype=float) if "AMT" in e else np.zeros(len(e))
        evid = e["EVID"].to_numpy() if "EVID" in e else np.where(amt > 0, 1, 0)
        rate = e["RATE"].to_numpy(dtype=float) if "RATE" in e else np.zeros(len(e))
        ii = e["II"].to_numpy(dtype=float) if "II" in e else np.zeros(len(e))
        addl = e["ADDL"].to_numpy(dtype=np.int64) if "ADDL" in e else np.zeros(len(e), dtype=np.int64)
        time = e["TIME"].to_numpy(dtype=float)
        out = set()
        for k in np.flatnonzero(np.isin(evid, (1, 4)) & (amt > 0)):
            duration = amt[k] / rate[k] if rate[k] > 0 else 0.0
            for j in range(int(addl[k]) + 1):
                out.add((float(time[k] + j * ii[k]), float(duration)))
        return sorted(out)
    try:
        times = np.atleast_1d(np.asarray(doses, dtype=float))
    except (TypeError, ValueError):
        raise ParameterError(f"doses: expected a Regimen, a dose, an event table or dose times, "
                             f"not {doses!r}") from None
    return [(float(t), 0.0) for t in times]


def mark_doses(ax, doses, scale: float, *, color="0.5", label: str | None = "dose", alpha=0.12):
    """Dotted vertical lines at bolus times, shaded spans over infusions; returns the dose times drawn (h).

    ``scale`` converts hours to the axis unit. Plain dose times (a number or a sequence of numbers) are in the
    axis unit already -- the plotting function's ``time_unit`` -- so that one unit holds for the whole call."""
    if doses is not None and _plain_times(doses):
        doses = np.atleast_1d(np.asarray(doses, dtype=float)) / scale
    drawn = []
    for t, duration in dose_events(doses):
        kw = {"label": label} if label and not drawn else {}
        if duration > 0 and math.isfinite(duration):
            ax.axvspan(t * scale, (t + duration) * scale, color=color, alpha=alpha, linewidth=0, **kw)
        else:
            ax.axvline(t * scale, color=color, linestyle=":", linewidth=0.9, **kw)
        drawn.append(t)
    return drawn


def _plain_times(doses) -> bool:
    try:
        return np.asarray(doses).dtype.kind in "iuf"
    except (TypeError, ValueError):
        return False


def axes_grid(axes, nrows: int, ncols: int, owner: str, **new_kw):
    """An ``(nrows, ncols)`` array of Axes: the caller's (row by row), or a new grid (:func:`new_axes` keywords)."""
    if axes is None:
        return np.asarray(new_axes(nrows, ncols, squeeze=False, **new_kw)[1], dtype=object)
    return as_axes_array(axes, nrows * ncols, owner)[: nrows * ncols].reshape(nrows, ncols)


def as_axes_array(axes, n: int, owner: str):
    axes = np.asarray(axes, dtype=object).ravel()
    if len(axes) < n:
        raise ParameterError(f"{owner} draws {n} panels: give at least {n} Axes, not {len(axes)}")
    return axes
