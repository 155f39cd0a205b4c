"""Plots of virtual trials: median and inter-quantile ribbon of an output per arm."""

from __future__ import annotations

__all__ = ["ribbon"]


def ribbon(result, output: str | None = None, ax=None, *, quantiles=(0.05, 0.95), time_unit: str = "h",
           alpha: float = 0.25):
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
    time_unit : {"h", "min"}
        Unit of the time axis.

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

    kept = list(dict.fromkeys(result.timecourses["output"])) if len(result.timecourses) else []
    if not kept:
        raise ValueError("the trial kept no time courses: run it with keep_timecourses and design times")
    output = output or kept[0]
    if output not in kept:
        raise ValueError(f"no time course kept for {output!r}; kept: {kept}")
    if time_unit not in ("h", "min"):
        raise ValueError(f"time_unit must be 'h' or 'min', got {time_unit!r}")
    lo, hi = quantiles
    q = result.quantiles(output, [lo, 0.5, hi])
    if ax is None:
        _, ax = plt.subplots()
    scale = 60.0 if time_unit == "min" else 1.0
    for arm in result.arms:
        part = q.loc[q["arm"] == arm]
        t = np.asarray(part["TIME"], dtype=float) * scale
        line, = ax.plot(t, part[f"Q{100 * 0.5:g}"], label=f"{arm} (median)")
        ax.fill_between(t, part[f"Q{100 * lo:g}"], part[f"Q{100 * hi:g}"], color=line.get_color(), alpha=alpha,
                        label=f"{arm} ({100 * lo:g}-{100 * hi:g}%)")
    ax.set_xlabel(f"time ({time_unit})")
    ax.set_ylabel(output)
    ax.set_title(f"{output}: median and {100 * lo:g}-{100 * hi:g}th percentiles, {result.n_subjects} subjects/arm")
    ax.legend(fontsize="small")
    return ax
