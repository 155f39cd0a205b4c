"""BatchPredictor checks every parameter set at once and, where one fails, names the value and its subject's ID as
``simulate()`` does."""

from __future__ import annotations

import numpy as np
import pytest

import pkpd
from pkpd.engine import BatchPredictor
from pkpd.errors import ParameterError
from pkpd.models import OneCompartmentOral


@pytest.fixture(scope="module")
def predictor():
    data = pkpd.load_dataset("theophylline")
    rows = np.flatnonzero(data.events["EVID"].to_numpy() == 0)
    return BatchPredictor(OneCompartmentOral(), data, "CP", rows)


def test_sets_within_bounds_predict_as_one_set_at_a_time(predictor):
    sets = [{"CL": 2.0, "V": 30.0, "KA": 1.5}, {"CL": np.linspace(1, 3, 12), "V": 25.0}]
    together = predictor(sets)
    np.testing.assert_array_equal(together[0], predictor(sets[:1])[0])
    np.testing.assert_array_equal(together[1], predictor(sets[1:])[0])


@pytest.mark.parametrize("value,message", [(-1.0, r"parameter CL for ID 2: value -1.0 outside \[0.0, inf\]"),
                                           (np.nan, r"parameter CL for ID 2: value nan is not finite")])
def test_a_value_out_of_bounds_is_named(predictor, value, message):
    cl = np.full(12, 2.0)
    cl[1] = value
    with pytest.raises(ParameterError, match=message):
        predictor([{"CL": 2.0}, {"CL": cl}])
