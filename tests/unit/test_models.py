"""Model base: parameters, compartments, validation of parameter values."""

import numpy as np
import pandas as pd
import pytest

from pkpd import ModelError, ParameterError
from pkpd.models import Model, OneCompartmentOral, Parameter, ThreeCompartmentOral, TwoCompartment
from pkpd.models import pk


@pytest.mark.parametrize("cls", [getattr(pk, name) for name in pk.__all__])
def test_every_library_model_declares_units_bounds_and_descriptions(cls):
    model = cls()
    assert model.states and model.outputs and model.parameters
    for par in model.parameters:
        assert par.unit and par.description
        assert par.lower <= par.default <= par.upper
    # the right-hand side is vectorised over subjects: a batch of 3 gives 3 rows of derivatives
    _, p = model.resolve_params(pd.DataFrame({"ID": [1, 2, 3]}))
    y = np.ones((3, len(model.states)))
    dydt = model.rhs(np.zeros(3), y, p, np.zeros_like(y))
    assert dydt.shape == y.shape and np.isfinite(dydt).all()
    if model.linear:  # the explicit rhs and the system matrix describe the same system
        np.testing.assert_allclose(dydt, np.einsum("nij,nj->ni", model.system_matrix(p), y), rtol=1e-12)


def test_state_index_by_name_and_number():
    m = TwoCompartment()
    assert m.state_index("CENTRAL") == 0 and m.state_index("periph") == 1 and m.state_index(2) == 1
    assert m.state_index("2") == 1
    with pytest.raises(ModelError, match="no compartment 'DEPOT'"):
        m.state_index("DEPOT")
    with pytest.raises(ModelError, match="number 3"):
        m.state_index(3)


def test_resolve_params_defaults_batch_and_errors():
    m = OneCompartmentOral()
    ids, p = m.resolve_params({"CL": [1.0, 2.0]})
    assert list(ids) == [1, 2] and list(p["CL"]) == [1.0, 2.0] and list(p["V"]) == [50.0, 50.0]
    with pytest.raises(ParameterError, match="no parameter 'CLX'"):
        m.resolve_params({"CLX": 1})
    with pytest.raises(ParameterError, match=r"parameter CL for ID 1: value -1.0 outside \[0.0, inf\]"):
        m.resolve_params({"CL": -1})
    with pytest.raises(ParameterError, match="F1 for ID 2: value 1.5"):
        m.resolve_params(pd.DataFrame({"ID": [1, 2], "F1": [0.5, 1.5]}))
    with pytest.raises(ParameterError, match="not finite"):
        m.resolve_params({"KA": np.nan})
    with pytest.raises(ParameterError, match="needs an 'ID' column"):
        m.resolve_params(pd.DataFrame({"CL": [1.0]}))
    with pytest.raises(ParameterError, match="ID 3 appears on more than one row"):
        m.resolve_params(pd.DataFrame({"ID": [3, 3], "CL": [1.0, 2.0]}))
    with pytest.raises(ParameterError, match="compartment 3"):
        m.resolve_params({"F3": 0.5})
    # dosing parameters of other compartments are accepted without being declared
    _, p = m.resolve_params({"F2": 0.5, "D2": 1.0})
    assert p["F2"][0] == 0.5


def test_dosing_matrices_place_parameters_by_compartment():
    m = ThreeCompartmentOral()
    _, p = m.resolve_params({"F1": 0.5, "ALAG1": 0.2, "D2": 3.0})
    mats = m.dosing_matrices(p, 1)
    assert mats["F"].tolist() == [[0.5, 1, 1, 1]] and mats["ALAG"][0, 0] == 0.2
    assert mats["D"][0, 1] == 3.0 and np.isnan(mats["R"]).all()


def test_parameter_default_outside_bounds_is_rejected():
    with pytest.raises(ParameterError, match="outside its bounds"):
        Parameter("CL", -1.0, "L/h", lower=0.0)


def test_a_hand_written_model_runs_through_the_engine():
    """Users write their own model with one rhs; it runs batched like a library model."""

    class Turnover(Model):
        states = ("R",)
        parameters = (Parameter("KIN", 10.0, "1/h", 0.0), Parameter("KOUT", 0.5, "1/h", 0.0))
        outputs = ("RESP",)

        def rhs(self, t, y, p, rate):
            return (p["KIN"] - p["KOUT"] * y[:, 0] + rate[:, 0])[:, None]

        def output(self, y, p):
            return {"RESP": y[..., 0]}

        def initial_state(self, p):
            return (p["KIN"] / p["KOUT"])[:, None]

    from pkpd import Bolus

    res = Turnover().simulate(Bolus(10.0, cmt="R"), [0.0, 2.0], {"KIN": [10.0, 20.0], "KOUT": [0.5, 1.0]})
    # baseline KIN/KOUT = 20; after a 10-unit bolus: 20 + 10 exp(-KOUT t)
    np.testing.assert_allclose(res["RESP"], [30, 20 + 10 * np.exp(-1.0), 30, 20 + 10 * np.exp(-2.0)], rtol=1e-6)
