"""Theophylline fits against R's nls with SSfol (REFERENCE.md §8.1; issue 5 criteria 1-2).

R: ``nls(conc ~ SSfol(Dose, Time, lKe, lKa, lCl), Theoph)`` -- one-compartment first-order absorption on
log parameters, additive error, Dose in mg/kg. pkpd: ``OneCompartmentOral`` with ``CL = exp(lCl)``,
``KA = exp(lKa)`` and ``V = exp(lCl - lKe)`` as lmfit expressions, doses ``AMT = DOSE_MGKG``."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pkpd.fitting import AdditiveError, fit_each, fit_pooled, make_params
from pkpd.models import OneCompartmentOral


def ssfol_params(lke=-2.5, lka=0.5, lcl=-3.0):
    model = OneCompartmentOral()
    params = make_params(model, {"CL": np.exp(lcl), "KA": np.exp(lka), "V": np.exp(lcl - lke)},
                         log=("CL", "KA"), fixed=("F1", "ALAG1"))
    params.add("lKe", value=lke)
    params["V"].set(expr="exp(log_CL - lKe)")
    return model, params


@pytest.fixture(scope="module")
def pooled(theoph_mgkg):
    model, params = ssfol_params()
    return fit_pooled(model, theoph_mgkg, params, error=AdditiveError())


def test_naive_pooled_theophylline_matches_r_nls(pooled):
    """R nls/SSfol (REFERENCE.md §8.1 [S]): lKe -2.5242, lKa 0.3992, lCl -3.2483 (±0.002), standard errors
    0.1103, 0.1175, 0.0744 (±3 %)."""
    p = pooled.params
    assert pooled.success
    assert p["lKe"].value == pytest.approx(-2.5242, abs=0.002)
    assert p["log_KA"].value == pytest.approx(0.3992, abs=0.002)
    assert p["log_CL"].value == pytest.approx(-3.2483, abs=0.002)
    assert p["lKe"].stderr == pytest.approx(0.1103, rel=0.03)
    assert p["log_KA"].stderr == pytest.approx(0.1175, rel=0.03)
    assert p["log_CL"].stderr == pytest.approx(0.0744, rel=0.03)


def test_pooled_fit_bookkeeping(pooled):
    """132 observations; residual SD (ML) = sqrt(RSS / n); OFV = n (log(2 pi RSS / n) + 1)."""
    pred = pooled.predictions
    assert pooled.n_obs == 132 and len(pred) == 132 and pooled.n_estimated == 4
    rss = float(np.sum(pred["RES"] ** 2))
    assert pooled.error_estimates["SD"] == pytest.approx(np.sqrt(rss / 132), rel=1e-12)
    assert pooled.ofv == pytest.approx(132 * (np.log(2 * np.pi * rss / 132) + 1), rel=1e-10)
    assert pooled.aic == pytest.approx(pooled.ofv + 8)
    assert "lKe" in pooled.report() and pooled.correlation.shape == (3, 3)


R_DIR = Path(__file__).parent / "r"


def test_each_subject_matches_r_nlslist(theoph_mgkg):
    """Criterion 2: every subject fitted alone (fit_each, the SSfol parameterisation) matches R's
    ``nlsList(conc ~ SSfol(Dose, Time, lKe, lKa, lCl), Theoph)`` estimates to 1e-3 and standard errors
    to 1 % (fixtures from tests/validation/r/theoph_nls.R; R and nlme versions in R_VERSION.txt)."""
    ref = pd.read_csv(R_DIR / "theoph_individual.csv")
    assert ref["converged"].all()
    model, params = ssfol_params()
    fits = fit_each(model, theoph_mgkg, params, error=AdditiveError())
    assert sorted(fits) == sorted(ref["ID"].unique())
    names = {"lKe": "lKe", "lKa": "log_KA", "lCl": "log_CL"}
    for row in ref.itertuples():
        fit = fits[row.ID]
        assert fit.success, (row.ID, fit.messages)
        p = fit.params[names[row.parameter]]
        assert p.value == pytest.approx(row.estimate, abs=1e-3), (row.ID, row.parameter)
        assert p.stderr == pytest.approx(row.std_error, rel=0.01), (row.ID, row.parameter)


def test_pooled_fitted_values_match_r_row_by_row(pooled):
    ref = pd.read_csv(R_DIR / "theoph_pooled_fit.csv")
    pred = pooled.predictions
    np.testing.assert_allclose(pred["TIME"], ref["Time"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(pred["PRED"], ref["fitted"], rtol=1e-4, atol=1e-6)
