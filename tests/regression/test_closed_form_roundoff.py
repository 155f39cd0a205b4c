"""Regression: the closed form returned -2e-15 mg/L just after an oral dose (eigen-decomposition roundoff),
which would break log-scale plots and log-likelihoods."""

import numpy as np
import pandas as pd

import pkpd
from pkpd.models import OneCompartmentOral, TwoCompartmentOral


def test_no_negative_concentrations_from_the_closed_form():
    data = pkpd.load_dataset("theophylline")
    wt = data.events.groupby("ID")["WT"].first()
    params = pd.DataFrame({"ID": wt.index, "CL": 0.0397 * wt.values, "V": 0.462 * wt.values, "KA": 1.593})
    pred = pkpd.simulate(OneCompartmentOral(), data, params, method="analytic")
    assert pred["CP"].min() == 0.0  # exactly zero at the dose, never below
    r = TwoCompartmentOral().simulate(pkpd.Bolus(320, cmt="DEPOT"), np.linspace(0, 1e-3, 11), method="analytic")
    assert (r["CP"] >= 0).all() and (r["CENTRAL"] >= 0).all()
    assert r["CENTRAL"][0] < 320 * 1e-14  # exact value 0: roundoff only, relative to the dose
