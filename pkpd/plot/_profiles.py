"""Concentration-time profiles of simulation results: one or a few subjects, or many (spaghetti + quantiles)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import ParameterError
from ._common import (CONCENTRATION_UNITS, Table, artist_kw, mark_doses, new_axes, time_factor, time_label, value_factor,
                      with_unit)

__all__ = ["profile", "spaghetti"]


def _default_outputs(table: Table) -> list:
    """The plasma concentrations (``CP`` or ``<drug>.CP``), else the first column."""
    cps = [c for c in table.columns if c == "CP" or c.endswith(".CP")]
    return cps or table.columns[:1]


def profile(result, outputs=None, ax=None, *, doses=None, log: bool = False, time_unit: str = "h",
            unit: str | None = None, ids=None, **plot_kw):
    """Concentration-time profile(s) of a simulation result, with the doses marked.

    One line per output and subject.

    Parameters
    ----------
    result : SimulationResult or DataFrame
        From ``model.simulate`` / :func:`pkpd.simulate`, or a tidy frame with ``TIME`` (h), optional ``ID``,
        and the outputs as columns.
    outputs : str or sequence of str, optional
        Outputs to draw; default the plasma concentrations (``CP``, ``<drug>.CP``), else the first column.
        All must share one unit.
    ax : Axes, optional
        Where to draw; default a new figure.
    doses : Regimen, Bolus, Infusion, event table or sequence of float, optional
        Doses to mark: a dotted line at each bolus (ADDL copies included), a shaded span over each infusion.
        Zero-amount records are not marked; plain numbers are dose times in ``time_unit``.
    log : bool
        Logarithmic y axis.
    time_unit : str
        Unit of the time axis (``"h"``, ``"min"``, ``"d"``, ...).
    unit : str, optional
        Show the values in this unit (e.g. ``"ng/mL"``; converted from the result's unit).
    ids : sequence, optional
        Subjects to draw (default all).
    **plot_kw
        Passed to ``Axes.plot`` (a ``label`` replaces the default, output name and ID, on every line).

    Returns
    -------
    Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np, pkpd
    >>> from pkpd.models import OneCompartmentOral
    >>> regimen = pkpd.Bolus(250, cmt="DEPOT", ii=12, addl=3)
    >>> res = OneCompartmentOral().simulate(regimen, np.linspace(0, 48, 97), {"CL": 3, "V": 30, "KA": 1.5})
    >>> ax = pkpd.plot.profile(res, doses=regimen, unit="ng/mL")
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('Time (h)', 'CP (ng/mL)')
    """
    table = Table(result, "profile")
    outputs = _default_outputs(table) if outputs is None else ([outputs] if isinstance(outputs, str) else list(outputs))
    if not outputs:
        raise ParameterError("profile: no outputs to draw")
    table.require(outputs)
    units = {o: table.unit(o) for o in outputs}
    if len(set(units.values())) > 1:
        raise ParameterError(f"profile: the outputs have different units ({units}); draw them on separate Axes")
    factor, shown_unit = value_factor(units[outputs[0]], unit, outputs[0], "profile")
    scale = time_factor(time_unit)
    if ax is None:
        _, ax = new_axes(figsize=(7, 4))
    chosen = table.ids if ids is None else list(ids)
    unknown = [i for i in chosen if i not in set(table.ids)]
    if unknown:
        raise ParameterError(f"profile: no subject {unknown} in the result; IDs: {table.ids[:10]}")
    many = len(chosen) > 1
    n_lines = 0
    for output in outputs:
        y_all = table.values(output) * factor
        for sid in chosen:
            rows = table.id == sid
            kw = {"label": f"{output}, ID {sid}" if many else output, **plot_kw}
            ax.plot(table.time[rows] * scale, y_all[rows], **kw)
            n_lines += 1
    marked = mark_doses(ax, doses, scale)
    if len(outputs) == 1:
        ylabel = with_unit(outputs[0], shown_unit)
    else:
        ylabel = with_unit("Concentration" if shown_unit in CONCENTRATION_UNITS else "Value", shown_unit)
    ax.set_xlabel(time_label(time_unit))
    ax.set_ylabel(ylabel)
    if log:
        ax.set_yscale("log")
    if 1 < n_lines <= 10 or marked:
        ax.legend(fontsize="small")
    return ax


def _matrix(table: Table, output: str):
    """``(times, ids, values (subjects, times))`` on the union of the subjects' times (NaN where missing)."""
    frame = pd.DataFrame({"ID": table.id, "TIME": table.time, "Y": table.values(output)})
    frame = frame.drop_duplicates(["ID", "TIME"], keep="last")        # a dose record and an output at one time
    wide = frame.pivot(index="ID", columns="TIME", values="Y")
    wide = wide.loc[pd.unique(frame["ID"])]
    return wide.columns.to_numpy(dtype=float), list(wide.index), wide.to_numpy(dtype=float)


def spaghetti(result_or_frame, output: str | None = None, ax=None, quantiles=(0.05, 0.5, 0.95), *,
              time_unit: str = "h", unit: str | None = None, max_lines: int | None = 200, log: bool = False,
              color="tab:blue", alpha: float = 0.25, **plot_kw):
    """Many subjects' curves of one output, with the median and a quantile ribbon.

    Parameters
    ----------
    result_or_frame : SimulationResult or DataFrame
        A batched simulation (several IDs), or a tidy frame with ``ID``, ``TIME`` (h) and ``output``.
    output : str, optional
        Default: the plasma concentration (``CP`` / the first ``<drug>.CP``), else the first column.
    ax : Axes, optional
    quantiles : (float, float, float)
        Lower, middle (line) and upper (ribbon) probabilities, computed over the subjects at each time
        (numpy's linear quantile; subjects without a value at a time are left out there).
    time_unit : str
        Unit of the time axis (``"h"``, ``"min"``, ``"d"``, ...).
    unit : str, optional
        Show the values in this unit (converted from the result's unit).
    max_lines : int or None
        Draw at most this many subjects' curves (the first ones); the quantiles always use every subject.
    log : bool
        Logarithmic y axis.
    color, alpha
        Colour of the median and the ribbon (the subjects' curves are grey); opacity of the ribbon.
    **plot_kw
        Passed to ``Axes.plot`` for the median line (``label=``, ``lw=``, ``ls=`` ...); its colour also colours
        the ribbon.

    Returns
    -------
    Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np, pandas as pd, pkpd
    >>> from pkpd.models import OneCompartment
    >>> params = pd.DataFrame({"ID": [1, 2, 3, 4], "CL": [4.0, 5.0, 6.0, 7.0], "V": 50.0})
    >>> res = OneCompartment().simulate(pkpd.Bolus(100), np.linspace(0, 24, 25), params)
    >>> ax = pkpd.plot.spaghetti(res, "CP", quantiles=(0.1, 0.5, 0.9))
    >>> ax.get_ylabel(), len(ax.lines)        # 4 subjects and the median
    ('CP (mg/L)', 5)
    """
    table = Table(result_or_frame, "spaghetti")
    output = output or _default_outputs(table)[0]
    table.require([output])
    q = np.asarray(quantiles, dtype=float)
    if q.shape != (3,) or not (0 <= q[0] < q[1] < q[2] <= 1):
        raise ParameterError(f"spaghetti: quantiles must be three increasing probabilities (low, middle, high), "
                             f"got {quantiles!r}")
    factor, shown_unit = value_factor(table.unit(output), unit, output, "spaghetti")
    scale = time_factor(time_unit)
    times, ids, values = _matrix(table, output)
    values = values * factor
    if ax is None:
        _, ax = new_axes(figsize=(7, 4))
    n = len(ids)
    shown = n if max_lines is None else min(n, int(max_lines))
    t = times * scale
    line_color, line_alpha = "0.45", (0.5 if shown <= 20 else max(0.05, 8.0 / shown))
    for k in range(shown):
        keep = ~np.isnan(values[k])
        ax.plot(t[keep], values[k, keep], color=line_color, alpha=line_alpha, linewidth=0.7,
                label=(f"subjects ({shown} of {n} shown)" if shown < n else f"subjects (n = {n})") if k == 0 else None)
    with np.errstate(all="ignore"):
        lo, mid, hi = np.nanquantile(values, q, axis=0)
    median_kw = artist_kw({"color": color, "linewidth": 2,
                           "label": "median" if q[1] == 0.5 else f"{100 * q[1]:g}th percentile"}, plot_kw)
    ax.fill_between(t, lo, hi, color=median_kw["color"], alpha=alpha, linewidth=0,
                    label=f"{100 * q[0]:g}th-{100 * q[2]:g}th percentile")
    ax.plot(t, mid, **median_kw)
    ax.set_xlabel(time_label(time_unit))
    ax.set_ylabel(with_unit(output, shown_unit))
    if log:
        ax.set_yscale("log")
    ax.legend(fontsize="small")
    return ax
