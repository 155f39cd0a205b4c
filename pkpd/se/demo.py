"""The status-epilepticus loading-dose timing demo behind ``pkpd demo``.

The same benzodiazepine dose -- by default midazolam 10 mg IM (RAMPART) -- given 5, 15, 30 or 60 minutes
after the start of a seizure. The typical patient shows *why* the timing matters (plasma and unbound brain
concentration, surface GABA-A receptors, E_GABA, the net GABA-A factor, the benzodiazepine effect and seizure
activity over time); a virtual cohort shows *how much* it matters (fraction of seizures terminated by delay,
untreated, with the benzodiazepine alone and with ketamine added, with respiratory depression and paradoxical
worsening, each with a 95 % Wilson interval); a late-dose escalation shows that a bigger dose cannot make up
for the delay (1x, 2x and 3x the dose at 5 and at 60 min); the brain panel shows the unbound brain
concentration behind the blood-brain barrier and the P-gp up-regulation that follows a long seizure. The
models and their sources are those of :mod:`pkpd.se.scenarios`. ``pkpd demo --drug lorazepam --dose 4
--delays 10 40`` changes the drug, dose and delays.

:func:`run_demo` writes to a folder:

- ``timecourse.png`` -- the typical patient at each delay;
- ``cohort.png`` -- seizure termination by treatment delay in the virtual cohort;
- ``escalation.png`` -- terminated, respiratory depression and paradoxical worsening at 1x, 2x and 3x the dose,
  given at 5 and at 60 min;
- ``brain.png`` -- plasma versus unbound brain concentration, P-gp expression and inflammation (typical patient);
- ``summary.csv`` -- one row per delay (columns in :data:`SUMMARY_COLUMNS`);
- ``escalation.csv`` -- one row per delay and dose of the escalation (columns in :data:`ESCALATION_COLUMNS`);
- ``report.md`` -- what happened and why, in plain words, with the numbers.

Examples
--------
>>> from pkpd import demo
>>> course = demo.typical_patient(5.0, t_end_min=60, step_min=5)
>>> row = demo.summarise_patient(course, 5.0)
>>> row["max_effect_at_dose"] == row["surface_gabaa_at_dose"] <= 1.0     # the ceiling: surface alpha2/3/5
True
>>> row["f_gaba_at_dose"] > 0                                            # at 5 min GABA-A still inhibits
True

Implementation, one job a module: :mod:`._demo_study` (delays, table columns, the typical patient and its summary
row, the dose escalation), :mod:`._demo_figures` (the four figures), :mod:`._demo_report` (``report.md``); this
module runs the story and writes the folder.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import scenarios
from .._internal.output import OutputFolder
from ._demo_figures import plot_brain, plot_cohort, plot_escalation, plot_timecourses
from ._demo_report import write_report
from ._demo_study import (BENZODIAZEPINES, BRAIN_WINDOW_H, DELAYS_MIN, ESCALATION_COLUMNS, ESCALATION_DELAYS_MIN,
                          ESCALATION_MULTIPLES, SUMMARY_COLUMNS, _BRAIN_STEP_MIN, _wilson, dose_escalation,
                          dose_mg, escalation_table, summarise_barrier, summarise_patient, time_to_termination,
                          typical_patient)

__all__ = ["DELAYS_MIN", "ESCALATION_DELAYS_MIN", "ESCALATION_MULTIPLES", "BRAIN_WINDOW_H", "BENZODIAZEPINES",
           "SUMMARY_COLUMNS", "ESCALATION_COLUMNS", "DemoResult", "run_demo", "typical_patient", "summarise_patient",
           "summarise_barrier", "time_to_termination", "dose_escalation", "plot_timecourses", "plot_cohort",
           "plot_escalation", "plot_brain", "write_report"]


@dataclass(frozen=True)
class DemoResult:
    """What :func:`run_demo` wrote: the folder, the files by role, the summary table, the run time (s) and the
    escalation table."""

    out_dir: Path
    files: dict
    summary: pd.DataFrame
    seconds: float
    escalation: pd.DataFrame


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
    """Run the loading-dose timing story and write its figures, tables and report to ``out_dir``.

    Parameters
    ----------
    out_dir : path
        Folder to write to (created if missing). Existing files are refused unless ``force``; symbolic
        links never followed (:class:`pkpd._internal.output.OutputFolder`).
    n, seed : int
        Virtual cohort size and random seed (the same patients at every delay and dose).
    delays : sequence of float
        Treatment delays after seizure onset (min), at least one, each in [0, 240). The dose escalation is
        always at :data:`ESCALATION_DELAYS_MIN`.
    drug : str
        The benzodiazepine (one of :data:`BENZODIAZEPINES`), by its default route.
    dose : float, optional
        Its dose (mg); default :data:`pkpd.se.scenarios.DRUGS` (midazolam 10 mg IM, lorazepam 4 mg IV). The
        escalation gives :data:`ESCALATION_MULTIPLES` times it.
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
    folder = OutputFolder(out_dir, {"timecourse": "timecourse.png", "cohort": "cohort.png",
                                    "escalation": "escalation.png", "brain": "brain.png", "summary": "summary.csv",
                                    "escalation_table": "escalation.csv", "report": "report.md"}, force=force)

    say(f"typical patient at {', '.join(f'{d:g}' for d in delays)} min")
    courses = {d: typical_patient(d, drug=drug, dose=dose) for d in delays}
    barrier = {d: typical_patient(d, drug=drug, dose=dose, t_end_min=60 * BRAIN_WINDOW_H, step_min=_BRAIN_STEP_MIN)
               for d in delays}
    rows = [{**summarise_patient(courses[d], d, drug=drug, dose=dose), **summarise_barrier(barrier[d], drug=drug)}
            for d in delays]
    # The virtual cohorts run on two worker threads (the compiled kernels release the GIL) while this thread
    # draws the typical patient's figures: matplotlib is not thread-safe, so every figure is drawn on this thread.
    base = dose_mg(drug, dose)
    cohorts = _virtual_cohorts(delays, n, seed, drug, base)
    say(f"virtual cohorts of {n}: {', '.join(cohorts)}")
    workers = ThreadPoolExecutor(2, thread_name_prefix="pkpd-demo")
    try:
        running = {key: workers.submit(job) for key, job in cohorts.items()}
        say("figures of the typical patient")
        _save_figures(folder, {"timecourse": lambda: plot_timecourses(courses, drug),
                               "brain": lambda: plot_brain(courses, barrier, drug)})
        done = {key: job.result() for key, job in running.items()}
    finally:                                    # after an error or Ctrl-C the cohorts not yet started are dropped
        workers.shutdown(cancel_futures=True)
    untreated, alone, both = done["untreated"], done[f"{drug} alone"], done[f"{drug} + ketamine"]
    late = list(ESCALATION_DELAYS_MIN)
    escalation = escalation_table({m: done[key] if (key := f"{drug} {m:g}x") in done else alone.loc[late]
                                   for m in ESCALATION_MULTIPLES}, base, n)
    for row in rows:
        d = row["delay_min"]
        row.update(drug=drug, cohort_n=n)
        for column, p in (("cohort_terminated", alone.loc[d, "terminated"]),
                          ("cohort_terminated_with_ketamine", both[d]),
                          ("cohort_terminated_untreated", untreated.iloc[0]),    # one value for every delay
                          ("cohort_respiratory_depression", alone.loc[d, "respiratory_depression"]),
                          ("cohort_paradoxical", alone.loc[d, "paradoxical"])):
            row[column] = float(p)
            row[f"{column}_low"], row[f"{column}_high"] = _wilson(float(p), n)
    summary = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    say("figures of the cohort, summary.csv, escalation.csv and report.md")
    _save_figures(folder, {"cohort": lambda: plot_cohort(summary),
                           "escalation": lambda: plot_escalation(escalation, drug)})
    folder.write_csv("summary", summary, index=False)
    folder.write_csv("escalation_table", escalation, index=False)
    seconds = time.perf_counter() - start
    folder.write_text("report", write_report(summary, escalation, n=n, seed=seed, seconds=seconds))
    return DemoResult(folder.path, folder.files, summary, seconds, escalation)


def _virtual_cohorts(delays, n, seed, drug, dose) -> dict:
    """The virtual cohorts of the demo, by name, as functions to run: ``drug`` at ``dose`` (mg) alone, with
    ketamine added, untreated, and at the multiples of the dose of the escalation (``"<drug> <m>x"``) but 1x
    where ``delays`` hold the escalation's (``drug`` alone gives it: the same patients and dose)."""
    late = tuple(ESCALATION_DELAYS_MIN)
    cohorts = {
        f"{drug} alone": lambda: scenarios.cohort_outcomes(delays, n, seed, (drug,), doses=[dose]),
        f"{drug} + ketamine": lambda: scenarios.cohort_termination(delays, n=n, seed=seed, drugs=(drug, "ketamine"),
                                                                   doses=[dose, None]),
        "untreated": lambda: scenarios.cohort_termination(delays[:1], n=n, seed=seed, drugs=(drug,), doses=[0.0]),
    }
    for m in ESCALATION_MULTIPLES:
        if m != 1 or not set(late) <= set(delays):
            cohorts[f"{drug} {m:g}x"] = lambda m=m: scenarios.cohort_outcomes(late, n, seed, (drug,), doses=[m * dose])
    return cohorts


def _save_figures(folder: OutputFolder, drawers: dict) -> None:
    """Draw each figure (``key -> function``), save it at 120 dpi and close it."""
    import matplotlib.pyplot as plt

    for key, draw in drawers.items():
        fig = draw()
        folder.save_figure(key, fig, dpi=120)
        plt.close(fig)
