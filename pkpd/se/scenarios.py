"""Status epilepticus scenarios: treatment delay, virtual cohorts, dose escalation and polytherapy (issues 4, 14).

One composed model of a seizure and its treatment (:func:`se_model`) -- :class:`~pkpd.physiology.Seizure`
(activity from the excitation/inhibition balance), :class:`~pkpd.physiology.GabaAReceptors` and
:class:`~pkpd.physiology.NmdaReceptors` (trafficking driven by the seizure), :class:`~pkpd.physiology.Chloride`
(E_GABA), the drugs' PK from :mod:`pkpd.drugs`, each behind the blood-brain barrier
(:class:`~pkpd.physiology.BrainPgp` reading one shared :class:`~pkpd.physiology.BloodBrainBarrier`), and their
effects, all driven by the unbound brain ECF concentration ``<drug>.CBRAIN_U``:

- benzodiazepines (midazolam ``MDZ``, lorazepam ``LZP``, diazepam ``DZP``): :class:`~pkpd.models.effects.ModulatorEffect`
  ``BZD`` = surface α2/3/5 GABA-A x occupancy (receptor loss caps the maximum), weighted by ``SEIZURE.G_BZD`` and
  scaled by the chloride factor ``F`` (negative above E_GABA -43 mV: paradoxical); deep sedation
  ``<drug>_SED.EFFECT`` for the respiratory-depression endpoint;
- second line (levetiracetam, phenytoin from fosphenytoin, valproate): sigmoid Emax with the EC50 at the lower end
  of each drug's therapeutic range, inhibition that does not pass through GABA-A (one shared weight and slope,
  calibrated);
- phenobarbital: a GABA-A modulator (:class:`~pkpd.models.effects.ModulatorEffect` ``BARB`` on the synaptic
  surface total, the benzodiazepine's weight, the second-line EC50 rule), so scaled by ``F`` too;
- ketamine: use-dependent NMDA channel block (IC50 2 µM unbound);
- propofol: suppression at burst-suppression concentrations.

Every number is in :mod:`pkpd.se.defaults` (value, unit, tag, source); the calibrated ones ([C]) come from
:mod:`pkpd.se.calibration` (RAMPART and ESETT; the VA Cooperative trial is predicted). The refractory-SE study
is :mod:`pkpd.se.guideline`.

Examples
--------
>>> from pkpd import scenarios
>>> model = scenarios.se_model(("midazolam",))
>>> "SEIZURE.ACTIVITY" in model.states and "BZD.EFFECT" in model.outputs
True
>>> [(d.time, d.amt, d.cmt) for d in scenarios.treat(15)]
[(0.0, 0.0, 'SEIZURE.ACTIVITY'), (0.25, 10.0, 'MDZ.DEPOT')]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import lru_cache

import numpy as np
import pandas as pd

from .. import drugs as _drugs
from ..dosing import Bolus, Regimen
from ..engine import explicit_solver
from ..errors import ModelError
from ..models import compose
from ..models.effects import ModulatorEffect
from ..physiology import (BloodBrainBarrier, BrainPgp, Chloride, DirectEffect, GabaAReceptors, NmdaChannelBlock,
                          NmdaReceptors, Seizure, terminated)
from . import defaults as SE

__all__ = ["DRUGS", "IIV", "SECOND_LINE", "se_model", "se_params", "weight_exponents", "scale_to_weight", "treat", "simulate_patient",
           "cohort_parameters",
           "cohort_termination", "cohort_outcomes", "polytherapy_termination", "guideline_termination",
           "RESPIRATORY_DEPRESSION_SEDATION", "GABA_A_EFFECTS"]

#: Combined deep sedation (1 - prod(1 - sedation of each drug)) at which respiratory depression is counted [A]:
#: 0.5, i.e. an unbound brain concentration at the drug's Ramsay >= 5 C50 (:data:`pkpd.se.defaults.TOXICITY`).
RESPIRATORY_DEPRESSION_SEDATION = 0.5

LN2 = math.log(2.0)

#: Drugs known to the scenarios: constructor, default SE route, dose (mg; fosphenytoin mg PE) and infusion
#: duration (h); ``maintenance`` adds a constant infusion (mg/h, hours) from the same time. The drug's role in
#: the seizure balance is :data:`pkpd.se.defaults.PD` ``role`` (``bzd``: modulator of surface alpha2/3/5
#: GABA-A; ``barbiturate``: modulator of every synaptic GABA-A subtype; ``second_line``: inhibition that does
#: not pass through GABA-A; ``nmda``: use-dependent NMDA channel block; ``anaesthetic``: suppression at
#: burst-suppression concentrations).
#: Doses for 70 kg: midazolam 10 mg IM (RAMPART, > 40 kg [S]); lorazepam 4 mg IV (ESETT [S]); diazepam 10 mg
#: IV [M]; ketamine 1.5 mg/kg IV = 105 mg [M]; second line as in ESETT [S], each over 10 min: valproate
#: 40 mg/kg = 2800 mg, levetiracetam 60 mg/kg = 4200 mg, fosphenytoin 20 mg PE/kg = 1400 mg PE; phenobarbital
#: 15 mg/kg = 1050 mg at 100 mg/min (VA Cooperative [S]); propofol 2 mg/kg = 140 mg bolus then 5 mg/kg/h =
#: 350 mg/h for 24 h [M] (the guideline study titrates it to burst suppression instead).
DRUGS = {
    "midazolam": {"make": _drugs.midazolam, "route": "im", "dose": 10.0, "duration": None},
    "lorazepam": {"make": _drugs.lorazepam, "route": "iv", "dose": 4.0, "duration": None},
    "diazepam": {"make": _drugs.diazepam, "route": "iv", "dose": 10.0, "duration": None},
    "ketamine": {"make": _drugs.ketamine, "route": "iv", "dose": 105.0, "duration": None},
    "valproate": {"make": _drugs.valproate, "route": "iv", "dose": 2800.0, "duration": 10 / 60},
    "levetiracetam": {"make": _drugs.levetiracetam, "route": "iv", "dose": 4200.0, "duration": 10 / 60},
    "fosphenytoin": {"make": _drugs.fosphenytoin, "route": "iv", "dose": 1400.0, "duration": 10 / 60},
    "phenobarbital": {"make": _drugs.phenobarbital, "route": "iv", "dose": 1050.0, "duration": 10.5 / 60},
    "propofol": {"make": _drugs.propofol, "route": "iv", "dose": 140.0, "duration": None,
                 "maintenance": (350.0, 24.0)},
}
for _name, _info in DRUGS.items():
    _info["prefix"] = _info["make"]().prefix
    _info["role"] = SE.PD[_info["prefix"]]["role"]
del _name, _info

#: The effects of the GABA-A modulators (:func:`se_model`): the benzodiazepine's and phenobarbital's.
GABA_A_EFFECTS = ("BZD.EFFECT", "BARB.EFFECT")

#: The guideline sequence's second-line choices (ESETT [S]).
SECOND_LINE = ("valproate", "levetiracetam", "fosphenytoin")

#: Inter-individual variability (SD of the log): :data:`pkpd.se.defaults.IIV`.
IIV = dict(SE.IIV)


def seizure_defaults() -> dict:
    """Local parameter defaults of :class:`~pkpd.physiology.Seizure` in the SE chain (:data:`pkpd.se.defaults.NETWORK`).

    >>> d = seizure_defaults()
    >>> d["K_ON"] == d["K_OFF"] == SE.NETWORK["K_SEIZURE"].value, d["SHUNT"]
    (True, 0.3)
    """
    n = SE.NETWORK
    return {"E0": n["E0"].value, "SHUNT": n["SHUNT"].value, "K_ON": n["K_SEIZURE"].value,
            "K_OFF": n["K_SEIZURE"].value}


@lru_cache(maxsize=None)
def weight_exponents(drug: str) -> dict:
    """Exponent ``b`` of ``(WT/70)^b`` for each PK parameter of ``drug`` (a name in :data:`DRUGS`), read off
    the library drug model at 70 and 140 kg (1 for volumes and most clearances, 0.6 for phenytoin VMAX).

    >>> round(weight_exponents("lorazepam")["LZP.V1"], 12)
    1.0
    """
    make = DRUGS[drug]["make"]
    p70, p140 = make(70.0).params, make(140.0).params
    out = {}
    for k, v in p70.items():
        if v > 0 and p140.get(k, v) > 0:
            b = math.log(p140[k] / v) / LN2
            if abs(b) > 1e-9:
                out[k] = b
    return out


def scale_to_weight(params, drugs: Sequence[str], weight):
    """A copy of ``params`` (a DataFrame or a mapping of per-subject arrays; never modified) with every PK
    parameter of ``drugs`` scaled by ``(WT/70)^b`` (:func:`weight_exponents`); ``weight`` in kg, one per subject.
    Returns a new DataFrame for a DataFrame, a new dict for any other mapping (scaled values are new arrays).

    >>> p = {"LZP.CL": np.array([4.0, 4.0])}
    >>> scale_to_weight(p, ("lorazepam",), [70.0, 140.0])["LZP.CL"].tolist(), p["LZP.CL"].tolist()
    ([4.0, 8.0], [4.0, 4.0])
    """
    ratio = np.asarray(weight, dtype=float) / 70.0
    out = params.copy() if isinstance(params, pd.DataFrame) else dict(params)   # a new frame or dict
    for drug in drugs:
        for k, b in weight_exponents(drug).items():
            if k in out:
                out[k] = np.asarray(out[k]) * ratio ** b
    return out


def _drug(name: str, route: str | None = None):
    if name not in DRUGS:
        raise ModelError(f"unknown SE drug {name!r}; known: {sorted(DRUGS)}")
    info = DRUGS[name]
    d = info["make"]()
    route = route or info["route"]
    if route not in d.routes:
        raise ModelError(f"{name}: no route {route!r}; known {sorted(d.routes)}")
    return d.with_route(route), route


def _as_tuple(x):
    return (x,) if isinstance(x, str) else tuple(x)


def _route_map(drugs: tuple, routes) -> dict:
    """``routes`` (one route for all, or one per drug, None entries for the default) by drug name."""
    if routes is None:
        return {}
    rs = [routes] * len(drugs) if isinstance(routes, str) else list(routes)
    return {d: r for d, r in zip(drugs, rs) if r is not None}


def se_model(drugs: Sequence[str] = ("midazolam",), *, seizure: Mapping | None = None):
    """The composed status-epilepticus model for ``drugs`` (names in :data:`DRUGS`).

    Every drug's effect is driven by its unbound brain ECF concentration (``<drug>.CBRAIN_U`` from a
    :class:`~pkpd.physiology.BrainPgp` with the clearances of :func:`pkpd.se.defaults.brain_clearances`), behind
    one shared :class:`~pkpd.physiology.BloodBrainBarrier` (``BBB``: P-gp expression x ABCB1 genotype x
    inhibition, raised by a seizure-driven inflammatory signal that also opens a passive leak).

    - benzodiazepines: :class:`~pkpd.models.effects.ModulatorEffect` ``BZD`` = surface alpha2/3/5 x occupancy, a
      GABA-ergic effect weighted by ``SEIZURE.G_BZD`` and scaled by the chloride factor ``F``; their sedation
      ``<drug>_SED.EFFECT`` (deep-sedation occupancy, :data:`pkpd.se.defaults.TOXICITY`);
    - second line (levetiracetam, phenytoin, valproate): ``<drug>.EFFECT`` sigmoid Emax, an inhibition that does
      not pass through GABA-A, each weighted by ``G_<drug>`` (all ``G_2L``);
    - phenobarbital: ``BARB.EFFECT`` = synaptic GABA-A surface x occupancy (EC50 at the lower end of its range,
      weight ``G_BZD``), GABA-ergic, so scaled by ``F`` like the benzodiazepine's;
    - ketamine: :class:`~pkpd.physiology.NmdaChannelBlock` (use-dependent);
    - propofol: ``PPF.EFFECT``, inhibition weighted by ``G_PPF`` (``G_ANAESTHETIC``).

    Parameters
    ----------
    drugs : sequence of str
        Drugs to include (at most one benzodiazepine).
    seizure : mapping, optional
        Keyword defaults for :class:`~pkpd.physiology.Seizure` (local names) on top of :func:`seizure_defaults`.

    Returns
    -------
    ComposedModel
        Stiff (LSODA by default).
    """
    drugs = _as_tuple(drugs)
    if seizure is None:
        return _default_se_model(drugs)
    return _build_se_model(drugs, dict(seizure))


@lru_cache(maxsize=64)
def _default_se_model(drugs: tuple):
    """:func:`se_model` without ``seizure`` changes, built once per drug set: a model is an immutable value, and
    one object per set lets the engine find its compiled kernel without tracing the model again."""
    return _build_se_model(drugs, {})


def _build_se_model(drugs: tuple, seizure: dict):
    gabaergic, blockers, inhibitors = [], [], []
    comps = [GabaAReceptors(), NmdaReceptors(), Chloride(KLOSS_INFL=SE.NETWORK["KLOSS_INFL"].value),
             BloodBrainBarrier()]
    weights = {}
    n_bzd = 0
    for name in drugs:
        d, _ = _drug(name)
        info = DRUGS[name]
        role, pre = info["role"], d.prefix
        fu = d.params[f"{pre}.FU"]
        conc = f"{pre}.CBRAIN_U"
        comps += list(d.components())
        comps.append(BrainPgp(pre, barrier="BBB", **{k.lower(): v for k, v in SE.brain_clearances(pre).items()},
                              vbr=SE.VBR_L))
        pd_ = SE.PD[pre]
        if role == "bzd":
            n_bzd += 1
            if n_bzd > 1:
                raise ModelError("se_model: at most one benzodiazepine (they share the BZD effect)")
            comps.append(ModulatorEffect("BZD", conc, GabaAReceptors.SURFACE_A235,
                                         ka=SE.unbound_brain(pre, pd_["c50"], fu)))
            gabaergic.append("BZD.EFFECT")
            weights["G_BZD"] = SE.NETWORK["G_BZD"].value
        elif role == "barbiturate":
            # Phenobarbital enhances GABA-A currents on every synaptic subtype (Barker & McBurney 1979, Proc R Soc
            # Lond B 206:319; Greenfield 2013, Seizure 22:589), so its maximum is the synaptic surface total and its
            # sign follows the chloride gradient like the benzodiazepine's (Staley 1992, Neurosci Lett 146:105:
            # barbiturates enhance GABA-A excitation once E_GABA is above threshold). A GABA-A modulator at full
            # occupancy gets the benzodiazepine's weight G_BZD and Hill slope 1 [A]; its EC50 follows the second-line
            # rule (lower end of the therapeutic range). Potency is kept during SE (pentobarbital sensitivity
            # unchanged, Kapur & Macdonald 1997, J Neurosci 17:7532): no KSHIFT.
            comps.append(ModulatorEffect("BARB", conc, GabaAReceptors.SURFACE,
                                         ka=SE.unbound_brain(pre, pd_["c50"], fu)))
            gabaergic.append("BARB.EFFECT")
            weights["G_BARB"] = SE.NETWORK["G_BZD"].value
        elif role == "nmda":
            comps.append(NmdaChannelBlock(pre, conc, ic50_um=pd_["ic50_um"], mw=d.mw))
            blockers.append(f"{pre}.NMDA_BLOCK")
        else:                                           # second line or anaesthetic: inhibition outside GABA-A
            hill = SE.NETWORK["N_2L"].value if role == "second_line" else 1.0
            comps.append(DirectEffect(pre, conc, ec50=SE.unbound_brain(pre, pd_["c50"], fu), hill=hill))
            inhibitors.append(f"{pre}.EFFECT")
            weights[f"G_{pre}"] = SE.NETWORK["G_2L" if role == "second_line" else "G_ANAESTHETIC"].value
        sed = SE.TOXICITY.get(pre, {}).get("sedation_c50")
        if sed:
            comps.append(DirectEffect(f"{pre}_SED", conc, ec50=SE.unbound_brain(pre, sed, fu)))
    comps.insert(0, Seizure(gabaergic, blockers, (), inhibitors, **{**seizure_defaults(), **weights, **seizure}))
    return compose(*comps)


def se_params(drugs: Sequence[str] = ("midazolam",), routes: Mapping[str, str] | None = None, **changes) -> dict:
    """Parameter values for :func:`se_model`: each drug's params for its route (the seizure, receptor and
    chloride parameters keep their component defaults, calibrated in :mod:`pkpd.physiology.seizure`).

    ``changes`` override by qualified name with '.' written as '__' (``SEIZURE__E0=2.5``).
    """
    routes = dict(routes or {})
    p = {}
    for name in _as_tuple(drugs):
        d, _ = _drug(name, routes.get(name))
        p.update(d.params)
    p.update({k.replace("__", "."): v for k, v in changes.items()})
    return p


def treat(delay_min=15.0, drug="midazolam", dose=None, route=None, duration_h=None) -> Regimen:
    """A treatment regimen: ``drug`` given ``delay_min`` minutes after seizure onset (t = 0).

    Every argument may be a sequence (one entry per administration; scalars are repeated), so
    ``treat((40, 50, 60), ("midazolam", "ketamine", "valproate"))`` gives the three drugs in sequence.
    ``dose`` (mg), ``route`` and infusion ``duration_h`` default to :data:`DRUGS`. The regimen starts
    with a zero-amount record at t = 0 (seizure onset; the engine integrates from the first record, so
    without it a late first dose would start the seizure at the dose time).

    >>> [(round(d.time, 4), d.amt, d.cmt) for d in treat((40, 40), ("midazolam", "ketamine"))]
    [(0.0, 0.0, 'SEIZURE.ACTIVITY'), (0.6667, 10.0, 'MDZ.DEPOT'), (0.6667, 105.0, 'KET.CENTRAL')]
    """
    names = _as_tuple(drug)
    k = len(names)

    def spread(x):
        if x is None or isinstance(x, (str, int, float, np.floating)):
            return [x] * k
        x = list(x)
        if len(x) != k:
            raise ModelError(f"treat: {len(x)} values for {k} drugs")
        return x

    delays, doses, routes, durations = spread(delay_min), spread(dose), spread(route), spread(duration_h)
    # a zero-amount record at t = 0 marks seizure onset: the engine starts integrating at the first record
    parts = [Bolus(0.0, time=0.0, cmt=Seizure.ACTIVITY)]
    for name, t, amt, rt, dur in zip(names, delays, doses, routes, durations):
        info = DRUGS.get(name)
        d, rt = _drug(name, rt)
        amt = info["dose"] if amt is None else float(amt)
        dur = info["duration"] if dur is None and rt == "iv" else dur
        kw = {"duration": dur} if dur else {}
        parts.append(d.dose(amt, rt, time=float(t) / 60.0, **kw))
        if info.get("maintenance") and rt == "iv":
            rate, hours = info["maintenance"]
            parts.append(d.dose(rate * hours, rt, time=float(t) / 60.0, duration=hours))
    return Regimen(parts)


def simulate_patient(delay_min=15.0, drugs=("midazolam",), doses=None, routes=None, *, t_end_min=240.0,
                     step_min=1.0, params: Mapping | None = None, solver: str | None = None) -> pd.DataFrame:
    """Time course of one typical patient treated ``delay_min`` after seizure onset.

    ``delay_min``, ``doses`` and ``routes`` may be sequences (one per drug, see :func:`treat`). Returns
    a DataFrame (every output of :func:`se_model`) with ``time_min``, plasma (``MDZ.CP``) and unbound brain
    ECF (``MDZ_BRAIN.CU``) concentrations, P-gp activity ``BBB.PGP_ACTIVITY``,
    ``GABAA.SURFACE_A235``, ``NMDA.SURFACE``, ``CHLORIDE.E_GABA``, ``BZD.EFFECT`` / ``KET_NMDA.BLOCK`` /
    ``VPA_PD.EFFECT`` (as present), ``SEIZURE.DRIVE``, ``SEIZURE.F_GABA`` and ``SEIZURE.ACTIVITY``. ``solver``:
    default :func:`pkpd.engine.explicit_solver` (as the cohorts), or any of :func:`pkpd.simulate`'s.

    >>> df = simulate_patient(5, t_end_min=120, step_min=30)
    >>> float(df["SEIZURE.ACTIVITY"].iloc[-1]) < 0.1
    True
    """
    drugs = _as_tuple(drugs)
    route_map = _route_map(drugs, routes)
    model = se_model(drugs)
    p = se_params(drugs, route_map)
    p.update(dict(params or {}))
    regimen = treat(delay_min, drugs, doses, [route_map.get(d) for d in drugs])
    times = np.arange(0.0, t_end_min + 1e-9, step_min) / 60.0
    res = model.simulate(regimen, times, p, method="ode", states=False, solver=solver or explicit_solver())
    df = res.to_frame()
    df.insert(0, "time_min", np.asarray(df["TIME"]) * 60.0)
    return df


def cohort_parameters(drugs: Sequence[str] = ("midazolam",), n: int = 500, seed=2024, *, iiv: Mapping | None = None,
                      params: Mapping | None = None, routes=None) -> pd.DataFrame:
    """Parameters of a virtual cohort for :func:`se_model` (one row per patient, an ``ID`` column).

    Subjects differ log-normally in every drug's clearance and central volume, in seizure severity
    ``SEIZURE.E0``, in the floor of surface KCC2 (``CHLORIDE.KCC2_MIN``, how far chloride loads) and in their
    sensitivity to sedation (every ``<drug>_SED_PD.EC50``) (:data:`IIV`, overridden by ``iiv``). Each random effect
    has its own random stream (``[seed, key]``: key 0 for the severity, 1 + the drug's position in :data:`DRUGS`
    for its PK, 50 for KCC2, 51 for sedation), so a patient keeps the same severity and PK for a drug whichever
    other drugs the scenario adds.

    >>> a, b = cohort_parameters(n=3), cohort_parameters(("midazolam", "ketamine"), n=3)
    >>> bool((a["MDZ.CL"] == b["MDZ.CL"]).all() and (a["SEIZURE.E0"] == b["SEIZURE.E0"]).all())
    True
    """
    drugs = _as_tuple(drugs)
    return _cohort_params(se_model(drugs), drugs, n, seed, iiv, params, _route_map(drugs, routes))


def _cohort_params(model, drugs, n: int, seed, iiv, params, route_map, weight=None) -> pd.DataFrame:
    """The patients of :func:`cohort_parameters` (an ``ID`` column then :func:`cohort_columns`), their PK scaled
    to ``weight`` (kg, one per patient) when given."""
    base = se_params(drugs, route_map)
    base.update(dict(params or {}))
    cols = cohort_columns(model, drugs, n, base, {**IIV, **dict(iiv or {})}, stream_normals(seed, n), weight)
    return pd.DataFrame({"ID": np.arange(1, n + 1), **cols})


def stream_normals(seed, n: int):
    """The random source of :func:`cohort_parameters` for :func:`cohort_columns`: ``normals(stream, size)`` is
    ``size`` successive ``standard_normal(n)`` draws of ``default_rng([seed, stream])``, as the columns of an
    array (n, size) (the second column is the generator's next n draws, not ``standard_normal((n, 2))[:, 1]``).

    >>> z = stream_normals(7, 3)(1, 2)
    >>> rng = np.random.default_rng([7, 1])
    >>> bool(np.array_equal(z[:, 0], rng.standard_normal(3)) and np.array_equal(z[:, 1], rng.standard_normal(3)))
    True
    """
    def normals(stream: int, size: int) -> np.ndarray:
        rng = np.random.default_rng([seed, stream])
        return np.column_stack([rng.standard_normal(n) for _ in range(size)])
    return normals


def cohort_columns(model, drugs, n: int, base: Mapping, iiv: Mapping, normals, weight=None) -> dict:
    """Per-patient parameter columns of ``n`` virtual SE patients: the one builder behind
    :func:`cohort_parameters`, :class:`pkpd.se.population.SEPopulation` and
    :func:`pkpd.se.calibration.virtual_cohort`, which differ only in their random source ``normals``.

    Each random effect has its own stream, so a patient keeps its severity and PK for a drug whichever other
    drugs are added. In this order:

    - every drug's clearance ``<pre>.CL`` and central volume ``<pre>.V`` (or ``<pre>.V1``): log-normal, omega
      ``iiv["CL"]`` and ``iiv["V"]``, from columns 0 and 1 of stream ``1 + `` the drug's position in
      :data:`DRUGS` (drawn even when an omega is 0 or the parameter is absent);
    - with ``weight``: every drug's PK scaled by ``(WT/70)^b`` (:func:`scale_to_weight`);
    - the seizure severity ``SEIZURE.E0``: log-normal (omega ``iiv["E0"]``, stream 0) on its excess above
      E_MIN = G0 + 5 W, the least E0 that sustains itself, so every untreated seizure persists;
    - the floor of surface KCC2 during a seizure ``CHLORIDE.KCC2_MIN`` (how far chloride loads, post-SE E_GABA):
      log-normal (omega ``iiv["KCC2_MIN"]``, stream 50), at most 1;
    - sensitivity to sedation: one log-normal factor per patient (omega ``iiv["SED_C50"]``, stream 51) on every
      drug's deep-sedation C50 ``<pre>_SED_PD.EC50``.

    Parameters
    ----------
    model : ComposedModel
        :func:`se_model` of ``drugs`` (defaults of the parameters not in ``base``).
    drugs : sequence of str
        Names in :data:`DRUGS`.
    n : int
        Number of patients.
    base : mapping
        Typical values by qualified name (:func:`se_params` with any changes); every patient starts there.
    iiv : mapping
        Inter-individual variability as the SD of the log (omega; a value ``w`` multiplies the parameter by
        ``exp(w * z)``, z standard normal), as for every argument named ``iiv`` in pkpd: the complete table
        (:data:`IIV` with any overrides) by ``"CL"``, ``"V"``, ``"E0"``, ``"KCC2_MIN"``, ``"SED_C50"``; a missing
        key is no variability.
    normals : callable
        ``normals(stream, size)`` -> array (n, size) of standard normals of the random stream ``stream``;
        called once per stream (:func:`stream_normals`; :func:`pkpd.trials.block_normals` in
        :class:`~pkpd.se.population.SEPopulation`).
    weight : array_like, optional
        Body weight (kg), one per patient.

    Returns
    -------
    dict
        Qualified name -> array (n,): the ``base`` names in order, then any varied parameter not in ``base``.
    """
    cols = {k: np.full(n, float(v)) for k, v in base.items()}

    def value(name):
        return cols[name] if name in cols else np.full(n, model.parameter(name).default)

    for name in drugs:
        pre = DRUGS[name]["prefix"]
        z = normals(1 + list(DRUGS).index(name), 2)
        for j, key in enumerate(("CL", "V")):
            omega = iiv.get(key, 0.0)
            pname = f"{pre}.{key}" if f"{pre}.{key}" in cols else f"{pre}.{key}1"
            if pname in cols and omega > 0:
                cols[pname] = cols[pname] * np.exp(omega * z[:, j])
    if weight is not None:
        cols = scale_to_weight(cols, drugs, weight)
    e0 = value("SEIZURE.E0")
    e_min = value("SEIZURE.G0") + 5.0 * value("SEIZURE.W")
    cols["SEIZURE.E0"] = e_min + (e0 - e_min) * np.exp(iiv.get("E0", 0.0) * normals(0, 1)[:, 0])
    cols["CHLORIDE.KCC2_MIN"] = np.minimum(value("CHLORIDE.KCC2_MIN")
                                           * np.exp(iiv.get("KCC2_MIN", 0.0) * normals(50, 1)[:, 0]), 1.0)
    z_sedation = normals(51, 1)[:, 0]
    for name in drugs:
        key = f"{DRUGS[name]['prefix']}_SED_PD.EC50"
        if key in model.parameter_names:
            cols[key] = value(key) * np.exp(iiv.get("SED_C50", 0.0) * z_sedation)
    return cols


def _cohort_run(model, regimen, params_df, t_end_min, rtol, solver):
    times = np.linspace(0.0, t_end_min / 60.0, 9)
    res = model.simulate(regimen, times, params_df, method="ode", states=False, rtol=rtol, atol=rtol * 1e-3,
                         solver=solver or explicit_solver())
    act = np.asarray(res[Seizure.ACTIVITY]).reshape(len(params_df), len(times))
    return act


def cohort_termination(delays_min=(5, 15, 30, 60), n: int = 500, seed=2024, drugs=("midazolam",), doses=None,
                       routes=None, offsets_min=None, *, t_end_min=240.0, iiv: Mapping | None = None,
                       params: Mapping | None = None, return_activity: bool = False, rtol: float = 1e-6,
                       solver: str | None = None):
    """Fraction of a virtual cohort whose seizure is terminated, per treatment delay.

    Each delay is one batched ``simulate`` call over the ``n`` subjects (a parameter DataFrame with an
    ``ID`` column) of the patients of :func:`cohort_parameters`; the same patients (same ``seed``) are
    used for every delay. Terminated: activity below 0.1 at the end of the window (``t_end_min`` after onset), i.e.
    stopped and not restarted.

    Parameters
    ----------
    delays_min : sequence of float
        Time of the first administration after seizure onset (min).
    drugs, doses, routes : sequence
        Drugs given (names in :data:`DRUGS`), their doses (mg) and routes; defaults from :data:`DRUGS`.
    offsets_min : sequence of float, optional
        Time of each drug relative to the delay (default all 0: simultaneous).
    iiv, params : mapping, optional
        Override :data:`IIV`; fixed parameter changes (qualified names).
    rtol, solver : float, str
        ODE relative tolerance (absolute 1e-3 x rtol) and solver; default :func:`pkpd.engine.explicit_solver`
        (``"compiled"``, else ``"dp5"``: the same per-patient Dormand-Prince steps). The explicit per-patient
        engine at 1e-6 is both faster and more accurate here than the stacked stiff ``"lsoda"`` at 1e-4
        (activity within 4e-5 of a 1e-9 reference on 300 patients vs 5e-3; 2.5 times faster at n = 1000): the
        patients' seizures stop at different times, and one stacked system must step for all of them.

    Returns
    -------
    pandas.Series
        Terminated fraction indexed by delay (min); with ``return_activity`` also a dict delay -> array
        (n, 9) of activity on a grid from 0 to ``t_end_min``.
    """
    drugs = _as_tuple(drugs)
    k = len(drugs)
    offsets = [0.0] * k if offsets_min is None else list(offsets_min)
    route_map = _route_map(drugs, routes)
    model = se_model(drugs)
    df = _cohort_params(model, drugs, n, seed, iiv, params, route_map)
    out, acts = {}, {}
    for delay in delays_min:
        reg = treat([delay + o for o in offsets], drugs, doses, [route_map.get(d) for d in drugs])
        act = _cohort_run(model, reg, df, t_end_min, rtol, solver)
        acts[delay] = act
        out[delay] = float(np.mean(terminated(act)))
    s = pd.Series(out, name="terminated")
    s.index.name = "delay_min"
    return (s, acts) if return_activity else s


def polytherapy_termination(n: int = 500, seed=2024, *, simultaneous_min=40.0, sequential_min=(40.0, 50.0, 60.0),
                            drugs=("midazolam", "ketamine", "valproate"), t_end_min=240.0) -> pd.Series:
    """Terminated fraction with ``drugs`` given together at ``simultaneous_min`` versus one after the
    other at ``sequential_min`` (Niquet 2017, Neurobiol Dis [S] / Niquet 2019 [M]), same virtual cohort.

    Returns a Series with index ``("simultaneous", "sequential")``.
    """
    first = sequential_min[0]
    sim = cohort_termination((simultaneous_min,), n, seed, drugs, t_end_min=t_end_min)
    seq = cohort_termination((first,), n, seed, drugs, offsets_min=[t - first for t in sequential_min],
                             t_end_min=t_end_min)
    return pd.Series({"simultaneous": float(sim.iloc[0]), "sequential": float(seq.iloc[0])}, name="terminated")


def guideline_termination(second_line: str = "valproate", anaesthetic: str | None = "propofol", n: int = 500,
                          seed=2024, *, benzodiazepine: str = "midazolam", times_min=(15.0, 40.0, 70.0),
                          t_end_min: float = 240.0) -> pd.Series:
    """Seizure control along the guideline sequence: benzodiazepine -> second-line loading dose ->
    anaesthetic, each given only to the virtual patients still seizing (the same cohort at each stage).

    Stage ``k`` is simulated with the first ``k`` drugs; a patient counts as controlled at stage ``k``
    when the seizure stopped at that stage or an earlier one (who stopped earlier gets no further drug).

    Parameters
    ----------
    second_line : str
        One of :data:`SECOND_LINE` (ESETT's valproate, levetiracetam, fosphenytoin).
    anaesthetic : str or None
        Third stage (``"propofol"``); None stops after the second line.
    times_min : (float, float, float)
        Minutes after onset of each stage (default 15, 40, 70: first benzodiazepine, ESETT's 5-30 min
        after it, then 30 min later; pSERG medians 16 / 63 / 170 min in children, Sánchez Fernández 2018 [S]).

    Returns
    -------
    pandas.Series
        Cumulative terminated fractions ``benzodiazepine``, ``second_line``, ``anaesthetic`` (if any) and
        the response of each later stage among the patients still seizing before it
        (``second_line_in_failures``, ``anaesthetic_in_failures``).
    """
    if second_line not in SECOND_LINE:
        raise ModelError(f"second_line must be one of {SECOND_LINE}, got {second_line!r}")
    stages = [benzodiazepine, second_line] + ([anaesthetic] if anaesthetic else [])
    stopped = []
    for k in range(1, len(stages) + 1):
        drugs = tuple(stages[:k])
        first = times_min[0]
        _, acts = cohort_termination((first,), n, seed, drugs, offsets_min=[t - first for t in times_min[:k]],
                                     t_end_min=t_end_min, return_activity=True)
        now = terminated(acts[first])
        stopped.append(now if not stopped else stopped[-1] | now)
    out = {"benzodiazepine": stopped[0].mean(), "second_line": stopped[1].mean()}
    out["second_line_in_failures"] = stopped[1][~stopped[0]].mean()
    if anaesthetic:
        out["anaesthetic"] = stopped[2].mean()
        out["anaesthetic_in_failures"] = stopped[2][~stopped[1]].mean()
    return pd.Series({k: float(v) for k, v in out.items()}, name=f"{benzodiazepine} -> {' -> '.join(stages[1:])}")


def cohort_outcomes(delays_min=(5, 15, 30, 60), n: int = 1000, seed=2024, drugs=("midazolam",), doses=None,
                    routes=None, *, t_end_min: float = 240.0, step_min: float = 2.0, iiv: Mapping | None = None,
                    params: Mapping | None = None, rtol: float = 1e-6, solver: str | None = None) -> pd.DataFrame:
    """Termination, respiratory depression and paradoxical worsening of a virtual cohort, per delay.

    The drugs are given together ``delay`` minutes after onset to the patients of :func:`cohort_parameters`
    (common random numbers across delays and doses). Per patient, on a grid of ``step_min``:

    - ``terminated``: activity below 0.1 at ``t_end_min`` (stopped and not restarted);
    - ``respiratory_depression``: the combined deep sedation of the drugs (``<drug>_SED_PD.EFFECT``) reaches
      :data:`RESPIRATORY_DEPRESSION_SEDATION` at some time;
    - ``paradoxical``: when the GABA-A modulators' effect (the benzodiazepine's and phenobarbital's,
      :data:`GABA_A_EFFECTS`) peaks the net GABA-A factor ``SEIZURE.F_GABA`` is negative, so the drug *adds* to
      the seizure's drive (E_GABA above the point where GABA-A excites; Staley 1992, Neurosci Lett 146:105).

    The other arguments are those of :func:`cohort_termination` (``rtol`` and ``solver`` included).

    Returns
    -------
    pandas.DataFrame
        One row per delay (index ``delay_min``): the three fractions and ``n``.

    Examples
    --------
    >>> out = cohort_outcomes((5,), n=20, t_end_min=60)
    >>> list(out.columns)
    ['terminated', 'respiratory_depression', 'paradoxical', 'n']
    """
    drugs = _as_tuple(drugs)
    route_map = _route_map(drugs, routes)
    model = se_model(drugs)
    df = _cohort_params(model, drugs, n, seed, iiv, params, route_map)
    times = np.arange(0.0, t_end_min + 1e-9, step_min) / 60.0
    sedation = [f"{DRUGS[d]['prefix']}_SED_PD.EFFECT" for d in drugs if f"{DRUGS[d]['prefix']}_SED_PD.EFFECT"
                in model.outputs]
    rows = {}
    for delay in delays_min:
        reg = treat([delay] * len(drugs), drugs, doses, [route_map.get(d) for d in drugs])
        res = model.simulate(reg, times, df, method="ode", states=False, rtol=rtol, atol=rtol * 1e-3,
                             solver=solver or explicit_solver())

        def grid(name):
            return np.asarray(res[name]).reshape(n, len(times))

        act = grid(Seizure.ACTIVITY)
        free = np.ones_like(act)
        for name in sedation:
            free = free * (1.0 - grid(name))
        resp = (1.0 - free).max(axis=1) >= RESPIRATORY_DEPRESSION_SEDATION
        modulators = [name for name in GABA_A_EFFECTS if name in model.outputs]
        if modulators:
            peak = np.argmax(sum(grid(name) for name in modulators), axis=1)
            paradox = grid(Seizure.F_GABA)[np.arange(n), peak] < 0.0
        else:
            paradox = np.zeros(n, dtype=bool)
        rows[delay] = {"terminated": float(np.mean(terminated(act))), "respiratory_depression": float(resp.mean()),
                       "paradoxical": float(paradox.mean()), "n": n}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "delay_min"
    return out
