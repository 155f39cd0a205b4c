"""What the simulation-estimation studies share (issue 6's covariate study, issue 19's IOV study): one fit's row
of estimates and 95 % CIs, the replicates in order, and the summary table per reported quantity.

The study modules load this file by path (the test folders are not packages), so the benchmarks that run a study
from ``benchmarks/`` find it too.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: warnings that make a replicate a failed fit (HIGH_SHRINKAGE, RESTART_IMPROVED, EBE_MULTIMODAL are recorded only)
FAILURES = ("NOT_CONVERGED", "EBE_NOT_CONVERGED", "COVARIANCE_FAILED", "AT_BOUND", "OMEGA_NOT_POSITIVE_DEFINITE")


def fit_row(r: int, fit, seconds: float, names) -> dict:
    """Replicate ``r``'s row: success, OFV, evaluations, wall time, warnings, whether the fit failed, and for each
    reported quantity of ``names`` its estimate, 95 % CI (``_lo``, ``_hi``) and standard error (``_se``)."""
    table = fit.table()
    row = {"replicate": r, "success": fit.success, "ofv": fit.ofv, "n_evaluations": fit.n_evaluations,
           "seconds": seconds, "warnings": "; ".join(fit.warnings),
           "failed": (not fit.success) or any(w.startswith(FAILURES) for w in fit.warnings)}
    for name in names:
        row[name] = float(table.loc[name, "estimate"])
        row[f"{name}_lo"] = float(table.loc[name, "ci_lower"])
        row[f"{name}_hi"] = float(table.loc[name, "ci_upper"])
        row[f"{name}_se"] = float(table.loc[name, "std_error"])
    return row


def run_replicates(replicate, n_replicates: int, seed: int, log=None) -> pd.DataFrame:
    """``replicate(r, seed)`` for ``r`` in ``0 .. n_replicates - 1``, one row each; ``log(row)`` after every fit."""
    rows = []
    for r in range(n_replicates):
        rows.append(replicate(r, seed))
        if log is not None:
            log(rows[-1])
    return pd.DataFrame(rows)


def summarise(results: pd.DataFrame, truth: dict) -> pd.DataFrame:
    """Per reported quantity of ``truth``: true value, median estimate, median / mean relative bias, relative
    RMSE, the coverage of the 95 % CI (fraction of replicates with the true value inside), and ``se_ratio``, the
    root mean square of the standard errors over the empirical standard deviation of the estimates (1 when
    calibrated)."""
    out = {}
    for name, true in truth.items():
        est = results[name].to_numpy()
        rel = (est - true) / true
        covered = (results[f"{name}_lo"] <= true) & (true <= results[f"{name}_hi"])
        out[name] = {"true": true, "median_estimate": float(np.median(est)),
                     "median_rel_bias": float(np.median(rel)), "mean_rel_bias": float(np.mean(rel)),
                     "rel_rmse": float(np.sqrt(np.mean(rel**2))), "ci_coverage": float(covered.mean()),
                     "se_ratio": float(np.sqrt(np.mean(results[f"{name}_se"] ** 2)) / np.std(est, ddof=1))}
    return pd.DataFrame(out).T
