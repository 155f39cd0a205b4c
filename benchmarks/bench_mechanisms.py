"""Benchmark of a composed mechanistic model (issue 3, criterion 8).

Carbamazepine (oral, autoinducing CYP3A4) + midazolam (oral two-compartment, well-stirred liver and gut
wall) + CYP3A4 liver and gut pools + midazolam brain P-gp: 1000 subjects x 14 days (carbamazepine 200 mg
every 12 h, midazolam 7.5 mg daily), hourly outputs, 30 % log-normal IIV on both clearances.

Prints the batched ODE engine (median of repeats) against a per-subject
``scipy.integrate.solve_ivp(method="LSODA", rtol=1e-6, atol=1e-9)`` loop of the same equations (the
composed model's own right-hand side for one subject, restarted at every dose), the ratio, and the
largest relative difference between the two.

Run: ``python benchmarks/bench_mechanisms.py [--quick]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import pandas as pd

import _baseline  # benchmarks/_baseline.py, beside this script
import pkpd
from pkpd.models import OneCompartmentOral, TwoCompartmentOral
from pkpd.physiology import BrainPgp, EnzymeTurnover, Induction, WellStirredLiver

DAYS = 14
TIMES = np.arange(0, 24 * DAYS + 1, 1.0)
BASE = {"CBZ.CL": 1.75, "CBZ.V": 98.0, "CBZ.KA": 0.5, "CBZ.FU": 0.26, "MDZ.CL": 19.4, "MDZ.V1": 30.0, "MDZ.Q": 40.0,
        "MDZ.V2": 50.0, "MDZ.KA": 3.0, "MDZ.FU": 0.06}


def build():
    """The composed model (illustrative parameters; the drug library holds the cited ones)."""
    return pkpd.compose(
        OneCompartmentOral(drug="CBZ"),
        TwoCompartmentOral(drug="MDZ"),
        EnzymeTurnover("CYP3A4", inducers={"CBZ": Induction(emax=8.0, ec50=2.0)}),
        WellStirredLiver("CBZ", {"CYP3A4": 0.55}, clh=1.5, clr=0.25, qh=86.8, fub=0.26, fg=1.0),
        WellStirredLiver("MDZ", {"CYP3A4": 0.93}, clh=19.4, clr=0.0, qh=86.8, fub=0.09, fg=0.56),
        BrainPgp("MDZ", clin=20.0, clout=20.0, clpgp=2.0),
    )


def regimen():
    return pkpd.Bolus(200, cmt="CBZ.DEPOT", ii=12, addl=2 * DAYS - 1) + pkpd.Bolus(7.5, cmt="MDZ.DEPOT", ii=24,
                                                                                   addl=DAYS - 1)


def population(n, seed=3):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({k: np.full(n, v) for k, v in BASE.items()})
    for k in ("CBZ.CL", "MDZ.CL"):
        frame[k] *= np.exp(0.3 * rng.standard_normal(n))
    frame.insert(0, "ID", np.arange(1, n + 1))
    return frame


def lsoda_loop(model, params: pd.DataFrame) -> np.ndarray:
    """The per-subject solve_ivp(LSODA) baseline (benchmarks/_baseline.py), MDZ.CP."""
    return _baseline.lsoda_loop(model, params, regimen(), TIMES, ("MDZ.CP",))["MDZ.CP"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 subjects, fewer repeats")
    args = parser.parse_args()
    n = 100 if args.quick else 1000
    model, params = build(), population(n)
    model.simulate(regimen(), TIMES, params.iloc[:5], method="ode", states=False)  # warm-up
    times = []
    for _ in range(1 if args.quick else 3):
        start = time.perf_counter()
        result = model.simulate(regimen(), TIMES, params, method="ode", states=False)
        times.append(time.perf_counter() - start)
    t_engine = statistics.median(times)
    n_loop = 5 if args.quick else 20
    start = time.perf_counter()
    loop = lsoda_loop(model, params.iloc[:n_loop])
    t_loop = (time.perf_counter() - start) * n / n_loop
    engine = result["MDZ.CP"].reshape(n, -1)[:n_loop]
    big = loop > 1e-6 * loop.max()
    diff = np.max(np.abs(engine[big] / loop[big] - 1))
    print(f"composed model: {len(model.states)} states, {len(model.parameters)} parameters; {n} subjects x {DAYS} days, "
          f"{len(TIMES)} outputs")
    print(f"per-subject LSODA loop ({n_loop} subjects, scaled to {n}): {t_loop:8.2f} s")
    solver = "lsoda" if model.stiff else "dp5"
    print(f"batched ODE engine (solver='auto' -> {solver}, rtol 1e-6), median: {t_engine:8.2f} s")
    print(f"ratio: {t_loop / t_engine:.1f}x   max relative difference in MDZ.CP: {diff:.2e}")


if __name__ == "__main__":
    main()
