"""Benchmark of the simulation engine (issue 2, criterion 6).

Scenario: 1000 subjects, ``TwoCompartmentOral``, 100 mg doses at 0/12/24 h, 721 output times over
0-72 h, 30 % log-normal IIV on every parameter. Prints, from one process:

1. the batched ODE engine (median of repeats) against a per-subject ``scipy.integrate.solve_ivp(
   method="LSODA", rtol=1e-6, atol=1e-9)`` loop (restarted at each dose so both are exact in dosing),
   and the ratio -- the engine at the same rtol 1e-6, and at rtol 1e-5, the loosest of its tolerances
   that still meets the accuracy target (max relative error <= 1e-4 against the closed form);
2. each method's maximum relative error against the closed form (where C > 1e-6 Cmax);
3. the closed form for 1000 subjects, and for 100 000 subjects (chunked) in a child process whose peak
   resident memory is reported;
4. the compiled engine (``solver="compiled"``: the same DP5 steps, compiled by numba and run on threads) against
   the numpy engine, and its compile time: cold (a child process with an empty kernel cache) and warm (a second
   child process loading the cached kernel), each the child's first ``simulate`` call.

Run: ``python benchmarks/bench_engine.py [--quick]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd
from scipy.integrate import solve_ivp

import pkpd
from _baseline import median_time  # benchmarks/_baseline.py, beside this script
from pkpd.models import TwoCompartmentOral

BASE = {"CL": 5.0, "V1": 20.0, "Q": 10.0, "V2": 50.0, "KA": 1.0}
TIMES = np.linspace(0, 72, 721)
DOSE_TIMES = (0.0, 12.0, 24.0)
AMT = 100.0


def population(n, seed=1):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({k: v * np.exp(0.3 * rng.standard_normal(n)) for k, v in BASE.items()})
    frame.insert(0, "ID", np.arange(1, n + 1))
    return frame


def regimen():
    return pkpd.Regimen([pkpd.Bolus(AMT, time=t, cmt="DEPOT") for t in DOSE_TIMES])


def lsoda_loop(params: pd.DataFrame) -> np.ndarray:
    """The naive baseline: one solve_ivp(LSODA) per subject and dosing interval."""
    out = np.empty((len(params), len(TIMES)))
    bounds = list(DOSE_TIMES) + [TIMES[-1]]
    for i, row in enumerate(params.itertuples(index=False)):
        cl, v1, q, v2, ka = row.CL, row.V1, row.Q, row.V2, row.KA

        def rhs(t, y):
            c1 = y[1] / v1
            flow = q * (c1 - y[2] / v2)
            return [-ka * y[0], ka * y[0] - cl * c1 - flow, flow]

        y = np.zeros(3)
        for k, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
            y[0] += AMT
            last = k == len(DOSE_TIMES) - 1
            mask = (TIMES >= a) & ((TIMES <= b) if last else (TIMES < b))
            t_eval = TIMES[mask] if last else np.append(TIMES[mask], b)  # b: the state at the next dose
            sol = solve_ivp(rhs, (a, b), y, method="LSODA", rtol=1e-6, atol=1e-9, t_eval=t_eval)
            out[i, mask] = sol.y[1, : mask.sum()] / v1
            y = sol.y[:, -1].copy()
    return out


def timed(fn, repeats):
    """Median wall time of ``repeats`` calls after one warm-up call (imports, caches)."""
    fn()
    return median_time(fn, repeats)


def big_closed_form(n):
    """Child process: closed form for n subjects; prints elapsed seconds and peak RSS (MB)."""
    params = population(n, seed=2)
    start = time.perf_counter()
    result = TwoCompartmentOral().simulate(regimen(), TIMES, params, method="analytic", states=False)
    elapsed = time.perf_counter() - start
    assert np.isfinite(result["CP"]).all() and len(result) == n * len(TIMES)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{elapsed:.3f} {peak_mb:.0f}")


def first_call():
    """Child process: seconds of the first compiled simulate call (compiling or loading the kernel)."""
    params = population(10)
    start = time.perf_counter()
    TwoCompartmentOral().simulate(regimen(), TIMES, params, method="ode", solver="compiled")
    print(f"{time.perf_counter() - start:.3f}")


def compile_times():
    """Cold and warm first-call times, in child processes sharing a fresh kernel cache."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "PKPD_CACHE_DIR": cache}
        run = lambda: float(subprocess.run([sys.executable, __file__, "--first-call"], env=env,  # noqa: E731
                                           capture_output=True, text=True, check=True).stdout)
        return run(), run()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, 10 000 subjects for the memory run")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--first-call", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        big_closed_form(args.child)
        return
    if args.first_call:
        first_call()
        return

    model = TwoCompartmentOral()
    params = population(1000)
    repeats = 3 if args.quick else 7
    print(f"pkpd {pkpd.__version__}: {len(params)} subjects, TwoCompartmentOral, doses at {DOSE_TIMES} h, "
          f"{len(TIMES)} output times")

    t_ode, ode = timed(lambda: model.simulate(regimen(), TIMES, params, method="ode", states=False), repeats)
    t_ode5, ode5 = timed(lambda: model.simulate(regimen(), TIMES, params, method="ode", states=False, rtol=1e-5),
                         repeats)
    t_cc, compiled = timed(lambda: model.simulate(regimen(), TIMES, params, method="ode", states=False,
                                                  solver="compiled"), repeats)
    t_cf, exact = timed(lambda: model.simulate(regimen(), TIMES, params, method="analytic", states=False), repeats)
    n_loop = 200 if args.quick else 1000
    start = time.perf_counter()
    loop = lsoda_loop(params.iloc[:n_loop])
    t_loop = (time.perf_counter() - start) * len(params) / n_loop

    c_exact = exact["CP"].reshape(len(params), -1)
    mask = c_exact > 1e-6 * c_exact.max(axis=1, keepdims=True)

    def max_error(c, rows=len(params)):
        return np.max(np.abs(c[mask[:rows]] / c_exact[:rows][mask[:rows]] - 1))

    err_ode, err_ode5, err_cc = (max_error(r["CP"].reshape(len(params), -1)) for r in (ode, ode5, compiled))
    print(f"per-subject LSODA loop (rtol 1e-6){'' if n_loop == len(params) else f', {n_loop} subjects scaled'}: "
          f"{t_loop:8.3f} s   max rel. error {max_error(loop, n_loop):.2e}")
    print(f"batched ODE engine, DP5 rtol 1e-6, median of {repeats}: {t_ode:8.3f} s   max rel. error {err_ode:.2e}")
    print(f"batched ODE engine, DP5 rtol 1e-5, median of {repeats}: {t_ode5:8.3f} s   max rel. error {err_ode5:.2e}")
    print(f"compiled engine, DP5 rtol 1e-6, median of {repeats}: {t_cc:7.3f} s   max rel. error {err_cc:.2e}")
    print(f"closed form, median of {repeats}:                    {t_cf:8.3f} s")
    print(f"ratio LSODA loop / ODE engine (rtol 1e-6):  {t_loop / t_ode:6.1f}x")
    print(f"ratio LSODA loop / ODE engine (rtol 1e-5):  {t_loop / t_ode5:6.1f}x")
    print(f"ratio LSODA loop / closed form:             {t_loop / t_cf:6.1f}x")
    print(f"ratio numpy engine / compiled engine (rtol 1e-6): {t_ode / t_cc:6.1f}x")
    cold, warm = compile_times()
    print(f"compiled engine, first call in a new process: cold cache {cold:.1f} s, warm cache {warm:.2f} s")

    n_big = 10_000 if args.quick else 100_000
    out = subprocess.run([sys.executable, __file__, "--child", str(n_big)], capture_output=True, text=True, check=True)
    elapsed, peak = out.stdout.split()
    print(f"closed form, {n_big} subjects x {len(TIMES)} times (chunked): {float(elapsed):.2f} s, "
          f"peak resident memory {float(peak):.0f} MB")


if __name__ == "__main__":
    main()
