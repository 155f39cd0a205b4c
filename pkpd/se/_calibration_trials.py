"""The trial protocols of the SE calibration (:mod:`pkpd.se.calibration`): RAMPART, ESETT, the VA Cooperative
trial and Alldredge 2001 -- arms, doses, per-patient timing, the response definition and the observed rates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import ModelError
from ..physiology import TERMINATION_THRESHOLD

#: RAMPART's median time from injection to cessation among responders (min; Silbergleit 2012 [M])
CESSATION_MIN = {"midazolam IM 10 mg": 3.3, "lorazepam IV 4 mg": 1.6}

#: Phenytoin IV through the fosphenytoin entry: conversion rate constant (1/h, t1/2 25 s) [A]
PHENYTOIN_KCONV = 100.0


@dataclass(frozen=True)
class Dose:
    """One administration of an arm.

    ``mg`` fixed amount, or ``mg_per_kg`` (with ``cap_mg``); ``route`` (``"iv"``/``"im"``);
    ``rate_mg_per_min`` or ``duration_min`` for an infusion (neither: a bolus); ``stage`` says which
    protocol time it follows (see :class:`Trial`), ``offset_min`` is added to it.
    """

    drug: str
    route: str
    mg: float | None = None
    mg_per_kg: float | None = None
    cap_mg: float | None = None
    duration_min: float | None = None
    rate_mg_per_min: float | None = None
    stage: str = "treat"
    offset_min: float = 0.0

    def amounts(self, weight: np.ndarray) -> np.ndarray:
        if self.mg is not None:
            return np.full(len(weight), float(self.mg))
        amt = self.mg_per_kg * weight
        return np.minimum(amt, self.cap_mg) if self.cap_mg is not None else amt

    def durations_h(self, amt: np.ndarray) -> np.ndarray | None:
        if self.rate_mg_per_min is not None:
            return amt / self.rate_mg_per_min / 60.0
        if self.duration_min is not None:
            return np.full(len(amt), self.duration_min / 60.0)
        return None


@dataclass(frozen=True)
class Arm:
    """A trial arm: its doses, the observed response rate and sample size (``n_obs``)."""

    name: str
    doses: tuple
    observed: float
    n_obs: int
    extra_params: Mapping = field(default_factory=dict)

    @property
    def drugs(self) -> tuple:
        out = []
        for d in self.doses:
            if d.drug not in out:
                out.append(d.drug)
        return tuple(out)


def _lognormal(rng, n, median, sd, lower=None, upper=None):
    x = median * np.exp(sd * rng.standard_normal(n))
    if lower is not None or upper is not None:
        x = np.clip(x, lower, upper)
    return x


@dataclass(frozen=True)
class Trial:
    """A trial protocol: arms and the per-patient timing and response definition.

    ``kind`` selects the timing/response rules (module docstring): ``"rampart"`` (stages ``arrival``
    and ``ed``; enrolled if seizing at EMS arrival, response below threshold at ED arrival), ``"esett"``
    (stages ``bzd`` and ``second``; enrolled if still seizing at ``second``, response 60 min later) and
    ``"va"`` (stage ``treat``; enrolled if seizing at treatment, response below threshold 20 min after
    the start and still 40 min after that). ``settings`` holds the
    timing assumptions (minutes); change them with :meth:`with_settings`.
    """

    name: str
    kind: str
    arms: tuple
    settings: Mapping = field(default_factory=dict)

    def with_settings(self, **changes) -> "Trial":
        """A copy with timing assumptions changed (e.g. ``arrival_median_min=20``)."""
        unknown = sorted(set(changes) - set(self.settings))
        if unknown:
            raise ModelError(f"{self.name}: unknown settings {unknown}; known: {sorted(self.settings)}")
        return replace(self, settings={**self.settings, **changes})

    def arm(self, name: str) -> Arm:
        for a in self.arms:
            if a.name == name:
                return a
        raise ModelError(f"{self.name}: no arm {name!r}; arms: {[a.name for a in self.arms]}")

    def timing(self, n: int, seed) -> dict:
        """Per-patient times (min after seizure onset) of the protocol's stages and observations."""
        s = self.settings
        rng = np.random.default_rng([seed, 101, sum(map(ord, self.kind))])
        if self.kind == "rampart":
            arrival = _lognormal(rng, n, s["arrival_median_min"], s["arrival_sd"], lower=s["arrival_min_min"])
            transport = _lognormal(rng, n, s["transport_median_min"], s["transport_sd"])
            return {"arrival": arrival, "ed": arrival + transport, "observe": (arrival, arrival + transport)}
        if self.kind == "esett":
            arrival = _lognormal(rng, n, s["arrival_median_min"], s["arrival_sd"], lower=s["arrival_min_min"])
            bzd = arrival + s["bzd_after_arrival_min"]
            second = bzd + rng.uniform(s["window_min"][0], s["window_min"][1], n)
            return {"bzd": bzd, "second": second, "observe": (second, second + s["response_min"])}
        if self.kind == "va":
            treat = _lognormal(rng, n, s["onset_median_min"], s["onset_sd"], lower=s["onset_min_min"])
            return {"treat": treat, "observe": (treat, treat + s["response_min"],
                                               treat + s["response_min"] + s["no_recurrence_min"])}
        raise ModelError(f"unknown trial kind {self.kind!r}")

    def responders(self, activity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(enrolled, responded)`` boolean arrays from the activity at the observation times
        (array (n, k) in the order of ``timing()["observe"]``): enrolled are the patients still seizing
        at the first observation (the treatment, or in ESETT the second-line infusion)."""
        below = activity < TERMINATION_THRESHOLD
        enrolled = ~below[:, 0]                  # every trial enrolled patients still seizing
        if self.kind == "va":
            return enrolled, below[:, 1:].all(axis=1)
        return enrolled, below[:, 1]


#: RAMPART (Silbergleit 2012): > 40 kg doses [S]; times after EMS arrival 1.2 / 4.8 min [S].
RAMPART = Trial(
    "RAMPART", "rampart",
    (Arm("midazolam IM 10 mg", (Dose("midazolam", "im", mg=10.0, stage="arrival", offset_min=1.2),), 0.734, 448),
     Arm("lorazepam IV 4 mg", (Dose("lorazepam", "iv", mg=4.0, stage="arrival", offset_min=4.8),), 0.634, 445)),
    {"arrival_median_min": 15.0, "arrival_sd": 0.5, "arrival_min_min": 5.0, "transport_median_min": 25.0,
     "transport_sd": 0.3},
)

_ESETT_BZD = Dose("lorazepam", "iv", mg=4.0, stage="bzd")
#: ESETT (Kapur 2019): doses, caps and 10-min infusions [S]; 384 patients, per-arm n [A] equal split.
ESETT = Trial(
    "ESETT", "esett",
    (Arm("levetiracetam 60 mg/kg", (_ESETT_BZD, Dose("levetiracetam", "iv", mg_per_kg=60.0, cap_mg=4500.0,
                                                     duration_min=10.0, stage="second")), 0.47, 128),
     Arm("fosphenytoin 20 mg PE/kg", (_ESETT_BZD, Dose("fosphenytoin", "iv", mg_per_kg=20.0, cap_mg=1500.0,
                                                       duration_min=10.0, stage="second")), 0.45, 128),
     Arm("valproate 40 mg/kg", (_ESETT_BZD, Dose("valproate", "iv", mg_per_kg=40.0, cap_mg=3000.0,
                                                 duration_min=10.0, stage="second")), 0.46, 128)),
    {"arrival_median_min": 15.0, "arrival_sd": 0.5, "arrival_min_min": 5.0, "bzd_after_arrival_min": 4.8,
     "window_min": (5.0, 30.0), "response_min": 60.0},
)

#: VA Cooperative (Treiman 1998), overt generalised convulsive SE: doses [S]; rates of infusion [M];
#: onset-to-treatment [A]; 384 patients with overt SE [S], arm sizes not found (96, an equal split [A]).
VA_COOPERATIVE = Trial(
    "VA Cooperative", "va",
    (Arm("lorazepam 0.1 mg/kg", (Dose("lorazepam", "iv", mg_per_kg=0.1, rate_mg_per_min=2.0),), 0.649, 96),
     Arm("phenytoin 18 mg/kg", (Dose("fosphenytoin", "iv", mg_per_kg=18.0, rate_mg_per_min=50.0),), 0.436, 96,
         {"FOS.KCONV": PHENYTOIN_KCONV}),
     Arm("phenobarbital 15 mg/kg", (Dose("phenobarbital", "iv", mg_per_kg=15.0, rate_mg_per_min=100.0),), 0.582,
         96),
     Arm("diazepam 0.15 mg/kg + phenytoin 18 mg/kg",
         (Dose("diazepam", "iv", mg_per_kg=0.15, rate_mg_per_min=5.0),
          Dose("fosphenytoin", "iv", mg_per_kg=18.0, rate_mg_per_min=50.0, offset_min=2.5)), 0.558, 96,
         {"FOS.KCONV": PHENYTOIN_KCONV})),
    {"onset_median_min": 30.0, "onset_sd": 0.5, "onset_min_min": 10.0, "response_min": 20.0,
     "no_recurrence_min": 40.0},
)

#: Alldredge 2001 (N Engl J Med 345:631), prehospital SE treated by paramedics: IV lorazepam 2 mg, IV diazepam
#: 5 mg or placebo [S: doses, response "SE terminated on arrival at the emergency department"]; one repeat dose
#: was allowed and is not modelled [A]; timing as in RAMPART [A] (both are paramedic trials in the same kind of
#: patients); arm sizes 66 / 68 / 71 [M]. A validation trial: no parameter is set from it.
ALLDREDGE = Trial(
    "Alldredge 2001", "rampart",
    (Arm("lorazepam IV 2 mg", (Dose("lorazepam", "iv", mg=2.0, stage="arrival", offset_min=4.8),), 0.591, 66),
     Arm("diazepam IV 5 mg", (Dose("diazepam", "iv", mg=5.0, stage="arrival", offset_min=4.8),), 0.426, 68),
     Arm("placebo", (Dose("lorazepam", "iv", mg=0.0, stage="arrival", offset_min=4.8),), 0.211, 71)),
    RAMPART.settings,
)

#: The trials, by name (RAMPART and ESETT are calibration targets; the VA Cooperative trial and Alldredge 2001
#: are predicted).
TRIALS = {t.name: t for t in (RAMPART, ESETT, VA_COOPERATIVE, ALLDREDGE)}
