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
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..trials import endpoints
from . import defaults as SE
from . import scenarios
from ..trials import wilson
from .._internal.output import OutputFolder
from ..physiology import TERMINATION_THRESHOLD, Chloride, GabaAReceptors, Seizure

__all__ = ["DELAYS_MIN", "ESCALATION_DELAYS_MIN", "ESCALATION_MULTIPLES", "BRAIN_WINDOW_H", "BENZODIAZEPINES",
           "SUMMARY_COLUMNS", "ESCALATION_COLUMNS", "DemoResult", "run_demo", "typical_patient", "summarise_patient",
           "summarise_barrier", "time_to_termination", "dose_escalation", "plot_timecourses", "plot_cohort",
           "plot_escalation", "plot_brain", "write_report"]

#: Treatment delays after seizure onset (min): T1 = 5 min and T2 = 30 min of the ILAE definition, and
#: the 15 and 60 min between and beyond.
DELAYS_MIN = (5.0, 15.0, 30.0, 60.0)

#: Delays of the dose escalation (min): early (5) for contrast, late (60).
ESCALATION_DELAYS_MIN = (5.0, 60.0)

#: Multiples of the dose in the escalation.
ESCALATION_MULTIPLES = (1, 2, 3)

#: Window (h) and grid step (min) of the typical patient's P-gp and inflammation course: P-gp turns over with a
#: half-life of a day, so its rise after a long seizure peaks about 35 h after onset.
BRAIN_WINDOW_H = 48.0
_BRAIN_STEP_MIN = 15.0

#: The drugs ``pkpd demo --drug`` accepts: the benzodiazepines of :data:`pkpd.se.scenarios.DRUGS`.
BENZODIAZEPINES = tuple(name for name, info in scenarios.DRUGS.items() if info["role"] == "bzd")

#: The cohort outcomes of :func:`pkpd.se.scenarios.cohort_outcomes` and their names in figures and text.
_OUTCOMES = {"terminated": "terminated", "respiratory_depression": "respiratory depression",
             "paradoxical": "paradoxical worsening"}

#: Columns of ``summary.csv`` (one row per delay) and what they hold.
SUMMARY_COLUMNS = {
    "delay_min": "the benzodiazepine given this many minutes after seizure onset",
    "dose_mg": "benzodiazepine dose (mg, by its default route)",
    "plasma_cmax_ng_ml": "typical patient: peak total plasma concentration of the benzodiazepine",
    "brain_unbound_cmax_ng_ml": "typical patient: peak unbound benzodiazepine in brain ECF",
    "surface_gabaa_at_dose": "typical patient: surface synaptic GABA-A (alpha2/3/5) at the dose, fraction of baseline",
    "e_gaba_at_dose_mv": "typical patient: GABA-A reversal potential at the dose (mV)",
    "max_effect_at_dose": "typical patient: largest benzodiazepine effect possible at the dose = surface alpha2/3/5 "
                          "fraction",
    "f_gaba_at_dose": "typical patient: net GABA-A factor at the dose (1 healthy); below 0 GABA-A excites",
    "peak_effect": "typical patient: peak benzodiazepine effect (surface alpha2/3/5 fraction x occupancy)",
    "typical_terminated": "typical patient: seizure stopped and stayed stopped within the window",
    "time_to_termination_min": "typical patient: minutes from onset until activity stays below 0.1",
    "pgp_expression_peak": "typical patient: highest P-gp expression at the blood-brain barrier within 48 h, "
                           "fold of baseline",
    "pgp_expression_peak_h": "hours after onset at which P-gp expression is highest (48: still rising)",
    "kpuu_at_pgp_peak": "typical patient: the benzodiazepine's unbound brain / unbound plasma ratio (Kp,uu) at that "
                        "time",
    "cohort_terminated": "virtual cohort: fraction terminated, the benzodiazepine alone",
    "cohort_terminated_low": "lower end of its 95 % Wilson interval",
    "cohort_terminated_high": "upper end of its 95 % Wilson interval",
    "cohort_terminated_with_ketamine": "virtual cohort: fraction terminated, benzodiazepine + ketamine 1.5 mg/kg IV",
    "cohort_terminated_with_ketamine_low": "lower end of its 95 % Wilson interval",
    "cohort_terminated_with_ketamine_high": "upper end of its 95 % Wilson interval",
    "cohort_terminated_untreated": "virtual cohort: fraction whose seizure stops with no treatment (same patients)",
    "cohort_terminated_untreated_low": "lower end of its 95 % Wilson interval",
    "cohort_terminated_untreated_high": "upper end of its 95 % Wilson interval",
    "cohort_respiratory_depression": "virtual cohort: fraction with respiratory depression (combined deep "
                                     "sedation >= 0.5 at some time), the benzodiazepine alone",
    "cohort_respiratory_depression_low": "lower end of its 95 % Wilson interval",
    "cohort_respiratory_depression_high": "upper end of its 95 % Wilson interval",
    "cohort_paradoxical": "virtual cohort: fraction with paradoxical worsening (net GABA-A factor below 0 when the "
                          "benzodiazepine effect peaks), the benzodiazepine alone",
    "cohort_paradoxical_low": "lower end of its 95 % Wilson interval",
    "cohort_paradoxical_high": "upper end of its 95 % Wilson interval",
    "cohort_n": "virtual cohort size",
    "drug": "the benzodiazepine",
}

#: Columns of ``escalation.csv`` (one row per delay and dose) and what they hold.
ESCALATION_COLUMNS = {
    "delay_min": "the benzodiazepine given this many minutes after seizure onset",
    "dose_mg": "its dose (mg): a multiple of the demo's dose (ESCALATION_MULTIPLES)",
    "terminated": "virtual cohort: fraction whose seizure stopped and stayed stopped",
    "terminated_low": "lower end of its 95 % Wilson interval",
    "terminated_high": "upper end of its 95 % Wilson interval",
    "respiratory_depression": "virtual cohort: fraction with combined deep sedation >= 0.5 at some time",
    "respiratory_depression_low": "lower end of its 95 % Wilson interval",
    "respiratory_depression_high": "upper end of its 95 % Wilson interval",
    "paradoxical": "virtual cohort: fraction whose net GABA-A factor is below 0 when the benzodiazepine effect peaks",
    "paradoxical_low": "lower end of its 95 % Wilson interval",
    "paradoxical_high": "upper end of its 95 % Wilson interval",
    "n": "virtual cohort size (the same patients at every delay and dose)",
}

_COLOURS = {5.0: "#1b9e77", 15.0: "#7570b3", 30.0: "#d95f02", 60.0: "#e7298a"}


@dataclass(frozen=True)
class DemoResult:
    """What :func:`run_demo` wrote: the folder, the files by role, the summary table, the run time (s) and the
    escalation table."""

    out_dir: Path
    files: dict
    summary: pd.DataFrame
    seconds: float
    escalation: pd.DataFrame


def typical_patient(delay_min: float, *, drug: str = "midazolam", dose: float | None = None, t_end_min: float = 240.0,
                    step_min: float = 1.0) -> pd.DataFrame:
    """Time course of the typical (median) patient given ``drug`` (default dose and route of
    :data:`pkpd.se.scenarios.DRUGS` unless ``dose``, mg) ``delay_min`` after onset, with the unbound brain
    concentration behind the blood-brain barrier (:func:`pkpd.se.scenarios.simulate_patient`)."""
    return scenarios.simulate_patient(delay_min, (drug,), None if dose is None else [dose], t_end_min=t_end_min,
                                      step_min=step_min)


def time_to_termination(time_min, activity, threshold: float = TERMINATION_THRESHOLD) -> float:
    """Minutes from onset until ``activity`` falls below ``threshold`` for good (the crossing interpolated
    linearly, as :func:`pkpd.trials.endpoints.time_to_termination`); NaN if it never does.

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
    """The typical-patient columns of :data:`SUMMARY_COLUMNS` from a :func:`typical_patient` time course
    (those up to ``time_to_termination_min``)."""
    prefix = scenarios.DRUGS[drug]["prefix"]
    t = course["time_min"].to_numpy()
    at_dose = int(np.searchsorted(t, delay_min))            # the grid holds the dose time (1-min steps)
    surface = float(course[GabaAReceptors.SURFACE_A235].iloc[at_dose])
    ttt = time_to_termination(t, course[Seizure.ACTIVITY])
    return {
        "delay_min": float(delay_min),
        "dose_mg": float(scenarios.DRUGS[drug]["dose"] if dose is None else dose),
        "plasma_cmax_ng_ml": 1000.0 * float(course[f"{prefix}.CP"].max()),
        "brain_unbound_cmax_ng_ml": 1000.0 * float(course[f"{prefix}_BRAIN.CU"].max()),
        "surface_gabaa_at_dose": surface,
        "e_gaba_at_dose_mv": float(course[Chloride.E_GABA].iloc[at_dose]),
        "max_effect_at_dose": surface,                      # the modulator's effect is surface x occupancy <= surface
        "f_gaba_at_dose": float(course[Seizure.F_GABA].iloc[at_dose]),
        "peak_effect": float(course["BZD.EFFECT"].max()),
        "typical_terminated": not math.isnan(ttt),
        "time_to_termination_min": ttt,
    }


def summarise_barrier(course: pd.DataFrame, *, drug: str = "midazolam") -> dict:
    """``pgp_expression_peak``, ``pgp_expression_peak_h`` and ``kpuu_at_pgp_peak`` of :data:`SUMMARY_COLUMNS` from
    a long typical-patient course of ``drug`` (:func:`typical_patient` over :data:`BRAIN_WINDOW_H` hours).

    >>> course = pd.DataFrame({"time_min": [0.0, 60.0, 120.0], "BBB.EXPRESSION": [1.0, 1.5, 1.2],
    ...                        "MDZ_BRAIN.KPUU": [0.95, 0.9, 0.92]})
    >>> summarise_barrier(course)
    {'pgp_expression_peak': 1.5, 'pgp_expression_peak_h': 1.0, 'kpuu_at_pgp_peak': 0.9}
    """
    peak = int(np.argmax(course["BBB.EXPRESSION"].to_numpy()))
    return {"pgp_expression_peak": float(course["BBB.EXPRESSION"].iloc[peak]),
            "pgp_expression_peak_h": float(course["time_min"].iloc[peak]) / 60.0,
            "kpuu_at_pgp_peak": float(course[f"{scenarios.DRUGS[drug]['prefix']}_BRAIN.KPUU"].iloc[peak])}


def _wilson(p: float, n: int) -> tuple:
    """95 % Wilson interval of a fraction ``p`` of ``n``, widened by rounding error so that it holds ``p``."""
    low, high = wilson(round(p * n), n)
    return min(low, p), max(high, p)


def dose_escalation(drug: str = "midazolam", dose: float | None = None, *, n: int = 500, seed: int = 2024,
                    delays: Sequence[float] = ESCALATION_DELAYS_MIN,
                    multiples: Sequence[float] = ESCALATION_MULTIPLES) -> pd.DataFrame:
    """Terminated, respiratory depression and paradoxical worsening in the virtual cohort at multiples of the
    dose, given at each delay (:func:`pkpd.se.scenarios.cohort_outcomes`, the same patients throughout).

    Parameters
    ----------
    drug : str
        The benzodiazepine (one of :data:`BENZODIAZEPINES`), by its default route.
    dose : float, optional
        The 1x dose (mg); default :data:`pkpd.se.scenarios.DRUGS`.
    n, seed : int
        Virtual cohort size and random seed.
    delays : sequence of float
        Minutes after seizure onset (default :data:`ESCALATION_DELAYS_MIN`).
    multiples : sequence of float
        Multiples of ``dose`` (default :data:`ESCALATION_MULTIPLES`).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`ESCALATION_COLUMNS`, one row per delay and dose, sorted by delay then dose.
    """
    base = float(scenarios.DRUGS[drug]["dose"] if dose is None else dose)
    rows = []
    for multiple in multiples:
        outcomes = scenarios.cohort_outcomes(tuple(delays), n, seed, (drug,), doses=[multiple * base])
        for delay, r in outcomes.iterrows():
            row = {"delay_min": float(delay), "dose_mg": multiple * base, "n": n}
            for outcome in _OUTCOMES:
                row[outcome] = float(r[outcome])
                row[f"{outcome}_low"], row[f"{outcome}_high"] = _wilson(row[outcome], n)
            rows.append(row)
    table = pd.DataFrame(rows, columns=list(ESCALATION_COLUMNS))
    return table.sort_values(["delay_min", "dose_mg"], ignore_index=True)


def _e_gaba_excitatory(drug: str) -> float:
    """E_GABA (mV) above which the net GABA-A factor of :func:`pkpd.se.scenarios.se_model` is negative:
    ``E_THR + SHUNT (E_THR - E_GABA0)`` (:class:`~pkpd.physiology.Seizure`)."""
    model = scenarios.se_model((drug,))
    thr, shunt, e0 = (model.parameter(f"SEIZURE.{k}").default for k in ("E_THR", "SHUNT", "E_GABA0"))
    return thr + shunt * (thr - e0)


def plot_timecourses(courses: dict, drug: str = "midazolam"):
    """Six stacked panels per delay: concentrations, surface GABA-A, E_GABA, the net GABA-A factor, the
    benzodiazepine effect (with its ceiling, the surface fraction) and seizure activity."""
    import matplotlib.pyplot as plt

    prefix = scenarios.DRUGS[drug]["prefix"]
    fig, axes = plt.subplots(6, 1, figsize=(8, 14), sharex=True, constrained_layout=True)
    for i, (delay, c) in enumerate(courses.items()):
        colour, t = _COLOURS.get(delay, f"C{i % 10}"), c["time_min"]
        label = f"{drug} at {delay:g} min"
        axes[0].plot(t, 1000 * c[f"{prefix}.CP"], color=colour, label=label)
        axes[0].plot(t, 1000 * c[f"{prefix}_BRAIN.CU"], color=colour, linestyle="--")
        axes[1].plot(t, c[GabaAReceptors.SURFACE_A235], color=colour)
        axes[2].plot(t, c[Chloride.E_GABA], color=colour)
        axes[3].plot(t, c[Seizure.F_GABA], color=colour)
        axes[4].plot(t, c["BZD.EFFECT"], color=colour)
        after = t >= delay
        axes[4].plot(t[after], c[GabaAReceptors.SURFACE_A235][after], color=colour, linestyle=":", linewidth=0.9)
        axes[5].plot(t, c[Seizure.ACTIVITY], color=colour)
        for ax in axes:
            ax.axvline(delay, color=colour, linewidth=0.6, alpha=0.5)
    end = t.iloc[-1]
    axes[0].set_ylabel(f"{drug} (ng/mL)\nplasma total —\nbrain unbound --")
    axes[0].set_yscale("log")
    axes[0].set_ylim(0.5, 500)
    axes[0].legend(loc="upper right", fontsize=8)
    axes[1].set_ylabel("surface GABA-A\nα2/3/5 (fraction)")
    axes[2].set_ylabel("E_GABA (mV)")
    e_x = _e_gaba_excitatory(drug)
    axes[2].axhline(e_x, color="grey", linestyle=":", linewidth=0.8)
    axes[2].annotate("above: GABA-A excites", (end, e_x), ha="right", va="bottom", fontsize=8, color="grey")
    axes[3].set_ylabel("net GABA-A factor\n(1 healthy)")
    axes[3].axhline(0.0, color="grey", linestyle=":", linewidth=0.8)
    axes[3].annotate("below 0: paradoxical", (end, 0.0), ha="right", va="top", fontsize=8, color="grey")
    axes[4].set_ylabel("benzodiazepine effect\n— surface × occupancy\n··· ceiling (surface)")
    axes[4].set_ylim(0, 1.05)
    axes[5].set_ylabel("seizure activity")
    axes[5].axhline(TERMINATION_THRESHOLD, color="grey", linestyle=":", linewidth=0.8)
    axes[5].set_xlabel("minutes after seizure onset")
    fig.suptitle(f"Status epilepticus: the same {drug} dose given at {len(courses)} delays (typical patient)")
    return fig


def _bars(ax, x, values, low, high, **kwargs):
    """Percent bars of fractions ``values`` with error bars to ``low`` / ``high``, labelled with their value."""
    values, low, high = (100 * np.asarray(v, dtype=float) for v in (values, low, high))
    err = np.clip(np.vstack([values - low, high - values]), 0.0, None)
    bars = ax.bar(x, values, yerr=err, capsize=2, error_kw={"linewidth": 0.8}, **kwargs)
    ax.bar_label(bars, fmt="%.0f%%", fontsize=7, padding=2)


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
        _bars(ax, x + shift, summary[column], summary[f"{column}_low"], summary[f"{column}_high"], width=0.27,
              label=label, color=colour)
    ax.set_xticks(x, [f"{d:g} min" for d in summary["delay_min"]])
    ax.set_xlabel("treatment delay after seizure onset")
    ax.set_ylabel(f"seizures terminated (% of {n} virtual patients)")
    ax.set_ylim(0, 110)
    ax.legend(fontsize=8)
    ax.set_title("The later the benzodiazepine, the fewer seizures it stops (95 % CI)")
    return fig


def plot_escalation(escalation: pd.DataFrame, drug: str = "midazolam"):
    """One panel per delay of a :func:`dose_escalation` table: grouped bars of terminated, respiratory depression
    and paradoxical worsening, one bar per dose, with 95 % Wilson intervals."""
    import matplotlib.pyplot as plt

    groups = list(escalation.groupby("delay_min"))
    fig, axes = plt.subplots(1, len(groups), figsize=(5 * len(groups), 4.5), sharey=True, squeeze=False,
                             constrained_layout=True)
    x = np.arange(len(_OUTCOMES))
    for ax, (delay, part) in zip(axes[0], groups):
        width = 0.8 / len(part)
        colours = plt.cm.Purples(np.linspace(0.45, 0.9, len(part)))
        for i, (r, colour) in enumerate(zip(part.itertuples(index=False), colours)):
            values = [getattr(r, o) for o in _OUTCOMES]
            low, high = [getattr(r, f"{o}_low") for o in _OUTCOMES], [getattr(r, f"{o}_high") for o in _OUTCOMES]
            _bars(ax, x + (i - (len(part) - 1) / 2) * width, values, low, high, width=width, color=colour,
                  label=f"{r.dose_mg:g} mg")
        ax.set_xticks(x, [name.replace(" ", "\n", 1) for name in _OUTCOMES.values()])
        ax.set_title(f"{drug} given {delay:g} min after onset")
        ax.set_ylim(0, 110)
        ax.legend(fontsize=8, title="dose", title_fontsize=8)
    n = int(escalation["n"].iloc[0])
    axes[0][0].set_ylabel(f"% of {n} virtual patients")
    fig.suptitle("A bigger late dose buys respiratory depression, not seizure control (95 % CI)")
    return fig


def plot_brain(courses: dict, barrier: dict, drug: str = "midazolam"):
    """The brain panel of the typical patient per delay: total plasma versus unbound brain ECF concentration
    (``courses``, :func:`typical_patient`), and P-gp expression and inflammation at the blood-brain barrier over
    a long window (``barrier``, :func:`typical_patient` over :data:`BRAIN_WINDOW_H` hours)."""
    import matplotlib.pyplot as plt

    prefix = scenarios.DRUGS[drug]["prefix"]
    fig, axes = plt.subplots(3, 1, figsize=(8, 10), constrained_layout=True)
    for i, delay in enumerate(courses):
        colour, c, b = _COLOURS.get(delay, f"C{i % 10}"), courses[delay], barrier[delay]
        axes[0].plot(c["time_min"], 1000 * c[f"{prefix}.CP"], color=colour, label=f"{drug} at {delay:g} min")
        axes[0].plot(c["time_min"], 1000 * c[f"{prefix}_BRAIN.CU"], color=colour, linestyle="--")
        axes[1].plot(b["time_min"] / 60, b["BBB.EXPRESSION"], color=colour, label=f"dose at {delay:g} min")
        axes[2].plot(b["time_min"] / 60, b["BBB.INFLAMMATION"], color=colour)
    axes[0].set_yscale("log")
    axes[0].set_ylim(0.5, 500)
    axes[0].set_xlabel("minutes after seizure onset")
    axes[0].set_ylabel(f"{drug} (ng/mL)\nplasma total —\nbrain ECF unbound --")
    axes[0].legend(loc="upper right", fontsize=8)
    axes[0].set_title("Only the unbound drug crosses the blood-brain barrier")
    axes[1].axhline(1.0, color="grey", linestyle=":", linewidth=0.8)
    axes[1].set_ylabel("P-gp expression\n(fold of baseline)")
    axes[1].legend(fontsize=8)
    axes[1].set_title("The seizure raises P-gp at the barrier over the next day")
    axes[2].set_ylabel("inflammatory signal\n(0-1)")
    axes[2].set_ylim(0, 1.05)
    for ax in axes[1:]:
        ax.set_xlabel("hours after seizure onset")
        ax.set_xlim(0, BRAIN_WINDOW_H)
    fig.suptitle(f"The brain side: {drug} behind the blood-brain barrier (typical patient)")
    return fig


def _pct(x: float) -> str:
    return f"{100 * x:.0f} %"


def _ci(row, column: str) -> str:
    """``value (low-high)`` in percent of a fraction ``column`` with its ``_low`` / ``_high`` interval."""
    return f"{_pct(row[column])} ({_pct(row[f'{column}_low'])}-{_pct(row[f'{column}_high'])})"


def _change(a: float, b: float) -> str:
    """``rose from a to b`` / ``fell from a to b`` / ``stayed at a`` for two fractions, in percent."""
    if round(100 * a) == round(100 * b):
        return f"stayed at {_pct(a)}"
    return f"{'rose' if b > a else 'fell'} from {_pct(a)} to {_pct(b)}"


def _span(values, fmt: str) -> str:
    """``lo-hi`` (or one value when they agree to the format) of ``values`` formatted by ``fmt``."""
    lo, hi = format(min(values), fmt), format(max(values), fmt)
    return lo if lo == hi else f"{lo}-{hi}"


def write_report(summary: pd.DataFrame, escalation: pd.DataFrame, *, n: int, seed: int, seconds: float) -> str:
    """``report.md``: what happened at each delay and why, panel by panel, in plain words, from the summary and
    escalation tables."""
    s = summary.set_index("delay_min")
    first, last = s.iloc[0], s.iloc[-1]
    d0, d1 = s.index[0], s.index[-1]
    drug = first.drug
    prefix = scenarios.DRUGS[drug]["prefix"]
    esc = escalation.set_index(["delay_min", "dose_mg"])
    early, late = escalation["delay_min"].min(), escalation["delay_min"].max()
    low_dose, high_dose = escalation["dose_mg"].min(), escalation["dose_mg"].max()
    e1, e3 = esc.loc[(late, low_dose)], esc.loc[(late, high_dose)]
    x1, x3 = esc.loc[(early, low_dose)], esc.loc[(early, high_dose)]
    doses = sorted(set(escalation["dose_mg"]))
    brain_ratio = first.brain_unbound_cmax_ng_ml / first.plasma_cmax_ng_ml
    pgp_share = SE.BRAIN[prefix]["pgp_share"]
    peak_h = last.pgp_expression_peak_h
    pgp_when = (f"was still rising at the end of the {BRAIN_WINDOW_H:g} h window"
                if peak_h >= BRAIN_WINDOW_H - _BRAIN_STEP_MIN / 60 else f"peaked {peak_h:.0f} h after onset")
    respiratory = scenarios.RESPIRATORY_DEPRESSION_SEDATION

    def stopped(r):
        return f"stopped at {r.time_to_termination_min:.0f} min" if r.typical_terminated else "did not stop"

    lines = [
        "# Status epilepticus: why the timing of the first benzodiazepine matters",
        "",
        f"The same dose -- {drug} {first.dose_mg:g} mg -- was given {', '.join(f'{d:g}' for d in s.index)}"
        " minutes after a seizure started, to a typical patient and to a virtual cohort of "
        f"{n} patients who differ in how they handle the drug, in how severe their seizure is, in how far chloride "
        f"loads in their neurons and in how easily they are sedated (seed {seed}).",
        "",
        "## What happened",
        "",
        f"Without treatment {_pct(first.cohort_terminated_untreated)} of the same virtual patients' seizures stop "
        "within the 4-hour window. Fractions of the cohort with their 95 % Wilson intervals:",
        "",
        f"| delay (min) | seizures stopped, {drug} | with ketamine | respiratory depression | "
        "paradoxical worsening | typical patient |",
        "|---|---|---|---|---|---|",
    ]
    for d, r in s.iterrows():
        lines.append(f"| {d:g} | {_ci(r, 'cohort_terminated')} | {_ci(r, 'cohort_terminated_with_ketamine')} | "
                     f"{_ci(r, 'cohort_respiratory_depression')} | {_ci(r, 'cohort_paradoxical')} | {stopped(r)} |")
    lines += [
        "",
        f"The drug reached similar concentrations at every delay (peak "
        f"{_span(s.plasma_cmax_ng_ml, '.0f')} ng/mL total in plasma, {_span(s.brain_unbound_cmax_ng_ml, '.1f')} "
        "ng/mL unbound in the brain). What changed was the brain it arrived in.",
        "",
        "## The figures, panel by panel",
        "",
        "### The typical patient (`timecourse.png`)",
        "",
        "One colour per delay; the thin vertical line marks the dose.",
        "",
        f"1. **Concentrations** (log scale): total {drug} in plasma (solid) and unbound {drug} in the brain's "
        "extracellular fluid (dashed), the concentration that acts on the receptors. The unbound brain peak "
        f"({first.brain_unbound_cmax_ng_ml:.1f} ng/mL at {d0:g} min) is {_pct(brain_ratio)} of the total plasma "
        f"peak ({first.plasma_cmax_ng_ml:.0f} ng/mL): most of the drug in plasma is bound to proteins, and only "
        "the unbound drug crosses the blood-brain barrier.",
        "2. **Surface GABA-A α2/3/5**: the fraction of benzodiazepine-sensitive receptors still at the synapse. "
        f"The seizure pulls them into the cell: {_pct(first.surface_gabaa_at_dose)} were left when the dose "
        f"arrived at {d0:g} min, {_pct(last.surface_gabaa_at_dose)} at {d1:g} min.",
        "3. **E_GABA**: the reversal potential of the GABA-A chloride current. Chloride builds up inside the "
        f"neurons and moves it up, from {first.e_gaba_at_dose_mv:.0f} mV at {d0:g} min to "
        f"{last.e_gaba_at_dose_mv:.0f} mV at {d1:g} min; above the dotted line opening GABA-A channels excites.",
        "4. **Net GABA-A factor**: how much inhibition an open GABA-A channel gives compared with a healthy brain "
        f"(1). At the dose it was {first.f_gaba_at_dose:.2f} at {d0:g} min and {last.f_gaba_at_dose:.2f} at "
        f"{d1:g} min; below 0 the benzodiazepine adds to the seizure instead of opposing it.",
        "5. **Benzodiazepine effect**: the surface receptor fraction times the drug's occupancy of its binding "
        "site (solid) and its ceiling, the surface fraction (dotted): a benzodiazepine only amplifies receptors "
        f"that are there. The peak effect was {first.peak_effect:.2f} at {d0:g} min and {last.peak_effect:.2f} "
        f"at {d1:g} min (1 = all receptors present and fully occupied).",
        "6. **Seizure activity** (1 = full seizure): the seizure counts as stopped once it stays below "
        f"{TERMINATION_THRESHOLD:g} (dotted). The typical patient's seizure {stopped(first)} with the dose at "
        f"{d0:g} min and {stopped(last)} with the dose at {d1:g} min.",
        "",
        "![typical patient](timecourse.png)",
        "",
        "### The virtual cohort (`cohort.png`)",
        "",
        f"The share of the {n} virtual patients whose seizure stopped and stayed stopped within 4 hours, at each "
        f"delay: untreated (grey), {drug} {first.dose_mg:g} mg alone, and with ketamine 1.5 mg/kg IV; the "
        f"whiskers are 95 % intervals. With {drug} alone it {_change(first.cohort_terminated, last.cohort_terminated)}"
        f" between {d0:g} and {d1:g} min; with ketamine added it "
        f"{_change(first.cohort_terminated_with_ketamine, last.cohort_terminated_with_ketamine)}.",
        "",
        "![virtual cohort](cohort.png)",
        "",
        "### Late dose escalation (`escalation.png`, `escalation.csv`)",
        "",
        f"The same cohort given {drug} at {', '.join(f'{d:g}' for d in doses)} mg "
        f"({', '.join(f'{d / low_dose:g}x' for d in doses)} the dose), {early:g} min after onset (left) "
        f"and {late:g} min after onset (right). The bars are three outcomes: the seizure **terminated**; "
        f"**respiratory depression**, the combined deep sedation reaching {respiratory:g} at some time (the "
        "sedation of a drug is 0.5 at the unbound brain concentration at which half the patients are at Ramsay 5 "
        "or deeper, scaled by each patient's sensitivity); "
        "**paradoxical worsening**, the net GABA-A factor below 0 when the benzodiazepine's effect peaks, so the "
        f"drug adds to the seizure's drive. At {late:g} min, going from {low_dose:g} to {high_dose:g} mg: "
        f"termination {_change(e1.terminated, e3.terminated)}, respiratory depression "
        f"{_change(e1.respiratory_depression, e3.respiratory_depression)}, paradoxical worsening "
        f"{_change(e1.paradoxical, e3.paradoxical)}. At {early:g} min the same escalation: termination "
        f"{_change(x1.terminated, x3.terminated)}, respiratory depression "
        f"{_change(x1.respiratory_depression, x3.respiratory_depression)}.",
        "",
        "![dose escalation](escalation.png)",
        "",
        "### The brain (`brain.png`)",
        "",
        f"Top: total plasma (solid) and unbound brain (dashed) {drug}, as in the first panel of the typical "
        "patient. Middle: P-gp expression at the blood-brain barrier over "
        f"{BRAIN_WINDOW_H:g} hours. Bottom: the inflammatory signal the seizure switches on (0 none, 1 full), "
        "which drives P-gp transcription and opens a small passive leak. With the dose at "
        f"{d1:g} min P-gp expression reached {last.pgp_expression_peak:.1f}-fold of baseline and {pgp_when} "
        f"(dose at {d0:g} min: {first.pgp_expression_peak:.1f}-fold). P-gp pumps its substrates back out of the "
        f"brain, while the leak lets every drug through more easily both ways. For {drug}, of whose brain efflux "
        f"P-gp carries {_pct(pgp_share)} at baseline, the unbound brain-to-plasma ratio (Kp,uu) went from "
        f"{SE.kpuu(prefix):.2f} to {last.kpuu_at_pgp_peak:.2f} at the P-gp peak: the more a drug depends on P-gp, "
        "the less of a dose given hours after a long seizure reaches its target.",
        "",
        "![brain](brain.png)",
        "",
        "## Why",
        "",
        "- **The targets disappear, and a bigger dose cannot buy them back.** During a seizure GABA-A receptors "
        "-- the receptors benzodiazepines act on -- are pulled from the synapse into the cell. A benzodiazepine "
        "only amplifies the receptors on the surface, so the largest effect any dose can give is the surface "
        f"fraction: {last.max_effect_at_dose:.2f} when the dose arrived at {d1:g} min, against "
        f"{first.max_effect_at_dose:.2f} at {d0:g} min. Raising the dose only raises occupancy towards that cap: "
        f"at {late:g} min {high_dose:g} mg instead of {low_dose:g} mg terminated "
        f"{_pct(e3.terminated)} instead of {_pct(e1.terminated)} of seizures.",
        "- **Inhibition turns into excitation (paradoxical worsening).** Chloride builds up inside the neurons "
        f"(E_GABA {first.e_gaba_at_dose_mv:.0f} mV at {d0:g} min, {last.e_gaba_at_dose_mv:.0f} mV at {d1:g} min), "
        f"so the net GABA-A factor fell from {first.f_gaba_at_dose:.2f} to {last.f_gaba_at_dose:.2f}. Where it is "
        "below 0 the chloride current depolarises and every GABA-A channel the drug opens pushes the seizure on. "
        f"In the cohort GABA-A was already excitatory when the drug's effect peaked in "
        f"{_pct(first.cohort_paradoxical)} of the patients treated at {d0:g} min and {_pct(last.cohort_paradoxical)}"
        f" of those treated at {d1:g} min.",
        "- **The extra dose buys respiratory depression.** Sedation follows the unbound brain concentration "
        "whatever the seizure does; it does not depend on the receptors the seizure removed. At "
        f"{late:g} min {high_dose / low_dose:g} times the dose took respiratory depression from "
        f"{_pct(e1.respiratory_depression)} to "
        f"{_pct(e3.respiratory_depression)} of patients (at {early:g} min: {_pct(x1.respiratory_depression)} to "
        f"{_pct(x3.respiratory_depression)}).",
        "- **Excitation grows.** NMDA receptors move to the synapse as the seizure goes on. Ketamine blocks them "
        f"without needing GABA-A: at {d1:g} min {drug} with ketamine stopped "
        f"{_pct(last.cohort_terminated_with_ketamine)} of seizures, {drug} alone {_pct(last.cohort_terminated)}.",
        "",
        "## How this was computed",
        "",
        "Models and parameter sources: `pkpd.se.scenarios` (seizure balance, receptor trafficking, chloride and "
        "E_GABA, each drug's PK, its brain extracellular fluid behind a shared blood-brain barrier). Every drug "
        "effect -- the benzodiazepine's effect (surface α2/3/5 x occupancy), its sedation, ketamine's NMDA block "
        "-- is driven by the drug's unbound concentration in brain extracellular fluid, which P-gp at the barrier "
        "pumps back into blood; P-gp expression and a passive leak follow the seizure's inflammatory signal. "
        "Values marked [C] in `pkpd/se/defaults.py` are calibrated to clinical termination rates, not measured: "
        "read the fractions as a teaching illustration of the race between drug and seizure, not as a "
        "prediction for a patient.",
        f"Run time {seconds:.0f} s. Column meanings of `summary.csv`:",
        "",
    ]
    lines += [f"- `{k}`: {v}" for k, v in SUMMARY_COLUMNS.items()]
    lines += ["", "Column meanings of `escalation.csv`:", ""]
    lines += [f"- `{k}`: {v}" for k, v in ESCALATION_COLUMNS.items()]
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
    say(f"virtual cohort of {n}: untreated")
    untreated = scenarios.cohort_termination(delays[:1], n=n, seed=seed, drugs=(drug,), doses=[0.0])
    say(f"virtual cohort of {n}: {drug} alone")
    alone = scenarios.cohort_outcomes(delays, n, seed, (drug,), doses=[dose])
    say(f"virtual cohort of {n}: {drug} + ketamine")
    both = scenarios.cohort_termination(delays, n=n, seed=seed, drugs=(drug, "ketamine"), doses=[dose, None])
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
    multiples = " ".join(f"{m:g}x" for m in ESCALATION_MULTIPLES)
    say(f"virtual cohort of {n}: {drug} at {multiples} the dose, "
        f"{' and '.join(f'{d:g}' for d in ESCALATION_DELAYS_MIN)} min")
    escalation = dose_escalation(drug, dose, n=n, seed=seed)

    say("figures, summary.csv, escalation.csv and report.md")
    import matplotlib.pyplot as plt

    for key, fig in (("timecourse", plot_timecourses(courses, drug)), ("cohort", plot_cohort(summary)),
                     ("escalation", plot_escalation(escalation, drug)), ("brain", plot_brain(courses, barrier, drug))):
        folder.save_figure(key, fig, dpi=120)
        plt.close(fig)
    folder.write_csv("summary", summary, index=False)
    folder.write_csv("escalation_table", escalation, index=False)
    seconds = time.perf_counter() - start
    folder.write_text("report", write_report(summary, escalation, n=n, seed=seed, seconds=seconds))
    return DemoResult(folder.path, folder.files, summary, seconds, escalation)
