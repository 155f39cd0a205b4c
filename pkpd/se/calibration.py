"""Calibration of the status-epilepticus (SE) model to clinical trials (issues 7 and 14).

The SE model of :mod:`pkpd.se.scenarios` is calibrated so that a virtual adult cohort reproduces the response
rates of RAMPART and ESETT, and then *predicts* the VA Cooperative trial (sources in docs/references.md):

================  =====================================================  ========================
trial             arm (dose)                                             observed response
================  =====================================================  ========================
RAMPART           IM midazolam 10 mg, 1.2 min after EMS arrival           73.4 % (329/448) [S]
(Silbergleit      IV lorazepam 4 mg, 4.8 min after EMS arrival            63.4 % (282/445) [S]
2012)
ESETT             levetiracetam 60 mg/kg (max 4500 mg) over 10 min        47 % [S]
(Kapur 2019,      fosphenytoin 20 mg PE/kg (max 1500 mg PE) over 10 min   45 % [S]
n = 384)          valproate 40 mg/kg (max 3000 mg) over 10 min            46 % [S]
VA Cooperative    lorazepam 0.1 mg/kg IV                                  64.9 % [S]
(Treiman 1998,    phenytoin 18 mg/kg IV                                   43.6 % [S]
predicted)        phenobarbital 15 mg/kg IV                               58.2 % [S]
                  diazepam 0.15 mg/kg + phenytoin 18 mg/kg IV             55.8 % [S]
================  =====================================================  ========================

Each trial is a *protocol* (:class:`Trial`): who is enrolled, when and how much of each drug they get
(per patient: weights, mg/kg doses with the trials' caps, random times), and the response definition.
Every virtual patient has its own event table (``pkpd.simulate`` on a dataset), so times and doses may
differ between patients; the seizure severity and PK random effects come from
:func:`pkpd.se.scenarios.cohort_parameters` (fixed seeds: common random numbers, so the same virtual patients
are seen in every arm and every objective evaluation).

What the protocols assume (``[S]`` read in a source, ``[M]`` literature knowledge not checked,
``[A]`` an assumption of this module -- change it with the protocol's arguments and look at the
sensitivity):

- Weight ~ normal(75, 15) kg clipped to 45-150 kg [A]; every drug's PK parameter is scaled by
  ``(WT/70)^b`` with the exponent ``b`` the library drug model itself uses (linear for volumes and most
  clearances, 0.6 for phenytoin VMAX [S]), on top of the cohort's log-normal IIV.
- RAMPART [S: doses, times to treatment 1.2 / 4.8 min, response]: seizure onset to EMS arrival is not
  reported in the sources read: log-normal, median ``arrival_median_min`` 15 min [A] (log-SD 0.5, at least
  5 min: enrolment needs > 5 min of convulsions [S]); EMS arrival to ED arrival log-normal, median
  ``transport_median_min`` 25 min [A] (log-SD 0.3). Enrolled: still seizing when EMS arrive (virtual
  patients whose seizure stopped on its own before are not counted). Response ("seizures absent on ED
  arrival without rescue"): activity below :data:`~pkpd.physiology.seizure.TERMINATION_THRESHOLD` at ED
  arrival.
- ESETT [S: doses, caps, 10-min infusions, 5-30 min window after the last benzodiazepine, response at
  60 min]: the last benzodiazepine before enrolment is IV lorazepam 4 mg (one of ESETT's "adequate" doses
  [S]) at EMS arrival + 4.8 min (RAMPART's IV timing) [A]; the second-line infusion starts uniformly 5-30
  min after it [S window, uniform A]. (IM midazolam as the last benzodiazepine would let its slow absorption,
  tmax ~35 min, stop enrolled patients without any second-line effect.)
  Enrolled: still seizing when the infusion starts. Response: activity below threshold 60 min after the
  start of the infusion [S] (cessation of clinically apparent seizures without further drugs).
- VA Cooperative [S: doses; response = cessation within 20 min of the start of the infusion and no
  recurrence within the next 40 min, Treiman 1998 (abstract)]: overt generalised convulsive SE,
  first-line treatment (no prior benzodiazepine) a log-normal ``onset_median_min`` 30 min after onset
  [A] (log-SD 0.5, at least 10 min [M]); enrolled: still seizing at treatment; lorazepam infused at 2 mg/min, phenytoin at 50 mg/min [M] (a
  75 kg patient: 3.75 and 27 min). Phenytoin IV is not a drug of :data:`pkpd.se.scenarios.DRUGS`: it is the
  ``fosphenytoin`` entry with conversion ``FOS.KCONV`` 100 /h (t1/2 25 s), i.e. phenytoin itself with the
  PK and PD of the phenytoin formed from fosphenytoin (:func:`pkpd.drugs.phenytoin` has the same
  VMAX, KM, V and FU).

Calibrated quantities (:data:`CALIBRATION_PARAMETERS`, the free parameters of ``validation_targets.toml``): ``E0``
(median seizure severity, ``SEIZURE.E0``), ``OMEGA_E0`` (its IIV), ``G_BZD`` (the weight of a GABA-A modulator,
shared by every benzodiazepine and phenobarbital), ``G_2L`` and ``N_2L`` (the weight and Hill slope of the
second-line effect outside GABA-A, shared by levetiracetam, phenytoin and valproate; their EC50s and phenobarbital's
are the lower ends of the therapeutic ranges) and ``K_SEIZURE`` (the rate at which activity follows the balance).
They are fitted to the calibration targets -- the five RAMPART and ESETT arms and RAMPART's two median times to
cessation -- and nothing else; the VA Cooperative arms (and the other validation targets) are predictions.

The fit (:func:`calibrate`) is a weighted least-squares problem solved with lmfit (as :mod:`pkpd.estimation`):
residuals are binomial z-scores ``(p_model - p_obs) / sqrt(p_obs (1 - p_obs) / n_obs)`` with the trials'
sample sizes where the sources read give them (RAMPART 448 / 445 [S]; ESETT 384 in total [S], split equally
128 per arm [A]; VA Cooperative: 384 patients with overt SE [S], split equally, 96 per arm [A], used only for the
z-scores of the predictions), then RAMPART's two median times to cessation as ``log(model / observed) / (ln 2 / 2)`` (a 2-fold miss
is 2 SD), plus optional log-normal prior residuals ``log(value / prior) / prior_sd`` that keep the parameters the
trials do not identify near their current defaults. The hard-threshold response rates
are step functions of the parameters (one patient flips at a time); with common random numbers and a
finite-difference step of a few percent (``diff_step``) the steps are small enough for
``least_squares``.

Examples
--------
>>> from pkpd.se import calibration
>>> [a.name for a in calibration.RAMPART.arms]
['midazolam IM 10 mg', 'lorazepam IV 4 mg']
>>> sorted(calibration.defaults())[:3]
['E0', 'G_2L', 'G_BZD']

Implementation, one job a module: :mod:`._calibration_quantities` (the calibrated quantities and their values),
:mod:`._calibration_trials` (the trial protocols), :mod:`._calibration_simulation` (an arm in a virtual cohort),
:mod:`._calibration_fit` (prediction, residuals, the fit and its profile); this module holds the summary and the
command line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from . import scenarios
from ._calibration_fit import calibrate, predict, profile, profile_interval, residuals
from ._calibration_quantities import CALIBRATED, CALIBRATION_PARAMETERS, defaults, model_params
from ._calibration_simulation import CESSATION_GRID_MIN, simulate_arm, virtual_cohort, weights
from ._calibration_trials import (ALLDREDGE, CESSATION_MIN, ESETT, PHENYTOIN_KCONV, RAMPART, TRIALS, VA_COOPERATIVE,
                                  Arm, Dose, Trial)
from .targets import FREE_PARAMETERS

__all__ = ["Arm", "Trial", "RAMPART", "ESETT", "VA_COOPERATIVE", "ALLDREDGE", "TRIALS", "CALIBRATION_PARAMETERS", "CALIBRATED",
           "defaults",
           "model_params", "virtual_cohort", "simulate_arm", "predict", "residuals", "calibrate", "summary", "profile",
           "profile_interval", "print_summary", "main", "CESSATION_MIN", "FREE_PARAMETERS"]

# Importable from here as before the split, though not in __all__ (pkpd.se.guideline imports weights; the tests use
# calibration.scenarios).
_ALSO_PUBLIC = (Dose, weights, CESSATION_GRID_MIN, PHENYTOIN_KCONV, scenarios)


def summary(values: Mapping | None = None, n: int = 1000, seed=2024,
            trials: Sequence[Trial] = (RAMPART, ESETT, VA_COOPERATIVE, ALLDREDGE), rtol: float = 1e-4) -> pd.DataFrame:
    """:func:`predict` for every arm with its role: ``kind`` is ``"calibration"`` for the fitted arms (RAMPART,
    ESETT) and ``"validation"`` for the predicted ones (VA Cooperative, Alldredge 2001), ``within`` whether the arm
    is inside its tolerance (8 and 10 percentage points, issue 14)."""
    out = predict(values or {}, trials, n, seed, rtol=rtol)
    out["kind"] = np.where(out["trial"].isin([RAMPART.name, ESETT.name]), "calibration", "validation")
    out["within"] = out["error_pp"].abs() <= np.where(out["kind"] == "validation", 10.0, 8.0)
    return out


def print_summary(n: int = 1000, seed=2024) -> None:
    """What ``python -m pkpd.se.calibration --summary`` prints: the counts of free parameters and calibration
    targets, the calibrated values with their profile-likelihood intervals (:data:`CALIBRATED`), and every arm
    predicted with the library's values."""
    from .targets import load_targets

    targets = load_targets()
    n_cal = sum(t.kind == "calibration" for t in targets)
    n_val = sum(t.kind == "validation" for t in targets)
    print(f"free calibrated parameters: {len(CALIBRATION_PARAMETERS)} ({', '.join(CALIBRATION_PARAMETERS)})")
    print(f"calibration targets: {n_cal}; validation targets: {n_val} (pkpd/se/validation_targets.toml)")
    print()
    print("calibrated values (95 % conditional profile-likelihood interval; '-': beyond the profiled range):")
    for k, v in CALIBRATED["values"].items():
        lo, hi = (("-" if x is None else f"{x:.4g}") for x in CALIBRATED["intervals"].get(k, (None, None)))
        print(f"  {k:10s} {v:10.4g}   [{lo}, {hi}]")
    print(f"  ({CALIBRATED['interval_method']})")
    print()
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(summary(n=n, seed=seed).round(3).to_string(index=False))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m pkpd.se.calibration --summary [--n N] [--seed S]``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m pkpd.se.calibration",
                                     description="The SE calibration: free parameters, targets and predictions.")
    parser.add_argument("--summary", action="store_true", help="print the counts, values and the arm table")
    parser.add_argument("--n", type=int, default=1000, help="virtual patients per arm (default 1000)")
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args(argv)
    if not args.summary:
        parser.print_help()
        return 0
    if args.n < 1:
        parser.error("--n must be at least 1")
    print_summary(args.n, args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
