"""The status-epilepticus loading-dose timing demo behind ``pkpd demo``.

The same benzodiazepine dose -- by default midazolam 10 mg IM (RAMPART) -- given 5, 15, 30 or 60 minutes
after the start of a seizure. The typical patient shows *why* the timing matters (plasma and unbound brain
concentration, surface GABA-A receptors, E_GABA, the anticonvulsant effect and seizure activity over
time); a virtual cohort shows *how much* it matters (fraction of seizures terminated by delay, untreated,
with the benzodiazepine alone and with ketamine added, each with a 95 % Wilson interval). The models and
their sources are those of :mod:`pkpd.se.scenarios`. ``pkpd demo --drug lorazepam --dose 4 --delays 10 40``
changes the drug, dose and delays.

:func:`run_demo` writes to a folder:

- ``timecourse.png`` -- the typical patient at each delay;
- ``cohort.png`` -- seizure termination by treatment delay in the virtual cohort;
- ``summary.csv`` -- one row per delay (columns in :data:`SUMMARY_COLUMNS`);
- ``report.md`` -- what happened and why, in plain words, with the numbers.

Examples
--------
>>> from pkpd import demo
>>> course = demo.typical_patient(5.0, t_end_min=60, step_min=5)
>>> row = demo.summarise_patient(course, 5.0)
>>> row["typical_terminated"], round(row["surface_gabaa_at_dose"], 2)
(True, 0.92)
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .. import endpoints
from . import scenarios
from ..trials import wilson
from .._output import OutputFolder
from ..physiology import TERMINATION_THRESHOLD, Chloride, GabaAReceptors, Seizure

__all__ = ["DELAYS_MIN", "BENZODIAZEPINES", "SUMMARY_COLUMNS", "DemoResult", "run_demo", "typical_patient",
           "summarise_patient", "time_to_termination", "plot_timecourses", "plot_cohort", "write_report"]

#: Treatment delays after seizure onset (min): T1 = 5 min and T2 = 30 min of the ILAE definition, and
#: the 15 and 60 min between and beyond.
DELAYS_MIN = (5.0, 15.0, 30.0, 60.0)

#: The drugs ``pkpd demo --drug`` accepts: the benzodiazepines of :data:`pkpd.se.scenarios.DRUGS`.
BENZODIAZEPINES = tuple(name for name, info in scenarios.DRUGS.items() if info["role"] == "bzd")

#: Columns of ``summary.csv`` (one row per delay) and what they hold.
SUMMARY_COLUMNS = {
    "delay_min": "the benzodiazepine given this many minutes after seizure onset",
    "dose_mg": "benzodiazepine dose (mg, by its default route)",
    "plasma_cmax_ng_ml": "typical patient: peak total plasma concentration of the benzodiazepine",
    "brain_unbound_cmax_ng_ml": "typical patient: peak unbound benzodiazepine in brain ECF",
    "surface_gabaa_at_dose": "typical patient: surface synaptic GABA-A (alpha2/3/5) at the dose, fraction of baseline",
    "e_gaba_at_dose_mv": "typical patient: GABA-A reversal potential at the dose (mV)",
    "ec50_fold_at_dose": "typical patient: apparent benzodiazepine EC50 at the dose / at seizure onset",
    "emax_fraction_at_dose": "typical patient: apparent maximal benzodiazepine effect at the dose / at onset",
    "peak_effect": "typical patient: peak anticonvulsant effect (fraction of the operational Em)",
    "typical_terminated": "typical patient: seizure stopped and stayed stopped within the window",
    "time_to_termination_min": "typical patient: minutes from onset until activity stays below 0.1",
    "cohort_terminated": "virtual cohort: fraction terminated, the benzodiazepine alone",
    "cohort_terminated_low": "lower end of its 95 % Wilson interval",
    "cohort_terminated_high": "upper end of its 95 % Wilson interval",
    "cohort_terminated_with_ketamine": "virtual cohort: fraction terminated, benzodiazepine + ketamine 1.5 mg/kg IV",
    "cohort_terminated_with_ketamine_low": "lower end of its 95 % Wilson interval",
    "cohort_terminated_with_ketamine_high": "upper end of its 95 % Wilson interval",
    "cohort_terminated_untreated": "virtual cohort: fraction whose seizure stops with no treatment (same patients)",
    "cohort_terminated_untreated_low": "lower end of its 95 % Wilson interval",
    "cohort_terminated_untreated_high": "upper end of its 95 % Wilson interval",
    "cohort_n": "virtual cohort size",
    "drug": "the benzodiazepine",
}

_COLOURS = {5.0: "#1b9e77", 15.0: "#7570b3", 30.0: "#d95f02", 60.0: "#e7298a"}


@dataclass(frozen=True)
class DemoResult:
    """What :func:`run_demo` wrote: the folder, the files by role, the summary table and the run time (s)."""

    out_dir: Path
    files: dict
    summary: pd.DataFrame
    seconds: float


def typical_patient(delay_min: float, *, drug: str = "midazolam", dose: float | None = None, t_end_min: float = 240.0,
                    step_min: float = 1.0) -> pd.DataFrame:
    """Time course of the typical (median) patient given ``drug`` (default dose and route of
    :data:`pkpd.se.scenarios.DRUGS` unless ``dose``, mg) ``delay_min`` after onset, with the unbound brain
    concentration behind the blood-brain barrier (:func:`pkpd.se.scenarios.simulate_patient`)."""
    return scenarios.simulate_patient(delay_min, (drug,), None if dose is None else [dose], t_end_min=t_end_min,
                                      step_min=step_min)


def time_to_termination(time_min, activity, threshold: float = TERMINATION_THRESHOLD) -> float:
    """Minutes from onset until ``activity`` falls below ``threshold`` for good (the crossing interpolated
    linearly, as :func:`pkpd.endpoints.time_to_termination`); NaN if it never does.

    >>> round(time_to_termination([0, 10, 20, 30], [1.0, 0.05, 0.5, 0.02]), 4)   # 20 + 10 * 0.4 / 0.48
    28.3333
    >>> time_to_termination([0, 10], [1.0, 0.9])
    nan
    """
    t = np.asarray(time_min, dtype=float)
    ep = endpoints.time_to_termination("A", threshold)
    return float(ep.evaluate(t, {"A": np.asarray(activity, dtype=float)[None, :]})[0])


def summarise_patient(course: pd.DataFrame, delay_min: float, *, drug: str = "midazolam",
                      dose: float | None = None) -> dict:
    """The typical-patient columns of :data:`SUMMARY_COLUMNS` from a :func:`typical_patient` time course."""
    prefix = scenarios.DRUGS[drug]["make"]().prefix
    t = course["time_min"].to_numpy()
    at_dose = int(np.searchsorted(t, delay_min))            # the grid holds the dose time (1-min steps)
    onset_ec50, onset_emax = course["BZD.EC50_APP"].iloc[0], course["BZD.EMAX_APP"].iloc[0]
    ttt = time_to_termination(t, course[Seizure.ACTIVITY])
    return {
        "delay_min": float(delay_min),
        "dose_mg": float(scenarios.DRUGS[drug]["dose"] if dose is None else dose),
        "plasma_cmax_ng_ml": 1000.0 * float(course[f"{prefix}.CP"].max()),
        "brain_unbound_cmax_ng_ml": 1000.0 * float(course[f"{prefix}_BRAIN.CU"].max()),
        "surface_gabaa_at_dose": float(course[GabaAReceptors.SURFACE_A235].iloc[at_dose]),
        "e_gaba_at_dose_mv": float(course[Chloride.E_GABA].iloc[at_dose]),
        "ec50_fold_at_dose": float(course["BZD.EC50_APP"].iloc[at_dose] / onset_ec50),
        "emax_fraction_at_dose": float(course["BZD.EMAX_APP"].iloc[at_dose] / onset_emax),
        "peak_effect": float(course["BZD.EFFECT"].max()),
        "typical_terminated": not math.isnan(ttt),
        "time_to_termination_min": ttt,
    }


def plot_timecourses(courses: dict, drug: str = "midazolam"):
    """Five stacked panels (concentrations, surface GABA-A, E_GABA, effect, seizure activity) per delay."""
    import matplotlib.pyplot as plt

    prefix = scenarios.DRUGS[drug]["make"]().prefix
    fig, axes = plt.subplots(5, 1, figsize=(8, 12), sharex=True, constrained_layout=True)
    for i, (delay, c) in enumerate(courses.items()):
        colour, t = _COLOURS.get(delay, f"C{i % 10}"), c["time_min"]
        label = f"{drug} at {delay:g} min"
        axes[0].plot(t, 1000 * c[f"{prefix}.CP"], color=colour, label=label)
        axes[0].plot(t, 1000 * c[f"{prefix}_BRAIN.CU"], color=colour, linestyle="--")
        axes[1].plot(t, c[GabaAReceptors.SURFACE_A235], color=colour)
        axes[2].plot(t, c[Chloride.E_GABA], color=colour)
        axes[3].plot(t, np.maximum(c["BZD.EFFECT"], 1e-6), color=colour)
        axes[4].plot(t, c[Seizure.ACTIVITY], color=colour)
        for ax in axes:
            ax.axvline(delay, color=colour, linewidth=0.6, alpha=0.5)
    axes[0].set_ylabel(f"{drug} (ng/mL)\nplasma —, brain unbound --")
    axes[0].set_yscale("log")
    axes[0].set_ylim(0.5, 500)
    axes[0].legend(loc="lower right", fontsize=8)
    axes[1].set_ylabel("surface GABA-A\nα2/3/5 (fraction)")
    axes[2].set_ylabel("E_GABA (mV)")
    axes[2].axhline(-50.0, color="grey", linestyle=":", linewidth=0.8)
    axes[2].annotate("firing threshold", (t.iloc[-1], -50.0), ha="right", va="bottom", fontsize=8, color="grey")
    axes[3].set_ylabel("anticonvulsant effect\n(fraction of Em)")
    axes[3].set_yscale("log")
    axes[3].set_ylim(1e-4, 1)
    axes[4].set_ylabel("seizure activity")
    axes[4].axhline(TERMINATION_THRESHOLD, color="grey", linestyle=":", linewidth=0.8)
    axes[4].set_xlabel("minutes after seizure onset")
    fig.suptitle(f"Status epilepticus: the same {drug} dose given at {len(courses)} delays (typical patient)")
    return fig


def plot_cohort(summary: pd.DataFrame):
    """Bars of the terminated fraction by delay -- untreated, the benzodiazepine alone and with ketamine -- with
    95 % Wilson intervals."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.5), constrained_layout=True)
    x = np.arange(len(summary))
    n = int(summary["cohort_n"].iloc[0])
    drug, dose = summary["drug"].iloc[0], summary["dose_mg"].iloc[0]
    for shift, column, label, colour in ((-0.27, "cohort_terminated_untreated", "untreated", "#999999"),
                                         (0.0, "cohort_terminated", f"{drug} {dose:g} mg", "#7570b3"),
                                         (0.27, "cohort_terminated_with_ketamine", "+ ketamine 1.5 mg/kg IV",
                                          "#d95f02")):
        values = 100 * summary[column].to_numpy()
        low, high = (f"{column}_low", f"{column}_high")
        err = (None if low not in summary else
               100 * np.abs(np.vstack([summary[column] - summary[low], summary[high] - summary[column]])))
        bars = ax.bar(x + shift, values, width=0.27, label=label, color=colour, yerr=err, capsize=2,
                      error_kw={"linewidth": 0.8})
        ax.bar_label(bars, fmt="%.0f%%", fontsize=7, padding=2)
    ax.set_xticks(x, [f"{d:g} min" for d in summary["delay_min"]])
    ax.set_xlabel("treatment delay after seizure onset")
    ax.set_ylabel(f"seizures terminated (% of {n} virtual patients)")
    ax.set_ylim(0, 110)
    ax.legend(fontsize=8)
    ax.set_title("The later the benzodiazepine, the fewer seizures it stops (95 % CI)")
    return fig


def _pct(x: float) -> str:
    return f"{100 * x:.0f} %"


def write_report(summary: pd.DataFrame, *, n: int, seed: int, seconds: float) -> str:
    """``report.md``: what happened at each delay and why, in plain words, from the summary table."""
    s = summary.set_index("delay_min")
    first, last = s.iloc[0], s.iloc[-1]
    d0, d1 = s.index[0], s.index[-1]
    lines = [
        "# Status epilepticus: why the timing of the first benzodiazepine matters",
        "",
        f"The same dose -- {first.drug} {first.dose_mg:g} mg -- was given {', '.join(f'{d:g}' for d in s.index)}"
        " minutes after a seizure started, to a typical patient and to a virtual cohort of "
        f"{n} patients who differ in how they handle the drug and in how severe their seizure is (seed {seed}).",
        "",
        "## What happened",
        "",
        f"Without treatment {_pct(first.cohort_terminated_untreated)} of the same virtual patients' seizures stop "
        "within the 4-hour window. Fractions with their 95 % Wilson intervals:",
        "",
        f"| delay (min) | seizures stopped, {first.drug} | with ketamine | typical patient |",
        "|---|---|---|---|",
    ]
    for d, r in s.iterrows():
        outcome = (f"stopped at {r.time_to_termination_min:.0f} min" if r.typical_terminated else "did not stop")
        alone = f"{_pct(r.cohort_terminated)} ({_pct(r.cohort_terminated_low)}-{_pct(r.cohort_terminated_high)})"
        both = (f"{_pct(r.cohort_terminated_with_ketamine)} ({_pct(r.cohort_terminated_with_ketamine_low)}-"
                f"{_pct(r.cohort_terminated_with_ketamine_high)})")
        lines.append(f"| {d:g} | {alone} | {both} | {outcome} |")
    lines += [
        "",
        f"The drug reached the same concentrations every time (peak {first.plasma_cmax_ng_ml:.0f} ng/mL in plasma, "
        f"{first.brain_unbound_cmax_ng_ml:.1f} ng/mL unbound in the brain). What changed was the brain it arrived in.",
        "",
        "## Why",
        "",
        "- **The targets disappear.** During a seizure, GABA-A receptors -- the receptors benzodiazepines act on -- "
        "are pulled from the synapse into the cell. When the dose arrived the synapse kept "
        f"{_pct(first.surface_gabaa_at_dose)} of its α2/3/5 receptors at {d0:g} min but only "
        f"{_pct(last.surface_gabaa_at_dose)} at {d1:g} min.",
        "- **The same dose buys less.** With fewer receptors the drug needs a higher concentration for the "
        f"same effect: the apparent EC50 was {first.ec50_fold_at_dose:.1f}-fold its value at seizure onset at "
        f"{d0:g} min and {last.ec50_fold_at_dose:.0f}-fold at {d1:g} min, and the largest possible effect fell to "
        f"{_pct(last.emax_fraction_at_dose)} of its starting value. The peak anticonvulsant effect fell from "
        f"{first.peak_effect:.3f} to {last.peak_effect:.4f} of the maximum.",
        "- **Inhibition itself weakens.** Chloride builds up inside the neurons, so the GABA-A current that should "
        f"hold them below threshold weakens: its reversal potential moved from {first.e_gaba_at_dose_mv:.0f} mV at "
        f"{d0:g} min to {last.e_gaba_at_dose_mv:.0f} mV at {d1:g} min (close to the firing threshold, about -50 mV).",
        "- **Excitation grows.** NMDA receptors move to the synapse as the seizure goes on. Ketamine blocks them; "
        "given with the benzodiazepine it rescues part of the late treatments, where the benzodiazepine alone fails.",
        "",
        "## Figures",
        "",
        "![typical patient](timecourse.png)",
        "",
        "![virtual cohort](cohort.png)",
        "",
        "## How this was computed",
        "",
        "Models and parameter sources: `pkpd.se.scenarios` (seizure balance, receptor trafficking, chloride, "
        "benzodiazepine PK with a blood-brain barrier, operational model of its effect). Values marked [C] "
        "there are calibrated to clinical termination rates, not measured: read the fractions as a teaching "
        "illustration of the race between drug and seizure, not as a prediction for a patient.",
        f"Run time {seconds:.0f} s. Column meanings of `summary.csv`:",
        "",
    ]
    lines += [f"- `{k}`: {v}" for k, v in SUMMARY_COLUMNS.items()]
    return "\n".join(lines) + "\n"


def _check_demo(n, delays, drug, dose) -> tuple:
    """The demo's options checked before any work: ``delays`` as a tuple of floats."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"cohort size n must be a positive integer, got {n!r}")
    if drug not in BENZODIAZEPINES:
        raise ValueError(f"drug must be one of {', '.join(BENZODIAZEPINES)}, got {drug!r}")
    if dose is not None and not (isinstance(dose, (int, float)) and math.isfinite(dose) and 0 < dose <= 1000):
        raise ValueError(f"dose must be a number of mg in (0, 1000], got {dose!r}")
    delays = tuple(float(d) for d in delays)
    if not delays or not all(math.isfinite(d) and 0 <= d < 240 for d in delays):
        raise ValueError(f"delays must be one or more minutes in [0, 240), got {list(delays)}")
    if len(set(delays)) != len(delays):
        raise ValueError(f"delays must differ, got {list(delays)}")
    return delays


def run_demo(out_dir="pkpd-demo", *, n: int = 500, seed: int = 2024, delays: Sequence[float] = DELAYS_MIN,
             drug: str = "midazolam", dose: float | None = None, progress: Callable[[str], None] | None = None,
             force: bool = False) -> DemoResult:
    """Run the loading-dose timing story and write its figures, table and report to ``out_dir``.

    Parameters
    ----------
    out_dir : path
        Folder to write to (created if missing). Existing files are refused unless ``force``; symbolic
        links never followed (:class:`pkpd._output.OutputFolder`).
    n, seed : int
        Virtual cohort size and random seed (the same patients at every delay).
    delays : sequence of float
        Treatment delays after seizure onset (min), at least one, each in [0, 240).
    drug : str
        The benzodiazepine (one of :data:`BENZODIAZEPINES`), by its default route.
    dose : float, optional
        Its dose (mg); default :data:`pkpd.se.scenarios.DRUGS` (midazolam 10 mg IM, lorazepam 4 mg IV).
    progress : callable, optional
        Called with a short message before each step (the command line prints them).
    force : bool
        Replace the files of an earlier run.

    Returns
    -------
    DemoResult
    """
    delays = _check_demo(n, delays, drug, dose)
    say = progress or (lambda message: None)
    start = time.perf_counter()
    folder = OutputFolder(out_dir, {"timecourse": "timecourse.png", "cohort": "cohort.png", "summary": "summary.csv",
                                    "report": "report.md"}, force=force)

    say(f"typical patient at {', '.join(f'{d:g}' for d in delays)} min")
    courses = {d: typical_patient(d, drug=drug, dose=dose) for d in delays}
    rows = [summarise_patient(courses[d], d, drug=drug, dose=dose) for d in delays]
    say(f"virtual cohort of {n}: untreated")
    untreated = scenarios.cohort_termination(delays[:1], n=n, seed=seed, drugs=(drug,), doses=[0.0])
    say(f"virtual cohort of {n}: {drug} alone")
    alone = scenarios.cohort_termination(delays, n=n, seed=seed, drugs=(drug,), doses=[dose])
    say(f"virtual cohort of {n}: {drug} + ketamine")
    both = scenarios.cohort_termination(delays, n=n, seed=seed, drugs=(drug, "ketamine"), doses=[dose, None])
    for row in rows:
        row.update(drug=drug, cohort_n=n)
        for column, fractions in (("cohort_terminated", alone), ("cohort_terminated_with_ketamine", both),
                                  ("cohort_terminated_untreated", untreated)):
            p = float(fractions.get(row["delay_min"], fractions.iloc[0]))   # untreated: one value for every delay
            row[column] = p
            row[f"{column}_low"], row[f"{column}_high"] = wilson(round(p * n), n)
    summary = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))

    say("figures, summary.csv and report.md")
    import matplotlib.pyplot as plt

    for key, fig in (("timecourse", plot_timecourses(courses, drug)), ("cohort", plot_cohort(summary))):
        folder.save_figure(key, fig, dpi=120)
        plt.close(fig)
    folder.write_csv("summary", summary, index=False)
    seconds = time.perf_counter() - start
    folder.write_text("report", write_report(summary, n=n, seed=seed, seconds=seconds))
    return DemoResult(folder.path, folder.files, summary, seconds)
