"""Status epilepticus scenarios: treatment delay, virtual cohorts and polytherapy (issue 4).

Builds one composed model of a seizure and its treatment -- :class:`~pkpd.physiology.seizure.Seizure`
(activity from the excitation/inhibition balance), :class:`~pkpd.physiology.GabaAReceptors` and
:class:`~pkpd.physiology.NmdaReceptors` (trafficking driven by the seizure), :class:`~pkpd.physiology.Chloride`
(E_GABA), the drugs' PK from :mod:`pkpd.drugs` (optionally with their brain ECF behind P-gp,
:class:`~pkpd.physiology.BrainPgp`) and their PD:

- a benzodiazepine (midazolam ``MDZ``, lorazepam ``LZP``): :class:`~pkpd.effects.EffectCompartment` on the
  plasma concentration + :class:`~pkpd.effects.OperationalEffect` named ``BZD`` reading
  ``GABAA.SURFACE_A235`` (efficacy and potency fall with receptor internalisation) -> ``BZD.EFFECT``;
- ketamine (``KET``): effect compartment on the unbound plasma concentration (t1/2,ke0 3 min [M]) +
  :class:`~pkpd.physiology.seizure.NmdaChannelBlock` -> ``KET.NMDA_BLOCK`` (IC50 2 µM [M]);
- valproate (``VPA``): effect compartment (t1/2,ke0 30 min [M]) + sigmoid Emax (EC50 50 mg/L [M]) ->
  ``VPA.EFFECT``, counted as GABA-ergic inhibition;
- levetiracetam (``LEV``) and fosphenytoin -> phenytoin (``FOS``): effect compartment + sigmoid Emax ->
  ``<drug>.EFFECT``, a reduction of excitation that does not depend on the seizure activity (Seizure's
  ``reducers``: phenytoin's use dependence acts on the millisecond scale of firing, not on the minutes
  over which the activity falls, and a block that weakens as the activity falls cannot stop the severe
  seizures it is given for);
- propofol (``PPF``), the anaesthetic: effect compartment (Schnider ke0) + operational model on all
  surface GABA-A receptors without the benzodiazepine-site potency loss -> ``PPF_PD.EFFECT``.

The PD is driven by plasma concentrations (the benzodiazepine KA was set on plasma EEG EC50s,
:mod:`pkpd.effects`); with ``brain=True`` the unbound brain ECF concentration is simulated and reported as
well (``<drug>.CBRAIN_U``; no P-gp efflux for these drugs: CLPGP 0), but does not drive the effect.

Calibration (``[C]``, :mod:`pkpd.calibration`): the median seizure severity ``E0``, its IIV (:data:`IIV`),
the benzodiazepine weight ``G_BZD``, lorazepam's potency and the second-line potencies reproduce the
response rates of RAMPART, ESETT and the VA Cooperative trial within 8 percentage points
(:data:`pkpd.calibration.CALIBRATED`). With them 10 mg IM midazolam stops 91 / 82 / 66 / 45 / 24 % of
seizures when given 5 / 15 / 30 / 60 / 120 min after onset (n 500, seed 2024; Trinka 2015 [S]: IM
midazolam controls 63-73 % of early SE; Lowenstein & Alldredge 1993 [M]: ~80 % <= 30 min, < 40 % after
2 h), and propofol controls ~85 % of what a benzodiazepine and a second-line drug leave [M].

Examples
--------
>>> from pkpd import scenarios
>>> model = scenarios.se_model(("midazolam",), brain=False)
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
from ..errors import ModelError
from ..models import compose
from ..effects import EffectCompartment, OperationalEffect
from ..physiology import (BrainPgp, Chloride, DirectEffect, GabaAReceptors, NmdaChannelBlock, NmdaReceptors, Seizure,
                          terminated)

__all__ = ["DRUGS", "IIV", "SECOND_LINE", "se_model", "se_params", "weight_exponents", "scale_to_weight", "treat", "simulate_patient",
           "cohort_parameters",
           "cohort_termination", "polytherapy_termination", "guideline_termination"]

LN2 = math.log(2.0)

#: Drugs known to the scenarios: constructor, role, default SE route, dose (mg; fosphenytoin mg PE) and
#: infusion duration (h); ``maintenance`` adds a constant infusion (mg/h, hours) from the same time.
#: Doses for 70 kg: midazolam 10 mg IM (RAMPART, > 40 kg [S]); lorazepam 4 mg IV (ESETT [S]); ketamine
#: 1.5 mg/kg IV = 105 mg [M]; second line as in ESETT [S], each over 10 min: valproate 40 mg/kg = 2800 mg
#: (max 3000), levetiracetam 60 mg/kg = 4200 mg (max 4500), fosphenytoin 20 mg PE/kg = 1400 mg PE (max
#: 1500); anaesthetic: propofol 2 mg/kg = 140 mg bolus [M] then 5 mg/kg/h = 350 mg/h for 24 h [M]
#: (refractory-SE infusions of 2-10 mg/kg/h; PRIS risk above 4 mg/kg/h for > 48 h, Fodale 2008 [S]).
#: Roles: ``bzd`` (operational model on α2/3/5 GABA-A), ``nmda`` (use-dependent NMDA channel block),
#: ``gaba`` (GABA-ergic sigmoid Emax), ``block`` (activity-independent reduction of excitation: phenytoin's
#: sodium-channel block, levetiracetam's release reduction [M]), ``anaesthetic`` (GABA-A agonism that
#: does not need the benzodiazepine site: operational model on all surface GABA-A, no potency shift).
DRUGS = {
    "midazolam": {"make": _drugs.midazolam, "role": "bzd", "route": "im", "dose": 10.0, "duration": None},
    "lorazepam": {"make": _drugs.lorazepam, "role": "bzd", "route": "iv", "dose": 4.0, "duration": None},
    "ketamine": {"make": _drugs.ketamine, "role": "nmda", "route": "iv", "dose": 105.0, "duration": None},
    "valproate": {"make": _drugs.valproate, "role": "gaba", "route": "iv", "dose": 2800.0, "duration": 10 / 60},
    "levetiracetam": {"make": _drugs.levetiracetam, "role": "block", "route": "iv", "dose": 4200.0,
                      "duration": 10 / 60},
    "fosphenytoin": {"make": _drugs.fosphenytoin, "role": "block", "route": "iv", "dose": 1400.0,
                     "duration": 10 / 60},
    "propofol": {"make": _drugs.propofol, "role": "anaesthetic", "route": "iv", "dose": 140.0, "duration": None,
                 "maintenance": (350.0, 24.0)},
}

#: The guideline sequence (benzodiazepine -> second-line loading dose -> anaesthetic) used by
#: :func:`guideline_termination`: the second-line choices of ESETT [S].
SECOND_LINE = ("valproate", "levetiracetam", "fosphenytoin")

#: Effect-site equilibration (1/h) where :data:`pkpd.effects.KE0` has none: lorazepam t1/2,ke0 1 min [C:
#: convulsions stop 1.6 min after IV lorazepam in RAMPART, Silbergleit 2012 [S]], ketamine ~ 3 min [M],
#: valproate ~ 30 min [M], levetiracetam ~ 30 min [M], phenytoin 23 min [C] (ke0 1.808 /h: ESETT and the VA
#: Cooperative trial, :data:`pkpd.calibration.CALIBRATED`).
_KE0 = {"LZP": LN2 / (1 / 60), "KET": LN2 / (3 / 60), "VPA": LN2 / 0.5, "LEV": LN2 / 0.5, "FOS": 1.808}

#: Benzodiazepine operational KA (mg/L): midazolam from :data:`pkpd.effects.BZD_OPERATIONAL` (EEG EC50 ~ 100
#: ng/mL); lorazepam 0.058 [C] (RAMPART and the VA Cooperative trial, :data:`pkpd.calibration.CALIBRATED`).
_BZD_KA = {"MDZ": 0.05, "LZP": 0.058}

#: Second-line and anaesthetic PD (total concentrations, mg/L). The second-line drugs are calibrated [C]
#: to ESETT (47 / 45 / 46 % of benzodiazepine failures for LEV / FOS / VPA, Kapur 2019 [S]) and phenytoin
#: also to the VA Cooperative trial (43.6 %, Treiman 1998 [S]) (:data:`pkpd.calibration.CALIBRATED`):
#: valproate EC50 50 mg/L [M] (lower end of 50-100) with weight ``SEIZURE.G_VPA`` 35.28 [C]; levetiracetam
#: and phenytoin reduce excitation completely at most (EMAX 1) with EC50 1.6 and 0.3161 mg/L [C], i.e. by
#: 88-98 % over their therapeutic ranges (12-46 and 10-20 mg/L [M]). Propofol:
#: operational KA 4 mg/L, TAU0 3 (EC50 1 mg/L, about half the effect-site concentration for loss of
#: consciousness [M]), on all surface GABA-A without the benzodiazepine-site potency loss.
_SECOND_LINE_PD = {"VPA": {"ec50": 50.0}, "LEV": {"ec50": 1.6, "emax": 1.0}, "FOS": {"ec50": 0.3161, "emax": 1.0}}
_ANAESTHETIC_PD = {"PPF": {"ka": 4.0, "tau0": 3.0, "n": 1.0, "kshift": 0.0}}

#: Inter-individual variability (SD of the log, i.e. ~CV): PK clearance and central volume of every drug
#: (0.3 [M], typical of population PK) and seizure severity E0 (2.266 [C], on the excess of E0 over the
#: least self-sustaining severity; :data:`pkpd.calibration.CALIBRATED`).
IIV = {"CL": 0.3, "V": 0.3, "E0": 2.266}


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

    >>> p = {"LZP.CL": np.array([4.0, 4.0])}
    >>> scale_to_weight(p, ("lorazepam",), [70.0, 140.0])["LZP.CL"].tolist(), p["LZP.CL"].tolist()
    ([4.0, 8.0], [4.0, 4.0])
    """
    ratio = np.asarray(weight, dtype=float) / 70.0
    out = params.copy()
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


def se_model(drugs: Sequence[str] = ("midazolam",), brain: bool = True, *, seizure: Mapping | None = None):
    """The composed status-epilepticus model for ``drugs`` (names in :data:`DRUGS`).

    Parameters
    ----------
    drugs : sequence of str
        Drugs to include (at most one benzodiazepine).
    brain : bool
        Add a :class:`~pkpd.physiology.BrainPgp` per drug (reports ``<drug>.CBRAIN_U`` and P-gp expression,
        which rises after the seizure); three extra states per drug.
    seizure : mapping, optional
        Keyword defaults for :class:`~pkpd.physiology.seizure.Seizure` (local names).

    Returns
    -------
    ComposedModel
        Stiff (LSODA by default). Parameter values of the drugs come from :func:`se_params`.
    """
    drugs = _as_tuple(drugs)
    gabaergic, blockers, reducers = ["BZD.EFFECT", "VPA.EFFECT"], ["KET.NMDA_BLOCK"], []
    comps = [GabaAReceptors(), NmdaReceptors(), Chloride()]
    n_bzd = 0
    for name in drugs:
        d, _ = _drug(name)
        role, pre = DRUGS[name]["role"], d.prefix
        comps += list(d.components())
        if brain and d.brain is None:
            comps.append(BrainPgp(pre, seizure_driven=True))
        if role == "bzd":
            n_bzd += 1
            if n_bzd > 1:
                raise ModelError("se_model: at most one benzodiazepine (they share the BZD effect)")
            comps.append(EffectCompartment(pre, ke0=_KE0.get(pre)))
            comps.append(OperationalEffect("BZD", pre, GabaAReceptors.SURFACE_A235, ka=_BZD_KA[pre]))
        elif role == "nmda":
            comps.append(EffectCompartment(pre, ke0=_KE0[pre], source="CU"))
            comps.append(NmdaChannelBlock(pre, ic50_um=2.0, mw=d.mw))
        elif role == "anaesthetic":
            comps.append(EffectCompartment(pre))
            comps.append(OperationalEffect(f"{pre}_PD", pre, GabaAReceptors.SURFACE, **_ANAESTHETIC_PD[pre]))
            gabaergic.append(f"{pre}_PD.EFFECT")
        else:                                           # "gaba" or "block": sigmoid Emax on total plasma
            comps.append(EffectCompartment(pre, ke0=_KE0[pre], source="CP"))
            comps.append(DirectEffect(pre, f"{pre}_EFFECT.CE", **_SECOND_LINE_PD[pre]))
            if role == "block":
                reducers.append(f"{pre}.EFFECT")
            elif f"{pre}.EFFECT" not in gabaergic:
                gabaergic.append(f"{pre}.EFFECT")
    comps.insert(0, Seizure(gabaergic, blockers, reducers, **dict(seizure or {})))
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
                     step_min=1.0, params: Mapping | None = None, brain: bool = True) -> pd.DataFrame:
    """Time course of one typical patient treated ``delay_min`` after seizure onset.

    ``delay_min``, ``doses`` and ``routes`` may be sequences (one per drug, see :func:`treat`). Returns
    a DataFrame (every output of :func:`se_model`) with ``time_min``, plasma (``MDZ.CP``) and unbound brain
    ECF (``MDZ_BRAIN.CU``, with ``brain``) and effect-site (``MDZ_EFFECT.CE``) concentrations,
    ``GABAA.SURFACE_A235``, ``NMDA.SURFACE``, ``CHLORIDE.E_GABA``, ``BZD.EFFECT`` / ``KET_NMDA.BLOCK`` /
    ``VPA_PD.EFFECT`` (as present), ``SEIZURE.DRIVE``, ``SEIZURE.F_GABA`` and ``SEIZURE.ACTIVITY``.

    >>> df = simulate_patient(5, t_end_min=120, step_min=30, brain=False)
    >>> float(df["SEIZURE.ACTIVITY"].iloc[-1]) < 0.1
    True
    """
    drugs = _as_tuple(drugs)
    route_map = _route_map(drugs, routes)
    model = se_model(drugs, brain=brain)
    p = se_params(drugs, route_map)
    p.update(dict(params or {}))
    regimen = treat(delay_min, drugs, doses, [route_map.get(d) for d in drugs])
    times = np.arange(0.0, t_end_min + 1e-9, step_min) / 60.0
    res = model.simulate(regimen, times, p, method="ode", states=False)
    df = res.to_frame()
    df.insert(0, "time_min", np.asarray(df["TIME"]) * 60.0)
    return df


def cohort_parameters(drugs: Sequence[str] = ("midazolam",), n: int = 500, seed=2024, *, iiv: Mapping | None = None,
                      params: Mapping | None = None, routes=None, brain: bool = False) -> pd.DataFrame:
    """Parameters of a virtual cohort for :func:`se_model` (one row per patient, an ``ID`` column).

    Subjects differ log-normally in every drug's clearance and central volume and in seizure severity
    ``SEIZURE.E0`` (:data:`IIV`, overridden by ``iiv``). Each random effect has its own random stream
    (``[seed, key]``: key 0 for the severity, 1 + the drug's position in :data:`DRUGS` for its PK), so a
    patient keeps the same severity and PK for a drug whichever other drugs the scenario adds.

    >>> a, b = cohort_parameters(n=3), cohort_parameters(("midazolam", "ketamine"), n=3)
    >>> bool((a["MDZ.CL"] == b["MDZ.CL"]).all() and (a["SEIZURE.E0"] == b["SEIZURE.E0"]).all())
    True
    """
    drugs = _as_tuple(drugs)
    return _cohort_params(se_model(drugs, brain=brain), drugs, n, seed, iiv, params, _route_map(drugs, routes))


def _cohort_params(model, drugs, n: int, seed, iiv, params, route_map) -> pd.DataFrame:
    iiv = {**IIV, **dict(iiv or {})}
    base = se_params(drugs, route_map)
    base.update(dict(params or {}))
    cols = {"ID": np.arange(1, n + 1)}
    for k, v in base.items():
        cols[k] = np.full(n, float(v))

    def value(name):
        return cols[name] if name in cols else np.full(n, model.parameter(name).default)

    for name in drugs:
        pre = DRUGS[name]["make"]().prefix
        rng = np.random.default_rng([seed, 1 + list(DRUGS).index(name)])
        for key, omega in (("CL", iiv.get("CL", 0.0)), ("V", iiv.get("V", 0.0))):
            pname = f"{pre}.{key}" if f"{pre}.{key}" in cols else f"{pre}.{key}1"
            eta = rng.standard_normal(n)
            if pname in cols and omega > 0:
                cols[pname] = cols[pname] * np.exp(omega * eta)
    # log-normal on the excess severity above E_MIN = G0 + 5 W (the least E0 that sustains itself):
    # every untreated seizure persists
    e0 = value("SEIZURE.E0")
    e_min = value("SEIZURE.G0") + 5.0 * value("SEIZURE.W")
    eta = np.random.default_rng([seed, 0]).standard_normal(n)
    cols["SEIZURE.E0"] = e_min + (e0 - e_min) * np.exp(iiv.get("E0", 0.0) * eta)
    return pd.DataFrame(cols)


def _cohort_run(model, regimen, params_df, t_end_min, rtol):
    times = np.linspace(0.0, t_end_min / 60.0, 9)
    res = model.simulate(regimen, times, params_df, method="ode", states=False, rtol=rtol, atol=rtol * 1e-3)
    act = np.asarray(res[Seizure.ACTIVITY]).reshape(len(params_df), len(times))
    return act


def cohort_termination(delays_min=(5, 15, 30, 60), n: int = 500, seed=2024, drugs=("midazolam",), doses=None,
                       routes=None, offsets_min=None, *, t_end_min=240.0, iiv: Mapping | None = None,
                       params: Mapping | None = None, return_activity: bool = False, rtol: float = 1e-4):
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
    rtol : float
        ODE relative tolerance (absolute 1e-3 x rtol); 1e-4 gives the same terminated fractions as 1e-6
        at n = 500.

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
    model = se_model(drugs, brain=False)
    df = _cohort_params(model, drugs, n, seed, iiv, params, route_map)
    out, acts = {}, {}
    for delay in delays_min:
        reg = treat([delay + o for o in offsets], drugs, doses, [route_map.get(d) for d in drugs])
        act = _cohort_run(model, reg, df, t_end_min, rtol)
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
