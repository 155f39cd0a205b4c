"""The EBE search compiled (:mod:`pkpd.estimation._newton_kernel`) against the same search in numpy.

Both run :meth:`Objective._newton`'s iterations with the same formulas; they differ in the order of a few sums
(rounding) and in batching: the compiled search simulates a start when it needs to, the numpy one every start at
each iteration. Each subject's EBEs and OFV contribution must agree far below the fit's tolerances (the EBE search
stops at a gradient of 1e-7).
"""

from __future__ import annotations

import numpy as np
import pytest

import pkpd
from pkpd.estimation._error_codes import COMBINED_SD, COMBINED_VARIANCE, CONSTANT, PROPORTIONAL, error_codes
from pkpd.estimation._objective import Objective, PopData
from pkpd.models import OneCompartmentOral
from pkpd.population import PopulationModel, synthetic
from pkpd.population._errors import OutputErrors


@pytest.fixture(scope="module")
def cohort():
    """Twelve subjects of a one-compartment oral model, 30 % IIV on CL and KA, 10 % proportional error."""
    return synthetic.cohort(OneCompartmentOral(), pkpd.Bolus(100, cmt="DEPOT"), 12,
                            params={"CL": 2.0, "V": 20.0, "KA": 1.0}, iiv={"CL": 0.3, "KA": 0.3},
                            error=pkpd.ProportionalError(0.1), design=[0.25, 0.5, 1, 2, 4, 8, 12, 24], seed=5).data


def _both(pm, data, method, steps):
    """Per-subject OFV and EBEs of the compiled and the numpy search, after each of ``steps`` (theta, omega, sigma
    multipliers: an outer search's warm-started evaluations)."""
    results = []
    for compiled in (True, False):
        objective = Objective(pm, PopData(pm, pkpd.io.as_dataset(data), "auto"), method)
        assert objective.compiled                      # (every error model here has a code)
        objective.compiled = compiled
        trace = []
        for scale in steps:
            theta = {k: v * scale for k, v in pm.theta_values.items()}
            sigma = {k: v * scale for k, v in pm.error.parameters.items()}
            trace.append((objective.per_subject(theta, pm.omega_matrix * scale, sigma), objective.eta.copy()))
        results.append(trace)
    return results


@pytest.mark.parametrize("error", [pkpd.AdditiveError(0.3), pkpd.ProportionalError(0.15),
                                   pkpd.CombinedError(0.05, 0.12), pkpd.CombinedError(0.05, 0.12, form="sd"),
                                   pkpd.ExponentialError(0.15)], ids=lambda e: f"{type(e).__name__}")
@pytest.mark.parametrize("method", ["FOCEI", "FOCE"])
def test_the_compiled_search_finds_the_numpy_searchs_ebes_and_objective(cohort, error, method):
    pm = PopulationModel(OneCompartmentOral(), {"CL": 2.5, "V": 18.0, "KA": 0.8}, {"CL": 0.05, "KA": 0.2}, error)
    compiled, numpy = _both(pm, cohort, method, [1.0, 1.0 + 1e-5, 1.02, 0.97])
    for (ofv_c, eta_c), (ofv_n, eta_n) in zip(compiled, numpy):
        assert np.all(np.isfinite(ofv_c))
        np.testing.assert_allclose(ofv_c, ofv_n, rtol=0, atol=1e-9)
        np.testing.assert_allclose(eta_c, eta_n, rtol=0, atol=1e-7)


def test_error_codes_follow_each_observations_output():
    errors = OutputErrors({"CP": pkpd.CombinedError(0.2, 0.1), "CM": pkpd.ProportionalError(0.3),
                           "E": pkpd.CombinedError(1.0, 0.05, form="sd"), "L": pkpd.ExponentialError(0.4)},
                          np.array([0, 1, 1, 2, 3, 0]))
    codes = error_codes(errors, 6)
    assert codes.kind.tolist() == [COMBINED_VARIANCE, PROPORTIONAL, PROPORTIONAL, COMBINED_SD, CONSTANT,
                                   COMBINED_VARIANCE]
    a, b = codes.numbers({"CP.SD": 0.25, "CP.CV": 0.15, "CM.CV": 0.35, "E.SD": 2.0, "E.CV": 0.07, "L.SD": 0.5})
    assert a.tolist() == [0.25, 0.0, 0.0, 2.0, 0.5, 0.25]
    assert b.tolist() == [0.15, 0.35, 0.35, 0.07, 0.0, 0.15]


def test_an_error_model_of_its_own_and_blq_records_search_in_numpy(cohort):
    class Heteroscedastic(pkpd.ProportionalError):
        def stdev(self, f, theta):
            return np.sqrt(0.01 + (theta["CV"] * np.asarray(f)) ** 2)

    assert error_codes(Heteroscedastic(0.1), 3) is None
    pm = PopulationModel(OneCompartmentOral(), {"CL": 2.5, "V": 18.0, "KA": 0.8}, {"CL": 0.05}, Heteroscedastic(0.1))
    assert not Objective(pm, PopData(pm, pkpd.io.as_dataset(cohort), "auto"), "FOCEI").compiled
    pm = PopulationModel(OneCompartmentOral(), {"CL": 2.5, "V": 18.0, "KA": 0.8}, {"CL": 0.05},
                         pkpd.ProportionalError(0.1))
    blq = PopData(pm, pkpd.io.as_dataset(cohort), "auto", blq="M3", lloq=0.5)
    assert blq.blq.any()
    assert not Objective(pm, blq, "FOCEI").compiled


def test_without_numba_the_search_runs_in_numpy(cohort, monkeypatch):
    from pkpd.engine import _compiled

    monkeypatch.setattr(_compiled, "available", lambda: False)
    pm = PopulationModel(OneCompartmentOral(), {"CL": 2.5, "V": 18.0, "KA": 0.8}, {"CL": 0.05},
                         pkpd.ProportionalError(0.1))
    assert not Objective(pm, PopData(pm, pkpd.io.as_dataset(cohort), "auto"), "FOCEI").compiled


def test_ode_predictions_keep_the_numpy_iterations(cohort):
    """With ODE predictions the simulations are the cost: the inner step stays in numpy."""
    pm = PopulationModel(OneCompartmentOral(), {"CL": 2.5, "V": 18.0, "KA": 0.8}, {"CL": 0.05},
                         pkpd.ProportionalError(0.1))
    data = pkpd.io.as_dataset(cohort)
    assert Objective(pm, PopData(pm, data, "auto"), "FOCEI").compiled
    assert not Objective(pm, PopData(pm, data, "ode"), "FOCEI").compiled
