"""``report.md`` of ``pkpd demo`` (:mod:`pkpd.se.demo`): what happened at each delay and why, in plain words,
from the summary and escalation tables."""

from __future__ import annotations

import pandas as pd

from . import defaults as SE
from . import scenarios
from ..physiology import TERMINATION_THRESHOLD
from ._demo_study import BRAIN_WINDOW_H, ESCALATION_COLUMNS, SUMMARY_COLUMNS, _BRAIN_STEP_MIN


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
