"""The command line of the simulation-estimation study scripts (``study_*.py``): run a study module's replicates
(``replicate(r, seed)``), write them as they finish, or pool earlier CSVs, and print its summary table.

The study modules live in ``tests/validation/`` beside their helper ``_simest.py``; that folder is put on
``sys.path`` before a study is loaded, as pytest does.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

import pandas as pd

VALIDATION = Path(__file__).resolve().parents[1] / "tests" / "validation"


def load(filename: str):
    """The study module ``tests/validation/<filename>``."""
    if str(VALIDATION) not in sys.path:
        sys.path.insert(0, str(VALIDATION))
    spec = importlib.util.spec_from_file_location(Path(filename).stem, VALIDATION / filename)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(filename: str, description: str, describe=lambda row: "", report=lambda study, results: None):
    """Parse the study options, run or pool the replicates, and print the summary; ``describe(row)`` adds to each
    replicate's line, ``report(study, results)`` prints after the summary."""
    study = load(filename)
    parser = argparse.ArgumentParser(description=description)
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
                  f"{row['n_evaluations']:5d} evaluations {row['seconds']:6.1f} s{describe(row)}"
                  + (f"  [{row['warnings']}]" if row["warnings"] else ""), flush=True)
            if args.csv:
                pd.DataFrame(rows).to_csv(args.csv, index=False)
        results = pd.DataFrame(rows)
        print(f"total {time.perf_counter() - started:.0f} s")

    print(f"\n{len(results)} replicates, {int(results['failed'].sum())} failed fits")
    print(study.summarise(results).to_string(float_format=lambda v: f"{v:.4f}"))
    report(study, results)
    print(f"seconds per fit (FOCE-I + R covariance step): median {results['seconds'].median():.1f}, "
          f"min {results['seconds'].min():.1f}, max {results['seconds'].max():.1f}")
