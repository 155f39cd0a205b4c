"""Status epilepticus scenarios: treatment delay, virtual cohorts and polytherapy (issue 4).

Builds one composed model of a seizure and its treatment -- :class:`~pkpd.physiology.seizure.Seizure`
(activity from the excitation/inhibition balance), :class:`~pkpd.physiology.GabaAReceptors` and
:class:`~pkpd.physiology.NmdaReceptors` (trafficking driven by the seizure), :class:`~pkpd.physiology.Chloride`
(E_GABA), the drugs' PK from :mod:`pkpd.drugs` (optionally with their brain ECF behind P-gp,
:class:`~pkpd.physiology.BrainPgp`) and their PD:

- a benzodiazepine (midazolam ``MDZ``, lorazepam ``LZP``): :class:`~pkpd.pd.EffectCompartment` on the
  plasma concentration + :class:`~pkpd.pd.OperationalEffect` named ``BZD`` reading
  ``GABAA.SURFACE_A235`` (efficacy and potency fall with receptor internalisation) -> ``BZD.EFFECT``;
- ketamine (``KET``): effect compartment on the unbound plasma concentration (t1/2,ke0 3 min [M]) +
  :class:`~pkpd.physiology.seizure.NmdaChannelBlock` -> ``KET.NMDA_BLOCK`` (IC50 2 µM [M]);
- valproate (``VPA``): effect compartment (t1/2,ke0 30 min [M]) + sigmoid Emax (EC50 50 mg/L [M]) ->
  ``VPA.EFFECT``, counted as GABA-ergic inhibition.

The PD is driven by plasma concentrations (the benzodiazepine KA was set on plasma EEG EC50s,
:mod:`pkpd.pd`); with ``brain=True`` the unbound brain ECF concentration is simulated and reported as
well (``<drug>.CBRAIN_U``; no P-gp efflux for these drugs: CLPGP 0), but does not drive the effect.

Calibration (``[C]``, :mod:`pkpd.physiology.seizure`): the median seizure severity ``E0``, its IIV
(:data:`IIV`) and the benzodiazepine weight ``G_BZD`` are set so that 10 mg IM midazolam stops most
seizures when given 5 min after onset and progressively fewer later (n 500, seed 2024: 92 / 74 / 39 / 6 %
at 5 / 15 / 30 / 60 min; with ketamine 1.5 mg/kg IV at the same time 54 % at 30 and 17 % at 60 min) (Trinka 2015
[S]: IM midazolam controls 63-73 % of early SE; Lowenstein & Alldredge 1993 [M]: ~80 % <= 30 min,
< 40 % after 2 h; REFERENCE.md §5).

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

import numpy as np
import pandas as pd

from . import drugs as _drugs
from .dosing import Bolus, Regimen
from .errors import ModelError
from .models._compose import compose
from .pd import EffectCompartment, OperationalEffect
from .physiology.chloride import Chloride
from .physiology.receptors import GabaAReceptors, NmdaReceptors
from .physiology.seizure import DirectEffect, NmdaChannelBlock, Seizure, terminated
from .physiology.transporters import BrainPgp

__all__ = ["DRUGS", "IIV", "SE_DEFAULTS", "se_model", "se_params", "treat", "simulate_patient",
           "cohort_termination", "polytherapy_termination"]

LN2 = math.log(2.0)

#: Drugs known to the scenarios: constructor, role, default SE route and dose (mg) and infusion duration (h).
#: Doses: midazolam 10 mg IM (RAMPART, > 40 kg [S]); lorazepam 4 mg IV (ESETT [S]); ketamine 1.5 mg/kg
#: IV = 105 mg for 70 kg [M]; valproate 40 mg/kg over 10 min (ESETT [S], max 3000 mg) = 2800 mg.
DRUGS = {
    "midazolam": {"make": _drugs.midazolam, "role": "bzd", "route": "im", "dose": 10.0, "duration": None},
    "lorazepam": {"make": _drugs.lorazepam, "role": "bzd", "route": "iv", "dose": 4.0, "duration": None},
    "ketamine": {"make": _drugs.ketamine, "role": "nmda", "route": "iv", "dose": 105.0, "duration": None},
    "valproate": {"make": _drugs.valproate, "role": "gaba", "route": "iv", "dose": 2800.0, "duration": 10 / 60},
}

#: Effect-site equilibration (1/h) where :data:`pkpd.pd.KE0` has none [M]: lorazepam t1/2,ke0 ~ 10 min
#: (slow brain entry of a less lipophilic benzodiazepine), ketamine ~ 3 min, valproate ~ 30 min.
_KE0 = {"LZP": LN2 / (10 / 60), "KET": LN2 / (3 / 60), "VPA": LN2 / 0.5}

#: Benzodiazepine operational KA (mg/L): midazolam from :data:`pkpd.pd.BZD_OPERATIONAL` (EEG EC50 ~ 100
#: ng/mL); lorazepam [assumed] ~ 6-fold more potent (clinical dose 4 mg vs 10 mg, similar efficacy).
_BZD_KA = {"MDZ": 0.05, "LZP": 0.008}

#: Seizure defaults used by the scenarios ([C], see :mod:`pkpd.physiology.seizure`).
SE_DEFAULTS = {"SEIZURE.E0": 4.0, "SEIZURE.G_BZD": 3000.0, "SEIZURE.G_VPA": 1.0, "SEIZURE.SHUNT": 2.0}

#: Inter-individual variability (SD of the log, i.e. ~CV): PK clearance and central volume of every drug
#: (0.3 [M], typical of population PK) and seizure severity E0 (0.4 [C], sets how gradual the fall of
#: termination with delay is).
IIV = {"CL": 0.3, "V": 0.3, "E0": 1.2}


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
        Stiff (BDF by default). Parameter values of the drugs come from :func:`se_params`.
    """
    drugs = _as_tuple(drugs)
    comps = [Seizure(**dict(seizure or {})), GabaAReceptors(), NmdaReceptors(), Chloride()]
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
            comps.append(OperationalEffect("BZD", pre, "GABAA.SURFACE_A235", ka=_BZD_KA[pre]))
        elif role == "nmda":
            comps.append(EffectCompartment(pre, ke0=_KE0[pre], source="CU"))
            comps.append(NmdaChannelBlock(pre, ic50_um=2.0, mw=d.mw))
        else:
            comps.append(EffectCompartment(pre, ke0=_KE0[pre], source="CP"))
            comps.append(DirectEffect(pre, f"{pre}_EFFECT.CE", ec50=50.0))
    return compose(*comps)


def se_params(drugs: Sequence[str] = ("midazolam",), routes: Mapping[str, str] | None = None, **changes) -> dict:
    """Parameter values for :func:`se_model`: each drug's params for its route, and :data:`SE_DEFAULTS`.

    ``changes`` override by qualified name with '.' written as '__' (``SEIZURE__E0=2.5``).
    """
    routes = dict(routes or {})
    p = dict(SE_DEFAULTS)
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
    parts = [Bolus(0.0, time=0.0, cmt="SEIZURE.ACTIVITY")]
    for name, t, amt, rt, dur in zip(names, delays, doses, routes, durations):
        info = DRUGS.get(name)
        d, rt = _drug(name, rt)
        amt = info["dose"] if amt is None else float(amt)
        dur = info["duration"] if dur is None and rt == "iv" else dur
        kw = {"duration": dur} if dur else {}
        parts.append(d.dose(amt, rt, time=float(t) / 60.0, **kw))
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
    route_map = {}
    if routes is not None:
        rs = [routes] * len(drugs) if isinstance(routes, str) else list(routes)
        route_map = {d: r for d, r in zip(drugs, rs) if r is not None}
    model = se_model(drugs, brain=brain)
    p = se_params(drugs, route_map)
    p.update(dict(params or {}))
    regimen = treat(delay_min, drugs, doses, [route_map.get(d) for d in drugs])
    times = np.arange(0.0, t_end_min + 1e-9, step_min) / 60.0
    res = model.simulate(regimen, times, p, method="ode", states=False)
    df = res.to_frame()
    df.insert(0, "time_min", np.asarray(df["TIME"]) * 60.0)
    return df


def _cohort_params(model, base: Mapping, drugs, n: int, seed, iiv: Mapping) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cols = {"ID": np.arange(1, n + 1)}
    for k, v in base.items():
        cols[k] = np.full(n, float(v))
    for name in drugs:
        pre = DRUGS[name]["make"]().prefix
        for key, omega in (("CL", iiv.get("CL", 0.0)), ("V", iiv.get("V", 0.0))):
            pname = f"{pre}.{key}" if f"{pre}.{key}" in cols else f"{pre}.{key}1"
            if pname in cols and omega > 0:
                cols[pname] = cols[pname] * np.exp(omega * rng.standard_normal(n))
    # log-normal on the excess severity above E_MIN = G0 + 5 W (the least E0 that sustains itself):
    # every untreated seizure persists
    e0 = cols["SEIZURE.E0"]
    e_min = cols.get("SEIZURE.G0", np.ones(n)) + 5.0 * cols.get("SEIZURE.W", np.full(n, 0.05))
    cols["SEIZURE.E0"] = e_min + (e0 - e_min) * np.exp(iiv.get("E0", 0.0) * rng.standard_normal(n))
    return pd.DataFrame(cols)


def _cohort_run(model, regimen, params_df, t_end_min, rtol):
    times = np.linspace(0.0, t_end_min / 60.0, 9)
    res = model.simulate(regimen, times, params_df, method="ode", states=False, rtol=rtol, atol=rtol * 1e-3)
    act = np.asarray(res["SEIZURE.ACTIVITY"]).reshape(len(params_df), len(times))
    return act


def cohort_termination(delays_min=(5, 15, 30, 60), n: int = 500, seed=2024, drugs=("midazolam",), doses=None,
                       routes=None, offsets_min=None, *, t_end_min=240.0, iiv: Mapping | None = None,
                       params: Mapping | None = None, return_activity: bool = False, rtol: float = 1e-4):
    """Fraction of a virtual cohort whose seizure is terminated, per treatment delay.

    Each delay is one batched ``simulate`` call over the ``n`` subjects (a parameter DataFrame with an
    ``ID`` column). Subjects differ log-normally in every drug's clearance and central volume and in
    seizure severity ``SEIZURE.E0`` (:data:`IIV`); the same subjects (same ``seed``) are used for every
    delay. Terminated: activity below 0.1 at the end of the window (``t_end_min`` after onset), i.e.
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
        at n = 500 (the BDF cost is dominated by per-step overhead, so it is only ~10 % faster).

    Returns
    -------
    pandas.Series
        Terminated fraction indexed by delay (min); with ``return_activity`` also a dict delay -> array
        (n, 9) of activity on a grid from 0 to ``t_end_min``.
    """
    drugs = _as_tuple(drugs)
    k = len(drugs)
    offsets = [0.0] * k if offsets_min is None else list(offsets_min)
    route_map = {}
    if routes is not None:
        rs = [routes] * k if isinstance(routes, str) else list(routes)
        route_map = {d: r for d, r in zip(drugs, rs) if r is not None}
    model = se_model(drugs, brain=False)
    base = se_params(drugs, route_map)
    base.update(dict(params or {}))
    df = _cohort_params(model, base, drugs, n, seed, {**IIV, **dict(iiv or {})})
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
    other at ``sequential_min`` (Niquet 2017 [S] / 2019 [M], REFERENCE.md §5), same virtual cohort.

    Returns a Series with index ``("simultaneous", "sequential")``.
    """
    first = sequential_min[0]
    sim = cohort_termination((simultaneous_min,), n, seed, drugs, t_end_min=t_end_min)
    seq = cohort_termination((first,), n, seed, drugs, offsets_min=[t - first for t in sequential_min],
                             t_end_min=t_end_min)
    return pd.Series({"simultaneous": float(sim.iloc[0]), "sequential": float(seq.iloc[0])}, name="terminated")
