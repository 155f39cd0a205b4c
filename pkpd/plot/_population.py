"""Plots of population fits: goodness of fit and visual predictive checks."""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from ._common import artist_kw, axes_grid, time_factor, time_label, with_unit

__all__ = ["gof", "vpc", "eta_covariates", "eta_distributions"]

_BAND_COLOURS = ("tab:blue", "tab:red", "tab:blue")


def _value_name(unit: str) -> str:
    return "Concentration" if unit in ("mg/L", "ng/mL", "ug/mL", "µg/mL", "ug/L") else ""


def _model_output_unit(fit) -> tuple[str, str]:
    """The fitted output's name and unit (``""`` when unknown)."""
    from ..engine import output_units

    popmodel = getattr(fit, "popmodel", None)
    if popmodel is None:
        return "DV", ""
    output = popmodel.output or popmodel.model.outputs[0]
    try:
        return output, output_units(popmodel.model, [output]).get(output, "")
    except Exception:                                          # pragma: no cover - unusual models
        return output, ""


def gof(fit, axes=None, *, time_unit: str = "h", **plot_kw):
    """Goodness-of-fit panels of a population fit.

    Four panels, from the fit's ``diagnostics`` (BLQ records left out): observed ``DV`` against the
    population (``PRED``) and the individual (``IPRED``) predictions, each with the identity line; ``CWRES``
    against ``TIME`` and against ``PRED``, each with a zero line.

    Parameters
    ----------
    fit : PopulationFitResult
    axes : array_like of 4 Axes, optional
        Where to draw (in the order above); default a new 2 x 2 figure.
    time_unit : str
        Unit of the time axis of the CWRES-vs-TIME panel (``"h"``, ``"min"``, ``"d"``, ...; the data's times, h,
        are converted).
    **plot_kw
        Passed to ``Axes.scatter`` of the observations in every panel, overriding the defaults (``s=12``,
        ``alpha=0.6``, ``label="observations"``): e.g. ``color``, ``marker``, ``s``, ``label``.

    Returns
    -------
    ndarray of Axes
        The four Axes, flattened in the order above.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import warnings, pkpd
    >>> from pkpd.models import OneCompartment
    >>> pm = pkpd.PopulationModel(OneCompartment(), {"CL": 8.0, "V": 12.0}, {"CL": 0.1},
    ...                           pkpd.ProportionalError(0.1))
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")          # high shrinkage on this small data set
    ...     fit = pkpd.fit_population(pm, pkpd.load_dataset("indometacin"), covariance=False, progress=False)
    >>> axes = pkpd.plot.gof(fit)
    >>> [ax.get_xlabel() for ax in axes]
    ['Population prediction (mg/L)', 'Individual prediction (mg/L)', 'Time (h)', 'Population prediction (mg/L)']
    """
    diag = getattr(fit, "diagnostics", None)
    if diag is None:
        raise ParameterError(f"gof needs a population fit with diagnostics, not {type(fit).__name__}")
    if axes is None:
        import matplotlib.pyplot as plt

        _, axes = plt.subplots(2, 2, figsize=(9, 8), layout="constrained")
    axes = np.asarray(axes, dtype=object).ravel()
    if len(axes) != 4:
        raise ParameterError(f"gof draws 4 panels: give 4 Axes, not {len(axes)}")
    _, unit = _model_output_unit(fit)
    quantified = diag.loc[diag["BLQ"] != 1] if "BLQ" in diag else diag
    points_kw = artist_kw({"s": 12, "alpha": 0.6, "label": "observations"}, plot_kw, "collection")
    for ax, column, name in ((axes[0], "PRED", "Population prediction"), (axes[1], "IPRED", "Individual prediction")):
        x, y = quantified[column].to_numpy(dtype=float), quantified["DV"].to_numpy(dtype=float)
        ax.scatter(x, y, **points_kw)
        finite = np.concatenate([x[np.isfinite(x)], y[np.isfinite(y)]])
        if len(finite):
            lo, hi = float(finite.min()), float(finite.max())
            ax.plot([lo, hi], [lo, hi], color="black", linewidth=1, label="identity")
        ax.set_xlabel(with_unit(name, unit))
        ax.set_ylabel(with_unit("Observed", unit))
    residual_panels = ((axes[2], "TIME", time_factor(time_unit), time_label(time_unit)),
                       (axes[3], "PRED", 1.0, with_unit("Population prediction", unit)))
    for ax, column, scale, label in residual_panels:
        ax.scatter(quantified[column].to_numpy(dtype=float) * scale, quantified["CWRES"].to_numpy(dtype=float),
                   **points_kw)
        ax.axhline(0.0, color="black", linewidth=1, label="zero")
        ax.set_xlabel(label)
        ax.set_ylabel("CWRES")
    return axes


def _ordinal(p: float) -> str:
    if float(p).is_integer():
        n = int(p)
        suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
        return f"{n}{suffix}"
    return f"{p:g}th"


def vpc(result, ax=None, *, stratum=None, points: bool = True, log: bool = False, time_unit: str = "h",
        **plot_kw):
    """Plot a visual predictive check (:func:`pkpd.vpc`).

    Observed values (points; BLQ records left out), the observed percentiles of each bin (lines at the bins'
    median times: solid for the median, dashed for the others) and the simulated ``ci`` % interval of each
    percentile (shaded); with an LLOQ, a dotted line at the LLOQ of each bin. Percentiles censored below the
    LLOQ are gaps, and an interval whose lower bound is censored is shaded from the LLOQ.

    Parameters
    ----------
    result : VPCResult
    ax : Axes, optional
        Where to draw; default a new figure.
    stratum : optional
        The stratum plotted when the VPC is stratified (required then).
    points : bool
        Draw the observed values.
    log : bool
        Logarithmic y axis.
    time_unit : str
        Unit of the time axis (``"h"``, ``"min"``, ``"d"``, ...; the VPC's times, h, are converted).
    **plot_kw
        Passed to ``Axes.scatter`` of the observed values, overriding the defaults (``s=8``, ``color="0.5"``,
        ``alpha=0.5``, ``label="observations"``); unused with ``points=False``. The percentile lines and
        intervals keep their colours (red: the median, blue: the others).

    Returns
    -------
    Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pkpd
    >>> from pkpd.models import OneCompartment
    >>> pm = pkpd.PopulationModel(OneCompartment(), {"CL": 8.5, "V": 20.0}, {"CL": 0.05},
    ...                           pkpd.ProportionalError(0.45))
    >>> result = pkpd.vpc(pm, pkpd.load_dataset("indometacin"), n_sim=100, seed=1, bins=4)
    >>> ax = pkpd.plot.vpc(result)
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('Time (h)', 'Concentration (mg/L)')
    """
    table, observed = result.table, result.observed
    if result.stratify:
        values = list(table[result.stratify].drop_duplicates())
        if stratum is None or stratum not in values:
            raise ParameterError(f"this VPC is stratified by {result.stratify}: choose stratum= one of {values}")
        table = table.loc[table[result.stratify] == stratum]
        observed = observed.loc[observed[result.stratify] == stratum]
    elif stratum is not None:
        raise ParameterError("stratum is only for a stratified VPC")
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(7, 5), layout="constrained")
    scale = time_factor(time_unit)
    x = table["time_median"].to_numpy(dtype=float) * scale
    column = result.value_column
    if points:
        shown = observed.loc[observed["BLQ"] != 1]
        points_kw = artist_kw({"s": 8, "color": "0.5", "alpha": 0.5, "label": "observations"}, plot_kw, "collection")
        ax.scatter(shown["TIME"].to_numpy(dtype=float) * scale, shown[column].to_numpy(dtype=float), **points_kw)
    n = len(result.percentiles)
    for j, p in enumerate(result.percentiles):
        name = f"p{float(p):g}"
        middle = j == n // 2 and n % 2 == 1
        colour = "tab:red" if middle else "tab:blue"
        lower = table[f"{name}_sim_lower"].to_numpy(dtype=float)
        upper = table[f"{name}_sim_upper"].to_numpy(dtype=float)
        if result.has_lloq and "lloq" in table:               # a lower bound censored below the LLOQ: from the LLOQ
            lower = np.where(np.isnan(lower) & ~np.isnan(upper), table["lloq"].to_numpy(dtype=float), lower)
        ax.fill_between(x, lower, upper, color=colour, alpha=0.25, linewidth=0,
                        label=f"simulated {result.ci:g} % CI of the {_ordinal(p)} percentile")
        ax.plot(x, table[f"{name}_observed"].to_numpy(dtype=float), color=colour, linestyle="-" if middle else "--",
                linewidth=2 if middle else 1.5, label=f"observed {_ordinal(p)} percentile")
    if result.has_lloq and "lloq" in table:
        ax.plot(x, table["lloq"].to_numpy(dtype=float), color="black", linestyle=":", linewidth=1, label="LLOQ")
    name = _value_name(result.unit) or (result.output or "DV")
    if result.prediction_corrected:
        name = "Prediction-corrected " + (name.lower() if name == "Concentration" else name)
    ax.set_xlabel(time_label(time_unit))
    ax.set_ylabel(with_unit(name, result.unit))
    if log:
        ax.set_yscale("log")
    if result.stratify:
        ax.set_title(f"{result.stratify} = {stratum}")
    ax.legend(fontsize="x-small")
    return ax


def _etas(fit):
    etas = getattr(fit, "etas", None)
    if etas is None or "ID" not in etas:
        raise ParameterError(f"expected a population fit (pkpd.fit_population), not {type(fit).__name__}")
    return etas


def eta_covariates(fit, covariates=None, axes=None, **plot_kw):
    """Each random effect's empirical Bayes estimates against each subject covariate (first record of the
    subject), with a horizontal line at 0: a trend suggests a covariate effect the model lacks.

    Parameters
    ----------
    fit : PopulationFitResult
    covariates : sequence of str, optional
        Data columns (default every covariate column of the data fitted).
    axes : array_like of Axes, optional
        ``n_etas x n_covariates`` of them, row by row; default a new grid.
    **plot_kw
        Passed to ``Axes.plot`` of the estimates (one point per subject) in every panel, overriding the defaults
        (``marker="o"``, no line, ``color="C0"``, ``markersize=4``; no legend label). The x axes hold the
        covariates, not time: there is no ``time_unit``.

    Returns
    -------
    ndarray of Axes, shape (n_etas, n_covariates)

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pkpd
    >>> from pkpd.models import OneCompartment
    >>> pm = pkpd.PopulationModel(OneCompartment(), {"CL": 8.0, "V": 12.0}, {"CL": 0.1}, pkpd.ProportionalError(0.1))
    >>> ev = pkpd.load_dataset("indometacin").events.assign(WT=lambda e: 60.0 + 2 * e["ID"])
    >>> fit = pkpd.fit_population(pm, ev, covariance=False, progress=False)
    >>> axes = pkpd.plot.eta_covariates(fit)
    >>> axes.shape, axes[0, 0].get_xlabel(), axes[0, 0].get_ylabel()
    ((1, 1), 'WT', 'ETA_CL')
    """
    import pandas as pd

    etas = _etas(fit)
    events = fit.data.events
    names = list(fit.data.covariates if covariates is None else covariates)
    missing = [c for c in names if c not in events.columns]
    if missing:
        raise ParameterError(f"eta_covariates: no covariate column {missing}; the data have {fit.data.covariates}")
    if not names:
        raise ParameterError("eta_covariates: the data fitted have no covariate column")
    per_subject = events.groupby("ID", sort=False)[names].first()
    table = etas.set_index("ID").join(per_subject)
    eta_names = [c for c in etas.columns if c != "ID"]
    points_kw = artist_kw({"marker": "o", "linestyle": "none", "color": "C0", "markersize": 4}, plot_kw)
    shape = (len(eta_names), len(names))
    axes = axes_grid(axes, *shape, "eta_covariates", figsize=(3.0 * shape[1], 2.6 * shape[0]), sharey="row")
    for i, eta in enumerate(eta_names):
        for j, cov in enumerate(names):
            ax = axes[i, j]
            x = pd.to_numeric(table[cov], errors="coerce").to_numpy(dtype=float)
            ax.plot(x, table[eta].to_numpy(dtype=float), **points_kw)
            ax.axhline(0.0, color="grey", lw=0.8)
            ax.set_xlabel(cov)
            ax.set_ylabel(eta if j == 0 else "")
    return np.asarray(axes, dtype=object)


def eta_distributions(fit, axes=None, **plot_kw):
    """Histogram of each random effect's empirical Bayes estimates with the N(0, omega) density of the model,
    and their normal QQ plot (EBEs shrink towards 0: with shrinkage, narrower than omega is expected).

    Parameters
    ----------
    fit : PopulationFitResult
    axes : array_like of Axes, optional
        ``n_etas x 2`` of them, row by row; default a new grid.
    **plot_kw
        Passed to ``Axes.hist`` of the estimates in every histogram, overriding the defaults (``bins="auto"``,
        ``density=True``, ``color="C0"``, ``alpha=0.6``, ``label="EBEs"``); a ``color`` also colours the QQ
        plots' points. The x axes hold the estimates, not time: there is no ``time_unit``.

    Returns
    -------
    ndarray of Axes, shape (n_etas, 2): histogram, QQ plot.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pkpd
    >>> from pkpd.models import OneCompartment
    >>> pm = pkpd.PopulationModel(OneCompartment(), {"CL": 8.0, "V": 12.0}, {"CL": 0.1}, pkpd.ProportionalError(0.1))
    >>> fit = pkpd.fit_population(pm, pkpd.load_dataset("indometacin"), covariance=False, progress=False)
    >>> axes = pkpd.plot.eta_distributions(fit)
    >>> axes.shape, axes[0, 1].get_xlabel()
    ((1, 2), 'normal quantile')
    """
    from scipy import stats

    etas = _etas(fit)
    eta_names = [c for c in etas.columns if c != "ID"]
    axes = axes_grid(axes, len(eta_names), 2, "eta_distributions", figsize=(7.0, 2.6 * len(eta_names)))
    hist_kw = artist_kw({"bins": "auto", "density": True, "color": "C0", "alpha": 0.6, "label": "EBEs"}, plot_kw,
                        "patch")
    qq_color = hist_kw.get("color", hist_kw.get("facecolor", "C0"))
    for i, eta in enumerate(eta_names):
        values = np.sort(etas[eta].to_numpy(dtype=float))
        name = eta.removeprefix("ETA_")
        sd = float(np.sqrt(fit.omega.loc[name, name]))
        hist, qq = axes[i]
        hist.hist(values, **hist_kw)
        grid = np.linspace(-4 * sd, 4 * sd, 201)
        hist.plot(grid, stats.norm.pdf(grid, scale=sd), color="k", label=f"N(0, {sd ** 2:.3g})")
        hist.set_xlabel(eta)
        hist.set_ylabel("density")
        hist.legend(fontsize="x-small")
        theoretical = stats.norm.ppf((np.arange(1, len(values) + 1) - 0.5) / len(values))
        qq.plot(theoretical, values, marker="o", linestyle="none", color=qq_color, markersize=4)
        qq.plot(theoretical, sd * theoretical, color="k", lw=0.8, label="N(0, omega)")
        qq.set_xlabel("normal quantile")
        qq.set_ylabel(eta)
    return np.asarray(axes, dtype=object)
