"""Benchmark of a composed mechanistic model (issue 3, criterion 8; issue 17, Done-when 1).

Carbamazepine (oral, autoinducing CYP3A4) + midazolam (oral two-compartment, well-stirred liver and gut
wall) + CYP3A4 liver and gut pools + midazolam brain P-gp: 1000 subjects x 14 days (carbamazepine 200 mg
every 12 h, midazolam 7.5 mg daily), hourly outputs, 30 % log-normal IIV on both clearances; 10 states.

Prints, from one process: pkpd's compiled engine -- ``solver="rodas"`` (Rodas5P, stiff) and ``"compiled"``
(Dormand-Prince) -- and the numpy engine's stacked LSODA (``solver="auto"``), each the median of repeats after
a warm-up call (whose time, including any compile or kernel load, is printed); R's deSolve ``lsoda`` on the same
equations written as a compiled C model (benchmarks/_desolve.py; a loop over subjects in one Rscript, timed by R
around the loop) when ``Rscript`` and deSolve are installed, otherwise the figure stored from the issue (4.89 s,
2 cores), said so; each run's ratio to deSolve and its largest relative error in MDZ.CP against pkpd's
explicit engine at rtol 1e-10 (50 subjects; where CP > 1e-6 of the subject's maximum).

Run: ``python benchmarks/bench_mechanisms.py [--quick]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

import _desolve  # benchmarks/_desolve.py, beside this script
from _baseline import median_time
import pkpd
from pkpd.engine._compiled import equations_of
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


STORED_DESOLVE = 4.89       # s, 1000 subjects, deSolve lsoda with a C right-hand side (issue 17's table, 2 cores)


def desolve(model, params, rtol=1e-6, atol=1e-9):
    """deSolve's time and MDZ.CP for ``params`` (benchmarks/_desolve.py)."""
    _, p = model.resolve_params(params)
    matrix = np.column_stack([p[k] for k in model.parameter_names])
    dosing = model.dosing_matrices({k: v[:1] for k, v in p.items()}, 1)
    doses = [(d.time + k * d.ii + dosing["ALAG"][0, model.state_index(d.cmt)], model.state_index(d.cmt),
              d.amt * dosing["F"][0, model.state_index(d.cmt)]) for d in regimen() for k in range(d.addl + 1)]
    seconds, central = _desolve.run(equations_of(model), matrix, model.initial_state(p), doses, TIMES,
                                    model.state_index("MDZ.CENTRAL"), rtol=rtol, atol=atol)
    return seconds, central / p["MDZ.V1"][:, None]


def max_error(c, reference):
    c = np.asarray(c).reshape(-1, len(TIMES))[: len(reference)]
    big = reference > 1e-6 * reference.max(axis=1, keepdims=True)
    return np.max(np.abs(c[big] / reference[big] - 1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 subjects, one repeat")
    args = parser.parse_args()
    n, repeats = (100, 1) if args.quick else (1000, 3)
    model, params = build(), population(n)
    reference = model.simulate(regimen(), TIMES, params.iloc[:50], method="ode", solver="compiled", rtol=1e-10,
                               atol=1e-13, states=False)["MDZ.CP"].reshape(50, -1)
    print(f"composed model: {len(model.states)} states, {len(model.parameters)} parameters; {n} subjects x {DAYS} "
          f"days, {len(TIMES)} outputs, rtol 1e-6, atol 1e-9")
    if _desolve.available():
        t_r, c_r = desolve(model, params)
        source = "deSolve measured now"
        print(f"deSolve lsoda, compiled C model (R loop over subjects): {t_r:8.2f} s   max rel. error "
              f"{max_error(c_r, reference):.2e}")
    else:
        t_r, source = STORED_DESOLVE * n / 1000, "stored deSolve figure: Rscript or deSolve not found"
        print(f"deSolve lsoda, compiled C model: {t_r:8.2f} s ({source})")
    for solver in ("rodas", "compiled", "auto"):
        start = time.perf_counter()
        model.simulate(regimen(), TIMES, params.iloc[:2], method="ode", solver=solver, states=False)
        first = time.perf_counter() - start
        t, result = median_time(lambda: model.simulate(regimen(), TIMES, params, method="ode", solver=solver,
                                                 states=False), 1 if solver == "auto" else repeats)
        print(f"pkpd solver={solver!r:11}: {t:8.2f} s (warm-up call {first:5.2f} s)   max rel. error "
              f"{max_error(result['MDZ.CP'], reference):.2e}   ratio to deSolve {t / t_r:5.2f} ({source})")


if __name__ == "__main__":
    main()
