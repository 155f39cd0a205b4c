"""Benchmark of the full status-epilepticus model (issue 4, criterion 7).

``scenarios.se_model(("midazolam",))``: midazolam PK (IM depot, two compartments, well-stirred
liver, 1'-OH-midazolam) + brain P-gp (seizure-driven expression) + GABA-A / NMDA receptor trafficking +
chloride (KCC2) + seizure activity, 17 states, stiff. 1000 virtual patients (``scenarios.IIV``: 30 %
log-normal on midazolam CL and V1, seizure severity E0), seizure onset at t = 0, 10 mg IM midazolam at
15 min, outputs every 15 min over 24 h.

Prints the batched ODE engine (median of repeats) with each solver -- ``bdf``, ``radau``, ``lsoda`` (what
``solver="auto"`` takes for this stiff model) and the explicit ``dp5`` -- against a per-subject
``scipy.integrate.solve_ivp(method="LSODA")`` loop of the same equations (benchmarks/_baseline.py: the
composed model's own right-hand side for one subject, restarted at each dose record, the amount scaled by
the model's bioavailability and shifted by its lag as the engine does), at the same tolerances
on both sides (rtol 1e-6, atol 1e-9, the engine defaults); the ratios; and the largest differences in
SEIZURE.ACTIVITY and MDZ.CP between each solver and the loop. Accuracy: each solver's and the loop's
largest error against the same loop at rtol 1e-10, atol 1e-14; the headline is the fastest solver at
least as accurate as the loop on both outputs. BLAS runs single-threaded (see below).

Run: ``python benchmarks/bench_se.py [--quick]``.
"""

from __future__ import annotations

import argparse
import os

# Single-threaded BLAS on both sides (set before numpy loads): a core-for-core comparison with the
# per-subject loop, and timings that do not collapse when another process holds a core (threaded
# OpenBLAS made the BDF path 2-3x slower then). Override by setting the variables.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import _baseline  # noqa: E402  (benchmarks/_baseline.py, beside this script)
from pkpd import scenarios  # noqa: E402

DRUGS = ("midazolam",)
HOURS = 24
TIMES = np.arange(0, HOURS + 0.01, 0.25)
DELAY_MIN = 15.0
RTOL, ATOL = 1e-6, 1e-9
COMPARED = ("SEIZURE.ACTIVITY", "MDZ.CP")
SOLVERS = ("bdf", "radau", "lsoda", "dp5")
REF_RTOL, REF_ATOL = 1e-10, 1e-14  # the reference: the loop at tight tolerances


def build():
    return scenarios.se_model(DRUGS)


def regimen():
    return scenarios.treat(DELAY_MIN)


def population(n, seed=2024):
    return scenarios.cohort_parameters(DRUGS, n, seed)


def lsoda_loop(model, params, rtol=RTOL, atol=ATOL) -> dict[str, np.ndarray]:
    """The per-subject solve_ivp(LSODA) baseline (benchmarks/_baseline.py) on this benchmark's regimen."""
    return _baseline.lsoda_loop(model, params, regimen(), TIMES, COMPARED, rtol=rtol, atol=atol)


def max_rel_diff(engine, loop):
    """Largest relative difference where the loop's value exceeds 1e-6 of its maximum."""
    big = np.abs(loop) > 1e-6 * np.abs(loop).max()
    return float(np.max(np.abs(engine[big] / loop[big] - 1)))


def error(values, ref):
    """Largest absolute error relative to the reference's maximum."""
    return float(np.max(np.abs(values - ref)) / np.abs(ref).max())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 subjects, fewer repeats")
    parser.add_argument("--solvers", default=",".join(SOLVERS), help="comma-separated subset of %(default)s")
    args = parser.parse_args()
    solvers = tuple(args.solvers.split(","))
    n, repeats, n_loop = (100, 1, 5) if args.quick else (1000, 3, 20)
    model = build()
    params = population(n)
    auto = "lsoda" if model.stiff else "dp5"
    timing, results = {}, {}
    for solver in solvers:
        model.simulate(regimen(), TIMES, params.iloc[:5], method="ode", states=False, solver=solver)  # warm-up
        runs = []
        for _ in range(repeats):
            start = time.perf_counter()
            res = model.simulate(regimen(), TIMES, params, method="ode", states=False, solver=solver, rtol=RTOL,
                                 atol=ATOL)
            runs.append(time.perf_counter() - start)
        timing[solver] = statistics.median(runs)
        results[solver] = {k: np.asarray(res[k]).reshape(n, -1)[:n_loop] for k in COMPARED}

    start = time.perf_counter()
    loop = lsoda_loop(model, params.iloc[:n_loop])
    t_loop = (time.perf_counter() - start) * n / n_loop
    ref = lsoda_loop(model, params.iloc[:n_loop], rtol=REF_RTOL, atol=REF_ATOL)

    def errors(values):
        return [error(values[k], ref[k]) for k in COMPARED]

    print(f"SE model (midazolam IM + brain P-gp + receptors + chloride + seizure): {len(model.states)} states, "
          f"{len(model.parameters)} parameters, stiff={model.stiff}")
    print(f"{n} subjects x {HOURS} h, {len(TIMES)} outputs; rtol {RTOL:g}, atol {ATOL:g} in the engine and the loop; "
          f"BLAS threads {os.environ['OPENBLAS_NUM_THREADS']}")
    dosing = model.dosing_matrices(model.resolve_params(params.iloc[:1])[1], 1)
    for d in regimen():
        c = model.state_index(d.cmt)
        f, lag = dosing["F"][0, c], dosing["ALAG"][0, c]
        print(f"  record: {d.amt:g} mg into {d.cmt} at {d.time:g} h, F {f:g}, ALAG {lag:g} h (both sides)")
    print(f"error: max |x - ref| / max |ref| over the loop's {n_loop} subjects, ref the loop at rtol {REF_RTOL:g}, "
          f"atol {REF_ATOL:g}")
    names = " / ".join(COMPARED)
    loop_err = errors(loop)
    print(f"per-subject LSODA loop ({n_loop} subjects, scaled to {n}): {t_loop:8.2f} s   error ({names}): "
          + " / ".join(f"{e:.1e}" for e in loop_err))
    print(f"batched engine, median of {repeats}; rel. diff: max |engine / loop - 1| where loop > 1e-6 of its max")
    h_rel, h_err = f"rel. diff vs loop ({names})", f"error ({names})"
    print(f"  {'solver':14s} {'time':>8s} {'ratio':>7s}   {h_rel}   {h_err}")
    accurate = []
    for solver in solvers:
        rel = [max_rel_diff(results[solver][k], loop[k]) for k in COMPARED]
        err = errors(results[solver])
        if all(e <= el for e, el in zip(err, loop_err)):
            accurate.append(solver)
        tag = " (auto)" if solver == auto else ""
        rel_s, err_s = " / ".join(f"{r:.1e}" for r in rel), " / ".join(f"{e:.1e}" for e in err)
        print(f"  {repr(solver) + tag:14s} {timing[solver]:6.2f} s {t_loop / timing[solver]:6.1f}x   "
              f"{rel_s:>{len(h_rel)}s}   {err_s:>{len(h_err)}s}")
    if accurate:
        best = min(accurate, key=timing.get)
        why = "fastest solver at least as accurate as the loop"
    else:
        best, why = (auto if auto in solvers else solvers[0]), "no solver as accurate as the loop; the default"
    print(f"headline ({why}): solver={best!r} {timing[best]:.2f} s, ratio {t_loop / timing[best]:.1f}x "
          "(target >= 20x)")


if __name__ == "__main__":
    main()
