"""Virtual trials at scale (issue 7): patients/s serially and on a Dask LocalCluster, peak memory.

The trial: status epilepticus, midazolam 10 mg IM at 5 / 15 / 30 / 60 min after onset (4 arms), the SE
cohort variability (:func:`pkpd.trials.se_population`), 4 h on a 5-min grid, endpoints termination by
4 h, time to termination and the GABA-A (alpha2/3/5) surface nadir; time-course quantiles kept.

Prints the rate in patient-arms per second in this process, without Dask ("serial": ``run_trial``'s default of
two chunks at once on threads, one's Python work overlapping the other's integration; ``--threads 1`` for one
chunk at a time), and with ``LocalCluster(n_workers=2, threads_per_worker=1)``, their ratio, the peak resident
memory of this process and of its children (``resource.getrusage`` maxrss), whether the two runs gave
bit-identical summaries, and the time a 100 000-patient x 4-arm trial would take at the measured rates.

Usage::

    python benchmarks/bench_trials.py              # n = 2000 per arm
    python benchmarks/bench_trials.py --quick      # n = 400
    python benchmarks/bench_trials.py --n 100000   # the full-size run (minutes)
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

import numpy as np


def _maxrss_mb(who) -> float:
    kb = resource.getrusage(who).ru_maxrss
    return kb / 1024.0 if sys.platform != "darwin" else kb / 2 ** 20


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000, help="patients per arm (default 2000)")
    ap.add_argument("--quick", action="store_true", help="400 patients per arm")
    ap.add_argument("--block", type=int, default=1000, help="block_size (subjects integrated together)")
    ap.add_argument("--no-dask", action="store_true", help="serial run only")
    ap.add_argument("--threads", type=int, default=None, help="run_trial's threads (chunks at once) of the serial "
                    "run (default: run_trial's, 2 on 2 CPUs)")
    ap.add_argument("--solver", default="compiled", help="ODE solver of the trial (default compiled)")
    ap.add_argument("--baseline", type=int, default=200,
                    help="patients per arm of the numpy-engine (solver dp5) baseline run in this process (0: none)")
    args = ap.parse_args(argv)
    n = 400 if args.quick else args.n
    block = min(args.block, max(1, n // 2))           # at least two chunks for the two workers

    from pkpd.se import scenarios
    from pkpd.trials import endpoints
    from pkpd.trials import TrialDesign, run_trial, se_population

    design = TrialDesign({f"MDZ at {d} min": scenarios.treat(d) for d in (5, 15, 30, 60)},
                         times=np.arange(0.0, 4.0 + 1e-9, 5 / 60),
                         endpoints=[endpoints.terminated_by(4.0), endpoints.time_to_termination(),
                                    endpoints.minimum("GABAA.SURFACE_A235")])
    source = se_population(("midazolam",))
    arms = len(design.arm_names)
    print(f"bench_trials: SE midazolam, {arms} arms x {n} patients, grid {len(design.grid)} times, block {block}")

    opts = {"seed": 2024, "block_size": block, "chunk_size": block, "progress": False, "solver": args.solver}
    run_trial(source, design, 4, **opts)                      # warm-up: imports, kernel compiled or loaded
    t0 = time.perf_counter()
    serial = run_trial(source, design, n, threads=args.threads, **opts)
    t_serial = time.perf_counter() - t0
    rate_serial = n * arms / t_serial
    print(f"serial : {t_serial:7.2f} s  {rate_serial:8.0f} patient-arms/s  ({n / t_serial:.0f} patients/s over "
          f"{arms} arms; one process, threads={args.threads or 'default'})")
    print(f"         peak RSS self {_maxrss_mb(resource.RUSAGE_SELF):.0f} MB")

    rate_dask = None
    if not args.no_dask:
        from dask.distributed import Client, LocalCluster

        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            client.run(lambda: __import__("pkpd.trials"))          # warm the workers' imports
            t0 = time.perf_counter()
            dask = run_trial(source, design, n, client=client, **opts)
            t_dask = time.perf_counter() - t0
            worker_mb = client.run(lambda: __import__("resource").getrusage(
                __import__("resource").RUSAGE_SELF).ru_maxrss / 1024.0)
        rate_dask = n * arms / t_dask
        same = dask.summarize().equals(serial.summarize()) and dask.subjects.equals(serial.subjects) \
            and dask.timecourses.equals(serial.timecourses)
        print(f"dask   : {t_dask:7.2f} s  {rate_dask:8.0f} patient-arms/s  (LocalCluster 2 workers x 1 thread)")
        print(f"         peak RSS workers {', '.join(f'{v:.0f}' for v in worker_mb.values())} MB; children "
              f"{_maxrss_mb(resource.RUSAGE_CHILDREN):.0f} MB")
        print(f"ratio dask / serial: {rate_dask / rate_serial:.2f}   bit-identical: {same}")

    if args.baseline:
        nb = min(args.baseline, n)
        t0 = time.perf_counter()
        run_trial(source, design, nb, **{**opts, "block_size": min(block, nb), "chunk_size": min(block, nb),
                                         "solver": "dp5"})
        rate_base = nb * arms / (time.perf_counter() - t0)
        print(f"baseline (numpy engine, solver dp5, {nb} patients per arm): {rate_base:8.0f} patient-arms/s; "
              f"ratio {args.solver} / dp5: {rate_serial / rate_base:.1f}x")
    print(f"peak RSS self {_maxrss_mb(resource.RUSAGE_SELF):.0f} MB, "
          f"children {_maxrss_mb(resource.RUSAGE_CHILDREN):.0f} MB")
    big = 100_000 * 4
    est = f"serial {big / rate_serial / 60:.1f} min"
    if rate_dask:
        est += f", dask {big / rate_dask / 60:.1f} min"
    print(f"estimate for 100 000 patients x 4 arms: {est}")
    print(serial.summarize().query("statistic == 'fraction' and endpoint == 'terminated_by_4h'")
          [["arm", "estimate", "lower", "upper"]].to_string(index=False))


if __name__ == "__main__":
    main()
