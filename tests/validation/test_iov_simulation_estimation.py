"""Issue 19, Done-when 4: a simulation-estimation study of between-occasion variability (IOV) by FOCE-I.

Design, fixed before any fit was run (every replicate: new subjects, new random effects, new data; seed
``[SEED, r]``):

- 60 subjects, two occasions each (``OCC`` 1 and 2): 300 mg oral into ``DEPOT`` at 0 h and at 168 h (a
  week apart: the typical subject keeps e^-22 of the first dose; what a slow eliminator keeps is modelled),
  concentrations at 0.5, 1, 2, 4, 6, 8, 12 and 24 h after each
  dose (960 observations);
- one-compartment oral model, typical CL 4 L/h, V 30 L, KA 1.2 /h; log-normal between-subject variability
  (omega^2) CL 0.09, V 0.04, KA 0.16; between-occasion variability (IOV, ``pkpd.IOV``; the model of Karlsson &
  Sheiner 1993, J Pharmacokinet Biopharm 21:735) CL 0.04 and KA 0.09 -- chosen values, IOV below IIV for
  clearance and larger for absorption; 10 % proportional residual error;
- each replicate fitted by FOCE-I (R covariance step) from perturbed initial estimates: typical values
  x 1.25 / x 0.8 / x 1.25, every omega^2 0.1, every IOV variance 0.02, CV 0.2.

The criterion (issue 19): median relative bias of both IOV variances within +-15 %, over at least 20
replicates. Every fit must succeed without NOT_CONVERGED, EBE_NOT_CONVERGED, COVARIANCE_FAILED, AT_BOUND or
OMEGA_NOT_POSITIVE_DEFINITE (HIGH_SHRINKAGE is recorded only).

``benchmarks/study_iov_simest.py`` runs :func:`run_study` with any number of replicates and prints
:func:`summarise`'s table. Measured (seed 20261206, 20 replicates, 0 failed fits; 50-90 s per fit, 23 min)::

    parameter       true   median rel. bias  mean rel. bias  rel. RMSE  CI coverage  RMS(SE)/SD
    CL              4.0       +2.3 %           +2.0 %          4.4 %      0.95          1.09
    V              30.0       +1.5 %           +1.1 %          3.3 %      0.95          0.88
    KA              1.2       +3.0 %           +1.9 %          8.0 %      0.85          0.76
    omega2_CL       0.09      +1.8 %           +2.3 %         21.4 %      0.95          1.08
    omega2_V        0.04     +10.4 %          +12.4 %         28.0 %      0.90          0.85
    omega2_KA       0.16      -2.2 %           -2.8 %         21.7 %      1.00          1.14
    omega2_IOV_CL   0.04      -0.5 %           -1.9 %         17.1 %      1.00          1.07
    omega2_IOV_KA   0.09      -1.8 %           -2.9 %         22.4 %      1.00          0.92
    sigma_CV        0.10      +0.1 %           -0.1 %          2.4 %      1.00          1.11

Four replicates warn EBE_MULTIMODAL (one subject each, +40 to +62 OFV from eta = 0: a second mode of KA within an
occasion); the fits keep the lower mode.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
import pytest

import pkpd
from pkpd.models import OneCompartmentOral

import _simest  # tests/validation/_simest.py: pytest puts this folder on sys.path, the benchmark runner too

TYPICAL = {"CL": 4.0, "V": 30.0, "KA": 1.2}
OMEGA2 = {"CL": 0.09, "V": 0.04, "KA": 0.16}
IOV2 = {"CL": 0.04, "KA": 0.09}
CV = 0.10
DOSE = 300.0
DOSE_TIMES = (0.0, 168.0)
TIMES = (0.5, 1, 2, 4, 6, 8, 12, 24)
N_SUBJECTS = 60
N_REPLICATES = 20
SEED = 20261206

TRUTH = {**TYPICAL, **{f"omega2_{k}": v for k, v in OMEGA2.items()},
         **{f"omega2_IOV_{k}": v for k, v in IOV2.items()}, "sigma_CV": CV}


def population_model(typical, omega2, iov2, cv) -> pkpd.PopulationModel:
    return pkpd.PopulationModel(OneCompartmentOral(), typical, omega2, pkpd.ProportionalError(cv),
                                iov=pkpd.IOV(iov2, column="OCC"))


def true_model() -> pkpd.PopulationModel:
    return population_model(TYPICAL, OMEGA2, IOV2, CV)


def start_model() -> pkpd.PopulationModel:
    factors = (1.25, 0.8, 1.25)
    return population_model({k: v * f for (k, v), f in zip(TYPICAL.items(), factors)},
                            {k: 0.1 for k in OMEGA2}, {k: 0.02 for k in IOV2}, 0.2)


def design_frame() -> pd.DataFrame:
    """The NONMEM-style design (DV 0 on the observation records)."""
    rows = []
    for i in range(1, N_SUBJECTS + 1):
        for occ, start in enumerate(DOSE_TIMES, start=1):
            rows.append((i, start, 1, DOSE, "DEPOT", np.nan, occ))
            rows += [(i, start + t, 0, 0.0, "CENTRAL", 0.0, occ) for t in TIMES]
    return pd.DataFrame(rows, columns=["ID", "TIME", "EVID", "AMT", "CMT", "DV", "OCC"])


def simulated_dataset(rng: np.random.Generator) -> pkpd.Dataset:
    frame = design_frame()
    sim = true_model().simulate(pkpd.read_nonmem(frame), 1, seed=rng)
    observed = (frame["EVID"] == 0).to_numpy()
    frame.loc[observed, "DV"] = sim["DV"].to_numpy()
    return pkpd.read_nonmem(frame)


def replicate(r: int, seed: int = SEED) -> dict:
    """Simulate and fit replicate ``r``: estimates, CIs, success, warnings, OFV and wall time."""
    data = simulated_dataset(np.random.default_rng([seed, r]))
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pkpd.ConvergenceWarning)
        fit = pkpd.fit_population(start_model(), data, covariance="R", progress=False)
    return _simest.fit_row(r, fit, time.perf_counter() - started, TRUTH)


def run_study(n_replicates: int = N_REPLICATES, seed: int = SEED, *, log=None) -> pd.DataFrame:
    """All replicates, one row each; ``log(row)`` is called after every fit."""
    return _simest.run_replicates(replicate, n_replicates, seed, log)


def summarise(results: pd.DataFrame) -> pd.DataFrame:
    """:func:`_simest.summarise` against this study's true values."""
    return _simest.summarise(results, TRUTH)


# ------------------------------------------------------------------------------------------------------
def test_design_has_two_occasions_per_subject():
    """The study's design as simulated: 60 subjects x 2 occasions x 8 positive concentrations, and the
    occasions the population model reads from OCC."""
    data = simulated_dataset(np.random.default_rng([SEED, 0]))
    obs = data.observations
    assert len(obs) == N_SUBJECTS * len(DOSE_TIMES) * len(TIMES) and (obs["DV"] > 0).all()
    pm = true_model()
    design = pm.design(data.events, pd.factorize(data.events["ID"])[0])
    assert design.occasions == (1, 2) and pm.n_effects(design) == 3 + 2 * 2
    assert pm.subject_effect_names(design)[3:] == ["IOV_CL[1]", "IOV_KA[1]", "IOV_CL[2]", "IOV_KA[2]"]


@pytest.mark.slow
def test_iov_simulation_estimation_recovers_the_bov_variances():
    """20 replicates of the study in the module docstring: median relative bias of the IOV variances within
    +-15 % (issue 19, Done-when 4)."""
    results = run_study()
    summary = summarise(results)
    print("\n" + summary.to_string(float_format=lambda v: f"{v:.4f}"))
    print(f"seconds per fit: median {results['seconds'].median():.1f}, max {results['seconds'].max():.1f}")
    failed = results[results["failed"]]
    assert failed.empty, failed[["replicate", "success", "warnings"]].to_string()
    for name in IOV2:
        assert abs(summary.loc[f"omega2_IOV_{name}", "median_rel_bias"]) <= 0.15, name
    for name in TYPICAL:
        assert abs(summary.loc[name, "median_rel_bias"]) < 0.05, name
