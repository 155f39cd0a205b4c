"""Individual fits: observed points and the fitted curve, one panel per subject."""

from __future__ import annotations

import math

import numpy as np

from ..errors import ParameterError
from ._common import artist_kw, as_axes_array, new_axes, time_factor, time_label, with_unit

__all__ = ["individual_fits"]


def _panels(fit_or_fits) -> list:
    """``[(ID, FitResult), ...]`` from a FitResult (one panel per subject it fitted), a ``{ID: FitResult}``
    mapping (:func:`pkpd.estimation.fit_each`) or a sequence of FitResults."""
    if isinstance(fit_or_fits, dict):
        items = list(fit_or_fits.values())
    elif hasattr(fit_or_fits, "predictions"):
        items = [fit_or_fits]
    else:
        try:
            items = list(fit_or_fits)
        except TypeError:
            raise ParameterError(f"individual_fits: expected a FitResult, a {{ID: FitResult}} mapping (fit_each) or "
                                 f"a sequence of FitResults, not {type(fit_or_fits).__name__}") from None
    panels = []
    for fit in items:
        if not (hasattr(fit, "predictions") and hasattr(fit, "predict")):
            raise ParameterError(f"individual_fits: expected FitResults (with predictions and predict), "
                                 f"got {type(fit).__name__}")
        for sid in dict.fromkeys(fit.predictions["ID"]):
            panels.append((sid, fit))
    if not panels:
        raise ParameterError("individual_fits: no fits to draw")
    return panels


def _output_unit(fit) -> tuple[str, str]:
    from ..engine import output_units

    output = fit.problem.output
    try:
        return output, output_units(fit.model, [output]).get(output, "")
    except Exception:                                           # pragma: no cover - unusual models
        return output, ""


def _outer(ax, index: int, n: int, ncols: int) -> tuple[bool, bool]:
    """Whether ``ax`` is in the first column / the bottom row of its grid (for axis labels)."""
    spec = ax.get_subplotspec() if hasattr(ax, "get_subplotspec") else None
    if spec is not None:
        return spec.is_first_col(), spec.is_last_row() or index + ncols >= n
    return True, True


def individual_fits(fit_or_fits, axes=None, ncols: int = 4, *, log: bool = False, n_points: int = 200,
                    sharey: bool = False, time_unit: str = "h", **plot_kw):
    """Observed points and the fitted curve per subject, in a grid.

    Parameters
    ----------
    fit_or_fits : FitResult, dict of FitResult, sequence of FitResult or PopulationFitResult
        :func:`pkpd.estimation.fit_each` results (``{ID: FitResult}``), :func:`pkpd.estimation.fit_individual`
        results, or one pooled fit (:func:`pkpd.estimation.fit_pooled`: one panel per subject, the same
        parameters). A fit that did not converge is titled so in red. A population fit
        (:func:`pkpd.fit_population`) gives per subject DV, IPRED (its empirical Bayes estimates) and PRED (the
        typical values) at the observation times, joined by lines, as NONMEM users' individual plots
        (xpose ``ind_plots``); ``n_points`` is then unused.
    axes : array_like of Axes, optional
        At least one per subject; default a new grid of ``ncols`` columns (unused cells hidden).
    ncols : int
        Columns of the new grid.
    log : bool
        Logarithmic y axes.
    n_points : int
        Points of each fitted curve (from the first dose, or 0, to 5 % past the last observation).
    sharey : bool
        Share the y axis in a new grid.
    time_unit : str
        Unit of the time axis (``"h"``, ``"min"``, ``"d"``, ...); the data's times (h) are converted.
    **plot_kw
        Passed to ``Axes.plot`` of the fitted curve (the ``IPRED`` line of a population fit) in every panel,
        overriding the defaults (``color="C0"``, ``linestyle="-"``, the legend label ``"fit"`` /
        ``"IPRED (individual)"``, which a ``label`` replaces).

    Returns
    -------
    ndarray of Axes
        One per subject, in the order of the fits.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pkpd
    >>> from pkpd.models import OneCompartment
    >>> events = pkpd.load_dataset("indometacin").events
    >>> fits = pkpd.estimation.fit_each(OneCompartment(), events[events["ID"] <= 2])
    >>> axes = pkpd.plot.individual_fits(fits, ncols=2)
    >>> len(axes), axes[0].get_ylabel(), axes[0].get_title()
    (2, 'CP (mg/L)', 'ID 1')
    """
    if hasattr(fit_or_fits, "diagnostics") and hasattr(fit_or_fits, "etas"):
        return _population_panels(fit_or_fits, axes, ncols, log, sharey, time_unit, plot_kw)
    panels = _panels(fit_or_fits)
    n = len(panels)
    axes, ncols = _grid(n, axes, ncols, sharey)
    scale = time_factor(time_unit)
    curve_kw = artist_kw({"color": "C0", "label": "fit"}, plot_kw)
    for k, (ax, (sid, fit)) in enumerate(zip(axes, panels)):
        pred = fit.predictions
        rows = (pred["ID"] == sid).to_numpy()
        obs = pred.loc[rows]
        output, unit = _output_unit(fit)
        ev = fit.problem.data.subject(sid).events
        dose_times = ev.loc[ev["EVID"] != 0, "TIME"].to_numpy(dtype=float)
        start = min(0.0, float(dose_times.min())) if len(dose_times) else 0.0
        end = float(obs["TIME"].max()) * 1.05 if len(obs) else 1.0
        grid_t = np.linspace(start, end, int(n_points))
        curve = fit.predict(grid_t, sid)
        ax.plot(curve["TIME"].to_numpy(dtype=float) * scale, curve["PRED"].to_numpy(dtype=float), **curve_kw)
        quant = (obs["BLQ"] == 0).to_numpy() if "BLQ" in obs else np.ones(len(obs), dtype=bool)
        t_obs = obs["TIME"].to_numpy(dtype=float) * scale
        ax.plot(t_obs[quant], obs["DV"].to_numpy(dtype=float)[quant], "o", color="k", markersize=4, label="observed")
        if (~quant).any():
            lloq = np.asarray(fit.problem.lloq, dtype=float)[rows][~quant]
            ax.plot(t_obs[~quant], lloq, "v", color="grey", markersize=4, label="BLQ (at LLOQ)")
        if log:
            ax.set_yscale("log")
        converged = bool(getattr(fit, "success", True))
        ax.set_title(f"ID {sid}" if converged else f"ID {sid} (not converged)", fontsize="medium",
                     color="black" if converged else "tab:red")
        first_col, last_row = _outer(ax, k, n, ncols)
        ax.set_ylabel(with_unit(output, unit) if first_col else "")
        ax.set_xlabel(time_label(time_unit) if last_row else "")
    axes[0].legend(fontsize="x-small")
    return np.asarray(axes, dtype=object)


def _grid(n, axes, ncols, sharey):
    """``n`` Axes: the caller's, or a new grid of ``ncols`` columns (unused cells hidden); and the columns."""
    ncols = max(1, min(int(ncols), n))
    if axes is not None:
        return as_axes_array(axes, n, "individual_fits")[:n], ncols
    nrows = math.ceil(n / ncols)
    _, grid = new_axes(nrows, ncols, figsize=(3.2 * ncols, 2.6 * nrows), sharex=False, sharey=sharey, squeeze=False)
    grid = grid.ravel()
    for ax in grid[n:]:
        ax.set_visible(False)
    return grid[:n], ncols


def _population_panels(fit, axes, ncols, log, sharey, time_unit="h", plot_kw=None):
    """DV, IPRED and PRED against time per subject of a population fit (observation records)."""
    from ._population import _model_output_unit

    table = fit.diagnostics
    if table is None or table.empty:
        raise ParameterError("individual_fits: the population fit has no diagnostics table (no observations)")
    ids = list(dict.fromkeys(table["ID"]))
    axes, ncols = _grid(len(ids), axes, ncols, sharey)
    output, unit = _model_output_unit(fit)
    scale = time_factor(time_unit)
    ipred_kw = artist_kw({"linestyle": "-", "color": "C0", "label": "IPRED (individual)"}, plot_kw or {})
    for k, (ax, sid) in enumerate(zip(axes, ids)):
        rows = table[table["ID"] == sid].sort_values("TIME", kind="stable")
        t = rows["TIME"].to_numpy(dtype=float) * scale
        quant = (rows["BLQ"] == 0).to_numpy() if "BLQ" in rows else np.ones(len(rows), dtype=bool)
        ax.plot(t, rows["IPRED"].to_numpy(dtype=float), **ipred_kw)
        ax.plot(t, rows["PRED"].to_numpy(dtype=float), "--", color="C1", label="PRED (population)")
        ax.plot(t[quant], rows["DV"].to_numpy(dtype=float)[quant], "o", color="k", markersize=4, label="DV")
        if (~quant).any():
            ax.plot(t[~quant], rows["DV"].to_numpy(dtype=float)[~quant], "v", color="grey", markersize=4,
                    label="BLQ")
        if log:
            ax.set_yscale("log")
        ax.set_title(f"ID {sid}", fontsize="medium")
        first_col, last_row = _outer(ax, k, len(ids), ncols)
        ax.set_ylabel(with_unit(output, unit) if first_col else "")
        ax.set_xlabel(time_label(time_unit) if last_row else "")
    axes[0].legend(fontsize="x-small")
    return np.asarray(axes, dtype=object)
