"""Benchmark: fitting one subject with the ODE form of TwoCompartmentOral versus its closed form (issue 5,
criterion 7: the ODE fit should cost <= 10x the closed-form fit).

One synthetic subject (500 mg oral, 14 samples over 48 h, 10 % proportional error, seed 5); the same
start values, error model (proportional, CV estimated) and parameterisation (log CL, V1, Q, V2, KA) for
both fits. Prints the median wall time of each (repeats), the ratio, and the largest relative
difference between the two sets of estimates.

Run: ``python benchmarks/bench_fit.py [--repeats 5]``.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np
import pandas as pd

import pkpd
from pkpd.estimation import ProportionalError, fit_individual, make_params
from pkpd.models import TwoCompartmentOral

TRUE = {"CL": 5.0, "V1": 20.0, "Q": 8.0, "V2": 60.0, "KA": 1.2}
TIMES = np.array([0.25, 0.5, 1, 1.5, 2, 3, 4, 6, 8, 12, 16, 24, 36, 48])
FREE = ("CL", "V1", "Q", "V2", "KA")


def subject(seed=5):
    model = TwoCompartmentOral()
    cp = model.simulate(pkpd.Bolus(500, cmt="DEPOT"), TIMES, TRUE)["CP"]
    dv = cp * (1 + 0.1 * np.random.default_rng(seed).standard_normal(len(TIMES)))
    frame = pd.DataFrame({"ID": 1, "TIME": np.r_[0.0, TIMES], "AMT": np.r_[500.0, np.zeros(len(TIMES))],
                          "DV": np.r_[np.nan, dv], "CMT": np.r_[1, np.full(len(TIMES), 2)]})
    return pkpd.read_nonmem(frame)


def fit(data, engine):
    model = TwoCompartmentOral()
    start = {k: v * 0.7 for k, v in TRUE.items()}
    params = make_params(model, start, log=FREE, estimate=FREE)
    return fit_individual(model, data, params, error=ProportionalError(0.2), engine=engine)


def timed(data, engine, repeats):
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fit(data, engine)
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    data = subject()
    with warnings.catch_warnings():
        warnings.simplefilter("error", pkpd.ConvergenceWarning)   # a benchmark of failed fits is no benchmark
        t_closed, closed = timed(data, "analytic", args.repeats)
        t_ode, ode = timed(data, "ode", args.repeats)
    diff = max(abs(ode.estimates[k] / closed.estimates[k] - 1) for k in FREE)
    print(f"one subject, TwoCompartmentOral, {len(TIMES)} observations, proportional error; "
          f"{closed.lmfit_result.nfev} / {ode.lmfit_result.nfev} objective evaluations (closed / ODE)")
    print(f"closed-form fit, median of {args.repeats}: {t_closed:8.3f} s")
    print(f"ODE fit (batched engine, rtol 1e-9), median of {args.repeats}: {t_ode:8.3f} s")
    print(f"ratio ODE / closed form: {t_ode / t_closed:.1f}x (target <= 10x); "
          f"max relative difference of the estimates {diff:.1e}")


if __name__ == "__main__":
    main()
