"""The figures of ``pkpd demo`` (:mod:`pkpd.se.demo`): the typical patient's time courses, the virtual cohort's
termination by delay, the late dose escalation and the brain panel (matplotlib, imported when drawing).

Their margins are fixed (``subplots_adjust``) rather than computed by the constrained layout engine, which took
about a third of the demo's warm run time measuring every text extent."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import scenarios
from ..physiology import TERMINATION_THRESHOLD, Chloride, GabaAReceptors, Seizure
from ._demo_study import BRAIN_WINDOW_H, _OUTCOMES

_COLOURS = {5.0: "#1b9e77", 15.0: "#7570b3", 30.0: "#d95f02", 60.0: "#e7298a"}


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
    fig, axes = plt.subplots(6, 1, figsize=(8, 14), sharex=True)
    fig.subplots_adjust(left=0.15, right=0.97, top=0.96, bottom=0.04, hspace=0.1)
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

    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    fig.subplots_adjust(left=0.1, right=0.98, top=0.92, bottom=0.12)
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
    fig, axes = plt.subplots(1, len(groups), figsize=(5 * len(groups), 4.5), sharey=True, squeeze=False)
    fig.subplots_adjust(left=0.6 / (5 * len(groups)), right=0.99, top=0.84, bottom=0.15, wspace=0.06)
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
    fig, axes = plt.subplots(3, 1, figsize=(8, 10))
    fig.subplots_adjust(left=0.15, right=0.97, top=0.92, bottom=0.06, hspace=0.5)
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
