"""``pkpd trial FILE``: run a virtual-trial scenario (locally or on Dask workers) and write its results."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .._internal.output import OutputFolder
from ._tables import _agg, _unit_label, markdown_table

__all__ = ["simulate_trial", "run_trial_scenario"]


# ---------------------------------------------------------------------------------------------
# pkpd trial
# ---------------------------------------------------------------------------------------------
#: Most Dask worker processes of ``pkpd trial --workers`` (each is a Python process with its own memory).
MAX_WORKERS = 256

def _combine(results, design_arms, sc):
    """One TrialResult from the results of arm groups simulated with different models (same subjects)."""
    from ..trials import TrialDesign, TrialResult

    design = TrialDesign(design_arms, times=sc.times_h, endpoints=sc.endpoints)
    return TrialResult.combine(results, design, model_name=sc.model_label)


def simulate_trial(sc, *, workers: int = 0, progress=None):
    """Run a parsed trial scenario (:func:`pkpd.cli.scenario_file.load_trial`): returns the population and a
    :class:`pkpd.trials.TrialResult` (arm groups that need different models run with the same subjects)."""
    from ..trials import TrialDesign, run_trial
    from ..population.virtual import Population

    pop = Population.virtual(**sc.population)
    keep = tuple(dict.fromkeys([sc.plot_output] + [o for ep in sc.endpoints for o in ep.outputs]))
    cluster = client = None
    try:
        if workers > 0:
            try:
                import dask.distributed as distributed
            except ImportError:
                raise ValueError("--workers needs dask.distributed: pip install 'dask[distributed]' "
                                 "(or pkpd[all])") from None
            cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                               dashboard_address=None)
            client = distributed.Client(cluster)
        results = []
        for source, names in sc.groups:
            design = TrialDesign({a: sc.arms[a] for a in names}, times=sc.times_h, endpoints=sc.endpoints)
            results.append(run_trial(source, design, pop, seed=sc.seed, client=client, progress=progress,
                                     keep_timecourses=keep, **sc.options))
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    result = results[0] if len(results) == 1 else _combine(results, sc.arms, sc)
    return pop, result


def _endpoint_bars(ax, summary: pd.DataFrame, arms):
    fr = summary.loc[summary["statistic"] == "fraction"]
    eps = list(dict.fromkeys(fr["endpoint"]))
    width = 0.8 / max(1, len(arms))
    for j, arm in enumerate(arms):
        part = fr.loc[fr["arm"] == arm].set_index("endpoint").reindex(eps)
        x = np.arange(len(eps)) + (j - (len(arms) - 1) / 2) * width
        est = part["estimate"].to_numpy(dtype=float)
        err = np.vstack([est - part["lower"].to_numpy(dtype=float), part["upper"].to_numpy(dtype=float) - est])
        ax.bar(x, 100 * est, width, yerr=100 * err, capsize=3, color=f"C{j % 10}", label=arm)
    ax.set_xticks(np.arange(len(eps)), eps, fontsize="small")
    ax.set_ylabel("subjects (%), 95 % Wilson CI")
    ax.set_ylim(0, 100)
    ax.legend(fontsize="small")


def run_trial_scenario(scenario_path, out="pkpd-trial", *, workers: int = 0, n: int | None = None,
                       progress=None, force: bool = False) -> dict:
    """Run a trial scenario file: ``summary.csv`` (:meth:`pkpd.trials.TrialResult.summarize`),
    ``subjects.csv``, ``timecourses.csv``, ``report.md`` and ``trial.png``."""
    from .scenario_file import load_trial

    if not 0 <= workers <= MAX_WORKERS:
        raise ValueError(f"--workers must be 0 (serial) or a number of Dask workers up to {MAX_WORKERS}, "
                         f"got {workers}")
    if n is not None and n < 1:
        raise ValueError(f"--n must be a positive number of subjects, got {n}")
    sc = load_trial(scenario_path, n=n)
    folder = OutputFolder(out, {"summary": "summary.csv", "subjects": "subjects.csv", "timecourses": "timecourses.csv",
                                "md": "report.md", "png": "trial.png"}, force=force, inputs=[scenario_path])
    pop, result = simulate_trial(sc, workers=workers, progress=progress)
    summary = result.summarize()
    scale = 60.0 if sc.time_unit == "min" else 1.0
    folder.write_csv("summary", summary, index=False)
    folder.write_csv("subjects", result.subjects, index=False)
    folder.write_csv("timecourses", result.timecourses, index=False)

    plt = _agg()
    has_fractions = bool((summary["statistic"] == "fraction").any())
    ncol = 2 if has_fractions else 1
    fig, axes = plt.subplots(1, ncol, figsize=(6.5 * ncol, 4.2), squeeze=False, layout="constrained")
    from ..plot import ribbon
    ax = ribbon(result, sc.plot_output, ax=axes[0, 0], time_unit=sc.time_unit)
    model = sc.groups[0][0].model
    ax.set_ylabel(_unit_label(model, sc.plot_output))
    ax.set_xlabel(f"time ({sc.time_unit})")
    ax.set_title(f"{sc.plot_output}: median and 5-95 %", fontsize="medium")
    if has_fractions:
        _endpoint_bars(axes[0, 1], summary, result.arms)
        axes[0, 1].set_title("endpoints", fontsize="medium")
    fig.suptitle(sc.title)
    folder.save_figure("png", fig, dpi=100)
    plt.close(fig)

    shown = summary.copy()
    time_rows = shown["unit"] == "h"
    if scale != 1.0:
        shown.loc[time_rows, ["estimate", "lower", "upper"]] *= scale
        shown.loc[time_rows, "unit"] = "min"
    for col in ("estimate", "lower", "upper"):
        frac = shown["statistic"] == "fraction"
        shown[col] = shown[col].astype(object)
        shown.loc[frac, col] = [f"{100 * v:.1f} %" for v in summary.loc[frac, col]]
    p = sc.population
    text = [f"# {sc.title}", "",
            f"`pkpd trial {Path(scenario_path).name}`: {sc.model_label}; {len(result.arms)} arm(s) x "
            f"{result.n_subjects} virtual subjects (the same subjects in every arm; `pkpd.Population.virtual`, "
            f"ancestry {p['ancestry']}, population seed {p['seed']}; trial seed {sc.seed}). Simulated in "
            f"{result.elapsed:.1f} s" + (f" on {workers} Dask workers" if workers else "") + ".", "",
            "Fractions with 95 % Wilson intervals; times and values as medians with distribution-free 95 % "
            "intervals (a median time is inf when fewer than half the subjects reached the event).", "",
            markdown_table(shown), "", "![trial](trial.png)", "",
            "Files: `summary.csv` (this table, times in h), `subjects.csv` (one row per subject and arm), "
            "`timecourses.csv` (quantiles per arm and time, TIME in h).", ""]
    folder.write_text("md", "\n".join(text))
    return folder.files
