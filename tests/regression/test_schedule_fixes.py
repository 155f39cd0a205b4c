"""Regressions found while building the closed form (issue 2)."""

import numpy as np
import pandas as pd
import pytest

from pkpd import DatasetError
from pkpd.models import OneCompartment
from pkpd.engine.simulation import simulate

COLS = ["ID", "TIME", "EVID", "AMT", "RATE", "CMT", "II", "ADDL", "SS"]


def test_time_going_back_without_a_reset_is_an_error_not_a_new_episode():
    """[dose t=0, dose t=1, obs t=0.5] used to start a silent new episode (CP 0 at 0.5)."""
    events = pd.DataFrame([[1, 0, 1, 100, 0, 1, 0, 0, 0], [1, 1, 1, 100, 0, 1, 0, 0, 0],
                           [1, 0.5, 0, 0, 0, 1, 0, 0, 0]], columns=COLS)
    with pytest.raises(DatasetError, match=r"record 3 .*TIME goes back from 1\.0 without a reset"):
        simulate(OneCompartment(), events, {"CL": 5, "V": 50})


@pytest.mark.parametrize("method", ["analytic", "ode"])
def test_steady_state_constant_infusion_with_modelled_rate(method):
    """SS=1, II=0, RATE=-1: the constant infusion runs at R1; C_ss = R1/CL (NONMEM allows a modelled rate)."""
    events = pd.DataFrame([[1, 0, 1, 0, -1, 1, 0, 0, 1], [1, 5, 0, 0, 0, 1, 0, 0, 0]], columns=COLS)
    res = simulate(OneCompartment(), events, {"CL": 5, "V": 50, "R1": 20.0}, method=method)
    np.testing.assert_allclose(res["CP"], [4.0, 4.0], rtol=1e-9)


def test_unknown_dose_compartment_is_a_dataset_error_naming_the_record():
    events = pd.DataFrame([[1, 0, 0, 0, 0, 1, 0, 0, 0], [1, 0, 1, 100, 0, 3, 0, 0, 0]], columns=COLS)
    with pytest.raises(DatasetError, match=r"record 2 \(ID 1, TIME 0\): column CMT: value 3 is not a compartment "
                                           r"of OneCompartment; expected one of 1=CENTRAL"):
        simulate(OneCompartment(), events, {"CL": 5, "V": 50})
    named = events.astype({"CMT": object})
    named.loc[1, "CMT"] = "DEPOT"
    with pytest.raises(DatasetError, match="value 'DEPOT' is not a compartment"):
        simulate(OneCompartment(), named, {"CL": 5, "V": 50})
