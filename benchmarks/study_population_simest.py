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

import _study  # benchmarks/_study.py, beside this script


def _pooled_coverage(study, results):
    print(f"\nfixed-effect CI coverage pooled over {len(study.THETA_NAMES)} parameters: "
          f"{study.pooled_theta_coverage(results):.3f}")


if __name__ == "__main__":
    _study.main("test_population_simulation_estimation.py", __doc__.splitlines()[0], report=_pooled_coverage)
