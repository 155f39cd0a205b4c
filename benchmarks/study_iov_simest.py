"""Simulation-estimation study of between-occasion variability by FOCE-I (issue 19, Done-when 4).

Runs the study defined in ``tests/validation/test_iov_simulation_estimation.py`` (60 subjects, two occasions,
one-compartment oral, IIV on CL, V and KA, IOV on CL and KA, 10 % proportional error; see that module's
docstring) for any number of replicates and prints, per parameter, the median and mean relative bias, the
relative RMSE and the coverage of the 95 % CIs, and the wall time per fit (FOCE-I + R covariance step).

Run: ``python benchmarks/study_iov_simest.py [--replicates 20] [--seed 20261206] [--first 0] [--csv out.csv]
[--pool a.csv b.csv]``. ``--first`` skips the first replicates, so that runs can be split and pooled.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path

import pandas as pd

STUDY = Path(__file__).resolve().parents[1] / "tests" / "validation" / "test_iov_simulation_estimation.py"


def load_study():
    spec = importlib.util.spec_from_file_location("iov_simest_study", STUDY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    study = load_study()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=study.N_REPLICATES)
    parser.add_argument("--seed", type=int, default=study.SEED)
    parser.add_argument("--first", type=int, default=0, help="index of the first replicate")
    parser.add_argument("--csv", type=Path, help="write one row per replicate to this file")
    parser.add_argument("--pool", type=Path, nargs="*", default=[], help="summarise these CSVs (no fitting)")
    args = parser.parse_args()

    if args.pool:
        results = pd.concat([pd.read_csv(p) for p in args.pool], ignore_index=True)
    else:
        rows = []
        started = time.perf_counter()
        for r in range(args.first, args.first + args.replicates):
            row = study.replicate(r, args.seed)
            rows.append(row)
            print(f"replicate {r:3d}: {'ok    ' if not row['failed'] else 'FAILED'} OFV {row['ofv']:10.3f} "
                  f"IOV CL {row['omega2_IOV_CL']:.4f} KA {row['omega2_IOV_KA']:.4f} {row['seconds']:6.1f} s "
                  f"{row['warnings'][:100]}", flush=True)
            if args.csv:
                pd.DataFrame(rows).to_csv(args.csv, index=False)
        results = pd.DataFrame(rows)
        print(f"{len(rows)} replicates in {time.perf_counter() - started:.0f} s")
    print(study.summarise(results).to_string(float_format=lambda v: f"{v:.4f}"))
    print(f"failed fits: {int(results['failed'].sum())} of {len(results)}; seconds per fit: median "
          f"{results['seconds'].median():.1f}")


if __name__ == "__main__":
    main()
