"""fit_population's ``lloq`` argument: the same fit as an LLOQ column, on the data as read (no second read)."""

import numpy as np
import pytest

import pkpd
from pkpd.models import OneCompartmentOral


def _model():
    return pkpd.PopulationModel(OneCompartmentOral(), {"CL": 2.8, "V": 32.0, "KA": 1.5}, {"CL": 0.1},
                                pkpd.AdditiveError(0.7))


def test_lloq_argument_equals_an_lloq_column_and_keeps_source_lines():
    data = pkpd.load_dataset("theophylline")
    by_argument = pkpd.fit_population(_model(), data, lloq=2.0, covariance=False, progress=False)
    with_column = pkpd.read_nonmem(data.events.assign(LLOQ=2.0))
    by_column = pkpd.fit_population(_model(), with_column, covariance=False, progress=False)
    n_below = int((data.observations["DV"] < 2.0).sum())
    assert by_argument.n_blq == by_column.n_blq == n_below > 0
    assert by_argument.ofv == pytest.approx(by_column.ofv, abs=1e-9)
    np.testing.assert_array_equal(by_argument.data.source_lines, data.source_lines)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), "2"])
def test_a_bad_lloq_is_named(bad):
    with pytest.raises(pkpd.ParameterError, match="fit_population: lloq="):
        pkpd.fit_population(_model(), pkpd.load_dataset("theophylline"), lloq=bad, progress=False)
