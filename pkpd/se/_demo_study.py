"""The numbers of ``pkpd demo`` (:mod:`pkpd.se.demo`): its delays and table columns, the typical patient and its
summary row, and the late dose escalation in the virtual cohort (the models of :mod:`pkpd.se.scenarios`)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..trials import endpoints
from . import scenarios
from ..trials import wilson
from ..physiology import TERMINATION_THRESHOLD, Chloride, GabaAReceptors, Seizure

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


def dose_mg(drug: str, dose: float | None = None) -> float:
    """``dose`` (mg), or ``drug``'s default of :data:`pkpd.se.scenarios.DRUGS` where it is None.

    >>> dose_mg("midazolam"), dose_mg("midazolam", 5)
    (10.0, 5.0)
    """
    return float(scenarios.DRUGS[drug]["dose"] if dose is None else dose)


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
        "dose_mg": dose_mg(drug, dose),
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
    base = dose_mg(drug, dose)
    return escalation_table({m: scenarios.cohort_outcomes(tuple(delays), n, seed, (drug,), doses=[m * base])
                             for m in multiples}, base, n)


def escalation_table(outcomes: dict, base: float, n: int) -> pd.DataFrame:
    """The :func:`dose_escalation` table of ``outcomes`` (multiple of the dose ``base`` -> its
    :func:`pkpd.se.scenarios.cohort_outcomes` table, one row per delay) in a cohort of ``n``."""
    rows = []
    for multiple, table in outcomes.items():
        for delay, r in table.iterrows():
            row = {"delay_min": float(delay), "dose_mg": multiple * base, "n": n}
            for outcome in _OUTCOMES:
                row[outcome] = float(r[outcome])
                row[f"{outcome}_low"], row[f"{outcome}_high"] = _wilson(row[outcome], n)
            rows.append(row)
    table = pd.DataFrame(rows, columns=list(ESCALATION_COLUMNS))
    return table.sort_values(["delay_min", "dose_mg"], ignore_index=True)
