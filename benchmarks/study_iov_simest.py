"""Simulation-estimation study of between-occasion variability by FOCE-I (issue 19, Done-when 4).

Runs the study defined in ``tests/validation/test_iov_simulation_estimation.py`` (60 subjects, two occasions,
one-compartment oral, IIV on CL, V and KA, IOV on CL and KA, 10 % proportional error; see that module's
docstring) for any number of replicates and prints, per parameter, the median and mean relative bias, the
relative RMSE and the coverage of the 95 % CIs, and the wall time per fit (FOCE-I + R covariance step).

Run: ``python benchmarks/study_iov_simest.py [--replicates 20] [--seed 20261206] [--first 0] [--csv out.csv]
[--pool a.csv b.csv]``. ``--first`` skips the first replicates, so that runs can be split and pooled.
"""

from __future__ import annotations

import _study  # benchmarks/_study.py, beside this script

if __name__ == "__main__":
    _study.main("test_iov_simulation_estimation.py", __doc__.splitlines()[0],
                describe=lambda row: f"  IOV CL {row['omega2_IOV_CL']:.4f} KA {row['omega2_IOV_KA']:.4f}")
