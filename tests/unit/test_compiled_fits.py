"""Fits on the compiled engine (``engine="compiled"``; issue 17): the same objective as the numpy ODE engine.

The model is test_compiled_engine's model-language model (its DEPOT and CENTRAL are OneCompartmentOral's), so
this module reuses that module's kernel instead of compiling another.
"""

from __future__ import annotations

import pytest
from test_compiled_engine import FUNCTIONS_MODEL  # tests/unit is on sys.path

import pkpd
from pkpd.models import OneCompartmentOral, from_text
from pkpd.population import PopulationModel, population_ofv, synthetic


@pytest.fixture(scope="module")
def cohort():
    return synthetic.cohort(OneCompartmentOral(), pkpd.Bolus(100, cmt="DEPOT"), 12,
                            params={"CL": 5.0, "V": 40.0, "KA": 1.2}, iiv={"CL": 0.3, "V": 0.2},
                            error=pkpd.ProportionalError(0.1), design=[0.5, 1, 2, 4, 8, 12, 24], seed=5)


@pytest.mark.parametrize("method", ["FOCEI", "FO"])
def test_population_objective_on_the_compiled_engine_equals_the_numpy_engines(cohort, method):
    start = {"CL": 4.0, "V": 45.0, "KA": 1.0, "F1": 0.8, "ALAG1": 0.25}        # the text model's F1 and ALAG1
    omega = {"CL": 0.1, "V": 0.05}
    text = PopulationModel(from_text(FUNCTIONS_MODEL, name="Functions"), start, omega, pkpd.ProportionalError(0.12))
    compiled = population_ofv(text, cohort.data, engine="compiled", method=method)
    numpy_ode = population_ofv(text, cohort.data, engine="ode", method=method)
    closed = population_ofv(PopulationModel(OneCompartmentOral(), start, omega, pkpd.ProportionalError(0.12)),
                            cohort.data, engine="analytic", method=method)
    assert compiled == pytest.approx(numpy_ode, abs=1e-6)
    assert compiled == pytest.approx(closed, rel=1e-6)        # ODE tolerance (rtol 1e-9) through the derivatives
