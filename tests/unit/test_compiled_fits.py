"""Fits on the compiled engine (``engine="compiled"``; issue 17): the same estimates as the numpy ODE engine."""

from __future__ import annotations

import numpy as np
import pytest

import pkpd
from pkpd.models import OneCompartmentOral
from pkpd.population import PopulationModel, population_ofv, synthetic


@pytest.fixture(scope="module")
def cohort():
    return synthetic.cohort(OneCompartmentOral(), pkpd.Bolus(100, cmt="DEPOT"), 12,
                            params={"CL": 5.0, "V": 50.0, "KA": 1.2}, iiv={"CL": 0.3, "V": 0.2},
                            error=pkpd.ProportionalError(0.1), design=[0.5, 1, 2, 4, 8, 12, 24], seed=5)


def test_population_objective_on_the_compiled_engine_equals_the_numpy_engines(cohort):
    pm = PopulationModel(OneCompartmentOral(), {"CL": 4.0, "V": 45.0, "KA": 1.0}, {"CL": 0.1, "V": 0.05},
                         pkpd.ProportionalError(0.12))
    compiled = population_ofv(pm, cohort.data, engine="compiled")
    numpy_ode = population_ofv(pm, cohort.data, engine="ode")
    closed = population_ofv(pm, cohort.data, engine="analytic")
    assert compiled == pytest.approx(numpy_ode, abs=1e-6)
    assert compiled == pytest.approx(closed, abs=1e-5)


@pytest.mark.filterwarnings("ignore::pkpd.ConvergenceWarning")     # ALAG1 ends at its bound 0 (no lag)
def test_individual_fit_on_the_compiled_engine(cohort):
    one = cohort.data.subject(cohort.data.ids[0])
    fits = [pkpd.fit_individual(OneCompartmentOral(), one, {"CL": 4.0, "V": 40.0, "KA": 1.0},
                                error=pkpd.ProportionalError(0.1), engine=engine) for engine in ("compiled", "ode")]
    for name in ("CL", "V", "KA"):
        assert fits[0].params[name].value == pytest.approx(fits[1].params[name].value, rel=1e-5)
    assert np.isfinite(fits[0].aic)
