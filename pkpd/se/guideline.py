"""Refractory and super-refractory status epilepticus along the guideline sequence (issue 14).

The guideline (benzodiazepine -> second-line loading dose -> anaesthetic infusion titrated to burst suppression,
tapered after 24 h) is run on a virtual cohort; refractory (RSE) and super-refractory SE (SRSE) are *outcomes*
of the model, not inputs:

- **RSE**: still seizing when the anaesthetic would start, i.e. after a benzodiazepine and a second-line drug
  (the definition of Novy 2010, Epilepsia 51:251; Mayer 2002, Arch Neurol 59:205);
- **SRSE**: among RSE, still seizing 24 h after the anaesthetic began, or seizing again on or after its taper
  (Shorvon & Ferlisi 2011, Brain 134:2802).

Protocol (times per patient, minutes after onset; ``[A]`` assumptions of this module):

- first benzodiazepine (midazolam 10 mg IM) log-normal, median ``bzd_median_min`` 30 min (log-SD 0.5, at least
  5 min) [A: in-hospital SE is treated later than RAMPART's paramedics treated it];
- second line (levetiracetam 60 mg/kg, max 4500 mg, over 10 min, ESETT [S]) ``second_after_min`` 20 min later
  [A: within ESETT's 5-30 min window];
- if still seizing ``anaesthetic_after_min`` 30 min after that [A]: propofol 2 mg/kg over 1 min [M] then an
  infusion titrated to burst suppression -- the rate that holds the patient's own plasma concentration at the
  burst-suppression target (:data:`pkpd.se.defaults.PD`, 9 mg/L), ``target x CL_i`` -- for
  ``anaesthesia_h`` 24 h, tapered in ``taper_steps`` equal steps over ``taper_h`` 12 h [A];
- outcomes are read ``observe_after_taper_h`` 24 h after the taper ends.

Toxicity endpoints of the anaesthetic: hypotension (plasma propofol above
:data:`pkpd.se.defaults.TOXICITY` ``hypotension_c`` at an hourly check) and the PRIS rule (rate above 4 mg/kg/h for
more than 48 h, Fodale & La Monaca 2008, Drug Saf 31:293).

Examples
--------
>>> short = {"anaesthesia_h": 2.0, "taper_h": 1.0, "observe_after_taper_h": 1.0}   # a quick run; defaults 24/12/24 h
>>> out = guideline_outcomes(n=40, protocol=short)
>>> list(out.index[:4])
['controlled_before_anaesthesia', 'rse', 'srse', 'srse_in_rse']
>>> bool(out["srse"] <= out["rse"] == out["anaesthetic_given"])
True
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..physiology import TERMINATION_THRESHOLD, Chloride, Seizure
from . import defaults as SE
from . import scenarios
from .calibration import model_params, weights

__all__ = ["PROTOCOL", "guideline_outcomes"]

#: The protocol's timing assumptions (see the module docstring).
PROTOCOL = {"bzd_median_min": 30.0, "bzd_sd": 0.5, "bzd_min_min": 5.0, "second_after_min": 20.0,
            "anaesthetic_after_min": 30.0, "anaesthesia_h": 24.0, "taper_h": 12.0, "taper_steps": 3,
            "observe_after_taper_h": 24.0}

_DRUGS = ("midazolam", "levetiracetam", "propofol")


def _cohort(n, seed, values):
    params, iiv = model_params(values or {}, _DRUGS)
    df = scenarios.cohort_parameters(_DRUGS, n, seed, iiv=iiv, params=params)
    wt = weights(n, seed)
    df = scenarios.scale_to_weight(df, _DRUGS, wt)
    return df, wt


def _records(model, ids, time_h, amt=0.0, rate=0.0, cmt=Seizure.ACTIVITY, evid=1, order=0):
    n = len(ids)
    return pd.DataFrame({"ID": ids, "TIME": np.broadcast_to(time_h, n), "EVID": evid,
                         "AMT": np.broadcast_to(amt, n), "RATE": np.broadcast_to(rate, n),
                         "CMT": model.state_index(cmt) + 1, "ORD": order})


#: What the guideline study reads at its observation times.
_OBSERVED = (Seizure.ACTIVITY, "PPF.CP", Seizure.F_GABA, Seizure.INHIBITION, Chloride.E_GABA)


def _observe(model, events, params, rtol, observed):
    """Simulate ``events`` (column ``ORD``: observation ``k`` is ``100 + k``) and write each quantity of
    ``observed`` ({name: (patient, observation) array}) at the observations."""
    from ..engine import explicit_solver
    from ..engine.simulation import simulate

    order = events["ORD"].to_numpy()
    res = simulate(model, events.drop(columns="ORD"), params, method="ode", rtol=rtol, atol=rtol * 1e-3,
                   solver=explicit_solver())
    rows = np.nonzero(order >= 100)[0]
    patient, k = events["ID"].to_numpy()[rows] - 1, order[rows] - 100
    for name, arr in observed.items():
        arr[patient, k] = np.asarray(res[name])[rows]


def guideline_outcomes(n: int = 1000, seed=2024, *, values: Mapping | None = None, protocol: Mapping | None = None,
                       rtol: float = 1e-4, return_detail: bool = False):
    """Run the guideline sequence on ``n`` virtual adults and return the cohort's outcomes.

    Parameters
    ----------
    n, seed : int
        Cohort size and seed (the patients of :func:`pkpd.se.scenarios.cohort_parameters`, weights of
        :func:`pkpd.se.calibration.weights`).
    values : mapping, optional
        Calibrated quantities (:data:`pkpd.se.calibration.CALIBRATION_PARAMETERS`); default the library's.
    protocol : mapping, optional
        Changes to :data:`PROTOCOL`.

    Returns
    -------
    pandas.Series
        Fractions of the treated cohort: ``controlled_before_anaesthesia``, ``rse`` (seizing when the anaesthetic is due),
        ``srse`` (RSE and seizing 24 h into anaesthesia or after the taper), ``srse_in_rse``,
        ``anaesthetic_given`` (= ``rse``), ``hypotension`` and ``pris_risk`` (among all patients), and ``n``.
        With ``return_detail`` a dict of hourly arrays (n, hours) from the start of the anaesthetic instead (NaN for
        the patients who were not RSE: they get no anaesthetic and are not simulated past its start).
    """
    proto = {**PROTOCOL, **dict(protocol or {})}
    model = scenarios.se_model(_DRUGS)
    df, wt = _cohort(n, seed, values)
    ids = df["ID"].to_numpy()
    rng = np.random.default_rng([seed, 102])
    t_bzd = np.maximum(proto["bzd_median_min"] * np.exp(proto["bzd_sd"] * rng.standard_normal(n)),
                       proto["bzd_min_min"]) / 60.0
    t_second = t_bzd + proto["second_after_min"] / 60.0
    t_anaes = t_second + proto["anaesthetic_after_min"] / 60.0
    t_24 = t_anaes + proto["anaesthesia_h"]
    t_taper_end = t_24 + proto["taper_h"]
    t_end = t_taper_end + proto["observe_after_taper_h"]

    mdz, lev, ppf = (scenarios.DRUGS[d]["make"]() for d in _DRUGS)
    lev_amt = np.minimum(60.0 * wt, 4500.0)
    target = SE.PD["PPF"]["target"]
    rate_full = target * df["PPF.CL"].to_numpy()                       # mg/h holding plasma at the target
    recs = [_records(model, ids, 0.0, evid=2),
            _records(model, ids, t_bzd, 10.0, cmt=mdz.routes["im"]["cmt"], order=1),
            _records(model, ids, t_second, lev_amt, lev_amt / (10 / 60), cmt=lev.routes["iv"]["cmt"], order=2)]
    # anaesthetic: given to the patients still seizing at t_anaes (the second pass below)
    bolus = 2.0 * wt
    recs.append(_records(model, ids, t_anaes, bolus, bolus * 60.0, cmt=ppf.routes["iv"]["cmt"], order=3))
    recs.append(_records(model, ids, t_anaes, rate_full * proto["anaesthesia_h"], rate_full,
                         cmt=ppf.routes["iv"]["cmt"], order=4))
    steps = int(proto["taper_steps"])
    step_h = proto["taper_h"] / steps
    for k in range(steps):
        r = rate_full * (steps - k) / (steps + 1)
        recs.append(_records(model, ids, t_24 + k * step_h, r * step_h, r, cmt=ppf.routes["iv"]["cmt"], order=5 + k))
    hourly = np.arange(0.0, float(np.max(t_end - t_anaes)) + 1e-9, 1.0)
    obs_times = [t_anaes, t_24, t_taper_end, t_end] + [t_anaes + h for h in hourly]
    for k, t in enumerate(obs_times):
        recs.append(_records(model, ids, np.minimum(t, t_end), evid=0, order=100 + k))
    ev = pd.concat(recs, ignore_index=True).sort_values(["ID", "TIME", "ORD"], kind="stable").reset_index(drop=True)
    for c, v in (("II", 0.0), ("ADDL", 0), ("SS", 0)):
        ev[c] = v

    # Two passes: everyone up to the anaesthetic's start (who is RSE?), then only the RSE patients through the
    # anaesthesia, taper and observation (60 h of a stiff model: the costly part). Each patient is integrated on
    # its own steps by the explicit engine, so a patient's course does not depend on who else is in the batch.
    observed = {name: np.full((n, len(obs_times)), np.nan) for name in _OBSERVED}
    ords = ev["ORD"].to_numpy()
    _observe(model, ev[(ords < 3) | (ords == 100)], df, rtol, observed)
    act, ppf_cp = observed[Seizure.ACTIVITY], observed["PPF.CP"]
    rse = act[:, 0] >= TERMINATION_THRESHOLD
    if rse.any():
        _observe(model, ev[np.isin(ev["ID"].to_numpy(), ids[rse])], df[rse], rtol, observed)
    seizing = act >= TERMINATION_THRESHOLD  # NaN (not simulated past the anaesthetic's start) is False
    srse = rse & (seizing[:, 1] | seizing[:, 2] | seizing[:, 3])
    hypotension = rse & (np.nan_to_num(ppf_cp[:, 4:]).max(axis=1) > SE.TOXICITY["PPF"]["hypotension_c"])
    tox = SE.TOXICITY["PPF"]
    pris = rse & (rate_full / wt > tox["pris_mg_kg_h"]) & (proto["anaesthesia_h"] + proto["taper_h"] > tox["pris_h"])
    if return_detail:
        return {"hours_after_anaesthetic": hourly, "activity": act[:, 4:], "ppf_cp": ppf_cp[:, 4:], "rse": rse,
                "srse": srse, **{q: observed[q][:, 4:] for q in _OBSERVED[2:]}}
    return pd.Series({"controlled_before_anaesthesia": float(np.mean(~rse)), "rse": float(rse.mean()), "srse": float(srse.mean()),
                      "srse_in_rse": float(srse[rse].mean()) if rse.any() else float("nan"),
                      "anaesthetic_given": float(rse.mean()), "hypotension": float(hypotension.mean()),
                      "pris_risk": float(pris.mean()), "n": n}, name="guideline")
