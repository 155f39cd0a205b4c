"""Benchmark: FOCE-I with a time-varying covariate, exact (matrix exponentials) against the ODE solver (issue 17,
item 3).

Scenario: 136 synthetic subjects, one-compartment oral (``OneCompartmentOral``), 100 mg every 12 h at steady
state from time 0 (SS=1, ADDL 3), then 150 mg every 12 h at steady state from 48 h (SS=1: a new regimen,
ADDL 2), 14 observations each over 0-72 h; body weight changes at every observation record (a drift of a
few kg over the three days), and clearance follows it, ``CL = TVCL (WT/70)^0.75 exp(eta_CL)``
(``pkpd.power`` fixed exponent); 30 % IIV on CL, V and KA, 10 % proportional error. The covariate changes
within subjects, so the population model predicts through ``BatchPredictor`` with ``record_params`` (CL per
record).

Prints, exact path (linear model, ``engine="auto"``) against the ODE solver (``engine="ode"``, rtol 1e-9):
(1) one batched prediction of 4 parameter sets through ``BatchPredictor`` (the estimation hot path): wall
times, ratio, max relative difference; (2) one FOCE-I objective evaluation (``pkpd.population_ofv`` at the start
values, EBEs of every subject included): wall times, ratio and both OFVs; (3) with ``--fit``, the two full
``fit_population(method="FOCEI", covariance=False)`` runs (``--max-evaluations`` caps them; uncapped, the ODE
fit takes hours at ~90 s per objective evaluation), their wall times, ratio, estimates and the maximum
relative difference of their PRED/IPRED diagnostics. Targets of the issue: exact fit < 10 s, predictions
agreeing to 1e-6.

Run: ``python benchmarks/bench_time_varying.py [--fit [--max-evaluations N] [--covariance]]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

import pkpd
from pkpd.engine import BatchPredictor
from pkpd.models import OneCompartmentOral
from pkpd.population import PopulationModel, fit_population

N_SUBJECTS = 136
TRUE = {"CL": 5.0, "V": 50.0, "KA": 1.2}
OBS_TIMES = (0.5, 1.0, 2.0, 4.0, 8.0, 11.5, 24.5, 30.0, 36.0, 47.5, 49.0, 52.0, 60.0, 72.0)


def dataset(seed=136):
    """The synthetic records (WT per record) and the true per-record CL used to simulate DV."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(1, N_SUBJECTS + 1):
        wt0 = float(np.clip(rng.normal(75.0, 15.0), 40.0, 130.0))
        drift = rng.normal(0.0, 0.05)  # kg/h: a few kg over three days
        doses = [dict(TIME=0.0, EVID=1, AMT=100.0, II=12.0, ADDL=3, SS=1),
                 dict(TIME=48.0, EVID=1, AMT=150.0, II=12.0, ADDL=2, SS=1)]
        recs = doses + [dict(TIME=t, EVID=0, AMT=0.0, II=0.0, ADDL=0, SS=0) for t in OBS_TIMES]
        recs.sort(key=lambda r: (r["TIME"], -r["EVID"]))  # stable: the dose first at equal times
        for r in recs:
            wt = round(wt0 + drift * r["TIME"], 1)
            rows.append(dict(ID=i, TIME=r["TIME"], EVID=r["EVID"], AMT=r["AMT"], RATE=0.0,
                             CMT=1 if r["EVID"] == 1 else 2, II=r["II"], ADDL=r["ADDL"], SS=r["SS"],
                             MDV=int(r["EVID"] == 1), DV=0.0, WT=wt))
    events = pd.DataFrame(rows)
    eta = rng.normal(0.0, 0.3, size=(N_SUBJECTS, 3))
    ids = events["ID"].to_numpy() - 1
    cl = TRUE["CL"] * (events["WT"].to_numpy() / 70.0) ** 0.75 * np.exp(eta[ids, 0])
    params = pd.DataFrame({"ID": np.arange(1, N_SUBJECTS + 1), "CL": TRUE["CL"] * np.exp(eta[:, 0]),
                           "V": TRUE["V"] * np.exp(eta[:, 1]), "KA": TRUE["KA"] * np.exp(eta[:, 2])})
    truth = pkpd.simulate(OneCompartmentOral(), events, params, record_params={"CL": cl})["CP"]
    obs = events["EVID"].to_numpy() == 0
    events.loc[obs, "DV"] = truth[obs] * (1 + 0.1 * rng.standard_normal(obs.sum()))
    return pkpd.read_nonmem(events)


def population_model():
    return PopulationModel(OneCompartmentOral(), {"CL": 4.0, "V": 40.0, "KA": 1.0}, {"CL": 0.1, "V": 0.1, "KA": 0.1},
                           pkpd.ProportionalError(0.15),
                           covariates=[pkpd.power("CL", "WT", reference=70, exponent=0.75, fixed=True)])


def fit(pm, data, engine, args):
    start = time.perf_counter()
    res = fit_population(pm, data, method="FOCEI", engine=engine, covariance=args.covariance, progress=False,
                         max_evaluations=args.max_evaluations)
    return res, time.perf_counter() - start


def timed(function, *a, **kw):
    """``function(*a, **kw)`` and its wall time."""
    start = time.perf_counter()
    out = function(*a, **kw)
    return out, time.perf_counter() - start


def max_rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-12 * np.max(np.abs(b)))))


def predictions(data, engine):
    """Predictions at the observations for 4 parameter sets (CL per record from WT), through the population
    fit's hot path (BatchPredictor), and their wall time (second call: plans compiled)."""
    ev = data.events
    rows = np.nonzero(ev["EVID"].to_numpy() == 0)[0]
    predict = BatchPredictor(OneCompartmentOral(), data, "CP", rows, engine)
    sets = [{"V": 50.0 * (1 + 0.1 * j), "KA": 1.2 * (1 - 0.1 * j)} for j in range(4)]
    wt = ev["WT"].to_numpy()
    rp = [{"CL": 5.0 * (1 + 0.05 * j) * (wt / 70) ** 0.75} for j in range(4)]
    timed(predict, sets, record_params=rp)
    return timed(predict, sets, record_params=rp)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fit", action="store_true", help="also run the two full FOCE-I fits (the ODE one takes "
                        "~90 s per objective evaluation: hours)")
    parser.add_argument("--max-evaluations", type=int, default=5000, help="cap on the fits' outer evaluations")
    parser.add_argument("--covariance", action="store_true", help="run the covariance step too")
    args = parser.parse_args()

    data = dataset()
    pm = population_model()
    ev = data.events
    print(f"{ev['ID'].nunique()} subjects, {int((ev['EVID'] == 0).sum())} observations, "
          f"{int((ev['SS'] > 0).sum())} SS records, WT changing at the observation records "
          f"(within-subject range up to {ev.groupby('ID')['WT'].agg(np.ptp).max():.1f} kg)")

    # 1. the hot path: one batched prediction of 4 parameter sets
    (p_exact, t_pe), (p_ode, t_po) = predictions(data, "auto"), predictions(data, "ode")
    print(f"BatchPredictor, 4 sets x {ev['ID'].nunique()} subjects: exact {t_pe:.3f} s, ODE (rtol 1e-9) "
          f"{t_po:.3f} s, ratio {t_po / t_pe:.1f}x, max rel. difference {max_rel(p_exact, p_ode):.2e}")
    # 2. one FOCE-I objective evaluation at the start values (EBEs of every subject)
    ofv_exact, t_oe = timed(pkpd.population_ofv, pm, data, method="FOCEI")
    ofv_ode, t_oo = timed(pkpd.population_ofv, pm, data, method="FOCEI", engine="ode")
    print(f"FOCE-I objective (one evaluation): exact {t_oe:.2f} s, ODE {t_oo:.2f} s, ratio {t_oo / t_oe:.1f}x; "
          f"OFV {ofv_exact:.9f} vs {ofv_ode:.9f} (difference {abs(ofv_exact - ofv_ode):.2e})")
    if not args.fit:
        return

    # 3. the full fits
    exact, t_exact = fit(pm, data, "auto", args)
    print(f"FOCE-I fit, exact path : {t_exact:8.2f} s, {exact.n_evaluations} evaluations, OFV {exact.ofv:.6f} "
          f"(target < 10 s: {'met' if t_exact < 10 else 'NOT met'})", flush=True)
    ode, t_ode = fit(pm, data, "ode", args)
    print(f"FOCE-I fit, ODE solver : {t_ode:8.2f} s, {ode.n_evaluations} evaluations, OFV {ode.ofv:.6f}")
    print(f"ratio ODE / exact      : {t_ode / t_exact:8.1f}x")
    for name in exact.theta:
        print(f"  theta {name:>3}: exact {exact.theta[name]:.8g}   ode {ode.theta[name]:.8g}   true "
              f"{TRUE.get(name, float('nan')):.4g}")
    diag = {c: max_rel(exact.diagnostics[c], ode.diagnostics[c]) for c in ("PRED", "IPRED")}
    print(f"max rel. difference of the fits' PRED {diag['PRED']:.2e}, IPRED {diag['IPRED']:.2e} (target 1e-6: "
          f"{'met' if max(diag.values()) <= 1e-6 else 'NOT met'})")


if __name__ == "__main__":
    main()
