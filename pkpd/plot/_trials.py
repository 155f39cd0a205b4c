"""Plots of virtual trials: median and inter-quantile ribbon of an output per arm; endpoints across arms."""

from __future__ import annotations

__all__ = ["ribbon", "endpoints"]


def ribbon(result, output: str | None = None, ax=None, *, quantiles=(0.05, 0.95), time_unit: str = "h",
           alpha: float = 0.25, **plot_kw):
    """Median (line) and ``quantiles`` band (ribbon) of ``output`` per arm of a :class:`pkpd.trials.TrialResult`.

    Parameters
    ----------
    result : TrialResult
        With the time course of ``output`` kept (``run_trial(keep_timecourses=...)``).
    output : str, optional
        Default: the first kept output.
    ax : matplotlib Axes, optional
    quantiles : (float, float)
        Lower and upper probability of the ribbon.
    time_unit : str
        Unit of the time axis (``"h"``, ``"min"``, ``"d"``, ...); the trial's times (h) are converted.
    alpha : float
        Opacity of the ribbons.
    **plot_kw
        Passed to ``Axes.plot`` of each arm's median line, overriding the defaults (e.g. ``color``,
        ``linewidth``, ``linestyle``); a ``label`` replaces the default, ``"<arm> (median)"``, on every median
        line. Each ribbon takes its median line's colour.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np, pkpd, pkpd.trials
    >>> from pkpd import endpoints, scenarios
    >>> design = pkpd.trials.TrialDesign({"5 min": scenarios.treat(5)}, times=np.linspace(0, 2, 5),
    ...                                  endpoints=[endpoints.minimum("GABAA.SURFACE_A235")])
    >>> res = pkpd.trials.run_trial(pkpd.trials.se_population(), design, 10, seed=0, progress=False)
    >>> ax = pkpd.plot.ribbon(res, "GABAA.SURFACE_A235")
    >>> ax.get_ylabel()
    'GABAA.SURFACE_A235'
    """
    import matplotlib.pyplot as plt
    import numpy as np

    from ._common import artist_kw, time_factor, time_label

    kept = list(dict.fromkeys(result.timecourses["output"])) if len(result.timecourses) else []
    if not kept:
        raise ValueError("the trial kept no time courses: run it with keep_timecourses and design times")
    output = output or kept[0]
    if output not in kept:
        raise ValueError(f"no time course kept for {output!r}; kept: {kept}")
    scale = time_factor(time_unit)
    lo, hi = quantiles
    q = result.quantiles(output, [lo, 0.5, hi])
    if ax is None:
        _, ax = plt.subplots()
    for arm in result.arms:
        part = q.loc[q["arm"] == arm]
        t = np.asarray(part["TIME"], dtype=float) * scale
        line, = ax.plot(t, part[f"Q{100 * 0.5:g}"], **artist_kw({"label": f"{arm} (median)"}, plot_kw))
        ax.fill_between(t, part[f"Q{100 * lo:g}"], part[f"Q{100 * hi:g}"], color=line.get_color(), alpha=alpha,
                        label=f"{arm} ({100 * lo:g}-{100 * hi:g}%)")
    ax.set_xlabel(time_label(time_unit, "time"))
    ax.set_ylabel(output)
    ax.set_title(f"{output}: median and {100 * lo:g}-{100 * hi:g}th percentiles, {result.n_subjects} subjects/arm")
    ax.legend(fontsize="small")
    return ax


def endpoints(trial_result, endpoint: str, ax=None, *, ci: float = 0.95, statistic: str | None = None,
              percent: bool = True, color="tab:blue", **plot_kw):
    """An endpoint compared across the arms of a virtual trial: estimate and confidence interval per arm.

    From :meth:`pkpd.trials.TrialResult.summarize`: a fraction (binary endpoints, and the events of time
    endpoints) with its Wilson interval, or a median (times and values) with its distribution-free interval.
    A median or upper bound that is not reached (fewer than half the subjects had the event) is drawn as an
    arrow to the top of the Axes and annotated "not reached".

    Parameters
    ----------
    trial_result : TrialResult
    endpoint : str
        Name of one of the design's endpoints.
    ax : Axes, optional
    ci : float
        Confidence level of the intervals.
    statistic : {"fraction", "median"}, optional
        Default the endpoint's first statistic (``fraction`` for binary and time endpoints, ``median`` for
        value endpoints); ``"median"`` gives the median time of a time endpoint.
    percent : bool
        Fractions in percent (else 0-1).
    color
        Colour of the estimates and intervals.
    **plot_kw
        Passed to ``Axes.plot`` of the estimates (one point per arm), overriding the defaults (``marker="o"``,
        ``markersize=8``, ``color``); a ``label`` replaces the default legend entry, the statistic's name.
        The x axis holds the arms, not time: there is no ``time_unit``.

    Returns
    -------
    Axes
        One point with its interval (a vertical line ``[lower, upper]``) per arm, arms on the x axis in
        design order.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np, pkpd, pkpd.trials
    >>> from pkpd import endpoints, scenarios
    >>> design = pkpd.trials.TrialDesign({"5 min": scenarios.treat(5), "30 min": scenarios.treat(30)},
    ...                                  times=np.linspace(0, 2, 5), endpoints=[endpoints.terminated_by(2.0)])
    >>> res = pkpd.trials.run_trial(pkpd.trials.se_population(), design, 10, seed=0, progress=False)
    >>> ax = pkpd.plot.endpoints(res, "terminated_by_2h")
    >>> ax.get_ylabel(), [t.get_text() for t in ax.get_xticklabels()]
    ('terminated_by_2h (% of subjects)', ['5 min', '30 min'])
    """
    import matplotlib.pyplot as plt
    import numpy as np

    from ..errors import ParameterError
    from ._common import artist_kw

    summary = trial_result.summarize(ci)
    names = list(dict.fromkeys(summary["endpoint"]))
    rows = summary.loc[summary["endpoint"] == endpoint]
    if rows.empty:
        raise ParameterError(f"endpoints: no endpoint {endpoint!r} in the trial; its endpoints: {names}")
    statistics = list(dict.fromkeys(rows["statistic"]))
    statistic = statistic or statistics[0]
    if statistic not in statistics:
        raise ParameterError(f"endpoints: {endpoint!r} has no statistic {statistic!r}; it has {statistics}")
    rows = rows.loc[rows["statistic"] == statistic]
    arms = list(trial_result.arms)
    rows = rows.set_index("arm").loc[arms]
    scale = 100.0 if (statistic == "fraction" and percent) else 1.0
    est, lo, hi = (rows[c].to_numpy(dtype=float) * scale for c in ("estimate", "lower", "upper"))
    if ax is None:
        _, ax = plt.subplots(figsize=(max(4.0, 1.3 * len(arms) + 2), 4), layout="constrained")
    x = np.arange(len(arms), dtype=float)
    finite = np.concatenate([v[np.isfinite(v)] for v in (est, lo, hi)])
    top = float(finite.max()) * 1.15 if finite.size and finite.max() > 0 else 1.0
    if statistic == "fraction" and percent:
        top = 105.0
    elif statistic == "fraction":
        top = 1.05
    estimate_kw = artist_kw({"marker": "o", "linestyle": "none", "color": color, "markersize": 8,
                             "label": statistic}, plot_kw)
    for k in range(len(arms)):
        upper = hi[k] if np.isfinite(hi[k]) else top
        ax.plot([x[k], x[k]], [lo[k], upper], color=color, linewidth=2, marker="_", markersize=14,
                label=f"{100 * ci:g} % CI" if k == 0 else None)
        if not np.isfinite(hi[k]):
            ax.plot([x[k]], [top], marker="^", color=color)
        if np.isfinite(est[k]):
            ax.plot([x[k]], [est[k]], **(estimate_kw if k == 0 else {**estimate_kw, "label": None}))
            text = f"{est[k]:.0f} %" if scale == 100.0 else f"{est[k]:.3g}"
            ax.annotate(text, (x[k], est[k]), xytext=(8, 0), textcoords="offset points", va="center",
                        fontsize="small")
        else:
            ax.annotate("not reached", (x[k], top), xytext=(8, -4), textcoords="offset points", va="top",
                        fontsize="small")
    ax.set_xticks(x, arms)
    ax.set_xlim(-0.6, len(arms) - 0.4)
    ax.set_ylim(0.0 if lo[np.isfinite(lo)].min(initial=0.0) >= 0 else None, top)
    unit = str(rows["unit"].iloc[0]) if "unit" in rows else ""
    if statistic == "fraction":
        ax.set_ylabel(f"{endpoint} ({'% of subjects' if percent else 'fraction of subjects'})")
    else:
        ax.set_ylabel(f"{endpoint}, median ({unit})" if unit else f"{endpoint}, median")
    ax.set_xlabel("Arm")
    n = int(rows["n"].iloc[0])
    ax.set_title(f"{endpoint}: {statistic} and {100 * ci:g} % CI, {n} subjects/arm", fontsize="medium")
    ax.legend(fontsize="small")
    return ax
