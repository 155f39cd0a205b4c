"""Plots of population fits: goodness of fit and visual predictive checks."""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError

__all__ = ["gof", "vpc"]

_BAND_COLOURS = ("tab:blue", "tab:red", "tab:blue")


def _value_name(unit: str) -> str:
    return "Concentration" if unit in ("mg/L", "ng/mL", "ug/mL", "µg/mL", "ug/L") else ""


def _with_unit(name: str, unit: str) -> str:
    return f"{name} ({unit})" if unit else name


def _model_output_unit(fit) -> tuple[str, str]:
    """The fitted output's name and unit (``""`` when unknown)."""
    from ..simulation import _units

    popmodel = getattr(fit, "popmodel", None)
    if popmodel is None:
        return "DV", ""
    output = popmodel.output or popmodel.model.outputs[0]
    try:
        return output, _units(popmodel.model, [output]).get(output, "")
    except Exception:                                          # pragma: no cover - unusual models
        return output, ""


def gof(fit, axes=None):
    """Goodness-of-fit panels of a population fit.

    Four panels, from the fit's ``diagnostics`` (BLQ records left out): observed ``DV`` against the
    population (``PRED``) and the individual (``IPRED``) predictions, each with the identity line; ``CWRES``
    against ``TIME`` and against ``PRED``, each with a zero line.

    Parameters
    ----------
    fit : PopulationFitResult
    axes : array_like of 4 Axes, optional
        Where to draw (in the order above); default a new 2 x 2 figure.

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
    for ax, column, name in ((axes[0], "PRED", "Population prediction"), (axes[1], "IPRED", "Individual prediction")):
        x, y = quantified[column].to_numpy(dtype=float), quantified["DV"].to_numpy(dtype=float)
        ax.scatter(x, y, s=12, alpha=0.6, label="observations")
        finite = np.concatenate([x[np.isfinite(x)], y[np.isfinite(y)]])
        if len(finite):
            lo, hi = float(finite.min()), float(finite.max())
            ax.plot([lo, hi], [lo, hi], color="black", linewidth=1, label="identity")
        ax.set_xlabel(_with_unit(name, unit))
        ax.set_ylabel(_with_unit("Observed", unit))
    residual_panels = ((axes[2], "TIME", "Time (h)"), (axes[3], "PRED", _with_unit("Population prediction", unit)))
    for ax, column, label in residual_panels:
        ax.scatter(quantified[column].to_numpy(dtype=float), quantified["CWRES"].to_numpy(dtype=float), s=12,
                   alpha=0.6, label="observations")
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


def vpc(result, ax=None, *, stratum=None, points: bool = True, log: bool = False):
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
    x = table["time_median"].to_numpy(dtype=float)
    column = result.value_column
    if points:
        shown = observed.loc[observed["BLQ"] != 1]
        ax.scatter(shown["TIME"].to_numpy(dtype=float), shown[column].to_numpy(dtype=float), s=8, color="0.5",
                   alpha=0.5, label="observations")
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
    ax.set_xlabel("Time (h)")
    ax.set_ylabel(_with_unit(name, result.unit))
    if log:
        ax.set_yscale("log")
    if result.stratify:
        ax.set_title(f"{result.stratify} = {stratum}")
    ax.legend(fontsize="x-small")
    return ax
