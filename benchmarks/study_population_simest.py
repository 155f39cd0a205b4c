"""Simulation-estimation study of FOCE-I with covariates (issue 6, criterion 3).

Runs the study defined in ``tests/validation/test_population_simulation_estimation.py`` (100 subjects,
two-compartment oral, 30 % IIV on CL, V1 and KA, 15 % proportional error, weight power and CYP2C19
genotype effects on CL; see that module's docstring) for any number of replicates and prints, per
parameter, the median and mean relative bias, the relative RMSE and the coverage of the 95 % CIs, the
coverage pooled over the fixed effects, and the wall time per fit (FOCE-I + R covariance step).

Run: ``python benchmarks/study_population_simest.py [--replicates 50] [--seed 20240611] [--first 0]
[--csv results.csv]``. ``--first`` skips the first replicates, so that runs can be split and pooled.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path

import pandas as pd

STUDY = Path(__file__).resolve().parents[1] / "tests" / "validation" / "test_population_simulation_estimation.py"


def load_study():
    spec = importlib.util.spec_from_file_location("population_simest_study", STUDY)
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
                  f"{row['n_evaluations']:5d} evaluations {row['seconds']:6.1f} s"
                  + (f"  [{row['warnings']}]" if row["warnings"] else ""), flush=True)
            if args.csv:
                pd.DataFrame(rows).to_csv(args.csv, index=False)
        results = pd.DataFrame(rows)
        print(f"total {time.perf_counter() - started:.0f} s")

    print(f"\n{len(results)} replicates, {int(results['failed'].sum())} failed fits")
    print(study.summarise(results).to_string(float_format=lambda v: f"{v:.4f}"))
    print(f"\nfixed-effect CI coverage pooled over {len(study.THETA_NAMES)} parameters: "
          f"{study.pooled_theta_coverage(results):.3f}")
    print(f"seconds per fit (FOCE-I + R covariance step): median {results['seconds'].median():.1f}, "
          f"min {results['seconds'].min():.1f}, max {results['seconds'].max():.1f}")


if __name__ == "__main__":
    main()
